"""Chart entries -> FHIR R4 Condition, AllergyIntolerance, MedicationStatement, Observation (validated with
fhir.resources.R4B). Pure mapping. Only current entries are served; an entry that corrects an earlier one
says so (`amended` observations, the reason in a note)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from caredesk.patients.choices import EntryStatus, ObservationKind
from caredesk.patients.models import Allergy, ClinicalEntry, Medication, Observation, Problem

from .common import compact, instant

ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SYSTOLIC_LOINC = "8480-6"
DIASTOLIC_LOINC = "8462-4"
LABORATORY_KINDS = {ObservationKind.HBA1C, ObservationKind.LDL, ObservationKind.EGFR}


def _subject(patient_id: int) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _common(entry: ClinicalEntry) -> dict[str, Any]:
    return {"id": str(entry.pk), "meta": {"lastUpdated": instant(entry.updated_at)}}


def _supersedes(entry: ClinicalEntry) -> int | None:
    """The id of the entry this one corrected (the abstract self-reference defeats the stubs)."""
    value: int | None = getattr(entry, "supersedes_id", None)
    return value


def _note(entry: ClinicalEntry) -> list[dict[str, str]]:
    if _supersedes(entry) is not None and entry.change_reason:
        return [{"text": f"Corrected: {entry.change_reason}"}]
    return []


def _recorder(entry: ClinicalEntry) -> dict[str, str]:
    return {"display": entry.recorded_by_name}


def _entered_in_error(entry: ClinicalEntry) -> bool:
    return entry.status == EntryStatus.ENTERED_IN_ERROR


def _concept(system: str, code: str, display: str = "") -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def condition_to_fhir(problem: Problem) -> Condition:
    verification = "entered-in-error" if _entered_in_error(problem) else "confirmed"
    data: dict[str, Any] = {
        "resourceType": "Condition",
        **_common(problem),
        "clinicalStatus": None
        if _entered_in_error(problem)
        else _concept(CONDITION_CLINICAL, problem.clinical_status),
        "verificationStatus": _concept(CONDITION_VERIFICATION, verification),
        "category": [_concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": {**_concept(ICD10_CM, problem.icd10_code, problem.description), "text": problem.description},
        "subject": _subject(problem.patient_id),
        "onsetDateTime": problem.onset_date.isoformat() if problem.onset_date else None,
        "recordedDate": instant(problem.created_at),
        "recorder": _recorder(problem),
        "note": _note(problem),
    }
    return Condition.model_validate(compact(data))


def allergy_to_fhir(allergy: Allergy) -> AllergyIntolerance:
    verification = "entered-in-error" if _entered_in_error(allergy) else "confirmed"
    data: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        **_common(allergy),
        "clinicalStatus": None if _entered_in_error(allergy) else _concept(ALLERGY_CLINICAL, "active"),
        "verificationStatus": _concept(ALLERGY_VERIFICATION, verification),
        "criticality": allergy.criticality,
        "code": {"text": allergy.substance},
        "patient": _subject(allergy.patient_id),
        "recordedDate": instant(allergy.created_at),
        "recorder": _recorder(allergy),
        "reaction": [{"manifestation": [{"text": allergy.reaction}]}] if allergy.reaction else [],
        "note": _note(allergy),
    }
    return AllergyIntolerance.model_validate(compact(data))


def medication_to_fhir(medication: Medication) -> MedicationStatement:
    if _entered_in_error(medication):
        status = "entered-in-error"
    elif medication.end_date is not None:
        status = "completed"
    else:
        status = "active"
    coding = [{"system": RXNORM, "code": medication.rxnorm_code}] if medication.rxnorm_code else []
    dosage_text = " ".join(part for part in (medication.dose, medication.route, medication.frequency) if part)
    data: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        **_common(medication),
        "status": status,
        "medicationCodeableConcept": {"coding": coding, "text": medication.name},
        "subject": _subject(medication.patient_id),
        "effectivePeriod": {
            "start": medication.start_date.isoformat() if medication.start_date else None,
            "end": medication.end_date.isoformat() if medication.end_date else None,
        },
        "dateAsserted": instant(medication.created_at),
        "informationSource": _recorder(medication),
        "dosage": [{"text": dosage_text, "route": {"text": medication.route}}] if dosage_text else [],
        "note": _note(medication),
    }
    return MedicationStatement.model_validate(compact(data))


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def observation_to_fhir(observation: Observation) -> FhirObservation:
    if _entered_in_error(observation):
        status = "entered-in-error"
    elif _supersedes(observation) is not None:
        status = "amended"
    else:
        status = "final"
    label = ObservationKind(observation.kind).label if observation.kind in ObservationKind.values else ""
    category = "laboratory" if observation.kind in LABORATORY_KINDS else "vital-signs"
    data: dict[str, Any] = {
        "resourceType": "Observation",
        **_common(observation),
        "status": status,
        "category": [_concept(OBSERVATION_CATEGORY, category)],
        "code": {**_concept(LOINC, observation.loinc_code, label), "text": label},
        "subject": _subject(observation.patient_id),
        "effectiveDateTime": instant(observation.effective_at),
        "issued": instant(observation.created_at),
        "performer": [_recorder(observation)],
        "note": _note(observation),
    }
    if observation.value2 is not None:  # blood pressure: systolic and diastolic as components
        data["component"] = [
            {
                "code": _concept(LOINC, SYSTOLIC_LOINC, "Systolic blood pressure"),
                "valueQuantity": _quantity(observation.value, observation.unit),
            },
            {
                "code": _concept(LOINC, DIASTOLIC_LOINC, "Diastolic blood pressure"),
                "valueQuantity": _quantity(observation.value2, observation.unit),
            },
        ]
    else:
        data["valueQuantity"] = _quantity(observation.value, observation.unit)
    return FhirObservation.model_validate(compact(data))


# FHIR resource type -> (our entry type, mapping)
CLINICAL_RESOURCES: dict[str, tuple[str, Callable[[Any], FHIRAbstractModel]]] = {
    "Condition": ("problem", condition_to_fhir),
    "AllergyIntolerance": ("allergy", allergy_to_fhir),
    "MedicationStatement": ("medication", medication_to_fhir),
    "Observation": ("observation", observation_to_fhir),
}
