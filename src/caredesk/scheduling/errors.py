"""Coded errors of the scheduling app. The JSON API and the pages switch on `code`."""

from __future__ import annotations

from typing import Any

from caredesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class AppointmentNotFound(NotFound):
    """Missing, or outside the actor's scope (the same answer for both)."""

    code = "appointment_not_found"


class VisitTypeNotFound(NotFound):
    code = "visit_type_not_found"


class ResourceNotFound(NotFound):
    code = "resource_not_found"


class LocationNotFound(NotFound):
    code = "location_not_found"


class InvalidTime(ValidationFailed):
    """Naive or misaligned datetimes, end before start, an unknown time zone, a time in the past."""

    code = "invalid_time"


class InvalidTemplate(ValidationFailed):
    """An availability template or exception that contradicts itself or another one."""

    code = "invalid_template"


class BookingRuleViolation(ValidationFailed):
    """The visit type's booking rules say no: minimum notice, maximum days ahead, new vs established."""

    code = "booking_rule"


class ResourcesUnavailable(Conflict):
    """The resources asked for do not work then (outside their hours, on leave, block reserved), or do not
    fit the visit type's requirements."""

    code = "resources_unavailable"


class SlotConflict(Conflict):
    """Another active appointment holds one of the resources at an overlapping time. `details` lists the
    conflicts (resource, start, end); `details["detected_by"]` says whether the check inside the booking
    transaction saw it ("check") or the database constraint refused the write ("database")."""

    code = "slot_conflict"


class SeriesConflict(Conflict):
    """A recurring series could not be booked whole; nothing was booked. `details["occurrences"]` lists
    every occurrence that failed and why."""

    code = "series_conflict"

    def __init__(self, message: str, *, occurrences: list[dict[str, Any]]) -> None:
        super().__init__(message, details={"occurrences": occurrences})
        self.occurrences = occurrences


class InvalidTransition(Conflict):
    """The appointment's status does not allow this step (e.g. checking in a cancelled appointment)."""

    code = "invalid_transition"


class CallToCancel(Conflict):
    """A patient may not cancel this visit in the portal (too close to the start, or not a visit the portal
    books); the message tells them to call the clinic."""

    code = "call_to_cancel"


class StaleAppointment(Conflict):
    """Someone changed the appointment since the form was opened."""

    code = "stale_appointment"


class FeedNotFound(NotFound):
    """No calendar feed has this token (never issued, or replaced)."""

    code = "feed_not_found"


class OfferUnavailable(Conflict):
    """A waitlist offer that can no longer be accepted (expired, taken by someone else, answered)."""

    code = "offer_unavailable"


class InvalidReplyLink(ValidationFailed):
    """A confirm/cancel link that is forged, damaged or out of date."""

    code = "invalid_reply_link"


class UnknownReply(NotFound):
    """An SMS reply that answers no reminder we sent (unknown number, nothing upcoming, or not C / X)."""

    code = "unknown_reply"


class SurgicalCaseNotFound(NotFound):
    code = "surgical_case_not_found"


class SurgeryPlanNotFound(NotFound):
    code = "surgery_plan_not_found"


class InvalidSurgicalCase(ValidationFailed):
    """A case that contradicts itself: a duration of 0, a window that ends before it starts, a surgeon who
    is not a practitioner, equipment that is not equipment."""

    code = "invalid_surgical_case"


class SurgeryPlanConflict(Conflict):
    """A plan (or one moved item) that breaks a rule: overlapping cases, a room or surgeon booked meanwhile,
    time outside the block. `details["items"]` lists each case that failed and why; nothing was changed."""

    code = "surgery_plan_conflict"

    def __init__(self, message: str, *, items: list[dict[str, Any]], field: str | None = None) -> None:
        super().__init__(message, field=field, details={"items": items})
        self.items = items


__all__ = [
    "AppointmentNotFound",
    "BookingRuleViolation",
    "DomainError",
    "FeedNotFound",
    "InvalidReplyLink",
    "InvalidSurgicalCase",
    "InvalidTemplate",
    "InvalidTime",
    "InvalidTransition",
    "LocationNotFound",
    "OfferUnavailable",
    "ResourceNotFound",
    "ResourcesUnavailable",
    "SeriesConflict",
    "SlotConflict",
    "StaleAppointment",
    "SurgeryPlanConflict",
    "SurgeryPlanNotFound",
    "SurgicalCaseNotFound",
    "UnknownReply",
    "ValidationFailed",
    "VisitTypeNotFound",
]
