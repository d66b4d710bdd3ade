"""Pure rules about patients and their charts: values in, answers out (no ORM, no settings).

The services call these and turn a "no" into a coded error; the tests check them without a database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher

import simple_icd_10_cm as cm

# USPS two-letter codes: the 50 states, DC, the inhabited territories and the armed-forces "states".
# Source: USPS Publication 28, appendix B (facts, kept here as data).
USPS_STATE_CODES: tuple[str, ...] = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND",
    "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "DC", "AS", "GU", "MP", "PR", "VI", "AA", "AE", "AP",
)  # fmt: skip

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
MRN_DIGITS = 7
# A name pair this similar (difflib ratio on "given family") is treated as the same name.
NAME_SIMILARITY_THRESHOLD = 0.85
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15  # E.164

_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_MRN_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*\d$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]+$")


# --- demographics -----------------------------------------------------------------------------------


def birth_date_error(birth_date: dt.date, today: dt.date) -> str | None:
    """Why `birth_date` cannot be a patient's birth date; None when it can."""
    if birth_date > today:
        return "Birth date is in the future."
    if birth_date < EARLIEST_BIRTH_DATE:
        return f"Birth date is before {EARLIEST_BIRTH_DATE:%Y}."
    return None


def deceased_date_error(
    status: str, deceased_date: dt.date | None, birth_date: dt.date, today: dt.date
) -> str | None:
    """A date of death needs the deceased status, and lies between the birth date and today."""
    if deceased_date is None:
        return None
    if status != "deceased":
        return "A date of death can only be recorded when the status is deceased."
    if deceased_date < birth_date:
        return "Date of death is before the birth date."
    if deceased_date > today:
        return "Date of death is in the future."
    return None


def is_us_state(code: str) -> bool:
    return code.upper() in USPS_STATE_CODES


def is_us_zip(code: str) -> bool:
    return bool(_US_ZIP.match(code))


def is_language_tag(tag: str) -> bool:
    """A plausible BCP-47 tag: "en", "es", "zh-Hant", "pt-BR"."""
    return bool(_LANGUAGE_TAG.match(tag))


def phone_digits_error(phone_digits: str) -> str | None:
    if len(phone_digits) < MIN_PHONE_DIGITS:
        return f"A phone number needs at least {MIN_PHONE_DIGITS} digits."
    if len(phone_digits) > MAX_PHONE_DIGITS:
        return f"A phone number has at most {MAX_PHONE_DIGITS} digits."
    return None


def format_mrn(short_code: str, number: int) -> str:
    """`RSH` and 42 -> `RSH0000042` (more digits once the counter passes 9,999,999)."""
    return f"{short_code.upper()}{number:0{MRN_DIGITS}d}"


def mrn_system(short_code: str) -> str:
    """The identifier system under which an organization's MRNs are recorded (e.g. after a merge)."""
    return f"urn:caredesk:mrn:{short_code.upper()}"


# --- duplicate detection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameKeys:
    """A person's name as search keys (see core.text.name_key): lower-case ASCII, single spaces."""

    given: str
    family: str


def name_ratio(a: NameKeys, b: NameKeys) -> float:
    """difflib similarity of "given family" for two names, 0.0 .. 1.0. difflib's ratio can depend on
    the order of its arguments, so the pair is put in a fixed order: the answer is symmetric."""
    first, second = sorted((f"{a.given} {a.family}", f"{b.given} {b.family}"))
    return SequenceMatcher(None, first, second, autojunk=False).ratio()


def names_look_alike(a: NameKeys, b: NameKeys) -> bool:
    """Would a registrar take these two names (already known to share a birth date) for one person?

    Yes when the family names are equal, when the whole names are at least 85% alike (typos, a missing
    letter, an accent typed or not), when given and family are swapped, or when the family names share a
    word (double-barrelled or married names) and the given names start with the same letter."""
    if not (a.given or a.family) or not (b.given or b.family):
        return False
    if a.family and a.family == b.family:
        return True
    if a.given == b.family and a.family == b.given:
        return True
    if name_ratio(a, b) >= NAME_SIMILARITY_THRESHOLD:
        return True
    shared_family_word = bool(set(a.family.split()) & set(b.family.split()))
    return shared_family_word and a.given[:1] == b.given[:1] != ""


def phone_is_matchable(phone_digits: str) -> bool:
    """Short numbers (extensions, "911") would match strangers: only whole numbers count as shared."""
    return len(phone_digits) >= MIN_PHONE_DIGITS


# --- search text --------------------------------------------------------------------------------------


def parse_date_text(text: str) -> dt.date | None:
    """`1980-02-29` or `2/29/1980` (US order) as a date; None when the text is not such a date."""
    text = text.strip()
    try:
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
        match = _US_DATE.match(text)
        if match:
            month, day, year = (int(part) for part in match.groups())
            return dt.date(year, month, day)
    except ValueError:
        return None
    return None


def looks_like_mrn(text: str) -> bool:
    """Letters then digits without spaces, e.g. `RSH0000042` (names never hold digits)."""
    return bool(_MRN_LIKE.match(text.strip()))


def looks_like_phone(text: str) -> bool:
    """Only phone punctuation and at least seven digits: `(555) 010-2345`, `555.010.2345`, `+1 555 ...`."""
    text = text.strip()
    return bool(_PHONE_LIKE.match(text)) and sum(ch.isdigit() for ch in text) >= MIN_PHONE_DIGITS


def name_prefix_splits(words: list[str]) -> list[tuple[str, str]]:
    """Every way to cut typed name words into a (first part, rest) pair: ["john", "smi"] ->
    [("john", "smi")]; ["mary", "de", "la"] -> [("mary", "de la"), ("mary de", "la")]."""
    return [(" ".join(words[:cut]), " ".join(words[cut:])) for cut in range(1, len(words))]


# --- clinical codes and measurements ---------------------------------------------------------------


def normalize_icd10(code: str) -> str | None:
    """The dotted upper-case form of an ICD-10-CM diagnosis code (`e119` -> `E11.9`), or None when the
    text is not a code of the tabular list (chapters and blocks like `A00-A09` are not codes)."""
    compact = re.sub(r"[\s.]", "", code or "").upper()
    if not compact or len(compact) > 7 or not compact.isalnum():
        return None
    if not cm.is_valid_item(compact) or not cm.is_category_or_subcategory(compact):
        return None
    return str(cm.add_dot(compact))


def icd10_description(code: str) -> str:
    return str(cm.get_description(code))


@dataclass(frozen=True)
class Range:
    low: Decimal
    high: Decimal

    def __contains__(self, value: object) -> bool:
        return isinstance(value, Decimal) and self.low <= value <= self.high


@dataclass(frozen=True)
class ObservationSpec:
    """What a measurement kind needs: its LOINC code, its units (the first is the default) with the
    plausible range of the value in each, and for blood pressure the range of the second value."""

    loinc: str
    units: dict[str, Range]
    value_label: str = "Value"
    value2_label: str = ""
    value2_range: Range | None = None

    @property
    def default_unit(self) -> str:
        return next(iter(self.units))


def _r(low: str, high: str) -> Range:
    return Range(Decimal(low), Decimal(high))


# LOINC codes are facts (loinc.org); units are UCUM. Ranges are wide "physically plausible" limits meant
# to catch typing slips (a weight of 7500 kg), not clinical reference ranges.
OBSERVATION_SPECS: dict[str, ObservationSpec] = {
    "blood_pressure": ObservationSpec(
        loinc="85354-9",
        units={"mm[Hg]": _r("40", "300")},
        value_label="Systolic pressure",
        value2_label="Diastolic pressure",
        value2_range=_r("20", "200"),
    ),
    "heart_rate": ObservationSpec(loinc="8867-4", units={"/min": _r("20", "300")}),
    "respiratory_rate": ObservationSpec(loinc="9279-1", units={"/min": _r("4", "80")}),
    "temperature": ObservationSpec(loinc="8310-5", units={"Cel": _r("25", "45"), "[degF]": _r("77", "113")}),
    "weight": ObservationSpec(loinc="29463-7", units={"kg": _r("0.2", "700"), "[lb_av]": _r("0.5", "1500")}),
    "height": ObservationSpec(loinc="8302-2", units={"cm": _r("20", "280"), "[in_i]": _r("8", "110")}),
    "bmi": ObservationSpec(loinc="39156-5", units={"kg/m2": _r("5", "150")}),
    "spo2": ObservationSpec(loinc="59408-5", units={"%": _r("50", "100")}),
    "hba1c": ObservationSpec(loinc="4548-4", units={"%": _r("2", "25")}),
    "ldl": ObservationSpec(loinc="13457-7", units={"mg/dL": _r("1", "1000")}),
    "egfr": ObservationSpec(loinc="33914-3", units={"mL/min/{1.73_m2}": _r("1", "250")}),
}


def observation_error(kind: str, value: Decimal, value2: Decimal | None, unit: str) -> tuple[str, str] | None:
    """Why this measurement cannot be recorded, as (field, message): an unknown kind or unit, an
    implausible value, a missing or extra second value. None when it can. `unit` is already defaulted."""
    spec = OBSERVATION_SPECS.get(kind)
    if spec is None:
        return "kind", f"{kind!r} is not a known kind of observation."
    limits = spec.units.get(unit)
    if limits is None:
        return "unit", f"{unit!r} is not a unit for this observation; use one of {', '.join(spec.units)}."
    if value not in limits:
        low, high = limits.low, limits.high
        return "value", f"{spec.value_label} {value} {unit} is outside the plausible range {low} to {high}."
    if spec.value2_range is None:
        return None if value2 is None else ("value2", "This observation takes one value only.")
    if value2 is None:
        return "value2", f"{spec.value2_label} is required."
    if value2 not in spec.value2_range:
        low, high = spec.value2_range.low, spec.value2_range.high
        return (
            "value2",
            f"{spec.value2_label} {value2} {unit} is outside the plausible range {low} to {high}.",
        )
    if value2 >= value:
        return "value2", f"{spec.value2_label} must be lower than {spec.value_label.lower()}."
    return None


# --- documents ------------------------------------------------------------------------------------------

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
SNIFF_BYTES = 8

_MAGIC_BY_CONTENT_TYPE: dict[str, bytes] = {
    "application/pdf": PDF_MAGIC,
    "image/png": PNG_MAGIC,
    "image/jpeg": JPEG_MAGIC,
}


def file_extension(filename: str) -> str:
    """Lower-case extension without the dot ("" when there is none)."""
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""


def content_matches(content_type: str, head: bytes) -> bool:
    """Do the first bytes of a file carry the signature of `content_type`? Plain text has no signature:
    the caller checks it decodes as UTF-8 instead."""
    magic = _MAGIC_BY_CONTENT_TYPE.get(content_type)
    if magic is None:
        return content_type == "text/plain"
    return head.startswith(magic)
