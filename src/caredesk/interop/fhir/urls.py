"""FHIR R4 URLs, included under /fhir/ by interop.urls."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from . import careplan, communication, coverage, practitioner_role, scheduling, supply, task, transfer, views
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
    path("Task", fhir_view(task.search_tasks), name="fhir-task-type"),
    path("Task/<str:entry_id>", fhir_view(task.read_task), name="fhir-task"),
    path("Communication", fhir_view(communication.search_communications), name="fhir-communication-type"),
    path(
        "Communication/<str:entry_id>",
        fhir_view(communication.read_communication),
        name="fhir-communication",
    ),
]
for _resource_type, (_search, _read) in views.CLINICAL_OPERATIONS.items():
    urlpatterns += [
        path(_resource_type, fhir_view(_search), name=f"fhir-{_resource_type.lower()}-type"),
        path(f"{_resource_type}/<str:entry_id>", fhir_view(_read), name=f"fhir-{_resource_type.lower()}"),
    ]
urlpatterns.append(re_path(r"^.*$", unknown_path, name="fhir-unknown"))
