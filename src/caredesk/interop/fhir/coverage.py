"""Coverage -> FHIR R4 Coverage (validated with fhir.resources.R4B), and its read and search-by-patient
handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

The member ID is `subscriberId`; the payer is `payor` (by name, with its payer ID); the group number and
the plan are `class` entries; the patient's relationship to the subscriber uses the HL7 subscriber-
relationship code system; `order` is 1 primary, 2 secondary, 3 tertiary; an ended coverage is
`cancelled` with its `period.end`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.coverage import Coverage as FhirCoverage

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.coverage import selectors
from caredesk.coverage.models import Coverage
from caredesk.patients.errors import PatientNotFound

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-class"
PAYER_ID_SYSTEM = "urn:caredesk:payer-id"
MAX_ID = 2**63 - 1
SUPPORT = ResourceSupport(
    "Coverage",
    ("read", "search-type"),
    (SearchParam("patient", "reference", "Required: the patient's coverages, active ones first by order"),),
)


def coverage_to_fhir(coverage: Coverage) -> FhirCoverage:
    payer = coverage.plan.payer
    relationship = coverage.relationship
    data: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": str(coverage.pk),
        "meta": {"lastUpdated": instant(coverage.updated_at), "versionId": str(coverage.version)},
        "status": "active" if coverage.is_active else "cancelled",
        "subscriberId": coverage.member_id,
        "beneficiary": {"reference": f"Patient/{coverage.patient_id}"},
        "relationship": {
            "coding": [{"system": RELATIONSHIP_SYSTEM, "code": relationship}],
            "text": coverage.get_relationship_display(),
        },
        "period": {
            "start": coverage.effective_from.isoformat(),
            "end": coverage.effective_to.isoformat() if coverage.effective_to else None,
        },
        "payor": [
            {
                "display": payer.name,
                "identifier": {"system": PAYER_ID_SYSTEM, "value": payer.payer_id},
            }
        ],
        "order": coverage.order,
        "class": [
            {
                "type": {"coding": [{"system": CLASS_SYSTEM, "code": "group"}]},
                "value": coverage.group_number,
            }
            if coverage.group_number
            else None,
            {
                "type": {"coding": [{"system": CLASS_SYSTEM, "code": "plan"}]},
                "value": str(coverage.plan_id),
                "name": coverage.plan.name,
            },
        ],
    }
    if relationship != "self":
        name = f"{coverage.subscriber_given_name} {coverage.subscriber_family_name}".strip()
        data["subscriber"] = {"display": name}
    return FhirCoverage.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


@operation("GET", "/Coverage/{entry_id}", Permission.COVERAGE_VIEW, summary="Read a Coverage")
def read_coverage(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """(`entry_id`: the URL keyword every FHIR read of a chart-like resource uses.)"""
    if not (entry_id.isascii() and entry_id.isdigit() and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No Coverage with id {entry_id!r}.")
    coverage = selectors.get_coverage(actor=_actor(actor), coverage_id=int(entry_id))
    return fhir_response(coverage_to_fhir(coverage))


@operation("GET", "/Coverage", Permission.COVERAGE_VIEW, summary="Search Coverage by patient")
def search_coverages(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), params.CLINICAL_PARAMS, strict=prefers_strict(request))
    _, reference = params.patient_reference(search)
    coverages: list[Coverage] = []
    if reference.isascii() and reference.isdigit() and 0 < int(reference) <= MAX_ID:
        # Another organization's patient, or none: an empty result, as for any search.
        with suppress(PatientNotFound):
            coverages = selectors.patient_coverages(actor=actor, patient_id=int(reference))
    start = (search.page - 1) * search.count
    shown = coverages[start : start + search.count]
    has_next = len(coverages) > start + search.count
    base = base_url(request)
    links = PageLinks(f"{base}/Coverage", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    return fhir_response(
        searchset([coverage_to_fhir(c) for c in shown], resource_url=base, links=links, total=total)
    )
