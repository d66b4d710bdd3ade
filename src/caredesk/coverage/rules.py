"""Pure rules of the coverage app (no ORM): what a member ID may contain, whether a coverage is in force
on a date, and the front-desk summary of a payer's answer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .choices import AuthorizationStatus, BenefitKind, Network

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


# ---------------------------------------------------------------------------------------------------
# Prior authorizations
# ---------------------------------------------------------------------------------------------------

_SERVICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")


def service_code_problem(value: str) -> str | None:
    """Why `value` cannot be a service code (a procedure code such as 72148, or a visit-type code)."""
    if not value:
        return "The service code is required."
    if len(value) > 40 or not _SERVICE_CODE.fullmatch(value):
        return "A service code is a procedure or visit-type code: letters, digits, dashes, dots (at most 40)."
    return None


@dataclass(frozen=True)
class AuthorizationCheck:
    """Whether a service on a date needs a prior authorization and, if so, whether a usable one is on file.
    `reason` is in plain words for the front desk (empty when ok)."""

    needed: bool
    ok: bool
    reason: str = ""
    authorization_id: int | None = None


NOT_NEEDED = AuthorizationCheck(needed=False, ok=True)


@dataclass(frozen=True)
class AuthorizationFacts:
    id: int
    number: str
    status: str  # AuthorizationStatus value
    valid_from: dt.date | None
    valid_to: dt.date | None
    units_authorized: int | None
    units_used: int


def units_left(auth: AuthorizationFacts) -> int:
    if auth.units_authorized is None:
        return 0
    return max(auth.units_authorized - auth.units_used, 0)


def authorization_label(auth: AuthorizationFacts) -> str:
    return f"Authorization {auth.number}" if auth.number else "The authorization"


def use_problem(auth: AuthorizationFacts, on: dt.date) -> str | None:
    """Why a unit of `auth` cannot be used on `on` (None when it can)."""
    label = authorization_label(auth)
    if auth.status == AuthorizationStatus.REQUESTED:
        return f"{label} has been requested but not approved yet."
    if auth.status == AuthorizationStatus.DENIED:
        return f"{label} was denied."
    if auth.status == AuthorizationStatus.CANCELLED:
        return f"{label} was cancelled."
    if auth.valid_from is not None and on < auth.valid_from:
        return f"{label} is valid from {auth.valid_from.isoformat()}."
    if auth.valid_to is not None and on > auth.valid_to:
        return f"{label} expired on {auth.valid_to.isoformat()}."
    if units_left(auth) <= 0:
        units = auth.units_authorized or 0
        return f"{label}'s {units} unit{'s' if units != 1 else ''} {'are' if units != 1 else 'is'} used up."
    return None


def display_status(auth: AuthorizationFacts, today: dt.date) -> str:
    """The status the front desk sees: requested, approved, denied, cancelled, expired or used up."""
    if auth.status != AuthorizationStatus.APPROVED:
        return str(auth.status)
    if auth.valid_to is not None and today > auth.valid_to:
        return "expired"
    if units_left(auth) <= 0:
        return "used up"
    return str(auth.status)


def _closeness(auth: AuthorizationFacts, on: dt.date) -> tuple[int, int]:
    """Which refusal to explain when none fits: an approved one covering the date (used up) first, then
    the latest approved one, then a pending request, then a denial, then a cancellation."""
    order = {
        AuthorizationStatus.APPROVED: 0,
        AuthorizationStatus.REQUESTED: 1,
        AuthorizationStatus.DENIED: 2,
        AuthorizationStatus.CANCELLED: 3,
    }
    rank = order.get(AuthorizationStatus(auth.status), 4)
    if rank == 0:
        covers = (auth.valid_from is None or auth.valid_from <= on) and (
            auth.valid_to is None or on <= auth.valid_to
        )
        if covers:
            return (0, -auth.id)
        return (1, -(auth.valid_to or auth.valid_from or on).toordinal())
    return (rank + 1, -auth.id)


def check_authorization(
    *,
    payer_name: str,
    service_code: str,
    description: str,
    on: dt.date,
    authorizations: Iterable[AuthorizationFacts],
) -> AuthorizationCheck:
    """The check for one coverage whose plan requires authorization for the service: ok with the usable
    authorization (the one ending first, so units about to lapse are used first), else the reason."""
    candidates = list(authorizations)
    usable = [a for a in candidates if use_problem(a, on) is None]
    if usable:
        best = min(usable, key=lambda a: ((a.valid_to or dt.date.max), a.id))
        return AuthorizationCheck(needed=True, ok=True, authorization_id=best.id)
    service = f"{service_code} ({description})" if description else service_code
    if not candidates:
        return AuthorizationCheck(
            needed=True,
            ok=False,
            reason=f"{payer_name} requires prior authorization for {service}; none is on file.",
        )
    closest = min(candidates, key=lambda a: _closeness(a, on))
    problem = use_problem(closest, on) or ""
    return AuthorizationCheck(
        needed=True,
        ok=False,
        reason=f"{payer_name} requires prior authorization for {service}. {problem}",
        authorization_id=closest.id,
    )
