"""Scheduling setup in the JSON API (/api/v1/...): the organization's schedulable resources (practitioners,
rooms, equipment), visit types, weekly availability templates and exceptions (time off, holidays,
closures), listed and created through the scheduling services, which check and audit.

Bad input answers 400 with the field at fault (an overlapping template, an end before its start, an
unknown location or practitioner …); a duplicate (a second resource with the same name at a location, a
visit type code in use) 409. Nothing is written then.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.scheduling import selectors, services
from caredesk.scheduling.models import AvailabilityException, AvailabilityTemplate

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .scheduling_api import VisitTypeOut
from .schemas import ErrorOut, InputSchema

TAGS = ["scheduling setup"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}
MAX_ROWS = 1000


# --- resources -----------------------------------------------------------------------------------------


class SetupResourceOut(Schema):
    id: int
    kind: str
    name: str
    location_id: int
    practitioner_id: int | None
    category: str
    active: bool


class SetupResourceListOut(Schema):
    results: list[SetupResourceOut]


class ResourceFilters(Schema):
    kind: str | None = Field(None, description="practitioner, room or equipment")
    location_id: int | None = Field(None, ge=1, le=MAX_ID)
    category: str | None = None
    include_inactive: bool = False


class ResourceIn(InputSchema):
    kind: str = Field(description="practitioner, room or equipment")
    location_id: int = Field(ge=1, le=MAX_ID, description="Its home site")
    name: str = Field(
        "", max_length=120, description="Rooms and equipment; a practitioner is named after them"
    )
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID)
    category: str = Field("", max_length=40, description="exam, procedure, operating, ecg …")


@endpoint(
    "GET",
    "/scheduling/resources",
    Permission.SCHEDULE_VIEW,
    response={200: SetupResourceListOut, **ERRORS},
    summary="Schedulable resources",
    tags=TAGS,
)
def list_resources(request: HttpRequest, filters: Query[ResourceFilters]) -> Any:
    """Practitioners, rooms and equipment, by kind and name (active ones unless `include_inactive`)."""
    rows = selectors.resource_queryset(actor_of(request))
    if not filters.include_inactive:
        rows = rows.filter(active=True)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.location_id:
        rows = rows.filter(location_id=filters.location_id)
    if filters.category:
        rows = rows.filter(category=filters.category.lower())
    return {"results": list(rows.order_by("kind", "name", "pk")[:MAX_ROWS])}


@endpoint(
    "POST",
    "/scheduling/resources",
    Permission.SCHEDULE_MANAGE,
    response={201: SetupResourceOut, **WRITE_ERRORS},
    summary="Add a schedulable resource",
    tags=TAGS,
)
def create_resource(request: HttpRequest, payload: ResourceIn) -> Any:
    """A room or piece of equipment (with a name), or a practitioner (one resource per practitioner).
    409 `duplicate_resource` when it exists already."""
    resource = services.create_resource(
        actor=actor_of(request),
        kind=payload.kind,
        location_id=payload.location_id,
        name=payload.name,
        practitioner_id=payload.practitioner_id,
        category=payload.category,
    )
    return Status(201, resource)


# --- visit types ---------------------------------------------------------------------------------------


class RequirementIn(InputSchema):
    kind: str = Field(description="practitioner, room or equipment")
    resource_id: int | None = Field(None, ge=1, le=MAX_ID, description="This very resource")
    category: str = Field("", max_length=40, description="Or any resource of this category")


class VisitTypeIn(InputSchema):
    name: str = Field(max_length=120)
    code: str = Field(max_length=40, description="Letters, digits, - and _")
    duration_minutes: int
    requirements: list[RequirementIn] = Field(min_length=1, max_length=10)
    practitioner_ids: list[int] = Field(default_factory=list, description="Who offers it (none: anyone)")
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    slot_step_minutes: int = 15
    modality: str = "in_person"
    eligibility: str = "any"
    min_notice_minutes: int = 0
    max_days_ahead: int = 180
    portal_bookable: bool = Field(False, description="Patients may book it (and cancel it) in the portal")
    portal_cancel_notice_hours: int = Field(
        24, ge=0, le=720, description="In the portal, cancellable up to this many hours before the start"
    )

    def to_input(self) -> services.VisitTypeInput:
        fields = self.model_dump(exclude={"requirements"})
        requirements = [
            services.RequirementInput(r.kind, r.resource_id, r.category) for r in self.requirements
        ]
        return services.VisitTypeInput(requirements=requirements, **fields)


@endpoint(
    "POST",
    "/visit-types",
    Permission.SCHEDULE_MANAGE,
    response={201: VisitTypeOut, **WRITE_ERRORS},
    summary="Add a visit type",
    tags=TAGS,
)
def create_visit_type(request: HttpRequest, payload: VisitTypeIn) -> Any:
    """Duration, buffers, the resources it needs, who offers it and its booking rules. 400 with the field
    at fault (a duration out of range, an unknown resource or practitioner …); 409 for a code in use."""
    return Status(201, services.create_visit_type(actor=actor_of(request), data=payload.to_input()))


# --- weekly templates ----------------------------------------------------------------------------------


class WindowIO(InputSchema):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start: dt.time = Field(description="Local time at the template's location")
    end: dt.time
    week_interval: int = Field(1, ge=1, le=4, description="Every week (1), every other week (2) …")
    reserved_for_id: int | None = Field(None, ge=1, le=MAX_ID, description="A visit type this block is for")
    reserved_for_surgeon_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="A surgeon (practitioner resource) this block is held for; rooms' templates only",
    )


class TemplateOut(Schema):
    id: int
    resource_id: int
    location_id: int
    name: str
    effective_from: dt.date
    effective_until: dt.date | None
    windows: list[WindowIO]

    @staticmethod
    def resolve_windows(obj: AvailabilityTemplate) -> list[dict[str, Any]]:
        return [
            {
                "weekday": w.weekday,
                "start": w.start_time,
                "end": w.end_time,
                "week_interval": w.week_interval,
                "reserved_for_id": w.reserved_for_id,
                "reserved_for_surgeon_id": w.reserved_for_surgeon_id,
            }
            for w in obj.windows.order_by("weekday", "start_time", "pk")
        ]


class TemplateListOut(Schema):
    results: list[TemplateOut]


class TemplateFilters(Schema):
    resource_id: int | None = Field(None, ge=1, le=MAX_ID)
    location_id: int | None = Field(None, ge=1, le=MAX_ID)


class TemplateIn(InputSchema):
    resource_id: int = Field(ge=1, le=MAX_ID)
    location_id: int = Field(ge=1, le=MAX_ID, description="Where the resource works in these hours")
    name: str = Field(max_length=120)
    effective_from: dt.date
    effective_until: dt.date | None = None
    windows: list[WindowIO] = Field(min_length=1, max_length=100)

    def to_input(self) -> services.TemplateInput:
        return services.TemplateInput(
            resource_id=self.resource_id,
            location_id=self.location_id,
            name=self.name,
            effective_from=self.effective_from,
            effective_until=self.effective_until,
            windows=[
                services.WindowInput(
                    w.weekday, w.start, w.end, w.week_interval, w.reserved_for_id, w.reserved_for_surgeon_id
                )
                for w in self.windows
            ],
        )


@endpoint(
    "GET",
    "/scheduling/availability-templates",
    Permission.SCHEDULE_VIEW,
    response={200: TemplateListOut, **ERRORS},
    summary="Weekly availability templates",
    tags=TAGS,
)
def list_templates(request: HttpRequest, filters: Query[TemplateFilters]) -> Any:
    """Every template with its weekly windows, latest first (of a resource or location when given)."""
    rows = selectors.template_queryset(actor_of(request)).prefetch_related("windows")
    if filters.resource_id:
        rows = rows.filter(resource_id=filters.resource_id)
    if filters.location_id:
        rows = rows.filter(location_id=filters.location_id)
    found: list[AvailabilityTemplate] = list(rows.order_by("-effective_from", "-pk")[:MAX_ROWS])
    return {"results": found}


@endpoint(
    "POST",
    "/scheduling/availability-templates",
    Permission.SCHEDULE_MANAGE,
    response={201: TemplateOut, **WRITE_ERRORS},
    summary="Add a weekly availability template",
    tags=TAGS,
)
def create_template(request: HttpRequest, payload: TemplateIn) -> Any:
    """A resource's weekly hours at a location from `effective_from` (until `effective_until`). 400 for
    windows that end before they start or overlap each other or another template of the resource."""
    return Status(
        201, services.create_availability_template(actor=actor_of(request), data=payload.to_input())
    )


# --- exceptions ----------------------------------------------------------------------------------------


class ExceptionOut(Schema):
    id: int
    kind: str
    resource_id: int | None
    location_id: int | None
    start: dt.datetime
    end: dt.datetime
    reason: str

    @staticmethod
    def resolve_start(obj: AvailabilityException) -> dt.datetime:
        return obj.starts_at

    @staticmethod
    def resolve_end(obj: AvailabilityException) -> dt.datetime:
        return obj.ends_at


class ExceptionListOut(Schema):
    results: list[ExceptionOut]


class ExceptionFilters(Schema):
    since: dt.date | None = Field(None, description="Those ending on or after this day (default: today)")


class ExceptionIn(InputSchema):
    kind: str = Field(description="time_off, holiday, closure or partial_day")
    start: dt.datetime = Field(description="With its UTC offset")
    end: dt.datetime
    resource_id: int | None = Field(None, ge=1, le=MAX_ID, description="A resource's time off")
    location_id: int | None = Field(None, ge=1, le=MAX_ID, description="A location's closure")
    reason: str = Field("", max_length=200)


@endpoint(
    "GET",
    "/scheduling/availability-exceptions",
    Permission.SCHEDULE_VIEW,
    response={200: ExceptionListOut, **ERRORS},
    summary="Availability exceptions",
    tags=TAGS,
)
def list_exceptions(request: HttpRequest, filters: Query[ExceptionFilters]) -> Any:
    """Time off, holidays and closures that have not ended before `since`, by start."""
    since = filters.since or dt.datetime.now(dt.UTC).date()
    start = dt.datetime.combine(since, dt.time(0), tzinfo=dt.UTC) - dt.timedelta(days=1)
    rows = selectors.exception_queryset(actor_of(request)).filter(ends_at__gt=start)
    return {"results": list(rows.order_by("starts_at", "pk")[:MAX_ROWS])}


@endpoint(
    "POST",
    "/scheduling/availability-exceptions",
    Permission.SCHEDULE_MANAGE,
    response={201: ExceptionOut, **WRITE_ERRORS},
    summary="Add an availability exception",
    tags=TAGS,
)
def create_exception(request: HttpRequest, payload: ExceptionIn) -> Any:
    """A resource's (time off, partial day), a location's (closure) or, with neither, the whole
    organization's (holiday). Appointments already booked stay. 400 for an end before the start."""
    exception = services.add_availability_exception(
        actor=actor_of(request),
        kind=payload.kind,
        starts_at=payload.start,
        ends_at=payload.end,
        resource_id=payload.resource_id,
        location_id=payload.location_id,
        reason=payload.reason,
    )
    return Status(201, exception)
