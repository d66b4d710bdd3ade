"""Operating-room planning as a pure function: requested surgical cases in, a room and start time for each
case out (or the reason it could not be placed). No database, no Django: plain values, so the optimizer
and its first-fit baseline can be tested and benchmarked on generated instances.

Time is in whole minutes since the Unix epoch (`rules.Minute`); intervals are half-open [start, end).

What a plan must respect (`check` verifies it, the CP-SAT model and first-fit both build on it):

- a case starts inside one block of its room that it may use (a block reserved for a procedure takes that
  procedure only, a block held for a surgeon that surgeon's cases only, a block with both that surgeon's
  cases of that procedure), and ends no later than the block's end plus the overtime cap;
- a case starts inside one of its surgeon's working intervals (for that procedure) and ends no later than
  that interval's end plus the overtime cap (the surgeon finishes the case they started);
- the case's date window (start at or after its opening, end at or before its close), and `not_before`;
- one case per room at a time, with `turnover` minutes after each case before the room takes the next
  one; the room's existing bookings count as taken;
- a surgeon operates on one case at a time; each piece of equipment serves one case at a time (existing
  bookings of surgeons and equipment count too);
- when the instance lists an anesthesia pool (`Instance.anesthesia`, not None), every case needs one
  anesthesia provider from it: the case starts inside one of the provider's working intervals and ends no
  later than that interval's end plus the overtime cap (as for the surgeon), and a provider is on one case
  at a time (their existing bookings count; one person who is both a surgeon and in the pool is never on
  two overlapping cases in either role, and never the anesthesia provider of their own case). An empty
  pool places nothing. `Instance.anesthesia` None: anesthesia is not planned.

What a plan is worth (`evaluate`, lower is better, the same for CP-SAT and first-fit):

- every unplaced case costs its priority's weight (urgent far more than elective);
- overtime minutes (past a block's end) cost `overtime` each;
- idle minutes cost `idle` each: the time of every block in use (holding at least one case) not spent
  operating (turnover included); a block left empty is released, and costs nothing;
- waiting costs a little, more for urgent cases: `delay[priority]` per `step` between the earliest start
  the case could have had and the start it got.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

Minute = int
Interval = tuple[Minute, Minute]

DEFAULT_TURNOVER = 30
DEFAULT_OVERTIME_CAP = 120
DEFAULT_STEP = 15
DEFAULT_TIME_LIMIT = 10.0
PRIORITIES = (1, 2, 3, 4)  # 1 urgent, 2 soon, 3 routine, 4 elective


class PlanningInputError(ValueError):
    """An instance that contradicts itself (a duration of 0, a window that ends before it opens …)."""


@dataclass(frozen=True)
class Weights:
    idle: int = 4  # per idle minute of a block in use
    overtime: int = 16  # per minute past a block's end (on top of its idle effect)
    delay: Mapping[int, int] = field(default_factory=lambda: {1: 8, 2: 4, 3: 2, 4: 1})  # per step waited
    unplaced: Mapping[int, int] = field(
        default_factory=lambda: {1: 400_000, 2: 100_000, 3: 40_000, 4: 20_000}
    )


@dataclass(frozen=True)
class Block:
    """Operating-room block time: when the room is staffed for cases. `procedures` None: any procedure;
    otherwise the block is reserved for those (block time per service). `surgeons` None: anyone's cases;
    otherwise the block is held for those surgeons (block time per surgeon)."""

    start: Minute
    end: Minute
    procedures: frozenset[int] | None = None
    surgeons: frozenset[int] | None = None

    def takes(self, case: Case) -> bool:
        return (self.procedures is None or case.procedure_id in self.procedures) and (
            self.surgeons is None or case.surgeon_id in self.surgeons
        )


@dataclass(frozen=True)
class Room:
    id: int
    name: str
    blocks: tuple[Block, ...]
    busy: tuple[Interval, ...] = ()  # existing bookings of the room


@dataclass(frozen=True)
class Case:
    id: int
    surgeon_id: int
    procedure_id: int
    duration: int  # minutes
    priority: int  # 1 urgent … 4 elective
    window: Interval  # the case starts at or after window[0] and ends at or before window[1]
    surgeon_hours: tuple[Interval, ...]  # the surgeon's working minutes for this procedure, normalized
    equipment: tuple[int, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Anesthetist:
    """An anesthesia provider of the pool: when they work (whole minutes) and their existing bookings."""

    id: int
    name: str
    hours: tuple[Interval, ...]
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Instance:
    cases: tuple[Case, ...]
    rooms: tuple[Room, ...]
    surgeon_busy: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)
    equipment_busy: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)
    turnover: int = DEFAULT_TURNOVER
    overtime_cap: int = DEFAULT_OVERTIME_CAP
    step: int = DEFAULT_STEP  # start times fall on multiples of `step` minutes (epoch-aligned)
    not_before: Minute | None = None
    weights: Weights = field(default_factory=Weights)
    # The anesthesia providers every case draws one from; None: anesthesia is not planned.
    anesthesia: tuple[Anesthetist, ...] | None = None


@dataclass(frozen=True)
class Placement:
    case_id: int
    room_id: int
    start: Minute
    end: Minute
    anesthetist_id: int | None = None  # set when the instance plans anesthesia


@dataclass(frozen=True)
class Unplaced:
    case_id: int
    code: str  # no_block_time, surgeon_unavailable, too_long, no_common_time, no_anesthesia, no_capacity
    reason: str


@dataclass(frozen=True)
class Score:
    total: int
    placed: int
    unplaced: int
    unplaced_penalty: int
    overtime_minutes: int
    idle_minutes: int
    delay_cost: int


@dataclass(frozen=True)
class PlanResult:
    method: str  # "cp-sat" or "first-fit"
    placements: tuple[Placement, ...]
    unplaced: tuple[Unplaced, ...]
    score: Score
    seconds: float
    status: str = ""  # the solver's status (OPTIMAL, FEASIBLE, …); "" for first-fit
    solver_objective: int | None = None  # CP-SAT's own value of its objective (equals score.total)


# --- input checks and the candidate start ranges -------------------------------------------------------


def validate(instance: Instance) -> None:
    """PlanningInputError naming the first contradiction (nothing is solved)."""
    if instance.step <= 0 or instance.turnover < 0 or instance.overtime_cap < 0:
        raise PlanningInputError("Step must be positive; turnover and overtime cap zero or more.")
    seen: set[int] = set()
    for case in instance.cases:
        name = case.label or f"case {case.id}"
        if case.id in seen:
            raise PlanningInputError(f"{name} is listed twice.")
        seen.add(case.id)
        if case.duration <= 0:
            raise PlanningInputError(f"{name}: the duration must be at least one minute.")
        if case.window[1] <= case.window[0]:
            raise PlanningInputError(f"{name}: the date window ends before it starts.")
        if case.priority not in PRIORITIES:
            raise PlanningInputError(f"{name}: priority must be 1 (urgent) to 4 (elective).")
    rooms: set[int] = set()
    for room in instance.rooms:
        if room.id in rooms:
            raise PlanningInputError(f"Room {room.name} is listed twice.")
        rooms.add(room.id)
        if any(b.end <= b.start for b in room.blocks):
            raise PlanningInputError(f"Room {room.name} has a block that ends before it starts.")
    providers: set[int] = set()
    for provider in instance.anesthesia or ():
        if provider.id in providers:
            raise PlanningInputError(f"Anesthesia provider {provider.name} is listed twice.")
        providers.add(provider.id)


def _grid_up(minute: Minute, step: int) -> Minute:
    return math.ceil(minute / step) * step


def _grid_down(minute: Minute, step: int) -> Minute:
    return (minute // step) * step


@dataclass(frozen=True)
class _Option:
    """Where one case may go: a block of a room, and its allowed start minutes there (inclusive ranges,
    on the grid)."""

    room_index: int
    block_index: int
    starts: tuple[tuple[Minute, Minute], ...]


def _earliest(instance: Instance, case: Case) -> Minute:
    lo = case.window[0]
    if instance.not_before is not None:
        lo = max(lo, instance.not_before)
    return lo


def _starts_within(instance: Instance, case: Case, hours: Iterable[Interval]) -> list[tuple[Minute, Minute]]:
    """The starts (inclusive ranges) at which somebody working `hours` can take the whole case: starting
    inside a working interval and finishing no later than its end plus the overtime cap."""
    d, cap = case.duration, instance.overtime_cap
    return sorted((a, min(b - 1, b + cap - d)) for a, b in hours if min(b - 1, b + cap - d) >= a)


def _surgeon_starts(instance: Instance, case: Case) -> list[tuple[Minute, Minute]]:
    return _starts_within(instance, case, case.surgeon_hours)


def _merge(ranges: Iterable[tuple[Minute, Minute]]) -> list[tuple[Minute, Minute]]:
    """The union of inclusive ranges, sorted and disjoint."""
    out: list[tuple[Minute, Minute]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _providers_for(instance: Instance, case: Case) -> list[Anesthetist]:
    """The pool's providers who may take the case (not its own surgeon)."""
    return [a for a in instance.anesthesia or () if a.id != case.surgeon_id]


def _anesthesia_starts(instance: Instance, case: Case) -> list[tuple[Minute, Minute]]:
    """Starts at which at least one provider of the pool works through the case."""
    return _merge(r for a in _providers_for(instance, case) for r in _starts_within(instance, case, a.hours))


def _on_grid(ranges: Iterable[tuple[Minute, Minute]], step: int) -> list[tuple[Minute, Minute]]:
    out = []
    for a, b in ranges:
        a, b = _grid_up(a, step), _grid_down(b, step)
        if a <= b:
            out.append((a, b))
    return out


def _intersect_ranges(
    a: Sequence[tuple[Minute, Minute]], b: Sequence[tuple[Minute, Minute]]
) -> list[tuple[Minute, Minute]]:
    """Intersection of two sorted lists of inclusive ranges."""
    out: list[tuple[Minute, Minute]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _options(instance: Instance, case: Case, *, anesthesia: bool = True) -> list[_Option]:
    step, cap, d = instance.step, instance.overtime_cap, case.duration
    surgeon = sorted(_surgeon_starts(instance, case))
    if anesthesia and instance.anesthesia is not None:
        surgeon = _intersect_ranges(surgeon, _anesthesia_starts(instance, case))
    earliest = _earliest(instance, case)
    found: list[_Option] = []
    for r, room in enumerate(instance.rooms):
        for k, block in enumerate(room.blocks):
            if not block.takes(case):
                continue
            lo = max(block.start, earliest)
            hi = min(block.end - 1, block.end + cap - d, case.window[1] - d)
            if hi < lo:
                continue
            ranges = []
            for a, b in _intersect_ranges([(lo, hi)], surgeon):
                a, b = _grid_up(a, step), _grid_down(b, step)
                if a <= b:
                    ranges.append((a, b))
            if ranges:
                found.append(_Option(r, k, tuple(ranges)))
    return found


def _static_reason(instance: Instance, case: Case) -> Unplaced:
    """Why a case has nowhere to go at all, in words a coordinator can act on."""
    earliest, close = _earliest(instance, case), case.window[1]
    blocks = [
        b
        for room in instance.rooms
        for b in room.blocks
        if b.takes(case) and b.end > earliest and b.start < close
    ]
    if not blocks:
        return Unplaced(
            case.id,
            "no_block_time",
            "No operating-room block time open to this procedure and this surgeon in its date window.",
        )
    if not any(b > max(a, earliest) and a < close for a, b in case.surgeon_hours):
        return Unplaced(case.id, "surgeon_unavailable", "The surgeon does not work here in its date window.")
    longest = max(b.end - max(b.start, earliest) for b in blocks) + instance.overtime_cap
    if case.duration > longest:
        return Unplaced(
            case.id,
            "too_long",
            f"At {case.duration} minutes it is longer than any block plus the overtime cap "
            f"({instance.overtime_cap} minutes).",
        )
    if instance.anesthesia is not None and _options(instance, case, anesthesia=False):
        return Unplaced(
            case.id,
            "no_anesthesia",
            "No anesthesia provider works while the surgeon and an operating room could take this case.",
        )
    return Unplaced(
        case.id,
        "no_common_time",
        "The surgeon's hours and the room blocks do not overlap long enough for this case.",
    )


NO_CAPACITY = (
    "No room time left that fits: taken by higher-priority cases, existing bookings, or the surgeon's, "
    "the anesthesia providers' or the equipment's other cases."
)


# --- checking and scoring a plan ------------------------------------------------------------------------


def _overlap(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _block_of(instance: Instance, room: Room, case: Case, start: Minute) -> Block | None:
    return next(
        (b for b in room.blocks if b.takes(case) and b.start <= start < b.end),
        None,
    )


def check(instance: Instance, placements: Iterable[Placement]) -> list[tuple[int, str]]:
    """Every broken rule of a plan, as (case id, what is wrong); empty when the plan holds."""
    cases = {c.id: c for c in instance.cases}
    rooms = {r.id: r for r in instance.rooms}
    cap, turnover = instance.overtime_cap, instance.turnover
    pool = {a.id: a for a in instance.anesthesia or ()}
    problems: list[tuple[int, str]] = []
    placed = list(placements)
    for p in placed:
        case, room = cases.get(p.case_id), rooms.get(p.room_id)
        if case is None or room is None:
            problems.append((p.case_id, "Unknown case or room."))
            continue
        if p.end - p.start != case.duration:
            problems.append((p.case_id, f"Takes {p.end - p.start} minutes, not {case.duration}."))
        block = _block_of(instance, room, case, p.start)
        if block is None:
            problems.append(
                (p.case_id, f"Starts outside {room.name}'s block time for this procedure and surgeon.")
            )
        elif p.end > block.end + cap:
            problems.append((p.case_id, f"Runs more than {cap} minutes past the end of {room.name}'s block."))
        if not any(a <= p.start < b and p.end <= b + cap for a, b in case.surgeon_hours):
            problems.append((p.case_id, "The surgeon does not work then."))
        if p.start < case.window[0] or p.end > case.window[1]:
            problems.append((p.case_id, "Outside the case's date window."))
        if instance.not_before is not None and p.start < instance.not_before:
            problems.append((p.case_id, "Starts in the past."))
        if any(_overlap((p.start, p.end + turnover), busy) for busy in room.busy):
            problems.append((p.case_id, f"{room.name} is already booked then."))
        if any(_overlap((p.start, p.end), busy) for busy in instance.surgeon_busy.get(case.surgeon_id, ())):
            problems.append((p.case_id, "The surgeon is already booked then."))
        for equipment_id in case.equipment:
            if any(
                _overlap((p.start, p.end), busy) for busy in instance.equipment_busy.get(equipment_id, ())
            ):
                problems.append((p.case_id, f"Equipment {equipment_id} is already booked then."))
        if instance.anesthesia is not None:
            problems += [(p.case_id, problem) for problem in _anesthesia_problems(instance, pool, case, p)]
    for i, p in enumerate(placed):
        for q in placed[i + 1 :]:
            a, b = cases.get(p.case_id), cases.get(q.case_id)
            if a is None or b is None:
                continue
            if p.case_id == q.case_id:
                problems.append((q.case_id, "Placed twice."))
            if p.room_id == q.room_id and _overlap((p.start, p.end + turnover), (q.start, q.end + turnover)):
                problems.append(
                    (q.case_id, f"Overlaps case {p.case_id} in the room (with {turnover} minutes' turnover).")
                )
            if a.surgeon_id == b.surgeon_id and _overlap((p.start, p.end), (q.start, q.end)):
                problems.append((q.case_id, f"The surgeon is operating on case {p.case_id} then."))
            if instance.anesthesia is not None and _overlap((p.start, p.end), (q.start, q.end)):
                if q.anesthetist_id is not None and q.anesthetist_id in (p.anesthetist_id, a.surgeon_id):
                    problems.append(
                        (q.case_id, f"The anesthesia provider is on case {p.case_id} at the same time.")
                    )
                elif p.anesthetist_id is not None and p.anesthetist_id == b.surgeon_id:
                    problems.append(
                        (q.case_id, f"The surgeon is the anesthesia provider of case {p.case_id} then.")
                    )
            shared = set(a.equipment) & set(b.equipment)
            if shared and _overlap((p.start, p.end), (q.start, q.end)):
                problems.append((q.case_id, f"Shares equipment with case {p.case_id} at the same time."))
    return problems


def _anesthesia_problems(
    instance: Instance, pool: Mapping[int, Anesthetist], case: Case, p: Placement
) -> list[str]:
    """What is wrong with a placement's anesthesia provider on their own (not against other cases)."""
    provider = pool.get(p.anesthetist_id) if p.anesthetist_id is not None else None
    if provider is None:
        return ["No anesthesia provider from the pool is assigned."]
    found = []
    if provider.id == case.surgeon_id:
        found.append("The surgeon cannot be the case's own anesthesia provider.")
    if not any(a <= p.start < b and p.end <= b + instance.overtime_cap for a, b in provider.hours):
        found.append(f"The anesthesia provider ({provider.name}) does not work then.")
    busy = set(provider.busy) | set(instance.surgeon_busy.get(provider.id, ()))
    if any(_overlap((p.start, p.end), b) for b in busy):
        found.append(f"The anesthesia provider ({provider.name}) is already booked then.")
    return found


def evaluate(instance: Instance, placements: Iterable[Placement]) -> Score:
    """What a plan is worth (see the module's docstring); lower is better."""
    w = instance.weights
    cases = {c.id: c for c in instance.cases}
    rooms = {r.id: r for r in instance.rooms}
    placed = [p for p in placements if p.case_id in cases and p.room_id in rooms]
    placed_ids = {p.case_id for p in placed}
    unplaced_penalty = sum(w.unplaced[c.priority] for c in instance.cases if c.id not in placed_ids)
    used: dict[tuple[int, Block], int] = defaultdict(int)  # block -> minutes operating inside it
    overtime = delay = 0
    for p in placed:
        case, room = cases[p.case_id], rooms[p.room_id]
        block = _block_of(instance, room, case, p.start)
        if block is None:
            continue
        over = max(0, p.end - block.end)
        overtime += over
        used[(room.id, block)] += case.duration - over
        first = _grid_up(_earliest(instance, case), instance.step)
        delay += w.delay[case.priority] * max(0, (p.start - first) // instance.step)
    idle = sum(block.end - block.start - inside for (_, block), inside in used.items())
    # The solver's form of the same sum: idle = block minutes in use - operating minutes + overtime minutes.
    total = unplaced_penalty + w.idle * idle + w.overtime * overtime + delay
    return Score(
        total=total,
        placed=len(placed_ids),
        unplaced=len(instance.cases) - len(placed_ids),
        unplaced_penalty=unplaced_penalty,
        overtime_minutes=overtime,
        idle_minutes=idle,
        delay_cost=delay,
    )


# --- first fit --------------------------------------------------------------------------------------


def _first_free(
    ranges: Sequence[tuple[Minute, Minute]],
    step: int,
    taken: Sequence[tuple[Interval, int]],
) -> Minute | None:
    """The first grid start s in `ranges` whose footprints are free: `taken` lists (busy interval, how
    long the candidate holds that resource from s)."""
    for lo, hi in ranges:
        s = lo
        while s <= hi:
            blocker = next(
                (busy for busy, length in taken if busy[0] < s + length and s < busy[1]),
                None,
            )
            if blocker is None:
                return s
            s = max(s + step, _grid_up(blocker[1], step))
    return None


def first_fit(instance: Instance) -> PlanResult:
    """The baseline: cases by priority, then longest first; each goes to the earliest block (then the first
    room) where it fits, at the earliest start there."""
    validate(instance)
    started = time.perf_counter()
    room_busy: dict[int, list[Interval]] = {r.id: list(r.busy) for r in instance.rooms}
    # People (surgeons and anesthesia providers, by resource id: one person may be both).
    surgeon_busy: dict[int, list[Interval]] = defaultdict(list)
    for surgeon_id, busy in instance.surgeon_busy.items():
        surgeon_busy[surgeon_id].extend(busy)
    for provider in instance.anesthesia or ():
        surgeon_busy[provider.id].extend(b for b in provider.busy if b not in surgeon_busy[provider.id])
    equipment_busy: dict[int, list[Interval]] = defaultdict(list)
    for equipment_id, busy in instance.equipment_busy.items():
        equipment_busy[equipment_id].extend(busy)
    placements: list[Placement] = []
    unplaced: list[Unplaced] = []
    order = sorted(instance.cases, key=lambda c: (c.priority, -c.duration, c.id))
    for case in order:
        options = _options(instance, case)
        if not options:
            unplaced.append(_static_reason(instance, case))
            continue
        options.sort(key=lambda o: (instance.rooms[o.room_index].blocks[o.block_index].start, o.room_index))
        d, turnover = case.duration, instance.turnover
        providers = _providers_for(instance, case)
        for option in options:
            room = instance.rooms[option.room_index]
            taken = [(b, d + turnover) for b in room_busy[room.id]]
            taken += [(b, d) for b in surgeon_busy[case.surgeon_id]]
            taken += [(b, d) for e in case.equipment for b in equipment_busy[e]]
            provider_id: int | None = None
            if instance.anesthesia is None:
                start = _first_free(option.starts, instance.step, taken)
            else:  # the provider who can start it earliest (the first listed on a tie)
                start = None
                for provider in providers:
                    ranges = _on_grid(
                        _intersect_ranges(option.starts, _starts_within(instance, case, provider.hours)),
                        instance.step,
                    )
                    theirs = _first_free(
                        ranges, instance.step, taken + [(b, d) for b in surgeon_busy[provider.id]]
                    )
                    if theirs is not None and (start is None or theirs < start):
                        start, provider_id = theirs, provider.id
            if start is None:
                continue
            placements.append(Placement(case.id, room.id, start, start + d, provider_id))
            room_busy[room.id].append((start, start + d + turnover))
            surgeon_busy[case.surgeon_id].append((start, start + d))
            if provider_id is not None:
                surgeon_busy[provider_id].append((start, start + d))
            for e in case.equipment:
                equipment_busy[e].append((start, start + d))
            break
        else:
            unplaced.append(Unplaced(case.id, "no_capacity", NO_CAPACITY))
    return PlanResult(
        method="first-fit",
        placements=tuple(sorted(placements, key=lambda p: (p.start, p.room_id))),
        unplaced=tuple(sorted(unplaced, key=lambda u: u.case_id)),
        score=evaluate(instance, placements),
        seconds=time.perf_counter() - started,
    )


# --- CP-SAT ---------------------------------------------------------------------------------------------


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def solve(
    instance: Instance,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int | None = None,
    hint: PlanResult | None = None,
    seed: int = 0,
) -> PlanResult:
    """The CP-SAT plan: every case a start variable on the grid, an optional interval per (room, block) it
    may use and per anesthesia provider who may take it, NoOverlap per room (with turnover), per person
    (surgeon or anesthesia provider) and per piece of equipment; minimizing the same cost `evaluate`
    computes. `hint` (e.g. the first-fit plan) warm-starts the search."""
    started = time.perf_counter()  # the time limit counts loading OR-Tools the first time, too
    # Imported here, not at the top: OR-Tools (with numpy and pandas) takes half a second to load, and
    # every process that serves pages imports this module through the URLs; only planning needs it.
    from ortools.sat.python import cp_model

    validate(instance)
    w = instance.weights
    step, turnover, cap = instance.step, instance.turnover, instance.overtime_cap
    model = cp_model.CpModel()
    options = {case.id: _options(instance, case) for case in instance.cases}
    unplaced: list[Unplaced] = [
        _static_reason(instance, case) for case in instance.cases if not options[case.id]
    ]
    plannable = [case for case in instance.cases if options[case.id]]
    all_starts = [a for case in plannable for o in options[case.id] for a, _ in o.starts]
    origin = _grid_down(min(all_starts), step) if all_starts else 0

    def rel(minute: Minute) -> int:
        return minute - origin

    room_intervals: dict[int, list[cp_model.IntervalVar]] = defaultdict(list)
    # By person: a surgeon's cases and the cases they give anesthesia for, in one NoOverlap.
    surgeon_intervals: dict[int, list[cp_model.IntervalVar]] = defaultdict(list)
    case_intervals: list[cp_model.IntervalVar] = []
    provider_choice: dict[tuple[int, int], cp_model.IntVar] = {}
    equipment_intervals: dict[int, list[cp_model.IntervalVar]] = defaultdict(list)
    block_used: dict[tuple[int, int], cp_model.IntVar] = {}
    block_members: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    objective: list[cp_model.LinearExprT] = []
    constant = 0
    present: dict[int, cp_model.IntVar] = {}
    quantum: dict[int, cp_model.IntVar] = {}
    choice: dict[tuple[int, int, int], cp_model.IntVar] = {}
    overtime_vars: dict[int, cp_model.IntVar] = {}
    delay_vars: dict[int, cp_model.IntVar] = {}

    for case in plannable:
        d = case.duration
        case_options = options[case.id]
        q_ranges = sorted({(rel(a) // step, rel(b) // step) for o in case_options for a, b in o.starts})
        q = model.new_int_var_from_domain(cp_model.Domain.from_intervals(q_ranges), f"q{case.id}")
        p = model.new_bool_var(f"placed{case.id}")
        ot = model.new_int_var(0, cap, f"ot{case.id}")
        first = rel(_grid_up(_earliest(instance, case), step)) // step
        dl = model.new_int_var(0, max(0, q_ranges[-1][1] - first), f"delay{case.id}")
        model.add(dl >= q - first).only_enforce_if(p)
        model.add(ot == 0).only_enforce_if(p.Not())
        start = q * step
        literals = []
        for o in case_options:
            x = model.new_bool_var(f"x{case.id}_{o.room_index}_{o.block_index}")
            literals.append(x)
            choice[(case.id, o.room_index, o.block_index)] = x
            block = instance.rooms[o.room_index].blocks[o.block_index]
            domain = cp_model.Domain.from_intervals([[rel(a) // step, rel(b) // step] for a, b in o.starts])
            model.add_linear_expression_in_domain(q, domain).only_enforce_if(x)
            model.add(ot >= start + d - rel(block.end)).only_enforce_if(x)
            room_intervals[o.room_index].append(
                model.new_optional_interval_var(start, d + turnover, start + d + turnover, x, f"r{case.id}")
            )
            key = (o.room_index, o.block_index)
            block_members[key].append((x, d))
        model.add(sum(literals) == p)
        operating = model.new_optional_interval_var(start, d, start + d, p, f"s{case.id}")
        surgeon_intervals[case.surgeon_id].append(operating)
        case_intervals.append(operating)
        if instance.anesthesia is not None:
            case_starts = _merge(r for o in case_options for r in o.starts)
            takers = []
            for provider in _providers_for(instance, case):
                ranges = _on_grid(
                    _intersect_ranges(case_starts, _starts_within(instance, case, provider.hours)), step
                )
                if not ranges:
                    continue
                y = model.new_bool_var(f"a{case.id}_{provider.id}")
                domain = cp_model.Domain.from_intervals([[rel(a) // step, rel(b) // step] for a, b in ranges])
                model.add_linear_expression_in_domain(q, domain).only_enforce_if(y)
                surgeon_intervals[provider.id].append(
                    model.new_optional_interval_var(start, d, start + d, y, f"an{case.id}_{provider.id}")
                )
                provider_choice[(case.id, provider.id)] = y
                takers.append(y)
            model.add(sum(takers) == p)  # _options kept only starts some provider can take
        for e in case.equipment:
            equipment_intervals[e].append(
                model.new_optional_interval_var(start, d, start + d, p, f"e{case.id}_{e}")
            )
        present[case.id], quantum[case.id] = p, q
        overtime_vars[case.id], delay_vars[case.id] = ot, dl
        # Placed: idle falls by the minutes operating inside the block (d - ot); overtime costs extra.
        objective.append(-w.idle * d * p + (w.idle + w.overtime) * ot + w.delay[case.priority] * dl)
        objective.append(-w.unplaced[case.priority] * p)
        constant += w.unplaced[case.priority]
    constant += sum(w.unplaced[c.priority] for c in instance.cases if not options[c.id])

    for key, members in block_members.items():
        room_index, block_index = key
        block = instance.rooms[room_index].blocks[block_index]
        used = model.new_bool_var(f"used{room_index}_{block_index}")
        for x, _ in members:
            model.add_implication(x, used)
        # Redundant, for the search's bounds: the block's cases (with turnover) fit between its start and
        # its end plus the overtime cap and one turnover.
        model.add(sum((d + turnover) * x for x, d in members) <= block.end - block.start + cap + turnover)
        block_used[key] = used
        objective.append(w.idle * (block.end - block.start) * used)

    def fixed(intervals: Iterable[Interval], name: str) -> list[cp_model.IntervalVar]:
        return [
            model.new_fixed_size_interval_var(rel(a), b - a, f"{name}{n}")
            for n, (a, b) in enumerate(intervals)
            if b > a
        ]

    for room_index, intervals in room_intervals.items():
        room = instance.rooms[room_index]
        model.add_no_overlap(intervals + fixed(room.busy, f"busy_room{room.id}_"))
    provider_busy = {a.id: a.busy for a in instance.anesthesia or ()}
    for person_id, intervals in surgeon_intervals.items():
        taken = sorted(set(instance.surgeon_busy.get(person_id, ())) | set(provider_busy.get(person_id, ())))
        model.add_no_overlap(intervals + fixed(taken, f"busy_person{person_id}_"))
    if instance.anesthesia:
        # Redundant, for propagation: no more cases at once than there are anesthesia providers.
        model.add_cumulative(case_intervals, [1] * len(case_intervals), len(instance.anesthesia))
    for equipment_id, intervals in equipment_intervals.items():
        busy = instance.equipment_busy.get(equipment_id, ())
        model.add_no_overlap(intervals + fixed(busy, f"busy_equipment{equipment_id}_"))

    model.minimize(sum(objective) + constant)

    if hint is not None:
        _add_hint(model, instance, plannable, hint, present, quantum, choice, origin)
        hinted = {p.case_id: p.anesthetist_id for p in hint.placements}
        for (case_id, provider_id), y in provider_choice.items():
            model.add_hint(y, 1 if hinted.get(case_id) == provider_id else 0)

    solver = cp_model.CpSolver()
    # The time limit covers building the model and reading the answer too (a quarter second kept).
    solver.parameters.max_time_in_seconds = max(
        0.1, float(time_limit) - (time.perf_counter() - started) - 0.25
    )
    solver.parameters.num_workers = workers or default_workers()
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    status_name = solver.status_name(status)
    placements: list[Placement] = []
    solver_objective = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        solver_objective = round(solver.objective_value)
        for case in plannable:
            if not solver.boolean_value(present[case.id]):
                unplaced.append(Unplaced(case.id, "no_capacity", NO_CAPACITY))
                continue
            begin = origin + int(solver.value(quantum[case.id])) * step
            room_index = next(k[1] for k, x in choice.items() if k[0] == case.id and solver.boolean_value(x))
            taker = next(
                (k[1] for k, y in provider_choice.items() if k[0] == case.id and solver.boolean_value(y)),
                None,
            )
            placements.append(
                Placement(case.id, instance.rooms[room_index].id, begin, begin + case.duration, taker)
            )
    else:
        unplaced.extend(
            Unplaced(case.id, "no_solution", f"The solver found no plan in time ({status_name}).")
            for case in plannable
        )
    return PlanResult(
        method="cp-sat",
        placements=tuple(sorted(placements, key=lambda p: (p.start, p.room_id))),
        unplaced=tuple(sorted(unplaced, key=lambda u: u.case_id)),
        score=evaluate(instance, placements),
        seconds=time.perf_counter() - started,
        status=status_name,
        solver_objective=solver_objective,
    )


def _add_hint(
    model: cp_model.CpModel,
    instance: Instance,
    plannable: Sequence[Case],
    hint: PlanResult,
    present: Mapping[int, cp_model.IntVar],
    quantum: Mapping[int, cp_model.IntVar],
    choice: Mapping[tuple[int, int, int], cp_model.IntVar],
    origin: Minute,
) -> None:
    """A complete hint from another plan (first-fit): every case's presence, start and block choice."""
    placed_by_case = {p.case_id: p for p in hint.placements}
    rooms_by_id = {r.id: i for i, r in enumerate(instance.rooms)}
    for case in plannable:
        placed = placed_by_case.get(case.id)
        chosen: tuple[int, int, int] | None = None
        if placed is not None and placed.room_id in rooms_by_id:
            room_index = rooms_by_id[placed.room_id]
            room = instance.rooms[room_index]
            block = _block_of(instance, room, case, placed.start)
            if block is not None:
                chosen = (case.id, room_index, room.blocks.index(block))
        if placed is None or chosen not in choice:
            model.add_hint(present[case.id], 0)
            for key, x in choice.items():
                if key[0] == case.id:
                    model.add_hint(x, 0)
            continue
        model.add_hint(present[case.id], 1)
        model.add_hint(quantum[case.id], (placed.start - origin) // instance.step)
        for key, x in choice.items():
            if key[0] == case.id:
                model.add_hint(x, 1 if key == chosen else 0)


@dataclass(frozen=True)
class Comparison:
    chosen: PlanResult  # the better of the two (CP-SAT unless it found nothing better than first-fit)
    cp_sat: PlanResult
    first_fit: PlanResult


def plan(
    instance: Instance, *, time_limit: float = DEFAULT_TIME_LIMIT, workers: int | None = None
) -> Comparison:
    """First-fit, then CP-SAT warm-started from it, both within `time_limit` seconds; the better plan is
    chosen (ties go to CP-SAT)."""
    started = time.perf_counter()
    baseline = first_fit(instance)
    remaining = max(0.5, time_limit - (time.perf_counter() - started))
    optimized = solve(instance, time_limit=remaining, workers=workers, hint=baseline)
    chosen = optimized if optimized.score.total <= baseline.score.total else baseline
    return Comparison(chosen=chosen, cp_sat=optimized, first_fit=baseline)
