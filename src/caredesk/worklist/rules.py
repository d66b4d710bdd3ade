"""Pure worklist rules: which status may follow which, the SLA clock, queues a role works, snoozing.

No ORM here: plain values in, plain values out (tested without a database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .choices import ACTIVE_STATUSES, SlaState, TaskQueue, TaskStatus, TaskType

S = TaskStatus

#: Which status may follow which. Done and cancelled tasks can be reopened (a mistake, a new attempt).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.WAITING, S.DONE, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.OPEN, S.WAITING, S.DONE, S.CANCELLED}),
    S.WAITING: frozenset({S.OPEN, S.IN_PROGRESS, S.DONE, S.CANCELLED}),
    S.DONE: frozenset({S.OPEN}),
    S.CANCELLED: frozenset({S.OPEN}),
}

#: The queues a role works when it does not hold TASK_ALL_QUEUES (it also sees tasks assigned to it).
ROLE_QUEUES: dict[str, frozenset[str]] = {
    "front_desk": frozenset({TaskQueue.FRONT_DESK}),
    "billing": frozenset({TaskQueue.BILLING}),
}

#: Where a task someone creates by hand goes unless they pick a queue.
HOME_QUEUE: dict[str, str] = {
    "coordinator": TaskQueue.CARE_COORDINATION,
    "administrator": TaskQueue.CARE_COORDINATION,
    "nurse": TaskQueue.NURSING,
    "physician": TaskQueue.PHYSICIANS,
    "front_desk": TaskQueue.FRONT_DESK,
    "billing": TaskQueue.BILLING,
}

#: Time from creation to due when the creator gives no due time (the SLA of each type).
DEFAULT_SLA: dict[str, dt.timedelta] = {
    TaskType.PATIENT_MATCH_REVIEW: dt.timedelta(hours=4),
    TaskType.DISCHARGE_REVIEW: dt.timedelta(hours=24),
    TaskType.PATIENT_MERGE_REVIEW: dt.timedelta(days=3),
    TaskType.FOLLOW_UP_CALL: dt.timedelta(days=2),
    # Payers allow an appeal or a corrected claim within a window; the office works denials within a week.
    TaskType.CLAIM_FOLLOW_UP: dt.timedelta(days=5),
}
FALLBACK_SLA = dt.timedelta(days=3)
#: An active task due within this window shows as "due soon".
DUE_SOON = dt.timedelta(hours=24)
MAX_SNOOZE = dt.timedelta(days=90)


def transition_error(current: str, wanted: str) -> str | None:
    """Why `current` -> `wanted` is not allowed, or None when it is."""
    if current == wanted:
        return f"The task is already {TaskStatus(current).label.lower()}."
    if wanted not in TRANSITIONS.get(current, frozenset()):
        return (
            f"A task that is {TaskStatus(current).label.lower()} cannot become "
            f"{TaskStatus(wanted).label.lower()}."
        )
    return None


def needs_reason(wanted: str) -> bool:
    """Cancelling says why (the reason is kept on the task's timeline)."""
    return wanted == TaskStatus.CANCELLED


def default_due(task_type: str, created_at: dt.datetime) -> dt.datetime:
    return created_at + DEFAULT_SLA.get(task_type, FALLBACK_SLA)


def sla_state(status: str, due_at: dt.datetime, now: dt.datetime, due_soon: dt.timedelta = DUE_SOON) -> str:
    """Where the task stands against its due time."""
    if status not in ACTIVE_STATUSES:
        return SlaState.CLOSED
    if due_at < now:
        return SlaState.OVERDUE
    if due_at - now <= due_soon:
        return SlaState.DUE_SOON
    return SlaState.ON_TRACK


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def sla_text(status: str, due_at: dt.datetime, now: dt.datetime) -> str:
    """The SLA clock as people read it: "due in 3 h", "overdue by 2 d", "closed"."""
    if status not in ACTIVE_STATUSES:
        return "closed"
    if due_at < now:
        return f"overdue by {_span(now - due_at)}"
    return f"due in {_span(due_at - now)}"


def visible_queues(role: str, all_queues: bool) -> frozenset[str] | None:
    """The queues a user works: None means every queue."""
    if all_queues:
        return None
    return ROLE_QUEUES.get(role, frozenset())


def home_queue(role: str) -> str:
    return HOME_QUEUE.get(role, TaskQueue.CARE_COORDINATION)


def snooze_error(until: dt.datetime, now: dt.datetime, max_snooze: dt.timedelta = MAX_SNOOZE) -> str | None:
    if until <= now:
        return "Snooze until a time in the future."
    if until - now > max_snooze:
        return f"A task can be snoozed for at most {max_snooze.days} days."
    return None


def is_snoozed(snoozed_until: dt.datetime | None, now: dt.datetime) -> bool:
    return snoozed_until is not None and snoozed_until > now


def contact_attempts_by(attempts: Iterable[dt.datetime], deadline: dt.datetime) -> int:
    """How many documented attempts were made no later than `deadline`."""
    return sum(1 for moment in attempts if moment <= deadline)
