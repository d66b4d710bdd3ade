"""The JSON API (django-ninja) under /api/v1/: patients, their chart lists, practitioners.

Every handler is thin: the `endpoint` decorator declares its permission (interop.registry); the bearer
token becomes an Actor (channel "api") and the permission is checked before the request's parameters and
body are even parsed; the handler calls one selector or service and returns what it got. Errors are
mapped in interop.errors.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, P, PathEx, Query, Status
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.patients import selectors as patient_selectors
from caredesk.patients import services as patient_services
from caredesk.patients.models import Patient
from caredesk.patients.schemas import PatientQuery
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.practitioners.models import Practitioner

from . import errors
from .auth import actor_for_token
from .registry import DeclaredEndpoint, authorize, declare
from .schemas import (
    AllergyPageOut,
    DuplicateOut,
    ErrorOut,
    MedicationPageOut,
    ObservationPageOut,
    PageParams,
    PatientFilters,
    PatientIn,
    PatientOut,
    PatientPageOut,
    PatientPatch,
    PractitionerFilters,
    PractitionerOut,
    PractitionerPageOut,
    ProblemIn,
    ProblemOut,
    ProblemPageOut,
    ValidationErrorOut,
)

API_PREFIX = "/api/v1"
DOCS_PATH = "/api/docs"
MAX_ID = 2**63 - 1

Handler = TypeVar("Handler", bound=Callable[..., Any])


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` -> the Actor for the token's user (request.auth), checked against
    the operation's declared permission before anything else about the request is read: no token or a
    bad one answers 401, a missing permission 403 (even when the body would not have validated)."""

    def __init__(self, declared: DeclaredEndpoint | None = None) -> None:
        super().__init__()
        self.declared = declared

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        actor = actor_for_token(request, token.strip(), channel="api")
        if actor is not None and self.declared is not None:
            authorize(actor, self.declared)  # Forbidden -> 403 through interop.errors
        return actor


class CaredeskAPI(NinjaAPI):
    """The API, whose OpenAPI document is built once per process and path prefix: it depends only on the
    code (the routes and schemas registered at import), and building it walks every route and model, which
    costs about half a second per request to /api/v1/openapi.json otherwise."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        built: dict[str, OpenAPISchema] = self.__dict__.setdefault("_built_schemas", {})
        if path_prefix not in built:
            built[path_prefix] = super().get_openapi_schema(path_prefix=path_prefix)
        return built[path_prefix]


api = CaredeskAPI(
    title="Caredesk API",
    version="1",
    description=(
        "Patients, their chart and the practitioner directory. Authenticate with "
        "`Authorization: Bearer <token>` (`caredesk create_api_token USERNAME`). Every error is "
        '`{"code": ..., "message": ...}` (with `field` when one field is at fault).'
    ),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url=None,  # served at /api/docs by interop.urls
    auth=BearerToken(),
)
errors.install(api)

declare("api", "GET", f"{API_PREFIX}/openapi.json", None, summary="OpenAPI schema")
declare("api", "GET", DOCS_PATH, None, summary="API documentation (Swagger UI)")

ERRORS: dict[int, Any] = {400: ValidationErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
PractitionerId = PathEx[int, P(ge=1, le=MAX_ID, description="The practitioner's id")]
OWN_RECORD = (Permission.PORTAL_OWN_RECORD,)


def endpoint(
    method: str,
    path: str,
    permission: Permission,
    *,
    response: dict[int, Any],
    summary: str,
    tags: list[str],
    also: tuple[Permission, ...] = (),
) -> Callable[[Handler], Handler]:
    """Declare and register one operation; the handler runs only for an actor holding `permission` (or
    one of `also`), and finds that actor as `request.auth`."""
    declared = declare("api", method, API_PREFIX + path, permission, also=also, summary=summary)

    def decorator(handler: Handler) -> Handler:
        handler.declared_endpoint = declared  # type: ignore[attr-defined]
        api.api_operation(
            [method],
            path,
            auth=BearerToken(declared),
            response=response,
            summary=summary,
            description=_description(handler, declared),
            tags=tags,
        )(handler)
        return handler

    return decorator


def _description(handler: Callable[..., Any], declared: DeclaredEndpoint) -> str:
    """The handler's docstring for the docs, and the permission it needs."""
    names = " or ".join(f"`{p}`" for p in sorted(declared.accepted))
    doc = inspect.getdoc(handler) or ""
    return f"{doc}\n\nRequires the permission {names}.".strip()


def actor_of(request: HttpRequest) -> Actor:
    actor: Actor = request.auth  # type: ignore[attr-defined]
    return actor


def _with_contacts(patient: Patient) -> Patient:
    """Load the phone numbers, identifiers and contacts the full representation shows."""
    prefetch_related_objects([patient], "telecoms", "identifiers", "related_persons")
    return patient


def _etag(response: HttpResponse, patient: Patient) -> None:
    response["ETag"] = f'W/"{patient.version}"'


# --- patients ----------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/patients",
    Permission.PATIENT_SEARCH,
    response={200: PatientPageOut, **ERRORS},
    summary="Search patients",
    tags=["patients"],
)
def search_patients(request: HttpRequest, filters: Query[PatientFilters]) -> Any:
    """Name fragments (case- and accent-insensitive), birth date, MRN, phone, identifier; paginated.
    Audited (one search row with the criteria and the ids returned)."""
    query = PatientQuery(
        text=filters.q,
        name=filters.name,
        family=filters.family,
        given=filters.given,
        birth_date=filters.birth_date,
        mrn=filters.mrn,
        phone=filters.phone,
        identifier=filters.identifier,
        include_inactive=filters.include_inactive,
    )
    return patient_selectors.search_patients(
        actor=actor_of(request), query=query, page=filters.page, page_size=filters.page_size
    )


@endpoint(
    "GET",
    "/patients/{patient_id}",
    Permission.PATIENT_VIEW,
    also=OWN_RECORD,
    response={200: PatientOut, **ERRORS},
    summary="Read a patient",
    tags=["patients"],
)
def read_patient(request: HttpRequest, patient_id: PatientId, response: HttpResponse) -> Any:
    """One patient with phones, identifiers and contacts (a portal user: only their own record). Audited."""
    patient = patient_selectors.get_patient(actor=actor_of(request), patient_id=patient_id, action="read")
    _etag(response, patient)
    return _with_contacts(patient)


@endpoint(
    "POST",
    "/patients",
    Permission.PATIENT_CREATE,
    response={201: PatientOut, 409: DuplicateOut, **ERRORS},
    summary="Register a patient",
    tags=["patients"],
)
def create_patient(request: HttpRequest, payload: PatientIn, response: HttpResponse) -> Any:
    """The MRN is generated. When likely duplicates exist (same birth date and a similar name, or the same
    phone) the answer is 409 `duplicate_suspected` with the candidates and nothing is created; send the
    request again with `"confirm_not_duplicate": true` to create anyway."""
    patient = patient_services.register_patient(
        actor=actor_of(request),
        data=payload.to_input(),
        confirm_not_duplicate=payload.confirm_not_duplicate,
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/patients/{patient.pk}")
    _etag(response, patient)
    return Status(201, _with_contacts(patient))


@endpoint(
    "PATCH",
    "/patients/{patient_id}",
    Permission.PATIENT_EDIT,
    response={200: PatientOut, 409: ErrorOut, **ERRORS},
    summary="Change a patient's demographics",
    tags=["patients"],
)
def update_patient(
    request: HttpRequest, patient_id: PatientId, payload: PatientPatch, response: HttpResponse
) -> Any:
    """Send `version` as read; 409 `stale_version` when someone changed the patient since (nothing is
    written). Audited with the fields' before and after."""
    patient = patient_services.update_patient(
        actor=actor_of(request),
        patient_id=patient_id,
        changes=payload.changes(),
        expected_version=payload.version,
    )
    _etag(response, patient)
    return _with_contacts(patient)


# --- the chart ---------------------------------------------------------------------------------------


def _entries(request: HttpRequest, patient_id: int, entry_type: str, paging: PageParams) -> Any:
    return patient_selectors.list_entries(
        actor=actor_of(request),
        patient_id=patient_id,
        entry_type=entry_type,
        page=paging.page,
        page_size=paging.page_size,
    )


_CHART_READ: dict[str, Any] = {"also": OWN_RECORD, "tags": ["chart"]}


@endpoint(
    "GET",
    "/patients/{patient_id}/problems",
    Permission.CLINICAL_VIEW,
    response={200: ProblemPageOut, **ERRORS},
    summary="The problem list",
    **_CHART_READ,
)
def list_problems(request: HttpRequest, patient_id: PatientId, paging: Query[PageParams]) -> Any:
    """Current problems, newest first. Audited."""
    return _entries(request, patient_id, "problem", paging)


@endpoint(
    "GET",
    "/patients/{patient_id}/allergies",
    Permission.CLINICAL_VIEW,
    response={200: AllergyPageOut, **ERRORS},
    summary="Allergies",
    **_CHART_READ,
)
def list_allergies(request: HttpRequest, patient_id: PatientId, paging: Query[PageParams]) -> Any:
    """Current allergies, newest first. Audited."""
    return _entries(request, patient_id, "allergy", paging)


@endpoint(
    "GET",
    "/patients/{patient_id}/medications",
    Permission.CLINICAL_VIEW,
    response={200: MedicationPageOut, **ERRORS},
    summary="Medications",
    **_CHART_READ,
)
def list_medications(request: HttpRequest, patient_id: PatientId, paging: Query[PageParams]) -> Any:
    """Current medications, newest first. Audited."""
    return _entries(request, patient_id, "medication", paging)


@endpoint(
    "GET",
    "/patients/{patient_id}/observations",
    Permission.CLINICAL_VIEW,
    response={200: ObservationPageOut, **ERRORS},
    summary="Vitals and other observations",
    **_CHART_READ,
)
def list_observations(request: HttpRequest, patient_id: PatientId, paging: Query[PageParams]) -> Any:
    """Current observations, latest taken first. Audited."""
    return _entries(request, patient_id, "observation", paging)


@endpoint(
    "POST",
    "/patients/{patient_id}/problems",
    Permission.CLINICAL_EDIT,
    response={201: ProblemOut, 409: ErrorOut, **ERRORS},
    summary="Add a problem",
    tags=["chart"],
)
def add_problem(request: HttpRequest, patient_id: PatientId, payload: ProblemIn) -> Any:
    """An ICD-10-CM coded diagnosis (`E11.9` or `e119`); 400 `invalid_code` when the code does not exist."""
    problem = patient_services.add_problem(
        actor=actor_of(request),
        patient_id=patient_id,
        icd10_code=payload.icd10_code,
        description=payload.description,
        onset_date=payload.onset_date,
        clinical_status=payload.clinical_status,
    )
    return Status(201, problem)


# --- practitioners -----------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/practitioners",
    Permission.PRACTITIONER_VIEW,
    response={200: PractitionerPageOut, **ERRORS},
    summary="Search practitioners",
    tags=["practitioners"],
)
def search_practitioners(request: HttpRequest, filters: Query[PractitionerFilters]) -> Any:
    """By name fragment, NPI or specialty, in name order."""
    query = practitioner_selectors.PractitionerQuery(
        text=filters.q,
        name=filters.name,
        family=filters.family,
        given=filters.given,
        npi=filters.npi,
        specialty=filters.specialty,
        active_only=filters.active_only,
    )
    return practitioner_selectors.search_practitioners(
        actor=actor_of(request), query=query, page=filters.page, page_size=filters.page_size
    )


@endpoint(
    "GET",
    "/practitioners/{practitioner_id}",
    Permission.PRACTITIONER_VIEW,
    response={200: PractitionerOut, **ERRORS},
    summary="Read a practitioner",
    tags=["practitioners"],
)
def read_practitioner(request: HttpRequest, practitioner_id: PractitionerId) -> Practitioner:
    return practitioner_selectors.get_practitioner(actor=actor_of(request), practitioner_id=practitioner_id)


# --- scheduling, coverage and eligibility, referrals, care plans: endpoints in their own modules, on this API
from . import (  # noqa: E402, F401
    billing_api,
    billing_payments_api,
    careplans_api,
    coverage_api,
    credentialing_api,
    education_api,
    inventory_api,
    messaging_api,
    orders_api,
    portal_api,
    referral_reports_api,
    referrals_api,
    scheduling_api,
    scheduling_setup_api,
    surgery_api,
    transitions_api,
    worklist_api,
    x12_api,
)
