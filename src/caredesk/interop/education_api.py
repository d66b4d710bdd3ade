"""Patient education in the JSON API (/api/v1/...): the materials library, a patient's materials with their
deliveries, assigning a material, and recording a delivery (printed, portal, e-mail).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Refusals answer like everywhere: 404 outside the
organization, 409 `education_already_assigned`, 400 `education_cannot_deliver` (no address, no consent).

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.education import selectors, services
from caredesk.education.models import Assignment, Delivery, Material

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
AssignmentId = PathEx[int, P(ge=1, le=MAX_ID, description="The assignment's id")]
TAGS = ["patient education"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class MaterialOut(Schema):
    id: int
    title: str
    condition_codes: list[str] = Field(description="ICD-10-CM codes or prefixes, without the dot")
    procedure_codes: list[str]
    language: str
    reading_level: str
    source: str
    has_file: bool
    body: str


class MaterialListOut(Schema):
    results: list[MaterialOut]


class LibraryFilters(Schema):
    q: str = Field(default="", max_length=100, description="Title or source contains")
    code: str = Field(default="", max_length=10, description="An ICD-10-CM or procedure code")
    language: str = Field(default="", max_length=12)
    reading_level: str = Field(default="", max_length=10)


class DeliveryOut(Schema):
    id: int
    method: str = Field(description="printed, portal or email")
    delivered_at: dt.datetime
    delivered_by: str
    email_to: str
    note: str


class AssignmentOut(Schema):
    id: int
    patient_id: int
    material_id: int
    title: str
    source: str = Field(description="manual or care_plan")
    source_ref: str
    assigned_by: str
    assigned_at: dt.datetime
    note: str
    deliveries: list[DeliveryOut]


class AssignmentListOut(Schema):
    results: list[AssignmentOut]


class AssignIn(InputSchema):
    material_id: int = Field(ge=1, le=MAX_ID)
    note: str = Field(default="", max_length=300)


class DeliveryIn(InputSchema):
    method: Literal["printed", "portal", "email"]
    note: str = Field(default="", max_length=300)


def _material_out(material: Material) -> dict[str, Any]:
    return {
        "id": material.pk,
        "title": material.title,
        "condition_codes": list(material.condition_codes),
        "procedure_codes": list(material.procedure_codes),
        "language": material.language,
        "reading_level": material.reading_level,
        "source": material.source,
        "has_file": bool(material.file),
        "body": material.body,
    }


def _delivery_out(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "method": delivery.method,
        "delivered_at": delivery.delivered_at,
        "delivered_by": delivery.delivered_by_name,
        "email_to": delivery.email_to,
        "note": delivery.note,
    }


def _assignment_out(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.pk,
        "patient_id": assignment.patient_id,
        "material_id": assignment.material_id,
        "title": assignment.material.title,
        "source": assignment.source,
        "source_ref": assignment.source_ref,
        "assigned_by": assignment.assigned_by_name,
        "assigned_at": assignment.created_at,
        "note": assignment.note,
        "deliveries": [_delivery_out(d) for d in assignment.deliveries.all()],
    }


@endpoint(
    "GET",
    "/education/materials",
    Permission.EDUCATION_VIEW,
    response={200: MaterialListOut, **ERRORS},
    summary="The patient-education library",
    tags=TAGS,
)
def list_materials(request: HttpRequest, filters: Query[LibraryFilters]) -> Any:
    """Active materials by title; narrowed by text, a code (a material written for E11 fits E11.9),
    language and reading level."""
    query = selectors.LibraryQuery(
        text=filters.q, code=filters.code, language=filters.language, reading_level=filters.reading_level
    )
    return {
        "results": [_material_out(m) for m in selectors.list_materials(actor=actor_of(request), query=query)]
    }


@endpoint(
    "GET",
    "/patients/{patient_id}/education",
    Permission.EDUCATION_VIEW,
    response={200: AssignmentListOut, **ERRORS},
    summary="A patient's education materials",
    tags=TAGS,
)
def list_patient_education(request: HttpRequest, patient_id: PatientId) -> Any:
    """The materials assigned to the patient, newest first, each with its deliveries. Audited."""
    found = selectors.patient_education(actor=actor_of(request), patient_id=patient_id)
    return {"results": [_assignment_out(a) for a in found.assignments]}


@endpoint(
    "POST",
    "/patients/{patient_id}/education",
    Permission.EDUCATION_ASSIGN,
    response={201: AssignmentOut, **WRITE_ERRORS},
    summary="Assign a material to a patient",
    tags=TAGS,
)
def assign_material(request: HttpRequest, patient_id: PatientId, payload: AssignIn) -> Any:
    """Once per patient and material (409 `education_already_assigned`)."""
    assignment = services.assign_material(
        actor=actor_of(request), patient_id=patient_id, material_id=payload.material_id, note=payload.note
    )
    return Status(201, _assignment_out(assignment))


@endpoint(
    "POST",
    "/education/assignments/{assignment_id}/deliveries",
    Permission.EDUCATION_ASSIGN,
    response={201: DeliveryOut, **WRITE_ERRORS},
    summary="Record a delivery of an assigned material",
    tags=TAGS,
)
def record_delivery(request: HttpRequest, assignment_id: AssignmentId, payload: DeliveryIn) -> Any:
    """Printed, shared in the portal (the patient then sees it there), or e-mailed to the patient's address
    (400 `education_cannot_deliver` without an address or e-mail consent)."""
    delivery = services.record_delivery(
        actor=actor_of(request), assignment_id=assignment_id, method=payload.method, note=payload.note
    )
    return Status(201, _delivery_out(delivery))
