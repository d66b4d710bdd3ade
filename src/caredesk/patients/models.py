"""Patients, their contacts and identifiers, and the clinical entries of the chart.

Clinical entries are append-only in spirit: a correction creates a new row that `supersedes` the old
one (kept, marked superseded, with who and why); "entered in error" retracts without deleting.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import (
    AdministrativeSex,
    AllergyCriticality,
    ContactRelationship,
    EntryStatus,
    ObservationKind,
    PatientStatus,
    TelecomSystem,
    TelecomUse,
)


class Patient(OrganizationScopedModel):
    mrn = models.CharField("MRN", max_length=20)
    given_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100)
    suffix = models.CharField(max_length=20, blank=True)
    preferred_name = models.CharField(max_length=100, blank=True)
    birth_date = models.DateField()
    sex = models.CharField("administrative sex", max_length=10, choices=AdministrativeSex.choices)
    gender_identity = models.CharField(max_length=60, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=2, default="US")
    preferred_language = models.CharField(max_length=35, default="en", help_text="BCP-47 code, e.g. en, es")
    sms_allowed = models.BooleanField("SMS allowed", default=False)
    email_allowed = models.BooleanField("e-mail allowed", default=False)
    voicemail_allowed = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    deceased_date = models.DateField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    # Search keys (lower-case ASCII, accents folded); kept in step by the services.
    family_key = models.CharField(max_length=100, editable=False)
    given_key = models.CharField(max_length=100, editable=False)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped on every update")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="patient_mrn_unique_in_org"),
            models.CheckConstraint(
                condition=Q(status="deceased") | Q(deceased_date__isnull=True),
                name="patient_deceased_date_only_when_deceased",
            ),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(merged_into__isnull=False),
                name="patient_merged_has_target",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "family_key", "given_key"], name="patient_family_key"),
            models.Index(fields=["organization", "given_key"], name="patient_given_key"),
            models.Index(fields=["organization", "birth_date"], name="patient_birth_date"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        parts = [self.given_name, self.middle_name, self.family_name, self.suffix]
        return " ".join(p for p in parts if p)


class PatientTelecom(TimeStampedModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="telecoms")
    system = models.CharField(max_length=10, choices=TelecomSystem.choices, default=TelecomSystem.PHONE)
    use = models.CharField(max_length=10, choices=TelecomUse.choices, default=TelecomUse.MOBILE)
    value = models.CharField(max_length=100)
    digits = models.CharField(max_length=20, editable=False, db_index=True)
    rank = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["rank", "id"]

    def __str__(self) -> str:
        return f"{self.get_use_display()}: {self.value}"


class PatientIdentifier(TimeStampedModel):
    """Other identifiers: a previous MRN (after a merge), another facility's MRN, driver's licence …"""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(max_length=200, help_text="URI or name of the assigning authority")
    value = models.CharField(max_length=100)
    type_label = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["system", "value"], name="patient_identifier_lookup"),
            # Search by a bare value ("12345" without its system), e.g. FHIR `identifier=12345`.
            models.Index(fields=["value"], name="patient_identifier_value"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["patient", "system", "value"], name="patient_identifier_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


class RelatedPerson(TimeStampedModel):
    """Emergency contacts, caregivers, guardians."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="related_persons")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=20, choices=ContactRelationship.choices)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    is_emergency_contact = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"


class ClinicalEntry(TimeStampedModel):
    """Common columns of every chart entry. Rows are never overwritten: see services.correct_entry."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=EntryStatus.choices, default=EntryStatus.CURRENT)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    recorded_by_name = models.CharField(max_length=150)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    change_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True


class Problem(ClinicalEntry):
    icd10_code = models.CharField("ICD-10-CM", max_length=8)
    description = models.CharField(max_length=300)
    onset_date = models.DateField(null=True, blank=True)
    clinical_status = models.CharField(
        max_length=12,
        default="active",
        choices=[("active", "Active"), ("resolved", "Resolved"), ("inactive", "Inactive")],
    )

    class Meta:
        indexes = [models.Index(fields=["patient", "status"], name="problem_patient_status")]


class Allergy(ClinicalEntry):
    substance = models.CharField(max_length=200)
    reaction = models.CharField(max_length=200, blank=True)
    criticality = models.CharField(
        max_length=20, choices=AllergyCriticality.choices, default=AllergyCriticality.LOW
    )

    class Meta:
        verbose_name_plural = "allergies"
        indexes = [models.Index(fields=["patient", "status"], name="allergy_patient_status")]


class Medication(ClinicalEntry):
    name = models.CharField(max_length=200)
    dose = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=50, blank=True)
    frequency = models.CharField(max_length=100, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    rxnorm_code = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "status"], name="medication_patient_status")]


class Observation(ClinicalEntry):
    """Vitals and other measurements. LOINC codes are facts and may be stored; the kind is our own list."""

    kind = models.CharField(max_length=30, choices=ObservationKind.choices)
    loinc_code = models.CharField(max_length=10, blank=True)
    value = models.DecimalField(max_digits=10, decimal_places=2)
    value2 = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Second component, e.g. diastolic blood pressure",
    )
    unit = models.CharField(max_length=20)
    effective_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["patient", "kind", "effective_at"], name="observation_patient_kind")]


class Document(ClinicalEntry):
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="documents/%Y/%m/")
    original_filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["patient", "status"], name="document_patient_status")]


class Note(ClinicalEntry):
    title = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["patient", "status"], name="note_patient_status")]


class MrnSequence(models.Model):
    """Per-organization counter for generated MRNs, advanced with an F() update under a row lock."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"MRN counter of organization {self.organization_id}: {self.last_value}"
