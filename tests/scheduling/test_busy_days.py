"""Busy days (ResourceBusyDay): the summary of each resource's bookings per UTC day that lets a deep slot
search skip the days where a visit cannot fit. On randomized bookings, cancellations and reschedules
made through the services, the search returns exactly the slots it returns from the bookings alone, and
the rows the services keep equal the rows rebuilt from scratch."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from caredesk.core.errors import DomainError
from caredesk.scheduling import rules, selectors, services
from caredesk.scheduling.models import Appointment, AppointmentResource, ResourceBusyDay
from caredesk.scheduling.selectors import SlotQuery

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db


def kept_rows() -> set[tuple[int, dt.date, str]]:
    return set(ResourceBusyDay.objects.exclude(busy="").values_list("resource_id", "day", "busy"))


def busy_clinic(clinic, rng: random.Random, operations: int) -> None:
    """Book (mostly times a search offered, some at random), cancel and move over three weeks, through
    the services (refused ones skipped)."""
    patients = [clinic.patient() for _ in range(6)]
    visit_types = [clinic.follow_up, clinic.new_patient, clinic.echo, clinic.video]
    for _ in range(operations):
        booked = list(Appointment.objects.filter(status="booked").values_list("pk", flat=True))
        choice = rng.random()
        try:
            if choice < 0.5:
                visit_type = rng.choice(visit_types)
                offered = selectors.find_slots(
                    actor=clinic.desk,
                    query=SlotQuery(
                        visit_type_id=visit_type.pk,
                        first_day=MONDAY + dt.timedelta(days=rng.randrange(0, 21)),
                        limit=20,
                    ),
                )
                if offered:
                    slot = rng.choice(offered)
                    book(
                        clinic,
                        slot.start,
                        visit_type,
                        resource_ids=list(slot.resource_ids),
                        patient=rng.choice(patients),
                    )
            elif booked and choice < 0.62:
                services.cancel_appointment(
                    actor=clinic.desk, appointment_id=rng.choice(booked), reason="patient_request"
                )
            elif booked and choice < 0.72:
                day = MONDAY + dt.timedelta(days=rng.randrange(1, 21))
                services.reschedule_appointment(
                    actor=clinic.desk,
                    appointment_id=rng.choice(booked),
                    start=at(day, rng.randrange(8, 17), rng.choice((0, 15, 30, 45))),
                )
            else:
                day = MONDAY + dt.timedelta(days=rng.randrange(0, 21))
                book(
                    clinic,
                    at(day, rng.randrange(7, 17), rng.choice((0, 15, 20, 30, 40, 45))),
                    rng.choice(visit_types),
                    patient=rng.choice(patients),
                )
        except DomainError:
            continue


def search_both_ways(clinic, monkeypatch, query: SlotQuery) -> tuple[list, list]:
    monkeypatch.setattr(selectors, "USE_BUSY_DAYS", True)
    with_days = selectors.find_slots(actor=clinic.desk, query=query)
    monkeypatch.setattr(selectors, "USE_BUSY_DAYS", False)
    without = selectors.find_slots(actor=clinic.desk, query=query)
    return with_days, without


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_busy_days_change_no_slot_and_stay_in_step(clinic, monkeypatch, seed):
    rng = random.Random(seed)
    busy_clinic(clinic, rng, operations=120)
    # A holiday and a day off: time away is read from the set-up, not the busy days.
    services.add_availability_exception(
        actor=clinic.admin,
        kind="holiday",
        starts_at=at(MONDAY, 0) + dt.timedelta(days=3),
        ends_at=at(MONDAY, 0) + dt.timedelta(days=4),
    )
    kept = kept_rows()
    assert kept, "the services wrote busy days"
    services.rebuild_busy_days()
    assert kept_rows() == kept
    compared = 0
    for _ in range(40):
        visit_type = rng.choice([clinic.follow_up, clinic.new_patient, clinic.echo, clinic.video])
        query = SlotQuery(
            visit_type_id=visit_type.pk,
            practitioner_id=rng.choice([None, clinic.heart.pk]),
            first_day=MONDAY + dt.timedelta(days=rng.randrange(0, 5)),
            last_day=MONDAY + dt.timedelta(days=rng.randrange(10, 40)),
            weekdays=rng.choice([None, frozenset({1, 3}), frozenset({0, 2, 4})]),
            earliest=rng.choice([None, dt.time(9)]),
            modality=rng.choice([None, "telehealth"]) if visit_type == clinic.video else None,
            limit=rng.choice([5, 20, 50]),
        )
        with_days, without = search_both_ways(clinic, monkeypatch, query)
        assert with_days == without, query
        compared += bool(without)
    assert compared >= 20  # most searches found something to compare


def test_a_cancellation_frees_its_day_for_a_deep_search(clinic, monkeypatch):
    """Fill Dr. Heart's Monday to Wednesday with echo visits (one hour each): a one-hour search for her
    starts on Thursday; cancelling a Tuesday visit brings Tuesday back, from the busy days too."""
    monkeypatch.setattr(selectors, "USE_BUSY_DAYS", True)
    tuesday = None
    for offset in range(3):
        day = MONDAY + dt.timedelta(days=offset)
        for hour in (8, 9, 10, 11, 13, 14, 15, 16):
            appointment = book(clinic, at(day, hour), clinic.echo)
            if offset == 1 and hour == 10:
                tuesday = appointment
    query = SlotQuery(visit_type_id=clinic.echo.pk, practitioner_id=clinic.heart.pk, limit=1)
    [first] = selectors.find_slots(actor=clinic.desk, query=query)
    assert first.start.strftime("%a %H:%M") == "Thu 08:00"
    assert tuesday is not None
    services.cancel_appointment(actor=clinic.desk, appointment_id=tuesday.pk, reason="patient_request")
    [first] = selectors.find_slots(actor=clinic.desk, query=query)
    assert first.start.strftime("%a %H:%M") == "Tue 10:00"
    tuesday_utc = (at(MONDAY, 12) + dt.timedelta(days=1)).date()
    row = ResourceBusyDay.objects.get(resource=clinic.dr_heart, day=tuesday_utc)
    ten = rules.to_minute(at(MONDAY, 10) + dt.timedelta(days=1))
    busy = rules.busy_day_intervals(row.busy)
    assert any(end == ten for _start, end in busy)  # busy until 10:00, then free for an hour
    assert not any(start <= ten < end for start, end in busy)


@pytest.mark.parametrize("how", ["deleted", "switched off"])
def test_bookings_changed_outside_the_services_never_hide_a_free_time(clinic, monkeypatch, how):
    """An appointment deleted (the admin, a clean-up) or a booking row switched off by a bulk update:
    the database forgets the busy days those bookings met, so the deep search still finds the time."""
    monkeypatch.setattr(selectors, "USE_BUSY_DAYS", True)
    tuesday = None
    for offset in range(3):
        day = MONDAY + dt.timedelta(days=offset)
        for hour in (8, 9, 10, 11, 13, 14, 15, 16):
            appointment = book(clinic, at(day, hour), clinic.echo)
            if offset == 1 and hour == 10:
                tuesday = appointment
    assert tuesday is not None
    if how == "deleted":
        Appointment.objects.filter(pk=tuesday.pk).delete()
    else:
        AppointmentResource.objects.filter(appointment=tuesday).update(active=False)
    query = SlotQuery(visit_type_id=clinic.echo.pk, practitioner_id=clinic.heart.pk, limit=1)
    [first] = selectors.find_slots(actor=clinic.desk, query=query)
    assert first.start.strftime("%a %H:%M") == "Tue 10:00"


def test_busy_days_give_the_same_starts_as_the_bookings():
    """rules.busy_day_text per UTC day, read back, allows exactly the starts the bookings allow."""
    rng = random.Random(7)
    day = dt.date(2027, 3, 2)
    low, high = rules.utc_day_bounds(day)
    for _ in range(300):
        busy = [
            (start, start + rng.choice((10, 20, 30, 60, 900)))
            for start in (rng.randrange(low - 600, high + 300) for _ in range(rng.randrange(0, 12)))
        ]
        available = rules.normalize(
            (start, start + rng.randrange(30, 900))
            for start in (rng.randrange(low - 300, high) for _ in range(3))
        )
        footprint = rules.Footprint(
            rng.choice((15, 20, 40, 60, 90)), rng.choice((0, 10)), rng.choice((0, 15))
        )
        read_back = [
            interval
            for d in rules.utc_days(low - 1440, high + 1440)
            for interval in rules.busy_day_intervals(rules.busy_day_text(busy, d))
        ]
        assert rules.allowed_starts(available, read_back, footprint) == rules.allowed_starts(
            available, busy, footprint
        )
