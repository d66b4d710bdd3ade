"""Status sets and code lists of transitions of care."""

from __future__ import annotations

from django.db import models


class EncounterClass(models.TextChoices):
    INPATIENT = "inpatient", "Inpatient"
    EMERGENCY = "emergency", "Emergency"
    OUTPATIENT = "outpatient", "Outpatient"
    PREADMIT = "preadmit", "Pre-admission"
    OTHER = "other", "Other"


class EncounterStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    FINISHED = "finished", "Discharged"
    CANCELLED = "cancelled", "Cancelled"


class MessageStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected (AR)"
    ERROR = "error", "Error (AE)"


class AckCode(models.TextChoices):
    """HL7 table 0008 (original mode)."""

    ACCEPT = "AA", "Application accept"
    ERROR = "AE", "Application error"
    REJECT = "AR", "Application reject"


class TcmComplexity(models.TextChoices):
    """Medical decision making: high bills 99496 (visit within 7 days), moderate 99495 (within 14)."""

    HIGH = "high", "High (99496: visit within 7 days)"
    MODERATE = "moderate", "Moderate (99495: visit within 14 days)"


class TcmStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class Outcome(models.TextChoices):
    """How a TCM element stands against its deadline."""

    MET = "met", "On time"
    MET_BY_ATTEMPTS = "met_attempts", "On time (two documented attempts)"
    LATE = "late", "Late"
    MISSED = "missed", "Missed"
    PENDING = "pending", "Not yet due"
    CANCELLED = "cancelled", "Cancelled"


#: HL7 v2 ADT trigger events this system applies.
SUPPORTED_TRIGGERS = ("A01", "A02", "A03", "A04", "A08", "A11", "A13", "A40")


class ChecklistItemCode(models.TextChoices):
    """The discharge-planning checklist, in the order it is worked."""

    FOLLOW_UP = "follow_up", "Follow-up booked"
    MEDICATIONS = "medications", "Medications reconciled"
    EQUIPMENT = "equipment", "Equipment / home health arranged"
    EDUCATION = "education", "Education given"
    RECORDS = "records", "Records sent"


class ChecklistStatus(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"
    NOT_NEEDED = "not_needed", "Not needed"


class PackageKind(models.TextChoices):
    FHIR_DOCUMENT = "fhir_document", "FHIR document Bundle"
