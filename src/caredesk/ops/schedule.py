"""The recurring work, one entry per django-tasks task that takes an organization id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from caredesk.billing.tasks import run_statement_cycle
from caredesk.careplans.tasks import create_overdue_activity_tasks
from caredesk.credentialing.tasks import create_credential_expiry_tasks
from caredesk.inventory.tasks import create_reorder_tasks
from caredesk.referrals.tasks import scan_overdue_referrals
from caredesk.scheduling.tasks import mark_no_shows, send_due_reminders, sweep_waitlist
from caredesk.worklist.tasks import create_claim_follow_up_tasks, create_eligibility_tasks


@dataclass(frozen=True)
class Recurring:
    name: str
    task: Any  # a django_tasks Task: has .enqueue(...) and .call(...)

    def enqueue(self, organization_id: int) -> Any:
        return self.task.enqueue(organization_id)

    def run_now(self, organization_id: int) -> Any:
        func: Callable[[int], Any] = self.task.call
        return func(organization_id)


RECURRING: tuple[Recurring, ...] = (
    Recurring("appointment reminders", send_due_reminders),
    Recurring("waitlist offers sweep", sweep_waitlist),
    Recurring("referral worklist rules", scan_overdue_referrals),
    Recurring("care-plan overdue activities", create_overdue_activity_tasks),
    Recurring("rejected and denied claims", create_claim_follow_up_tasks),
    Recurring("eligibility failures before visits", create_eligibility_tasks),
    Recurring("automatic no-shows", mark_no_shows),
    Recurring("credential expiry notices", create_credential_expiry_tasks),
    Recurring("supplies below their reorder point", create_reorder_tasks),
    Recurring("monthly patient statements", run_statement_cycle),
)
