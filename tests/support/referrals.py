"""The matrix world's referrals, built on first use through the referrals services: a receiver in the
directory and a sent referral of the sample patient (with a communication logged about it); fresh
referrals for the endpoints that move one along (called once per allowed role)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.messaging import services as messaging
from caredesk.referrals import services
from caredesk.referrals.models import Referral, ReferralReceiver

if TYPE_CHECKING:
    from .world import World


@dataclass
class Referrals:
    receiver: ReferralReceiver
    referral: Referral


def referrals_of(world: World) -> Referrals:
    found = world.__dict__.get("_referrals")
    if found is None:
        coordinator = actor_for_user(world.users[Role.COORDINATOR])
        receiver = services.add_receiver(
            actor=coordinator,
            data=services.ReceiverInput(
                name="Matrix Heart Associates", specialty="cardiology", kind="organization"
            ),
        )
        referral = fresh_referral(world, receiver=receiver, send=True)
        messaging.log_communication(
            actor=coordinator,
            data=messaging.NewCommunication(
                patient_id=world.patient.pk,
                direction="out",
                channel="phone",
                subject="Referral sent",
                outcome="reached",
                referral_id=referral.pk,
            ),
        )
        found = Referrals(receiver, referral)
        world.__dict__["_referrals"] = found
    return found


def fresh_referral(world: World, *, receiver: ReferralReceiver | None = None, send: bool = False) -> Referral:
    """A new referral of the sample patient (a draft unless `send`)."""
    return services.create_referral(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        data=services.NewReferral(
            patient_id=world.patient.pk,
            specialty="cardiology",
            reason="Exertional chest pain",
            receiver_id=receiver.pk if receiver else None,
            diagnoses=["I20.9"],
        ),
        send=send,
    )


def accepted_referral(world: World) -> Referral:
    referral = fresh_referral(world, receiver=referrals_of(world).receiver, send=True)
    return services.act(
        actor=actor_for_user(world.users[Role.COORDINATOR]), referral_id=referral.pk, action="accept"
    )


def appointment_time() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).replace(microsecond=0).isoformat()


def fresh_inbound_referral(world: World) -> Referral:
    """A new inbound referral of the sample patient (received, on the intake queue)."""
    return services.register_inbound_referral(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        data=services.NewInboundReferral(
            patient_id=world.patient.pk,
            specialty="cardiology",
            reason="Murmur heard at the annual visit",
            referrer_name="Matrix Valley Practice",
            referrer_fax="555-0101",
            diagnoses=["R01.1"],
        ),
    )
