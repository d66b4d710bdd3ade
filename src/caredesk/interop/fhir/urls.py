"""FHIR R4 URLs, included under /fhir/ by interop.urls."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from . import (
    billing,
    careplan,
    careteam,
    communication,
    coverage,
    document_reference,
    eligibility,
    encounter,
    goal,
    practitioner_role,
    scheduling,
    service_request,
    supply,
    task,
    transfer,
    views,
)
from .http import fhir_view, unknown_path

urlpatterns: list[URLPattern] = [
    path("metadata", fhir_view(views.metadata), name="fhir-metadata"),
    path("Patient", fhir_view(views.search_patients, views.create_patient), name="fhir-patient-type"),
    path("Patient/_search", fhir_view(views.search_patients_post), name="fhir-patient-search"),
    path("Patient/<str:patient_id>", fhir_view(views.read_patient), name="fhir-patient"),
    path("Practitioner", fhir_view(views.search_practitioners), name="fhir-practitioner-type"),
    path("Practitioner/<str:practitioner_id>", fhir_view(views.read_practitioner), name="fhir-practitioner"),
    path(
        "PractitionerRole",
        fhir_view(practitioner_role.search_practitioner_roles),
        name="fhir-practitionerrole-type",
    ),
    path(
        "PractitionerRole/<str:entry_id>",
        fhir_view(practitioner_role.read_practitioner_role),
        name="fhir-practitionerrole",
    ),
    path("Coverage", fhir_view(coverage.search_coverages), name="fhir-coverage-type"),
    path("Coverage/<str:entry_id>", fhir_view(coverage.read_coverage), name="fhir-coverage"),
    path("CarePlan", fhir_view(careplan.search_careplans), name="fhir-careplan-type"),
    path("CarePlan/<str:entry_id>", fhir_view(careplan.read_careplan), name="fhir-careplan"),
    path(
        "Encounter/<str:entry_id>/$document",
        fhir_view(transfer.encounter_document),
        name="fhir-encounter-document",
    ),
    path("Schedule", fhir_view(scheduling.search_schedules), name="fhir-schedule-type"),
    path("Schedule/<str:entry_id>", fhir_view(scheduling.read_schedule), name="fhir-schedule"),
    path("Slot", fhir_view(scheduling.search_slots), name="fhir-slot-type"),
    path(
        "Appointment",
        fhir_view(scheduling.search_appointments, scheduling.create_appointment),
        name="fhir-appointment-type",
    ),
    path(
        "Appointment/<str:entry_id>",
        fhir_view(scheduling.read_appointment, scheduling.update_appointment),
        name="fhir-appointment",
    ),
    path("SupplyRequest", fhir_view(supply.search_supply_requests), name="fhir-supplyrequest-type"),
    path("SupplyRequest/<str:entry_id>", fhir_view(supply.read_supply_request), name="fhir-supplyrequest"),
    path("SupplyDelivery", fhir_view(supply.search_supply_deliveries), name="fhir-supplydelivery-type"),
    path("SupplyDelivery/<str:entry_id>", fhir_view(supply.read_supply_delivery), name="fhir-supplydelivery"),
    path("Goal", fhir_view(goal.search_goals, goal.create_goal), name="fhir-goal-type"),
    path("Goal/<str:entry_id>", fhir_view(goal.read_goal), name="fhir-goal"),
    path("CareTeam", fhir_view(careteam.search_careteams), name="fhir-careteam-type"),
    path("CareTeam/<str:entry_id>", fhir_view(careteam.read_careteam), name="fhir-careteam"),
    path("Encounter", fhir_view(encounter.search_encounters), name="fhir-encounter-type"),
    path("Encounter/<str:entry_id>", fhir_view(encounter.read_encounter), name="fhir-encounter"),
    path(
        "DocumentReference",
        fhir_view(document_reference.search_document_references),
        name="fhir-documentreference-type",
    ),
    path(
        "DocumentReference/<str:entry_id>",
        fhir_view(document_reference.read_document_reference),
        name="fhir-documentreference",
    ),
    path("Binary/<str:entry_id>", fhir_view(document_reference.read_binary), name="fhir-binary"),
    path(
        "ServiceRequest",
        fhir_view(service_request.search_service_requests, service_request.create_service_request),
        name="fhir-servicerequest-type",
    ),
    path(
        "ServiceRequest/<str:entry_id>",
        fhir_view(service_request.read_service_request),
        name="fhir-servicerequest",
    ),
    path("Task", fhir_view(task.search_tasks, task.create_task), name="fhir-task-type"),
    path("Task/<str:entry_id>", fhir_view(task.read_task, task.update_task), name="fhir-task"),
    path(
        "Communication",
        fhir_view(communication.search_communications, communication.create_communication),
        name="fhir-communication-type",
    ),
    path(
        "Communication/<str:entry_id>",
        fhir_view(communication.read_communication),
        name="fhir-communication",
    ),
    path(
        "CoverageEligibilityRequest",
        fhir_view(eligibility.search_requests),
        name="fhir-coverageeligibilityrequest-type",
    ),
    path(
        "CoverageEligibilityRequest/<str:entry_id>",
        fhir_view(eligibility.read_request),
        name="fhir-coverageeligibilityrequest",
    ),
    path(
        "CoverageEligibilityResponse",
        fhir_view(eligibility.search_responses),
        name="fhir-coverageeligibilityresponse-type",
    ),
    path(
        "CoverageEligibilityResponse/<str:entry_id>",
        fhir_view(eligibility.read_response),
        name="fhir-coverageeligibilityresponse",
    ),
    path("Claim", fhir_view(billing.search_claims), name="fhir-claim-type"),
    path("Claim/<str:entry_id>", fhir_view(billing.read_claim), name="fhir-claim"),
    path("ClaimResponse", fhir_view(billing.search_claim_responses), name="fhir-claimresponse-type"),
    path("ClaimResponse/<str:entry_id>", fhir_view(billing.read_claim_response), name="fhir-claimresponse"),
    path("ExplanationOfBenefit", fhir_view(billing.search_eobs), name="fhir-explanationofbenefit-type"),
    path(
        "ExplanationOfBenefit/<str:entry_id>",
        fhir_view(billing.read_eob),
        name="fhir-explanationofbenefit",
    ),
]
for _resource_type, (_search, _read) in views.CLINICAL_OPERATIONS.items():
    urlpatterns += [
        path(_resource_type, fhir_view(_search), name=f"fhir-{_resource_type.lower()}-type"),
        path(f"{_resource_type}/<str:entry_id>", fhir_view(_read), name=f"fhir-{_resource_type.lower()}"),
    ]
urlpatterns.append(re_path(r"^.*$", unknown_path, name="fhir-unknown"))
