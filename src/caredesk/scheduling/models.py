"""Scheduling: what can be booked (resources), what is booked (visit types, appointments), when it can be
(weekly availability templates, their exceptions and reserved blocks) and what happened (the history).

Times: `DateTimeField`s are stored in UTC and shown in the location's time zone (`Location.timezone`);
template windows are local wall-clock times of their location, expanded day by day (so 08:00 stays
08:00 across daylight-saving changes).

No resource is ever double-booked. Each appointment holds one `AppointmentResource` row per resource,
carrying the resource and the time range it blocks (the visit plus the visit type's buffers) and an
`active` flag that the services keep equal to "the appointment's status holds time" (choices.
ACTIVE_STATUSES). Migration 0002 makes the database refuse two active rows of one resource whose ranges
overlap: an exclusion constraint on PostgreSQL, triggers on SQLite (where writers are also serialized,
see settings). Neither is declared in Meta: they are vendor-specific and live in that migration only.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel

from .choices import (
    AppointmentEventKind,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
    CasePriority,
    CaseStatus,
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
    SurgeryPlanStatus,
    VisitModality,
    WaitlistStatus,
)

# The name of the database's no-double-booking guard (migration 0002), as errors report it.
OVERLAP_CONSTRAINT = "sched_booking_no_overlap"
MAX_DURATION_MINUTES = 24 * 60
MAX_BUFFER_MINUTES = 240
# The longest range one booking row can block: lets "busy between A and B" queries bound their index scan.
MAX_BLOCK = dt.timedelta(minutes=MAX_DURATION_MINUTES + 2 * MAX_BUFFER_MINUTES)


class SetupVersion(models.Model):
    """An organization's scheduling set-up version: a random number drawn anew, by database triggers in
    the same transaction, on every insert, update or delete of what the slot search and the booking
    check read as set-up (locations, resources, visit types, their requirements and practitioners,
    templates, windows, exceptions; practitioners, licenses, DEA registrations, privileges and the
    credentialing setting). Processes cache that set-up under this number (setup_cache): one read of it
    tells whether their copy is current. Random rather than counted, so a number seen inside a
    transaction that rolled back is never drawn again for other data. Triggers, not services, bump it:
    the tables belong to several apps (below scheduling in the layers) and admin or bulk writes count
    too (migration 0011). No foreign key: a trigger may write it while tables are being emptied."""

    organization_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"Set-up of organization {self.organization_id}: {self.version}"


class Resource(OrganizationScopedModel):
    """Something an appointment occupies: a practitioner, a room or a piece of equipment.

    A practitioner has at most one resource, whatever the number of sites they work at: their templates
    say where they are on which day, so one person is never booked at two sites at once. `location` is
    the resource's home site (where a room or device is; a practitioner's main site)."""

    kind = models.CharField(max_length=20, choices=ResourceKind.choices)
    name = models.CharField(max_length=120)
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        "practitioners.Practitioner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    category = models.CharField(
        max_length=40,
        blank=True,
        help_text="What a visit type may ask for: exam, procedure, operating, ultrasound, anesthesia …",
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=ResourceKind.PRACTITIONER) & Q(practitioner__isnull=False))
                | (~Q(kind=ResourceKind.PRACTITIONER) & Q(practitioner__isnull=True)),
                name="sched_resource_practitioner_iff_kind",
            ),
            models.UniqueConstraint(
                fields=["practitioner"],
                condition=Q(practitioner__isnull=False),
                name="sched_resource_one_per_practitioner",
            ),
            models.UniqueConstraint(
                fields=["location", "kind", "name"], name="sched_resource_name_unique_at_location"
            ),
        ]
        indexes = [models.Index(fields=["organization", "kind", "location"], name="sched_resource_kind")]

    def __str__(self) -> str:
        return self.name


class VisitType(OrganizationScopedModel):
    """A kind of appointment: how long, what it needs, who offers it and who may book it when."""

    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=40, help_text="Stable short name (API, FHIR service type)")
    duration_minutes = models.PositiveSmallIntegerField()
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    slot_step_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="Start times fall on this grid, counted from local midnight"
    )
    modality = models.CharField(max_length=20, choices=VisitModality.choices, default=VisitModality.IN_PERSON)
    eligibility = models.CharField(
        max_length=20, choices=PatientEligibility.choices, default=PatientEligibility.ANY
    )
    min_notice_minutes = models.PositiveIntegerField(default=0)
    max_days_ahead = models.PositiveSmallIntegerField(default=180)
    practitioners = models.ManyToManyField(
        "practitioners.Practitioner",
        related_name="+",
        blank=True,
        help_text="Who offers this visit type (a practitioner requirement picks among them)",
    )
    portal_bookable = models.BooleanField(
        default=False,
        help_text="Patients may book this visit type themselves in the portal (and cancel it there)",
    )
    portal_cancel_notice_hours = models.PositiveSmallIntegerField(
        default=24, help_text="In the portal, a patient may cancel up to this many hours before the start"
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="sched_visit_type_code_unique"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=MAX_DURATION_MINUTES),
                name="sched_visit_type_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(slot_step_minutes__gte=5) & Q(slot_step_minutes__lte=240),
                name="sched_visit_type_step_range",
            ),
            models.CheckConstraint(
                condition=Q(buffer_before_minutes__lte=MAX_BUFFER_MINUTES)
                & Q(buffer_after_minutes__lte=MAX_BUFFER_MINUTES),
                name="sched_visit_type_buffer_range",
            ),
            models.CheckConstraint(condition=Q(max_days_ahead__gte=1), name="sched_visit_type_horizon"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def blocked_minutes(self) -> int:
        return self.buffer_before_minutes + self.duration_minutes + self.buffer_after_minutes


class VisitTypeRequirement(models.Model):
    """One resource a visit type needs. Either a specific `resource`, or any active resource of `kind`
    (and `category`, when given) at the appointment's location. A practitioner requirement without a
    resource or category means "one of the practitioners who offer the visit type". Rooms and equipment
    are needed in person only; telehealth appointments need their practitioners alone."""

    visit_type = models.ForeignKey(VisitType, on_delete=models.CASCADE, related_name="requirements")
    kind = models.CharField(max_length=20, choices=ResourceKind.choices)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    category = models.CharField(max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resource__isnull=True) | Q(category=""),
                name="sched_requirement_resource_or_category",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit_type}: {self.kind} {self.category or self.resource or ''}".strip()


class AvailabilityTemplate(OrganizationScopedModel):
    """A resource's regular week at one location, in force from `effective_from` to `effective_until`
    (inclusive; open-ended when empty). Its windows must not overlap each other nor the windows of the
    resource's other templates in force on the same days (the services check)."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="templates")
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="sched_template_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.name}"


class AvailabilityWindow(models.Model):
    """Working hours on one weekday (0 = Monday), every `week_interval` weeks counted from the week of
    the template's `effective_from`. `reserved_for` makes it a block only that visit type may use
    (new-patient block, operating-room block time)."""

    template = models.ForeignKey(AvailabilityTemplate, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField()
    start_time = models.TimeField()
    end_time = models.TimeField()
    week_interval = models.PositiveSmallIntegerField(default=1)
    reserved_for = models.ForeignKey(
        VisitType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Operating-room block time held for one surgeon (a practitioner resource): only that surgeon's cases
    # may use it. With `reserved_for` as well, only that surgeon's cases of that procedure.
    reserved_for_surgeon = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="sched_window_weekday"),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="sched_window_order"
            ),
            models.CheckConstraint(
                condition=Q(week_interval__gte=1) & Q(week_interval__lte=8), name="sched_window_interval"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class AvailabilityException(OrganizationScopedModel):
    """Time taken away from the templates: a resource's time off, a location's closure, or (neither set)
    an organization-wide holiday. A partial day is an exception covering part of a day."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    location = models.ForeignKey(
        "accounts.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ExceptionKind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="sched_exception_order"
            )
        ]
        indexes = [models.Index(fields=["organization", "ends_at"], name="sched_exception_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class AppointmentSeries(OrganizationScopedModel):
    """Appointments booked together, all or nothing (weekly physical therapy, 8 times)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    interval_weeks = models.PositiveSmallIntegerField()
    occurrences = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"{self.visit_type}, {self.occurrences} times"


class Appointment(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.IN_PERSON)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    source = models.CharField(
        max_length=20, choices=AppointmentSource.choices, default=AppointmentSource.DESK
    )
    booked_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    booked_by_name = models.CharField(max_length=150)
    notes = models.TextField(blank=True)
    cancel_reason = models.CharField(max_length=40, choices=CancelReason.choices, blank=True)
    cancel_note = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    series = models.ForeignKey(
        AppointmentSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    join_url = models.URLField(blank=True, help_text="Telehealth join link")
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped on every change")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="sched_appointment_order"
            ),
            models.CheckConstraint(
                condition=(Q(status=AppointmentStatus.CANCELLED) & ~Q(cancel_reason=""))
                | (~Q(status=AppointmentStatus.CANCELLED) & Q(cancel_reason="")),
                name="sched_appointment_cancel_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=AppointmentStatus.ARRIVED) | Q(arrived_at__isnull=False),
                name="sched_appointment_arrival_time",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "starts_at"], name="sched_appointment_org_time"),
            models.Index(fields=["location", "starts_at"], name="sched_appointment_loc_time"),
            models.Index(fields=["patient", "starts_at"], name="sched_appointment_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_type} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.location.timezone)

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> dt.datetime:
        return self.ends_at.astimezone(self.zone)


class AppointmentResource(models.Model):
    """One resource held by one appointment, over the range it blocks (the visit and its buffers).
    The database refuses two `active` rows of one resource with overlapping ranges (migration 0002)."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="bookings")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="sched_booking_order"
            ),
            models.UniqueConstraint(fields=["appointment", "resource"], name="sched_booking_resource_once"),
        ]
        indexes = [
            # "Busy between A and B" (the slot search, the booking check) reads every column it needs from
            # this index: no visit to the table per booking row (migration 0007).
            models.Index(
                fields=["resource", "starts_at", "ends_at", "appointment"],
                condition=Q(active=True),
                name="sched_booking_busy_span",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M}"


class ResourceBusyDay(models.Model):
    """A resource's busy minutes on one UTC day (the blocked ranges of its active bookings, clipped to the
    day and merged), as text (rules.busy_day_text). A deep slot search reads these first and then the
    bookings only where the visit can fit. Written by the booking services in the same transaction as
    the bookings they change (services.refresh_busy_days), for every day a changed booking meets;
    `caredesk rebuild_busy_days` writes them all (at deploy, or after loading bookings by other means).
    A missing row counts as a free day and a row that misses a booking as free time, which only costs
    speed (the bookings are read there); a row is never left busier than its bookings."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="UTC day")
    busy = models.TextField(blank=True, help_text="Start and end of each busy range, epoch minutes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "day"], name="sched_busy_day_once")]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.day}: {self.busy}"


class AppointmentEvent(models.Model):
    """The appointment's history as people see it: every change, who made it and what it was. (The
    security audit trail is separate: audit.AuditEvent.)"""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=AppointmentEventKind.choices)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    from_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["appointment", "occurred_at"], name="sched_event_appointment")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class AppointmentReminder(models.Model):
    """One reminder of one appointment, `offset_minutes` before its start. At most one row per appointment
    and offset (unique), claimed before anything is sent, so a reminder never goes out twice."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.SENDING)
    channels = models.JSONField(default=list, blank=True, help_text="The channels it went out through")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Why skipped or failed; where it went")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "offset_minutes"], name="sched_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_id} -{self.offset_minutes} min: {self.status}"


class ReminderReply(models.Model):
    """A patient's answer to a reminder (an SMS "C" / "X", or an e-mail's signed link) and its outcome."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="replies")
    reminder = models.ForeignKey(
        AppointmentReminder, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    channel = models.CharField(max_length=10, choices=ReminderChannel.choices)
    answer = models.CharField(max_length=10, choices=ReplyAnswer.choices)
    outcome = models.CharField(max_length=10, choices=ReplyOutcome.choices)
    received_at = models.DateTimeField()
    text = models.CharField(max_length=160, blank=True, help_text="The SMS as received")

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.appointment_id} {self.answer}: {self.outcome}"


class PractitionerFeed(OrganizationScopedModel):
    """A practitioner's calendar feed (iCalendar) at a secret address. Only the SHA-256 of the address's
    token is kept; issuing a new one (rotation) makes the old address answer 404."""

    practitioner = models.OneToOneField(
        "practitioners.Practitioner", on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField()
    last_read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of practitioner {self.practitioner_id}"


class WaitlistEntry(OrganizationScopedModel):
    """A patient waiting for an earlier time of a visit type (with one practitioner, or anyone who offers
    it), on the days and between the times they can come. Lower `priority` numbers are offered first."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="waitlist")
    practitioner = models.ForeignKey(
        "practitioners.Practitioner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(default=3, help_text="1 (first) to 5")
    preferred_weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday; empty: any day")
    earliest = models.TimeField(null=True, blank=True)
    latest = models.TimeField(null=True, blank=True, help_text="The latest start")
    channel = models.CharField(max_length=10, choices=ReminderChannel.choices)
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_by_name = models.CharField(max_length=150)
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["priority", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=5), name="sched_waitlist_priority_range"
            ),
            models.UniqueConstraint(
                fields=["patient", "visit_type"],
                condition=Q(status="waiting"),
                name="sched_waitlist_once_per_visit_type",
            ),
        ]
        indexes = [models.Index(fields=["visit_type", "status", "priority"], name="sched_waitlist_queue")]

    def __str__(self) -> str:
        return f"{self.visit_type} waitlist: patient {self.patient_id} ({self.get_status_display()})"


class WaitlistOpening(OrganizationScopedModel):
    """Time an appointment freed, offered to waiting patients: the visit type, place, start and the
    resources it held there. The appointment was cancelled, or moved (then each time it left is one
    opening). Filled by the first accepted offer."""

    source = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="+")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    resource_ids = models.JSONField(default=list)
    practitioner_ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=OpeningStatus.choices, default=OpeningStatus.OPEN)
    filled_by = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "starts_at"], name="sched_opening_source_start_unique")
        ]

    def __str__(self) -> str:
        return f"Opening {self.visit_type} {self.starts_at:%Y-%m-%d %H:%M}"


class WaitlistOffer(models.Model):
    """One opening offered to one waiting patient, open until `expires_at`."""

    opening = models.ForeignKey(WaitlistOpening, on_delete=models.CASCADE, related_name="offers")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    channel = models.CharField(max_length=10, choices=ReminderChannel.choices)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["opening", "entry"], name="sched_offer_once_per_entry"),
        ]

    def __str__(self) -> str:
        return f"Offer of {self.opening} to entry {self.entry_id}: {self.status}"


# --- surgery and procedure planning ---------------------------------------------------------------------


class SurgicalCase(OrganizationScopedModel):
    """A requested operation: who, by whom, what (a visit type of the operating kind, with an optional
    procedure code), how long, what equipment, how urgent and between which days. The planner gives it a
    room and a time in a draft plan (status planned); booking the plan books its appointment (booked)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    surgeon = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="+")
    procedure_code = models.CharField(max_length=20, blank=True, help_text="CPT or local code")
    procedure_name = models.CharField(max_length=200, blank=True)
    duration_minutes = models.PositiveSmallIntegerField()
    equipment = models.ManyToManyField(Resource, blank=True, related_name="+")
    priority = models.PositiveSmallIntegerField(choices=CasePriority.choices, default=CasePriority.ROUTINE)
    earliest_date = models.DateField()
    latest_date = models.DateField()
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.REQUESTED)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150)
    notes = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["priority", "earliest_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=MAX_DURATION_MINUTES),
                name="sched_case_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(latest_date__gte=models.F("earliest_date")), name="sched_case_window_order"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=4), name="sched_case_priority_range"
            ),
        ]
        indexes = [models.Index(fields=["organization", "location", "status"], name="sched_case_queue")]

    def __str__(self) -> str:
        return f"{self.procedure_name or self.procedure} for patient {self.patient_id}"

    @property
    def title(self) -> str:
        name = self.procedure_name or self.procedure.name
        return f"{self.procedure_code} {name}".strip()


class SurgeryPlan(OrganizationScopedModel):
    """A draft assignment of cases to operating rooms and times at one location over some days, as the
    optimizer proposed it (and the coordinator adjusted it); booked in one step."""

    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    date_from = models.DateField()
    date_to = models.DateField()
    status = models.CharField(
        max_length=20, choices=SurgeryPlanStatus.choices, default=SurgeryPlanStatus.DRAFT
    )
    method = models.CharField(max_length=20, help_text="cp-sat or first-fit: which plan was kept")
    solver_status = models.CharField(max_length=20, blank=True)
    objective = models.BigIntegerField(help_text="The kept plan's cost (lower is better)")
    baseline_objective = models.BigIntegerField(help_text="The first-fit plan's cost, for comparison")
    baseline_placed = models.PositiveSmallIntegerField(default=0)
    solve_ms = models.PositiveIntegerField(default=0)
    turnover_minutes = models.PositiveSmallIntegerField()
    overtime_cap_minutes = models.PositiveSmallIntegerField()
    unplaced = models.JSONField(default=list, blank=True, help_text="[{case_id, code, reason}]")
    created_by_name = models.CharField(max_length=150)
    booked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(date_to__gte=models.F("date_from")), name="sched_surgery_plan_dates"
            )
        ]

    def __str__(self) -> str:
        return f"Surgery plan {self.pk} ({self.date_from}..{self.date_to})"


class SurgeryPlanItem(models.Model):
    """One case of a plan: its room, its anesthesia provider and its time (the room is then held
    `turnover` minutes longer)."""

    plan = models.ForeignKey(SurgeryPlan, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(SurgicalCase, on_delete=models.PROTECT, related_name="plan_items")
    room = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    anesthetist = models.ForeignKey(
        Resource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The anesthesia provider (a practitioner resource of category anesthesia)",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "room_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "case"], name="sched_plan_item_case_once"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="sched_plan_item_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Plan {self.plan_id}: case {self.case_id} in {self.room_id}"
