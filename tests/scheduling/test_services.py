"""Scheduling use cases against the real database: booking, series, reschedule, cancel, check-in,
no-show, status steps, configuration, and what each refuses (changing nothing)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Conflict, ValidationFailed
from caredesk.patients import services as patient_services
from caredesk.patients.errors import PatientNotFound
from caredesk.scheduling import selectors, services
from caredesk.scheduling.errors import (
    AppointmentNotFound,
    BookingRuleViolation,
    InvalidTemplate,
    InvalidTime,
    InvalidTransition,
    ResourcesUnavailable,
    SeriesConflict,
    SlotConflict,
    StaleAppointment,
    VisitTypeNotFound,
)
from caredesk.scheduling.models import Appointment, AppointmentEvent, AppointmentResource
from caredesk.scheduling.services import BookingRequest, TemplateInput, WindowInput
from tests.patients.factories import make_patient, portal_user_for, staff_actor

from .conftest import MONDAY, NOW, at, book, weekly

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)


def audit_actions(patient_id=None) -> list[int]:
    events = AuditEvent.objects.order_by("pk")
    if patient_id is not None:
        events = events.filter(patient_id=patient_id)
    return list(events.values_list("action", flat=True))


def resource_names(appointment: Appointment) -> list[str]:
    return sorted(b.resource.name for b in appointment.bookings.select_related("resource"))


# --- booking ----------------------------------------------------------------------------------------------


def test_booking_holds_a_practitioner_and_a_room_and_records_it(clinic):
    patient = clinic.patient()
    appointment = book(clinic, at(MONDAY, 9), patient=patient, notes="Bring the cuff readings")
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert appointment.local_start == at(MONDAY, 9)
    assert appointment.local_end == at(MONDAY, 9, 20)
    assert appointment.starts_at.utcoffset() == dt.timedelta(0)  # stored in UTC
    assert resource_names(appointment) == ["Cora Heart, MD", "Exam 1"]
    assert appointment.booked_by_name == "front_desk-bot"
    assert appointment.join_url == ""
    (event,) = appointment.events.all()
    assert (event.kind, event.to_status) == ("booked", "booked")
    assert event.detail["start"] == "2027-03-01T09:00:00-05:00"
    assert audit_actions(patient.pk)[-1] == AuditAction.APPOINTMENT_CREATE


def test_a_taken_time_is_refused_with_the_appointments_in_the_way(clinic):
    first = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    before = Appointment.objects.count()
    with pytest.raises(SlotConflict) as refused:
        book(clinic, at(MONDAY, 9, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk])
    assert refused.value.details["detected_by"] == "check"
    assert refused.value.details["conflicts"] == [
        {
            "resource_id": clinic.dr_heart.pk,
            "resource": "Cora Heart, MD",
            "appointment_id": first.pk,
            "start": "2027-03-01T09:00:00-05:00",
            "end": "2027-03-01T09:20:00-05:00",
        }
    ]
    assert "Cora Heart, MD already booked" in refused.value.message
    assert Appointment.objects.count() == before


def test_without_resources_the_first_free_combination_is_taken_until_none_is_left(clinic):
    first = book(clinic, at(MONDAY, 9))
    second = book(clinic, at(MONDAY, 9))
    assert resource_names(first) == ["Cora Heart, MD", "Exam 1"]
    assert resource_names(second) == ["Exam 2", "Finn Family, MD"]
    with pytest.raises(SlotConflict) as refused:
        book(clinic, at(MONDAY, 9, 5))
    assert {c["appointment_id"] for c in refused.value.details["conflicts"]} == {first.pk, second.pk}
    # Asking for a practitioner narrows the choice.
    with_family = book(clinic, at(MONDAY, 9, 20), practitioner_id=clinic.family.pk)
    assert "Finn Family, MD" in resource_names(with_family)


def test_buffers_keep_the_time_after_a_visit_free(clinic):
    book(clinic, at(MONDAY, 9), clinic.new_patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    with pytest.raises(SlotConflict):  # 09:00-09:40 plus 10 minutes after
        book(clinic, at(MONDAY, 9, 45), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk])
    book(clinic, at(MONDAY, 9, 50), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])


def test_resources_must_work_then_and_fit_the_visit_type(clinic):
    for start in (at(MONDAY, 12, 30), at(MONDAY + dt.timedelta(days=5), 9), at(MONDAY, 16, 50)):
        with pytest.raises(ResourcesUnavailable):  # lunch, Saturday, running past 17:00
            book(clinic, start)
    with pytest.raises(ResourcesUnavailable, match="do not match"):
        book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.procedure.pk])
    with pytest.raises(ResourcesUnavailable, match="do not match"):
        book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk, clinic.exam2.pk])
    with pytest.raises(ValidationFailed, match="does not offer"):
        book(clinic, at(MONDAY, 9), clinic.echo, practitioner_id=clinic.family.pk)
    echo = book(clinic, at(MONDAY, 9), clinic.echo)
    assert resource_names(echo) == ["Cora Heart, MD", "Echo cart", "Procedure"]
    assert Appointment.objects.count() == 1


def test_time_off_closures_and_holidays_take_time_away(clinic):
    services.add_availability_exception(
        actor=clinic.admin,
        kind="time_off",
        resource_id=clinic.dr_heart.pk,
        starts_at=at(MONDAY, 8),
        ends_at=at(MONDAY, 10),
    )
    with pytest.raises(ResourcesUnavailable, match="not available then"):
        book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    assert "Finn Family, MD" in resource_names(book(clinic, at(MONDAY, 9)))
    services.add_availability_exception(
        actor=clinic.admin,
        kind="closure",
        location_id=clinic.location.pk,
        starts_at=at(TUESDAY, 0),
        ends_at=at(TUESDAY + dt.timedelta(days=1), 0),
        reason="Water main repair",
    )
    with pytest.raises(ResourcesUnavailable):
        book(clinic, at(TUESDAY, 10))
    services.add_availability_exception(
        actor=clinic.admin, kind="holiday", starts_at=at(MONDAY, 15), ends_at=at(MONDAY, 17)
    )
    with pytest.raises(ResourcesUnavailable):
        book(clinic, at(MONDAY, 15, 30))


@pytest.mark.parametrize(
    ("start", "error", "code"),
    [
        (dt.datetime(2027, 3, 1, 9, 0), InvalidTime, "invalid_timezone"),  # naive
        (at(MONDAY, 9, 0).replace(second=30), InvalidTime, "invalid_time"),
        (NOW - dt.timedelta(days=1), InvalidTime, "invalid_time"),  # past
        (at(MONDAY + dt.timedelta(days=181), 9), BookingRuleViolation, "booking_rule"),
    ],
)
def test_bad_times_are_refused_and_change_nothing(clinic, start, error, code):
    with pytest.raises(error) as refused:
        book(clinic, start)
    assert refused.value.code == code
    assert not Appointment.objects.exists()
    assert AppointmentEvent.objects.count() == 0


def test_an_aware_time_in_another_zone_is_the_same_instant(clinic):
    chicago = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    assert book(clinic, chicago).local_start == at(MONDAY, 9)


def test_unknown_visit_type_patient_and_location(clinic, other_org):
    with pytest.raises(VisitTypeNotFound):
        book(clinic, at(MONDAY, 9), visit_type=type("VT", (), {"pk": 999_999})())
    stranger = make_patient(staff_actor(other_org, Role.ADMINISTRATOR))
    with pytest.raises(PatientNotFound):
        book(clinic, at(MONDAY, 9), patient=stranger)
    elsewhere = Location.objects.get(organization=other_org)
    with pytest.raises(ValidationFailed, match="No location"):
        book(clinic, at(MONDAY, 9), location_id=elsewhere.pk)
    assert not Appointment.objects.exists()


def test_minimum_notice_and_new_patient_rules(clinic, frozen_clock):
    with pytest.raises(BookingRuleViolation, match="2 hours' notice"):
        book(clinic, at(MONDAY, 8, 30), clinic.new_patient)
    patient = clinic.patient()
    seen = book(clinic, at(MONDAY, 9), patient=patient)
    frozen_clock(at(MONDAY, 8, 55))
    services.check_in(actor=clinic.desk, appointment_id=seen.pk)
    services.change_status(actor=clinic.desk, appointment_id=seen.pk, status="fulfilled")
    with pytest.raises(BookingRuleViolation, match="for new patients"):
        book(clinic, at(TUESDAY, 9), clinic.new_patient, patient=patient)
    assert book(clinic, at(TUESDAY, 9), clinic.new_patient).status == "booked"


def test_telehealth_needs_no_room_and_carries_a_join_link(clinic):
    video = book(clinic, at(MONDAY, 9), clinic.video, modality="telehealth")
    assert video.modality == "telehealth"
    assert video.join_url.startswith("https://")
    assert resource_names(video) == ["Cora Heart, MD"]
    in_person = book(clinic, at(MONDAY, 9), clinic.video)
    assert in_person.modality == "in_person"
    assert resource_names(in_person) == ["Exam 1", "Finn Family, MD"]
    with pytest.raises(ValidationFailed, match="in person only"):
        book(clinic, at(MONDAY, 10), clinic.follow_up, modality="telehealth")


def test_only_roles_that_book_may_book(clinic):
    patient = clinic.patient()
    for role in (Role.NURSE, Role.PHYSICIAN, Role.BILLING):
        with pytest.raises(PermissionDenied):
            book(clinic, at(MONDAY, 9), patient=patient, actor=staff_actor(clinic.org, role))
    assert book(clinic, at(MONDAY, 9), patient=patient, actor=staff_actor(clinic.org, Role.COORDINATOR))


# --- series -----------------------------------------------------------------------------------------------


def test_a_weekly_series_is_booked_whole_and_keeps_local_time_across_dst(clinic):
    patient = clinic.patient()
    request = BookingRequest(
        patient_id=patient.pk,
        visit_type_id=clinic.follow_up.pk,
        location_id=clinic.location.pk,
        start=at(MONDAY, 9),
    )
    appointments = services.book_series(actor=clinic.desk, request=request, every_weeks=1, occurrences=4)
    assert [a.local_start for a in appointments] == [at(MONDAY + dt.timedelta(weeks=n), 9) for n in range(4)]
    assert len({a.series_id for a in appointments}) == 1
    assert {tuple(resource_names(a)) for a in appointments} == {("Cora Heart, MD", "Exam 1")}
    assert audit_actions(patient.pk)[-1] == AuditAction.APPOINTMENT_SERIES_CREATE


def test_a_series_with_conflicts_books_nothing_and_lists_every_failed_occurrence(clinic):
    week3 = MONDAY + dt.timedelta(weeks=2)
    blocker = book(clinic, at(week3, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    services.add_availability_exception(
        actor=clinic.admin,
        kind="time_off",
        resource_id=clinic.dr_heart.pk,
        starts_at=at(MONDAY + dt.timedelta(weeks=3), 0),
        ends_at=at(MONDAY + dt.timedelta(weeks=3), 23),
    )
    before = Appointment.objects.count()
    request = BookingRequest(
        patient_id=clinic.patient().pk,
        visit_type_id=clinic.follow_up.pk,
        location_id=clinic.location.pk,
        start=at(MONDAY, 9),
        resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk],
    )
    with pytest.raises(SeriesConflict) as refused:
        services.book_series(actor=clinic.desk, request=request, every_weeks=1, occurrences=5)
    failed = refused.value.occurrences
    assert [(f["index"], f["code"]) for f in failed] == [(3, "slot_conflict"), (4, "resources_unavailable")]
    assert failed[0]["conflicts"][0]["appointment_id"] == blocker.pk
    assert "2 of 5" in refused.value.message
    assert Appointment.objects.count() == before


# --- changes ----------------------------------------------------------------------------------------------


def test_reschedule_moves_the_appointment_and_keeps_its_history(clinic):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    moved = services.reschedule_appointment(
        actor=clinic.desk,
        appointment_id=appointment.pk,
        start=at(TUESDAY, 10),
        expected_version=1,
        reason="Car",
    )
    assert moved.pk == appointment.pk
    assert moved.local_start == at(TUESDAY, 10)
    assert moved.version == 2
    assert resource_names(moved) == ["Cora Heart, MD", "Exam 1"]  # kept, being free
    event = moved.events.get(kind="rescheduled")
    assert event.detail["from"]["start"] == "2027-03-01T09:00:00-05:00"
    assert event.detail["to"]["start"] == "2027-03-02T10:00:00-05:00"
    assert event.detail["reason"] == "Car"
    # The old time is free again; the new one is held.
    book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    with pytest.raises(SlotConflict):
        book(clinic, at(TUESDAY, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    with pytest.raises(StaleAppointment):
        services.reschedule_appointment(
            actor=clinic.desk, appointment_id=appointment.pk, start=at(TUESDAY, 11), expected_version=1
        )


def test_a_refused_reschedule_changes_nothing(clinic):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    book(clinic, at(MONDAY, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk])
    with pytest.raises(SlotConflict):
        services.reschedule_appointment(
            actor=clinic.desk,
            appointment_id=appointment.pk,
            start=at(MONDAY, 10, 10),
            resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk],
        )
    appointment.refresh_from_db()
    assert (appointment.local_start, appointment.version) == (at(MONDAY, 9), 1)
    assert AppointmentResource.objects.filter(appointment=appointment, active=True).count() == 2
    # Moving within its own time (overlapping itself) is fine.
    services.reschedule_appointment(actor=clinic.desk, appointment_id=appointment.pk, start=at(MONDAY, 9, 10))


def test_cancel_frees_the_time_and_keeps_the_appointment(clinic):
    patient = clinic.patient()
    appointment = book(
        clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    with pytest.raises(ValidationFailed):
        services.cancel_appointment(actor=clinic.desk, appointment_id=appointment.pk, reason="bored")
    with pytest.raises(ValidationFailed, match="Note is required"):
        services.cancel_appointment(actor=clinic.desk, appointment_id=appointment.pk, reason="other")
    cancelled = services.cancel_appointment(
        actor=clinic.desk, appointment_id=appointment.pk, reason="patient_request", note="Feeling better"
    )
    assert (cancelled.status, cancelled.cancel_reason, cancelled.cancel_note) == (
        "cancelled",
        "patient_request",
        "Feeling better",
    )
    assert not AppointmentResource.objects.filter(appointment=appointment, active=True).exists()
    assert AppointmentResource.objects.filter(appointment=appointment).count() == 2  # kept, inactive
    assert book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    with pytest.raises(InvalidTransition):
        services.cancel_appointment(
            actor=clinic.desk, appointment_id=appointment.pk, reason="patient_request"
        )
    with pytest.raises(InvalidTransition):
        services.reschedule_appointment(
            actor=clinic.desk, appointment_id=appointment.pk, start=at(TUESDAY, 9)
        )
    assert [e.kind for e in appointment.events.all()] == ["booked", "cancelled"]
    assert AuditAction.APPOINTMENT_CANCEL in audit_actions(patient.pk)


def test_check_in_on_the_day_then_start_and_complete(clinic, frozen_clock):
    today = book(clinic, at(MONDAY, 9))
    tomorrow = book(clinic, at(TUESDAY, 9))
    frozen_clock(at(MONDAY, 8, 50))
    with pytest.raises(InvalidTransition, match="day of the appointment"):
        services.check_in(actor=clinic.desk, appointment_id=tomorrow.pk)
    arrived = services.check_in(actor=clinic.desk, appointment_id=today.pk)
    assert arrived.status == "arrived"
    assert arrived.arrived_at == at(MONDAY, 8, 50)
    assert arrived.events.get(kind="checked_in").detail["minutes_after_start"] == -10
    with pytest.raises(InvalidTransition):
        services.check_in(actor=clinic.desk, appointment_id=today.pk)
    services.change_status(actor=clinic.desk, appointment_id=today.pk, status="in_progress")
    done = services.change_status(actor=clinic.desk, appointment_id=today.pk, status="fulfilled")
    assert done.status == "fulfilled"
    assert AppointmentResource.objects.filter(appointment=today, active=True).count() == 2  # time was used
    with pytest.raises(InvalidTransition):
        services.change_status(actor=clinic.desk, appointment_id=today.pk, status="confirmed")
    with pytest.raises(ValidationFailed):
        services.change_status(actor=clinic.desk, appointment_id=tomorrow.pk, status="cancelled")


def test_no_show_after_the_grace_period_frees_the_time_and_counts(clinic, frozen_clock, settings):
    settings.CAREDESK_NO_SHOW_GRACE_MINUTES = 20
    patient = clinic.patient()
    appointment = book(
        clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    frozen_clock(at(MONDAY, 9, 19))
    with pytest.raises(InvalidTransition, match="20 minutes after"):
        services.mark_no_show(actor=clinic.desk, appointment_id=appointment.pk)
    frozen_clock(at(MONDAY, 9, 20))
    assert services.mark_no_show(actor=clinic.desk, appointment_id=appointment.pk).status == "noshow"
    assert not AppointmentResource.objects.filter(appointment=appointment, active=True).exists()
    detail = selectors.get_appointment(actor=clinic.desk, appointment_id=appointment.pk)
    assert detail.no_shows == 1
    assert [e.kind for e in detail.history] == ["booked", "no_show"]


def test_proposed_appointments_hold_time_until_booked_or_cancelled(clinic):
    proposed = book(clinic, at(MONDAY, 9), proposed=True, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    assert proposed.status == "proposed"
    with pytest.raises(SlotConflict):
        book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    assert (
        services.change_status(actor=clinic.desk, appointment_id=proposed.pk, status="booked").status
        == "booked"
    )


def test_another_organization_cannot_touch_or_see_an_appointment(clinic, other_org):
    appointment = book(clinic, at(MONDAY, 9))
    outsider = staff_actor(other_org, Role.ADMINISTRATOR)
    with pytest.raises(AppointmentNotFound):
        services.cancel_appointment(actor=outsider, appointment_id=appointment.pk, reason="patient_request")
    with pytest.raises(AppointmentNotFound):
        selectors.get_appointment(actor=outsider, appointment_id=appointment.pk)
    with pytest.raises(AppointmentNotFound):
        selectors.get_appointment(actor=staff_actor(clinic.org, Role.BILLING), appointment_id=appointment.pk)


def test_portal_patients_see_their_own_appointments_only(clinic, actor_of):
    patient = clinic.patient()
    mine = book(clinic, at(MONDAY, 9), patient=patient)
    theirs = book(clinic, at(MONDAY, 10))
    portal = actor_of(portal_user_for(patient))
    assert [a.pk for a in selectors.patient_appointments(actor=portal)] == [mine.pk]
    with pytest.raises(PatientNotFound):
        selectors.patient_appointments(actor=portal, patient_id=theirs.patient_id)
    assert selectors.get_appointment(actor=portal, appointment_id=mine.pk).appointment == mine
    with pytest.raises(AppointmentNotFound):
        selectors.get_appointment(actor=portal, appointment_id=theirs.pk)
    with pytest.raises(PermissionDenied):
        services.cancel_appointment(actor=portal, appointment_id=mine.pk, reason="patient_request")


def test_merging_patients_moves_their_appointments(clinic):
    source, target = clinic.patient(), clinic.patient()
    appointment = book(clinic, at(MONDAY, 9), patient=source)
    patient_services.merge_patients(
        actor=clinic.admin, source_id=source.pk, target_id=target.pk, reason="same"
    )
    appointment.refresh_from_db()
    assert appointment.patient_id == target.pk
    assert appointment.events.filter(kind="patient_merged").count() == 1


# --- configuration ----------------------------------------------------------------------------------------


def template(clinic, resource, windows, start=dt.date(2027, 6, 1), until=None, location=None):
    return services.create_availability_template(
        actor=clinic.admin,
        data=TemplateInput(
            resource_id=resource.pk,
            location_id=(location or clinic.location).pk,
            name="Extra",
            effective_from=start,
            effective_until=until,
            windows=windows,
        ),
    )


def test_overlapping_templates_are_refused(clinic):
    with pytest.raises(InvalidTemplate, match="overlaps"):  # the clinic week is open-ended
        template(clinic, clinic.dr_heart, weekly("11:00", "12:30", days=[0]))
    with pytest.raises(InvalidTemplate, match="Windows 1 and 2 overlap"):
        template(
            clinic, clinic.dr_heart, weekly("18:00", "20:00", days=[0]) + weekly("19:00", "21:00", days=[0])
        )
    with pytest.raises(InvalidTemplate, match="not after"):
        template(clinic, clinic.dr_heart, [WindowInput(5, dt.time(12), dt.time(9))])
    with pytest.raises(InvalidTemplate, match="before the first day"):
        template(clinic, clinic.dr_heart, weekly("09:00", "12:00", days=[5]), until=dt.date(2027, 5, 1))
    assert template(clinic, clinic.dr_heart, weekly("09:00", "12:00", days=[5]))  # Saturdays are free


def test_alternating_week_templates_at_two_sites_do_not_overlap(clinic, org):
    north = Location.objects.create(organization=org, name="Riverside North", state="NY")
    monday = dt.date(2027, 6, 7)
    template(clinic, clinic.dr_family, weekly("18:00", "20:00", days=[0], week_interval=2), start=monday)
    template(
        clinic,
        clinic.dr_family,
        weekly("18:00", "20:00", days=[0], week_interval=2),
        start=monday + dt.timedelta(weeks=1),
        location=north,
    )
    with pytest.raises(InvalidTemplate, match="first on 2027-06-21"):
        template(
            clinic,
            clinic.dr_family,
            weekly("19:00", "21:00", days=[0], week_interval=4),
            start=monday + dt.timedelta(weeks=2),
        )
    with pytest.raises(InvalidTemplate, match="another location"):
        template(clinic, clinic.exam1, weekly("19:00", "21:00", days=[6]), location=north)


def test_configuration_inputs_are_checked(clinic):
    with pytest.raises(InvalidTime, match="not after the start"):
        services.add_availability_exception(
            actor=clinic.admin,
            kind="time_off",
            resource_id=clinic.dr_heart.pk,
            starts_at=at(MONDAY, 10),
            ends_at=at(MONDAY, 9),
        )
    with pytest.raises(Conflict):
        services.create_resource(
            actor=clinic.admin, kind="room", location_id=clinic.location.pk, name="Exam 1"
        )
    with pytest.raises(Conflict, match="already schedulable"):
        services.create_resource(
            actor=clinic.admin,
            kind="practitioner",
            location_id=clinic.location.pk,
            practitioner_id=clinic.heart.pk,
        )
    with pytest.raises(ValidationFailed, match="at least one resource"):
        services.create_visit_type(
            actor=clinic.admin,
            data=services.VisitTypeInput(
                name="Nothing", code="nothing", duration_minutes=10, requirements=[]
            ),
        )
    with pytest.raises(ValidationFailed, match="duration"):
        services.create_visit_type(
            actor=clinic.admin,
            data=services.VisitTypeInput(
                name="Long", code="long", duration_minutes=0, requirements=[services.RequirementInput("room")]
            ),
        )
    with pytest.raises(PermissionDenied):
        services.create_resource(
            actor=clinic.desk, kind="room", location_id=clinic.location.pk, name="Exam 3"
        )
