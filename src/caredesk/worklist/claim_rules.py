"""Worklist rule: a claim the payer rejected or denied becomes a billing follow-up task.

`claim_task` is the rule (a pure function: the claim's facts in, the task to create out); `apply_claim_rules`
runs it over the organization's rejected and denied claims. The dedupe key names the claim *and* the
status change that put it there, so a rerun creates nothing new, while a claim denied again after an appeal
gets a fresh task.
"""

from __future__ import annotations

from caredesk.billing import selectors as billing_selectors
from caredesk.billing.choices import ClaimStatus
from caredesk.core.context import Actor

from . import services
from .choices import TaskPriority, TaskQueue, TaskType


def claim_task(item: billing_selectors.ClaimNeedingWork) -> services.NewTask:
    """The follow-up task for one rejected or denied claim."""
    rejected = item.status == ClaimStatus.REJECTED
    what = "rejected" if rejected else "denied"
    action = (
        "Correct the claim and resubmit it."
        if rejected
        else "Review the denial: appeal it, correct and resubmit, or close it and bill the patient."
    )
    reason = item.reason.strip() or "The payer gave no reason."
    return services.NewTask(
        title=f"Claim {item.claim_number} {what} by {item.payer_name}",
        queue=TaskQueue.BILLING,
        task_type=TaskType.CLAIM_FOLLOW_UP,
        patient_id=item.patient_id,
        description=f"Reason: {reason}\n{action}",
        # A front-door rejection is usually a data error that is quick to fix and resets the filing clock.
        priority=TaskPriority.HIGH if rejected else TaskPriority.NORMAL,
        source_type="billing.claim",
        source_id=str(item.claim_id),
        dedupe_key=f"claim:{item.claim_id}:{item.status}:{item.event_id}",
    )


def apply_claim_rules(*, actor: Actor) -> int:
    """Create the follow-up task of every rejected or denied claim that has none yet; returns how many were
    created. Each task is created in its own transaction (services.create_task)."""
    created = 0
    for item in billing_selectors.claims_needing_follow_up(actor=actor):
        if services.create_task(actor=actor, data=claim_task(item)).created:
            created += 1
    return created
