"""The matrix world's patient money, built on first use through the billing services: a co-pay taken
from the first organization's sample patient, and a statement of their account."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.billing import payments
from caredesk.billing.models import PatientPayment, Statement

if TYPE_CHECKING:
    from .world import World


def payment_of(world: World) -> PatientPayment:
    found = world.__dict__.get("_patient_payment")
    if found is None:
        found = payments.record_payment(
            actor=actor_for_user(world.users[Role.FRONT_DESK]),
            patient_id=world.patient.pk,
            amount=Decimal("25.00"),
            method="cash",
        )
        world.__dict__["_patient_payment"] = found
    return found


def statement_of(world: World) -> Statement:
    found = world.__dict__.get("_statement")
    if found is None:
        payment_of(world)
        found = payments.generate_statement(
            actor=actor_for_user(world.users[Role.BILLING]), patient_id=world.patient.pk
        )
        world.__dict__["_statement"] = found
    return found
