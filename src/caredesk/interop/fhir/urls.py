"""FHIR R4 URLs, included under /fhir/ by interop.urls."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from . import careplan, coverage, views
from .http import fhir_view, unknown_path

urlpatterns: list[URLPattern] = [
    path("metadata", fhir_view(views.metadata), name="fhir-metadata"),
    path("Patient", fhir_view(views.search_patients, views.create_patient), name="fhir-patient-type"),
    path("Patient/_search", fhir_view(views.search_patients_post), name="fhir-patient-search"),
    path("Patient/<str:patient_id>", fhir_view(views.read_patient), name="fhir-patient"),
    path("Practitioner", fhir_view(views.search_practitioners), name="fhir-practitioner-type"),
    path("Practitioner/<str:practitioner_id>", fhir_view(views.read_practitioner), name="fhir-practitioner"),
    path("Coverage", fhir_view(coverage.search_coverages), name="fhir-coverage-type"),
    path("Coverage/<str:entry_id>", fhir_view(coverage.read_coverage), name="fhir-coverage"),
    path("CarePlan", fhir_view(careplan.search_careplans), name="fhir-careplan-type"),
    path("CarePlan/<str:entry_id>", fhir_view(careplan.read_careplan), name="fhir-careplan"),
]
for _resource_type, (_search, _read) in views.CLINICAL_OPERATIONS.items():
    urlpatterns += [
        path(_resource_type, fhir_view(_search), name=f"fhir-{_resource_type.lower()}-type"),
        path(f"{_resource_type}/<str:entry_id>", fhir_view(_read), name=f"fhir-{_resource_type.lower()}"),
    ]
urlpatterns.append(re_path(r"^.*$", unknown_path, name="fhir-unknown"))
