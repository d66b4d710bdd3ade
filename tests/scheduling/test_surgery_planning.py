"""Surgery planning: the optimizer on generated instances (every rule checked on every plan), priorities,
CP-SAT against first-fit, and the planning services and pages on the test clinic (two operating rooms).
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import DomainError
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from caredesk.scheduling import planning, services, surgery
from caredesk.scheduling.choices import CaseStatus, SurgeryPlanStatus
from caredesk.scheduling.errors import (
    InvalidSurgicalCase,
    InvalidTime,
    SurgeryPlanConflict,
    SurgicalCaseNotFound,
)
from caredesk.scheduling.models import (
    Appointment,
    AppointmentResource,
    ResourceBusyDay,
    SurgeryPlan,
    SurgicalCase,
)
from caredesk.scheduling.services import RequirementInput, TemplateInput, VisitTypeInput
from tests.patients.factories import staff_actor
from tests.practitioners.conftest import valid_npi

from .conftest import MONDAY, NY, at, weekly

TUESDAY = MONDAY + dt.timedelta(days=1)
FRIDAY = MONDAY + dt.timedelta(days=4)


# --- the optimizer on values ------------------------------------------------------------------------------


def _minute(day: int, hour: int, minute: int = 0) -> int:
    return (day * 24 + hour) * 60 + minute + 30_000_000  # some Monday 00:00 UTC, in epoch minutes


def generated(seed: int, cases: int = 14, rooms: int = 2, days: int = 2) -> planning.Instance:
    """A random instance: blocks 08:00-16:00 (one reserved), busy times, 4 surgeons, 2 pieces of
    equipment, windows and priorities of every kind."""
    rng = random.Random(seed)
    room_list = []
    for r in range(rooms):
        blocks = tuple(
            planning.Block(_minute(d, 8), _minute(d, 16), frozenset({7}) if (r, d) == (0, 1) else None)
            for d in range(days)
        )
        busy = ((_minute(0, 9), _minute(0, 10)),) if r == 1 else ()
        room_list.append(planning.Room(100 + r, f"OR {r + 1}", blocks, busy))
    hours = {
        200 + s: tuple((_minute(d, 7), _minute(d, 17)) for d in range(days) if rng.random() < 0.8)
        for s in range(4)
    }
    case_list = []
    for c in range(cases):
        surgeon = 200 + rng.randrange(4)
        first = rng.randrange(days)
        case_list.append(
            planning.Case(
                id=c + 1,
                surgeon_id=surgeon,
                procedure_id=rng.choice((5, 6, 7)),
                duration=15 * rng.randint(2, 14),
                priority=rng.randint(1, 4),
                window=(_minute(first, 0), _minute(rng.randrange(first, days) + 1, 0)),
                surgeon_hours=hours[surgeon],
                equipment=(rng.choice((300, 301)),) if rng.random() < 0.4 else (),
            )
        )
    return planning.Instance(
        cases=tuple(case_list),
        rooms=tuple(room_list),
        surgeon_busy={200: ((_minute(0, 8), _minute(0, 9)),)},
        equipment_busy={300: ((_minute(1, 12), _minute(1, 13)),)},
    )


def assert_valid(instance: planning.Instance, result: planning.PlanResult) -> None:
    """Every rule, checked independently of `planning.check`: per room (turnover), surgeon, equipment."""
    assert planning.check(instance, result.placements) == []
    cases = {c.id: c for c in instance.cases}
    rooms = {r.id: r for r in instance.rooms}
    placed = {p.case_id for p in result.placements}
    assert placed.isdisjoint({u.case_id for u in result.unplaced})
    assert placed | {u.case_id for u in result.unplaced} == set(cases)
    for p in result.placements:
        case, room = cases[p.case_id], rooms[p.room_id]
        assert p.end - p.start == case.duration
        assert p.start % instance.step == 0
        assert case.window[0] <= p.start
        assert p.end <= case.window[1]
        block = next(b for b in room.blocks if b.start <= p.start < b.end)
        assert block.takes(case)
        assert p.end <= block.end + instance.overtime_cap
        assert any(a <= p.start < b and p.end <= b + instance.overtime_cap for a, b in case.surgeon_hours)
        for q in result.placements:
            if q is p:
                continue
            other = cases[q.case_id]
            if q.room_id == p.room_id:  # the room: one at a time, turnover after each
                assert p.end + instance.turnover <= q.start or q.end + instance.turnover <= p.start
            if other.surgeon_id == case.surgeon_id:
                assert p.end <= q.start or q.end <= p.start
            if set(other.equipment) & set(case.equipment):
                assert p.end <= q.start or q.end <= p.start
        for a, b in room.busy:
            assert p.end + instance.turnover <= a or b <= p.start


@pytest.mark.parametrize("seed", range(6))
def test_both_planners_respect_every_rule_on_generated_instances(seed):
    instance = generated(seed)
    baseline = planning.first_fit(instance)
    optimized = planning.solve(instance, time_limit=3, workers=2, hint=baseline)
    assert_valid(instance, baseline)
    assert_valid(instance, optimized)
    assert optimized.status in ("OPTIMAL", "FEASIBLE")
    assert optimized.solver_objective == optimized.score.total  # the model computes what evaluate does


def test_cp_sat_is_no_worse_than_first_fit_on_a_small_instance():
    instance = generated(3, cases=10)
    baseline = planning.first_fit(instance)
    optimized = planning.solve(instance, time_limit=5, workers=2)  # no hint: on its own
    assert optimized.status in ("OPTIMAL", "FEASIBLE")
    assert optimized.score.total <= baseline.score.total
    chosen = planning.plan(instance, time_limit=3, workers=2).chosen
    assert chosen.score.total <= baseline.score.total


def test_an_urgent_case_gets_the_only_room_time_left():
    block = planning.Block(_minute(0, 8), _minute(0, 10))
    room = planning.Room(1, "OR 1", (block,))
    hours = ((_minute(0, 7), _minute(0, 17)),)

    def case(case_id: int, priority: int, surgeon: int) -> planning.Case:
        return planning.Case(case_id, surgeon, 5, 90, priority, (_minute(0, 0), _minute(1, 0)), hours)

    # Elective listed first and longer-lived in the queue; room time for one case only.
    instance = planning.Instance(cases=(case(1, 4, 10), case(2, 1, 11)), rooms=(room,), overtime_cap=0)
    for result in (planning.first_fit(instance), planning.solve(instance, time_limit=2, workers=2)):
        assert [p.case_id for p in result.placements] == [2]
        assert [(u.case_id, u.code) for u in result.unplaced] == [(1, "no_capacity")]


def test_higher_priority_cases_go_earlier_when_both_fit():
    blocks = tuple(planning.Block(_minute(d, 8), _minute(d, 12)) for d in range(2))
    hours = tuple((_minute(d, 8), _minute(d, 12)) for d in range(2))
    window = (_minute(0, 0), _minute(2, 0))
    cases = (
        planning.Case(1, 10, 5, 210, 4, window, hours),
        planning.Case(2, 10, 5, 210, 1, window, hours),
    )
    instance = planning.Instance(cases=cases, rooms=(planning.Room(1, "OR", blocks),), overtime_cap=0)
    result = planning.solve(instance, time_limit=2, workers=2)
    starts = {p.case_id: p.start for p in result.placements}
    assert starts[2] < starts[1]


def test_cases_without_any_place_say_why():
    block = planning.Block(_minute(0, 8), _minute(0, 12), frozenset({9}))
    room = planning.Room(1, "OR 1", (block, planning.Block(_minute(1, 8), _minute(1, 12))))
    hours = ((_minute(0, 8), _minute(0, 17)),)
    window = (_minute(0, 0), _minute(1, 0))
    instance = planning.Instance(
        cases=(
            planning.Case(1, 10, 5, 60, 3, window, hours),  # only day 0 and the block there is reserved
            planning.Case(2, 10, 9, 600, 3, window, hours),  # longer than the block plus the cap
            planning.Case(3, 10, 9, 60, 3, window, ()),  # the surgeon does not work
        ),
        rooms=(room,),
    )
    reasons = {u.case_id: u.code for u in planning.first_fit(instance).unplaced}
    assert reasons == {1: "no_block_time", 2: "too_long", 3: "surgeon_unavailable"}
    assert {u.case_id: u.code for u in planning.solve(instance, time_limit=1, workers=1).unplaced} == reasons


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration": 0}, "duration"),
        ({"window": (_minute(1, 0), _minute(0, 0))}, "window ends before"),
        ({"priority": 7}, "priority"),
    ],
)
def test_bad_instances_are_refused_with_a_clear_error(change, message):
    base = planning.Case(1, 10, 5, 60, 3, (_minute(0, 0), _minute(1, 0)), ((_minute(0, 8), _minute(0, 12)),))
    bad = planning.Case(**{**base.__dict__, **change})
    instance = planning.Instance(cases=(bad,), rooms=())
    with pytest.raises(planning.PlanningInputError, match=message):
        planning.first_fit(instance)
    with pytest.raises(planning.PlanningInputError, match=message):
        planning.solve(instance)


# --- the services on the test clinic ------------------------------------------------------------------------


def add_anesthetist(clinic, given: str, n: int, days=range(5)):
    """An anesthesiologist in the anesthesia pool, working `days` 07:00-17:00."""
    person = create_practitioner(
        actor=clinic.admin,
        data=PractitionerInput(
            given_name=given,
            family_name="Sleep",
            npi=valid_npi(9100 + n),
            specialty="anesthesiology",
            credentials="MD",
            location_ids=[clinic.location.pk],
        ),
    )
    resource = services.create_resource(
        actor=clinic.admin,
        kind="practitioner",
        location_id=clinic.location.pk,
        practitioner_id=person.pk,
        category="anesthesia",
    )
    services.create_availability_template(
        actor=clinic.admin,
        data=TemplateInput(
            resource_id=resource.pk,
            location_id=clinic.location.pk,
            name="Theatre week",
            effective_from=dt.date(2027, 1, 1),
            windows=weekly("07:00", "17:00", list(days)),
        ),
    )
    return resource


@pytest.fixture
def theatre(clinic):
    return build_theatre(clinic)


def build_theatre(clinic):
    """Two operating rooms (block time Mon-Fri 07:30-15:30; OR 2's Wednesday reserved for knee
    replacements), two surgical procedures, a C-arm, an anesthesiologist (Mon-Fri 07:00-17:00) and a
    coordinator."""
    admin = clinic.admin
    rooms = [
        services.create_resource(
            actor=admin, kind="room", location_id=clinic.location.pk, name=name, category="operating"
        )
        for name in ("OR 1", "OR 2")
    ]
    c_arm = services.create_resource(
        actor=admin, kind="equipment", location_id=clinic.location.pk, name="C-arm", category="imaging"
    )
    operating = RequirementInput("room", category="operating")
    surgeon = RequirementInput("practitioner")
    chole = services.create_visit_type(
        actor=admin,
        data=VisitTypeInput(
            name="Laparoscopic cholecystectomy",
            code="lap-chole",
            duration_minutes=90,
            requirements=[surgeon, operating],
            practitioner_ids=[clinic.heart.pk, clinic.family.pk],
        ),
    )
    knee = services.create_visit_type(
        actor=admin,
        data=VisitTypeInput(
            name="Total knee replacement",
            code="tka",
            duration_minutes=120,
            requirements=[surgeon, operating],
            practitioner_ids=[clinic.heart.pk, clinic.family.pk],
        ),
    )
    for room in rooms:
        reserved = room.name == "OR 2"
        windows = weekly("07:30", "15:30", [0, 1, 3, 4] if reserved else range(5))
        if reserved:
            windows += weekly("07:30", "15:30", [2], reserved_for_id=knee.pk)
        services.create_availability_template(
            actor=admin,
            data=TemplateInput(
                resource_id=room.pk,
                location_id=clinic.location.pk,
                name="Block time",
                effective_from=dt.date(2027, 1, 1),
                windows=windows,
            ),
        )
    clinic.rooms, clinic.c_arm, clinic.chole, clinic.knee = rooms, c_arm, chole, knee
    clinic.anesthetist = add_anesthetist(clinic, "Ana", 1)
    clinic.coordinator = staff_actor(clinic.org, Role.COORDINATOR)
    return clinic


def request(theatre, patient=None, **fields) -> SurgicalCase:
    data = {
        "patient_id": (patient or theatre.patient()).pk,
        "location_id": theatre.location.pk,
        "surgeon_id": theatre.dr_heart.pk,
        "procedure_id": theatre.chole.pk,
        "duration_minutes": 90,
        "earliest_date": TUESDAY,
        "latest_date": FRIDAY,
        "priority": 3,
        **fields,
    }
    return surgery.request_case(actor=theatre.coordinator, data=surgery.CaseInput(**data))


def plan_days(theatre, first: dt.date, last: dt.date) -> SurgeryPlan:
    return surgery.plan_cases(
        actor=theatre.coordinator,
        location_id=theatre.location.pk,
        date_from=first,
        date_to=last,
        time_limit=1,
    )


def test_plan_cases_stores_a_draft_that_respects_the_clinic(theatre):
    cases = [
        request(theatre, priority=1, duration_minutes=120, equipment_ids=[theatre.c_arm.pk]),
        request(theatre, surgeon_id=theatre.dr_family.pk, equipment_ids=[theatre.c_arm.pk]),
        request(theatre, procedure_id=theatre.knee.pk, duration_minutes=150, priority=2),
        request(theatre, surgeon_id=theatre.dr_family.pk, duration_minutes=45, priority=4),
    ]
    plan = plan_days(theatre, TUESDAY, FRIDAY)
    assert plan.status == SurgeryPlanStatus.DRAFT
    assert plan.objective <= plan.baseline_objective
    items = list(plan.items.select_related("case"))
    assert {i.case_id for i in items} == {c.pk for c in cases}
    for item in items:
        local = item.starts_at.astimezone(NY)
        assert item.ends_at - item.starts_at == dt.timedelta(minutes=item.case.duration_minutes)
        assert at(local.date(), 7, 30) <= item.starts_at < at(local.date(), 15, 30)
    assert set(SurgicalCase.objects.values_list("status", flat=True)) == {CaseStatus.PLANNED}
    assert AuditEvent.objects.filter(action=AuditAction.SURGERY_PLAN_CREATE, object_id=str(plan.pk)).exists()
    # The urgent case is on the first day it may be.
    urgent = next(i for i in items if i.case_id == cases[0].pk)
    assert urgent.starts_at.astimezone(NY).date() == TUESDAY


def test_book_plan_books_everything_then_nothing_when_one_case_conflicts(theatre):
    first = request(theatre, priority=1)
    second = request(theatre, surgeon_id=theatre.dr_family.pk)
    plan = plan_days(theatre, TUESDAY, FRIDAY)
    # Someone books the surgeon of the second case right where the plan put it.
    item = plan.items.get(case=second)
    services.book_appointment(
        actor=theatre.desk,
        request=services.BookingRequest(
            patient_id=theatre.patient().pk,
            visit_type_id=theatre.follow_up.pk,
            location_id=theatre.location.pk,
            start=item.starts_at,
            resource_ids=[theatre.dr_family.pk, theatre.exam1.pk],
        ),
    )
    before = Appointment.objects.count()
    with pytest.raises(SurgeryPlanConflict) as refused:
        surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)
    assert [i["case_id"] for i in refused.value.items] == [second.pk]
    assert "surgeon is already booked" in " ".join(refused.value.items[0]["problems"])
    assert Appointment.objects.count() == before
    plan.refresh_from_db()
    assert plan.status == SurgeryPlanStatus.DRAFT
    first.refresh_from_db()
    assert first.status == CaseStatus.PLANNED

    # Re-plan around the new booking, then book it all.
    plan = plan_days(theatre, TUESDAY, FRIDAY)
    booked = surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)
    assert len(booked) == 2
    for case in (first, second):
        case.refresh_from_db()
        assert case.status == CaseStatus.BOOKED
        assert case.appointment is not None
    room_row = AppointmentResource.objects.get(appointment=first.appointment, resource__category="operating")
    assert room_row.ends_at - first.appointment.ends_at == dt.timedelta(minutes=plan.turnover_minutes)
    # The slot search's busy days hold the booked cases, exactly as rebuilt from the bookings.
    kept = set(ResourceBusyDay.objects.exclude(busy="").values_list("resource_id", "day", "busy"))
    assert room_row.resource_id in {resource_id for resource_id, _day, _busy in kept}
    services.rebuild_busy_days()
    assert set(ResourceBusyDay.objects.exclude(busy="").values_list("resource_id", "day", "busy")) == kept
    with pytest.raises(SurgeryPlanConflict, match="only a draft"):
        surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)


def test_adjusting_an_item_checks_the_rest_of_the_plan(theatre):
    a = request(theatre, earliest_date=TUESDAY, latest_date=TUESDAY)
    b = request(theatre, surgeon_id=theatre.dr_family.pk, earliest_date=TUESDAY, latest_date=TUESDAY)
    plan = plan_days(theatre, TUESDAY, TUESDAY)
    item_a, item_b = plan.items.get(case=a), plan.items.get(case=b)
    # Onto b's room, 30 minutes into b: refused, nothing changes.
    with pytest.raises(SurgeryPlanConflict, match="Overlaps case"):
        surgery.adjust_plan_item(
            actor=theatre.coordinator,
            plan_id=plan.pk,
            item_id=item_a.pk,
            room_id=item_b.room_id,
            start=item_b.starts_at + dt.timedelta(minutes=30),
        )
    assert plan.items.get(pk=item_a.pk).starts_at == item_a.starts_at
    # Outside the block: refused.
    with pytest.raises(SurgeryPlanConflict, match="block time"):
        surgery.adjust_plan_item(
            actor=theatre.coordinator,
            plan_id=plan.pk,
            item_id=item_a.pk,
            room_id=item_a.room_id,
            start=at(TUESDAY, 6, 0),
        )
    # To the other room at 13:00: fine.
    other_room = next(r for r in theatre.rooms if r.pk != item_b.room_id)
    moved = surgery.adjust_plan_item(
        actor=theatre.coordinator,
        plan_id=plan.pk,
        item_id=item_b.pk,
        room_id=other_room.pk,
        start=at(TUESDAY, 13, 0),
    )
    assert moved.starts_at == at(TUESDAY, 13, 0)
    assert moved.ends_at == at(TUESDAY, 14, 30)
    assert AuditEvent.objects.filter(action=AuditAction.SURGERY_PLAN_CHANGED).count() == 1


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"duration_minutes": 0}, InvalidSurgicalCase, "duration"),
        ({"earliest_date": FRIDAY, "latest_date": TUESDAY}, InvalidTime, "before the earliest"),
        (
            {"latest_date": MONDAY - dt.timedelta(days=3), "earliest_date": MONDAY - dt.timedelta(7)},
            InvalidTime,
            "past",
        ),
        ({"surgeon_id": 0}, InvalidSurgicalCase, "surgeon"),
    ],
)
def test_bad_cases_are_refused_and_nothing_is_written(theatre, fields, error, message):
    with pytest.raises(error, match=message):
        request(theatre, **fields)
    assert not SurgicalCase.objects.exists()


def test_a_withdrawn_case_cannot_be_booked_with_its_plan(theatre):
    case = request(theatre)
    plan = plan_days(theatre, TUESDAY, FRIDAY)
    surgery.cancel_case(actor=theatre.coordinator, case_id=case.pk)
    with pytest.raises(SurgeryPlanConflict) as refused:
        surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)
    assert refused.value.items[0]["problems"] == ["The case is cancelled."]
    assert not Appointment.objects.exists()
    with pytest.raises(InvalidSurgicalCase, match="cancelled"):
        surgery.cancel_case(actor=theatre.coordinator, case_id=case.pk)
    assert (
        AuditEvent.objects.filter(action=AuditAction.SURGERY_CASE_CHANGED, patient_id=case.patient_id).count()
        == 1
    )


def test_bad_planning_requests_change_nothing(theatre):
    case = request(theatre)
    kwargs = {"actor": theatre.coordinator, "location_id": theatre.location.pk}
    with pytest.raises(SurgicalCaseNotFound):
        surgery.plan_cases(**kwargs, date_from=TUESDAY, date_to=FRIDAY, case_ids=[case.pk, 999_999])
    with pytest.raises(InvalidTime, match="before the first day"):
        surgery.plan_cases(**kwargs, date_from=FRIDAY, date_to=TUESDAY)
    with pytest.raises(DomainError, match="past"):
        surgery.plan_cases(**kwargs, date_from=MONDAY - dt.timedelta(7), date_to=MONDAY - dt.timedelta(3))
    assert not SurgeryPlan.objects.exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.REQUESTED


# --- the pages ---------------------------------------------------------------------------------------------


@pytest.fixture
def coordinator(client_as, make_user, org):
    return client_as(make_user(Role.COORDINATOR, org))


def test_a_coordinator_requests_plans_adjusts_and_books_in_the_browser(theatre, coordinator):
    patient = theatre.patient(family_name="Lindqvist")
    page = coordinator.get(reverse("scheduling:surgery"), {"location": theatre.location.pk})
    assert page.status_code == 200
    assert b"Request a case" in page.content

    form = {
        "location": theatre.location.pk,
        "patient_mrn": patient.mrn,
        "surgeon": theatre.dr_heart.pk,
        "procedure": theatre.chole.pk,
        "procedure_code": "47562",
        "duration_minutes": 90,
        "equipment": [theatre.c_arm.pk],
        "priority": 1,
        "earliest_date": TUESDAY.isoformat(),
        "latest_date": FRIDAY.isoformat(),
    }
    bad = coordinator.post(reverse("scheduling:surgery_case_new"), {**form, "duration_minutes": 0})
    assert bad.status_code == 400
    assert not SurgicalCase.objects.exists()
    added = coordinator.post(reverse("scheduling:surgery_case_new"), form)
    assert added.status_code == 302
    listing = coordinator.get(reverse("scheduling:surgery"), {"location": theatre.location.pk})
    assert b"Lindqvist" in listing.content
    assert b"47562 Laparoscopic cholecystectomy" in listing.content

    planned = coordinator.post(
        reverse("scheduling:surgery_plan_new"),
        {
            "location": theatre.location.pk,
            "date_from": TUESDAY.isoformat(),
            "date_to": FRIDAY.isoformat(),
            "turnover": 30,
            "overtime_cap": 60,
            "time_limit": 1,
        },
        HTTP_HX_REQUEST="true",
    )
    assert planned.status_code == 204
    plan = SurgeryPlan.objects.get()
    assert planned["HX-Redirect"] == reverse("scheduling:surgery_plan", kwargs={"surgery_plan_id": plan.pk})
    grid = coordinator.get(planned["HX-Redirect"])
    assert grid.status_code == 200
    assert b'class="table table-bordered gantt"' in grid.content
    assert b"gantt-case prio-1" in grid.content
    assert b"style=" not in grid.content
    tables = re.findall(r'<table class="table table-bordered gantt".*?</table>', grid.content.decode(), re.S)
    assert tables  # a table per day with block time: the colspans of every room row add up to the hours'
    for table in tables:
        head, body = table.split("<tbody>")
        columns = sum(int(n) for n in re.findall(r'<th colspan="(\d+)"', head))
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        assert rows
        assert all(sum(int(n) for n in re.findall(r'<td colspan="(\d+)"', row)) == columns for row in rows)

    item = plan.items.get()
    move_url = reverse(
        "scheduling:surgery_plan_item", kwargs={"surgery_plan_id": plan.pk, "surgery_item_id": item.pk}
    )
    prefix = f"item{item.pk}"
    refused = coordinator.post(
        move_url, {f"{prefix}-room": item.room_id, f"{prefix}-start": f"{TUESDAY}T05:00"}
    )
    assert refused.status_code == 409
    assert b"block time" in refused.content
    moved = coordinator.post(
        move_url, {f"{prefix}-room": item.room_id, f"{prefix}-start": f"{TUESDAY}T10:00"}
    )
    assert moved.status_code == 302
    item.refresh_from_db()
    assert item.starts_at == at(TUESDAY, 10, 0)

    booked = coordinator.post(reverse("scheduling:surgery_plan_book", kwargs={"surgery_plan_id": plan.pk}))
    assert booked.status_code == 302
    item.refresh_from_db()
    assert item.appointment is not None
    assert item.appointment.patient_id == patient.pk


def test_front_desk_sees_cases_but_cannot_plan(theatre, client_as, make_user, org):
    desk = client_as(make_user(Role.FRONT_DESK, org))
    assert desk.get(reverse("scheduling:surgery")).status_code == 200
    refused = desk.post(reverse("scheduling:surgery_plan_new"), {"location": theatre.location.pk})
    assert refused.status_code == 403
    case = request(theatre)
    withdrawn = desk.post(reverse("scheduling:surgery_case_cancel", kwargs={"surgical_case_id": case.pk}))
    assert withdrawn.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.CANCELLED


def test_an_out_of_range_location_on_the_surgery_page_falls_back_instead_of_crashing(theatre, coordinator):
    assert coordinator.get(reverse("scheduling:surgery"), {"location": "9" * 30}).status_code == 200
