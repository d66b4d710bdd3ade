"""Kinds, code systems, priorities and statuses of orders."""

from __future__ import annotations

from django.db import models


class OrderKind(models.TextChoices):
    LAB = "lab", "Lab"
    IMAGING = "imaging", "Imaging"
    PROCEDURE = "procedure", "Procedure"
    REFERRAL = "referral", "Referral"
    DME = "dme", "Durable medical equipment"


class CodeSystem(models.TextChoices):
    LOINC = "loinc", "LOINC"
    CPT = "cpt", "CPT"
    HCPCS = "hcpcs", "HCPCS"
    SNOMED = "snomed", "SNOMED CT"
    LOCAL = "local", "Local code"


#: The code system an order of each kind uses unless another is named.
DEFAULT_CODE_SYSTEM: dict[str, str] = {
    OrderKind.LAB: CodeSystem.LOINC,
    OrderKind.IMAGING: CodeSystem.CPT,
    OrderKind.PROCEDURE: CodeSystem.CPT,
    OrderKind.REFERRAL: CodeSystem.LOCAL,
    OrderKind.DME: CodeSystem.HCPCS,
}


class Priority(models.TextChoices):
    """FHIR request-priority."""

    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    ASAP = "asap", "As soon as possible"
    STAT = "stat", "Stat"


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Placed"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"  # a draft that was never placed
    REVOKED = "revoked", "Revoked"  # withdrawn after it was placed


OPEN_STATUSES = (OrderStatus.DRAFT, OrderStatus.ACTIVE, OrderStatus.IN_PROGRESS)
FINAL_STATUSES = (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REVOKED)


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    PLACED = "placed", "Placed"
    OVERRIDDEN = "overridden", "Placed past a failed check"
    STATUS = "status", "Status changed"
