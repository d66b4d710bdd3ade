"""Patient self-scheduling in the portal: a patient books a visit type the clinic offers online for
themselves (the desk's booking path: rules, the database's guard, history, audit) and cancels their own
visits early enough (the desk's cancellation: the time goes to the waitlist); anything else is refused with
a clear message and nothing changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission, Role
from caredesk.accounts.services import actor_for_user
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import Actor
from caredesk.patients.models import Patient
from caredesk.patients.schemas import TelecomInput
from caredesk.scheduling import selectors, services
from caredesk.scheduling.choices import (
    AppointmentEventKind,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
)
from caredesk.scheduling.errors import (
    AppointmentNotFound,
    BookingRuleViolation,
    CallToCancel,
    InvalidTransition,
    SlotConflict,
    VisitTypeNotFound,
)
from caredesk.scheduling.models import Appointment, VisitType, WaitlistOffer, WaitlistOpening
from caredesk.scheduling.services import RequirementInput, VisitTypeInput
from tests.patients.factories import portal_user_for, staff_actor

from .conftest import MONDAY, Clinic, at, book
from .test_setup_views import visit_type_post

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)
THURSDAY = MONDAY + dt.timedelta(days=3)


@dataclass
class Me:
    patient: Patient
    user: User
    actor: Actor


def online_visit_type(clinic: Clinic, code: str = "check-up", **fields: object) -> VisitType:
    """A visit type patients may book online: 20 minutes, one who offers it and an exam room, at least
    an hour's notice, up to 30 days ahead, cancellable online up to 24 hours before."""
    values: dict[str, object] = {
        "practitioner_ids": [clinic.heart.pk, clinic.family.pk],
        "min_notice_minutes": 60,
        "max_days_ahead": 30,
        "portal_bookable": True,
        "portal_cancel_notice_hours": 24,
        **fields,
    }
    return services.create_visit_type(
        actor=clinic.admin,
        data=VisitTypeInput(
            f"Check-up ({code})",
            code,
            20,
            [RequirementInput("practitioner"), RequirementInput("room", category="exam")],
            **values,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def online(clinic: Clinic) -> VisitType:
    return online_visit_type(clinic)


@pytest.fixture
def me(clinic: Clinic) -> Me:
    patient = clinic.patient(family_name="Portalova")
    user = portal_user_for(patient)
    return Me(patient, user, actor_for_user(user))


def book_online(me: Me, visit_type: VisitType, slot: selectors.Slot) -> Appointment:
    return services.book_from_portal(
        actor=me.actor,
        visit_type_id=visit_type.pk,
        start=slot.start,
        location_id=slot.location_id,
        resource_ids=list(slot.resource_ids),
    )


def first_slot(me: Me, visit_type: VisitType, **preferences: object) -> selectors.Slot:
    found = selectors.portal_slots(actor=me.actor, visit_type_id=visit_type.pk, **preferences)  # type: ignore[arg-type]
    assert found, "no free time"
    return found[0]


# --- the permission ----------------------------------------------------------------------------------------


def test_only_the_patient_role_may_schedule_in_the_portal():
    from caredesk.accounts.permissions import permissions_for

    holders = [role for role in Role.values if str(Permission.PORTAL_SELF_SCHEDULE) in permissions_for(role)]
    assert holders == [Role.PATIENT]


def test_staff_cannot_use_the_portal_services(clinic, online):
    slot_start = at(TUESDAY, 9)
    for actor in (clinic.desk, clinic.admin, staff_actor(clinic.org, Role.COORDINATOR)):
        with pytest.raises(PermissionDenied):
            services.book_from_portal(
                actor=actor, visit_type_id=online.pk, start=slot_start, location_id=clinic.location.pk
            )
        with pytest.raises(PermissionDenied):
            selectors.portal_slots(actor=actor, visit_type_id=online.pk)
    assert not Appointment.objects.exists()


# --- booking -----------------------------------------------------------------------------------------------


def test_a_patient_books_a_time_the_search_offered_for_themselves(clinic, online, me):
    slot = first_slot(me, online, weekdays=frozenset({1}), earliest=dt.time(9))  # Tuesday from 09:00
    assert slot.start == at(TUESDAY, 9)

    appointment = book_online(me, online, slot)

    assert appointment.patient_id == me.patient.pk
    assert appointment.source == AppointmentSource.PORTAL
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.booked_by_id == me.user.pk
    assert appointment.starts_at == at(TUESDAY, 9)
    assert sorted(appointment.bookings.values_list("resource_id", flat=True)) == sorted(slot.resource_ids)
    event = appointment.events.get()
    assert event.kind == AppointmentEventKind.BOOKED
    assert event.detail["source"] == AppointmentSource.PORTAL
    assert AuditEvent.objects.filter(
        action=int(AuditAction.APPOINTMENT_CREATE), patient_id=me.patient.pk, actor_id=me.user.pk
    ).exists()
    # The slot search was for the patient's own record, and audited as such.
    assert AuditEvent.objects.filter(
        action=int(AuditAction.APPOINTMENT_SEARCH), patient_id=me.patient.pk, actor_id=me.user.pk
    ).exists()
    # That time is gone from the next search.
    again = selectors.portal_slots(actor=me.actor, visit_type_id=online.pk, weekdays=frozenset({1}))
    assert slot.token not in {s.token for s in again}


def test_a_visit_type_not_offered_online_is_refused(clinic, online, me):
    with pytest.raises(VisitTypeNotFound, match="cannot be booked online"):
        services.book_from_portal(
            actor=me.actor,
            visit_type_id=clinic.follow_up.pk,
            start=at(TUESDAY, 9),
            location_id=clinic.location.pk,
        )
    with pytest.raises(VisitTypeNotFound):
        selectors.portal_slots(actor=me.actor, visit_type_id=clinic.follow_up.pk)
    services.set_visit_type_active(actor=clinic.admin, visit_type_id=online.pk, active=False)
    with pytest.raises(VisitTypeNotFound):
        services.book_from_portal(
            actor=me.actor, visit_type_id=online.pk, start=at(TUESDAY, 9), location_id=clinic.location.pk
        )
    assert not Appointment.objects.exists()


def test_another_organizations_visit_type_is_refused(clinic, online, me, other_org):
    theirs = services.create_visit_type(
        actor=staff_actor(other_org, Role.ADMINISTRATOR),
        data=VisitTypeInput(
            "Their check-up", "their-check-up", 20, [RequirementInput("practitioner")], portal_bookable=True
        ),
    )
    with pytest.raises(VisitTypeNotFound):
        services.book_from_portal(
            actor=me.actor, visit_type_id=theirs.pk, start=at(TUESDAY, 9), location_id=clinic.location.pk
        )
    assert list(selectors.portal_visit_types(me.actor)) == [online]
    assert not Appointment.objects.exists()


def test_the_booking_rules_hold_online(clinic, online, me):
    # Two hours' notice: the clock stands at Monday 07:00, so 08:00 is too soon.
    soon = online_visit_type(clinic, "soon", min_notice_minutes=120)
    with pytest.raises(BookingRuleViolation, match="notice"):
        services.book_from_portal(
            actor=me.actor,
            visit_type_id=soon.pk,
            start=at(MONDAY, 8),
            location_id=clinic.location.pk,
            resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk],
        )
    # Horizon: 30 days ahead at most.
    with pytest.raises(BookingRuleViolation, match="30 days ahead"):
        services.book_from_portal(
            actor=me.actor,
            visit_type_id=online.pk,
            start=at(MONDAY + dt.timedelta(days=45), 9),
            location_id=clinic.location.pk,
        )
    # Established patients only: this patient was never seen here.
    established = online_visit_type(clinic, "established-only", eligibility="established")
    with pytest.raises(BookingRuleViolation, match="established"):
        selectors.portal_slots(actor=me.actor, visit_type_id=established.pk)
    with pytest.raises(BookingRuleViolation, match="established"):
        services.book_from_portal(
            actor=me.actor, visit_type_id=established.pk, start=at(TUESDAY, 9), location_id=clinic.location.pk
        )
    assert not Appointment.objects.filter(patient=me.patient).exists()


def test_a_time_taken_meanwhile_is_a_clear_conflict_and_nothing_is_written(clinic, online, me):
    slot = first_slot(
        me, online, weekdays=frozenset({1}), earliest=dt.time(9), practitioner_id=clinic.heart.pk
    )
    someone = clinic.patient(family_name="Quickerton")
    taken = book(
        clinic, slot.start, online, patient=someone, resource_ids=list(slot.resource_ids)
    )  # the desk was quicker
    events, audits = Appointment.objects.count(), AuditEvent.objects.count()

    with pytest.raises(SlotConflict) as refused:
        book_online(me, online, slot)

    assert refused.value.message == "That time was just taken; pick another."
    assert "conflicts" not in refused.value.details  # whose appointment is in the way is not said
    assert str(taken.pk) not in str(refused.value.details)
    assert Appointment.objects.count() == events
    assert AuditEvent.objects.count() == audits
    assert not Appointment.objects.filter(patient=me.patient).exists()


def test_the_slots_never_name_other_patients(clinic, online, me):
    book(clinic, at(TUESDAY, 9), online, patient=clinic.patient(family_name="Neighbourly"))
    found = selectors.portal_slots(actor=me.actor, visit_type_id=online.pk, weekdays=frozenset({1}))
    assert found
    assert "Neighbourly" not in repr(found)


# --- cancelling --------------------------------------------------------------------------------------------


@pytest.fixture
def tasks_run_now(settings, tmp_path: Path) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CAREDESK_SMS_GATEWAY = "caredesk.scheduling.notify.FileSmsGateway"
    settings.CAREDESK_SMS_OUTBOX = tmp_path / "outbox.jsonl"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_a_patient_cancels_their_own_visit_and_the_time_goes_to_the_waitlist(
    clinic, online, me, tasks_run_now, django_capture_on_commit_callbacks
):
    appointment = book_online(me, online, first_slot(me, online, weekdays=frozenset({3})))  # Thursday
    waiting = clinic.patient(
        email="waiting@example.org",
        telecoms=[TelecomInput(value="(555) 010-3001", use="mobile")],
        email_allowed=True,
    )
    services.add_to_waitlist(
        actor=clinic.desk,
        data=services.WaitlistInput(patient_id=waiting.pk, visit_type_id=online.pk, channel="email"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.cancel_from_portal(
            actor=me.actor, appointment_id=appointment.pk, note="Feeling better"
        )

    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancel_reason == CancelReason.PATIENT_REQUEST
    assert cancelled.cancel_note == "Feeling better"
    event = cancelled.events.get(kind=AppointmentEventKind.CANCELLED)
    assert event.actor_id == me.user.pk
    assert AuditEvent.objects.filter(
        action=int(AuditAction.APPOINTMENT_CANCEL), patient_id=me.patient.pk, actor_id=me.user.pk
    ).exists()
    assert not cancelled.bookings.filter(active=True).exists()  # the time is free again
    opening = WaitlistOpening.objects.get(source=appointment)
    assert WaitlistOffer.objects.get(opening=opening).entry.patient_id == waiting.pk


def test_cancelling_too_close_to_the_start_says_to_call(clinic, online, me, frozen_clock):
    appointment = book_online(
        me, online, first_slot(me, online, weekdays=frozenset({1}), earliest=dt.time(9))
    )
    frozen_clock(at(MONDAY, 10))  # 23 hours before Tuesday 09:00

    with pytest.raises(CallToCancel, match="call the clinic"):
        services.cancel_from_portal(actor=me.actor, appointment_id=appointment.pk)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.bookings.filter(active=True).exists()


def test_a_visit_not_offered_online_is_cancelled_by_calling(clinic, me):
    appointment = book(clinic, at(THURSDAY, 9), patient=me.patient)  # the desk booked a follow-up
    with pytest.raises(CallToCancel, match="call the clinic"):
        services.cancel_from_portal(actor=me.actor, appointment_id=appointment.pk)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_someone_elses_appointment_is_not_found(clinic, online, me):
    theirs = book(clinic, at(THURSDAY, 9), online, patient=clinic.patient(family_name="Otherby"))
    with pytest.raises(AppointmentNotFound):
        services.cancel_from_portal(actor=me.actor, appointment_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED


def test_a_cancelled_visit_cannot_be_cancelled_again(clinic, online, me):
    appointment = book_online(me, online, first_slot(me, online, weekdays=frozenset({3})))
    services.cancel_from_portal(actor=me.actor, appointment_id=appointment.pk)
    with pytest.raises(InvalidTransition):
        services.cancel_from_portal(actor=me.actor, appointment_id=appointment.pk)


def test_staff_cannot_cancel_through_the_portal(clinic, online, me):
    appointment = book_online(me, online, first_slot(me, online, weekdays=frozenset({3})))
    with pytest.raises(PermissionDenied):
        services.cancel_from_portal(actor=clinic.desk, appointment_id=appointment.pk)


# --- the pages ---------------------------------------------------------------------------------------------


def test_staff_roles_cannot_open_the_portal_pages(clinic, online, me, client_as, make_user, org):
    appointment = book_online(me, online, first_slot(me, online, weekdays=frozenset({3})))
    for role in (Role.FRONT_DESK, Role.COORDINATOR, Role.ADMINISTRATOR, Role.NURSE):
        client = client_as(make_user(role, org))
        assert client.get(reverse("scheduling:my_book")).status_code == 403
        assert client.post(reverse("scheduling:my_cancel", args=[appointment.pk])).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_patient_books_through_the_pages(clinic, online, me, client_as):
    someone = clinic.patient(family_name="Neighbourly")
    book(clinic, at(TUESDAY, 9), online, patient=someone)
    client = client_as(me.user)

    mine = client.get(reverse("scheduling:my_appointments")).content.decode()
    assert reverse("scheduling:my_book") in mine

    picker = client.get(reverse("scheduling:my_book"))
    assert picker.status_code == 200
    body = picker.content.decode()
    assert online.name in body
    assert clinic.follow_up.name not in body  # not offered online

    search = client.get(
        reverse("scheduling:my_book"), {"visit_type": online.pk, "weekdays": ["1"], "time_of_day": "morning"}
    )
    assert search.status_code == 200
    slots = search.context["slots"]
    assert slots
    assert all(s.start.hour < 12 and s.start.weekday() == 1 for s in slots)
    assert "Neighbourly" not in search.content.decode()

    confirm = client.get(reverse("scheduling:my_book"), {"visit_type": online.pk, "slot": slots[0].token})
    assert confirm.status_code == 200
    assert "Confirm your visit" in confirm.content.decode()
    assert not Appointment.objects.filter(patient=me.patient).exists()  # nothing booked before confirming

    done = client.post(
        reverse("scheduling:my_book"), {"visit_type": online.pk, "slot": slots[0].token}, follow=True
    )
    assert done.status_code == 200
    page = done.content.decode()
    assert "Booked: Check-up (check-up) on Tuesday 2 March 2027" in page
    appointment = Appointment.objects.get(patient=me.patient)
    assert appointment.source == AppointmentSource.PORTAL
    assert "Cancel visit" in page


def test_a_taken_time_sends_the_patient_back_to_pick_another(clinic, online, me, client_as):
    slot = first_slot(
        me, online, weekdays=frozenset({1}), earliest=dt.time(9), practitioner_id=clinic.heart.pk
    )
    book(clinic, slot.start, online, resource_ids=list(slot.resource_ids))
    response = client_as(me.user).post(
        reverse("scheduling:my_book"), {"visit_type": online.pk, "slot": slot.token}
    )
    assert response.status_code == 409
    assert "That time was just taken; pick another." in response.content.decode()
    assert not Appointment.objects.filter(patient=me.patient).exists()


def test_a_forged_slot_is_refused(clinic, online, me, client_as):
    client = client_as(me.user)
    response = client.post(reverse("scheduling:my_book"), {"visit_type": online.pk, "slot": "tomorrow|1|2"})
    assert response.status_code == 400
    confirm = client.get(reverse("scheduling:my_book"), {"visit_type": clinic.follow_up.pk, "slot": "x"})
    assert confirm.status_code == 400
    assert not Appointment.objects.exists()


def test_the_list_offers_cancel_or_says_to_call(clinic, online, me, client_as, frozen_clock):
    later = book_online(me, online, first_slot(me, online, weekdays=frozenset({3})))
    soon = book_online(me, online, first_slot(me, online, weekdays=frozenset({0}), earliest=dt.time(13)))
    desk_booked = book(clinic, at(THURSDAY, 15), patient=me.patient)
    client = client_as(me.user)

    page = client.get(reverse("scheduling:my_appointments")).content.decode()
    assert page.count('data-testid="portal-cancel"') == 1
    assert reverse("scheduling:my_cancel", args=[later.pk]) in page
    assert reverse("scheduling:my_cancel", args=[soon.pk]) not in page
    assert reverse("scheduling:my_cancel", args=[desk_booked.pk]) not in page
    assert page.count('data-testid="call-to-cancel"') == 2

    refused = client.post(reverse("scheduling:my_cancel", args=[soon.pk]), {"note": "sorry"})
    assert refused.status_code == 409
    assert "call the clinic" in refused.content.decode()
    soon.refresh_from_db()
    assert soon.status == AppointmentStatus.BOOKED

    done = client.post(
        reverse("scheduling:my_cancel", args=[later.pk]), {"note": "Feeling better"}, follow=True
    )
    assert "Cancelled: Check-up (check-up) on Thursday 4 March 2027" in done.content.decode()
    later.refresh_from_db()
    assert later.status == AppointmentStatus.CANCELLED
    assert later.cancel_note == "Feeling better"


def test_cancelling_someone_elses_appointment_answers_404(clinic, online, me, client_as):
    theirs = book(clinic, at(THURSDAY, 9), online)
    response = client_as(me.user).post(reverse("scheduling:my_cancel", args=[theirs.pk]), {"note": "x"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED


def test_a_manager_offers_a_visit_type_online_on_the_setup_page(clinic, client_as, make_user, org):
    manager = client_as(make_user(Role.COORDINATOR, org))
    post = visit_type_post(clinic, portal_bookable="on", portal_cancel_notice_hours="12")
    response = manager.post(reverse("scheduling:setup_visit_type_new"), post)
    assert response.status_code == 302
    knee = VisitType.objects.get(code="knee")
    assert knee.portal_bookable
    assert knee.portal_cancel_notice_hours == 12
    listing = manager.get(reverse("scheduling:setup_visit_types")).content.decode()
    assert "online too (cancel up to 12 h before)" in listing
    # Left alone, a new visit type is booked at the desk only, cancellable online up to 24 hours before.
    manager.post(reverse("scheduling:setup_visit_type_new"), visit_type_post(clinic, code="knee-2"))
    plain = VisitType.objects.get(code="knee-2")
    assert not plain.portal_bookable
    assert plain.portal_cancel_notice_hours == 24


def test_a_patient_holds_only_so_many_visits_booked_online(clinic, online, me, settings):
    settings.CAREDESK_PORTAL_MAX_UPCOMING = 2

    def next_free() -> selectors.Slot:  # on Tuesday: far enough ahead to cancel online
        return selectors.portal_slots(actor=me.actor, visit_type_id=online.pk, weekdays=frozenset({1}))[0]

    booked = [book_online(me, online, next_free()), book_online(me, online, next_free())]
    before = Appointment.objects.count()

    with pytest.raises(BookingRuleViolation, match="2 upcoming visits booked online") as refused:
        book_online(me, online, next_free())

    assert refused.value.code == "portal_limit"
    assert "call the clinic" in refused.value.message
    assert Appointment.objects.count() == before
    # Cancelling one makes room again.
    services.cancel_from_portal(actor=me.actor, appointment_id=booked[0].pk)
    again = book_online(me, online, next_free())
    assert again.source == AppointmentSource.PORTAL
