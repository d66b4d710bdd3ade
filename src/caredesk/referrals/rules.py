"""Pure referral logic on values (no ORM): the state machine, the overdue clocks, the worklist rules that
turn a late referral into a task, diagnosis codes, and the loop-closure report's arithmetic.

Clocks are days per step and urgency (`DEFAULT_DAYS`); settings.CAREDESK_REFERRAL_DAYS overrides any of
them, e.g. `{"accepted": {"routine": 10}, "not_scheduled": {"urgent": 2}}`.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import simple_icd_10_cm as cm

from .choices import (
    FINAL_STATUSES,
    INBOUND_FINAL_STATUSES,
    INBOUND_OPEN_STATUSES,
    OPEN_STATUSES,
    ReferralAction,
    ReferralDirection,
    ReferralStatus,
    Urgency,
)

S = ReferralStatus
A = ReferralAction
D = ReferralDirection

# --- the state machine -------------------------------------------------------------------------------

#: status -> {action: the status it leads to}. Nothing else moves a referral.
TRANSITIONS: dict[str, dict[str, str]] = {
    S.DRAFT: {A.SEND: S.SENT, A.CANCEL: S.CANCELLED},
    S.SENT: {A.RECEIVE: S.RECEIVED, A.ACCEPT: S.ACCEPTED, A.DECLINE: S.DECLINED, A.CANCEL: S.CANCELLED},
    S.RECEIVED: {A.ACCEPT: S.ACCEPTED, A.DECLINE: S.DECLINED, A.CANCEL: S.CANCELLED},
    S.ACCEPTED: {A.SCHEDULE: S.SCHEDULED, A.DECLINE: S.DECLINED, A.CANCEL: S.CANCELLED},
    S.SCHEDULED: {A.SCHEDULE: S.SCHEDULED, A.SEEN: S.SEEN, A.CANCEL: S.CANCELLED},
    S.SEEN: {A.CLOSE: S.CLOSED},
    # A declined referral is never dropped: it goes to another receiver, or is closed with a reason.
    S.DECLINED: {A.REROUTE: S.SENT, A.CANCEL: S.CANCELLED},
    S.CLOSED: {},
    S.CANCELLED: {},
}

#: The same for an inbound referral (another practice refers a patient to us). It starts received; we
#: accept it (then schedule, see the patient and send the consult note back: the loop is closed) or decline
#: it with the reason, which is final: the referring party is told why (communication log).
INBOUND_TRANSITIONS: dict[str, dict[str, str]] = {
    S.RECEIVED: {A.ACCEPT: S.ACCEPTED, A.DECLINE: S.DECLINED, A.CANCEL: S.CANCELLED},
    S.ACCEPTED: {A.SCHEDULE: S.SCHEDULED, A.CANCEL: S.CANCELLED},
    S.SCHEDULED: {A.SCHEDULE: S.SCHEDULED, A.SEEN: S.SEEN, A.CANCEL: S.CANCELLED},
    S.SEEN: {A.CLOSE: S.CLOSED},
    S.DECLINED: {},
    S.CLOSED: {},
    S.CANCELLED: {},
}

#: Actions that need a note: the reason (declining, cancelling).
NOTE_REQUIRED = frozenset({A.DECLINE, A.CANCEL})

#: Inbound steps the referring party is told about (a communication-log entry about the referral).
INBOUND_NOTIFIES = frozenset({A.DECLINE, A.CLOSE})


#: Where an inbound referral's status or button says something else (we send the consult note back).
INBOUND_STATUS_LABELS: dict[str, str] = {S.CLOSED: "Consult note sent back"}
INBOUND_ACTION_LABELS: dict[str, str] = {A.CLOSE: "Consult note sent back"}


def status_label(status: str, direction: str = D.OUTBOUND) -> str:
    """What a referral's status reads on its pages (list, detail, timeline), by direction."""
    if direction == D.INBOUND and status in INBOUND_STATUS_LABELS:
        return INBOUND_STATUS_LABELS[status]
    return ReferralStatus(status).label if status in ReferralStatus.values else status


def action_label(action: str, direction: str = D.OUTBOUND) -> str:
    """What a step's button says, by direction."""
    if direction == D.INBOUND and action in INBOUND_ACTION_LABELS:
        return INBOUND_ACTION_LABELS[action]
    return ReferralAction(action).label if action in ReferralAction.values else action


def transitions_for(direction: str = D.OUTBOUND) -> dict[str, dict[str, str]]:
    return INBOUND_TRANSITIONS if direction == D.INBOUND else TRANSITIONS


def target_of(status: str, action: str, direction: str = D.OUTBOUND) -> str | None:
    """The status `action` leads to from `status`, or None when it is not allowed there."""
    return transitions_for(direction).get(status, {}).get(action)


def allowed_actions(status: str, direction: str = D.OUTBOUND) -> list[str]:
    return list(transitions_for(direction).get(status, {}))


def transition_error(status: str, action: str, direction: str = D.OUTBOUND) -> str | None:
    """Why `action` cannot be taken on a referral in `status` (None: it can)."""
    if action not in ReferralAction.values:
        return f"{action!r} is not something a referral can do."
    inbound = direction == D.INBOUND
    if status not in transitions_for(direction):
        return f"{status!r} is not {'an inbound' if inbound else 'a'} referral status."
    if target_of(status, action, direction) is None:
        kind = "an inbound referral" if inbound else "a referral"
        return f"“{ReferralAction(action).label}” is not possible for {kind} that is {status}."
    return None


#: Appointment statuses (scheduling.choices.AppointmentStatus values) the scheduled step may link.
BOOKED_APPOINTMENT_STATUSES = frozenset({"booked", "confirmed"})


def appointment_error(patient_id: int, appointment_patient_id: int, appointment_status: str) -> str | None:
    """Why an appointment cannot be the one a referral is scheduled for (None: it can)."""
    if appointment_patient_id != patient_id:
        return "That appointment is another patient's."
    if appointment_status not in BOOKED_APPOINTMENT_STATUSES:
        return "Only a booked appointment can be linked (this one is cancelled, over or only proposed)."
    return None


def note_error(action: str, note: str) -> str | None:
    if action in NOTE_REQUIRED and not note.strip():
        return "Say why: the reason is kept on the referral's timeline."
    return None


def is_final(status: str, direction: str = D.OUTBOUND) -> bool:
    return status in (INBOUND_FINAL_STATUSES if direction == D.INBOUND else FINAL_STATUSES)


def is_open(status: str, direction: str = D.OUTBOUND) -> bool:
    """Whether the step runs an overdue clock."""
    return status in (INBOUND_OPEN_STATUSES if direction == D.INBOUND else OPEN_STATUSES)


# --- clocks ------------------------------------------------------------------------------------------

Days = Mapping[str, Mapping[str, int]]

#: Days a referral may stay in a step (per urgency) before it is overdue, and the worklist rules' N.
DEFAULT_DAYS: dict[str, dict[str, int]] = {
    S.SENT: {Urgency.ROUTINE: 3, Urgency.URGENT: 1, Urgency.STAT: 1},  # the receiver acknowledges
    S.RECEIVED: {Urgency.ROUTINE: 5, Urgency.URGENT: 2, Urgency.STAT: 1},  # accepts or declines
    S.ACCEPTED: {Urgency.ROUTINE: 14, Urgency.URGENT: 3, Urgency.STAT: 1},  # schedules
    S.SCHEDULED: {Urgency.ROUTINE: 60, Urgency.URGENT: 14, Urgency.STAT: 3},  # the patient is seen
    S.SEEN: {Urgency.ROUTINE: 14, Urgency.URGENT: 7, Urgency.STAT: 3},  # the consult note comes back
    S.DECLINED: {Urgency.ROUTINE: 2, Urgency.URGENT: 1, Urgency.STAT: 1},  # re-routed or closed
    "not_scheduled": {Urgency.ROUTINE: 21, Urgency.URGENT: 5, Urgency.STAT: 2},  # from the last send
}


def limit_days(clock: str, urgency: str, overrides: Days | None = None) -> int | None:
    """Days allowed on `clock` (a status, or "not_scheduled") for `urgency`; None: no clock runs."""
    if overrides and urgency in overrides.get(clock, {}):
        return int(overrides[clock][urgency])
    return DEFAULT_DAYS.get(clock, {}).get(urgency)


def step_due(
    status: str,
    since: dt.datetime,
    urgency: str,
    appointment_at: dt.datetime | None = None,
    overrides: Days | None = None,
    direction: str = D.OUTBOUND,
) -> dt.datetime | None:
    """When the current step is overdue. A scheduled referral is due a day after its appointment when one
    is known; draft and final steps have no clock (an inbound referral's clocks are the same days: received
    -> accepted or declined, accepted -> scheduled, ..., seen -> consult note sent back)."""
    if not is_open(status, direction):
        return None
    if status == S.SCHEDULED and appointment_at is not None:
        return appointment_at + dt.timedelta(days=1)
    days = limit_days(status, urgency, overrides)
    return None if days is None else since + dt.timedelta(days=days)


def is_overdue(due: dt.datetime | None, now: dt.datetime) -> bool:
    return due is not None and now >= due


# --- worklist rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFacts:
    """What the rules need to know about one referral (built by the services from its row and events)."""

    referral_id: int
    patient_id: int
    status: str
    urgency: str
    target: str  # "Cardiology — Dr Heart"
    last_sent_event_id: int | None = None
    last_sent_at: dt.datetime | None = None
    seen_event_id: int | None = None
    seen_at: dt.datetime | None = None
    declined_event_id: int | None = None
    declined_at: dt.datetime | None = None
    direction: str = D.OUTBOUND
    received_event_id: int | None = None  # inbound: when it reached us (the intake clock's start)
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class TaskSpec:
    """A task a rule asks for; `dedupe_key` makes the same event create it once."""

    rule: str
    title: str
    description: str
    dedupe_key: str
    due_at: dt.datetime
    urgent: bool


def _urgent(facts: ReferralFacts) -> bool:
    return facts.urgency != Urgency.ROUTINE


def not_scheduled_rule(
    facts: ReferralFacts, now: dt.datetime, overrides: Days | None = None
) -> TaskSpec | None:
    """Sent (or re-routed) N days ago and still not scheduled: chase the receiver. One task per send."""
    if facts.status not in (S.SENT, S.RECEIVED, S.ACCEPTED) or facts.last_sent_at is None:
        return None
    days = limit_days("not_scheduled", facts.urgency, overrides)
    if days is None or now < facts.last_sent_at + dt.timedelta(days=days):
        return None
    return TaskSpec(
        rule="not_scheduled",
        title=f"Referral not scheduled: {facts.target}"[:200],
        description=f"Sent {days} or more days ago and not scheduled yet. Call the receiver, or re-route it.",
        dedupe_key=f"referral:{facts.referral_id}:not-scheduled:{facts.last_sent_event_id}",
        due_at=now + dt.timedelta(days=1),
        urgent=_urgent(facts),
    )


def consult_note_rule(
    facts: ReferralFacts, now: dt.datetime, overrides: Days | None = None
) -> TaskSpec | None:
    """Seen N days ago and no consult note back: ask for it (inbound: send it back). One task per visit."""
    if facts.status != S.SEEN or facts.seen_at is None:
        return None
    days = limit_days(S.SEEN, facts.urgency, overrides)
    if days is None or now < facts.seen_at + dt.timedelta(days=days):
        return None
    if facts.direction == D.INBOUND:
        return TaskSpec(
            rule="consult_note",
            title=f"Consult note not sent back: {facts.target}"[:200],
            description=f"The patient was seen {days} or more days ago and the consult note has not gone "
            "back to the referring party. Send it, then mark it sent.",
            dedupe_key=f"referral:{facts.referral_id}:consult-note:{facts.seen_event_id}",
            due_at=now + dt.timedelta(days=1),
            urgent=_urgent(facts),
        )
    return TaskSpec(
        rule="consult_note",
        title=f"Consult note not back: {facts.target}"[:200],
        description=f"The patient was seen {days} or more days ago and the consult note is not back. "
        "Request it from the receiver.",
        dedupe_key=f"referral:{facts.referral_id}:consult-note:{facts.seen_event_id}",
        due_at=now + dt.timedelta(days=1),
        urgent=_urgent(facts),
    )


def declined_rule(facts: ReferralFacts, now: dt.datetime, overrides: Days | None = None) -> TaskSpec | None:
    """Declined and neither re-routed nor closed: a person must decide at once. One task per decline.
    (Declining an inbound referral is final: it was closed with the reason and the referrer told.)"""
    if facts.status != S.DECLINED or facts.declined_at is None or facts.direction == D.INBOUND:
        return None
    days = limit_days(S.DECLINED, facts.urgency, overrides) or 1
    return TaskSpec(
        rule="declined",
        title=f"Referral declined: {facts.target}"[:200],
        description="The receiver declined this referral. Re-route it to another receiver, or close it "
        "with the reason.",
        dedupe_key=f"referral:{facts.referral_id}:declined:{facts.declined_event_id}",
        due_at=facts.declined_at + dt.timedelta(days=days),
        urgent=_urgent(facts),
    )


def intake_rule(facts: ReferralFacts, now: dt.datetime, overrides: Days | None = None) -> TaskSpec | None:
    """An inbound referral not yet accepted or declined: it waits in the intake queue, due when the
    "received" clock runs out. One task per arrival (created when it is registered; the scan puts it back
    if it was lost)."""
    if facts.direction != D.INBOUND or facts.status != S.RECEIVED or facts.received_at is None:
        return None
    days = limit_days(S.RECEIVED, facts.urgency, overrides) or 1
    return TaskSpec(
        rule="intake",
        title=f"Inbound referral to accept or decline: {facts.target}"[:200],
        description="A referral came in from another practice. Accept it, or decline it with the reason "
        "(the referring party is told why).",
        dedupe_key=f"referral:{facts.referral_id}:intake:{facts.received_event_id}",
        due_at=facts.received_at + dt.timedelta(days=days),
        urgent=_urgent(facts),
    )


RULES = (not_scheduled_rule, consult_note_rule, declined_rule, intake_rule)


def due_tasks(facts: ReferralFacts, now: dt.datetime, overrides: Days | None = None) -> list[TaskSpec]:
    return [spec for rule in RULES if (spec := rule(facts, now, overrides)) is not None]


#: The rule tasks a move to a status deals with (closed as done), by dedupe-key rule name.
SETTLES: dict[str, tuple[str, ...]] = {
    S.SCHEDULED: ("not-scheduled",),
    S.CLOSED: ("consult-note",),
    S.SENT: ("declined",),  # re-routed
    S.CANCELLED: ("not-scheduled", "consult-note", "declined"),
}


#: The same for inbound referrals: answering one (or cancelling it) takes it off the intake queue.
INBOUND_SETTLES: dict[str, tuple[str, ...]] = {
    S.ACCEPTED: ("intake",),
    S.DECLINED: ("intake",),
    S.CLOSED: ("consult-note",),
    S.CANCELLED: ("intake", "consult-note"),
}


def keys_settled_by(referral_id: int, status: str, direction: str = D.OUTBOUND) -> list[str]:
    """Dedupe-key prefixes of the rule tasks a move to `status` settles."""
    settles = INBOUND_SETTLES if direction == D.INBOUND else SETTLES
    return [f"referral:{referral_id}:{rule}:" for rule in settles.get(status, ())]


# --- diagnoses ---------------------------------------------------------------------------------------


def normalize_icd10(code: str) -> str | None:
    """`e119` -> `E11.9`: a category or subcategory code of the ICD-10-CM tabular list; else None."""
    compact = re.sub(r"[\s.]", "", code or "").upper()
    if not (0 < len(compact) <= 7 and compact.isalnum()):
        return None
    if not cm.is_valid_item(compact) or not cm.is_category_or_subcategory(compact):
        return None
    return str(cm.add_dot(compact))


def icd10_description(code: str) -> str:
    return str(cm.get_description(code))


def split_codes(text: str) -> list[str]:
    """Codes typed in one box: separated by commas, semicolons or white space."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


# --- the loop-closure report -------------------------------------------------------------------------

#: Steps the report times: (label, from status, to status). A re-routed referral counts from its last send.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("Sent → accepted", S.SENT, S.ACCEPTED),
    ("Accepted → scheduled", S.ACCEPTED, S.SCHEDULED),
    ("Scheduled → seen", S.SCHEDULED, S.SEEN),
    ("Seen → consult note", S.SEEN, S.CLOSED),
    ("Sent → loop closed", S.SENT, S.CLOSED),
)

#: The same for inbound referrals (another practice referred the patient to us): from its arrival to the
#: consult note sent back.
INBOUND_STEPS: tuple[tuple[str, str, str], ...] = (
    ("Received → accepted", S.RECEIVED, S.ACCEPTED),
    ("Accepted → scheduled", S.ACCEPTED, S.SCHEDULED),
    ("Scheduled → seen", S.SCHEDULED, S.SEEN),
    ("Seen → consult note sent back", S.SEEN, S.CLOSED),
    ("Received → loop closed", S.RECEIVED, S.CLOSED),
)


def steps_for(direction: str = D.OUTBOUND) -> tuple[tuple[str, str, str], ...]:
    """The steps the report times for referrals of `direction`."""
    return INBOUND_STEPS if direction == D.INBOUND else STEPS


def report_start(direction: str = D.OUTBOUND) -> str:
    """The status that puts a referral in the report's period: sent (outbound) or received (inbound)."""
    return S.RECEIVED if direction == D.INBOUND else S.SENT


def milestones(events: Iterable[tuple[str, dt.datetime]]) -> dict[str, dt.datetime]:
    """When each status was reached: the last time for `sent` (a re-route sends again), else the first."""
    reached: dict[str, dt.datetime] = {}
    for status, at in sorted(events, key=lambda item: item[1]):
        if status == S.SENT or status not in reached:
            reached[status] = at
    return reached


def step_days(
    reached: Mapping[str, dt.datetime], steps: tuple[tuple[str, str, str], ...] = STEPS
) -> dict[str, float]:
    """Days each step took (only steps both ends of which were reached, in order)."""
    out: dict[str, float] = {}
    for label, start, end in steps:
        if start in reached and end in reached and reached[end] >= reached[start]:
            out[label] = (reached[end] - reached[start]).total_seconds() / 86400
    return out


@dataclass(frozen=True)
class Outcome:
    """One sent (or, inbound, received) referral, for the report."""

    specialty: str
    receiver: str
    status: str
    days: Mapping[str, float]
    referrer: str = ""  # inbound: the referring party


@dataclass
class GroupStats:
    key: str
    sent: int = 0
    closed: int = 0
    declined_open: int = 0
    cancelled: int = 0
    medians: dict[str, float | None] = field(default_factory=dict)

    @property
    def closure_rate(self) -> float:
        """Loops closed per referral sent (inbound: received); 0 when there was none."""
        return self.closed / self.sent if self.sent else 0.0

    @property
    def closure_percent(self) -> int:
        return round(self.closure_rate * 100)


def summarize(
    outcomes: Iterable[Outcome], by: str, steps: tuple[tuple[str, str, str], ...] = STEPS
) -> list[GroupStats]:
    """Per `by` ("specialty", "receiver" or "referrer"): counts, loop-closure rate and median days per
    step (`steps`: STEPS, or INBOUND_STEPS); the groups in name order. `sent` counts every referral of
    the group (inbound: received); `declined_open` the declined ones (inbound: declined, which is final)."""
    groups: dict[str, GroupStats] = {}
    samples: dict[str, dict[str, list[float]]] = {}
    for outcome in outcomes:
        key = getattr(outcome, by)
        stats = groups.setdefault(key, GroupStats(key))
        stats.sent += 1
        stats.closed += outcome.status == S.CLOSED
        stats.declined_open += outcome.status == S.DECLINED
        stats.cancelled += outcome.status == S.CANCELLED
        for label, days in outcome.days.items():
            samples.setdefault(key, {}).setdefault(label, []).append(days)
    for key, stats in groups.items():
        stats.medians = {
            label: round(statistics.median(samples[key][label]), 1)
            if samples.get(key, {}).get(label)
            else None
            for label, _start, _end in steps
        }
    return [groups[key] for key in sorted(groups)]


@dataclass(frozen=True)
class Bar:
    label: str
    value: int  # percent
    y: int
    width: int
    text_x: int


def closure_bars(groups: Iterable[GroupStats], *, width: int = 400, row: int = 24) -> list[Bar]:
    """Horizontal bars (SVG user units) of the loop-closure percentage of each group."""
    bars = []
    for index, stats in enumerate(groups):
        length = round(width * stats.closure_rate)
        bars.append(Bar(stats.key, stats.closure_percent, index * row, length, length + 4))
    return bars
