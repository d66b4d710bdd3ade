"""Pure care-plan and CCM rules (no ORM): goal status, recurrence, overdue activities, CCM minutes and codes.

CCM (see ../shared/DOMAIN-RULES.md section 4, CMS MLN 909188): time is counted per patient per calendar
month; 99490 needs at least 20 minutes of clinical staff time; 99439 is reported once for each additional
full 20 minutes. CMS's per-month unit limit for 99439 is not applied here: check the current fee schedule.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .choices import Comparator, GoalStatus

CCM_BASE_CODE = "99490"
CCM_ADD_ON_CODE = "99439"
CCM_BASE_MINUTES = 20
CCM_ADD_ON_MINUTES = 20
MAX_ENTRY_MINUTES = 240


# --- goals -------------------------------------------------------------------------------------------


def meets(comparator: str, value: Decimal, target: Decimal) -> bool:
    if comparator == Comparator.LT:
        return value < target
    if comparator == Comparator.LE:
        return value <= target
    if comparator == Comparator.GT:
        return value > target
    if comparator == Comparator.GE:
        return value >= target
    raise ValueError(f"unknown comparator {comparator!r}")


def goal_status(
    *,
    comparator: str,
    target: Decimal,
    latest_value: Decimal | None,
    latest_on: dt.date | None,
    today: dt.date,
    stale_after_days: int,
) -> str:
    """The goal against the latest observation: no data, out of date (older than `stale_after_days`: the
    value no longer says where the patient stands), met or not met."""
    if latest_value is None or latest_on is None:
        return GoalStatus.NO_DATA
    if (today - latest_on).days > stale_after_days:
        return GoalStatus.STALE
    return GoalStatus.MET if meets(comparator, latest_value, target) else GoalStatus.NOT_MET


# --- activities --------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the month's last day when that month is shorter (Jan 31 + 1 = Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_due(done_on: dt.date, every_months: int | None) -> dt.date | None:
    """When a recurring activity is due again after being done; None for a one-off."""
    return None if every_months is None else add_months(done_on, every_months)


def is_overdue(due_on: dt.date | None, today: dt.date) -> bool:
    return due_on is not None and due_on < today


def overdue_task_key(activity_id: int, due_on: dt.date) -> str:
    """One task per activity and due date: running the rule again finds the same key; once the activity is
    done its next due date makes a new key."""
    return f"careplans:activity:{activity_id}:{due_on.isoformat()}"


# --- CCM ---------------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def days_left(today: dt.date) -> int:
    """Days of the month after today."""
    return (month_end(today) - today).days


def total_minutes(minutes: Iterable[int]) -> int:
    return sum(minutes)


@dataclass(frozen=True)
class CcmBilling:
    minutes: int
    base: bool  # 99490
    add_on_units: int  # 99439
    minutes_to_base: int  # 0 once 99490 is reached
    minutes_to_next_add_on: int

    @property
    def codes(self) -> list[tuple[str, int]]:
        out = [(CCM_BASE_CODE, 1)] if self.base else []
        if self.add_on_units:
            out.append((CCM_ADD_ON_CODE, self.add_on_units))
        return out


def ccm_billing(minutes: int) -> CcmBilling:
    """What a month's total clinical-staff minutes support: 99490 at 20, one 99439 per further full 20."""
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    base = minutes >= CCM_BASE_MINUTES
    add_on = (minutes - CCM_BASE_MINUTES) // CCM_ADD_ON_MINUTES if base else 0
    if base:
        to_next = CCM_BASE_MINUTES + (add_on + 1) * CCM_ADD_ON_MINUTES - minutes
    else:
        to_next = CCM_BASE_MINUTES + CCM_ADD_ON_MINUTES - minutes
    return CcmBilling(
        minutes=minutes,
        base=base,
        add_on_units=add_on,
        minutes_to_base=max(0, CCM_BASE_MINUTES - minutes),
        minutes_to_next_add_on=to_next,
    )


def consent_covers(consented_on: dt.date, revoked_on: dt.date | None, day: dt.date) -> bool:
    """Whether CCM consent covers `day`: from the consent date, and after a revocation until the end of
    that month (stopping takes effect at the end of the calendar month)."""
    if day < consented_on:
        return False
    return revoked_on is None or day <= month_end(revoked_on)


def entry_error(minutes: int, performed_on: dt.date, today: dt.date) -> tuple[str, str] | None:
    """Why a time entry cannot be logged, as (field, message)."""
    if minutes < 1 or minutes > MAX_ENTRY_MINUTES:
        return "minutes", f"Minutes must be between 1 and {MAX_ENTRY_MINUTES}."
    if performed_on > today:
        return "performed_on", "The date is in the future."
    if month_start(performed_on) < month_start(add_months(today, -1)) or performed_on.year < 2000:
        return "performed_on", "Time can be logged for this month and last month only."
    return None


def bar_width(value: int, largest: int, full: int) -> int:
    """Length of a bar of the month chart, in pixels (at least 1 for a non-zero value)."""
    if value <= 0 or largest <= 0:
        return 0
    return max(1, round(full * min(value, largest) / largest))


# --- CCM eligibility and whose minutes count ----------------------------------------------------------

#: CCM needs "two or more chronic conditions expected to last at least 12 months, or until the death of the
#: patient, that place the patient at significant risk of death, acute exacerbation/decompensation, or
#: functional decline" (CMS MLN 909188, "Chronic Care Management Services"; ../shared/DOMAIN-RULES.md §4).
CCM_MIN_CHRONIC_CONDITIONS = 2

#: Roles whose time counts as CCM clinical-staff time. CMS counts only clinical staff (working "incident
#: to" under the billing practitioner's general supervision) and the billing practitioner themselves;
#: "non-clinical staff time does not count" (MLN 909188; DOMAIN-RULES.md §4). Of Caredesk's roles that is
#: the physician (practitioner time also counts toward 99490), the nurse, and the care coordinator: in
#: Caredesk the coordinator is the clinical care-team member who keeps care plans, edits the chart and
#: makes the TCM interactive contact (which CMS also reserves to clinical staff), so an organization gives
#: that role only to staff who qualify as clinical staff (RN, LPN, MA under state scope of practice).
#: Administrators, front desk, billing, portal users and unattended work ("system") are not clinical
#: staff: their minutes are refused.
CCM_CLINICAL_STAFF_ROLES = frozenset({"coordinator", "nurse", "physician"})


def chronic_conditions(codes: Iterable[str], conditions: dict[str, tuple[str, ...]]) -> list[str]:
    """The chronic conditions (keys of `conditions`: name -> ICD-10-CM prefixes) that some of `codes`
    fall under, in the order of `conditions`. Several codes of one condition (I10 and I11.9) count once."""
    normalized = [code.strip().upper() for code in codes]
    return [
        name
        for name, prefixes in conditions.items()
        if any(code.startswith(prefix.upper()) for code in normalized for prefix in prefixes)
    ]


def ccm_eligibility_error(found: list[str], known: Iterable[str]) -> str | None:
    """Why the patient cannot be enrolled in CCM (fewer than two of the chronic conditions), or None."""
    if len(found) >= CCM_MIN_CHRONIC_CONDITIONS:
        return None
    have = f"only {found[0]}" if found else "none"
    listed = ", ".join(known)
    return (
        f"CCM needs at least {CCM_MIN_CHRONIC_CONDITIONS} chronic conditions among the patient's active "
        f"problems ({listed}); the chart has {have}. Add the conditions to the problem list first."
    )


def is_ccm_clinical_staff(role: str) -> bool:
    return role in CCM_CLINICAL_STAFF_ROLES
