"""Communication-log use cases (keyword-only actor, one transaction, audit row inside).

CONTRACT: `log_communication`.

Only what happened is logged here; nothing is sent. When sending (SMS, e-mail, letters, portal messages)
is added, the sending use case must check the patient's communication consents first (`sms_allowed`,
`email_allowed`, `voicemail_allowed` on the patient record) and refuse a channel the patient has not
agreed to, and it must run the delivery after commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import PatientStatus
from caredesk.patients.errors import PatientNotFound
from caredesk.referrals import selectors as referral_selectors
from caredesk.worklist import selectors as task_selectors
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import ACTIVE_STATUSES, CommentKind

from . import clock, rules
from .choices import Channel, Direction, Outcome, Party
from .errors import LinkedObjectNotFound
from .models import MAX_DURATION_SECONDS, Communication

MAX_BODY = 8000


@dataclass(frozen=True)
class NewCommunication:
    patient_id: int
    direction: str
    channel: str
    subject: str
    outcome: str
    party: str = Party.PATIENT
    party_name: str = ""
    body: str = ""
    duration_seconds: int | None = None
    occurred_at: dt.datetime | None = None  # default: now
    referral_id: int | None = None
    task_id: int | None = None


def _text(value: Any, field: str, label: str, limit: int, *, required: bool = False) -> str:
    value = "" if value is None else value
    if not isinstance(value, str):
        raise ValidationFailed(f"{label} must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{label} is required.", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{label} is longer than {limit} characters.", field=field)
    return value


def _choice(value: Any, field: str, label: str, choices: list[str]) -> str:
    if value not in choices:
        raise ValidationFailed(f"{value!r} is not a valid {label}.", field=field)
    return str(value)


def _name_of(actor: Actor) -> str:
    user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    return (user.display_name if user else actor.username)[:150]


def _patient(actor: Actor, patient_id: Any) -> int:
    pk = referral_selectors.parse_id(patient_id)
    status = (
        None
        if pk is None
        else patient_selectors.patient_queryset(actor).filter(pk=pk).values_list("status", flat=True).first()
    )
    if pk is None or status is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    if status == PatientStatus.MERGED:
        raise ValidationFailed("That patient was merged into another record; use the surviving record.")
    return pk


def _linked(actor: Actor, patient_id: int, referral_id: Any, task_id: Any) -> tuple[int | None, int | None]:
    referral_pk = task_pk = None
    if referral_id not in (None, ""):
        referral_pk = referral_selectors.parse_id(referral_id)
        found = referral_pk is not None and (
            referral_selectors.referral_queryset(actor).filter(pk=referral_pk, patient_id=patient_id).exists()
        )
        if not found:
            raise LinkedObjectNotFound("No such referral of this patient.", field="referral_id")
    if task_id not in (None, ""):
        task_pk = referral_selectors.parse_id(task_id)
        found = task_pk is not None and (
            task_selectors.task_queryset(actor).filter(pk=task_pk, patient_id=patient_id).exists()
        )
        if not found:
            raise LinkedObjectNotFound("No such task of this patient.", field="task_id")
    return referral_pk, task_pk


def log_communication(*, actor: Actor, data: NewCommunication) -> Communication:
    """Log a call, message, letter or fax about a patient. Linked to a task, it also goes on the task's
    timeline: an outbound call that reached nobody as a contact attempt, anything else as a comment."""
    if not actor.has(Permission.COMMUNICATION_LOG):
        raise Forbidden(f"This needs the permission {Permission.COMMUNICATION_LOG}.")
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can log communications.")
    now = clock.now()
    direction = _choice(data.direction, "direction", "direction", Direction.values)
    channel = _choice(data.channel, "channel", "channel", Channel.values)
    outcome = _choice(data.outcome, "outcome", "outcome", Outcome.values)
    problem = rules.outcome_error(channel, direction, outcome)
    if problem:
        raise ValidationFailed(problem, field="outcome")
    duration = data.duration_seconds
    if duration is not None and not (isinstance(duration, int) and 0 <= duration <= MAX_DURATION_SECONDS):
        raise ValidationFailed("The duration must be between 0 and 6 hours.", field="duration_seconds")
    problem = rules.duration_error(channel, duration)
    if problem:
        raise ValidationFailed(problem, field="duration_seconds")
    occurred_at = data.occurred_at or now
    if occurred_at.tzinfo is None:
        raise ValidationFailed("The time needs a time zone.", field="occurred_at")
    problem = rules.occurred_at_error(occurred_at, now)
    if problem:
        raise ValidationFailed(problem, field="occurred_at")
    values = {
        "direction": direction,
        "channel": channel,
        "outcome": outcome,
        "party": _choice(data.party, "party", "party", Party.values),
        "party_name": _text(data.party_name, "party_name", "Name", 200),
        "subject": _text(data.subject, "subject", "Subject", 200, required=True),
        "body": _text(data.body, "body", "Summary", MAX_BODY),
        "duration_seconds": duration,
        "occurred_at": occurred_at,
    }
    with transaction.atomic():
        patient_id = _patient(actor, data.patient_id)
        referral_id, task_id = _linked(actor, patient_id, data.referral_id, data.task_id)
        entry = Communication.objects.create(
            organization_id=actor.organization_id,
            patient_id=patient_id,
            referral_id=referral_id,
            task_id=task_id,
            logged_by_id=actor.user_id,
            logged_by_name=_name_of(actor),
            **values,
        )
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_CREATE,
            patient_id=patient_id,
            obj=entry,
            detail={
                "channel": channel,
                "direction": direction,
                "outcome": outcome,
                "referral_id": referral_id,
                "task_id": task_id,
            },
        )
        if task_id is not None and actor.has(Permission.TASK_WORK):
            active = (
                task_selectors.task_queryset(actor).filter(pk=task_id, status__in=ACTIVE_STATUSES).exists()
            )
            attempt = active and rules.is_contact_attempt(channel, direction, outcome)
            summary = (
                f"{entry.get_direction_display()} {entry.get_channel_display().lower()}: {entry.subject}"
            )
            summary += f" — {entry.get_outcome_display()}."
            worklist.add_comment(
                actor=actor,
                task_id=task_id,
                body=summary,
                kind=CommentKind.ATTEMPT if attempt else CommentKind.COMMENT,
            )
    return entry
