"""Background work of the worklist's own rules (django-tasks; the `db_worker` command runs it)."""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from .claim_rules import apply_claim_rules
from .eligibility_rules import apply_eligibility_rules

CLAIM_RULE_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.BILLING_VIEW,
        Permission.PATIENT_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)


def claim_rules_actor(organization_id: int, channel: str = "task") -> Actor:
    return system_actor(
        organization_id=organization_id,
        permissions=CLAIM_RULE_PERMISSIONS,
        channel=channel,
        username="claim-rules",
    )


@task()
def create_claim_follow_up_tasks(organization_id: int) -> int:
    """Put every rejected or denied claim of the organization on the billing queue once; returns how many
    tasks were new."""
    return apply_claim_rules(actor=claim_rules_actor(organization_id))


ELIGIBILITY_RULE_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.COVERAGE_VIEW,
        Permission.PATIENT_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)


def eligibility_rules_actor(organization_id: int, channel: str = "task") -> Actor:
    return system_actor(
        organization_id=organization_id,
        permissions=ELIGIBILITY_RULE_PERMISSIONS,
        channel=channel,
        username="eligibility-rules",
    )


@task()
def create_eligibility_tasks(organization_id: int) -> int:
    """Put every eligibility failure for an upcoming visit on the front-desk queue once; returns how many
    tasks were new."""
    return apply_eligibility_rules(actor=eligibility_rules_actor(organization_id))
