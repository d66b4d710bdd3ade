"""Scheduling in the JSON API (/api/v1/...): visit types, free slots and "third next available", a
patient's appointments, one appointment, booking (one or a weekly series), cancelling and rescheduling,
and changing an appointment's status or notes (PATCH).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Times are ISO 8601 with their UTC offset, given back
in the location's time zone; a time without an offset is refused (`invalid_timezone`). A booking that
meets another answers 409 `slot_conflict` with the appointments in the way under `conflicts`; a series
that cannot be booked whole answers 409 `series_conflict` with every failed visit under `occurrences`.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import ValidationFailed
from caredesk.scheduling import selectors, services
from caredesk.scheduling.authorizations import check_booked
from caredesk.scheduling.choices import AppointmentStatus
from caredesk.scheduling.errors import SeriesConflict, SlotConflict
from caredesk.scheduling.models import Appointment, VisitType

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .errors import error_response
from .schemas import ErrorOut, InputSchema

AppointmentId = PathEx[int, P(ge=1, le=MAX_ID, description="The appointment's id")]
PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
VisitTypeId = PathEx[int, P(ge=1, le=MAX_ID, description="The visit type's id")]
OWN_RECORD = (Permission.PORTAL_OWN_RECORD,)
TAGS = ["scheduling"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


# --- bodies --------------------------------------------------------------------------------------------


class ResourceOut(Schema):
    id: int
    kind: str
    name: str


class AppointmentOut(Schema):
    id: int
    patient_id: int
    visit_type_id: int
    visit_type: str = Field(description="The visit type's code")
    location_id: int
    modality: str
    start: dt.datetime = Field(description="In the location's time zone")
    end: dt.datetime
    status: str
    source: str
    resources: list[ResourceOut]
    notes: str
    cancel_reason: str
    cancel_note: str
    join_url: str
    series_id: int | None
    version: int = Field(description="Send it back with a change (optimistic locking)")

    @staticmethod
    def resolve_visit_type(obj: Appointment) -> str:
        return obj.visit_type.code

    @staticmethod
    def resolve_start(obj: Appointment) -> dt.datetime:
        return obj.local_start

    @staticmethod
    def resolve_end(obj: Appointment) -> dt.datetime:
        return obj.local_end

    @staticmethod
    def resolve_resources(obj: Appointment) -> list[dict[str, Any]]:
        return [
            {"id": b.resource_id, "kind": b.resource.kind, "name": b.resource.name}
            for b in obj.bookings.select_related("resource").order_by("resource_id")
        ]


class AppointmentListOut(Schema):
    results: list[AppointmentOut]


class BookedOut(AppointmentOut):
    warnings: list[str] = Field(
        description="Booked, but the desk should act before the visit (e.g. the payer requires a prior "
        "authorization that is missing, expired or used up; a front-desk task was opened for it)"
    )

    @staticmethod
    def resolve_warnings(obj: Appointment) -> list[str]:
        return list(getattr(obj, "booking_warnings", []))


class SeriesOut(Schema):
    series_id: int
    appointments: list[AppointmentOut]
    warnings: list[str] = Field(default_factory=list, description="As for one booking, for the series")


class VisitTypeOut(Schema):
    id: int
    code: str
    name: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    modality: str
    eligibility: str
    min_notice_minutes: int
    max_days_ahead: int
    portal_bookable: bool = Field(description="Patients may book it themselves in the portal")


class VisitTypeListOut(Schema):
    results: list[VisitTypeOut]


class SlotOut(Schema):
    start: dt.datetime
    end: dt.datetime
    location_id: int
    modality: str
    resources: list[ResourceOut]


class SlotListOut(Schema):
    results: list[SlotOut]


def slot_list(found: list[selectors.Slot]) -> dict[str, Any]:
    """Free times as SlotListOut: each with its start, end, location, modality and the resources it uses."""
    return {
        "results": [
            {
                "start": slot.start,
                "end": slot.end,
                "location_id": slot.location_id,
                "modality": slot.modality,
                "resources": [{"id": r.id, "kind": r.kind, "name": r.name} for r in slot.resources],
            }
            for slot in found
        ]
    }


class ThirdNextAvailableOut(Schema):
    start: dt.datetime | None
    days_out: int | None


class SlotFilters(Schema):
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID)
    location_id: int | None = Field(None, ge=1, le=MAX_ID)
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    weekdays: list[int] | None = Field(None, description="0 = Monday … 6 = Sunday")
    earliest: dt.time | None = Field(None, description="Earliest start, local time")
    latest: dt.time | None = Field(None, description="Latest start, local time")
    modality: str | None = Field(None, description="in_person or telehealth")
    patient_id: int | None = Field(None, ge=1, le=MAX_ID, description="Checks new vs established")
    limit: int = Field(10, ge=1, le=selectors.MAX_SLOTS)


class ThirdNextFilters(Schema):
    practitioner_id: int = Field(ge=1, le=MAX_ID)
    location_id: int | None = Field(None, ge=1, le=MAX_ID)


class BookingIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID)
    visit_type_id: int = Field(ge=1, le=MAX_ID)
    location_id: int = Field(ge=1, le=MAX_ID)
    start: dt.datetime = Field(description="With its UTC offset, e.g. 2027-03-01T09:00:00-05:00")
    resource_ids: list[int] | None = Field(None, description="Omit to take the first free combination")
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID)
    modality: str | None = None
    notes: str = ""
    proposed: bool = False
    override_reason: str = Field(
        "", max_length=2000, description="Administrators: book past a failed credential check (kept, audited)"
    )

    def to_request(self) -> services.BookingRequest:
        return services.BookingRequest(
            patient_id=self.patient_id,
            visit_type_id=self.visit_type_id,
            location_id=self.location_id,
            start=self.start,
            resource_ids=self.resource_ids,
            practitioner_id=self.practitioner_id,
            modality=self.modality,
            source="api",
            notes=self.notes,
            proposed=self.proposed,
            override_reason=self.override_reason,
        )


class SeriesIn(BookingIn):
    every_weeks: int = Field(ge=1, le=4)
    occurrences: int = Field(ge=2, le=services.MAX_SERIES)


class CancelIn(InputSchema):
    reason: str = Field(description="patient_request, patient_illness, practitioner_unavailable, …")
    note: str = ""
    version: int | None = None


class RescheduleIn(InputSchema):
    start: dt.datetime
    location_id: int | None = Field(None, ge=1, le=MAX_ID)
    resource_ids: list[int] | None = None
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID)
    version: int | None = None
    reason: str = ""


class AppointmentPatch(InputSchema):
    status: str | None = Field(
        None,
        description="booked (a proposed one), confirmed, arrived (check-in), in_progress, fulfilled, "
        "cancelled (with `cancel_reason`) or noshow (also spelt no_show)",
    )
    cancel_reason: str | None = Field(None, description="With status cancelled: patient_request, …")
    cancel_note: str = Field("", description="With status cancelled; required for reason `other`")
    notes: str | None = Field(None, description="Replaces the appointment's notes")
    demographics_confirmed: bool = Field(False, description="With status arrived")
    coverage_confirmed: bool = Field(False, description="With status arrived")
    version: int | None = Field(None, description="As read: 409 `stale_appointment` when it changed since")


def _conflict(exc: SlotConflict | SeriesConflict) -> JsonResponse:
    """409 with the whole listing (the API's generic mapping keeps plain detail values only)."""
    if isinstance(exc, SeriesConflict):
        return error_response(exc.http_status, exc.code, exc.message, occurrences=exc.occurrences)
    return error_response(
        exc.http_status,
        exc.code,
        exc.message,
        field=exc.field,
        conflicts=exc.details.get("conflicts", []),
        detected_by=exc.details.get("detected_by"),
    )


def _location_path(request: HttpRequest, appointment: Appointment) -> str:
    return request.build_absolute_uri(f"{API_PREFIX}/appointments/{appointment.pk}")


# --- visit types and slots -----------------------------------------------------------------------------


@endpoint(
    "GET",
    "/visit-types",
    Permission.SCHEDULE_VIEW,
    response={200: VisitTypeListOut, **ERRORS},
    summary="Visit types",
    tags=TAGS,
)
def list_visit_types(request: HttpRequest) -> Any:
    """The organization's active visit types, by name."""
    rows: list[VisitType] = list(
        selectors.visit_type_queryset(actor_of(request)).filter(active=True).order_by("name")
    )
    return {"results": rows}


@endpoint(
    "GET",
    "/visit-types/{visit_type_id}/slots",
    Permission.APPOINTMENT_BOOK,
    response={200: SlotListOut, **ERRORS},
    summary="Free slots",
    tags=TAGS,
)
def find_slots(request: HttpRequest, visit_type_id: VisitTypeId, filters: Query[SlotFilters]) -> Any:
    """The earliest start times at which every resource the visit type needs is free, within its booking
    rules and the preferences given. Book one by sending its start, location and resource ids."""
    found = selectors.find_slots(
        actor=actor_of(request),
        query=selectors.SlotQuery(
            visit_type_id=visit_type_id,
            practitioner_id=filters.practitioner_id,
            location_id=filters.location_id,
            first_day=filters.first_day,
            last_day=filters.last_day,
            weekdays=frozenset(filters.weekdays) if filters.weekdays is not None else None,
            earliest=filters.earliest,
            latest=filters.latest,
            modality=filters.modality,
            patient_id=filters.patient_id,
            limit=filters.limit,
        ),
    )
    return slot_list(found)


@endpoint(
    "GET",
    "/visit-types/{visit_type_id}/third-next-available",
    Permission.SCHEDULE_VIEW,
    response={200: ThirdNextAvailableOut, **ERRORS},
    summary="Third next available",
    tags=TAGS,
)
def third_next_available(
    request: HttpRequest, visit_type_id: VisitTypeId, filters: Query[ThirdNextFilters]
) -> Any:
    """The third free slot from today for a practitioner and visit type, and how many days out it is
    (null when there are fewer than three within the booking horizon)."""
    found = selectors.third_next_available(
        actor=actor_of(request),
        visit_type_id=visit_type_id,
        practitioner_id=filters.practitioner_id,
        location_id=filters.location_id,
    )
    return {"start": found.start, "days_out": found.days_out}


# --- appointments ----------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/patients/{patient_id}/appointments",
    Permission.SCHEDULE_VIEW,
    also=OWN_RECORD,
    response={200: AppointmentListOut, **ERRORS},
    summary="A patient's appointments",
    tags=TAGS,
)
def list_patient_appointments(request: HttpRequest, patient_id: PatientId) -> Any:
    """Latest first (a portal user: their own only). Audited."""
    rows = selectors.patient_appointments(actor=actor_of(request), patient_id=patient_id)
    return {"results": rows}


@endpoint(
    "GET",
    "/appointments/{appointment_id}",
    Permission.SCHEDULE_VIEW,
    also=OWN_RECORD,
    response={200: AppointmentOut, **ERRORS},
    summary="Read an appointment",
    tags=TAGS,
)
def read_appointment(request: HttpRequest, appointment_id: AppointmentId) -> Any:
    """One appointment with its resources (a portal user: their own only). Audited."""
    return selectors.get_appointment(actor=actor_of(request), appointment_id=appointment_id).appointment


@endpoint(
    "POST",
    "/appointments",
    Permission.APPOINTMENT_BOOK,
    response={201: BookedOut, **WRITE_ERRORS},
    summary="Book an appointment",
    tags=TAGS,
)
def book_appointment(request: HttpRequest, payload: BookingIn, response: HttpResponse) -> Any:
    """201 with the appointment; 409 `slot_conflict` (with `conflicts`) when a resource is taken then,
    `resources_unavailable` when one does not work then; 400 for bad times and booking-rule refusals."""
    actor = actor_of(request)
    try:
        appointment = services.book_appointment(actor=actor, request=payload.to_request())
    except SlotConflict as exc:
        return _conflict(exc)
    appointment.booking_warnings = check_booked(actor, [appointment])  # type: ignore[attr-defined]
    response["Location"] = _location_path(request, appointment)
    return Status(201, appointment)


@endpoint(
    "POST",
    "/appointment-series",
    Permission.APPOINTMENT_BOOK,
    response={201: SeriesOut, **WRITE_ERRORS},
    summary="Book a weekly series",
    tags=TAGS,
)
def book_series(request: HttpRequest, payload: SeriesIn) -> Any:
    """All or nothing: 409 `series_conflict` lists every visit that cannot be booked, and none is."""
    actor = actor_of(request)
    try:
        appointments = services.book_series(
            actor=actor,
            request=payload.to_request(),
            every_weeks=payload.every_weeks,
            occurrences=payload.occurrences,
        )
    except (SeriesConflict, SlotConflict) as exc:
        return _conflict(exc)
    warnings = check_booked(actor, appointments)
    return Status(
        201, {"series_id": appointments[0].series_id, "appointments": appointments, "warnings": warnings}
    )


@endpoint(
    "POST",
    "/appointments/{appointment_id}/cancel",
    Permission.APPOINTMENT_BOOK,
    response={200: AppointmentOut, **WRITE_ERRORS},
    summary="Cancel an appointment",
    tags=TAGS,
)
def cancel_appointment(request: HttpRequest, appointment_id: AppointmentId, payload: CancelIn) -> Any:
    """With a coded reason (a note is required for `other`); the time is freed, the history kept."""
    return services.cancel_appointment(
        actor=actor_of(request),
        appointment_id=appointment_id,
        reason=payload.reason,
        note=payload.note,
        expected_version=payload.version,
    )


@endpoint(
    "PATCH",
    "/appointments/{appointment_id}",
    Permission.APPOINTMENT_BOOK,
    response={200: AppointmentOut, **WRITE_ERRORS},
    summary="Change an appointment's status or notes",
    tags=TAGS,
)
def update_appointment(request: HttpRequest, appointment_id: AppointmentId, payload: AppointmentPatch) -> Any:
    """A status step and/or new notes, all or nothing, each through the same use case as the desk's
    buttons: `confirmed`, `in_progress`, `fulfilled` or `booked` (a proposed one); `arrived` (check-in, on
    the day); `cancelled` with `cancel_reason` (and `cancel_note`); `noshow` (after the grace period).
    A step the status does not allow answers 409 `invalid_transition` with the reason; a missing
    cancellation reason or an unknown status 400 `validation_error`; nothing is changed then."""
    actor = actor_of(request)
    if payload.status is None and payload.notes is None:
        raise ValidationFailed("Send a `status`, `notes` or both.", field="status")
    if payload.status != AppointmentStatus.CANCELLED and (payload.cancel_reason or payload.cancel_note):
        raise ValidationFailed(
            "A cancellation reason goes with status `cancelled` only.", field="cancel_reason"
        )
    version = payload.version
    with transaction.atomic():
        if payload.status is not None:
            appointment = _change_status(actor, appointment_id, payload, version)
            version = None  # checked by the status step; the notes follow it
        if payload.notes is not None:
            appointment = services.update_notes(
                actor=actor, appointment_id=appointment_id, notes=payload.notes, expected_version=version
            )
    return appointment


def _change_status(
    actor: Actor, appointment_id: int, payload: AppointmentPatch, version: int | None
) -> Appointment:
    status = payload.status
    if status == AppointmentStatus.CANCELLED:
        if not payload.cancel_reason:
            raise ValidationFailed("Give a `cancel_reason` to cancel.", field="cancel_reason")
        return services.cancel_appointment(
            actor=actor,
            appointment_id=appointment_id,
            reason=payload.cancel_reason,
            note=payload.cancel_note,
            expected_version=version,
        )
    if status == AppointmentStatus.ARRIVED:
        return services.check_in(
            actor=actor,
            appointment_id=appointment_id,
            expected_version=version,
            demographics_confirmed=payload.demographics_confirmed,
            coverage_confirmed=payload.coverage_confirmed,
        )
    if status in (AppointmentStatus.NO_SHOW, "no_show"):
        return services.mark_no_show(actor=actor, appointment_id=appointment_id, expected_version=version)
    if status in AppointmentStatus.values and status != AppointmentStatus.PROPOSED:
        return services.change_status(
            actor=actor, appointment_id=appointment_id, status=str(status), expected_version=version
        )
    raise ValidationFailed(f"{status!r} is not a status an appointment can be given.", field="status")


@endpoint(
    "POST",
    "/appointments/{appointment_id}/reschedule",
    Permission.APPOINTMENT_BOOK,
    response={200: AppointmentOut, **WRITE_ERRORS},
    summary="Reschedule an appointment",
    tags=TAGS,
)
def reschedule_appointment(request: HttpRequest, appointment_id: AppointmentId, payload: RescheduleIn) -> Any:
    """Move it (same id; history kept). Without `resource_ids` it keeps its resources when they are free
    then. 409 `slot_conflict`, `stale_appointment` (send `version` as read) or `invalid_transition`."""
    try:
        return services.reschedule_appointment(
            actor=actor_of(request),
            appointment_id=appointment_id,
            start=payload.start,
            location_id=payload.location_id,
            resource_ids=payload.resource_ids,
            practitioner_id=payload.practitioner_id,
            expected_version=payload.version,
            reason=payload.reason,
        )
    except SlotConflict as exc:
        return _conflict(exc)
