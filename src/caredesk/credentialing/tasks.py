"""Background work of credentialing (django-tasks; `caredesk periodic` queues it, `db_worker` runs it)."""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import services

EXPIRY_ALERT_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.CREDENTIAL_VIEW,
        Permission.PRACTITIONER_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)


def expiry_alerts_actor(organization_id: int, channel: str = "task") -> Actor:
    return system_actor(
        organization_id=organization_id,
        permissions=EXPIRY_ALERT_PERMISSIONS,
        channel=channel,
        username="credential-expiry",
    )


@task()
def create_credential_expiry_tasks(organization_id: int) -> int:
    """Put the 90/60/30-day expiry notices of the organization's credentials on the medical-staff queue;
    returns how many tasks were new."""
    return services.create_expiry_tasks(actor=expiry_alerts_actor(organization_id)).created
