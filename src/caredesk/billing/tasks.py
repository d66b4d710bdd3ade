"""Background work of the billing app (django-tasks; the `db_worker` command runs it).

Task arguments are plain ids; each run acts as a system actor of the organization on channel "task",
so what it does lands in the audit trail like any other change.
"""

from __future__ import annotations

from django_tasks import task

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor

from . import payments

TASK_PERMISSIONS = frozenset(
    str(p) for p in (Permission.BILLING_MANAGE, Permission.BILLING_VIEW, Permission.PATIENT_VIEW)
)


def statement_actor(organization_id: int, *, username: str = "statements", channel: str = "task") -> Actor:
    return system_actor(
        organization_id=organization_id, permissions=TASK_PERMISSIONS, channel=channel, username=username
    )


@task()
def run_statements(organization_id: int) -> int:
    """The statement batch of one organization (every patient with a balance); returns how many."""
    return len(payments.run_statements(actor=statement_actor(organization_id)))


@task()
def run_statement_cycle(organization_id: int) -> int:
    """The monthly statement run (on `caredesk periodic`): the cycle's statements once, then nothing until
    the next calendar month; returns how many were made this time."""
    return len(payments.run_statement_cycle(actor=statement_actor(organization_id)))
