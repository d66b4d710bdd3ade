"""Status sets and code lists of credentialing."""

from __future__ import annotations

from django.db import models


class CredentialStatus(models.TextChoices):
    """What the medical-staff office recorded. "Expired" is not stored: it follows from the expiry date."""

    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    RETIRED = "retired", "Retired"


class LicenseType(models.TextChoices):
    MEDICAL = "medical", "Medical (MD)"
    OSTEOPATHIC = "osteopathic", "Osteopathic (DO)"
    NURSE_PRACTITIONER = "nurse_practitioner", "Advanced practice nurse (APRN/NP)"
    REGISTERED_NURSE = "registered_nurse", "Registered nurse"
    PHYSICIAN_ASSISTANT = "physician_assistant", "Physician assistant"
    PHYSICAL_THERAPIST = "physical_therapist", "Physical therapist"
    OTHER = "other", "Other"


class DeaSchedule(models.TextChoices):
    """Controlled-substance schedules a DEA registration covers (21 CFR 1308; N = non-narcotic)."""

    II = "2", "Schedule II"
    II_N = "2N", "Schedule II non-narcotic"
    III = "3", "Schedule III"
    III_N = "3N", "Schedule III non-narcotic"
    IV = "4", "Schedule IV"
    V = "5", "Schedule V"


class HistoryKind(models.TextChoices):
    EDUCATION = "education", "Education"
    TRAINING = "training", "Residency or fellowship"
    WORK = "work", "Work"


class CredentialKind(models.TextChoices):
    """The credentials that lapse (the expiry alerts and the report name them so)."""

    LICENSE = "license", "State license"
    DEA = "dea", "DEA registration"
    BOARD = "board", "Board certification"
    MALPRACTICE = "malpractice", "Malpractice coverage"


class ApplicationKind(models.TextChoices):
    INITIAL = "initial", "Initial appointment"
    RECREDENTIAL = "recredential", "Re-credentialing"


class ApplicationStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    APPROVED = "approved", "Approved"


class VerificationKind(models.TextChoices):
    """The primary-source verifications every application checks."""

    LICENSE_BOARD = "license_board", "State licensing board"
    DEA = "dea", "DEA registration"
    BOARD_CERTIFICATION = "board_certification", "Board certification"
    SANCTIONS = "sanctions", "Sanctions and exclusion lists (OIG LEIE, SAM)"
    REFERENCES = "references", "Peer references"


class VerificationOutcome(models.TextChoices):
    PENDING = "pending", "Not yet verified"
    VERIFIED = "verified", "Verified"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    PROBLEM = "problem", "Problem found"


#: Outcomes that count as done for the committee.
DONE_OUTCOMES = (VerificationOutcome.VERIFIED, VerificationOutcome.NOT_APPLICABLE)


class PrivilegeStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    GRANTED = "granted", "Granted"
    PROVISIONAL = "provisional", "Provisional"
    SUSPENDED = "suspended", "Suspended"
    EXPIRED = "expired", "Expired"


#: A privilege in one of these lets the practitioner perform the service (and is the one "active" row).
ACTIVE_PRIVILEGE_STATUSES = (PrivilegeStatus.GRANTED, PrivilegeStatus.PROVISIONAL)
