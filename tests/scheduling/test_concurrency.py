"""No double booking under load: 1,008 booking attempts from 16 threads, each with its own database
connection and real transactions, all aimed at the same two practitioners and two exam rooms on one
morning (overlapping times on a 5-minute grid), while the desks also cancel some of their own bookings
so that freed time is fought over again. Run on SQLite (a file database: writers serialized by
IMMEDIATE transactions plus the overlap triggers) and PostgreSQL (the exclusion constraint).

Proves: no two active bookings of a resource overlap; every attempt either booked or got SlotConflict
(nothing else: no lock timeout, no IntegrityError, no deadlock); every success has its rows and audit
row, and every loser left nothing behind.

The services lock the resources they book (id order) and check under the lock, so their conflicts are seen
by the check. The second test takes the services' check and locks away and races raw booking rows at the
database from 16 threads: the database alone keeps them apart (the exclusion constraint on PostgreSQL,
the triggers on SQLite), and its refusals come back as SlotConflict too.
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection, transaction

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import services
from caredesk.scheduling.errors import SlotConflict
from caredesk.scheduling.models import Appointment, AppointmentResource
from tests.patients.factories import audit_triggers_lifted

from .conftest import MONDAY, at, build_clinic

THREADS = 16
ATTEMPTS_PER_THREAD = 63  # 1,008 in all
# Follow-ups (20 minutes) starting 09:00 .. 11:40, every 5 minutes: they overlap one another heavily.
STARTS = [at(MONDAY, 9) + n * (at(MONDAY, 9, 5) - at(MONDAY, 9)) for n in range(33)]


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.mark.usefixtures("_flushable_audit_table")
def test_a_thousand_concurrent_bookings_never_double_book(transactional_db, org, frozen_clock):
    clinic = build_clinic(org)
    patients = [clinic.patient() for _ in range(THREADS)]
    practitioners = [clinic.dr_heart.pk, clinic.dr_family.pk]
    rooms = [clinic.exam1.pk, clinic.exam2.pk]
    outcomes: list[tuple[str, str]] = []
    cancelled: list[int] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def desk(number: int) -> None:
        rng = random.Random(number)
        mine: list[int] = []
        try:
            barrier.wait()
            for _ in range(ATTEMPTS_PER_THREAD):
                if mine and rng.random() < 0.3:
                    appointment_id = mine.pop(rng.randrange(len(mine)))
                    services.cancel_appointment(
                        actor=clinic.desk, appointment_id=appointment_id, reason="patient_request"
                    )
                    with lock:
                        cancelled.append(appointment_id)
                explicit = rng.random() < 0.75
                request = services.BookingRequest(
                    patient_id=patients[number].pk,
                    visit_type_id=clinic.follow_up.pk,
                    location_id=clinic.location.pk,
                    start=rng.choice(STARTS),
                    resource_ids=[rng.choice(practitioners), rng.choice(rooms)] if explicit else None,
                )
                try:
                    appointment = services.book_appointment(actor=clinic.desk, request=request)
                except SlotConflict as conflict:
                    outcome = ("conflict", str(conflict.details.get("detected_by")))
                except BaseException as exc:
                    with lock:
                        unexpected.append(exc)
                    continue
                else:
                    outcome = ("booked", "")
                    mine.append(appointment.pk)
                with lock:
                    outcomes.append(outcome)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=desk, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    assert unexpected == [], f"{len(unexpected)} attempts failed otherwise, first: {unexpected[:1]!r}"
    counts = Counter(kind for kind, _ in outcomes)
    detected = Counter(by for kind, by in outcomes if kind == "conflict")
    assert len(outcomes) == THREADS * ATTEMPTS_PER_THREAD
    assert set(detected) <= {"check", "database"}

    booked = Appointment.objects.filter(organization=org)
    assert booked.count() == counts["booked"] > 0
    assert AuditEvent.objects.filter(action=int(AuditAction.APPOINTMENT_CREATE)).count() == counts["booked"]
    rows = list(AppointmentResource.objects.filter(active=True).order_by("resource_id", "starts_at"))
    # A practitioner and a room for each booking that was not cancelled; losers left no rows.
    assert len(rows) == 2 * (counts["booked"] - len(cancelled))
    assert booked.filter(status="cancelled").count() == len(cancelled)
    by_resource: dict[int, list[AppointmentResource]] = defaultdict(list)
    for row in rows:
        by_resource[row.resource_id].append(row)
    for resource_rows in by_resource.values():
        for earlier, later in itertools.pairwise(resource_rows):
            assert later.starts_at >= earlier.ends_at, f"double booking: {earlier} and {later}"

    print(  # noqa: T201 - the figures of the run, shown with -rP
        f"\n[{connection.vendor}] {len(outcomes)} attempts from {THREADS} threads in {elapsed:.1f} s: "
        f"{counts['booked']} booked ({len(cancelled)} of them cancelled again), "
        f"{counts['conflict']} conflicts "
        f"(seen by the check: {detected['check']}, refused by the database: {detected['database']})",
        file=sys.stderr,
    )


RAW_ATTEMPTS_PER_THREAD = 25


@pytest.mark.usefixtures("_flushable_audit_table")
def test_the_database_alone_refuses_overlapping_rows_written_at_once(transactional_db, org, frozen_clock):
    clinic = build_clinic(org)
    patient = clinic.patient()
    resources = [clinic.dr_heart.pk, clinic.exam1.pk]
    outcomes: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def writer(number: int) -> None:
        rng = random.Random(1000 + number)
        try:
            barrier.wait()
            for _ in range(RAW_ATTEMPTS_PER_THREAD):
                start = rng.choice(STARTS)
                end = start + (at(MONDAY, 9, 20) - at(MONDAY, 9))
                try:
                    with transaction.atomic():
                        appointment = Appointment.objects.create(
                            organization=org,
                            patient=patient,
                            visit_type=clinic.follow_up,
                            location=clinic.location,
                            starts_at=start,
                            ends_at=end,
                            booked_by_name="raw writer",
                        )
                        services._write_bookings(
                            [
                                AppointmentResource(
                                    appointment=appointment, resource_id=r, starts_at=start, ends_at=end
                                )
                                for r in rng.sample(resources, rng.randint(1, 2))
                            ]
                        )
                except SlotConflict as conflict:
                    outcome = f"refused by the {conflict.details['detected_by']}"
                except BaseException as exc:
                    with lock:
                        unexpected.append(exc)
                    continue
                else:
                    outcome = "written"
                with lock:
                    outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == [], f"{len(unexpected)} writes failed otherwise, first: {unexpected[:1]!r}"
    counts = Counter(outcomes)
    assert set(counts) == {"written", "refused by the database"}
    assert Appointment.objects.count() == counts["written"]
    for resource in resources:
        rows = list(
            AppointmentResource.objects.filter(resource_id=resource, active=True).order_by("starts_at")
        )
        for earlier, later in itertools.pairwise(rows):
            assert later.starts_at >= earlier.ends_at, f"double booking: {earlier} and {later}"
    print(  # noqa: T201 - the figures of the run, shown with -rP
        f"\n[{connection.vendor}] {len(outcomes)} raw writes from {THREADS} threads: "
        f"{counts['written']} written, {counts['refused by the database']} refused by the database",
        file=sys.stderr,
    )
