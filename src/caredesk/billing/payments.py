"""Patient money use cases: payments taken at the desk or against a statement, charges captured when a
visit is completed, and patient statements.

Like `services`, each takes the keyword-only `actor`, runs in one transaction, checks its permission and
writes its audit row inside it. A patient's balance is never stored: `patient_accounts.account_of` sums
it from the ledger every time; a payment is a ledger row (kind patient_pay) written with its receipt record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.core.ids import positive_id
from caredesk.coverage.choices import CoverageOrder, CoverageStatus
from caredesk.patients import selectors as patient_selectors

from . import patient_accounts, pdf, rules, services
from .choices import ClaimStatus, LedgerKind, PaymentPurpose
from .errors import InvalidCharges, InvalidPayment
from .models import (
    ChargeLine,
    Claim,
    ClaimEvent,
    FeeScheduleEntry,
    LedgerEntry,
    PatientPayment,
    ProcedureCode,
    Statement,
    StatementRun,
    VisitTypeCharge,
)


def _staff_organization(actor: Actor, permission: Permission) -> int:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})
    if actor.organization_id is None or actor.is_portal:
        raise Forbidden("Only staff of an organization can work with patient accounts.")
    return actor.organization_id


# ------------------------------------------------------------------------------------------ payments


def record_payment(
    *,
    actor: Actor,
    patient_id: Any,
    amount: Any,
    method: str,
    reference: str = "",
    purpose: str = PaymentPurpose.COPAY,
    appointment_id: int | None = None,
) -> PatientPayment:
    """Take a patient's payment: its receipt record and its ledger row, together, so the patient's
    balance drops by the amount. Bad input (amount not more than zero or with more than two decimals,
    unknown method, a card payment without its reference) changes nothing."""
    organization_id = _staff_organization(actor, Permission.PAYMENT_RECORD)
    reference = reference.strip()
    with transaction.atomic():
        patient = services.visible_patient_id(actor, patient_id)  # another organization's patient: 404 first
        problem = rules.payment_problem(amount, method, reference)
        if problem is not None:
            field, message = problem
            raise InvalidPayment(message, field=field)
        if purpose not in PaymentPurpose.values:
            raise InvalidPayment("The purpose must be co-pay, statement payment or other.", field="purpose")
        appointment = None
        if appointment_id is not None:
            try:
                appointment = services.patient_appointment_id(organization_id, patient, appointment_id)
            except InvalidCharges as exc:
                raise InvalidPayment(exc.message, field="appointment_id") from exc
        payment = PatientPayment.objects.create(
            organization_id=organization_id,
            patient_id=patient,
            appointment_id=appointment,
            amount=amount,
            method=method,
            reference=reference,
            purpose=purpose,
            received_at=timezone.now(),
            actor_name=actor.username or "system",
        )
        LedgerEntry.objects.create(
            organization_id=organization_id,
            payment=payment,
            kind=LedgerKind.PATIENT_PAYMENT,
            amount=amount,
            note=f"{PaymentPurpose(purpose).label}, receipt {payment.receipt_number}",
        )
        audit.record(
            actor=actor,
            action=AuditAction.PATIENT_PAYMENT_CREATE,
            patient_id=patient,
            obj=payment,
            detail={
                "amount": str(amount),
                "method": method,
                "purpose": purpose,
                "appointment_id": appointment,
                "receipt": payment.receipt_number,
            },
        )
    return payment


# ------------------------------------------------------------------------------------ charge capture


def set_visit_charge(
    *, actor: Actor, visit_type_code: str, procedure_code: str, units: Decimal = Decimal("1")
) -> VisitTypeCharge:
    """Bill `procedure_code` times `units` whenever a visit of the visit type (by its code) is completed."""
    organization_id = _staff_organization(actor, Permission.BILLING_MANAGE)
    code = visit_type_code.strip().lower()
    if not code or len(code) > 40:
        raise InvalidCharges("Name the visit type by its code.", field="visit_type_code")
    if not rules.is_cents(units, limit=Decimal("99999.99")) or units <= 0:
        raise InvalidCharges("Units must be more than zero.", field="units")
    with transaction.atomic():
        procedure = ProcedureCode.objects.filter(
            organization_id=organization_id, code=procedure_code.strip().upper(), active=True
        ).first()
        if procedure is None:
            raise InvalidCharges(f"{procedure_code} is not in the code list.", field="procedure_code")
        row, _created = VisitTypeCharge.objects.update_or_create(
            organization_id=organization_id,
            visit_type_code=code,
            procedure=procedure,
            defaults={"units": units},
        )
        audit.record(
            actor=actor,
            action=AuditAction.FEE_SCHEDULE_UPDATE,
            obj=row,
            detail={"visit_type_code": code, "code": procedure.code, "units": str(units)},
        )
    return row


def _related(field: str) -> Any:
    """A model billing refers to by string foreign key (scheduling sits above billing; coverage is read
    without the actor's coverage permission, as capture runs for whoever completes the visit)."""
    model = Claim._meta.get_field(field).related_model
    assert model is not None
    assert not isinstance(model, str)
    return model._default_manager


def capture_visit_charges(*, actor: Actor, organization_id: int, appointment_id: int) -> Claim | None:
    """A completed visit's charges: a draft claim with one line per procedure code mapped to its visit
    type, priced from the primary payer's fee schedule (else the code's own price). Runs inside the
    transaction that completes the visit, whose appointment row is locked, so completing the same visit
    twice finds its claim and captures nothing more. Nothing happens for a visit type without a mapping,
    or a visit that already has a claim. A self-pay visit's charge goes on the ledger at once (it is the
    patient's to pay); a billed claim's charge is posted when the claim is submitted."""
    if actor.organization_id != organization_id:
        return None
    appointment = (
        _related("appointment")
        .select_related("visit_type", "location")
        .filter(pk=appointment_id, organization_id=organization_id)
        .first()
    )
    if appointment is None or Claim.objects.filter(appointment_id=appointment.pk).exists():
        return None
    mapped = list(
        VisitTypeCharge.objects.filter(
            organization_id=organization_id,
            visit_type_code=appointment.visit_type.code,
            active=True,
            procedure__active=True,
        )
        .select_related("procedure")
        .order_by("id")
    )
    if not mapped:
        return None
    service_date = appointment.local_start.date()
    coverage = (
        _related("coverage")
        .select_related("plan")
        .filter(
            organization_id=organization_id,
            patient_id=appointment.patient_id,
            status=CoverageStatus.ACTIVE,
            order=CoverageOrder.PRIMARY,
            effective_from__lte=service_date,
        )
        .exclude(effective_to__lt=service_date)
        .order_by("pk")
        .first()
    )
    fees: dict[int, Decimal] = {}
    if coverage is not None:
        fees = dict(
            FeeScheduleEntry.objects.filter(
                organization_id=organization_id,
                payer_id=coverage.plan.payer_id,
                procedure_id__in=[m.procedure_id for m in mapped],
            ).values_list("procedure_id", "allowed_amount")
        )
    practitioner_id = (
        appointment.bookings.filter(resource__practitioner__isnull=False)
        .order_by("pk")
        .values_list("resource__practitioner_id", flat=True)
        .first()
    )
    claim = Claim.objects.create(
        organization_id=organization_id,
        patient_id=appointment.patient_id,
        appointment_id=appointment.pk,
        coverage=coverage,
        rendering_provider_id=practitioner_id,
        billing_npi=Organization.objects.filter(pk=organization_id).values_list("npi", flat=True).get(),
        claim_number=services.next_claim_number(organization_id),
    )
    lines = []
    for position, row in enumerate(mapped, start=1):
        price = fees.get(row.procedure_id, row.procedure.default_price) or Decimal("0.00")
        lines.append(
            ChargeLine(
                claim=claim,
                position=position,
                procedure=row.procedure,
                pointer1=1,
                units=row.units,
                charge=rules.line_charge(price, row.units),
                service_date=service_date,
            )
        )
    ChargeLine.objects.bulk_create(lines)
    claim.scrub_problems = rules.scrub(services.claim_facts(claim))
    claim.save(update_fields=["scrub_problems", "updated_at"])
    ClaimEvent.objects.create(
        claim=claim,
        to_status=ClaimStatus.DRAFT,
        actor_name=actor.username or "system",
        note=f"Captured when the visit of {service_date.isoformat()} was completed",
    )
    if coverage is None:
        services.post_charge(claim)
    audit.record(
        actor=actor,
        action=AuditAction.VISIT_CHARGES_CAPTURE,
        patient_id=claim.patient_id,
        obj=claim,
        detail={
            "appointment_id": appointment.pk,
            "codes": [line.procedure.code for line in lines],
            "total": str(sum((line.charge for line in lines), Decimal("0.00"))),
        },
    )
    return claim


def capture_for_fulfilled_visit(actor: Actor, visit: Any) -> Claim | None:
    """The scheduling fulfilled-visit hook's shape (`visit` carries organization_id and appointment_id);
    caredesk.ops registers it, as billing sits below scheduling and may not import it."""
    return capture_visit_charges(
        actor=actor, organization_id=visit.organization_id, appointment_id=visit.appointment_id
    )


# ------------------------------------------------------------------------------------------ statements


def generate_statement(
    *, actor: Actor, patient_id: Any, today: dt.date | None = None, cycle: dt.date | None = None
) -> Statement:
    """A statement of the patient's account as of today: the ledger lines, payments, aging and amount
    due, kept with its PDF as the record of what was sent. `cycle` (the statement run's month) makes it the
    patient's statement of that cycle: a second one for the same cycle is refused by the database
    (IntegrityError, nothing written)."""
    organization_id = _staff_organization(actor, Permission.BILLING_MANAGE)
    day = today or timezone.localdate()
    with transaction.atomic():
        patient = patient_selectors.patient_queryset(actor).filter(pk=positive_id(patient_id)).first()
        if patient is None:
            services.visible_patient_id(actor, patient_id)  # raises PatientNotFound
            raise AssertionError("unreachable")
        account = patient_accounts.account_of(organization_id, patient.pk, day)
        organization = Organization.objects.get(pk=organization_id)
        content = pdf.render_statement(
            account=account,
            patient_name=patient.full_name,
            patient_address=_address(patient),
            mrn=patient.mrn,
            organization=organization.name,
            today=day,
        )
        statement = Statement.objects.create(
            organization_id=organization_id,
            patient_id=patient.pk,
            statement_date=day,
            amount_due=account.balance,
            current=account.aging.current,
            days_31_60=account.aging.days_31_60,
            days_61_90=account.aging.days_61_90,
            over_90=account.aging.over_90,
            pdf=content,
            actor_name=actor.username or "system",
            cycle=cycle,
        )
        audit.record(
            actor=actor,
            action=AuditAction.STATEMENT_CREATE,
            patient_id=patient.pk,
            obj=statement,
            detail={
                "amount_due": str(account.balance),
                "statement_date": day.isoformat(),
                "cycle": cycle.isoformat() if cycle else None,
            },
        )
    return statement


def _address(patient: Any) -> str:
    city = ", ".join(p for p in (patient.city, f"{patient.state} {patient.postal_code}".strip()) if p)
    return "\n".join(p for p in (patient.address_line1, city) if p)


def run_statements(
    *, actor: Actor, today: dt.date | None = None, progress: Callable[[Statement], object] | None = None
) -> list[Statement]:
    """The statement run of the cycle (calendar month) `today` falls in: one statement for every patient of
    the organization who owes something and has not had the cycle's statement yet (each in its own
    transaction). Running it again in the same cycle, or two runs at once, never sends a patient a second
    statement of the cycle (a unique constraint on patient and cycle); statements made by hand from the
    account page do not count. The cycle's run is recorded as finished at the end."""
    organization_id = _staff_organization(actor, Permission.BILLING_MANAGE)
    day = today or timezone.localdate()
    cycle = rules.statement_cycle(day)
    with transaction.atomic():
        run, _created = StatementRun.objects.get_or_create(organization_id=organization_id, cycle=cycle)
    sent = set(
        Statement.objects.filter(organization_id=organization_id, cycle=cycle).values_list(
            "patient_id", flat=True
        )
    )
    made = []
    for patient_id in patient_accounts.patients_owing(organization_id):
        if patient_id in sent:
            continue
        try:
            statement = generate_statement(actor=actor, patient_id=patient_id, today=day, cycle=cycle)
        except IntegrityError:  # a concurrent run of the same cycle sent it first
            continue
        made.append(statement)
        if progress is not None:
            progress(statement)
    StatementRun.objects.filter(pk=run.pk).update(
        statements=F("statements") + len(made), finished_at=timezone.now()
    )
    return made


def statement_run_due(organization_id: int, today: dt.date | None = None) -> bool:
    """Whether the organization's run of the current cycle has yet to finish (the periodic run's test)."""
    cycle = rules.statement_cycle(today or timezone.localdate())
    return not StatementRun.objects.filter(
        organization_id=organization_id, cycle=cycle, finished_at__isnull=False
    ).exists()


def run_statement_cycle(*, actor: Actor, today: dt.date | None = None) -> list[Statement]:
    """The monthly run as `caredesk periodic` queues it (every few minutes): the cycle's statement run
    once, when its cycle has not had a finished run; nothing more until the next cycle. A run cut short
    (the worker stopped) is finished by the next round, without sending anyone a second statement."""
    organization_id = _staff_organization(actor, Permission.BILLING_MANAGE)
    if not statement_run_due(organization_id, today):
        return []
    return run_statements(actor=actor, today=today)
