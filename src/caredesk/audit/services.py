"""record(): the single way anything writes to the audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from caredesk.core.context import Actor

from .codes import AuditAction
from .models import AuditEvent


def _object_ref(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def build(
    *,
    actor: Actor,
    action: AuditAction,
    patient_id: int | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type, object_id = _object_ref(obj)
    return AuditEvent(
        occurred_at=timezone.now(),
        actor_id=actor.user_id,
        actor_username=actor.username,
        actor_role=actor.role,
        organization_id=actor.organization_id,
        action=int(action),
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        channel=actor.channel,
        ip=actor.ip,
        request_id=actor.request_id,
        detail=detail or {},
    )


def record(
    *,
    actor: Actor,
    action: AuditAction,
    patient_id: int | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. Call it inside the use case's transaction so the row and the change commit
    together (a read is recorded before its data is returned)."""
    event = build(
        actor=actor,
        action=action,
        patient_id=patient_id,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    event.save(force_insert=True)
    return event


def record_many(events: Iterable[AuditEvent], batch_size: int = 2000) -> int:
    """Bulk append (imports, seeding, searches returning many patients)."""
    created = AuditEvent.objects.bulk_create(list(events), batch_size=batch_size)
    return len(created)
