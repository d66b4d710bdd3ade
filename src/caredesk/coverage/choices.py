"""Status sets and code lists of the coverage app."""

from __future__ import annotations

from django.db import models


class ClearinghouseRoute(models.TextChoices):
    """How eligibility requests reach a payer (see interop.x12.clearinghouse)."""

    FILE_DROP = "file_drop", "File drop (outbox / inbox folders)"
    TEST_PAYER = "test_payer", "Test payer (answers at once; demo and tests)"


class CoverageOrder(models.IntegerChoices):
    PRIMARY = 1, "Primary"
    SECONDARY = 2, "Secondary"
    TERTIARY = 3, "Tertiary"


class CoverageStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class SubscriberRelationship(models.TextChoices):
    """The patient's relationship to the subscriber (the person who holds the policy)."""

    SELF = "self", "Self (the patient is the subscriber)"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other adult"


class EligibilityStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to be sent"
    SENT = "sent", "Sent, waiting for the payer"
    ACTIVE = "active", "Coverage active"
    INACTIVE = "inactive", "Coverage not active"
    REJECTED = "rejected", "Rejected by the payer"
    FAILED = "failed", "Could not be sent"

    @classmethod
    def finished(cls) -> frozenset[str]:
        return frozenset({cls.ACTIVE, cls.INACTIVE, cls.REJECTED, cls.FAILED})


class BenefitKind(models.TextChoices):
    """What an EB segment of a 271 says (EB01), in the terms the front desk uses."""

    ACTIVE = "active", "Active coverage"
    INACTIVE = "inactive", "Inactive"
    COPAY = "copay", "Co-pay"
    COINSURANCE = "coinsurance", "Coinsurance"
    DEDUCTIBLE = "deductible", "Deductible"
    OUT_OF_POCKET = "out_of_pocket", "Out-of-pocket maximum"
    LIMITATION = "limitation", "Limitation"
    NON_COVERED = "non_covered", "Not covered"
    OTHER = "other", "Other information"


class Network(models.TextChoices):
    IN = "in", "In network"
    OUT = "out", "Out of network"
    ANY = "any", "In or out of network"
    UNKNOWN = "", "Not stated"


class AuthorizationStatus(models.TextChoices):
    """What is stored; "expired" and "used up" are worked out from the dates and units when shown."""

    REQUESTED = "requested", "Requested, waiting for the payer"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    CANCELLED = "cancelled", "Cancelled"
