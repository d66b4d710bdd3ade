"""A small clinic to schedule in, built through the services like an administrator would.

Riverside Main Clinic (America/New_York): Dr. Cora Heart (cardiology) and Dr. Finn Family (family
medicine), exam rooms "Exam 1" and "Exam 2", a procedure room and an echo machine. Practitioners work
Monday to Friday 08:00-12:00 and 13:00-17:00, rooms and the machine 07:00-18:00. The clock stands still at
Monday 1 March 2027, 07:00 local (12:00 UTC), two weeks before the daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.patients.models import Patient
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from caredesk.scheduling import clock, services
from caredesk.scheduling.models import Resource, VisitType
from caredesk.scheduling.services import RequirementInput, TemplateInput, VisitTypeInput, WindowInput
from tests.patients.factories import make_patient, staff_actor
from tests.practitioners.conftest import valid_npi

NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2027, 3, 1, 7, 0, tzinfo=NY)  # a Monday
MONDAY = NOW.date()
WEEKDAYS = range(5)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A local (New York) time on `day`."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


def weekly(start: str, end: str, days: range | list[int] = WEEKDAYS, **kwargs: Any) -> list[WindowInput]:
    return [WindowInput(d, dt.time.fromisoformat(start), dt.time.fromisoformat(end), **kwargs) for d in days]


@dataclass
class Clinic:
    org: Organization
    location: Location
    admin: Actor  # administrator: configures the schedule
    desk: Actor  # front desk: books
    heart: Practitioner
    family: Practitioner
    dr_heart: Resource
    dr_family: Resource
    exam1: Resource
    exam2: Resource
    procedure: Resource
    echo_machine: Resource
    follow_up: VisitType  # 20 min, any practitioner who offers it + an exam room
    new_patient: VisitType  # 40 min + 10 min after, new patients only, min notice 2 h
    echo: VisitType  # 60 min, Dr. Heart + the procedure room + the echo machine
    video: VisitType  # 20 min, in person or telehealth

    def patient(self, **fields: Any) -> Patient:
        return make_patient(self.admin, **fields)


@pytest.fixture
def frozen_clock(monkeypatch) -> Callable[[dt.datetime], None]:
    """Stop scheduling's clock at NOW; call the fixture's value to move it."""
    current = {"now": NOW}
    monkeypatch.setattr(clock, "now", lambda: current["now"].astimezone(dt.UTC))

    def move(to: dt.datetime) -> None:
        current["now"] = to

    return move


def build_clinic(org: Organization) -> Clinic:
    admin = staff_actor(org, Role.ADMINISTRATOR)
    location = Location.objects.get(organization=org, name="Riverside Main Clinic")

    def practitioner(given: str, family: str, specialty: str, n: int) -> Practitioner:
        return create_practitioner(
            actor=admin,
            data=PractitionerInput(
                given_name=given,
                family_name=family,
                npi=valid_npi(9000 + n),
                specialty=specialty,
                credentials="MD",
                location_ids=[location.pk],
            ),
        )

    heart = practitioner("Cora", "Heart", "cardiology", 1)
    family = practitioner("Finn", "Family", "family_medicine", 2)

    def resource(kind: str, name: str = "", **kwargs: Any) -> Resource:
        return services.create_resource(actor=admin, kind=kind, location_id=location.pk, name=name, **kwargs)

    dr_heart = resource("practitioner", practitioner_id=heart.pk)
    dr_family = resource("practitioner", practitioner_id=family.pk)
    exam1 = resource("room", "Exam 1", category="exam")
    exam2 = resource("room", "Exam 2", category="exam")
    procedure = resource("room", "Procedure", category="procedure")
    echo_machine = resource("equipment", "Echo cart", category="ultrasound")

    def visit_type(code: str, name: str, duration: int, requirements: list[RequirementInput], **kwargs: Any):
        return services.create_visit_type(
            actor=admin,
            data=VisitTypeInput(
                name=name, code=code, duration_minutes=duration, requirements=requirements, **kwargs
            ),
        )

    doctor = RequirementInput("practitioner")
    exam_room = RequirementInput("room", category="exam")
    follow_up = visit_type(
        "follow-up", "Follow-up visit", 20, [doctor, exam_room], practitioner_ids=[heart.pk, family.pk]
    )
    new_patient = visit_type(
        "new-patient",
        "New patient visit",
        40,
        [doctor, exam_room],
        practitioner_ids=[heart.pk, family.pk],
        buffer_after_minutes=10,
        eligibility="new",
        min_notice_minutes=120,
    )
    echo = visit_type(
        "echo",
        "Echocardiogram",
        60,
        [
            doctor,
            RequirementInput("room", category="procedure"),
            RequirementInput("equipment", echo_machine.pk),
        ],
        practitioner_ids=[heart.pk],
    )
    video = visit_type(
        "video-follow-up",
        "Follow-up (video or in person)",
        20,
        [doctor, exam_room],
        practitioner_ids=[heart.pk, family.pk],
        modality="either",
    )

    start = dt.date(2027, 1, 1)
    for res in (dr_heart, dr_family):
        services.create_availability_template(
            actor=admin,
            data=TemplateInput(
                resource_id=res.pk,
                location_id=location.pk,
                name="Clinic week",
                effective_from=start,
                windows=weekly("08:00", "12:00") + weekly("13:00", "17:00"),
            ),
        )
    for res in (exam1, exam2, procedure, echo_machine):
        services.create_availability_template(
            actor=admin,
            data=TemplateInput(
                resource_id=res.pk,
                location_id=location.pk,
                name="Open hours",
                effective_from=start,
                windows=weekly("07:00", "18:00"),
            ),
        )
    return Clinic(
        org=org,
        location=location,
        admin=admin,
        desk=staff_actor(org, Role.FRONT_DESK),
        heart=heart,
        family=family,
        dr_heart=dr_heart,
        dr_family=dr_family,
        exam1=exam1,
        exam2=exam2,
        procedure=procedure,
        echo_machine=echo_machine,
        follow_up=follow_up,
        new_patient=new_patient,
        echo=echo,
        video=video,
    )


@pytest.fixture
def clinic(org, frozen_clock) -> Clinic:
    return build_clinic(org)


def book(clinic: Clinic, start: dt.datetime, visit_type: VisitType | None = None, **kwargs: Any):
    """Book through the service as the front desk (a new patient unless one is given)."""
    patient = kwargs.pop("patient", None) or clinic.patient()
    actor = kwargs.pop("actor", clinic.desk)
    return services.book_appointment(
        actor=actor,
        request=services.BookingRequest(
            patient_id=patient.pk,
            visit_type_id=(visit_type or clinic.follow_up).pk,
            location_id=kwargs.pop("location_id", clinic.location.pk),
            start=start,
            **kwargs,
        ),
    )
