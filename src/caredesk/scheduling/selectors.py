"""Read queries for scheduling, restricted to what the actor may see, and the slot search.

Scope: the actor's organization. Staff need SCHEDULE_VIEW to see appointments; a portal user sees only
their own patient's. An appointment outside the scope answers AppointmentNotFound, like one that does not
exist. Appointments are patient data: every read that returns them writes its audit row here, before the
data leaves (APPOINTMENT_VIEW for one, APPOINTMENT_SEARCH for a calendar or list, with the ids shown).

Resources, visit types and free slots are not patient data and are not audited; a slot search for a
named patient (new vs established) is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, Exists, Func, Max, Min, OuterRef, Prefetch, Q, QuerySet

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import Conflict, DomainError, Forbidden, ValidationFailed
from caredesk.coverage import selectors as coverage_selectors
from caredesk.coverage.choices import CoverageOrder
from caredesk.credentialing import services as credentialing
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.practitioners import selectors as practitioner_selectors

from . import clock, ical, rules, setup_cache
from .choices import (
    ACTIVE_STATUSES,
    AppointmentStatus,
    Modality,
    OfferStatus,
    ResourceKind,
    VisitModality,
    WaitlistStatus,
)
from .errors import (
    AppointmentNotFound,
    BookingRuleViolation,
    CallToCancel,
    FeedNotFound,
    InvalidTime,
    InvalidTransition,
    LocationNotFound,
    VisitTypeNotFound,
)
from .models import (
    MAX_BLOCK,
    Appointment,
    AppointmentEvent,
    AppointmentReminder,
    AppointmentResource,
    AvailabilityException,
    AvailabilityTemplate,
    AvailabilityWindow,
    PractitionerFeed,
    ReminderReply,
    Resource,
    ResourceBusyDay,
    VisitType,
    WaitlistEntry,
    WaitlistOffer,
)

MAX_SLOTS = 50
FIRST_CHUNK_DAYS = 1  # the slot search reads bookings 1 day at a time, then 2, 4, 8, 16, up to 28
MAX_CHUNK_DAYS = 28
SEARCH_CHUNK_RESOURCE_DAYS = 60  # a search of fewer resources starts with longer chunks
MAX_SEARCH_DAYS = 400
# The slot search first reads the resources' busy days (ResourceBusyDay) and then only the bookings of
# the times where the visit might fit; False reads every booking (the tests compare both).
USE_BUSY_DAYS = True
# Statuses that make a patient "seen" for the new/established rule.
ATTENDED = (AppointmentStatus.ARRIVED, AppointmentStatus.IN_PROGRESS, AppointmentStatus.FULFILLED)


# --- scope ------------------------------------------------------------------------------------------------


def appointment_queryset(actor: Actor) -> QuerySet[Appointment]:
    """Appointments the actor may see (not audited: for building queries that are)."""
    if actor.organization_id is None:
        return Appointment.objects.none()
    appointments = Appointment.objects.filter(organization_id=actor.organization_id)
    if actor.is_portal:
        if not actor.has(Permission.PORTAL_OWN_RECORD):
            return Appointment.objects.none()
        return appointments.filter(patient_id=actor.patient_id or 0)
    if not actor.has(Permission.SCHEDULE_VIEW):
        return Appointment.objects.none()
    return appointments


def location_queryset(actor: Actor) -> QuerySet[Location]:
    if actor.organization_id is None:
        return Location.objects.none()
    return Location.objects.filter(organization_id=actor.organization_id).order_by("name")


def get_location(*, actor: Actor, location_id: int) -> Location:
    location = location_queryset(actor).filter(pk=location_id).first()
    if location is None:
        raise LocationNotFound(f"No location with id {location_id}.", field="location_id")
    return location


def zone_of(location: Location) -> ZoneInfo:
    """The location's time zone. A location with an unknown zone cannot be scheduled (clear error)."""
    try:
        return ZoneInfo(location.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTime(
            f"The location {location.name} has an unknown time zone {location.timezone!r}.",
            code="invalid_timezone",
        ) from exc


def resource_queryset(actor: Actor) -> QuerySet[Resource]:
    if actor.organization_id is None:
        return Resource.objects.none()
    return Resource.objects.filter(organization_id=actor.organization_id)


def visit_type_queryset(actor: Actor) -> QuerySet[VisitType]:
    if actor.organization_id is None:
        return VisitType.objects.none()
    return VisitType.objects.filter(organization_id=actor.organization_id)


def get_visit_type(*, actor: Actor, visit_type_id: int, active_only: bool = True) -> VisitType:
    visit_types = visit_type_queryset(actor)
    if active_only:
        visit_types = visit_types.filter(active=True)
    visit_type = visit_types.prefetch_related("requirements").filter(pk=visit_type_id).first()
    if visit_type is None:
        raise VisitTypeNotFound(f"No visit type with id {visit_type_id}.", field="visit_type_id")
    return visit_type


resource_infos = setup_cache.resource_infos  # the organization's active resources, as values


def requirements_of(visit_type: VisitType) -> list[rules.Requirement]:
    return [
        rules.Requirement(kind=r.kind, resource_id=r.resource_id, category=r.category)
        for r in visit_type.requirements.all()
    ]


def offered_by(visit_type: VisitType) -> frozenset[int]:
    return frozenset(visit_type.practitioners.values_list("pk", flat=True))


def modality_for(visit_type: VisitType, wanted: str | None) -> str:
    """The modality to book: the one asked for, if the visit type allows it; otherwise the visit type's
    own (in person for visit types that allow either)."""
    allowed = {
        VisitModality.IN_PERSON: {Modality.IN_PERSON},
        VisitModality.TELEHEALTH: {Modality.TELEHEALTH},
        VisitModality.EITHER: {Modality.IN_PERSON, Modality.TELEHEALTH},
    }[VisitModality(visit_type.modality)]
    if wanted:
        if wanted not in allowed:
            label = VisitModality(visit_type.modality).label.lower()
            raise ValidationFailed(
                f"{visit_type.name} is {label} only.", field="modality", code="invalid_modality"
            )
        return wanted
    return Modality.TELEHEALTH if visit_type.modality == VisitModality.TELEHEALTH else Modality.IN_PERSON


def last_attended(organization_id: int, patient_id: int, before: dt.datetime | None = None) -> dt.date | None:
    """The day of the patient's latest attended visit (arrived, in progress or fulfilled), before a time."""
    attended = Appointment.objects.filter(
        organization_id=organization_id, patient_id=patient_id, status__in=ATTENDED
    )
    if before is not None:
        attended = attended.filter(starts_at__lt=before)
    latest = attended.aggregate(latest=Max("starts_at")).get("latest")
    return latest.date() if latest is not None else None


def eligibility_problem(
    visit_type: VisitType, organization_id: int, patient_id: int, at: dt.datetime, *, seen_before: bool = True
) -> str | None:
    """Why the patient may not have this visit type at `at` (new vs established), or None. With
    `seen_before`, only visits before `at` count; otherwise every attended visit does (a search)."""
    if visit_type.eligibility == "any":
        return None
    last = last_attended(organization_id, patient_id, at if seen_before else None)
    established = rules.is_established(last, at.date())
    return rules.eligibility_error(visit_type.eligibility, established)


# --- the schedule of some resources at one location ----------------------------------------------------


@dataclass(frozen=True)
class Busy:
    blocked: rules.Interval
    appointment_id: int


@dataclass
class Schedule:
    """What is known about some resources at one location over some days: their templates there, the
    exceptions that apply to them there, and their active bookings."""

    zone: ZoneInfo
    templates: dict[int, list[rules.WeeklyTemplate]] = field(default_factory=dict)
    exceptions: dict[int, list[rules.Interval]] = field(default_factory=dict)
    busy: dict[int, list[Busy]] = field(default_factory=dict)
    # Working hours already expanded, by (templates, days, visit type, any_use): resources that share their
    # week (most of a clinic's practitioners; the slot search hands out equal templates as one object) are
    # expanded once. Keyed by the templates' identities; each entry keeps its templates alive, so an
    # identity is never reused for another template while the entry exists.
    expanded: dict[tuple[Any, ...], tuple[tuple[rules.WeeklyTemplate, ...], list[rules.Interval]]] = field(
        default_factory=dict, repr=False
    )
    held: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)  # cache of holders()

    def available(
        self,
        resource_id: int,
        first_day: dt.date,
        last_day: dt.date,
        visit_type_id: int | None,
        *,
        any_use: bool = False,
        with_resources: AbstractSet[int] = frozenset(),
    ) -> list[rules.Interval]:
        """rules.available_minutes of the resource's templates and exceptions here; windows held for a
        resource (a surgeon's operating-room block) count when `with_resources` includes it."""
        templates = tuple(self.templates.get(resource_id, ()))
        with_resources = self.holders(resource_id) & with_resources if with_resources else frozenset()
        key = (*map(id, templates), first_day, last_day, visit_type_id, any_use, with_resources)
        entry = self.expanded.get(key)
        if entry is None:
            working = rules.normalize(
                i
                for template in templates
                for i in rules.expand(
                    template,
                    first_day,
                    last_day,
                    self.zone,
                    visit_type_id,
                    any_use=any_use,
                    with_resources=with_resources,
                )
            )
            entry = self.expanded[key] = (templates, working)
        exceptions = self.exceptions.get(resource_id)
        if not exceptions:
            return entry[1]  # shared: callers never change it
        return rules.subtract(entry[1], rules.normalize(exceptions))

    def holders(self, resource_id: int) -> frozenset[int]:
        """The resources some of this resource's windows are held for (the surgeons of a room's block
        time); empty for most resources."""
        found = self.held.get(resource_id)
        if found is None:
            found = self.held[resource_id] = frozenset(
                w.held_for
                for template in self.templates.get(resource_id, ())
                for w in template.windows
                if w.held_for is not None
            )
        return found

    def busy_intervals(self, resource_id: int) -> list[rules.Interval]:
        return [b.blocked for b in self.busy.get(resource_id, [])]


def weekly_template(template: AvailabilityTemplate) -> rules.WeeklyTemplate:
    return rules.WeeklyTemplate(
        effective_from=template.effective_from,
        effective_until=template.effective_until,
        windows=tuple(
            rules.WeeklyWindow(
                weekday=w.weekday,
                start=w.start_time,
                end=w.end_time,
                week_interval=w.week_interval,
                reserved_for=w.reserved_for_id,
                held_for=w.reserved_for_surgeon_id,
            )
            for w in template.windows.all()
        ),
    )


def load_templates(
    organization_id: int, resource_ids: Iterable[int], location_id: int, first_day: dt.date, last_day: dt.date
) -> dict[int, list[rules.WeeklyTemplate]]:
    templates: dict[int, list[rules.WeeklyTemplate]] = defaultdict(list)
    rows = (
        AvailabilityTemplate.objects.filter(
            organization_id=organization_id,
            resource_id__in=list(resource_ids),
            location_id=location_id,
            effective_from__lte=last_day,
        )
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=first_day))
        .prefetch_related(
            Prefetch("windows", queryset=AvailabilityWindow.objects.order_by("weekday", "start_time"))
        )
        .order_by("pk")
    )
    for template in rows:
        templates[template.resource_id].append(weekly_template(template))
    return dict(templates)


def load_exceptions(
    organization_id: int, resource_ids: Sequence[int], location_id: int, start: dt.datetime, end: dt.datetime
) -> dict[int, list[rules.Interval]]:
    """Each resource's exceptions: its own, its location's closures and the organization's holidays."""
    rows = AvailabilityException.objects.filter(
        organization_id=organization_id, ends_at__gt=start, starts_at__lt=end
    ).filter(
        Q(resource_id__in=resource_ids)
        | Q(resource__isnull=True, location_id=location_id)
        | Q(resource__isnull=True, location__isnull=True)
    )
    shared: list[rules.Interval] = []
    own: dict[int, list[rules.Interval]] = defaultdict(list)
    for row in rows.values("resource_id", "starts_at", "ends_at"):
        interval = (rules.to_minute(row["starts_at"]), rules.to_minute_ceil(row["ends_at"]))
        if row["resource_id"] is None:
            shared.append(interval)
        else:
            own[row["resource_id"]].append(interval)
    return {resource_id: own.get(resource_id, []) + shared for resource_id in resource_ids}


class EpochMinute(Func):
    """Whole minutes since the Unix epoch of a datetime column, computed by the database: busy ranges come
    back as integers, without building a datetime per row (rules.Minute)."""

    output_field = BigIntegerField()
    template = "CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 60) AS BIGINT)"  # PostgreSQL

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Stored as UTC text; strftime('%s') reads it as UTC. The percent sign is doubled twice: once for
        # the template, once for the driver's parameter style.
        template = "(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / 60)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def get_db_converters(self, connection: Any) -> list[Any]:
        # Both databases answer an integer already: no per-value int() call (a search reads thousands).
        return []


def load_busy(
    resource_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    exclude_appointment_id: int | None = None,
) -> dict[int, list[Busy]]:
    """Active bookings of the resources whose blocked range meets [start, end)."""
    rows = AppointmentResource.objects.filter(
        resource_id__in=resource_ids,
        active=True,
        starts_at__lt=end,
        starts_at__gt=start - MAX_BLOCK,
        ends_at__gt=start,
    )
    if exclude_appointment_id is not None:
        rows = rows.exclude(appointment_id=exclude_appointment_id)
    busy: dict[int, list[Busy]] = defaultdict(list)
    values = (
        rows.annotate(first_minute=EpochMinute("starts_at"), end_minute=EpochMinute("ends_at"))
        .order_by("starts_at")
        .values_list("resource_id", "first_minute", "end_minute", "appointment_id")
    )
    for resource_id, first_minute, end_minute, appointment_id in values:
        busy[resource_id].append(Busy(blocked=(first_minute, end_minute), appointment_id=appointment_id))
    return dict(busy)


def load_schedule(
    *,
    organization_id: int,
    location: Location,
    resource_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    exclude_appointment_id: int | None = None,
    setup: setup_cache.Setup | None = None,
) -> Schedule:
    """With the organization's `setup` (setup_cache, current), templates and exceptions come from it:
    the bookings are the only query."""
    zone = zone_of(location)
    first_day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
    ids = sorted(set(resource_ids))
    known = setup if setup is not None and setup.organization_id == organization_id else None
    exceptions = None
    if known is not None:
        kept = known.search_exceptions([(location.pk, ids, start, end)])
        exceptions = kept[location.pk] if kept is not None else None
    return Schedule(
        zone=zone,
        templates=(
            known.templates_at(ids, location.pk, first_day, last_day)
            if known is not None
            else load_templates(organization_id, ids, location.pk, first_day, last_day)
        ),
        exceptions=(
            exceptions
            if exceptions is not None
            else load_exceptions(organization_id, ids, location.pk, start, end)
        ),
        busy=load_busy(ids, start, end, exclude_appointment_id=exclude_appointment_id),
    )


# --- slot search ----------------------------------------------------------------------------------------


@dataclass
class SlotQuery:
    visit_type_id: int
    practitioner_id: int | None = None
    location_id: int | None = None
    first_day: dt.date | None = None  # local to each location; default today
    last_day: dt.date | None = None  # inclusive; default the visit type's booking horizon
    weekdays: frozenset[int] | None = None  # 0 = Monday
    earliest: dt.time | None = None  # earliest start, local
    latest: dt.time | None = None  # latest start, local
    modality: str | None = None  # in_person / telehealth; None: the visit type's own
    patient_id: int | None = None  # checks the new/established rule
    limit: int = 10
    exclude_appointment_id: int | None = None  # rescheduling: this appointment's own time counts as free


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # aware, in the location's time zone
    end: dt.datetime
    location_id: int
    location_name: str
    modality: str
    resources: tuple[rules.ResourceInfo, ...]

    @property
    def practitioner(self) -> rules.ResourceInfo | None:
        return next((r for r in self.resources if r.kind == ResourceKind.PRACTITIONER), None)

    @property
    def resource_ids(self) -> tuple[int, ...]:
        return tuple(r.id for r in self.resources)

    @property
    def zone_name(self) -> str:
        return str(self.start.tzinfo)

    @property
    def token(self) -> str:
        """The slot as one form value: start|location|resource ids."""
        return f"{self.start.isoformat()}|{self.location_id}|{','.join(str(i) for i in self.resource_ids)}"


def _search_plan(
    actor: Actor, query: SlotQuery, setup: setup_cache.Setup
) -> tuple[VisitType, str, list[rules.Requirement], frozenset[int], list[Location]]:
    """get_visit_type, requirements_of, offered_by and the locations, from the set-up."""
    visit_type = setup.visit_type(query.visit_type_id)
    if visit_type is None:
        raise VisitTypeNotFound(f"No visit type with id {query.visit_type_id}.", field="visit_type_id")
    modality = modality_for(visit_type, query.modality)
    needs = rules.needed(list(setup.requirements[visit_type.pk]), modality)
    if not needs:
        raise ValidationFailed(
            f"{visit_type.name} has no required resources to schedule.", field="visit_type_id"
        )
    offering = setup.offered[visit_type.pk]
    if query.practitioner_id is not None and (
        query.practitioner_id not in offering or not any(r.is_offering_practitioner for r in needs)
    ):
        raise ValidationFailed(
            f"That practitioner does not offer {visit_type.name}.",
            field="practitioner_id",
            code="not_offered",
        )
    if query.location_id is not None:
        location = setup.location(query.location_id)
        if location is None:
            raise LocationNotFound(f"No location with id {query.location_id}.", field="location_id")
        locations = [location]
    else:
        locations = setup.all_locations()
    return visit_type, modality, needs, offering, locations


def _check_query(query: SlotQuery) -> None:
    if query.first_day and query.last_day and query.last_day < query.first_day:
        raise InvalidTime("The last day is before the first day.", field="last_day")
    if query.earliest and query.latest and query.latest < query.earliest:
        raise InvalidTime("The latest start is before the earliest start.", field="latest")
    if query.weekdays is not None and (not query.weekdays or not query.weekdays <= set(range(7))):
        raise ValidationFailed("Pick at least one day of the week.", field="weekdays")


def find_slots(*, actor: Actor, query: SlotQuery) -> list[Slot]:
    """The earliest `query.limit` start times at which every resource the visit type needs is free, at
    one location, within the booking rules and the patient's preferences. Each slot names the resources
    it would use (a booking with them then succeeds unless someone books first)."""
    _check_query(query)
    limit = min(max(query.limit, 1), MAX_SLOTS)
    if actor.organization_id is None:
        raise VisitTypeNotFound("No visit types outside an organization.")
    # The organization's set-up (visit types, locations, resources, templates, exceptions, credentials),
    # kept by this process while its version is current: one query instead of about twelve.
    setup = setup_cache.for_organization(actor.organization_id)
    visit_type, modality, needs, offering, locations = _search_plan(actor, query, setup)
    now = clock.now()
    if query.patient_id is not None:
        with transaction.atomic():
            audit.record(
                actor=actor,
                action=AuditAction.APPOINTMENT_SEARCH,
                patient_id=query.patient_id,
                detail={"slot_search": {"visit_type": visit_type.code}},
            )
            problem = eligibility_problem(
                visit_type, actor.organization_id, query.patient_id, now, seen_before=False
            )
        if problem:
            raise BookingRuleViolation(problem, field="patient_id")
    booking_rules = rules.BookingRules(visit_type.min_notice_minutes, visit_type.max_days_ahead)
    horizon = rules.booking_horizon(booking_rules, rules.to_minute(now))
    footprint = rules.Footprint(
        visit_type.duration_minutes, visit_type.buffer_before_minutes, visit_type.buffer_after_minutes
    )
    resources = setup.resources
    by_id = {r.id: r for r in resources}
    candidates = []
    for location in locations:
        options = [
            rules.candidates(
                need,
                resources,
                location_id=location.pk,
                offered_by=offering,
                practitioner_id=query.practitioner_id,
            )
            for need in needs
        ]
        if all(options):
            candidates.append((location, zone_of(location), options))
    if not candidates:
        return []

    found: list[Slot] = []
    first = query.first_day or now.astimezone(candidates[0][1]).date()
    last_allowed = first + dt.timedelta(days=MAX_SEARCH_DAYS)
    final = min(query.last_day or last_allowed, last_allowed)
    # Templates and exceptions for every location in one query each, for the whole range; bookings chunk
    # by chunk, in one query for all locations. A resource without a template at a location never
    # works there: it is dropped from that location's options (and a location left without a candidate
    # for some requirement from the search) before any booking is read.
    templates = setup.search_templates(
        {location.pk: {i for opts in options for i in opts} for location, _zone, options in candidates},
        first,
        final,
    )
    plans = []
    credentialed: dict[int, list[rules.Interval]] = {}  # practitioner resource -> the starts it may take
    checking = credentialing.enforcement_on(actor.organization_id, setup.credentials)  # as booking does
    sites = []
    for location, zone, options in candidates:
        here = templates.get(location.pk, {})
        sites.append((location, zone, [[i for i in opts if i in here] for opts in options]))
    allowed_at = (
        _credentialed_starts(
            actor,
            query,
            [site for site in sites if all(site[2])],
            modality,
            visit_type.code,
            by_id,
            first,
            final,
            setup.credentials,
        )
        if checking
        else {}
    )
    for location, zone, options in sites:
        allowed = allowed_at.get(location.pk)
        if allowed is not None and all(options):
            options = [[i for i in opts if i not in allowed or allowed[i]] for opts in options]
            credentialed.update(allowed)
        if all(options):
            plans.append((location, zone, options, sorted({i for opts in options for i in opts})))
    exception_plans = [
        (
            location.pk,
            ids,
            rules.from_minute(rules.local_day_bounds(first, zone)[0]),
            rules.from_minute(rules.local_day_bounds(final, zone)[1]),
        )
        for location, zone, _options, ids in plans
    ]
    exceptions = setup.search_exceptions(exception_plans)
    if exceptions is None:  # a search that starts before the exceptions kept
        exceptions = _search_exceptions(actor.organization_id, exception_plans)
    known = {
        location.pk: Schedule(zone=zone, templates=templates[location.pk], exceptions=exceptions[location.pk])
        for location, zone, _options, _ids in plans
    }
    # Narrow searches read more days at a time: about SEARCH_CHUNK_RESOURCE_DAYS resource-days a query.
    width = len({i for *_rest, ids in plans for i in ids})
    chunk_start = first
    chunk_days = max(FIRST_CHUNK_DAYS, min(MAX_CHUNK_DAYS, SEARCH_CHUNK_RESOURCE_DAYS // max(width, 1)))
    while plans and chunk_start <= final and len(found) < limit:
        chunk_end = min(chunk_start + dt.timedelta(days=chunk_days - 1), final)
        chunk_days = min(chunk_days * 2, MAX_CHUNK_DAYS)  # most searches end in the first few days
        windows: list[tuple[Location, ZoneInfo, list[list[int]], list[int], list[rules.Interval]]] = []
        for location, zone, options, ids in plans:
            span = (
                rules.local_day_bounds(chunk_start, zone)[0],
                rules.local_day_bounds(chunk_end, zone)[1],
            )
            within = rules.intersect([span], [horizon])
            if not within:
                continue
            within = rules.intersect(
                within,
                rules.weekly_mask(chunk_start, chunk_end, zone, query.weekdays, query.earliest, query.latest),
            )
            if within:
                windows.append((location, zone, options, ids, within))
        # Where each resource might take the visit at each location, from its busy days (absent: anywhere).
        possible: dict[tuple[int, int], list[rules.Interval]] = {}
        passes = [windows]
        if windows and USE_BUSY_DAYS and query.exclude_appointment_id is None:
            windows = _narrow_by_busy_days(
                windows, known, chunk_start, chunk_end, visit_type.pk, footprint, possible
            )
            # Most searches need the first few of many possible times: read the bookings up to the
            # time where enough might be, and the rest of the chunk only if too few of them were free.
            cut = _enough_by(windows, limit - len(found), visit_type.slot_step_minutes)
            passes = [windows] if cut is None else [_clip(windows, None, cut), _clip(windows, cut, None)]
        for n, part in enumerate(passes):
            if n and len(found) >= limit:
                break
            _search_chunk(
                part,
                possible,
                known=known,
                chunk=(chunk_start, chunk_end),
                visit_type=visit_type,
                footprint=footprint,
                credentialed=credentialed,
                exclude_appointment_id=query.exclude_appointment_id,
                limit=limit,
                modality=modality,
                by_id=by_id,
                found=found,
            )
        chunk_start = chunk_end + dt.timedelta(days=1)
    found.sort(key=lambda s: (s.start, s.location_name))
    return found[:limit]


Window = tuple[Location, ZoneInfo, list[list[int]], list[int], list[rules.Interval]]


def _enough_by(windows: Sequence[Window], wanted: int, step: int) -> rules.Minute | None:
    """The `wanted`-th earliest start on the grid among the windows' `within` (after the busy days
    narrowed them), or None when they hold fewer. Every free slot is among these candidates, so when the
    bookings up to there leave `wanted` slots, no later one comes first."""
    if wanted <= 0:
        return None
    points: list[rules.Minute] = []
    for _location, zone, _options, _ids, within in windows:
        for n, point in enumerate(rules.grid_points(within, step, zone)):
            if n >= wanted:
                break
            points.append(point)
    if len(points) < wanted:
        return None
    return sorted(points)[wanted - 1]


def _clip(windows: Sequence[Window], after: rules.Minute | None, until: rules.Minute | None) -> list[Window]:
    """The windows with starts in (after, until] only."""
    low = after + 1 if after is not None else -(2**62)
    high = until + 1 if until is not None else 2**62
    out = []
    for location, zone, options, ids, within in windows:
        part = rules.intersect(within, [(low, high)])
        if part:
            out.append((location, zone, options, ids, part))
    return out


def _search_chunk(
    windows: Sequence[Window],
    possible: dict[tuple[int, int], list[rules.Interval]],
    *,
    known: dict[int, Schedule],
    chunk: tuple[dt.date, dt.date],
    visit_type: VisitType,
    footprint: rules.Footprint,
    credentialed: dict[int, list[rules.Interval]],
    exclude_appointment_id: int | None,
    limit: int,
    modality: str,
    by_id: dict[int, rules.ResourceInfo],
    found: list[Slot],
) -> None:
    """Read the bookings the windows need (where `possible` says, else over each window) and append the
    slots they leave to `found` (at most `limit` per location)."""
    if not windows:
        return
    chunk_start, chunk_end = chunk
    merge = footprint.before + footprint.duration + footprint.after
    if possible:
        ranges: dict[int, list[rules.Interval]] = defaultdict(list)
        for location, _zone, _options, ids, within in windows:
            for i in ids:
                spans = possible.get((location.pk, i))
                if spans is not None:
                    spans = rules.intersect(spans, within)
                    if not spans:
                        continue
                else:
                    spans = within
                # its bookings from a buffer before its first start to the end of a visit at its last
                ranges[i].append(
                    (spans[0][0] - footprint.before, spans[-1][1] - 1 + merge - footprint.before)
                )
        busy = _busy_minutes_in(
            [(i, low, high) for i, parts in sorted(ranges.items()) for low, high in rules.normalize(parts)],
            merge_gaps_under=merge,
        )
    else:
        busy = _busy_minutes(
            sorted({i for window in windows for i in window[3]}),
            rules.from_minute(min(window[4][0][0] for window in windows) - footprint.before),
            rules.from_minute(
                max(window[4][-1][1] for window in windows) + footprint.duration + footprint.after
            ),
            merge_gaps_under=merge,
            exclude_appointment_id=exclude_appointment_id,
        )
    for location, zone, options, ids, within in windows:
        schedule = known[location.pk]
        starts = {
            i: rules.allowed_starts(
                schedule.available(i, chunk_start, chunk_end, visit_type.pk), busy.get(i, []), footprint
            )
            for i in ids
        }
        for i in ids:
            spans = possible.get((location.pk, i))
            if spans is not None:  # its bookings were read only where it might take the visit
                starts[i] = rules.intersect(starts[i], spans)
            if i in credentialed:
                starts[i] = rules.intersect(starts[i], credentialed[i])
        # Time held for one resource (a surgeon's operating-room block): usable with that resource only.
        held: dict[int, dict[int, list[rules.Interval]]] = {}
        for i in ids:
            for holder in sorted(schedule.holders(i).intersection(ids)):
                extra = rules.subtract(
                    rules.allowed_starts(
                        schedule.available(i, chunk_start, chunk_end, visit_type.pk, with_resources={holder}),
                        busy.get(i, []),
                        footprint,
                    ),
                    starts[i],
                )
                if i in credentialed:
                    extra = rules.intersect(extra, credentialed[i])
                if extra:
                    held.setdefault(i, {})[holder] = extra
        requirement_maps = [{i: starts[i] for i in opts} for opts in options]
        for hit in rules.find_slots(
            requirement_maps,
            within=within,
            step=visit_type.slot_step_minutes,
            zone=zone,
            limit=limit,
            held=held,
        ):
            start = rules.from_minute(hit.start).astimezone(zone)
            found.append(
                Slot(
                    start=start,
                    end=start + dt.timedelta(minutes=visit_type.duration_minutes),
                    location_id=location.pk,
                    location_name=location.name,
                    modality=modality,
                    resources=tuple(by_id[i] for i in hit.resources),
                )
            )


def _narrow_by_busy_days(
    windows: list[tuple[Location, ZoneInfo, list[list[int]], list[int], list[rules.Interval]]],
    known: dict[int, Schedule],
    chunk_start: dt.date,
    chunk_end: dt.date,
    visit_type_id: int,
    footprint: rules.Footprint,
    possible: dict[tuple[int, int], list[rules.Interval]],
) -> list[tuple[Location, ZoneInfo, list[list[int]], list[int], list[rules.Interval]]]:
    """A deep search's shortcut (one query): from the resources' busy days (ResourceBusyDay), where each
    might take the visit (a superset of its real starts: a day without a row counts as free), narrowed
    to the times when every requirement has such a resource. Fills `possible` ((location, resource) ->
    those start minutes; resources with time held for another resource, whose extra starts these do not
    cover, are left out: read in full) and returns the windows that can still hold a slot, with `within`
    narrowed. The caller then reads the bookings of `possible` only."""
    every = sorted({i for window in windows for i in window[3]})
    low = min(window[4][0][0] for window in windows) - footprint.before
    high = max(window[4][-1][1] for window in windows) + footprint.duration + footprint.after
    texts: dict[int, list[str]] = defaultdict(list)
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT resource_id, busy FROM {ResourceBusyDay._meta.db_table} "  # noqa: S608 (ids as parameters)
            f"WHERE resource_id IN ({', '.join(['%s'] * len(every))}) AND day >= %s AND day <= %s "
            "AND busy <> '' ORDER BY resource_id, day",
            [
                *every,
                ops.adapt_datefield_value(rules.utc_day(low)),
                ops.adapt_datefield_value(rules.utc_day(high)),
            ],
        )
        for resource_id, text in cursor.fetchall():
            texts[resource_id].append(text)
    busy = {resource_id: rules.busy_day_intervals(" ".join(parts)) for resource_id, parts in texts.items()}
    kept = []
    for location, zone, options, ids, within in windows:
        schedule = known[location.pk]
        here: dict[int, list[rules.Interval] | None] = {}
        for i in ids:
            if schedule.holders(i):
                here[i] = None
                continue
            available = schedule.available(i, chunk_start, chunk_end, visit_type_id)
            here[i] = rules.intersect(rules.allowed_starts(available, busy.get(i, ()), footprint), within)
        alive = within
        for opts in options:
            if any(here[i] is None for i in opts):
                continue
            alive = rules.intersect(alive, rules.normalize(span for i in opts for span in here[i] or ()))
            if not alive:
                break
        if not alive:
            continue
        for i in ids:
            spans = here[i]
            if spans is not None:
                possible[location.pk, i] = rules.intersect(spans, alive)
        kept.append((location, zone, options, ids, alive))
    return kept


def why_no_slots(actor: Actor, query: SlotQuery) -> credentialing.CheckResult | None:
    """When a search for one named practitioner found nothing because the practitioner may not take the
    visit (the organization enforces credentials and the check fails at their home site on the first day
    searched): the reasons in plain words and who could, so the desk is not left with a bare "no times"."""
    organization_id = actor.organization_id
    if organization_id is None or query.practitioner_id is None:
        return None
    if not credentialing.enforcement_on(organization_id):
        return None
    visit_type = VisitType.objects.filter(organization_id=organization_id, pk=query.visit_type_id).first()
    resource = (
        Resource.objects.filter(organization_id=organization_id, practitioner_id=query.practitioner_id)
        .select_related("location")
        .first()
    )
    if visit_type is None or resource is None:
        return None
    location: Location | None = resource.location
    if query.location_id is not None and query.location_id != resource.location_id:
        location = Location.objects.filter(organization_id=organization_id, pk=query.location_id).first()
    if location is None:
        return None
    if (query.modality or visit_type.modality) == Modality.TELEHEALTH:
        if query.patient_id is None:
            return None
        state = (
            patient_selectors.patient_queryset(actor)
            .filter(pk=query.patient_id)
            .values_list("state", flat=True)
            .first()
            or ""
        )
    else:
        state = location.state
    result = credentialing.check_practitioner(
        actor=actor,
        practitioner_id=query.practitioner_id,
        service_code=visit_type.code,
        location_id=location.pk,
        service_state=state,
        on_date=query.first_day or clock.now().astimezone(zone_of(location)).date(),
        service_label=visit_type.name,
    )
    return None if result.ok else result


def _credentialed_starts(
    actor: Actor,
    query: SlotQuery,
    sites: Sequence[tuple[Location, ZoneInfo, Sequence[Sequence[int]]]],
    modality: str,
    service_code: str,
    by_id: dict[int, rules.ResourceInfo],
    first_day: dt.date,
    last_day: dt.date,
    credentials: credentialing.CredentialSetup | None = None,
) -> dict[int, dict[int, list[rules.Interval]]]:
    """The booking path's credential check (credentialing.assert_bookable, when the organization enforces
    it), once for the whole search, every location at once: location id -> practitioner resource -> the
    start minutes on the days they pass (empty: they never do, and are left out); only practitioners who
    do not pass on every day are listed. A location is absent when nothing can be checked there: no
    practitioner among its options, or a telehealth search without a patient (the state whose license
    counts is the patient's)."""
    per_site = {
        location.pk: {
            i: by_id[i].practitioner_id
            for opts in options
            for i in opts
            if by_id[i].practitioner_id is not None
        }
        for location, _zone, options in sites
    }
    per_site = {location_id: found for location_id, found in per_site.items() if found}
    if not per_site:
        return {}
    patient_state: str | None = None
    if modality == Modality.TELEHEALTH:
        if query.patient_id is None:
            return {}
        patient_state = (
            patient_selectors.patient_queryset(actor)
            .filter(pk=query.patient_id)
            .values_list("state", flat=True)
            .first()
            or ""
        )
    checked = [(location, zone) for location, zone, _options in sites if location.pk in per_site]
    days_at = credentialing.passing_days_at(
        actor=actor,
        practitioner_ids=sorted({p for found in per_site.values() for p in found.values() if p is not None}),
        service_code=service_code,
        sites=[
            (location.pk, patient_state if patient_state is not None else location.state)
            for location, _zone in checked
        ],
        first_day=first_day,
        last_day=last_day,
        setup=credentials,
    )
    out: dict[int, dict[int, list[rules.Interval]]] = {}
    for location, zone in checked:
        days = days_at[location.pk]
        allowed: dict[int, list[rules.Interval]] = {}
        for resource_id, practitioner_id in per_site[location.pk].items():
            passing = days.get(practitioner_id or 0, [])
            if passing == [(first_day, last_day)]:
                continue
            allowed[resource_id] = [
                (rules.local_day_bounds(a, zone)[0], rules.local_day_bounds(b, zone)[1]) for a, b in passing
            ]
        out[location.pk] = allowed
    return out


def _search_exceptions(
    organization_id: int, plans: Sequence[tuple[int, Sequence[int], dt.datetime, dt.datetime]]
) -> dict[int, dict[int, list[rules.Interval]]]:
    """For the slot search: location id -> resource id -> its exceptions, as `load_exceptions` gives them
    for each (location, resources, start, end) of `plans`, in one query."""
    if not plans:
        return {}
    every = sorted({i for _location, ids, _start, _end in plans for i in ids})
    rows = AvailabilityException.objects.filter(
        organization_id=organization_id,
        ends_at__gt=min(plan[2] for plan in plans),
        starts_at__lt=max(plan[3] for plan in plans),
    ).filter(
        Q(resource_id__in=every)
        | Q(resource__isnull=True, location_id__in=[plan[0] for plan in plans])
        | Q(resource__isnull=True, location__isnull=True)
    )
    found = list(rows.values_list("resource_id", "location_id", "starts_at", "ends_at"))
    out: dict[int, dict[int, list[rules.Interval]]] = {}
    for location_id, ids, start, end in plans:
        shared: list[rules.Interval] = []
        own: dict[int, list[rules.Interval]] = defaultdict(list)
        wanted = set(ids)
        for resource_id, where, starts_at, ends_at in found:
            if not (ends_at > start and starts_at < end):
                continue
            interval = (rules.to_minute(starts_at), rules.to_minute_ceil(ends_at))
            if resource_id is None:
                if where is None or where == location_id:
                    shared.append(interval)
            elif resource_id in wanted:
                own[resource_id].append(interval)
        out[location_id] = {i: own.get(i, []) + shared for i in ids}
    return out


def _busy_minutes(
    resource_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    *,
    merge_gaps_under: int,
    exclude_appointment_id: int | None = None,
) -> dict[int, list[rules.Interval]]:
    """For the slot search: the blocked minutes of the resources' active bookings that meet [start, end)
    (the rows of `load_busy`), as intervals, where the database merges a resource's bookings less than
    `merge_gaps_under` minutes apart into one. No visit whose blocked range is that long fits between
    them, so the allowed starts are the same (rules.allowed_starts: their forbidden ranges touch), and a
    busy day comes back as a few rows per resource instead of one per booking."""
    rows = AppointmentResource.objects.filter(
        resource_id__in=resource_ids,
        active=True,
        starts_at__lt=end,
        starts_at__gt=start - MAX_BLOCK,
        ends_at__gt=start,
    )
    if exclude_appointment_id is not None:
        rows = rows.exclude(appointment_id=exclude_appointment_id)
    bookings, params = (
        rows.annotate(first_minute=EpochMinute("starts_at"), end_minute=EpochMinute("ends_at"))
        .values_list("resource_id", "first_minute", "end_minute")
        .query.sql_with_params()
    )
    return _merged_busy(_merge_stretches(bookings), [merge_gaps_under, *params])


def _merge_stretches(bookings: str, prefix: str = "") -> str:
    """The SQL that merges the rows of `bookings` (resource_id, first_minute, end_minute) into stretches:
    a booking opens a new stretch unless it starts less than the gap (the first parameter after those
    of `prefix`) after every earlier one's end of the same resource. Only our own SQL goes in."""
    return f"""
        {prefix}
        SELECT resource_id, MIN(first_minute), MAX(end_minute) FROM (
            SELECT resource_id, first_minute, end_minute,
                   SUM(opens) OVER (PARTITION BY resource_id ORDER BY first_minute, end_minute
                                    ROWS UNBOUNDED PRECEDING) AS stretch
            FROM (
                SELECT resource_id, first_minute, end_minute,
                       CASE WHEN first_minute - MAX(end_minute) OVER (
                                PARTITION BY resource_id ORDER BY first_minute, end_minute
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) < %s
                            THEN 0 ELSE 1 END AS opens
                FROM ({bookings}) AS booking
            ) AS flagged
        ) AS stretches
        GROUP BY resource_id, stretch"""  # noqa: S608 (our own compiled SQL, parameters kept apart)


def _merged_busy(sql: str, params: Sequence[Any]) -> dict[int, list[rules.Interval]]:
    """Run a `_merge_stretches` query: resource id -> its stretches, in order."""
    busy: dict[int, list[rules.Interval]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        for resource_id, first_minute, end_minute in cursor.fetchall():
            busy[resource_id].append((first_minute, end_minute))
    for intervals in busy.values():
        intervals.sort()
    return busy


def _busy_minutes_in(
    wanted: Sequence[tuple[int, rules.Minute, rules.Minute]], *, merge_gaps_under: int
) -> dict[int, list[rules.Interval]]:
    """`_busy_minutes` over a range of its own for each resource: (resource id, from, to) in minutes. One
    query: the ranges join the bookings' index as a VALUES list."""
    if not wanted:
        return {}
    vendor_cast = connection.vendor == "postgresql"
    ops = connection.ops
    rows_sql = []
    params: list[Any] = []
    for resource_id, low, high in wanted:
        start, end = rules.from_minute(low), rules.from_minute(high)
        if vendor_cast:
            rows_sql.append("(%s::bigint, %s::timestamptz, %s::timestamptz, %s::timestamptz)")
        else:
            rows_sql.append("(%s, %s, %s, %s)")
        params += [
            resource_id,
            ops.adapt_datetimefield_value(start),
            ops.adapt_datetimefield_value(end),
            ops.adapt_datetimefield_value(start - MAX_BLOCK),
        ]
    table = AppointmentResource._meta.db_table
    epoch = (
        "CAST(FLOOR(EXTRACT(EPOCH FROM {col}) / 60) AS BIGINT)"
        if vendor_cast
        else "(CAST(strftime('%%s', {col}) AS INTEGER) / 60)"
    )
    bookings = f"""
        SELECT b.resource_id AS resource_id, {epoch.format(col="b.starts_at")} AS first_minute,
               {epoch.format(col="b.ends_at")} AS end_minute
        FROM want JOIN {table} AS b ON b.resource_id = want.resource_id AND b.active
             AND b.starts_at < want.high AND b.starts_at > want.earliest AND b.ends_at > want.low"""  # noqa: S608
    values = f"WITH want (resource_id, low, high, earliest) AS (VALUES {', '.join(rows_sql)})"
    return _merged_busy(_merge_stretches(bookings, prefix=values), [*params, merge_gaps_under])


@dataclass(frozen=True)
class ThirdNextAvailable:
    start: dt.datetime | None  # None: fewer than three free slots within the booking horizon
    days_out: int | None


def third_next_available(
    *, actor: Actor, visit_type_id: int, practitioner_id: int, location_id: int | None = None
) -> ThirdNextAvailable:
    """The access measure clinics track: the third free slot from today for a practitioner and visit type
    (the third rather than the first, so one cancellation does not flatter it), in days from today."""
    slots = find_slots(
        actor=actor,
        query=SlotQuery(
            visit_type_id=visit_type_id, practitioner_id=practitioner_id, location_id=location_id, limit=3
        ),
    )
    if len(slots) < 3:
        return ThirdNextAvailable(None, None)
    third = slots[2].start
    today = clock.now().astimezone(third.tzinfo).date()
    return ThirdNextAvailable(third, (third.date() - today).days)


@dataclass(frozen=True)
class AccessRow:
    visit_type: VisitType
    practitioner_id: int
    practitioner_name: str
    third: ThirdNextAvailable
    problem: str = ""  # why there is no answer (e.g. the practitioner may not be booked)


def access_report(*, actor: Actor, location_id: int | None = None) -> list[AccessRow]:
    """Third next available for every active visit type and each active practitioner who offers it (at one
    location, or any), by visit type name then practitioner. Free time only: no patient data, not audited."""
    actor.require(Permission.SCHEDULE_VIEW)
    if location_id is not None:
        get_location(actor=actor, location_id=location_id)  # out of scope: LocationNotFound
    practitioners = practitioner_selectors.practitioner_queryset(actor).filter(active=True)
    visit_types = (
        visit_type_queryset(actor)
        .filter(active=True)
        .prefetch_related(Prefetch("practitioners", queryset=practitioners.order_by("family_name", "pk")))
        .order_by("name", "pk")
    )
    rows = []
    for visit_type in visit_types:
        for practitioner in visit_type.practitioners.all():
            try:
                third = third_next_available(
                    actor=actor,
                    visit_type_id=visit_type.pk,
                    practitioner_id=practitioner.pk,
                    location_id=location_id,
                )
            except (ValidationFailed, Forbidden, Conflict) as exc:  # e.g. not credentialed for it
                third, problem = ThirdNextAvailable(None, None), exc.message
            else:
                problem = ""
            rows.append(AccessRow(visit_type, practitioner.pk, str(practitioner), third, problem))
    return rows


# --- appointments ---------------------------------------------------------------------------------------


def _with_relations(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return appointments.select_related("visit_type", "location", "patient").prefetch_related(
        Prefetch(
            "bookings",
            queryset=AppointmentResource.objects.select_related("resource").order_by(
                "resource__kind", "resource__name"
            ),
        )
    )


@dataclass
class AppointmentDetail:
    appointment: Appointment
    history: list[AppointmentEvent]
    no_shows: int  # the patient's no-shows in this organization
    reminders: list[AppointmentReminder] = field(default_factory=list)
    replies: list[ReminderReply] = field(default_factory=list)


def _in_scope(
    actor: Actor, appointment_id: int, queryset: QuerySet[Appointment] | None = None
) -> Appointment:
    appointments = appointment_queryset(actor) if queryset is None else queryset
    appointment = appointments.filter(pk=appointment_id).first()
    if appointment is None:
        raise AppointmentNotFound(f"No appointment with id {appointment_id}.", details={"id": appointment_id})
    return appointment


def get_appointment(*, actor: Actor, appointment_id: int) -> AppointmentDetail:
    """One appointment with its resources and history (APPOINTMENT_VIEW audit row)."""
    with transaction.atomic():
        appointment = _in_scope(actor, appointment_id, _with_relations(appointment_queryset(actor)))
        history = list(appointment.events.select_related("actor").order_by("occurred_at", "pk"))
        no_shows = Appointment.objects.filter(
            organization_id=appointment.organization_id,
            patient_id=appointment.patient_id,
            status=AppointmentStatus.NO_SHOW,
        ).count()
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_VIEW,
            patient_id=appointment.patient_id,
            obj=appointment,
        )
    return AppointmentDetail(
        appointment,
        history,
        no_shows,
        reminders=list(appointment.reminders.all()),
        replies=list(appointment.replies.all()),
    )


def patient_appointments(
    *, actor: Actor, patient_id: int | None = None, upcoming_only: bool = False
) -> list[Appointment]:
    """A patient's appointments, latest first (at most 200). A portal user gets their own (naming another
    patient answers PatientNotFound, like staff naming a patient outside their organization)."""
    if actor.is_portal:
        if patient_id is not None and patient_id != actor.patient_id:
            raise PatientNotFound(f"No patient with id {patient_id}.")
        patient_id = actor.patient_id or 0
    elif patient_id is None:
        raise ValidationFailed("Which patient?", field="patient_id")
    elif not patient_selectors.patient_queryset(actor).filter(pk=patient_id).exists():
        raise PatientNotFound(f"No patient with id {patient_id}.")
    appointments = appointment_queryset(actor).filter(patient_id=patient_id)
    if upcoming_only:
        appointments = appointments.filter(starts_at__gte=clock.now() - dt.timedelta(hours=12))
    with transaction.atomic():
        rows = list(_with_relations(appointments).order_by("-starts_at", "-pk")[:200])
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_SEARCH,
            patient_id=patient_id,
            detail={"patient_appointments": True, "ids": [a.pk for a in rows]},
        )
    return rows


CHART_VISITS = 5  # upcoming visits the chart's appointments panel lists
_UPCOMING = ACTIVE_STATUSES - {AppointmentStatus.FULFILLED}


@dataclass(frozen=True)
class ChartAppointments:
    upcoming: list[Appointment]  # the next CHART_VISITS, soonest first
    more: int  # upcoming beyond those
    no_shows: int  # in the last 365 days


def chart_appointments(*, actor: Actor, patient_id: int) -> ChartAppointments:
    """What the patient chart shows of a patient's visits (what the desk weighs before booking again): the
    next ones not yet over, soonest first, and the no-shows of the last year. Read (and audited) through
    `patient_appointments`."""
    appointments = patient_appointments(actor=actor, patient_id=patient_id)
    now = clock.now()
    upcoming = sorted(
        (a for a in appointments if a.ends_at >= now and a.status in _UPCOMING), key=lambda a: a.starts_at
    )
    year_ago = now - dt.timedelta(days=365)
    return ChartAppointments(
        upcoming=upcoming[:CHART_VISITS],
        more=max(0, len(upcoming) - CHART_VISITS),
        no_shows=sum(a.status == AppointmentStatus.NO_SHOW and a.starts_at >= year_ago for a in appointments),
    )


# --- the patient portal: what a patient may book themselves ---------------------------------------------


def portal_visit_types(actor: Actor) -> QuerySet[VisitType]:
    """The visit types a portal user may book themselves: active, bookable in the portal, of their
    organization. None for anyone else (staff book through the desk)."""
    if not (actor.is_portal and actor.has(Permission.PORTAL_SELF_SCHEDULE)):
        return VisitType.objects.none()
    return visit_type_queryset(actor).filter(active=True, portal_bookable=True).order_by("name", "pk")


def get_portal_visit_type(*, actor: Actor, visit_type_id: int) -> VisitType:
    """A visit type the portal user may book; VisitTypeNotFound for any other (not bookable online,
    inactive, another organization's), the same answer as for one that does not exist."""
    visit_type = portal_visit_types(actor).filter(pk=visit_type_id).first()
    if visit_type is None:
        raise VisitTypeNotFound(
            "That visit type cannot be booked online; please call the clinic.", field="visit_type_id"
        )
    return visit_type


def portal_practitioners(actor: Actor, visit_type: VisitType | None = None) -> QuerySet[Any]:
    """The practitioners who offer at least one visit type the portal user may book, or `visit_type`
    when given (for "with whom")."""
    bookable = portal_visit_types(actor)
    if visit_type is not None:
        bookable = bookable.filter(pk=visit_type.pk)
    offering = bookable.values("practitioners")
    return (
        practitioner_selectors.practitioner_queryset(actor)
        .filter(pk__in=offering, active=True)
        .order_by("family_key", "given_key", "pk")
    )


def portal_slots(
    *,
    actor: Actor,
    visit_type_id: int,
    practitioner_id: int | None = None,
    location_id: int | None = None,
    weekdays: frozenset[int] | None = None,
    earliest: dt.time | None = None,
    latest: dt.time | None = None,
    limit: int = 10,
) -> list[Slot]:
    """The next free times of a portal-bookable visit type for the portal user themselves: the booking
    rules and the new/established rule are checked for their own record, and the search is audited."""
    actor.require(Permission.PORTAL_SELF_SCHEDULE)
    visit_type = get_portal_visit_type(actor=actor, visit_type_id=visit_type_id)
    query = SlotQuery(
        visit_type_id=visit_type.pk,
        practitioner_id=practitioner_id,
        location_id=location_id,
        weekdays=weekdays,
        earliest=earliest,
        latest=latest,
        patient_id=actor.patient_id,
        limit=limit,
    )
    return find_slots(actor=actor, query=query)


def portal_cancel_problem(
    appointment: Appointment, now: dt.datetime | None = None, *, action: rules.PortalAction = "cancel"
) -> str | None:
    """Why the patient may not cancel (or change the time of) this appointment in the portal (the message
    says to call), or None. Reads the appointment's visit type."""
    visit_type = appointment.visit_type
    return rules.portal_cancel_error(
        appointment.status,
        rules.to_minute(appointment.starts_at),
        rules.to_minute(now or clock.now()),
        visit_type.portal_cancel_notice_hours,
        portal_bookable=visit_type.portal_bookable and visit_type.active,
        action=action,
    )


def portal_refusal(appointment: Appointment, *, action: rules.PortalAction) -> DomainError | None:
    """The error for a visit the patient may not cancel (or move) online, or None: InvalidTransition for
    one no longer booked, CallToCancel ("please call the clinic", with its phone) for one too close to its
    start or not of a type the portal books."""
    problem = portal_cancel_problem(appointment, action=action)
    if problem is None:
        return None
    if appointment.status not in rules.PORTAL_CANCELLABLE:
        return InvalidTransition(problem)
    return CallToCancel(problem, details={"phone": appointment.location.phone})


def get_portal_appointment(*, actor: Actor, appointment_id: int) -> Appointment:
    """One of the portal user's own visits, with its visit type, location and resources (APPOINTMENT_VIEW
    audit row). Another patient's, or any for someone not scheduling in the portal, is AppointmentNotFound,
    the same answer as for one that does not exist."""
    actor.require(Permission.PORTAL_SELF_SCHEDULE)
    own = appointment_queryset(actor) if actor.is_portal else Appointment.objects.none()
    with transaction.atomic():
        appointment = _in_scope(actor, appointment_id, _with_relations(own))
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_VIEW,
            patient_id=appointment.patient_id,
            obj=appointment,
        )
    return appointment


def portal_reschedule_slots(
    *,
    actor: Actor,
    appointment: Appointment,
    practitioner_id: int | None = None,
    location_id: int | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    weekdays: frozenset[int] | None = None,
    earliest: dt.time | None = None,
    latest: dt.time | None = None,
    limit: int = 10,
) -> list[Slot]:
    """The next free times the patient may move one of their own visits (`get_portal_appointment`) to:
    the portal's slot search for its visit type and modality, in which the visit's own time counts as
    free. A visit that cannot be moved online is refused as `portal_refusal` says."""
    actor.require(Permission.PORTAL_SELF_SCHEDULE)
    if not actor.is_portal or appointment.patient_id != actor.patient_id:
        raise AppointmentNotFound(f"No appointment with id {appointment.pk}.", details={"id": appointment.pk})
    refusal = portal_refusal(appointment, action="change")
    if refusal is not None:
        raise refusal
    query = SlotQuery(
        visit_type_id=appointment.visit_type_id,
        practitioner_id=practitioner_id,
        location_id=location_id,
        first_day=first_day,
        last_day=last_day,
        weekdays=weekdays,
        earliest=earliest,
        latest=latest,
        modality=appointment.modality,
        patient_id=actor.patient_id,
        limit=limit,
        exclude_appointment_id=appointment.pk,
    )
    return find_slots(actor=actor, query=query)


@dataclass
class CalendarColumn:
    resource: rules.ResourceInfo
    day: dt.date
    working: list[tuple[dt.datetime, dt.datetime]]  # local
    appointments: list[Appointment]


@dataclass
class Calendar:
    location: Location
    zone: ZoneInfo
    days: list[dt.date]
    resources: list[rules.ResourceInfo]  # every resource one could show at the location
    columns: list[CalendarColumn]
    cancelled: list[Appointment]  # cancelled and no-show appointments in the range (listed, not drawn)


def calendar(
    *,
    actor: Actor,
    location_id: int,
    first_day: dt.date,
    days: int = 1,
    resource_id: int | None = None,
    kind: str | None = None,
) -> Calendar:
    """A location's appointments over `days` days from `first_day`, a column per resource (a day) or per
    day (a week of one resource); `kind` keeps the columns of one kind of resource (practitioners, rooms or
    equipment). Writes one APPOINTMENT_SEARCH row with the criteria and the ids shown."""
    if not 1 <= days <= 7:
        raise ValidationFailed("A calendar shows 1 to 7 days.", field="days")
    actor.require(Permission.SCHEDULE_VIEW)
    location = get_location(actor=actor, location_id=location_id)
    zone = zone_of(location)
    assert actor.organization_id is not None
    day_list = [first_day + dt.timedelta(days=n) for n in range(days)]
    start = rules.from_minute(rules.local_day_bounds(day_list[0], zone)[0])
    end = rules.from_minute(rules.local_day_bounds(day_list[-1], zone)[1])
    templates_here = set(
        AvailabilityTemplate.objects.filter(
            organization_id=actor.organization_id, location_id=location.pk
        ).values_list("resource_id", flat=True)
    )
    resources = [
        r
        for r in resource_infos(actor.organization_id)
        if r.location_id == location.pk or r.id in templates_here
    ]
    shown = [
        r
        for r in resources
        if (resource_id is None or r.id == resource_id) and (kind is None or r.kind == kind)
    ]
    if resource_id is not None and not shown:
        raise ValidationFailed("That resource is not scheduled at this location.", field="resource_id")
    ids = [r.id for r in shown]
    schedule = load_schedule(
        organization_id=actor.organization_id, location=location, resource_ids=ids, start=start, end=end
    )
    with transaction.atomic():
        appointments = list(
            _with_relations(appointment_queryset(actor))
            .filter(location_id=location.pk, starts_at__lt=end, ends_at__gt=start)
            .filter(bookings__resource_id__in=ids)
            .distinct()
            .order_by("starts_at", "pk")
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_SEARCH,
            detail={
                "calendar": {
                    "location": location.pk,
                    "from": first_day.isoformat(),
                    "days": days,
                    "resource": resource_id,
                    "kind": kind,
                },
                "ids": [a.pk for a in appointments],
                "result_ids": sorted({a.patient_id for a in appointments}),  # the patients shown
            },
        )
    by_resource: dict[int, list[Appointment]] = defaultdict(list)
    cancelled = []
    for appointment in appointments:
        if not rules.holds_time(appointment.status):
            cancelled.append(appointment)
            continue
        for booking in appointment.bookings.all():
            by_resource[booking.resource_id].append(appointment)
    columns = []
    for day in day_list:
        for resource in shown:
            working = [
                (rules.from_minute(a).astimezone(zone), rules.from_minute(b).astimezone(zone))
                for a, b in schedule.available(resource.id, day, day, None, any_use=True)
            ]
            day_bounds = rules.local_day_bounds(day, zone)
            columns.append(
                CalendarColumn(
                    resource=resource,
                    day=day,
                    working=working,
                    appointments=[
                        a
                        for a in by_resource.get(resource.id, [])
                        if rules.overlaps(
                            (rules.to_minute(a.starts_at), rules.to_minute(a.ends_at)), day_bounds
                        )
                    ],
                )
            )
    return Calendar(location, zone, day_list, resources, columns, cancelled)


# --- practitioners' calendar feeds ------------------------------------------------------------------------

FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=180)
FEED_PERMISSIONS = frozenset({str(Permission.SCHEDULE_VIEW)})


def practitioner_feed(*, token: str) -> bytes:
    """The calendar (iCalendar bytes) of the practitioner whose feed token this is: their appointments
    from 30 days ago to 180 days ahead, with visit type, place and time only. FeedNotFound for a token
    that is unknown or was replaced. Reading it writes SCHEDULE_FEED_READ (the appointment ids listed)."""
    feed = (
        PractitionerFeed.objects.select_related("practitioner")
        .filter(token_hash=rules.feed_token_hash(token or ""))
        .first()
    )
    if feed is None:
        raise FeedNotFound("No calendar feed at this address.")
    actor = system_actor(
        organization_id=feed.organization_id,
        permissions=FEED_PERMISSIONS,
        channel="web",
        username="calendar-feed",
    )
    now = clock.now()
    with transaction.atomic():
        appointments = list(
            appointment_queryset(actor)
            .filter(
                bookings__resource__practitioner_id=feed.practitioner_id,
                bookings__active=True,
                starts_at__gte=now - FEED_PAST,
                starts_at__lt=now + FEED_AHEAD,
            )
            .select_related("visit_type", "location")
            .distinct()
            .order_by("starts_at", "pk")
        )
        PractitionerFeed.objects.filter(pk=feed.pk).update(last_read_at=now)
        audit.record(
            actor=actor,
            action=AuditAction.SCHEDULE_FEED_READ,
            obj=feed,
            detail={"practitioner_id": feed.practitioner_id, "appointment_ids": [a.pk for a in appointments]},
        )
    practitioner = feed.practitioner
    events = [
        ical.FeedEvent(
            uid=f"appointment-{a.pk}@caredesk",
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            visit_type=a.visit_type.name,
            location="Telehealth" if a.modality == Modality.TELEHEALTH else a.location.name,
            confirmed=a.status != AppointmentStatus.PROPOSED,
        )
        for a in appointments
    ]
    name = f"Appointments: {practitioner.given_name} {practitioner.family_name}"
    return ical.build_feed(name, events, now)


@dataclass(frozen=True)
class FeedState:
    practitioner_id: int
    name: str
    issued_at: dt.datetime | None
    last_read_at: dt.datetime | None


def feed_states(*, actor: Actor) -> list[FeedState]:
    """Every practitioner of the organization with a schedule resource, and their feed's state."""
    actor.require(Permission.SCHEDULE_MANAGE)
    feeds = {
        f.practitioner_id: f
        for f in PractitionerFeed.objects.filter(organization_id=actor.organization_id or 0)
    }
    practitioners = (
        practitioner_selectors.practitioner_queryset(actor)
        .filter(pk__in=resource_queryset(actor).filter(practitioner__isnull=False).values("practitioner_id"))
        .order_by("family_name", "given_name", "pk")
    )
    return [
        FeedState(
            p.pk,
            f"{p.family_name}, {p.given_name}",
            feeds[p.pk].issued_at if p.pk in feeds else None,
            feeds[p.pk].last_read_at if p.pk in feeds else None,
        )
        for p in practitioners
    ]


# --- the waitlist -------------------------------------------------------------------------------------------


@dataclass
class Waitlist:
    visit_type: VisitType
    entries: list[WaitlistEntry]  # waiting, in the order offers go out
    offers: list[WaitlistOffer]  # the latest offers of this visit type's openings


def waitlist(*, actor: Actor, visit_type_id: int) -> Waitlist:
    """A visit type's waitlist and its recent offers (WAITLIST_VIEW: the patient ids shown)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        visit_type = get_visit_type(actor=actor, visit_type_id=visit_type_id, active_only=False)
        entries = list(
            WaitlistEntry.objects.filter(visit_type=visit_type, status=WaitlistStatus.WAITING)
            .select_related("patient", "practitioner")
            .order_by("priority", "created_at", "pk")
        )
        offers = list(
            WaitlistOffer.objects.filter(opening__visit_type=visit_type)
            .select_related("entry__patient", "opening__location")
            .order_by("-sent_at", "-pk")[:50]
        )
        shown = sorted({e.patient_id for e in entries} | {o.entry.patient_id for o in offers})
        audit.record(
            actor=actor,
            action=AuditAction.WAITLIST_VIEW,
            obj=visit_type,
            detail={"visit_type": visit_type.code, "patient_ids": shown},
        )
    return Waitlist(visit_type, entries, offers)


@dataclass(frozen=True)
class WaitlistSummary:
    visit_type: VisitType
    waiting: int
    oldest: dt.datetime | None  # when the longest-waiting patient was added
    open_offers: int


def waitlist_overview(*, actor: Actor) -> list[WaitlistSummary]:
    """Every visit type's waitlist in numbers: active visit types, and inactive ones someone still waits
    for. Counts and dates only, no patient is named: not audited (the per-visit-type page is)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    waiting = {
        row["visit_type_id"]: row
        for row in WaitlistEntry.objects.filter(
            organization_id=actor.organization_id or 0, status=WaitlistStatus.WAITING
        )
        .values("visit_type_id")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
    }
    offers = dict(
        WaitlistOffer.objects.filter(
            opening__organization_id=actor.organization_id or 0,
            status=OfferStatus.OPEN,
            expires_at__gt=clock.now(),
        )
        .values("opening__visit_type_id")
        .annotate(count=Count("pk"))
        .values_list("opening__visit_type_id", "count")
    )
    visit_types = visit_type_queryset(actor).filter(Q(active=True) | Q(pk__in=waiting)).order_by("name", "pk")
    return [
        WaitlistSummary(
            visit_type,
            waiting[visit_type.pk]["count"] if visit_type.pk in waiting else 0,
            waiting[visit_type.pk]["oldest"] if visit_type.pk in waiting else None,
            offers.get(visit_type.pk, 0),
        )
        for visit_type in visit_types
    ]


def offer_for_link(*, actor: Actor, offer_id: int) -> WaitlistOffer:
    """The offer a patient's link names, for its page (visit type, place, time; no names)."""
    offer = (
        WaitlistOffer.objects.select_related("opening__visit_type", "opening__location", "entry")
        .filter(pk=offer_id, opening__organization_id=actor.organization_id or 0)
        .first()
    )
    if offer is None:
        raise AppointmentNotFound("There is no such offer.")
    audit.record(
        actor=actor,
        action=AuditAction.APPOINTMENT_VIEW,
        patient_id=offer.entry.patient_id,
        obj=offer,
        detail={"waitlist_offer": offer.pk},
    )
    return offer


# --- the setup pages' lists (configuration, not patient data: not audited) -------------------------------


def template_queryset(actor: Actor) -> QuerySet[AvailabilityTemplate]:
    if actor.organization_id is None:
        return AvailabilityTemplate.objects.none()
    return AvailabilityTemplate.objects.filter(organization_id=actor.organization_id)


def exception_queryset(actor: Actor) -> QuerySet[AvailabilityException]:
    if actor.organization_id is None:
        return AvailabilityException.objects.none()
    return AvailabilityException.objects.filter(organization_id=actor.organization_id)


# --- check-in: what the front desk confirms and collects ------------------------------------------------


@dataclass(frozen=True)
class CheckInCoverage:
    """The patient's active primary coverage as the front desk needs it at check-in (read-only). `copay`
    is the payer's latest eligibility answer, else the plan's usual co-pay; None: unknown (self-pay or
    not on file). `visible` is False when the actor's role may not see coverage."""

    visible: bool = True
    payer: str = ""
    plan: str = ""
    member_id: str = ""
    copay: Decimal | None = None
    copay_source: str = ""  # "eligibility" or "plan"
    eligibility: str = ""  # the latest check's status, e.g. "Coverage active"
    eligibility_status: str = ""
    checked_on: dt.date | None = None

    @property
    def found(self) -> bool:
        return bool(self.plan)


def check_in_coverage(*, actor: Actor, patient_id: int) -> CheckInCoverage:
    """Read through the coverage app's audited overview (COVERAGE_VIEW row naming the patient)."""
    try:
        overview = coverage_selectors.coverage_overview(actor=actor, patient_id=patient_id)
    except (Forbidden, PatientNotFound):
        return CheckInCoverage(visible=False)
    primary = next((row for row in overview.active if row.coverage.order == CoverageOrder.PRIMARY), None)
    if primary is None:
        return CheckInCoverage()
    coverage = primary.coverage
    copay, source = None, ""
    if primary.summary is not None and primary.summary.copay is not None:
        copay, source = primary.summary.copay, "eligibility"
    elif coverage.plan.copay is not None:
        copay, source = coverage.plan.copay, "plan"
    check = primary.latest_check
    return CheckInCoverage(
        payer=coverage.plan.payer.name,
        plan=coverage.plan.name,
        member_id=coverage.member_id,
        copay=copay,
        copay_source=source,
        eligibility=check.get_status_display() if check is not None else "",
        eligibility_status=check.status if check is not None else "",
        checked_on=check.created_at.date() if check is not None else None,
    )


# --- schedules and appointment search (the FHIR facade's Schedule and Appointment) -----------------------


@dataclass(frozen=True)
class ResourceSchedule:
    """One resource's schedule: the resource (with its location) and the active visit types it can serve
    (a requirement of the visit type that the resource meets). Not patient data."""

    resource: Resource
    visit_types: tuple[VisitType, ...]


def resource_schedules(
    *,
    actor: Actor,
    resource_id: int | None = None,
    practitioner_id: int | None = None,
    visit_type_code: str | None = None,
    active_only: bool = True,
) -> list[ResourceSchedule]:
    """The organization's resources as schedules, by kind and name; narrowed to one resource, one
    practitioner's, or those serving a visit type (by its code)."""
    resources = resource_queryset(actor).select_related("location").order_by("kind", "name", "id")
    if active_only:
        resources = resources.filter(active=True)
    if resource_id is not None:
        resources = resources.filter(pk=resource_id)
    if practitioner_id is not None:
        resources = resources.filter(practitioner_id=practitioner_id)
    visit_types = list(
        visit_type_queryset(actor)
        .filter(active=True)
        .prefetch_related("requirements", "practitioners")
        .order_by("name", "id")
    )
    if visit_type_code is not None:
        visit_types = [vt for vt in visit_types if vt.code == visit_type_code]
    plans = [(vt, requirements_of(vt), frozenset(p.pk for p in vt.practitioners.all())) for vt in visit_types]
    found: list[ResourceSchedule] = []
    for resource in resources:
        info = rules.ResourceInfo(
            id=resource.pk,
            kind=resource.kind,
            name=resource.name,
            location_id=resource.location_id,
            practitioner_id=resource.practitioner_id,
            category=resource.category,
        )
        serves = tuple(
            vt
            for vt, needs, offering in plans
            if any(
                rules.candidates(need, [info], location_id=info.location_id, offered_by=offering)
                for need in needs
            )
        )
        if visit_type_code is not None and not serves:
            continue
        found.append(ResourceSchedule(resource, serves))
    return found


@dataclass(frozen=True)
class AppointmentPage:
    results: list[Appointment]
    has_next: bool


def search_appointments(
    *,
    actor: Actor,
    patient_id: int | None = None,
    practitioner_id: int | None = None,
    starts_from: dt.datetime | None = None,
    starts_before: dt.datetime | None = None,
    statuses: Iterable[str] | None = None,
    page: int = 1,
    page_size: int = 20,
) -> AppointmentPage:
    """Appointments the actor may see (a portal user: their own), by start time, one page; the read is
    audited (APPOINTMENT_SEARCH with the appointment and patient ids shown)."""
    appointments = appointment_queryset(actor)
    if patient_id is not None:
        appointments = appointments.filter(patient_id=patient_id)
    if practitioner_id is not None:
        appointments = appointments.filter(
            Exists(
                AppointmentResource.objects.filter(
                    appointment=OuterRef("pk"), resource__practitioner_id=practitioner_id
                )
            )
        )
    if starts_from is not None:
        appointments = appointments.filter(starts_at__gte=starts_from)
    if starts_before is not None:
        appointments = appointments.filter(starts_at__lt=starts_before)
    if statuses is not None:
        appointments = appointments.filter(status__in=list(statuses))
    offset = (max(page, 1) - 1) * page_size
    with transaction.atomic():
        rows = list(
            _with_relations(appointments).order_by("starts_at", "pk")[offset : offset + page_size + 1]
        )
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        patients = sorted({a.patient_id for a in rows})
        audit.record(
            actor=actor,
            action=AuditAction.APPOINTMENT_SEARCH,
            patient_id=patient_id
            if patient_id is not None
            else (patients[0] if len(patients) == 1 else None),
            detail={
                "criteria": {
                    "patient_id": patient_id,
                    "practitioner_id": practitioner_id,
                    "from": starts_from.isoformat() if starts_from else None,
                    "before": starts_before.isoformat() if starts_before else None,
                    "statuses": sorted(statuses) if statuses is not None else None,
                    "page": page,
                },
                "ids": [a.pk for a in rows],
                "result_ids": patients,
            },
        )
    return AppointmentPage(rows, has_next)
