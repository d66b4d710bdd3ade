"""No double booking under load, through the real JSON API: 1,008 POST /api/v1/appointments from 16
threads, each with its own keep-alive HTTP connection to pytest-django's live server (a real threaded
HTTP server: every request goes through the token, the permission, validation, the booking rules, the
resource lock, the overlap check and the database's own guard, then the JSON answer). All attempts aim
at the same two practitioners and two exam rooms on one morning (20-minute visits on a 5-minute grid, so
they overlap one another heavily), and the desks cancel some of their own bookings through the API so
that freed time is fought over again until the end. Run on SQLite and PostgreSQL.

Proves what a front-desk integration would notice: every booking attempt answers 201 or 409, never a
5xx nor anything else; every 409 says in its JSON body that the time is taken (`slot_conflict`, a
message, and the appointments in the way when the check saw them); every 201 is one appointment in the
database and nothing else was booked; and, asked of the database itself with a self-join over the booking
rows, no resource holds two overlapping active bookings.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from caredesk.accounts.permissions import Role
from caredesk.scheduling.models import Appointment, AppointmentResource
from tests.interop.conftest import token_for
from tests.patients.factories import audit_triggers_lifted

from .conftest import MONDAY, at, build_clinic

THREADS = 16
ATTEMPTS_PER_THREAD = 63  # 1,008 booking attempts in all
CANCEL_SHARE = 0.15  # before an attempt, a desk sometimes cancels one of its own bookings
STEP = at(MONDAY, 9, 5) - at(MONDAY, 9)
# Follow-ups (20 minutes) starting 09:00 .. 11:40, every 5 minutes: they overlap one another heavily.
STARTS = [at(MONDAY, 9) + n * STEP for n in range(33)]
API = "/api/v1"


@pytest.fixture(scope="module", autouse=True)
def _flushable_audit_table(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Module-wide, so the triggers are still lifted when pytest-django's (autouse) live-server helper
    flushes the database after the test."""
    with audit_triggers_lifted(django_db_blocker):
        yield


def _overlapping_active_pairs(*, with_itself: bool = False) -> list[tuple[Any, ...]]:
    """Pairs of active booking rows of one resource whose ranges overlap, straight from the database
    (`with_itself`: each row also pairs with itself, which shows the query finds overlaps at all)."""
    same = ">=" if with_itself else ">"
    table = connection.ops.quote_name(AppointmentResource._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.resource_id, a.appointment_id, b.appointment_id FROM {table} a "  # noqa: S608
            f"JOIN {table} b ON b.resource_id = a.resource_id AND b.id {same} a.id "
            "AND b.starts_at < a.ends_at AND a.starts_at < b.ends_at "
            "WHERE a.active = %s AND b.active = %s",
            [True, True],
        )
        return list(cursor.fetchall())


def test_a_thousand_concurrent_bookings_over_http_answer_201_or_409_and_never_double_book(
    live_server, org, make_user, frozen_clock
):
    clinic = build_clinic(org)
    token = token_for(make_user(Role.FRONT_DESK, org))
    patients = [clinic.patient().pk for _ in range(4)]
    practitioners = [clinic.dr_heart.pk, clinic.dr_family.pk]
    rooms = [clinic.exam1.pk, clinic.exam2.pk]
    host, port = live_server.thread.host, live_server.thread.port
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    answers: list[tuple[int, dict[str, Any]]] = []  # (status, body) of every booking attempt
    cancel_statuses: Counter[int] = Counter()
    cancelled: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def desk(number: int) -> None:
        rng = random.Random(number)
        conn = http.client.HTTPConnection(host, port, timeout=60)

        def send(method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            """One request on the desk's kept-alive connection (a dropped connection fails the desk)."""
            conn.request(method, path, body=json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            raw = response.read()
            try:
                parsed = json.loads(raw) if raw else {}
            except ValueError:
                parsed = {"unparsed": raw[:500].decode(errors="replace")}
            return response.status, parsed

        mine: list[int] = []
        try:
            barrier.wait()
            for _ in range(ATTEMPTS_PER_THREAD):
                if mine and rng.random() < CANCEL_SHARE:
                    appointment_id = mine.pop(rng.randrange(len(mine)))
                    status, _body = send(
                        "POST", f"{API}/appointments/{appointment_id}/cancel", {"reason": "patient_request"}
                    )
                    with lock:
                        cancel_statuses[status] += 1
                        if status == 200:
                            cancelled.append(appointment_id)
                body: dict[str, Any] = {
                    "patient_id": rng.choice(patients),
                    "visit_type_id": clinic.follow_up.pk,
                    "location_id": clinic.location.pk,
                    "start": rng.choice(STARTS).isoformat(),
                }
                if rng.random() < 0.75:  # a desk that picked the resources; else the first free ones
                    body["resource_ids"] = [rng.choice(practitioners), rng.choice(rooms)]
                status, answer = send("POST", f"{API}/appointments", body)
                if status == 201:
                    mine.append(answer["id"])
                with lock:
                    answers.append((status, answer))
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=desk, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    assert failures == [], f"{len(failures)} desks stopped, first: {failures[:1]!r}"
    assert len(answers) == THREADS * ATTEMPTS_PER_THREAD
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, f"answers other than 201/409: {statuses}, e.g. " + repr(
        next(body for status, body in answers if status not in (201, 409))
    )
    assert statuses[201] > 0
    assert statuses[409] > statuses[201]  # most attempts collide
    detected: Counter[str] = Counter()
    for _status, body in (a for a in answers if a[0] == 409):
        assert body["code"] == "slot_conflict", body
        assert "overlapping time" in body["message"], body
        assert body["detected_by"] in {"check", "database"}, body
        if body["detected_by"] == "check":
            assert body["conflicts"], body
            assert all("appointment_id" in c for c in body["conflicts"]), body
        detected[body["detected_by"]] += 1
    assert set(cancel_statuses) <= {200}, f"cancellations answered {cancel_statuses}"

    booked_ids = {body["id"] for status, body in answers if status == 201}
    assert len(booked_ids) == statuses[201]
    appointments = Appointment.objects.filter(organization=org)
    assert set(appointments.values_list("pk", flat=True)) == booked_ids
    assert set(appointments.filter(status="cancelled").values_list("pk", flat=True)) == set(cancelled)
    # A practitioner and a room for each booking still standing; the losers left no rows behind.
    standing = AppointmentResource.objects.filter(active=True).count()
    assert standing == 2 * (len(booked_ids) - len(cancelled))
    assert _overlapping_active_pairs() == []
    assert len(_overlapping_active_pairs(with_itself=True)) == standing

    print(  # noqa: T201 - the figures of the run, shown with -rP
        f"\n[{connection.vendor}] {len(answers)} booking attempts over HTTP from {THREADS} clients in "
        f"{elapsed:.1f} s: {statuses[201]} booked ({len(cancelled)} of them cancelled again), "
        f"{statuses[409]} answered 409 (seen by the check: {detected['check']}, refused by the "
        f"database: {detected['database']})",
        file=sys.stderr,
    )
