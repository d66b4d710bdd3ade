from __future__ import annotations

from django.db import models


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    READY = "ready", "Ready to submit"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted by the payer"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid"
    DENIED = "denied", "Denied"
    APPEALED = "appealed", "Appealed"
    CLOSED = "closed", "Closed"


class CodeSystem(models.TextChoices):
    HCPCS = "hcpcs", "HCPCS Level II"
    CPT = "cpt", "CPT (licensed, loaded by the organization)"
    LOCAL = "local", "Local code"


class LedgerKind(models.TextChoices):
    """What a ledger row records. A claim's balance is charges - payments - adjustments; patient
    responsibility (CAS group PR) is the part of that balance the payer moved to the patient."""

    CHARGE = "charge", "Charge"
    PAYMENT = "payment", "Payment"
    ADJUSTMENT = "adjustment", "Adjustment"
    PATIENT_RESPONSIBILITY = "patient_resp", "Patient responsibility"
    PATIENT_PAYMENT = "patient_pay", "Patient payment"


class PaymentMethod(models.TextChoices):
    """How a patient paid at the desk or against a statement. A card payment carries its reference (the
    terminal's authorization or transaction number); a check its number when given."""

    CASH = "cash", "Cash"
    CARD = "card", "Card"
    CHECK = "check", "Check"


class PaymentPurpose(models.TextChoices):
    COPAY = "copay", "Co-pay"
    STATEMENT = "statement", "Statement payment"
    OTHER = "other", "Other payment"
