"""The appointment a letter tells about (messaging.ports.AppointmentLookup): scheduling sits above the
communication log, so the log's letters ask for it through `settings.CAREDESK_LETTER_APPOINTMENTS`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caredesk.core.context import Actor
from caredesk.messaging.ports import LetterAppointment

from .choices import AppointmentStatus, ResourceKind
from .selectors import appointment_queryset


def appointment_for_letter(*, actor: Actor, appointment_id: int) -> LetterAppointment | None:
    """The appointment in the actor's scope as plain values, or None. Not audited (the letter is)."""
    appointment = (
        appointment_queryset(actor).select_related("visit_type", "location").filter(pk=appointment_id).first()
    )
    if appointment is None:
        return None
    location = appointment.location
    address = ", ".join(
        part
        for part in (location.address_line, location.city, f"{location.state} {location.postal_code}".strip())
        if part
    )
    people = [
        booking.resource.name
        for booking in appointment.bookings.filter(active=True)
        .select_related("resource")
        .order_by("resource__name")
        if booking.resource.kind == ResourceKind.PRACTITIONER
    ]
    return LetterAppointment(
        appointment_id=appointment.pk,
        patient_id=appointment.patient_id,
        starts_at=appointment.starts_at,
        zone=location.timezone,
        status=appointment.status,
        is_no_show=appointment.status == AppointmentStatus.NO_SHOW,
        visit_type=appointment.visit_type.name,
        location_name=location.name,
        location_address=address,
        location_phone=location.phone,
        with_whom=", ".join(dict.fromkeys(people)),
    )


def appointment_choices(*, actor: Actor, patient_id: int) -> list[tuple[int, str]]:
    """The patient's latest appointments (at most 50) as (id, label) for the letter form. Not audited:
    the form's page writes the row naming the patient."""
    rows = (
        appointment_queryset(actor)
        .filter(patient_id=patient_id)
        .select_related("visit_type", "location")
        .order_by("-starts_at", "-pk")[:50]
    )
    choices = []
    for appointment in rows:
        try:
            zone: dt.tzinfo = ZoneInfo(appointment.location.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        local = appointment.starts_at.astimezone(zone)
        label = (
            f"{local:%b %d, %Y %I:%M %p} {local.tzname()} — {appointment.visit_type.name} at "
            f"{appointment.location.name} ({appointment.get_status_display()})"
        )
        choices.append((appointment.pk, label))
    return choices
