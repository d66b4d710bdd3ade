"""Hand-made 835s (005010X221A1) for the remittance tests, built with the project's X12 segment helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from caredesk.interop.x12.envelope import Parties, wrap
from caredesk.interop.x12.segments import segment
from caredesk.interop.x12.x835 import VERSION_835


@dataclass(frozen=True)
class Paid:
    claim_number: str
    charge: Decimal
    paid: Decimal
    status: str = "1"
    patient_responsibility: Decimal = Decimal("0")
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()  # (group, CARC, amount), claim level
    procedure: str = "G0439"
    extra: list[str] = field(default_factory=list)


def _money(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != value.to_integral() else str(int(value))


def build_835(
    claims: list[Paid],
    *,
    trace: str = "EFT1001",
    payer_id: str = "1600054000",
    payer_name: str = "ACME HEALTH",
    paid_on: dt.date = dt.date(2026, 11, 20),
    control: int = 4321,
) -> str:
    total = sum((c.paid for c in claims), Decimal("0"))
    body = [
        segment(
            "BPR",
            "I" if total else "H",
            _money(total),
            "C",
            "ACH" if total else "NON",
            *(
                ["CCP", "01", "999999992", "DA", "123456", "1600054000", "", "01", "999988880", "DA", "98765"]
                if total
                else ["", "", "", "", "", "", "", "", "", "", ""]
            ),
            paid_on.strftime("%Y%m%d"),
        ),
        segment("TRN", "1", trace, payer_id),
        segment("DTM", "405", paid_on.strftime("%Y%m%d")),
        segment("N1", "PR", payer_name),
        segment("N3", "PO BOX 1"),
        segment("N4", "ALBANY", "NY", "12207"),
        segment("PER", "BL", "PROVIDER SERVICES", "TE", "5185550100"),
        segment("N1", "PE", "RIVERSIDE HEALTH", "XX", "1234567893"),
    ]
    if claims:
        body.append(segment("LX", "1"))
    for c in claims:
        body.append(
            segment(
                "CLP",
                c.claim_number,
                c.status,
                _money(c.charge),
                _money(c.paid),
                _money(c.patient_responsibility) if c.patient_responsibility else "",
                "12",
                "PCN" + c.claim_number.replace("-", ""),
            )
        )
        for group, reason, amount in c.adjustments:
            body.append(segment("CAS", group, reason, _money(amount)))
        body.append(segment("NM1", "QC", "1", "LOPEZ", "MARIA", "", "", "", "MI", "W123456789"))
        body += c.extra
    text = wrap(
        transaction="835",
        functional_code="HP",
        body=body,
        parties=Parties(sender_id="ACMEHEALTH", receiver_id="RIVERSIDE"),
        control_number=control,
        when=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
        version=VERSION_835,
    )
    # The 835 guide marks ST03 "not used"; the shared envelope writes it, so it comes out here.
    return text.replace(f"*{VERSION_835}~", "~").replace(
        f"GS*HP*ACMEHEALTH*RIVERSIDE*20261120*0930*{control}*X~",
        f"GS*HP*ACMEHEALTH*RIVERSIDE*20261120*0930*{control}*X*{VERSION_835}~",
    )
