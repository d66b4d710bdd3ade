"""Procedure codes, fee schedules, claims with their diagnoses and charge lines, and the claim timeline.

The database keeps the invariants: a code is unique in an organization's list and a fee per payer and code;
money is Decimal and not negative; a line's diagnosis pointers are four columns, the first required (so 1 to
4 per line); a claim's diagnoses are numbered 1 to 12, once each. The modifier count (at most 4) is checked by
the rules, as modifiers are one JSON list.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import ClaimStatus, CodeSystem, LedgerKind, PaymentMethod, PaymentPurpose


class ProcedureCode(OrganizationScopedModel):
    code = models.CharField(max_length=5)
    description = models.CharField(max_length=200)
    system = models.CharField(max_length=10, choices=CodeSystem.choices)
    default_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="Where the list came from")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="procedure_code_unique_in_org"),
            models.CheckConstraint(
                condition=Q(default_price__isnull=True) | Q(default_price__gte=0),
                name="procedure_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class FeeScheduleEntry(OrganizationScopedModel):
    payer = models.ForeignKey("coverage.Payer", on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(ProcedureCode, on_delete=models.PROTECT, related_name="fees")
    allowed_amount = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["payer", "procedure"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "procedure"], name="fee_unique_per_payer_code"),
            models.CheckConstraint(condition=Q(allowed_amount__gte=0), name="fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.procedure.code}: {self.allowed_amount}"


class Claim(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    coverage = models.ForeignKey(
        "coverage.Coverage", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    other_coverage = models.ForeignKey(
        "coverage.Coverage", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rendering_provider = models.ForeignKey(
        "practitioners.Practitioner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    billing_npi = models.CharField("billing provider NPI", max_length=10, blank=True)
    place_of_service = models.CharField(max_length=2, default="11")
    status = models.CharField(max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    claim_number = models.CharField(max_length=38, help_text="CLM01, echoed back by the payer")
    scrub_problems = models.JSONField(default=list, blank=True)
    submitted_file = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "claim_number"], name="claim_number_unique_in_org"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="claim_org_status")]

    def __str__(self) -> str:
        return f"Claim {self.claim_number}"


class ClaimDiagnosis(TimeStampedModel):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="diagnoses")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=10)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "position"], name="claim_diagnosis_position_unique"),
            models.UniqueConstraint(fields=["claim", "code"], name="claim_diagnosis_code_unique"),
            models.CheckConstraint(
                condition=Q(position__gte=1) & Q(position__lte=12), name="claim_diagnosis_position_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.code}"


class ChargeLine(TimeStampedModel):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    procedure = models.ForeignKey(ProcedureCode, on_delete=models.PROTECT, related_name="+")
    modifiers = models.JSONField(default=list, blank=True, help_text="Up to 4 two-character modifiers")
    pointer1 = models.PositiveSmallIntegerField()
    pointer2 = models.PositiveSmallIntegerField(null=True, blank=True)
    pointer3 = models.PositiveSmallIntegerField(null=True, blank=True)
    pointer4 = models.PositiveSmallIntegerField(null=True, blank=True)
    units = models.DecimalField(max_digits=7, decimal_places=2, default=1)
    charge = models.DecimalField(max_digits=10, decimal_places=2)
    service_date = models.DateField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "position"], name="charge_line_position_unique"),
            models.CheckConstraint(condition=Q(units__gt=0), name="charge_line_units_positive"),
            models.CheckConstraint(condition=Q(charge__gte=0), name="charge_line_charge_not_negative"),
            models.CheckConstraint(
                condition=Q(pointer1__gte=1) & Q(pointer1__lte=12), name="charge_line_pointer_range"
            ),
        ]

    @property
    def pointers(self) -> tuple[int, ...]:
        return tuple(p for p in (self.pointer1, self.pointer2, self.pointer3, self.pointer4) if p)

    def __str__(self) -> str:
        return f"{self.position}: {self.procedure.code}"


class ClaimEvent(TimeStampedModel):
    """One step of a claim's timeline: who moved it, from what, to what, and why."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=ClaimStatus.choices)
    actor_name = models.CharField(max_length=150)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class ClaimSequence(models.Model):
    """Per-organization counter for claim numbers (CLM01), advanced with an F() update under a row lock, so
    two billers entering charges at the same moment never draw the same number."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Claim counter of organization {self.organization_id}: {self.last_value}"


class Remittance(OrganizationScopedModel):
    """One imported 835: the payer's payment (check or EFT) identified by its trace number (TRN02). The
    unique constraint on organization, payer and trace number makes importing the same file twice a no-op."""

    payer_name = models.CharField(max_length=60)
    payer_identifier = models.CharField(max_length=80, help_text="TRN03, else the N1*PR identifier")
    payee_name = models.CharField(max_length=60, blank=True)
    payee_identifier = models.CharField(max_length=80, blank=True)
    trace_number = models.CharField(max_length=50, help_text="TRN02: check or EFT trace number")
    payment_method = models.CharField(max_length=3, blank=True, help_text="BPR04")
    payment_date = models.DateField(null=True, blank=True)
    total_paid = models.DecimalField(max_digits=12, decimal_places=2)
    file_name = models.CharField(max_length=300, blank=True)
    provider_adjustments = models.JSONField(default=list, blank=True, help_text="PLB rows")
    actor_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "payer_identifier", "trace_number"],
                name="remittance_unique_payer_trace",
            ),
        ]

    def __str__(self) -> str:
        return f"Remittance {self.trace_number} from {self.payer_name}"


class RemittanceClaim(TimeStampedModel):
    """One CLP of a remittance. `claim` is empty when no claim of the organization has its number: the row
    is kept for review (the unmatched list) rather than lost."""

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="claims")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    claim_number = models.CharField(max_length=38, help_text="CLP01")
    status_code = models.CharField(max_length=2, help_text="CLP02")
    charge = models.DecimalField(max_digits=12, decimal_places=2)
    paid = models.DecimalField(max_digits=12, decimal_places=2)
    patient_responsibility = models.DecimalField(max_digits=12, decimal_places=2)
    payer_claim_number = models.CharField(max_length=50, blank=True)
    patient_name = models.CharField(max_length=120, blank=True)
    adjustments = models.JSONField(default=list, blank=True, help_text="[{group, reason, amount, line}]")
    outcome = models.CharField(max_length=300, blank=True, help_text="What posting did to the claim")

    class Meta:
        ordering = ["id"]

    @property
    def matched(self) -> bool:
        return self.claim_id is not None

    def __str__(self) -> str:
        return f"{self.claim_number}: paid {self.paid}"


class PatientPayment(OrganizationScopedModel):
    """Money a patient paid (a co-pay at check-in, a statement payment): the receipt's record. Its ledger
    row (kind patient_pay) is written in the same transaction; the row here is never changed."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    method = models.CharField(max_length=5, choices=PaymentMethod.choices)
    reference = models.CharField(max_length=60, blank=True, help_text="Card reference or check number")
    purpose = models.CharField(max_length=10, choices=PaymentPurpose.choices, default=PaymentPurpose.COPAY)
    received_at = models.DateTimeField()
    actor_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="patient_payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values), name="patient_payment_method_known"
            ),
            models.CheckConstraint(
                condition=~Q(method=PaymentMethod.CARD) | ~Q(reference=""),
                name="patient_payment_card_reference",
            ),
        ]
        indexes = [models.Index(fields=["organization", "patient"], name="patient_payment_patient")]

    @property
    def receipt_number(self) -> str:
        return f"R{self.organization_id}-{self.pk:06d}"

    def __str__(self) -> str:
        return f"Receipt {self.receipt_number}: {self.amount}"


class LedgerEntry(TimeStampedModel):
    """One append-only posting on a claim, or a patient's payment on their account (no claim). There is
    no stored balance: balances are sums of these rows."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger")
    payment = models.ForeignKey(
        PatientPayment, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    group = models.CharField(max_length=2, blank=True, help_text="CAS group (CO, PR, OA, PI, CR)")
    reason = models.CharField(max_length=5, blank=True, help_text="CARC")
    remittance_claim = models.ForeignKey(
        RemittanceClaim, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"], condition=Q(kind="charge"), name="ledger_one_charge_per_claim"
            ),
            # A claim's rows name the claim; a patient payment names its payment and no claim.
            models.CheckConstraint(
                condition=(Q(claim__isnull=False) & Q(payment__isnull=True) & ~Q(kind="patient_pay"))
                | (Q(claim__isnull=True) & Q(payment__isnull=False) & Q(kind="patient_pay")),
                name="ledger_claim_or_patient_payment",
            ),
            models.UniqueConstraint(
                fields=["payment"], condition=Q(payment__isnull=False), name="ledger_one_row_per_payment"
            ),
        ]
        indexes = [models.Index(fields=["claim", "kind"], name="ledger_claim_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class VisitTypeCharge(OrganizationScopedModel):
    """What a completed visit of a visit type bills: one procedure code and its units per row. Keyed by
    the visit type's stable code (scheduling sits above billing, so no foreign key to it). A deactivated
    mapping is kept (claims captured with it name its code) but captures nothing more."""

    visit_type_code = models.SlugField(max_length=40)
    procedure = models.ForeignKey(ProcedureCode, on_delete=models.PROTECT, related_name="+")
    units = models.DecimalField(max_digits=7, decimal_places=2, default=1)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["visit_type_code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "visit_type_code", "procedure"], name="visit_type_charge_unique"
            ),
            models.CheckConstraint(condition=Q(units__gt=0), name="visit_type_charge_units_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_type_code}: procedure {self.procedure_id}, {self.units} unit(s)"


class Statement(OrganizationScopedModel):
    """One patient statement as it was sent: the amount due, its aging and the PDF itself (a record of
    what the patient received; the balance is always recomputed from the ledger, never read from here)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    statement_date = models.DateField()
    amount_due = models.DecimalField(max_digits=12, decimal_places=2)
    current = models.DecimalField("0-30 days", max_digits=12, decimal_places=2)
    days_31_60 = models.DecimalField("31-60 days", max_digits=12, decimal_places=2)
    days_61_90 = models.DecimalField("61-90 days", max_digits=12, decimal_places=2)
    over_90 = models.DecimalField("over 90 days", max_digits=12, decimal_places=2)
    pdf = models.BinaryField()
    actor_name = models.CharField(max_length=150)
    cycle = models.DateField(
        null=True, blank=True, help_text="The statement run's month (its first day); empty when made by hand"
    )

    class Meta:
        ordering = ["-statement_date", "-id"]
        indexes = [models.Index(fields=["organization", "patient"], name="statement_patient")]
        constraints = [
            # The monthly run sends a patient one statement per cycle, however often or concurrently it runs.
            models.UniqueConstraint(
                fields=["patient", "cycle"], condition=Q(cycle__isnull=False), name="statement_once_per_cycle"
            ),
        ]

    def __str__(self) -> str:
        return f"Statement {self.pk} of {self.statement_date}: {self.amount_due}"


class StatementRun(OrganizationScopedModel):
    """The statement run of one organization's cycle (a calendar month): started once (unique), finished
    when every patient owing something then has the cycle's statement. The periodic run does nothing more
    in a cycle whose run has finished, so a balance that appears later waits for the next cycle."""

    cycle = models.DateField(help_text="The first day of the month")
    statements = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-cycle"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "cycle"], name="statement_run_once_per_cycle"),
        ]

    def __str__(self) -> str:
        return f"Statement run of {self.cycle:%Y-%m}"
