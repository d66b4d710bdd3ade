"""Pure rules of the coverage app (no ORM): what a member ID may contain, whether a coverage is in force
on a date, and the front-desk summary of a payer's answer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .choices import BenefitKind, Network

# X12 reserves its separators; member IDs and group numbers in the wild are letters, digits, dashes.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-./]*$")
OFFICE_VISIT_TYPES = ("98", "BZ", "30", "1")  # the co-pay shown at check-in: office visit first


def identifier_problem(value: str, label: str) -> str | None:
    """Why `value` cannot be a member ID or group number (None when it can)."""
    if not _IDENTIFIER.fullmatch(value):
        return f"{label} may contain letters, digits, spaces, dashes, dots and slashes only."
    return None


def in_force(effective_from: dt.date, effective_to: dt.date | None, on: dt.date) -> bool:
    return effective_from <= on and (effective_to is None or on <= effective_to)


def dates_problem(effective_from: dt.date, effective_to: dt.date | None) -> str | None:
    if effective_to is not None and effective_to < effective_from:
        return "The coverage cannot end before it starts."
    return None


@dataclass(frozen=True)
class BenefitFacts:
    kind: str
    service_type: str
    network: str
    coverage_level: str
    remaining: bool
    amount: Decimal | None
    percent: Decimal | None


@dataclass(frozen=True)
class Summary:
    """The few numbers the front desk needs, from the in-network individual benefits."""

    copay: Decimal | None = None
    coinsurance_percent: Decimal | None = None
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    out_of_pocket: Decimal | None = None
    out_of_pocket_remaining: Decimal | None = None


def _preferred(benefits: list[BenefitFacts], kind: str, *, remaining: bool) -> BenefitFacts | None:
    """The benefit of `kind` that best fits an office visit: in network over unknown over out of
    network, individual over family, the office-visit service types first."""
    candidates = [
        b for b in benefits if b.kind == kind and b.remaining == remaining and b.network != Network.OUT
    ]

    def rank(b: BenefitFacts) -> tuple[int, int, int]:
        service = OFFICE_VISIT_TYPES.index(b.service_type) if b.service_type in OFFICE_VISIT_TYPES else 9
        return (
            0 if b.network in (Network.IN, Network.ANY) else 1,
            0 if b.coverage_level != "FAM" else 1,
            service,
        )

    return min(candidates, key=rank, default=None)


def summarize(benefits: Iterable[BenefitFacts]) -> Summary:
    rows = list(benefits)

    def amount(kind: str, *, remaining: bool = False) -> Decimal | None:
        found = _preferred(rows, kind, remaining=remaining)
        return found.amount if found else None

    coinsurance = _preferred(rows, BenefitKind.COINSURANCE, remaining=False)
    return Summary(
        copay=amount(BenefitKind.COPAY),
        coinsurance_percent=coinsurance.percent if coinsurance else None,
        deductible=amount(BenefitKind.DEDUCTIBLE),
        deductible_remaining=amount(BenefitKind.DEDUCTIBLE, remaining=True),
        out_of_pocket=amount(BenefitKind.OUT_OF_POCKET),
        out_of_pocket_remaining=amount(BenefitKind.OUT_OF_POCKET, remaining=True),
    )
