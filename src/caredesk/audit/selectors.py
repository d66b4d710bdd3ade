"""Reading the audit trail: the actor's organization's events, filtered, newest first.

Reading the trail is itself audited: `list_events` writes one AUDIT_VIEW row and `export_events` one
AUDIT_EXPORT row, each with the filters used, before any event leaves this module. The MRN filter joins
through the string foreign key `patient` (this app imports no domain app).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet

from caredesk.core.context import Actor
from caredesk.core.text import spreadsheet_cell

from .codes import AuditAction
from .models import AuditEvent
from .services import record

PAGE_SIZE = 50

CSV_COLUMNS = [
    "occurred_at",
    "username",
    "role",
    "action_code",
    "action_label",
    "patient_id",
    "patient_mrn",
    "object_type",
    "object_id",
    "channel",
    "ip",
    "request_id",
    "detail",
]


@dataclass(frozen=True)
class AuditFilters:
    """All given criteria must match. `patient` is an MRN or a patient id; dates are calendar days in
    `time_zone` (the organization's), both ends included."""

    patient: str = ""
    username: str = ""
    action: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    time_zone: str = "UTC"

    def as_detail(self) -> dict[str, Any]:
        """The filters as they go into the audit row (only those that were set)."""
        detail: dict[str, Any] = {}
        if self.patient:
            detail["patient"] = self.patient
        if self.username:
            detail["username"] = self.username
        if self.action is not None:
            detail["action"] = self.action
        if self.date_from is not None:
            detail["date_from"] = self.date_from.isoformat()
        if self.date_to is not None:
            detail["date_to"] = self.date_to.isoformat()
        if self.date_from is not None or self.date_to is not None:
            detail["time_zone"] = self.time_zone
        return detail


@dataclass
class AuditPage:
    events: list[AuditEvent]
    page: int
    page_size: int
    has_next: bool


def audit_event_queryset(actor: Actor) -> QuerySet[AuditEvent]:
    """Every event of the actor's organization (none for an actor without one). Not audited itself:
    only for building queries that are."""
    if actor.organization_id is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(organization_id=actor.organization_id)


def _start_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def filtered_events(*, actor: Actor, filters: AuditFilters) -> QuerySet[AuditEvent]:
    qs = audit_event_queryset(actor)
    patient = filters.patient.strip()
    if patient:
        condition = Q(patient__mrn__iexact=patient, patient__organization_id=actor.organization_id)
        if patient.isdigit() and len(patient) <= 18:  # could be a patient id (fits a bigint)
            condition |= Q(patient_id=int(patient))
        qs = qs.filter(condition)
    if filters.username.strip():
        qs = qs.filter(actor_username__iexact=filters.username.strip())
    if filters.action is not None:
        qs = qs.filter(action=filters.action)
    zone = ZoneInfo(filters.time_zone)
    if filters.date_from is not None:
        qs = qs.filter(occurred_at__gte=_start_of_day(filters.date_from, zone))
    if filters.date_to is not None:
        qs = qs.filter(occurred_at__lt=_start_of_day(filters.date_to + dt.timedelta(days=1), zone))
    return qs.order_by("-occurred_at", "-id")


def list_events(
    *, actor: Actor, filters: AuditFilters, page: int = 1, page_size: int = PAGE_SIZE
) -> AuditPage:
    """One page of events, newest first; writes the AUDIT_VIEW row (filters and page) first."""
    page = max(1, page)
    offset = (page - 1) * page_size
    with transaction.atomic():
        record(
            actor=actor,
            action=AuditAction.AUDIT_VIEW,
            object_type="audit.auditevent",
            detail={"filters": filters.as_detail(), "page": page},
        )
        rows = list(filtered_events(actor=actor, filters=filters)[offset : offset + page_size + 1])
    return AuditPage(events=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size)


def _utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def export_events(*, actor: Actor, filters: AuditFilters) -> Iterator[list[str]]:
    """Write the AUDIT_EXPORT row now, then return the rows (header first) to stream lazily."""
    record(
        actor=actor,
        action=AuditAction.AUDIT_EXPORT,
        object_type="audit.auditevent",
        detail={"filters": filters.as_detail(), "format": "csv"},
    )
    rows = filtered_events(actor=actor, filters=filters).values_list(
        "occurred_at",
        "actor_username",
        "actor_role",
        "action",
        "patient_id",
        "patient__mrn",
        "object_type",
        "object_id",
        "channel",
        "ip",
        "request_id",
        "detail",
    )
    labels = {action.value: action.label for action in AuditAction}

    def generate() -> Iterator[list[str]]:
        yield CSV_COLUMNS
        for (
            occurred_at,
            username,
            role,
            action,
            patient_id,
            mrn,
            object_type,
            object_id,
            channel,
            ip,
            request_id,
            detail,
        ) in rows.iterator(chunk_size=2000):
            yield [
                _utc_iso(occurred_at),
                spreadsheet_cell(username),
                spreadsheet_cell(role),
                str(action),
                spreadsheet_cell(labels.get(action, "")),
                "" if patient_id is None else str(patient_id),
                spreadsheet_cell(mrn),
                spreadsheet_cell(object_type),
                spreadsheet_cell(object_id),
                spreadsheet_cell(channel),
                spreadsheet_cell(ip),
                spreadsheet_cell(request_id),
                spreadsheet_cell(json.dumps(detail, sort_keys=True, separators=(",", ":"))),
            ]

    return generate()
