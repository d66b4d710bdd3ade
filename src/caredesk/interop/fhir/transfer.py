"""The records-transfer package: a FHIR R4 document Bundle for one encounter, served at
`GET /fhir/Encounter/{id}/$document` (validated with fhir.resources.R4B).

The Bundle (type `document`, an identifier and a timestamp) starts with a Composition (LOINC 18761-7
transfer summary note) whose sections list, with a generated narrative each, the patient's problems
(11450-4), medications (10160-0), allergies (48765-2), this stay and the recent encounters (46240-8), the
care plans (18776-5) and the follow-up appointments; the Patient and every resource a section names follow
as entries (fullUrl: the resource's URL on this server; the Composition's: a urn:uuid). Producing a
document is remembered by transitions (`record_transfer_package`: identifier, SHA-256, what each section
held), so the discharge checklist's "records sent" can name the package that went out.

`Encounter/[id]/$document` is ours: FHIR defines `$document` on Composition, and Caredesk keeps no stored
Compositions, so the operation assembles a fresh one from the encounter each time it is asked.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.careplans import selectors as careplan_selectors
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, NotFound
from caredesk.patients import rules as patient_rules
from caredesk.transitions import selectors as transitions_selectors
from caredesk.transitions import services as transitions_services

from .careplan import careplan_to_fhir
from .clinical import allergy_to_fhir, condition_to_fhir, medication_to_fhir
from .common import compact, instant
from .http import base_url, fhir_response, operation
from .outcomes import FhirError
from .patient import PatientRecord, patient_to_fhir

LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/v2-0112"
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
URN_URI = "urn:ietf:rfc:3986"
XHTML = "http://www.w3.org/1999/xhtml"
MAX_ID = 2**63 - 1
ENCOUNTER_CLASS = {"inpatient": "IMP", "emergency": "EMER", "outpatient": "AMB", "preadmit": "PRENC"}
ENCOUNTER_STATUS = {"in_progress": "in-progress", "finished": "finished", "cancelled": "cancelled"}
APPOINTMENT_STATUS = {
    "proposed": "proposed",
    "booked": "booked",
    "confirmed": "booked",
    "arrived": "arrived",
    "in_progress": "checked-in",
    "fulfilled": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
}


# --- pure mappings --------------------------------------------------------------------------------------


def encounter_to_fhir(encounter: Any) -> FhirEncounter:
    """An encounter as the ADT feed reported it (class in v3 ActCode, disposition in HL7 table 0112)."""
    disposition = None
    if encounter.discharge_disposition or encounter.discharge_disposition_text:
        disposition = {
            "coding": [{"system": DISCHARGE_DISPOSITION, "code": encounter.discharge_disposition}]
            if encounter.discharge_disposition
            else [],
            "text": encounter.discharge_disposition_text,
        }
    data: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(encounter.pk),
        "meta": {"lastUpdated": instant(encounter.updated_at), "versionId": str(encounter.version)},
        "identifier": [{"value": encounter.visit_number}],
        "status": ENCOUNTER_STATUS.get(encounter.status, "unknown"),
        "class": {
            "system": ACT_CODE,
            "code": ENCOUNTER_CLASS.get(encounter.encounter_class, "AMB"),
            "display": encounter.get_encounter_class_display(),
        },
        "subject": {"reference": f"Patient/{encounter.patient_id}"} if encounter.patient_id else None,
        "period": {
            "start": instant(encounter.admit_at) if encounter.admit_at else None,
            "end": instant(encounter.discharge_at) if encounter.discharge_at else None,
        },
        "hospitalization": {"dischargeDisposition": disposition} if disposition else None,
        "location": [{"location": {"display": encounter.location}}] if encounter.location else [],
        "serviceProvider": {"display": encounter.facility or encounter.source},
    }
    return FhirEncounter.model_validate(compact(data))


def appointment_to_fhir(appointment: Any) -> FhirAppointment:
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": APPOINTMENT_STATUS.get(appointment.status, "booked"),
        "serviceType": [{"text": appointment.visit_type.name}],
        "description": f"{appointment.visit_type.name} at {appointment.location.name}",
        "start": instant(appointment.starts_at),
        "end": instant(appointment.ends_at),
        "participant": [
            {"actor": {"reference": f"Patient/{appointment.patient_id}"}, "status": "accepted"},
            {"actor": {"display": appointment.location.name}, "status": "accepted"},
        ],
    }
    return FhirAppointment.model_validate(compact(data))


@dataclass(frozen=True)
class Section:
    title: str
    code: str  # LOINC, or "" for a section named by its title only
    resources: Sequence[FHIRAbstractModel]
    lines: Sequence[str]  # the narrative, one line per entry


def _narrative(lines: Sequence[str], empty: str) -> dict[str, str]:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = f"<ul>{items}</ul>" if lines else f"<p>{html.escape(empty)}</p>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _reference(resource: FHIRAbstractModel) -> dict[str, str]:
    return {"reference": f"{resource.get_resource_type()}/{resource.id}"}  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Document:
    bundle: Bundle
    identifier: str
    sha256: str
    sections: dict[str, int]


def transfer_document(
    *,
    patient: FHIRAbstractModel,
    encounter: FHIRAbstractModel,
    sections: Sequence[Section],
    title: str,
    author: str,
    resource_url: str,
    document_id: uuid.UUID | None = None,
) -> Document:
    """The document Bundle: the Composition first, then the Patient, the encounter and each section's
    resources once (fullUrl `resource_url/Type/id`). Validated; its SHA-256 over the JSON served."""
    document_id = document_id or uuid.uuid4()
    composition_id = uuid.uuid5(document_id, "composition")
    now = timezone.now()
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": str(composition_id),
        "identifier": {"system": URN_URI, "value": f"urn:uuid:{document_id}"},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "18761-7", "display": "Transfer summary note"}]},
        "subject": _reference(patient),
        "encounter": _reference(encounter),
        "date": instant(now),
        "author": [{"display": author}],
        "title": title,
        "custodian": {"display": author},
        "section": [
            {
                "title": section.title,
                "code": {"coding": [{"system": LOINC, "code": section.code}], "text": section.title}
                if section.code
                else {"text": section.title},
                "text": _narrative(section.lines, "None recorded."),
                "entry": [_reference(r) for r in section.resources],
                "emptyReason": None
                if section.resources
                else {"coding": [{"system": EMPTY_REASON, "code": "nilknown", "display": "Nil Known"}]},
            }
            for section in sections
        ],
    }
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{composition_id}",
            "resource": Composition.model_validate(compact(composition)),
        }
    ]
    seen: set[str] = set()
    for resource in [patient, encounter, *(r for s in sections for r in s.resources)]:
        key = f"{resource.get_resource_type()}/{resource.id}"  # type: ignore[attr-defined]
        if key not in seen:
            seen.add(key)
            entries.append({"fullUrl": f"{resource_url}/{key}", "resource": resource})
    identifier = f"urn:uuid:{document_id}"
    data = {
        "resourceType": "Bundle",
        "identifier": {"system": URN_URI, "value": identifier},
        "type": "document",
        "timestamp": instant(now),
        "entry": entries,
    }
    bundle = Bundle.model_validate(compact(data))
    digest = hashlib.sha256(bundle.model_dump_json(exclude_comments=True).encode()).hexdigest()
    return Document(bundle, identifier, digest, {s.title: len(s.resources) for s in sections})


# --- the operation --------------------------------------------------------------------------------------


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _encounter_line(encounter: Any) -> str:
    where = f"{encounter.get_encounter_class_display()} at {encounter.facility or encounter.source}"
    if encounter.admit_at and encounter.discharge_at:
        return f"{where}: {encounter.admit_at:%Y-%m-%d} to {encounter.discharge_at:%Y-%m-%d}"
    return f"{where}, {encounter.get_status_display()}"


def _care_plans(actor: Actor, patient_id: int) -> list[Any]:
    if not actor.has(Permission.CAREPLAN_VIEW):
        return []
    try:
        return [
            careplan_to_fhir(v)
            for v in careplan_selectors.patient_plans(actor=actor, patient_id=patient_id).plans
        ]
    except (NotFound, Forbidden):
        return []


@operation(
    "GET",
    "/Encounter/{entry_id}/$document",
    Permission.ENCOUNTER_VIEW,
    summary="Records-transfer document (Bundle) for an encounter",
)
def encounter_document(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """(`entry_id`: the URL keyword every FHIR read uses.)"""
    actor = _actor(actor)
    if not (entry_id.isascii() and entry_id.isdigit() and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No Encounter with id {entry_id!r}.")
    summary = transitions_selectors.transfer_summary(
        actor=actor, encounter_id=int(entry_id), with_care_plans=False
    )
    chart = summary.chart
    organization = Organization.objects.filter(pk=actor.organization_id or 0).first()
    short_code = organization.short_code if organization else ""
    patient = patient_to_fhir(
        PatientRecord(
            patient=chart.patient,
            telecoms=chart.telecoms,
            identifiers=chart.identifiers,
            related_persons=chart.related_persons,
            mrn_system=patient_rules.mrn_system(short_code),
        )
    )
    encounters = [encounter_to_fhir(e) for e in summary.encounters]
    this_stay = encounter_to_fhir(summary.encounter)
    if not any(e.id == this_stay.id for e in encounters):
        encounters.insert(0, this_stay)
    plans = _care_plans(actor, chart.patient.pk)
    sections = [
        Section(
            "Problems",
            "11450-4",
            [condition_to_fhir(p) for p in chart.problems],
            [f"{p.description} ({p.icd10_code}), {p.clinical_status}" for p in chart.problems],
        ),
        Section(
            "Medications",
            "10160-0",
            [medication_to_fhir(m) for m in chart.medications],
            [" ".join(x for x in (m.name, m.dose, m.route, m.frequency) if x) for m in chart.medications],
        ),
        Section(
            "Allergies and intolerances",
            "48765-2",
            [allergy_to_fhir(a) for a in chart.allergies],
            [f"{a.substance}: {a.reaction}" if a.reaction else a.substance for a in chart.allergies],
        ),
        Section(
            "Encounters and discharge",
            "46240-8",
            encounters,
            [_encounter_line(e) for e in summary.encounters],
        ),
        Section("Care plan", "18776-5", plans, [str(p.title) for p in plans]),
        Section(
            "Follow-up appointments",
            "",
            [appointment_to_fhir(a) for a in summary.follow_ups],
            [
                f"{a.starts_at:%Y-%m-%d %H:%M} {a.visit_type.name} at {a.location.name}"
                for a in summary.follow_ups
            ],
        ),
    ]
    author = organization.name if organization else "Caredesk"
    where = summary.encounter.facility or summary.encounter.source
    title = f"Transfer summary: {chart.patient.full_name}, {where}"
    document = transfer_document(
        patient=patient,
        encounter=this_stay,
        sections=sections,
        title=title,
        author=author,
        resource_url=base_url(request),
    )
    transitions_services.record_transfer_package(
        actor=actor,
        encounter_id=summary.encounter.pk,
        identifier=document.identifier,
        sha256=document.sha256,
        sections=document.sections,
    )
    return fhir_response(document.bundle)
