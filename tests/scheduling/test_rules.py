"""scheduling.rules without a database: interval arithmetic and slot finding checked against brute force
(hypothesis), templates across daylight-saving changes, booking rules and status transitions."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caredesk.scheduling import rules
from caredesk.scheduling.choices import AppointmentStatus as S
from caredesk.scheduling.choices import PatientEligibility, ResourceKind

UTC = ZoneInfo("UTC")
NY = ZoneInfo("America/New_York")

# Small integer intervals: brute force over every minute stays cheap.
interval = st.tuples(st.integers(0, 200), st.integers(0, 60)).map(lambda t: (t[0], t[0] + t[1]))
intervals = st.lists(interval, max_size=8)


def minutes(items) -> set[int]:
    return {m for start, end in items for m in range(start, end)}


def is_normalized(items) -> bool:
    return all(s < e for s, e in items) and all(a[1] < b[0] for a, b in itertools.pairwise(items))


# --- interval arithmetic ----------------------------------------------------------------------------------


@given(intervals)
def test_normalize_keeps_the_same_minutes_in_canonical_form(items):
    result = rules.normalize(items)
    assert is_normalized(result)
    assert minutes(result) == minutes(items)


@given(intervals, intervals)
def test_subtract_and_intersect_agree_with_sets(a, b):
    a, b = rules.normalize(a), rules.normalize(b)
    difference = rules.subtract(a, b)
    both = rules.intersect(a, b)
    assert is_normalized(difference)
    assert is_normalized(both)
    assert minutes(difference) == minutes(a) - minutes(b)
    assert minutes(both) == minutes(a) & minutes(b)


@given(intervals, st.integers(-5, 270), st.integers(0, 40))
def test_contains_and_covers_agree_with_sets(items, point, length):
    items = rules.normalize(items)
    assert rules.contains(items, point) == (point in minutes(items))
    inside_one = any(s <= point and point + length <= e for s, e in items)
    assert rules.covers(items, point, point + length) == inside_one


footprints = st.builds(
    rules.Footprint, duration=st.integers(1, 40), before=st.integers(0, 10), after=st.integers(0, 10)
)


@given(intervals, intervals, footprints)
def test_allowed_starts_are_exactly_the_starts_that_fit(available, busy, footprint):
    available = rules.normalize(available)
    allowed = rules.allowed_starts(available, busy, footprint)
    assert is_normalized(allowed)
    busy_minutes = minutes(busy)
    for start in range(-60, 320):
        visit = set(range(start, start + footprint.duration))
        blocked = set(range(*footprint.blocked(start)))
        fits = rules.covers(available, start, start + footprint.duration) and not blocked & busy_minutes
        assert rules.contains(allowed, start) == fits, (start, visit)


@given(intervals, intervals, footprints)
def test_allowed_starts_read_sorted_busy_ranges_in_one_pass_with_the_same_answer(available, busy, footprint):
    # The search hands over busy ranges already sorted and apart (the one-pass merge); anything else
    # (as in the test above) is sorted first. Both give the same starts.
    available = rules.normalize(available)
    expected = rules.allowed_starts(available, busy, footprint)
    assert rules.allowed_starts(available, rules.normalize(busy), footprint) == expected
    assert rules.allowed_starts(available, iter(rules.normalize(busy)), footprint) == expected


# --- slot finding -----------------------------------------------------------------------------------------

resource_starts = st.dictionaries(st.integers(1, 6), intervals.map(rules.normalize), min_size=1, max_size=4)


@settings(max_examples=150)
@given(
    st.lists(resource_starts, min_size=1, max_size=3),
    intervals.map(rules.normalize),
    st.sampled_from([5, 10, 15, 30]),
    st.integers(1, 6),
)
def test_find_slots_returns_the_earliest_grid_points_with_distinct_free_resources(
    requirements, within, step, limit
):
    found = rules.find_slots(requirements, within=within, step=step, zone=UTC, limit=limit)

    def feasible(point: int) -> bool:
        options = [[r for r, starts in req.items() if rules.contains(starts, point)] for req in requirements]
        return any(len(set(combo)) == len(combo) for combo in itertools.product(*options))

    expected = [p for p in range(0, 300) if p % step == 0 and rules.contains(within, p) and feasible(p)]
    assert [slot.start for slot in found] == expected[:limit]
    for slot in found:
        assert len(set(slot.resources)) == len(slot.resources)
        for resource, requirement in zip(slot.resources, requirements, strict=True):
            assert rules.contains(requirement[resource], slot.start)


@given(st.lists(st.lists(st.integers(1, 5), max_size=4, unique=True), min_size=1, max_size=4))
def test_assign_finds_distinct_picks_whenever_they_exist(options):
    picked = rules.assign(options)
    exists = any(len(set(c)) == len(c) for c in itertools.product(*options))
    assert (picked is not None) == exists
    if picked is not None:
        assert len(set(picked)) == len(picked)
        assert all(p in opts for p, opts in zip(picked, options, strict=True))


def test_assign_prefers_the_given_resources():
    assert rules.assign([[1, 2], [3, 4]], prefer=[2, 4]) == (2, 4)
    assert rules.assign([[1, 2], [2]]) == (1, 2)  # backtracks: the only room for the second is 2


def test_grid_is_counted_from_local_midnight():
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: local quarter hours are not UTC quarter hours
    day = dt.date(2027, 3, 1)
    start = rules.to_minute(rules.local_datetime(day, dt.time(9, 7), kolkata))
    points = list(rules.grid_points([(start, start + 40)], 15, kolkata))
    assert [rules.from_minute(p).astimezone(kolkata).time() for p in points] == [
        dt.time(9, 15),
        dt.time(9, 30),
        dt.time(9, 45),
    ]


# --- templates --------------------------------------------------------------------------------------------


def window(weekday: int, start: str, end: str, **kwargs) -> rules.WeeklyWindow:
    return rules.WeeklyWindow(weekday, dt.time.fromisoformat(start), dt.time.fromisoformat(end), **kwargs)


def test_a_template_keeps_its_local_hours_across_the_daylight_saving_change():
    template = rules.WeeklyTemplate(dt.date(2027, 3, 1), None, (window(0, "08:00", "12:00"),))
    got = rules.expand(template, dt.date(2027, 3, 8), dt.date(2027, 3, 15), NY)
    local = [(rules.from_minute(s).astimezone(NY), rules.from_minute(e).astimezone(NY)) for s, e in got]
    assert [(s.date(), s.time(), e.time()) for s, e in local] == [
        (dt.date(2027, 3, 8), dt.time(8), dt.time(12)),
        (dt.date(2027, 3, 15), dt.time(8), dt.time(12)),  # the Monday after the change (14 March)
    ]
    assert local[0][0].utcoffset() != local[1][0].utcoffset()


def test_effective_dates_alternate_weeks_and_reserved_blocks():
    template = rules.WeeklyTemplate(
        dt.date(2027, 3, 3),  # a Wednesday: its week (from Monday 1 March) is week 0
        dt.date(2027, 3, 29),
        (
            window(0, "08:00", "12:00", week_interval=2),
            window(1, "08:00", "10:00", reserved_for=7),
        ),
    )
    days = {
        rules.from_minute(s).astimezone(UTC).date()
        for s, _ in rules.expand(template, dt.date(2027, 2, 1), dt.date(2027, 4, 30), UTC)
    }
    # Mondays of weeks 2 and 4 (8 and 22 March fall in odd weeks; 1 March is before the first day).
    assert sorted(d for d in days if d.weekday() == 0) == [dt.date(2027, 3, 15), dt.date(2027, 3, 29)]
    assert not any(d.weekday() == 1 for d in days)  # the Tuesday block is reserved for visit type 7
    reserved = rules.expand(template, dt.date(2027, 3, 1), dt.date(2027, 3, 31), UTC, visit_type_id=7)
    tuesdays = [rules.from_minute(s).date() for s, _ in reserved if rules.from_minute(s).weekday() == 1]
    assert tuesdays == [dt.date(2027, 3, 9), dt.date(2027, 3, 16), dt.date(2027, 3, 23)]


def test_window_errors_name_bad_and_overlapping_windows():
    assert rules.window_errors([window(0, "08:00", "12:00"), window(0, "12:00", "13:00")]) == []
    problems = rules.window_errors(
        [window(0, "08:00", "12:00"), window(0, "11:00", "13:00"), window(2, "10:00", "09:00")]
    )
    assert "Windows 1 and 2 overlap." in problems
    assert any("Window 3" in p and "not after" in p for p in problems)


template_strategy = st.builds(
    lambda start, length, weekday, hour, interval: rules.WeeklyTemplate(
        dt.date(2027, 1, 1) + dt.timedelta(days=start),
        None if length is None else dt.date(2027, 1, 1) + dt.timedelta(days=start + length),
        (window(weekday, f"{hour:02d}:00", f"{hour + 2:02d}:00", week_interval=interval),),
    ),
    st.integers(0, 60),
    st.none() | st.integers(0, 90),
    st.integers(0, 1),
    st.integers(8, 12),
    st.integers(1, 3),
)


@given(template_strategy, template_strategy)
def test_first_shared_day_agrees_with_walking_the_calendar(a, b):
    wa, wb = a.windows[0], b.windows[0]
    expected = None
    if wa.start < wb.end and wb.start < wa.end:
        for day in rules.days(dt.date(2027, 1, 1), dt.date(2027, 12, 31)):
            if rules.occurs_on(a, wa, day) and rules.occurs_on(b, wb, day):
                expected = day
                break
    assert rules.first_shared_day(a, wa, b, wb) == expected


def test_weekly_mask_limits_days_and_start_times():
    mask = rules.weekly_mask(
        dt.date(2027, 3, 1), dt.date(2027, 3, 7), NY, {1, 3}, dt.time(9), dt.time(11, 30)
    )
    local = [(rules.from_minute(s).astimezone(NY), rules.from_minute(e).astimezone(NY)) for s, e in mask]
    assert [(s.strftime("%a %H:%M"), e.strftime("%H:%M")) for s, e in local] == [
        ("Tue 09:00", "11:31"),
        ("Thu 09:00", "11:31"),
    ]


# --- resources --------------------------------------------------------------------------------------------

RESOURCES = [
    rules.ResourceInfo(1, ResourceKind.PRACTITIONER, "Dr A", location_id=1, practitioner_id=10),
    rules.ResourceInfo(
        2, ResourceKind.PRACTITIONER, "Dr B", location_id=2, practitioner_id=11, category="anesthesia"
    ),
    rules.ResourceInfo(3, ResourceKind.ROOM, "Exam 1", location_id=1, category="exam"),
    rules.ResourceInfo(4, ResourceKind.ROOM, "Exam 9", location_id=2, category="exam"),
    rules.ResourceInfo(5, ResourceKind.EQUIPMENT, "Echo", location_id=1),
]


def test_candidates_follow_kind_category_location_and_who_offers_the_visit():
    offering = rules.Requirement(ResourceKind.PRACTITIONER)
    assert rules.candidates(offering, RESOURCES, location_id=1, offered_by=frozenset({10, 11})) == [1, 2]
    assert rules.candidates(offering, RESOURCES, location_id=1, offered_by=frozenset({10})) == [1]
    assert rules.candidates(
        offering, RESOURCES, location_id=1, offered_by=frozenset({10, 11}), practitioner_id=11
    ) == [2]
    anesthesia = rules.Requirement(ResourceKind.PRACTITIONER, category="anesthesia")
    assert rules.candidates(anesthesia, RESOURCES, location_id=1, offered_by=frozenset()) == [2]
    exam = rules.Requirement(ResourceKind.ROOM, category="exam")
    assert rules.candidates(exam, RESOURCES, location_id=2, offered_by=frozenset()) == [4]  # rooms stay put
    echo = rules.Requirement(ResourceKind.EQUIPMENT, resource_id=5)
    assert rules.candidates(echo, RESOURCES, location_id=1, offered_by=frozenset()) == [5]
    assert rules.candidates(echo, RESOURCES, location_id=2, offered_by=frozenset()) == []
    both = [offering, exam, echo]
    assert rules.needed(both, "telehealth") == [offering]
    assert rules.needed(both, "in_person") == both


# --- booking rules and statuses ---------------------------------------------------------------------------


def test_booking_horizon_and_its_messages():
    booking = rules.BookingRules(min_notice_minutes=120, max_days_ahead=30)
    now = 1_000_000
    assert rules.horizon_error(booking, now - 1, now) == "That time is in the past."
    assert "2 hours' notice" in (rules.horizon_error(booking, now + 119, now) or "")
    assert rules.horizon_error(booking, now + 120, now) is None
    assert rules.horizon_error(booking, now + 30 * 24 * 60, now) is None
    assert "30 days ahead" in (rules.horizon_error(booking, now + 30 * 24 * 60 + 1, now) or "")


@pytest.mark.parametrize(
    ("last_seen", "established"),
    [(None, False), (dt.date(2024, 3, 1), True), (dt.date(2024, 2, 29), False), (dt.date(2027, 3, 2), False)],
)
def test_established_means_seen_within_three_years(last_seen, established):
    assert rules.is_established(last_seen, dt.date(2027, 3, 1)) is established


def test_eligibility_errors():
    assert rules.eligibility_error(PatientEligibility.ANY, True) is None
    assert rules.eligibility_error(PatientEligibility.NEW, False) is None
    assert "new patients" in (rules.eligibility_error(PatientEligibility.NEW, True) or "")
    assert "established patients" in (rules.eligibility_error(PatientEligibility.ESTABLISHED, False) or "")


def test_status_transitions():
    assert rules.transition_error(S.BOOKED, S.ARRIVED) is None
    assert rules.transition_error(S.CANCELLED, S.ARRIVED) == "A cancelled appointment cannot become arrived."
    for terminal in (S.FULFILLED, S.CANCELLED, S.NO_SHOW):
        assert not rules.TRANSITIONS[terminal]
    start = 1_000_000
    assert "15 minutes after" in (rules.no_show_error(S.BOOKED, start, start + 14, 15) or "")
    assert rules.no_show_error(S.BOOKED, start, start + 15, 15) is None
    assert rules.no_show_error(S.ARRIVED, start, start + 60, 15) is not None
    day = rules.to_minute(dt.datetime(2027, 3, 1, 9, tzinfo=NY))
    assert rules.check_in_error(S.BOOKED, day, day - 60, NY) is None
    assert "day of the appointment" in (rules.check_in_error(S.BOOKED, day, day - 24 * 60, NY) or "")
    assert rules.holds_time(S.FULFILLED)
    assert not rules.holds_time(S.NO_SHOW)
