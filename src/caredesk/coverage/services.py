"""Coverage use cases: payers and plans, a patient's coverages, and eligibility checks.

Each takes the keyword-only `actor`, runs in one transaction, checks its permission again and writes its
audit row inside that transaction. Requests that leave the system (270s to a clearinghouse) are sent by a
background task (coverage.tasks) after the request is committed; answers come back through
`record_eligibility_response`. The X12 itself is interop's (see coverage.exchange).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.ids import optional_id
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound

from . import rules, tasks
from .choices import (
    AuthorizationStatus,
    BenefitKind,
    ClearinghouseRoute,
    CoverageOrder,
    CoverageStatus,
    EligibilityStatus,
    SubscriberRelationship,
)
from .errors import (
    AuthorizationClosed,
    AuthorizationNotFound,
    AuthorizationNotUsable,
    AuthorizationRuleNotFound,
    CoverageEnded,
    CoverageNotFound,
    DuplicateAuthorizationRule,
    DuplicatePayer,
    EligibilityNotPossible,
    InvalidAuthorization,
    InvalidCoverage,
    InvalidEligibilityResponse,
    OrderTaken,
    PayerNotFound,
    PlanNotFound,
    StaleVersion,
)
from .exchange import get_exchange
from .models import (
    AuthorizationRule,
    AuthorizationUse,
    Coverage,
    EligibilityBatch,
    EligibilityBenefit,
    EligibilityCheck,
    Payer,
    Plan,
    PriorAuthorization,
)
from .rules import AuthorizationCheck as AuthorizationCheck
from .schemas import CoverageInput, EligibilityInquiry, EligibilityOutcome, Person

MAX_BATCH = 5000

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None or actor.is_portal:
        raise Forbidden("Only staff of an organization can work with its coverages.")
    return actor.organization_id


def _text(value: Any, field: str, label: str, limit: int, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise InvalidCoverage(f"{label} is required.", field=field)
    if len(text) > limit:
        raise InvalidCoverage(f"{label} is longer than {limit} characters.", field=field)
    return text


def _identifier(value: Any, field: str, label: str, limit: int, *, required: bool = False) -> str:
    text = _text(value, field, label, limit, required=required)
    if text:
        problem = rules.identifier_problem(text, label)
        if problem:
            raise InvalidCoverage(problem, field=field)
    return text


def _user_name(actor: Actor) -> str:
    return actor.username or "system"


def _locked_patient_id(actor: Actor, patient_id: Any) -> int:
    """The patient, in scope and locked for the transaction (so coverage changes of one patient queue up)."""
    pk = optional_id(patient_id)
    found = (
        None
        if pk is None
        else patient_selectors.patient_queryset(actor)
        .select_for_update()
        .filter(pk=pk)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    return found


def _scoped_coverages(actor: Actor) -> QuerySet[Coverage]:
    return Coverage.objects.filter(organization_id=_organization_id(actor))


def _coverage_for_update(actor: Actor, coverage_id: Any) -> Coverage:
    pk = optional_id(coverage_id)
    coverage = (
        None if pk is None else _scoped_coverages(actor).select_related("plan__payer").filter(pk=pk).first()
    )
    if coverage is None:
        raise CoverageNotFound(f"No coverage with id {coverage_id}.", details={"id": str(coverage_id)})
    _locked_patient_id(
        actor, coverage.patient_id
    )  # the patient lock first, then the row, always in that order
    coverage = Coverage.objects.select_for_update().select_related("plan__payer").get(pk=coverage.pk)
    return coverage


def _snapshot(coverage: Coverage) -> dict[str, Any]:
    return {
        "plan_id": coverage.plan_id,
        "order": coverage.order,
        "status": coverage.status,
        "member_id": coverage.member_id,
        "group_number": coverage.group_number,
        "relationship": coverage.relationship,
        "subscriber": f"{coverage.subscriber_given_name} {coverage.subscriber_family_name}".strip(),
        "subscriber_birth_date": coverage.subscriber_birth_date.isoformat()
        if coverage.subscriber_birth_date
        else None,
        "effective_from": coverage.effective_from.isoformat(),
        "effective_to": coverage.effective_to.isoformat() if coverage.effective_to else None,
    }


# ---------------------------------------------------------------------------------------------------
# Payers and plans
# ---------------------------------------------------------------------------------------------------


def create_payer(
    *, actor: Actor, name: str, payer_id: str, route: str = ClearinghouseRoute.FILE_DROP
) -> Payer:
    _require(actor, Permission.PAYER_MANAGE)
    organization_id = _organization_id(actor)
    clean_name = _text(name, "name", "Payer name", 60, required=True)
    clean_id = _identifier(payer_id, "payer_id", "Payer ID", 80, required=True)
    if route not in ClearinghouseRoute.values:
        raise InvalidCoverage("Choose how requests reach this payer.", field="clearinghouse_route")
    with transaction.atomic():
        if Payer.objects.filter(organization_id=organization_id, payer_id=clean_id).exists():
            raise DuplicatePayer(f"A payer with ID {clean_id} exists already.", field="payer_id")
        try:
            with transaction.atomic():
                payer = Payer.objects.create(
                    organization_id=organization_id,
                    name=clean_name,
                    payer_id=clean_id,
                    clearinghouse_route=route,
                )
        except IntegrityError as exc:  # a concurrent create won the race
            raise DuplicatePayer(f"A payer with ID {clean_id} exists already.", field="payer_id") from exc
        audit.record(actor=actor, action=AuditAction.PAYER_CREATE, obj=payer, detail={"payer_id": clean_id})
    return payer


def _money(value: Any, field: str, label: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidCoverage(f"{label} must be an amount such as 25.00.", field=field) from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
        raise InvalidCoverage(f"{label} must be an amount of zero or more.", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidCoverage(f"{label} has at most two decimal places.", field=field)
    return amount.quantize(Decimal("0.01"))


def create_plan(
    *, actor: Actor, payer_id: int, name: str, plan_type: str = "", copay: Decimal | str | None = None
) -> Plan:
    _require(actor, Permission.PAYER_MANAGE)
    organization_id = _organization_id(actor)
    clean_name = _text(name, "name", "Plan name", 120, required=True)
    clean_type = _text(plan_type, "plan_type", "Plan type", 40)
    amount = _money(copay, "copay", "Co-pay")
    with transaction.atomic():
        payer = Payer.objects.filter(organization_id=organization_id, pk=optional_id(payer_id) or 0).first()
        if payer is None:
            raise PayerNotFound(f"No payer with id {payer_id}.", field="payer_id")
        if Plan.objects.filter(payer=payer, name=clean_name).exists():
            raise DuplicatePayer(f"{payer.name} has a plan named {clean_name} already.", field="name")
        plan = Plan.objects.create(
            organization_id=organization_id, payer=payer, name=clean_name, plan_type=clean_type, copay=amount
        )
        audit.record(actor=actor, action=AuditAction.PLAN_CREATE, obj=plan, detail={"payer_id": payer.pk})
    return plan


# ---------------------------------------------------------------------------------------------------
# Coverages
# ---------------------------------------------------------------------------------------------------


def _active_plans(organization_id: int) -> QuerySet[Plan]:
    return Plan.objects.select_related("payer").filter(
        organization_id=organization_id, active=True, payer__active=True
    )


def _clean_coverage(
    actor: Actor, data: CoverageInput, plans: dict[int, Plan] | None = None
) -> dict[str, Any]:
    organization_id = _organization_id(actor)
    plan_id = optional_id(data.plan_id) or 0
    if plans is not None:
        plan = plans.get(plan_id)
    else:
        plan = _active_plans(organization_id).filter(pk=plan_id).first()
    if plan is None:
        raise PlanNotFound("Choose one of the organization's active plans.", field="plan_id")
    if data.order not in CoverageOrder.values:
        raise InvalidCoverage("Choose primary, secondary or tertiary.", field="order")
    if data.relationship not in SubscriberRelationship.values:
        raise InvalidCoverage("Choose the patient's relationship to the subscriber.", field="relationship")
    if not isinstance(data.effective_from, dt.date):
        raise InvalidCoverage("The start date is required.", field="effective_from")
    problem = rules.dates_problem(data.effective_from, data.effective_to)
    if problem:
        raise InvalidCoverage(problem, field="effective_to")
    values: dict[str, Any] = {
        "plan": plan,
        "order": data.order,
        "member_id": _identifier(data.member_id, "member_id", "Member ID", 80, required=True),
        "group_number": _identifier(data.group_number, "group_number", "Group number", 50),
        "relationship": data.relationship,
        "effective_from": data.effective_from,
        "effective_to": data.effective_to,
        "subscriber_given_name": "",
        "subscriber_family_name": "",
        "subscriber_birth_date": None,
    }
    if data.relationship != SubscriberRelationship.SELF:
        values["subscriber_given_name"] = _text(
            data.subscriber_given_name, "subscriber_given_name", "Subscriber's given name", 35, required=True
        )
        values["subscriber_family_name"] = _text(
            data.subscriber_family_name,
            "subscriber_family_name",
            "Subscriber's family name",
            60,
            required=True,
        )
        birth = data.subscriber_birth_date
        if birth is not None and birth > timezone.localdate():
            raise InvalidCoverage(
                "The subscriber's birth date is in the future.", field="subscriber_birth_date"
            )
        values["subscriber_birth_date"] = birth
    return values


def _check_order_free(patient_id: int, order: int, *, except_id: int | None = None) -> None:
    taken = Coverage.objects.filter(patient_id=patient_id, order=order, status=CoverageStatus.ACTIVE)
    if except_id is not None:
        taken = taken.exclude(pk=except_id)
    if taken.exists():
        label = CoverageOrder(order).label.lower()
        raise OrderTaken(
            f"The patient already has an active {label} coverage. End it, or choose another order.",
            field="order",
        )


def _save_guarded(coverage: Coverage, **kwargs: Any) -> None:
    """Save; the partial unique constraint is the last word on the order (a concurrent add)."""
    try:
        with transaction.atomic():
            coverage.save(**kwargs)
    except IntegrityError as exc:
        raise OrderTaken(
            "Another active coverage of the patient has this order. Reload and choose another.", field="order"
        ) from exc


def add_coverage(*, actor: Actor, patient_id: int, data: CoverageInput) -> Coverage:
    _require(actor, Permission.COVERAGE_MANAGE)
    organization_id = _organization_id(actor)
    with transaction.atomic():
        locked_id = _locked_patient_id(actor, patient_id)
        values = _clean_coverage(actor, data)
        _check_order_free(locked_id, values["order"])
        coverage = Coverage(organization_id=organization_id, patient_id=locked_id, **values)
        _save_guarded(coverage)
        audit.record(
            actor=actor,
            action=AuditAction.COVERAGE_CREATE,
            patient_id=locked_id,
            obj=coverage,
            detail={"after": _snapshot(coverage)},
        )
    return coverage


def update_coverage(
    *, actor: Actor, coverage_id: int, data: CoverageInput, expected_version: int | None = None
) -> Coverage:
    _require(actor, Permission.COVERAGE_MANAGE)
    with transaction.atomic():
        coverage = _coverage_for_update(actor, coverage_id)
        if coverage.status != CoverageStatus.ACTIVE:
            raise CoverageEnded("This coverage has ended; add a new one instead.")
        if expected_version is not None and expected_version != coverage.version:
            raise StaleVersion(
                "Someone changed this coverage after you opened it. Reload it and make your changes again."
            )
        values = _clean_coverage(actor, data)
        _check_order_free(coverage.patient_id, values["order"], except_id=coverage.pk)
        before = _snapshot(coverage)
        for name, value in values.items():
            setattr(coverage, name, value)
        coverage.version += 1
        _save_guarded(coverage)
        after = _snapshot(coverage)
        changed = sorted(k for k in after if after[k] != before[k])
        audit.record(
            actor=actor,
            action=AuditAction.COVERAGE_UPDATE,
            patient_id=coverage.patient_id,
            obj=coverage,
            detail={
                "changed": changed,
                "before": {k: before[k] for k in changed},
                "after": {k: after[k] for k in changed},
            },
        )
    return coverage


def end_coverage(
    *,
    actor: Actor,
    coverage_id: int,
    end_date: dt.date,
    reason: str = "",
    expected_version: int | None = None,
) -> Coverage:
    _require(actor, Permission.COVERAGE_MANAGE)
    clean_reason = _text(reason, "reason", "Reason", 200)
    with transaction.atomic():
        coverage = _coverage_for_update(actor, coverage_id)
        if coverage.status != CoverageStatus.ACTIVE:
            raise CoverageEnded("This coverage has ended already.")
        if expected_version is not None and expected_version != coverage.version:
            raise StaleVersion("Someone changed this coverage after you opened it. Reload it and try again.")
        if not isinstance(end_date, dt.date):
            raise InvalidCoverage("The end date is required.", field="end_date")
        if end_date < coverage.effective_from:
            raise InvalidCoverage(
                f"The coverage started on {coverage.effective_from:%Y-%m-%d}; it cannot end before that.",
                field="end_date",
            )
        coverage.status = CoverageStatus.ENDED
        coverage.effective_to = end_date
        coverage.end_reason = clean_reason
        coverage.version += 1
        coverage.save(update_fields=["status", "effective_to", "end_reason", "version", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.COVERAGE_STATUS_CHANGED,
            patient_id=coverage.patient_id,
            obj=coverage,
            detail={"status": "ended", "end_date": end_date.isoformat(), "reason": clean_reason},
        )
    return coverage


def import_coverages(*, actor: Actor, rows: Sequence[tuple[int, CoverageInput]]) -> list[Coverage]:
    """Bulk path (the demo seeder, later an enrolment file): add many (patient id, coverage) pairs in one
    transaction, each checked as `add_coverage` checks it; any refusal refuses the whole import, naming
    the row. One audit row per coverage, appended in bulk."""
    _require(actor, Permission.COVERAGE_MANAGE)
    organization_id = _organization_id(actor)
    with transaction.atomic():
        plans = {plan.pk: plan for plan in _active_plans(organization_id)}
        wanted = {patient_id for patient_id, _ in rows}
        in_scope = set(
            patient_selectors.patient_queryset(actor).filter(pk__in=wanted).values_list("pk", flat=True)
        )
        taken = set(
            Coverage.objects.filter(patient_id__in=in_scope, status=CoverageStatus.ACTIVE).values_list(
                "patient_id", "order"
            )
        )
        coverages: list[Coverage] = []
        for index, (patient_id, data) in enumerate(rows, start=1):
            if patient_id not in in_scope:
                raise PatientNotFound(f"Row {index}: no patient with id {patient_id}.")
            try:
                values = _clean_coverage(actor, data, plans)
            except (InvalidCoverage, PlanNotFound) as exc:
                raise type(exc)(f"Row {index}: {exc.message}", field=exc.field) from exc
            if (patient_id, values["order"]) in taken:
                raise OrderTaken(f"Row {index}: the patient already has an active coverage of this order.")
            taken.add((patient_id, values["order"]))
            coverages.append(Coverage(organization_id=organization_id, patient_id=patient_id, **values))
        created = Coverage.objects.bulk_create(coverages, batch_size=2000)
        audit.record_many(
            audit.build(
                actor=actor,
                action=AuditAction.COVERAGE_CREATE,
                patient_id=coverage.patient_id,
                obj=coverage,
                detail={"after": _snapshot(coverage), "import": True},
            )
            for coverage in created
        )
    return created


# ---------------------------------------------------------------------------------------------------
# Eligibility: request (one or a batch), send (the task), record the answer
# ---------------------------------------------------------------------------------------------------


def _new_check(
    actor: Actor, coverage: Coverage, service_date: dt.date, batch: EligibilityBatch | None
) -> EligibilityCheck:
    return EligibilityCheck(
        organization_id=coverage.organization_id,
        coverage=coverage,
        patient_id=coverage.patient_id,
        batch=batch,
        trace_number=uuid.uuid4().hex.upper(),
        service_date=service_date,
        requested_by_name=_user_name(actor),
    )


def _check_can_request(coverage: Coverage, service_date: dt.date) -> None:
    if coverage.status != CoverageStatus.ACTIVE:
        raise EligibilityNotPossible("This coverage has ended; check an active coverage instead.")
    if not coverage.plan.payer.active:
        raise EligibilityNotPossible(f"{coverage.plan.payer.name} is no longer an active payer.")
    if not rules.in_force(coverage.effective_from, coverage.effective_to, service_date):
        raise EligibilityNotPossible(
            f"The coverage is not in force on {service_date:%Y-%m-%d} by its dates; correct them first.",
            field="service_date",
        )


def _service_date(value: dt.date | None) -> dt.date:
    today = timezone.localdate()
    day = value or today
    if day < today - dt.timedelta(days=365) or day > today + dt.timedelta(days=365):
        raise EligibilityNotPossible(
            "Check eligibility for a date within a year of today.", field="service_date"
        )
    return day


def _enqueue_after_commit(check_ids: list[int], organization_id: int) -> None:
    transaction.on_commit(lambda: tasks.send_eligibility_checks.enqueue(organization_id, check_ids))


def request_eligibility_check(
    *, actor: Actor, coverage_id: int, service_date: dt.date | None = None
) -> EligibilityCheck:
    """Queue a 270 for one coverage; the task sends it once this is committed."""
    _require(actor, Permission.ELIGIBILITY_CHECK)
    day = _service_date(service_date)
    with transaction.atomic():
        coverage = _coverage_for_update(actor, coverage_id)
        _check_can_request(coverage, day)
        check = _new_check(actor, coverage, day, None)
        check.save()
        audit.record(
            actor=actor,
            action=AuditAction.ELIGIBILITY_CHECK_CREATE,
            patient_id=coverage.patient_id,
            obj=check,
            detail={"coverage_id": coverage.pk, "service_date": day.isoformat(), "trace": check.trace_number},
        )
        _enqueue_after_commit([check.pk], check.organization_id)
    return check


def request_eligibility_batch(
    *,
    actor: Actor,
    patient_ids: Sequence[int] | None = None,
    mrns: Sequence[str] | None = None,
    service_date: dt.date | None = None,
    description: str = "",
) -> EligibilityBatch:
    """Queue a 270 for each active coverage in force of the patients given by id or MRN (neither: every
    patient with one). Patients without such a coverage are skipped; an empty batch is refused; an
    unknown MRN refuses the whole batch, naming it."""
    _require(actor, Permission.ELIGIBILITY_CHECK)
    organization_id = _organization_id(actor)
    day = _service_date(service_date)
    if mrns is not None:
        wanted = {m.strip().upper() for m in mrns if m.strip()}
        known = dict(
            patient_selectors.patient_queryset(actor).filter(mrn__in=wanted).values_list("mrn", "pk")
        )
        unknown = sorted(wanted - set(known))
        if unknown:
            raise ValidationFailed(f"No patient with MRN {', '.join(unknown[:10])}.", field="mrns")
        patient_ids = [*(patient_ids or []), *known.values()]
    coverages = (
        _scoped_coverages(actor)
        .filter(status=CoverageStatus.ACTIVE, effective_from__lte=day, plan__payer__active=True)
        .exclude(effective_to__lt=day)
        .select_related("plan__payer")
        .order_by("patient_id", "order")
    )
    if patient_ids is not None:
        ids = [i for i in (optional_id(p) for p in patient_ids) if i is not None]
        if len(ids) != len(patient_ids):
            raise ValidationFailed("Patient ids must be positive whole numbers.", field="patient_ids")
        coverages = coverages.filter(
            patient_id__in=patient_selectors.patient_queryset(actor).filter(pk__in=ids)
        )
    with transaction.atomic():
        found = list(coverages[: MAX_BATCH + 1])
        if not found:
            raise EligibilityNotPossible("None of these patients has an active coverage to check.")
        if len(found) > MAX_BATCH:
            raise EligibilityNotPossible(
                f"A batch checks at most {MAX_BATCH} coverages; choose fewer patients."
            )
        batch = EligibilityBatch.objects.create(
            organization_id=organization_id,
            requested_by_id=actor.user_id,
            requested_by_name=_user_name(actor),
            description=_text(description, "description", "Description", 200)
            or f"Eligibility for {day:%Y-%m-%d}",
        )
        checks = EligibilityCheck.objects.bulk_create([_new_check(actor, c, day, batch) for c in found])
        audit.record(
            actor=actor,
            action=AuditAction.ELIGIBILITY_BATCH_CREATE,
            obj=batch,
            detail={"service_date": day.isoformat(), "coverage_ids": [c.pk for c in found]},
        )
        audit.record_many(
            [
                audit.build(
                    actor=actor,
                    action=AuditAction.ELIGIBILITY_CHECK_CREATE,
                    patient_id=check.patient_id,
                    obj=check,
                    detail={
                        "coverage_id": check.coverage_id,
                        "batch_id": batch.pk,
                        "trace": check.trace_number,
                    },
                )
                for check in checks
            ]
        )
        _enqueue_after_commit([c.pk for c in checks], organization_id)
    return batch


def _person(given: str, family: str, birth: dt.date | None, sex: str = "") -> Person:
    return Person(given_name=given, family_name=family, birth_date=birth, sex=sex)


def _inquiry(actor: Actor, check: EligibilityCheck) -> EligibilityInquiry:
    coverage = check.coverage
    payer = coverage.plan.payer
    organization = check.organization
    patient = patient_selectors.patient_queryset(actor).get(pk=check.patient_id)
    patient_person = _person(patient.given_name, patient.family_name, patient.birth_date, patient.sex)
    if coverage.relationship == SubscriberRelationship.SELF:
        subscriber = patient_person
    else:
        subscriber = _person(
            coverage.subscriber_given_name, coverage.subscriber_family_name, coverage.subscriber_birth_date
        )
    return EligibilityInquiry(
        organization_id=check.organization_id,
        trace_number=check.trace_number,
        control_number=check.pk % 1_000_000_000,
        service_date=check.service_date,
        created_at=timezone.localtime(check.created_at),
        payer_name=payer.name,
        payer_id=payer.payer_id,
        route=payer.clearinghouse_route,
        provider_name=organization.name,
        provider_npi=organization.npi,
        provider_tax_id=organization.tax_id,
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        relationship=coverage.relationship,
        subscriber=subscriber,
        patient=patient_person,
    )


def _claim_queued(actor: Actor, check_id: int) -> EligibilityCheck | None:
    """The check, if it is still waiting to be sent (a task run twice sends nothing twice)."""
    with transaction.atomic():
        check = (
            EligibilityCheck.objects.select_for_update()
            .filter(organization_id=_organization_id(actor), pk=check_id, status=EligibilityStatus.QUEUED)
            .first()
        )
        if check is None:
            return None
        check.status = EligibilityStatus.SENT
        check.sent_at = timezone.now()
        check.save(update_fields=["status", "sent_at", "updated_at"])
    return EligibilityCheck.objects.select_related("coverage__plan__payer", "organization").get(pk=check.pk)


def send_eligibility_check(*, actor: Actor, check_id: int) -> EligibilityCheck | None:
    """Build and send the 270 of a queued check; store what was sent and, when the route answers at once,
    the 271. A request that cannot be built or sent marks the check failed with the reason."""
    _require(actor, Permission.ELIGIBILITY_CHECK)
    check = _claim_queued(actor, check_id)
    if check is None:
        return None
    exchange = get_exchange()
    try:
        exchanged = exchange.send(_inquiry(actor, check))
        outcomes = exchange.read(exchanged.response_text) if exchanged.response_text else []
    except ValueError as exc:
        return _record_failure(actor, check, str(exc))
    with transaction.atomic():
        check = EligibilityCheck.objects.select_for_update().get(pk=check.pk)
        check.request_text = exchanged.request_text
        check.save(update_fields=["request_text", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.ELIGIBILITY_CHECK_UPDATE,
            patient_id=check.patient_id,
            obj=check,
            detail={"status": "sent", "trace": check.trace_number},
        )
        for outcome in outcomes:
            if outcome.trace_number == check.trace_number:
                _store_outcome(actor, check, outcome, exchanged.response_text)
    return check


def _record_failure(actor: Actor, check: EligibilityCheck, message: str) -> EligibilityCheck:
    with transaction.atomic():
        check = EligibilityCheck.objects.select_for_update().get(pk=check.pk)
        check.status = EligibilityStatus.FAILED
        check.error_message = message[:500]
        check.save(update_fields=["status", "error_message", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.ELIGIBILITY_CHECK_UPDATE,
            patient_id=check.patient_id,
            obj=check,
            detail={"status": "failed", "error": check.error_message},
        )
    return check


def _store_outcome(
    actor: Actor, check: EligibilityCheck, outcome: EligibilityOutcome, response_text: str
) -> None:
    """Inside the caller's transaction, with the check locked."""
    if outcome.rejections and outcome.active is None:
        status = EligibilityStatus.REJECTED
    elif outcome.active:
        status = EligibilityStatus.ACTIVE
    else:
        status = EligibilityStatus.INACTIVE if outcome.active is False else EligibilityStatus.REJECTED
    check.status = status
    check.response_text = response_text
    check.answered_at = timezone.now()
    check.plan_name = outcome.plan_name[:120]
    check.plan_begin = outcome.plan_begin
    check.plan_end = outcome.plan_end
    check.rejections = [r.as_dict() for r in outcome.rejections]
    check.save()
    check.benefits.all().delete()
    EligibilityBenefit.objects.bulk_create(
        EligibilityBenefit(
            eligibility_check=check,
            position=index,
            kind=b.kind if b.kind in BenefitKind.values else BenefitKind.OTHER,
            service_type=b.service_type[:3],
            service_label=b.service_label[:80],
            coverage_level=b.coverage_level[:3],
            network=b.network,
            time_period=b.time_period[:40],
            remaining=b.remaining,
            amount=b.amount,
            percent=b.percent,
            plan_description=b.plan_description[:120],
            message=b.message[:264],
        )
        for index, b in enumerate(outcome.benefits)
    )
    audit.record(
        actor=actor,
        action=AuditAction.ELIGIBILITY_CHECK_UPDATE,
        patient_id=check.patient_id,
        obj=check,
        detail={
            "status": status,
            "benefits": len(outcome.benefits),
            "rejections": [r.code for r in outcome.rejections],
        },
    )


def record_eligibility_response(*, actor: Actor, response_text: str) -> list[EligibilityCheck]:
    """Read a 271 (a file from the inbox, or uploaded) and store each answer on the check it answers.
    A malformed file, or one answering no check of ours, changes nothing (InvalidEligibilityResponse);
    an answer to a check that is already answered is ignored, so reading a file twice changes nothing."""
    _require(actor, Permission.ELIGIBILITY_CHECK)
    organization_id = _organization_id(actor)
    try:
        outcomes = get_exchange().read(response_text)
    except ValueError as exc:
        raise InvalidEligibilityResponse(str(exc)) from exc
    traces = [o.trace_number for o in outcomes]
    with transaction.atomic():
        checks = {
            c.trace_number: c
            for c in EligibilityCheck.objects.select_for_update().filter(
                organization_id=organization_id, trace_number__in=traces
            )
        }
        unknown = [t for t in traces if t not in checks]
        if unknown:
            raise InvalidEligibilityResponse(
                f"The response answers requests we did not send (trace {', '.join(unknown[:5])}).",
                details={"traces": unknown},
            )
        updated: list[EligibilityCheck] = []
        for outcome in outcomes:
            check = checks[outcome.trace_number]
            if check.status in EligibilityStatus.finished():
                continue
            _store_outcome(actor, check, outcome, response_text)
            updated.append(check)
    return updated


def collect_eligibility_responses(*, actor: Actor) -> tuple[list[EligibilityCheck], list[str]]:
    """Read every 271 that arrived in the file-drop inbox; returns the checks answered and, per file that
    could not be used, why (such a file changes nothing)."""
    _require(actor, Permission.ELIGIBILITY_CHECK)
    organization_id = _organization_id(actor)
    exchange = get_exchange()
    answered: list[EligibilityCheck] = []
    problems: list[str] = []
    for inbox_file in exchange.collect(organization_id):
        try:
            answered.extend(record_eligibility_response(actor=actor, response_text=inbox_file.text))
        except InvalidEligibilityResponse as exc:
            problems.append(f"{inbox_file.name}: {exc.message}")
            exchange.archive(organization_id, inbox_file.name, accepted=False, note=exc.message)
        else:
            exchange.archive(organization_id, inbox_file.name, accepted=True)
    return answered, problems


# ---------------------------------------------------------------------------------------------------
# Prior authorizations
# ---------------------------------------------------------------------------------------------------


def _rule_for(coverage: Coverage, service_code: str) -> AuthorizationRule | None:
    """The active rule of the coverage's plan (a plan's own rule before its payer's) for the service."""
    found = (
        AuthorizationRule.objects.filter(
            organization_id=coverage.organization_id,
            payer_id=coverage.plan.payer_id,
            service_code__iexact=service_code,
            active=True,
        )
        .filter(models.Q(plan__isnull=True) | models.Q(plan_id=coverage.plan_id))
        .order_by(models.F("plan_id").asc(nulls_last=True), "id")
    )
    return found.first()


def authorization_check(
    *, actor: Actor, patient_id: int, service_code: str, on_date: dt.date
) -> AuthorizationCheck:
    """Does the service on that date need a prior authorization under the patient's coverages in force,
    and is an approved one, in its dates and with units left, on file? A patient without coverage, or
    whose plans do not require it, needs none. With several coverages requiring one, each must have its
    own; the first missing one is the reason. Reading the patient's authorizations is audited when one
    is needed. Any staff actor of the organization may ask (booking, ordering): it needs no coverage
    permission, and it says only what the caller's own use case must warn about."""
    organization_id = _organization_id(actor)
    code = str(service_code or "").strip()
    pk = optional_id(patient_id)
    if not code or pk is None or not isinstance(on_date, dt.date):
        return rules.NOT_NEEDED
    with transaction.atomic():
        if not patient_selectors.patient_queryset(actor).filter(pk=pk).exists():
            raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
        coverages = (
            Coverage.objects.filter(
                organization_id=organization_id,
                patient_id=pk,
                status=CoverageStatus.ACTIVE,
                effective_from__lte=on_date,
            )
            .exclude(effective_to__lt=on_date)
            .select_related("plan__payer")
            .order_by("order", "id")
        )
        results: list[AuthorizationCheck] = []
        for coverage in coverages:
            rule = _rule_for(coverage, code)
            if rule is None:
                continue
            authorizations = PriorAuthorization.objects.filter(
                coverage=coverage, patient_id=pk, service_code__iexact=code
            )
            results.append(
                rules.check_authorization(
                    payer_name=coverage.plan.payer.name,
                    service_code=rule.service_code,
                    description=rule.description,
                    on=on_date,
                    authorizations=[a.facts for a in authorizations],
                )
            )
        if not results:
            return rules.NOT_NEEDED
        outcome = next((r for r in results if not r.ok), results[0])
        audit.record(
            actor=actor,
            action=AuditAction.AUTHORIZATION_CHECK,
            patient_id=pk,
            detail={
                "service_code": code,
                "date": on_date.isoformat(),
                "ok": outcome.ok,
                "authorization_id": outcome.authorization_id,
            },
        )
    return outcome


AuthorizationHook = Callable[[Actor, PriorAuthorization], object]  # what a hook returns is ignored
_authorization_hooks: list[AuthorizationHook] = []


def register_authorization_hook(hook: AuthorizationHook) -> AuthorizationHook:
    """`hook(actor, authorization)` runs inside the transaction that approves an authorization (apps above
    coverage close their follow-up work with it, e.g. the worklist task of a booking that lacked one).
    Register once, from `AppConfig.ready()`; registering the same function again is a no-op."""
    if hook not in _authorization_hooks:
        _authorization_hooks.append(hook)
    return hook


def _service_code(value: Any) -> str:
    code = str(value or "").strip()
    problem = rules.service_code_problem(code)
    if problem:
        raise InvalidAuthorization(problem, field="service_code")
    return code


def _units(value: Any, field: str, label: str, *, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise InvalidAuthorization(f"{label} is required.", field=field)
        return None
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise InvalidAuthorization(f"{label} must be a whole number.", field=field) from exc
    if not 1 <= number <= 100_000:
        raise InvalidAuthorization(f"{label} must be between 1 and 100000.", field=field)
    return number


def _auth_snapshot(auth: PriorAuthorization) -> dict[str, Any]:
    return {
        "status": auth.status,
        "service_code": auth.service_code,
        "auth_number": auth.auth_number,
        "units_authorized": auth.units_authorized,
        "units_used": auth.units_used,
        "valid_from": auth.valid_from.isoformat() if auth.valid_from else None,
        "valid_to": auth.valid_to.isoformat() if auth.valid_to else None,
    }


def add_authorization_rule(
    *, actor: Actor, payer_id: int, service_code: str, description: str = "", plan_id: int | None = None
) -> AuthorizationRule:
    """Say that a payer (all its plans, or one plan) requires prior authorization for a service."""
    _require(actor, Permission.PAYER_MANAGE)
    organization_id = _organization_id(actor)
    code = _service_code(service_code)
    clean_description = _text(description, "description", "Description", 200)
    with transaction.atomic():
        payer = Payer.objects.filter(organization_id=organization_id, pk=optional_id(payer_id) or 0).first()
        if payer is None:
            raise PayerNotFound(f"No payer with id {payer_id}.", field="payer_id")
        plan = None
        if plan_id not in (None, ""):
            plan = Plan.objects.filter(payer=payer, pk=optional_id(plan_id) or 0).first()
            if plan is None:
                raise PlanNotFound(f"{payer.name} has no plan with id {plan_id}.", field="plan_id")
        existing = AuthorizationRule.objects.filter(payer=payer, plan=plan, service_code__iexact=code)
        scope = plan.name if plan else payer.name
        if existing.exists():
            raise DuplicateAuthorizationRule(
                f"{scope} already requires authorization for {code}.", field="service_code"
            )
        try:
            with transaction.atomic():
                rule = AuthorizationRule.objects.create(
                    organization_id=organization_id,
                    payer=payer,
                    plan=plan,
                    service_code=code,
                    description=clean_description,
                )
        except IntegrityError as exc:
            raise DuplicateAuthorizationRule(
                f"{scope} already requires authorization for {code}.", field="service_code"
            ) from exc
        audit.record(
            actor=actor,
            action=AuditAction.AUTHORIZATION_RULE_CHANGE,
            obj=rule,
            detail={"payer_id": payer.pk, "plan_id": plan.pk if plan else None, "service_code": code},
        )
    return rule


def set_authorization_rule_active(*, actor: Actor, rule_id: int | str, active: bool) -> AuthorizationRule:
    _require(actor, Permission.PAYER_MANAGE)
    organization_id = _organization_id(actor)
    with transaction.atomic():
        rule = (
            AuthorizationRule.objects.select_for_update()
            .filter(organization_id=organization_id, pk=optional_id(rule_id) or 0)
            .first()
        )
        if rule is None:
            raise AuthorizationRuleNotFound(f"No authorization rule with id {rule_id}.")
        if rule.active != bool(active):
            rule.active = bool(active)
            rule.save(update_fields=["active", "updated_at"])
            audit.record(
                actor=actor,
                action=AuditAction.AUTHORIZATION_RULE_CHANGE,
                obj=rule,
                detail={"active": rule.active, "service_code": rule.service_code},
            )
    return rule


def request_authorization(
    *,
    actor: Actor,
    coverage_id: int,
    service_code: str,
    description: str = "",
    units_requested: int | str | None = None,
    notes: str = "",
    patient_id: int | None = None,
) -> PriorAuthorization:
    """Record that an authorization was asked of the payer for a service under one active coverage (of
    `patient_id`, when given)."""
    _require(actor, Permission.COVERAGE_MANAGE)
    code = _service_code(service_code)
    clean_description = _text(description, "description", "Description", 200)
    units = _units(units_requested, "units_requested", "Units requested")
    clean_notes = str(notes or "").strip()[:2000]
    with transaction.atomic():
        coverage = _coverage_for_update(actor, coverage_id)
        if patient_id is not None and coverage.patient_id != optional_id(patient_id):
            raise InvalidAuthorization("That coverage is not this patient's.", field="coverage_id")
        if coverage.status != CoverageStatus.ACTIVE:
            raise CoverageEnded("This coverage has ended; request the authorization under the current one.")
        if not clean_description:
            rule = _rule_for(coverage, code)
            clean_description = rule.description if rule else ""
        auth = PriorAuthorization.objects.create(
            organization_id=coverage.organization_id,
            patient_id=coverage.patient_id,
            coverage=coverage,
            service_code=code,
            description=clean_description,
            units_requested=units,
            notes=clean_notes,
            requested_by_name=_user_name(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.AUTHORIZATION_REQUEST,
            patient_id=coverage.patient_id,
            obj=auth,
            detail={"coverage_id": coverage.pk, "service_code": code, "units_requested": units},
        )
    return auth


def _authorization_for_update(actor: Actor, authorization_id: Any) -> PriorAuthorization:
    pk = optional_id(authorization_id)
    organization_id = _organization_id(actor)
    found = (
        None
        if pk is None
        else PriorAuthorization.objects.filter(organization_id=organization_id, pk=pk)
        .values_list("patient_id", flat=True)
        .first()
    )
    if pk is None or found is None:
        raise AuthorizationNotFound(
            f"No prior authorization with id {authorization_id}.", details={"id": str(authorization_id)}
        )
    _locked_patient_id(actor, found)  # the patient lock first, then the row, as for coverages
    return PriorAuthorization.objects.select_for_update().get(pk=pk)


def _decide(
    actor: Actor, auth: PriorAuthorization, status: str, before: dict[str, Any], **detail: Any
) -> None:
    auth.status = status
    auth.decided_by_name = _user_name(actor)
    auth.decided_at = timezone.now()
    auth.save()
    audit.record(
        actor=actor,
        action=AuditAction.AUTHORIZATION_DECISION,
        patient_id=auth.patient_id,
        obj=auth,
        detail={"before": before, "after": _auth_snapshot(auth), **detail},
    )


def record_authorization_approval(
    *,
    actor: Actor,
    authorization_id: int,
    auth_number: str,
    units_authorized: int | str,
    valid_from: dt.date,
    valid_to: dt.date,
    notes: str = "",
) -> PriorAuthorization:
    """The payer approved: its number, the units and the dates. An approved one may be corrected the same
    way, but never to fewer units than are used already."""
    _require(actor, Permission.COVERAGE_MANAGE)
    number = _identifier(auth_number, "auth_number", "Authorization number", 50, required=True)
    units = _units(units_authorized, "units_authorized", "Units authorized", required=True)
    assert units is not None
    if not isinstance(valid_from, dt.date):
        raise InvalidAuthorization("The first valid date is required.", field="valid_from")
    if not isinstance(valid_to, dt.date):
        raise InvalidAuthorization("The last valid date is required.", field="valid_to")
    if valid_to < valid_from:
        raise InvalidAuthorization("The authorization cannot end before it starts.", field="valid_to")
    with transaction.atomic():
        auth = _authorization_for_update(actor, authorization_id)
        if auth.status not in (AuthorizationStatus.REQUESTED, AuthorizationStatus.APPROVED):
            raise AuthorizationClosed(f"This authorization was {auth.status}; request a new one instead.")
        if units + auth.units_over < auth.units_used:
            raise InvalidAuthorization(
                f"{auth.units_used} units are used already; the authorization cannot allow fewer.",
                field="units_authorized",
            )
        before = _auth_snapshot(auth)
        auth.auth_number = number
        auth.units_authorized = units
        auth.valid_from = valid_from
        auth.valid_to = valid_to
        if notes:
            auth.notes = "\n".join(filter(None, [auth.notes, str(notes).strip()[:2000]]))
        _decide(actor, auth, AuthorizationStatus.APPROVED, before)
        for hook in list(_authorization_hooks):
            hook(actor, auth)
    return auth


def deny_authorization(*, actor: Actor, authorization_id: int, reason: str) -> PriorAuthorization:
    _require(actor, Permission.COVERAGE_MANAGE)
    clean_reason = _text(reason, "reason", "Reason", 300, required=True)
    with transaction.atomic():
        auth = _authorization_for_update(actor, authorization_id)
        if auth.status != AuthorizationStatus.REQUESTED:
            raise AuthorizationClosed(
                f"Only a requested authorization can be denied; this one is {auth.status}."
            )
        before = _auth_snapshot(auth)
        auth.decision_reason = clean_reason
        _decide(actor, auth, AuthorizationStatus.DENIED, before, reason=clean_reason)
    return auth


def cancel_authorization(*, actor: Actor, authorization_id: int, reason: str = "") -> PriorAuthorization:
    _require(actor, Permission.COVERAGE_MANAGE)
    clean_reason = _text(reason, "reason", "Reason", 300)
    with transaction.atomic():
        auth = _authorization_for_update(actor, authorization_id)
        if auth.status not in (AuthorizationStatus.REQUESTED, AuthorizationStatus.APPROVED):
            raise AuthorizationClosed(f"This authorization is {auth.status} already.")
        before = _auth_snapshot(auth)
        auth.decision_reason = clean_reason
        _decide(actor, auth, AuthorizationStatus.CANCELLED, before, reason=clean_reason)
    return auth


def record_authorization_use(
    *,
    actor: Actor,
    authorization_id: int,
    used_on: dt.date,
    units: int | str = 1,
    reference: str = "",
    override_reason: str = "",
) -> AuthorizationUse:
    """Use units of an approved authorization on a date, with the row locked so concurrent uses queue up
    and never count past what was authorized. A use it does not allow (not approved, out of its dates, not
    enough units left) is refused with the reason, unless an `override_reason` is given: then only the
    units beyond what is left are counted as over, and the reason is kept and audited."""
    _require(actor, Permission.COVERAGE_MANAGE)
    count = _units(units, "units", "Units", required=True)
    assert count is not None
    if not isinstance(used_on, dt.date):
        raise InvalidAuthorization("The date of use is required.", field="used_on")
    clean_reference = _text(reference, "reference", "Reference", 80)
    clean_override = _text(override_reason, "override_reason", "Override reason", 300)
    with transaction.atomic():
        auth = _authorization_for_update(actor, authorization_id)
        facts = auth.facts
        problem = rules.use_problem(facts, used_on)
        left = rules.units_left(facts)
        if problem is None and count > left:
            problem = f"{rules.authorization_label(facts)} has {left} unit{'s' if left != 1 else ''} left."
        if auth.status != AuthorizationStatus.APPROVED:
            raise AuthorizationNotUsable(problem or "This authorization is not approved.")
        if problem and not clean_override:
            raise AuthorizationNotUsable(f"{problem} Give an override reason to use it anyway.")
        before = _auth_snapshot(auth)
        over = max(count - left, 0)
        auth.units_used += count
        auth.units_over += over
        auth.save(update_fields=["units_used", "units_over", "updated_at"])
        use = AuthorizationUse.objects.create(
            authorization=auth,
            used_on=used_on,
            units=count,
            reference=clean_reference,
            override_reason=clean_override if problem else "",
            recorded_by_name=_user_name(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.AUTHORIZATION_USE,
            patient_id=auth.patient_id,
            obj=auth,
            detail={
                "units": count,
                "used_on": used_on.isoformat(),
                "units_used": {"before": before["units_used"], "after": auth.units_used},
                "reference": clean_reference,
                "override_reason": use.override_reason,
                "problem": problem or "",
            },
        )
    return use


# ---------------------------------------------------------------------------------------------------
# Patient merges
# ---------------------------------------------------------------------------------------------------


def move_coverages_on_merge(actor: Actor, source: models.Model, target: models.Model) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's coverages and
    eligibility checks (inside the merge's transaction, which writes the audit rows). An active coverage
    whose order the survivor already uses takes the next free order; with none free it is ended the day
    of the merge, its reason saying so, and kept for its history."""
    moving = list(Coverage.objects.filter(patient_id=source.pk).order_by("order", "pk"))
    if not moving:
        return
    taken = set(
        Coverage.objects.filter(patient_id=target.pk, status=CoverageStatus.ACTIVE).values_list(
            "order", flat=True
        )
    )
    today = timezone.localdate()
    for coverage in moving:
        coverage.patient_id = target.pk
        if coverage.status == CoverageStatus.ACTIVE:
            if coverage.order in taken:
                free = [o for o in CoverageOrder.values if o not in taken]
                if free:
                    coverage.order = free[0]
                else:
                    coverage.status = CoverageStatus.ENDED
                    coverage.effective_to = max(today, coverage.effective_from)
                    coverage.end_reason = f"Ended when patient {source.pk} was merged into {target.pk}"
            if coverage.status == CoverageStatus.ACTIVE:
                taken.add(coverage.order)
        coverage.version += 1
    # Ended ones first, so no moment has two active coverages of one order.
    for coverage in sorted(moving, key=lambda c: c.status == CoverageStatus.ACTIVE):
        coverage.save(
            update_fields=[
                "patient",
                "order",
                "status",
                "effective_to",
                "end_reason",
                "version",
                "updated_at",
            ]
        )
    EligibilityCheck.objects.filter(patient_id=source.pk).update(patient_id=target.pk)
    PriorAuthorization.objects.filter(patient_id=source.pk).update(patient_id=target.pk)
