"""FHIR R4 handlers: parse, call one selector or service, map, answer. Declared with their permissions
(`operation`); authentication, authorization and errors are handled by `http.fhir_view`.

Patient create and duplicates: `register_patient` runs its duplicate check (same birth date and a similar
name, or the same phone number). Likely duplicates answer 409 with an OperationOutcome listing them and
nothing is created; a client that has reviewed them sends the same request again with the header
`Caredesk-Confirm-Not-Duplicate: true`. (FHIR has no standard way to say "create anyway", and silently
creating duplicates is the failure the check exists to prevent.)
"""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from fhir.resources.R4B.patient import Patient as FhirPatient

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.credentialing import selectors as credential_selectors
from caredesk.patients import rules as patient_rules
from caredesk.patients import selectors as patient_selectors
from caredesk.patients import services as patient_services
from caredesk.patients.errors import DuplicateSuspected, PatientNotFound
from caredesk.patients.models import Patient
from caredesk.practitioners import selectors as practitioner_selectors

from . import search as params
from .billing import CLAIM_RESPONSE_SUPPORT, CLAIM_SUPPORT, EOB_SUPPORT
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam, capability_statement
from .careplan import SUPPORT as CAREPLAN_SUPPORT
from .careteam import SUPPORT as CARETEAM_SUPPORT
from .clinical import CLINICAL_RESOURCES
from .communication import SUPPORT as COMMUNICATION_SUPPORT
from .coverage import SUPPORT as COVERAGE_SUPPORT
from .document_reference import BINARY_SUPPORT
from .document_reference import SUPPORT as DOCUMENT_REFERENCE_SUPPORT
from .eligibility import REQUEST_SUPPORT as ELIGIBILITY_REQUEST_SUPPORT
from .eligibility import RESPONSE_SUPPORT as ELIGIBILITY_RESPONSE_SUPPORT
from .encounter import SUPPORT as ENCOUNTER_SUPPORT
from .goal import SUPPORT as GOAL_SUPPORT
from .http import (
    FhirHandler,
    Operation,
    base_url,
    fhir_response,
    operation,
    prefers,
    prefers_strict,
    read_json_body,
    search_pairs,
    validate,
)
from .outcomes import FhirError, Issue, from_domain_error, information
from .patient import FHIR_PATHS, PatientRecord, patient_input_from_fhir, patient_to_fhir
from .practitioner import practitioner_to_fhir
from .practitioner_role import SUPPORT as PRACTITIONER_ROLE_SUPPORT
from .scheduling import APPOINTMENT_SUPPORT, SCHEDULE_SUPPORT, SLOT_SUPPORT
from .service_request import SUPPORT as SERVICE_REQUEST_SUPPORT
from .supply import DELIVERY_SUPPORT, REQUEST_SUPPORT
from .task import SUPPORT as TASK_SUPPORT

CONFIRM_HEADER = "Caredesk-Confirm-Not-Duplicate"
CAPABILITIES_CHANGED = dt.date(2026, 11, 26)  # CapabilityStatement.date: move it when _RESOURCES change
MAX_ID = 2**63 - 1
OWN_RECORD = (Permission.PORTAL_OWN_RECORD,)


def _id(value: str, resource_type: str) -> int:
    """A resource id from the URL; 404 for anything that is not one of ours (FHIR ids are strings)."""
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
        return int(value)
    raise FhirError.single(404, "not-found", f"No {resource_type} with id {value!r}.")


def _actor(actor: Actor | None) -> Actor:
    if actor is None:  # only public operations run without one
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _mrn_system(actor: Actor) -> str:
    """The identifier system of the actor's organization's MRNs (`urn:caredesk:mrn:RSH`)."""
    if actor.organization_id is None:
        return patient_rules.mrn_system("")
    organizations = Organization.objects.filter(pk=actor.organization_id)
    return patient_rules.mrn_system(organizations.values_list("short_code", flat=True).first() or "")


def _record(patient: Patient, mrn_system: str) -> PatientRecord:
    return PatientRecord(
        patient=patient,
        telecoms=list(patient.telecoms.all()),
        identifiers=list(patient.identifiers.all()),
        related_persons=list(patient.related_persons.all()),
        mrn_system=mrn_system,
    )


def _version_headers(patient: Patient) -> dict[str, str]:
    return {"ETag": f'W/"{patient.version}"', "Last-Modified": http_date(patient.updated_at.timestamp())}


# --- metadata ----------------------------------------------------------------------------------------

_NAME_DOC = "Any part of the name starts with this (case- and accent-insensitive)"
_RESOURCES = (
    ResourceSupport(
        "Patient",
        ("read", "search-type", "create"),
        (
            SearchParam("name", "string", _NAME_DOC + "; 'john smi' matches given and family"),
            SearchParam("family", "string", "Family name starts with"),
            SearchParam("given", "string", "Given name starts with"),
            SearchParam("birthdate", "date", "Exactly this date (YYYY-MM-DD, optional eq prefix)"),
            SearchParam("identifier", "token", "MRN (system urn:caredesk:mrn:<CODE>) or another identifier"),
            SearchParam("telecom", "token", "Phone number (any punctuation)"),
            SearchParam("phone", "token", "Phone number (any punctuation)"),
        ),
        "Create checks for likely duplicates (409 unless 'Caredesk-Confirm-Not-Duplicate: true').",
    ),
    ResourceSupport(
        "Practitioner",
        ("read", "search-type"),
        (
            SearchParam("name", "string", _NAME_DOC),
            SearchParam("family", "string", "Family name starts with"),
            SearchParam("given", "string", "Given name starts with"),
            SearchParam("identifier", "token", "NPI (system http://hl7.org/fhir/sid/us-npi)"),
        ),
    ),
    *(
        ResourceSupport(
            resource_type,
            ("read", "search-type"),
            (SearchParam("patient", "reference", "Required: the patient's current entries, newest first"),),
        )
        for resource_type in CLINICAL_RESOURCES
    ),
    COVERAGE_SUPPORT,
    CAREPLAN_SUPPORT,
    PRACTITIONER_ROLE_SUPPORT,
    SCHEDULE_SUPPORT,
    SLOT_SUPPORT,
    APPOINTMENT_SUPPORT,
    REQUEST_SUPPORT,
    DELIVERY_SUPPORT,
    TASK_SUPPORT,
    SERVICE_REQUEST_SUPPORT,
    COMMUNICATION_SUPPORT,
    GOAL_SUPPORT,
    CARETEAM_SUPPORT,
    ENCOUNTER_SUPPORT,
    DOCUMENT_REFERENCE_SUPPORT,
    BINARY_SUPPORT,
    ELIGIBILITY_REQUEST_SUPPORT,
    ELIGIBILITY_RESPONSE_SUPPORT,
    CLAIM_SUPPORT,
    CLAIM_RESPONSE_SUPPORT,
    EOB_SUPPORT,
)


def _software_version() -> str:
    try:
        return version("caredesk")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


@operation("GET", "/metadata", None, summary="CapabilityStatement")
def metadata(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    statement = capability_statement(
        _RESOURCES,
        base_url=base_url(request),
        software_version=_software_version(),
        released=CAPABILITIES_CHANGED,
    )
    return fhir_response(statement)


# --- Patient -----------------------------------------------------------------------------------------


@operation("GET", "/Patient/{patient_id}", Permission.PATIENT_VIEW, also=OWN_RECORD, summary="Read a Patient")
def read_patient(request: HttpRequest, actor: Actor | None, patient_id: str) -> HttpResponse:
    actor = _actor(actor)
    patient = patient_selectors.get_patient(actor=actor, patient_id=_id(patient_id, "Patient"), action="read")
    resource = patient_to_fhir(_record(patient, _mrn_system(actor)))
    return fhir_response(resource, headers=_version_headers(patient))


def _search_patients(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), params.PATIENT_PARAMS, strict=prefers_strict(request))
    mrn_system = _mrn_system(actor)
    query = params.patient_query(search, mrn_system=mrn_system)
    page = patient_selectors.search_patients(
        actor=actor, query=query, page=search.page, page_size=search.count
    )
    prefetch_related_objects(page.results, "identifiers", "related_persons")
    resources = [patient_to_fhir(_record(patient, mrn_system)) for patient in page.results]
    base = base_url(request)
    links = PageLinks(f"{base}/Patient", search.used, page.page_size, page.page, page.has_next)
    return fhir_response(searchset(resources, resource_url=base, links=links, total=page.total))


search_patients = operation(
    "GET", "/Patient", Permission.PATIENT_SEARCH, also=OWN_RECORD, summary="Search Patients"
)(_search_patients)
search_patients_post = operation(
    "POST", "/Patient/_search", Permission.PATIENT_SEARCH, also=OWN_RECORD, summary="Search Patients (form)"
)(_search_patients)


def _duplicate_error(exc: DuplicateSuspected) -> FhirError:
    issues = [
        Issue(
            "duplicate",
            f"{exc.message} To create anyway, send the request again with '{CONFIRM_HEADER}: true'.",
            details_code=exc.code,
        )
    ]
    for candidate in exc.candidates:
        issues.append(
            Issue(
                "duplicate",
                f"Patient/{candidate.pk}: {candidate.full_name}, born {candidate.birth_date.isoformat()}, "
                f"MRN {candidate.mrn}",
                severity="information",
                details_text=f"Patient/{candidate.pk}",
            )
        )
    return FhirError(409, issues)


@operation("POST", "/Patient", Permission.PATIENT_CREATE, summary="Create a Patient")
def create_patient(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    resource = validate(FhirPatient, read_json_body(request, "Patient"))
    mrn_system = _mrn_system(actor)
    confirmed = request.headers.get(CONFIRM_HEADER, "").strip().lower() == "true"
    try:
        data = patient_input_from_fhir(resource, mrn_system=mrn_system)
        patient = patient_services.register_patient(actor=actor, data=data, confirm_not_duplicate=confirmed)
    except DuplicateSuspected as exc:
        raise _duplicate_error(exc) from exc
    except DomainError as exc:
        raise _business_error(exc) from exc
    location = f"{base_url(request)}/Patient/{patient.pk}"
    headers = {"Location": location, **_version_headers(patient)}
    wanted = prefers(request, "return")
    if wanted == "minimal":
        return fhir_response(None, status=201, headers=headers)
    if wanted == "operationoutcome":
        return fhir_response(
            information(f"Created Patient/{patient.pk} (MRN {patient.mrn})."), status=201, headers=headers
        )
    return fhir_response(patient_to_fhir(_record(patient, mrn_system)), status=201, headers=headers)


def _business_error(exc: DomainError) -> FhirError:
    """A valid Patient that Caredesk cannot register as given: 422, pointing at the element at fault."""
    path = ""
    if exc.field:
        path = exc.field if exc.field.startswith("Patient.") else FHIR_PATHS.get(exc.field, "Patient")
    return from_domain_error(exc, validation_status=422, expression=path)


# --- Practitioner ------------------------------------------------------------------------------------


@operation(
    "GET", "/Practitioner/{practitioner_id}", Permission.PRACTITIONER_VIEW, summary="Read a Practitioner"
)
def read_practitioner(request: HttpRequest, actor: Actor | None, practitioner_id: str) -> HttpResponse:
    actor = _actor(actor)
    practitioner = practitioner_selectors.get_practitioner(
        actor=actor, practitioner_id=_id(practitioner_id, "Practitioner")
    )
    found = credential_selectors.qualifications(actor=actor, practitioner_ids=[practitioner.pk])
    qualified = found[practitioner.pk]
    return fhir_response(practitioner_to_fhir(practitioner, qualified.licenses, qualified.boards))


@operation("GET", "/Practitioner", Permission.PRACTITIONER_VIEW, summary="Search Practitioners")
def search_practitioners(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), params.PRACTITIONER_PARAMS, strict=prefers_strict(request))
    query = params.practitioner_query(search)
    results: list[Any] = []
    has_next = False
    if query is not None:
        page = practitioner_selectors.search_practitioners(
            actor=actor, query=query, page=search.page, page_size=search.count
        )
        results, has_next = page.results, page.has_next
    base = base_url(request)
    links = PageLinks(f"{base}/Practitioner", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(results), has_next)
    found = credential_selectors.qualifications(actor=actor, practitioner_ids=[p.pk for p in results])
    resources = [practitioner_to_fhir(p, found[p.pk].licenses, found[p.pk].boards) for p in results]
    return fhir_response(searchset(resources, resource_url=base, links=links, total=total))


# --- chart resources (search by patient, read) ------------------------------------------------------


def _clinical_search(resource_type: str) -> FhirHandler:
    entry_type, to_fhir = CLINICAL_RESOURCES[resource_type]

    def handler(request: HttpRequest, actor: Actor | None) -> HttpResponse:
        actor = _actor(actor)
        search = params.parse(search_pairs(request), params.CLINICAL_PARAMS, strict=prefers_strict(request))
        _, reference = params.patient_reference(search)
        results: list[Any] = []
        has_next = False
        patient_id = reference if reference.isascii() and reference.isdigit() else ""
        if patient_id and 0 < int(patient_id) <= MAX_ID:
            try:
                page = patient_selectors.list_entries(
                    actor=actor,
                    patient_id=int(patient_id),
                    entry_type=entry_type,
                    page=search.page,
                    page_size=search.count,
                )
                results, has_next = page.results, page.has_next
            except PatientNotFound:
                pass  # another organization's patient, or none: an empty result, as for any search
        base = base_url(request)
        links = PageLinks(f"{base}/{resource_type}", search.used, search.count, search.page, has_next)
        total = known_total(search.page, search.count, len(results), has_next)
        resources = [to_fhir(entry) for entry in results]
        return fhir_response(searchset(resources, resource_url=base, links=links, total=total))

    return handler


def _clinical_read(resource_type: str) -> FhirHandler:
    entry_type, to_fhir = CLINICAL_RESOURCES[resource_type]

    def handler(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
        pk = _id(entry_id, resource_type)
        versions = patient_selectors.entry_history(actor=_actor(actor), entry_type=entry_type, entry_id=pk)
        entry = next(version for version in versions if version.pk == pk)
        return fhir_response(to_fhir(entry))

    return handler


CLINICAL_OPERATIONS: dict[str, tuple[Operation, Operation]] = {
    resource_type: (
        operation(
            "GET",
            f"/{resource_type}",
            Permission.CLINICAL_VIEW,
            also=OWN_RECORD,
            summary=f"Search {resource_type} by patient",
        )(_clinical_search(resource_type)),
        operation(
            "GET",
            f"/{resource_type}/{{entry_id}}",
            Permission.CLINICAL_VIEW,
            summary=f"Read a {resource_type}",
        )(_clinical_read(resource_type)),
    )
    for resource_type in CLINICAL_RESOURCES
}
