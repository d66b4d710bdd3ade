"""The pure rules: goal status, recurrence, CCM minutes and codes (DOMAIN-RULES section 4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.careplans import catalog, rules
from caredesk.careplans.choices import Comparator, GoalStatus

TODAY = dt.date(2026, 11, 26)
values = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@given(value=values, target=values, age=st.integers(min_value=0, max_value=400), stale=st.integers(1, 365))
def test_goal_status_is_met_exactly_when_the_fresh_value_meets_the_target(value, target, age, stale):
    status = rules.goal_status(
        comparator=Comparator.LT,
        target=target,
        latest_value=value,
        latest_on=TODAY - dt.timedelta(days=age),
        today=TODAY,
        stale_after_days=stale,
    )
    if age > stale:
        assert status == GoalStatus.STALE
    else:
        assert status == (GoalStatus.MET if value < target else GoalStatus.NOT_MET)


@given(target=values, stale=st.integers(1, 365))
def test_no_value_is_no_data(target, stale):
    for comparator in Comparator.values:
        assert (
            rules.goal_status(
                comparator=comparator,
                target=target,
                latest_value=None,
                latest_on=None,
                today=TODAY,
                stale_after_days=stale,
            )
            == GoalStatus.NO_DATA
        )


@given(value=values, target=values)
def test_comparators_are_complements(value, target):
    assert rules.meets(Comparator.LT, value, target) != rules.meets(Comparator.GE, value, target)
    assert rules.meets(Comparator.LE, value, target) != rules.meets(Comparator.GT, value, target)


def test_hba1c_target_of_the_diabetes_template():
    goal = catalog.TEMPLATES["diabetes"].goals[0]
    assert goal.code == "4548-4"

    def status(value: str) -> str:
        return rules.goal_status(
            comparator=goal.comparator,
            target=goal.target,
            latest_value=Decimal(value),
            latest_on=TODAY,
            today=TODAY,
            stale_after_days=goal.stale_after_days,
        )

    assert status("6.9") == GoalStatus.MET
    assert status("7.0") == GoalStatus.NOT_MET
    assert status("8.4") == GoalStatus.NOT_MET


def test_every_template_goal_reads_a_known_measure():
    assert set(catalog.TEMPLATES) == {"diabetes", "hypertension", "heart_failure", "copd", "asthma", "ckd"}
    for template in catalog.TEMPLATES.values():
        assert template.goals
        assert template.activities
        assert template.care_team
        assert template.source
        for goal in template.goals:
            assert goal.code in catalog.MEASURES


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2026, 11, 15), 3, dt.date(2027, 2, 15)),
        (dt.date(2026, 12, 1), 12, dt.date(2027, 12, 1)),
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
    ],
)
def test_add_months(day, months, expected):
    assert rules.add_months(day, months) == expected


@given(day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)), months=st.integers(1, 60))
def test_next_due_is_later_and_in_the_right_month(day, months):
    due = rules.next_due(day, months)
    assert due is not None
    assert due > day
    assert (due.year - day.year) * 12 + due.month - day.month == months


def test_one_off_has_no_next_due_and_overdue_is_strict():
    assert rules.next_due(TODAY, None) is None
    assert rules.is_overdue(TODAY - dt.timedelta(days=1), TODAY)
    assert not rules.is_overdue(TODAY, TODAY)
    assert not rules.is_overdue(None, TODAY)


def test_overdue_key_names_activity_and_due_date():
    assert rules.overdue_task_key(7, dt.date(2026, 1, 2)) == "careplans:activity:7:2026-01-02"


@pytest.mark.parametrize(
    ("minutes", "base", "add_on"),
    [
        (0, False, 0),
        (19, False, 0),
        (20, True, 0),
        (39, True, 0),
        (40, True, 1),
        (59, True, 1),
        (60, True, 2),
        (100, True, 4),
    ],
)
def test_ccm_thresholds(minutes, base, add_on):
    billing = rules.ccm_billing(minutes)
    assert billing.base is base
    assert billing.add_on_units == add_on
    expected = ([("99490", 1)] if base else []) + ([("99439", add_on)] if add_on else [])
    assert billing.codes == expected


@given(minutes=st.integers(0, 2000))
def test_ccm_units_cover_exactly_the_minutes(minutes):
    billing = rules.ccm_billing(minutes)
    counted = (20 if billing.base else 0) + 20 * billing.add_on_units
    assert counted <= minutes < counted + 20 or (not billing.base and minutes < 20)
    assert billing.minutes_to_base == max(0, 20 - minutes)
    assert (
        rules.ccm_billing(minutes + billing.minutes_to_next_add_on).add_on_units == billing.add_on_units + 1
    )


def test_minutes_add_up_and_days_left():
    assert rules.total_minutes([5, 10, 7]) == 22
    assert rules.days_left(dt.date(2026, 11, 26)) == 4
    assert rules.days_left(dt.date(2026, 2, 28)) == 0


def test_time_entries_are_bounded():
    assert rules.entry_error(0, TODAY, TODAY) is not None
    assert rules.entry_error(241, TODAY, TODAY) is not None
    assert rules.entry_error(15, TODAY + dt.timedelta(days=1), TODAY)[0] == "performed_on"
    assert rules.entry_error(15, dt.date(2026, 10, 1), TODAY) is None
    assert rules.entry_error(15, dt.date(2026, 9, 30), TODAY)[0] == "performed_on"


def test_bar_width():
    assert rules.bar_width(0, 40, 360) == 0
    assert rules.bar_width(20, 40, 360) == 180
    assert rules.bar_width(1, 1000, 360) == 1
    assert rules.bar_width(90, 40, 360) == 360


@given(
    start=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 1, 1)),
    day=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 1, 1)),
)
def test_open_consent_covers_every_day_from_its_date(start, day):
    assert rules.consent_covers(start, None, day) is (day >= start)


def test_stopping_takes_effect_at_the_end_of_the_month():
    start, stop = dt.date(2026, 1, 10), dt.date(2026, 11, 3)
    assert rules.consent_covers(start, stop, dt.date(2026, 11, 30))
    assert not rules.consent_covers(start, stop, dt.date(2026, 12, 1))
    assert not rules.consent_covers(start, stop, dt.date(2026, 1, 9))
