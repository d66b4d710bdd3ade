"""Booking throughput on PostgreSQL: 16 concurrent clients booking through the JSON API, beside the
database's own limit for the same guarded insert, measured in the same run by pgbench.

    .venv/bin/python -m bench.booking_throughput            # on the full data set (bench/scheduling_data.py)
    .venv/bin/python -m bench.booking_throughput --quick    # on the small one

1. A pool of free times: steps of the bench practitioners 100 to 175 days ahead (inside the visit
   types' booking horizon) where the practitioner has no active booking, shuffled (seeded), each with a
   patient drawn at random. The HTTP clients and pgbench take disjoint parts of it, so every attempt
   is meant to succeed: the figures are bookings per second, not refusals per second.
2. HTTP: a real server in a subprocess against the benchmark database: gunicorn, as `make serve` runs it
   in production (--web-workers processes, default one per core, 8 threads each, keep-alive), or with
   `--server runserver` Django's threaded development server. --clients threads (default 16), each with
   one keep-alive connection, POST /api/v1/appointments (a video follow-up: one practitioner, the visit
   type's own telehealth modality) with the front desk's API token (accounts.services.create_api_token).
   Every booking goes the whole way: token, permission, validation, booking rules, templates, the
   resource lock, the overlap check, the insert under the exclusion constraint, history and audit rows,
   the JSON answer.
3. pgbench, the same number of clients: one statement per transaction that inserts the appointment and
   its booking row (the row the exclusion constraint checks, `active`, the same shape as the service's)
   at the next free time of the pool.
4. The ratio HTTP / pgbench (target >= 0.5), and where one booking's time goes: the same service call
   in process (no HTTP), its queries and the time spent waiting for the database.

Afterwards the rows this run added are deleted again (the data set stays as loaded; audit rows stay).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import scheduling_data

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.5
HTTP_MARK = "bench-throughput"
PGBENCH_MARK = "bench-pgbench"
POOL_TABLE = "bench_free_slot"  # named literally in the SQL below
POOL_SEQUENCE = "bench_free_slot_pgbench"


@dataclass
class HttpResult:
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def booked(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def per_second(self) -> float:
        return self.booked / self.seconds if self.seconds else 0.0

    @property
    def per_second_any(self) -> float:
        return sum(self.statuses.values()) / self.seconds if self.seconds else 0.0


def build_pool(dataset: scheduling_data.Dataset, needed: int, seed: int) -> int:
    """The table of free times (n = 1, 2, ...), rebuilt for this run; returns its size."""
    from django.db import connection

    from caredesk.patients.models import Patient

    patients = list(
        Patient.objects.filter(organization_id=dataset.organization_id, status="active")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {POOL_TABLE}")
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(
            """CREATE TABLE bench_free_slot AS
            SELECT row_number() OVER (ORDER BY random()) AS n, r.id AS resource_id,
                   r.practitioner_id, r.location_id, s.starts_at,
                   (%(patients)s::bigint[])[1 + floor(random() * %(patient_count)s)::int] AS patient_id
            FROM scheduling_resource r,
                 generate_series(current_date + 100, current_date + 175, interval '1 day') AS day,
                 generate_series(0, 23) AS step,
                 LATERAL (SELECT (day::date + time '08:00' + step * interval '20 minutes'
                                  + CASE WHEN step >= 12 THEN interval '1 hour' ELSE interval '0' END)
                                 AT TIME ZONE %(zone)s AS starts_at) AS s
                 LEFT JOIN LATERAL (  -- LIMIT: an index probe per time, never a hash join
                     SELECT 1 AS taken FROM scheduling_appointmentresource b
                     WHERE b.resource_id = r.id AND b.active
                       AND b.starts_at < s.starts_at + interval '20 minutes' AND b.ends_at > s.starts_at
                       AND b.starts_at > s.starts_at - interval '1 day'
                     LIMIT 1) AS booked ON true
            WHERE r.id = ANY(%(resources)s::bigint[]) AND extract(isodow FROM day) <= 5
              AND booked.taken IS NULL""",
            {
                "patients": patients,
                "patient_count": len(patients),
                "zone": scheduling_data.ZONE,
                "resources": dataset.resource_ids,
            },
        )
        cursor.execute(f"CREATE UNIQUE INDEX ON {POOL_TABLE} (n)")
        cursor.execute("SELECT count(*) FROM bench_free_slot")
        size = int(cursor.fetchone()[0])
    if size < needed:
        raise SystemExit(f"Only {size} free times in the pool, {needed} needed: fewer requests, please.")
    return size


def pool_slice(first: int, count: int) -> list[dict[str, Any]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT practitioner_id, location_id, starts_at, patient_id FROM bench_free_slot "
            "WHERE n >= %s AND n < %s ORDER BY n",
            [first, first + count],
        )
        return [
            {"practitioner_id": p, "location_id": loc, "start": start, "patient_id": patient}
            for p, loc, start, patient in cursor.fetchall()
        ]


def api_token() -> str:
    from caredesk.accounts import services
    from caredesk.core.context import system_actor

    actor = system_actor(organization_id=None, permissions=frozenset(), username="bench")
    _token, secret = services.create_api_token(actor=actor, username="frontdesk", name="bench-throughput")
    return secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str], port: int, kind: str, workers: int) -> subprocess.Popen[bytes]:
    log = open(tempfile.gettempdir() + f"/caredesk-bench-server-{port}.log", "wb")  # noqa: SIM115
    if kind == "gunicorn":
        from caredesk.ops.management.commands.serve import gunicorn_argv

        command = gunicorn_argv(bind=f"127.0.0.1:{port}", workers=workers, threads=8, access_log=False)
    else:
        command = [
            sys.executable,
            "-c",
            "from caredesk.manage import main; main()",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--skip-checks",
        ]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/visit-types")  # any answer will do (401 without a token)
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"The server stopped (see {log.name}).") from None
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("The server did not answer within 180 s.")


Request = tuple[str, str, bytes | None]  # method, path, body


def _send(conn: http.client.HTTPConnection, request: Request, headers: dict[str, str]) -> int:
    method, path, body = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def booking_requests(video_id: int, slots: list[dict[str, Any]]) -> list[Request]:
    return [
        (
            "POST",
            "/api/v1/appointments",
            json.dumps(
                {
                    "patient_id": slot["patient_id"],
                    "visit_type_id": video_id,
                    "location_id": slot["location_id"],
                    "start": slot["start"].isoformat(),
                    "practitioner_id": slot["practitioner_id"],
                    "notes": HTTP_MARK,
                }
            ).encode(),
        )
        for slot in slots
    ]


def run_http(port: int, token: str, requests: list[Request], clients: int) -> HttpResult:
    """`clients` threads, each with one keep-alive connection, share `requests` out and send them."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    shares = [requests[n::clients] for n in range(clients)]
    result = HttpResult(0.0)
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(share: list[Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        ready.wait()
        for request in share:
            started = time.perf_counter()
            try:
                status = _send(conn, request, headers)
            except (OSError, http.client.HTTPException):  # the server closed the idle connection
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = _send(conn, request, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
        conn.close()
        with lock:
            result.statuses.update(statuses)
            result.latencies_ms.extend(latencies)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


PGBENCH_SCRIPT = """\
WITH slot AS (
    SELECT resource_id, location_id, starts_at, patient_id FROM {pool}
    WHERE n = (SELECT nextval('{sequence}'))
), appointment AS (
    INSERT INTO scheduling_appointment
        (created_at, updated_at, organization_id, patient_id, visit_type_id, location_id, modality,
         starts_at, ends_at, status, source, booked_by_name, notes, cancel_reason, cancel_note, join_url,
         version)
    SELECT now(), now(), {organization}, patient_id, {visit_type}, location_id, 'telehealth',
           starts_at, starts_at + interval '20 minutes', 'booked', 'api', 'pgbench', '{mark}', '', '',
           'https://telehealth.example.org/join/pgbench', 1
    FROM slot
    RETURNING id, starts_at, ends_at
)
INSERT INTO scheduling_appointmentresource (appointment_id, resource_id, starts_at, ends_at, active)
SELECT appointment.id, slot.resource_id, appointment.starts_at, appointment.ends_at, true
FROM appointment, slot;
"""


def run_pgbench(
    url: str, dataset: scheduling_data.Dataset, first: int, clients: int, per_client: int
) -> float:
    """Transactions per second of the pgbench script (the same --clients), excluding connection time."""
    from django.db import connection

    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise SystemExit("pgbench is missing: apt-get install postgresql-client.")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SEQUENCE IF EXISTS {POOL_SEQUENCE}")
        cursor.execute(f"CREATE SEQUENCE {POOL_SEQUENCE} START WITH {first}")
    script = PGBENCH_SCRIPT.format(
        pool=POOL_TABLE,
        sequence=POOL_SEQUENCE,
        organization=dataset.organization_id,
        visit_type=dataset.visit_types["bench-video"],
        mark=PGBENCH_MARK,
    )
    parts = urlsplit(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    try:
        completed = subprocess.run(
            [
                pgbench,
                "--no-vacuum",
                f"--client={clients}",
                f"--jobs={min(clients, 2)}",
                f"--transactions={per_client}",
                f"--file={handle.name}",
                f"--host={parts.hostname or '127.0.0.1'}",
                f"--port={parts.port or 5432}",
                f"--username={parts.username or 'postgres'}",
                parts.path.lstrip("/"),
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **({"PGPASSWORD": parts.password} if parts.password else {})},
        )
    finally:
        os.unlink(handle.name)
    if completed.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{completed.stdout}\n{completed.stderr}")
    failed = [
        line
        for line in completed.stdout.splitlines()
        if line.startswith("number of failed transactions")
        and not line.split(":")[1].strip().startswith("0 ")
    ]
    tps = next(
        float(line.split("=")[1].split()[0])
        for line in completed.stdout.splitlines()
        if line.startswith("tps =") and "without initial connection" in line
    )
    print("  pgbench: " + "; ".join(line.strip() for line in completed.stdout.splitlines()[-6:]))
    if failed:
        print("  pgbench reported failures: " + "; ".join(failed))
    return tps


@dataclass
class Breakdown:
    bookings: int
    service_ms: float
    cpu_ms: float  # this process's CPU time (Python, the driver)
    database_ms: float  # waiting for the database's answers
    queries: float


def in_process(dataset: scheduling_data.Dataset, slots: list[dict[str, Any]]) -> Breakdown:
    """The same bookings through the service in this process (no HTTP): time, queries, database time."""
    from django.db import connection

    from caredesk.accounts.models import User
    from caredesk.accounts.services import actor_for_user
    from caredesk.scheduling import services

    actor = actor_for_user(User.objects.get(username="frontdesk"), channel="api")
    spent = {"db": 0.0, "queries": 0}

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["db"] += time.perf_counter() - started
            spent["queries"] += 1

    total = 0.0
    cpu_started = time.process_time()
    with connection.execute_wrapper(timed):
        for slot in slots:
            started = time.perf_counter()
            services.book_appointment(
                actor=actor,
                request=services.BookingRequest(
                    patient_id=slot["patient_id"],
                    visit_type_id=dataset.visit_types["bench-video"],
                    location_id=slot["location_id"],
                    start=slot["start"],
                    practitioner_id=slot["practitioner_id"],
                    source="api",
                    notes=HTTP_MARK,
                ),
            )
            total += time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    n = max(1, len(slots))
    return Breakdown(
        len(slots), total * 1000 / n, cpu * 1000 / n, spent["db"] * 1000 / n, spent["queries"] / n
    )


def clean_up() -> int:
    from django.db import connection

    from caredesk.scheduling.models import Appointment

    _total, by_model = Appointment.objects.filter(notes__in=[HTTP_MARK, PGBENCH_MARK]).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {POOL_TABLE}")
        cursor.execute(f"DROP SEQUENCE IF EXISTS {POOL_SEQUENCE}")
    return by_model.get(Appointment._meta.label, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the small data set (no 1M load)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--requests", type=int, default=50, help="HTTP bookings per client (default 50)")
    parser.add_argument(
        "--pgbench-transactions",
        type=int,
        default=1000,
        help="pgbench transactions per client (default 1000)",
    )
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    parser.add_argument(
        "--server", choices=["gunicorn", "runserver"], default="gunicorn", help="the HTTP server (gunicorn)"
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn worker processes (default: one per core)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    scale = scheduling_data.QUICK if args.quick else scheduling_data.FULL
    url = scheduling_data.ensure_database(scheduling_data.postgres_server(), scheduling_data.DATABASES[scale])
    var_dir = str(ROOT / "var" / "bench" / "postgres")
    scheduling_data.use_database(url, var_dir)
    dataset = scheduling_data.prepare(scale)
    clean_up()  # a run that was interrupted may have left its rows

    http_total = args.clients * args.requests
    profile_total = 50
    pgbench_total = args.clients * args.pgbench_transactions
    build_pool(dataset, http_total + profile_total + pgbench_total, args.seed)
    slots = pool_slice(1, http_total)
    token = api_token()
    env = {**os.environ, "DATABASE_URL": url, "CAREDESK_VAR_DIR": os.environ["CAREDESK_VAR_DIR"]}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")]))
    port = args.port or free_port()
    server = start_server(env, port, args.server, args.web_workers)
    bookings = booking_requests(dataset.visit_types["bench-video"], slots)
    reads: list[Request] = [("GET", "/api/v1/visit-types", None)] * http_total
    try:
        run_http(port, token, bookings[: args.clients], args.clients)  # warm-up, not counted
        result = run_http(port, token, bookings[args.clients :], args.clients)
        ceiling = run_http(port, token, reads, args.clients)  # the server and the API layer alone
    finally:
        server.terminate()
        server.wait(timeout=30)
    breakdown = in_process(dataset, pool_slice(http_total + 1, profile_total))
    tps = run_pgbench(url, dataset, http_total + profile_total + 1, args.clients, args.pgbench_transactions)
    deleted = clean_up()

    ratio = result.per_second / tps if tps else 0.0
    server_name = (
        f"gunicorn, {args.web_workers} processes x 8 threads"
        if args.server == "gunicorn"
        else "Django runserver, threaded"
    )
    cuts = statistics.quantiles(result.latencies_ms, n=100, method="inclusive")
    other = {status: n for status, n in result.statuses.items() if status != 201}
    print(
        f"\nBooking throughput on PostgreSQL, {args.clients} clients, {dataset.appointments:,} appointments "
        f"in the database; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  HTTP API ({server_name}): {result.booked} bookings in {result.seconds:.1f} s = "
        f"{result.per_second:.1f} bookings/s; latency p50 {cuts[49]:.0f} ms, p95 {cuts[94]:.0f} ms"
        + (f"; other answers {other}" if other else "")
    )
    print(
        f"  the same server answering GET /api/v1/visit-types (token, permission, one small query): "
        f"{ceiling.per_second_any:.1f} answers/s"
    )
    print(f"  pgbench, the guarded insert alone: {tps:.0f} transactions/s")
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"  ratio HTTP / database: {ratio:.3f} (target >= {TARGET_RATIO}) {verdict}")
    print(
        f"  where one booking's time goes (the service in process, {breakdown.bookings} bookings): "
        f"{breakdown.service_ms:.1f} ms ({breakdown.cpu_ms:.1f} ms of CPU in Python), of which "
        f"{breakdown.database_ms:.1f} ms waiting for {breakdown.queries:.0f} queries; the HTTP answer took "
        f"{cuts[49]:.0f} ms at p50 under load"
    )
    print(f"  (removed the {deleted} appointments this run added, with their rows)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "scale": "full" if scale == scheduling_data.FULL else "quick",
                    "clients": args.clients,
                    "http_bookings": result.booked,
                    "http_seconds": result.seconds,
                    "http_per_second": result.per_second,
                    "http_other_statuses": other,
                    "http_p50_ms": cuts[49],
                    "http_p95_ms": cuts[94],
                    "http_read_per_second": ceiling.per_second_any,
                    "pgbench_tps": tps,
                    "ratio": ratio,
                    "service_ms": breakdown.service_ms,
                    "service_cpu_ms": breakdown.cpu_ms,
                    "service_database_ms": breakdown.database_ms,
                    "service_queries": breakdown.queries,
                },
                indent=2,
            )
        )
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
