"""Orders (labs, imaging, procedures, referrals, durable medical equipment) and their timeline."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel

from .choices import CodeSystem, EventKind, OrderKind, OrderStatus, Priority


class Order(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=OrderKind.choices)
    code_system = models.CharField(max_length=10, choices=CodeSystem.choices)
    code = models.CharField(max_length=40)
    code_display = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    reason = models.TextField(blank=True)
    # [{"code": "E11.9", "description": "Type 2 diabetes mellitus without complications"}, ...]
    diagnoses = models.JSONField(default=list, blank=True)
    practitioner = models.ForeignKey(
        "practitioners.Practitioner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The ordering practitioner",
    )
    location = models.ForeignKey(
        "accounts.Location", on_delete=models.PROTECT, related_name="+", help_text="Where the service happens"
    )
    telehealth = models.BooleanField(default=False)
    controlled_substance = models.BooleanField(default=False)
    service_date = models.DateField(help_text="When the service is to happen (the checks' date)")
    authored_at = models.DateTimeField(help_text="When the order was written")
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    status_changed_at = models.DateTimeField()
    status_reason = models.TextField(blank=True, help_text="Why it was cancelled or revoked")
    placed_at = models.DateTimeField(null=True, blank=True)
    authorization_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The prior authorization the order was placed under"
    )
    override_reason = models.TextField(blank=True)
    override_reasons = models.JSONField(
        default=list, blank=True, help_text="What the failed check said when an administrator overrode it"
    )
    override_by_name = models.CharField(max_length=150, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True, help_text="The result or completion notes")
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    created_by_name = models.CharField(max_length=150)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=OrderKind.values), name="order_kind_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="order_priority_valid"),
            models.CheckConstraint(
                condition=Q(code_system__in=CodeSystem.values), name="order_code_system_valid"
            ),
            models.CheckConstraint(condition=~Q(code=""), name="order_code_required"),
            models.CheckConstraint(
                condition=~Q(status__in=[OrderStatus.CANCELLED, OrderStatus.REVOKED]) | ~Q(status_reason=""),
                name="order_cancelled_or_revoked_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="order_completed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status=OrderStatus.DRAFT)
                | Q(status=OrderStatus.CANCELLED)
                | Q(placed_at__isnull=False),
                name="order_placed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "authored_at"], name="order_org_status"),
            models.Index(fields=["patient", "status"], name="order_patient_status"),
            models.Index(fields=["organization", "practitioner"], name="order_org_practitioner"),
        ]

    def __str__(self) -> str:
        label = self.code_display or self.code
        return f"Order #{self.pk}: {self.get_kind_display()} {label} ({self.get_status_display()})"


class OrderEvent(models.Model):
    """One row per step: created, placed (or placed past a failed check), every status change."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    from_status = models.CharField(max_length=12, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=OrderStatus.choices)
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    actor_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_order_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.from_status or '—'} → {self.to_status}"
