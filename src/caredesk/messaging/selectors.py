"""Read queries of the communication log (audited: a patient's log is patient data).

CONTRACT: `communication_queryset` (not audited), `patient_log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.referrals.selectors import parse_id

from .models import Communication

MAX_ENTRIES = 200


def communication_queryset(actor: Actor) -> QuerySet[Communication]:
    if actor.organization_id is None or not actor.has(Permission.COMMUNICATION_VIEW):
        return Communication.objects.none()
    return Communication.objects.filter(organization_id=actor.organization_id)


@dataclass
class Log:
    patient_id: int
    entries: list[Communication]
    truncated: bool


def patient_log(*, actor: Actor, patient_id: Any, referral_id: Any = None, task_id: Any = None) -> Log:
    """A patient's communications, latest first (only those about one referral or task when given); one
    COMMUNICATION_SEARCH audit row naming the patient and the entries shown. PatientNotFound outside the
    actor's scope."""
    pk = parse_id(patient_id)
    if pk is None or not patient_selectors.patient_queryset(actor).filter(pk=pk).exists():
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    entries = communication_queryset(actor).filter(patient_id=pk)
    if referral_id not in (None, ""):
        entries = entries.filter(referral_id=parse_id(referral_id) or 0)
    if task_id not in (None, ""):
        entries = entries.filter(task_id=parse_id(task_id) or 0)
    with transaction.atomic():
        window = list(entries.order_by("-occurred_at", "-pk")[: MAX_ENTRIES + 1])
        shown = window[:MAX_ENTRIES]
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_SEARCH,
            patient_id=pk,
            detail={
                "referral_id": referral_id or None,
                "task_id": task_id or None,
                "communication_ids": [entry.pk for entry in shown],
            },
        )
    return Log(pk, shown, len(window) > MAX_ENTRIES)
