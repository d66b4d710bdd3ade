"""The coordinator's worklist page with 100,000 open tasks in the organization: p95 <= 50 ms.

Runs against the database the environment selects (bench/run_all.py gives it a scratch database that
holds the demo; or by hand):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caredesk_bench .venv/bin/python -m bench.worklist_page

Tops the first demo organization up to `--tasks` open tasks (bulk insert, spread over every queue, the
demo's patients and staff, due times from two weeks ago to a month ahead, a tenth of them snoozed), then
times `--requests` GETs of /worklist/ as the signed-in coordinator through Django's test client: the whole
request, middleware, permission check, the selector's page query, the queue counts, the audit row and the
template. Also one filtered view a coordinator uses all day (her own overdue tasks), timed the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

TARGET_P95_MS = 50.0
BATCH = 5000


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caredesk.config.settings")
    import django

    django.setup()


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(samples_ms)}


def top_up(organization_id: int, wanted: int, seed: int) -> tuple[int, float]:
    """Open tasks in the organization after adding what is missing; seconds spent inserting."""
    from django.db import transaction
    from django.utils import timezone

    from caredesk.accounts.models import User
    from caredesk.patients.models import Patient
    from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType
    from caredesk.worklist.models import Task

    have = Task.objects.filter(organization_id=organization_id, status=TaskStatus.OPEN).count()
    missing = wanted - have
    if missing <= 0:
        return have, 0.0
    rng = random.Random(seed)
    patients = list(Patient.objects.filter(organization_id=organization_id).values_list("pk", flat=True))
    staff = list(User.objects.filter(organization_id=organization_id).values_list("pk", flat=True))
    queues = list(TaskQueue.values)
    types = [TaskType.GENERAL, TaskType.FOLLOW_UP_CALL, TaskType.DISCHARGE_REVIEW]
    now = timezone.now()
    started = time.perf_counter()
    for first in range(0, missing, BATCH):
        rows = []
        for n in range(first, min(missing, first + BATCH)):
            due = now + dt.timedelta(minutes=rng.randint(-14 * 24 * 60, 30 * 24 * 60))
            rows.append(
                Task(
                    organization_id=organization_id,
                    title=f"Bench task {have + n}: call back about results",
                    patient_id=rng.choice(patients) if patients and rng.random() < 0.9 else None,
                    task_type=rng.choice(types),
                    queue=rng.choice(queues),
                    assignee_id=rng.choice(staff) if staff and rng.random() < 0.5 else None,
                    priority=rng.choice(TaskPriority.values),
                    status=TaskStatus.OPEN,
                    due_at=due,
                    snoozed_until=now + dt.timedelta(days=2) if rng.random() < 0.1 else None,
                    created_by_name="bench",
                )
            )
        with transaction.atomic():
            Task.objects.bulk_create(rows)
        print(f"  inserted {min(missing, first + BATCH):,}/{missing:,} tasks", end="\r", flush=True)
    print()
    return wanted, time.perf_counter() - started


def time_page(client: object, url: str, requests: int) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get = client.get  # type: ignore[attr-defined]
    for _ in range(10):  # warm-up: connections, template cache
        response = get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:  # one more, counting its SQL statements
        get(url)
    queries = float(len(captured.captured_queries))
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    return {**percentiles(samples), "queries": queries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks in the organization")
    parser.add_argument("--requests", type=int, default=200, help="timed page loads per view")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    _setup()
    from django.db import connection
    from django.test import Client

    from caredesk.accounts.models import User

    coordinator = User.objects.get(username="coordinator")
    assert coordinator.organization_id is not None
    open_tasks, insert_seconds = top_up(coordinator.organization_id, args.tasks, args.seed)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(coordinator)
    views = {
        "worklist (default: active, by due time)": "/worklist/",
        "my overdue tasks": "/worklist/?assignee=me&overdue=1",
    }
    figures: dict[str, object] = {
        "backend": connection.vendor,
        "open_tasks": open_tasks,
        "insert_seconds": round(insert_seconds, 1),
    }
    ok = True
    print(
        f"Worklist page on {connection.vendor}: {open_tasks:,} open tasks in the organization"
        + (f" ({insert_seconds:.1f} s to insert)" if insert_seconds else "")
    )
    for label, url in views.items():
        stats = time_page(client, url, args.requests)
        figures[label] = stats
        passed = stats["p95"] <= TARGET_P95_MS
        ok &= passed
        print(
            f"  {label}: p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, p99 {stats['p99']:.1f} ms "
            f"over {args.requests} requests, {stats['queries']:.0f} SQL statements per page "
            f"(target p95 <= {TARGET_P95_MS:.0f} ms) -> {'PASS' if passed else 'FAIL'}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
