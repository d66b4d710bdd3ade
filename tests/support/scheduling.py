"""The matrix world's schedules, built on first use through the scheduling services.

In the first organization: the world's practitioner and a room, bookable every day around the clock at
the world's location, a 30-minute visit type, and an appointment of the sample patient tomorrow. The other
organization gets the same (with a practitioner of its own) when one of its users books: a booking names
its organization's patient, visit type and location. `fresh_appointment` books another appointment each
time (for endpoints that change one and are called once per allowed role)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.core.context import Actor
from caredesk.patients.models import Patient
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from caredesk.scheduling import services, surgery
from caredesk.scheduling.models import (
    Appointment,
    AvailabilityException,
    AvailabilityTemplate,
    Resource,
    SurgeryPlan,
    SurgicalCase,
    VisitType,
)
from tests.practitioners.conftest import valid_npi

if TYPE_CHECKING:
    from .world import World


@dataclass
class Schedule:
    patient: Patient
    location: Location
    practitioner: Resource
    room: Resource
    visit_type: VisitType
    appointment: Appointment | None  # the first organization's sample appointment
    zone: ZoneInfo
    counter: itertools.count


def schedule_of(world: World, organization: Organization | None = None) -> Schedule:
    """The schedule of `organization` (default: the first one)."""
    first = organization is None or organization.pk == world.org.pk
    key = "_schedule" if first else "_other_schedule"
    found = world.__dict__.get(key)
    if found is None:
        found = _build(world) if first else _build_other(world)
        world.__dict__[key] = found
    return found


def _build(world: World) -> Schedule:
    admin = actor_for_user(world.users[Role.ADMINISTRATOR])
    return _build_in(world, admin, world.location, world.practitioner, world.patient)


def _build_other(world: World) -> Schedule:
    admin = actor_for_user(world.strangers[Role.ADMINISTRATOR])
    location = Location.objects.filter(organization=world.other_org).order_by("pk").first()
    assert location is not None
    practitioner = create_practitioner(
        actor=admin,
        data=PractitionerInput(
            given_name="Osric", family_name="Southby", npi=valid_npi(4243), specialty="family_medicine"
        ),
    )
    return _build_in(world, admin, location, practitioner, world.other_patient)


def _build_in(
    world: World, admin: Actor, location: Location, person: Practitioner, patient: Patient
) -> Schedule:
    practitioner = services.create_resource(
        actor=admin, kind="practitioner", location_id=location.pk, practitioner_id=person.pk
    )
    room = services.create_resource(actor=admin, kind="room", location_id=location.pk, name="Matrix Room 1")
    visit_type = services.create_visit_type(
        actor=admin,
        data=services.VisitTypeInput(
            name="Matrix visit",
            code="matrix-visit",
            duration_minutes=30,
            requirements=[services.RequirementInput("practitioner"), services.RequirementInput("room")],
            practitioner_ids=[person.pk],
            max_days_ahead=365,
            portal_bookable=True,  # the portal's self-scheduling pages and API have something to book
            portal_cancel_notice_hours=0,  # and to cancel (the matrix books from tomorrow 00:00 on)
        ),
    )
    zone = ZoneInfo(location.timezone)
    today = dt.datetime.now(zone).date()
    for resource in (practitioner, room):
        services.create_availability_template(
            actor=admin,
            data=services.TemplateInput(
                resource_id=resource.pk,
                location_id=location.pk,
                name="Always",
                effective_from=today - dt.timedelta(days=1),
                windows=[services.WindowInput(day, dt.time(0), dt.time(23, 59)) for day in range(7)],
            ),
        )
    schedule = Schedule(patient, location, practitioner, room, visit_type, None, zone, itertools.count())
    if patient.organization_id == world.org.pk:
        schedule.appointment = fresh_appointment(world, schedule)
    return schedule


def next_start(world: World, schedule: Schedule | None = None) -> dt.datetime:
    """A free time tomorrow (or later): every call gets its own half hour."""
    schedule = schedule or schedule_of(world)
    tomorrow = dt.datetime.now(schedule.zone).date() + dt.timedelta(days=1)
    first = dt.datetime.combine(tomorrow, dt.time(0), tzinfo=schedule.zone)
    return first + dt.timedelta(minutes=30 * next(schedule.counter))


def fresh_appointment(world: World, schedule: Schedule | None = None) -> Appointment:
    """A new appointment of the first organization's sample patient."""
    schedule = schedule or schedule_of(world)
    return services.book_appointment(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        request=services.BookingRequest(
            patient_id=schedule.patient.pk,
            visit_type_id=schedule.visit_type.pk,
            location_id=schedule.location.pk,
            start=next_start(world, schedule),
        ),
    )


# --- scheduling setup pages (keywords resource_id, template_id, exception_id) ------------------------------


def setup_template(world: World) -> AvailabilityTemplate:
    """The first organization's sample room's weekly template."""
    return AvailabilityTemplate.objects.filter(resource=schedule_of(world).room).order_by("pk")[0]


def setup_exception(world: World) -> AvailabilityException:
    """A holiday of the sample room a year ahead, clear of every booking the matrix makes."""
    found = world.__dict__.get("_setup_exception")
    if found is None:
        schedule = schedule_of(world)
        start = dt.datetime.combine(
            dt.datetime.now(schedule.zone).date() + dt.timedelta(days=360), dt.time(9), tzinfo=schedule.zone
        )
        found = services.add_availability_exception(
            actor=actor_for_user(world.users[Role.ADMINISTRATOR]),
            kind="time_off",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            resource_id=schedule.room.pk,
            reason="Matrix maintenance",
        )
        world.__dict__["_setup_exception"] = found
    return found


# --- surgery planning (keywords surgery_plan_id, surgery_item_id) ---------------------------------------


def surgery_plan_of(world: World) -> SurgeryPlan:
    """A draft surgery plan of the first organization: an operating room open around the clock, and a case
    of the sample patient (the sample visit type as its procedure) planned over the next week."""
    found = world.__dict__.get("_surgery_plan")
    if found is not None:
        return found
    schedule = theatre_of(world)
    admin = actor_for_user(world.users[Role.ADMINISTRATOR])
    today = dt.datetime.now(schedule.zone).date()
    surgery.request_case(
        actor=admin,
        data=surgery.CaseInput(
            patient_id=schedule.patient.pk,
            location_id=schedule.location.pk,
            surgeon_id=schedule.practitioner.pk,
            procedure_id=schedule.visit_type.pk,
            duration_minutes=60,
            earliest_date=today + dt.timedelta(days=2),
            latest_date=today + dt.timedelta(days=8),
        ),
    )
    found = surgery.plan_cases(
        actor=admin,
        location_id=schedule.location.pk,
        date_from=today + dt.timedelta(days=2),
        date_to=today + dt.timedelta(days=8),
        time_limit=0.5,
    )
    world.__dict__["_surgery_plan"] = found
    return found


def admin_of(world: World, organization_id: int | None) -> Actor:
    """The administrator of the organization (the first one's for anyone without one)."""
    first = organization_id is None or organization_id == world.org.pk
    return actor_for_user((world.users if first else world.strangers)[Role.ADMINISTRATOR])


def theatre_of(world: World, organization: Organization | None = None) -> Schedule:
    """The organization's schedule with an operating room ("Matrix OR") open around the clock."""
    schedule = schedule_of(world, organization)
    key = f"_theatre_{schedule.location.organization_id}"
    if key not in world.__dict__:
        admin = admin_of(world, schedule.location.organization_id)
        room = services.create_resource(
            actor=admin, kind="room", location_id=schedule.location.pk, name="Matrix OR", category="operating"
        )
        services.create_availability_template(
            actor=admin,
            data=services.TemplateInput(
                resource_id=room.pk,
                location_id=schedule.location.pk,
                name="Block time",
                effective_from=dt.datetime.now(schedule.zone).date() - dt.timedelta(days=1),
                windows=[services.WindowInput(day, dt.time(0), dt.time(23, 59)) for day in range(7)],
            ),
        )
        world.__dict__[key] = room
    return schedule


def case_window(schedule: Schedule) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(schedule.zone).date()
    return today + dt.timedelta(days=2), today + dt.timedelta(days=8)


def case_body(world: World, organization: Organization | None = None) -> dict[str, object]:
    """A valid surgical case request in the organization (its sample patient, surgeon and procedure)."""
    schedule = theatre_of(world, organization)
    first, last = case_window(schedule)
    return {
        "patient_id": schedule.patient.pk,
        "location_id": schedule.location.pk,
        "surgeon_id": schedule.practitioner.pk,
        "procedure_id": schedule.visit_type.pk,
        "duration_minutes": 30,
        "earliest_date": first.isoformat(),
        "latest_date": last.isoformat(),
    }


def fresh_case(world: World, organization: Organization | None = None) -> SurgicalCase:
    """A new requested case of the organization's sample patient (for endpoints that change one)."""
    data = case_body(world, organization)
    return surgery.request_case(
        actor=admin_of(world, theatre_of(world, organization).location.organization_id),
        data=surgery.CaseInput(
            **{k: v for k, v in data.items() if not str(k).endswith("_date")},  # type: ignore[arg-type]
            earliest_date=dt.date.fromisoformat(str(data["earliest_date"])),
            latest_date=dt.date.fromisoformat(str(data["latest_date"])),
        ),
    )


def fresh_surgery_plan(world: World) -> SurgeryPlan:
    """A new draft plan of the first organization holding one fresh case (for booking, once per call)."""
    case = fresh_case(world)
    first, last = case_window(theatre_of(world))
    return surgery.plan_cases(
        actor=admin_of(world, world.org.pk),
        location_id=case.location_id,
        date_from=first,
        date_to=last,
        case_ids=[case.pk],
        time_limit=0.5,
    )
