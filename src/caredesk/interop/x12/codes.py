"""X12 code lists used by eligibility (values from the ASC X12 code lists for the 270/271, 005010X279A1),
with our own plain-words text for the front desk."""

from __future__ import annotations

from dataclasses import dataclass

# EB01 eligibility or benefit information -> coverage.choices.BenefitKind
BENEFIT_KINDS: dict[str, str] = {
    "1": "active",
    "2": "active",  # active - full risk capitation
    "3": "active",  # active - services capitated
    "4": "active",  # active - services capitated to primary care physician
    "5": "active",  # active - pending investigation
    "6": "inactive",
    "7": "inactive",  # inactive - pending eligibility update
    "8": "inactive",  # inactive - pending investigation
    "A": "coinsurance",
    "B": "copay",
    "C": "deductible",
    "G": "out_of_pocket",  # out of pocket (stop loss)
    "F": "limitation",
    "I": "non_covered",
}

# EB03 service type codes (a subset: the ones a clinic's front desk meets)
SERVICE_TYPES: dict[str, str] = {
    "1": "Medical care",
    "2": "Surgical",
    "4": "Diagnostic X-ray",
    "5": "Diagnostic lab",
    "6": "Radiation therapy",
    "7": "Anesthesia",
    "12": "Durable medical equipment purchase",
    "18": "Durable medical equipment rental",
    "30": "Health benefit plan coverage",
    "33": "Chiropractic",
    "35": "Dental care",
    "42": "Home health care",
    "45": "Hospice",
    "47": "Hospital",
    "48": "Hospital inpatient",
    "50": "Hospital outpatient",
    "51": "Hospital emergency accident",
    "52": "Hospital emergency medical",
    "53": "Hospital ambulatory surgical",
    "86": "Emergency services",
    "88": "Pharmacy",
    "98": "Professional (physician) visit - office",
    "A4": "Psychiatric",
    "AD": "Occupational therapy",
    "AE": "Physical medicine",
    "AL": "Vision (optometry)",
    "BZ": "Physician visit - office: sick",
    "MH": "Mental health",
    "PT": "Physical therapy",
    "UC": "Urgent care",
}

# EB06 time period qualifier
TIME_PERIODS: dict[str, str] = {
    "6": "hour",
    "7": "day",
    "13": "24 hours",
    "21": "years",
    "22": "service year",
    "23": "calendar year",
    "24": "year to date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}
REMAINING_PERIODS = frozenset({"29", "33"})

# EB12 in plan network indicator -> coverage.choices.Network
NETWORKS: dict[str, str] = {"Y": "in", "N": "out", "W": "any", "U": ""}

# INS02 / relationship of the patient to the subscriber (2100D)
RELATIONSHIPS: dict[str, str] = {"spouse": "01", "child": "19", "other": "34"}

# DMG03 gender
GENDERS: dict[str, str] = {"male": "M", "female": "F"}


@dataclass(frozen=True)
class Reason:
    message: str
    action: str


_CHECK_CARD = "Check the insurance card and correct the coverage, then check again."
_CALL_PAYER = "Call the payer (the number is on the insurance card) before the visit."

# AAA03 reject reason codes: what it means and what to do
REJECT_REASONS: dict[str, Reason] = {
    "04": Reason("The payer says the authorized quantity was exceeded.", _CALL_PAYER),
    "15": Reason("The payer says required information was missing from the request.", _CALL_PAYER),
    "33": Reason("The payer found errors in the request.", "Check the coverage details and check again."),
    "35": Reason(
        "The provider is out of this plan's network.", "Tell the patient before the visit; they may pay more."
    ),
    "41": Reason("The payer restricts who may ask about this coverage.", _CALL_PAYER),
    "42": Reason("The payer could not answer right now.", "Check again later."),
    "43": Reason(
        "The payer does not recognise our provider identifier (NPI).",
        "Ask an administrator to check the organization's NPI, then check again.",
    ),
    "44": Reason(
        "The payer does not recognise our provider name.",
        "Ask an administrator to check the organization's name with the payer.",
    ),
    "45": Reason("The payer needs our provider specialty.", _CALL_PAYER),
    "47": Reason(
        "The payer says our provider state is missing or wrong.",
        "Ask an administrator to check the organization's address.",
    ),
    "48": Reason("The payer needs the referring provider's identifier.", _CALL_PAYER),
    "49": Reason(
        "The payer says the provider is not the patient's primary care physician.",
        "Check the patient's assigned primary care physician with the payer.",
    ),
    "50": Reason("The payer does not accept eligibility questions from this provider.", _CALL_PAYER),
    "51": Reason(
        "The payer has no record of our provider.",
        "Ask an administrator to check that the organization is enrolled with this payer.",
    ),
    "52": Reason("The service date is outside our enrollment with the payer.", _CALL_PAYER),
    "53": Reason("The payer says the benefit asked about does not fit our provider type.", _CALL_PAYER),
    "56": Reason("The payer refused the date in the request.", "Check the service date and check again."),
    "57": Reason(
        "The payer says the date of service is missing or invalid.", "Check the service date and check again."
    ),
    "58": Reason(
        "The payer says the date of birth is missing or invalid.",
        "Check the date of birth against the insurance card and the patient's record, then check again.",
    ),
    "60": Reason(
        "The date of birth is after the date of service.", "Correct the date of birth or the service date."
    ),
    "61": Reason("The payer has a date of death before the service date.", _CALL_PAYER),
    "62": Reason(
        "The payer does not answer for this date of service.",
        "Check again closer to the visit, or for today.",
    ),
    "63": Reason("The payer does not answer for future dates.", "Check again on the day of the visit."),
    "64": Reason("The payer says the patient's ID is missing or invalid.", _CHECK_CARD),
    "65": Reason(
        "The payer says the patient's name is missing or invalid.",
        "Check the name exactly as printed on the insurance card, then check again.",
    ),
    "66": Reason(
        "The payer says the patient's sex is missing or invalid.",
        "Check the patient's administrative sex, then check again.",
    ),
    "67": Reason("The payer cannot find the patient.", _CHECK_CARD),
    "68": Reason("The payer has more than one patient with this ID.", _CALL_PAYER),
    "69": Reason("The payer says the request does not fit the patient's age.", _CALL_PAYER),
    "70": Reason("The payer says the request does not fit the patient's sex.", _CALL_PAYER),
    "71": Reason(
        "The date of birth does not match the payer's record.",
        "Check the date of birth with the patient and on the insurance card, then check again.",
    ),
    "72": Reason(
        "The payer does not recognise the member ID.",
        "Check the insurance card and correct the member ID.",
    ),
    "73": Reason(
        "The payer says the subscriber's name is missing or invalid.",
        "Check the subscriber's name exactly as printed on the insurance card, then check again.",
    ),
    "74": Reason("The payer says the subscriber's sex is missing or invalid.", _CHECK_CARD),
    "75": Reason(
        "The payer cannot find the subscriber.",
        "Check the member ID, name and date of birth against the insurance card; "
        "the patient may have new insurance.",
    ),
    "76": Reason("The payer has more than one subscriber with this ID.", _CALL_PAYER),
    "77": Reason(
        "The payer found the subscriber but not this patient on the policy.",
        "Check the patient's relationship to the subscriber and their name and date of birth.",
    ),
    "78": Reason(
        "The payer says the subscriber is not in this group or plan.",
        "Check the group number on the insurance card; the patient may have changed plans.",
    ),
    "79": Reason(
        "The payer could not identify the request's sender.",
        "Ask an administrator to check the clearinghouse set-up.",
    ),
    "80": Reason("The payer did not answer in time.", "Check again later."),
    "97": Reason(
        "The payer says our provider address is missing or invalid.",
        "Ask an administrator to check the organization's address.",
    ),
    "T4": Reason("The payer name or ID is missing.", "Ask billing to check the payer's ID."),
}

# AAA04 follow-up action
FOLLOW_UPS: dict[str, str] = {
    "C": "Correct the request and check again.",
    "N": "Do not check again with the same details.",
    "P": "Send the same request again.",
    "R": "A new request is allowed.",
    "S": "Do not check again; the payer is asking someone else.",
    "W": "Wait 30 days before checking again.",
    "X": "Wait 10 days before checking again.",
    "Y": "Do not check again; the payer will answer later.",
}


def reason_for(code: str) -> Reason:
    return REJECT_REASONS.get(
        code, Reason(f"The payer refused the request (reason {code or 'not given'}).", _CALL_PAYER)
    )


def service_label(code: str) -> str:
    return SERVICE_TYPES.get(code, f"Service type {code}")
