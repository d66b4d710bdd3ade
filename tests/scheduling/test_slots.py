"""Slot search and "third next available" on the real database: the earliest start times at which every
resource a visit type needs is free, within its booking rules and the patient's preferences."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import ValidationFailed
from caredesk.scheduling import selectors, services
from caredesk.scheduling.errors import BookingRuleViolation, InvalidTime
from caredesk.scheduling.selectors import SlotQuery
from caredesk.scheduling.services import TemplateInput

from .conftest import MONDAY, at, book, weekly

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)


def search(clinic, visit_type=None, **kwargs):
    return selectors.find_slots(
        actor=clinic.desk, query=SlotQuery(visit_type_id=(visit_type or clinic.follow_up).pk, **kwargs)
    )


def starts(slots) -> list[str]:
    return [s.start.strftime("%a %H:%M") for s in slots]


def test_earliest_slots_from_now_on_the_grid(clinic):
    slots = search(clinic, limit=5)
    assert starts(slots) == ["Mon 08:00", "Mon 08:15", "Mon 08:30", "Mon 08:45", "Mon 09:00"]
    first = slots[0]
    assert first.start.tzinfo is not None
    assert first.start.utcoffset() == dt.timedelta(hours=-5)
    assert [r.name for r in first.resources] == ["Cora Heart, MD", "Exam 1"]
    assert first.location_name == "Riverside Main Clinic"
    # Booking a slot exactly as offered succeeds.
    appointment = book(clinic, first.start, resource_ids=list(first.resource_ids))
    assert appointment.local_start == first.start


def test_minimum_notice_and_buffers_shape_the_slots(clinic):
    assert starts(search(clinic, clinic.new_patient, limit=2)) == ["Mon 09:00", "Mon 09:15"]  # 2 h notice
    book(clinic, at(MONDAY, 8), practitioner_id=clinic.heart.pk)  # 08:00-08:20
    book(clinic, at(MONDAY, 8), practitioner_id=clinic.family.pk)
    assert starts(search(clinic, limit=1)) == ["Mon 08:30"]  # 08:20 is off the 15-minute grid


def test_busy_practitioners_and_rooms_are_skipped(clinic):
    for hour in (8, 9, 10, 11):
        for minute in (0, 20, 40):
            book(clinic, at(MONDAY, hour, minute), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    slots = search(clinic, practitioner_id=clinic.heart.pk, limit=2)
    assert starts(slots) == ["Mon 13:00", "Mon 13:15"]
    others = search(clinic, limit=1)
    assert [r.name for r in others[0].resources] == ["Finn Family, MD", "Exam 2"]  # requirement order
    assert starts(others) == ["Mon 08:00"]


def test_preferences_days_times_and_date_range(clinic):
    slots = search(clinic, weekdays=frozenset({1, 3}), earliest=dt.time(14), latest=dt.time(15), limit=6)
    assert starts(slots) == ["Tue 14:00", "Tue 14:15", "Tue 14:30", "Tue 14:45", "Tue 15:00", "Thu 14:00"]
    ranged = search(
        clinic, first_day=MONDAY + dt.timedelta(days=7), last_day=MONDAY + dt.timedelta(days=7), limit=1
    )
    assert [s.start for s in ranged] == [at(MONDAY + dt.timedelta(days=7), 8)]
    with pytest.raises(InvalidTime):
        search(clinic, first_day=TUESDAY, last_day=MONDAY)
    with pytest.raises(ValidationFailed):
        search(clinic, weekdays=frozenset())


def test_telehealth_slots_need_the_practitioner_only(clinic):
    book(clinic, at(MONDAY, 8), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    book(clinic, at(MONDAY, 8), resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    in_person = search(clinic, clinic.video, limit=1)
    video = search(clinic, clinic.video, modality="telehealth", limit=1)
    assert starts(in_person) == starts(video) == ["Mon 08:30"]
    assert [r.kind for r in video[0].resources] == ["practitioner"]
    with pytest.raises(ValidationFailed, match="in person only"):
        search(clinic, modality="telehealth")


def test_reserved_blocks_serve_their_visit_type_only(clinic):
    services.create_availability_template(
        actor=clinic.admin,
        data=TemplateInput(
            resource_id=clinic.exam1.pk,
            location_id=clinic.location.pk,
            name="Saturdays",
            effective_from=MONDAY,
            windows=weekly("08:00", "12:00", days=[5]),
        ),
    )
    services.create_availability_template(
        actor=clinic.admin,
        data=TemplateInput(
            resource_id=clinic.dr_heart.pk,
            location_id=clinic.location.pk,
            name="Saturday new-patient clinic",
            effective_from=MONDAY,
            windows=weekly("09:00", "11:00", days=[5], reserved_for_id=clinic.new_patient.pk),
        ),
    )
    saturday = MONDAY + dt.timedelta(days=5)
    new_slots = search(
        clinic, clinic.new_patient, practitioner_id=clinic.heart.pk, first_day=saturday, limit=3
    )
    assert starts(new_slots) == ["Sat 09:00", "Sat 09:15", "Sat 09:30"]
    follow_ups = search(clinic, practitioner_id=clinic.heart.pk, first_day=saturday, limit=1)
    assert follow_ups[0].start.date() == saturday + dt.timedelta(days=2)  # not Saturday: reserved


def test_exceptions_remove_slots(clinic):
    services.add_availability_exception(
        actor=clinic.admin, kind="holiday", starts_at=at(MONDAY, 0), ends_at=at(TUESDAY, 0), reason="Holiday"
    )
    services.add_availability_exception(
        actor=clinic.admin,
        kind="partial_day",
        resource_id=clinic.dr_heart.pk,
        starts_at=at(TUESDAY, 8),
        ends_at=at(TUESDAY, 10),
    )
    assert starts(search(clinic, practitioner_id=clinic.heart.pk, limit=1)) == ["Tue 10:00"]


def test_echo_needs_the_procedure_room_and_the_machine(clinic):
    book(clinic, at(MONDAY, 8), clinic.echo)  # 08:00-09:00: takes the machine
    assert starts(search(clinic, clinic.echo, limit=1)) == ["Mon 09:00"]


def test_third_next_available(clinic):
    for hour in range(8, 12):
        for minute in (0, 20, 40):
            book(clinic, at(MONDAY, hour, minute), resource_ids=[clinic.dr_family.pk, clinic.exam1.pk])
    third = selectors.third_next_available(
        actor=clinic.desk, visit_type_id=clinic.follow_up.pk, practitioner_id=clinic.family.pk
    )
    assert third.start == at(MONDAY, 13, 30)
    assert third.days_out == 0
    nothing = selectors.third_next_available(
        actor=clinic.desk, visit_type_id=clinic.echo.pk, practitioner_id=clinic.heart.pk, location_id=None
    )
    assert nothing.start is not None  # the echo has room too


def test_searching_for_a_patient_checks_eligibility_and_is_audited(clinic, frozen_clock):
    patient = clinic.patient()
    seen = book(clinic, at(MONDAY, 9), patient=patient)
    frozen_clock(at(MONDAY, 9))
    services.check_in(actor=clinic.desk, appointment_id=seen.pk)
    with pytest.raises(BookingRuleViolation):
        search(clinic, clinic.new_patient, patient_id=patient.pk)
    assert AuditEvent.objects.filter(
        action=int(AuditAction.APPOINTMENT_SEARCH), patient_id=patient.pk
    ).exists()
    with pytest.raises(ValidationFailed, match="does not offer"):
        search(clinic, clinic.echo, practitioner_id=clinic.family.pk)
