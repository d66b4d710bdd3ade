"""Practitioners: the people who deliver care, linked to user accounts where they sign in."""

from __future__ import annotations

from django.db import models

from caredesk.core.models import OrganizationScopedModel


class Specialty(models.TextChoices):
    FAMILY_MEDICINE = "family_medicine", "Family medicine"
    INTERNAL_MEDICINE = "internal_medicine", "Internal medicine"
    PEDIATRICS = "pediatrics", "Pediatrics"
    CARDIOLOGY = "cardiology", "Cardiology"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology"
    PULMONOLOGY = "pulmonology", "Pulmonology"
    NEPHROLOGY = "nephrology", "Nephrology"
    ORTHOPEDIC_SURGERY = "orthopedic_surgery", "Orthopedic surgery"
    GENERAL_SURGERY = "general_surgery", "General surgery"
    ANESTHESIOLOGY = "anesthesiology", "Anesthesiology"
    OBSTETRICS_GYNECOLOGY = "obstetrics_gynecology", "Obstetrics and gynecology"
    PSYCHIATRY = "psychiatry", "Psychiatry"
    DERMATOLOGY = "dermatology", "Dermatology"
    NEUROLOGY = "neurology", "Neurology"
    PHYSICAL_THERAPY = "physical_therapy", "Physical therapy"
    NURSE_PRACTITIONER = "nurse_practitioner", "Nurse practitioner"
    RADIOLOGY = "radiology", "Radiology"


class Practitioner(OrganizationScopedModel):
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    credentials = models.CharField(max_length=30, blank=True, help_text="MD, DO, NP, PA, PT …")
    npi = models.CharField("NPI", max_length=10)
    specialty = models.CharField(max_length=40, choices=Specialty.choices)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    locations = models.ManyToManyField("accounts.Location", related_name="practitioners", blank=True)
    user = models.OneToOneField(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="practitioner"
    )
    active = models.BooleanField(default=True)
    # Search keys (lower-case ASCII, accents folded); kept in step by the services.
    family_key = models.CharField(max_length=100, editable=False, db_index=True)
    given_key = models.CharField(max_length=100, editable=False, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "npi"], name="practitioner_npi_unique_in_org")
        ]
        indexes = [
            models.Index(fields=["organization", "family_key", "given_key"], name="practitioner_family_key"),
            models.Index(fields=["organization", "given_key"], name="practitioner_given_key"),
        ]

    def __str__(self) -> str:
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.given_name} {self.family_name}{suffix}"
