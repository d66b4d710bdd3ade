"""The materials library, materials assigned to patients, and their deliveries.

Invariants the database keeps: a material has a body or a file; one title per language in an
organization's library; a material is assigned to a patient once (assigning it again is refused, a care
plan finds the existing assignment); a delivery has a known method, and an e-mail delivery its address.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import AssignmentSource, DeliveryMethod, Language, ReadingLevel


class Material(OrganizationScopedModel):
    title = models.CharField(max_length=200)
    condition_codes = models.JSONField(
        default=list, blank=True, help_text="ICD-10-CM codes or prefixes without the dot, e.g. E11, I50"
    )
    procedure_codes = models.JSONField(default=list, blank=True, help_text="CPT / HCPCS codes")
    language = models.CharField(max_length=12, choices=Language.choices, default=Language.ENGLISH)
    reading_level = models.CharField(
        max_length=10, choices=ReadingLevel.choices, default=ReadingLevel.STANDARD
    )
    body = models.TextField(blank=True, help_text="Plain text; blank lines separate paragraphs")
    file = models.FileField(upload_to="education/%Y/", blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=300, help_text="Who wrote it, or what it is based on")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(body="") | ~Q(file=""), name="education_material_has_content"
            ),
            models.UniqueConstraint(
                fields=["organization", "title", "language"], name="education_material_title_unique"
            ),
            models.CheckConstraint(
                condition=Q(reading_level__in=ReadingLevel.values), name="education_reading_level_valid"
            ),
        ]
        indexes = [models.Index(fields=["organization", "language"], name="education_material_org_lang")]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class Assignment(OrganizationScopedModel):
    """A material given to a patient to read; `source_ref` names the care-plan activity that asked for it."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="assignments")
    source = models.CharField(
        max_length=12, choices=AssignmentSource.choices, default=AssignmentSource.MANUAL
    )
    source_ref = models.CharField(max_length=80, blank=True, help_text="e.g. careplans.activity:12")
    assigned_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_by_name = models.CharField(max_length=150)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "material"], name="education_assignment_once"),
        ]
        indexes = [models.Index(fields=["organization", "patient"], name="education_assignment_patient")]

    def __str__(self) -> str:
        return f"{self.material} for patient {self.patient_id}"


class Delivery(TimeStampedModel):
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="deliveries")
    method = models.CharField(max_length=10, choices=DeliveryMethod.choices)
    delivered_at = models.DateTimeField()
    delivered_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    delivered_by_name = models.CharField(max_length=150)
    email_to = models.EmailField(blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["delivered_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=DeliveryMethod.values), name="education_delivery_method_valid"
            ),
            models.CheckConstraint(
                condition=~Q(method=DeliveryMethod.EMAIL) | ~Q(email_to=""),
                name="education_email_delivery_has_address",
            ),
        ]
        indexes = [models.Index(fields=["assignment", "method"], name="education_delivery_method")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} on {self.delivered_at:%Y-%m-%d}"
