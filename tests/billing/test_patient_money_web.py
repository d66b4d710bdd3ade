"""Patient money through the pages and the JSON API: take a payment (htmx), print its receipt, the
patient's account with ledger and statements, the chart's billing panel; bad input answers 400 and
records nothing; another organization gets 404."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import payments
from caredesk.billing.models import LedgerEntry, PatientPayment, Statement
from caredesk.billing.schemas import LineInput
from tests.interop.conftest import TokenClient, token_for

from .conftest import BillingClinic

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def self_pay(clinic: BillingClinic) -> None:
    from caredesk.billing import services

    services.enter_charges(
        actor=clinic.billing,
        data=clinic.charges(
            coverage_id=None,
            lines=(
                LineInput(procedure_code="G0439", service_date=timezone.localdate(), diagnosis_pointers=(1,)),
            ),
        ),
    )


def test_the_front_desk_takes_a_payment_and_prints_the_receipt(
    clinic: BillingClinic, make_user, client_as
) -> None:
    web = client_as(make_user(Role.FRONT_DESK, clinic.org))
    url = f"/billing/patients/{clinic.patient.pk}/payments/"

    answer = web.post(url, {"amount": "25.00", "method": "cash", "purpose": "copay"}, HTTP_HX_REQUEST="true")

    assert answer.status_code == 200
    page = answer.content.decode()
    assert 'data-testid="payment-recorded"' in page
    payment = PatientPayment.objects.get()
    assert payment.amount == Decimal("25.00")
    receipt = web.get(f"/billing/payments/{payment.pk}/receipt.pdf")
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "application/pdf"
    text = pdf_text(receipt.content)
    assert "$25.00" in text
    assert "Maria Lopez" in text
    assert AuditEvent.objects.filter(
        action=AuditAction.PATIENT_PAYMENT_VIEW, patient_id=clinic.patient.pk
    ).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "abc", "method": "cash"}, "dollars and cents"),
        ({"amount": "0", "method": "cash"}, "more than zero"),
        ({"amount": "-10", "method": "cash"}, "more than zero"),
        ({"amount": "10.005", "method": "cash"}, "more than two decimals"),
        ({"amount": "10", "method": "iou"}, "cash, card or check"),
        ({"amount": "10", "method": "card", "reference": ""}, "card reference"),
    ],
)
def test_bad_payments_answer_400_and_record_nothing(
    clinic: BillingClinic, make_user, client_as, data: dict[str, str], message: str
) -> None:
    web = client_as(make_user(Role.FRONT_DESK, clinic.org))
    answer = web.post(f"/billing/patients/{clinic.patient.pk}/payments/", data, HTTP_HX_REQUEST="true")
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not PatientPayment.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_the_account_page_shows_balance_ledger_payments_and_makes_statements(
    clinic: BillingClinic, make_user, client_as
) -> None:
    self_pay(clinic)
    payments.record_payment(
        actor=clinic.billing, patient_id=clinic.patient.pk, amount=Decimal("20.00"), method="check"
    )
    web = client_as(make_user(Role.BILLING, clinic.org))

    page = web.get(f"/billing/patients/{clinic.patient.pk}/account/").content.decode()
    assert "$100.00" in page  # 120.00 charged, 20.00 paid
    assert "Visit charges (self-pay)" in page
    assert "R" + str(clinic.org.pk) in page  # the receipt number
    panel = web.get(f"/billing/patients/{clinic.patient.pk}/account/panel/").content.decode()
    assert "$100.00" in panel

    made = web.post(f"/billing/patients/{clinic.patient.pk}/statements/")
    assert made.status_code == 302
    statement = Statement.objects.get()
    assert statement.amount_due == Decimal("100.00")
    document = web.get(f"/billing/statements/{statement.pk}/statement.pdf")
    assert document["Content-Type"] == "application/pdf"
    assert "Amount due: $100.00" in pdf_text(document.content)

    # A coordinator sees the account but may neither take payments nor make statements.
    coordinator = client_as(make_user(Role.COORDINATOR, clinic.org))
    assert coordinator.get(f"/billing/patients/{clinic.patient.pk}/account/").status_code == 200
    assert coordinator.post(f"/billing/patients/{clinic.patient.pk}/statements/").status_code == 403
    refused = coordinator.post(
        f"/billing/patients/{clinic.patient.pk}/payments/", {"amount": "5", "method": "cash"}
    )
    assert refused.status_code == 403
    assert Statement.objects.count() == 1
    assert PatientPayment.objects.count() == 1


def test_another_organization_gets_404(
    clinic: BillingClinic, other_clinic: BillingClinic, make_user, client_as
) -> None:
    payment = payments.record_payment(
        actor=clinic.billing, patient_id=clinic.patient.pk, amount=Decimal("5"), method="cash"
    )
    web = client_as(make_user(Role.BILLING, other_clinic.org))
    assert web.get(f"/billing/payments/{payment.pk}/receipt.pdf").status_code == 404
    assert web.get(f"/billing/patients/{clinic.patient.pk}/account/").status_code == 404
    answer = web.post(f"/billing/patients/{clinic.patient.pk}/payments/", {"amount": "5", "method": "cash"})
    assert answer.status_code == 404
    assert PatientPayment.objects.count() == 1


def test_payments_and_statements_through_the_api(clinic: BillingClinic, make_user) -> None:
    self_pay(clinic)
    desk = TokenClient(token_for(make_user(Role.FRONT_DESK, clinic.org)))
    billing = TokenClient(token_for(make_user(Role.BILLING, clinic.org)))
    base = f"/api/v1/patients/{clinic.patient.pk}"

    made = desk.post_json(f"{base}/payments", {"amount": "30.00", "method": "card", "reference": "A1"})
    assert made.status_code == 201
    body = made.json()
    assert (body["amount"], body["method"], body["reference"]) == ("30.00", "card", "A1")
    receipt = desk.get(body["receipt_url"])
    assert receipt.status_code == 200
    assert "$30.00" in pdf_text(receipt.content)

    listed = desk.get(f"{base}/payments").json()["results"]
    assert [p["id"] for p in listed] == [body["id"]]
    account = billing.get(f"{base}/account").json()
    assert account["balance"] == "90.00"
    assert account["aging"]["current"] == "90.00"
    assert [line["amount"] for line in account["lines"]] == ["120.00", "-30.00"]

    statement = billing.post_json(f"{base}/statements", {})
    assert statement.status_code == 201
    assert statement.json()["amount_due"] == "90.00"
    assert [s["id"] for s in billing.get(f"{base}/statements").json()["results"]] == [statement.json()["id"]]
    document = billing.get(statement.json()["pdf_url"])
    assert document["Content-Type"] == "application/pdf"
    # The front desk takes payments but does not make statements.
    assert desk.post_json(f"{base}/statements", {}).status_code == 403


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": "0", "method": "cash"},
        {"amount": "-1.00", "method": "cash"},
        {"amount": "1.001", "method": "cash"},
        {"amount": "ten", "method": "cash"},
        {"amount": 25, "method": "cash"},
        {"amount": "5.00", "method": "voucher"},
        {"amount": "5.00", "method": "card"},
        {"amount": "5.00", "method": "cash", "extra": True},
    ],
)
def test_bad_api_payments_answer_400_and_change_nothing(
    clinic: BillingClinic, make_user, payload: dict[str, object]
) -> None:
    desk = TokenClient(token_for(make_user(Role.FRONT_DESK, clinic.org)))
    answer = desk.post_json(f"/api/v1/patients/{clinic.patient.pk}/payments", payload)
    assert answer.status_code == 400
    assert answer.json()["message"]
    assert not PatientPayment.objects.exists()
    assert not LedgerEntry.objects.exists()
