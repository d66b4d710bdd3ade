"""Read queries of the coverage app, restricted to the actor's organization. Coverages and eligibility
results are patient data: every read that returns them writes its audit row here first."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.core.ids import positive_id
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound

from . import rules
from .choices import CoverageStatus, EligibilityStatus
from .errors import AuthorizationNotFound, BatchNotFound, CoverageNotFound, EligibilityCheckNotFound
from .models import (
    AuthorizationRule,
    Coverage,
    EligibilityBatch,
    EligibilityCheck,
    Payer,
    Plan,
    PriorAuthorization,
)


def _organization_id(actor: Actor, permission: Permission = Permission.COVERAGE_VIEW) -> int:
    if actor.organization_id is None or actor.is_portal or not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})
    return actor.organization_id


def payer_queryset(actor: Actor) -> QuerySet[Payer]:
    return Payer.objects.filter(organization_id=_organization_id(actor))


def plan_queryset(actor: Actor) -> QuerySet[Plan]:
    return Plan.objects.filter(organization_id=_organization_id(actor)).select_related("payer")


def coverage_queryset(actor: Actor) -> QuerySet[Coverage]:
    """Not audited: build further queries with it that are."""
    return Coverage.objects.filter(organization_id=_organization_id(actor)).select_related(
        "plan__payer", "patient"
    )


def _benefits_prefetch() -> Prefetch[Any]:
    return Prefetch("benefits")


@dataclass
class CoverageRow:
    coverage: Coverage
    latest_check: EligibilityCheck | None = None
    summary: rules.Summary | None = None


@dataclass
class CoverageOverview:
    patient: Any
    active: list[CoverageRow] = field(default_factory=list)
    ended: list[CoverageRow] = field(default_factory=list)


def summary_of(check: EligibilityCheck) -> rules.Summary:
    return rules.summarize(
        rules.BenefitFacts(
            kind=b.kind,
            service_type=b.service_type,
            network=b.network,
            coverage_level=b.coverage_level,
            remaining=b.remaining,
            amount=b.amount,
            percent=b.percent,
        )
        for b in check.benefits.all()
    )


def _patient(actor: Actor, patient_id: Any) -> Any:
    patient = patient_selectors.patient_queryset(actor).filter(pk=positive_id(patient_id)).first()
    if patient is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    return patient


def patient_of(*, actor: Actor, patient_id: int) -> Any:
    """The patient, in the actor's scope (PatientNotFound otherwise). Not audited: for page headings of
    pages whose own read is."""
    _organization_id(actor)
    return _patient(actor, patient_id)


def coverage_overview(*, actor: Actor, patient_id: int) -> CoverageOverview:
    """A patient's coverages (active by order, then ended) with each one's latest eligibility result."""
    _organization_id(actor)
    with transaction.atomic():
        patient = _patient(actor, patient_id)
        coverages = list(
            coverage_queryset(actor)
            .filter(patient_id=patient.pk)
            .order_by("status", "order", "-effective_from")
        )
        latest: dict[int, EligibilityCheck] = {}
        checks = (
            EligibilityCheck.objects.filter(coverage__in=coverages)
            .order_by("coverage_id", "-created_at", "-id")
            .prefetch_related(_benefits_prefetch())
        )
        for check in checks:
            latest.setdefault(check.coverage_id, check)
        overview = CoverageOverview(patient=patient)
        for coverage in coverages:
            found = latest.get(coverage.pk)
            row = CoverageRow(coverage, found, summary_of(found) if found is not None else None)
            (overview.active if coverage.status == CoverageStatus.ACTIVE else overview.ended).append(row)
        audit.record(
            actor=actor,
            action=AuditAction.COVERAGE_VIEW,
            patient_id=patient.pk,
            detail={"coverage_ids": [c.pk for c in coverages], "check_ids": [c.pk for c in latest.values()]},
        )
    return overview


def get_coverage(*, actor: Actor, coverage_id: int) -> Coverage:
    _organization_id(actor)
    with transaction.atomic():
        coverage = coverage_queryset(actor).filter(pk=positive_id(coverage_id)).first()
        if (
            coverage is None
            or not patient_selectors.patient_queryset(actor).filter(pk=coverage.patient_id).exists()
        ):
            raise CoverageNotFound(f"No coverage with id {coverage_id}.", details={"id": str(coverage_id)})
        audit.record(
            actor=actor, action=AuditAction.COVERAGE_VIEW, patient_id=coverage.patient_id, obj=coverage
        )
    return coverage


def patient_coverages(*, actor: Actor, patient_id: int, active_only: bool = False) -> list[Coverage]:
    _organization_id(actor)
    with transaction.atomic():
        patient = _patient(actor, patient_id)
        rows = coverage_queryset(actor).filter(patient_id=patient.pk).order_by("status", "order", "id")
        if active_only:
            rows = rows.filter(status=CoverageStatus.ACTIVE)
        coverages = list(rows)
        audit.record(
            actor=actor,
            action=AuditAction.COVERAGE_VIEW,
            patient_id=patient.pk,
            detail={"coverage_ids": [c.pk for c in coverages]},
        )
    return coverages


def get_check(*, actor: Actor, check_id: int) -> EligibilityCheck:
    organization_id = _organization_id(actor)
    with transaction.atomic():
        check = (
            EligibilityCheck.objects.filter(organization_id=organization_id, pk=positive_id(check_id))
            .select_related("coverage__plan__payer", "patient")
            .prefetch_related(_benefits_prefetch())
            .first()
        )
        if check is None:
            raise EligibilityCheckNotFound(
                f"No eligibility check with id {check_id}.", details={"id": str(check_id)}
            )
        audit.record(
            actor=actor, action=AuditAction.ELIGIBILITY_CHECK_VIEW, patient_id=check.patient_id, obj=check
        )
    return check


def patient_checks(*, actor: Actor, patient_id: int, limit: int = 50) -> list[EligibilityCheck]:
    organization_id = _organization_id(actor)
    with transaction.atomic():
        patient = _patient(actor, patient_id)
        checks = list(
            EligibilityCheck.objects.filter(organization_id=organization_id, patient_id=patient.pk)
            .select_related("coverage__plan__payer")
            .prefetch_related(_benefits_prefetch())
            .order_by("-created_at", "-id")[:limit]
        )
        audit.record(
            actor=actor,
            action=AuditAction.ELIGIBILITY_CHECK_VIEW,
            patient_id=patient.pk,
            detail={"check_ids": [c.pk for c in checks]},
        )
    return checks


@dataclass
class BatchProgress:
    batch: EligibilityBatch
    total: int
    counts: dict[str, int]
    checks: list[EligibilityCheck]

    @property
    def finished(self) -> int:
        return sum(n for status, n in self.counts.items() if status in EligibilityStatus.finished())

    @property
    def done(self) -> bool:
        return self.finished == self.total

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (100 * self.finished) // self.total

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


def batch_progress(*, actor: Actor, batch_id: int, limit: int = 200) -> BatchProgress:
    """How far a batch got (counted from its checks), and its first `limit` checks."""
    organization_id = _organization_id(actor)
    with transaction.atomic():
        batch = EligibilityBatch.objects.filter(
            organization_id=organization_id, pk=positive_id(batch_id)
        ).first()
        if batch is None:
            raise BatchNotFound(f"No eligibility batch with id {batch_id}.", details={"id": str(batch_id)})
        statuses = Counter(batch.checks.values_list("status", flat=True))
        checks = list(batch.checks.select_related("coverage__plan__payer", "patient").order_by("id")[:limit])
        audit.record(
            actor=actor,
            action=AuditAction.ELIGIBILITY_BATCH_VIEW,
            obj=batch,
            detail={
                "check_ids": [c.pk for c in checks],
                "result_ids": sorted({c.patient_id for c in checks}),
            },
        )
    return BatchProgress(batch=batch, total=sum(statuses.values()), counts=dict(statuses), checks=checks)


def recent_batches(*, actor: Actor, limit: int = 20) -> list[EligibilityBatch]:
    """Batches are not patient data by themselves (no names): not audited."""
    return list(EligibilityBatch.objects.filter(organization_id=_organization_id(actor))[:limit])


@dataclass(frozen=True)
class FailedEligibility:
    """The latest eligibility answer for a coverage and service date that says the visit is not covered
    (coverage inactive, rejected by the payer, or the request could not be sent)."""

    check_id: int
    patient_id: int
    service_date: dt.date
    status: str
    payer_name: str
    member_id: str
    reasons: tuple[str, ...]


def _reasons(check: EligibilityCheck) -> tuple[str, ...]:
    found: list[str] = []
    for rejection in check.rejections or []:
        if isinstance(rejection, dict):
            text = " ".join(
                str(rejection.get(k, "")).strip() for k in ("message", "action") if rejection.get(k)
            )
            if text:
                found.append(text)
    if check.error_message:
        found.append(check.error_message)
    if not found and check.status == EligibilityStatus.INACTIVE:
        found.append("The payer answered that the coverage is not active on the service date.")
    return tuple(found)


@dataclass(frozen=True)
class EligibilityFollowUp:
    failed: list[FailedEligibility]
    #: failed checks a later check for the same coverage and date found active: their work is done
    cleared_check_ids: list[int]


def failed_eligibility_from(*, actor: Actor, first_day: dt.date) -> EligibilityFollowUp:
    """For each coverage and service date on or after `first_day`, its latest finished check when that check
    failed; and the earlier failures that a later check found active. Audited as an eligibility read
    naming the patients."""
    organization_id = _organization_id(actor)
    failed = (EligibilityStatus.INACTIVE, EligibilityStatus.REJECTED, EligibilityStatus.FAILED)
    with transaction.atomic():
        latest: dict[tuple[int, dt.date], EligibilityCheck] = {}
        earlier_failures: dict[tuple[int, dt.date], list[int]] = {}
        for check in (
            EligibilityCheck.objects.filter(
                organization_id=organization_id,
                service_date__gte=first_day,
                status__in=EligibilityStatus.finished(),
                patient_id__in=patient_selectors.patient_queryset(actor).values("pk"),
            )
            .select_related("coverage__plan__payer")
            .order_by("created_at", "pk")
        ):
            key = (check.coverage_id, check.service_date)
            if check.status in failed:
                earlier_failures.setdefault(key, []).append(check.pk)
            latest[key] = check
        found = [
            FailedEligibility(
                check_id=check.pk,
                patient_id=check.patient_id,
                service_date=check.service_date,
                status=check.status,
                payer_name=check.coverage.plan.payer.name,
                member_id=check.coverage.member_id,
                reasons=_reasons(check),
            )
            for check in latest.values()
            if check.status in failed
        ]
        cleared = sorted(
            pk
            for key, check in latest.items()
            if check.status == EligibilityStatus.ACTIVE
            for pk in earlier_failures.get(key, [])
        )
        if found:
            audit.record(
                actor=actor,
                action=AuditAction.ELIGIBILITY_CHECK_VIEW,
                detail={
                    "check_ids": [f.check_id for f in found],
                    "result_ids": sorted({f.patient_id for f in found}),
                },
            )
    return EligibilityFollowUp(sorted(found, key=lambda f: (f.service_date, f.check_id)), cleared)


# --- prior authorizations ------------------------------------------------------------------------------


def authorization_queryset(actor: Actor) -> QuerySet[PriorAuthorization]:
    """Not audited: build further queries with it that are."""
    return PriorAuthorization.objects.filter(organization_id=_organization_id(actor)).select_related(
        "coverage__plan__payer"
    )


def patient_authorizations(*, actor: Actor, patient_id: int) -> list[PriorAuthorization]:
    """A patient's prior authorizations, newest first. Audited."""
    _organization_id(actor)
    with transaction.atomic():
        patient = _patient(actor, patient_id)
        found = list(
            authorization_queryset(actor).filter(patient_id=patient.pk).order_by("-created_at", "-id")
        )
        audit.record(
            actor=actor,
            action=AuditAction.AUTHORIZATION_VIEW,
            patient_id=patient.pk,
            detail={"authorization_ids": [a.pk for a in found]},
        )
    return found


def get_authorization(*, actor: Actor, authorization_id: int) -> PriorAuthorization:
    """One authorization with its uses (prefetched). Audited."""
    _organization_id(actor)
    with transaction.atomic():
        auth = (
            authorization_queryset(actor)
            .select_related("patient")
            .prefetch_related("uses")
            .filter(pk=positive_id(authorization_id))
            .first()
        )
        if auth is None or not patient_selectors.patient_queryset(actor).filter(pk=auth.patient_id).exists():
            raise AuthorizationNotFound(
                f"No prior authorization with id {authorization_id}.", details={"id": str(authorization_id)}
            )
        audit.record(actor=actor, action=AuditAction.AUTHORIZATION_VIEW, patient_id=auth.patient_id, obj=auth)
    return auth


def authorization_rules(*, actor: Actor) -> QuerySet[AuthorizationRule]:
    """The organization's list of services needing authorization (no patient data)."""
    return AuthorizationRule.objects.filter(organization_id=_organization_id(actor)).select_related(
        "payer", "plan"
    )
