"""Organizations (tenants), their locations and departments, users with a role, API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from caredesk.core.models import TimeStampedModel

from .permissions import Role


class Organization(TimeStampedModel):
    name = models.CharField(max_length=200, unique=True)
    short_code = models.SlugField(max_length=20, unique=True, help_text="Prefix for generated MRNs")
    npi = models.CharField(max_length=10, blank=True)
    tax_id = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=30, blank=True)

    def __str__(self) -> str:
        return self.name


class LocationKind(models.TextChoices):
    CLINIC = "clinic", "Clinic site"
    HOSPITAL_UNIT = "hospital_unit", "Hospital unit"
    HOSPITAL = "hospital", "Hospital"


class Location(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=LocationKind.choices, default=LocationKind.CLINIC)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    timezone = models.CharField(max_length=64, default="America/New_York")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="location_name_unique_in_org")
        ]

    def __str__(self) -> str:
        return self.name


class Department(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="departments")
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="departments", null=True, blank=True
    )
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "location", "name"], name="department_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. Staff belong to one organization with one role; patients are bound to
    their own patient record through `patient`."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COORDINATOR)
    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="portal_user"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="patient") | models.Q(patient__isnull=False),
                name="portal_user_has_patient",
            ),
        ]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(TimeStampedModel):
    """A bearer token for the JSON API and FHIR. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
