"""TCM deadline arithmetic and the other pure rules of transitions, with hypothesis where a property says
more than examples."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.transitions import rules
from caredesk.transitions.choices import EncounterClass, Outcome

US = rules.HolidayCalendar("us-federal")
NONE = rules.HolidayCalendar("none")
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2060, 12, 31))
calendars = st.builds(
    rules.HolidayCalendar,
    calendar=st.sampled_from(["us-federal", "none"]),
    extra=st.frozensets(days, max_size=5),
)


# --- holidays -----------------------------------------------------------------------------------------


def test_us_federal_holidays_2026():
    assert sorted(rules.us_federal_holidays(2026)) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 19),  # MLK
        dt.date(2026, 2, 16),  # Washington's Birthday
        dt.date(2026, 5, 25),  # Memorial Day
        dt.date(2026, 6, 19),  # Juneteenth
        dt.date(2026, 7, 3),  # July 4 is a Saturday: observed Friday
        dt.date(2026, 9, 7),  # Labor Day
        dt.date(2026, 10, 12),  # Columbus Day
        dt.date(2026, 11, 11),
        dt.date(2026, 11, 26),  # Thanksgiving
        dt.date(2026, 12, 25),
    ]


def test_observed_days_cross_the_year():
    assert dt.date(2021, 12, 31) in rules.us_federal_holidays(2021)  # New Year's Day 2022 is a Saturday
    assert dt.date(2022, 1, 1) not in rules.us_federal_holidays(2022)
    assert dt.date(2023, 1, 2) in rules.us_federal_holidays(2023)  # a Sunday: observed Monday
    assert dt.date(2020, 6, 19) not in rules.us_federal_holidays(2020)  # Juneteenth from 2021


@given(year=st.integers(2000, 2060))
def test_every_year_has_its_holidays_on_weekdays(year):
    holidays = rules.us_federal_holidays(year)
    assert 9 <= len(holidays) <= 12  # New Year's Day can be observed in the year before
    assert all(day.weekday() < 5 and day.year == year for day in holidays)


# --- business days and TCM deadlines ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("discharged", "contact_due"),
    [
        (dt.date(2026, 11, 20), dt.date(2026, 11, 24)),  # Fri -> Tue (DOMAIN-RULES example)
        (dt.date(2026, 11, 25), dt.date(2026, 11, 30)),  # Wed, Thanksgiving skipped -> Mon
        (dt.date(2026, 11, 21), dt.date(2026, 11, 24)),  # Sat -> Tue
        (dt.date(2026, 12, 23), dt.date(2026, 12, 28)),  # Christmas Friday skipped
        (dt.date(2026, 7, 1), dt.date(2026, 7, 6)),  # July 3 (observed) skipped
    ],
)
def test_contact_due_examples(discharged, contact_due):
    assert rules.tcm_deadlines(discharged, "high", US).contact_due == contact_due


def test_visit_windows_and_service_period():
    high = rules.tcm_deadlines(dt.date(2026, 11, 20), "high", US)
    moderate = rules.tcm_deadlines(dt.date(2026, 11, 20), "moderate", US)
    day_one = rules.tcm_deadlines(dt.date(2026, 11, 20), "high", US, discharge_day_number=1)
    assert (high.visit_due, moderate.visit_due, day_one.visit_due) == (
        dt.date(2026, 11, 27),
        dt.date(2026, 12, 4),
        dt.date(2026, 11, 26),
    )
    assert high.period_end == dt.date(2026, 12, 19)
    with pytest.raises(ValueError, match="discharge_day_number"):
        rules.tcm_deadlines(dt.date(2026, 11, 20), "high", US, discharge_day_number=2)


def test_an_extra_closed_day_moves_the_contact():
    calendar = rules.HolidayCalendar("us-federal", frozenset({dt.date(2026, 11, 23)}))
    assert rules.tcm_deadlines(dt.date(2026, 11, 20), "high", calendar).contact_due == dt.date(2026, 11, 25)
    assert rules.tcm_deadlines(dt.date(2026, 11, 25), "high", NONE).contact_due == dt.date(2026, 11, 27)


@given(start=days, count=st.integers(1, 15), calendar=calendars)
def test_add_business_days_counts_exactly(start, count, calendar):
    due = rules.add_business_days(start, count, calendar.is_business_day)
    assert due > start
    assert calendar.is_business_day(due)
    between = [start + dt.timedelta(days=n) for n in range(1, (due - start).days + 1)]
    assert sum(1 for day in between if calendar.is_business_day(day)) == count


@given(start=days, count=st.integers(1, 10))
def test_more_closed_days_never_make_a_deadline_earlier(start, count):
    assert rules.add_business_days(start, count, US.is_business_day) >= rules.add_business_days(
        start, count, NONE.is_business_day
    )


@given(
    discharged=days,
    complexity=st.sampled_from(["high", "moderate"]),
    calendar=calendars,
    day=st.sampled_from([0, 1]),
)
def test_tcm_deadlines_properties(discharged, complexity, calendar, day):
    deadlines = rules.tcm_deadlines(discharged, complexity, calendar, day)
    assert discharged < deadlines.contact_due
    assert (deadlines.contact_due - discharged).days <= 2 + 2 + 4 + len(calendar.extra)  # weekend + holidays
    assert (deadlines.visit_due - discharged).days == (7 if complexity == "high" else 14) - day
    assert (deadlines.period_end - discharged).days == 29


# --- outcomes -----------------------------------------------------------------------------------------

DUE = dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    ("today", "done_on", "attempts", "outcome"),
    [
        (dt.date(2026, 11, 23), None, [], Outcome.PENDING),
        (dt.date(2026, 11, 24), None, [dt.date(2026, 11, 23)], Outcome.PENDING),
        (dt.date(2026, 11, 25), None, [dt.date(2026, 11, 23)], Outcome.MISSED),
        (dt.date(2026, 11, 30), dt.date(2026, 11, 24), [], Outcome.MET),
        (
            dt.date(2026, 11, 30),
            None,
            [dt.date(2026, 11, 21), dt.date(2026, 11, 24)],
            Outcome.MET_BY_ATTEMPTS,
        ),
        (
            dt.date(2026, 11, 30),
            dt.date(2026, 11, 27),
            [dt.date(2026, 11, 25), dt.date(2026, 11, 26)],
            Outcome.LATE,
        ),
        (dt.date(2026, 11, 30), dt.date(2026, 11, 26), [dt.date(2026, 11, 23)], Outcome.LATE),
    ],
)
def test_contact_outcome(today, done_on, attempts, outcome):
    assert rules.contact_outcome(DUE, today, done_on, attempts) == outcome


@given(today=days, done=st.one_of(st.none(), days), due=days)
def test_deadline_outcome(today, done, due):
    outcome = rules.deadline_outcome(due, today, done)
    if done is not None:
        assert outcome == (Outcome.MET if done <= due else Outcome.LATE)
    else:
        assert outcome == (Outcome.MISSED if today > due else Outcome.PENDING)


def test_medication_reconciliation_is_due_by_the_visit():
    due = dt.date(2026, 11, 27)
    assert rules.med_reconciliation_due(due, None) == due
    assert rules.med_reconciliation_due(due, dt.date(2026, 11, 25)) == dt.date(2026, 11, 25)
    assert rules.med_reconciliation_due(due, dt.date(2026, 11, 30)) == due  # a late visit does not extend it


# --- dispositions, classes, matching --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "text", "community"),
    [
        ("01", "", True),
        ("1", "", True),
        ("06", "Home health", True),
        ("03", "Skilled nursing facility", False),
        ("20", "Expired", False),
        ("", "Discharged home", True),
        ("", "Assisted living", True),
        ("", "Home hospice", False),
        ("", "Admitted as Inpatient", False),
        ("", "", False),
    ],
)
def test_community_dispositions(code, text, community):
    assert rules.is_community_disposition(code, text) is community


def test_configured_dispositions_decide():
    assert rules.is_community_disposition("50", "", community_codes=["01", "50"])
    assert not rules.is_community_disposition("06", "", community_codes=["01"])


@pytest.mark.parametrize(
    ("pv1_2", "klass"),
    [
        ("I", EncounterClass.INPATIENT),
        ("e", EncounterClass.EMERGENCY),
        ("O", EncounterClass.OUTPATIENT),
        ("P", EncounterClass.PREADMIT),
        ("", EncounterClass.OTHER),
        ("Z", EncounterClass.OTHER),
    ],
)
def test_patient_classes(pv1_2, klass):
    assert rules.encounter_class(pv1_2) == klass


def test_demographics_agree():
    born = dt.date(1950, 1, 2)
    assert rules.demographics_agree(("doe", "jane", born, "female"), ("doe", "jane", born, "female"))
    assert rules.demographics_agree(("doe", "jane", born, "female"), ("doe", "j", born, "unknown"))
    assert not rules.demographics_agree(("doe", "jane", born, "female"), ("doe", "jane", born, "male"))
    assert not rules.demographics_agree(("doe", "jane", born, ""), ("doe", "joan", born, ""))
    assert not rules.demographics_agree(("doe", "jane", born, ""), ("roe", "jane", born, ""))
    assert not rules.demographics_agree(("doe", "jane", None, ""), ("doe", "jane", None, ""))


def test_location_text_and_due_time():
    assert rules.location_text("4E", "136", "B") == "4E, room 136, bed B"
    assert rules.location_text("", "", "") == ""
    zone = dt.timezone(dt.timedelta(hours=-5))
    assert rules.local_end_of_day(dt.date(2026, 11, 24), zone) == dt.datetime(
        2026, 11, 24, 23, 59, tzinfo=zone
    )
