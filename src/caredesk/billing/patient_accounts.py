"""A patient's account, read from the ledger: what they were billed (a self-pay visit's charges, the
patient responsibility a payer moved to them), what they paid, the running balance and its aging.

Nothing here is stored: every figure is a sum of ledger rows at the moment it is asked for. The
`*_for` functions are the audited reads for entry points; `account_of` and `patients_owing` are the
unaudited arithmetic that the audited paths (and statement generation) build on.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.core.ids import positive_id

from . import rules, services
from .choices import LedgerKind, PaymentMethod
from .errors import PaymentNotFound, StatementNotFound
from .models import LedgerEntry, PatientPayment, Statement

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AccountLine:
    day: dt.date
    description: str
    kind: str  # a LedgerKind value
    amount: Decimal  # positive: billed to the patient; negative: paid
    balance: Decimal  # the running balance after this line


@dataclass(frozen=True)
class Account:
    patient_id: int
    as_of: dt.date
    lines: tuple[AccountLine, ...]
    payments: tuple[PatientPayment, ...]
    aging: rules.Aging

    @property
    def balance(self) -> Decimal:
        return self.lines[-1].balance if self.lines else ZERO

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


def _patient_rows(organization_id: int) -> QuerySet[LedgerEntry]:
    """The ledger rows that are the patient's own: a self-pay claim's charge, patient responsibility,
    and patient payments (a billed claim's charge and the payer's payments are the payer's business)."""
    return LedgerEntry.objects.filter(organization_id=organization_id).filter(
        Q(kind=LedgerKind.CHARGE, claim__coverage__isnull=True)
        | Q(kind=LedgerKind.PATIENT_RESPONSIBILITY)
        | Q(kind=LedgerKind.PATIENT_PAYMENT)
    )


def _describe(entry: LedgerEntry) -> tuple[dt.date, str, Decimal, str]:
    if entry.kind == LedgerKind.PATIENT_PAYMENT and entry.payment is not None:
        payment = entry.payment
        how = PaymentMethod(payment.method).label.lower()
        ref = f" {payment.reference}" if payment.reference else ""
        text = f"Payment, {how}{ref} (receipt {payment.receipt_number}), thank you"
        return timezone.localdate(payment.received_at), text, -entry.amount, entry.kind
    claim = entry.claim
    number = claim.claim_number if claim else ""
    if entry.kind == LedgerKind.CHARGE:
        served = getattr(claim, "first_service", None) or timezone.localdate(entry.created_at)
        return served, f"Visit charges (self-pay), claim {number}", entry.amount, entry.kind
    remitted = entry.remittance_claim.remittance.payment_date if entry.remittance_claim else None
    why = rules.carc_text(entry.group, entry.reason) if entry.reason else "patient responsibility"
    return (
        remitted or timezone.localdate(entry.created_at),
        f"Your share after insurance, claim {number}: {why}",
        entry.amount,
        entry.kind,
    )


def account_of(organization_id: int, patient_id: int, today: dt.date) -> Account:
    """The patient's account as of `today` (not audited: callers record the read)."""
    entries = list(
        _patient_rows(organization_id)
        .filter(Q(claim__patient_id=patient_id) | Q(payment__patient_id=patient_id))
        .select_related("claim", "payment", "remittance_claim__remittance")
        .order_by("created_at", "id")
    )
    first_service = dict(
        LedgerEntry.objects.filter(pk__in=[e.pk for e in entries if e.claim_id])
        .annotate(first=Min("claim__lines__service_date"))
        .values_list("pk", "first")
    )
    for entry in entries:
        if entry.claim is not None:
            entry.claim.first_service = first_service.get(entry.pk)  # type: ignore[attr-defined]
    dated = sorted((_describe(e) for e in entries), key=lambda item: item[0])
    lines: list[AccountLine] = []
    running = ZERO
    for day, text, amount, kind in dated:
        running += amount
        lines.append(AccountLine(day=day, description=text, kind=kind, amount=amount, balance=running))
    payments = tuple(
        PatientPayment.objects.filter(organization_id=organization_id, patient_id=patient_id).order_by(
            "-received_at", "-id"
        )
    )
    aging = rules.age_balance([(line.day, line.amount) for line in lines], today)
    return Account(patient_id=patient_id, as_of=today, lines=tuple(lines), payments=payments, aging=aging)


def patients_owing(organization_id: int) -> list[int]:
    """Every patient of the organization whose account balance is more than zero, by id."""
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = _patient_rows(organization_id)
    for patient_id, total in (
        rows.filter(claim__isnull=False).values("claim__patient_id").annotate(t=Sum("amount"))
    ).values_list("claim__patient_id", "t"):
        totals[patient_id] += rules.cents(total)
    for patient_id, total in (
        rows.filter(payment__isnull=False).values("payment__patient_id").annotate(t=Sum("amount"))
    ).values_list("payment__patient_id", "t"):
        totals[patient_id] -= rules.cents(total)
    return sorted(pid for pid, total in totals.items() if total > 0)


# ------------------------------------------------------------------------------------ audited reads


def _organization(actor: Actor, *permissions: Permission) -> int:
    if not any(actor.has(p) for p in permissions):
        wanted = " or ".join(str(p) for p in permissions)
        raise Forbidden(f"This needs the permission {wanted}.", details={"permission": wanted})
    if actor.organization_id is None or actor.is_portal:
        raise Forbidden("Only staff of an organization can work with patient accounts.")
    return actor.organization_id


def account_for(*, actor: Actor, patient_id: Any, today: dt.date | None = None) -> Account:
    """The patient's account (balance, ledger lines, payments, aging). Audited."""
    organization_id = _organization(actor, Permission.BILLING_VIEW)
    with transaction.atomic():
        patient = services.visible_patient_id(actor, patient_id)
        account = account_of(organization_id, patient, today or timezone.localdate())
        audit.record(
            actor=actor,
            action=AuditAction.PATIENT_ACCOUNT_VIEW,
            patient_id=patient,
            object_type="patients.patient",
            object_id=str(patient),
            detail={"balance": str(account.balance), "lines": len(account.lines)},
        )
    return account


def payments_for(*, actor: Actor, patient_id: Any) -> list[PatientPayment]:
    """The patient's payments, newest first. Audited."""
    organization_id = _organization(actor, Permission.BILLING_VIEW, Permission.PAYMENT_RECORD)
    with transaction.atomic():
        patient = services.visible_patient_id(actor, patient_id)
        found = list(
            PatientPayment.objects.filter(organization_id=organization_id, patient_id=patient).order_by(
                "-received_at", "-id"
            )
        )
        audit.record(
            actor=actor,
            action=AuditAction.PATIENT_PAYMENT_VIEW,
            patient_id=patient,
            object_type="patients.patient",
            object_id=str(patient),
            detail={"payment_ids": [p.pk for p in found]},
        )
    return found


def payment_for(*, actor: Actor, payment_id: Any) -> PatientPayment:
    """One payment (for its receipt), of a patient the actor may see. Audited."""
    organization_id = _organization(actor, Permission.PAYMENT_RECORD, Permission.BILLING_VIEW)
    with transaction.atomic():
        payment = (
            PatientPayment.objects.filter(
                organization_id=organization_id,
                pk=positive_id(payment_id),
                patient_id__in=services.patient_selectors.patient_queryset(actor).values("pk"),
            )
            .select_related("patient", "organization")
            .first()
        )
        if payment is None:
            raise PaymentNotFound(f"No payment with id {payment_id}.", details={"id": str(payment_id)})
        audit.record(
            actor=actor,
            action=AuditAction.PATIENT_PAYMENT_VIEW,
            patient_id=payment.patient_id,
            obj=payment,
            detail={"receipt": payment.receipt_number},
        )
    return payment


def statements_for(*, actor: Actor, patient_id: Any = None, limit: int = 200) -> list[Statement]:
    """Statements sent, newest first: one patient's, or the organization's. Audited with the patients."""
    organization_id = _organization(actor, Permission.BILLING_VIEW)
    with transaction.atomic():
        rows = Statement.objects.filter(
            organization_id=organization_id,
            patient_id__in=services.patient_selectors.patient_queryset(actor).values("pk"),
        ).select_related("patient")
        if patient_id is not None:
            rows = rows.filter(patient_id=services.visible_patient_id(actor, patient_id))
        found = list(rows.defer("pdf").order_by("-statement_date", "-id")[:limit])
        audit.record(
            actor=actor,
            action=AuditAction.STATEMENT_VIEW,
            patient_id=positive_id(patient_id) or None,
            detail={
                "statement_ids": [s.pk for s in found],
                "result_ids": sorted({s.patient_id for s in found}),
            },
        )
    return found


def statement_for(*, actor: Actor, statement_id: Any) -> Statement:
    """One statement with its PDF. Audited."""
    organization_id = _organization(actor, Permission.BILLING_VIEW)
    with transaction.atomic():
        statement = (
            Statement.objects.filter(
                organization_id=organization_id,
                pk=positive_id(statement_id),
                patient_id__in=services.patient_selectors.patient_queryset(actor).values("pk"),
            )
            .select_related("patient")
            .first()
        )
        if statement is None:
            raise StatementNotFound(
                f"No statement with id {statement_id}.", details={"id": str(statement_id)}
            )
        audit.record(
            actor=actor,
            action=AuditAction.STATEMENT_VIEW,
            patient_id=statement.patient_id,
            obj=statement,
            detail={"pdf": True},
        )
    return statement
