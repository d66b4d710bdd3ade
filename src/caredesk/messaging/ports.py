"""What letters need from an app above this one: an appointment, in plain values.

Scheduling sits above messaging in the layers (scheduling may import messaging, not the other way), so the
appointment and no-show letters name what they need here and `settings.CAREDESK_LETTER_APPOINTMENTS` names
the module that provides it (`caredesk.scheduling.letters`: `appointment_for_letter` and
`appointment_choices`): dependencies still point one way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from caredesk.core.context import Actor


@dataclass(frozen=True)
class LetterAppointment:
    """One appointment as a letter tells it. `starts_at` is aware; `zone` is the location's time zone."""

    appointment_id: int
    patient_id: int
    starts_at: dt.datetime
    zone: str
    status: str  # scheduling.choices.AppointmentStatus value
    is_no_show: bool
    visit_type: str
    location_name: str
    location_address: str
    location_phone: str
    with_whom: str  # the practitioner(s) booked, or ""


class AppointmentLookup(Protocol):
    def __call__(self, *, actor: Actor, appointment_id: int) -> LetterAppointment | None:
        """The appointment when the actor may see it, else None. Not audited: the letter use case writes
        its own audit row naming the patient and the appointment."""
        ...


class AppointmentChoices(Protocol):
    def __call__(self, *, actor: Actor, patient_id: int) -> list[tuple[int, str]]:
        """The patient's appointments the actor may see, latest first, as (id, label) for a form."""
        ...


@cache
def _lookup(path: str) -> AppointmentLookup:
    found: AppointmentLookup = import_string(f"{path}.appointment_for_letter")
    return found


@cache
def _choices(path: str) -> AppointmentChoices:
    found: AppointmentChoices = import_string(f"{path}.appointment_choices")
    return found


def appointment_for_letter(*, actor: Actor, appointment_id: int) -> LetterAppointment | None:
    return _lookup(settings.CAREDESK_LETTER_APPOINTMENTS)(actor=actor, appointment_id=appointment_id)


def appointment_choices(*, actor: Actor, patient_id: int) -> list[tuple[int, str]]:
    return _choices(settings.CAREDESK_LETTER_APPOINTMENTS)(actor=actor, patient_id=patient_id)
