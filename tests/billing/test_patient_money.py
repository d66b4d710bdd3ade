"""Patient money: payments post to the ledger and the balance drops; receipts and statements as PDF;
aging from dated charges; the statement batch; bad payments change nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from pypdf import PdfReader

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import patient_accounts, payments, pdf, rules, services
from caredesk.billing.errors import InvalidPayment, PaymentNotFound
from caredesk.billing.models import LedgerEntry, PatientPayment, Statement
from caredesk.billing.schemas import LineInput
from caredesk.core.errors import Forbidden
from caredesk.patients.errors import PatientNotFound
from tests.patients.factories import make_patient, staff_actor

from .conftest import BillingClinic

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def self_pay(clinic: BillingClinic, day: dt.date, code: str = "G0439", patient_id: int | None = None):
    """A self-pay visit's charges (no coverage): the charge is on the patient's account at once."""
    return services.enter_charges(
        actor=clinic.billing,
        data=clinic.charges(
            patient_id=patient_id or clinic.patient.pk,
            coverage_id=None,
            lines=(LineInput(procedure_code=code, service_date=day, diagnosis_pointers=(1,)),),
        ),
    )


def balance(clinic: BillingClinic, patient_id: int | None = None) -> Decimal:
    return patient_accounts.account_of(
        clinic.org.pk, patient_id or clinic.patient.pk, timezone.localdate()
    ).balance


def test_a_payment_posts_to_the_ledger_and_the_balance_drops(clinic: BillingClinic) -> None:
    self_pay(clinic, timezone.localdate())
    assert balance(clinic) == Decimal("120.00")
    desk = staff_actor(clinic.org, Role.FRONT_DESK)

    payment = payments.record_payment(
        actor=desk, patient_id=clinic.patient.pk, amount=Decimal("25.00"), method="cash"
    )

    assert balance(clinic) == Decimal("95.00")
    row = LedgerEntry.objects.get(payment=payment)
    assert (row.kind, row.amount, row.claim_id) == ("patient_pay", Decimal("25.00"), None)
    event = AuditEvent.objects.get(action=AuditAction.PATIENT_PAYMENT_CREATE)
    assert event.patient_id == clinic.patient.pk
    assert event.detail["amount"] == "25.00"
    # A co-pay taken before anything is billed leaves the patient in credit (a negative balance).
    other = make_patient(staff_actor(clinic.org, Role.ADMINISTRATOR), given_name="Ann", family_name="Kay")
    payments.record_payment(actor=desk, patient_id=other.pk, amount=Decimal("30"), method="check")
    assert balance(clinic, other.pk) == Decimal("-30.00")


@pytest.mark.parametrize(
    ("amount", "method", "reference", "field"),
    [
        (Decimal("0"), "cash", "", "amount"),
        (Decimal("-5.00"), "cash", "", "amount"),
        (Decimal("10.005"), "cash", "", "amount"),
        (Decimal("NaN"), "cash", "", "amount"),
        (Decimal("10.00"), "bitcoin", "", "method"),
        (Decimal("10.00"), "card", "  ", "reference"),
    ],
)
def test_bad_payments_are_refused_and_change_nothing(
    clinic: BillingClinic, amount: Decimal, method: str, reference: str, field: str
) -> None:
    desk = staff_actor(clinic.org, Role.FRONT_DESK)
    with pytest.raises(InvalidPayment) as refused:
        payments.record_payment(
            actor=desk, patient_id=clinic.patient.pk, amount=amount, method=method, reference=reference
        )
    assert refused.value.field == field
    assert refused.value.http_status == 400
    assert not PatientPayment.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.PATIENT_PAYMENT_CREATE).exists()


def test_a_coordinator_cannot_take_payments(clinic: BillingClinic) -> None:
    with pytest.raises(Forbidden):
        payments.record_payment(
            actor=clinic.coordinator, patient_id=clinic.patient.pk, amount=Decimal("5"), method="cash"
        )
    assert not PatientPayment.objects.exists()


def test_the_receipt_names_the_patient_and_the_amount(clinic: BillingClinic) -> None:
    desk = staff_actor(clinic.org, Role.FRONT_DESK)
    made = payments.record_payment(
        actor=desk,
        patient_id=clinic.patient.pk,
        amount=Decimal("1025.50"),
        method="card",
        reference="AUTH 88231",
    )
    payment = patient_accounts.payment_for(actor=desk, payment_id=made.pk)
    text = pdf_text(
        pdf.render_receipt(payment=payment, patient_name=payment.patient.full_name, organization="Riverside")
    )
    assert "$1,025.50" in text
    assert "Maria Lopez" in text
    assert made.receipt_number in text
    assert "AUTH 88231" in text


def test_aging_puts_each_open_charge_in_the_bucket_of_its_age() -> None:
    today = dt.date(2026, 11, 26)
    moves = [
        (today - dt.timedelta(days=120), Decimal("100.00")),  # over 90
        (today - dt.timedelta(days=75), Decimal("50.00")),  # 61-90
        (today - dt.timedelta(days=45), Decimal("30.00")),  # 31-60
        (today - dt.timedelta(days=10), Decimal("20.00")),  # 0-30
        (today - dt.timedelta(days=5), Decimal("-120.00")),  # pays the oldest first
    ]
    aging = rules.age_balance(moves, today)
    assert (aging.current, aging.days_31_60, aging.days_61_90, aging.over_90) == (
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("30.00"),
        Decimal("0.00"),
    )
    assert aging.total == Decimal("80.00")
    # Boundaries: 30 days is current, 31 is the next bucket, 90 is 61-90, 91 over 90.
    assert [rules.bucket_of(d) for d in (0, 30, 31, 60, 61, 90, 91)] == [0, 0, 1, 1, 2, 2, 3]
    # More paid than billed: the credit shows in the current bucket, and the buckets still add up.
    credit = rules.age_balance([(today, Decimal("10.00")), (today, Decimal("-25.00"))], today)
    assert (credit.current, credit.total) == (Decimal("-15.00"), Decimal("-15.00"))


def test_a_statement_ages_dated_charges_and_lists_payments(clinic: BillingClinic) -> None:
    today = timezone.localdate()
    self_pay(clinic, today - dt.timedelta(days=100))  # 120.00, over 90 days
    self_pay(clinic, today - dt.timedelta(days=40), code="G0444")  # 20.00, 31-60 days
    self_pay(clinic, today - dt.timedelta(days=3), code="G0008")  # 25.00, current
    payments.record_payment(
        actor=clinic.billing,
        patient_id=clinic.patient.pk,
        amount=Decimal("100.00"),
        method="check",
        reference="1042",
        purpose="statement",
    )

    statement = payments.generate_statement(actor=clinic.billing, patient_id=clinic.patient.pk)

    assert statement.amount_due == Decimal("65.00")
    assert (statement.current, statement.days_31_60, statement.days_61_90, statement.over_90) == (
        Decimal("25.00"),
        Decimal("20.00"),
        Decimal("0.00"),
        Decimal("20.00"),
    )
    text = pdf_text(bytes(statement.pdf))
    assert "Amount due: $65.00" in text
    assert "Over 90 days" in text
    assert "-$100.00" in text  # the payment line
    assert "Maria Lopez" in text
    assert AuditEvent.objects.filter(
        action=AuditAction.STATEMENT_CREATE, patient_id=clinic.patient.pk
    ).exists()
    # The record of what was sent stays as it was; the balance is read from the ledger again.
    payments.record_payment(
        actor=clinic.billing, patient_id=clinic.patient.pk, amount=Decimal("65.00"), method="cash"
    )
    assert balance(clinic) == Decimal("0.00")
    statement.refresh_from_db()
    assert statement.amount_due == Decimal("65.00")


def test_the_batch_writes_one_pdf_per_patient_with_a_balance(clinic: BillingClinic, tmp_path: Path) -> None:
    admin = staff_actor(clinic.org, Role.ADMINISTRATOR)
    owing = make_patient(admin, given_name="Owen", family_name="Ing")
    paid_up = make_patient(admin, given_name="Paula", family_name="Upton")
    make_patient(admin, given_name="Nora", family_name="None")  # nothing billed
    self_pay(clinic, timezone.localdate())
    self_pay(clinic, timezone.localdate(), code="G0444", patient_id=owing.pk)
    self_pay(clinic, timezone.localdate(), code="G0444", patient_id=paid_up.pk)
    payments.record_payment(actor=clinic.billing, patient_id=paid_up.pk, amount=Decimal("20"), method="cash")
    out = io.StringIO()

    call_command("statements_run", "--out", str(tmp_path), "--organization", "RSH", stdout=out)

    written = sorted(p.name for p in (tmp_path / "RSH").iterdir())
    assert len(written) == 2
    assert {s.patient_id for s in Statement.objects.all()} == {clinic.patient.pk, owing.pk}
    assert all(name.endswith(".pdf") for name in written)
    assert any(owing.mrn in name for name in written)
    assert "2 statement(s) written." in out.getvalue()
    with pytest.raises(CommandError):
        call_command("statements_run", "--out", str(tmp_path), "--organization", "NOPE")
    assert Statement.objects.count() == 2


def test_the_statement_task_runs_the_batch(clinic: BillingClinic) -> None:
    from caredesk.billing.tasks import run_statements

    self_pay(clinic, timezone.localdate())
    assert run_statements.call(clinic.org.pk) == 1
    assert Statement.objects.get().amount_due == Decimal("120.00")


def test_another_organization_sees_no_payment(clinic: BillingClinic, other_clinic: BillingClinic) -> None:
    made = payments.record_payment(
        actor=clinic.billing, patient_id=clinic.patient.pk, amount=Decimal("5"), method="cash"
    )
    with pytest.raises(PaymentNotFound):
        patient_accounts.payment_for(actor=other_clinic.billing, payment_id=made.pk)
    with pytest.raises(PatientNotFound):
        payments.record_payment(
            actor=other_clinic.billing, patient_id=clinic.patient.pk, amount=Decimal("5"), method="cash"
        )
    assert PatientPayment.objects.count() == 1
