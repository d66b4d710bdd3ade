"""Referral use cases: one function per use case, keyword-only actor, one transaction, audit row inside.

CONTRACT (other apps and interop call exactly these): `add_receiver`, `create_referral`,
`register_inbound_referral`, `act` (every step of the loop, outbound or inbound), `apply_rules` (the overdue
scan), `move_referrals_on_merge` (the patients merge hook), `register_referrer_notifier` (messaging's hook
that logs what the referring party of an inbound referral is told).

Permissions: creating and sending need REFERRAL_CREATE; scheduling and "seen" REFERRAL_SCHEDULE; the
receiver's answers, re-routing, closing the loop, cancelling a sent referral and the receiver directory
REFERRAL_MANAGE (a draft may be cancelled by whoever may create one). A referral outside the actor's
organization answers ReferralNotFound, exactly like one that does not exist.

A declined referral is never silently dropped: declining puts a task on the care-coordination worklist
(dedupe key per decline) that is settled only by re-routing the referral or closing it with a reason;
the overdue scan (`apply_rules`) puts it back if it was lost. Rule tasks a step deals with are closed as
done by that step (a scheduled referral settles its "not scheduled" task).

Inbound referrals (another practice refers a patient to us) are registered received (REFERRAL_CREATE) and
wait in the intake queue: a care-coordination worklist task (one per arrival, due when the "received"
clock runs out) that accepting or declining settles. Declining one needs the reason and is final: the
referring party is told why, which is logged in the communication log (through the notifier messaging
registers, since messaging sits above referrals); sending the consult note back (close) is logged the
same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.inputs import checked_text
from caredesk.patients import selectors as patient_selectors
from caredesk.patients import services as patient_services
from caredesk.patients.choices import PatientStatus
from caredesk.patients.errors import PatientNotFound
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType

from . import clock, ports, rules, selectors
from .choices import (
    OPEN_STATUSES,
    ReceiverKind,
    ReferralAction,
    ReferralDirection,
    ReferralStatus,
    Specialty,
    Urgency,
)
from .errors import InvalidDiagnosis, InvalidTransition, ReceiverNotFound, ReferralNotFound, StaleReferral
from .models import MAX_NOTE, MAX_REASON, Referral, ReferralAttachment, ReferralEvent, ReferralReceiver

MAX_DIAGNOSES = 12
MAX_ATTACHMENTS = 20
ACTION_PERMISSION: dict[str, Permission] = {
    ReferralAction.SEND: Permission.REFERRAL_CREATE,
    ReferralAction.SCHEDULE: Permission.REFERRAL_SCHEDULE,
    ReferralAction.SEEN: Permission.REFERRAL_SCHEDULE,
}
#: What the services need to put rule tasks on the worklist on a person's behalf (see _task_actor).
_TASK_PERMISSIONS = frozenset(str(p) for p in (Permission.TASK_WORK, Permission.TASK_ALL_QUEUES))


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can work with its referrals.")
    return actor.organization_id


def _choice(value: Any, field: str, label: str, choices: Iterable[str]) -> str:
    if value not in list(choices):
        raise ValidationFailed(f"{value!r} is not a valid {label}.", field=field)
    return str(value)


def _name_of(actor: Actor) -> str:
    if actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id).only("first_name", "last_name", "username").first()
        if user is not None:
            return user.display_name[:150]
    return actor.username[:150]


def step_overrides() -> rules.Days:
    """settings.CAREDESK_REFERRAL_DAYS: days per step and urgency that replace rules.DEFAULT_DAYS."""
    value = getattr(settings, "CAREDESK_REFERRAL_DAYS", None)
    return value if isinstance(value, dict) else {}


def _check_patient(actor: Actor, patient_id: Any) -> int:
    pk = selectors.parse_id(patient_id)
    status = (
        None
        if pk is None
        else patient_selectors.patient_queryset(actor).filter(pk=pk).values_list("status", flat=True).first()
    )
    if pk is None or status is None:
        raise PatientNotFound(
            f"No patient with id {patient_id}.", field="patient_id", details={"id": patient_id}
        )
    if status == PatientStatus.MERGED:
        raise ValidationFailed("That patient was merged into another record; use the surviving record.")
    return pk


def _check_receiver(actor: Actor, receiver_id: Any, *, required: bool = False) -> ReferralReceiver | None:
    if receiver_id in (None, ""):
        if required:
            raise ValidationFailed("Pick the receiver.", field="receiver_id")
        return None
    pk = selectors.parse_id(receiver_id)
    receiver = None if pk is None else selectors.receiver_queryset(actor).filter(pk=pk, active=True).first()
    if receiver is None:
        raise ReceiverNotFound(f"No active receiver with id {receiver_id}.", field="receiver_id")
    return receiver


def clean_diagnoses(codes: Sequence[str]) -> list[dict[str, str]]:
    """ICD-10-CM codes as [{"code", "description"}], each once, in the order given; InvalidDiagnosis names
    the first code that is not one."""
    seen: dict[str, dict[str, str]] = {}
    for raw in codes:
        code = rules.normalize_icd10(str(raw))
        if code is None:
            raise InvalidDiagnosis(f"{raw!r} is not an ICD-10-CM diagnosis code.", field="diagnoses")
        seen.setdefault(code, {"code": code, "description": rules.icd10_description(code)})
    if len(seen) > MAX_DIAGNOSES:
        raise ValidationFailed(f"At most {MAX_DIAGNOSES} diagnoses.", field="diagnoses")
    return list(seen.values())


def _check_practitioner(actor: Actor, practitioner_id: Any) -> int | None:
    if practitioner_id in (None, ""):
        return None
    pk = selectors.parse_id(practitioner_id)
    found = (
        pk is not None
        and practitioner_selectors.practitioner_queryset(actor).filter(pk=pk, active=True).exists()
    )
    if not found:
        raise ValidationFailed(
            f"No active practitioner with id {practitioner_id} in this organization.",
            field="practitioner_id",
        )
    return pk


def _aware(value: Any, field: str, label: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationFailed(f"{label} must be a date and time with its time zone.", field=field)
    return value


#: How long after the fact a step may be entered (the consult note that came by fax last month).
MAX_BACKDATE = dt.timedelta(days=365)
_CLOCK_SKEW = dt.timedelta(minutes=5)


def _occurred(value: Any, now: dt.datetime, not_before: dt.datetime | None = None) -> dt.datetime:
    """When a step happened: now, or earlier for a step entered after the fact (never in the future, not
    more than MAX_BACKDATE ago, not before the referral's previous step)."""
    if value is None:
        return now
    value = _aware(value, "occurred_at", "When it happened")
    if value > now + _CLOCK_SKEW:
        raise ValidationFailed("A step cannot be recorded as happening in the future.", field="occurred_at")
    if value < now - MAX_BACKDATE:
        raise ValidationFailed(
            f"A step can be entered up to {MAX_BACKDATE.days} days after it happened.", field="occurred_at"
        )
    if not_before is not None and value < not_before:
        raise ValidationFailed(
            f"The referral's previous step was recorded at {timezone.localtime(not_before):%Y-%m-%d %H:%M}; "
            "this one cannot have happened before it.",
            field="occurred_at",
        )
    return min(value, now)


# ---------------------------------------------------------------------------------------------------
# Receivers
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiverInput:
    name: str
    specialty: str
    kind: str = ReceiverKind.PRACTITIONER
    npi: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    address: str = ""


def add_receiver(*, actor: Actor, data: ReceiverInput) -> ReferralReceiver:
    """Add a practitioner or organization to the organization's receiver directory."""
    _require(actor, Permission.REFERRAL_MANAGE)
    organization_id = _organization_id(actor)
    npi = checked_text(data.npi, "npi", "NPI", 10)
    if npi and not (len(npi) == 10 and npi.isdigit()):
        raise ValidationFailed("An NPI is ten digits.", field="npi")
    values = {
        "name": checked_text(data.name, "name", "Name", 200, required=True),
        "specialty": _choice(data.specialty, "specialty", "specialty", Specialty.values),
        "kind": _choice(data.kind, "kind", "kind of receiver", ReceiverKind.values),
        "npi": npi,
        "phone": checked_text(data.phone, "phone", "Phone", 30),
        "fax": checked_text(data.fax, "fax", "Fax", 30),
        "email": checked_text(data.email, "email", "E-mail", 254),
        "address": checked_text(data.address, "address", "Address", 300),
    }
    with transaction.atomic():
        exists = ReferralReceiver.objects.filter(
            organization_id=organization_id, name=values["name"], specialty=values["specialty"]
        ).exists()
        if exists:
            raise ValidationFailed("That receiver is in the directory already.", field="name")
        receiver = ReferralReceiver.objects.create(organization_id=organization_id, **values)
        audit.record(actor=actor, action=AuditAction.REFERRAL_RECEIVER_CREATE, obj=receiver, detail={})
    return receiver


# ---------------------------------------------------------------------------------------------------
# Creating
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewReferral:
    patient_id: int
    specialty: str
    reason: str
    receiver_id: int | None = None
    urgency: str = Urgency.ROUTINE
    diagnoses: Sequence[str] = ()
    document_ids: Sequence[int] = ()
    include_chart_summary: bool = True
    authorization_required: bool = False
    authorization_number: str = ""


def _attachments(actor: Actor, patient_id: int, document_ids: Sequence[Any]) -> list[tuple[int, str]]:
    """(document id, title) of the chosen documents, which must be current documents of the patient's
    chart (reading the chart for them is audited by patients.selectors)."""
    wanted = [selectors.parse_id(value) for value in document_ids]
    if not wanted:
        return []
    if None in wanted or len(set(wanted)) > MAX_ATTACHMENTS:
        raise ValidationFailed("Pick documents of this patient's chart.", field="document_ids")
    chart = patient_selectors.get_chart(actor=actor, patient_id=patient_id)
    titles = {document.pk: document.title for document in chart.documents}
    missing = [pk for pk in wanted if pk not in titles]
    if missing:
        raise ValidationFailed(
            "Only current documents of this patient's chart can be attached.",
            field="document_ids",
            details={"ids": missing},
        )
    return [(pk, titles[pk]) for pk in dict.fromkeys(pk for pk in wanted if pk is not None)]


def create_referral(
    *, actor: Actor, data: NewReferral, send: bool = False, occurred_at: dt.datetime | None = None
) -> Referral:
    """A new referral (a draft, or sent at once with `send=True`), with its diagnoses, attachments and the
    first step on its timeline. `occurred_at`: when it was made (and sent), for one entered after the fact
    (see `_occurred`); default now."""
    _require(actor, Permission.REFERRAL_CREATE)
    organization_id = _organization_id(actor)
    authorization_required = bool(data.authorization_required)
    authorization_number = checked_text(
        data.authorization_number, "authorization_number", "Authorization number", 50
    )
    if authorization_number and not authorization_required:
        raise ValidationFailed(
            "An authorization number goes with “authorization required”.", field="authorization_number"
        )
    values = {
        "specialty": _choice(data.specialty, "specialty", "specialty", Specialty.values),
        "reason": checked_text(data.reason, "reason", "Reason", MAX_REASON, required=True),
        "urgency": _choice(data.urgency, "urgency", "urgency", Urgency.values),
        "diagnoses": clean_diagnoses(list(data.diagnoses)),
        "include_chart_summary": bool(data.include_chart_summary),
        "authorization_required": authorization_required,
        "authorization_number": authorization_number,
    }
    now = _occurred(occurred_at, clock.now())
    with transaction.atomic():
        patient_id = _check_patient(actor, data.patient_id)
        receiver = _check_receiver(actor, data.receiver_id)
        attached = _attachments(actor, patient_id, list(data.document_ids))
        referral = Referral.objects.create(
            organization_id=organization_id,
            patient_id=patient_id,
            receiver=receiver,
            status=ReferralStatus.DRAFT,
            status_changed_at=now,
            created_by_id=actor.user_id,
            created_by_name=_name_of(actor),
            **values,
        )
        ReferralAttachment.objects.bulk_create(
            ReferralAttachment(referral=referral, document_id=pk, title=title) for pk, title in attached
        )
        _event(referral, actor, "", ReferralStatus.DRAFT, now, "Created.")
        audit.record(
            actor=actor,
            action=AuditAction.REFERRAL_CREATE,
            patient_id=patient_id,
            obj=referral,
            detail={
                "specialty": referral.specialty,
                "receiver_id": referral.receiver_id,
                "urgency": referral.urgency,
                "diagnoses": [d["code"] for d in referral.diagnoses],
                "document_ids": [pk for pk, _title in attached],
            },
        )
        if send:
            _move(actor, referral, ReferralAction.SEND, now=now)
    return referral


@dataclass(frozen=True)
class NewInboundReferral:
    """A referral another practice sent us about `patient_id` (registered in our patient index first)."""

    patient_id: int
    specialty: str  # the receiving specialty of ours
    reason: str
    referrer_name: str
    referrer_kind: str = ReceiverKind.PRACTITIONER
    referrer_npi: str = ""
    referrer_phone: str = ""
    referrer_fax: str = ""
    received_at: dt.datetime | None = None  # default: now
    practitioner_id: int | None = None  # who of ours it is for (optional)
    urgency: str = Urgency.ROUTINE
    diagnoses: Sequence[str] = ()
    document_ids: Sequence[int] = ()


def _checked_npi(value: str) -> str:
    npi = checked_text(value, "referrer_npi", "NPI", 10)
    if npi and not (len(npi) == 10 and npi.isdigit()):
        raise ValidationFailed("An NPI is ten digits.", field="referrer_npi")
    return npi


def register_inbound_referral(*, actor: Actor, data: NewInboundReferral) -> Referral:
    """Register a referral another practice sent us: received, with the referring party, its diagnoses
    (ICD-10-CM) and the chart documents that came with it, and a task on the intake queue (accept or
    decline it before the "received" clock runs out)."""
    _require(actor, Permission.REFERRAL_CREATE)
    organization_id = _organization_id(actor)
    now = clock.now()
    received_at = now if data.received_at is None else _aware(data.received_at, "received_at", "Received")
    if received_at > now + dt.timedelta(minutes=5):
        raise ValidationFailed("It cannot have been received in the future.", field="received_at")
    values = {
        "specialty": _choice(data.specialty, "specialty", "specialty", Specialty.values),
        "reason": checked_text(data.reason, "reason", "Reason", MAX_REASON, required=True),
        "urgency": _choice(data.urgency, "urgency", "urgency", Urgency.values),
        "diagnoses": clean_diagnoses(list(data.diagnoses)),
        "referrer_kind": _choice(data.referrer_kind, "referrer_kind", "referrer kind", ReceiverKind.values),
        "referrer_name": checked_text(data.referrer_name, "referrer_name", "Referred by", 200, required=True),
        "referrer_npi": _checked_npi(data.referrer_npi),
        "referrer_phone": checked_text(data.referrer_phone, "referrer_phone", "Phone", 30),
        "referrer_fax": checked_text(data.referrer_fax, "referrer_fax", "Fax", 30),
    }
    with transaction.atomic():
        patient_id = _check_patient(actor, data.patient_id)
        practitioner_id = _check_practitioner(actor, data.practitioner_id)
        attached = _attachments(actor, patient_id, list(data.document_ids))
        referral = Referral.objects.create(
            organization_id=organization_id,
            patient_id=patient_id,
            direction=ReferralDirection.INBOUND,
            practitioner_id=practitioner_id,
            received_at=received_at,
            status=ReferralStatus.RECEIVED,
            status_changed_at=received_at,
            include_chart_summary=False,
            created_by_id=actor.user_id,
            created_by_name=_name_of(actor),
            **values,
        )
        ReferralAttachment.objects.bulk_create(
            ReferralAttachment(referral=referral, document_id=pk, title=title) for pk, title in attached
        )
        event = _event(
            referral,
            actor,
            "",
            ReferralStatus.RECEIVED,
            received_at,
            f"Received from {referral.referrer_name}.",
        )
        audit.record(
            actor=actor,
            action=AuditAction.REFERRAL_CREATE,
            patient_id=patient_id,
            obj=referral,
            detail={
                "direction": ReferralDirection.INBOUND,
                "specialty": referral.specialty,
                "practitioner_id": practitioner_id,
                "urgency": referral.urgency,
                "diagnoses": [d["code"] for d in referral.diagnoses],
                "document_ids": [pk for pk, _title in attached],
            },
        )
        spec = rules.intake_rule(selectors.facts_of(referral, [event]), now, step_overrides())
        if spec is not None:
            _put_on_worklist(actor, referral, spec)
    return referral


# ---------------------------------------------------------------------------------------------------
# Telling the referring party (inbound)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferrerNotice:
    """What the referring party of an inbound referral is told (declined with the reason, or the consult
    note sent back), for the communication log."""

    referral_id: int
    patient_id: int
    action: str  # ReferralAction.DECLINE or CLOSE
    referrer_name: str
    referrer_phone: str
    referrer_fax: str
    subject: str
    body: str
    at: dt.datetime


ReferrerNotifier = Callable[[Actor, ReferrerNotice], None]
_referrer_notifiers: list[ReferrerNotifier] = []


def register_referrer_notifier(notifier: ReferrerNotifier) -> ReferrerNotifier:
    """Let the communication log record what the referring party of an inbound referral is told. Called
    inside the step's transaction (raising undoes the step); register once from `AppConfig.ready()`;
    registering the same function again is a no-op."""
    if notifier not in _referrer_notifiers:
        _referrer_notifiers.append(notifier)
    return notifier


def _notify_referrer(actor: Actor, referral: Referral, action: str, note: str, at: dt.datetime) -> None:
    label = Specialty(referral.specialty).label
    if action == ReferralAction.DECLINE:
        subject = f"Referral to {label} declined"
        body = f"We cannot accept your referral of this patient to {label}. Reason: {note}"
    else:
        subject = f"Consult note sent back: {label}"
        body = f"The consult note of your referral to {label} was sent back. {note}".strip()
    notice = ReferrerNotice(
        referral_id=referral.pk,
        patient_id=referral.patient_id,
        action=action,
        referrer_name=referral.referrer_name,
        referrer_phone=referral.referrer_phone,
        referrer_fax=referral.referrer_fax,
        subject=subject[:200],
        body=body,
        at=at,
    )
    for notifier in _referrer_notifiers:
        notifier(actor, notice)


# ---------------------------------------------------------------------------------------------------
# Every step of the loop
# ---------------------------------------------------------------------------------------------------


def _event(
    referral: Referral,
    actor: Actor,
    before: str,
    after: str,
    at: dt.datetime,
    note: str,
    document_id: int | None = None,
) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral,
        from_status=before,
        to_status=after,
        at=at,
        receiver_id=referral.receiver_id,
        note=note,
        document_id=document_id,
        actor_id=actor.user_id,
        actor_name=_name_of(actor),
    )


def _task_actor(actor: Actor) -> Actor:
    """The actor, allowed to put the referral's own rule tasks on any queue: a nurse declining on the
    phone or the overnight scan must be able to leave the care-coordination team its task. The audit rows
    still name the person (or the scan) who caused them."""
    return dataclasses.replace(actor, permissions=actor.permissions | _TASK_PERMISSIONS)


def _put_on_worklist(actor: Actor, referral: Referral, spec: rules.TaskSpec) -> bool:
    created = worklist.create_task(
        actor=_task_actor(actor),
        data=worklist.NewTask(
            title=spec.title,
            description=spec.description,
            queue=TaskQueue.CARE_COORDINATION,
            task_type=TaskType.REFERRAL_FOLLOW_UP,
            patient_id=referral.patient_id,
            priority=TaskPriority.HIGH if spec.urgent else TaskPriority.NORMAL,
            due_at=spec.due_at,
            source_type="referrals.referral",
            source_id=str(referral.pk),
            dedupe_key=spec.dedupe_key,
        ),
    )
    return created.created


def _settle_tasks(actor: Actor, referral: Referral, status: str) -> None:
    prefixes = rules.keys_settled_by(referral.pk, status, referral.direction)
    if not prefixes:
        return
    keys = selectors.rule_task_keys(referral)
    settled = [key for key in keys if any(key.startswith(prefix) for prefix in prefixes)]
    if settled:
        worklist.close_tasks_by_keys(
            actor=_task_actor(actor),
            dedupe_keys=settled,
            status=TaskStatus.DONE,
            reason=f"Referral #{referral.pk}: {ReferralStatus(status).label.lower()}.",
        )


def _move(
    actor: Actor,
    referral: Referral,
    action: str,
    *,
    now: dt.datetime,
    note: str = "",
    receiver: ReferralReceiver | None = None,
    appointment_at: dt.datetime | None = None,
    appointment: ports.ReferralAppointment | None = None,
    document_id: int | None = None,
) -> None:
    problem = rules.transition_error(referral.status, action, referral.direction)
    if problem:
        raise InvalidTransition(problem, field="action", details={"from": referral.status, "action": action})
    problem = rules.note_error(action, note)
    if problem:
        raise ValidationFailed(problem, field="note")
    before = referral.status
    after = str(rules.target_of(before, action, referral.direction))
    fields = ["status", "status_changed_at"]
    line = note
    if action == ReferralAction.REROUTE:
        if receiver is None or receiver.pk == referral.receiver_id:
            raise ValidationFailed("Re-route it to another receiver.", field="receiver_id")
        line = f"Re-routed to {receiver.name}. {note}".strip()
    if receiver is not None:
        referral.receiver = receiver
        fields.append("receiver")
    if action == ReferralAction.SCHEDULE:
        if appointment is not None:
            appointment_at = appointment.starts_at
        if appointment_at is None:
            raise ValidationFailed(
                "When is the appointment? Pick a booked one, or give the time of one booked elsewhere.",
                field="appointment_at",
            )
        referral.appointment_at = appointment_at
        referral.appointment_id = appointment.appointment_id if appointment else None  # elsewhere: none
        fields.extend(["appointment_at", "appointment"])
        local = appointment_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        booked = (
            f" ({appointment.label}, booked appointment #{appointment.appointment_id})" if appointment else ""
        )
        line = f"Appointment {local}{booked}. {note}".strip()
    if action in (ReferralAction.DECLINE, ReferralAction.CANCEL, ReferralAction.CLOSE) and note:
        referral.outcome_note = note
        fields.append("outcome_note")
    referral.status, referral.status_changed_at = after, now
    referral.version += 1
    referral.save(update_fields=[*fields, "version", "updated_at"])
    event = _event(referral, actor, before, after, now, line, document_id)
    audit.record(
        actor=actor,
        action=AuditAction.REFERRAL_STATUS_CHANGED,
        patient_id=referral.patient_id,
        obj=referral,
        detail={
            "from": before,
            "to": after,
            "action": action,
            "receiver_id": referral.receiver_id,
            **({"appointment_id": referral.appointment_id} if action == ReferralAction.SCHEDULE else {}),
            **({"document_id": document_id} if document_id else {}),
        },
    )
    _settle_tasks(actor, referral, after)
    if referral.is_inbound and action in rules.INBOUND_NOTIFIES:
        _notify_referrer(actor, referral, action, note, now)
    if after == ReferralStatus.DECLINED:
        spec = rules.declined_rule(_facts_after(referral, event), now, step_overrides())
        if spec is not None:
            _put_on_worklist(actor, referral, spec)


def _facts_after(referral: Referral, event: ReferralEvent) -> rules.ReferralFacts:
    return rules.ReferralFacts(
        referral_id=referral.pk,
        patient_id=referral.patient_id,
        status=referral.status,
        urgency=referral.urgency,
        target=selectors.target_label(referral),
        declined_event_id=event.pk,
        declined_at=event.at,
        direction=referral.direction,
    )


def permission_for(action: str, status: str) -> Permission:
    """What taking `action` on a referral in `status` needs (a draft is cancelled by its kind of author)."""
    if action == ReferralAction.CANCEL and status == ReferralStatus.DRAFT:
        return Permission.REFERRAL_CREATE
    return ACTION_PERMISSION.get(action, Permission.REFERRAL_MANAGE)


def act(
    *,
    actor: Actor,
    referral_id: Any,
    action: str,
    note: str = "",
    receiver_id: Any = None,
    appointment_at: dt.datetime | None = None,
    expected_version: int | None = None,
    appointment_id: Any = None,
    consult_document: UploadedFile | None = None,
    occurred_at: dt.datetime | None = None,
) -> Referral:
    """Take one step of the loop (rules.TRANSITIONS): send, receive, accept, decline (with the reason),
    re-route (to another receiver), schedule (with one of the patient's booked appointments,
    `appointment_id`, or the time of one booked elsewhere, `appointment_at`; again to move it), seen, close
    (consult note received; `consult_document`, the note as received, is filed in the patient's chart
    through patients.services.upload_document and linked from this step), cancel (with the reason). An
    inbound referral moves along rules.INBOUND_TRANSITIONS (accept or decline, schedule, seen, close:
    consult note sent back). `occurred_at`: when the step happened, for one entered after the fact (not in
    the future, not before the previous step); default now: the step clocks and the report count from it.
    InvalidTransition when the step is not open from the referral's status; StaleReferral when
    `expected_version` is not the current one."""
    action = _choice(action, "action", "action", ReferralAction.values)
    note = checked_text(note, "note", "Note", MAX_NOTE)
    if appointment_at is not None:
        appointment_at = _aware(appointment_at, "appointment_at", "Appointment")
    with transaction.atomic():
        pk = selectors.parse_id(referral_id)
        referral = (
            None
            if pk is None
            else selectors.referral_queryset(actor).select_for_update().filter(pk=pk).first()
        )
        if referral is None:
            raise ReferralNotFound(f"No referral with id {referral_id}.", details={"id": str(referral_id)})
        _require(actor, permission_for(action, referral.status))
        if expected_version is not None and referral.version != expected_version:
            raise StaleReferral(
                "Someone else changed this referral since you opened it. Reload to see their changes.",
                details={"expected_version": expected_version, "current_version": referral.version},
            )
        when = _occurred(occurred_at, clock.now(), referral.status_changed_at)
        receiver = None
        outbound = not referral.is_inbound  # an inbound one has no receiver: _move refuses these steps
        if outbound and action == ReferralAction.REROUTE:
            receiver = _check_receiver(actor, receiver_id, required=True)
        elif outbound and action == ReferralAction.SEND and receiver_id not in (None, ""):
            receiver = _check_receiver(actor, receiver_id)
        appointment = None
        schedulable = rules.target_of(referral.status, action, referral.direction) is not None
        if action == ReferralAction.SCHEDULE and schedulable and appointment_id not in (None, ""):
            if appointment_at is not None:
                raise ValidationFailed(
                    "Pick the booked appointment or give the time of one booked elsewhere, not both.",
                    field="appointment_at",
                )
            appointment = _check_appointment(actor, referral, appointment_id)
        document_id = None
        if consult_document is not None:
            document_id = _file_consult_note(actor, referral, action, consult_document)
        _move(
            actor,
            referral,
            action,
            now=when,
            note=note,
            receiver=receiver,
            appointment_at=appointment_at,
            appointment=appointment,
            document_id=document_id,
        )
    return referral


def _file_consult_note(actor: Actor, referral: Referral, action: str, upload: UploadedFile) -> int | None:
    """File the consult note received (an outbound referral's loop closing) in the patient's chart; the
    upload is checked and audited by patients.services. None when the step itself is refused (_move says
    why)."""
    if rules.target_of(referral.status, action, referral.direction) is None:
        return None
    if action != ReferralAction.CLOSE or referral.is_inbound:
        raise ValidationFailed(
            "A document is filed only with the consult note received of a referral we sent.",
            field="consult_document",
        )
    title = f"Consult note: {selectors.target_label(referral)}"[:200]
    document = patient_services.upload_document(
        actor=actor, patient_id=referral.patient_id, title=title, uploaded_file=upload
    )
    return int(document.pk)


def _check_appointment(actor: Actor, referral: Referral, appointment_id: Any) -> ports.ReferralAppointment:
    """The booked appointment of the referral's patient the scheduled step names (through the port:
    scheduling sits above referrals)."""
    pk = selectors.parse_id(appointment_id)
    found = None if pk is None else ports.find_appointment(actor=actor, appointment_id=pk)
    if found is None:
        raise ValidationFailed(f"No appointment with id {appointment_id}.", field="appointment_id")
    problem = rules.appointment_error(referral.patient_id, found.patient_id, found.status)
    if problem:
        raise ValidationFailed(problem, field="appointment_id", details={"appointment_id": pk})
    return found


# ---------------------------------------------------------------------------------------------------
# The overdue scan
# ---------------------------------------------------------------------------------------------------


def apply_rules(*, actor: Actor, now: dt.datetime | None = None) -> list[rules.TaskSpec]:
    """Run the worklist rules over the organization's open referrals; returns the tasks newly created
    (a task whose dedupe key exists already is not created again, so running twice changes nothing)."""
    _require(actor, Permission.REFERRAL_VIEW)
    now = now or clock.now()
    overrides = step_overrides()
    created: list[rules.TaskSpec] = []
    for referral, facts in selectors.rule_candidates(actor, now, overrides):
        for spec in rules.due_tasks(facts, now, overrides):
            with transaction.atomic():
                if _put_on_worklist(actor, referral, spec):
                    created.append(spec)
    return created


# ---------------------------------------------------------------------------------------------------
# Patient merge
# ---------------------------------------------------------------------------------------------------


def move_referrals_on_merge(actor: Actor, source: models.Model, target: models.Model) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's referrals (inside
    the merge's transaction, which writes the audit rows)."""
    moved = list(Referral.objects.filter(patient_id=source.pk).values_list("pk", flat=True))
    if not moved:
        return
    Referral.objects.filter(pk__in=moved).update(patient_id=target.pk, version=F("version") + 1)
    now = clock.now()
    name = _name_of(actor)
    ReferralEvent.objects.bulk_create(
        ReferralEvent(
            referral_id=pk,
            from_status=status,
            to_status=status,
            at=now,
            receiver_id=receiver_id,
            note=f"Patient record merged: moved from patient {source.pk} to {target.pk}.",
            actor_id=actor.user_id,
            actor_name=name,
        )
        for pk, status, receiver_id in Referral.objects.filter(pk__in=moved).values_list(
            "pk", "status", "receiver_id"
        )
    )


__all__ = [
    "OPEN_STATUSES",
    "NewInboundReferral",
    "NewReferral",
    "ReceiverInput",
    "ReferrerNotice",
    "act",
    "add_receiver",
    "apply_rules",
    "clean_diagnoses",
    "create_referral",
    "move_referrals_on_merge",
    "register_inbound_referral",
    "register_referrer_notifier",
]
