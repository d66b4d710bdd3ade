"""The calendar as a table: a row per time step, a column per resource (a day), per day (a week of one
resource), or per day and resource (a location's week: the days as column groups, a resource in each).
Appointments span rows (`rowspan`), so the page needs no inline styles (the CSP forbids them).
Pure presentation over selectors.Calendar; no queries."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from . import rules
from .choices import AppointmentStatus
from .models import Appointment
from .selectors import Calendar, CalendarColumn

DEFAULT_FIRST_HOUR = 7
DEFAULT_LAST_HOUR = 18


@dataclass
class Cell:
    kind: str  # "appointments", "free" (working, nothing booked) or "closed"
    start: dt.datetime  # local
    rowspan: int = 1
    appointments: list[Appointment] = field(default_factory=list)
    resource_id: int = 0


@dataclass
class Row:
    time: dt.time
    cells: list[Cell | None]  # None: covered by a cell of an earlier row


@dataclass
class Header:
    column: CalendarColumn
    label: str


@dataclass
class DayGroup:
    """A day over its resources' columns (a location's week)."""

    day: dt.date
    label: str
    span: int


@dataclass
class Grid:
    headers: list[Header]
    rows: list[Row]
    step: int
    groups: list[DayGroup] = field(default_factory=list)  # empty unless several days of several resources


STEPS = (30, 20, 15, 10, 5)


def _step(calendar: Calendar, zone: ZoneInfo) -> int:
    """The largest row height (minutes) on which every appointment starts and ends: 20 for a day of
    20-minute visits, 15 for quarter hours; at least 5 (an odd minute rounds out to its row)."""
    minutes = {
        moment.astimezone(zone).minute
        for column in calendar.columns
        for appointment in column.appointments
        for moment in (appointment.starts_at, appointment.ends_at)
    }
    if not minutes:
        return 15
    return next((step for step in STEPS if all(m % step == 0 for m in minutes)), STEPS[-1])


def _hours(calendar: Calendar, zone: ZoneInfo) -> tuple[int, int]:
    first, last = DEFAULT_FIRST_HOUR, DEFAULT_LAST_HOUR
    for column in calendar.columns:
        for start, end in column.working:
            if start.date() == column.day:
                first = min(first, start.hour)
            if end.date() == column.day:
                last = max(last, end.hour + (1 if end.minute else 0))
        for appointment in column.appointments:
            start = appointment.starts_at.astimezone(zone)
            end = appointment.ends_at.astimezone(zone)
            if start.date() == column.day:
                first = min(first, start.hour)
            last = max(last, end.hour + (1 if end.minute else 0) if end.date() == column.day else 24)
    return first, min(last, 24)


def _blocks(
    appointments: list[Appointment], first: dt.datetime, step: int, rows: int, zone: ZoneInfo
) -> list[Cell]:
    """Appointments as cells: one per run of rows they occupy (appointments that share a row, which only
    happens when they are not on the grid, share a cell)."""
    cells: list[Cell] = []
    spans: list[tuple[int, int]] = []
    for appointment in sorted(appointments, key=lambda a: (a.starts_at, a.pk)):
        # Same ZoneInfo on both sides: wall-clock differences, so rows stay local times on DST days.
        start = (appointment.starts_at.astimezone(zone) - first).total_seconds() / 60
        end = (appointment.ends_at.astimezone(zone) - first).total_seconds() / 60
        top, bottom = max(0, math.floor(start / step)), min(rows, math.ceil(end / step))
        if bottom <= 0 or top >= rows:
            continue
        if spans and top < spans[-1][1]:
            cells[-1].appointments.append(appointment)
            spans[-1] = (spans[-1][0], max(spans[-1][1], bottom))
            cells[-1].rowspan = spans[-1][1] - spans[-1][0]
            continue
        spans.append((top, bottom))
        cells.append(
            Cell("appointments", first + dt.timedelta(minutes=top * step), bottom - top, [appointment])
        )
    return cells


def build(calendar: Calendar) -> Grid:
    zone = calendar.zone
    step = _step(calendar, zone)
    first_hour, last_hour = _hours(calendar, zone)
    count = (last_hour - first_hour) * 60 // step
    times = [
        (dt.datetime.combine(dt.date.min, dt.time(first_hour)) + dt.timedelta(minutes=step * n)).time()
        for n in range(count)
    ]
    columns: list[list[Cell | None]] = []
    for column in calendar.columns:
        first = dt.datetime.combine(column.day, times[0], tzinfo=zone)
        cells: list[Cell | None] = []
        for index in range(count):
            start = first + dt.timedelta(minutes=index * step)
            end = start + dt.timedelta(minutes=step)
            working = any(w_start <= start and end <= w_end for w_start, w_end in column.working)
            cells.append(Cell("free" if working else "closed", start, resource_id=column.resource.id))
        for block in _blocks(column.appointments, first, step, count, zone):
            block.resource_id = column.resource.id
            top = int((block.start - first).total_seconds() // 60 // step)
            cells[top] = block
            for covered in range(top + 1, top + block.rowspan):
                cells[covered] = None
        columns.append(cells)
    rows = [Row(time, [column[i] for column in columns]) for i, time in enumerate(times)]
    per_day = len(calendar.columns) // len(calendar.days) if calendar.days else 0
    groups = (
        [DayGroup(day, f"{day:%a %d %b}", per_day) for day in calendar.days]
        if len(calendar.days) > 1 and per_day > 1
        else []
    )
    by_resource = len(calendar.days) == 1 or bool(groups)
    headers = [Header(c, c.resource.name if by_resource else f"{c.day:%a %d %b}") for c in calendar.columns]
    return Grid(headers, rows, step, groups)


# --- the arrivals board --------------------------------------------------------------------------------

BOARD_STATUSES = frozenset(
    {
        AppointmentStatus.BOOKED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.FULFILLED,
        AppointmentStatus.NO_SHOW,
    }
)


@dataclass
class Arrival:
    """One row of the front desk's board: an appointment of the day and how the patient is doing."""

    appointment: Appointment
    resources: list[str]
    waiting_minutes: int | None  # arrived, not yet seen: minutes since arrival
    late_minutes: int | None  # expected (booked or confirmed) and past its start: minutes late
    can_check_in: bool


def arrivals(calendar: Calendar, now: dt.datetime) -> list[Arrival]:
    """The day's appointments at the calendar's location, once each (an appointment shows in every
    resource's column), in start order; cancelled ones left out, no-shows kept."""
    found: dict[int, Appointment] = {}
    for column in calendar.columns:
        for appointment in column.appointments:
            found.setdefault(appointment.pk, appointment)
    for appointment in calendar.cancelled:
        found.setdefault(appointment.pk, appointment)
    rows = []
    for appointment in sorted(found.values(), key=lambda a: (a.starts_at, a.pk)):
        if appointment.status not in BOARD_STATUSES:
            continue
        status = appointment.status
        waiting = late = None
        if status == AppointmentStatus.ARRIVED and appointment.arrived_at is not None:
            waiting = max(0, int((now - appointment.arrived_at).total_seconds() // 60))
        elif (
            status in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED) and now > appointment.starts_at
        ):
            late = int((now - appointment.starts_at).total_seconds() // 60)
        problem = rules.check_in_error(
            status, rules.to_minute(appointment.starts_at), rules.to_minute(now), calendar.zone
        )
        rows.append(
            Arrival(
                appointment,
                [booking.resource.name for booking in appointment.bookings.all()],
                waiting,
                late,
                problem is None,
            )
        )
    return rows
