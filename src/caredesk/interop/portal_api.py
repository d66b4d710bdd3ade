"""Patient self-scheduling in the JSON API (/api/v1/portal/...): the visit types a patient may book
online, their next free times, booking one for themselves, moving their own visits to another free time
and cancelling them.

For a portal user's bearer token (PORTAL_SELF_SCHEDULE, held by the patient role only). The patient is
always the token's own record: no endpoint takes a patient id. The same services as the portal's pages: a
time taken meanwhile answers 409 `slot_conflict` "That time was just taken; pick another." (without whose
appointment is in the way); a visit too close to its start answers 409 `call_to_cancel` (for a move too).

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.scheduling import selectors, services
from caredesk.scheduling.authorizations import check_booked
from caredesk.scheduling.models import VisitType

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .scheduling_api import (
    WRITE_ERRORS,
    AppointmentId,
    AppointmentOut,
    BookedOut,
    SlotListOut,
    VisitTypeId,
    slot_list,
)
from .schemas import InputSchema

TAGS = ["portal"]


class PortalVisitTypeOut(Schema):
    id: int
    code: str
    name: str
    duration_minutes: int
    modality: str
    eligibility: str
    min_notice_minutes: int
    max_days_ahead: int
    portal_cancel_notice_hours: int = Field(description="Cancellable online up to this many hours before")


class PortalVisitTypeListOut(Schema):
    results: list[PortalVisitTypeOut]


class PortalSlotFilters(Schema):
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID)
    location_id: int | None = Field(None, ge=1, le=MAX_ID)
    weekdays: list[int] | None = Field(None, description="0 = Monday … 6 = Sunday")
    earliest: dt.time | None = Field(None, description="Earliest start, local time")
    latest: dt.time | None = Field(None, description="Latest start, local time")
    limit: int = Field(10, ge=1, le=selectors.MAX_SLOTS)

    def preferences(self) -> dict[str, Any]:
        """The filters as the portal slot selectors take them."""
        return {
            "practitioner_id": self.practitioner_id,
            "location_id": self.location_id,
            "weekdays": frozenset(self.weekdays) if self.weekdays is not None else None,
            "earliest": self.earliest,
            "latest": self.latest,
            "limit": self.limit,
        }


class PortalBookingIn(InputSchema):
    visit_type_id: int = Field(ge=1, le=MAX_ID)
    location_id: int = Field(ge=1, le=MAX_ID)
    start: dt.datetime = Field(description="A slot's start, with its UTC offset")
    resource_ids: list[int] | None = Field(None, description="The slot's resources")


class PortalRescheduleIn(InputSchema):
    location_id: int = Field(ge=1, le=MAX_ID)
    start: dt.datetime = Field(description="A slot's start, with its UTC offset")
    resource_ids: list[int] | None = Field(None, description="The slot's resources")


class PortalCancelIn(InputSchema):
    note: str = Field("", max_length=300, description="The patient's reason, in their words (optional)")


@endpoint(
    "GET",
    "/portal/visit-types",
    Permission.PORTAL_SELF_SCHEDULE,
    response={200: PortalVisitTypeListOut, **ERRORS},
    summary="Visit types a patient may book online",
    tags=TAGS,
)
def list_portal_visit_types(request: HttpRequest) -> Any:
    """The organization's active visit types bookable in the portal, by name."""
    rows: list[VisitType] = list(selectors.portal_visit_types(actor_of(request)))
    return {"results": rows}


@endpoint(
    "GET",
    "/portal/visit-types/{visit_type_id}/slots",
    Permission.PORTAL_SELF_SCHEDULE,
    response={200: SlotListOut, **ERRORS},
    summary="The next free times for the patient",
    tags=TAGS,
)
def find_portal_slots(
    request: HttpRequest, visit_type_id: VisitTypeId, filters: Query[PortalSlotFilters]
) -> Any:
    """The earliest free times of a visit type bookable online, within its booking rules, the patient's
    preferences and the new/established rule for the patient's own record (audited). A visit type not
    bookable online answers 404 `visit_type_not_found`."""
    found = selectors.portal_slots(
        actor=actor_of(request),
        visit_type_id=visit_type_id,
        **filters.preferences(),
    )
    return slot_list(found)


@endpoint(
    "POST",
    "/portal/appointments",
    Permission.PORTAL_SELF_SCHEDULE,
    response={201: BookedOut, **WRITE_ERRORS},
    summary="Book a visit for oneself",
    tags=TAGS,
)
def book_portal_appointment(request: HttpRequest, payload: PortalBookingIn, response: HttpResponse) -> Any:
    """201 with the appointment (source `portal`); 409 `slot_conflict` when the time was taken meanwhile;
    400 `booking_rule` for notice, horizon and new/established refusals; 404 for a visit type not
    bookable online."""
    actor = actor_of(request)
    appointment = services.book_from_portal(
        actor=actor,
        visit_type_id=payload.visit_type_id,
        start=payload.start,
        location_id=payload.location_id,
        resource_ids=payload.resource_ids,
    )
    appointment.booking_warnings = check_booked(actor, [appointment])  # type: ignore[attr-defined]
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/appointments/{appointment.pk}")
    return Status(201, appointment)


@endpoint(
    "POST",
    "/portal/appointments/{appointment_id}/cancel",
    Permission.PORTAL_SELF_SCHEDULE,
    response={200: AppointmentOut, **WRITE_ERRORS},
    summary="Cancel one's own visit",
    tags=TAGS,
)
def cancel_portal_appointment(
    request: HttpRequest, appointment_id: AppointmentId, payload: PortalCancelIn
) -> Any:
    """Reason `patient_request` with the patient's note; the time goes to the waitlist. 409
    `call_to_cancel` too close to the start (or for a visit not booked online), `invalid_transition` for
    one no longer booked; another patient's appointment answers 404."""
    return services.cancel_from_portal(
        actor=actor_of(request), appointment_id=appointment_id, note=payload.note
    )


@endpoint(
    "GET",
    "/portal/appointments/{appointment_id}/slots",
    Permission.PORTAL_SELF_SCHEDULE,
    response={200: SlotListOut, **WRITE_ERRORS},
    summary="The next free times one's own visit may move to",
    tags=TAGS,
)
def find_portal_reschedule_slots(
    request: HttpRequest, appointment_id: AppointmentId, filters: Query[PortalSlotFilters]
) -> Any:
    """The earliest free times of the visit's own visit type (and modality), with the same preferences as
    the visit type's slot search; the visit's current time counts as free. 409 `call_to_cancel` for a visit
    that cannot be moved online (too close to its start, or not of a type booked online),
    `invalid_transition` for one no longer booked; another patient's appointment answers 404."""
    actor = actor_of(request)
    appointment = selectors.get_portal_appointment(actor=actor, appointment_id=appointment_id)
    found = selectors.portal_reschedule_slots(
        actor=actor,
        appointment=appointment,
        **filters.preferences(),
    )
    return slot_list(found)


@endpoint(
    "POST",
    "/portal/appointments/{appointment_id}/reschedule",
    Permission.PORTAL_SELF_SCHEDULE,
    response={200: AppointmentOut, **WRITE_ERRORS},
    summary="Move one's own visit to another free time",
    tags=TAGS,
)
def reschedule_portal_appointment(
    request: HttpRequest, appointment_id: AppointmentId, payload: PortalRescheduleIn
) -> Any:
    """The same appointment at a time `GET /portal/appointments/{id}/slots` offers (its start, location and
    resources), the move kept in its history. 409 `slot_conflict` "That time was just taken; pick another."
    when it was taken meanwhile (or never offered), `call_to_cancel` too close to the start (or for a visit
    not booked online), `invalid_transition` for one no longer booked; another patient's appointment
    answers 404. Not counted against the limit on upcoming visits booked online."""
    return services.reschedule_from_portal(
        actor=actor_of(request),
        appointment_id=appointment_id,
        start=payload.start,
        location_id=payload.location_id,
        resource_ids=payload.resource_ids,
    )
