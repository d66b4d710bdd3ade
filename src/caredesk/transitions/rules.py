"""Pure rules of transitions of care: business days and holidays, TCM deadlines and how each TCM element
stands, which discharges qualify, HL7 patient classes. No ORM: plain values in, plain values out.

TCM (CPT 99495/99496; see DOMAIN-RULES.md §3): interactive contact within 2 business days after discharge
(Monday to Friday except holidays; two documented, timely, unsuccessful attempts count), face-to-face visit
within 7 calendar days (high complexity) or 14 (moderate), medication reconciliation no later than the
visit, a 30-day service period starting on the discharge date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .choices import ChecklistStatus, EncounterClass, EncounterStatus, Outcome, TcmComplexity

ONE_DAY = dt.timedelta(days=1)
CONTACT_BUSINESS_DAYS = 2
VISIT_DAYS = {TcmComplexity.HIGH: 7, TcmComplexity.MODERATE: 14}
SERVICE_PERIOD_DAYS = 30
REQUIRED_ATTEMPTS = 2
#: UB-04 patient status codes (PV1-36) that send the patient to a community setting: home or self care,
#: home health, and both with a planned readmission. Configurable: CAREDESK_TCM_COMMUNITY_DISPOSITIONS.
COMMUNITY_DISPOSITIONS = ("01", "06", "81", "86")
_COMMUNITY_WORDS = ("home", "self care", "self-care", "assisted living", "domiciliary", "rest home")
_INSTITUTION_WORDS = ("hospice", "skilled nursing", "snf", "expired", "hospital", "admitted", "left against")


# ---------------------------------------------------------------------------------------------------
# Holidays and business days
# ---------------------------------------------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (0 = Monday) of a month; n = -1 for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - ONE_DAY
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """A fixed-date federal holiday on a Saturday is observed on Friday, on a Sunday on Monday."""
    if day.weekday() == 5:
        return day - ONE_DAY
    if day.weekday() == 6:
        return day + ONE_DAY
    return day


@lru_cache(maxsize=256)
def us_federal_holidays(year: int) -> frozenset[dt.date]:
    """The US federal holidays (5 U.S.C. 6103) observed in `year`, Juneteenth from 2021 on. New Year's
    Day of the next year observed on this year's December 31 is included."""
    fixed = [dt.date(year, 1, 1), dt.date(year, 7, 4), dt.date(year, 11, 11), dt.date(year, 12, 25)]
    if year >= 2021:
        fixed.append(dt.date(year, 6, 19))
    days = {_observed(day) for day in fixed}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Birthday of Martin Luther King, Jr.
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving Day
    }
    next_new_year = _observed(dt.date(year + 1, 1, 1))
    if next_new_year.year == year:
        days.add(next_new_year)
    return frozenset(day for day in days if day.year == year)


@dataclass(frozen=True)
class HolidayCalendar:
    """Which days are not business days: weekends, the named calendar ("us-federal" or "none") and extra
    closed days (CAREDESK_HOLIDAY_CALENDAR, CAREDESK_HOLIDAYS)."""

    calendar: str = "us-federal"
    extra: frozenset[dt.date] = field(default_factory=frozenset)

    def is_holiday(self, day: dt.date) -> bool:
        if day in self.extra:
            return True
        return self.calendar == "us-federal" and day in us_federal_holidays(day.year)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)


def add_business_days(start: dt.date, count: int, is_business_day: Callable[[dt.date], bool]) -> dt.date:
    """The `count`-th business day after `start` (start itself never counts). count >= 1."""
    if count < 1:
        raise ValueError("count must be at least 1")
    day, found = start, 0
    while found < count:
        day += ONE_DAY
        if is_business_day(day):
            found += 1
    return day


# ---------------------------------------------------------------------------------------------------
# TCM deadlines and outcomes
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TcmDeadlines:
    contact_due: dt.date
    visit_due: dt.date
    period_end: dt.date


def tcm_deadlines(
    discharge_date: dt.date, complexity: str, calendar: HolidayCalendar, discharge_day_number: int = 0
) -> TcmDeadlines:
    """Contact: the 2nd business day after discharge. Visit: within 7 / 14 calendar days, counting the
    discharge date as day `discharge_day_number` (0 by default: discharge + 7; 1: discharge + 6).
    Medication reconciliation is due by the visit. Service period: discharge date + 29 days."""
    if discharge_day_number not in (0, 1):
        raise ValueError("discharge_day_number is 0 or 1")
    days = VISIT_DAYS[TcmComplexity(complexity)]
    return TcmDeadlines(
        contact_due=add_business_days(discharge_date, CONTACT_BUSINESS_DAYS, calendar.is_business_day),
        visit_due=discharge_date + dt.timedelta(days=days - discharge_day_number),
        period_end=discharge_date + dt.timedelta(days=SERVICE_PERIOD_DAYS - 1),
    )


def contact_outcome(
    due: dt.date, today: dt.date, done_on: dt.date | None, attempt_dates: Iterable[dt.date]
) -> str:
    """The interactive contact: made by the due date, or two documented attempts by then, counts."""
    if done_on is not None and done_on <= due:
        return Outcome.MET
    if sum(1 for day in attempt_dates if day <= due) >= REQUIRED_ATTEMPTS:
        return Outcome.MET_BY_ATTEMPTS
    if done_on is not None:
        return Outcome.LATE
    return Outcome.MISSED if today > due else Outcome.PENDING


def deadline_outcome(due: dt.date, today: dt.date, done_on: dt.date | None) -> str:
    """A visit (or anything else) with a due date: done by then, done late, missed, or not yet due."""
    if done_on is not None:
        return Outcome.MET if done_on <= due else Outcome.LATE
    return Outcome.MISSED if today > due else Outcome.PENDING


#: Who an interactive contact is with, and how: the patient or caregiver, by phone, video, in person or
#: an electronic message they answered or sent (messaging.choices values). Letters and faxes never count.
CONTACT_PARTIES = ("patient", "caregiver")
_NOT_INTERACTIVE_CHANNELS = ("letter", "fax")


def is_interactive_contact(*, channel: str, direction: str, outcome: str, party: str) -> bool:
    """Does a logged communication make TCM's interactive contact? Someone was reached (an outbound
    contact answered), or the patient or caregiver reached us (inbound, reached or received). A voicemail,
    no answer or a message only sent is an attempt at most."""
    if party not in CONTACT_PARTIES or channel in _NOT_INTERACTIVE_CHANNELS:
        return False
    return outcome == "reached" or (direction == "in" and outcome == "received")


def visit_counts(
    visit_at: dt.datetime, discharge_at: dt.datetime | None, visit_day: dt.date, period_end: dt.date
) -> bool:
    """A visit completes an episode's face-to-face step when it took place after the discharge and within
    the 30-day service period (after the visit deadline it still counts, as late)."""
    return (discharge_at is None or visit_at >= discharge_at) and visit_day <= period_end


def med_reconciliation_due(visit_due: dt.date, visit_done_on: dt.date | None) -> dt.date:
    """Medication reconciliation is due no later than the face-to-face visit: the visit's date once it
    happened, its due date until then."""
    if visit_done_on is not None and visit_done_on <= visit_due:
        return visit_done_on
    return visit_due


# ---------------------------------------------------------------------------------------------------
# Which discharges start TCM; HL7 patient classes
# ---------------------------------------------------------------------------------------------------


def is_community_disposition(
    code: str, text: str, community_codes: Collection[str] = COMMUNITY_DISPOSITIONS
) -> bool:
    """Does PV1-36 send the patient to a community setting (home, self care, home health, assisted living,
    domiciliary, rest home)? A known code decides; without a code, the text does."""
    code = code.strip()
    if code:
        normalized = code.zfill(2) if code.isdigit() else code.lower()
        return normalized in {c.zfill(2) if c.isdigit() else c.lower() for c in community_codes}
    words = text.strip().lower()
    if not words or any(word in words for word in _INSTITUTION_WORDS):
        return False
    return any(word in words for word in _COMMUNITY_WORDS)


def disposition_known(code: str, text: str) -> bool:
    return bool(code.strip() or text.strip())


_PATIENT_CLASSES = {
    "I": EncounterClass.INPATIENT,
    "B": EncounterClass.INPATIENT,  # obstetrics
    "E": EncounterClass.EMERGENCY,
    "O": EncounterClass.OUTPATIENT,
    "R": EncounterClass.OUTPATIENT,  # recurring patient
    "P": EncounterClass.PREADMIT,
}


def encounter_class(patient_class: str) -> str:
    """HL7 table 0004 (PV1-2) as our encounter class."""
    return _PATIENT_CLASSES.get(patient_class.strip().upper(), EncounterClass.OTHER)


def location_text(point_of_care: str, room: str, bed: str) -> str:
    parts = [point_of_care.strip()]
    if room.strip():
        parts.append(f"room {room.strip()}")
    if bed.strip():
        parts.append(f"bed {bed.strip()}")
    return ", ".join(part for part in parts if part)


def local_end_of_day(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The last minute of `day` where the organization is: a due date as a due time."""
    return dt.datetime.combine(day, dt.time(23, 59), tzinfo=zone)


def demographics_agree(
    known: tuple[str, str, dt.date | None, str], received: tuple[str, str, dt.date | None, str]
) -> bool:
    """Whether a registered patient and the person a message names are the same for automatic matching:
    the same birth date, the same family name, given names equal or one the other's initial or prefix
    ("Jon" / "Jonathan"), and no contradicting sex. Names are search keys (core.text.name_key); each tuple
    is (family, given, birth date, sex)."""
    family_a, given_a, birth_a, sex_a = known
    family_b, given_b, birth_b, sex_b = received
    if birth_a is None or birth_a != birth_b or not family_a or family_a != family_b:
        return False
    if not given_a or not given_b or not (given_a.startswith(given_b) or given_b.startswith(given_a)):
        return False
    unknown = {"", "unknown"}
    return sex_a in unknown or sex_b in unknown or sex_a == sex_b


# ---------------------------------------------------------------------------------------------------
# Discharge planning
# ---------------------------------------------------------------------------------------------------


def checklist_applies(*, encounter_class: str, status: str, has_patient: bool, has_tcm: bool) -> bool:
    """A discharge-planning checklist belongs to an inpatient stay (or any visit that started TCM) of a
    known patient that was not cancelled."""
    if not has_patient or status == EncounterStatus.CANCELLED:
        return False
    return encounter_class == EncounterClass.INPATIENT or has_tcm


def checklist_progress(statuses: Iterable[str], total: int) -> tuple[int, int]:
    """(items decided, items in all): an item is decided when it is done or not needed."""
    decided = sum(1 for s in statuses if s in (ChecklistStatus.DONE, ChecklistStatus.NOT_NEEDED))
    return decided, total
