"""Patient search latency: patients.selectors.search_patients over a seeded demo database.

Run by bench/run_all.py in a subprocess whose environment selects the database (CAREDESK_VAR_DIR for a
scratch SQLite file, DATABASE_URL for PostgreSQL); it can also be run by hand against any database that
holds the demo network:

    CAREDESK_VAR_DIR=var/bench/sqlite .venv/bin/python -m bench.patient_search --queries 500

Queries are built from the data itself (a seeded random sample of the coordinator's patients), in six kinds
a front desk types: a family-name prefix of 3 letters, "given family-prefix", a birth date, an MRN, a phone
number and an accented name. Each kind runs `--queries` times after a warm-up; every call is the real
selector (permission scope, audit row and all), timed with perf_counter.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

TARGET_P95_MS = 20.0


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(samples_ms)}


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caredesk.config.settings")
    import django

    django.setup()


def build_queries(per_kind: int, seed: int) -> dict[str, list[str]]:
    """Search-box texts of each kind, drawn from the coordinator's organization."""
    from caredesk.accounts.models import User
    from caredesk.patients.models import Patient, PatientTelecom

    coordinator = User.objects.get(username="coordinator")
    organization_id = coordinator.organization_id
    assert organization_id is not None, "the demo coordinator belongs to an organization"
    rng = random.Random(seed)
    patients = Patient.objects.filter(organization_id=organization_id)
    ids = list(patients.order_by("pk").values_list("pk", flat=True))
    sample_ids = rng.sample(ids, min(len(ids), per_kind))
    sample = list(patients.filter(pk__in=sample_ids).values("given_name", "family_name", "birth_date", "mrn"))
    rng.shuffle(sample)
    accented = [
        (given, family)
        for given, family in patients.order_by("pk").values_list("given_name", "family_name")
        if not (given + family).isascii()
    ]
    rng.shuffle(accented)
    phones = list(
        PatientTelecom.objects.filter(patient__organization_id=organization_id)
        .order_by("pk")
        .values_list("value", flat=True)[: per_kind * 20]
    )

    def take(values: list[str]) -> list[str]:
        return [values[i % len(values)] for i in range(per_kind)] if values else []

    def accented_text(given: str, family: str) -> str:
        if not family.isascii():
            return family if rng.random() < 0.5 else f"{given} {family[:4]}"
        return f"{given} {family[:3]}"

    return {
        "family prefix (3)": take([p["family_name"][:3] for p in sample]),
        "given family-prefix": take([f"{p['given_name']} {p['family_name'][:3]}" for p in sample]),
        "birth date": take(
            [
                p["birth_date"].isoformat() if i % 2 else p["birth_date"].strftime("%m/%d/%Y")
                for i, p in enumerate(sample)
            ]
        ),
        "MRN": take([p["mrn"] for p in sample]),
        "phone": take(rng.sample(phones, min(len(phones), per_kind))),
        "accented name": take([accented_text(g, f) for g, f in accented]),
    }


def run(per_kind: int, warmup: int, seed: int) -> dict[str, object]:
    from caredesk.accounts.models import User
    from caredesk.accounts.services import actor_for_user
    from caredesk.patients.models import Patient
    from caredesk.patients.schemas import PatientQuery
    from caredesk.patients.selectors import search_patients

    coordinator = User.objects.get(username="coordinator")
    actor = actor_for_user(coordinator, ip="127.0.0.1")
    queries = build_queries(per_kind, seed)

    def search(text: str) -> int:
        return len(search_patients(actor=actor, query=PatientQuery(text=text)).results)

    for texts in queries.values():
        for text in texts[:warmup]:
            search(text)
    results: dict[str, dict[str, float]] = {}
    everything: list[float] = []
    for kind, texts in queries.items():
        samples: list[float] = []
        hits = 0
        for text in texts:
            started = time.perf_counter()
            found = search(text)
            samples.append((time.perf_counter() - started) * 1000)
            hits += found > 0
        everything.extend(samples)
        results[kind] = {**percentiles(samples), "queries": len(samples), "with_results": hits}
    from django.db import connection

    return {
        "vendor": connection.vendor,
        "patients": Patient.objects.count(),
        "organization_patients": Patient.objects.filter(
            organization_id=coordinator.organization_id or 0
        ).count(),
        "kinds": results,
        "all": {**percentiles(everything), "queries": len(everything)},
        "target_p95_ms": TARGET_P95_MS,
    }


def print_table(result: dict[str, object]) -> None:
    kinds = result["kinds"]
    assert isinstance(kinds, dict)
    every = result["all"]
    assert isinstance(every, dict)
    print(
        f"\nPatient search on {result['vendor']} ({result['patients']:,} patients, "
        f"{result['organization_patients']:,} in the searching organization)"
    )
    print(
        f"  {'query kind':<22} {'n':>5} {'hits':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for kind, row in [*kinds.items(), ("all", every)]:
        hits = row.get("with_results", "")
        print(
            f"  {kind:<22} {row['queries']:>5} {hits!s:>5} {row['p50']:>8.2f} {row['p95']:>8.2f} "
            f"{row['p99']:>8.2f} {row['max']:>8.2f}"
        )
    verdict = "PASS" if every["p95"] <= TARGET_P95_MS else "FAIL"
    print(f"  target: p95 <= {TARGET_P95_MS:.0f} ms over all kinds: {every['p95']:.2f} ms -> {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=500, help="timed queries per kind (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed queries per kind first (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the query sample")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    _setup()
    result = run(args.queries, args.warmup, args.seed)
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
