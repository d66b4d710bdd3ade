"""Charge-capture setup: which procedure codes (and how many units) a completed visit of each visit type bills
(`VisitTypeCharge`, used by `payments.capture_visit_charges`).

Billing staff and administrators (billing:claim:manage) list, add, change, deactivate and reactivate the
mappings of their organization. A mapping names one of the organization's visit types by its code and an
active CPT/HCPCS code of the organization's code list; a deactivated mapping is kept but captures nothing.
Each use case takes the keyword-only `actor`, runs in one transaction and writes its audit row inside it.

Scheduling sits above billing, so its visit types are read through the model the claims' appointments point
at (no import of scheduling), as `payments` does for capture.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.core.ids import positive_id

from . import rules
from .errors import InvalidCharges, VisitChargeNotFound
from .models import Claim, ProcedureCode, VisitTypeCharge

MAX_UNITS = Decimal("99999.99")


@dataclass(frozen=True)
class VisitTypeOption:
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class VisitChargeRow:
    charge: VisitTypeCharge
    visit_type_name: str


def _organization_id(actor: Actor) -> int:
    if not actor.has(Permission.BILLING_MANAGE):
        raise Forbidden(
            f"This needs the permission {Permission.BILLING_MANAGE}.",
            details={"permission": str(Permission.BILLING_MANAGE)},
        )
    if actor.organization_id is None or actor.is_portal:
        raise Forbidden("Only staff of an organization can set up charge capture.")
    return actor.organization_id


def _visit_types() -> Any:
    """The scheduling visit-type model's manager, reached through the appointment a claim points at."""
    appointment = Claim._meta.get_field("appointment").related_model
    assert appointment is not None
    assert not isinstance(appointment, str)
    model = appointment._meta.get_field("visit_type").related_model
    assert model is not None
    assert not isinstance(model, str)
    return model._default_manager


def visit_type_options(*, actor: Actor) -> list[VisitTypeOption]:
    """The organization's visit types, by name (inactive ones too, so old mappings keep their name)."""
    organization_id = _organization_id(actor)
    rows = _visit_types().filter(organization_id=organization_id).order_by("name", "code")
    return [VisitTypeOption(code=v.code, name=v.name, active=v.active) for v in rows]


def list_visit_charges(*, actor: Actor) -> list[VisitChargeRow]:
    """Every mapping of the organization (active first), with its visit type's name. No patient data."""
    organization_id = _organization_id(actor)
    names = {o.code: o.name for o in visit_type_options(actor=actor)}
    rows = (
        VisitTypeCharge.objects.filter(organization_id=organization_id)
        .select_related("procedure")
        .order_by("-active", "visit_type_code", "procedure__code", "id")
    )
    return [VisitChargeRow(charge=row, visit_type_name=names.get(row.visit_type_code, "")) for row in rows]


def get_visit_charge(*, actor: Actor, charge_id: Any) -> VisitTypeCharge:
    """One mapping of the organization; another organization's answers as one that does not exist."""
    organization_id = _organization_id(actor)
    found = (
        VisitTypeCharge.objects.select_related("procedure")
        .filter(organization_id=organization_id, pk=positive_id(charge_id))
        .first()
    )
    if found is None:
        raise VisitChargeNotFound(
            f"No charge-capture mapping with id {charge_id}.", details={"id": str(charge_id)}
        )
    return found


def _visit_type_code(organization_id: int, text: str) -> str:
    code = text.strip().lower()
    if (
        not code
        or not _visit_types().filter(organization_id=organization_id, code=code, active=True).exists()
    ):
        raise InvalidCharges("Choose one of the organization's visit types.", field="visit_type_code")
    return code


def _procedure(organization_id: int, text: str) -> ProcedureCode:
    code = text.strip().upper()
    problem = rules.procedure_code_error(code)
    if problem is not None:
        raise InvalidCharges(problem, field="procedure_code")
    found = ProcedureCode.objects.filter(organization_id=organization_id, code=code, active=True).first()
    if found is None:
        raise InvalidCharges(f"{code} is not in the code list.", field="procedure_code")
    return found


def parse_units(value: Any) -> Decimal:
    """Units as typed: more than zero, at most two decimals (what a charge line takes)."""
    try:
        units = value if isinstance(value, Decimal) else Decimal(str(value).strip() or "1")
    except InvalidOperation as exc:
        raise InvalidCharges("Units must be a number such as 1 or 2.5.", field="units") from exc
    if not rules.is_cents(units, limit=MAX_UNITS) or units <= 0:
        raise InvalidCharges("Units must be more than zero, with at most two decimals.", field="units")
    return units.quantize(Decimal("0.01"))


def _values(row: VisitTypeCharge) -> dict[str, Any]:
    return {
        "visit_type_code": row.visit_type_code,
        "code": row.procedure.code,
        "units": str(row.units),
        "active": row.active,
    }


def add_visit_charge(
    *, actor: Actor, visit_type_code: str, procedure_code: str, units: Any = Decimal("1")
) -> VisitTypeCharge:
    """Bill `procedure_code` times `units` whenever a visit of the visit type is completed. The same code
    on the same visit type twice is refused; a deactivated mapping of it is reactivated with these units."""
    organization_id = _organization_id(actor)
    amount = parse_units(units)
    with transaction.atomic():
        code = _visit_type_code(organization_id, visit_type_code)
        procedure = _procedure(organization_id, procedure_code)
        row = (
            VisitTypeCharge.objects.select_for_update()
            .filter(organization_id=organization_id, visit_type_code=code, procedure=procedure)
            .first()
        )
        if row is not None and row.active:
            raise InvalidCharges(
                f"A visit of this type already bills {procedure.code}; change that mapping instead.",
                field="procedure_code",
            )
        if row is None:
            row = VisitTypeCharge.objects.create(
                organization_id=organization_id, visit_type_code=code, procedure=procedure, units=amount
            )
            audit.record(actor=actor, action=AuditAction.VISIT_CHARGE_CREATE, obj=row, detail=_values(row))
            return row
        before = _values(row)
        row.units, row.active = amount, True
        row.save(update_fields=["units", "active", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.VISIT_CHARGE_UPDATE,
            obj=row,
            detail={"before": before, "after": _values(row)},
        )
    return row


def update_visit_charge(
    *, actor: Actor, charge_id: Any, procedure_code: str, units: Any, active: bool = True
) -> VisitTypeCharge:
    """Change a mapping's procedure code, units or whether it is active (its visit type stays)."""
    organization_id = _organization_id(actor)
    amount = parse_units(units)
    with transaction.atomic():
        row = get_visit_charge(actor=actor, charge_id=charge_id)
        row = VisitTypeCharge.objects.select_for_update().select_related("procedure").get(pk=row.pk)
        same = (
            procedure_code.strip().upper() == row.procedure.code
        )  # kept even if since retired from the list
        procedure = row.procedure if same else _procedure(organization_id, procedure_code)
        if (
            procedure.pk != row.procedure_id
            and VisitTypeCharge.objects.filter(
                organization_id=organization_id, visit_type_code=row.visit_type_code, procedure=procedure
            ).exists()
        ):
            raise InvalidCharges(
                f"This visit type already has a mapping to {procedure.code}; change that one instead.",
                field="procedure_code",
            )
        before = _values(row)
        row.procedure, row.units, row.active = procedure, amount, bool(active)
        if _values(row) != before:
            row.save(update_fields=["procedure", "units", "active", "updated_at"])
            audit.record(
                actor=actor,
                action=AuditAction.VISIT_CHARGE_UPDATE,
                obj=row,
                detail={"before": before, "after": _values(row)},
            )
    return row


def set_visit_charge_active(*, actor: Actor, charge_id: Any, active: bool) -> VisitTypeCharge:
    """Deactivate a mapping (visits completed from now on no longer bill it) or reactivate it."""
    row = get_visit_charge(actor=actor, charge_id=charge_id)
    return update_visit_charge(
        actor=actor, charge_id=row.pk, procedure_code=row.procedure.code, units=row.units, active=active
    )
