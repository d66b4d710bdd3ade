"""A biller's day, in a real browser on the seeded demo clinic: a completed visit's captured claim (no
diagnosis, so the scrubber blocks it) gets its diagnosis on the claim page and is marked ready; the ready
claims leave in an 837P batch; the payer's 835 (uploaded on the import page) pays part of that claim,
denying one of its lines, and denies another claim outright; the denial is on the biller's worklist and
is appealed; the patient's statement is printed. Every amount the pages show is checked against the
ledger (billing's services), never against a number written here."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from caredesk.accounts.models import User
from caredesk.accounts.services import actor_for_user
from caredesk.billing import patient_accounts, payments, services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim
from caredesk.billing.schemas import ChargesInput, LineInput
from caredesk.coverage.models import Coverage
from caredesk.scheduling import clock
from caredesk.scheduling import services as scheduling
from caredesk.worklist.tasks import create_claim_follow_up_tasks
from tests.billing.remittance_files import Paid, build_835

from .test_scheduling import _plan

pytestmark = pytest.mark.e2e

DEMO_CODES = Path(services.__file__).parent / "data" / "demo_procedure_codes.csv"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _insured(organization_id: int) -> list[Coverage]:
    return list(
        Coverage.objects.filter(
            organization_id=organization_id, status="active", order=1, patient__status="active"
        )
        .select_related("patient", "plan__payer")
        .order_by("pk")[:2]
    )


def _expect_ledger(page: Page, biller, claim: Claim) -> None:
    """The claim page's ledger block says what the ledger says."""
    ledger = services.claim_balance(actor=biller, claim_id=claim.pk)
    for test_id, value in (
        ("ledger-charges", ledger.charges),
        ("ledger-payments", ledger.payments),
        ("ledger-adjustments", ledger.adjustments),
        ("ledger-patient", ledger.patient_responsibility),
        ("ledger-balance", ledger.balance),
    ):
        expect(page.get_by_test_id(test_id)).to_have_text(_money(value))


def test_a_biller_takes_a_visit_from_captured_charges_to_the_statement(
    page: Page, sign_in, monkeypatch, tmp_path: Path
) -> None:
    plan = _plan()
    organization_id = plan.location.organization_id
    biller = actor_for_user(User.objects.get(username="billing"))
    desk = actor_for_user(User.objects.get(username="frontdesk"))
    services.load_procedure_codes(actor=biller, text=DEMO_CODES.read_text(), source="demo")
    payments.set_visit_charge(actor=biller, visit_type_code=plan.visit_type.code, procedure_code="G0439")
    payments.set_visit_charge(
        actor=biller, visit_type_code=plan.visit_type.code, procedure_code="G0444", units=Decimal("2")
    )
    first, second = _insured(organization_id)
    # The visit is completed: its charges are captured as a draft claim without a diagnosis.
    start = plan.starts[1]
    appointment = plan.book(start, first.patient)
    monkeypatch.setattr(clock, "now", lambda: start)
    scheduling.check_in(actor=desk, appointment_id=appointment.pk)
    scheduling.change_status(actor=desk, appointment_id=appointment.pk, status="fulfilled")
    captured = Claim.objects.get(appointment_id=appointment.pk)
    assert captured.status == ClaimStatus.DRAFT
    assert not captured.diagnoses.exists()
    # Another visit's charges, entered by hand and ready: the payer will deny this one.
    other = services.enter_charges(
        actor=biller,
        data=ChargesInput(
            patient_id=second.patient_id,
            rendering_provider_id=captured.rendering_provider_id or 0,
            coverage_id=second.pk,
            diagnoses=("I10",),
            lines=(LineInput(procedure_code="G0439", service_date=plan.day, diagnosis_pointers=(1,)),),
        ),
    )
    services.change_status(actor=biller, claim_id=other.pk, target=ClaimStatus.READY)

    sign_in("billing")
    # 1. The captured claim: the scrubber blocks it until it has a diagnosis.
    page.goto(f"/billing/claims/{captured.pk}/")
    expect(page.get_by_text("What blocks this claim")).to_be_visible()
    _expect_ledger(page, biller, captured)
    page.get_by_label("Diagnoses (ICD-10-CM, in order, comma-separated)").fill("e11.9")
    page.get_by_role("button", name="Save diagnoses").click()
    expect(page.get_by_test_id("claim-diagnoses")).to_have_text("E11.9")
    expect(page.get_by_text("What blocks this claim")).to_have_count(0)
    page.get_by_label("New status").select_option("ready")
    page.get_by_role("button", name="Move the claim").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ready to submit")

    # 2. The ready claims leave in an 837P batch.
    page.goto("/billing/claims/")
    page.get_by_role("button", name="Build 837P batch of the ready claims").click()
    expect(page.get_by_text(re.compile(r"claims? submitted")).first).to_be_visible()
    for claim in (captured, other):
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.SUBMITTED
    page.goto(f"/billing/claims/{captured.pk}/")
    _expect_ledger(page, biller, captured)  # the billed charge is on the ledger now
    billed = sum((line.charge for line in captured.lines.all()), Decimal("0"))
    expect(page.get_by_test_id("ledger-charges")).to_have_text(_money(billed))

    # 3. The payer's 835: the first line paid less the co-insurance, the second line denied (CO-50); the
    #    other claim denied.
    line1, line2 = list(captured.lines.order_by("position"))
    charge = line1.charge + line2.charge
    coinsurance = (line1.charge * Decimal("0.20")).quantize(Decimal("0.01"))
    write_off = Decimal("10.00")
    paid = line1.charge - write_off - coinsurance
    other_charge = sum((line.charge for line in other.lines.all()), Decimal("0"))
    era = tmp_path / "era.835"
    era.write_text(
        build_835(
            [
                Paid(
                    captured.claim_number,
                    charge,
                    paid,
                    patient_responsibility=coinsurance,
                    adjustments=(
                        ("CO", "45", write_off),
                        ("CO", "50", line2.charge),
                        ("PR", "2", coinsurance),
                    ),
                ),
                Paid(
                    other.claim_number,
                    other_charge,
                    Decimal("0"),
                    status="4",
                    adjustments=(("CO", "50", other_charge),),
                ),
            ],
            payer_name=first.plan.payer.name.upper(),
        )
    )
    page.goto("/billing/remittances/")
    page.get_by_role("link", name="Import an 835 file").click()
    page.get_by_label("X12 file").set_input_files(str(era))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("x12-import-result")).to_contain_text("2 claim(s) matched (1 paid, 1 denied)")
    captured.refresh_from_db()
    other.refresh_from_db()
    assert (captured.status, other.status) == (ClaimStatus.PAID, ClaimStatus.DENIED)
    page.goto(f"/billing/claims/{captured.pk}/")
    _expect_ledger(page, biller, captured)
    expect(page.get_by_test_id("ledger-payments")).to_have_text(_money(paid))
    expect(page.get_by_test_id("ledger-patient")).to_have_text(_money(coinsurance))

    # 4. The denial is on the biller's worklist (the follow-up job runs); the biller appeals it.
    assert create_claim_follow_up_tasks.call(organization_id) >= 1
    page.goto("/worklist/")
    page.get_by_role("link", name=re.compile(f"Claim {other.claim_number} denied")).click()
    expect(page.get_by_text("CO-50").first).to_be_visible()
    page.goto(f"/billing/claims/{other.pk}/")
    _expect_ledger(page, biller, other)
    page.get_by_label("New status").select_option("appealed")
    page.get_by_label("Note").fill("Appealed with the visit notes")
    page.get_by_role("button", name="Move the claim").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Appealed")

    # 5. The first patient's account and statement: the co-insurance is what the patient owes.
    account = patient_accounts.account_for(actor=biller, patient_id=first.patient_id)
    page.goto(f"/billing/patients/{first.patient_id}/account/")
    expect(page.get_by_test_id("account-balance")).to_have_text(f"${account.balance}")
    page.get_by_test_id("statement-button").click()
    statement_link = page.get_by_test_id("statements").get_by_role("link").first
    expect(page.get_by_test_id("statements")).to_contain_text(f"amount due ${account.balance}")
    pdf = page.request.get(statement_link.get_attribute("href") or "")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert f"${account.balance:,.2f}" in text
    assert first.patient.family_name in text
    # The patient's account is what the claim's ledger moved to the patient (they owe nothing else).
    owed = services.claim_balance(actor=biller, claim_id=captured.pk).patient_responsibility
    assert account.balance == owed == coinsurance
