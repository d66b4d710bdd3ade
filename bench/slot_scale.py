"""Slot search at the issue's scale, on PostgreSQL: 200 practitioners, 50 rooms, 12 months of history and
6 months of future bookings, over 1,000,000 appointments (bench/scheduling_data.py builds the data set
once, in its own database, and reuses it).

    .venv/bin/python -m bench.slot_scale              # build or reuse, then measure
    .venv/bin/python -m bench.slot_scale --quick      # a small data set (its own database), no target
    .venv/bin/python -m bench.slot_scale --rebuild    # drop and build again

The query is the issue's, "the first 10 free slots of a visit type in the next 60 days", through the
real selector (scheduling.selectors.find_slots) with a front-desk actor, in two kinds drawn (seeded)
from the bench visit types: any practitioner (at any site, or at one site), and one named practitioner.
Each kind runs --queries times after a warm-up; p50/p95/p99/max per kind and overall. Target: overall
p95 <= 25 ms on PostgreSQL at full size. --profile prints a cProfile summary of the calls;
--explain prints EXPLAIN ANALYZE of the bookings query of one search.

The data set's bookings are bulk-loaded in SQL, so the resources' busy days (what the search reads
first, kept by the booking services from then on) are written once by the deploy step,
`caredesk rebuild_busy_days`, when the table is empty. The warm-up also reads the set-up the process
keeps (scheduling.setup_cache); 20 "cold" searches, each after dropping it, are reported apart.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import scheduling_data
from bench.slot_search import percentiles

TARGET_P95_MS = 25.0
ANY = "first 10 in 60 days, any practitioner"
ONE = "first 10 in 60 days, one practitioner"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Search:
    kind: str
    visit_type: str  # its code
    call: Callable[[], list[Any]]


def build_queries(dataset: scheduling_data.Dataset, per_kind: int, seed: int) -> list[Search]:
    from caredesk.accounts.models import User
    from caredesk.accounts.services import actor_for_user
    from caredesk.scheduling import clock, selectors

    actor = actor_for_user(User.objects.get(username="frontdesk"))
    rng = random.Random(seed)
    codes = sorted(dataset.visit_types)
    last_day = clock.now().date() + dt.timedelta(days=60)

    def search(code: str, location: int | None, practitioner: int | None) -> Callable[[], list[Any]]:
        query = selectors.SlotQuery(
            visit_type_id=dataset.visit_types[code],
            location_id=location,
            practitioner_id=practitioner,
            last_day=last_day,
            limit=10,
        )
        return lambda: selectors.find_slots(actor=actor, query=query)

    searches = []
    for _ in range(per_kind):
        code = rng.choice(codes)
        location = rng.choice([None, *dataset.location_ids])
        searches.append(Search(ANY, code, search(code, location, None)))
        code = rng.choice(codes)
        searches.append(Search(ONE, code, search(code, None, rng.choice(dataset.practitioner_ids))))
    return searches


def measure(searches: list[Search], warmup: int) -> dict[str, dict[str, float]]:
    """Wall-clock milliseconds per search (and this process's CPU milliseconds: on a shared machine the
    difference is mostly waiting, for the database or for a core), by kind, by visit type and overall."""
    for search in searches[:warmup]:
        search.call()
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    empty = 0
    for search in searches:
        started, started_cpu = time.perf_counter(), time.process_time()
        found = search.call()
        elapsed = (time.perf_counter() - started) * 1000
        used = (time.process_time() - started_cpu) * 1000
        empty += not found
        for group in (search.kind, f"visit type {search.visit_type}", "all"):
            wall[group].append(elapsed)
            cpu[group].append(used)
    results = {
        group: {
            **percentiles(samples),
            "cpu_p50": statistics.median(cpu[group]),
            "cpu_p95": percentiles(cpu[group])["p95"],
            "queries": len(samples),
        }
        for group, samples in wall.items()
        if len(samples) >= 2  # percentiles need two samples at least
    }
    results["all"]["empty"] = empty
    return results


def ensure_busy_days() -> None:
    """The deploy step of the busy days (migration 0012): `caredesk rebuild_busy_days`, once, when the
    table is empty (the data set's bookings are bulk-loaded in SQL, not booked through the services)."""
    from django.core.management import call_command

    from caredesk.scheduling.models import ResourceBusyDay

    if not ResourceBusyDay.objects.exists():
        started = time.perf_counter()
        call_command("rebuild_busy_days")
        print(f"Busy days rebuilt (the deploy step): {time.perf_counter() - started:.1f} s", flush=True)


def cold(searches: list[Search]) -> dict[str, float]:
    """Milliseconds of searches that each start without this process's kept set-up (as after a set-up
    change, or in a new process): the set-up is read again first."""
    from caredesk.scheduling import setup_cache

    wall, cpu = [], []
    for search in searches:
        setup_cache.forget()
        started, started_cpu = time.perf_counter(), time.process_time()
        search.call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {"p50": statistics.median(wall), "max": max(wall), "cpu_p50": statistics.median(cpu)}


def explain(dataset: scheduling_data.Dataset) -> None:
    """EXPLAIN ANALYZE of the bookings query one search runs first (a site's resources, three days)."""
    from django.db import connection

    from caredesk.scheduling import clock, selectors
    from caredesk.scheduling.models import Resource

    ids = list(
        Resource.objects.filter(location_id=dataset.location_ids[0], active=True).values_list("pk", flat=True)
    )
    start = clock.now() + dt.timedelta(days=1)
    rows = selectors.AppointmentResource.objects.filter(
        resource_id__in=ids,
        active=True,
        starts_at__lt=start + dt.timedelta(days=3),
        starts_at__gt=start - selectors.MAX_BLOCK,
        ends_at__gt=start,
    ).values_list("resource_id", "starts_at", "ends_at", "appointment_id")
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small data set (no 1M load), no target")
    parser.add_argument("--rebuild", action="store_true", help="drop the benchmark database and build again")
    parser.add_argument("--queries", type=int, default=200, help="timed searches per kind (default 200)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary of the searches")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the bookings query")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    scale = scheduling_data.QUICK if args.quick else scheduling_data.FULL
    url = scheduling_data.ensure_database(
        scheduling_data.postgres_server(), scheduling_data.DATABASES[scale], rebuild=args.rebuild
    )
    scheduling_data.use_database(url, str(ROOT / "var" / "bench" / "postgres"))
    dataset = scheduling_data.prepare(scale)
    ensure_busy_days()
    if args.explain:
        explain(dataset)
    queries = build_queries(dataset, args.queries, args.seed)
    first_calls = cold(queries[: min(20, len(queries))])
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    results = measure(queries, warmup=min(20, args.queries))
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    print(
        f"\nSlot search at scale on PostgreSQL: {dataset.appointments:,} appointments "
        f"({'reused' if dataset.reused else 'loaded'}; load {dataset.load_seconds:.1f} s), "
        f"{len(dataset.practitioner_ids)} practitioners, {len(dataset.room_ids)} rooms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for group in [ANY, ONE, *sorted(g for g in results if g.startswith("visit type")), "all"]:
        if group not in results:
            continue
        figures = results[group]
        print(
            f"  {group:40s} p50 {figures['p50']:7.2f} ms   p95 {figures['p95']:7.2f} ms   "
            f"p99 {figures['p99']:7.2f} ms   max {figures['max']:8.2f} ms   "
            f"(cpu p50 {figures['cpu_p50']:6.2f} ms, p95 {figures['cpu_p95']:6.2f} ms; "
            f"{figures['queries']:.0f} calls)"
        )
    full = scale == scheduling_data.FULL
    verdict = ("PASS" if results["all"]["p95"] <= TARGET_P95_MS else "FAIL") if full else "(quick: no target)"
    print(
        f"  cold (set-up read first; 20 searches) p50 {first_calls['p50']:7.2f} ms   max "
        f"{first_calls['max']:8.2f} ms   (cpu p50 {first_calls['cpu_p50']:6.2f} ms); the rest above: warm"
    )
    print(f"  overall p95 {results['all']['p95']:.2f} ms (target <= {TARGET_P95_MS:.0f} ms): {verdict}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "scale": "full" if full else "quick",
                    "appointments": dataset.appointments,
                    "load_seconds": dataset.load_seconds,
                    "reused": dataset.reused,
                    "results": results,
                    "cold": first_calls,
                },
                indent=2,
            )
        )
    return 0 if not full or results["all"]["p95"] <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
