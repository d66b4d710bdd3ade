"""Care plans (goals, activities) and Chronic Care Management (consent, monthly billing, minutes).

A plan belongs to an organization and one patient; its goals, activities and care-team members belong to the
plan. A goal or activity is never deleted from the page: it is cancelled, with a reason, and kept. CCM time
is kept per patient per calendar month: one `CcmMonth` row per patient and month names the single billing
practitioner (unique constraint), and every `CcmTimeEntry` hangs off that month.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import ActivityKind, CareTeamRole, Comparator, ConsentMethod, ItemStatus, PlanStatus


class CarePlan(OrganizationScopedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    template_code = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    condition = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    source = models.CharField(max_length=300, blank=True, help_text="Guideline the targets come from")
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "template_code"],
                condition=Q(status="active"),
                name="careplan_one_active_per_template",
            ),
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="careplan_status_valid"),
        ]
        indexes = [models.Index(fields=["organization", "patient", "status"], name="careplan_org_patient")]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def care_team(self) -> list[str]:
        """The roles of the plan's care team, in order (choices.CareTeamRole values); who fills each role,
        if anyone, is on `team_members`."""
        return [member.role for member in self.team_members.all()]


class CareTeamMember(TimeStampedModel):
    """One place on a plan's care team: a role, filled by a named staff user or practitioner of the
    organization, or by nobody yet (as the template copies it)."""

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="team_members")
    position = models.PositiveSmallIntegerField(default=0)
    role = models.CharField(max_length=30, choices=CareTeamRole.choices)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    practitioner = models.ForeignKey(
        "practitioners.Practitioner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=CareTeamRole.values), name="careteam_role_valid"),
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(practitioner__isnull=True),
                name="careteam_one_kind_of_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.member_name or 'unnamed'}"

    @property
    def member_name(self) -> str:
        """The named person, or "" for a role nobody fills yet."""
        if self.practitioner is not None:
            p = self.practitioner
            return f"{p.given_name} {p.family_name}{', ' + p.credentials if p.credentials else ''}"
        if self.user is not None:
            return str(self.user.display_name)
        return ""


class Goal(TimeStampedModel):
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="goals")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    code = models.CharField("LOINC code", max_length=10)
    comparator = models.CharField(max_length=2, choices=Comparator.choices)
    target = models.DecimalField(max_digits=10, decimal_places=2)
    unit = models.CharField(max_length=20)
    stale_after_days = models.PositiveIntegerField(default=180)
    due_on = models.DateField(null=True, blank=True, help_text="The date the target should be reached by")
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.ACTIVE)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(comparator__in=Comparator.values), name="goal_comparator_valid"
            ),
            models.CheckConstraint(condition=Q(stale_after_days__gte=1), name="goal_stale_after_positive"),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="goal_status_valid"),
        ]

    def __str__(self) -> str:
        return self.description


class Activity(TimeStampedModel):
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="activities")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    description = models.CharField(max_length=300)
    every_months = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: once")
    due_on = models.DateField(null=True, blank=True, help_text="Empty: nothing due (a one-off done)")
    last_done_on = models.DateField(null=True, blank=True)
    education_material = models.ForeignKey(
        "education.Material",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="An education activity's handout (assigned to the patient when the plan is created)",
    )
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.ACTIVE)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ActivityKind.values), name="activity_kind_valid"),
            models.CheckConstraint(
                condition=Q(every_months__isnull=True) | Q(every_months__gte=1, every_months__lte=60),
                name="activity_every_months_range",
            ),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="activity_status_valid"),
        ]
        indexes = [models.Index(fields=["due_on"], name="activity_due_on")]

    def __str__(self) -> str:
        return self.description


class CcmConsent(OrganizationScopedModel):
    """Documented consent to Chronic Care Management: when, how and who obtained it; `revoked_on` ends it."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    consented_on = models.DateField()
    method = models.CharField(max_length=12, choices=ConsentMethod.choices)
    obtained_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    obtained_by_name = models.CharField(max_length=150)
    note = models.CharField(max_length=500, blank=True)
    revoked_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(revoked_on__isnull=True), name="ccm_one_open_consent"
            ),
            models.CheckConstraint(
                condition=Q(method__in=ConsentMethod.values), name="ccm_consent_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"CCM consent of patient {self.patient_id} on {self.consented_on}"


class CcmMonth(OrganizationScopedModel):
    """One patient's CCM in one calendar month, billed by exactly one practitioner."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the calendar month")
    billing_practitioner = models.ForeignKey(
        "practitioners.Practitioner", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "month"], name="ccm_one_billing_practitioner_per_month"
            ),
        ]
        indexes = [models.Index(fields=["organization", "month"], name="ccm_month_org_month")]

    def __str__(self) -> str:
        return f"CCM {self.month:%Y-%m} of patient {self.patient_id}"


class CcmTimeEntry(TimeStampedModel):
    ccm_month = models.ForeignKey(CcmMonth, on_delete=models.PROTECT, related_name="entries")
    staff = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    staff_name = models.CharField(max_length=150)
    staff_role = models.CharField(max_length=20)
    performed_on = models.DateField()
    minutes = models.PositiveSmallIntegerField()
    activity = models.CharField(max_length=300)

    class Meta:
        verbose_name_plural = "CCM time entries"
        ordering = ["performed_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1, minutes__lte=240), name="ccm_minutes_range"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.performed_on} by {self.staff_name}"
