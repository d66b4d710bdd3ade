"""Background work of scheduling (django-tasks; `caredesk db_worker` runs it, `caredesk send_reminders`
enqueues it). Each run acts as a system actor of the organization on channel "task"."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import services

TASK_PERMISSIONS = frozenset(
    str(p) for p in (Permission.SCHEDULE_VIEW, Permission.APPOINTMENT_BOOK, Permission.PATIENT_VIEW)
)


# The automatic no-show also puts follow-up calls on the front desk's worklist.
NO_SHOW_PERMISSIONS = TASK_PERMISSIONS | frozenset(
    str(p) for p in (Permission.TASK_WORK, Permission.TASK_ALL_QUEUES, Permission.TASK_VIEW)
)


def task_actor(organization_id: int, channel: str = "task") -> Actor:
    return system_actor(
        organization_id=organization_id, permissions=TASK_PERMISSIONS, channel=channel, username="reminders"
    )


@task()
def send_due_reminders(organization_id: int, now: str | None = None) -> dict[str, int]:
    """Send the organization's due reminders (`now`: an ISO time, for replays); returns the counts."""
    moment = dt.datetime.fromisoformat(now) if now else None
    run = services.send_due_reminders(actor=task_actor(organization_id), now=moment)
    return {"sent": run.sent, "skipped": run.skipped, "failed": run.failed}


@task()
def offer_waitlist_opening(organization_id: int, appointment_id: int) -> int:
    """Offer a cancelled appointment's time to the waitlist; returns how many offers went out."""
    return len(services.offer_opening(actor=task_actor(organization_id), appointment_id=appointment_id))


@task()
def offer_waitlist_time(organization_id: int, opening_id: int) -> int:
    """Offer time a moved appointment freed (an opening) to the waitlist; returns how many offers went out."""
    return len(services.offer_time(actor=task_actor(organization_id), opening_id=opening_id))


@task()
def sweep_waitlist(organization_id: int) -> int:
    """Lapse expired offers and offer their times to the next waiting patients."""
    return services.sweep_waitlist(actor=task_actor(organization_id))


@task()
def mark_no_shows(organization_id: int, now: str | None = None) -> dict[str, int]:
    """Mark the organization's overdue, not-arrived appointments no-show and queue their follow-up calls
    (`now`: an ISO time, for replays); returns the counts. Running it twice changes nothing more."""
    moment = dt.datetime.fromisoformat(now) if now else None
    actor = system_actor(
        organization_id=organization_id, permissions=NO_SHOW_PERMISSIONS, channel="task", username="no-shows"
    )
    run = services.mark_overdue_no_shows(actor=actor, now=moment)
    return {"marked": run.marked, "tasks_created": run.tasks_created}
