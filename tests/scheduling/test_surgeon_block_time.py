"""Operating-room block time held for one surgeon: the planner on values (first-fit and CP-SAT), and on the
test clinic the surgery planning service, the slot search, booking, the setup page and the setup API.

The theatre here: one operating room, OR 1, with block time Monday to Friday 07:30-15:30; its Tuesday is
held for Dr. Heart (and its Thursday for Dr. Heart's cholecystectomies). Dr. Heart and Dr. Family both
operate (Mon-Fri 08:00-12:00 and 13:00-17:00, tests/scheduling/conftest.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import planning, rules, selectors, services, surgery
from caredesk.scheduling.errors import InvalidTemplate, ResourcesUnavailable
from caredesk.scheduling.models import Appointment, AvailabilityTemplate, AvailabilityWindow, Resource
from caredesk.scheduling.selectors import SlotQuery
from caredesk.scheduling.services import RequirementInput, TemplateInput, VisitTypeInput
from tests.interop.conftest import TokenClient, token_for
from tests.patients.factories import staff_actor

from .conftest import MONDAY, NY, at, book, weekly

TUESDAY = MONDAY + dt.timedelta(days=1)
WEDNESDAY = MONDAY + dt.timedelta(days=2)
THURSDAY = MONDAY + dt.timedelta(days=3)
A, B = 10, 11  # surgeons (resource ids) on values


# --- the planner on values --------------------------------------------------------------------------------


def _minute(day: int, hour: int, minute: int = 0) -> int:
    return (day * 24 + hour) * 60 + minute + 30_000_000


HOURS = tuple((_minute(d, 7), _minute(d, 17)) for d in range(3))


def _case(case_id: int, surgeon: int, days: tuple[int, int] = (0, 3), procedure: int = 5) -> planning.Case:
    window = (_minute(days[0], 0), _minute(days[1], 0))
    return planning.Case(case_id, surgeon, procedure, 60, 3, window, HOURS)


def _both(instance: planning.Instance) -> list[planning.PlanResult]:
    baseline = planning.first_fit(instance)
    return [baseline, planning.solve(instance, time_limit=2, workers=1, hint=baseline)]


def test_a_block_takes_its_surgeons_cases_only_and_a_general_block_anyones():
    held = planning.Block(_minute(0, 8), _minute(0, 12), surgeons=frozenset({A}))
    both = planning.Block(_minute(0, 8), _minute(0, 12), frozenset({5}), frozenset({A}))
    general = planning.Block(_minute(0, 8), _minute(0, 12))
    assert held.takes(_case(1, A))
    assert not held.takes(_case(2, B))
    assert general.takes(_case(1, A))
    assert general.takes(_case(2, B))
    assert both.takes(_case(1, A))
    assert not both.takes(_case(3, A, procedure=6))  # that surgeon, another procedure
    assert not both.takes(_case(2, B))


def test_cases_go_to_their_surgeons_block_and_never_to_anothers():
    # Day 0: room 1 held for A, room 2 held for B. Day 1: room 1 open to anyone.
    rooms = (
        planning.Room(1, "OR 1", (planning.Block(_minute(0, 8), _minute(0, 12), surgeons=frozenset({A})),)),
        planning.Room(2, "OR 2", (planning.Block(_minute(0, 8), _minute(0, 12), surgeons=frozenset({B})),)),
        planning.Room(3, "OR 3", (planning.Block(_minute(1, 8), _minute(1, 12)),)),
    )
    cases = (
        _case(1, A, (0, 1)),
        _case(2, A, (0, 1)),
        _case(3, B, (0, 1)),
        _case(4, B, (1, 2)),  # only day 1: the general block
        _case(5, A, (1, 2)),
    )
    instance = planning.Instance(cases=cases, rooms=rooms, turnover=0)
    for result in _both(instance):
        assert planning.check(instance, result.placements) == []
        rooms_of = {p.case_id: p.room_id for p in result.placements}
        assert rooms_of == {1: 1, 2: 1, 3: 2, 4: 3, 5: 3}
        assert result.unplaced == ()


def test_a_case_with_only_another_surgeons_block_stays_unplaced_and_says_why():
    room = planning.Room(1, "OR 1", (planning.Block(_minute(0, 8), _minute(0, 16), surgeons=frozenset({A})),))
    instance = planning.Instance(cases=(_case(1, B, (0, 1)), _case(2, A, (0, 1))), rooms=(room,))
    for result in _both(instance):
        assert [p.case_id for p in result.placements] == [2]
        [unplaced] = result.unplaced
        assert (unplaced.case_id, unplaced.code) == (1, "no_block_time")
        assert "this surgeon" in unplaced.reason
    # Placing B's case there by hand is a broken rule.
    moved = planning.Placement(1, 1, _minute(0, 9), _minute(0, 10))
    assert planning.check(instance, [moved]) == [
        (1, "Starts outside OR 1's block time for this procedure and surgeon.")
    ]


def test_windows_held_for_a_resource_count_with_that_resource_only():
    template = rules.WeeklyTemplate(
        dt.date(2027, 1, 1),
        None,
        (
            rules.WeeklyWindow(0, dt.time(8), dt.time(12)),
            rules.WeeklyWindow(1, dt.time(8), dt.time(12), held_for=A),
        ),
    )
    tuesday = [(rules.to_minute(at(TUESDAY, 8)), rules.to_minute(at(TUESDAY, 12)))]

    def hours(**kwargs: Any) -> list[rules.Interval]:
        return rules.expand(template, TUESDAY, TUESDAY, NY, **kwargs)

    assert hours() == []
    assert hours(with_resources={B}) == []
    assert hours(with_resources={A, B}) == tuesday
    assert hours(any_use=True) == tuesday  # the calendar shows it
    # A choice of resources: the room only together with A.
    assert rules.assign([[B, A], [99]], requires={99: frozenset({A})}) == (A, 99)
    assert rules.assign([[B], [99]], requires={99: frozenset({A})}) is None


# --- the test clinic's theatre ----------------------------------------------------------------------------


@pytest.fixture
def theatre(clinic):
    admin = clinic.admin
    room = services.create_resource(
        actor=admin, kind="room", location_id=clinic.location.pk, name="OR 1", category="operating"
    )
    chole = services.create_visit_type(
        actor=admin,
        data=VisitTypeInput(
            name="Laparoscopic cholecystectomy",
            code="lap-chole",
            duration_minutes=90,
            requirements=[RequirementInput("practitioner"), RequirementInput("room", category="operating")],
            practitioner_ids=[clinic.heart.pk, clinic.family.pk],
        ),
    )
    services.create_availability_template(
        actor=admin,
        data=TemplateInput(
            resource_id=room.pk,
            location_id=clinic.location.pk,
            name="Block time",
            effective_from=dt.date(2027, 1, 1),
            windows=weekly("07:30", "15:30", [0, 2, 4])
            + weekly("07:30", "15:30", [1], reserved_for_surgeon_id=clinic.dr_heart.pk)
            + weekly(
                "07:30", "15:30", [3], reserved_for_id=chole.pk, reserved_for_surgeon_id=clinic.dr_heart.pk
            ),
        ),
    )
    clinic.or1, clinic.chole = room, chole
    clinic.coordinator = staff_actor(clinic.org, Role.COORDINATOR)
    return clinic


def _request(theatre, surgeon: Resource, first: dt.date, last: dt.date) -> surgery.SurgicalCase:
    return surgery.request_case(
        actor=theatre.coordinator,
        data=surgery.CaseInput(
            patient_id=theatre.patient().pk,
            location_id=theatre.location.pk,
            surgeon_id=surgeon.pk,
            procedure_id=theatre.chole.pk,
            duration_minutes=90,
            earliest_date=first,
            latest_date=last,
            priority=3,
        ),
    )


@pytest.mark.django_db
def test_the_planner_puts_a_surgeons_case_in_their_held_block_and_keeps_others_out(theatre):
    heart_case = _request(theatre, theatre.dr_heart, TUESDAY, TUESDAY)
    family_tuesday = _request(theatre, theatre.dr_family, TUESDAY, TUESDAY)
    family_later = _request(theatre, theatre.dr_family, TUESDAY, WEDNESDAY)
    plan = surgery.plan_cases(
        actor=theatre.coordinator,
        location_id=theatre.location.pk,
        date_from=TUESDAY,
        date_to=WEDNESDAY,
        time_limit=1,
    )
    days = {i.case_id: i.starts_at.astimezone(NY).date() for i in plan.items.all()}
    assert days == {heart_case.pk: TUESDAY, family_later.pk: WEDNESDAY}
    [unplaced] = plan.unplaced
    assert (unplaced["case_id"], unplaced["code"]) == (family_tuesday.pk, "no_block_time")
    assert "this surgeon" in unplaced["reason"]


def _search(theatre, practitioner=None, day: dt.date = TUESDAY) -> list[selectors.Slot]:
    return selectors.find_slots(
        actor=theatre.desk,
        query=SlotQuery(
            visit_type_id=theatre.chole.pk,
            practitioner_id=practitioner.pk if practitioner is not None else None,
            first_day=day,
            last_day=day,
            limit=3,
        ),
    )


@pytest.mark.django_db
def test_slot_search_offers_a_held_block_to_its_surgeon_only(theatre):
    heart = _search(theatre, theatre.heart)
    assert [s.start for s in heart] == [at(TUESDAY, 8), at(TUESDAY, 8, 15), at(TUESDAY, 8, 30)]
    assert all(s.resource_ids == (theatre.dr_heart.pk, theatre.or1.pk) for s in heart)
    assert _search(theatre, theatre.family) == []
    # Without a surgeon asked for, Tuesday's times come with Dr. Heart.
    anyone = _search(theatre)
    assert anyone
    assert {s.practitioner.id for s in anyone if s.practitioner} == {theatre.dr_heart.pk}
    # The Thursday block is Dr. Heart's cholecystectomies: still not Dr. Family's.
    assert _search(theatre, theatre.heart, THURSDAY)
    assert _search(theatre, theatre.family, THURSDAY) == []
    # A general day is open to both.
    assert _search(theatre, theatre.family, WEDNESDAY)
    assert _search(theatre, theatre.heart, WEDNESDAY)


@pytest.mark.django_db
def test_booking_another_surgeon_into_a_held_block_is_refused_and_writes_nothing(theatre):
    before = Appointment.objects.count()
    with pytest.raises(ResourcesUnavailable, match="OR 1: that time is block time held for Cora Heart"):
        book(theatre, at(TUESDAY, 8), theatre.chole, resource_ids=[theatre.dr_family.pk, theatre.or1.pk])
    with pytest.raises(ResourcesUnavailable, match="OR 1: that time is block time held for Cora Heart"):
        book(theatre, at(TUESDAY, 8), theatre.chole, practitioner_id=theatre.family.pk)
    assert Appointment.objects.count() == before
    # The surgeon it is held for books it; without a surgeon named, the held block picks its surgeon.
    mine = book(theatre, at(TUESDAY, 8), theatre.chole, resource_ids=[theatre.dr_heart.pk, theatre.or1.pk])
    assert set(mine.bookings.values_list("resource_id", flat=True)) == {theatre.dr_heart.pk, theatre.or1.pk}
    chosen = book(theatre, at(TUESDAY, 10), theatre.chole)
    assert set(chosen.bookings.values_list("resource_id", flat=True)) == {theatre.dr_heart.pk, theatre.or1.pk}
    # On a general day either surgeon books the room.
    assert book(theatre, at(WEDNESDAY, 8), theatre.chole, practitioner_id=theatre.family.pk)


# --- setting it up ----------------------------------------------------------------------------------------


def _template(theatre, resource: Resource, surgeon_id: int | None) -> TemplateInput:
    return TemplateInput(
        resource_id=resource.pk,
        location_id=theatre.location.pk,
        name="Saturday block",
        effective_from=dt.date(2027, 3, 1),
        windows=weekly("08:00", "12:00", [5], reserved_for_surgeon_id=surgeon_id),
    )


@pytest.mark.django_db
def test_only_a_rooms_hours_can_be_held_and_only_for_a_practitioner(theatre):
    count = AvailabilityWindow.objects.count()
    for resource, surgeon, message in (
        (theatre.dr_family, theatre.dr_heart.pk, "Only a room's hours"),
        (theatre.echo_machine, theatre.dr_heart.pk, "Only a room's hours"),
        (theatre.or1, theatre.exam1.pk, "not one of the organization's practitioners"),
        (theatre.or1, 999_999, "not one of the organization's practitioners"),
    ):
        with pytest.raises(InvalidTemplate, match=message):
            services.create_availability_template(
                actor=theatre.admin, data=_template(theatre, resource, surgeon)
            )
    assert AvailabilityWindow.objects.count() == count


@pytest.fixture
def manager(client_as, make_user, org):
    return client_as(make_user(Role.COORDINATOR, org))


def _post(room: Resource, row: dict[str, str]) -> dict[str, str]:
    data = {
        "resource": str(room.pk),
        "name": "Surgeon block",
        "effective_from": "2027-03-01",
        "effective_until": "",
        "win-TOTAL_FORMS": "6",
        "win-INITIAL_FORMS": "0",
    }
    data.update({f"win-0-{key}": value for key, value in row.items()})
    return data


@pytest.mark.django_db
def test_a_manager_holds_a_rooms_block_for_a_surgeon_and_sees_it(theatre, manager):
    or2 = services.create_resource(
        actor=theatre.admin, kind="room", location_id=theatre.location.pk, name="OR 2", category="operating"
    )
    row = {"days": "1", "start": "07:30", "end": "15:30", "week_interval": "1"}
    form = manager.get(reverse("scheduling:setup_template_new")).content.decode()
    assert "Held for surgeon" in form
    bad = manager.post(
        reverse("scheduling:setup_template_new"),
        _post(or2, {**row, "reserved_for_surgeon": str(theatre.exam1.pk)}),
    )
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    held_on_a_person = manager.post(
        reverse("scheduling:setup_template_new"),
        _post(theatre.dr_family, {**row, "reserved_for_surgeon": str(theatre.dr_heart.pk)}),
    )
    assert held_on_a_person.status_code == 400
    assert "Only a room&#x27;s hours" in held_on_a_person.content.decode()
    assert not AvailabilityTemplate.objects.filter(
        resource__in=[or2, theatre.dr_family], name="Surgeon block"
    )

    saved = manager.post(
        reverse("scheduling:setup_template_new"),
        _post(or2, {**row, "reserved_for_surgeon": str(theatre.dr_heart.pk)}),
    )
    assert saved.status_code == 302, saved.content.decode()
    window = AvailabilityWindow.objects.get(template__resource=or2)
    assert window.reserved_for_surgeon_id == theatre.dr_heart.pk
    page = manager.get(reverse("scheduling:setup_templates"), {"resource": or2.pk}).content.decode()
    assert "Tue 07:30-15:30, held for Cora Heart, MD" in page


@pytest.mark.django_db
def test_the_setup_api_reads_and_writes_the_surgeon_hold(theatre, make_user, org):
    api = TokenClient(token_for(make_user(Role.COORDINATOR, org, username="setup-coordinator")))
    or2 = services.create_resource(
        actor=theatre.admin, kind="room", location_id=theatre.location.pk, name="OR 2", category="operating"
    )
    body = {
        "resource_id": or2.pk,
        "location_id": theatre.location.pk,
        "name": "Block time",
        "effective_from": MONDAY.isoformat(),
        "windows": [
            {"weekday": 0, "start": "07:30", "end": "15:30"},
            {"weekday": 1, "start": "07:30", "end": "15:30", "reserved_for_surgeon_id": theatre.dr_family.pk},
        ],
    }
    created = api.post_json("/api/v1/scheduling/availability-templates", body)
    assert created.status_code == 201, created.json()
    assert [w["reserved_for_surgeon_id"] for w in created.json()["windows"]] == [None, theatre.dr_family.pk]
    listed = api.get("/api/v1/scheduling/availability-templates", {"resource_id": theatre.or1.pk}).json()
    [template] = listed["results"]
    assert {w["weekday"]: w["reserved_for_surgeon_id"] for w in template["windows"]}[1] == theatre.dr_heart.pk
    count = AvailabilityTemplate.objects.count()
    refused = api.post_json(
        "/api/v1/scheduling/availability-templates",
        {**body, "resource_id": theatre.dr_family.pk, "windows": body["windows"][1:]},
    )
    assert refused.status_code == 400
    assert "Only a room's hours" in str(refused.json())
    assert AvailabilityTemplate.objects.count() == count


@pytest.mark.django_db
def test_the_audit_trail_records_whose_block_a_template_holds(theatre):
    template = AvailabilityTemplate.objects.get(resource=theatre.or1)
    event = AuditEvent.objects.get(action=AuditAction.SCHEDULE_TEMPLATE_CREATE, object_id=str(template.pk))
    assert event.detail["held_for_surgeons"] == [theatre.dr_heart.pk]
    assert event.detail["reserved_for_visit_types"] == [theatre.chole.pk]
