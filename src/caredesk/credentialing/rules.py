"""Pure rules of credentialing: values in, answers out (no ORM, no settings)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .choices import ACTIVE_PRIVILEGE_STATUSES, CredentialStatus, DeaSchedule, PrivilegeStatus

# Jurisdictions that license practitioners: the 50 states, DC and the inhabited territories (USPS
# Publication 28 two-letter codes; the armed-forces "states" AA/AE/AP license nobody).
LICENSING_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia", "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands",
}  # fmt: skip

#: Days before a credential lapses at which the medical-staff coordinator gets a task (each once).
EXPIRY_THRESHOLDS: tuple[int, ...] = (90, 60, 30)
#: Re-credentialing cycle after the committee's approval (NCQA and The Joint Commission: 36 months).
RECREDENTIAL_MONTHS = 36


def state_error(code: str) -> str | None:
    """Why `code` is not a licensing state, in words for the person who typed it; None when it is one."""
    value = (code or "").strip().upper()
    if not value:
        return "Which state? Give its two-letter code (for example NJ)."
    if value not in LICENSING_STATES:
        return f"{code.strip()!r} is not a US state or territory code (for example NJ, NY, PR)."
    return None


def date_order_error(issued_on: dt.date | None, expires_on: dt.date | None) -> str | None:
    """An expiry must come after the issue date."""
    if issued_on is not None and expires_on is not None and expires_on <= issued_on:
        return f"The expiry date ({expires_on:%Y-%m-%d}) must be after the issue date ({issued_on:%Y-%m-%d})."
    return None


def schedules_error(values: Iterable[str]) -> str | None:
    allowed = set(DeaSchedule.values)
    unknown = sorted(set(values) - allowed)
    if unknown:
        return f"Unknown DEA schedule(s): {', '.join(unknown)}. Use 2, 2N, 3, 3N, 4 or 5."
    return None


def parse_schedules(text: str) -> list[str]:
    """ "2, 2N,3" -> ["2", "2N", "3"] in the canonical order; unknown codes are kept for the error."""
    parts = [p.strip().upper() for p in (text or "").replace(";", ",").split(",") if p.strip()]
    order = {v: i for i, v in enumerate(DeaSchedule.values)}
    return sorted(dict.fromkeys(parts), key=lambda v: (order.get(v, 99), v))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def recredential_due(approved_on: dt.date, months: int = RECREDENTIAL_MONTHS) -> dt.date:
    return add_months(approved_on, months)


def expiry_threshold(expires_on: dt.date, today: dt.date) -> int | None:
    """The tightest alert threshold reached today (90, 60 or 30 days ahead; 30 also once lapsed), or None
    when the credential lapses more than 90 days from now. A credential first seen 45 days out gets the
    60-day alert, not a stale 90-day one as well."""
    days_left = (expires_on - today).days
    reached = [t for t in EXPIRY_THRESHOLDS if days_left <= t]
    return min(reached) if reached else None


def alert_due(expires_on: dt.date, threshold: int) -> dt.date:
    """When the alert's work is due: by the next threshold, or by the lapse itself for the last one."""
    lower = [t for t in EXPIRY_THRESHOLDS if t < threshold]
    return expires_on - dt.timedelta(days=max(lower)) if lower else expires_on


# --- the check --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseFact:
    state: str
    number: str
    status: str
    issued_on: dt.date | None
    expires_on: dt.date


@dataclass(frozen=True)
class DeaFact:
    state: str
    number: str
    status: str
    schedules: tuple[str, ...]
    expires_on: dt.date


@dataclass(frozen=True)
class PrivilegeFact:
    location_id: int
    service_code: str
    status: str
    starts_on: dt.date | None
    expires_on: dt.date | None


@dataclass(frozen=True)
class Need:
    """What a booking or order needs of its practitioner."""

    service_code: str
    service_label: str
    location_id: int
    location_name: str
    state: str  # where the service happens (telehealth: the patient's state)
    on_date: dt.date
    controlled_substance: bool = False
    today: dt.date | None = None  # when given, a license lapsing before a future visit says so


@dataclass(frozen=True)
class Facts:
    name: str
    licenses: Sequence[LicenseFact] = field(default_factory=tuple)
    deas: Sequence[DeaFact] = field(default_factory=tuple)
    privileges: Sequence[PrivilegeFact] = field(default_factory=tuple)


def _current(status: str, issued_on: dt.date | None, expires_on: dt.date | None, on: dt.date) -> bool:
    if status != CredentialStatus.ACTIVE:
        return False
    if issued_on is not None and issued_on > on:
        return False
    return expires_on is None or expires_on >= on


def _license_reasons(facts: Facts, need: Need) -> list[str]:
    state_name = LICENSING_STATES.get(need.state, need.state)
    here = [lic for lic in facts.licenses if lic.state == need.state]
    if any(_current(lic.status, lic.issued_on, lic.expires_on, need.on_date) for lic in here):
        return []
    if not here:
        return [f"{facts.name} holds no license in {state_name}."]
    latest = max(here, key=lambda lic: lic.expires_on)
    if latest.status != CredentialStatus.ACTIVE:
        return [f"{facts.name}'s {state_name} license {latest.number} is {latest.status}."]
    if latest.issued_on is not None and latest.issued_on > need.on_date:
        return [f"{facts.name}'s {state_name} license {latest.number} starts on {latest.issued_on:%Y-%m-%d}."]
    if need.today is not None and latest.expires_on >= need.today:
        return [
            f"{facts.name}'s {state_name} license {latest.number} expires on {latest.expires_on:%Y-%m-%d}, "
            f"before the visit on {need.on_date:%Y-%m-%d}."
        ]
    return [
        f"{facts.name}'s {state_name} license {latest.number} expired on {latest.expires_on:%Y-%m-%d} "
        "and has not been renewed."
    ]


def _privilege_reasons(facts: Facts, need: Need) -> list[str]:
    mine = [
        p
        for p in facts.privileges
        if p.location_id == need.location_id and p.service_code == need.service_code
    ]
    what = f"{need.service_label} at {need.location_name}"
    for privilege in mine:
        if privilege.status in ACTIVE_PRIVILEGE_STATUSES and _current(
            CredentialStatus.ACTIVE, privilege.starts_on, privilege.expires_on, need.on_date
        ):
            return []
    if not mine:
        return [f"{facts.name} has no privilege for {what}."]
    statuses = {p.status for p in mine}
    if PrivilegeStatus.SUSPENDED in statuses:
        return [f"{facts.name}'s privilege for {what} is suspended."]
    if statuses <= {PrivilegeStatus.REQUESTED}:
        return [f"{facts.name}'s privilege for {what} is requested but not granted yet."]
    return [f"{facts.name}'s privilege for {what} has expired."]


def _dea_reasons(facts: Facts, need: Need) -> list[str]:
    if not need.controlled_substance:
        return []
    state_name = LICENSING_STATES.get(need.state, need.state)
    here = [d for d in facts.deas if d.state == need.state]
    if any(_current(d.status, None, d.expires_on, need.on_date) for d in here):
        return []
    if not here:
        return [f"{facts.name} has no DEA registration in {state_name} (needed for controlled substances)."]
    latest = max(here, key=lambda d: d.expires_on)
    if latest.status != CredentialStatus.ACTIVE:
        return [f"{facts.name}'s DEA registration {latest.number} is {latest.status}."]
    return [
        f"{facts.name}'s DEA registration {latest.number} in {state_name} expired on "
        f"{latest.expires_on:%Y-%m-%d} (needed for controlled substances)."
    ]


def check_reasons(facts: Facts, need: Need) -> list[str]:
    """Everything that stops this practitioner from doing `need`, in plain words; empty when nothing does."""
    if not need.state:
        return [
            "The state where the service happens is not known (the location's address, or for telehealth "
            "the patient's address, has no state), so no license can be checked."
        ]
    return _license_reasons(facts, need) + _privilege_reasons(facts, need) + _dea_reasons(facts, need)


# --- the report's chart -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int
    text_x: int


def month_bars(by_month: Sequence[tuple[str, int]], *, width: int = 360, row: int = 26) -> list[Bar]:
    """Horizontal bars (SVG user units): how many credentials lapse in each month, scaled to the largest."""
    largest = max((count for _, count in by_month), default=0)
    bars = []
    for index, (month, count) in enumerate(by_month):
        length = round(width * count / largest) if largest else 0
        bars.append(Bar(month, count, index * row, length, length + 4))
    return bars
