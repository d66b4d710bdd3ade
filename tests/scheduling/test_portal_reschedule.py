"""Patients change the time of their own visits in the portal: the desk's reschedule (same appointment,
the move in its history, the old time free again) to a time the portal's slot search offers, while the
visit could still be cancelled online; anything else is refused with a clear message and nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import selectors, services
from caredesk.scheduling.choices import AppointmentEventKind, AppointmentSource, AppointmentStatus
from caredesk.scheduling.errors import (
    AppointmentNotFound,
    BookingRuleViolation,
    CallToCancel,
    InvalidTransition,
    SlotConflict,
)
from caredesk.scheduling.models import Appointment, AppointmentEvent, VisitType
from tests.patients.factories import portal_user_for, staff_actor

from .conftest import MONDAY, Clinic, at, book
from .test_portal_booking import Me, book_online, first_slot, online_visit_type

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)
THURSDAY = MONDAY + dt.timedelta(days=3)
FRIDAY = MONDAY + dt.timedelta(days=4)
TAKEN = "That time was just taken; pick another."


@pytest.fixture
def online(clinic: Clinic) -> VisitType:
    return online_visit_type(clinic)


@pytest.fixture
def me(clinic: Clinic) -> Me:
    patient = clinic.patient(family_name="Portalova")
    user = portal_user_for(patient)
    return Me(patient, user, actor_for_user(user))


def move_slot(me: Me, appointment: Appointment, **preferences: object) -> selectors.Slot:
    """The first time the portal offers for moving `appointment`, other than its own."""
    found = selectors.portal_reschedule_slots(actor=me.actor, appointment=appointment, **preferences)  # type: ignore[arg-type]
    others = [s for s in found if s.start != appointment.starts_at]
    assert others, "no free time"
    return others[0]


def move_online(me: Me, appointment: Appointment, slot: selectors.Slot) -> Appointment:
    return services.reschedule_from_portal(
        actor=me.actor,
        appointment_id=appointment.pk,
        start=slot.start,
        location_id=slot.location_id,
        resource_ids=list(slot.resource_ids),
    )


def thursday_visit(clinic: Clinic, me: Me, visit_type: VisitType) -> Appointment:
    """The patient's own visit, booked online: Thursday 08:00 with Dr. Heart."""
    slot = first_slot(me, visit_type, weekdays=frozenset({3}), practitioner_id=clinic.heart.pk)
    assert slot.start == at(THURSDAY, 8)
    return book_online(me, visit_type, slot)


def unchanged(appointment: Appointment) -> None:
    before = (appointment.starts_at, appointment.location_id, appointment.version, appointment.status)
    fresh = Appointment.objects.get(pk=appointment.pk)
    assert (fresh.starts_at, fresh.location_id, fresh.version, fresh.status) == before
    assert not fresh.events.filter(kind=AppointmentEventKind.RESCHEDULED).exists()


# --- the service -------------------------------------------------------------------------------------------


def test_a_patient_moves_their_own_visit_and_the_old_time_is_free_again(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}), practitioner_id=clinic.heart.pk)
    assert slot.start == at(FRIDAY, 8)

    moved = move_online(me, appointment, slot)

    assert moved.pk == appointment.pk
    assert moved.starts_at == at(FRIDAY, 8)
    assert moved.status == AppointmentStatus.BOOKED
    assert moved.source == AppointmentSource.PORTAL
    assert sorted(moved.bookings.values_list("resource_id", flat=True)) == sorted(slot.resource_ids)
    event = moved.events.get(kind=AppointmentEventKind.RESCHEDULED)
    assert event.actor_id == me.user.pk
    assert event.detail["from"]["start"] == at(THURSDAY, 8).isoformat()
    assert event.detail["to"]["start"] == at(FRIDAY, 8).isoformat()
    assert event.detail["reason"] == "Changed by the patient in the portal"
    assert AuditEvent.objects.filter(
        action=int(AuditAction.APPOINTMENT_RESCHEDULE), patient_id=me.patient.pk, actor_id=me.user.pk
    ).exists()
    # Thursday 08:00 with Dr. Heart is offered again, and the desk can book it for someone else.
    again = selectors.portal_slots(
        actor=me.actor, visit_type_id=online.pk, weekdays=frozenset({3}), practitioner_id=clinic.heart.pk
    )
    assert again[0].start == at(THURSDAY, 8)
    someone = book(clinic, at(THURSDAY, 8), online, resource_ids=list(again[0].resource_ids))
    assert someone.status == AppointmentStatus.BOOKED


def test_the_visits_own_time_counts_as_free_when_moving_it(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    with_heart = {"weekdays": frozenset({3}), "practitioner_id": clinic.heart.pk}

    booking = selectors.portal_slots(actor=me.actor, visit_type_id=online.pk, **with_heart)  # type: ignore[arg-type]
    moving = selectors.portal_reschedule_slots(actor=me.actor, appointment=appointment, **with_heart)  # type: ignore[arg-type]

    assert at(THURSDAY, 8) not in {s.start for s in booking}
    assert moving[0].start == at(THURSDAY, 8)
    # Moving to its own time changes nothing.
    same = move_online(me, appointment, moving[0])
    assert same.starts_at == at(THURSDAY, 8)
    unchanged(appointment)


def test_too_close_to_the_start_says_to_call_and_nothing_changes(clinic, online, me, frozen_clock):
    slot = first_slot(me, online, weekdays=frozenset({1}), earliest=dt.time(9))
    appointment = book_online(me, online, slot)  # Tuesday 09:00
    later = move_slot(me, appointment, weekdays=frozenset({4}))
    frozen_clock(at(MONDAY, 10))  # 23 hours before

    with pytest.raises(CallToCancel, match="too soon to change online; please call the clinic") as refused:
        move_online(me, appointment, later)
    with pytest.raises(CallToCancel):
        selectors.portal_reschedule_slots(actor=me.actor, appointment=appointment)

    assert refused.value.details["phone"] == clinic.location.phone
    unchanged(appointment)


def test_a_visit_not_offered_online_is_moved_by_calling(clinic, online, me):
    desk_booked = book(clinic, at(THURSDAY, 9), patient=me.patient)  # a follow-up, booked at the desk
    with pytest.raises(CallToCancel, match="cannot be changed online; please call the clinic"):
        services.reschedule_from_portal(
            actor=me.actor,
            appointment_id=desk_booked.pk,
            start=at(FRIDAY, 9),
            location_id=clinic.location.pk,
        )
    unchanged(desk_booked)


def test_a_cancelled_visit_cannot_be_moved(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}))
    services.cancel_from_portal(actor=me.actor, appointment_id=appointment.pk)
    with pytest.raises(InvalidTransition, match="cannot be changed"):
        move_online(me, appointment, slot)
    assert Appointment.objects.get(pk=appointment.pk).starts_at == at(THURSDAY, 8)


def test_someone_elses_appointment_is_not_found(clinic, online, me):
    theirs = book(clinic, at(THURSDAY, 9), online, patient=clinic.patient(family_name="Otherby"))
    with pytest.raises(AppointmentNotFound):
        services.reschedule_from_portal(
            actor=me.actor, appointment_id=theirs.pk, start=at(FRIDAY, 9), location_id=clinic.location.pk
        )
    with pytest.raises(AppointmentNotFound):
        selectors.get_portal_appointment(actor=me.actor, appointment_id=theirs.pk)
    unchanged(theirs)


def test_a_time_taken_meanwhile_is_a_clear_conflict_and_nothing_changes(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}), practitioner_id=clinic.heart.pk)
    taken = book(clinic, slot.start, online, resource_ids=list(slot.resource_ids))  # the desk was quicker
    audits = AuditEvent.objects.count()

    with pytest.raises(SlotConflict) as refused:
        move_online(me, appointment, slot)

    assert refused.value.message == TAKEN
    assert str(taken.pk) not in str(refused.value.details)  # whose appointment is in the way is not said
    assert AuditEvent.objects.count() == audits
    unchanged(appointment)


def test_a_time_taken_after_the_search_is_the_same_conflict(clinic, online, me, monkeypatch):
    """The search offered it, then someone booked it before the move held it: the desk's guard refuses."""
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}), practitioner_id=clinic.heart.pk)
    book(clinic, slot.start, online, resource_ids=list(slot.resource_ids))
    monkeypatch.setattr(services, "_portal_slot", lambda *args: slot)  # the search as it was a moment ago

    with pytest.raises(SlotConflict, match="That time was just taken"):
        move_online(me, appointment, slot)

    unchanged(appointment)


def test_a_time_the_search_does_not_offer_is_refused(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    not_offered = (
        at(FRIDAY, 8, 7),  # off the visit type's grid
        at(FRIDAY, 12, 30),  # the practitioners' lunch
        at(MONDAY + dt.timedelta(days=5), 9),  # Saturday
        at(MONDAY + dt.timedelta(days=45), 9),  # beyond the 30 days the visit type is booked ahead
    )
    for start in not_offered:
        with pytest.raises(SlotConflict, match="That time was just taken"):
            services.reschedule_from_portal(
                actor=me.actor,
                appointment_id=appointment.pk,
                start=start,
                location_id=clinic.location.pk,
                resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk],
            )
    unchanged(appointment)


def test_without_resources_the_move_takes_the_ones_the_search_offers(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}))
    moved = services.reschedule_from_portal(
        actor=me.actor, appointment_id=appointment.pk, start=slot.start, location_id=slot.location_id
    )
    assert moved.starts_at == slot.start
    assert sorted(moved.bookings.values_list("resource_id", flat=True)) == sorted(slot.resource_ids)


def test_staff_cannot_move_visits_through_the_portal(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}))
    for actor in (clinic.desk, clinic.admin, staff_actor(clinic.org, Role.COORDINATOR)):
        with pytest.raises(PermissionDenied):
            services.reschedule_from_portal(
                actor=actor,
                appointment_id=appointment.pk,
                start=slot.start,
                location_id=slot.location_id,
                resource_ids=list(slot.resource_ids),
            )
        with pytest.raises(PermissionDenied):
            selectors.portal_reschedule_slots(actor=actor, appointment=appointment)
    unchanged(appointment)


def test_the_limit_on_visits_booked_online_does_not_block_a_move(clinic, online, me, settings):
    settings.CAREDESK_PORTAL_MAX_UPCOMING = 1
    appointment = thursday_visit(clinic, me, online)
    with pytest.raises(BookingRuleViolation, match="1 upcoming visit booked online"):
        book_online(me, online, first_slot(me, online, weekdays=frozenset({4})))

    moved = move_online(me, appointment, move_slot(me, appointment, weekdays=frozenset({4})))

    assert moved.starts_at.astimezone(at(FRIDAY, 8).tzinfo).date() == FRIDAY
    assert Appointment.objects.filter(patient=me.patient).count() == 1


# --- the pages ---------------------------------------------------------------------------------------------


def test_the_list_offers_change_time_where_cancelling_online_is_allowed(clinic, online, me, client_as):
    later = thursday_visit(clinic, me, online)
    soon = book_online(me, online, first_slot(me, online, weekdays=frozenset({0}), earliest=dt.time(13)))
    desk_booked = book(clinic, at(THURSDAY, 15), patient=me.patient)

    page = client_as(me.user).get(reverse("scheduling:my_appointments")).content.decode()

    assert page.count('data-testid="portal-change"') == 1
    assert reverse("scheduling:my_reschedule", args=[later.pk]) in page
    assert reverse("scheduling:my_reschedule", args=[soon.pk]) not in page
    assert reverse("scheduling:my_reschedule", args=[desk_booked.pk]) not in page
    assert page.count('data-testid="call-to-cancel"') == 2


def test_a_patient_changes_the_time_through_the_pages(clinic, online, me, client_as):
    appointment = thursday_visit(clinic, me, online)
    book(clinic, at(FRIDAY, 9), online, patient=clinic.patient(family_name="Neighbourly"))
    client = client_as(me.user)
    url = reverse("scheduling:my_reschedule", args=[appointment.pk])

    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Change the time of your visit" in body
    assert "Thursday 4 March 2027, 08:00" in body
    assert page.context["slots"]  # the next free times straight away
    thursdays = client.get(url, {"weekdays": ["3"], "practitioner": clinic.heart.pk})
    assert thursdays.context["slots"][0] == (thursdays.context["slots"][0][0], True)
    assert 'data-testid="current-time"' in thursdays.content.decode()  # its own time: listed, not offered

    search = client.get(url, {"weekdays": ["4"], "time_of_day": "afternoon"})
    assert search.status_code == 200
    slots = [slot for slot, current in search.context["slots"]]
    assert slots
    assert all(s.start.weekday() == 4 and s.start.hour >= 12 for s in slots)
    assert "Neighbourly" not in search.content.decode()

    confirm = client.get(url, {"slot": slots[0].token})
    assert confirm.status_code == 200
    assert "Confirm the new time" in confirm.content.decode()
    unchanged(appointment)  # nothing moves before confirming

    done = client.post(url, {"slot": slots[0].token}, follow=True)
    assert done.status_code == 200
    assert (
        "Moved: Check-up (check-up) on Thursday 4 March 2027 at 08:00 to Friday 5 March 2027 at 13:00."
        in done.content.decode()
    )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(FRIDAY, 13)
    assert Appointment.objects.filter(patient=me.patient).count() == 1


def test_a_taken_time_sends_the_patient_back_to_pick_another(clinic, online, me, client_as):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}), practitioner_id=clinic.heart.pk)
    book(clinic, slot.start, online, resource_ids=list(slot.resource_ids))

    response = client_as(me.user).post(
        reverse("scheduling:my_reschedule", args=[appointment.pk]), {"slot": slot.token}
    )

    assert response.status_code == 409
    assert TAKEN in response.content.decode()
    assert response.context["slots"]  # fresh times to pick from
    unchanged(appointment)


def test_too_close_to_the_start_the_page_says_to_call(clinic, online, me, client_as, frozen_clock):
    slot = first_slot(me, online, weekdays=frozenset({1}), earliest=dt.time(9))
    appointment = book_online(me, online, slot)
    later = move_slot(me, appointment, weekdays=frozenset({4}))
    frozen_clock(at(MONDAY, 10))
    client = client_as(me.user)
    url = reverse("scheduling:my_reschedule", args=[appointment.pk])

    page = client.get(url)
    refused = client.post(url, {"slot": later.token})

    for response in (page, refused):
        assert response.status_code == 409
        assert "too soon to change online; please call the clinic" in response.content.decode()
    unchanged(appointment)


def test_a_forged_slot_is_refused(clinic, online, me, client_as):
    appointment = thursday_visit(clinic, me, online)
    client = client_as(me.user)
    url = reverse("scheduling:my_reschedule", args=[appointment.pk])
    assert client.post(url, {"slot": "tomorrow|1|2"}).status_code == 400
    assert client.get(url, {"slot": "x"}).status_code == 400
    unchanged(appointment)


def test_someone_elses_visit_answers_404(clinic, online, me, client_as):
    theirs = book(clinic, at(THURSDAY, 9), online)
    slot = move_slot(me, thursday_visit(clinic, me, online), weekdays=frozenset({4}))
    client = client_as(me.user)
    url = reverse("scheduling:my_reschedule", args=[theirs.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"slot": slot.token}).status_code == 404
    unchanged(theirs)


def test_staff_roles_cannot_open_the_change_time_page(clinic, online, me, client_as, make_user, org):
    appointment = thursday_visit(clinic, me, online)
    slot = move_slot(me, appointment, weekdays=frozenset({4}))
    url = reverse("scheduling:my_reschedule", args=[appointment.pk])
    for role in (Role.FRONT_DESK, Role.COORDINATOR, Role.ADMINISTRATOR, Role.NURSE):
        client = client_as(make_user(role, org))
        assert client.get(url).status_code == 403
        assert client.post(url, {"slot": slot.token}).status_code == 403
    unchanged(appointment)


def test_history_on_the_desks_page_shows_the_patients_move(clinic, online, me):
    appointment = thursday_visit(clinic, me, online)
    move_online(me, appointment, move_slot(me, appointment, weekdays=frozenset({4})))
    detail = selectors.get_appointment(actor=clinic.desk, appointment_id=appointment.pk)
    kinds = [e.kind for e in detail.history]
    assert kinds == [AppointmentEventKind.BOOKED, AppointmentEventKind.RESCHEDULED]
    assert AppointmentEvent.objects.get(kind=AppointmentEventKind.RESCHEDULED).actor_id == me.user.pk
