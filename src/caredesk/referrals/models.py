"""Referrals, the receivers they go to, the records attached to them and their timeline.

A referral is outbound (we refer our patient to a receiver) or inbound (another practice refers a patient
to us: the referring party is kept on the referral, `received_at` is when it reached us and `practitioner`
who of ours takes it, with the receiving specialty). Inbound referrals move along rules.INBOUND_TRANSITIONS.

A referral belongs to an organization and one patient (string foreign key). Its `status` moves only along
rules.TRANSITIONS, through services; every step inserts a `ReferralEvent` (who, when, from, to, note,
receiver at the time), which is the referral's timeline and what the overdue clock and the report read.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel

from . import rules
from .choices import ReceiverKind, ReferralDirection, ReferralStatus, Specialty, Urgency

MAX_REASON = 2000
MAX_NOTE = 2000


class ReferralReceiver(OrganizationScopedModel):
    """Who referrals go to: a practitioner or an organization, ours or outside (a small directory)."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=15, choices=ReceiverKind.choices, default=ReceiverKind.PRACTITIONER)
    specialty = models.CharField(max_length=30, choices=Specialty.choices)
    npi = models.CharField("NPI", max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "specialty"], name="referral_receiver_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_specialty_display()})"


class Referral(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(
        max_length=10, choices=ReferralDirection.choices, default=ReferralDirection.OUTBOUND
    )
    specialty = models.CharField(max_length=30, choices=Specialty.choices)
    receiver = models.ForeignKey(
        ReferralReceiver, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    # Inbound only: who referred the patient to us, when it arrived, and who of ours takes it.
    referrer_kind = models.CharField(max_length=15, choices=ReceiverKind.choices, blank=True)
    referrer_name = models.CharField(max_length=200, blank=True)
    referrer_npi = models.CharField("Referrer NPI", max_length=10, blank=True)
    referrer_phone = models.CharField(max_length=30, blank=True)
    referrer_fax = models.CharField(max_length=30, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    practitioner = models.ForeignKey(
        "practitioners.Practitioner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Inbound: the practitioner of ours the referral is for",
    )
    reason = models.TextField()
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    # [{"code": "E11.9", "description": "Type 2 diabetes mellitus without complications"}, ...]
    diagnoses = models.JSONField(default=list, blank=True)
    include_chart_summary = models.BooleanField(default=True)
    authorization_required = models.BooleanField(default=False)
    authorization_number = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT)
    status_changed_at = models.DateTimeField()
    appointment_at = models.DateTimeField(
        null=True, blank=True, help_text="When the receiver sees the patient"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The booked appointment of ours it is scheduled for (none: booked elsewhere)",
    )
    outcome_note = models.TextField(
        blank=True, help_text="Why it was declined or cancelled; the consult summary"
    )
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    created_by_name = models.CharField(max_length=150)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped on every change")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReferralStatus.values), name="referral_status_valid"
            ),
            models.CheckConstraint(condition=Q(urgency__in=Urgency.values), name="referral_urgency_valid"),
            models.CheckConstraint(
                condition=Q(authorization_required=True) | Q(authorization_number=""),
                name="referral_auth_number_only_when_required",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ReferralStatus.DECLINED, ReferralStatus.CANCELLED])
                | ~Q(outcome_note=""),
                name="referral_declined_or_cancelled_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=ReferralDirection.values), name="referral_direction_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(direction=ReferralDirection.OUTBOUND)
                    & Q(referrer_name="")
                    & Q(received_at__isnull=True)
                    & Q(practitioner__isnull=True)
                )
                | (
                    Q(direction=ReferralDirection.INBOUND)
                    & ~Q(referrer_name="")
                    & Q(received_at__isnull=False)
                    & Q(receiver__isnull=True)
                ),
                name="referral_inbound_has_referrer",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "status_changed_at"], name="referral_org_status"),
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
            models.Index(fields=["organization", "direction", "status"], name="referral_org_direction"),
        ]

    def __str__(self) -> str:
        if self.is_inbound:
            return (
                f"Inbound referral #{self.pk} from {self.referrer_name} to {self.get_specialty_display()} "
                f"({self.status_label})"
            )
        return f"Referral #{self.pk} to {self.get_specialty_display()} ({self.get_status_display()})"

    @property
    def is_inbound(self) -> bool:
        return self.direction == ReferralDirection.INBOUND

    @property
    def status_label(self) -> str:
        """The status as the pages say it (an inbound referral's loop closes with the note sent back)."""
        return rules.status_label(self.status, self.direction)

    @property
    def receiver_label(self) -> str:
        return (
            self.receiver.name
            if self.receiver_id and self.receiver
            else f"Any {self.get_specialty_display()}"
        )


class ReferralAttachment(models.Model):
    """A document of the patient's chart sent with the referral."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey("patients.Document", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referral", "document"], name="referral_attachment_unique"),
        ]

    def __str__(self) -> str:
        return self.title


class ReferralEvent(models.Model):
    """One step of the loop (never edited): the referral's timeline, the overdue clock's start, the report's
    source. `receiver` is who had the referral at that step (a re-route changes it)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=ReferralStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ReferralStatus.choices)
    at = models.DateTimeField()
    receiver = models.ForeignKey(
        ReferralReceiver, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    document = models.ForeignKey(
        "patients.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The chart document filed at this step (the consult note received)",
    )
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    actor_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["referral", "at"], name="referral_event_time")]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status} by {self.actor_name}"

    @property
    def status_label(self) -> str:
        """The status reached, as the timeline says it (by the referral's direction)."""
        return rules.status_label(self.to_status, self.referral.direction)
