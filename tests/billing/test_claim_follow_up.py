"""Worklist rule: rejected and denied claims become billing follow-up tasks, once per denial."""

from __future__ import annotations

from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim
from caredesk.billing.selectors import ClaimNeedingWork
from caredesk.ops.schedule import RECURRING
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType
from caredesk.worklist.claim_rules import claim_task
from caredesk.worklist.models import Task
from caredesk.worklist.tasks import claim_rules_actor, create_claim_follow_up_tasks

from .conftest import BillingClinic


def _submitted(clinic: BillingClinic) -> Claim:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="b.837")
    return claim


def _move(clinic: BillingClinic, claim: Claim, *targets: str, note: str = "") -> None:
    for target in targets:
        services.change_status(actor=clinic.billing, claim_id=claim.pk, target=target, note=note)


def _run(clinic: BillingClinic) -> int:
    return int(create_claim_follow_up_tasks.call(clinic.org.pk))


def test_a_denied_claim_puts_one_task_on_the_billing_queue(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    _move(clinic, claim, ClaimStatus.ACCEPTED)
    _move(clinic, claim, ClaimStatus.DENIED, note="CO-50 not medically necessary")

    assert _run(clinic) == 1
    assert _run(clinic) == 0  # the same denial never makes a second task

    task = Task.objects.get(source_type="billing.claim", source_id=str(claim.pk))
    assert task.queue == TaskQueue.BILLING
    assert task.task_type == TaskType.CLAIM_FOLLOW_UP
    assert task.patient_id == clinic.patient.pk
    assert task.status == TaskStatus.OPEN
    assert task.title == f"Claim {claim.claim_number} denied by Acme Health"
    assert "CO-50 not medically necessary" in task.description
    assert "appeal" in task.description


def test_a_rejected_claim_is_urgent_work_to_correct_and_resubmit(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    _move(clinic, claim, ClaimStatus.REJECTED, note="")

    assert _run(clinic) == 1
    task = Task.objects.get(source_id=str(claim.pk))
    assert task.priority == TaskPriority.HIGH
    assert "rejected" in task.title
    assert "The payer gave no reason." in task.description
    assert "resubmit" in task.description


def test_a_claim_denied_again_after_an_appeal_gets_a_new_task(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    _move(clinic, claim, ClaimStatus.ACCEPTED, ClaimStatus.DENIED)
    assert _run(clinic) == 1
    _move(clinic, claim, ClaimStatus.APPEALED)
    assert _run(clinic) == 0  # appealed: nothing to do until the payer answers
    _move(clinic, claim, ClaimStatus.DENIED, note="Appeal upheld the denial")
    assert _run(clinic) == 1
    descriptions = list(Task.objects.filter(source_id=str(claim.pk)).values_list("description", flat=True))
    assert len(descriptions) == 2
    assert any("Appeal upheld the denial" in d for d in descriptions)


def test_paid_and_open_claims_make_no_task(clinic: BillingClinic) -> None:
    paid = _submitted(clinic)
    _move(clinic, paid, ClaimStatus.ACCEPTED, ClaimStatus.PAID)
    _submitted(clinic)
    assert _run(clinic) == 0
    assert not Task.objects.filter(task_type=TaskType.CLAIM_FOLLOW_UP).exists()


def test_each_organization_sees_only_its_own_denials(
    clinic: BillingClinic, other_clinic: BillingClinic
) -> None:
    claim = _submitted(other_clinic)
    _move(other_clinic, claim, ClaimStatus.REJECTED)
    assert _run(clinic) == 0
    assert _run(other_clinic) == 1
    assert Task.objects.get(source_id=str(claim.pk)).organization_id == other_clinic.org.pk


def test_the_rule_runs_on_the_periodic_clock(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    _move(clinic, claim, ClaimStatus.REJECTED)
    entry = next(r for r in RECURRING if r.task is create_claim_follow_up_tasks)
    assert entry.run_now(clinic.org.pk) == 1
    assert claim_rules_actor(clinic.org.pk).organization_id == clinic.org.pk


def test_the_rule_itself_names_the_denial_in_its_dedupe_key() -> None:
    item = ClaimNeedingWork(
        claim_id=7,
        claim_number="RSH-000007",
        patient_id=3,
        status=ClaimStatus.DENIED,
        event_id=42,
        reason="PR-96 non-covered charge",
        payer_name="Acme Health",
    )
    spec = claim_task(item)
    assert spec.dedupe_key == "claim:7:denied:42"
    assert spec.queue == TaskQueue.BILLING
    assert spec.priority == TaskPriority.NORMAL
    assert spec.description.startswith("Reason: PR-96 non-covered charge")
