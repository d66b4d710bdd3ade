"""Read queries of credentialing, restricted to the actor's organization.

Credential files are directory data about practitioners, not patient data: single reads are not audited
(writes are, in services); the reports write one audit row each (REPORT_VIEW / REPORT_EXPORT).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.rules import is_valid_npi

from . import clock, rules
from .choices import ACTIVE_PRIVILEGE_STATUSES, CredentialKind, CredentialStatus, PrivilegeStatus
from .errors import ApplicationNotFound, PrivilegeNotFound
from .models import (
    BoardCertification,
    CredentialDocument,
    CredentialingApplication,
    DeaRegistration,
    HistoryEntry,
    MalpracticeCoverage,
    Privilege,
    StateLicense,
)
from .services import KIND_MODELS, AnyCredential


def _org(actor: Actor) -> int:
    return actor.organization_id if actor.organization_id is not None else -1


def license_queryset(actor: Actor) -> QuerySet[StateLicense]:
    return StateLicense.objects.filter(organization_id=_org(actor))


def privilege_queryset(actor: Actor) -> QuerySet[Privilege]:
    return Privilege.objects.filter(organization_id=_org(actor))


def credentialed_practitioners(actor: Actor) -> QuerySet[Practitioner]:
    return practitioner_selectors.practitioner_queryset(actor).order_by("family_key", "given_key", "pk")


@dataclass
class CredentialFile:
    practitioner: Practitioner
    today: dt.date
    licenses: list[StateLicense]
    deas: list[DeaRegistration]
    boards: list[BoardCertification]
    malpractice: list[MalpracticeCoverage]
    history: list[HistoryEntry]
    documents: list[CredentialDocument]
    privileges: list[Privilege]
    applications: list[CredentialingApplication]
    npi_ok: bool = True
    lapsed: list[str] = field(default_factory=list)


def credential_file(*, actor: Actor, practitioner_id: int) -> CredentialFile:
    """Everything on file for one practitioner (PractitionerNotFound outside the organization)."""
    practitioner = practitioner_selectors.get_practitioner(actor=actor, practitioner_id=practitioner_id)
    today = clock.today()
    org = _org(actor)

    def rows(model: type[AnyCredential]) -> list[AnyCredential]:
        return list(
            model.objects.filter(organization_id=org, practitioner=practitioner).order_by(
                "status", "-expires_on"
            )
        )

    licenses = rows(StateLicense)
    deas = rows(DeaRegistration)
    file = CredentialFile(
        practitioner=practitioner,
        today=today,
        licenses=licenses,  # type: ignore[arg-type]
        deas=deas,  # type: ignore[arg-type]
        boards=rows(BoardCertification),  # type: ignore[arg-type]
        malpractice=rows(MalpracticeCoverage),  # type: ignore[arg-type]
        history=list(
            HistoryEntry.objects.filter(organization_id=org, practitioner=practitioner).order_by(
                "-started_on"
            )
        ),
        documents=list(
            CredentialDocument.objects.filter(organization_id=org, practitioner=practitioner).order_by(
                "-created_at"
            )
        ),
        privileges=list(
            Privilege.objects.filter(organization_id=org, practitioner=practitioner)
            .select_related("location")
            .order_by("location__name", "service_code", "-requested_on")
        ),
        applications=list(
            CredentialingApplication.objects.filter(organization_id=org, practitioner=practitioner)
            .prefetch_related("verifications")
            .order_by("-opened_on", "-pk")
        ),
        npi_ok=is_valid_npi(practitioner.npi),
    )
    file.lapsed = [
        f"{c}" for c in [*licenses, *deas] if c.status == CredentialStatus.ACTIVE and c.expires_on < today
    ]
    return file


def get_application(*, actor: Actor, application_id: int) -> CredentialingApplication:
    application = (
        CredentialingApplication.objects.filter(organization_id=_org(actor), pk=application_id)
        .select_related("practitioner")
        .prefetch_related("verifications")
        .first()
    )
    if application is None:
        raise ApplicationNotFound(f"No application with id {application_id}.")
    return application


# --- reports ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiringRow:
    kind: str
    kind_label: str
    credential_id: int
    practitioner_id: int
    practitioner: str
    description: str
    expires_on: dt.date
    days_left: int


@dataclass
class ExpiringReport:
    today: dt.date
    days: int
    rows: list[ExpiringRow]
    by_month: list[tuple[str, int]]  # ("2026-12", 3) for every month in the window, empty ones included


def _expiring_rows(actor: Actor, today: dt.date, days: int) -> list[ExpiringRow]:
    horizon = today + dt.timedelta(days=days)
    rows: list[ExpiringRow] = []
    for kind, model in KIND_MODELS.items():
        for credential in (
            model.objects.filter(
                organization_id=_org(actor),
                status=CredentialStatus.ACTIVE,
                expires_on__gte=today,
                expires_on__lte=horizon,
            )
            .select_related("practitioner")
            .order_by("expires_on", "pk")
        ):
            rows.append(
                ExpiringRow(
                    kind=kind,
                    kind_label=CredentialKind(kind).label,
                    credential_id=credential.pk,
                    practitioner_id=credential.practitioner_id,
                    practitioner=str(credential.practitioner),
                    description=str(credential),
                    expires_on=credential.expires_on,
                    days_left=(credential.expires_on - today).days,
                )
            )
    rows.sort(key=lambda r: (r.expires_on, r.practitioner, r.kind, r.credential_id))
    return rows


def _months(today: dt.date, horizon: dt.date) -> list[str]:
    months, day = [], today.replace(day=1)
    while day <= horizon:
        months.append(f"{day:%Y-%m}")
        day = rules.add_months(day, 1)
    return months


def expiring_report(*, actor: Actor, days: int = 90, export: bool = False) -> ExpiringReport:
    """Credentials (licenses, DEA, board certifications, malpractice) lapsing within `days`."""
    today = clock.today()
    rows = _expiring_rows(actor, today, days)
    counts = Counter(f"{r.expires_on:%Y-%m}" for r in rows)
    by_month = [(m, counts.get(m, 0)) for m in _months(today, today + dt.timedelta(days=days))]
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.CREDENTIAL_REPORT_EXPORT if export else AuditAction.CREDENTIAL_REPORT_VIEW,
            object_type="credentialing.report",
            object_id="expiring",
            detail={"report": "expiring", "days": days, "rows": len(rows)},
        )
    return ExpiringReport(today=today, days=days, rows=rows, by_month=by_month)


@dataclass(frozen=True)
class BlockedRow:
    practitioner_id: int
    practitioner: str
    location: str
    service_code: str
    service_label: str
    privilege_status: str
    reasons: list[str]


def blocked_services(*, actor: Actor, export: bool = False) -> list[BlockedRow]:
    """Every privileged service (any status but expired) its practitioner could not do today at its
    location, in person, with the reasons: a lapsed or missing license in the location's state, a
    suspended, requested or lapsed privilege."""
    today = clock.today()
    privileges = list(
        privilege_queryset(actor)
        .exclude(status=PrivilegeStatus.EXPIRED)
        .select_related("practitioner", "location")
        .order_by("practitioner__family_key", "practitioner__given_key", "location__name", "service_code")
    )
    practitioner_ids = {p.practitioner_id for p in privileges}
    licenses: dict[int, list[rules.LicenseFact]] = {i: [] for i in practitioner_ids}
    for lic in license_queryset(actor).filter(practitioner_id__in=practitioner_ids):
        licenses[lic.practitioner_id].append(
            rules.LicenseFact(lic.state, lic.number, lic.status, lic.issued_on, lic.expires_on)
        )
    out: list[BlockedRow] = []
    for privilege in privileges:
        state = privilege.location.state.strip().upper()
        facts = rules.Facts(
            name=str(privilege.practitioner),
            licenses=[lic for lic in licenses[privilege.practitioner_id] if lic.state == state],
            privileges=[
                rules.PrivilegeFact(
                    privilege.location_id,
                    privilege.service_code,
                    privilege.status,
                    privilege.starts_on,
                    privilege.expires_on,
                )
            ],
        )
        label = privilege.service_label or privilege.service_code
        need = rules.Need(
            privilege.service_code, label, privilege.location_id, privilege.location.name, state, today
        )
        reasons = rules.check_reasons(facts, need)
        if reasons:
            out.append(
                BlockedRow(
                    practitioner_id=privilege.practitioner_id,
                    practitioner=str(privilege.practitioner),
                    location=privilege.location.name,
                    service_code=privilege.service_code,
                    service_label=label,
                    privilege_status=PrivilegeStatus(privilege.status).label,
                    reasons=reasons,
                )
            )
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.CREDENTIAL_REPORT_EXPORT if export else AuditAction.CREDENTIAL_REPORT_VIEW,
            object_type="credentialing.report",
            object_id="blocked",
            detail={"report": "blocked", "rows": len(out)},
        )
    return out


# --- for the JSON API and FHIR ------------------------------------------------------------------------------


@dataclass
class Qualifications:
    licenses: list[StateLicense] = field(default_factory=list)
    boards: list[BoardCertification] = field(default_factory=list)


def qualifications(*, actor: Actor, practitioner_ids: list[int]) -> dict[int, Qualifications]:
    """Licenses and board certifications (not retired) of these practitioners: two queries for any number."""
    found: dict[int, Qualifications] = {pk: Qualifications() for pk in practitioner_ids}
    for lic in (
        license_queryset(actor)
        .filter(practitioner_id__in=practitioner_ids)
        .exclude(status=CredentialStatus.RETIRED)
        .order_by("state", "-expires_on", "pk")
    ):
        found[lic.practitioner_id].licenses.append(lic)
    for board in (
        BoardCertification.objects.filter(organization_id=_org(actor), practitioner_id__in=practitioner_ids)
        .exclude(status=CredentialStatus.RETIRED)
        .order_by("specialty", "pk")
    ):
        found[board.practitioner_id].boards.append(board)
    return found


def get_privilege(*, actor: Actor, privilege_id: int) -> Privilege:
    privilege = (
        privilege_queryset(actor).select_related("practitioner", "location").filter(pk=privilege_id).first()
    )
    if privilege is None:
        raise PrivilegeNotFound(f"No privilege with id {privilege_id}.")
    return privilege


def search_privileges(
    *,
    actor: Actor,
    practitioner_id: int | None = None,
    location_id: int | None = None,
    service_code: str = "",
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Privilege], bool]:
    """Privileges by practitioner, location and service code (all optional), newest first."""
    rows = privilege_queryset(actor).select_related("practitioner", "location")
    if practitioner_id is not None:
        rows = rows.filter(practitioner_id=practitioner_id)
    if location_id is not None:
        rows = rows.filter(location_id=location_id)
    if service_code:
        rows = rows.filter(service_code=service_code)
    start = (page - 1) * page_size
    window = list(rows.order_by("-requested_on", "-pk")[start : start + page_size + 1])
    return window[:page_size], len(window) > page_size


def privilege_is_active(privilege: Privilege, on: dt.date | None = None) -> bool:
    on = on or clock.today()
    return (
        privilege.status in ACTIVE_PRIVILEGE_STATUSES
        and (privilege.starts_on is None or privilege.starts_on <= on)
        and (privilege.expires_on is None or privilege.expires_on >= on)
    )
