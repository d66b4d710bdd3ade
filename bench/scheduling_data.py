"""The scheduling benchmarks' data set, built once in its own PostgreSQL database and reused.

Full size (the issue's): 200 practitioners and 50 exam rooms at four "Bench site" clinics of the demo's
first organization, weekly templates (weekdays 08:00-12:00 and 13:00-17:00; rooms 07:30-18:00), four
visit types offered by them, and about 1,150,000 appointments: 12 months of history (about 65 % of every
practitioner's 20-minute steps: fulfilled, some cancelled or no-show) and 6 months of future bookings
(about 90 % full tomorrow, thinning to about 20 % six months out). In person when an exam room at the
site is free at that step (most of the time a room goes to about 1 in 4 booked practitioners), video
otherwise.

The structure (locations, practitioners, resources, visit types, templates) goes through the services,
like any clinic's set-up. The appointments are bulk-loaded in SQL (INSERT ... SELECT over
generate_series): benchmark set-up, not a use case. The rows keep every invariant the services keep:
one booking row per resource held, `active` equal to "the status holds time", and the database's
no-double-booking guard is dropped for the load and added again afterwards, so PostgreSQL checks every
row against it before the data is used.

The database (default `caredesk_bench_scheduling`, distinct from run_all's `caredesk_bench`, which that
step drops) is kept: a later run reuses it when the `bench_meta` row names the same scale and the loaded
appointments are all still there. `--quick` uses a small scale in its own database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOADER_NAME = "bench loader"
SITE_PREFIX = "Bench site"
VISIT_TYPE_PREFIX = "bench-"
ZONE = "America/New_York"


@dataclass(frozen=True)
class Scale:
    practitioners: int
    rooms: int
    sites: int
    history_days: int
    future_days: int
    history_fill: float  # share of a practitioner's steps booked in the past
    future_fill_near: float  # tomorrow
    future_fill_far: float  # the last future day


FULL = Scale(200, 50, 4, 365, 182, 0.65, 0.92, 0.2)
QUICK = Scale(24, 8, 2, 30, 60, 0.65, 0.92, 0.3)
DATABASES = {FULL: "caredesk_bench_scheduling", QUICK: "caredesk_bench_scheduling_quick"}


def postgres_server() -> str:
    """BENCH_POSTGRES_URL, else DATABASE_URL when it is PostgreSQL, else the local server."""
    explicit = os.environ.get("BENCH_POSTGRES_URL")
    if explicit:
        return explicit
    current = os.environ.get("DATABASE_URL", "")
    if current.startswith(("postgres://", "postgresql://")):
        return current
    return "postgres://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def ensure_database(server_url: str, name: str, *, rebuild: bool = False) -> str:
    """Create the database when missing (dropped first with `rebuild`); returns its URL."""
    import psycopg

    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        if rebuild:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def use_database(url: str, var_dir: str) -> None:
    """Point Django at the benchmark database (call before django.setup())."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CAREDESK_VAR_DIR", var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caredesk.config.settings")
    import django

    django.setup()


@dataclass
class Dataset:
    organization_id: int
    location_ids: list[int]
    practitioner_ids: list[int]  # the bench practitioners (Practitioner ids)
    resource_ids: list[int]  # their schedule resources, in the same order
    room_ids: list[int]
    visit_types: dict[str, int]  # code -> id
    appointments: int
    load_seconds: float
    reused: bool


def _meta(cursor: Any) -> dict[str, Any] | None:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
    cursor.execute("SELECT value FROM bench_meta WHERE key = 'scheduling'")
    row = cursor.fetchone()
    if row is None:
        return None
    value = row[0]
    return json.loads(value) if isinstance(value, str) else dict(value)


def loaded_appointments(cursor: Any) -> int:
    cursor.execute("SELECT count(*) FROM scheduling_appointment WHERE booked_by_name = %s", [LOADER_NAME])
    return int(cursor.fetchone()[0])


def prepare(scale: Scale, *, patients: int = 3000, seed: int = 42) -> Dataset:
    """Migrate, seed the demo (once), and build or reuse the scheduling data set of `scale`."""
    from django.core.management import call_command
    from django.db import connection

    from caredesk.accounts.models import Organization
    from caredesk.scheduling import clock

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        meta = _meta(cursor)
        if meta is not None and meta.get("scale") == asdict(scale):
            count = loaded_appointments(cursor)
            if count == meta["appointments"]:
                print(
                    f"Reusing the scheduling data set in {connection.settings_dict['NAME']}: "
                    f"{count:,} appointments (loaded in {meta['load_seconds']:.1f} s on {meta['built_on']})",
                    flush=True,
                )
                ensure_credentials(meta)
                return _dataset(meta, count, reused=True)
        if meta is not None or Organization.objects.filter(locations__name__startswith=SITE_PREFIX).exists():
            raise SystemExit(
                "The benchmark database holds another or an incomplete data set: run again with --rebuild."
            )
    if not Organization.objects.exists():
        started = time.perf_counter()
        call_command("seed_demo", "--patients", str(patients), "--seed", str(seed), verbosity=0)
        print(f"seed_demo --patients {patients}: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    structure = build_structure(scale, seed)
    built = time.perf_counter()
    print(
        f"Structure through the services ({scale.practitioners} practitioners, {scale.rooms} rooms, "
        f"{scale.sites} sites, templates, visit types): {built - started:.1f} s",
        flush=True,
    )
    count = load_appointments(scale, structure, seed)
    seconds = time.perf_counter() - started
    print(f"Loaded {count:,} appointments in {time.perf_counter() - built:.1f} s", flush=True)
    meta = {
        **structure,
        "scale": asdict(scale),
        "appointments": count,
        "load_seconds": seconds,
        "built_on": clock.now().date().isoformat(),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_meta (key, value) VALUES ('scheduling', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [json.dumps(meta)],
        )
    ensure_credentials(meta)
    return _dataset(meta, count, reused=False)


def ensure_credentials(meta: dict[str, Any]) -> None:
    """The demo organization enforces credentials at booking (it has licenses on file), and the slot
    search offers only practitioners who pass that check: give the bench sites a state (New York) and
    every bench practitioner a New York license and a granted privilege for each bench visit type at
    their site, as rows (like the appointments), once. Without them every search would find nothing."""
    from caredesk.accounts.models import Location
    from caredesk.credentialing.choices import CredentialStatus, PrivilegeStatus
    from caredesk.credentialing.models import Privilege, StateLicense
    from caredesk.scheduling import clock

    organization_id = meta["organization_id"]
    codes = sorted(meta["visit_types"])
    if Privilege.objects.filter(organization_id=organization_id, service_code=codes[0]).exists():
        return
    started = time.perf_counter()
    Location.objects.filter(pk__in=meta["location_ids"]).update(state="NY")
    today = clock.now().date()
    issued, expires = today - dt.timedelta(days=3 * 365), today + dt.timedelta(days=2 * 365)
    pairs = list(zip(meta["practitioner_ids"], meta["site_of"], strict=True))
    StateLicense.objects.bulk_create(
        StateLicense(
            organization_id=organization_id,
            practitioner_id=practitioner_id,
            state="NY",
            number=f"BENCH-{practitioner_id}",
            status=CredentialStatus.ACTIVE,
            issued_on=issued,
            expires_on=expires,
        )
        for practitioner_id, _site in pairs
    )
    Privilege.objects.bulk_create(
        Privilege(
            organization_id=organization_id,
            practitioner_id=practitioner_id,
            location_id=site_id,
            service_code=code,
            status=PrivilegeStatus.GRANTED,
            requested_on=issued,
        )
        for practitioner_id, site_id in pairs
        for code in codes
    )
    print(
        f"Credentials for {len(pairs)} bench practitioners (NY license, {len(codes)} privileges each): "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _dataset(meta: dict[str, Any], count: int, *, reused: bool) -> Dataset:
    return Dataset(
        organization_id=meta["organization_id"],
        location_ids=meta["location_ids"],
        practitioner_ids=meta["practitioner_ids"],
        resource_ids=meta["resource_ids"],
        room_ids=meta["room_ids"],
        visit_types=meta["visit_types"],
        appointments=count,
        load_seconds=meta["load_seconds"],
        reused=reused,
    )


def build_structure(scale: Scale, seed: int) -> dict[str, Any]:
    """Sites, practitioners, resources, visit types and templates, through the services."""
    from caredesk.accounts.models import Location, LocationKind, User
    from caredesk.accounts.permissions import Role, permissions_for
    from caredesk.core.context import system_actor
    from caredesk.demo.generator import make_npi
    from caredesk.practitioners.models import Practitioner
    from caredesk.practitioners.services import PractitionerInput, create_practitioner
    from caredesk.scheduling import clock, services
    from caredesk.scheduling.services import RequirementInput, TemplateInput, VisitTypeInput, WindowInput

    desk = User.objects.get(username="frontdesk")
    organization_id = desk.organization_id
    assert organization_id is not None
    actor = system_actor(
        organization_id=organization_id,
        permissions=permissions_for(Role.ADMINISTRATOR),
        channel="cli",
        username="bench",
    )
    rng = random.Random(f"bench-scheduling:{seed}")
    sites = [
        Location.objects.create(
            organization_id=organization_id,
            name=f"{SITE_PREFIX} {n + 1}",
            kind=LocationKind.CLINIC,
            city="Riverside",
            timezone=ZONE,
        )
        for n in range(scale.sites)
    ]
    taken = set(Practitioner.objects.filter(organization_id=organization_id).values_list("npi", flat=True))
    practitioner_ids: list[int] = []
    resource_ids: list[int] = []
    site_of: list[int] = []
    for n in range(scale.practitioners):
        site = sites[n % scale.sites]
        practitioner = create_practitioner(
            actor=actor,
            data=PractitionerInput(
                given_name=f"Bench{n + 1:03d}",
                family_name="Practitioner",
                npi=make_npi(rng, taken),
                specialty="family_medicine",
                credentials="MD",
                location_ids=[site.pk],
            ),
        )
        resource = services.create_resource(
            actor=actor, kind="practitioner", location_id=site.pk, practitioner_id=practitioner.pk
        )
        practitioner_ids.append(practitioner.pk)
        resource_ids.append(resource.pk)
        site_of.append(site.pk)
    room_ids: list[int] = []
    for n in range(scale.rooms):
        site = sites[n % scale.sites]
        room = services.create_resource(
            actor=actor, kind="room", location_id=site.pk, name=f"Bench exam {n + 1}", category="exam"
        )
        room_ids.append(room.pk)
    doctor = RequirementInput("practitioner")
    exam = RequirementInput("room", category="exam")
    specs = [
        VisitTypeInput("Bench new patient", "bench-new-patient", 40, [doctor, exam], practitioner_ids,
                       buffer_after_minutes=10, slot_step_minutes=20, min_notice_minutes=12 * 60),
        VisitTypeInput("Bench follow-up", "bench-follow-up", 20, [doctor, exam], practitioner_ids,
                       slot_step_minutes=20),
        VisitTypeInput("Bench video follow-up", "bench-video", 20, [doctor], practitioner_ids,
                       slot_step_minutes=20, modality="telehealth"),
        VisitTypeInput("Bench long consult", "bench-long-consult", 60, [doctor, exam], practitioner_ids,
                       slot_step_minutes=30, buffer_before_minutes=5, buffer_after_minutes=5),
    ]  # fmt: skip
    visit_types = {spec.code: services.create_visit_type(actor=actor, data=spec).pk for spec in specs}
    first = clock.now().date() - dt.timedelta(days=scale.history_days + 7)
    weekdays = range(5)
    hours = [("08:00", "12:00"), ("13:00", "17:00")]
    for resource_id, site_id in zip(resource_ids, site_of, strict=True):
        windows = [
            WindowInput(d, dt.time.fromisoformat(a), dt.time.fromisoformat(b))
            for d in weekdays
            for a, b in hours
        ]
        services.create_availability_template(
            actor=actor, data=TemplateInput(resource_id, site_id, "Clinic week", first, windows)
        )
    for n, room_id in enumerate(room_ids):
        windows = [WindowInput(d, dt.time(7, 30), dt.time(18, 0)) for d in weekdays]
        services.create_availability_template(
            actor=actor,
            data=TemplateInput(room_id, sites[n % scale.sites].pk, "Open hours", first, windows),
        )
    return {
        "organization_id": organization_id,
        "location_ids": [s.pk for s in sites],
        "practitioner_ids": practitioner_ids,
        "resource_ids": resource_ids,
        "site_of": site_of,
        "room_ids": room_ids,
        "visit_types": visit_types,
    }


# The appointments, in SQL. %(name)s parameters; the temporary tables live for the loading session.
LOAD_SQL = [
    "SELECT setseed(%(seed)s)",
    """CREATE TEMP TABLE bench_doctor (resource_id bigint, location_id bigint) ON COMMIT DROP""",
    """INSERT INTO bench_doctor SELECT * FROM unnest(%(doctors)s::bigint[], %(doctor_sites)s::bigint[])""",
    """CREATE TEMP TABLE bench_room ON COMMIT DROP AS
       SELECT r.id AS resource_id, r.location_id,
              row_number() OVER (PARTITION BY r.location_id ORDER BY r.id) AS rank
       FROM scheduling_resource r WHERE r.id = ANY(%(rooms)s::bigint[])""",
    """CREATE TEMP TABLE bench_step ON COMMIT DROP AS
       SELECT d.resource_id, d.location_id, day::date AS day, step,
              (day::date - %(today)s::date) AS ahead,
              random() AS r_fill, random() AS r_room, random() AS r_order, random() AS r_status,
              random() AS r_patient
       FROM bench_doctor d,
            generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
            generate_series(0, 23) AS step
       WHERE extract(isodow FROM day) <= 5""",
    """DELETE FROM bench_step WHERE r_fill >= CASE WHEN ahead < 0 THEN %(history_fill)s
           ELSE %(near)s + (%(far)s - %(near)s) * ahead / %(future_days)s::float END""",
    """CREATE TEMP TABLE bench_booked ON COMMIT DROP AS
       SELECT s.*, row_number() OVER (PARTITION BY s.location_id, s.day, s.step ORDER BY s.r_order) AS rn,
              (s.day + time '08:00' + s.step * interval '20 minutes'
                   + CASE WHEN s.step >= 12 THEN interval '1 hour' ELSE interval '0' END)
                  AT TIME ZONE %(zone)s AS starts_at
       FROM bench_step s""",
    """CREATE TEMP TABLE bench_appointment ON COMMIT DROP AS
       SELECT %(base)s + row_number() OVER (ORDER BY b.starts_at, b.resource_id) AS id, b.*,
              room.resource_id AS room_id,
              CASE WHEN b.ahead < 0 THEN
                   CASE WHEN b.r_status < 0.05 THEN 'cancelled' WHEN b.r_status < 0.09 THEN 'noshow'
                        ELSE 'fulfilled' END
                   ELSE CASE WHEN b.r_status < 0.06 THEN 'cancelled' WHEN b.r_status < 0.2 THEN 'confirmed'
                        ELSE 'booked' END
              END AS status
       FROM bench_booked b
       LEFT JOIN bench_room room
         ON room.location_id = b.location_id AND room.rank = b.rn AND b.r_room < 0.85""",
    """INSERT INTO scheduling_appointment
         (id, created_at, updated_at, organization_id, patient_id, visit_type_id, location_id, modality,
          starts_at, ends_at, status, source, booked_by_id, booked_by_name, notes, cancel_reason,
          cancel_note, cancelled_at, arrived_at, series_id, join_url, version)
       SELECT a.id, a.starts_at - interval '14 days', a.starts_at - interval '14 days', %(organization)s,
              (%(patients)s::bigint[])[1 + floor(a.r_patient * %(patient_count)s)::int],
              CASE WHEN a.room_id IS NULL THEN %(video)s ELSE %(follow_up)s END,
              a.location_id,
              CASE WHEN a.room_id IS NULL THEN 'telehealth' ELSE 'in_person' END,
              a.starts_at, a.starts_at + interval '20 minutes', a.status, 'desk', NULL, %(loader)s, '',
              CASE WHEN a.status = 'cancelled' THEN 'patient_request' ELSE '' END, '',
              CASE WHEN a.status = 'cancelled' THEN a.starts_at - interval '2 days' END,
              CASE WHEN a.status = 'fulfilled' THEN a.starts_at - interval '5 minutes' END,
              NULL,
              CASE WHEN a.room_id IS NULL THEN 'https://telehealth.example.org/join/bench-' || a.id
                   ELSE '' END,
              1
       FROM bench_appointment a""",
    """INSERT INTO scheduling_appointmentresource (appointment_id, resource_id, starts_at, ends_at, active)
       SELECT a.id, a.resource_id, a.starts_at, a.starts_at + interval '20 minutes',
              a.status NOT IN ('cancelled', 'noshow')
       FROM bench_appointment a
       UNION ALL
       SELECT a.id, a.room_id, a.starts_at, a.starts_at + interval '20 minutes',
              a.status NOT IN ('cancelled', 'noshow')
       FROM bench_appointment a WHERE a.room_id IS NOT NULL""",
    """SELECT setval(pg_get_serial_sequence('scheduling_appointment', 'id'),
                     (SELECT max(id) FROM scheduling_appointment))""",
]


def load_appointments(scale: Scale, structure: dict[str, Any], seed: int) -> int:
    from django.db import connection, transaction

    from caredesk.patients.models import Patient
    from caredesk.scheduling import clock
    from caredesk.scheduling.models import OVERLAP_CONSTRAINT, AppointmentResource

    organization_id = structure["organization_id"]
    patients = list(
        Patient.objects.filter(organization_id=organization_id, status="active")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    today = clock.now().date()
    table = AppointmentResource._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE scheduling_appointment, scheduling_appointmentresource IN EXCLUSIVE MODE")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events before the ALTER
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SELECT coalesce(max(id), 0) FROM scheduling_appointment")
        base = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [OVERLAP_CONSTRAINT]
        )
        guard = cursor.fetchone()[0]
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{OVERLAP_CONSTRAINT}"')
        params = {
            "seed": (seed % 1000) / 1000,
            "doctors": structure["resource_ids"],
            "doctor_sites": structure["site_of"],
            "rooms": structure["room_ids"],
            "today": today,
            "first": today - dt.timedelta(days=scale.history_days),
            "last": today + dt.timedelta(days=scale.future_days),
            "history_fill": scale.history_fill,
            "near": scale.future_fill_near,
            "far": scale.future_fill_far,
            "future_days": scale.future_days,
            "zone": ZONE,
            "base": base,
            "organization": organization_id,
            "patients": patients,
            "patient_count": len(patients),
            "video": structure["visit_types"]["bench-video"],
            "follow_up": structure["visit_types"]["bench-follow-up"],
            "loader": LOADER_NAME,
        }
        for statement in LOAD_SQL:
            cursor.execute(statement, params)
        started = time.perf_counter()
        # The guard back: PostgreSQL checks every loaded row against it here.
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{OVERLAP_CONSTRAINT}" {guard}')
        print(f"  no-double-booking guard rebuilt and checked: {time.perf_counter() - started:.1f} s")
        count = loaded_appointments(cursor)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scheduling_appointment")
        cursor.execute("VACUUM ANALYZE scheduling_appointmentresource")
    return count
