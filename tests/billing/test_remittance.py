"""Posting 835 remittances: payments land on the claims they name, denials become worklist tasks, unknown
claim numbers are kept for review, the same file twice changes nothing, and a bad file stores nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim, ClaimEvent, LedgerEntry, Remittance, RemittanceClaim
from caredesk.core.errors import Forbidden
from caredesk.interop.x12.remittances import import_835
from caredesk.interop.x12.segments import X12Error
from caredesk.worklist.models import Task
from caredesk.worklist.tasks import create_claim_follow_up_tasks

from .conftest import BillingClinic
from .remittance_files import Paid, build_835


def _submitted(clinic: BillingClinic) -> Claim:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="b.837")
    claim.refresh_from_db()
    return claim


def _charge(claim: Claim) -> Decimal:
    return sum((line.charge for line in claim.lines.all()), Decimal("0"))


def test_a_paid_claim_is_posted_and_its_balance_is_what_the_patient_owes(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    charge = _charge(claim)
    write_off = charge - Decimal("100") - Decimal("20")
    text = build_835(
        [
            Paid(
                claim.claim_number,
                charge,
                Decimal("100"),
                patient_responsibility=Decimal("20"),
                adjustments=(("CO", "45", write_off), ("PR", "2", Decimal("20"))),
            )
        ]
    )

    posted = import_835(actor=clinic.billing, text=text, file_name="era.835")

    assert not posted.duplicate
    assert posted.matched == (claim.claim_number,)
    assert posted.paid == (claim.claim_number,)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    steps = list(claim.events.values_list("to_status", flat=True))
    assert steps[-2:] == [ClaimStatus.ACCEPTED, ClaimStatus.PAID]  # through the lifecycle's steps
    balance = services.claim_balance(actor=clinic.billing, claim_id=claim.pk)
    assert balance.charges == charge
    assert balance.payments == Decimal("100.00")
    assert balance.adjustments == write_off
    assert balance.balance == Decimal("20.00")  # charges - payments - adjustments
    assert balance.patient_responsibility == Decimal("20.00")
    assert balance.insurance_balance == Decimal("0.00")
    remittance = Remittance.objects.get()
    assert (remittance.trace_number, remittance.total_paid) == ("EFT1001", Decimal("100.00"))
    assert AuditEvent.objects.filter(
        action=AuditAction.REMITTANCE_POST, patient_id=clinic.patient.pk
    ).exists()


def test_importing_the_same_file_twice_changes_nothing_the_second_time(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    text = build_835([Paid(claim.claim_number, _charge(claim), Decimal("50"))])
    import_835(actor=clinic.billing, text=text)
    counts = (LedgerEntry.objects.count(), RemittanceClaim.objects.count(), ClaimEvent.objects.count())

    again = import_835(actor=clinic.billing, text=text)

    assert again.duplicate
    assert "already posted" in again.message
    assert "nothing changed" in again.message
    assert (
        LedgerEntry.objects.count(),
        RemittanceClaim.objects.count(),
        ClaimEvent.objects.count(),
    ) == counts
    assert Remittance.objects.count() == 1


def test_an_unknown_claim_number_is_kept_for_review_not_lost(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    text = build_835(
        [
            Paid(claim.claim_number, _charge(claim), Decimal("40")),
            Paid("ZZ-404", Decimal("75"), Decimal("75")),
        ]
    )

    posted = import_835(actor=clinic.billing, text=text)

    assert posted.unmatched == ("ZZ-404",)
    assert "1 unmatched" in posted.message
    row = RemittanceClaim.objects.get(claim_number="ZZ-404")
    assert not row.matched
    assert row.paid == Decimal("75.00")
    assert "review" in row.outcome
    assert not LedgerEntry.objects.filter(remittance_claim=row).exists()


def test_a_denial_denies_the_claim_and_puts_a_task_with_the_reason_on_the_worklist(
    clinic: BillingClinic,
) -> None:
    claim = _submitted(clinic)
    charge = _charge(claim)
    text = build_835(
        [Paid(claim.claim_number, charge, Decimal("0"), status="4", adjustments=(("CO", "50", charge),))]
    )

    posted = import_835(actor=clinic.billing, text=text)

    assert posted.denied == (claim.claim_number,)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DENIED
    assert services.claim_balance(actor=clinic.billing, claim_id=claim.pk).balance == Decimal("0.00")
    assert create_claim_follow_up_tasks.call(clinic.org.pk) == 1
    task = Task.objects.get(source_type="billing.claim", source_id=str(claim.pk))
    assert "CO-50 not deemed a medical necessity" in task.description
    assert task.title == f"Claim {claim.claim_number} denied by Acme Health"


def test_nothing_paid_with_a_payer_adjustment_is_a_denial_too(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    charge = _charge(claim)
    text = build_835([Paid(claim.claim_number, charge, Decimal("0"), adjustments=(("CO", "16", charge),))])

    import_835(actor=clinic.billing, text=text)

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DENIED
    assert "CO-16" in claim.events.last().note  # type: ignore[union-attr]


def test_a_bad_file_stores_nothing(clinic: BillingClinic) -> None:
    claim = _submitted(clinic)
    text = build_835([Paid(claim.claim_number, _charge(claim), Decimal("50"))]).replace("TRN*1*", "TRN*9*")

    with pytest.raises(X12Error) as caught:
        import_835(actor=clinic.billing, text=text)

    assert caught.value.segment == "TRN"
    assert caught.value.line == 5
    assert not Remittance.objects.exists()
    assert not LedgerEntry.objects.exclude(kind="charge").exists()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_another_organization_cannot_touch_the_claims(
    clinic: BillingClinic, other_clinic: BillingClinic
) -> None:
    claim = _submitted(clinic)
    text = build_835([Paid(claim.claim_number, _charge(claim), Decimal("50"))])

    posted = import_835(actor=other_clinic.billing, text=text)

    assert posted.unmatched == (claim.claim_number,)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_posting_needs_the_billing_permission(clinic: BillingClinic) -> None:
    text = build_835([Paid("C1-000001", Decimal("10"), Decimal("10"))])
    with pytest.raises(Forbidden):
        import_835(actor=clinic.coordinator, text=text)
    assert not Remittance.objects.exists()


def test_the_import_command_posts_each_file_and_says_so(clinic: BillingClinic, tmp_path: Path) -> None:
    claim = _submitted(clinic)
    first = tmp_path / "era1.835"
    first.write_text(build_835([Paid(claim.claim_number, _charge(claim), Decimal("60"))], trace="EFT1"))
    second = tmp_path / "era2.835"
    second.write_text(build_835([Paid("ZZ-1", Decimal("5"), Decimal("5"))], trace="EFT2"))
    out = io.StringIO()

    call_command(
        "remittance_import", "--organization", "rsh", str(first), str(second), str(first), stdout=out
    )

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/3] era1.835: Remittance EFT1 from ACME HEALTH: 1 claim(s) matched (1 paid")
    assert lines[1].startswith("[2/3] era2.835:")
    assert "1 unmatched" in lines[1]
    assert "ZZ-1" in lines[2]
    assert "already posted" in lines[3]
    assert Remittance.objects.count() == 2


def test_the_import_command_refuses_a_bad_file_and_imports_nothing(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    claim = _submitted(clinic)
    good = tmp_path / "good.835"
    good.write_text(build_835([Paid(claim.claim_number, _charge(claim), Decimal("60"))]))
    bad = tmp_path / "bad.835"
    bad.write_text(good.read_text().replace("BPR*I*60*", "BPR*I*6O*"))

    with pytest.raises(CommandError) as caught:
        call_command("remittance_import", "--organization", "RSH", str(good), str(bad))

    assert "bad.835" in str(caught.value)
    assert "segment BPR at line 4" in str(caught.value)
    assert "Nothing was imported" in str(caught.value)
    assert not Remittance.objects.exists()
    with pytest.raises(CommandError, match="No organization"):
        call_command("remittance_import", "--organization", "NOPE", str(good))


def test_the_remittance_page_lists_payer_trace_totals_and_unmatched_claims(
    clinic: BillingClinic, other_clinic: BillingClinic, make_user, client_as
) -> None:
    claim = _submitted(clinic)
    text = build_835(
        [Paid(claim.claim_number, _charge(claim), Decimal("60")), Paid("ZZ-404", Decimal("9"), Decimal("9"))],
        trace="EFT555",
    )
    import_835(actor=clinic.billing, text=text)

    page = client_as(make_user(Role.BILLING, clinic.org)).get("/billing/remittances/").content.decode()

    assert "ACME HEALTH" in page
    assert "EFT555" in page
    assert "2026-11-20" in page
    assert "69.00" in page  # the payment's total (BPR02)
    assert claim.claim_number in page
    assert "ZZ-404" in page
    assert AuditEvent.objects.filter(
        action=AuditAction.REMITTANCE_VIEW, detail__result_ids=[clinic.patient.pk]
    ).exists()
    elsewhere = client_as(make_user(Role.BILLING, other_clinic.org)).get("/billing/remittances/")
    assert "EFT555" not in elsewhere.content.decode()
    assert client_as(make_user(Role.NURSE, clinic.org)).get("/billing/remittances/").status_code == 403
