"""Payers, their plans, a patient's coverages, and eligibility checks (270 sent, 271 read).

The database keeps the invariants: a payer ID is unique in an organization; among a patient's *active*
coverages each order (primary, secondary, tertiary) is taken at most once (a partial unique constraint);
coverage dates are ordered; money is Decimal. An eligibility check keeps the request and response text as
sent and received; its benefits are rows, so amounts stay Decimal and can be queried.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from . import rules
from .choices import (
    AuthorizationStatus,
    BenefitKind,
    ClearinghouseRoute,
    CoverageOrder,
    CoverageStatus,
    EligibilityStatus,
    Network,
    SubscriberRelationship,
)


class Payer(OrganizationScopedModel):
    name = models.CharField(max_length=120)
    payer_id = models.CharField("payer ID", max_length=80, help_text="The ID the clearinghouse routes on")
    clearinghouse_route = models.CharField(
        max_length=20, choices=ClearinghouseRoute.choices, default=ClearinghouseRoute.FILE_DROP
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "payer_id"], name="payer_id_unique_in_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.payer_id})"


class Plan(OrganizationScopedModel):
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=120)
    plan_type = models.CharField(max_length=40, blank=True, help_text="e.g. PPO, HMO, Medicare Advantage")
    copay = models.DecimalField(
        "office visit co-pay",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The plan's usual co-pay, when the payer's answer states none",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "name"], name="plan_name_unique_per_payer"),
            models.CheckConstraint(
                condition=Q(copay__isnull=True) | Q(copay__gte=0), name="plan_copay_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Coverage(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="coverages")
    order = models.PositiveSmallIntegerField(choices=CoverageOrder.choices, default=CoverageOrder.PRIMARY)
    status = models.CharField(max_length=10, choices=CoverageStatus.choices, default=CoverageStatus.ACTIVE)
    member_id = models.CharField("member ID", max_length=80)
    group_number = models.CharField(max_length=50, blank=True)
    relationship = models.CharField(
        "patient's relationship to the subscriber",
        max_length=10,
        choices=SubscriberRelationship.choices,
        default=SubscriberRelationship.SELF,
    )
    subscriber_given_name = models.CharField(max_length=100, blank=True)
    subscriber_family_name = models.CharField(max_length=100, blank=True)
    subscriber_birth_date = models.DateField(null=True, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped on every change")

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "order"],
                condition=Q(status="active"),
                name="coverage_order_unique_among_active",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="coverage_dates_ordered",
            ),
            models.CheckConstraint(condition=Q(order__gte=1) & Q(order__lte=3), name="coverage_order_range"),
            models.CheckConstraint(
                condition=Q(relationship="self")
                | (~Q(subscriber_given_name="") & ~Q(subscriber_family_name="")),
                name="coverage_subscriber_named_unless_self",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"], name="coverage_org_status")]

    def __str__(self) -> str:
        return f"{self.get_order_display()}: {self.plan} ({self.member_id})"

    @property
    def is_active(self) -> bool:
        return self.status == CoverageStatus.ACTIVE


class EligibilityBatch(OrganizationScopedModel):
    """A run of eligibility checks started together; its progress is counted from its checks."""

    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Eligibility batch {self.pk}"


class EligibilityCheck(OrganizationScopedModel):
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="eligibility_checks")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(
        EligibilityBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="checks"
    )
    status = models.CharField(
        max_length=10, choices=EligibilityStatus.choices, default=EligibilityStatus.QUEUED
    )
    trace_number = models.CharField(max_length=50, help_text="TRN02 of the 270, echoed in the 271")
    service_date = models.DateField()
    requested_by_name = models.CharField(max_length=150)
    request_text = models.TextField(blank=True)
    response_text = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    plan_name = models.CharField(max_length=120, blank=True, help_text="As the payer names it")
    plan_begin = models.DateField(null=True, blank=True)
    plan_end = models.DateField(null=True, blank=True)
    rejections = models.JSONField(
        default=list, blank=True, help_text="AAA rejections: code, follow-up, message and what to do"
    )
    error_message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "trace_number"], name="eligibility_trace_unique"),
        ]
        indexes = [
            models.Index(fields=["coverage", "-created_at"], name="eligibility_latest_check"),
        ]

    def __str__(self) -> str:
        return f"Eligibility check {self.trace_number}"


class EligibilityBenefit(TimeStampedModel):
    """One EB segment of a 271, in plain terms."""

    eligibility_check = models.ForeignKey(EligibilityCheck, on_delete=models.CASCADE, related_name="benefits")
    kind = models.CharField(max_length=20, choices=BenefitKind.choices)
    service_type = models.CharField(max_length=3, blank=True, help_text="X12 service type code (EB03)")
    service_label = models.CharField(max_length=80, blank=True)
    coverage_level = models.CharField(max_length=3, blank=True, help_text="IND individual, FAM family …")
    network = models.CharField(max_length=3, choices=Network.choices, blank=True)
    time_period = models.CharField(max_length=40, blank=True, help_text="e.g. calendar year, remaining")
    remaining = models.BooleanField(default=False, help_text="The amount is what is left (EB06 = 29)")
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    plan_description = models.CharField(max_length=120, blank=True)
    message = models.CharField(max_length=264, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.service_label}".strip()


class AuthorizationRule(OrganizationScopedModel):
    """A service (procedure or visit-type code) a payer will not pay for without a prior authorization:
    for all its plans, or only for one plan."""

    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="authorization_rules")
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authorization_rules",
        help_text="Leave empty when every plan of the payer requires it",
    )
    service_code = models.CharField(
        max_length=40, help_text="A procedure code (e.g. 72148) or a visit-type code (e.g. mri-lumbar)"
    )
    description = models.CharField(max_length=200, blank=True, help_text="e.g. MRI lumbar spine")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["payer__name", "service_code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "service_code"],
                condition=Q(plan__isnull=True),
                name="auth_rule_unique_per_payer",
            ),
            models.UniqueConstraint(
                fields=["plan", "service_code"],
                condition=Q(plan__isnull=False),
                name="auth_rule_unique_per_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer.name}: {self.service_code}"


class PriorAuthorization(OrganizationScopedModel):
    """A payer's authorization of a service for a patient under one coverage. Units used are counted on
    the row, changed only with the row locked (services.record_authorization_use), and the database
    refuses more than authorized unless an override added the excess to `units_over`."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="authorizations")
    service_code = models.CharField(max_length=40)
    description = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=AuthorizationStatus.choices, default=AuthorizationStatus.REQUESTED
    )
    auth_number = models.CharField("authorization number", max_length=50, blank=True)
    units_requested = models.PositiveIntegerField(null=True, blank=True)
    units_authorized = models.PositiveIntegerField(null=True, blank=True)
    units_used = models.PositiveIntegerField(default=0)
    units_over = models.PositiveIntegerField(
        default=0, help_text="Units used beyond the authorization, each with an override reason"
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    decision_reason = models.CharField(max_length=300, blank=True, help_text="Why denied or cancelled")
    requested_by_name = models.CharField(max_length=150)
    decided_by_name = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="prior_auth_dates_ordered",
            ),
            models.CheckConstraint(
                condition=(
                    Q(units_authorized__isnull=False)
                    & Q(units_used__lte=models.F("units_authorized") + models.F("units_over"))
                )
                | (Q(units_authorized__isnull=True) & Q(units_used=0)),
                name="prior_auth_units_within_authorized",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved")
                | (
                    ~Q(auth_number="")
                    & Q(units_authorized__gte=1)
                    & Q(valid_from__isnull=False)
                    & Q(valid_to__isnull=False)
                ),
                name="prior_auth_approved_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "service_code"], name="prior_auth_patient_service"),
        ]

    def __str__(self) -> str:
        return f"Prior authorization {self.auth_number or self.pk} for {self.service_code}"

    @property
    def facts(self) -> rules.AuthorizationFacts:
        return rules.AuthorizationFacts(
            id=self.pk,
            number=self.auth_number,
            status=self.status,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            units_authorized=self.units_authorized,
            units_used=self.units_used,
        )

    @property
    def current_status(self) -> str:
        """requested, approved, denied, cancelled, or (approved but) expired or used up, as of today."""
        return rules.display_status(self.facts, timezone.localdate())

    @property
    def units_left(self) -> int:
        return rules.units_left(self.facts)


class AuthorizationUse(TimeStampedModel):
    """One use of an authorization's units (a visit, a procedure); append-only, the counter's ledger."""

    authorization = models.ForeignKey(PriorAuthorization, on_delete=models.PROTECT, related_name="uses")
    used_on = models.DateField()
    units = models.PositiveIntegerField(default=1)
    reference = models.CharField(max_length=80, blank=True, help_text="e.g. appointment 123")
    override_reason = models.CharField(max_length=300, blank=True)
    recorded_by_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["used_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(units__gte=1), name="auth_use_units_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.units} unit(s) of {self.authorization_id} on {self.used_on}"
