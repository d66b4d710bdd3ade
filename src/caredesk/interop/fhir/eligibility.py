"""Eligibility checks as FHIR R4 CoverageEligibilityRequest and CoverageEligibilityResponse (validated with
fhir.resources.R4B), with their read and search handlers (registered in fhir/urls.py, listed in the
CapabilityStatement by fhir/views.py).

One eligibility check (a 270 sent, a 271 read) is both: the request (the coverage, the service date, the
trace number) and, once the payer answered, the response with the same id (in force or not, the plan and
its dates, each EB benefit as an item: service type, network, coverage level, period, amount or percent,
and AAA rejections as errors). A check that has no answer yet has no response (404).

Search by `patient` (required), `status` (active: every check) and `created` (when the check was
requested, eq/ge/gt/le/lt). Staff only, like Coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.coverageeligibilityrequest import (
    CoverageEligibilityRequest as FhirEligibilityRequest,
)
from fhir.resources.R4B.coverageeligibilityresponse import (
    CoverageEligibilityResponse as FhirEligibilityResponse,
)
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.coverage import selectors
from caredesk.coverage.choices import EligibilityStatus
from caredesk.coverage.models import EligibilityBenefit, EligibilityCheck
from caredesk.patients.errors import PatientNotFound

from . import search as params
from .billing import date_range
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .coverage import PAYER_ID_SYSTEM
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

MAX_ID = 2**63 - 1
MAX_CHECKS = 500  # a patient's most recent checks a search looks through
TRACE_SYSTEM = "urn:caredesk:eligibility-trace-number"
SERVICE_TYPE_SYSTEM = "https://x12.org/codes/service-type-codes"
NETWORK_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-network"
UNIT_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-unit"
TERM_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-term"
BENEFIT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-type"
BENEFIT_KIND_SYSTEM = "urn:caredesk:benefit-kind"
AAA_SYSTEM = "https://x12.org/codes/reject-reason-codes"
ANSWERED = frozenset({EligibilityStatus.ACTIVE, EligibilityStatus.INACTIVE, EligibilityStatus.REJECTED})
NETWORKS = {"in": "in", "out": "out"}
UNITS = {"IND": "individual", "FAM": "family"}
BENEFIT_TYPES = {"deductible": "deductible", "copay": "copay", "coinsurance": "copay-percent"}
PARAMS = ("patient", "subject", "status", "created")
_SEARCH_DOC = (
    ("patient", "reference", "Required: the patient's eligibility checks, newest first"),
    ("status", "token", "active (every check); cancelled, draft and entered-in-error match nothing"),
    ("created", "date", "When the check was requested: a date with an optional prefix eq, ge, gt, le or lt"),
)
REQUEST_SUPPORT = ResourceSupport(
    "CoverageEligibilityRequest",
    ("read", "search-type"),
    tuple(SearchParam(*p) for p in _SEARCH_DOC),
    documentation="An eligibility check (X12 270) sent for a coverage and service date.",
)
RESPONSE_SUPPORT = ResourceSupport(
    "CoverageEligibilityResponse",
    ("read", "search-type"),
    tuple(SearchParam(*p) for p in _SEARCH_DOC),
    documentation="The payer's answer (X12 271) to an eligibility check: same id as the request.",
)


def _payer(check: EligibilityCheck) -> dict[str, Any]:
    payer = check.coverage.plan.payer
    return {"display": payer.name, "identifier": {"system": PAYER_ID_SYSTEM, "value": payer.payer_id}}


def _common(check: EligibilityCheck) -> dict[str, Any]:
    return {
        "id": str(check.pk),
        "meta": {"lastUpdated": instant(check.updated_at)},
        "identifier": [{"system": TRACE_SYSTEM, "value": check.trace_number}],
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"reference": f"Patient/{check.patient_id}"},
        "servicedDate": check.service_date.isoformat(),
        "insurer": _payer(check),
    }


def request_to_fhir(check: EligibilityCheck) -> FhirEligibilityRequest:
    data = {
        "resourceType": "CoverageEligibilityRequest",
        **_common(check),
        "created": instant(check.created_at),
        "insurance": [{"focal": True, "coverage": {"reference": f"Coverage/{check.coverage_id}"}}],
    }
    return FhirEligibilityRequest.model_validate(compact(data))


def _coding(system: str, code: str, display: str = "") -> dict[str, Any] | None:
    if not code:
        return None
    return {"coding": [{"system": system, "code": code, "display": display or None}]}


def _benefit(row: EligibilityBenefit) -> dict[str, Any]:
    kind_label = row.get_kind_display()
    benefit_type = BENEFIT_TYPES.get(row.kind)
    allowed: dict[str, Any] = {}
    if row.amount is not None:
        allowed["allowedMoney"] = {"value": row.amount, "currency": "USD"}
    elif row.percent is not None:
        allowed["allowedString"] = f"{row.percent.normalize():f}%"
    text = " ".join(x for x in (kind_label, row.service_label, row.time_period) if x)
    return {
        "category": _coding(SERVICE_TYPE_SYSTEM, row.service_type, row.service_label),
        "excluded": True if row.kind == "non_covered" else None,
        "name": kind_label,
        "description": (row.message or row.plan_description or text)[:1000],
        "network": _coding(NETWORK_SYSTEM, NETWORKS.get(row.network, ""), row.get_network_display()),
        "unit": _coding(UNIT_SYSTEM, UNITS.get(row.coverage_level, "")),
        "term": {"text": row.time_period + (" (remaining)" if row.remaining else "")}
        if row.time_period or row.remaining
        else None,
        "benefit": [
            {
                "type": {
                    "coding": [
                        {"system": BENEFIT_TYPE_SYSTEM, "code": benefit_type}
                        if benefit_type
                        else {"system": BENEFIT_KIND_SYSTEM, "code": row.kind, "display": kind_label}
                    ],
                    "text": kind_label,
                },
                **allowed,
            }
        ]
        if allowed
        else None,
    }


def response_to_fhir(check: EligibilityCheck) -> FhirEligibilityResponse:
    answered = check.answered_at or check.updated_at
    data = {
        "resourceType": "CoverageEligibilityResponse",
        **_common(check),
        "created": instant(answered),
        "request": {"reference": f"CoverageEligibilityRequest/{check.pk}"},
        "outcome": "error" if check.status == EligibilityStatus.REJECTED else "complete",
        "disposition": check.get_status_display(),
        "insurance": [
            {
                "coverage": {"reference": f"Coverage/{check.coverage_id}", "display": check.plan_name},
                "inforce": check.status == EligibilityStatus.ACTIVE,
                "benefitPeriod": {
                    "start": check.plan_begin.isoformat() if check.plan_begin else None,
                    "end": check.plan_end.isoformat() if check.plan_end else None,
                },
                "item": [_benefit(b) for b in check.benefits.all()],
            }
        ]
        if check.status != EligibilityStatus.REJECTED
        else None,
        "error": [
            {
                "code": {
                    "coding": [{"system": AAA_SYSTEM, "code": str(r.get("code", ""))}],
                    "text": " ".join(x for x in (r.get("message", ""), r.get("action", "")) if x),
                }
            }
            for r in check.rejections
            if isinstance(r, dict) and r.get("code")
        ],
    }
    return FhirEligibilityResponse.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _check(actor: Actor, resource: str, entry_id: str, *, answered: bool) -> EligibilityCheck:
    if not (entry_id.isascii() and entry_id.isdigit() and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No {resource} with id {entry_id!r}.")
    check = selectors.get_check(actor=actor, check_id=int(entry_id))
    if answered and check.status not in ANSWERED:
        raise FhirError.single(
            404, "not-found", f"Eligibility check {entry_id} has no answer from the payer yet."
        )
    return check


Page = tuple[params.Search, list[EligibilityCheck], bool]


def _search(request: HttpRequest, actor: Actor, *, resource: str, answered: bool) -> Page:
    search = params.parse(search_pairs(request), PARAMS, strict=prefers_strict(request))
    _, reference = params.patient_reference(search)
    status = search.values.get("status", "active")
    if status not in ("active", "cancelled", "draft", "entered-in-error"):
        raise params.invalid(
            f"status {status!r} is not a status of {resource}.", "status", code="code-invalid"
        )
    created_from, created_to = (
        date_range(search.values["created"]) if "created" in search.values else (None, None)
    )
    checks: list[EligibilityCheck] = []
    if status == "active" and reference.isascii() and reference.isdigit() and 0 < int(reference) <= MAX_ID:
        # Another organization's patient, or none: an empty result, as for any search.
        with suppress(PatientNotFound):
            checks = selectors.patient_checks(actor=actor, patient_id=int(reference), limit=MAX_CHECKS)
    found = [
        c
        for c in checks
        if (not answered or c.status in ANSWERED)
        and (created_from is None or c.created_at >= created_from)
        and (created_to is None or c.created_at < created_to)
    ]
    start = (search.page - 1) * search.count
    shown = found[start : start + search.count]
    has_next = len(found) > start + search.count
    return search, shown, has_next


def _bundle(
    request: HttpRequest, resource: str, page: Page, to_fhir: Callable[[EligibilityCheck], FHIRAbstractModel]
) -> HttpResponse:
    search, shown, has_next = page
    base = base_url(request)
    links = PageLinks(f"{base}/{resource}", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    resources = [to_fhir(c) for c in shown]
    return fhir_response(searchset(resources, resource_url=base, links=links, total=total))


@operation(
    "GET",
    "/CoverageEligibilityRequest/{entry_id}",
    Permission.COVERAGE_VIEW,
    summary="Read a CoverageEligibilityRequest",
)
def read_request(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    check = _check(_actor(actor), "CoverageEligibilityRequest", entry_id, answered=False)
    return fhir_response(request_to_fhir(check))


@operation(
    "GET",
    "/CoverageEligibilityRequest",
    Permission.COVERAGE_VIEW,
    summary="Search CoverageEligibilityRequest by patient",
)
def search_requests(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    page = _search(request, _actor(actor), resource="CoverageEligibilityRequest", answered=False)
    return _bundle(request, "CoverageEligibilityRequest", page, request_to_fhir)


@operation(
    "GET",
    "/CoverageEligibilityResponse/{entry_id}",
    Permission.COVERAGE_VIEW,
    summary="Read a CoverageEligibilityResponse",
)
def read_response(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    check = _check(_actor(actor), "CoverageEligibilityResponse", entry_id, answered=True)
    return fhir_response(response_to_fhir(check))


@operation(
    "GET",
    "/CoverageEligibilityResponse",
    Permission.COVERAGE_VIEW,
    summary="Search CoverageEligibilityResponse by patient",
)
def search_responses(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    page = _search(request, _actor(actor), resource="CoverageEligibilityResponse", answered=True)
    return _bundle(request, "CoverageEligibilityResponse", page, response_to_fhir)
