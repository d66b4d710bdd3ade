"""Background work of care plans (django-tasks; the `db_worker` command runs it)."""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import services

TASK_PERMISSIONS = frozenset(
    str(p)
    for p in (Permission.TASK_WORK, Permission.TASK_ALL_QUEUES, Permission.PATIENT_VIEW, Permission.TASK_VIEW)
)


def task_actor(organization_id: int, channel: str = "task") -> Actor:
    return system_actor(
        organization_id=organization_id, permissions=TASK_PERMISSIONS, channel=channel, username="careplans"
    )


@task()
def create_overdue_activity_tasks(organization_id: int) -> int:
    """Put every overdue care-plan activity of the organization on the worklist once; returns how many
    tasks were new."""
    return services.create_overdue_tasks(actor=task_actor(organization_id)).created
