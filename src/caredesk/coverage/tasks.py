"""Background work of the coverage app (django-tasks; the `db_worker` command runs it).

Task arguments are plain ids; each run acts as a system actor of the organization on channel "task",
so what it does lands in the audit trail like any other change.
"""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import services

TASK_PERMISSIONS = frozenset(
    str(p) for p in (Permission.ELIGIBILITY_CHECK, Permission.COVERAGE_VIEW, Permission.PATIENT_VIEW)
)


def task_actor(organization_id: int) -> Actor:
    return system_actor(
        organization_id=organization_id, permissions=TASK_PERMISSIONS, channel="task", username="eligibility"
    )


@task()
def send_eligibility_checks(organization_id: int, check_ids: list[int]) -> int:
    """Send the 270 of each queued check, one after another; returns how many were sent."""
    actor = task_actor(organization_id)
    sent = 0
    for check_id in check_ids:
        if services.send_eligibility_check(actor=actor, check_id=check_id) is not None:
            sent += 1
    return sent


@task()
def collect_eligibility_responses(organization_id: int) -> int:
    """Read the 271s waiting in the organization's file-drop inbox; returns how many checks they answered."""
    answered, _problems = services.collect_eligibility_responses(actor=task_actor(organization_id))
    return len(answered)
