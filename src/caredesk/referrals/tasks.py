"""Background work of the referrals app (django-tasks; the `db_worker` command runs it).

The overdue scan runs as a system actor of the organization on channel "task", so the tasks it creates
land in the audit trail like any other change. Schedule it daily (cron: `caredesk referral_rules`, or
enqueue `scan_overdue_referrals` per organization).
"""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import services

SCAN_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.REFERRAL_VIEW,
        Permission.PATIENT_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)


def scan_actor(organization_id: int, channel: str = "task", username: str = "referral-rules") -> Actor:
    return system_actor(
        organization_id=organization_id, permissions=SCAN_PERMISSIONS, channel=channel, username=username
    )


@task()
def scan_overdue_referrals(organization_id: int) -> int:
    """Run the referral worklist rules for one organization; returns how many tasks were created."""
    return len(services.apply_rules(actor=scan_actor(organization_id)))
