"""The database itself refuses double bookings (migration 0002): rows written behind the services' back
are refused too, on SQLite (triggers) and PostgreSQL (exclusion constraint), and the services turn that
refusal into SlotConflict."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from caredesk.scheduling import rules, services
from caredesk.scheduling.errors import SlotConflict
from caredesk.scheduling.models import Appointment, AppointmentResource

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db


def _row(appointment: Appointment, resource, start: dt.datetime, end: dt.datetime, active: bool = True):
    return AppointmentResource(
        appointment=appointment, resource=resource, starts_at=start, ends_at=end, active=active
    )


def _insert(row: AppointmentResource) -> None:
    with transaction.atomic():
        row.save()


def test_an_overlapping_active_row_is_refused_by_the_database(clinic):
    first = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    other = book(clinic, at(MONDAY, 10), resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    # 09:10-09:30 on Dr. Heart, written directly: it overlaps the booking at 09:00-09:20.
    with pytest.raises(IntegrityError) as refused:
        _insert(_row(other, clinic.dr_heart, at(MONDAY, 9, 10), at(MONDAY, 9, 30)))
    assert services.is_overlap_violation(refused.value)
    # Touching ranges are fine ([09:00, 09:20) then [09:20, 09:40)), and so are inactive rows.
    _insert(_row(other, clinic.dr_heart, at(MONDAY, 9, 20), at(MONDAY, 9, 40)))
    _insert(_row(first, clinic.procedure, at(MONDAY, 9), at(MONDAY, 9, 20)))
    inactive_other = book(clinic, at(MONDAY, 11), resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    _insert(_row(inactive_other, clinic.procedure, at(MONDAY, 9, 5), at(MONDAY, 9, 15), active=False))


def test_reactivating_or_moving_a_row_onto_a_busy_range_is_refused(clinic):
    book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    later = book(clinic, at(MONDAY, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk])
    row = AppointmentResource.objects.get(appointment=later, resource=clinic.dr_heart)
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentResource.objects.filter(pk=row.pk).update(starts_at=at(MONDAY, 9, 10))
    AppointmentResource.objects.filter(pk=row.pk).update(active=False, starts_at=at(MONDAY, 9, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentResource.objects.filter(pk=row.pk).update(active=True)


def test_a_booking_that_slips_past_the_check_is_reported_as_a_conflict(clinic, monkeypatch):
    """Simulate the race the check cannot see (a concurrent commit): with the check blinded, the
    database's refusal comes back as SlotConflict detected by the database, and nothing is written."""
    book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    monkeypatch.setattr(services.selectors, "load_busy", lambda *args, **kwargs: {})
    count = Appointment.objects.count()
    with pytest.raises(SlotConflict) as conflict:
        book(clinic, at(MONDAY, 9, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk])
    assert conflict.value.details["detected_by"] == "database"
    assert Appointment.objects.count() == count


def test_the_guard_exists_in_this_database():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'scheduling_appointmentresource'"
            )
            assert {row[0] for row in cursor.fetchall()} == {
                "sched_booking_no_overlap_insert",
                "sched_booking_no_overlap_update",
                "sched_busy_day_forget_update",  # migration 0012: busy days never outlive a booking
                "sched_busy_day_forget_delete",
            }
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT contype FROM pg_constraint WHERE conname = 'sched_booking_no_overlap'")
            assert cursor.fetchone() == ("x",)


def test_busy_ranges_come_back_as_the_same_minutes_the_rules_use(clinic):
    appointment = book(clinic, at(MONDAY, 9, 40), clinic.new_patient)
    busy = services.selectors.load_busy([clinic.dr_heart.pk, clinic.exam1.pk], at(MONDAY, 0), at(MONDAY, 23))
    row = appointment.bookings.get(resource=clinic.dr_heart)
    assert [b.blocked for b in busy[clinic.dr_heart.pk]] == [
        (rules.to_minute(row.starts_at), rules.to_minute(row.ends_at))
    ]
