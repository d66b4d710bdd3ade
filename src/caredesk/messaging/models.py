"""The communication log: one row per call, message, letter or fax about a patient (never edited).

It may name what it was about: a referral or a worklist task (string foreign keys; the services check both
belong to the same patient and organization). A fax may carry the chart document that was faxed (a
`patients.Document` of the same patient; an outbound fax must).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel

from .choices import Channel, Direction, LetterTemplate, Outcome, Party

MAX_DURATION_SECONDS = 6 * 3600


class Communication(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    party = models.CharField(max_length=15, choices=Party.choices, default=Party.PATIENT)
    party_name = models.CharField(max_length=200, blank=True, help_text="Who, when not the patient")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="What was said or sent, in summary")
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    referral = models.ForeignKey(
        "referrals.Referral", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    task = models.ForeignKey(
        "worklist.Task", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    letter_template = models.CharField(
        max_length=20,
        choices=LetterTemplate.choices,
        blank=True,
        help_text="A printed letter's template (its text, as sent, is the body)",
    )
    document = models.ForeignKey(
        "patients.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The chart document faxed (faxes only)",
    )
    logged_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    logged_by_name = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="communication_direction"
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="communication_channel"),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="communication_outcome"),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__lte=MAX_DURATION_SECONDS),
                name="communication_duration_bounded",
            ),
            models.CheckConstraint(
                condition=Q(letter_template="") | Q(channel="letter"),
                name="communication_template_only_on_letters",
            ),
            models.CheckConstraint(
                condition=Q(document__isnull=True) | Q(channel="fax"),
                name="communication_document_only_on_faxes",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "occurred_at"], name="communication_patient_time"),
            models.Index(fields=["referral"], name="communication_referral"),
            models.Index(fields=["task"], name="communication_task"),
            models.Index(fields=["appointment"], name="communication_appointment"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.get_channel_display()}: {self.subject}"

    @property
    def duration_minutes(self) -> int | None:
        return None if self.duration_seconds is None else (self.duration_seconds + 59) // 60
