"""Scheduling use cases: one function per use case, keyword-only actor, one transaction, audit row inside.

Booking rests on the database: every appointment holds an AppointmentResource row per resource, and the
database refuses overlapping active rows of one resource (migration 0002). The services check first,
inside the booking transaction, so that a conflict they can see is reported with the appointments in
the way; a booking that slips in between (PostgreSQL, READ COMMITTED) is refused by the constraint and
reported the same way (`SlotConflict`, `details["detected_by"] == "database"`). On SQLite every
transaction starts IMMEDIATE, so the check already sees every committed booking.

Booking rows are written in ascending resource id order, so two bookings that share resources wait for
each other in one order and never deadlock.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from caredesk.core.ids import checked_id
from caredesk.core.inputs import checked_text
from caredesk.credentialing import services as credentialing
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import PatientStatus, TelecomSystem, TelecomUse
from caredesk.patients.errors import PatientNotFound
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskType

from . import clock, notify, rules, selectors, setup_cache
from .choices import (
    ACTIVE_STATUSES,
    REMINDABLE_STATUSES,
    AppointmentEventKind,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
    ExceptionKind,
    Modality,
    OfferStatus,
    OpeningStatus,
    PatientEligibility,
    ReminderChannel,
    ReminderStatus,
    ReplyAnswer,
    ReplyOutcome,
    ResourceKind,
    VisitModality,
    WaitlistStatus,
)
from .errors import (
    AppointmentNotFound,
    BookingRuleViolation,
    InvalidReplyLink,
    InvalidTemplate,
    InvalidTime,
    InvalidTransition,
    OfferUnavailable,
    ResourceNotFound,
    ResourcesUnavailable,
    SeriesConflict,
    SlotConflict,
    StaleAppointment,
    UnknownReply,
    VisitTypeNotFound,
)
from .hooks import FulfilledVisit, visit_fulfilled
from .models import (
    MAX_BUFFER_MINUTES,
    MAX_DURATION_MINUTES,
    OVERLAP_CONSTRAINT,
    Appointment,
    AppointmentEvent,
    AppointmentReminder,
    AppointmentResource,
    AppointmentSeries,
    AvailabilityException,
    AvailabilityTemplate,
    AvailabilityWindow,
    PractitionerFeed,
    ReminderReply,
    Resource,
    ResourceBusyDay,
    VisitType,
    VisitTypeRequirement,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
)

MAX_NOTES = 2000
MAX_SERIES = 52
REBUILD_DAYS_PER_TRANSACTION = 31
S = AppointmentStatus


# --- helpers ----------------------------------------------------------------------------------------------


def scheduling_organization_id(actor: Actor) -> int:
    """The actor's organization; PermissionDenied for an actor outside any organization."""
    if actor.organization_id is None:
        raise PermissionDenied("Only a member of an organization can schedule.")
    return actor.organization_id


def _text(value: Any, field_name: str, label: str, limit: int, *, required: bool = False) -> str:
    return checked_text(value, field_name, label, limit, required=required, coerce=True)


def _minute(value: Any, field_name: str = "start") -> rules.Minute:
    """A booking time: an aware datetime on a whole minute."""
    if not isinstance(value, dt.datetime):
        raise InvalidTime("A date and time is required.", field=field_name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTime(
            "The time has no time zone; give it in the location's time zone or with a UTC offset.",
            field=field_name,
            code="invalid_timezone",
        )
    if value.second or value.microsecond:
        raise InvalidTime("Times are whole minutes.", field=field_name)
    return rules.to_minute(value)


def _choice(value: Any, field_name: str, label: str, choices: type[models.TextChoices]) -> str:
    if value not in choices.values:
        raise ValidationFailed(f"{value!r} is not a valid {label}.", field=field_name)
    return str(value)


def _iso(minute: rules.Minute, zone: ZoneInfo) -> str:
    return rules.from_minute(minute).astimezone(zone).isoformat()


def _location(organization_id: int, location_id: Any) -> Location:
    location = Location.objects.filter(
        organization_id=organization_id, pk=checked_id(location_id, "location_id")
    ).first()
    if location is None:
        raise ValidationFailed(
            f"No location with id {location_id}.", field="location_id", code="location_not_found"
        )
    return location


def _bookable_patient(actor: Actor, patient_id: Any) -> int:
    """The patient id, if the actor may book for that patient and the record takes new appointments."""
    pk = checked_id(patient_id, "patient_id")
    row = patient_selectors.patient_queryset(actor).filter(pk=pk).values("pk", "status").first()
    if row is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", field="patient_id")
    if row["status"] in (PatientStatus.MERGED, PatientStatus.DECEASED):
        raise ValidationFailed(
            "This patient record takes no new appointments (merged or deceased).",
            field="patient_id",
            code="patient_not_bookable",
        )
    return pk


def is_overlap_violation(exc: DatabaseError) -> bool:
    """Whether the database refused a write because of the no-double-booking guard: the PostgreSQL
    exclusion constraint (SQLSTATE 23P01) or the SQLite trigger, both naming the constraint; or a
    PostgreSQL deadlock while checking that constraint (SQLSTATE 40P01: two writers inserted overlapping
    rows at once and each waited for the other; the services' resource locks prevent it among them)."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None) == OVERLAP_CONSTRAINT:
        return True
    text = str(exc)
    if getattr(cause, "sqlstate", None) == "40P01":
        return "exclusion constraint" in text and AppointmentResource._meta.db_table in text
    return OVERLAP_CONSTRAINT in text


def _hold(resource_ids: Sequence[int]) -> None:
    """Lock the resources' rows in id order until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
    transactions already serialize writers). Two bookings of a resource then check and write one after
    the other: the second sees the first's rows (READ COMMITTED reads what committed before each
    statement), so it reports the appointments in the way instead of racing the exclusion constraint —
    where two overlapping inserts at once wait for each other until PostgreSQL breaks the deadlock."""
    list(
        Resource.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(resource_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _clashes(
    ctx: _Context, start: rules.Minute, resource_ids: Sequence[int], exclude_appointment_id: int | None
) -> list[dict[str, Any]]:
    """The active bookings that overlap a visit at `start` on these resources (read after `_hold`)."""
    blocked = ctx.footprint.blocked(start)
    busy = selectors.load_busy(
        sorted(resource_ids),
        rules.from_minute(blocked[0]),
        rules.from_minute(blocked[1]),
        exclude_appointment_id=exclude_appointment_id,
    )
    return [
        _listed(ctx, resource_id, b)
        for resource_id in sorted(resource_ids)
        for b in busy.get(resource_id, [])
        if rules.overlaps(b.blocked, blocked)
    ]


def _listed(ctx: _Context, resource_id: int, busy: selectors.Busy) -> dict[str, Any]:
    return {
        "resource_id": resource_id,
        "resource": ctx.name(resource_id),
        "appointment_id": busy.appointment_id,
        "start": _iso(busy.blocked[0], ctx.zone),
        "end": _iso(busy.blocked[1], ctx.zone),
    }


def _slot_conflict(listed: list[dict[str, Any]], detected_by: str = "check") -> SlotConflict:
    names = ", ".join(dict.fromkeys(str(c["resource"]) for c in listed))
    return SlotConflict(
        f"{names} already booked at an overlapping time.",
        field="start",
        details={"detected_by": detected_by, "conflicts": listed},
    )


def _write_bookings(
    rows: list[AppointmentResource], removed: Iterable[tuple[int, dt.datetime, dt.datetime]] = ()
) -> None:
    """Insert booking rows in ascending resource order, under a savepoint: the database's refusal of an
    overlap becomes SlotConflict (the whole use case then rolls back). Their busy days follow, with
    those of the `removed` booking ranges (a reschedule's old ones), in one go."""
    rows.sort(key=lambda row: (row.resource_id, row.starts_at))
    try:
        with transaction.atomic():
            AppointmentResource.objects.bulk_create(rows)
    except DatabaseError as exc:
        if is_overlap_violation(exc):
            raise SlotConflict(
                "Someone else booked one of these resources at an overlapping time a moment ago. "
                "Search again for a free time.",
                details={"detected_by": "database", "conflicts": []},
            ) from exc
        raise
    refresh_busy_days([*removed, *((row.resource_id, row.starts_at, row.ends_at) for row in rows)])


def _busy_day_pairs(changed: Iterable[tuple[int, dt.datetime, dt.datetime]]) -> list[tuple[int, dt.date]]:
    return sorted(
        {
            (resource_id, day)
            for resource_id, starts_at, ends_at in changed
            for day in rules.utc_days(rules.to_minute(starts_at), rules.to_minute_ceil(ends_at))
        }
    )


def lock_busy_days(changed: Iterable[tuple[int, dt.datetime, dt.datetime]]) -> dict[tuple[int, dt.date], Any]:
    """Lock the ResourceBusyDay rows of the days the booking ranges meet (created empty when missing),
    under the locks of their resources (`_hold`, taken here too): a resource's busy days are written by
    one transaction at a time, the one that holds the resource, as its bookings are. A use case that
    updates or deletes booking rows takes them before (the database's triggers then delete rows it
    already holds), so writers never wait for each other's busy days in a circle."""
    pairs = _busy_day_pairs(changed)
    if not pairs:
        return {}
    _hold([resource_id for resource_id, _day in pairs])
    ResourceBusyDay.objects.bulk_create(
        [ResourceBusyDay(resource_id=resource_id, day=day) for resource_id, day in pairs],
        ignore_conflicts=True,
    )
    wanted = set(pairs)
    return {
        (row.resource_id, row.day): row
        for row in ResourceBusyDay.objects.select_for_update()
        .filter(resource_id__in=sorted({r for r, _d in pairs}), day__in=sorted({d for _r, d in pairs}))
        .order_by("resource_id", "day")
        if (row.resource_id, row.day) in wanted
    }


def refresh_busy_days(changed: Iterable[tuple[int, dt.datetime, dt.datetime]]) -> None:
    """Write again, in the caller's transaction, the ResourceBusyDay of every (resource, UTC day) that
    the changed booking ranges (resource, starts at, ends at; added, removed or switched on or off)
    meet. The rows are locked first, in a fixed order, and the bookings read after: two transactions
    that change bookings of one resource on one day write its row one after the other, the second from
    what the first committed (READ COMMITTED reads anew at each statement)."""
    rows = lock_busy_days(changed)
    if not rows:
        return
    resource_ids = sorted({resource_id for resource_id, _day in rows})
    days = sorted({day for _resource_id, day in rows})
    start = rules.from_minute(rules.utc_day_bounds(days[0])[0])
    end = rules.from_minute(rules.utc_day_bounds(days[-1])[1])
    busy = selectors.load_busy(resource_ids, start, end)
    for (resource_id, day), row in rows.items():
        row.busy = rules.busy_day_text((b.blocked for b in busy.get(resource_id, [])), day)
    ResourceBusyDay.objects.bulk_update(list(rows.values()), ["busy"])


def rebuild_busy_days(*, resource_ids: Sequence[int] | None = None) -> int:
    """Write every ResourceBusyDay anew from the active bookings (all resources, or these): after loading
    bookings by other means than the services, or at the deploy that adds the table. Each resource's days
    (those with bookings or a row) go through `refresh_busy_days`, a few weeks per transaction, so it is
    safe beside bookings being made. Returns the number of days written."""
    ids = (
        list(resource_ids)
        if resource_ids is not None
        else list(Resource.objects.order_by("pk").values_list("pk", flat=True))
    )
    written = 0
    for resource_id in ids:
        days = set(ResourceBusyDay.objects.filter(resource_id=resource_id).values_list("day", flat=True))
        for first_minute, end_minute in (
            AppointmentResource.objects.filter(resource_id=resource_id, active=True)
            .annotate(
                first_minute=selectors.EpochMinute("starts_at"), end_minute=selectors.EpochMinute("ends_at")
            )
            .values_list("first_minute", "end_minute")
            .iterator(chunk_size=5000)
        ):
            days.update(rules.utc_days(first_minute, end_minute))
        ordered = sorted(days)
        for n in range(0, len(ordered), REBUILD_DAYS_PER_TRANSACTION):
            batch = ordered[n : n + REBUILD_DAYS_PER_TRANSACTION]
            with transaction.atomic():
                refresh_busy_days(
                    (resource_id, rules.from_minute(low), rules.from_minute(high))
                    for low, high in map(rules.utc_day_bounds, batch)
                )
            written += len(batch)
    return written


def _event(
    appointment: Appointment,
    actor: Actor,
    kind: str,
    *,
    from_status: str = "",
    to_status: str = "",
    detail: dict[str, Any] | None = None,
) -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        appointment=appointment,
        occurred_at=clock.now(),
        kind=kind,
        actor_id=actor.user_id,
        actor_name=actor.username,
        from_status=from_status,
        to_status=to_status,
        detail=detail or {},
    )


def _telehealth_link() -> str:
    base = getattr(settings, "CAREDESK_TELEHEALTH_BASE_URL", "https://telehealth.example.org/join/")
    return f"{base.rstrip('/')}/{secrets.token_urlsafe(18)}"


# --- planning one visit -----------------------------------------------------------------------------------


@dataclass
class _Context:
    """Everything about a visit type at a location that does not depend on the start time."""

    organization_id: int
    visit_type: VisitType
    location: Location
    zone: ZoneInfo
    modality: str
    needs: list[rules.Requirement]
    offering: frozenset[int]
    resources: list[rules.ResourceInfo]
    footprint: rules.Footprint
    booking_rules: rules.BookingRules
    setup: setup_cache.Setup

    def name(self, resource_id: int) -> str:
        return next((r.name for r in self.resources if r.id == resource_id), f"resource {resource_id}")


def _context(actor: Actor, visit_type_id: Any, location_id: Any, modality: str | None) -> _Context:
    """From the organization's set-up, kept by this process while its version is current (setup_cache):
    one query."""
    organization_id = scheduling_organization_id(actor)
    setup = setup_cache.for_organization(organization_id)
    wanted_type = checked_id(visit_type_id, "visit_type_id")
    visit_type = setup.visit_type(wanted_type)
    if visit_type is None:
        raise VisitTypeNotFound(f"No visit type with id {wanted_type}.", field="visit_type_id")
    location = setup.location(checked_id(location_id, "location_id"))
    if location is None:
        raise ValidationFailed(
            f"No location with id {location_id}.", field="location_id", code="location_not_found"
        )
    chosen = selectors.modality_for(visit_type, modality or None)
    needs = rules.needed(list(setup.requirements[visit_type.pk]), chosen)
    if not needs:
        raise ValidationFailed(
            f"{visit_type.name} has no required resources to schedule.", field="visit_type_id"
        )
    return _Context(
        organization_id=organization_id,
        visit_type=visit_type,
        location=location,
        zone=selectors.zone_of(location),
        modality=chosen,
        needs=needs,
        offering=setup.offered[visit_type.pk],
        resources=setup.resources,
        footprint=rules.Footprint(
            visit_type.duration_minutes, visit_type.buffer_before_minutes, visit_type.buffer_after_minutes
        ),
        booking_rules=rules.BookingRules(
            visit_type.min_notice_minutes, visit_type.max_days_ahead, visit_type.eligibility
        ),
        setup=setup,
    )


def _check_horizon(ctx: _Context, start: rules.Minute, now: rules.Minute, field_name: str = "start") -> None:
    if start < now:
        raise InvalidTime("That time is in the past.", field=field_name)
    problem = rules.horizon_error(ctx.booking_rules, start, now)
    if problem:
        raise BookingRuleViolation(problem, field=field_name)


def _describe_needs(ctx: _Context) -> str:
    parts = []
    for need in ctx.needs:
        if need.resource_id is not None:
            parts.append(ctx.name(need.resource_id))
        elif need.is_offering_practitioner:
            parts.append("a practitioner who offers it")
        else:
            kind = ResourceKind(need.kind).label.lower()
            parts.append(f"a {need.category} {kind}" if need.category else f"a {kind}")
    return ", ".join(parts)


def _choose_resources(
    ctx: _Context,
    start: rules.Minute,
    *,
    requested: Sequence[int] | None,
    practitioner_id: int | None,
    exclude_appointment_id: int | None = None,
    prefer: Sequence[int] = (),
) -> tuple[int, ...]:
    """The resources for a visit at `start`: the `requested` ones after checking they fit the visit
    type, work then and are free; otherwise the first free combination. ResourcesUnavailable or
    SlotConflict (with the appointments in the way) when there is none."""
    options = [
        rules.candidates(
            need,
            ctx.resources,
            location_id=ctx.location.pk,
            offered_by=ctx.offering,
            practitioner_id=practitioner_id,
        )
        for need in ctx.needs
    ]
    vt_name = ctx.visit_type.name
    if requested is not None:
        wanted = [int(i) for i in requested]
        known = {r.id for r in ctx.resources}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ResourceNotFound(f"No active resource with id {unknown[0]}.", field="resource_ids")
        restricted = [[i for i in opts if i in set(wanted)] for opts in options]
        picked = rules.assign(restricted)
        if picked is None or len(wanted) != len(set(wanted)) or set(picked) != set(wanted):
            raise ResourcesUnavailable(
                f"These resources do not match what {vt_name} needs at {ctx.location.name}: "
                f"{_describe_needs(ctx)}.",
                field="resource_ids",
            )
        candidates = sorted(set(wanted))
    else:
        missing = [need for need, opts in zip(ctx.needs, options, strict=True) if not opts]
        if missing:
            raise ResourcesUnavailable(
                f"{ctx.location.name} has nothing to meet {vt_name}'s needs ({_describe_needs(ctx)}).",
                field="location_id",
            )
        candidates = sorted({i for opts in options for i in opts})

    visit = (start, start + ctx.footprint.duration)
    blocked = ctx.footprint.blocked(start)
    schedule = selectors.load_schedule(
        organization_id=ctx.organization_id,
        location=ctx.location,
        resource_ids=candidates,
        start=rules.from_minute(blocked[0]),
        end=rules.from_minute(blocked[1]),
        exclude_appointment_id=exclude_appointment_id,
        setup=ctx.setup,
    )
    first_day = rules.from_minute(visit[0]).astimezone(ctx.zone).date()
    last_day = rules.from_minute(visit[1] - 1).astimezone(ctx.zone).date()
    # Block time held for a surgeon counts for a visit that includes the surgeon: the requested set, or
    # (choosing) a combination that picks them too (`requires`).
    together = frozenset(candidates) if requested is not None else frozenset()

    def works(i: int, others: frozenset[int]) -> bool:
        hours = schedule.available(i, first_day, last_day, ctx.visit_type.pk, with_resources=others)
        return rules.covers(hours, *visit)

    in_hours = {i: works(i, together) for i in candidates}
    held_for = {  # resource -> whose held time would cover the visit
        i: frozenset(h for h in schedule.holders(i) if works(i, frozenset({h})))
        for i in candidates
        if not in_hours[i] and schedule.holders(i)
    }
    requires: dict[int, frozenset[int]] = {}
    if requested is None:
        for i, holders in held_for.items():
            if holders & set(candidates):
                in_hours[i] = True
                requires[i] = holders & set(candidates)
    clashes = {
        i: [b for b in schedule.busy.get(i, []) if rules.overlaps(b.blocked, blocked)] for i in candidates
    }

    def conflict(ids: Sequence[int]) -> SlotConflict:
        return _slot_conflict([_listed(ctx, i, b) for i in ids for b in clashes[i]])

    if requested is not None:
        off = [i for i in candidates if not in_hours[i]]
        held = [i for i in off if held_for.get(i)]
        if held:
            raise ResourcesUnavailable(
                "; ".join(
                    f"{ctx.name(i)}: that time is block time held for "
                    f"{' or '.join(ctx.name(h) for h in sorted(held_for[i]))}'s cases"
                    for i in held
                )
                + ".",
                field="start",
                details={"resources": held, "held_for": sorted({h for i in held for h in held_for[i]})},
            )
        if off:
            raise ResourcesUnavailable(
                f"{', '.join(ctx.name(i) for i in off)}: not available then (outside working hours, "
                "time off, a closure, or a block reserved for another visit type).",
                field="start",
                details={"resources": off},
            )
        busy = [i for i in candidates if clashes[i]]
        if busy:
            raise conflict(busy)
        return tuple(candidates)

    free = [[i for i in opts if in_hours[i] and not clashes[i]] for opts in options]
    picked = rules.assign(free, prefer, requires)
    if picked is not None:
        return tuple(sorted(picked))
    working = [[i for i in opts if in_hours[i]] for opts in options]
    if rules.assign(working, requires=requires) is None:
        held_elsewhere = "".join(
            f" {ctx.name(i)}: that time is block time held for "
            f"{' or '.join(ctx.name(h) for h in sorted(holders))}'s cases."
            for i, holders in held_for.items()
            if holders and not in_hours[i]
        )
        raise ResourcesUnavailable(
            f"No combination of {_describe_needs(ctx)} is available for {vt_name} then.{held_elsewhere}",
            field="start",
        )
    raise conflict(sorted({i for opts in working for i in opts if clashes[i]}))


def _choose_and_hold(
    ctx: _Context,
    start: rules.Minute,
    *,
    requested: Sequence[int] | None,
    practitioner_id: int | None,
    exclude_appointment_id: int | None = None,
    prefer: Sequence[int] = (),
) -> tuple[int, ...]:
    """Choose the resources, lock them, and check again under the lock. A combination taken meanwhile is
    chosen once more (when the caller left the choice to us) or reported as SlotConflict. Each try runs
    in a savepoint, so a retry first lets go of the locks of the combination it gives up: locks are only
    ever waited for in id order, and bookings cannot deadlock."""
    for attempt in (1, 2):
        taken: list[dict[str, Any]] = []
        with transaction.atomic():
            chosen = _choose_resources(
                ctx,
                start,
                requested=requested,
                practitioner_id=practitioner_id,
                exclude_appointment_id=exclude_appointment_id,
                prefer=prefer,
            )
            _hold(chosen)
            taken = _clashes(ctx, start, chosen, exclude_appointment_id)
            if not taken:
                return chosen
            transaction.set_rollback(True)
        if requested is not None or attempt == 2:
            raise _slot_conflict(taken)
    raise AssertionError("unreachable")


# --- booking ----------------------------------------------------------------------------------------------


@dataclass
class BookingRequest:
    patient_id: int
    visit_type_id: int
    location_id: int
    start: dt.datetime  # aware; whole minutes
    resource_ids: list[int] | None = None  # None: chosen (the first free combination)
    practitioner_id: int | None = None  # narrows "a practitioner who offers it"
    modality: str | None = None  # None: the visit type's own
    source: str = AppointmentSource.DESK
    notes: str = ""
    proposed: bool = False  # a tentative hold (status proposed) instead of a booking
    override_reason: str = ""  # credentialing: an administrator books past a failed credential check


@dataclass
class _Cleaned:
    patient_id: int
    source: str
    notes: str
    status: str
    practitioner_id: int | None
    resource_ids: list[int] | None = field(default=None)


def _clean_request(actor: Actor, request: BookingRequest, ctx: _Context) -> _Cleaned:
    source = _choice(request.source, "source", "source", AppointmentSource)
    notes = _text(request.notes, "notes", "Notes", MAX_NOTES)
    practitioner_id = None
    if request.practitioner_id is not None:
        practitioner_id = checked_id(request.practitioner_id, "practitioner_id")
        if practitioner_id not in ctx.offering or not any(n.is_offering_practitioner for n in ctx.needs):
            raise ValidationFailed(
                f"That practitioner does not offer {ctx.visit_type.name}.",
                field="practitioner_id",
                code="not_offered",
            )
    resource_ids = None
    if request.resource_ids is not None:
        resource_ids = [checked_id(i, "resource_ids") for i in request.resource_ids]
    patient_id = _bookable_patient(actor, request.patient_id)
    return _Cleaned(
        patient_id=patient_id,
        source=source,
        notes=notes,
        status=S.PROPOSED if request.proposed else S.BOOKED,
        practitioner_id=practitioner_id,
        resource_ids=resource_ids,
    )


def _check_eligibility(ctx: _Context, patient_id: int, start: rules.Minute) -> None:
    if ctx.visit_type.eligibility == PatientEligibility.ANY:
        return
    problem = selectors.eligibility_problem(
        ctx.visit_type, ctx.organization_id, patient_id, rules.from_minute(start)
    )
    if problem:
        raise BookingRuleViolation(problem, field="patient_id")


def _new_appointment(
    actor: Actor,
    ctx: _Context,
    cleaned: _Cleaned,
    start: rules.Minute,
    series: AppointmentSeries | None = None,
) -> Appointment:
    return Appointment.objects.create(
        organization_id=ctx.organization_id,
        patient_id=cleaned.patient_id,
        visit_type=ctx.visit_type,
        location=ctx.location,
        modality=ctx.modality,
        starts_at=rules.from_minute(start),
        ends_at=rules.from_minute(start + ctx.footprint.duration),
        status=cleaned.status,
        source=cleaned.source,
        booked_by_id=actor.user_id,
        booked_by_name=actor.username,
        notes=cleaned.notes,
        series=series,
        join_url=_telehealth_link() if ctx.modality == Modality.TELEHEALTH else "",
    )


def _booking_rows(
    ctx: _Context, appointment: Appointment, start: rules.Minute, resource_ids: Sequence[int]
) -> list[AppointmentResource]:
    blocked = ctx.footprint.blocked(start)
    return [
        AppointmentResource(
            appointment=appointment,
            resource_id=resource_id,
            starts_at=rules.from_minute(blocked[0]),
            ends_at=rules.from_minute(blocked[1]),
            active=rules.holds_time(appointment.status),
        )
        for resource_id in resource_ids
    ]


def _summary(ctx: _Context, start: rules.Minute, resource_ids: Sequence[int]) -> dict[str, Any]:
    return {
        "start": _iso(start, ctx.zone),
        "end": _iso(start + ctx.footprint.duration, ctx.zone),
        "location_id": ctx.location.pk,
        "resources": [{"id": i, "name": ctx.name(i)} for i in sorted(resource_ids)],
    }


def _check_credentials(
    actor: Actor,
    ctx: _Context,
    patient_id: int,
    start: rules.Minute,
    resource_ids: Sequence[int],
    override: str,
) -> None:
    """Credentialing (issue 6): each practitioner booked needs a license where the service happens (for
    telehealth, the patient's state) and a privilege for the visit type here; CredentialCheckFailed names
    the reasons and who would pass. See credentialing.services.assert_bookable."""
    credentialing.assert_bookable(
        actor=actor,
        practitioner_ids=[
            r.practitioner_id for r in ctx.resources if r.id in resource_ids and r.practitioner_id
        ],
        patient_id=patient_id,
        service_code=ctx.visit_type.code,
        service_label=ctx.visit_type.name,
        location_id=ctx.location.pk,
        telehealth=ctx.modality == Modality.TELEHEALTH,
        on_date=rules.from_minute(start).astimezone(ctx.zone).date(),
        candidate_ids=ctx.offering,
        override_reason=override,
        setup=ctx.setup.credentials,
    )


def book_appointment(*, actor: Actor, request: BookingRequest) -> Appointment:
    """Book one appointment. Errors (nothing is written): InvalidTime (naive, not whole minutes, past),
    BookingRuleViolation (notice, horizon, new/established), ResourcesUnavailable, SlotConflict,
    PatientNotFound, VisitTypeNotFound."""
    actor.require(Permission.APPOINTMENT_BOOK)
    start = _minute(request.start)
    with transaction.atomic():
        ctx = _context(actor, request.visit_type_id, request.location_id, request.modality)
        cleaned = _clean_request(actor, request, ctx)
        _check_horizon(ctx, start, rules.to_minute(clock.now()))
        _check_eligibility(ctx, cleaned.patient_id, start)
        resource_ids = _choose_and_hold(
            ctx, start, requested=cleaned.resource_ids, practitioner_id=cleaned.practitioner_id
        )
        _check_credentials(actor, ctx, cleaned.patient_id, start, resource_ids, request.override_reason)
        appointment = _new_appointment(actor, ctx, cleaned, start)
        _write_bookings(_booking_rows(ctx, appointment, start, resource_ids))
        summary = _summary(ctx, start, resource_ids)
        _event(
            appointment,
            actor,
            AppointmentEventKind.BOOKED,
            to_status=appointment.status,
            detail={**summary, "source": cleaned.source, "visit_type": ctx.visit_type.code},
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_CREATE,
            patient_id=cleaned.patient_id,
            obj=appointment,
            detail={**summary, "visit_type": ctx.visit_type.code, "status": appointment.status},
        )
    return appointment


def series_starts(
    first: dt.datetime, zone: ZoneInfo, every_weeks: int, occurrences: int
) -> list[rules.Minute]:
    """The same local wall-clock time every `every_weeks` weeks (so 09:00 stays 09:00 across a
    daylight-saving change)."""
    local = first.astimezone(zone)
    return [
        rules.to_minute(
            rules.local_datetime(local.date() + dt.timedelta(weeks=every_weeks * n), local.time(), zone)
        )
        for n in range(occurrences)
    ]


def book_series(
    *, actor: Actor, request: BookingRequest, every_weeks: int, occurrences: int
) -> list[Appointment]:
    """Book a recurring series all or nothing. When any occurrence cannot be booked, nothing is and
    SeriesConflict lists every occurrence that failed, with why."""
    actor.require(Permission.APPOINTMENT_BOOK)
    first = _minute(request.start)
    if not 1 <= every_weeks <= 4:
        raise ValidationFailed("A series repeats every 1 to 4 weeks.", field="every_weeks")
    if not 2 <= occurrences <= MAX_SERIES:
        raise ValidationFailed(f"A series has 2 to {MAX_SERIES} appointments.", field="occurrences")
    with transaction.atomic():
        ctx = _context(actor, request.visit_type_id, request.location_id, request.modality)
        cleaned = _clean_request(actor, request, ctx)
        now = rules.to_minute(clock.now())
        starts = series_starts(rules.from_minute(first), ctx.zone, every_weeks, occurrences)
        plans: list[tuple[rules.Minute, tuple[int, ...]]] = []
        failures: list[dict[str, Any]] = []
        prefer: tuple[int, ...] = ()
        for index, start in enumerate(starts, start=1):
            try:
                _check_horizon(ctx, start, now)
                if index == 1:
                    _check_eligibility(ctx, cleaned.patient_id, start)
                chosen = _choose_resources(
                    ctx,
                    start,
                    requested=cleaned.resource_ids,
                    practitioner_id=cleaned.practitioner_id,
                    prefer=prefer,
                )
                _check_credentials(actor, ctx, cleaned.patient_id, start, chosen, request.override_reason)
            except DomainError as exc:
                failures.append(
                    {
                        "index": index,
                        "start": _iso(start, ctx.zone),
                        "code": exc.code,
                        "message": exc.message,
                        "conflicts": exc.details.get("conflicts", []),
                    }
                )
                continue
            prefer = prefer or chosen
            plans.append((start, chosen))
        if not failures:
            _hold([i for _, chosen in plans for i in chosen])
            for index, (start, chosen) in enumerate(plans, start=1):
                listed = _clashes(ctx, start, chosen, None)
                if listed:
                    conflict = _slot_conflict(listed)
                    failures.append(
                        {
                            "index": index,
                            "start": _iso(start, ctx.zone),
                            "code": conflict.code,
                            "message": conflict.message,
                            "conflicts": listed,
                        }
                    )
        if failures:
            raise SeriesConflict(
                f"{len(failures)} of {occurrences} appointments in the series cannot be booked; "
                "nothing was booked.",
                occurrences=failures,
            )
        series = AppointmentSeries.objects.create(
            organization_id=ctx.organization_id,
            patient_id=cleaned.patient_id,
            visit_type=ctx.visit_type,
            interval_weeks=every_weeks,
            occurrences=occurrences,
        )
        appointments = []
        rows: list[AppointmentResource] = []
        for start, chosen in plans:
            appointment = _new_appointment(actor, ctx, cleaned, start, series)
            appointments.append(appointment)
            rows.extend(_booking_rows(ctx, appointment, start, chosen))
        _write_bookings(rows)
        for (start, chosen), appointment in zip(plans, appointments, strict=True):
            _event(
                appointment,
                actor,
                AppointmentEventKind.BOOKED,
                to_status=appointment.status,
                detail={**_summary(ctx, start, chosen), "source": cleaned.source, "series": series.pk},
            )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_SERIES_CREATE,
            patient_id=cleaned.patient_id,
            obj=series,
            detail={
                "visit_type": ctx.visit_type.code,
                "every_weeks": every_weeks,
                "appointments": [a.pk for a in appointments],
                "starts": [_iso(start, ctx.zone) for start, _ in plans],
            },
        )
    return appointments


# --- changing an appointment -----------------------------------------------------------------------------


def _locked(actor: Actor, appointment_id: Any, expected_version: int | None = None) -> Appointment:
    pk = checked_id(appointment_id, "appointment_id")
    appointment = selectors.appointment_queryset(actor).select_for_update().filter(pk=pk).first()
    if appointment is None:
        raise AppointmentNotFound(f"No appointment with id {appointment_id}.", details={"id": appointment_id})
    if expected_version is not None and appointment.version != expected_version:
        raise StaleAppointment(
            "Someone changed this appointment since you opened it. Reload it and try again.",
            details={"version": appointment.version},
        )
    return appointment


def _set_status(appointment: Appointment, status: str, **fields: Any) -> None:
    appointment.status = status
    appointment.version += 1
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=["status", "version", "updated_at", *fields])
    active = rules.holds_time(status)
    switched = list(
        appointment.bookings.exclude(active=active).values_list("resource_id", "starts_at", "ends_at")
    )
    if switched:
        lock_busy_days(switched)  # before the update, whose trigger deletes them
        appointment.bookings.exclude(active=active).update(active=active)
        refresh_busy_days(switched)


def reschedule_appointment(
    *,
    actor: Actor,
    appointment_id: int,
    start: dt.datetime,
    location_id: int | None = None,
    resource_ids: list[int] | None = None,
    practitioner_id: int | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Appointment:
    """Move an appointment (same id, history kept) to `start`, at its location unless another is given.
    Without `resource_ids` it keeps its resources when they are free then, and otherwise takes the first
    free combination. Errors as for booking, plus InvalidTransition and StaleAppointment."""
    actor.require(Permission.APPOINTMENT_BOOK)
    new_start = _minute(start)
    reason = _text(reason, "reason", "Reason", 300)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id, expected_version)
        if appointment.status not in rules.RESCHEDULABLE:
            raise InvalidTransition(
                f"A {S(appointment.status).label.lower()} appointment cannot be rescheduled.", field="start"
            )
        ctx = _context(
            actor, appointment.visit_type_id, location_id or appointment.location_id, appointment.modality
        )
        _check_horizon(ctx, new_start, rules.to_minute(clock.now()))
        bookings = list(appointment.bookings.order_by("resource_id"))
        before_ids = [b.resource_id for b in bookings]
        old_zone = selectors.zone_of(appointment.location)
        old_start = rules.to_minute(appointment.starts_at)
        practitioner = checked_id(practitioner_id, "practitioner_id") if practitioner_id is not None else None
        chosen = _choose_and_hold(
            ctx,
            new_start,
            requested=[checked_id(i, "resource_ids") for i in resource_ids]
            if resource_ids is not None
            else None,
            practitioner_id=practitioner,
            exclude_appointment_id=appointment.pk,
            prefer=before_ids,
        )
        if (
            new_start == old_start
            and ctx.location.pk == appointment.location_id
            and list(chosen) == before_ids
        ):
            return appointment
        before = {
            "start": _iso(old_start, old_zone),
            "end": appointment.ends_at.astimezone(old_zone).isoformat(),
            "location_id": appointment.location_id,
            "resources": [{"id": b.resource_id} for b in bookings],
        }
        after = _summary(ctx, new_start, chosen)
        new_rows = _booking_rows(ctx, appointment, new_start, chosen)
        removed = [(b.resource_id, b.starts_at, b.ends_at) for b in bookings]
        # Old and new days locked in one order before the delete, whose trigger deletes the old ones.
        lock_busy_days([*removed, *((row.resource_id, row.starts_at, row.ends_at) for row in new_rows)])
        AppointmentResource.objects.filter(appointment=appointment).delete()
        _write_bookings(new_rows, removed=removed)
        appointment.starts_at = rules.from_minute(new_start)
        appointment.ends_at = rules.from_minute(new_start + ctx.footprint.duration)
        appointment.location = ctx.location
        appointment.version += 1
        appointment.save(update_fields=["starts_at", "ends_at", "location", "version", "updated_at"])
        _event(
            appointment,
            actor,
            AppointmentEventKind.RESCHEDULED,
            from_status=appointment.status,
            to_status=appointment.status,
            detail={"from": before, "to": after, "reason": reason},
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_RESCHEDULE,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={"from": before, "to": after, "reason": reason},
        )
        _backfill_move(appointment, old_start, before_ids, new_start)
    return appointment


def _backfill_move(appointment: Appointment, old_start: int, held: list[int], new_start: int) -> None:
    """A move frees the time the appointment left: it goes to the waitlist once the move is committed,
    like a cancellation's (not when it is too near). Moving back into a time it freed earlier closes that
    time's opening (its offers then find it taken)."""
    WaitlistOpening.objects.filter(
        source=appointment, starts_at=rules.from_minute(new_start), status=OpeningStatus.OPEN
    ).update(status=OpeningStatus.CLOSED)
    freed = rules.from_minute(old_start)
    if new_start == old_start or freed <= clock.now() + WAITLIST_MIN_LEAD:
        return
    opening = _opening_at(appointment, freed, held)
    if opening.status != OpeningStatus.OPEN:  # freed before, then taken again: open it anew
        WaitlistOpening.objects.filter(pk=opening.pk).update(status=OpeningStatus.OPEN, filled_by=None)
    organization_id, opening_id = appointment.organization_id, opening.pk
    transaction.on_commit(lambda: _after_move(organization_id, opening_id))


def cancel_appointment(
    *, actor: Actor, appointment_id: int, reason: str, note: str = "", expected_version: int | None = None
) -> Appointment:
    """Cancel with a coded reason (and a note; required for "other"). The time is freed; the appointment
    and its history stay."""
    actor.require(Permission.APPOINTMENT_BOOK)
    reason = _choice(reason, "reason", "cancellation reason", CancelReason)
    note = _text(note, "note", "Note", 300, required=reason == CancelReason.OTHER)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id, expected_version)
        problem = rules.transition_error(appointment.status, S.CANCELLED)
        if problem:
            raise InvalidTransition(problem)
        previous = appointment.status
        _set_status(
            appointment, S.CANCELLED, cancel_reason=reason, cancel_note=note, cancelled_at=clock.now()
        )
        detail = {"reason": reason, "note": note}
        _event(
            appointment,
            actor,
            AppointmentEventKind.CANCELLED,
            from_status=previous,
            to_status=S.CANCELLED,
            detail=detail,
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_CANCEL,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={**detail, "from_status": previous},
        )
        # The freed time goes to the waitlist once the cancellation is committed.
        organization_id = appointment.organization_id
        transaction.on_commit(lambda: _after_cancel(organization_id, appointment.pk))
    return appointment


def check_in(
    *,
    actor: Actor,
    appointment_id: int,
    expected_version: int | None = None,
    demographics_confirmed: bool = False,
    coverage_confirmed: bool = False,
) -> Appointment:
    """Record the patient's arrival (now), on the day of the appointment, and whether the desk confirmed
    the patient's demographics and coverage with them (kept in the check-in event's detail)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id, expected_version)
        now = clock.now()
        problem = rules.check_in_error(
            appointment.status,
            rules.to_minute(appointment.starts_at),
            rules.to_minute(now),
            selectors.zone_of(appointment.location),
        )
        if problem:
            raise InvalidTransition(problem)
        previous = appointment.status
        _set_status(appointment, S.ARRIVED, arrived_at=now)
        minutes_late = int((now - appointment.starts_at).total_seconds() // 60)
        detail = {
            "arrived_at": now.isoformat(),
            "minutes_after_start": minutes_late,
            "demographics_confirmed": bool(demographics_confirmed),
            "coverage_confirmed": bool(coverage_confirmed),
        }
        _event(
            appointment,
            actor,
            AppointmentEventKind.CHECKED_IN,
            from_status=previous,
            to_status=S.ARRIVED,
            detail=detail,
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_CHECK_IN,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail=detail,
        )
    return appointment


def no_show_grace_minutes() -> int:
    """Minutes after the start before an appointment may be marked a no-show (settings, default 15)."""
    return int(settings.CAREDESK_NO_SHOW_GRACE_MINUTES)


def mark_no_show(*, actor: Actor, appointment_id: int, expected_version: int | None = None) -> Appointment:
    """The patient did not come: allowed once the grace period after the start has passed. Frees the time."""
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id, expected_version)
        grace = no_show_grace_minutes()
        problem = rules.no_show_error(
            appointment.status, rules.to_minute(appointment.starts_at), rules.to_minute(clock.now()), grace
        )
        if problem:
            raise InvalidTransition(problem)
        _record_no_show(actor, appointment, {"grace_minutes": grace})
    return appointment


def _record_no_show(actor: Actor, appointment: Appointment, detail: dict[str, Any]) -> None:
    """Inside the caller's transaction, on a locked appointment whose no-show rule holds."""
    previous = appointment.status
    _set_status(appointment, S.NO_SHOW)
    _event(
        appointment,
        actor,
        AppointmentEventKind.NO_SHOW,
        from_status=previous,
        to_status=S.NO_SHOW,
        detail=detail if detail.get("automatic") else None,
    )
    audit.record(
        actor=actor,
        action=AuditAction.APPOINTMENT_NO_SHOW,
        patient_id=appointment.patient_id,
        obj=appointment,
        detail={"from_status": previous, **detail},
    )


# Appointments that started longer ago than this are left to people: a first run (or one after a long
# outage) never turns months of old bookings into no-shows and a flood of follow-up calls.
NO_SHOW_LOOKBACK = dt.timedelta(days=2)


def no_show_task_key(appointment_id: int) -> str:
    """The worklist dedupe key of an appointment's no-show follow-up call: one task per no-show, ever."""
    return f"scheduling:no-show:{appointment_id}"


@dataclass(frozen=True)
class NoShowRun:
    marked: int  # appointments this run marked no-show
    tasks_created: int  # follow-up calls put on the worklist (a re-run finds them and creates none)


def _follow_up_call(actor: Actor, appointment: Appointment, no_shows: int) -> bool:
    local = appointment.starts_at.astimezone(selectors.zone_of(appointment.location))
    count = f" ({no_shows} no-shows so far)" if no_shows > 1 else ""
    created = worklist.create_task(
        actor=actor,
        data=worklist.NewTask(
            title=f"No-show follow-up call: {appointment.visit_type.name} {local:%Y-%m-%d %H:%M}",
            description=(
                f"The patient did not come to {appointment.visit_type.name} at {appointment.location.name} "
                f"on {local:%Y-%m-%d %H:%M}{count}. Call to find out why and offer a new time."
            ),
            queue=TaskQueue.FRONT_DESK,
            task_type=TaskType.FOLLOW_UP_CALL,
            patient_id=appointment.patient_id,
            priority=TaskPriority.HIGH if no_shows > 2 else TaskPriority.NORMAL,
            source_type="scheduling.appointment",
            source_id=str(appointment.pk),
            dedupe_key=no_show_task_key(appointment.pk),
        ),
    )
    return created.created


def mark_overdue_no_shows(*, actor: Actor, now: dt.datetime | None = None) -> NoShowRun:
    """The automatic no-show: every booked or confirmed appointment of the actor's organization whose
    patient has not arrived `no_show_grace_minutes()` after its start (and that started within
    NO_SHOW_LOOKBACK) becomes a no-show, freeing its time, and gets one follow-up call on the front desk's
    worklist. Each appointment is one transaction (status, history, audit row and task together); the
    dedupe key makes a re-run, or a run racing another, create no second task."""
    actor.require(Permission.APPOINTMENT_BOOK)
    actor.require(Permission.TASK_WORK)
    organization_id = scheduling_organization_id(actor)
    moment = clock.now() if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime("`now` needs a time zone.", field="now", code="invalid_timezone")
    grace = no_show_grace_minutes()
    cutoff = moment - dt.timedelta(minutes=grace)
    due = list(
        Appointment.objects.filter(
            organization_id=organization_id,
            status__in=(S.BOOKED, S.CONFIRMED),
            arrived_at__isnull=True,
            starts_at__lte=cutoff,
            starts_at__gt=moment - NO_SHOW_LOOKBACK,
        )
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)
    )
    marked = created = 0
    for appointment_id in due:
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_for_update()
                .filter(pk=appointment_id, status__in=(S.BOOKED, S.CONFIRMED), arrived_at__isnull=True)
                .first()
            )
            if appointment is None:  # checked in, cancelled or marked since the list was read
                continue
            _record_no_show(actor, appointment, {"grace_minutes": grace, "automatic": True})
            no_shows = Appointment.objects.filter(
                organization_id=organization_id, patient_id=appointment.patient_id, status=S.NO_SHOW
            ).count()
            created += _follow_up_call(actor, appointment, no_shows)
            marked += 1
    return NoShowRun(marked=marked, tasks_created=created)


# Status steps that have no use case of their own (arrival, cancellation and no-show do).
_PLAIN_STEPS = frozenset({S.BOOKED, S.CONFIRMED, S.IN_PROGRESS, S.FULFILLED})


def change_status(
    *, actor: Actor, appointment_id: int, status: str, expected_version: int | None = None
) -> Appointment:
    """Book a proposed appointment, confirm, start or complete one (guarded by rules.TRANSITIONS)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    if status not in _PLAIN_STEPS:
        raise ValidationFailed(
            "Use check-in, cancel or no-show for those steps; "
            "this sets booked, confirmed, in progress or fulfilled.",
            field="status",
        )
    with transaction.atomic():
        appointment = _locked(actor, appointment_id, expected_version)
        problem = rules.transition_error(appointment.status, status)
        if problem:
            raise InvalidTransition(problem, field="status")
        previous = appointment.status
        _set_status(appointment, status)
        _event(
            appointment, actor, AppointmentEventKind.STATUS_CHANGED, from_status=previous, to_status=status
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_STATUS_CHANGED,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={"from": previous, "to": status},
        )
        if status == S.FULFILLED:
            # Apps above scheduling follow completed visits (inventory consumes the visit's supplies).
            visit_fulfilled(
                actor,
                FulfilledVisit(
                    appointment_id=appointment.pk,
                    organization_id=appointment.organization_id,
                    patient_id=appointment.patient_id,
                    visit_type_id=appointment.visit_type_id,
                    location_id=appointment.location_id,
                    resource_ids=tuple(appointment.bookings.values_list("resource_id", flat=True)),
                ),
            )
    return appointment


def update_notes(
    *, actor: Actor, appointment_id: int, notes: str, expected_version: int | None = None
) -> Appointment:
    """Replace an appointment's notes (APPOINTMENT_NOTES_CHANGED; the audit row keeps their lengths, not
    the text). Any status: a note on a past or cancelled visit is still worth keeping."""
    actor.require(Permission.APPOINTMENT_BOOK)
    notes = _text(notes, "notes", "Notes", MAX_NOTES)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id, expected_version)
        if appointment.notes == notes:
            return appointment
        before = len(appointment.notes)
        appointment.notes = notes
        appointment.version += 1
        appointment.save(update_fields=["notes", "version", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_NOTES_CHANGED,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={"length": [before, len(notes)]},
        )
    return appointment


def move_appointments_on_merge(actor: Actor, source: models.Model, target: models.Model) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's appointments (runs
    inside the merge's transaction, which writes the audit rows)."""
    moved = list(Appointment.objects.filter(patient_id=source.pk).values_list("pk", flat=True))
    if not moved:
        return
    Appointment.objects.filter(pk__in=moved).update(patient_id=target.pk)
    AppointmentSeries.objects.filter(patient_id=source.pk).update(patient_id=target.pk)
    now = clock.now()
    AppointmentEvent.objects.bulk_create(
        AppointmentEvent(
            appointment_id=pk,
            occurred_at=now,
            kind=AppointmentEventKind.PATIENT_MERGED,
            actor_id=actor.user_id,
            actor_name=actor.username,
            detail={"from_patient": source.pk, "to_patient": target.pk},
        )
        for pk in moved
    )


# --- configuration: resources, visit types, templates, exceptions ------------------------------------


def _manager(actor: Actor) -> int:
    actor.require(Permission.SCHEDULE_MANAGE)
    return scheduling_organization_id(actor)


def create_resource(
    *,
    actor: Actor,
    kind: str,
    location_id: int,
    name: str = "",
    practitioner_id: int | None = None,
    category: str = "",
) -> Resource:
    """A room, a piece of equipment, or a practitioner (one resource per practitioner; named after them)."""
    organization_id = _manager(actor)
    kind = _choice(kind, "kind", "resource kind", ResourceKind)
    category = _text(category, "category", "Category", 40).lower()
    with transaction.atomic():
        location = _location(organization_id, location_id)
        if kind == ResourceKind.PRACTITIONER:
            if practitioner_id is None:
                raise ValidationFailed("Which practitioner?", field="practitioner_id")
            practitioner = practitioner_selectors.get_practitioner(
                actor=actor, practitioner_id=checked_id(practitioner_id, "practitioner_id")
            )
            name = _text(name, "name", "Name", 120) or str(practitioner)[:120]
            if Resource.objects.filter(practitioner_id=practitioner.pk).exists():
                raise Conflict(
                    f"{practitioner} is already schedulable.",
                    field="practitioner_id",
                    code="duplicate_resource",
                )
        else:
            if practitioner_id is not None:
                raise ValidationFailed(
                    "Only a practitioner resource names a practitioner.", field="practitioner_id"
                )
            name = _text(name, "name", "Name", 120, required=True)
        if Resource.objects.filter(location=location, kind=kind, name=name).exists():
            raise Conflict(
                f"{location.name} already has a {kind} named {name}.", field="name", code="duplicate_resource"
            )
        resource = Resource.objects.create(
            organization_id=organization_id,
            kind=kind,
            name=name,
            location=location,
            practitioner_id=practitioner_id if kind == ResourceKind.PRACTITIONER else None,
            category=category,
        )
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_RESOURCE_CREATE,
            obj=resource,
            detail={"kind": kind, "name": name, "location_id": location.pk, "category": category},
        )
    return resource


@dataclass
class RequirementInput:
    kind: str
    resource_id: int | None = None
    category: str = ""


@dataclass
class VisitTypeInput:
    name: str
    code: str
    duration_minutes: int
    requirements: list[RequirementInput]
    practitioner_ids: list[int] = field(default_factory=list)
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    slot_step_minutes: int = 15
    modality: str = VisitModality.IN_PERSON
    eligibility: str = PatientEligibility.ANY
    min_notice_minutes: int = 0
    max_days_ahead: int = 180
    portal_bookable: bool = False  # patients may book (and cancel) it themselves in the portal
    portal_cancel_notice_hours: int = 24


def _whole(value: Any, field_name: str, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{label} must be a whole number from {low} to {high}.", field=field_name)
    return value


def create_visit_type(*, actor: Actor, data: VisitTypeInput) -> VisitType:
    organization_id = _manager(actor)
    name = _text(data.name, "name", "Name", 120, required=True)
    code = _text(data.code, "code", "Code", 40, required=True).lower()
    if not all(c.isalnum() or c in "-_" for c in code):
        raise ValidationFailed("A code holds letters, digits, - and _ only.", field="code")
    duration = _whole(data.duration_minutes, "duration_minutes", "The duration", 5, MAX_DURATION_MINUTES)
    before = _whole(
        data.buffer_before_minutes, "buffer_before_minutes", "The buffer before", 0, MAX_BUFFER_MINUTES
    )
    after = _whole(
        data.buffer_after_minutes, "buffer_after_minutes", "The buffer after", 0, MAX_BUFFER_MINUTES
    )
    step = _whole(data.slot_step_minutes, "slot_step_minutes", "The start-time step", 5, 240)
    notice = _whole(data.min_notice_minutes, "min_notice_minutes", "The minimum notice", 0, 60 * 24 * 365)
    horizon = _whole(data.max_days_ahead, "max_days_ahead", "The maximum days ahead", 1, 730)
    cancel_notice = _whole(
        data.portal_cancel_notice_hours,
        "portal_cancel_notice_hours",
        "The online cancellation notice",
        0,
        720,
    )
    modality = _choice(data.modality, "modality", "modality", VisitModality)
    eligibility = _choice(data.eligibility, "eligibility", "eligibility", PatientEligibility)
    if not data.requirements:
        raise ValidationFailed("A visit type needs at least one resource.", field="requirements")
    with transaction.atomic():
        resources = {r.pk: r for r in Resource.objects.filter(organization_id=organization_id)}
        rows = []
        for position, requirement in enumerate(data.requirements):
            kind = _choice(requirement.kind, "requirements", "resource kind", ResourceKind)
            resource_id = requirement.resource_id
            if resource_id is not None:
                resource = resources.get(checked_id(resource_id, "requirements"))
                if resource is None or resource.kind != kind:
                    raise ResourceNotFound(f"No {kind} resource with id {resource_id}.", field="requirements")
            rows.append(
                VisitTypeRequirement(
                    kind=kind,
                    resource_id=resource_id,
                    category=_text(requirement.category, "requirements", "Category", 40).lower()
                    if resource_id is None
                    else "",
                    position=position,
                )
            )
        practitioner_ids = sorted({checked_id(i, "practitioner_ids") for i in data.practitioner_ids})
        known = set(
            practitioner_selectors.practitioner_queryset(actor)
            .filter(pk__in=practitioner_ids)
            .values_list("pk", flat=True)
        )
        if known != set(practitioner_ids):
            missing = sorted(set(practitioner_ids) - known)
            raise ValidationFailed(f"Unknown practitioner(s): {missing}.", field="practitioner_ids")
        if VisitType.objects.filter(organization_id=organization_id, code=code).exists():
            raise Conflict(
                f"A visit type with code {code} exists.", field="code", code="duplicate_visit_type"
            )
        visit_type = VisitType.objects.create(
            organization_id=organization_id,
            name=name,
            code=code,
            duration_minutes=duration,
            buffer_before_minutes=before,
            buffer_after_minutes=after,
            slot_step_minutes=step,
            modality=modality,
            eligibility=eligibility,
            min_notice_minutes=notice,
            max_days_ahead=horizon,
            portal_bookable=bool(data.portal_bookable),
            portal_cancel_notice_hours=cancel_notice,
        )
        for row in rows:
            row.visit_type = visit_type
        VisitTypeRequirement.objects.bulk_create(rows)
        visit_type.practitioners.set(practitioner_ids)
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_VISIT_TYPE_CREATE,
            obj=visit_type,
            detail={
                "code": code,
                "duration": duration,
                "requirements": len(rows),
                "practitioners": practitioner_ids,
                "portal_bookable": bool(data.portal_bookable),
            },
        )
    return visit_type


@dataclass
class WindowInput:
    weekday: int
    start: dt.time
    end: dt.time
    week_interval: int = 1
    reserved_for_id: int | None = None
    # Operating-room block time held for one surgeon (a practitioner resource); rooms' templates only.
    reserved_for_surgeon_id: int | None = None


@dataclass
class TemplateInput:
    resource_id: int
    location_id: int
    name: str
    effective_from: dt.date
    windows: list[WindowInput]
    effective_until: dt.date | None = None


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def create_availability_template(*, actor: Actor, data: TemplateInput) -> AvailabilityTemplate:
    """A resource's weekly hours at a location. InvalidTemplate when its windows overlap each other or
    the windows of another of the resource's templates on some day both are in force."""
    organization_id = _manager(actor)
    name = _text(data.name, "name", "Name", 120, required=True)
    if not isinstance(data.effective_from, dt.date):
        raise InvalidTemplate("The first day is required.", field="effective_from")
    if data.effective_until is not None and data.effective_until < data.effective_from:
        raise InvalidTemplate("The last day is before the first day.", field="effective_until")
    if not data.windows:
        raise InvalidTemplate("A template needs at least one window of hours.", field="windows")
    for window in data.windows:
        if not isinstance(window.start, dt.time) or not isinstance(window.end, dt.time):
            raise InvalidTemplate("Every window needs a start and an end time.", field="windows")
    windows = [
        rules.WeeklyWindow(
            w.weekday, w.start, w.end, w.week_interval, w.reserved_for_id, w.reserved_for_surgeon_id
        )
        for w in data.windows
    ]
    problems = rules.window_errors(windows)
    if problems:
        raise InvalidTemplate(" ".join(problems), field="windows", details={"problems": problems})
    new = rules.WeeklyTemplate(data.effective_from, data.effective_until, tuple(windows))
    with transaction.atomic():
        resource = (
            Resource.objects.select_for_update()
            .filter(organization_id=organization_id, pk=checked_id(data.resource_id, "resource_id"))
            .first()
        )
        if resource is None:
            raise ResourceNotFound(f"No resource with id {data.resource_id}.", field="resource_id")
        location = _location(organization_id, data.location_id)
        if resource.kind != ResourceKind.PRACTITIONER and location.pk != resource.location_id:
            raise InvalidTemplate(f"{resource.name} is at another location.", field="location_id")
        reserved = {w.reserved_for_id for w in data.windows if w.reserved_for_id is not None}
        if reserved and VisitType.objects.filter(
            organization_id=organization_id, pk__in=reserved
        ).count() != len(reserved):
            raise InvalidTemplate("A window is reserved for an unknown visit type.", field="windows")
        surgeons = {w.reserved_for_surgeon_id for w in data.windows if w.reserved_for_surgeon_id is not None}
        if surgeons:
            if resource.kind != ResourceKind.ROOM:
                raise InvalidTemplate(
                    "Only a room's hours (an operating or procedure room) can be held for a surgeon.",
                    field="windows",
                )
            if Resource.objects.filter(
                organization_id=organization_id,
                pk__in=[checked_id(i, "windows") for i in surgeons],
                kind=ResourceKind.PRACTITIONER,
                active=True,
            ).count() != len(surgeons):
                raise InvalidTemplate(
                    "A window is held for someone who is not one of the organization's practitioners in use.",
                    field="windows",
                )
        existing = (
            AvailabilityTemplate.objects.filter(resource=resource)
            .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=data.effective_from))
            .prefetch_related("windows")
        )
        if data.effective_until is not None:
            existing = existing.filter(effective_from__lte=data.effective_until)
        for other in existing:
            other_weekly = selectors.weekly_template(other)
            for mine in new.windows:
                for theirs in other_weekly.windows:
                    day = rules.first_shared_day(new, mine, other_weekly, theirs)
                    if day is not None:
                        raise InvalidTemplate(
                            f"{_WEEKDAYS[mine.weekday]} {mine.start:%H:%M}-{mine.end:%H:%M} overlaps "
                            f"{resource.name}'s template '{other.name}' (first on {day.isoformat()}).",
                            field="windows",
                            details={"template_id": other.pk, "day": day.isoformat()},
                        )
        template = AvailabilityTemplate.objects.create(
            organization_id=organization_id,
            resource=resource,
            location=location,
            name=name,
            effective_from=data.effective_from,
            effective_until=data.effective_until,
        )
        AvailabilityWindow.objects.bulk_create(
            AvailabilityWindow(
                template=template,
                weekday=w.weekday,
                start_time=w.start,
                end_time=w.end,
                week_interval=w.week_interval,
                reserved_for_id=w.reserved_for_id,
                reserved_for_surgeon_id=w.reserved_for_surgeon_id,
            )
            for w in data.windows
        )
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_TEMPLATE_CREATE,
            obj=template,
            detail={
                "resource_id": resource.pk,
                "location_id": location.pk,
                "from": data.effective_from.isoformat(),
                "until": data.effective_until.isoformat() if data.effective_until else None,
                "windows": len(data.windows),
                # Blocks kept for a visit type or held for one surgeon change who may be booked there.
                "reserved_for_visit_types": sorted(
                    {w.reserved_for_id for w in data.windows if w.reserved_for_id}
                ),
                "held_for_surgeons": sorted(
                    {w.reserved_for_surgeon_id for w in data.windows if w.reserved_for_surgeon_id}
                ),
            },
        )
    return template


def add_availability_exception(
    *,
    actor: Actor,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    resource_id: int | None = None,
    location_id: int | None = None,
    reason: str = "",
) -> AvailabilityException:
    """Take time away: a resource's (time off, partial day), a location's (closure) or, with neither, the
    whole organization's (holiday). Appointments already booked then stay; the calendar shows them."""
    organization_id = _manager(actor)
    kind = _choice(kind, "kind", "exception kind", ExceptionKind)
    start = _minute(starts_at, "starts_at")
    end = _minute(ends_at, "ends_at")
    if end <= start:
        raise InvalidTime("The end is not after the start.", field="ends_at")
    if resource_id is not None and location_id is not None:
        raise ValidationFailed("Give a resource or a location, not both.", field="location_id")
    reason = _text(reason, "reason", "Reason", 200)
    with transaction.atomic():
        if (
            resource_id is not None
            and not Resource.objects.filter(
                organization_id=organization_id, pk=checked_id(resource_id, "resource_id")
            ).exists()
        ):
            raise ResourceNotFound(f"No resource with id {resource_id}.", field="resource_id")
        if location_id is not None:
            _location(organization_id, location_id)
        exception = AvailabilityException.objects.create(
            organization_id=organization_id,
            kind=kind,
            starts_at=rules.from_minute(start),
            ends_at=rules.from_minute(end),
            resource_id=resource_id,
            location_id=location_id,
            reason=reason,
        )
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_EXCEPTION_CREATE,
            obj=exception,
            detail={
                "kind": kind,
                "resource_id": resource_id,
                "location_id": location_id,
                "start": exception.starts_at.isoformat(),
                "end": exception.ends_at.isoformat(),
            },
        )
    return exception


# --- reminders and the patient's answers ------------------------------------------------------------------

REPLY_SALT = "caredesk.scheduling.reminder-reply"
# A reply link works until the appointment starts, and never longer than this.
REPLY_LINK_MAX_AGE = dt.timedelta(days=60)


def reminder_offsets() -> list[int]:
    """Minutes before the start at which reminders go out (settings.CAREDESK_REMINDER_OFFSETS_HOURS)."""
    return rules.reminder_offsets(getattr(settings, "CAREDESK_REMINDER_OFFSETS_HOURS", [72, 24]))


def reply_token(appointment: Appointment, reminder: AppointmentReminder | None = None) -> str:
    """The signed value of an e-mail's confirm/cancel link (appointment and reminder ids, nothing else)."""
    return signing.dumps({"a": appointment.pk, "r": reminder.pk if reminder else None}, salt=REPLY_SALT)


def reply_url(token: str) -> str:
    base = getattr(settings, "CAREDESK_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{reverse('scheduling:reply')}?{urlencode({'t': token})}"


@dataclass(frozen=True)
class ReplyLink:
    appointment_id: int
    organization_id: int
    reminder_id: int | None


def read_reply_token(token: str) -> ReplyLink:
    """The appointment a confirm/cancel link is about. InvalidReplyLink when forged, damaged or expired."""
    try:
        value = signing.loads(token, salt=REPLY_SALT, max_age=REPLY_LINK_MAX_AGE)
        appointment_id, reminder_id = int(value["a"]), value.get("r")
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidReplyLink("This link is not valid (or no longer is).") from exc
    organization_id = (
        Appointment.objects.filter(pk=appointment_id).values_list("organization_id", flat=True).first()
    )
    if organization_id is None:
        raise InvalidReplyLink("This link is not valid (or no longer is).")
    return ReplyLink(appointment_id, organization_id, int(reminder_id) if reminder_id is not None else None)


REPLY_PERMISSIONS = frozenset(str(p) for p in (Permission.SCHEDULE_VIEW, Permission.APPOINTMENT_BOOK))


def reply_actor(link: ReplyLink) -> Actor:
    """Who acts when a patient follows a signed link: the link's organization, on the web channel."""
    return system_actor(
        organization_id=link.organization_id,
        permissions=REPLY_PERMISSIONS,
        channel="web",
        username="patient-reply-link",
    )


def _sms_number(patient: Any) -> str:
    """The patient's number for texts: an SMS telecom, else a mobile phone (lowest rank first)."""
    for telecom in patient.telecoms.all():
        if telecom.system == TelecomSystem.SMS or (
            telecom.system == TelecomSystem.PHONE and telecom.use == TelecomUse.MOBILE
        ):
            return str(telecom.value)
    return ""


def _reminder_channels(patient: Any) -> dict[str, str]:
    """The channels the patient allows and we can reach them on, with the address to use."""
    channels: dict[str, str] = {}
    if patient.email_allowed and patient.email:
        channels[ReminderChannel.EMAIL] = patient.email
    number = _sms_number(patient) if patient.sms_allowed else ""
    if number:
        channels[ReminderChannel.SMS] = number
    return channels


def _reminder_context(appointment: Appointment, reminder: AppointmentReminder) -> dict[str, Any]:
    token = reply_token(appointment, reminder)
    return {
        "appointment": appointment,
        "when": appointment.local_start,
        "visit_type": appointment.visit_type.name,
        "location": appointment.location.name,
        "telehealth": appointment.modality == Modality.TELEHEALTH,
        "join_url": appointment.join_url if appointment.modality == Modality.TELEHEALTH else "",
        "confirm_url": reply_url(token) + "&answer=confirm",
        "cancel_url": reply_url(token) + "&answer=cancel",
    }


def _deliver(
    appointment: Appointment, reminder: AppointmentReminder, channels: dict[str, str]
) -> dict[str, Any]:
    """Send through each channel; what went where and what failed (the text itself is not kept)."""
    context = _reminder_context(appointment, reminder)
    outcome: dict[str, Any] = {"sent": [], "failed": {}}
    for channel, address in channels.items():
        try:
            if channel == ReminderChannel.EMAIL:
                notify.send_email(
                    to=address,
                    subject=render_to_string("scheduling/email/reminder_subject.txt", context).strip(),
                    body=render_to_string("scheduling/email/reminder.txt", context),
                )
            else:
                text = render_to_string("scheduling/sms/reminder.txt", context)
                notify.sms_gateway().send(to=address, body=" ".join(text.split()))
                outcome["sms_to"] = address
        except (OSError, ConnectionError) as exc:  # smtplib's errors are OSErrors
            outcome["failed"][channel] = type(exc).__name__
        else:
            outcome["sent"].append(channel)
    return outcome


def _claim(
    appointment: Appointment, offset: int, superseded: Sequence[int], now: dt.datetime
) -> AppointmentReminder | None:
    """Insert the reminder's row (and skipped rows for the ones it supersedes); None when another run
    claimed it first. The unique constraint on (appointment, offset) decides."""
    start = appointment.starts_at
    AppointmentReminder.objects.bulk_create(
        [
            AppointmentReminder(
                appointment=appointment,
                offset_minutes=o,
                due_at=start - dt.timedelta(minutes=o),
                status=ReminderStatus.SKIPPED,
                created_at=now,
                detail={"reason": "superseded", "by": offset},
            )
            for o in superseded
        ],
        ignore_conflicts=True,
    )
    try:
        with transaction.atomic():
            return AppointmentReminder.objects.create(
                appointment=appointment,
                offset_minutes=offset,
                due_at=start - dt.timedelta(minutes=offset),
                status=ReminderStatus.SENDING,
                created_at=now,
            )
    except IntegrityError:
        return None


def send_reminder(
    *, actor: Actor, appointment_id: int, offset_minutes: int, superseded: Sequence[int] = ()
) -> AppointmentReminder | None:
    """Send one appointment's reminder `offset_minutes` before its start through the channels the patient
    allows. At most once: the row is claimed (committed) before anything is sent, so a second run, a
    concurrent worker or a crash mid-send never sends it again. None when already claimed or no longer
    due (cancelled, started)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    now = clock.now()
    with transaction.atomic():
        appointment = (
            selectors.appointment_queryset(actor)
            .select_for_update()
            .filter(pk=checked_id(appointment_id, "appointment_id"))
            .first()
        )
        if appointment is None or appointment.status not in REMINDABLE_STATUSES:
            return None
        if appointment.starts_at <= now:
            return None
        reminder = _claim(appointment, offset_minutes, superseded, now)
    if reminder is None:
        return None
    appointment = (
        Appointment.objects.select_related("patient", "location", "visit_type")
        .prefetch_related("patient__telecoms")
        .get(pk=appointment.pk)
    )
    channels = _reminder_channels(appointment.patient)
    outcome = _deliver(appointment, reminder, channels) if channels else {"sent": [], "failed": {}}
    with transaction.atomic():
        reminder.channels = outcome["sent"]
        reminder.sent_at = clock.now() if outcome["sent"] else None
        if outcome["sent"]:
            reminder.status = ReminderStatus.SENT
        elif outcome["failed"]:
            reminder.status = ReminderStatus.FAILED
        else:
            reminder.status = ReminderStatus.SKIPPED
            outcome["reason"] = "no allowed channel"
        reminder.detail = {k: v for k, v in outcome.items() if k != "sent" and v}
        reminder.save(update_fields=["channels", "sent_at", "status", "detail"])
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_REMINDER_SENT,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={
                "offset_minutes": offset_minutes,
                "status": reminder.status,
                "channels": reminder.channels,
                "failed": outcome["failed"],
            },
        )
    return reminder


@dataclass
class ReminderRun:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


def send_due_reminders(*, actor: Actor, now: dt.datetime | None = None) -> ReminderRun:
    """Send every reminder of the actor's organization whose time has come. Running it again (or twice at
    once) sends nothing new."""
    actor.require(Permission.APPOINTMENT_BOOK)
    offsets = reminder_offsets()
    run = ReminderRun()
    if not offsets:
        return run
    moment = now or clock.now()
    upcoming = (
        selectors.appointment_queryset(actor)
        .filter(
            status__in=REMINDABLE_STATUSES,
            starts_at__gt=moment,
            starts_at__lte=moment + dt.timedelta(minutes=max(offsets)),
        )
        .prefetch_related("reminders")
        .order_by("starts_at", "pk")
    )
    for appointment in upcoming:
        plan = rules.reminder_plan(
            appointment.starts_at, moment, offsets, [r.offset_minutes for r in appointment.reminders.all()]
        )
        if plan.send is None:
            continue
        reminder = send_reminder(
            actor=actor, appointment_id=appointment.pk, offset_minutes=plan.send, superseded=plan.superseded
        )
        if reminder is None:
            continue
        if reminder.status == ReminderStatus.SENT:
            run.sent += 1
        elif reminder.status == ReminderStatus.FAILED:
            run.failed += 1
        else:
            run.skipped += 1
    return run


def record_reply(
    *,
    actor: Actor,
    appointment_id: int,
    answer: str,
    channel: str,
    reminder_id: int | None = None,
    text: str = "",
) -> ReminderReply:
    """The patient's answer to a reminder: confirm (a booked appointment becomes confirmed) or cancel
    (cancelled for "patient request", its time freed). An answer that changes nothing (already confirmed,
    already cancelled, started) is recorded as such."""
    actor.require(Permission.APPOINTMENT_BOOK)
    answer = _choice(answer, "answer", "answer", ReplyAnswer)
    channel = _choice(channel, "channel", "channel", ReminderChannel)
    with transaction.atomic():
        appointment = _locked(actor, appointment_id)
        outcome = ReplyOutcome.UNCHANGED
        upcoming = appointment.starts_at > clock.now()
        if answer == ReplyAnswer.CONFIRM and appointment.status == S.BOOKED and upcoming:
            change_status(actor=actor, appointment_id=appointment.pk, status=S.CONFIRMED)
            outcome = ReplyOutcome.CONFIRMED
        elif (
            answer == ReplyAnswer.CANCEL
            and upcoming
            and rules.transition_error(appointment.status, S.CANCELLED) is None
        ):
            cancel_appointment(
                actor=actor,
                appointment_id=appointment.pk,
                reason=CancelReason.PATIENT_REQUEST,
                note=f"Cancelled by the patient's reply ({ReminderChannel(channel).label})",
            )
            outcome = ReplyOutcome.CANCELLED
        reminder = appointment.reminders.filter(pk=reminder_id).first() if reminder_id is not None else None
        reply = ReminderReply.objects.create(
            appointment=appointment,
            reminder=reminder,
            channel=channel,
            answer=answer,
            outcome=outcome,
            received_at=clock.now(),
            text=text[:160],
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_REPLY_RECORDED,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={"answer": answer, "channel": channel, "outcome": outcome},
        )
    return reply


def record_sms_reply(*, actor: Actor, from_number: str, text: str) -> ReminderReply:
    """An inbound SMS: "C" confirms, "X" cancels the upcoming appointment whose reminder was last texted
    to that number. UnknownReply when the text is neither or nothing upcoming was texted there."""
    answer = rules.parse_reply(text)
    if answer is None:
        raise UnknownReply("Reply C to confirm or X to cancel.", field="text")
    digits = rules.phone_digits(from_number)
    if len(digits) < 7:
        raise UnknownReply("That is not a phone number.", field="from_number")
    candidates = AppointmentReminder.objects.filter(
        appointment__in=selectors.appointment_queryset(actor).filter(starts_at__gt=clock.now()),
        status=ReminderStatus.SENT,
    )
    for reminder in candidates.order_by("-sent_at", "-pk")[:500]:
        if rules.phone_digits(str(reminder.detail.get("sms_to", ""))) == digits:
            return record_reply(
                actor=actor,
                appointment_id=reminder.appointment_id,
                answer=answer,
                channel=ReminderChannel.SMS,
                reminder_id=reminder.pk,
                text=text,
            )
    raise UnknownReply("No upcoming appointment was texted to that number.", field="from_number")


# --- practitioners' calendar feeds ------------------------------------------------------------------------


def issue_feed_token(*, actor: Actor, practitioner_id: int) -> str:
    """Issue the practitioner's calendar-feed token (replacing the one before, whose address stops
    working). Returns the token: it is shown once and only its SHA-256 is stored."""
    organization_id = _manager(actor)
    practitioner = practitioner_selectors.get_practitioner(
        actor=actor, practitioner_id=checked_id(practitioner_id, "practitioner_id")
    )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed, created = PractitionerFeed.objects.select_for_update().get_or_create(
            practitioner=practitioner,
            defaults={
                "organization_id": organization_id,
                "token_hash": rules.feed_token_hash(token),
                "issued_at": clock.now(),
            },
        )
        if not created:
            feed.token_hash = rules.feed_token_hash(token)
            feed.issued_at = clock.now()
            feed.last_read_at = None
            feed.save(update_fields=["token_hash", "issued_at", "last_read_at", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_FEED_TOKEN_CHANGED,
            obj=feed,
            detail={"practitioner_id": practitioner.pk, "replaced": not created},
        )
    return token


def feed_url(token: str) -> str:
    base = getattr(settings, "CAREDESK_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{reverse('scheduling:feed', kwargs={'token': token})}"


# --- the waitlist and cancellation backfill ---------------------------------------------------------------

OFFER_SALT = "caredesk.scheduling.waitlist-offer"
# No offers for time that starts sooner than this after the cancellation.
WAITLIST_MIN_LEAD = dt.timedelta(hours=2)


def _waitlist_setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@dataclass
class WaitlistInput:
    patient_id: int
    visit_type_id: int
    channel: str
    practitioner_id: int | None = None
    priority: int = 3
    preferred_weekdays: Sequence[int] = ()
    earliest: dt.time | None = None
    latest: dt.time | None = None
    notes: str = ""


def _reachable(patient: Any, channel: str) -> str:
    """The address of `channel` when the patient allows it and has one, else ""."""
    return _reminder_channels(patient).get(channel, "")


def add_to_waitlist(*, actor: Actor, data: WaitlistInput) -> WaitlistEntry:
    """Put a patient on a visit type's waitlist. Refused: an unknown patient or visit type, a practitioner
    who does not offer it, a channel the patient does not allow (or cannot be reached on), already waiting."""
    actor.require(Permission.APPOINTMENT_BOOK)
    channel = _choice(data.channel, "channel", "channel", ReminderChannel)
    priority = _whole(data.priority, "priority", "Priority", 1, 5)
    weekdays = sorted({_whole(d, "preferred_weekdays", "Weekday", 0, 6) for d in data.preferred_weekdays})
    if data.earliest and data.latest and data.latest < data.earliest:
        raise ValidationFailed("The latest start is before the earliest.", field="latest")
    notes = _text(data.notes, "notes", "Notes", 300)
    with transaction.atomic():
        patient_id = _bookable_patient(actor, data.patient_id)
        visit_type = selectors.get_visit_type(
            actor=actor, visit_type_id=checked_id(data.visit_type_id, "visit_type_id")
        )
        practitioner_id = None
        if data.practitioner_id:
            practitioner_id = checked_id(data.practitioner_id, "practitioner_id")
            if not visit_type.practitioners.filter(pk=practitioner_id).exists():
                raise ValidationFailed(
                    f"That practitioner does not offer {visit_type.name}.", field="practitioner"
                )
        patient = patient_selectors.patient_queryset(actor).prefetch_related("telecoms").get(pk=patient_id)
        if not _reachable(patient, channel):
            raise ValidationFailed(
                f"The patient does not allow {ReminderChannel(channel).label} or has no address for it.",
                field="channel",
            )
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    organization_id=scheduling_organization_id(actor),
                    patient_id=patient_id,
                    visit_type=visit_type,
                    practitioner_id=practitioner_id,
                    priority=priority,
                    preferred_weekdays=weekdays,
                    earliest=data.earliest,
                    latest=data.latest,
                    channel=channel,
                    added_by_name=actor.username,
                    notes=notes,
                )
        except IntegrityError as exc:
            raise Conflict(f"The patient is already waiting for {visit_type.name}.", field="patient") from exc
        audit.record(
            actor=actor,
            action=AuditAction.WAITLIST_ENTRY_CREATE,
            patient_id=patient_id,
            obj=entry,
            detail={"visit_type": visit_type.code, "priority": priority, "channel": channel},
        )
    return entry


def _lapse(offers: Any, now: dt.datetime) -> int:
    updated: int = offers.update(status=OfferStatus.LAPSED, responded_at=now)
    return updated


def remove_from_waitlist(*, actor: Actor, entry_id: int) -> WaitlistEntry:
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(organization_id=scheduling_organization_id(actor), pk=checked_id(entry_id, "entry_id"))
            .first()
        )
        if entry is None or entry.status != WaitlistStatus.WAITING:
            raise ValidationFailed("That patient is not waiting.", field="entry")
        entry.status = WaitlistStatus.REMOVED
        entry.save(update_fields=["status", "updated_at"])
        _lapse(entry.offers.filter(status=OfferStatus.OPEN), clock.now())
        audit.record(
            actor=actor,
            action=AuditAction.WAITLIST_ENTRY_CHANGED,
            patient_id=entry.patient_id,
            obj=entry,
            detail={"status": WaitlistStatus.REMOVED},
        )
    return entry


def offer_token(offer: WaitlistOffer) -> str:
    return signing.dumps({"o": offer.pk}, salt=OFFER_SALT)


def offer_url(token: str) -> str:
    base = getattr(settings, "CAREDESK_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{reverse('scheduling:offer')}?{urlencode({'t': token})}"


@dataclass(frozen=True)
class OfferLink:
    offer_id: int
    organization_id: int


def read_offer_token(token: str) -> OfferLink:
    try:
        offer_id = int(signing.loads(token, salt=OFFER_SALT, max_age=REPLY_LINK_MAX_AGE)["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidReplyLink("This link is not valid (or no longer is).") from exc
    organization_id = (
        WaitlistOffer.objects.filter(pk=offer_id).values_list("opening__organization_id", flat=True).first()
    )
    if organization_id is None:
        raise InvalidReplyLink("This link is not valid (or no longer is).")
    return OfferLink(offer_id, organization_id)


OFFER_PERMISSIONS = REPLY_PERMISSIONS | {str(Permission.PATIENT_VIEW)}


def offer_actor(link: OfferLink) -> Actor:
    """Who acts when a patient follows a waitlist offer's signed link (booking reads the patient)."""
    return system_actor(
        organization_id=link.organization_id,
        permissions=OFFER_PERMISSIONS,
        channel="web",
        username="patient-offer-link",
    )


def _send_offer(offer: WaitlistOffer, address: str) -> None:
    opening = offer.opening
    zone = ZoneInfo(opening.location.timezone)
    context = {
        "visit_type": opening.visit_type.name,
        "when": opening.starts_at.astimezone(zone),
        "location": opening.location.name,
        "expires": offer.expires_at.astimezone(zone),
        "url": offer_url(offer_token(offer)),
    }
    try:
        if offer.channel == ReminderChannel.EMAIL:
            notify.send_email(
                to=address,
                subject=f"An earlier appointment is free: {context['visit_type']}",
                body=render_to_string("scheduling/email/offer.txt", context),
            )
        else:
            text = render_to_string("scheduling/sms/offer.txt", context)
            notify.sms_gateway().send(to=address, body=" ".join(text.split()))
    except OSError:
        WaitlistOffer.objects.filter(pk=offer.pk).update(status=OfferStatus.LAPSED, responded_at=clock.now())


def _opening_at(
    appointment: Appointment, starts_at: dt.datetime, resource_ids: Sequence[int]
) -> WaitlistOpening:
    """The opening for the time `appointment` freed at `starts_at`, holding `resource_ids` (made once)."""
    practitioners = Resource.objects.filter(pk__in=list(resource_ids), practitioner__isnull=False)
    opening, _created = WaitlistOpening.objects.get_or_create(
        source=appointment,
        starts_at=starts_at,
        defaults={
            "organization_id": appointment.organization_id,
            "visit_type_id": appointment.visit_type_id,
            "location_id": appointment.location_id,
            "resource_ids": sorted(resource_ids),
            "practitioner_ids": sorted(practitioners.values_list("practitioner_id", flat=True)),
        },
    )
    return opening


def offer_opening(*, actor: Actor, appointment_id: int) -> list[WaitlistOffer]:
    """Offer the time a cancelled appointment freed to the next waiting patients of its visit type (see
    `offer_time`)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        appointment = (
            selectors.appointment_queryset(actor)
            .filter(pk=checked_id(appointment_id, "appointment_id"))
            .first()
        )
        if appointment is None or appointment.status != S.CANCELLED:
            return []
        if appointment.starts_at <= clock.now() + WAITLIST_MIN_LEAD:
            return []
        held = list(appointment.bookings.values_list("resource_id", flat=True))
        opening = _opening_at(appointment, appointment.starts_at, held)
    return offer_time(actor=actor, opening_id=opening.pk)


def offer_time(*, actor: Actor, opening_id: int) -> list[WaitlistOffer]:
    """Offer an opening (time a cancellation or a move freed) to the next waiting patients of its visit
    type, in priority order (those whose practitioner, days and times fit, and whose channel is allowed;
    never the patient who freed it), at most settings.CAREDESK_WAITLIST_OFFER_BATCH at once, each open
    CAREDESK_WAITLIST_OFFER_HOURS. While offers are open nobody else is asked; when they lapse the next
    ones are (the sweep)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    now = clock.now()
    sent: list[tuple[WaitlistOffer, str]] = []
    with transaction.atomic():
        opening = (
            WaitlistOpening.objects.select_for_update()
            .select_related("location", "visit_type", "source")
            .filter(
                pk=checked_id(opening_id, "opening_id"), organization_id=scheduling_organization_id(actor)
            )
            .first()
        )
        if opening is None or opening.status != OpeningStatus.OPEN:
            return []
        if opening.starts_at <= now + WAITLIST_MIN_LEAD:
            return []
        appointment = opening.source
        _lapse(opening.offers.filter(status=OfferStatus.OPEN, expires_at__lte=now), now)
        if opening.offers.filter(status=OfferStatus.OPEN).exists():
            return []
        zone = ZoneInfo(opening.location.timezone)
        local = opening.starts_at.astimezone(zone)
        asked = opening.offers.values("entry_id")
        waiting = (
            WaitlistEntry.objects.filter(
                organization_id=opening.organization_id,
                visit_type_id=opening.visit_type_id,
                status=WaitlistStatus.WAITING,
            )
            .exclude(pk__in=asked)
            .exclude(patient_id=appointment.patient_id)
            .select_related("patient")
            .prefetch_related("patient__telecoms")
            .order_by("priority", "created_at", "pk")
        )
        batch = _waitlist_setting("CAREDESK_WAITLIST_OFFER_BATCH", 3)
        expires = rules.offer_expiry(
            now, opening.starts_at, _waitlist_setting("CAREDESK_WAITLIST_OFFER_HOURS", 2)
        )
        for entry in waiting:
            if len(sent) >= batch:
                break
            if entry.practitioner_id and entry.practitioner_id not in opening.practitioner_ids:
                continue
            if not rules.waitlist_fits(local, entry.preferred_weekdays, entry.earliest, entry.latest):
                continue
            address = _reachable(entry.patient, entry.channel)
            if not address:
                continue
            offer = WaitlistOffer.objects.create(
                opening=opening, entry=entry, channel=entry.channel, sent_at=now, expires_at=expires
            )
            audit.record(
                actor=actor,
                action=AuditAction.WAITLIST_OFFER_CREATE,
                patient_id=entry.patient_id,
                obj=offer,
                detail={"opening": opening.pk, "start": local.isoformat(), "expires": expires.isoformat()},
            )
            sent.append((offer, address))
    for offer, address in sent:
        _send_offer(offer, address)
    return [offer for offer, _ in sent]


def _answer(offer: WaitlistOffer, status: str, actor: Actor) -> None:
    offer.status = status
    offer.responded_at = clock.now()
    offer.save(update_fields=["status", "responded_at"])
    audit.record(
        actor=actor,
        action=AuditAction.WAITLIST_OFFER_CHANGED,
        patient_id=offer.entry.patient_id,
        obj=offer,
        detail={"status": status, "opening": offer.opening_id},
    )


def _locked_offer(actor: Actor, offer_id: int) -> WaitlistOffer:
    offer = (
        WaitlistOffer.objects.select_for_update()
        .select_related("entry", "opening")
        .filter(
            pk=checked_id(offer_id, "offer_id"), opening__organization_id=scheduling_organization_id(actor)
        )
        .first()
    )
    if offer is None:
        raise OfferUnavailable("There is no such offer.")
    return offer


def accept_offer(*, actor: Actor, offer_id: int) -> Appointment:
    """The patient takes the offered time: it is booked for them through the booking service (the
    database's no-double-booking guard decides between two patients accepting at once), the other open
    offers of the opening lapse and the patient leaves the waitlist. OfferUnavailable when it expired,
    was answered, or the time is gone."""
    actor.require(Permission.APPOINTMENT_BOOK)
    refusal: OfferUnavailable | None = None
    with transaction.atomic():
        opening_ids = WaitlistOffer.objects.filter(pk=checked_id(offer_id, "offer_id")).values("opening_id")
        list(WaitlistOpening.objects.select_for_update().filter(pk__in=opening_ids))  # one taker at a time
        offer = _locked_offer(actor, offer_id)
        opening = offer.opening
        now = clock.now()
        if offer.status != OfferStatus.OPEN:
            raise OfferUnavailable(f"This offer was already {offer.get_status_display().lower()}.")
        if offer.expires_at <= now or opening.status != OpeningStatus.OPEN:
            _answer(offer, OfferStatus.LAPSED, actor)
            refusal = OfferUnavailable("Sorry: this time is no longer available.")
        else:
            source = Appointment.objects.only("modality").get(pk=opening.source_id)
            try:
                with transaction.atomic():
                    appointment = book_appointment(
                        actor=actor,
                        request=BookingRequest(
                            patient_id=offer.entry.patient_id,
                            visit_type_id=opening.visit_type_id,
                            location_id=opening.location_id,
                            start=opening.starts_at,
                            resource_ids=list(opening.resource_ids),
                            modality=source.modality,
                            source=AppointmentSource.WAITLIST,
                        ),
                    )
            except (SlotConflict, ResourcesUnavailable, BookingRuleViolation, InvalidTime) as exc:
                _answer(offer, OfferStatus.LAPSED, actor)
                opening.status = OpeningStatus.CLOSED
                opening.save(update_fields=["status", "updated_at"])
                refusal = OfferUnavailable(
                    "Sorry: this time is no longer available.", details={"why": exc.code}
                )
            else:
                _answer(offer, OfferStatus.ACCEPTED, actor)
                for other in opening.offers.filter(status=OfferStatus.OPEN).select_related("entry"):
                    _answer(other, OfferStatus.LAPSED, actor)
                opening.status = OpeningStatus.FILLED
                opening.filled_by = appointment
                opening.save(update_fields=["status", "filled_by", "updated_at"])
                entry = offer.entry
                entry.status = WaitlistStatus.BOOKED
                entry.appointment = appointment
                entry.save(update_fields=["status", "appointment", "updated_at"])
    if refusal is not None:
        raise refusal
    return appointment


def decline_offer(*, actor: Actor, offer_id: int) -> WaitlistOffer:
    """The patient says no; they stay on the waitlist, and the time goes to the next (by the sweep)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        offer = _locked_offer(actor, offer_id)
        if offer.status != OfferStatus.OPEN:
            raise OfferUnavailable(f"This offer was already {offer.get_status_display().lower()}.")
        _answer(offer, OfferStatus.DECLINED, actor)
    offer_time(actor=actor, opening_id=offer.opening_id)
    return offer


def sweep_waitlist(*, actor: Actor) -> int:
    """Lapse the offers whose time ran out and offer their openings to the next waiting patients; closes
    openings whose time is too near. Returns how many new offers went out."""
    actor.require(Permission.APPOINTMENT_BOOK)
    now = clock.now()
    organization_id = scheduling_organization_id(actor)
    with transaction.atomic():
        for offer in WaitlistOffer.objects.filter(
            opening__organization_id=organization_id, status=OfferStatus.OPEN, expires_at__lte=now
        ).select_related("entry"):
            _answer(offer, OfferStatus.LAPSED, actor)
        WaitlistOpening.objects.filter(
            organization_id=organization_id, status=OpeningStatus.OPEN, starts_at__lte=now + WAITLIST_MIN_LEAD
        ).update(status=OpeningStatus.CLOSED)
    sent = 0
    for opening_id in WaitlistOpening.objects.filter(
        organization_id=organization_id, status=OpeningStatus.OPEN
    ).values_list("pk", flat=True):
        sent += len(offer_time(actor=actor, opening_id=opening_id))
    return sent


def _after_cancel(organization_id: int, appointment_id: int) -> None:
    from . import tasks  # tasks import this module

    tasks.offer_waitlist_opening.enqueue(organization_id=organization_id, appointment_id=appointment_id)


def _after_move(organization_id: int, opening_id: int) -> None:
    from . import tasks  # tasks import this module

    tasks.offer_waitlist_time.enqueue(organization_id=organization_id, opening_id=opening_id)


# --- the patient portal: a patient books and cancels their own visits --------------------------------------
# The portal goes through the desk's booking and cancelling services (the database's no-double-booking
# guard, the booking rules, credentials, history, audit, the waitlist backfill), acting as the patient: the
# patient's own actor, bound to their record, lent only the booking permission those services ask for.
# Which patient is never read from the request: it is the signed-in patient's own record.

PORTAL_TAKEN = "That time was just taken; pick another."
_PORTAL_BOOKING = frozenset({str(Permission.APPOINTMENT_BOOK)})


def _portal_actor(actor: Actor) -> Actor:
    """The patient acting through the booking services: PermissionDenied for anyone but a portal user
    holding PORTAL_SELF_SCHEDULE. Their queries stay bound to their own record (is_portal)."""
    actor.require(Permission.PORTAL_SELF_SCHEDULE)
    if not actor.is_portal:
        raise PermissionDenied("Only a patient signed in to the portal books here.")
    return replace(actor, permissions=actor.permissions | _PORTAL_BOOKING)


def book_from_portal(
    *,
    actor: Actor,
    visit_type_id: int,
    start: dt.datetime,
    location_id: int,
    resource_ids: Sequence[int] | None = None,
) -> Appointment:
    """A patient books a visit for themselves at a time the portal's slot search offered (its start,
    location and resources). Only a visit type bookable in the portal (VisitTypeNotFound otherwise); the
    booking rules (notice, horizon, new/established) hold as at the desk; source PORTAL. A time taken
    meanwhile (or no longer worked) is SlotConflict "That time was just taken; pick another." with nothing
    written, and without naming whose appointment is in the way. A patient holds at most
    CAREDESK_PORTAL_MAX_UPCOMING upcoming visits booked online (BookingRuleViolation beyond: call the
    clinic, or cancel one first)."""
    booking_actor = _portal_actor(actor)
    assert actor.patient_id is not None  # _portal_actor: a portal user
    with transaction.atomic():
        visit_type = selectors.get_portal_visit_type(
            actor=actor, visit_type_id=checked_id(visit_type_id, "visit_type_id")
        )
        _check_portal_allowance(actor, actor.patient_id)
        request = BookingRequest(
            patient_id=actor.patient_id,
            visit_type_id=visit_type.pk,
            location_id=location_id,
            start=start,
            resource_ids=list(resource_ids) if resource_ids is not None else None,
            source=AppointmentSource.PORTAL,
        )
        try:
            return book_appointment(actor=booking_actor, request=request)
        except (SlotConflict, ResourcesUnavailable) as exc:
            raise SlotConflict(
                PORTAL_TAKEN, field="start", details={"detected_by": exc.details.get("detected_by", "check")}
            ) from exc


def _check_portal_allowance(actor: Actor, patient_id: int) -> None:
    """At most CAREDESK_PORTAL_MAX_UPCOMING upcoming self-booked visits. The ones held are locked, so the
    same patient's bookings from two windows at once are counted one after the other."""
    limit = max(int(getattr(settings, "CAREDESK_PORTAL_MAX_UPCOMING", 3)), 0)
    held = list(
        Appointment.objects.select_for_update()
        .filter(
            organization_id=scheduling_organization_id(actor),
            patient_id=patient_id,
            source=AppointmentSource.PORTAL,
            status__in=sorted(ACTIVE_STATUSES),
            starts_at__gte=clock.now(),
        )
        .values_list("pk", flat=True)
    )
    if len(held) >= limit:
        raise BookingRuleViolation(
            f"You already have {len(held)} upcoming visit{'s' if len(held) != 1 else ''} booked online, "
            "the most the clinic takes online. Please call the clinic to book another, or cancel one first.",
            field="visit_type_id",
            code="portal_limit",
        )


def portal_cancel_problem(appointment: Appointment, now: dt.datetime | None = None) -> str | None:
    """Why the patient may not cancel this appointment in the portal (the message says to call), or None.
    Reads the appointment's visit type. Its time may be changed online exactly when it may be cancelled."""
    return selectors.portal_cancel_problem(appointment, now)


def cancel_from_portal(*, actor: Actor, appointment_id: int, note: str = "") -> Appointment:
    """A patient cancels their own booked or confirmed visit, at least the visit type's
    portal_cancel_notice_hours before it starts (CallToCancel otherwise: the message says to call the
    clinic). Another patient's appointment is AppointmentNotFound, as one that does not exist. It is the
    desk's cancellation with reason "patient request" and the patient's words as the note: the time is
    freed and offered to the waitlist once committed."""
    booking_actor = _portal_actor(actor)
    note = _text(note, "note", "Reason", 300)
    with transaction.atomic():
        appointment = _locked(booking_actor, appointment_id)
        refusal = selectors.portal_refusal(appointment, action="cancel")
        if refusal is not None:
            raise refusal
        return cancel_appointment(
            actor=booking_actor,
            appointment_id=appointment.pk,
            reason=CancelReason.PATIENT_REQUEST,
            note=note,
        )


PORTAL_MOVED = "Changed by the patient in the portal"


def reschedule_from_portal(
    *,
    actor: Actor,
    appointment_id: int,
    start: dt.datetime,
    location_id: int,
    resource_ids: Sequence[int] | None = None,
) -> Appointment:
    """A patient moves their own booked or confirmed visit to a time the portal's slot search offers for it
    (`selectors.portal_reschedule_slots`: its visit type and modality, its own time counting as free; the
    slot's start, location and resources). Only while it could be cancelled online: CallToCancel otherwise
    (the message says to call the clinic), InvalidTransition for a visit no longer booked. Another
    patient's appointment is AppointmentNotFound, as one that does not exist. It is the desk's reschedule
    (the same appointment, the move in its history and the audit, the database's no-double-booking
    guard): the old time is free again once committed. A time not offered, or taken meanwhile, is
    SlotConflict "That time was just taken; pick another." with nothing changed. The limit on upcoming
    visits booked online does not apply: a move adds no visit."""
    booking_actor = _portal_actor(actor)
    new_start = _minute(start)
    with transaction.atomic():
        appointment = _locked(booking_actor, appointment_id)
        refusal = selectors.portal_refusal(appointment, action="change")
        if refusal is not None:
            raise refusal
        location = _location(appointment.organization_id, location_id)
        requested = None if resource_ids is None else [checked_id(i, "resource_ids") for i in resource_ids]
        offered = _portal_slot(actor, appointment, new_start, location, requested)
        if offered is None:
            raise SlotConflict(PORTAL_TAKEN, field="start", details={"detected_by": "search"})
        try:
            return reschedule_appointment(
                actor=booking_actor,
                appointment_id=appointment.pk,
                start=start,
                location_id=location.pk,
                resource_ids=requested if requested is not None else list(offered.resource_ids),
                reason=PORTAL_MOVED,
            )
        except (SlotConflict, ResourcesUnavailable) as exc:
            raise SlotConflict(
                PORTAL_TAKEN, field="start", details={"detected_by": exc.details.get("detected_by", "check")}
            ) from exc


def _portal_slot(
    actor: Actor,
    appointment: Appointment,
    start: rules.Minute,
    location: Location,
    requested: Sequence[int] | None,
) -> selectors.Slot | None:
    """The slot the portal's search offers for moving `appointment` to `start` at `location`, or None. When
    the requested resources name one of the practitioners who offer the visit type, the search is for
    them, as the patient's own search "with" them was (so their hours and credentials are checked too)."""
    local = rules.from_minute(start).astimezone(selectors.zone_of(location))
    practitioner_id = None
    visit_type = appointment.visit_type
    needs = rules.needed(selectors.requirements_of(visit_type), appointment.modality)
    if requested and any(need.is_offering_practitioner for need in needs):
        offering = selectors.offered_by(visit_type)
        named = {
            r.practitioner_id
            for r in selectors.resource_infos(appointment.organization_id)
            if r.id in requested and r.practitioner_id in offering
        }
        practitioner_id = named.pop() if len(named) == 1 else None
    found = selectors.portal_reschedule_slots(
        actor=actor,
        appointment=appointment,
        practitioner_id=practitioner_id,
        location_id=location.pk,
        first_day=local.date(),
        last_day=local.date(),
        earliest=local.time(),
        latest=local.time(),
        limit=1,
    )
    return next((slot for slot in found if slot.start == local), None)


# --- configuration changes from the setup pages: withdraw, end, take back -------------------------------
# Nothing here deletes what appointments point at: a resource or visit type is withdrawn (no new bookings,
# its appointments stay), a template is ended early, and only an exception (which nothing refers to) is
# deleted. Each change writes its audit row with what it was before.


def set_resource_active(*, actor: Actor, resource_id: int, active: bool) -> Resource:
    """Withdraw a resource from scheduling (slot search and booking stop offering it; appointments that
    hold it stay booked) or put it back. Asking for the state it is already in changes nothing."""
    organization_id = _manager(actor)
    with transaction.atomic():
        resource = (
            Resource.objects.select_for_update()
            .filter(organization_id=organization_id, pk=checked_id(resource_id, "resource_id"))
            .first()
        )
        if resource is None:
            raise ResourceNotFound(f"No resource with id {resource_id}.")
        if resource.active == bool(active):
            return resource
        resource.active = bool(active)
        resource.save(update_fields=["active", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_RESOURCE_CHANGED,
            obj=resource,
            detail={"active": {"from": not resource.active, "to": resource.active}},
        )
    return resource


def set_visit_type_active(*, actor: Actor, visit_type_id: int, active: bool) -> VisitType:
    """Withdraw a visit type from booking (its appointments and waitlist stay) or offer it again."""
    organization_id = _manager(actor)
    with transaction.atomic():
        visit_type = (
            VisitType.objects.select_for_update()
            .filter(organization_id=organization_id, pk=checked_id(visit_type_id, "visit_type_id"))
            .first()
        )
        if visit_type is None:
            raise VisitTypeNotFound(f"No visit type with id {visit_type_id}.")
        if visit_type.active == bool(active):
            return visit_type
        visit_type.active = bool(active)
        visit_type.save(update_fields=["active", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_VISIT_TYPE_CHANGED,
            obj=visit_type,
            detail={"active": {"from": not visit_type.active, "to": visit_type.active}},
        )
    return visit_type


def end_availability_template(*, actor: Actor, template_id: int, last_day: dt.date) -> AvailabilityTemplate:
    """Bring a template's last day forward (a practitioner leaves, a room closes for refurbishment).
    Appointments already booked after it stay; slot search stops offering its hours. A template is ended,
    never extended: a longer one could overlap the resource's later templates (add a new one instead)."""
    organization_id = _manager(actor)
    if not isinstance(last_day, dt.date) or isinstance(last_day, dt.datetime):
        raise InvalidTemplate("The last day is required.", field="last_day")
    with transaction.atomic():
        template = (
            AvailabilityTemplate.objects.select_for_update()
            .filter(organization_id=organization_id, pk=checked_id(template_id, "template_id"))
            .first()
        )
        if template is None:
            raise NotFound(f"No availability template with id {template_id}.", code="template_not_found")
        if last_day < template.effective_from:
            raise InvalidTemplate(
                f"The last day is before the template's first day ({template.effective_from:%a %d %b %Y}).",
                field="last_day",
            )
        if template.effective_until is not None and last_day > template.effective_until:
            raise InvalidTemplate(
                f"The template already ends on {template.effective_until:%a %d %b %Y}; it can end earlier, "
                "not later (add a new template for more weeks).",
                field="last_day",
            )
        before = template.effective_until
        if before == last_day:
            return template
        template.effective_until = last_day
        template.save(update_fields=["effective_until", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_TEMPLATE_CHANGED,
            obj=template,
            detail={
                "resource_id": template.resource_id,
                "until": {"from": before.isoformat() if before else None, "to": last_day.isoformat()},
            },
        )
    return template


def remove_availability_exception(*, actor: Actor, exception_id: int) -> None:
    """Take an exception back (time off cancelled, a closure called off): its hours are bookable again.
    The audit row keeps what it was."""
    organization_id = _manager(actor)
    with transaction.atomic():
        exception = (
            AvailabilityException.objects.select_for_update()
            .filter(organization_id=organization_id, pk=checked_id(exception_id, "exception_id"))
            .first()
        )
        if exception is None:
            raise NotFound(f"No availability exception with id {exception_id}.", code="exception_not_found")
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_EXCEPTION_REMOVED,
            obj=exception,
            detail={
                "kind": exception.kind,
                "resource_id": exception.resource_id,
                "location_id": exception.location_id,
                "start": exception.starts_at.isoformat(),
                "end": exception.ends_at.isoformat(),
                "reason": exception.reason,
            },
        )
        exception.delete()
