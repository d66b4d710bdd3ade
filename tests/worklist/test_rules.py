"""The worklist's pure rules: status transitions, the SLA clock, queues, snoozing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.worklist import rules
from caredesk.worklist.choices import SlaState, TaskQueue, TaskStatus, TaskType

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
moments = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)
)


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        ("open", "in_progress", True),
        ("open", "done", True),
        ("waiting", "cancelled", True),
        ("done", "open", True),
        ("cancelled", "open", True),
        ("done", "waiting", False),
        ("cancelled", "done", False),
        ("open", "open", False),
    ],
)
def test_transitions(current, wanted, allowed):
    assert (rules.transition_error(current, wanted) is None) is allowed


def test_a_refused_transition_says_why():
    assert rules.transition_error("done", "waiting") == "A task that is done cannot become waiting."


def test_only_cancelling_needs_a_reason():
    assert rules.needs_reason(TaskStatus.CANCELLED)
    assert not any(rules.needs_reason(s) for s in TaskStatus.values if s != TaskStatus.CANCELLED)


@given(due=moments, now=moments, status=st.sampled_from(TaskStatus.values))
def test_sla_state_follows_the_clock(due, now, status):
    state = rules.sla_state(status, due, now)
    if status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        assert state == SlaState.CLOSED
    elif due < now:
        assert state == SlaState.OVERDUE
        assert rules.sla_text(status, due, now).startswith("overdue by ")
    else:
        assert state in (SlaState.DUE_SOON, SlaState.ON_TRACK)
        assert (state == SlaState.DUE_SOON) == (due - now <= rules.DUE_SOON)
        assert rules.sla_text(status, due, now).startswith("due in ")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(minutes=-90), "overdue by 1 h"),
        (dt.timedelta(days=-3), "overdue by 3 d"),
        (dt.timedelta(seconds=20), "due in 1 min"),
        (dt.timedelta(hours=30), "due in 30 h"),
        (dt.timedelta(days=9, hours=2), "due in 9 d"),
    ],
)
def test_sla_text(delta, text):
    assert rules.sla_text("open", NOW + delta, NOW) == text


def test_default_due_comes_from_the_type():
    assert rules.default_due(TaskType.PATIENT_MATCH_REVIEW, NOW) == NOW + dt.timedelta(hours=4)
    assert rules.default_due(TaskType.GENERAL, NOW) == NOW + rules.FALLBACK_SLA


def test_queues_by_role():
    assert rules.visible_queues("coordinator", all_queues=True) is None
    assert rules.visible_queues("front_desk", all_queues=False) == {TaskQueue.FRONT_DESK}
    assert rules.visible_queues("billing", all_queues=False) == {TaskQueue.BILLING}
    assert rules.visible_queues("patient", all_queues=False) == frozenset()


def test_snooze_bounds():
    assert rules.snooze_error(NOW, NOW) == "Snooze until a time in the future."
    assert rules.snooze_error(NOW + dt.timedelta(days=91), NOW) is not None
    assert rules.snooze_error(NOW + dt.timedelta(days=2), NOW) is None
    assert rules.is_snoozed(NOW + dt.timedelta(minutes=1), NOW)
    assert not rules.is_snoozed(NOW, NOW)
    assert not rules.is_snoozed(None, NOW)


@given(attempts=st.lists(moments, max_size=6), deadline=moments)
def test_attempts_by_a_deadline(attempts, deadline):
    assert rules.contact_attempts_by(attempts, deadline) == len([a for a in attempts if a <= deadline])
