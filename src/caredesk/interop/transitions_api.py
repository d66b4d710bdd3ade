"""Discharge planning in the JSON API (/api/v1/...): an encounter's discharge checklist, and ticking one
of its items (done, not needed with a reason, or back to do).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Refusals answer like everywhere: 404 outside the
organization or for an unknown item, 409 `encounter_not_linked`, 400 with the field at fault.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import P, PathEx, Schema
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.transitions import selectors, services

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

EncounterId = PathEx[int, P(ge=1, le=MAX_ID, description="The encounter's id")]
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
