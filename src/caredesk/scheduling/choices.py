"""Status sets and other closed vocabularies of scheduling."""

from __future__ import annotations

from django.db import models


class ResourceKind(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    ROOM = "room", "Room"
    EQUIPMENT = "equipment", "Equipment"


class VisitModality(models.TextChoices):
    """How a visit type may be delivered."""

    IN_PERSON = "in_person", "In person"
    TELEHEALTH = "telehealth", "Telehealth"
    EITHER = "either", "In person or telehealth"


class Modality(models.TextChoices):
    """How one appointment is delivered. Telehealth appointments need practitioners only (no rooms or
    equipment) and carry a join link."""

    IN_PERSON = "in_person", "In person"
    TELEHEALTH = "telehealth", "Telehealth"


class PatientEligibility(models.TextChoices):
    ANY = "any", "New and established patients"
    NEW = "new", "New patients only"
    ESTABLISHED = "established", "Established patients only"


class ExceptionKind(models.TextChoices):
    """Every kind takes time away from the regular weekly template."""

    TIME_OFF = "time_off", "Time off"
    HOLIDAY = "holiday", "Holiday"
    CLOSURE = "closure", "Closure"
    PARTIAL_DAY = "partial_day", "Partial day (unavailable part)"


class AppointmentStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    ARRIVED = "arrived", "Arrived"
    IN_PROGRESS = "in_progress", "In progress"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "noshow", "No-show"


# Statuses whose appointment holds its resources' time. A cancelled appointment frees it, and so does a
# no-show (the patient did not come: the time may go to a walk-in). Kept in step with
# AppointmentResource.active by the services; the database's no-double-booking guard reads that flag.
ACTIVE_STATUSES: frozenset[str] = frozenset(
    {
        AppointmentStatus.PROPOSED,
        AppointmentStatus.BOOKED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.FULFILLED,
    }
)


class AppointmentSource(models.TextChoices):
    DESK = "desk", "Front desk"
    PHONE = "phone", "Phone"
    PORTAL = "portal", "Patient portal"
    API = "api", "API"
    WAITLIST = "waitlist", "Waitlist"


class CancelReason(models.TextChoices):
    PATIENT_REQUEST = "patient_request", "Patient request"
    PATIENT_ILLNESS = "patient_illness", "Patient ill or hospitalized"
    PRACTITIONER_UNAVAILABLE = "practitioner_unavailable", "Practitioner unavailable"
    CLINIC_CLOSURE = "clinic_closure", "Clinic closure"
    WEATHER = "weather", "Weather"
    BOOKED_IN_ERROR = "booked_in_error", "Booked in error"
    LEFT_WITHOUT_BEING_SEEN = "left_without_being_seen", "Left without being seen"
    OTHER = "other", "Other"


class AppointmentEventKind(models.TextChoices):
    BOOKED = "booked", "Booked"
    RESCHEDULED = "rescheduled", "Rescheduled"
    STATUS_CHANGED = "status_changed", "Status changed"
    CANCELLED = "cancelled", "Cancelled"
    CHECKED_IN = "checked_in", "Checked in"
    NO_SHOW = "no_show", "Marked no-show"
    PATIENT_MERGED = "patient_merged", "Patient record merged"


class ReminderStatus(models.TextChoices):
    SENDING = "sending", "Sending"  # claimed; a crash here never sends twice (at most once)
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"  # no allowed channel, or superseded by a later reminder
    FAILED = "failed", "Failed"


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class ReplyAnswer(models.TextChoices):
    CONFIRM = "confirm", "Confirm"
    CANCEL = "cancel", "Cancel"


class ReplyOutcome(models.TextChoices):
    CONFIRMED = "confirmed", "Appointment confirmed"
    CANCELLED = "cancelled", "Appointment cancelled"
    UNCHANGED = "unchanged", "Nothing to change"


# Statuses whose appointments get reminders.
REMINDABLE_STATUSES: frozenset[str] = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED})


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


class OpeningStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    CLOSED = "closed", "Closed (no taker in time)"


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    LAPSED = "lapsed", "Lapsed"


class CasePriority(models.IntegerChoices):
    """How soon a requested surgical case must happen (the planner places urgent cases first)."""

    URGENT = 1, "1 · Urgent"
    SOON = 2, "2 · Soon"
    ROUTINE = 3, "3 · Routine"
    ELECTIVE = 4, "4 · Elective"


class CaseStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PLANNED = "planned", "Planned (in a draft plan)"
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"


class SurgeryPlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    BOOKED = "booked", "Booked"
    SUPERSEDED = "superseded", "Superseded"
