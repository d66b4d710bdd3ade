"""Surgery planning with the anesthesia pool: every case gets one anesthesia provider who works then and
is on no other case or booking at the same time; booking a plan books the provider too (and the database
refuses a double booking)."""

from __future__ import annotations

import dataclasses

import pytest

from caredesk.scheduling import planning, services, surgery
from caredesk.scheduling.choices import SurgeryPlanStatus
from caredesk.scheduling.errors import SurgeryPlanConflict
from caredesk.scheduling.models import AppointmentResource

from .test_surgery_planning import (
    TUESDAY,
    _minute,
    add_anesthetist,
    assert_valid,
    build_theatre,
    generated,
    plan_days,
    request,
)

# --- the optimizer on values ------------------------------------------------------------------------------


def with_pool(instance: planning.Instance, size: int) -> planning.Instance:
    """The instance with `size` anesthesia providers: the first works both days (busy day 0 10:00-11:00),
    the others day 0 only."""
    pool = tuple(
        planning.Anesthetist(
            500 + n,
            f"Anesthesia {n}",
            tuple((_minute(d, 7), _minute(d, 17)) for d in (range(2) if n == 0 else [0])),
            ((_minute(0, 10), _minute(0, 11)),) if n == 0 else (),
        )
        for n in range(size)
    )
    return dataclasses.replace(instance, anesthesia=pool)


def assert_anesthesia_valid(instance: planning.Instance, result: planning.PlanResult) -> None:
    """Independently of `planning.check`: each placed case has a provider of the pool, working through it,
    free of their bookings, and on no other case at the same time."""
    pool = {a.id: a for a in instance.anesthesia or ()}
    cap = instance.overtime_cap
    for p in result.placements:
        provider = pool[p.anesthetist_id]
        assert any(a <= p.start < b and p.end <= b + cap for a, b in provider.hours)
        assert all(p.end <= a or b <= p.start for a, b in provider.busy)
        for q in result.placements:
            if q is not p and q.anesthetist_id == p.anesthetist_id:
                assert p.end <= q.start or q.end <= p.start


@pytest.mark.parametrize(("seed", "size"), [(0, 1), (1, 2), (2, 1), (3, 3)])
def test_both_planners_give_every_case_a_free_anesthesia_provider(seed, size):
    instance = with_pool(generated(seed), size)
    baseline = planning.first_fit(instance)
    optimized = planning.solve(instance, time_limit=2, workers=2, hint=baseline)
    for result in (baseline, optimized):
        assert_valid(instance, result)
        assert_anesthesia_valid(instance, result)
    assert optimized.solver_objective == optimized.score.total
    assert optimized.score.total <= baseline.score.total


def test_one_anesthesia_provider_keeps_two_rooms_from_running_at_once():
    block = planning.Block(_minute(0, 8), _minute(0, 12))
    rooms = (planning.Room(1, "OR 1", (block,)), planning.Room(2, "OR 2", (block,)))
    hours = ((_minute(0, 8), _minute(0, 12)),)
    window = (_minute(0, 0), _minute(1, 0))
    cases = (planning.Case(1, 10, 5, 120, 3, window, hours), planning.Case(2, 11, 5, 120, 3, window, hours))
    one = planning.Anesthetist(50, "Dr. A", hours)
    parallel = planning.Instance(cases=cases, rooms=rooms, overtime_cap=0)
    for result in (planning.first_fit(parallel), planning.solve(parallel, time_limit=2, workers=2)):
        assert {p.start for p in result.placements} == {_minute(0, 8)}  # without anesthesia: side by side
    single = dataclasses.replace(parallel, anesthesia=(one,))
    for result in (planning.first_fit(single), planning.solve(single, time_limit=2, workers=2)):
        assert sorted(p.start for p in result.placements) == [_minute(0, 8), _minute(0, 10)]
        assert {p.anesthetist_id for p in result.placements} == {50}
    # Two providers: side by side again, one each.
    two = dataclasses.replace(single, anesthesia=(one, planning.Anesthetist(51, "Dr. B", hours)))
    for result in (planning.first_fit(two), planning.solve(two, time_limit=2, workers=2)):
        assert {p.start for p in result.placements} == {_minute(0, 8)}
        assert {p.anesthetist_id for p in result.placements} == {50, 51}


def test_check_reports_anesthesia_conflicts():
    block = planning.Block(_minute(0, 8), _minute(0, 12))
    rooms = (planning.Room(1, "OR 1", (block,)), planning.Room(2, "OR 2", (block,)))
    hours = ((_minute(0, 8), _minute(0, 12)),)
    window = (_minute(0, 0), _minute(1, 0))
    cases = (planning.Case(1, 10, 5, 60, 3, window, hours), planning.Case(2, 11, 5, 60, 3, window, hours))
    pool = (
        planning.Anesthetist(50, "Dr. A", hours, busy=((_minute(0, 11), _minute(0, 12)),)),
        planning.Anesthetist(11, "Dr. Surgeon-too", hours),  # also the surgeon of case 2
    )
    instance = planning.Instance(cases=cases, rooms=rooms, overtime_cap=0, anesthesia=pool)
    start = _minute(0, 8)
    same = [
        planning.Placement(1, 1, start, start + 60, 50),
        planning.Placement(2, 2, start, start + 60, 50),
    ]
    assert "The anesthesia provider is on case 1 at the same time." in [
        m for _, m in planning.check(instance, same)
    ]
    own = [planning.Placement(2, 2, start, start + 60, 11)]
    assert [m for _, m in planning.check(instance, own)] == [
        "The surgeon cannot be the case's own anesthesia provider."
    ]
    surgeon_elsewhere = [
        planning.Placement(1, 1, start, start + 60, 11),
        planning.Placement(2, 2, start, start + 60, 50),
    ]
    assert any("anesthesia provider of case 1" in m for _, m in planning.check(instance, surgeon_elsewhere))
    late = _minute(0, 11)
    assert [m for _, m in planning.check(instance, [planning.Placement(1, 1, late, late + 60, 50)])] == [
        "The anesthesia provider (Dr. A) is already booked then."
    ]
    assert [m for _, m in planning.check(instance, [planning.Placement(1, 1, start, start + 60)])] == [
        "No anesthesia provider from the pool is assigned."
    ]


def test_an_empty_pool_places_nothing_and_says_why():
    block = planning.Block(_minute(0, 8), _minute(0, 12))
    hours = ((_minute(0, 8), _minute(0, 12)),)
    case = planning.Case(1, 10, 5, 60, 3, (_minute(0, 0), _minute(1, 0)), hours)
    afternoon = planning.Anesthetist(50, "Dr. PM", ((_minute(0, 13), _minute(0, 17)),))
    for pool in ((), (afternoon,)):
        instance = planning.Instance(
            cases=(case,), rooms=(planning.Room(1, "OR", (block,)),), anesthesia=pool
        )
        for result in (planning.first_fit(instance), planning.solve(instance, time_limit=1, workers=1)):
            assert result.placements == ()
            assert [u.code for u in result.unplaced] == ["no_anesthesia"]


# --- the services on the test clinic ------------------------------------------------------------------------


@pytest.fixture
def theatre(clinic):
    """The planning tests' theatre (one anesthesiologist, Mon-Fri), with a pre-operative visit type the
    anesthesiologist offers (to book them by hand)."""
    theatre = build_theatre(clinic)
    theatre.pre_op = services.create_visit_type(
        actor=theatre.admin,
        data=services.VisitTypeInput(
            name="Pre-operative assessment",
            code="pre-op",
            duration_minutes=30,
            requirements=[
                services.RequirementInput("practitioner"),
                services.RequirementInput("room", category="exam"),
            ],
            practitioner_ids=[theatre.anesthetist.practitioner_id],
        ),
    )
    return theatre


def test_plan_and_booking_hold_the_anesthesia_provider(theatre):
    a = request(theatre, earliest_date=TUESDAY, latest_date=TUESDAY)
    b = request(theatre, surgeon_id=theatre.dr_family.pk, earliest_date=TUESDAY, latest_date=TUESDAY)
    plan = plan_days(theatre, TUESDAY, TUESDAY)
    items = {i.case_id: i for i in plan.items.all()}
    assert set(items) == {a.pk, b.pk}
    # One anesthesiologist in the pool: the two cases (two rooms, two surgeons) do not overlap.
    assert {i.anesthetist_id for i in items.values()} == {theatre.anesthetist.pk}
    first, second = sorted(items.values(), key=lambda i: i.starts_at)
    assert first.ends_at <= second.starts_at

    # Someone books the anesthesiologist where the plan put case b: booking the plan is refused.
    clash = items[b.pk]
    services.book_appointment(
        actor=theatre.desk,
        request=services.BookingRequest(
            patient_id=theatre.patient().pk,
            visit_type_id=theatre.pre_op.pk,
            location_id=theatre.location.pk,
            start=clash.starts_at,
            resource_ids=[theatre.anesthetist.pk, theatre.exam1.pk],
        ),
    )
    with pytest.raises(SurgeryPlanConflict) as refused:
        surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)
    assert [i["case_id"] for i in refused.value.items] == [b.pk]
    assert "anesthesia provider" in " ".join(refused.value.items[0]["problems"])

    # A second anesthesiologist joins; the re-plan books both cases, each holding its provider.
    second_provider = add_anesthetist(theatre, "Bea", 2)
    plan = plan_days(theatre, TUESDAY, TUESDAY)
    booked = surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)
    assert len(booked) == 2
    held = AppointmentResource.objects.filter(
        appointment__in=booked, resource__category="anesthesia", active=True
    )
    assert held.count() == 2
    for row in held:
        assert (row.starts_at, row.ends_at) == (row.appointment.starts_at, row.appointment.ends_at)
    assert {row.resource_id for row in held} <= {theatre.anesthetist.pk, second_provider.pk}
    plan.refresh_from_db()
    assert plan.status == SurgeryPlanStatus.BOOKED


def test_moving_a_case_hands_it_to_a_free_anesthesia_provider_or_refuses(theatre):
    a = request(theatre, earliest_date=TUESDAY, latest_date=TUESDAY, duration_minutes=60)
    b = request(
        theatre,
        surgeon_id=theatre.dr_family.pk,
        earliest_date=TUESDAY,
        latest_date=TUESDAY,
        duration_minutes=60,
    )
    plan = plan_days(theatre, TUESDAY, TUESDAY)
    item_a, item_b = plan.items.get(case=a), plan.items.get(case=b)
    # Onto the other room at the same time as a: the only anesthesiologist is busy with a.
    with pytest.raises(SurgeryPlanConflict, match="anesthesia provider is on case"):
        surgery.adjust_plan_item(
            actor=theatre.coordinator,
            plan_id=plan.pk,
            item_id=item_b.pk,
            room_id=next(r.pk for r in theatre.rooms if r.pk != item_a.room_id),
            start=item_a.starts_at,
        )
    assert plan.items.get(pk=item_b.pk).starts_at == item_b.starts_at
    # With a second anesthesiologist (Tuesday only), the same move goes through and b changes hands.
    bea = add_anesthetist(theatre, "Bea", 2, days=[1])
    moved = surgery.adjust_plan_item(
        actor=theatre.coordinator,
        plan_id=plan.pk,
        item_id=item_b.pk,
        room_id=next(r.pk for r in theatre.rooms if r.pk != item_a.room_id),
        start=item_a.starts_at,
    )
    assert moved.anesthetist_id == bea.pk
    assert moved.starts_at == item_a.starts_at
    booked = surgery.book_plan(actor=theatre.coordinator, plan_id=plan.pk)
    assert AppointmentResource.objects.filter(appointment__in=booked, resource=bea).count() == 1


def test_no_anesthesia_provider_working_then_leaves_cases_unplaced(theatre):
    services.set_resource_active(actor=theatre.admin, resource_id=theatre.anesthetist.pk, active=False)
    monday_only = add_anesthetist(theatre, "Mo", 3, days=[0])
    case = request(theatre, earliest_date=TUESDAY, latest_date=TUESDAY)
    plan = plan_days(theatre, TUESDAY, TUESDAY)
    assert not plan.items.exists()
    assert [(u["case_id"], u["code"]) for u in plan.unplaced] == [(case.pk, "no_anesthesia")]
    # An organization with no anesthesia provider on file at all plans without anesthesia (as before).
    services.set_resource_active(actor=theatre.admin, resource_id=monday_only.pk, active=False)
    plan = plan_days(theatre, TUESDAY, TUESDAY)
    assert [(i.case_id, i.anesthetist_id) for i in plan.items.all()] == [(case.pk, None)]
