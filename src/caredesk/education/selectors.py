"""Read queries of patient education, restricted to the actor's organization.

The library is no patient data (not audited). A patient's materials are: EDUCATION_VIEW with the patient
and the assignment ids shown; a handout opened (printable page, portal, file) EDUCATION_HANDOUT_VIEW. A
portal user sees only materials shared with them in the portal, and only their own. Anything outside the
scope answers NotFound, exactly like something that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import NotFound
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound

from . import rules
from .choices import DeliveryMethod, ReadingLevel
from .errors import AssignmentNotFound, MaterialNotFound
from .models import Assignment, Delivery, Material

MAX_LIST = 200
#: Easiest to read first when a care plan picks a handout.
READING_ORDER = {level: i for i, level in enumerate(ReadingLevel.values)}


def parse_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


# --- the library ------------------------------------------------------------------------------------


def material_queryset(actor: Actor) -> QuerySet[Material]:
    if actor.organization_id is None or not actor.has(Permission.EDUCATION_VIEW):
        return Material.objects.none()
    return Material.objects.filter(organization_id=actor.organization_id)


@dataclass(frozen=True)
class LibraryQuery:
    text: str = ""
    code: str = ""  # an ICD-10-CM code: materials whose prefixes it starts with; or a procedure code
    language: str = ""
    reading_level: str = ""
    include_inactive: bool = False


def list_materials(*, actor: Actor, query: LibraryQuery | None = None) -> list[Material]:
    """The library, by title, narrowed by text (title or source), code, language and reading level."""
    query = query or LibraryQuery()
    materials = material_queryset(actor)
    if not query.include_inactive:
        materials = materials.filter(active=True)
    if query.text.strip():
        words = query.text.strip()
        materials = materials.filter(Q(title__icontains=words) | Q(source__icontains=words))
    if query.language:
        materials = materials.filter(language=query.language)
    if query.reading_level:
        materials = materials.filter(reading_level=query.reading_level)
    rows = list(materials.order_by("title", "language", "pk")[: MAX_LIST * 5])
    if query.code.strip():
        code = query.code.strip().upper()
        rows = [m for m in rows if rules.fits(m.condition_codes, [code]) or code in m.procedure_codes]
    return rows[:MAX_LIST]


def get_material(*, actor: Actor, material_id: int) -> Material:
    pk = parse_id(material_id)
    material = None if pk is None else material_queryset(actor).filter(pk=pk).first()
    if material is None:
        raise MaterialNotFound(f"No material with id {material_id}.", details={"id": str(material_id)})
    return material


def best_material(
    *,
    organization_id: int,
    condition_codes: list[str],
    language: str,
) -> Material | None:
    """The active material that fits these conditions, in the patient's language if there is one (else
    English); the easiest to read first. Not audited: no patient data."""
    candidates = [
        m
        for m in Material.objects.filter(organization_id=organization_id, active=True).order_by("pk")
        if rules.fits(m.condition_codes, condition_codes)
    ]
    languages = rules.language_order(language, sorted({m.language for m in candidates}))
    if not languages:
        return None
    in_language = [m for m in candidates if m.language == languages[0]]
    return min(in_language, key=lambda m: (READING_ORDER.get(m.reading_level, len(READING_ORDER)), m.pk))


# --- a patient's materials --------------------------------------------------------------------------


def _assignments(patient_id: int) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(patient_id=patient_id)
        .select_related("material")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("delivered_at", "pk")))
        .order_by("-created_at", "-pk")
    )


@dataclass
class PatientEducation:
    patient: Any  # patients.Patient
    assignments: list[Assignment]
    suggestions: list[Material] = field(default_factory=list)
    library: list[Material] = field(default_factory=list)


def patient_education(*, actor: Actor, patient_id: int) -> PatientEducation:
    """A patient's assigned materials with their deliveries; for staff who may assign, the library and the
    materials that fit the patient's current problems (in their language) not yet assigned. Audited."""
    if not actor.has(Permission.EDUCATION_VIEW):
        raise PatientNotFound(f"No patient with id {patient_id}.")
    with transaction.atomic():
        patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="education")
        assignments = list(_assignments(patient.pk))
        audit.record(
            actor=actor,
            action=AuditAction.EDUCATION_VIEW,
            patient_id=patient.pk,
            obj=patient,
            detail={"assignment_ids": [a.pk for a in assignments]},
        )
    result = PatientEducation(patient=patient, assignments=assignments)
    if actor.has(Permission.EDUCATION_ASSIGN):
        assigned = {a.material_id for a in assignments}
        result.library = [m for m in list_materials(actor=actor) if m.pk not in assigned]
        codes: list[str] = []
        if actor.has(Permission.CLINICAL_VIEW):
            problems = patient_selectors.list_entries(
                actor=actor, patient_id=patient.pk, entry_type="problem", page_size=100
            ).results
            codes = [p.icd10_code for p in problems if p.clinical_status == "active"]
        languages = rules.language_order(patient.preferred_language, [m.language for m in result.library])
        result.suggestions = [
            m
            for m in result.library
            if rules.fits(m.condition_codes, codes) and (not languages or m.language in languages)
        ]
    return result


@dataclass(frozen=True)
class DeliveredMaterial:
    assignment_id: int
    title: str
    method: str
    method_label: str
    delivered_at: dt.datetime
    delivered_by_name: str


def deliveries_since(*, actor: Actor, patient_id: int, since: dt.datetime | None) -> list[DeliveredMaterial]:
    """Materials delivered to the patient since `since` (all when None), newest first: what a discharge
    checklist shows under "education given". Audited EDUCATION_VIEW; empty without EDUCATION_VIEW."""
    if not actor.has(Permission.EDUCATION_VIEW) or actor.organization_id is None:
        return []
    deliveries = Delivery.objects.filter(
        assignment__patient_id=patient_id, assignment__organization_id=actor.organization_id
    ).select_related("assignment__material")
    if since is not None:
        deliveries = deliveries.filter(delivered_at__gte=since)
    with transaction.atomic():
        rows = list(deliveries.order_by("-delivered_at", "-pk")[:50])
        audit.record(
            actor=actor,
            action=AuditAction.EDUCATION_VIEW,
            patient_id=patient_id,
            object_type="education.delivery",
            detail={"delivery_ids": [d.pk for d in rows], "since": since.isoformat() if since else None},
        )
    return [
        DeliveredMaterial(
            assignment_id=d.assignment_id,
            title=d.assignment.material.title,
            method=d.method,
            method_label=d.get_method_display(),
            delivered_at=d.delivered_at,
            delivered_by_name=d.delivered_by_name,
        )
        for d in rows
    ]


def _assignment_queryset(actor: Actor) -> QuerySet[Assignment]:
    if actor.organization_id is None:
        return Assignment.objects.none()
    assignments = Assignment.objects.filter(organization_id=actor.organization_id)
    if actor.is_portal:
        if not actor.has(Permission.PORTAL_OWN_RECORD):
            return Assignment.objects.none()
        # A portal user sees what was shared with them in the portal, and nothing else.
        return assignments.filter(
            patient_id=actor.patient_id or 0, deliveries__method=DeliveryMethod.PORTAL
        ).distinct()
    if not actor.has(Permission.EDUCATION_VIEW):
        return Assignment.objects.none()
    return assignments


def assignment_for_write(actor: Actor, assignment_id: Any) -> Assignment:
    """The assignment, locked, for a use case (not audited: the use case is)."""
    pk = parse_id(assignment_id)
    found = (
        None
        if pk is None or actor.is_portal
        else _assignment_queryset(actor).select_for_update().filter(pk=pk).first()
    )
    if found is None:
        raise AssignmentNotFound(
            f"No assignment with id {assignment_id}.", details={"id": str(assignment_id)}
        )
    return found


def assignment_patient_id(*, actor: Actor, assignment_id: int) -> int:
    """The patient an assignment belongs to (not audited: it shows nothing); NotFound outside the scope."""
    pk = parse_id(assignment_id)
    found = (
        None
        if pk is None or actor.is_portal
        else _assignment_queryset(actor).filter(pk=pk).values_list("patient_id", flat=True).first()
    )
    if found is None:
        raise AssignmentNotFound(
            f"No assignment with id {assignment_id}.", details={"id": str(assignment_id)}
        )
    return found


def open_handout(*, actor: Actor, assignment_id: int, what: str = "handout") -> Assignment:
    """One assigned material to read or print, with its patient: EDUCATION_HANDOUT_VIEW."""
    pk = parse_id(assignment_id)
    with transaction.atomic():
        assignment = (
            None
            if pk is None
            else _assignment_queryset(actor).select_related("material", "patient").filter(pk=pk).first()
        )
        if assignment is None:
            raise AssignmentNotFound(
                f"No assignment with id {assignment_id}.", details={"id": str(assignment_id)}
            )
        audit.record(
            actor=actor,
            action=AuditAction.EDUCATION_HANDOUT_VIEW,
            patient_id=assignment.patient_id,
            obj=assignment,
            detail={"material_id": assignment.material_id, "view": what},
        )
    return assignment


def portal_materials(*, actor: Actor) -> list[Assignment]:
    """A portal user's materials shared in the portal, newest first. Audited EDUCATION_VIEW."""
    if not actor.is_portal or actor.patient_id is None:
        raise NotFound("No patient record is linked to this account.")
    with transaction.atomic():
        assignments = list(
            _assignment_queryset(actor).select_related("material").order_by("-created_at", "-pk")[:MAX_LIST]
        )
        audit.record(
            actor=actor,
            action=AuditAction.EDUCATION_VIEW,
            patient_id=actor.patient_id,
            object_type="education.assignment",
            detail={"portal": True, "assignment_ids": [a.pk for a in assignments]},
        )
    return assignments
