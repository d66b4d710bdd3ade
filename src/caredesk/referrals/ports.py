"""What the scheduled step needs from an app above this one: the patient's booked appointments, in plain
values.

Scheduling sits above referrals in the layers (referrals may not import it), so marking a referral
scheduled names the appointment by id and `settings.CAREDESK_REFERRAL_APPOINTMENTS` names the module that
resolves it (`caredesk.scheduling.letters`: `appointment_for_letter` and `appointment_choices`, the same
plain-value reads the communication log's letters use): dependencies still point one way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from caredesk.core.context import Actor


class AppointmentValues(Protocol):
    """What the provider answers about one appointment (at least these attributes)."""

    @property
    def appointment_id(self) -> int: ...
    @property
    def patient_id(self) -> int: ...
    @property
    def starts_at(self) -> dt.datetime: ...
    @property
    def status(self) -> str: ...  # scheduling.choices.AppointmentStatus value
    @property
    def visit_type(self) -> str: ...
    @property
    def location_name(self) -> str: ...


class AppointmentLookup(Protocol):
    def __call__(self, *, actor: Actor, appointment_id: int) -> AppointmentValues | None:
        """The appointment when the actor may see it, else None. Not audited (the referral step is)."""
        ...


class AppointmentChoices(Protocol):
    def __call__(self, *, actor: Actor, patient_id: int) -> list[tuple[int, str]]:
        """The patient's appointments the actor may see, latest first, as (id, label)."""
        ...


@dataclass(frozen=True)
class ReferralAppointment:
    """One of the patient's appointments, as the scheduled step links it."""

    appointment_id: int
    patient_id: int
    starts_at: dt.datetime
    status: str
    label: str  # "Follow-up at Main Street Clinic"


@cache
def _lookup(path: str) -> AppointmentLookup:
    found: AppointmentLookup = import_string(f"{path}.appointment_for_letter")
    return found


@cache
def _choices(path: str) -> AppointmentChoices:
    found: AppointmentChoices = import_string(f"{path}.appointment_choices")
    return found


def find_appointment(*, actor: Actor, appointment_id: int) -> ReferralAppointment | None:
    found = _lookup(settings.CAREDESK_REFERRAL_APPOINTMENTS)(actor=actor, appointment_id=appointment_id)
    if found is None:
        return None
    return ReferralAppointment(
        appointment_id=found.appointment_id,
        patient_id=found.patient_id,
        starts_at=found.starts_at,
        status=found.status,
        label=f"{found.visit_type} at {found.location_name}",
    )


def appointment_choices(*, actor: Actor, patient_id: int) -> list[tuple[int, str]]:
    """The patient's appointments (latest first, as the provider lists them) as (id, label)."""
    return _choices(settings.CAREDESK_REFERRAL_APPOINTMENTS)(actor=actor, patient_id=patient_id)
