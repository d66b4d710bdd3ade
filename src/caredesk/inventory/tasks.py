"""Background work of the inventory app (django-tasks; `caredesk periodic` queues it, `db_worker` runs it).

The reorder scan runs as a system actor of the organization on channel "task": each fall of an item below
its reorder point at a purchasing location becomes one worklist task (dedupe key per fall).
"""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import services

REORDER_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.INVENTORY_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)


def reorder_actor(organization_id: int) -> Actor:
    return system_actor(
        organization_id=organization_id,
        permissions=REORDER_PERMISSIONS,
        channel="task",
        username="supply-reorder",
    )


@task()
def create_reorder_tasks(organization_id: int) -> int:
    """One worklist task per item that fell below its reorder point; returns how many were created."""
    return services.create_reorder_tasks(actor=reorder_actor(organization_id))
