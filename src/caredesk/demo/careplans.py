"""A few care plans for the demo network, made through the care-plan services: the first patients of each
organization get a plan for each template their problem list calls for (diabetes, hypertension, …); the
first diabetic's HbA1c lab is set overdue so the worklist shows it; a few with two or more chronic conditions
give CCM consent and have minutes logged this month by a clinical-staff user of the organization. Cheap
by design: a fixed handful of patients per organization, whatever the size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Permission
from caredesk.accounts.services import actor_for_user
from caredesk.careplans import catalog, rules, services
from caredesk.careplans.errors import PlanExists
from caredesk.core.context import Actor, system_actor
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

PATIENTS_PER_ORGANIZATION = 12
#: Minutes logged this month for each enrolled patient: some below 20, some at 99490, one with 99439.
CCM_MINUTES: tuple[tuple[int, ...], ...] = ((8, 14), (25,), (10,), (12, 30))
_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.PATIENT_VIEW,
        Permission.CLINICAL_VIEW,
        Permission.CAREPLAN_VIEW,
        Permission.CAREPLAN_MANAGE,
        Permission.CCM_LOG,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
    )
)


@dataclass
class CareplanReport:
    plans: int = 0
    ccm_patients: int = 0
    tasks: int = 0


def _templates_for(codes: list[str]) -> list[str]:
    return [
        t.code
        for t in catalog.TEMPLATES.values()
        if any(code.startswith(prefix) for code in codes for prefix in t.icd10_prefixes)
    ]


def _load_organization(organization: Organization, report: CareplanReport) -> None:
    actor: Actor = system_actor(
        organization_id=organization.pk, permissions=_PERMISSIONS, channel="cli", username="seed_demo"
    )
    today = timezone.localdate()
    practitioner = (
        practitioner_selectors.practitioner_queryset(actor).filter(active=True).order_by("pk").first()
    )
    patient_ids = list(
        patient_selectors.patient_queryset(actor)
        .filter(status="active")
        .order_by("pk")
        .values_list("pk", flat=True)[:PATIENTS_PER_ORGANIZATION]
    )
    overdue_set = False
    # Only clinical staff minutes count toward CCM: they are logged as the organization's first clinician.
    staff = (
        User.objects.filter(
            organization=organization, role__in=rules.CCM_CLINICAL_STAFF_ROLES, is_active=True
        )
        .order_by("pk")
        .first()
    )
    clinician = actor_for_user(staff, channel="cli") if staff is not None else None
    enrolled = 0
    for patient_id in patient_ids:
        problems = patient_selectors.list_entries(
            actor=actor, patient_id=patient_id, entry_type="problem", page_size=20
        ).results
        templates = _templates_for([p.icd10_code for p in problems if p.clinical_status == "active"])
        for code in templates:
            try:
                plan = services.create_plan(
                    actor=actor,
                    patient_id=patient_id,
                    template_code=code,
                    start_on=today - dt.timedelta(days=10),
                )
            except PlanExists:
                continue
            report.plans += 1
            if code == "diabetes" and not overdue_set:
                lab = plan.activities.get(description="HbA1c blood test")
                services.update_activity(
                    actor=actor,
                    activity_id=lab.pk,
                    description=lab.description,
                    every_months=lab.every_months,
                    due_on=today - dt.timedelta(days=10),
                )
                overdue_set = True
        eligible = len(templates) >= rules.CCM_MIN_CHRONIC_CONDITIONS  # one template per chronic condition
        if eligible and clinician is not None and practitioner is not None and enrolled < len(CCM_MINUTES):
            services.record_consent(
                actor=actor,
                patient_id=patient_id,
                consented_on=today - dt.timedelta(days=45),
                method="verbal",
            )
            for minutes in CCM_MINUTES[enrolled]:
                services.log_ccm_time(
                    actor=clinician,
                    patient_id=patient_id,
                    performed_on=today,
                    minutes=minutes,
                    activity="Care plan review call",
                    billing_practitioner_id=practitioner.pk,
                )
            enrolled += 1
    report.ccm_patients += enrolled
    report.tasks += services.create_overdue_tasks(actor=actor).created


def load_careplans(organizations: list[Organization]) -> CareplanReport:
    report = CareplanReport()
    for organization in organizations:
        _load_organization(organization, report)
    return report
