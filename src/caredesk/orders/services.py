"""Order use cases: one function per use case, keyword-only actor, one transaction, audit row inside.

CONTRACT: `create_order` (a draft, or placed at once), `check_order` (what placing it now would say),
`place_order` (draft -> active after the checks; an administrator may go past a failed check with a
recorded reason), `override_order` (that, for administrators only), `change_status` (in progress,
completed with the result, cancelled / revoked with the reason).

The checks, for an order that names a practitioner: an active license in the state where the service
happens (telehealth: the patient's state), a privilege for the service at the facility, a DEA registration
for controlled substances (credentialing.check_practitioner, while the organization's credential
enforcement is on), and, for any order, the prior authorization its payer requires
(coverage.authorization_check). A failure raises OrderCheckFailed with the reasons in plain words and the
practitioners who would pass; nothing is written. Every change bumps `version`, writes an OrderEvent and
an audit row naming the patient; status changes lock the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.inputs import checked_text
from caredesk.coverage import services as coverage_services
from caredesk.credentialing import services as credential_services
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

from . import clock, rules
from .choices import DEFAULT_CODE_SYSTEM, CodeSystem, EventKind, OrderKind, OrderStatus, Priority
from .errors import InvalidOrder, InvalidTransition, OrderCheckFailed, OrderNotFound, StaleOrder
from .models import Order, OrderEvent

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class OrderInput:
    patient_id: Any
    kind: str
    code: str
    location_id: Any
    code_display: str = ""
    code_system: str = ""
    priority: str = Priority.ROUTINE
    reason: str = ""
    diagnoses: Sequence[str] = field(default_factory=tuple)
    practitioner_id: Any = None
    telehealth: bool = False
    controlled_substance: bool = False
    service_date: dt.date | str | None = None


# --- helpers -----------------------------------------------------------------------------------------


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise InvalidOrder("Only a member of an organization can order.")
    return actor.organization_id


def _id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def _text(value: Any, field_name: str, label: str, limit: int, *, required: bool = False) -> str:
    return checked_text(value, field_name, label, limit, required=required, coerce=True, error=InvalidOrder)


def _choice(value: Any, field_name: str, label: str, values: Sequence[str]) -> str:
    text = str(value or "").strip()
    if text not in values:
        raise InvalidOrder(
            f"{label} must be one of {', '.join(values)}, not {text!r}." if text else f"{label} is required.",
            field=field_name,
        )
    return text


def _date(value: Any) -> dt.date:
    if value in (None, ""):
        return clock.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidOrder(
            f"The service date must be a date such as 2027-03-01, not {value!r}.", field="service_date"
        ) from exc


def _name_of(actor: Actor) -> str:
    return actor.username or "system"


def _require_place(actor: Actor) -> None:
    actor.require(Permission.ORDER_PLACE)


def _event(order: Order, actor: Actor, kind: str, from_status: str, note: str = "") -> None:
    OrderEvent.objects.create(
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=order.status,
        at=order.status_changed_at,
        note=note,
        actor_id=actor.user_id,
        actor_name=_name_of(actor),
    )


def _locked(actor: Actor, order_id: Any) -> Order:
    pk = _id(order_id)
    order = (
        None
        if pk is None
        else Order.objects.select_for_update().filter(organization_id=_organization_id(actor), pk=pk).first()
    )
    if order is None:
        raise OrderNotFound(f"No order with id {order_id}.", details={"id": str(order_id)})
    return order


def _check_version(order: Order, version: int | None) -> None:
    if version is not None and version != order.version:
        raise StaleOrder(
            f"The order changed since it was read (version {order.version}, not {version}); reload it.",
            field="version",
        )


# --- the checks ---------------------------------------------------------------------------------------


def _patient_state(actor: Actor, patient_id: int) -> str:
    return str(
        patient_selectors.patient_queryset(actor)
        .filter(pk=patient_id)
        .values_list("state", flat=True)
        .first()
        or ""
    )


def _what(order: Order) -> str:
    label = order.code_display or order.code
    return f"{order.get_kind_display()} order {label}"


def check_order(*, actor: Actor, order: Order) -> rules.OrderCheck:
    """What placing `order` now would say. Reads only (the prior-authorization look-up is audited by
    coverage when one is needed)."""
    credential_reasons: list[str] = []
    alternatives: list[rules.Alternative] = []
    if order.practitioner_id is not None and credential_services.enforcement_on(order.organization_id):
        location = Location.objects.get(pk=order.location_id)
        state = rules.service_state(
            telehealth=order.telehealth,
            location_state=location.state,
            patient_state=_patient_state(actor, order.patient_id),
        )
        result = credential_services.check_practitioner(
            actor=actor,
            practitioner_id=order.practitioner_id,
            service_code=order.code,
            location_id=order.location_id,
            service_state=state,
            on_date=order.service_date,
            controlled_substance=order.controlled_substance,
            service_label=order.code_display,
        )
        if not result.ok:
            if order.telehealth:
                where = f"telehealth, patient in {state}" if state else "telehealth, patient's state unknown"
                credential_reasons = [f"{r} ({where})" for r in result.reasons]
            else:
                credential_reasons = list(result.reasons)
            alternatives = [rules.Alternative(a.id, a.name) for a in result.alternatives]
    authorization = coverage_services.authorization_check(
        actor=actor, patient_id=order.patient_id, service_code=order.code, on_date=order.service_date
    )
    return rules.combine(
        credential_reasons=credential_reasons,
        alternatives=alternatives,
        authorization_needed=authorization.needed,
        authorization_ok=authorization.ok,
        authorization_reason=authorization.reason,
        authorization_id=authorization.authorization_id,
    )


def _refuse(order: Order, check: rules.OrderCheck, *, override_refused: bool = False) -> OrderCheckFailed:
    return OrderCheckFailed(
        rules.refusal(check, _what(order), override_refused=override_refused),
        field="practitioner_id" if check.credential_reasons else None,
        details={
            "reasons": check.reasons,
            "alternatives": [{"id": a.id, "name": a.name} for a in check.alternatives],
            "authorization_needed": check.authorization_needed,
        },
    )


def _place(actor: Actor, order: Order, override_reason: str) -> Order:
    """Run the checks on a draft (inside the caller's transaction) and place it, or refuse."""
    reason = _text(override_reason, "override_reason", "The override reason", 2000)
    check = check_order(actor=actor, order=order)
    overridden = False
    if not check.ok:
        if not reason:
            raise _refuse(order, check)
        if not actor.has(Permission.ORDER_OVERRIDE):
            raise _refuse(order, check, override_refused=True)
        overridden = True
    before = order.status
    now = clock.now()
    order.status = OrderStatus.ACTIVE
    order.status_changed_at = now
    order.placed_at = now
    order.authorization_id = check.authorization_id
    if overridden:
        order.override_reason = reason
        order.override_reasons = check.reasons
        order.override_by_name = _name_of(actor)
    order.version += 1
    order.save()
    detail: dict[str, Any] = {"from": before, "to": order.status, "authorization_id": check.authorization_id}
    if overridden:
        _event(order, actor, EventKind.OVERRIDDEN, before, reason)
        audit.record(
            actor=actor,
            action=AuditAction.ORDER_OVERRIDE_CREATE,
            patient_id=order.patient_id,
            obj=order,
            detail={"reasons": check.reasons, "reason": reason},
        )
        if (
            check.credential_reasons
            and order.practitioner_id is not None
            and actor.has(Permission.CREDENTIAL_OVERRIDE)
        ):
            location = Location.objects.get(pk=order.location_id)
            credential_services.record_override(
                actor=actor,
                practitioner_id=order.practitioner_id,
                location_id=order.location_id,
                service_code=order.code,
                service_state=rules.service_state(
                    telehealth=order.telehealth,
                    location_state=location.state,
                    patient_state=_patient_state(actor, order.patient_id),
                ),
                reasons=check.credential_reasons,
                reason=reason,
                patient_id=order.patient_id,
            )
        detail["override"] = True
    else:
        _event(order, actor, EventKind.PLACED, before)
    audit.record(
        actor=actor,
        action=AuditAction.ORDER_STATUS_CHANGED,
        patient_id=order.patient_id,
        obj=order,
        detail=detail,
    )
    return order


# --- use cases ---------------------------------------------------------------------------------------


def _validated(actor: Actor, data: OrderInput) -> dict[str, Any]:
    """Every field checked before anything is written; InvalidOrder (400) naming the field otherwise."""
    organization_id = _organization_id(actor)
    patient_id = _id(data.patient_id)
    if patient_id is None or not patient_selectors.patient_queryset(actor).filter(pk=patient_id).exists():
        raise InvalidOrder(f"No patient with id {data.patient_id}.", field="patient_id")
    kind = _choice(data.kind, "kind", "The order kind", OrderKind.values)
    code = str(data.code or "").strip()
    problem = rules.code_problem(code)
    if problem:
        raise InvalidOrder(problem, field="code")
    code_system = (
        _choice(data.code_system, "code_system", "The code system", CodeSystem.values)
        if str(data.code_system or "").strip()
        else DEFAULT_CODE_SYSTEM[kind]
    )
    priority = _choice(data.priority or Priority.ROUTINE, "priority", "The priority", Priority.values)
    location_id = _id(data.location_id)
    location = (
        None
        if location_id is None
        else Location.objects.filter(organization_id=organization_id, pk=location_id).first()
    )
    if location is None:
        raise InvalidOrder(
            f"No location with id {data.location_id}."
            if data.location_id
            else "Where does it happen? The location is required.",
            field="location_id",
        )
    practitioner_id: int | None = None
    if data.practitioner_id not in (None, ""):
        practitioner_id = _id(data.practitioner_id)
        practitioner = (
            None
            if practitioner_id is None
            else practitioner_selectors.practitioner_queryset(actor).filter(pk=practitioner_id).first()
        )
        if practitioner is None:
            raise InvalidOrder(f"No practitioner with id {data.practitioner_id}.", field="practitioner_id")
        if not practitioner.active:
            raise InvalidOrder(f"{practitioner} is no longer active.", field="practitioner_id")
    diagnoses = rules.diagnoses(list(data.diagnoses or ()))
    if diagnoses.invalid:
        raise InvalidOrder(
            "Not ICD-10-CM diagnosis codes: " + ", ".join(diagnoses.invalid) + ".", field="diagnoses"
        )
    if len(diagnoses.coded) > rules.MAX_DIAGNOSES:
        raise InvalidOrder(f"At most {rules.MAX_DIAGNOSES} diagnoses.", field="diagnoses")
    reason = _text(data.reason, "reason", "The reason", 2000)
    if not reason and not diagnoses.coded:
        raise InvalidOrder("Give the reason for the order or at least one diagnosis.", field="reason")
    return {
        "organization_id": organization_id,
        "patient_id": patient_id,
        "kind": kind,
        "code": code,
        "code_system": code_system,
        "code_display": _text(data.code_display, "code_display", "The description", 200),
        "priority": priority,
        "reason": reason,
        "diagnoses": diagnoses.coded,
        "practitioner_id": practitioner_id,
        "location_id": location.pk,
        "telehealth": bool(data.telehealth),
        "controlled_substance": bool(data.controlled_substance),
        "service_date": _date(data.service_date),
    }


def create_order(*, actor: Actor, data: OrderInput, place: bool = True, override_reason: str = "") -> Order:
    """Write an order: a draft, or (`place`) placed at once after the checks. A refusal of either kind
    writes nothing."""
    _require_place(actor)
    values = _validated(actor, data)
    now = clock.now()
    with transaction.atomic():
        order = Order.objects.create(
            **values,
            authored_at=now,
            status=OrderStatus.DRAFT,
            status_changed_at=now,
            created_by_id=actor.user_id,
            created_by_name=_name_of(actor),
        )
        _event(order, actor, EventKind.CREATED, "")
        audit.record(
            actor=actor,
            action=AuditAction.ORDER_CREATE,
            patient_id=order.patient_id,
            obj=order,
            detail={"kind": order.kind, "code": order.code, "practitioner_id": order.practitioner_id},
        )
        if place:
            _place(actor, order, override_reason)
    return order


def place_order(
    *, actor: Actor, order_id: Any, override_reason: str = "", version: int | None = None
) -> Order:
    """A draft becomes active after the checks (or past them with an administrator's reason)."""
    _require_place(actor)
    with transaction.atomic():
        order = _locked(actor, order_id)
        _check_version(order, version)
        if order.status != OrderStatus.DRAFT:
            raise InvalidTransition(
                f"Only a draft can be placed; this order is {order.get_status_display().lower()}.",
                field="status",
            )
        return _place(actor, order, override_reason)


def override_order(*, actor: Actor, order_id: Any, reason: str, version: int | None = None) -> Order:
    """An administrator places a draft although a check failed; the reason is required and kept with what
    the checks said."""
    actor.require(Permission.ORDER_OVERRIDE)
    if not str(reason or "").strip():
        raise InvalidOrder("Say why the order goes ahead despite the checks.", field="override_reason")
    return place_order(actor=actor, order_id=order_id, override_reason=reason, version=version)


def change_status(
    *, actor: Actor, order_id: Any, status: str, note: str = "", version: int | None = None
) -> Order:
    """Start, complete (the result or completion notes in `note`), cancel a draft or revoke a placed order
    (the reason in `note`)."""
    _require_place(actor)
    note = _text(note, "note", "The note", 20_000)
    with transaction.atomic():
        order = _locked(actor, order_id)
        _check_version(order, version)
        target = str(status or "").strip()
        problem = rules.transition_error(order.status, target)
        if problem:
            raise InvalidTransition(problem, field="status")
        problem = rules.note_error(target, note)
        if problem:
            raise InvalidOrder(problem, field="note")
        before = order.status
        now = clock.now()
        order.status = target
        order.status_changed_at = now
        if target == OrderStatus.COMPLETED:
            order.completed_at = now
            order.result = note
        elif target in rules.NEEDS_REASON:
            order.status_reason = note
        order.version += 1
        order.save()
        _event(order, actor, EventKind.STATUS, before, note)
        audit.record(
            actor=actor,
            action=AuditAction.ORDER_STATUS_CHANGED,
            patient_id=order.patient_id,
            obj=order,
            detail={"from": before, "to": target},
        )
    return order
