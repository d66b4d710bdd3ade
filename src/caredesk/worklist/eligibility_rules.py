"""Worklist rule: an eligibility check that failed for an upcoming visit becomes a front-desk task.

The nightly batch (`caredesk eligibility_requests`, default: tomorrow's appointments) asks every payer about
the patients seen that day; the service date of each check is the visit day. When the latest answer for a
coverage and day is "not active", a payer rejection or a request that could not be sent, the front desk
has to sort it out before the patient arrives: call the payer, get new insurance details, or tell the
patient about self-pay. One task per failed check (dedupe key); a later check that finds the coverage active
closes it as done.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from caredesk.core.context import Actor
from caredesk.coverage import selectors as coverage_selectors
from caredesk.coverage.choices import EligibilityStatus

from . import clock, services
from .choices import TaskPriority, TaskQueue, TaskType

#: the front desk works the list before the clinic opens on the visit day
DUE_AT = dt.time(7, 0)

_WHAT: dict[str, str] = {
    EligibilityStatus.INACTIVE: "coverage not active",
    EligibilityStatus.REJECTED: "payer rejected the request",
    EligibilityStatus.FAILED: "request could not be sent",
}


def dedupe_key(check_id: int) -> str:
    return f"eligibility:{check_id}"


def eligibility_task(item: coverage_selectors.FailedEligibility, now: dt.datetime) -> services.NewTask:
    """The front-desk task for one failed eligibility check."""
    day: dt.date = item.service_date
    due = dt.datetime.combine(day, DUE_AT, tzinfo=timezone.get_current_timezone())
    soon = timezone.localdate(now) + dt.timedelta(days=1)
    reasons = "\n".join(f"- {r}" for r in item.reasons) or "- The payer gave no reason."
    return services.NewTask(
        title=f"Eligibility failed for the visit on {day:%a %d %b %Y}: {_WHAT.get(item.status, item.status)}",
        queue=TaskQueue.FRONT_DESK,
        task_type=TaskType.ELIGIBILITY_FAILED,
        patient_id=item.patient_id,
        description=(
            f"{item.payer_name}, member ID {item.member_id}.\n{reasons}\n"
            "Before the visit: confirm the insurance with the patient or the payer, update the coverage and "
            "check again, or explain self-pay."
        ),
        priority=TaskPriority.HIGH if day <= soon else TaskPriority.NORMAL,
        due_at=max(due, now),
        source_type="coverage.eligibility_check",
        source_id=str(item.check_id),
        dedupe_key=dedupe_key(item.check_id),
    )


def apply_eligibility_rules(*, actor: Actor, now: dt.datetime | None = None) -> int:
    """Create the task of every failed check for a visit from today on; close, as done, the tasks of
    failures a later check cleared. Returns how many tasks were created."""
    now = now or clock.now()
    today = timezone.localdate(now)
    follow_up = coverage_selectors.failed_eligibility_from(actor=actor, first_day=today)
    created = 0
    for item in follow_up.failed:
        if services.create_task(actor=actor, data=eligibility_task(item, now)).created:
            created += 1
    if follow_up.cleared_check_ids:
        services.close_tasks_by_keys(
            actor=actor,
            dedupe_keys=[dedupe_key(pk) for pk in follow_up.cleared_check_ids],
            status="done",
            reason="A later eligibility check found the coverage active.",
        )
    return created
