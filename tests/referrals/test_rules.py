"""The referral rules on plain values: the state machine (every status and every action), the clocks, the
worklist rules (each on its own), diagnosis codes and the report's arithmetic."""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest

from caredesk.referrals import rules
from caredesk.referrals.choices import FINAL_STATUSES, ReferralAction, ReferralStatus, Urgency

S, A = ReferralStatus, ReferralAction
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)

EXPECTED = {
    (S.DRAFT, A.SEND): S.SENT,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.SENT, A.RECEIVE): S.RECEIVED,
    (S.SENT, A.ACCEPT): S.ACCEPTED,
    (S.SENT, A.DECLINE): S.DECLINED,
    (S.SENT, A.CANCEL): S.CANCELLED,
    (S.RECEIVED, A.ACCEPT): S.ACCEPTED,
    (S.RECEIVED, A.DECLINE): S.DECLINED,
    (S.RECEIVED, A.CANCEL): S.CANCELLED,
    (S.ACCEPTED, A.SCHEDULE): S.SCHEDULED,
    (S.ACCEPTED, A.DECLINE): S.DECLINED,
    (S.ACCEPTED, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.SCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, A.SEEN): S.SEEN,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.SEEN, A.CLOSE): S.CLOSED,
    (S.DECLINED, A.REROUTE): S.SENT,
    (S.DECLINED, A.CANCEL): S.CANCELLED,
}


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("action", A.values)
def test_every_status_and_action(status, action):
    expected = EXPECTED.get((status, action))
    assert rules.target_of(status, action) == expected
    error = rules.transition_error(status, action)
    assert (error is None) == (expected is not None)
    assert (action in rules.allowed_actions(status)) == (expected is not None)


def test_the_table_has_no_transition_the_tests_do_not_know():
    table = {(s, a): t for s, moves in rules.TRANSITIONS.items() for a, t in moves.items()}
    assert table == EXPECTED
    assert set(rules.TRANSITIONS) == set(S.values)


def test_final_statuses_are_final_and_everything_is_reachable_from_a_draft():
    for status in FINAL_STATUSES:
        assert rules.allowed_actions(status) == []
        assert rules.is_final(status)
    reached, queue = {S.DRAFT}, deque([S.DRAFT])
    while queue:
        for target in rules.TRANSITIONS[queue.popleft()].values():
            if target not in reached:
                reached.add(target)
                queue.append(target)
    assert reached == set(S.values)


def test_a_declined_referral_can_only_be_rerouted_or_closed_with_a_reason():
    assert set(rules.allowed_actions(S.DECLINED)) == {A.REROUTE, A.CANCEL}
    assert rules.note_error(A.CANCEL, "  ") is not None
    assert rules.note_error(A.DECLINE, "") is not None
    assert rules.note_error(A.CANCEL, "Patient chose another clinic") is None
    assert rules.note_error(A.ACCEPT, "") is None


def test_unknown_values_are_refused_with_a_reason():
    assert "not something" in (rules.transition_error(S.SENT, "teleport") or "")
    assert "not a referral status" in (rules.transition_error("lost", A.SEND) or "")


# --- clocks ------------------------------------------------------------------------------------------


def test_limits_per_step_and_urgency_and_overrides():
    assert rules.limit_days(S.ACCEPTED, Urgency.ROUTINE) == 14
    assert rules.limit_days(S.ACCEPTED, Urgency.STAT) == 1
    assert rules.limit_days(S.DRAFT, Urgency.ROUTINE) is None
    assert rules.limit_days(S.ACCEPTED, Urgency.ROUTINE, {"accepted": {"routine": 10}}) == 10
    assert rules.limit_days(S.ACCEPTED, Urgency.URGENT, {"accepted": {"routine": 10}}) == 3


def test_step_due_and_overdue():
    since = NOW - dt.timedelta(days=5)
    due = rules.step_due(S.SENT, since, Urgency.ROUTINE)
    assert due == since + dt.timedelta(days=3)
    assert rules.is_overdue(due, NOW)
    assert not rules.is_overdue(rules.step_due(S.ACCEPTED, since, Urgency.ROUTINE), NOW)
    assert rules.step_due(S.DRAFT, since, Urgency.ROUTINE) is None
    assert rules.step_due(S.CLOSED, since, Urgency.ROUTINE) is None
    assert not rules.is_overdue(None, NOW)
    appointment = NOW + dt.timedelta(days=2)
    assert rules.step_due(S.SCHEDULED, since, Urgency.ROUTINE, appointment) == appointment + dt.timedelta(
        days=1
    )


# --- worklist rules ----------------------------------------------------------------------------------


def facts(status: str, **fields: object) -> rules.ReferralFacts:
    defaults: dict[str, object] = {
        "referral_id": 7,
        "patient_id": 3,
        "status": status,
        "urgency": Urgency.ROUTINE,
        "target": "Cardiology — Heart Partners",
    }
    return rules.ReferralFacts(**{**defaults, **fields})  # type: ignore[arg-type]


def test_not_scheduled_rule_fires_after_n_days_from_the_last_send():
    sent = NOW - dt.timedelta(days=21)
    spec = rules.not_scheduled_rule(facts(S.ACCEPTED, last_sent_event_id=40, last_sent_at=sent), NOW)
    assert spec is not None
    assert spec.dedupe_key == "referral:7:not-scheduled:40"
    assert "not scheduled" in spec.title
    assert not spec.urgent
    early = facts(S.ACCEPTED, last_sent_event_id=40, last_sent_at=sent + dt.timedelta(hours=1))
    assert rules.not_scheduled_rule(early, NOW) is None
    assert rules.not_scheduled_rule(facts(S.SCHEDULED, last_sent_event_id=40, last_sent_at=sent), NOW) is None
    urgent = facts(
        S.SENT, urgency=Urgency.URGENT, last_sent_event_id=41, last_sent_at=NOW - dt.timedelta(days=5)
    )
    spec = rules.not_scheduled_rule(urgent, NOW)
    assert spec is not None
    assert spec.urgent
    assert rules.not_scheduled_rule(urgent, NOW, {"not_scheduled": {"urgent": 6}}) is None


def test_consult_note_rule_fires_n_days_after_the_visit():
    seen = NOW - dt.timedelta(days=14)
    spec = rules.consult_note_rule(facts(S.SEEN, seen_event_id=50, seen_at=seen), NOW)
    assert spec is not None
    assert spec.dedupe_key == "referral:7:consult-note:50"
    assert (
        rules.consult_note_rule(facts(S.SEEN, seen_event_id=50, seen_at=seen + dt.timedelta(days=1)), NOW)
        is None
    )
    assert rules.consult_note_rule(facts(S.CLOSED, seen_event_id=50, seen_at=seen), NOW) is None


def test_declined_rule_fires_at_once_one_task_per_decline():
    declined = NOW - dt.timedelta(minutes=1)
    spec = rules.declined_rule(facts(S.DECLINED, declined_event_id=60, declined_at=declined), NOW)
    assert spec is not None
    assert spec.dedupe_key == "referral:7:declined:60"
    assert spec.due_at == declined + dt.timedelta(days=2)
    again = rules.declined_rule(facts(S.DECLINED, declined_event_id=61, declined_at=NOW), NOW)
    assert again is not None
    assert again.dedupe_key != spec.dedupe_key
    assert rules.declined_rule(facts(S.SENT, declined_event_id=60, declined_at=declined), NOW) is None


def test_the_same_facts_give_the_same_tasks_whenever_the_rules_run():
    one = facts(S.DECLINED, declined_event_id=60, declined_at=NOW)
    first = rules.due_tasks(one, NOW)
    later = rules.due_tasks(one, NOW + dt.timedelta(days=3))
    assert [s.dedupe_key for s in first] == [s.dedupe_key for s in later] == ["referral:7:declined:60"]


def test_what_each_step_settles():
    assert rules.keys_settled_by(7, S.SCHEDULED) == ["referral:7:not-scheduled:"]
    assert rules.keys_settled_by(7, S.SENT) == ["referral:7:declined:"]
    assert rules.keys_settled_by(7, S.RECEIVED) == []
    assert len(rules.keys_settled_by(7, S.CANCELLED)) == 3


# --- diagnoses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "code"), [("e119", "E11.9"), ("I10", "I10"), (" i20.9 ", "I20.9")])
def test_icd10_codes_are_normalized(raw, code):
    assert rules.normalize_icd10(raw) == code


@pytest.mark.parametrize("raw", ["", "A00-A09", "XYZ", "E11.999999", "E11;9", "12345678"])
def test_what_is_not_an_icd10_code(raw):
    assert rules.normalize_icd10(raw) is None


def test_codes_typed_in_one_box():
    assert rules.split_codes("I10, E11.9;R51.9  Z00.00") == ["I10", "E11.9", "R51.9", "Z00.00"]


# --- report ------------------------------------------------------------------------------------------


def day(n: float) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def test_milestones_take_the_last_send_and_the_first_of_the_rest():
    reached = rules.milestones(
        [(S.SENT, day(0)), (S.DECLINED, day(1)), (S.SENT, day(2)), (S.ACCEPTED, day(3))]
    )
    assert reached[S.SENT] == day(2)
    assert rules.step_days(reached) == {"Sent → accepted": 1.0}


def test_summaries_by_group_with_medians_and_closure_rate():
    closed = rules.step_days(
        {S.SENT: day(0), S.ACCEPTED: day(2), S.SCHEDULED: day(4), S.SEEN: day(10), S.CLOSED: day(13)}
    )
    closed_fast = rules.step_days(
        {S.SENT: day(0), S.ACCEPTED: day(1), S.SCHEDULED: day(2), S.SEEN: day(3), S.CLOSED: day(4)}
    )
    outcomes = [
        rules.Outcome("Cardiology", "Heart Partners", S.CLOSED, closed),
        rules.Outcome("Cardiology", "Dr Valve", S.CLOSED, closed_fast),
        rules.Outcome("Cardiology", "Dr Valve", S.DECLINED, {}),
        rules.Outcome("Neurology", "Brain Group", S.CANCELLED, {}),
    ]
    by_specialty = rules.summarize(outcomes, "specialty")
    assert [g.key for g in by_specialty] == ["Cardiology", "Neurology"]
    cardiology = by_specialty[0]
    assert (cardiology.sent, cardiology.closed, cardiology.declined_open) == (3, 2, 1)
    assert cardiology.closure_percent == 67
    assert cardiology.medians["Sent → accepted"] == 1.5
    assert cardiology.medians["Sent → loop closed"] == 8.5
    neurology = by_specialty[1]
    assert neurology.closure_rate == 0
    assert neurology.cancelled == 1
    assert neurology.medians["Seen → consult note"] is None
    by_receiver = {g.key: g for g in rules.summarize(outcomes, "receiver")}
    assert by_receiver["Dr Valve"].closure_percent == 50
    bars = rules.closure_bars(by_specialty, width=200, row=20)
    assert [(b.label, b.value, b.y, b.width) for b in bars] == [
        ("Cardiology", 67, 0, 133),
        ("Neurology", 0, 20, 0),
    ]
    assert rules.GroupStats("none").closure_rate == 0.0
