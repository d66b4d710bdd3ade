"""Building an eligibility request, 270 (005010X279A1), for one patient's coverage.

Loops: 2000A information source (the payer), 2000B information receiver (our organization, by NPI),
2000C subscriber, and 2000D dependent when the patient is not the subscriber. The trace number (TRN) of
the patient's loop comes back in the 271, which is how an answer finds its request. A date (DTP*291) is
sent only when it is not the day of the request, as the guide asks.
"""

from __future__ import annotations

import re

from caredesk.coverage.schemas import EligibilityInquiry, Person

from .codes import GENDERS, RELATIONSHIPS
from .envelope import Parties, wrap
from .segments import clean, segment

_NPI = re.compile(r"^[12]\d{9}$")


class RequestNotPossible(ValueError):
    """What the request lacks, in words for the person who can fix it."""


def _name(person: Person, qualifier: str, *, member_id: str = "") -> str:
    family = clean(person.family_name, 60)
    given = clean(person.given_name, 35)
    if not family:
        raise RequestNotPossible("The name needed for the request is missing.")
    if member_id:
        return segment("NM1", qualifier, "1", family, given, "", "", "", "MI", member_id)
    return segment("NM1", qualifier, "1", family, given)


def _demographics(person: Person) -> list[str]:
    if person.birth_date is None:
        return []
    # DMG03 is sent only when known: both guides list F and M alone for the 270.
    return [segment("DMG", "D8", person.birth_date.strftime("%Y%m%d"), GENDERS.get(person.sex, ""))]


def _trace_originator(tax_id: str) -> str:
    digits = re.sub(r"\D", "", tax_id)
    return f"1{digits}" if len(digits) == 9 else "9999999999"


def build_270(inquiry: EligibilityInquiry, parties: Parties) -> str:
    if not _NPI.fullmatch(inquiry.provider_npi or ""):
        raise RequestNotPossible(
            "The organization has no valid NPI. "
            "An administrator must add it before eligibility can be checked."
        )
    member_id = clean(inquiry.member_id, 80)
    if not member_id:
        raise RequestNotPossible("The coverage has no member ID. Add it from the insurance card.")
    payer_id = clean(inquiry.payer_id, 80)
    payer_name = clean(inquiry.payer_name, 60)
    if not payer_id or not payer_name:
        raise RequestNotPossible("The payer has no name or payer ID. Ask billing to correct the payer.")
    trace = clean(inquiry.trace_number, 50)
    when = inquiry.created_at
    dependent = inquiry.relationship != "self"
    service_dates = (
        [segment("DTP", "291", "D8", inquiry.service_date.strftime("%Y%m%d"))]
        if inquiry.service_date != when.date()
        else []
    )
    eligibility = [segment("EQ", code) for code in inquiry.service_types]
    trn = segment("TRN", "1", trace, _trace_originator(inquiry.provider_tax_id))
    body = [
        segment("BHT", "0022", "13", trace, when.strftime("%Y%m%d"), when.strftime("%H%M")),
        segment("HL", "1", "", "20", "1"),
        segment("NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id),
        segment("HL", "2", "1", "21", "1"),
        segment(
            "NM1", "1P", "2", clean(inquiry.provider_name, 60), "", "", "", "", "XX", inquiry.provider_npi
        ),
        segment("HL", "3", "2", "22", "1" if dependent else "0"),
    ]
    group = [segment("REF", "6P", clean(inquiry.group_number, 50))] if clean(inquiry.group_number, 50) else []
    if not dependent:
        body += [
            trn,
            _name(inquiry.subscriber, "IL", member_id=member_id),
            *group,
            *_demographics(inquiry.patient),
            *service_dates,
            *eligibility,
        ]
    else:
        body += [
            _name(inquiry.subscriber, "IL", member_id=member_id),
            *group,
            *_demographics(inquiry.subscriber),
        ]
        body += [
            segment("HL", "4", "3", "23", "0"),
            trn,
            _name(inquiry.patient, "03"),
            *_demographics(inquiry.patient),
            segment("INS", "N", RELATIONSHIPS.get(inquiry.relationship, "34")),
            *service_dates,
            *eligibility,
        ]
    return wrap(
        transaction="270",
        functional_code="HS",
        body=body,
        parties=parties,
        control_number=inquiry.control_number or 1,
        when=when,
    )
