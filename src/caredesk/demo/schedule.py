"""The demo clinics' schedules, loaded through the scheduling services once the patients exist.

Each organization gets: a resource per practitioner (at their first site); exam rooms at every clinic, a
consult room and a procedure room at the hospital unit, an ECG cart; five visit types (new patient with a
Tuesday-morning new-patient block, follow-up, video follow-up, annual physical, physical therapy where a
therapist works); weekly templates (practitioners 08:00-12:00 and 13:00-17:00 on weekdays, alternating
sites by weekday when they have two; rooms 07:30-18:00); a firm's holiday; and a few weeks of bookings.
At a hospital with a surgeon: three operating rooms with weekly block time, two procedures, surgical
equipment and requested cases for next week, ready to plan and book on /scheduling/surgery/.

Everything except the dates comes from the seed. Bookings start now (the real clock: booking rules refuse
the past): the rest of today (for the arrivals board) and the next two weeks, so the calendar opened after
seeding shows a working schedule.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from caredesk.accounts.models import Location, LocationKind, Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import DomainError
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.practitioners.models import Practitioner, Specialty
from caredesk.scheduling import clock, services, surgery
from caredesk.scheduling.models import VisitType
from caredesk.scheduling.services import RequirementInput, TemplateInput, VisitTypeInput, WindowInput

BOOKING_DAYS = 14  # calendar days of bookings after today (today's from now on are booked too)
# Booking attempts in all (each goes through the booking service, about 12 ms on SQLite), and per patient
# loaded: keeps seed_demo fast, small demos small.
MAX_BOOKING_ATTEMPTS = 400
ATTEMPTS_PER_PATIENT = 2
STEPS_PER_DAY = 21  # 20-minute steps in 08:00-12:00 and 13:00-17:00
CANCEL_SHARE = 0.05
_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.SCHEDULE_MANAGE,
        Permission.APPOINTMENT_BOOK,
        Permission.SCHEDULE_VIEW,
        Permission.PATIENT_VIEW,
        Permission.PRACTITIONER_VIEW,
    )
)
WEEKDAYS = range(5)
_SURGICAL = frozenset({Specialty.GENERAL_SURGERY, Specialty.ORTHOPEDIC_SURGERY})


@dataclass
class ScheduleReport:
    resources: int = 0
    visit_types: int = 0
    templates: int = 0
    appointments: int = 0
    cancelled: int = 0
    operating_rooms: int = 0
    surgical_cases: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def _actor(organization: Organization) -> Actor:
    return system_actor(
        organization_id=organization.pk, permissions=_PERMISSIONS, channel="cli", username="seed_demo"
    )


def _windows(days: list[int], start: str, end: str, **kwargs: object) -> list[WindowInput]:
    return [
        WindowInput(d, dt.time.fromisoformat(start), dt.time.fromisoformat(end), **kwargs)  # type: ignore[arg-type]
        for d in days
    ]


def _load_organization(
    organization: Organization, rng: random.Random, report: ScheduleReport, budget: int
) -> None:
    actor = _actor(organization)
    locations = list(Location.objects.filter(organization=organization).order_by("pk"))
    practitioners = list(
        practitioner_selectors.practitioner_queryset(actor).prefetch_related("locations").order_by("pk")
    )
    first_day = clock.now().astimezone(ZoneInfo(locations[0].timezone)).date()

    rooms: dict[int, list[int]] = {}
    for location in locations:
        names = (
            [("Exam 1", "exam"), ("Exam 2", "exam"), ("Exam 3", "exam"), ("Therapy gym", "therapy")]
            if location.kind == LocationKind.CLINIC
            else [("Consult room", "exam"), ("Procedure room", "procedure")]
        )
        rooms[location.pk] = []
        for name, category in names:
            room = services.create_resource(
                actor=actor, kind="room", location_id=location.pk, name=name, category=category
            )
            rooms[location.pk].append(room.pk)
    equipment = [
        services.create_resource(
            actor=actor, kind="equipment", location_id=locations[0].pk, name="ECG cart", category="ecg"
        ).pk
    ]
    staff: dict[int, tuple[int, list[int]]] = {}  # practitioner id -> (resource id, location ids)
    for practitioner in practitioners:
        sites = sorted(location.pk for location in practitioner.locations.all()) or [locations[0].pk]
        resource = services.create_resource(
            actor=actor, kind="practitioner", location_id=sites[0], practitioner_id=practitioner.pk
        )
        staff[practitioner.pk] = (resource.pk, sites)
    report.resources += sum(len(r) for r in rooms.values()) + len(equipment) + len(staff)

    therapists = [p.pk for p in practitioners if p.specialty == Specialty.PHYSICAL_THERAPY]
    prescribers = [p.pk for p in practitioners if p.specialty != Specialty.PHYSICAL_THERAPY]
    doctor = RequirementInput("practitioner")
    exam = RequirementInput("room", category="exam")
    specs = [
        VisitTypeInput("New patient visit", "new-patient", 40, [doctor, exam], prescribers,
                       buffer_after_minutes=10, slot_step_minutes=20, eligibility="new",
                       min_notice_minutes=12 * 60),
        VisitTypeInput("Follow-up visit", "follow-up", 20, [doctor, exam], prescribers, slot_step_minutes=20,
                       portal_bookable=True),
        VisitTypeInput("Video follow-up", "video-follow-up", 20, [doctor], prescribers,
                       slot_step_minutes=20, modality="telehealth", portal_bookable=True,
                       portal_cancel_notice_hours=4),
        VisitTypeInput("Annual physical", "annual-physical", 40, [doctor, exam, RequirementInput("equipment",
                       category="ecg")], prescribers, slot_step_minutes=20, eligibility="established"),
    ]  # fmt: skip
    if therapists:
        specs.append(
            VisitTypeInput(
                "Physical therapy session", "pt-session", 45,
                [doctor, RequirementInput("room", category="therapy")], therapists, slot_step_minutes=15,
            )
        )  # fmt: skip
    visit_types = {spec.code: services.create_visit_type(actor=actor, data=spec) for spec in specs}
    report.visit_types += len(visit_types)
    new_patient = visit_types["new-patient"].pk

    for resource_id, sites in staff.values():
        by_site = {site: [d for d in WEEKDAYS if sites[d % len(sites)] == site] for site in sites}
        for site, days in by_site.items():
            windows = _windows([d for d in days if d != 1], "08:00", "12:00") + _windows(
                days, "13:00", "17:00"
            )
            if 1 in days:  # Tuesday mornings: a new-patient block, then regular hours
                windows += _windows([1], "08:00", "10:00", reserved_for_id=new_patient)
                windows += _windows([1], "10:00", "12:00")
            services.create_availability_template(
                actor=actor,
                data=TemplateInput(
                    resource_id, site, "Clinic week", first_day - dt.timedelta(days=7), windows
                ),
            )
            report.templates += 1
    for location_id, room_ids in rooms.items():
        for room_id in room_ids + (equipment if location_id == locations[0].pk else []):
            services.create_availability_template(
                actor=actor,
                data=TemplateInput(
                    room_id, location_id, "Open hours", first_day - dt.timedelta(days=7),
                    _windows(list(WEEKDAYS), "07:30", "18:00"),
                ),
            )  # fmt: skip
            report.templates += 1

    holiday = first_day + dt.timedelta(days=(3 - first_day.weekday()) % 7 + 14)  # a Thursday, 2-3 weeks out
    zone = ZoneInfo(locations[0].timezone)
    services.add_availability_exception(
        actor=actor,
        kind="holiday",
        starts_at=dt.datetime.combine(holiday, dt.time(0), tzinfo=zone),
        ends_at=dt.datetime.combine(holiday + dt.timedelta(days=1), dt.time(0), tzinfo=zone),
        reason="Staff training day",
    )
    _load_surgery(actor, locations, practitioners, staff, first_day, rng, report)
    _book(actor, staff, set(therapists), visit_types, locations, first_day, rng, report, budget)


# (name, code, minutes, equipment names) of the demo's procedures
_PROCEDURES = (
    ("Laparoscopic cholecystectomy", "lap-chole", 90, ("Laparoscopy tower",)),
    ("Inguinal hernia repair", "hernia-repair", 60, ()),
)
SURGICAL_CASES = 8


def _load_surgery(
    actor: Actor,
    locations: list[Location],
    practitioners: list[Practitioner],
    staff: dict[int, tuple[int, list[int]]],
    first_day: dt.date,
    rng: random.Random,
    report: ScheduleReport,
) -> None:
    """Surgery planning at the organization's hospital (when it has one and a surgeon works there): three
    operating rooms with weekly block time (OR 3 only Tuesday and Thursday, its Tuesday held for the first
    surgeon; OR 2's Thursday reserved for cholecystectomies), two procedures, a laparoscopy tower and a
    C-arm, and SURGICAL_CASES requested cases for next week (Monday to Friday), left for the coordinator
    to plan and book."""
    hospital = next((loc for loc in locations if loc.kind != LocationKind.CLINIC), None)
    if hospital is None:
        return
    surgeons = [p.pk for p in practitioners if p.specialty in _SURGICAL and hospital.pk in staff[p.pk][1]]
    if not surgeons:
        return
    rooms = [
        services.create_resource(
            actor=actor, kind="room", location_id=hospital.pk, name=name, category=surgery.OPERATING_CATEGORY
        ).pk
        for name in ("OR 1", "OR 2", "OR 3")
    ]
    devices = {
        name: services.create_resource(
            actor=actor, kind="equipment", location_id=hospital.pk, name=name, category=category
        ).pk
        for name, category in (("Laparoscopy tower", "laparoscopy"), ("C-arm", "imaging"))
    }
    report.resources += len(rooms) + len(devices)
    report.operating_rooms += len(rooms)
    operating = RequirementInput("room", category=surgery.OPERATING_CATEGORY)
    procedures = [
        services.create_visit_type(
            actor=actor,
            data=VisitTypeInput(name, code, minutes, [RequirementInput("practitioner"), operating], surgeons),
        )
        for name, code, minutes, _equipment in _PROCEDURES
    ]
    report.visit_types += len(procedures)
    blocks = {
        rooms[0]: _windows(list(WEEKDAYS), "07:30", "15:30"),
        rooms[1]: _windows([0, 1, 2, 4], "07:30", "15:30")
        + _windows([3], "07:30", "15:30", reserved_for_id=procedures[0].pk),
        rooms[2]: _windows([1], "07:30", "15:30", reserved_for_surgeon_id=staff[surgeons[0]][0])
        + _windows([3], "07:30", "15:30"),
    }
    for room_id, windows in blocks.items():
        services.create_availability_template(
            actor=actor,
            data=TemplateInput(
                room_id, hospital.pk, "OR block time", first_day - dt.timedelta(days=7), windows
            ),
        )
        report.templates += 1
    patient_ids = list(
        patient_selectors.patient_queryset(actor)
        .filter(status="active")
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    if not patient_ids:
        return
    monday = first_day + dt.timedelta(days=7 - first_day.weekday())
    for n, patient_id in enumerate(rng.sample(patient_ids, min(SURGICAL_CASES, len(patient_ids)))):
        index = n % len(procedures)
        name, _code, minutes, equipment = _PROCEDURES[index]
        opens = monday + dt.timedelta(days=rng.choice((0, 0, 1, 2)))
        surgery.request_case(
            actor=actor,
            data=surgery.CaseInput(
                patient_id=patient_id,
                location_id=hospital.pk,
                surgeon_id=staff[rng.choice(surgeons)][0],
                procedure_id=procedures[index].pk,
                duration_minutes=minutes + rng.choice((-15, 0, 0, 15, 30)),
                earliest_date=opens,
                latest_date=monday + dt.timedelta(days=4),
                priority=rng.choice((2, 3, 3, 4)),
                equipment_ids=[devices[e] for e in equipment]
                + ([devices["C-arm"]] if index == 1 and rng.random() < 0.5 else []),
                procedure_name=name,
            ),
        )
        report.surgical_cases += 1


def _book(
    actor: Actor,
    staff: dict[int, tuple[int, list[int]]],
    therapists: set[int],
    visit_types: dict[str, VisitType],
    locations: list[Location],
    first_day: dt.date,
    rng: random.Random,
    report: ScheduleReport,
    budget: int,
) -> None:
    """Bookings on the working days from tomorrow, spread evenly over every practitioner's 20-minute
    steps up to `budget` attempts: mostly follow-ups, some video visits, new patients in the Tuesday
    block. A booking the rules refuse (no room free, a holiday) is skipped and counted; a few bookings are
    cancelled again."""
    patient_ids = list(
        patient_selectors.patient_queryset(actor)
        .filter(status="active")
        .order_by("pk")
        .values_list("pk", flat=True)[:400]
    )
    if not patient_ids:
        return
    zones = {location.pk: ZoneInfo(location.timezone) for location in locations}
    working_days = sum(
        1 for n in range(1, BOOKING_DAYS + 1) if (first_day + dt.timedelta(days=n)).weekday() < 5
    )
    share = min(0.35, budget / max(1, len(staff) * working_days * STEPS_PER_DAY))
    for practitioner_id, (_resource_id, sites) in staff.items():
        offered = ["pt-session"] if practitioner_id in therapists else ["follow-up"] * 3 + ["video-follow-up"]
        for offset in range(0, BOOKING_DAYS + 1):  # today (from now on: the arrivals board) and after
            day = first_day + dt.timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            site = sites[day.weekday() % len(sites)]
            minute = 8 * 60
            not_before = _minutes_from_now(zones[site], day)
            while minute <= 17 * 60 - 45:
                if minute < not_before:
                    minute += 20
                    continue
                if 12 * 60 <= minute < 13 * 60 or rng.random() > share:
                    minute += 20
                    continue
                in_block = day.weekday() == 1 and minute < 10 * 60 and practitioner_id not in therapists
                visit_type = visit_types["new-patient" if in_block else rng.choice(offered)]
                try:
                    appointment = services.book_appointment(
                        actor=actor,
                        request=services.BookingRequest(
                            patient_id=rng.choice(patient_ids),
                            visit_type_id=visit_type.pk,
                            location_id=site,
                            start=dt.datetime.combine(
                                day, dt.time(minute // 60, minute % 60), tzinfo=zones[site]
                            ),
                            practitioner_id=practitioner_id,
                            source=rng.choice(["desk", "desk", "phone", "portal"]),
                        ),
                    )
                except DomainError as exc:
                    report.refused[exc.code] = report.refused.get(exc.code, 0) + 1
                else:
                    report.appointments += 1
                    if rng.random() < CANCEL_SHARE:
                        services.cancel_appointment(
                            actor=actor, appointment_id=appointment.pk, reason="patient_request"
                        )
                        report.cancelled += 1
                minute += 20 * -(-visit_type.duration_minutes // 20)


def _minutes_from_now(zone: ZoneInfo, day: dt.date) -> int:
    """The first minute of `day` (local) that can still be booked: from a quarter of an hour from now
    today, any time on a later day."""
    now = clock.now().astimezone(zone)
    if day > now.date():
        return 0
    return now.hour * 60 + now.minute + 15 if day == now.date() else 24 * 60


def load_schedules(organizations: list[Organization], seed: int, patients: int) -> ScheduleReport:
    """Resources, visit types, templates and bookings for every demo organization (booking attempts
    shared between the organizations, in all at most MAX_BOOKING_ATTEMPTS)."""
    report = ScheduleReport()
    budget = min(MAX_BOOKING_ATTEMPTS, ATTEMPTS_PER_PATIENT * patients) // max(1, len(organizations))
    for organization in organizations:
        rng = random.Random(f"caredesk-demo:{seed}:schedule:{organization.short_code}")  # noqa: S311
        _load_organization(organization, rng, report, budget)
    return report
