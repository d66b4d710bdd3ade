"""Credentialing use cases: one function per use case, keyword-only actor, one transaction, audit row inside.

CONTRACT (other apps call exactly these): `check_practitioner` (is this practitioner allowed to do this
service here, on that day; who else would be), `assert_bookable` (the booking path's check: raises
CredentialCheckFailed with reasons and alternatives, or records an administrator's override) and
`enforcement_on`.

Writes check CREDENTIAL_MANAGE (approval: CREDENTIAL_APPROVE; override: CREDENTIAL_OVERRIDE), validate
everything before writing (a refused request changes nothing) and write an audit row. Credentials are
directory data about practitioners, not patient data; an override names the patient it was for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Conflict, ValidationFailed
from caredesk.core.inputs import checked_text
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.practitioners.models import Practitioner
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType

from . import clock, rules
from .choices import (
    ACTIVE_PRIVILEGE_STATUSES,
    DONE_OUTCOMES,
    ApplicationKind,
    ApplicationStatus,
    CredentialKind,
    CredentialStatus,
    HistoryKind,
    LicenseType,
    PrivilegeStatus,
    VerificationKind,
    VerificationOutcome,
)
from .errors import (
    ApplicationNotFound,
    ChecklistIncomplete,
    CredentialCheckFailed,
    CredentialNotFound,
    InvalidCredential,
    InvalidTransition,
    PrivilegeNotFound,
)
from .models import (
    BoardCertification,
    CredentialDocument,
    CredentialingApplication,
    CredentialingConfig,
    CredentialOverride,
    DeaRegistration,
    HistoryEntry,
    MalpracticeCoverage,
    Privilege,
    StateLicense,
    Verification,
)

KIND_MODELS: dict[str, type[StateLicense | DeaRegistration | BoardCertification | MalpracticeCoverage]] = {
    CredentialKind.LICENSE: StateLicense,
    CredentialKind.DEA: DeaRegistration,
    CredentialKind.BOARD: BoardCertification,
    CredentialKind.MALPRACTICE: MalpracticeCoverage,
}
AnyCredential = StateLicense | DeaRegistration | BoardCertification | MalpracticeCoverage

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise ValidationFailed("Only a member of an organization keeps credential files.")
    return actor.organization_id


def _text(value: Any, field_name: str, label: str, limit: int, *, required: bool = False) -> str:
    return checked_text(
        value, field_name, label, limit, required=required, coerce=True, error=InvalidCredential
    )


def _date(value: Any, field_name: str, label: str, *, required: bool = False) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise InvalidCredential(f"{label} is required.", field=field_name)
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InvalidCredential(f"{label} must be a date (YYYY-MM-DD).", field=field_name) from exc


def _choice(value: Any, field_name: str, label: str, choices: type[models.TextChoices]) -> str:
    if value not in choices.values:
        raise InvalidCredential(f"Unknown {label} {value!r}.", field=field_name)
    return str(value)


def _state(value: Any, field_name: str = "state") -> str:
    problem = rules.state_error(str(value or ""))
    if problem:
        raise InvalidCredential(problem, field=field_name)
    return str(value).strip().upper()


def _dates(issued: Any, expires: Any, *, issued_label: str = "Issue date") -> tuple[dt.date | None, dt.date]:
    issued_on = _date(issued, "issued_on", issued_label)
    expires_on = _date(expires, "expires_on", "Expiry date", required=True)
    assert expires_on is not None
    problem = rules.date_order_error(issued_on, expires_on)
    if problem:
        raise InvalidCredential(problem, field="expires_on")
    return issued_on, expires_on


def _money(value: Any, field_name: str, label: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation as exc:
        raise InvalidCredential(f"{label} must be an amount in dollars.", field=field_name) from exc
    if amount < 0 or amount >= Decimal("10000000000"):
        raise InvalidCredential(f"{label} must be between 0 and 9,999,999,999.", field=field_name)
    return amount.quantize(Decimal("0.01"))


def _practitioner(actor: Actor, practitioner_id: Any) -> Practitioner:
    try:
        pk = int(practitioner_id)
    except (TypeError, ValueError) as exc:
        raise InvalidCredential("Which practitioner?", field="practitioner_id") from exc
    return practitioner_selectors.get_practitioner(actor=actor, practitioner_id=pk)


def _location(actor: Actor, location_id: Any) -> Location:
    try:
        pk = int(location_id)
    except (TypeError, ValueError) as exc:
        raise InvalidCredential("Which location?", field="location_id") from exc
    location = Location.objects.filter(organization_id=_organization_id(actor), pk=pk).first()
    if location is None:
        raise InvalidCredential(f"No location with id {location_id}.", field="location_id")
    return location


def _record(actor: Actor, action: AuditAction, obj: models.Model, detail: dict[str, Any]) -> None:
    audit.record(actor=actor, action=action, obj=obj, detail=detail)


def _name_of(actor: Actor) -> str:
    return actor.username or "system"


# ---------------------------------------------------------------------------------------------------
# Credentials: add, renew, retire
# ---------------------------------------------------------------------------------------------------


@dataclass
class LicenseInput:
    state: str
    number: str
    expires_on: dt.date | str | None
    issued_on: dt.date | str | None = None
    license_type: str = LicenseType.MEDICAL


@dataclass
class DeaInput:
    state: str
    number: str
    schedules: str | Sequence[str]
    expires_on: dt.date | str | None
    issued_on: dt.date | str | None = None


@dataclass
class BoardInput:
    board: str
    specialty: str
    expires_on: dt.date | str | None
    issued_on: dt.date | str | None = None


@dataclass
class MalpracticeInput:
    carrier: str
    policy_number: str
    expires_on: dt.date | str | None
    issued_on: dt.date | str | None = None  # the policy's start
    per_claim_amount: Decimal | str | None = None
    aggregate_amount: Decimal | str | None = None


def _add(actor: Actor, kind: str, practitioner_id: Any, values: dict[str, Any]) -> AnyCredential:
    actor.require(Permission.CREDENTIAL_MANAGE)
    organization_id = _organization_id(actor)
    with transaction.atomic():
        practitioner = _practitioner(actor, practitioner_id)
        credential = KIND_MODELS[kind].objects.create(
            organization_id=organization_id, practitioner=practitioner, **values
        )
        _record(
            actor,
            AuditAction.CREDENTIAL_CREATE,
            credential,
            {"kind": kind, "practitioner_id": practitioner.pk, **_describe(values)},
        )
    return credential


def _describe(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in values.items() if v is not None
    }


def add_license(*, actor: Actor, practitioner_id: int, data: LicenseInput) -> StateLicense:
    """A state license. InvalidCredential (nothing written) for an unknown state, a missing number or an
    expiry not after the issue date."""
    state = _state(data.state)
    values: dict[str, Any] = {
        "state": state,
        "number": _text(data.number, "number", "License number", 40, required=True),
        "license_type": _choice(data.license_type, "license_type", "license type", LicenseType),
    }
    values["issued_on"], values["expires_on"] = _dates(data.issued_on, data.expires_on)
    license_ = _add(actor, CredentialKind.LICENSE, practitioner_id, values)
    assert isinstance(license_, StateLicense)
    return license_


def add_dea(*, actor: Actor, practitioner_id: int, data: DeaInput) -> DeaRegistration:
    raw = data.schedules if isinstance(data.schedules, str) else ",".join(data.schedules)
    schedules = rules.parse_schedules(raw)
    if not schedules:
        raise InvalidCredential("Which schedules does the registration cover (2 to 5)?", field="schedules")
    problem = rules.schedules_error(schedules)
    if problem:
        raise InvalidCredential(problem, field="schedules")
    values: dict[str, Any] = {
        "state": _state(data.state),
        "number": _text(data.number, "number", "DEA number", 9, required=True).upper(),
        "schedules": ",".join(schedules),
    }
    values["issued_on"], values["expires_on"] = _dates(data.issued_on, data.expires_on)
    dea = _add(actor, CredentialKind.DEA, practitioner_id, values)
    assert isinstance(dea, DeaRegistration)
    return dea


def add_board_certification(*, actor: Actor, practitioner_id: int, data: BoardInput) -> BoardCertification:
    values: dict[str, Any] = {
        "board": _text(data.board, "board", "Board", 200, required=True),
        "specialty": _text(data.specialty, "specialty", "Specialty", 200, required=True),
    }
    values["issued_on"], values["expires_on"] = _dates(data.issued_on, data.expires_on)
    cert = _add(actor, CredentialKind.BOARD, practitioner_id, values)
    assert isinstance(cert, BoardCertification)
    return cert


def add_malpractice(*, actor: Actor, practitioner_id: int, data: MalpracticeInput) -> MalpracticeCoverage:
    values: dict[str, Any] = {
        "carrier": _text(data.carrier, "carrier", "Carrier", 200, required=True),
        "policy_number": _text(data.policy_number, "policy_number", "Policy number", 60, required=True),
        "per_claim_amount": _money(data.per_claim_amount, "per_claim_amount", "Per-claim limit"),
        "aggregate_amount": _money(data.aggregate_amount, "aggregate_amount", "Aggregate limit"),
    }
    values["issued_on"], values["expires_on"] = _dates(
        data.issued_on, data.expires_on, issued_label="Start date"
    )
    coverage = _add(actor, CredentialKind.MALPRACTICE, practitioner_id, values)
    assert isinstance(coverage, MalpracticeCoverage)
    return coverage


_M = TypeVar("_M", bound=models.Model)
# passing_days_at keeps its answers with a CredentialSetup for this many days before and after today.
PASSING_DAYS_KEPT = (dt.timedelta(days=7), dt.timedelta(days=420))


def _locked_row(actor: Actor, queryset: models.QuerySet[_M], row_id: Any) -> _M | None:
    """The organization's row with that id, locked for the use case; None for a foreign or malformed id."""
    try:
        pk = int(row_id)
    except (TypeError, ValueError):
        return None
    return (
        queryset.select_for_update()
        .filter(organization_id=_organization_id(actor), pk=pk)
        .select_related("practitioner")
        .first()
    )


def _locked_credential(actor: Actor, kind: str, credential_id: Any) -> AnyCredential:
    model = KIND_MODELS.get(kind)
    if model is None:
        raise InvalidCredential(f"Unknown credential kind {kind!r}.", field="kind")
    credential = cast("AnyCredential | None", _locked_row(actor, model.objects.all(), credential_id))
    if credential is None:
        raise CredentialNotFound(f"No {CredentialKind(kind).label.lower()} with id {credential_id}.")
    return credential


def expiry_task_keys(kind: str, credential_id: int, expires_on: dt.date) -> list[str]:
    return [expiry_task_key(kind, credential_id, expires_on, t) for t in rules.EXPIRY_THRESHOLDS]


def expiry_task_key(kind: str, credential_id: int, expires_on: dt.date, threshold: int) -> str:
    """One task per credential, expiry date and threshold: a renewal (new date) starts a fresh cycle."""
    return f"credential-expiring:{kind}:{credential_id}:{expires_on:%Y%m%d}:{threshold}"


def renew_credential(
    *,
    actor: Actor,
    kind: str,
    credential_id: int,
    expires_on: dt.date | str | None,
    issued_on: dt.date | str | None = None,
    number: str = "",
) -> AnyCredential:
    """Move a credential's expiry to a later date (optionally with its renewal's issue date and a new
    number). Its open expiry tasks are closed as done. InvalidCredential when the new expiry is not after
    the old one or not after the issue date; InvalidTransition for a retired credential."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    with transaction.atomic():
        credential = _locked_credential(actor, kind, credential_id)
        if credential.status == CredentialStatus.RETIRED:
            raise InvalidTransition("A retired credential cannot be renewed; add a new one.")
        new_issued, new_expires = _dates(issued_on or credential.issued_on, expires_on)
        if new_expires <= credential.expires_on:
            raise InvalidCredential(
                f"The new expiry date must be after the current one ({credential.expires_on:%Y-%m-%d}).",
                field="expires_on",
            )
        before = {
            "expires_on": credential.expires_on.isoformat(),
            "issued_on": str(credential.issued_on or ""),
        }
        old_expiry = credential.expires_on
        credential.expires_on = new_expires
        credential.issued_on = new_issued
        fields = ["expires_on", "issued_on", "updated_at"]
        new_number = _text(number, "number", "Number", 40)
        if new_number and hasattr(credential, "number"):
            credential.number = new_number
            fields.append("number")
        credential.save(update_fields=fields)
        _record(
            actor,
            AuditAction.CREDENTIAL_UPDATE,
            credential,
            {
                "kind": kind,
                "practitioner_id": credential.practitioner_id,
                "before": before,
                "after": {"expires_on": new_expires.isoformat(), "issued_on": str(new_issued or "")},
            },
        )
        if actor.has(Permission.TASK_WORK):
            worklist.close_tasks_by_keys(
                actor=actor,
                dedupe_keys=expiry_task_keys(kind, credential.pk, old_expiry),
                status=TaskStatus.DONE,
                reason=f"Renewed until {new_expires:%Y-%m-%d}.",
            )
    return credential


def retire_credential(*, actor: Actor, kind: str, credential_id: int, reason: str) -> AnyCredential:
    """Take a credential out of use (surrendered, replaced, moved away). It stays in the file, retired."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    reason = _text(reason, "reason", "Reason", 300, required=True)
    with transaction.atomic():
        credential = _locked_credential(actor, kind, credential_id)
        if credential.status == CredentialStatus.RETIRED:
            raise InvalidTransition("That credential is already retired.")
        before = credential.status
        credential.status = CredentialStatus.RETIRED
        credential.retired_reason = reason
        credential.save(update_fields=["status", "retired_reason", "updated_at"])
        _record(
            actor,
            AuditAction.CREDENTIAL_STATUS_CHANGED,
            credential,
            {
                "kind": kind,
                "practitioner_id": credential.practitioner_id,
                "from": before,
                "to": credential.status,
            },
        )
        if actor.has(Permission.TASK_WORK):
            worklist.close_tasks_by_keys(
                actor=actor,
                dedupe_keys=expiry_task_keys(kind, credential.pk, credential.expires_on),
                reason="The credential was retired.",
            )
    return credential


def add_history(
    *,
    actor: Actor,
    practitioner_id: int,
    kind: str,
    institution: str,
    title: str,
    started_on: dt.date | str | None = None,
    ended_on: dt.date | str | None = None,
) -> HistoryEntry:
    actor.require(Permission.CREDENTIAL_MANAGE)
    values: dict[str, Any] = {
        "kind": _choice(kind, "kind", "history kind", HistoryKind),
        "institution": _text(institution, "institution", "Institution", 200, required=True),
        "title": _text(title, "title", "Degree, program or position", 200, required=True),
        "started_on": _date(started_on, "started_on", "Start date"),
        "ended_on": _date(ended_on, "ended_on", "End date"),
    }
    if values["started_on"] and values["ended_on"] and values["ended_on"] <= values["started_on"]:
        raise InvalidCredential("The end date must be after the start date.", field="ended_on")
    with transaction.atomic():
        practitioner = _practitioner(actor, practitioner_id)
        entry = HistoryEntry.objects.create(
            organization_id=_organization_id(actor), practitioner=practitioner, **values
        )
        _record(
            actor,
            AuditAction.CREDENTIAL_CREATE,
            entry,
            {"kind": "history", "practitioner_id": practitioner.pk, **_describe(values)},
        )
    return entry


def upload_document(
    *, actor: Actor, practitioner_id: int, title: str, uploaded_file: UploadedFile
) -> CredentialDocument:
    """A scan in the practitioner's credential file (the accepted types and size limit of chart documents)."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    title = _text(title, "title", "Title", 200, required=True)
    types: dict[str, str] = settings.CAREDESK_DOCUMENT_TYPES
    max_bytes: int = settings.CAREDESK_DOCUMENT_MAX_BYTES
    filename = (uploaded_file.name or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in types:
        raise InvalidCredential(
            f"Files of type '.{extension}' are not accepted; use {', '.join(sorted(types))}.", field="file"
        )
    digest, size = hashlib.sha256(), 0
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise InvalidCredential(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", field="file")
    if size == 0:
        raise InvalidCredential("The file is empty.", field="file")
    with transaction.atomic():
        practitioner = _practitioner(actor, practitioner_id)
        document = CredentialDocument(
            organization_id=_organization_id(actor),
            practitioner=practitioner,
            title=title,
            original_filename=filename,
            content_type=types[extension],
            size_bytes=size,
            sha256=digest.hexdigest(),
            uploaded_by_name=_name_of(actor),
        )
        uploaded_file.seek(0)
        document.file.save(f"{uuid.uuid4().hex}.{extension}", uploaded_file, save=False)
        try:
            document.save(force_insert=True)
            _record(
                actor,
                AuditAction.CREDENTIAL_CREATE,
                document,
                {"kind": "document", "practitioner_id": practitioner.pk, "sha256": document.sha256},
            )
        except BaseException:
            document.file.delete(save=False)
            raise
    return document


# ---------------------------------------------------------------------------------------------------
# The credentialing application: checklist and committee approval
# ---------------------------------------------------------------------------------------------------


def open_application(
    *, actor: Actor, practitioner_id: int, kind: str = ApplicationKind.INITIAL
) -> CredentialingApplication:
    """Start an application with every primary-source verification pending. Conflict when one is open."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    kind = _choice(kind, "kind", "application kind", ApplicationKind)
    with transaction.atomic():
        practitioner = _practitioner(actor, practitioner_id)
        try:
            with transaction.atomic():
                application = CredentialingApplication.objects.create(
                    organization_id=_organization_id(actor),
                    practitioner=practitioner,
                    kind=kind,
                    opened_on=clock.today(),
                )
        except IntegrityError as exc:
            raise Conflict(f"{practitioner} already has an application in progress.") from exc
        Verification.objects.bulk_create(
            [Verification(application=application, kind=k) for k in VerificationKind.values]
        )
        _record(
            actor,
            AuditAction.CREDENTIAL_APPLICATION_CREATE,
            application,
            {"kind": kind, "practitioner_id": practitioner.pk},
        )
    return application


def _locked_application(actor: Actor, application_id: Any) -> CredentialingApplication:
    application = _locked_row(actor, CredentialingApplication.objects.all(), application_id)
    if application is None:
        raise ApplicationNotFound(f"No application with id {application_id}.")
    return application


def record_verification(
    *, actor: Actor, application_id: int, kind: str, outcome: str, note: str = ""
) -> Verification:
    """One checklist item verified at its primary source (by the actor, now), found not applicable, or
    found to have a problem (the note says what)."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    kind = _choice(kind, "kind", "verification", VerificationKind)
    outcome = _choice(outcome, "outcome", "outcome", VerificationOutcome)
    if outcome == VerificationOutcome.PENDING:
        raise InvalidCredential(
            "Record what the source said: verified, not applicable or a problem.", field="outcome"
        )
    note = _text(note, "note", "Note", 2000)
    if outcome == VerificationOutcome.PROBLEM and not note:
        raise InvalidCredential("Say what the problem is.", field="note")
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        if application.status != ApplicationStatus.IN_PROGRESS:
            raise InvalidTransition("The application is already decided.")
        verification = Verification.objects.get(application=application, kind=kind)
        before = verification.outcome
        verification.outcome = outcome
        verification.note = note
        verification.verified_by_id = actor.user_id
        verification.verified_by_name = _name_of(actor)
        verification.verified_at = clock.now()
        verification.save()
        _record(
            actor,
            AuditAction.CREDENTIAL_VERIFICATION_UPDATE,
            application,
            {
                "verification": kind,
                "from": before,
                "to": outcome,
                "practitioner_id": application.practitioner_id,
            },
        )
    return verification


def approve_application(*, actor: Actor, application_id: int, note: str = "") -> CredentialingApplication:
    """The committee's approval: only when every checklist item is verified (or not applicable). Sets the
    re-credentialing date 36 months ahead. ChecklistIncomplete names the items still open."""
    actor.require(Permission.CREDENTIAL_APPROVE)
    note = _text(note, "note", "Committee note", 2000)
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        if application.status != ApplicationStatus.IN_PROGRESS:
            raise InvalidTransition("The application is already approved.")
        open_items = [
            VerificationKind(v.kind).label
            for v in application.verifications.order_by("kind")
            if v.outcome not in DONE_OUTCOMES
        ]
        if open_items:
            raise ChecklistIncomplete(
                "Not every primary-source verification is done: " + "; ".join(open_items) + ".",
                details={"open": open_items},
            )
        now = clock.now()
        application.status = ApplicationStatus.APPROVED
        application.approved_at = now
        application.approved_by_id = actor.user_id
        application.approved_by_name = _name_of(actor)
        application.committee_note = note
        application.recredential_due_on = rules.recredential_due(timezone.localdate(now))
        application.save()
        _record(
            actor,
            AuditAction.CREDENTIAL_APPLICATION_STATUS_CHANGED,
            application,
            {
                "to": application.status,
                "practitioner_id": application.practitioner_id,
                "recredential_due_on": application.recredential_due_on.isoformat(),
            },
        )
    return application


# ---------------------------------------------------------------------------------------------------
# Privileges
# ---------------------------------------------------------------------------------------------------


@dataclass
class PrivilegeInput:
    location_id: int
    service_code: str
    service_label: str = ""
    status: str = PrivilegeStatus.REQUESTED  # requested, granted or provisional
    starts_on: dt.date | str | None = None
    expires_on: dt.date | str | None = None


def _privilege_dates(starts: Any, expires: Any) -> tuple[dt.date | None, dt.date | None]:
    starts_on = _date(starts, "starts_on", "Start date")
    expires_on = _date(expires, "expires_on", "Expiry date")
    problem = rules.date_order_error(starts_on, expires_on)
    if problem:
        raise InvalidCredential(problem, field="expires_on")
    return starts_on, expires_on


def _active_conflict(privilege: Privilege) -> Conflict:
    return Conflict(
        f"{privilege.practitioner} already holds an active privilege for {privilege.service_code} at "
        f"{privilege.location.name}.",
        field="service_code",
    )


def request_privilege(*, actor: Actor, practitioner_id: int, data: PrivilegeInput) -> Privilege:
    """Request (or directly grant) a privilege for one service at one location."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    status = _choice(data.status, "status", "privilege status", PrivilegeStatus)
    if status not in (PrivilegeStatus.REQUESTED, *ACTIVE_PRIVILEGE_STATUSES):
        raise InvalidCredential("A new privilege is requested, granted or provisional.", field="status")
    service_code = _text(data.service_code, "service_code", "Service code", 40, required=True)
    service_label = _text(data.service_label, "service_label", "Service", 200)
    starts_on, expires_on = _privilege_dates(data.starts_on, data.expires_on)
    with transaction.atomic():
        practitioner = _practitioner(actor, practitioner_id)
        location = _location(actor, data.location_id)
        privilege = Privilege(
            organization_id=_organization_id(actor),
            practitioner=practitioner,
            location=location,
            service_code=service_code,
            service_label=service_label,
            status=status,
            requested_on=clock.today(),
            starts_on=starts_on or (clock.today() if status != PrivilegeStatus.REQUESTED else None),
            expires_on=expires_on,
        )
        try:
            with transaction.atomic():
                privilege.save(force_insert=True)
        except IntegrityError as exc:
            raise _active_conflict(privilege) from exc
        _record(
            actor,
            AuditAction.PRIVILEGE_CREATE,
            privilege,
            {
                "practitioner_id": practitioner.pk,
                "location_id": location.pk,
                "service_code": service_code,
                "status": status,
            },
        )
    return privilege


_PRIVILEGE_MOVES: dict[str, frozenset[str]] = {
    PrivilegeStatus.REQUESTED: frozenset({PrivilegeStatus.GRANTED, PrivilegeStatus.PROVISIONAL}),
    PrivilegeStatus.PROVISIONAL: frozenset(
        {PrivilegeStatus.GRANTED, PrivilegeStatus.SUSPENDED, PrivilegeStatus.EXPIRED}
    ),
    PrivilegeStatus.GRANTED: frozenset({PrivilegeStatus.SUSPENDED, PrivilegeStatus.EXPIRED}),
    PrivilegeStatus.SUSPENDED: frozenset({PrivilegeStatus.GRANTED, PrivilegeStatus.EXPIRED}),
    PrivilegeStatus.EXPIRED: frozenset(),
}


def change_privilege(
    *,
    actor: Actor,
    privilege_id: int,
    status: str,
    reason: str = "",
    expires_on: dt.date | str | None = None,
) -> Privilege:
    """Grant (fully or provisionally), suspend (with a reason), reinstate or expire a privilege."""
    actor.require(Permission.CREDENTIAL_MANAGE)
    status = _choice(status, "status", "privilege status", PrivilegeStatus)
    reason = _text(reason, "reason", "Reason", 300, required=status == PrivilegeStatus.SUSPENDED)
    try:
        pk = int(privilege_id)
    except (TypeError, ValueError) as exc:
        raise PrivilegeNotFound(f"No privilege with id {privilege_id}.") from exc
    with transaction.atomic():
        privilege = (
            Privilege.objects.select_for_update()
            .select_related("practitioner", "location")
            .filter(organization_id=_organization_id(actor), pk=pk)
            .first()
        )
        if privilege is None:
            raise PrivilegeNotFound(f"No privilege with id {privilege_id}.")
        if status not in _PRIVILEGE_MOVES[privilege.status]:
            raise InvalidTransition(
                f"A {PrivilegeStatus(privilege.status).label.lower()} privilege cannot become "
                f"{PrivilegeStatus(status).label.lower()}."
            )
        before = privilege.status
        privilege.status = status
        privilege.status_reason = reason
        if status in ACTIVE_PRIVILEGE_STATUSES and privilege.starts_on is None:
            privilege.starts_on = clock.today()
        new_expiry = _date(expires_on, "expires_on", "Expiry date")
        if new_expiry is not None:
            problem = rules.date_order_error(privilege.starts_on, new_expiry)
            if problem:
                raise InvalidCredential(problem, field="expires_on")
            privilege.expires_on = new_expiry
        try:
            with transaction.atomic():
                privilege.save()
        except IntegrityError as exc:
            raise _active_conflict(privilege) from exc
        _record(
            actor,
            AuditAction.PRIVILEGE_STATUS_CHANGED,
            privilege,
            {"practitioner_id": privilege.practitioner_id, "from": before, "to": status, "reason": reason},
        )
    return privilege


def grant_privilege(*, actor: Actor, privilege_id: int, provisional: bool = False) -> Privilege:
    status = PrivilegeStatus.PROVISIONAL if provisional else PrivilegeStatus.GRANTED
    return change_privilege(actor=actor, privilege_id=privilege_id, status=status)


def suspend_privilege(*, actor: Actor, privilege_id: int, reason: str) -> Privilege:
    return change_privilege(
        actor=actor, privilege_id=privilege_id, status=PrivilegeStatus.SUSPENDED, reason=reason
    )


# ---------------------------------------------------------------------------------------------------
# The check: booking and ordering
# ---------------------------------------------------------------------------------------------------


def enforcement_on(organization_id: int, setup: CredentialSetup | None = None) -> bool:
    """Whether bookings are checked. An organization's setting decides; without one, checking starts
    with the organization's first recorded license (an organization that has not started credentialing
    books as before)."""
    if setup is not None and setup.organization_id == organization_id:
        return setup.enforce
    configured = (
        CredentialingConfig.objects.filter(organization_id=organization_id)
        .values_list("enforce_at_booking", flat=True)
        .first()
    )
    if configured is not None:
        return bool(configured)
    return StateLicense.objects.filter(organization_id=organization_id).exists()


def set_enforcement(*, actor: Actor, enforce: bool) -> CredentialingConfig:
    actor.require(Permission.CREDENTIAL_APPROVE)
    organization_id = _organization_id(actor)
    with transaction.atomic():
        config, _ = CredentialingConfig.objects.select_for_update().get_or_create(
            organization_id=organization_id
        )
        before = config.enforce_at_booking
        config.enforce_at_booking = bool(enforce)
        config.save()
        _record(
            actor,
            AuditAction.CREDENTIALING_CONFIG_CHANGED,
            config,
            {"from": before, "to": config.enforce_at_booking},
        )
    return config


@dataclass(frozen=True)
class CredentialSetup:
    """What the booking check reads that is set-up, not per patient, for one organization, read in five
    queries: the enforcement setting, locations, practitioners, licenses, DEA registrations and
    privileges. For a caller that knows when it goes stale: scheduling.setup_cache keeps it under the
    organization's set-up version, which every write to these tables changes in its own transaction.
    Shared between threads: read it, never change it (nor the model instances in it)."""

    organization_id: int
    enforce: bool
    locations: dict[int, Location]
    practitioners: dict[int, Practitioner]
    licenses: dict[tuple[int, str], list[rules.LicenseFact]]  # (practitioner, state)
    deas: dict[tuple[int, str], list[rules.DeaFact]]  # (practitioner, state)
    privileges: dict[tuple[int, int, str], list[rules.PrivilegeFact]]  # (practitioner, location, service)
    privileged: dict[tuple[int, str], list[int]]  # (location, service) -> practitioners, active privilege
    labels: dict[str, str]  # service code -> the label of its first privilege that has one
    # passing_days_at's answers for every practitioner over PASSING_DAYS_KEPT around today, by (service
    # code, sites, today): a pure function of this set-up and the day, so kept with it.
    passing: dict[tuple[Any, ...], dict[int, dict[int, list[tuple[dt.date, dt.date]]]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def facts(
        self, practitioners: Sequence[Practitioner], state: str, location_id: int, service_code: str
    ) -> dict[int, rules.Facts]:
        """`_facts` from the set-up (no query)."""
        return {
            p.pk: rules.Facts(
                name=str(p),
                licenses=list(self.licenses.get((p.pk, state), ())),
                deas=list(self.deas.get((p.pk, state), ())),
                privileges=list(self.privileges.get((p.pk, location_id, service_code), ())),
            )
            for p in practitioners
        }


def load_credential_setup(organization_id: int) -> CredentialSetup:
    """The organization's CredentialSetup, read now."""
    licenses: dict[tuple[int, str], list[rules.LicenseFact]] = {}
    for row in StateLicense.objects.filter(organization_id=organization_id).order_by("pk"):
        licenses.setdefault((row.practitioner_id, row.state), []).append(
            rules.LicenseFact(row.state, row.number, row.status, row.issued_on, row.expires_on)
        )
    deas: dict[tuple[int, str], list[rules.DeaFact]] = {}
    for dea in DeaRegistration.objects.filter(organization_id=organization_id).order_by("pk"):
        deas.setdefault((dea.practitioner_id, dea.state), []).append(
            rules.DeaFact(dea.state, dea.number, dea.status, tuple(dea.schedule_list), dea.expires_on)
        )
    privileges: dict[tuple[int, int, str], list[rules.PrivilegeFact]] = {}
    privileged: dict[tuple[int, str], list[int]] = {}
    labels: dict[str, str] = {}
    for priv in Privilege.objects.filter(organization_id=organization_id).order_by("pk"):
        privileges.setdefault((priv.practitioner_id, priv.location_id, priv.service_code), []).append(
            rules.PrivilegeFact(
                priv.location_id, priv.service_code, priv.status, priv.starts_on, priv.expires_on
            )
        )
        if priv.status in ACTIVE_PRIVILEGE_STATUSES:
            privileged.setdefault((priv.location_id, priv.service_code), []).append(priv.practitioner_id)
        if priv.service_label:
            labels.setdefault(priv.service_code, priv.service_label)
    configured = (
        CredentialingConfig.objects.filter(organization_id=organization_id)
        .values_list("enforce_at_booking", flat=True)
        .first()
    )
    return CredentialSetup(
        organization_id=organization_id,
        enforce=bool(configured) if configured is not None else bool(licenses),
        locations={
            location.pk: location for location in Location.objects.filter(organization_id=organization_id)
        },
        practitioners={
            p.pk: p for p in Practitioner.objects.filter(organization_id=organization_id).order_by("pk")
        },
        licenses=licenses,
        deas=deas,
        privileges=privileges,
        privileged=privileged,
        labels=labels,
    )


def _setup_for(actor: Actor, setup: CredentialSetup | None) -> CredentialSetup | None:
    """The set-up when it is the actor's organization's (else None: read from the database)."""
    if setup is None or actor.organization_id != setup.organization_id:
        return None
    return setup


@dataclass(frozen=True)
class Alternative:
    id: int
    name: str


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


def _facts(
    organization_id: int,
    practitioners: Sequence[Practitioner],
    state: str,
    location_id: int,
    service_code: str,
    *,
    with_deas: bool = True,
) -> dict[int, rules.Facts]:
    """Three queries for any number of practitioners (two without the DEA registrations, which only
    controlled substances need)."""
    ids = [p.pk for p in practitioners]
    licenses: dict[int, list[rules.LicenseFact]] = {i: [] for i in ids}
    for row in StateLicense.objects.filter(
        organization_id=organization_id, practitioner_id__in=ids, state=state
    ):
        licenses[row.practitioner_id].append(
            rules.LicenseFact(row.state, row.number, row.status, row.issued_on, row.expires_on)
        )
    deas: dict[int, list[rules.DeaFact]] = {i: [] for i in ids}
    for dea in DeaRegistration.objects.filter(
        organization_id=organization_id, practitioner_id__in=ids if with_deas else [], state=state
    ):
        deas[dea.practitioner_id].append(
            rules.DeaFact(dea.state, dea.number, dea.status, tuple(dea.schedule_list), dea.expires_on)
        )
    privileges: dict[int, list[rules.PrivilegeFact]] = {i: [] for i in ids}
    for priv in Privilege.objects.filter(
        organization_id=organization_id,
        practitioner_id__in=ids,
        location_id=location_id,
        service_code=service_code,
    ):
        privileges[priv.practitioner_id].append(
            rules.PrivilegeFact(
                priv.location_id, priv.service_code, priv.status, priv.starts_on, priv.expires_on
            )
        )
    return {
        p.pk: rules.Facts(name=str(p), licenses=licenses[p.pk], deas=deas[p.pk], privileges=privileges[p.pk])
        for p in practitioners
    }


def _service_label(organization_id: int, location_id: int, service_code: str) -> str:
    label = (
        Privilege.objects.filter(organization_id=organization_id, service_code=service_code)
        .exclude(service_label="")
        .values_list("service_label", flat=True)
        .first()
    )
    return label or service_code


def check_practitioner(
    *,
    actor: Actor,
    practitioner_id: int,
    service_code: str,
    location_id: int,
    service_state: str,
    on_date: dt.date,
    controlled_substance: bool = False,
    candidate_ids: Iterable[int] | None = None,
    service_label: str = "",
    setup: CredentialSetup | None = None,
) -> CheckResult:
    """May this practitioner do `service_code` at this location on that day, in `service_state` (where the
    service happens; for telehealth the caller passes the patient's state)? An active license in that
    state, a granted or provisional privilege for the service at the location, and a DEA registration in
    that state for controlled substances. When not, the reasons in plain words and the practitioners who
    would pass: among `candidate_ids` when given, else everyone privileged for the service there. With
    the organization's `setup` (CredentialSetup, current), no query."""
    organization_id = _organization_id(actor)
    service_code = (service_code or "").strip()
    state = (service_state or "").strip().upper()
    known = _setup_for(actor, setup)
    if known is not None and practitioner_id in known.practitioners and location_id in known.locations:
        return _check_with_setup(
            known,
            practitioner_id,
            service_code,
            location_id,
            state,
            on_date,
            controlled_substance=controlled_substance,
            candidate_ids=candidate_ids,
            service_label=service_label,
        )
    practitioner = _practitioner(actor, practitioner_id)
    location = _location(actor, location_id)
    need = _need(
        service_code,
        service_label or _service_label(organization_id, location.pk, service_code),
        location,
        state,
        on_date,
        controlled_substance,
    )
    reasons = rules.check_reasons(
        _facts(organization_id, [practitioner], state, location.pk, service_code)[practitioner.pk], need
    )
    if not reasons:
        return CheckResult(ok=True)
    if candidate_ids is None:
        candidate_ids = Privilege.objects.filter(
            organization_id=organization_id,
            location_id=location.pk,
            service_code=service_code,
            status__in=list(ACTIVE_PRIVILEGE_STATUSES),
        ).values_list("practitioner_id", flat=True)
    others = list(
        practitioner_selectors.practitioner_queryset(actor)
        .filter(pk__in=set(candidate_ids), active=True)
        .exclude(pk=practitioner.pk)
        .order_by("family_key", "given_key", "pk")
    )
    facts = _facts(organization_id, others, state, location.pk, service_code)
    alternatives = [Alternative(p.pk, str(p)) for p in others if not rules.check_reasons(facts[p.pk], need)]
    return CheckResult(ok=False, reasons=reasons, alternatives=alternatives)


def _need(
    service_code: str,
    service_label: str,
    location: Location,
    state: str,
    on_date: dt.date,
    controlled_substance: bool,
) -> rules.Need:
    """What a booking or order at `location` asks of a practitioner, for rules.check_reasons."""
    return rules.Need(
        service_code=service_code,
        service_label=service_label,
        location_id=location.pk,
        location_name=location.name,
        state=state,
        on_date=on_date,
        controlled_substance=controlled_substance,
        today=clock.today(),
    )


def _check_with_setup(
    setup: CredentialSetup,
    practitioner_id: int,
    service_code: str,
    location_id: int,
    state: str,
    on_date: dt.date,
    *,
    controlled_substance: bool,
    candidate_ids: Iterable[int] | None,
    service_label: str,
) -> CheckResult:
    """check_practitioner from the set-up: the same answer, no query."""
    practitioner = setup.practitioners[practitioner_id]
    location = setup.locations[location_id]
    need = _need(
        service_code,
        service_label or setup.labels.get(service_code, service_code),
        location,
        state,
        on_date,
        controlled_substance,
    )
    reasons = rules.check_reasons(
        setup.facts([practitioner], state, location.pk, service_code)[practitioner.pk], need
    )
    if not reasons:
        return CheckResult(ok=True)
    if candidate_ids is None:
        candidate_ids = setup.privileged.get((location.pk, service_code), [])
    wanted = set(candidate_ids)
    others = sorted(
        (p for pk, p in setup.practitioners.items() if pk in wanted and p.active and pk != practitioner.pk),
        key=lambda p: (p.family_key, p.given_key, p.pk),
    )
    facts = setup.facts(others, state, location.pk, service_code)
    alternatives = [Alternative(p.pk, str(p)) for p in others if not rules.check_reasons(facts[p.pk], need)]
    return CheckResult(ok=False, reasons=reasons, alternatives=alternatives)


def passing_days(
    *,
    actor: Actor,
    practitioner_ids: Iterable[int],
    service_code: str,
    location_id: int,
    service_state: str,
    first_day: dt.date,
    last_day: dt.date,
) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """`check_practitioner` for many practitioners over a range of days at once (the slot search's check):
    practitioner id -> the days of `first_day`..`last_day` (inclusive ranges) on which they pass; a
    practitioner who never passes maps to []. Like `check_practitioner` it checks whatever the
    enforcement setting: callers that follow the booking path ask `enforcement_on` first."""
    return passing_days_at(
        actor=actor,
        practitioner_ids=practitioner_ids,
        service_code=service_code,
        sites=[(location_id, service_state)],
        first_day=first_day,
        last_day=last_day,
    )[int(location_id)]


def passing_days_at(
    *,
    actor: Actor,
    practitioner_ids: Iterable[int],
    service_code: str,
    sites: Sequence[tuple[int, str]],
    first_day: dt.date,
    last_day: dt.date,
    setup: CredentialSetup | None = None,
    remember: bool = True,
) -> dict[int, dict[int, list[tuple[dt.date, dt.date]]]]:
    """`passing_days` at several sites at once, each a (location id, state where the service happens):
    location id -> practitioner id -> the passing day ranges. Four queries whatever the number of sites,
    practitioners or days: the facts are read once and the rule is evaluated only on the days where a
    license, DEA registration or privilege starts or ends. With the organization's `setup`
    (CredentialSetup, current), no query, and the answers for a span around today are kept with it."""
    organization_id = _organization_id(actor)
    service_code = (service_code or "").strip()
    wanted = {int(location_id): (state or "").strip().upper() for location_id, state in sites}
    kept = _setup_for(actor, setup)
    today = clock.today()
    span = (today - PASSING_DAYS_KEPT[0], today + PASSING_DAYS_KEPT[1])
    if remember and kept is not None and span[0] <= first_day <= last_day <= span[1]:
        key = (service_code, tuple(sorted(wanted.items())), today)
        every = kept.passing.get(key)
        if every is None:
            every = kept.passing[key] = passing_days_at(
                actor=actor,
                practitioner_ids=kept.practitioners,
                service_code=service_code,
                sites=sorted(wanted.items()),
                first_day=span[0],
                last_day=span[1],
                setup=kept,
                remember=False,
            )
        return {
            location_id: {
                practitioner_id: _clip_days(every[location_id].get(practitioner_id, []), first_day, last_day)
                for practitioner_id in set(practitioner_ids)
                if practitioner_id in kept.practitioners
            }
            for location_id in wanted
        }
    if kept is not None:
        locations = {i: kept.locations[i] for i in wanted if i in kept.locations}
    else:
        locations = {
            location.pk: location
            for location in Location.objects.filter(organization_id=organization_id, pk__in=sorted(wanted))
        }
    for location_id in wanted:
        if location_id not in locations:
            raise InvalidCredential(f"No location with id {location_id}.", field="location_id")
    facts: dict[int, dict[int, rules.Facts]]
    if kept is not None:
        practitioners = [
            kept.practitioners[i] for i in sorted(set(practitioner_ids)) if i in kept.practitioners
        ]
        facts = {
            location_id: kept.facts(practitioners, state, location_id, service_code)
            for location_id, state in wanted.items()
        }
        for by_practitioner in facts.values():  # as _facts_at: no DEA registrations here
            for practitioner_id, fact in by_practitioner.items():
                by_practitioner[practitioner_id] = rules.Facts(fact.name, fact.licenses, [], fact.privileges)
    else:
        practitioners = list(
            practitioner_selectors.practitioner_queryset(actor).filter(pk__in=sorted(set(practitioner_ids)))
        )
        facts = _facts_at(organization_id, practitioners, wanted, service_code)
    today = clock.today()
    one = dt.timedelta(days=1)
    out: dict[int, dict[int, list[tuple[dt.date, dt.date]]]] = {}
    for location_id, state in wanted.items():
        location = locations[location_id]
        here: dict[int, list[tuple[dt.date, dt.date]]] = {}
        for practitioner in practitioners:
            known = facts[location_id][practitioner.pk]
            edges = {first_day}
            for date in (
                *(d for f in known.licenses for d in (f.issued_on, f.expires_on)),
                *(f.expires_on for f in known.deas),
                *(d for f in known.privileges for d in (f.starts_on, f.expires_on)),
            ):
                if date is not None:
                    edges.update((date, date + one))  # a start counts from its day, an end through its day
            days: list[tuple[dt.date, dt.date]] = []
            bounds = sorted(d for d in edges if first_day <= d <= last_day)
            for n, day in enumerate(bounds):
                need = rules.Need(
                    service_code=service_code,
                    service_label=service_code,
                    location_id=location.pk,
                    location_name=location.name,
                    state=state,
                    on_date=day,
                    today=today,
                )
                if rules.check_reasons(known, need):
                    continue
                until = bounds[n + 1] - one if n + 1 < len(bounds) else last_day
                if days and days[-1][1] + one == day:
                    days[-1] = (days[-1][0], until)
                else:
                    days.append((day, until))
            here[practitioner.pk] = days
        out[location_id] = here
    return out


def _clip_days(
    ranges: list[tuple[dt.date, dt.date]], first_day: dt.date, last_day: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """Inclusive day ranges cut to first_day..last_day (passing days are decided day by day, so the
    ranges of a longer span, cut, are those of the shorter one)."""
    return [(max(a, first_day), min(b, last_day)) for a, b in ranges if b >= first_day and a <= last_day]


def _facts_at(
    organization_id: int,
    practitioners: Sequence[Practitioner],
    sites: dict[int, str],
    service_code: str,
) -> dict[int, dict[int, rules.Facts]]:
    """`_facts` without DEA registrations for several (location -> state) sites: two queries."""
    ids = [p.pk for p in practitioners]
    states = sorted(set(sites.values()))
    licenses: dict[tuple[int, str], list[rules.LicenseFact]] = {}
    for row in StateLicense.objects.filter(
        organization_id=organization_id, practitioner_id__in=ids, state__in=states
    ):
        licenses.setdefault((row.practitioner_id, row.state), []).append(
            rules.LicenseFact(row.state, row.number, row.status, row.issued_on, row.expires_on)
        )
    privileges: dict[tuple[int, int], list[rules.PrivilegeFact]] = {}
    for priv in Privilege.objects.filter(
        organization_id=organization_id,
        practitioner_id__in=ids,
        location_id__in=sorted(sites),
        service_code=service_code,
    ):
        privileges.setdefault((priv.practitioner_id, priv.location_id), []).append(
            rules.PrivilegeFact(
                priv.location_id, priv.service_code, priv.status, priv.starts_on, priv.expires_on
            )
        )
    return {
        location_id: {
            p.pk: rules.Facts(
                name=str(p),
                licenses=licenses.get((p.pk, state), []),
                deas=[],
                privileges=privileges.get((p.pk, location_id), []),
            )
            for p in practitioners
        }
        for location_id, state in sites.items()
    }


def record_override(
    *,
    actor: Actor,
    practitioner_id: int,
    location_id: int,
    service_code: str,
    service_state: str,
    reasons: Sequence[str],
    reason: str,
    patient_id: int | None = None,
) -> CredentialOverride:
    """An administrator goes ahead although the check failed; the reason is required and kept with what the
    check said."""
    actor.require(Permission.CREDENTIAL_OVERRIDE)
    reason = _text(reason, "override_reason", "Override reason", 2000, required=True)
    with transaction.atomic():
        override = CredentialOverride.objects.create(
            organization_id=_organization_id(actor),
            practitioner_id=_practitioner(actor, practitioner_id).pk,
            patient_id=patient_id,
            location=_location(actor, location_id),
            service_code=service_code,
            service_state=service_state,
            reasons=list(reasons),
            reason=reason,
            by_user_id=actor.user_id,
            by_name=_name_of(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREDENTIAL_OVERRIDE_CREATE,
            patient_id=patient_id,
            obj=override,
            detail={
                "practitioner_id": override.practitioner_id,
                "service_code": service_code,
                "state": service_state,
                "reasons": list(reasons),
                "reason": reason,
            },
        )
    return override


def _refusal(result: CheckResult, who: str, what: str) -> str:
    others = (
        "Who could: " + ", ".join(a.name for a in result.alternatives) + "."
        if result.alternatives
        else "No other practitioner here would pass."
    )
    return f"{who} cannot be booked for {what}: " + " ".join(result.reasons) + " " + others


def assert_bookable(
    *,
    actor: Actor,
    practitioner_ids: Iterable[int],
    patient_id: int,
    service_code: str,
    service_label: str,
    location_id: int,
    telehealth: bool,
    on_date: dt.date,
    candidate_ids: Iterable[int] | None = None,
    override_reason: str = "",
    setup: CredentialSetup | None = None,
) -> None:
    """The booking path's check, for each practitioner being booked. Does nothing while the organization's
    enforcement is off. A failure raises CredentialCheckFailed (reasons and alternatives in `details`)
    unless an administrator gave an override reason, which is recorded (and audited) instead. With the
    organization's `setup` (CredentialSetup, current), the only query is a telehealth patient's state."""
    organization_id = _organization_id(actor)
    ids = sorted(set(practitioner_ids))
    known = _setup_for(actor, setup)
    if not ids or not enforcement_on(organization_id, known):
        return
    location = known.locations.get(int(location_id)) if known is not None else None
    if location is None:
        location = _location(actor, location_id)
    if telehealth:
        state = (
            patient_selectors.patient_queryset(actor)
            .filter(pk=patient_id)
            .values_list("state", flat=True)
            .first()
            or ""
        )
    else:
        state = location.state
    state = state.strip().upper()
    candidates = list(candidate_ids) if candidate_ids is not None else None
    for practitioner_id in ids:
        result = check_practitioner(
            actor=actor,
            practitioner_id=practitioner_id,
            service_code=service_code,
            location_id=location.pk,
            service_state=state,
            on_date=on_date,
            candidate_ids=candidates,
            service_label=service_label,
            setup=known,
        )
        if result.ok:
            continue
        if override_reason.strip() and actor.has(Permission.CREDENTIAL_OVERRIDE):
            record_override(
                actor=actor,
                practitioner_id=practitioner_id,
                location_id=location.pk,
                service_code=service_code.strip(),
                service_state=state,
                reasons=result.reasons,
                reason=override_reason,
                patient_id=patient_id,
            )
            continue
        who = str(_practitioner(actor, practitioner_id))
        where = f"{service_label or service_code} at {location.name}" + (
            f" (telehealth, patient in {state})" if telehealth and state else ""
        )
        message = _refusal(result, who, where)
        if override_reason.strip():
            message += " Only an administrator can book past this check."
        raise CredentialCheckFailed(
            message,
            field="practitioner_id",
            details={
                "practitioner_id": practitioner_id,
                "reasons": result.reasons,
                "alternatives": [{"id": a.id, "name": a.name} for a in result.alternatives],
            },
        )


# ---------------------------------------------------------------------------------------------------
# Expiry alerts
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryRun:
    created: int
    existing: int


def _alert_title(kind: str, credential: AnyCredential, days_left: int) -> str:
    what = f"{CredentialKind(kind).label} {credential}"
    when = (
        f"expired on {credential.expires_on:%Y-%m-%d}"
        if days_left < 0
        else f"expires {credential.expires_on:%Y-%m-%d} (in {days_left} days)"
    )
    return f"{credential.practitioner}: {what} {when}"[:200]


def create_expiry_tasks(*, actor: Actor, today: dt.date | None = None) -> ExpiryRun:
    """A task on the medical-staff queue at 90, 60 and 30 days before any active license, DEA registration,
    board certification or malpractice coverage lapses; each threshold once per expiry date (dedupe key),
    so running this again creates nothing new."""
    organization_id = _organization_id(actor)
    today = today or clock.today()
    horizon = today + dt.timedelta(days=max(rules.EXPIRY_THRESHOLDS))
    now = clock.now()
    created = existing = 0
    for kind, model in KIND_MODELS.items():
        rows = (
            model.objects.filter(
                organization_id=organization_id, status=CredentialStatus.ACTIVE, expires_on__lte=horizon
            )
            .select_related("practitioner")
            .order_by("expires_on", "pk")
        )
        for credential in rows:
            threshold = rules.expiry_threshold(credential.expires_on, today)
            if threshold is None:
                continue
            days_left = (credential.expires_on - today).days
            due = dt.datetime.combine(
                rules.alert_due(credential.expires_on, threshold), dt.time(12), tzinfo=dt.UTC
            )
            result = worklist.create_task(
                actor=actor,
                data=worklist.NewTask(
                    title=_alert_title(kind, credential, days_left),
                    queue=TaskQueue.MEDICAL_STAFF,
                    task_type=TaskType.CREDENTIAL_EXPIRING,
                    description=(
                        f"{threshold}-day notice. Renew it in the credential file "
                        f"(/credentialing/practitioners/{credential.practitioner_id}/)."
                    ),
                    priority=TaskPriority.HIGH
                    if threshold <= min(rules.EXPIRY_THRESHOLDS)
                    else TaskPriority.NORMAL,
                    due_at=max(due, now + dt.timedelta(hours=1)),
                    source_type=f"credentialing.{kind}",
                    source_id=str(credential.pk),
                    dedupe_key=expiry_task_key(kind, credential.pk, credential.expires_on, threshold),
                ),
            )
            if result.created:
                created += 1
            else:
                existing += 1
    return ExpiryRun(created=created, existing=existing)
