"""PATCH /api/v1/appointments/{id}: status steps and notes through the same use cases as the desk; a step
the status does not allow is 409 with the reason, and nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling.choices import AppointmentEventKind
from caredesk.scheduling.models import Appointment
from tests.interop.conftest import TokenClient, token_for

from .conftest import MONDAY, NOW, at, book

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def desk_api(make_user, org) -> TokenClient:
    return TokenClient(token_for(make_user(Role.FRONT_DESK, org)))


def patch(api: TokenClient, appointment: Appointment, **body):
    return api.patch_json(f"{API}/appointments/{appointment.pk}", body)


def test_a_visit_goes_from_booked_to_fulfilled_step_by_step(clinic, desk_api):
    appointment = book(clinic, at(MONDAY, 9))
    steps = ["confirmed", "arrived", "in_progress", "fulfilled"]
    for version, status in enumerate(steps, start=1):
        response = patch(desk_api, appointment, status=status, version=version)
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == status
        assert response.json()["version"] == version + 1
    appointment.refresh_from_db()
    assert appointment.status == "fulfilled"
    assert appointment.arrived_at is not None
    kinds = list(appointment.events.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        AppointmentEventKind.BOOKED,
        AppointmentEventKind.STATUS_CHANGED,
        AppointmentEventKind.CHECKED_IN,
        AppointmentEventKind.STATUS_CHANGED,
        AppointmentEventKind.STATUS_CHANGED,
    ]
    # Fulfilled is final: going back is refused with the reason, and nothing changes.
    refused = patch(desk_api, appointment, status="confirmed", notes="Should not be saved")
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"
    assert "fulfilled appointment cannot become confirmed" in refused.json()["message"].lower()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.notes, appointment.version) == ("fulfilled", "", 5)


def test_cancelling_needs_a_reason_and_frees_the_time(clinic, desk_api):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    missing = patch(desk_api, appointment, status="cancelled")
    assert missing.status_code == 400
    assert missing.json()["field"] == "cancel_reason"
    bad_reason = patch(desk_api, appointment, status="cancelled", cancel_reason="bored")
    assert bad_reason.status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == "booked"

    done = patch(desk_api, appointment, status="cancelled", cancel_reason="other", cancel_note="Moved away")
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["cancel_reason"], body["cancel_note"]) == (
        "cancelled",
        "other",
        "Moved away",
    )
    # The time is free again: the same doctor and room book at the same time.
    again = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    assert again.pk != appointment.pk
    # A cancelled visit cannot be checked in.
    late = patch(desk_api, appointment, status="arrived")
    assert late.status_code == 409
    assert "cancelled appointment" in late.json()["message"].lower()


def test_no_show_only_after_the_grace_period(clinic, desk_api, frozen_clock):
    appointment = book(clinic, at(MONDAY, 9))
    frozen_clock(at(MONDAY, 9, 5))
    early = patch(desk_api, appointment, status="no_show")
    assert early.status_code == 409
    assert "minutes after the start time" in early.json()["message"]
    frozen_clock(at(MONDAY, 10))
    marked = patch(desk_api, appointment, status="no_show")
    assert marked.status_code == 200
    assert marked.json()["status"] == "noshow"
    frozen_clock(NOW)


def test_notes_alone_are_replaced_and_audited_without_their_text(clinic, desk_api):
    appointment = book(clinic, at(MONDAY + dt.timedelta(days=1), 9))
    response = patch(desk_api, appointment, notes="Bring the glucose log.", version=1)
    assert response.status_code == 200
    assert (response.json()["notes"], response.json()["status"]) == ("Bring the glucose log.", "booked")
    event = AuditEvent.objects.get(action=AuditAction.APPOINTMENT_NOTES_CHANGED)
    assert event.patient_id == appointment.patient_id
    assert "glucose" not in str(event.detail)
    # A stale version is refused; an empty body and an unknown status too.
    stale = patch(desk_api, appointment, notes="Older edit", version=1)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_appointment"
    assert patch(desk_api, appointment).status_code == 400
    unknown = patch(desk_api, appointment, status="teleported")
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "status"
    appointment.refresh_from_db()
    assert appointment.notes == "Bring the glucose log."
