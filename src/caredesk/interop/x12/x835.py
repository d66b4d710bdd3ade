"""Reading remittance advice, 835 (005010X221A1), into a `billing.schemas.Remittance`.

pyx12 ships the 005010X221A1 map, so a file is first validated by pyx12 as it is (no relabelling, unlike the
271 path); a file pyx12 rejects raises `X12Error` naming pyx12's first finding with its segment and line,
and nothing is read. Then the segments are read: BPR (amount, method, date), TRN (trace number and payer
identifier), N1*PR / N1*PE, and per LX group each CLP with its claim-level CAS and its SVC lines (with their
DTM dates and CAS), and PLB provider adjustments. Amounts are Decimal.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from caredesk.billing.schemas import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)

from .segments import Delimiters, Segment, X12Error, read
from .validation import captured_log

VERSION_835 = "005010X221A1"
_PYX12_LINE = re.compile(r"Line:(\d+)")


def pyx12_problems_835(text: str) -> list[str]:
    """pyx12's findings for an 835 against its 005010X221A1 map (empty when it passes)."""
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
    if ok:
        return []
    findings = [line for line in lines if _PYX12_LINE.search(line)]
    return findings or lines or ["pyx12 reported a failure without a message."]


#: The ledger keeps 12 digits, 2 of them cents (billing.models); larger amounts are refused.
MAX_AMOUNT = Decimal("1e10")


def _amount(value: str, seg: Segment, *, required: bool = True) -> Decimal:
    if not value and not required:
        return Decimal("0.00")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise X12Error(f"{value!r} is not an amount.", segment=seg.tag, line=seg.line) from exc
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise X12Error(f"{value!r} is not an amount.", segment=seg.tag, line=seg.line)
    return number.quantize(Decimal("0.01"))


def _date(value: str, seg: Segment) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 (a calendar date)
    except ValueError as exc:
        raise X12Error(f"{value!r} is not a date (CCYYMMDD).", segment=seg.tag, line=seg.line) from exc


def _adjustments(seg: Segment) -> list[Adjustment]:
    """A CAS carries up to six reason/amount/quantity triplets of one group."""
    group = seg.get(1)
    found = []
    for start in range(2, 20, 3):
        reason, amount = seg.get(start), seg.get(start + 1)
        if reason:
            found.append(Adjustment(group=group, reason=reason, amount=_amount(amount, seg)))
    return found


@dataclass
class _OpenService:
    service: ServicePayment
    adjustments: list[Adjustment] = field(default_factory=list)


@dataclass
class _OpenClaim:
    claim: ClaimPayment
    adjustments: list[Adjustment] = field(default_factory=list)
    services: list[_OpenService] = field(default_factory=list)

    def close(self) -> ClaimPayment:
        services = tuple(replace(s.service, adjustments=tuple(s.adjustments)) for s in self.services)
        return replace(self.claim, adjustments=tuple(self.adjustments), services=services)


def _service(seg: Segment, delimiters: Delimiters) -> ServicePayment:
    composite = seg.get(1).split(delimiters.component)
    units = seg.get(5)
    return ServicePayment(
        procedure_code=composite[1] if len(composite) > 1 else composite[0],
        modifiers=tuple(m for m in composite[2:6] if m),
        charge=_amount(seg.get(2), seg),
        paid=_amount(seg.get(3), seg),
        units=_amount(units, seg) if units else None,
    )


def _check_envelope(segments: list[Segment]) -> list[Segment]:
    tags = [s.tag for s in segments]
    for needed in ("GS", "ST", "SE", "GE"):
        if needed not in tags:
            raise X12Error(f"The {needed} segment is missing.", segment=needed, line=len(segments))
    st = segments[tags.index("ST")]
    se = segments[tags.index("SE")]
    gs = segments[tags.index("GS")]
    if st.get(1) != "835":
        raise X12Error(f"This is a {st.get(1)} transaction, not an 835.", segment="ST", line=st.line)
    if gs.get(8) != VERSION_835:
        raise X12Error(
            f"Version {gs.get(8) or 'not given'} is not supported; remittances must be {VERSION_835}.",
            segment="GS",
            line=gs.line,
        )
    if tags.count("ST") != 1:
        second = segments[tags.index("ST", st.line)]
        raise X12Error("Only one 835 per file is supported.", segment="ST", line=second.line)
    return segments[st.line : se.line - 1]


def _read_body(body: list[Segment], delimiters: Delimiters) -> Remittance:
    bpr = next((s for s in body if s.tag == "BPR"), None)
    trn = next((s for s in body if s.tag == "TRN"), None)
    if bpr is None or trn is None:
        missing = "BPR" if bpr is None else "TRN"
        raise X12Error(
            f"The {missing} segment is missing.", segment=missing, line=body[0].line if body else 3
        )
    if not trn.get(2):
        raise X12Error("The trace number (TRN02) is empty.", segment="TRN", line=trn.line)
    names: dict[str, tuple[str, str]] = {}
    claims: list[ClaimPayment] = []
    plb: list[ProviderAdjustment] = []
    current: _OpenClaim | None = None
    service: _OpenService | None = None
    for seg in body:
        if seg.tag == "N1" and current is None:
            names.setdefault(seg.get(1), (seg.get(2), seg.get(4)))
        elif seg.tag in ("LX", "PLB", "CLP") and current is not None:
            claims.append(current.close())
            current, service = None, None
        if seg.tag == "CLP":
            current = _OpenClaim(
                ClaimPayment(
                    claim_number=seg.get(1),
                    status_code=seg.get(2),
                    charge=_amount(seg.get(3), seg),
                    paid=_amount(seg.get(4), seg),
                    patient_responsibility=_amount(seg.get(5), seg, required=False),
                    payer_claim_number=seg.get(7),
                    line=seg.line,
                )
            )
            service = None
        elif seg.tag == "NM1" and current is not None and seg.get(1) == "QC":
            name = " ".join(p for p in (seg.get(4), seg.get(3)) if p)
            current.claim = replace(current.claim, patient_name=name)
        elif seg.tag == "SVC" and current is not None:
            service = _OpenService(_service(seg, delimiters))
            current.services.append(service)
        elif seg.tag == "DTM" and service is not None and seg.get(1) in ("472", "150"):
            service.service = replace(service.service, service_date=_date(seg.get(2), seg))
        elif seg.tag == "CAS" and current is not None:
            (service.adjustments if service is not None else current.adjustments).extend(_adjustments(seg))
        elif seg.tag == "PLB":
            for start in range(3, 15, 2):
                code = seg.get(start)
                if code:
                    reason, _sep, reference = code.partition(delimiters.component)
                    plb.append(
                        ProviderAdjustment(
                            reason=reason, reference=reference, amount=_amount(seg.get(start + 1), seg)
                        )
                    )
    if current is not None:
        claims.append(current.close())
    payer_name, payer_code = names.get("PR", ("", ""))
    payee_name, payee_id = names.get("PE", ("", ""))
    return Remittance(
        payer_name=payer_name,
        payer_id=trn.get(3) or payer_code or payer_name,
        payee_name=payee_name,
        payee_id=payee_id,
        trace_number=trn.get(2),
        payment_method=bpr.get(4),
        payment_date=_date(bpr.get(16), bpr),
        total_paid=_amount(bpr.get(2), bpr),
        claims=tuple(claims),
        provider_adjustments=tuple(plb),
    )


def parse_835(text: str, *, validate: bool = True) -> Remittance:
    """The remittance of an 835 file. `validate` runs pyx12 first (the default: inbound files are
    checked before anything is read); any problem raises `X12Error` naming the segment and line."""
    delimiters, segments = read(text)
    body = _check_envelope(segments)
    if validate:
        problems = pyx12_problems_835(text)
        if problems:
            first = problems[0]
            match = _PYX12_LINE.search(first)
            line = int(match.group(1)) if match else None
            tag = segments[line - 1].tag if line and 0 < line <= len(segments) else ""
            raise X12Error(f"The 835 is not valid ({first.strip()}).", segment=tag, line=line)
    return _read_body(body, delimiters)
