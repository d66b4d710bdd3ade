"""`make bench`: every benchmark, with its figures and targets. Not part of the test suite.

1. seed_demo --patients 100000 on a scratch SQLite database (var/bench/sqlite): target under 120 s.
2. Patient search latency on that database (bench/patient_search.py): target p95 <= 20 ms.
3. The same two on PostgreSQL, in a scratch database (caredesk_bench) created on the server of
   BENCH_POSTGRES_URL (default: the server of DATABASE_URL when that is PostgreSQL, else
   postgres://postgres@127.0.0.1:5432) and dropped afterwards. Skipped, saying so, when no server answers.
4. The operating-room optimizer (bench/surgery_plan.py, no database): a plan of 40 cases in 6 rooms over a
   week within 10 s, its objective beside the first-fit baseline's.
5. Scheduling on PostgreSQL (same server as 3), in a kept database (bench/scheduling_data.py: 200
   practitioners, 50 rooms, over 1,000,000 appointments, built once and reused): slot search at scale
   (bench/slot_scale.py, target p95 <= 25 ms) and booking throughput through the HTTP API beside pgbench
   (bench/booking_throughput.py, target ratio >= 0.5). --quick uses a small data set instead (no 1M load).
6. Care coordination on the PostgreSQL database of step 3, before it is dropped: ADT ingest over MLLP
   (bench/adt_ingest.py, target >= 1,000 messages/s, each applied exactly once) and the coordinator's
   worklist page with 100,000 open tasks (bench/worklist_page.py, target p95 <= 50 ms).
7. X12 claims on PostgreSQL, in a scratch database (caredesk_bench_x12, dropped afterwards): 837P export
   of 100,000 claim lines and an 835 with 10,000 claim payments parsed and posted (bench/x12_claims.py,
   target <= 10 s), with pyx12's validation time printed apart.

Each step runs in a subprocess with its own environment (CAREDESK_VAR_DIR or DATABASE_URL), so Django is
set up once per database. Figures are printed and written to bench/results/ as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SEED_TARGET_SECONDS = 120.0
SEARCH_TARGET_P95_MS = 20.0
BENCH_DB = "caredesk_bench"
MANAGE = ["-c", "from caredesk.manage import main; main()"]


@dataclass
class Outcome:
    backend: str
    seed_seconds: float | None = None
    search: dict[str, object] | None = None
    skipped: str = ""
    care_coordination: dict[str, object] | None = None


def _env(**overrides: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "caredesk.config.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH")]))
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _caredesk(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, *MANAGE, *args], env=env, cwd=ROOT, check=True)


def _seed_and_search(backend: str, env: dict[str, str], patients: int, queries: int) -> Outcome:
    outcome = Outcome(backend)
    print(f"\n== {backend}: migrate, seed_demo --patients {patients}", flush=True)
    _caredesk(env, "migrate", "--no-input", "-v0")
    started = time.perf_counter()
    _caredesk(env, "seed_demo", "--patients", str(patients), "--seed", "42")
    outcome.seed_seconds = time.perf_counter() - started
    verdict = "PASS" if outcome.seed_seconds < SEED_TARGET_SECONDS else "FAIL"
    gated = backend == "SQLite" and patients >= 100_000
    print(
        f"seed_demo --patients {patients} on {backend} (migrated database, wall clock): "
        f"{outcome.seed_seconds:.1f} s"
        + (f" (target < {SEED_TARGET_SECONDS:.0f} s) -> {verdict}" if gated else ""),
        flush=True,
    )
    out = RESULTS / f"patient_search_{backend.lower()}.json"
    subprocess.run(
        [sys.executable, "-m", "bench.patient_search", "--queries", str(queries), "--json", str(out)],
        env=env,
        cwd=ROOT,
        check=True,
    )
    outcome.search = json.loads(out.read_text())
    return outcome


def _care_coordination(env: dict[str, str]) -> dict[str, object]:
    """Step 6, on the seeded PostgreSQL database: ADT ingest over MLLP (bench/adt_ingest.py, target
    >= 1,000 messages/s, each applied exactly once) and the worklist page with 100,000 open tasks
    (bench/worklist_page.py, target p95 <= 50 ms)."""
    figures: dict[str, object] = {}
    for module in ("adt_ingest", "worklist_page"):
        print(f"\n== {module} on PostgreSQL", flush=True)
        out = RESULTS / f"{module}.json"
        command = [sys.executable, "-m", f"bench.{module}", "--json", str(out)]
        done = subprocess.run(command, env=env, cwd=ROOT)
        figures[module] = json.loads(out.read_text()) if out.exists() else {"exit": done.returncode}
        figures[f"{module}_passed"] = done.returncode == 0
    return figures


def run_sqlite(patients: int, queries: int) -> Outcome:
    var_dir = ROOT / "var" / "bench" / "sqlite"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    return _seed_and_search(
        "SQLite", _env(CAREDESK_VAR_DIR=str(var_dir), DATABASE_URL=None), patients, queries
    )


def _postgres_server() -> str:
    explicit = os.environ.get("BENCH_POSTGRES_URL")
    if explicit:
        return explicit
    current = os.environ.get("DATABASE_URL", "")
    if current.startswith(("postgres://", "postgresql://")):
        return current
    return "postgres://postgres@127.0.0.1:5432/postgres"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_sql(server_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


def run_postgres(patients: int, queries: int) -> Outcome:
    server = _postgres_server()
    try:
        _admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        _admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    except Exception as exc:  # the server is optional: say why the step was skipped
        return Outcome("PostgreSQL", skipped=f"no PostgreSQL server at {urlsplit(server).netloc}: {exc}")
    var_dir = ROOT / "var" / "bench" / "postgres"  # the secret key file only
    var_dir.mkdir(parents=True, exist_ok=True)
    env = _env(CAREDESK_VAR_DIR=str(var_dir), DATABASE_URL=_with_database(server, BENCH_DB))
    try:
        outcome = _seed_and_search("PostgreSQL", env, patients, queries)
        outcome.care_coordination = _care_coordination(env)
        return outcome
    finally:
        _admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def summary(outcomes: list[Outcome], patients: int) -> bool:
    print("\n== Summary")
    ok = True
    for outcome in outcomes:
        if outcome.skipped:
            print(f"  {outcome.backend}: skipped ({outcome.skipped})")
            continue
        if outcome.seed_seconds is not None:
            seed_ok = outcome.seed_seconds < SEED_TARGET_SECONDS
            gated = outcome.backend == "SQLite" and patients >= 100_000
            ok &= seed_ok or not gated
            mark = ("PASS" if seed_ok else "FAIL") if gated else "(no target)"
            print(
                f"  {outcome.backend}: seed_demo --patients {patients:,}: {outcome.seed_seconds:.1f} s {mark}"
            )
        if outcome.search is not None:
            every = outcome.search["all"]
            assert isinstance(every, dict)
            search_ok = every["p95"] <= SEARCH_TARGET_P95_MS
            ok &= search_ok
            print(
                f"  {outcome.backend}: patient search p50 {every['p50']:.2f} ms, p95 {every['p95']:.2f} ms, "
                f"p99 {every['p99']:.2f} ms over {every['queries']} queries "
                f"(target p95 <= {SEARCH_TARGET_P95_MS:.0f} ms) {'PASS' if search_ok else 'FAIL'}"
            )
        care = outcome.care_coordination or {}
        adt = care.get("adt_ingest")
        if isinstance(adt, dict) and "messages_per_second" in adt:
            ok &= bool(care.get("adt_ingest_passed"))
            print(
                f"  {outcome.backend}: ADT ingest over MLLP {adt['messages_per_second']} messages/s "
                f"({adt['acknowledged_aa']}/{adt['messages']} AA, stored once: {adt['stored_once']}) "
                f"(target >= 1000/s)"
            )
        page = care.get("worklist_page")
        if isinstance(page, dict):
            default = page.get("worklist (default: active, by due time)")
            if isinstance(default, dict):
                ok &= bool(care.get("worklist_page_passed"))
                print(
                    f"  {outcome.backend}: worklist page with {page.get('open_tasks')} open tasks p95 "
                    f"{default['p95']:.1f} ms (target p95 <= 50 ms)"
                )
    return ok


def run_surgery_plan() -> bool:
    """The operating-room optimizer (bench/surgery_plan.py: 40 cases, 6 rooms, a week; no database):
    time to plan (target <= 10 s) and its objective beside first-fit's."""
    print("\n== Surgery plan (CP-SAT vs first-fit)", flush=True)
    out = RESULTS / "surgery_plan.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.surgery_plan", "--json", str(out)], env=_env(), cwd=ROOT
    )
    return done.returncode == 0


def run_scheduling(quick: bool) -> bool:
    """Slot search at scale and booking throughput on PostgreSQL (step 5); skipped when no server answers."""
    print(
        f"\n== Scheduling on PostgreSQL ({'quick: small data set' if quick else '1,000,000+ appointments'})"
    )
    try:
        _admin_sql(_postgres_server(), "SELECT 1")
    except Exception as exc:  # the server is optional: say why the step was skipped
        print(f"  skipped: no PostgreSQL server at {urlsplit(_postgres_server()).netloc}: {exc}")
        return True
    env = _env(CAREDESK_VAR_DIR=str(ROOT / "var" / "bench" / "postgres"))
    ok = True
    for module in ("slot_scale", "booking_throughput"):
        out = RESULTS / f"{module}{'_quick' if quick else ''}.json"
        flags = ["--quick"] if quick else []
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{module}", *flags, "--json", str(out)], env=env, cwd=ROOT
        )
        ok &= done.returncode == 0 or quick  # the quick data set carries no target
    return ok


X12_BENCH_DB = "caredesk_bench_x12"


def run_x12_claims() -> bool:
    """X12 claims on PostgreSQL, in a scratch database of its own (bench/x12_claims.py): 837P export of
    100,000 claim lines and an 835 with 10,000 claim payments parsed and posted (target <= 10 s)."""
    print("\n== X12 claims on PostgreSQL (837P export, 835 posting)", flush=True)
    server = _postgres_server()
    try:
        _admin_sql(server, f'DROP DATABASE IF EXISTS "{X12_BENCH_DB}"')
        _admin_sql(server, f'CREATE DATABASE "{X12_BENCH_DB}"')
    except Exception as exc:  # the server is optional: say why the step was skipped
        print(f"  skipped: no PostgreSQL server at {urlsplit(server).netloc}: {exc}")
        return True
    env = _env(
        CAREDESK_VAR_DIR=str(ROOT / "var" / "bench" / "postgres"),
        DATABASE_URL=_with_database(server, X12_BENCH_DB),
    )
    try:
        _caredesk(env, "migrate", "--no-input", "-v0")
        out = RESULTS / "x12_claims.json"
        done = subprocess.run(
            [sys.executable, "-m", "bench.x12_claims", "--json", str(out)], env=env, cwd=ROOT
        )
        return done.returncode == 0
    finally:
        _admin_sql(server, f'DROP DATABASE IF EXISTS "{X12_BENCH_DB}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000, help="patients to seed (default 100000)")
    parser.add_argument(
        "--queries", type=int, default=500, help="timed searches per query kind (default 500)"
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="run one backend only")
    parser.add_argument(
        "--quick", action="store_true", help="scheduling benchmarks on a small data set (no 1M load)"
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    if args.only in (None, "sqlite"):
        outcomes.append(run_sqlite(args.patients, args.queries))
    if args.only in (None, "postgres"):
        outcomes.append(run_postgres(args.patients, args.queries))
    ok = summary(outcomes, args.patients)
    ok &= run_surgery_plan()
    if args.only in (None, "postgres"):
        ok &= run_scheduling(args.quick)
        ok &= run_x12_claims()
    (RESULTS / "summary.json").write_text(
        json.dumps([outcome.__dict__ for outcome in outcomes], indent=2, default=str)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
