"""Patient money in the JSON API (/api/v1/...): a patient's payments (record one, list them, the receipt
PDF), their account (balance, aging and ledger lines) and statements (generate one, list them, the PDF).
Reads are audited by billing's patient_accounts, writes by billing's payments use cases. Money is given
as decimal strings ("25.00"), never floats.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import P, PathEx, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.billing import patient_accounts, payments, pdf, rules
from caredesk.billing.models import PatientPayment

from .api import API_PREFIX, ERRORS, MAX_ID, PatientId, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

PaymentId = PathEx[int, P(ge=1, le=MAX_ID, description="The payment's id")]
StatementId = PathEx[int, P(ge=1, le=MAX_ID, description="The statement's id")]
TAGS = ["billing"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class PaymentIn(InputSchema):
    amount: str = Field(max_length=20, description='Dollars and cents as a string, e.g. "25.00"')
    method: str = Field(max_length=10, description="cash, card or check")
    reference: str = Field("", max_length=60, description="Card reference (required for card) or check no.")
    purpose: str = Field("copay", max_length=10, description="copay, statement or other")
    appointment_id: int | None = Field(None, ge=1, le=MAX_ID, description="The visit it was taken for")


class PaymentOut(Schema):
    id: int
    receipt_number: str
    patient_id: int
    appointment_id: int | None
    amount: Decimal
    method: str
    reference: str
    purpose: str
    received_at: dt.datetime
    actor_name: str
    receipt_url: str

    @staticmethod
    def resolve_receipt_url(obj: PatientPayment) -> str:
        return f"{API_PREFIX}/payments/{obj.pk}/receipt"


class PaymentListOut(Schema):
    results: list[PaymentOut]


class AgingOut(Schema):
    current: Decimal = Field(description="0-30 days")
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal


class AccountLineOut(Schema):
    day: dt.date
    description: str
    kind: str
    amount: Decimal = Field(description="Positive: billed to the patient; negative: paid")
    balance: Decimal


class AccountOut(Schema):
    patient_id: int
    as_of: dt.date
    balance: Decimal
    aging: AgingOut
    lines: list[AccountLineOut]
    payments: list[PaymentOut]


class StatementOut(Schema):
    id: int
    patient_id: int
    statement_date: dt.date
    amount_due: Decimal
    current: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    actor_name: str
    created_at: dt.datetime
    pdf_url: str

    @staticmethod
    def resolve_pdf_url(obj: Any) -> str:
        return f"{API_PREFIX}/statements/{obj.pk}/pdf"


class StatementListOut(Schema):
    results: list[StatementOut]


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@endpoint(
    "POST",
    "/patients/{patient_id}/payments",
    Permission.PAYMENT_RECORD,
    response={201: PaymentOut, **WRITE_ERRORS},
    summary="Record a patient payment",
    tags=TAGS,
)
def record_payment(request: HttpRequest, patient_id: PatientId, payload: PaymentIn) -> Any:
    """A co-pay or statement payment, posted to the patient's ledger (the balance drops by the amount).
    The amount is more than zero with at most two decimals; a card payment needs its reference."""
    payment = payments.record_payment(
        actor=actor_of(request),
        patient_id=patient_id,
        amount=rules.parse_amount(payload.amount),  # None (not a number) is refused with the reason
        method=payload.method,
        reference=payload.reference,
        purpose=payload.purpose,
        appointment_id=payload.appointment_id,
    )
    return Status(201, payment)


@endpoint(
    "GET",
    "/patients/{patient_id}/payments",
    Permission.BILLING_VIEW,
    also=(Permission.PAYMENT_RECORD,),
    response={200: PaymentListOut, **ERRORS},
    summary="List a patient's payments",
    tags=TAGS,
)
def list_payments(request: HttpRequest, patient_id: PatientId) -> Any:
    """Newest first. Audited."""
    return {"results": patient_accounts.payments_for(actor=actor_of(request), patient_id=patient_id)}


@endpoint(
    "GET",
    "/payments/{payment_id}/receipt",
    Permission.PAYMENT_RECORD,
    also=(Permission.BILLING_VIEW,),
    response=ERRORS,
    summary="A payment's receipt (PDF)",
    tags=TAGS,
)
def payment_receipt(request: HttpRequest, payment_id: PaymentId) -> Any:
    """The receipt as application/pdf. Audited."""
    payment = patient_accounts.payment_for(actor=actor_of(request), payment_id=payment_id)
    content = pdf.render_receipt(
        payment=payment, patient_name=payment.patient.full_name, organization=payment.organization.name
    )
    return _pdf(content, f"receipt-{payment.receipt_number}.pdf")


@endpoint(
    "GET",
    "/patients/{patient_id}/account",
    Permission.BILLING_VIEW,
    response={200: AccountOut, **ERRORS},
    summary="A patient's account",
    tags=TAGS,
)
def read_account(request: HttpRequest, patient_id: PatientId) -> Any:
    """Balance (summed from the ledger), aging buckets, the ledger lines and payments. Audited."""
    account = patient_accounts.account_for(actor=actor_of(request), patient_id=patient_id)
    return {
        "patient_id": account.patient_id,
        "as_of": account.as_of,
        "balance": account.balance,
        "aging": account.aging,
        "lines": list(account.lines),
        "payments": list(account.payments),
    }


@endpoint(
    "POST",
    "/patients/{patient_id}/statements",
    Permission.BILLING_MANAGE,
    response={201: StatementOut, **WRITE_ERRORS},
    summary="Generate a patient statement",
    tags=TAGS,
)
def create_statement(request: HttpRequest, patient_id: PatientId) -> Any:
    """A statement of the account as of today (PDF kept as the record of what was sent)."""
    statement = payments.generate_statement(actor=actor_of(request), patient_id=patient_id)
    return Status(201, statement)


@endpoint(
    "GET",
    "/patients/{patient_id}/statements",
    Permission.BILLING_VIEW,
    response={200: StatementListOut, **ERRORS},
    summary="List a patient's statements",
    tags=TAGS,
)
def list_statements(request: HttpRequest, patient_id: PatientId) -> Any:
    """Newest first. Audited."""
    return {"results": patient_accounts.statements_for(actor=actor_of(request), patient_id=patient_id)}


@endpoint(
    "GET",
    "/statements/{statement_id}/pdf",
    Permission.BILLING_VIEW,
    response=ERRORS,
    summary="A statement's PDF",
    tags=TAGS,
)
def statement_pdf(request: HttpRequest, statement_id: StatementId) -> Any:
    """The statement as it was sent, as application/pdf. Audited."""
    statement = patient_accounts.statement_for(actor=actor_of(request), statement_id=statement_id)
    return _pdf(bytes(statement.pdf), f"statement-{statement.pk}.pdf")
