"""Reading claim acknowledgments: the 999 (005010X231A1, did the clearinghouse accept the 837 batch's
syntax?) and the 277CA (005010X214, did the payer accept each claim into adjudication?).

Both are validated by pyx12 first (it ships the X231/X231A1 and X214 maps; an invalid file raises `X12Error`
naming pyx12's first finding with its segment and line, and nothing is read), then read here:

- 999: per functional group (AK1: functional code and the group control number GS06 of the batch we sent),
  per transaction set (AK2: ST01 and ST02), the set's verdict (IK5: A accepted, E accepted with errors,
  R/M/W/X rejected) and its errors (IK3 segment, IK4 element, IK5 codes) in plain words.
- 277CA: per patient loop (HL…PT), the patient control number (TRN02 = our CLM01) and every claim-level STC
  status (the ones before any service line), each in plain words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .segments import Delimiters, Segment, X12Error, read
from .x835 import pyx12_problems_835

VERSIONS_999 = ("005010X231A1", "005010X231")
VERSION_277CA = "005010X214"
_PYX12_LINE = re.compile(r"Line:(\d+)")

REJECTED_SET = frozenset({"R", "M", "W", "X"})

SET_STATUS = {
    "A": "accepted",
    "E": "accepted with errors",
    "R": "rejected",
    "M": "rejected: the message authentication code failed",
    "W": "rejected: the assurance failed validity tests",
    "X": "rejected: the content could not be analyzed after decryption",
    "P": "partially accepted",
}

#: IK304: what is wrong with a segment.
SEGMENT_ERRORS = {
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over its maximum times",
    "5": "segment exceeds its maximum use",
    "6": "segment not in the transaction set",
    "7": "segment not in its proper sequence",
    "8": "segment has data element errors",
    "I4": "segment the guide marks 'not used' is present",
    "I6": "implementation-dependent segment missing",
    "I7": "loop occurs under its minimum times",
    "I8": "segment occurs under its minimum times",
    "I9": "implementation-dependent 'not used' segment present",
}

#: IK403: what is wrong with an element.
ELEMENT_ERRORS = {
    "1": "required element missing",
    "2": "conditional required element missing",
    "3": "too many elements",
    "4": "element too short",
    "5": "element too long",
    "6": "invalid character in element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in this guide",
    "I9": "implementation-dependent element missing",
    "I10": "element the guide marks 'not used' is present",
    "I11": "too few repetitions",
    "I12": "value does not match the guide's pattern",
    "I13": "implementation-dependent 'not used' element present",
}

#: IK502-IK506: why a transaction set was rejected.
SET_ERRORS = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "control numbers in header and trailer do not match",
    "4": "number of included segments does not match the count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "18": "transaction set not in its functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "I5": "implementation: one or more segments in error",
    "I6": "implementation convention not supported",
}

#: 277CA STC01-1: the claim status category.
CATEGORIES = {
    "A0": "acknowledged: forwarded to another entity",
    "A1": "acknowledged: received",
    "A2": "accepted into adjudication",
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A5": "split claim",
    "A6": "rejected: missing information",
    "A7": "rejected: invalid information",
    "A8": "rejected: relational field in error",
}
ACCEPTED_CATEGORIES = frozenset({"A1", "A2"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})

#: 277CA STC01-2: the claim status (code list 507), the ones clearinghouses send most.
STATUSES = {
    "0": "cannot provide further status electronically",
    "3": "claim has been adjudicated and is awaiting payment",
    "15": "duplicate of a previously processed claim",
    "19": "entity acknowledges receipt of the claim",
    "20": "accepted for processing",
    "21": "missing or invalid information",
    "23": "returned to the entity",
    "33": "subscriber and subscriber ID not found",
    "35": "claim or encounter not found",
    "96": "no agreement with the entity",
    "97": "patient eligibility not found",
    "109": "entity not eligible",
    "116": "claim submitted to the incorrect payer",
    "145": "entity's mailing address",
    "164": "entity's contract/member number",
    "187": "date(s) of service",
    "247": "line information",
    "254": "principal diagnosis code",
    "255": "diagnosis code",
    "454": "procedure code for services rendered",
    "464": "payer assigned claim control number",
    "481": "claim/submission format is invalid",
    "484": "diagnosis code pointers are missing or invalid",
    "496": "submitter not approved for electronic claim submissions",
    "562": "entity's National Provider Identifier (NPI)",
    "673": "patient control number",
    "732": "information submitted inconsistent with billing guidelines",
}

#: 277CA STC01-3: who the status is about (entity identifier code 98).
ENTITIES = {
    "03": "dependent",
    "1P": "provider",
    "40": "receiver",
    "41": "submitter",
    "77": "service location",
    "82": "rendering provider",
    "85": "billing provider",
    "87": "pay-to provider",
    "DN": "referring provider",
    "IL": "subscriber",
    "PR": "payer",
    "QC": "patient",
}


@dataclass(frozen=True)
class SetAcknowledgment:
    """One AK2 loop: the 837 transaction set it answers and the verdict."""

    set_id: str  # AK201, e.g. 837
    control_number: str  # AK202 = ST02 of the set we sent
    status: str  # IK501
    errors: tuple[str, ...]
    line: int

    @property
    def rejected(self) -> bool:
        return self.status in REJECTED_SET

    @property
    def status_text(self) -> str:
        return SET_STATUS.get(self.status, f"status {self.status}")


@dataclass(frozen=True)
class GroupAcknowledgment:
    """One AK1 loop: the functional group (our batch's GS06) with its sets and the group verdict (AK9)."""

    functional_code: str  # AK101, HC for claims
    group_control_number: str  # AK102 = GS06 of the batch we sent
    status: str  # AK901
    sets: tuple[SetAcknowledgment, ...]
    line: int


@dataclass(frozen=True)
class ClaimStatusInfo:
    category: str
    status: str
    entity: str

    @property
    def accepted(self) -> bool:
        return self.category in ACCEPTED_CATEGORIES

    @property
    def rejected(self) -> bool:
        return self.category in REJECTED_CATEGORIES

    @property
    def text(self) -> str:
        words = CATEGORIES.get(self.category, f"category {self.category}")
        if self.status:
            words += f"; {STATUSES.get(self.status, f'status code {self.status}')}"
        if self.entity:
            words += f" ({ENTITIES.get(self.entity, f'entity {self.entity}')})"
        return f"{words} [{':'.join(c for c in (self.category, self.status, self.entity) if c)}]"


@dataclass(frozen=True)
class ClaimAcknowledgment:
    """One 277CA patient loop: our claim number (TRN02) and its claim-level statuses."""

    claim_number: str
    payer_claim_number: str
    statuses: tuple[ClaimStatusInfo, ...]
    line: int

    @property
    def rejected(self) -> bool:
        return any(s.rejected for s in self.statuses)

    @property
    def accepted(self) -> bool:
        return not self.rejected and any(s.accepted for s in self.statuses)

    @property
    def reason(self) -> str:
        return "; ".join(s.text for s in self.statuses)


def validate_with_pyx12(text: str, segments: list[Segment], what: str) -> None:
    """Raise `X12Error` with pyx12's first finding (its segment and line) when pyx12 rejects the file."""
    problems = pyx12_problems_835(text)  # the generic pyx12 run: the map follows GS08
    if problems:
        first = problems[0]
        match = _PYX12_LINE.search(first)
        line = int(match.group(1)) if match else None
        tag = segments[line - 1].tag if line and 0 < line <= len(segments) else ""
        raise X12Error(f"The {what} is not valid ({first.strip()}).", segment=tag, line=line)


def _transaction_sets(segments: list[Segment], set_id: str, versions: tuple[str, ...]) -> list[Segment]:
    """The segments between each ST and SE of the expected kind (envelopes checked as they are met)."""
    body: list[Segment] = []
    inside = False
    version = ""
    for seg in segments:
        if seg.tag == "GS":
            version = seg.get(8)
            if version not in versions:
                raise X12Error(
                    f"Version {version or 'not given'} is not supported here ({', '.join(versions)}).",
                    segment="GS",
                    line=seg.line,
                )
        elif seg.tag == "ST":
            if seg.get(1) != set_id:
                raise X12Error(
                    f"This is a {seg.get(1)} transaction, not a {set_id}.", segment="ST", line=seg.line
                )
            inside = True
        elif seg.tag == "SE":
            inside = False
        elif inside:
            body.append(seg)
    if not body:
        raise X12Error(f"The file holds no {set_id} transaction.", segment="ST", line=len(segments))
    return body


def _codes(value: str, delimiters: Delimiters) -> list[str]:
    return [part for part in value.split(delimiters.component) if part]


def _set_errors(ik5: Segment) -> list[str]:
    return [SET_ERRORS.get(code, f"error code {code}") for code in (ik5.get(n) for n in range(2, 7)) if code]


def parse_999(text: str, *, validate: bool = True) -> list[GroupAcknowledgment]:
    """The functional groups a 999 acknowledges. Any problem raises `X12Error` naming the segment and line."""
    delimiters, segments = read(text)
    body = _transaction_sets(segments, "999", VERSIONS_999)
    if validate:
        validate_with_pyx12(text, segments, "999")
    groups: list[GroupAcknowledgment] = []
    ak1: Segment | None = None
    sets: list[SetAcknowledgment] = []
    ak2: Segment | None = None
    errors: list[str] = []
    context = ""
    for seg in body:
        if seg.tag == "AK1":
            ak1, sets, ak2, errors = seg, [], None, []
        elif ak1 is None:
            raise X12Error("The acknowledgment does not start with AK1.", segment=seg.tag, line=seg.line)
        elif seg.tag == "AK2":
            ak2, errors = seg, []
        elif seg.tag == "IK3" and ak2 is not None:
            context = f"segment {seg.get(1)} (position {seg.get(2)} in the set)"
            if seg.get(4):
                errors.append(f"{context}: {SEGMENT_ERRORS.get(seg.get(4), f'error code {seg.get(4)}')}")
        elif seg.tag == "IK4" and ak2 is not None:
            element = _codes(seg.get(1), delimiters)
            where = f"element {element[0]}" if element else "an element"
            if seg.get(4):
                where += f" (value {seg.get(4)!r})"
            problem = ELEMENT_ERRORS.get(seg.get(3), f"error code {seg.get(3)}")
            errors.append(f"{context or 'the set'}, {where}: {problem}")
        elif seg.tag == "IK5":
            if ak2 is None:
                raise X12Error("IK5 without its AK2.", segment="IK5", line=seg.line)
            if not seg.get(1):
                raise X12Error("IK501 (the set's verdict) is empty.", segment="IK5", line=seg.line)
            sets.append(
                SetAcknowledgment(
                    set_id=ak2.get(1),
                    control_number=ak2.get(2),
                    status=seg.get(1),
                    errors=(*errors, *_set_errors(seg)),
                    line=ak2.line,
                )
            )
            ak2, errors, context = None, [], ""
        elif seg.tag == "AK9":
            if ak2 is not None:
                raise X12Error("The AK2 loop ends without IK5.", segment="AK9", line=seg.line)
            groups.append(
                GroupAcknowledgment(
                    functional_code=ak1.get(1),
                    group_control_number=ak1.get(2),
                    status=seg.get(1),
                    sets=tuple(sets),
                    line=ak1.line,
                )
            )
            ak1 = None
    if ak1 is not None:
        raise X12Error("The AK1 loop ends without AK9.", segment="AK1", line=ak1.line)
    return groups


def _statuses(seg: Segment, delimiters: Delimiters) -> list[ClaimStatusInfo]:
    found = []
    for position in (1, 10, 11):
        parts = _codes(seg.get(position), delimiters)
        if parts:
            padded = [*parts, "", ""]
            found.append(ClaimStatusInfo(category=padded[0], status=padded[1], entity=padded[2]))
    if not found:
        raise X12Error("STC01 (the claim status) is empty.", segment="STC", line=seg.line)
    return found


@dataclass
class _OpenClaim:
    hl: Segment
    claim_number: str = ""
    payer_claim_number: str = ""
    statuses: list[ClaimStatusInfo] = field(default_factory=list)
    in_service_line: bool = False


def parse_277ca(text: str, *, validate: bool = True) -> list[ClaimAcknowledgment]:
    """The claims a 277CA acknowledges, in file order. Any problem raises `X12Error` naming the segment
    and line."""
    delimiters, segments = read(text)
    body = _transaction_sets(segments, "277", (VERSION_277CA,))
    if validate:
        validate_with_pyx12(text, segments, "277CA")
    claims: list[ClaimAcknowledgment] = []
    current: _OpenClaim | None = None

    def close() -> None:
        if current is None:
            return
        if not current.claim_number:
            raise X12Error(
                "The patient loop carries no patient control number (TRN*2).",
                segment="HL",
                line=current.hl.line,
            )
        if not current.statuses:
            raise X12Error("The claim has no status (STC).", segment="HL", line=current.hl.line)
        claims.append(
            ClaimAcknowledgment(
                claim_number=current.claim_number,
                payer_claim_number=current.payer_claim_number,
                statuses=tuple(current.statuses),
                line=current.hl.line,
            )
        )

    for seg in body:
        if seg.tag == "HL":
            close()
            current = _OpenClaim(seg) if seg.get(3) == "PT" else None
        elif current is None:
            continue
        elif seg.tag == "TRN" and seg.get(1) == "2" and not current.in_service_line:
            current.claim_number = seg.get(2)
        elif seg.tag == "REF" and seg.get(1) == "1K" and not current.in_service_line:
            current.payer_claim_number = seg.get(2)
        elif seg.tag == "SVC":
            current.in_service_line = True
        elif seg.tag == "STC" and not current.in_service_line:
            current.statuses.extend(_statuses(seg, delimiters))
    close()
    if not claims:
        raise X12Error("The 277CA acknowledges no claim (no HL*…*PT loop).", segment="HL", line=len(segments))
    return claims
