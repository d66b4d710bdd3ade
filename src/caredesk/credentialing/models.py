"""Credentialing: what a practitioner is licensed, registered, certified, insured and privileged to do.

Practitioners themselves live in the practitioners app (with their NPI); every row here points at one by a
string foreign key and belongs to the practitioner's organization.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import (
    ACTIVE_PRIVILEGE_STATUSES,
    ApplicationKind,
    ApplicationStatus,
    CredentialStatus,
    HistoryKind,
    LicenseType,
    PrivilegeStatus,
    VerificationKind,
    VerificationOutcome,
)

PRACTITIONER = "practitioners.Practitioner"


def _expiry_after_issue(
    name: str, issued: str = "issued_on", expires: str = "expires_on"
) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{issued}__isnull": True})
        | Q(**{f"{expires}__isnull": True})
        | Q(**{f"{expires}__gt": F(issued)}),
        name=name,
    )


class CredentialingConfig(TimeStampedModel):
    """Per organization: whether bookings are checked against credentials. Without a row, checking is on
    as soon as the organization has recorded any license (see services.enforcement_on)."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="credentialing_config"
    )
    enforce_at_booking = models.BooleanField(default=True)


class Credential(OrganizationScopedModel):
    """What every credential that lapses has."""

    status = models.CharField(
        max_length=20, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField()
    retired_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True


class StateLicense(Credential):
    practitioner = models.ForeignKey(PRACTITIONER, on_delete=models.CASCADE, related_name="state_licenses")
    state = models.CharField(max_length=2)
    number = models.CharField(max_length=40)
    license_type = models.CharField(max_length=30, choices=LicenseType.choices, default=LicenseType.MEDICAL)

    class Meta:
        constraints = [_expiry_after_issue("license_expiry_after_issue")]
        indexes = [models.Index(fields=["organization", "expires_on"], name="license_org_expiry")]

    def __str__(self) -> str:
        return f"{self.state} license {self.number}"


class DeaRegistration(Credential):
    practitioner = models.ForeignKey(PRACTITIONER, on_delete=models.CASCADE, related_name="dea_registrations")
    state = models.CharField(max_length=2)
    number = models.CharField(max_length=9)
    schedules = models.CharField(max_length=30, help_text="Comma-separated: 2,2N,3,3N,4,5")

    class Meta:
        constraints = [_expiry_after_issue("dea_expiry_after_issue")]
        indexes = [models.Index(fields=["organization", "expires_on"], name="dea_org_expiry")]

    def __str__(self) -> str:
        return f"DEA {self.number} ({self.state})"

    @property
    def schedule_list(self) -> list[str]:
        return [s for s in self.schedules.split(",") if s]


class BoardCertification(Credential):
    practitioner = models.ForeignKey(
        PRACTITIONER, on_delete=models.CASCADE, related_name="board_certifications"
    )
    board = models.CharField(max_length=200)
    specialty = models.CharField(max_length=200)

    class Meta:
        constraints = [_expiry_after_issue("board_expiry_after_issue")]
        indexes = [models.Index(fields=["organization", "expires_on"], name="board_org_expiry")]

    def __str__(self) -> str:
        return f"{self.specialty} ({self.board})"


class MalpracticeCoverage(Credential):
    practitioner = models.ForeignKey(
        PRACTITIONER, on_delete=models.CASCADE, related_name="malpractice_coverages"
    )
    carrier = models.CharField(max_length=200)
    policy_number = models.CharField(max_length=60)
    per_claim_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    aggregate_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [_expiry_after_issue("malpractice_expiry_after_issue")]
        indexes = [models.Index(fields=["organization", "expires_on"], name="malpractice_org_expiry")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.policy_number}"


class HistoryEntry(OrganizationScopedModel):
    """Education, training and work history (simple: where, what, from, to)."""

    practitioner = models.ForeignKey(PRACTITIONER, on_delete=models.CASCADE, related_name="history_entries")
    kind = models.CharField(max_length=20, choices=HistoryKind.choices)
    institution = models.CharField(max_length=200)
    title = models.CharField(max_length=200, help_text="Degree, program or position")
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [_expiry_after_issue("history_end_after_start", "started_on", "ended_on")]


class CredentialDocument(OrganizationScopedModel):
    """A scan: license certificate, DEA certificate, diploma, insurance face sheet."""

    practitioner = models.ForeignKey(
        PRACTITIONER, on_delete=models.CASCADE, related_name="credential_documents"
    )
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="credentials/%Y/%m/")
    original_filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by_name = models.CharField(max_length=150, blank=True)


class CredentialingApplication(OrganizationScopedModel):
    practitioner = models.ForeignKey(
        PRACTITIONER, on_delete=models.CASCADE, related_name="credentialing_applications"
    )
    kind = models.CharField(max_length=20, choices=ApplicationKind.choices, default=ApplicationKind.INITIAL)
    status = models.CharField(
        max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.IN_PROGRESS
    )
    opened_on = models.DateField()
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by_name = models.CharField(max_length=150, blank=True)
    committee_note = models.TextField(blank=True)
    recredential_due_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner"],
                condition=Q(status=ApplicationStatus.IN_PROGRESS),
                name="one_open_application_per_practitioner",
            )
        ]


class Verification(TimeStampedModel):
    """One primary-source verification of an application's checklist: who verified, when, outcome, note."""

    application = models.ForeignKey(
        CredentialingApplication, on_delete=models.CASCADE, related_name="verifications"
    )
    kind = models.CharField(max_length=30, choices=VerificationKind.choices)
    outcome = models.CharField(
        max_length=20, choices=VerificationOutcome.choices, default=VerificationOutcome.PENDING
    )
    verified_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_by_name = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"], name="one_verification_per_kind")
        ]


class Privilege(OrganizationScopedModel):
    """A delineated service or procedure a practitioner may perform or order at one facility. `service_code`
    is a scheduling visit-type code or a procedure code, kept as a string (no link into scheduling)."""

    practitioner = models.ForeignKey(PRACTITIONER, on_delete=models.CASCADE, related_name="privileges")
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    service_code = models.CharField(max_length=40)
    service_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=20, choices=PrivilegeStatus.choices, default=PrivilegeStatus.REQUESTED
    )
    requested_on = models.DateField()
    starts_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "location", "service_code"],
                condition=Q(status__in=list(ACTIVE_PRIVILEGE_STATUSES)),
                name="one_active_privilege_per_service",
            ),
            _expiry_after_issue("privilege_expiry_after_start", "starts_on", "expires_on"),
        ]
        indexes = [models.Index(fields=["organization", "service_code"], name="privilege_org_service")]


class CredentialOverride(OrganizationScopedModel):
    """An administrator went ahead although the check failed: who, why, and what the check said."""

    practitioner = models.ForeignKey(PRACTITIONER, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    service_code = models.CharField(max_length=40)
    service_state = models.CharField(max_length=2, blank=True)
    reasons = models.JSONField(default=list)
    reason = models.TextField()
    by_user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by_name = models.CharField(max_length=150)
