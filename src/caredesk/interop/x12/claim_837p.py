"""Building a professional claim batch, 837P (005010X222A1), for claims to one payer.

Loops: 1000A submitter, 1000B receiver, 2000A billing provider (HL 20), then per claim a 2000B
subscriber (HL 22, SBR, 2010BA subscriber, 2010BB payer), a 2000C patient (HL 23) when the patient is not
the subscriber, the 2300 claim (CLM, HI), 2310B rendering provider, 2320/2330 other coverage when the
claim has a secondary payer, and one 2400 service line (LX, SV1, DTP*472) per charge line.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

from caredesk.billing.schemas import (
    Address,
    ClaimBatch,
    ClaimCoverage,
    ClaimData,
    ClaimLineData,
    ClaimPerson,
    Provider,
)

from .codes import GENDERS
from .envelope import Parties, wrap
from .segments import clean, segment
from .validation import captured_log

VERSION_837P = "005010X222A1"
_NPI = re.compile(r"^[12]\d{9}$")
# SBR02 / PAT01 individual relationship codes (X222A1).
_RELATIONSHIP = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
_PAYER_ORDER = {1: "P", 2: "S", 3: "T"}


class ClaimNotBuildable(ValueError):
    """What stops a claim from being written, in words for the biller."""


def money(value: Decimal) -> str:
    """An X12 amount: no trailing zeros beyond what is needed, never a float."""
    quantized = value.quantize(Decimal("0.01"))
    text = f"{quantized:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _quantity(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _address(address: Address | None, who: str) -> list[str]:
    if address is None or not clean(address.line1, 55) or not clean(address.city, 30):
        raise ClaimNotBuildable(f"The {who}'s address is missing.")
    postal = re.sub(r"\D", "", address.postal_code)
    return [
        segment("N3", clean(address.line1, 55)),
        segment("N4", clean(address.city, 30), clean(address.state, 2), postal[:9]),
    ]


def _person_name(person: ClaimPerson, qualifier: str, *, member_id: str = "") -> str:
    family = clean(person.family_name, 60)
    if not family:
        raise ClaimNotBuildable("A name on the claim is missing.")
    given = clean(person.given_name, 35)
    if member_id:
        return segment("NM1", qualifier, "1", family, given, "", "", "", "MI", member_id)
    return segment("NM1", qualifier, "1", family, given)


def _demographics(person: ClaimPerson, who: str) -> str:
    if person.birth_date is None:
        raise ClaimNotBuildable(f"The {who}'s birth date is missing.")
    return segment("DMG", "D8", person.birth_date.strftime("%Y%m%d"), GENDERS.get(person.sex, "U"))


def _npi(provider: Provider, who: str) -> str:
    if not _NPI.fullmatch(provider.npi or ""):
        raise ClaimNotBuildable(f"The {who} has no valid NPI.")
    return provider.npi


def _payer(coverage: ClaimCoverage) -> str:
    payer_id = clean(coverage.payer_id, 80)
    name = clean(coverage.payer_name, 60)
    if not payer_id or not name:
        raise ClaimNotBuildable("The payer has no name or payer ID.")
    return segment("NM1", "PR", "2", name, "", "", "", "", "PI", payer_id)


def _diagnosis_codes(diagnoses: tuple[str, ...]) -> str:
    if not diagnoses:
        raise ClaimNotBuildable("The claim has no diagnosis.")
    if len(diagnoses) > 12:
        raise ClaimNotBuildable("A claim carries at most 12 diagnoses.")
    parts = []
    for index, code in enumerate(diagnoses):
        qualifier = "ABK" if index == 0 else "ABF"
        parts.append(f"{qualifier}:{code.replace('.', '').upper()}")
    return segment("HI", *parts)


def _claim_segments(claim: ClaimData, next_hl: int, parent_hl: int) -> tuple[list[str], int]:
    coverage = claim.coverage
    member_id = clean(coverage.member_id, 80)
    if not member_id:
        raise ClaimNotBuildable("The coverage has no member ID.")
    if not claim.lines:
        raise ClaimNotBuildable("The claim has no lines.")
    dependent = coverage.relationship != "self"
    subscriber_hl = next_hl
    out = [
        segment("HL", str(subscriber_hl), str(parent_hl), "22", "1" if dependent else "0"),
        segment(
            "SBR",
            _PAYER_ORDER.get(coverage.order, "P"),
            "" if dependent else "18",
            clean(coverage.group_number, 50),
            "",
            "",
            "",
            "",
            "",
            "CI",
        ),
        _person_name(coverage.subscriber, "IL", member_id=member_id),
    ]
    if not dependent:
        out += [*_address(claim.patient.address, "patient"), _demographics(claim.patient, "patient")]
    out.append(_payer(coverage))
    next_hl += 1
    if dependent:
        out += [
            segment("HL", str(next_hl), str(subscriber_hl), "23", "0"),
            segment("PAT", _RELATIONSHIP.get(coverage.relationship, "G8")),
            _person_name(claim.patient, "QC"),
            *_address(claim.patient.address, "patient"),
            _demographics(claim.patient, "patient"),
        ]
        next_hl += 1
    out += [
        segment(
            "CLM",
            clean(claim.claim_number, 38),
            money(claim.total),
            "",
            "",
            f"{clean(claim.place_of_service, 2)}:B:1",
            "Y",
            "A",
            "Y",
            "Y",
        ),
        _diagnosis_codes(claim.diagnoses),
    ]
    rendering = claim.rendering_provider
    if rendering.npi != claim.billing_provider.npi:
        out.append(
            segment(
                "NM1",
                "82",
                "1",
                clean(rendering.family_name, 60),
                clean(rendering.given_name, 35),
                "",
                "",
                "",
                "XX",
                _npi(rendering, "rendering provider"),
            )
        )
    if claim.other_coverage is not None:
        out += _other_coverage(claim.other_coverage)
    for number, line in enumerate(claim.lines, start=1):
        out += _line_segments(claim, line, number)
    return out, next_hl


def _other_coverage(other: ClaimCoverage) -> list[str]:
    member_id = clean(other.member_id, 80)
    if not member_id:
        raise ClaimNotBuildable("The other coverage has no member ID.")
    return [
        segment(
            "SBR",
            _PAYER_ORDER.get(other.order, "S"),
            _RELATIONSHIP.get(other.relationship, "G8"),
            clean(other.group_number, 50),
            "",
            "",
            "",
            "",
            "",
            "CI",
        ),
        segment("OI", "", "", "Y", "", "", "Y"),
        _person_name(other.subscriber, "IL", member_id=member_id),
        _payer(other),
    ]


def _line_segments(claim: ClaimData, line: ClaimLineData, number: int) -> list[str]:
    if len(line.modifiers) > 4:
        raise ClaimNotBuildable("A line carries at most 4 modifiers.")
    if not line.diagnosis_pointers or len(line.diagnosis_pointers) > 4:
        raise ClaimNotBuildable("A line points at 1 to 4 diagnoses.")
    if any(p < 1 or p > len(claim.diagnoses) for p in line.diagnosis_pointers):
        raise ClaimNotBuildable("A line points at a diagnosis the claim does not have.")
    procedure = ":".join(["HC", clean(line.procedure_code, 48), *(clean(m, 2) for m in line.modifiers)])
    pointers = ":".join(str(p) for p in line.diagnosis_pointers)
    return [
        segment("LX", str(number)),
        segment("SV1", procedure, money(line.charge), "UN", _quantity(line.units), "", "", pointers),
        segment("DTP", "472", "D8", line.service_date.strftime("%Y%m%d")),
    ]


def build_837p(batch: ClaimBatch, parties: Parties) -> str:
    """One interchange with one 837P transaction holding every claim of the batch (one payer)."""
    if not batch.claims:
        raise ClaimNotBuildable("The batch has no claims.")
    payers = {clean(c.coverage.payer_id, 80) for c in batch.claims}
    if len(payers) != 1:
        raise ClaimNotBuildable("A batch holds the claims of one payer.")
    billing = batch.claims[0].billing_provider
    if any(c.billing_provider != billing for c in batch.claims):
        raise ClaimNotBuildable("A batch holds the claims of one billing provider.")
    tax_id = re.sub(r"\D", "", billing.tax_id)
    if len(tax_id) != 9:
        raise ClaimNotBuildable("The billing provider's tax ID (EIN, 9 digits) is missing.")
    when = batch.created_at
    reference = f"{batch.control_number:09d}"
    body = [
        segment("BHT", "0019", "00", reference, when.strftime("%Y%m%d"), when.strftime("%H%M"), "CH"),
        segment("NM1", "41", "2", clean(batch.submitter_name, 60), "", "", "", "", "46", batch.submitter_id),
        segment("PER", "IC", clean(batch.contact_name, 60), "TE", re.sub(r"\D", "", batch.contact_phone)),
        segment("NM1", "40", "2", clean(batch.receiver_name, 60), "", "", "", "", "46", batch.receiver_id),
        segment("HL", "1", "", "20", "1"),
        segment(
            "NM1",
            "85",
            "2",
            clean(billing.family_name, 60),
            "",
            "",
            "",
            "",
            "XX",
            _npi(billing, "billing provider"),
        ),
        *_address(billing.address, "billing provider"),
        segment("REF", "EI", tax_id),
    ]
    next_hl = 2
    for claim in batch.claims:
        segments, next_hl = _claim_segments(claim, next_hl, 1)
        body += segments
    return wrap(
        transaction="837",
        functional_code="HC",
        body=body,
        parties=parties,
        control_number=batch.control_number,
        when=when,
        version=VERSION_837P,
    )


def pyx12_problems_837p(text: str) -> list[str]:
    """pyx12's findings for an 837P we generated, against its own 005010X222A1 map (empty when it passes)."""
    import pyx12.params
    import pyx12.x12n_document

    with captured_log("pyx12") as log:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=io.StringIO(text),
            fd_997=io.StringIO(),
            fd_html=None,
            fd_json=None,
        )
    lines = [line for line in log.getvalue().splitlines() if line.strip()]
    return [] if ok else (lines or ["pyx12 reported a failure without a message."])
