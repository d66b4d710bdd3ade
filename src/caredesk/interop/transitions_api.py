"""Transitions of care in the JSON API (/api/v1/...): encounters from the ADT feed (the organization's,
filtered to the unmatched queue, or one patient's), one encounter with its timeline and TCM episodes,
linking an unmatched encounter to a patient, TCM episodes with their deadlines, a TCM episode's
complexity, the TCM compliance report, and discharge planning (an encounter's discharge checklist, and
ticking one of its items: done, not needed with a reason, or back to do).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Refusals answer like everywhere: 404 outside the
organization or for an unknown item, 409 `encounter_not_linked` / `encounter_already_linked`, 400 with
the field at fault. A portal token reads only its own encounters (`/patients/{patient_id}/encounters`).

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any, Literal, Self

from django.http import HttpRequest
from ninja import P, PathEx, Query, Schema
from pydantic import Field, model_validator

from caredesk.accounts.permissions import Permission
from caredesk.transitions import selectors, services
from caredesk.transitions.models import Encounter

from .api import ERRORS, MAX_ID, OWN_RECORD, PatientId, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

EncounterId = PathEx[int, P(ge=1, le=MAX_ID, description="The encounter's id")]
EpisodeId = PathEx[int, P(ge=1, le=MAX_ID, description="The TCM episode's id")]
ItemCode = PathEx[
    str, P(max_length=20, description="follow_up, medications, equipment, education or records")
]
TAGS = ["transitions"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class ChecklistItemOut(Schema):
    item: str = Field(description="follow_up, medications, equipment, education or records")
    label: str
    status: str = Field(description="open, done or not_needed")
    note: str
    decided_by: str
    decided_at: dt.datetime | None
    appointment_id: int | None
    package_id: int | None


class DeliveryOut(Schema):
    assignment_id: int
    title: str
    method: str
    delivered_at: dt.datetime


class PackageOut(Schema):
    id: int
    identifier: str
    sha256: str
    produced_at: dt.datetime
    produced_by: str


class ChecklistOut(Schema):
    encounter_id: int
    patient_id: int | None
    applies: bool = Field(
        description="False for visits that are not inpatient stays (or TCM) of a known patient"
    )
    decided: int
    total: int
    items: list[ChecklistItemOut]
    follow_up_appointment_ids: list[int] = Field(description="The patient's appointments after the discharge")
    education_delivered: list[DeliveryOut]
    packages: list[PackageOut] = Field(description="Records-transfer packages produced for this encounter")


class ChecklistItemIn(InputSchema):
    status: Literal["open", "done", "not_needed"]
    note: str = Field(default="", max_length=500, description="Required for not_needed")
    appointment_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="follow_up only")
    package_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="records only")


def _checklist_out(checklist: selectors.DischargeChecklist) -> dict[str, Any]:
    encounter = checklist.encounter
    return {
        "encounter_id": encounter.pk,
        "patient_id": encounter.patient_id,
        "applies": checklist.applies,
        "decided": checklist.decided,
        "total": checklist.total,
        "items": [
            {
                "item": row.code,
                "label": row.label,
                "status": row.status,
                "note": row.item.note if row.item else "",
                "decided_by": row.item.decided_by_name if row.item else "",
                "decided_at": row.item.decided_at if row.item else None,
                "appointment_id": row.item.appointment_id if row.item else None,
                "package_id": row.item.package_id if row.item else None,
            }
            for row in checklist.rows
        ],
        "follow_up_appointment_ids": [a.pk for a in checklist.appointments],
        "education_delivered": [
            {
                "assignment_id": d.assignment_id,
                "title": d.title,
                "method": d.method,
                "delivered_at": d.delivered_at,
            }
            for d in checklist.deliveries
        ],
        "packages": [
            {
                "id": p.pk,
                "identifier": p.identifier,
                "sha256": p.sha256,
                "produced_at": p.created_at,
                "produced_by": p.produced_by_name,
            }
            for p in checklist.packages
        ],
    }


@endpoint(
    "GET",
    "/encounters/{encounter_id}/discharge-checklist",
    Permission.ENCOUNTER_VIEW,
    response={200: ChecklistOut, **ERRORS},
    summary="An encounter's discharge-planning checklist",
    tags=TAGS,
)
def read_checklist(request: HttpRequest, encounter_id: EncounterId) -> Any:
    """Each item's status with who decided it and when, the follow-up appointments booked after the
    discharge, education delivered since the admission and the records packages produced. Audited."""
    return _checklist_out(
        selectors.get_discharge_checklist(actor=actor_of(request), encounter_id=encounter_id)
    )


@endpoint(
    "PUT",
    "/encounters/{encounter_id}/discharge-checklist/{item}",
    Permission.DISCHARGE_PLAN,
    response={200: ChecklistOut, **WRITE_ERRORS},
    summary="Tick a discharge-planning item",
    tags=TAGS,
)
def set_checklist_item(
    request: HttpRequest, encounter_id: EncounterId, item: ItemCode, payload: ChecklistItemIn
) -> Any:
    """Done, not needed (with a note saying why) or back to open. `follow_up` may name the patient's
    appointment, `records` the transfer package that went out. Answers the whole checklist."""
    actor = actor_of(request)
    services.set_checklist_item(
        actor=actor,
        encounter_id=encounter_id,
        item=item,
        status=payload.status,
        note=payload.note,
        appointment_id=payload.appointment_id,
        package_id=payload.package_id,
    )
    return _checklist_out(selectors.get_discharge_checklist(actor=actor, encounter_id=encounter_id))


# --- encounters and TCM ------------------------------------------------------------------------------

MAX_REPORT_DAYS = 366


class EncounterOut(Schema):
    id: int
    patient_id: int | None = Field(description="Empty while the encounter waits to be matched")
    matched: bool
    source: str = Field(description="The sender (MSH-3|MSH-4)")
    visit_number: str
    encounter_class: str
    status: str = Field(description="in_progress, finished (discharged) or cancelled")
    unit: str
    location: str
    facility: str
    admit_at: dt.datetime | None
    discharge_at: dt.datetime | None
    discharge_disposition: str
    discharge_disposition_text: str
    external_patient_id: str = Field(description="The sender's identifier for the patient")
    external_id_authority: str
    demographics: dict[str, Any] = Field(description="The patient as the sender named them")
    updated_at: dt.datetime


class EncounterPageOut(Schema):
    results: list[EncounterOut]
    page: int
    has_next: bool


class EncounterFilters(Schema):
    status: Literal["", "in_progress", "finished", "cancelled"] = ""
    unmatched: bool = Field(False, description="Only encounters still waiting for a patient (the ADT queue)")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=selectors.MAX_PAGE_SIZE)


class PatientEncounterFilters(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=selectors.MAX_PAGE_SIZE)


class EventOut(Schema):
    event_type: str = Field(description="A01 … A40, or link / tcm")
    occurred_at: dt.datetime
    summary: str


class ElementOut(Schema):
    due: dt.date
    outcome: str = Field(description="met, met_attempts, late, missed, pending or cancelled")
    done_on: dt.date | None
    task_id: int | None = Field(description="The worklist task that carries it")
    attempts: int


class EpisodeOut(Schema):
    id: int
    encounter_id: int
    patient_id: int
    discharge_date: dt.date
    complexity: str = Field(description="high (visit within 7 days) or moderate (within 14)")
    status: str = Field(description="active or cancelled")
    cancelled_reason: str
    contact_due: dt.date
    visit_due: dt.date
    period_end: dt.date = Field(description="The 30-day service period's last day")
    compliant: bool | None = Field(description="Contact and visit on time; null while pending or cancelled")
    contact: ElementOut = Field(description="Interactive contact within 2 business days")
    visit: ElementOut = Field(description="Face-to-face visit")
    med_rec: ElementOut = Field(description="Medication reconciliation, by the visit")


class EncounterDetailOut(EncounterOut):
    version: int
    events: list[EventOut] = Field(description="The timeline, oldest first")
    tcm_episodes: list[EpisodeOut]


class EpisodeListOut(Schema):
    results: list[EpisodeOut]


class ComplianceReportOut(Schema):
    discharged_from: dt.date
    discharged_to: dt.date
    total: int
    on_time: int
    not_on_time: int
    pending: int
    results: list[EpisodeOut]


class PeriodFilters(Schema):
    discharged_from: dt.date
    discharged_to: dt.date
    include_cancelled: bool = False

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.discharged_from > self.discharged_to:
            raise ValueError("The period starts after it ends.")
        if (self.discharged_to - self.discharged_from).days > MAX_REPORT_DAYS:
            raise ValueError("Report on at most a year at a time.")
        return self


class LinkIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID, description="The patient the encounter is about")


class ComplexityIn(InputSchema):
    complexity: Literal["high", "moderate"]


def _element(element: selectors.ElementStatus) -> dict[str, Any]:
    return {
        "due": element.due,
        "outcome": element.outcome,
        "done_on": element.done_on,
        "task_id": element.task_id,
        "attempts": element.attempts,
    }


def _episode_out(row: selectors.EpisodeCompliance) -> dict[str, Any]:
    episode = row.episode
    return {
        "id": episode.pk,
        "encounter_id": episode.encounter_id,
        "patient_id": episode.patient_id,
        "discharge_date": episode.discharge_date,
        "complexity": episode.complexity,
        "status": episode.status,
        "cancelled_reason": episode.cancelled_reason,
        "contact_due": episode.contact_due,
        "visit_due": episode.visit_due,
        "period_end": episode.period_end,
        "compliant": row.compliant,
        "contact": _element(row.contact),
        "visit": _element(row.visit),
        "med_rec": _element(row.med_rec),
    }


_ENCOUNTER_FIELDS = (
    "source",
    "visit_number",
    "encounter_class",
    "status",
    "unit",
    "location",
    "facility",
    "admit_at",
    "discharge_at",
    "discharge_disposition",
    "discharge_disposition_text",
    "external_patient_id",
    "external_id_authority",
    "demographics",
    "updated_at",
)


def _encounter_out(encounter: Encounter) -> dict[str, Any]:
    return {
        "id": encounter.pk,
        "patient_id": encounter.patient_id,
        "matched": encounter.patient_id is not None,
        **{name: getattr(encounter, name) for name in _ENCOUNTER_FIELDS},
    }


def _encounter_detail(request: HttpRequest, encounter_id: int) -> dict[str, Any]:
    detail = selectors.get_encounter(actor=actor_of(request), encounter_id=encounter_id)
    encounter = detail.encounter
    return {
        **_encounter_out(encounter),
        "version": encounter.version,
        "events": detail.events,
        "tcm_episodes": [_episode_out(row) for row in detail.episodes],
    }


@endpoint(
    "GET",
    "/encounters",
    Permission.ENCOUNTER_VIEW,
    response={200: EncounterPageOut, **ERRORS},
    summary="Encounters from the ADT feed",
    tags=TAGS,
)
def list_encounters(request: HttpRequest, filters: Query[EncounterFilters]) -> Any:
    """The organization's encounters, latest change first; `unmatched=true` is the queue of encounters
    waiting to be linked to a patient (each with the patient as the sender named them). Audited."""
    found = selectors.list_encounters(
        actor=actor_of(request),
        status=filters.status,
        unmatched_only=filters.unmatched,
        page=filters.page,
        page_size=filters.page_size,
    )
    return {
        "results": [_encounter_out(e) for e in found.encounters],
        "page": found.page,
        "has_next": found.has_next,
    }


@endpoint(
    "GET",
    "/patients/{patient_id}/encounters",
    Permission.ENCOUNTER_VIEW,
    also=OWN_RECORD,
    response={200: EncounterPageOut, **ERRORS},
    summary="A patient's encounters",
    tags=TAGS,
)
def list_patient_encounters(
    request: HttpRequest, patient_id: PatientId, paging: Query[PatientEncounterFilters]
) -> Any:
    """The patient's hospital and clinic visits, latest admission first (a portal user: their own
    record only). Audited."""
    shown, has_next = selectors.patient_encounters(
        actor=actor_of(request), patient_id=patient_id, page=paging.page, page_size=paging.page_size
    )
    return {"results": [_encounter_out(e) for e in shown], "page": paging.page, "has_next": has_next}


@endpoint(
    "GET",
    "/encounters/{encounter_id}",
    Permission.ENCOUNTER_VIEW,
    response={200: EncounterDetailOut, **ERRORS},
    summary="Read an encounter",
    tags=TAGS,
)
def read_encounter(request: HttpRequest, encounter_id: EncounterId) -> Any:
    """One encounter with its timeline (ADT events, linking, TCM) and its TCM episodes with their
    deadlines and outcomes. Audited."""
    return _encounter_detail(request, encounter_id)


@endpoint(
    "POST",
    "/encounters/{encounter_id}/patient",
    Permission.ENCOUNTER_MANAGE,
    response={200: EncounterDetailOut, **WRITE_ERRORS},
    summary="Link an unmatched encounter to a patient",
    tags=TAGS,
)
def link_patient(request: HttpRequest, encounter_id: EncounterId, payload: LinkIn) -> Any:
    """Say which patient an unmatched encounter is about: the sender's identifier is remembered, the
    sender's other unmatched visits of that identifier are linked too, the review tasks close, and a
    qualifying discharge starts TCM. 409 `encounter_already_linked` when it (or the identifier) is
    linked already."""
    services.link_encounter_patient(
        actor=actor_of(request), encounter_id=encounter_id, patient_id=payload.patient_id
    )
    return _encounter_detail(request, encounter_id)


@endpoint(
    "GET",
    "/tcm-episodes",
    Permission.ENCOUNTER_VIEW,
    response={200: EpisodeListOut, **ERRORS},
    summary="TCM episodes",
    tags=TAGS,
)
def list_tcm_episodes(request: HttpRequest, period: Query[PeriodFilters]) -> Any:
    """The TCM episodes of the discharges in the period (at most a year, latest discharge first, up to
    1,000), each with its deadlines and where contact, visit and medication reconciliation stand.
    Audited."""
    report = selectors.tcm_compliance(
        actor=actor_of(request),
        discharged_from=period.discharged_from,
        discharged_to=period.discharged_to,
        include_cancelled=period.include_cancelled,
    )
    return {"results": [_episode_out(row) for row in report.rows]}


@endpoint(
    "GET",
    "/tcm-episodes/{episode_id}",
    Permission.ENCOUNTER_VIEW,
    response={200: EpisodeOut, **ERRORS},
    summary="Read a TCM episode",
    tags=TAGS,
)
def read_tcm_episode(request: HttpRequest, episode_id: EpisodeId) -> Any:
    """Its deadlines and outcomes, with the worklist tasks that carry them (document a contact attempt
    with `POST /api/v1/tasks/{contact.task_id}/comments`, `"kind": "attempt"`). Audited."""
    return _episode_out(selectors.get_tcm_episode(actor=actor_of(request), episode_id=episode_id))


@endpoint(
    "PUT",
    "/tcm-episodes/{episode_id}/complexity",
    Permission.ENCOUNTER_MANAGE,
    response={200: EpisodeOut, **WRITE_ERRORS},
    summary="Change a TCM episode's complexity",
    tags=TAGS,
)
def set_tcm_complexity(request: HttpRequest, episode_id: EpisodeId, payload: ComplexityIn) -> Any:
    """High complexity: visit within 7 days (99496); moderate: within 14 (99495). Moves the visit and
    medication-reconciliation deadlines of the episode's open tasks."""
    actor = actor_of(request)
    services.set_tcm_complexity(actor=actor, episode_id=episode_id, complexity=payload.complexity)
    return _episode_out(selectors.get_tcm_episode(actor=actor, episode_id=episode_id))


@endpoint(
    "GET",
    "/reports/tcm-compliance",
    Permission.ENCOUNTER_VIEW,
    response={200: ComplianceReportOut, **ERRORS},
    summary="The TCM compliance report",
    tags=TAGS,
)
def tcm_compliance_report(request: HttpRequest, period: Query[PeriodFilters]) -> Any:
    """Per discharge in the period (at most a year): contact on time, visit on time, medications
    reconciled by the visit; with the totals on time, not on time and pending. Audited."""
    report = selectors.tcm_compliance(
        actor=actor_of(request),
        discharged_from=period.discharged_from,
        discharged_to=period.discharged_to,
        include_cancelled=period.include_cancelled,
    )
    return {
        "discharged_from": report.discharged_from,
        "discharged_to": report.discharged_to,
        "total": report.total,
        "on_time": report.on_time,
        "not_on_time": report.not_on_time,
        "pending": report.pending,
        "results": [_episode_out(row) for row in report.rows],
    }
