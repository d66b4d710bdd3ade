"""Operating-room planning: CP-SAT against the first-fit baseline on a seeded random week.

    .venv/bin/python -m bench.surgery_plan [--cases 40] [--rooms 6] [--days 5] [--anesthesia 5] [--seed 7]
        [--time-limit 10]

The instance (pure values, no database): `--rooms` operating rooms with block time 07:30-15:30 on each
of `--days` weekdays (one room's Tuesday and Thursday blocks reserved for one procedure, as services
hold block time), a few existing bookings in the rooms, 12 surgeons working 2 to 4 days of the week,
`--cases` cases with durations from 45 minutes to 4 hours, priorities from urgent (1) to elective (4),
date windows (urgent cases within the first two days), and some cases needing one of three shared pieces
of equipment, and a pool of `--anesthesia` anesthesia providers (fewer than rooms, so they bind: each case
needs one; most work the whole week 07:00-17:00, the last ones four days). Turnover 30 minutes, overtime
cap 120 minutes, starts on a 15-minute grid.

Prints the time to plan (the issue's target: a plan within 10 s), the CP-SAT objective beside the
first-fit objective (lower is better; the same cost function), and the cases each placed. With --json, the
figures are written there too (bench/run_all.py collects them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

from caredesk.scheduling import planning

TARGET_SECONDS = 10.0
MONDAY = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)  # a Monday, far enough ahead to be "future"
SURGEONS = 12
EQUIPMENT = (9001, 9002, 9003)  # C-arm, robot, laser
PROCEDURES = {101: (60, 120), 102: (90, 180), 103: (45, 90), 104: (120, 240), 105: (60, 150), 106: (30, 75)}


def minute(day: int, hour: int, minutes: int = 0) -> int:
    moment = MONDAY + dt.timedelta(days=day, hours=hour, minutes=minutes)
    return int(moment.timestamp() // 60)


def random_instance(
    seed: int = 7, cases: int = 40, rooms: int = 6, days: int = 5, anesthesia: int | None = 5
) -> planning.Instance:
    """A reproducible week of requested cases (see the module's docstring); `anesthesia` None: no
    anesthesia planned."""
    rng = random.Random(seed)
    room_list = []
    for r in range(rooms):
        blocks = []
        for day in range(days):
            reserved = frozenset({104}) if r == 0 and day in (1, 3) else None
            blocks.append(planning.Block(minute(day, 7, 30), minute(day, 15, 30), reserved))
        busy = []
        if rng.random() < 0.5:  # an existing booking somewhere in the week
            day = rng.randrange(days)
            start = minute(day, 7, 30) + 15 * rng.randrange(0, 20)
            busy.append((start, start + 15 * rng.randrange(4, 12)))
        room_list.append(planning.Room(1000 + r, f"OR {r + 1}", tuple(blocks), tuple(busy)))
    hours: dict[int, tuple[tuple[int, int], ...]] = {}
    for s in range(SURGEONS):
        working = sorted(rng.sample(range(days), k=min(days, rng.randint(2, 4))))
        hours[2000 + s] = tuple((minute(d, 7, 0), minute(d, 17, 0)) for d in working)
    case_list = []
    for c in range(cases):
        procedure = rng.choice(sorted(PROCEDURES))
        low, high = PROCEDURES[procedure]
        duration = 15 * rng.randint(low // 15, high // 15)
        priority = rng.choices((1, 2, 3, 4), weights=(1, 2, 4, 3))[0]
        if priority == 1:
            window = (minute(0, 0), minute(min(2, days), 0))
        else:
            first = rng.randrange(0, max(1, days - 2))
            window = (minute(first, 0), minute(days, 0))
        surgeon = 2000 + rng.randrange(SURGEONS)
        equipment = (rng.choice(EQUIPMENT),) if rng.random() < 0.3 else ()
        case_list.append(
            planning.Case(
                id=c + 1,
                surgeon_id=surgeon,
                procedure_id=procedure,
                duration=duration,
                priority=priority,
                window=window,
                surgeon_hours=hours[surgeon],
                equipment=equipment,
                label=f"case {c + 1}",
            )
        )
    pool: list[planning.Anesthetist] | None = None
    if anesthesia is not None:
        pool = []
        for a in range(anesthesia):
            on_days = (
                list(range(days)) if a < anesthesia - 2 else sorted(rng.sample(range(days), k=min(days, 4)))
            )
            # The first provider has an existing case elsewhere on Monday morning.
            taken = ((minute(0, 8), minute(0, 10)),) if a == 0 else ()
            shifts = tuple((minute(d, 7, 0), minute(d, 17, 0)) for d in on_days)
            pool.append(planning.Anesthetist(3000 + a, f"Anesthesia {a + 1}", shifts, taken))
    return planning.Instance(
        cases=tuple(case_list), rooms=tuple(room_list), anesthesia=None if pool is None else tuple(pool)
    )


def run(
    cases: int,
    rooms: int,
    days: int,
    seed: int,
    time_limit: float,
    workers: int | None,
    anesthesia: int | None = 5,
) -> dict[str, object]:
    instance = random_instance(seed=seed, cases=cases, rooms=rooms, days=days, anesthesia=anesthesia)
    started = time.perf_counter()
    comparison = planning.plan(instance, time_limit=time_limit, workers=workers)
    seconds = time.perf_counter() - started
    problems = planning.check(instance, comparison.chosen.placements)
    if problems:
        raise SystemExit(f"The chosen plan breaks rules: {problems[:5]}")
    cp, ff = comparison.cp_sat, comparison.first_fit
    return {
        "cases": cases,
        "rooms": rooms,
        "days": days,
        "anesthesia_providers": anesthesia,
        "seed": seed,
        "time_limit_s": time_limit,
        "workers": workers or planning.default_workers(),
        "seconds_to_plan": round(seconds, 3),
        "solver_status": cp.status,
        "cp_sat": {"objective": cp.score.total, "placed": cp.score.placed, **_parts(cp.score)},
        "first_fit": {"objective": ff.score.total, "placed": ff.score.placed, **_parts(ff.score)},
        "chosen": comparison.chosen.method,
        "within_target": seconds <= TARGET_SECONDS,
    }


def _parts(score: planning.Score) -> dict[str, int]:
    return {
        "overtime_minutes": score.overtime_minutes,
        "idle_minutes": score.idle_minutes,
        "delay_cost": score.delay_cost,
        "unplaced_penalty": score.unplaced_penalty,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--rooms", type=int, default=6)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--anesthesia", type=int, default=5, help="anesthesia providers; -1: not planned")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=planning.DEFAULT_TIME_LIMIT)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    anesthesia = None if args.anesthesia < 0 else args.anesthesia
    figures = run(args.cases, args.rooms, args.days, args.seed, args.time_limit, args.workers, anesthesia)
    cp, ff = figures["cp_sat"], figures["first_fit"]
    assert isinstance(cp, dict)
    assert isinstance(ff, dict)
    print(
        f"Surgery plan: {args.cases} cases, {args.rooms} operating rooms, {args.days} days, "
        f"{'no' if anesthesia is None else anesthesia} anesthesia providers (seed {args.seed}), "
        f"time limit {args.time_limit:g} s, {figures['workers']} workers"
    )
    print(
        f"  time to plan (first-fit + CP-SAT): {figures['seconds_to_plan']:.2f} s "
        f"(target <= {TARGET_SECONDS:.0f} s) {'PASS' if figures['within_target'] else 'FAIL'}; "
        f"solver status {figures['solver_status']}"
    )
    for label, part in (("CP-SAT   ", cp), ("first-fit", ff)):
        print(
            f"  {label} objective {part['objective']:>9,}  placed {part['placed']:>2}/{args.cases}  "
            f"overtime {part['overtime_minutes']} min, idle {part['idle_minutes']} min, "
            f"delay cost {part['delay_cost']}, unplaced penalty {part['unplaced_penalty']:,}"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
