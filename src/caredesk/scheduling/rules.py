"""Pure scheduling logic on values (no ORM): interval arithmetic, weekly templates, slot finding, booking
rules and status transitions. Selectors and services load rows, turn them into these values and ask.

Time is counted in whole minutes since the Unix epoch (UTC) — `Minute` — so interval arithmetic is
integer arithmetic. An `Interval` is half-open, [start, end). A list of intervals is "normalized" when it
is sorted, holds no empty interval, and no two intervals overlap or touch.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from .choices import ACTIVE_STATUSES, AppointmentStatus, Modality, PatientEligibility, ResourceKind

Minute = int
Interval = tuple[Minute, Minute]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# A patient seen within this many years counts as established (the CPT new/established rule).
ESTABLISHED_WITHIN_YEARS = 3


# --- minutes and datetimes ----------------------------------------------------------------------------


def to_minute(moment: dt.datetime) -> Minute:
    """Whole minutes since the epoch; `moment` must be timezone-aware (seconds are dropped)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place on the time line")
    return int((moment - EPOCH).total_seconds() // 60)


def to_minute_ceil(moment: dt.datetime) -> Minute:
    """Like `to_minute`, rounding a part-minute up (for ends of ranges)."""
    seconds = (moment - EPOCH).total_seconds()
    return to_minute(moment) + (1 if seconds % 60 else 0)


def from_minute(minute: Minute) -> dt.datetime:
    """The aware UTC datetime of a minute."""
    return EPOCH + dt.timedelta(minutes=minute)


def local_datetime(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """Wall-clock `time` on `day` in `zone`. A time skipped by a daylight-saving change (02:30 on the
    spring-forward night) lands just after the gap; a repeated one takes its first occurrence."""
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC)


def local_day_bounds(day: dt.date, zone: ZoneInfo) -> Interval:
    """The minutes of one local calendar day (23 or 25 hours long on daylight-saving days)."""
    return (
        to_minute(local_datetime(day, dt.time(0), zone)),
        to_minute(local_datetime(day + dt.timedelta(days=1), dt.time(0), zone)),
    )


# --- interval arithmetic --------------------------------------------------------------------------------


def normalize(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-empty, merged (overlapping or touching intervals become one)."""
    merged: list[Interval] = []
    last_start = last_end = 0
    for start, end in sorted(intervals):  # the slot search's hot path: no generator, locals only
        if end <= start:
            continue
        if merged and start <= last_end:
            if end > last_end:
                last_end = end
                merged[-1] = (last_start, end)
        else:
            last_start, last_end = start, end
            merged.append((start, end))
    return merged


def subtract(base: Sequence[Interval], remove: Sequence[Interval]) -> list[Interval]:
    """`base` minus `remove` (both normalized); the result is normalized."""
    result: list[Interval] = []
    append = result.append
    count = len(remove)
    j = 0
    for start, end in base:
        cursor = start
        while j < count and remove[j][1] <= cursor:
            j += 1
        k = j
        while k < count:
            cut_start, cut_end = remove[k]
            if cut_start >= end:
                break
            if cut_start > cursor:
                append((cursor, cut_start))
            if cut_end > cursor:
                cursor = cut_end
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            append((cursor, end))
    return result


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The minutes in both (both normalized); the result is normalized."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def contains(intervals: Sequence[Interval], minute: Minute) -> bool:
    """Whether `minute` lies in one of the (normalized) intervals."""
    index = bisect.bisect_right(intervals, (minute, math.inf)) - 1
    return index >= 0 and intervals[index][0] <= minute < intervals[index][1]


def covers(intervals: Sequence[Interval], start: Minute, end: Minute) -> bool:
    """Whether [start, end) lies inside one of the (normalized) intervals."""
    index = bisect.bisect_right(intervals, (start, math.inf)) - 1
    return index >= 0 and intervals[index][0] <= start and end <= intervals[index][1]


def overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# --- weekly templates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyWindow:
    """Local hours on one weekday (0 = Monday), every `week_interval` weeks counted from the week its
    template takes effect; `reserved_for` is the only visit type that may use it (None: any);
    `held_for` is a resource (a surgeon, for an operating room's block time) that must be part of every
    visit that uses it (None: anyone's)."""

    weekday: int
    start: dt.time
    end: dt.time
    week_interval: int = 1
    reserved_for: int | None = None
    held_for: int | None = None


@dataclass(frozen=True)
class WeeklyTemplate:
    effective_from: dt.date
    effective_until: dt.date | None  # inclusive; None = open-ended
    windows: tuple[WeeklyWindow, ...]


def week_number(day: dt.date) -> int:
    """Weeks (Monday to Sunday) since 1 January of year 1, which was a Monday."""
    return (day.toordinal() - 1) // 7


def in_force(template: WeeklyTemplate, day: dt.date) -> bool:
    return template.effective_from <= day and (
        template.effective_until is None or day <= template.effective_until
    )


def occurs_on(template: WeeklyTemplate, window: WeeklyWindow, day: dt.date) -> bool:
    return (
        day.weekday() == window.weekday
        and in_force(template, day)
        and (week_number(day) - week_number(template.effective_from)) % window.week_interval == 0
    )


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def expand(
    template: WeeklyTemplate,
    first_day: dt.date,
    last_day: dt.date,
    zone: ZoneInfo,
    visit_type_id: int | None = None,
    *,
    any_use: bool = False,
    with_resources: AbstractSet[int] = frozenset(),
) -> list[Interval]:
    """The template's working minutes on the local days `first_day`..`last_day` (inclusive), normalized.

    Windows reserved for a visit type count only for that visit type (`visit_type_id`), and windows held
    for a resource only for a visit that also uses it (`with_resources`: the visit's other resources),
    unless `any_use` (the calendar shows all working hours)."""
    out: list[Interval] = []
    for day in days(max(first_day, template.effective_from), last_day):
        if template.effective_until is not None and day > template.effective_until:
            break
        for window in template.windows:
            if not occurs_on(template, window, day):
                continue
            if not any_use and window.reserved_for is not None and window.reserved_for != visit_type_id:
                continue
            if not any_use and window.held_for is not None and window.held_for not in with_resources:
                continue
            out.append(
                (
                    to_minute(local_datetime(day, window.start, zone)),
                    to_minute(local_datetime(day, window.end, zone)),
                )
            )
    return normalize(out)


def _times_overlap(a: WeeklyWindow, b: WeeklyWindow) -> bool:
    return a.weekday == b.weekday and a.start < b.end and b.start < a.end


def window_errors(windows: Sequence[WeeklyWindow]) -> list[str]:
    """What is wrong with one template's windows, in words (empty when nothing is)."""
    errors: list[str] = []
    for index, window in enumerate(windows, start=1):
        if not 0 <= window.weekday <= 6:
            errors.append(f"Window {index}: the weekday must be 0 (Monday) to 6 (Sunday).")
        if window.end <= window.start:
            errors.append(f"Window {index}: it ends at {window.end:%H:%M}, not after {window.start:%H:%M}.")
        if not 1 <= window.week_interval <= 8:
            errors.append(f"Window {index}: repeat every 1 to 8 weeks.")
    for i, a in enumerate(windows):
        for j in range(i + 1, len(windows)):
            if _times_overlap(a, windows[j]):
                errors.append(f"Windows {i + 1} and {j + 1} overlap.")
    return errors


def first_shared_day(
    a: WeeklyTemplate, window_a: WeeklyWindow, b: WeeklyTemplate, window_b: WeeklyWindow
) -> dt.date | None:
    """The first day both windows occur on with overlapping hours, or None if they never do (different
    weekdays or hours, effective dates apart, or alternating weeks that never meet)."""
    if not _times_overlap(window_a, window_b):
        return None
    start = max(a.effective_from, b.effective_from)
    ends = [d for d in (a.effective_until, b.effective_until) if d is not None]
    end = min(ends) if ends else None
    day = start + dt.timedelta(days=(window_a.weekday - start.weekday()) % 7)
    # The pattern of both repeats every lcm(intervals) weeks: looking that far is enough.
    for _ in range(math.lcm(window_a.week_interval, window_b.week_interval)):
        if end is not None and day > end:
            return None
        if occurs_on(a, window_a, day) and occurs_on(b, window_b, day):
            return day
        day += dt.timedelta(days=7)
    return None


# --- resources and requirements -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceInfo:
    id: int
    kind: str
    name: str
    location_id: int
    practitioner_id: int | None = None
    category: str = ""


@dataclass(frozen=True)
class Requirement:
    """What one requirement of a visit type asks for (see models.VisitTypeRequirement)."""

    kind: str
    resource_id: int | None = None
    category: str = ""

    @property
    def is_offering_practitioner(self) -> bool:
        """ "One of the practitioners who offer the visit type" (no specific resource, no category)."""
        return self.kind == ResourceKind.PRACTITIONER and self.resource_id is None and not self.category


def needed(requirements: Sequence[Requirement], modality: str) -> list[Requirement]:
    """The requirements that apply: a telehealth visit needs its practitioners only."""
    if modality == Modality.TELEHEALTH:
        return [r for r in requirements if r.kind == ResourceKind.PRACTITIONER]
    return list(requirements)


def candidates(
    requirement: Requirement,
    resources: Sequence[ResourceInfo],
    *,
    location_id: int,
    offered_by: frozenset[int],
    practitioner_id: int | None = None,
) -> list[int]:
    """The (active) `resources` that can meet `requirement` for a visit at `location_id`, in order.

    Rooms and equipment must be at that location; practitioners may be based anywhere (their templates
    say whether they work there then). A requirement for "one of the practitioners who offer it" picks
    among `offered_by` (practitioner ids), narrowed to `practitioner_id` when the caller asked for one."""
    out: list[int] = []
    for resource in resources:
        if resource.kind != requirement.kind:
            continue
        if resource.kind != ResourceKind.PRACTITIONER and resource.location_id != location_id:
            continue
        if requirement.resource_id is not None:
            if resource.id == requirement.resource_id:
                out.append(resource.id)
            continue
        if requirement.category and resource.category != requirement.category:
            continue
        if requirement.is_offering_practitioner:
            if resource.practitioner_id not in offered_by:
                continue
            if practitioner_id is not None and resource.practitioner_id != practitioner_id:
                continue
        out.append(resource.id)
    return out


def available_minutes(
    templates: Iterable[WeeklyTemplate],
    exceptions: Iterable[Interval],
    first_day: dt.date,
    last_day: dt.date,
    zone: ZoneInfo,
    visit_type_id: int | None = None,
    *,
    any_use: bool = False,
    with_resources: AbstractSet[int] = frozenset(),
) -> list[Interval]:
    """A resource's working minutes at one location: its templates there, minus the exceptions."""
    working = normalize(
        i
        for template in templates
        for i in expand(
            template, first_day, last_day, zone, visit_type_id, any_use=any_use, with_resources=with_resources
        )
    )
    return subtract(working, normalize(exceptions))


# --- slots ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Footprint:
    """How much time a visit takes and blocks: the visit itself, and the buffers around it that must be
    free of other bookings too."""

    duration: int
    before: int = 0
    after: int = 0

    def blocked(self, start: Minute) -> Interval:
        return (start - self.before, start + self.duration + self.after)


def allowed_starts(
    available: Sequence[Interval], busy: Iterable[Interval], footprint: Footprint
) -> list[Interval]:
    """Start minutes s (as normalized intervals) at which the visit [s, s + duration) lies within the
    resource's `available` minutes (normalized) and its blocked range [s - before, s + duration + after)
    meets none of the `busy` ranges (other bookings' blocked ranges)."""
    d, b, a = footprint.duration, footprint.before, footprint.after
    starts = [(x, y - d + 1) for x, y in available if y - x >= d]
    if not starts:
        return starts
    # Busy ranges come sorted and apart (normalized) from the search's reads: their forbidden starts are
    # merged in one pass; anything else goes through `normalize`.
    reach = d + a - 1
    forbidden: list[Interval] = []
    last_start = last_end = 0
    ranges = busy if isinstance(busy, list | tuple) else list(busy)
    for p, q in ranges:
        if q <= p:
            continue
        low, high = p - reach, q + b
        if forbidden:
            if low < last_start:
                forbidden = normalize((p - reach, q + b) for p, q in ranges if q > p)
                break
            if low <= last_end:
                if high > last_end:
                    last_end = high
                    forbidden[-1] = (last_start, high)
                continue
        last_start, last_end = low, high
        forbidden.append((low, high))
    return subtract(starts, forbidden)


# --- busy days: a resource's bookings on one UTC day, as text ---------------------------------------------

DAY_MINUTES = 24 * 60


def utc_day(minute: Minute) -> dt.date:
    return (EPOCH + dt.timedelta(days=minute // DAY_MINUTES)).date()


def utc_day_bounds(day: dt.date) -> Interval:
    low = (day - EPOCH.date()).days * DAY_MINUTES
    return (low, low + DAY_MINUTES)


def utc_days(start: Minute, end: Minute) -> Iterator[dt.date]:
    """The UTC days that [start, end) meets."""
    for n in range(start // DAY_MINUTES, (end - 1) // DAY_MINUTES + 1):
        yield (EPOCH + dt.timedelta(days=n)).date()


def busy_day_text(busy: Iterable[Interval], day: dt.date) -> str:
    """The busy minutes of `day` (the ranges clipped to it and merged) as compact text: the start and
    end of each range, in epoch minutes, space-separated; "" when nothing is busy."""
    low, high = utc_day_bounds(day)
    return " ".join(f"{a} {b}" for a, b in normalize((max(a, low), min(b, high)) for a, b in busy))


def busy_day_intervals(text: str) -> list[Interval]:
    """`busy_day_text` read back, as normalized intervals."""
    values = iter(map(int, text.split()))
    return list(zip(values, values, strict=False))


def _first_on_grid(minute: Minute, step: int, zone: ZoneInfo) -> Minute:
    """The first minute >= `minute` that falls on a multiple of `step` minutes after local midnight."""
    offset = int(from_minute(minute).astimezone(zone).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    local = minute + offset
    return math.ceil(local / step) * step - offset


def grid_points(intervals: Sequence[Interval], step: int, zone: ZoneInfo) -> Iterator[Minute]:
    """Every minute on the local `step` grid inside the (normalized) intervals, in order."""
    for start, end in intervals:
        point = _first_on_grid(start, step, zone)
        while point < end:
            yield point
            point = _first_on_grid(point + 1, step, zone)


def assign(
    options: Sequence[Sequence[int]],
    prefer: Sequence[int] = (),
    requires: Mapping[int, AbstractSet[int]] | None = None,
) -> tuple[int, ...] | None:
    """Pick one resource per requirement, all different: `options[i]` lists the resources that can meet
    requirement i (in order of preference). Returns the picks in requirement order, or None when no
    assignment exists. Resources in `prefer` are tried first. A resource listed in `requires` is picked
    only together with one of the resources it names (a room whose time then is held for a surgeon).
    Small backtracking search: requirements with the fewest options are decided first."""
    order = sorted(range(len(options)), key=lambda i: len(options[i]))
    preferred = set(prefer)
    ranked = [sorted(opts, key=lambda r: r not in preferred) for opts in options]
    picks: dict[int, int] = {}
    used: set[int] = set()

    def search(position: int) -> bool:
        if position == len(order):
            return not requires or all(
                not requires[resource].isdisjoint(used) for resource in used if resource in requires
            )
        requirement = order[position]
        for resource in ranked[requirement]:
            if resource in used:
                continue
            picks[requirement] = resource
            used.add(resource)
            if search(position + 1):
                return True
            used.discard(resource)
        return False

    if not search(0):
        return None
    return tuple(picks[i] for i in range(len(options)))


@dataclass(frozen=True)
class FoundSlot:
    start: Minute
    resources: tuple[int, ...]  # one per requirement, in requirement order


def find_slots(
    requirements: Sequence[dict[int, list[Interval]]],
    *,
    within: Sequence[Interval],
    step: int,
    zone: ZoneInfo,
    limit: int,
    prefer: Sequence[int] = (),
    held: Mapping[int, Mapping[int, Sequence[Interval]]] | None = None,
) -> list[FoundSlot]:
    """The first `limit` start minutes, on the local `step` grid and inside `within` (normalized), at
    which every requirement can be met by a different resource. `requirements[i]` maps each resource
    that could meet requirement i to its allowed starts (see `allowed_starts`). `held[r][h]`: further
    starts of resource r (time held for resource h, a surgeon's operating-room block) that count only
    when h is picked too."""
    if limit <= 0 or not requirements:
        return []
    held = held or {}
    coarse = list(within)
    for candidates in requirements:
        coarse = intersect(
            coarse,
            normalize(
                [i for starts in candidates.values() for i in starts]
                + [i for r in candidates for starts in held.get(r, {}).values() for i in starts]
            ),
        )
        if not coarse:
            return []
    found: list[FoundSlot] = []
    for point in grid_points(coarse, step, zone):
        options = [
            [resource for resource, starts in candidates.items() if contains(starts, point)]
            for candidates in requirements
        ]
        requires: dict[int, frozenset[int]] = {}
        for usable, candidates in zip(options, requirements, strict=True):
            for resource in held.keys() & candidates.keys():
                holders = frozenset(h for h, extra in held[resource].items() if contains(extra, point))
                if holders and resource not in usable:
                    usable.append(resource)
                    requires[resource] = holders
        picked = assign(options, prefer, requires)
        if picked is not None:
            found.append(FoundSlot(point, picked))
            if len(found) >= limit:
                break
    return found


def weekly_mask(
    first_day: dt.date,
    last_day: dt.date,
    zone: ZoneInfo,
    weekdays: Iterable[int] | None = None,
    earliest: dt.time | None = None,
    latest: dt.time | None = None,
) -> list[Interval]:
    """The minutes of `first_day`..`last_day` (local, inclusive) on the given weekdays, between the
    `earliest` and `latest` local start times (inclusive): a patient's "Tuesdays or Thursdays, mornings".
    For start times: the interval for a day is [earliest, latest + 1 minute)."""
    allowed_days = set(range(7) if weekdays is None else weekdays)
    out: list[Interval] = []
    for day in days(first_day, last_day):
        if day.weekday() not in allowed_days:
            continue
        day_start, day_end = local_day_bounds(day, zone)
        lo = day_start if earliest is None else to_minute(local_datetime(day, earliest, zone))
        hi = day_end if latest is None else to_minute(local_datetime(day, latest, zone)) + 1
        out.append((lo, min(hi, day_end)))
    return normalize(out)


# --- booking rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRules:
    min_notice_minutes: int
    max_days_ahead: int
    eligibility: str = PatientEligibility.ANY


def booking_horizon(rules: BookingRules, now: Minute) -> Interval:
    """Start minutes the rules allow: from `now` plus the minimum notice, to `now` plus the maximum days
    ahead."""
    return (now + rules.min_notice_minutes, now + rules.max_days_ahead * 24 * 60 + 1)


def horizon_error(rules: BookingRules, start: Minute, now: Minute) -> str | None:
    if start < now:
        return "That time is in the past."
    earliest, end = booking_horizon(rules, now)
    if start < earliest:
        hours = rules.min_notice_minutes / 60
        return f"This visit type needs at least {hours:g} hours' notice."
    if start >= end:
        return f"This visit type can be booked at most {rules.max_days_ahead} days ahead."
    return None


def is_established(last_seen: dt.date | None, on: dt.date) -> bool:
    """Seen (a fulfilled or attended visit) within the last three years before `on`."""
    if last_seen is None or last_seen > on:
        return False
    try:
        cutoff = on.replace(year=on.year - ESTABLISHED_WITHIN_YEARS)
    except ValueError:  # 29 February
        cutoff = on.replace(year=on.year - ESTABLISHED_WITHIN_YEARS, day=28)
    return last_seen >= cutoff


def eligibility_error(eligibility: str, established: bool) -> str | None:
    if eligibility == PatientEligibility.NEW and established:
        return "This visit type is for new patients; the patient was seen here in the last three years."
    if eligibility == PatientEligibility.ESTABLISHED and not established:
        return "This visit type is for established patients; the patient was not seen here in three years."
    return None


# --- status transitions ---------------------------------------------------------------------------------

S = AppointmentStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.BOOKED, S.CANCELLED}),
    S.BOOKED: frozenset({S.CONFIRMED, S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    S.CONFIRMED: frozenset({S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    S.ARRIVED: frozenset({S.IN_PROGRESS, S.FULFILLED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.FULFILLED}),
    S.FULFILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}
RESCHEDULABLE: frozenset[str] = frozenset({S.PROPOSED, S.BOOKED, S.CONFIRMED})
#: A co-pay is taken for a visit still to happen or happening, not for one cancelled or missed.
NO_COPAY_STATUSES: frozenset[str] = frozenset({S.CANCELLED, S.NO_SHOW})


def transition_error(current: str, target: str) -> str | None:
    if target in TRANSITIONS.get(current, frozenset()):
        return None
    return f"A {S(current).label.lower()} appointment cannot become {S(target).label.lower()}."


def holds_time(status: str) -> bool:
    return status in ACTIVE_STATUSES


def no_show_error(status: str, start: Minute, now: Minute, grace_minutes: int) -> str | None:
    problem = transition_error(status, S.NO_SHOW)
    if problem:
        return problem
    if now < start + grace_minutes:
        return f"A patient can be marked no-show {grace_minutes} minutes after the start time, not before."
    return None


def check_in_error(status: str, start: Minute, now: Minute, zone: ZoneInfo) -> str | None:
    """Arrival is recorded on the appointment's local day only."""
    problem = transition_error(status, S.ARRIVED)
    if problem:
        return problem
    if from_minute(start).astimezone(zone).date() != from_minute(now).astimezone(zone).date():
        return "A patient can be checked in on the day of the appointment only."
    return None


# --- the patient portal ------------------------------------------------------------------------------------

#: What a patient may cancel themselves in the portal (later steps belong to the clinic).
PORTAL_CANCELLABLE: frozenset[str] = frozenset({S.BOOKED, S.CONFIRMED})


#: What a patient does to a visit in the portal (cancel it, or change its time), and the words for it.
PortalAction = Literal["cancel", "change"]
PORTAL_ACTIONS: dict[str, str] = {"cancel": "cancelled", "change": "changed"}


def portal_cancel_error(
    status: str,
    start: Minute,
    now: Minute,
    notice_hours: int,
    *,
    portal_bookable: bool,
    action: PortalAction = "cancel",
) -> str | None:
    """Why a patient may not cancel (or change the time of) this visit in the portal (they call the clinic
    instead), or None: only a booked or confirmed visit of a visit type the portal books, at least
    `notice_hours` before it starts. Moving a visit gives up its time, so it follows the same rule."""
    if status not in PORTAL_CANCELLABLE:
        return f"A {S(status).label.lower()} appointment cannot be {PORTAL_ACTIONS[action]}."
    if not portal_bookable:
        return f"This visit cannot be {PORTAL_ACTIONS[action]} online; please call the clinic to {action} it."
    if start - now < notice_hours * 60:
        return (
            f"This visit starts in less than {notice_hours} hours, too soon to {action} online; "
            f"please call the clinic to {action} it."
        )
    return None


# --- reminders ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderPlan:
    """What to do about an appointment's reminders now: send `send` (minutes before the start) and mark
    `superseded` ones skipped (their time came too, but only the closest to the visit is worth sending)."""

    send: int | None
    superseded: tuple[int, ...]


def reminder_plan(
    start: dt.datetime, now: dt.datetime, offsets: Iterable[int], done: Iterable[int] = ()
) -> ReminderPlan:
    """Offsets are minutes before `start`; `done` are those with a reminder row already."""
    if now >= start:
        return ReminderPlan(None, ())
    taken = set(done)
    due = sorted({o for o in offsets if o > 0 and start - dt.timedelta(minutes=o) <= now})
    if not due or due[0] in taken:  # never an earlier reminder after a later one
        return ReminderPlan(None, ())
    return ReminderPlan(due[0], tuple(o for o in due[1:] if o not in taken))


def reminder_offsets(hours: Iterable[int]) -> list[int]:
    """The configured offsets (hours) in minutes, largest first; non-positive and repeated ones dropped."""
    return sorted({int(h) * 60 for h in hours if int(h) > 0}, reverse=True)


_CONFIRM_WORDS = frozenset({"C", "CONFIRM", "Y", "YES"})
_CANCEL_WORDS = frozenset({"X", "CANCEL"})


def parse_reply(text: str) -> str | None:
    """An SMS reply as an answer ("confirm" / "cancel"), or None when it is neither."""
    word = text.strip().strip(".!").strip().upper()
    if word in _CONFIRM_WORDS:
        return "confirm"
    if word in _CANCEL_WORDS:
        return "cancel"
    return None


def phone_digits(value: str) -> str:
    """The last ten digits of a phone number, so "+1 (555) 010-2000" and "5550102000" compare equal."""
    return "".join(ch for ch in value if ch.isdigit())[-10:]


def feed_token_hash(token: str) -> str:
    """What is stored of a calendar-feed token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- the waitlist -------------------------------------------------------------------------------------------


def waitlist_fits(
    local_start: dt.datetime,
    weekdays: Iterable[int],
    earliest: dt.time | None,
    latest: dt.time | None,
) -> bool:
    """Whether a (local) start suits a waiting patient's days and times (empty / None: any)."""
    days = set(weekdays)
    if days and local_start.weekday() not in days:
        return False
    moment = local_start.time().replace(tzinfo=None)
    if earliest is not None and moment < earliest:
        return False
    return latest is None or moment <= latest


def offer_expiry(now: dt.datetime, start: dt.datetime, hours: int) -> dt.datetime:
    """An offer stays open `hours`, and never past an hour before the visit (nor before `now`)."""
    return max(now, min(now + dt.timedelta(hours=hours), start - dt.timedelta(hours=1)))


# --- the access report's chart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaysBar:
    """One horizontal bar of the access chart, in SVG user units: days until the third next available
    (None: fewer than three free times ahead, drawn as an empty bar)."""

    label: str
    days: int | None
    y: int
    width: int
    text_x: int


def days_bars(rows: Iterable[tuple[str, int | None]], *, width: int = 360, row: int = 26) -> list[DaysBar]:
    """Bars of days out, the longest wait the full width (at least one day wide, so 0 days still shows)."""
    found = list(rows)
    longest = max((days for _, days in found if days is not None), default=0)
    bars = []
    for index, (label, days) in enumerate(found):
        length = 0 if days is None else max(2, round(width * days / max(longest, 1)))
        bars.append(DaysBar(label, days, index * row, length, length + 4))
    return bars
