"""Privilege -> FHIR R4 PractitionerRole (validated with fhir.resources.R4B), and its read and search
handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

One PractitionerRole per privilege: the practitioner, the facility (`location`, by reference and name), the
delineated service as `code` (a visit-type or procedure code under `urn:caredesk:privilege-service`), the
privilege's period, and `active` when it is granted or provisional and current. The privilege status itself
is a `code` under `urn:caredesk:privilege-status` beside it. The practitioner's specialty is `specialty`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.practitionerrole import PractitionerRole as FhirPractitionerRole

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.credentialing import selectors
from caredesk.credentialing.models import Privilege

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

SERVICE_SYSTEM = "urn:caredesk:privilege-service"
STATUS_SYSTEM = "urn:caredesk:privilege-status"
SPECIALTY_SYSTEM = "urn:caredesk:specialty"
MAX_ID = 2**63 - 1
SEARCH_PARAMS = ("practitioner", "location", "service")
SUPPORT = ResourceSupport(
    "PractitionerRole",
    ("read", "search-type"),
    (
        SearchParam("practitioner", "reference", "Practitioner/<id>: that practitioner's privileges"),
        SearchParam("location", "reference", "Location/<id>: the privileges at that facility"),
        SearchParam(
            "service", "token", "A visit-type or procedure code (system urn:caredesk:privilege-service)"
        ),
    ),
    "One PractitionerRole per privilege (service at a facility); active when granted or provisional.",
)


def privilege_to_fhir(privilege: Privilege) -> FhirPractitionerRole:
    practitioner = privilege.practitioner
    data: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(privilege.pk),
        "meta": {"lastUpdated": instant(privilege.updated_at)},
        "active": selectors.privilege_is_active(privilege),
        "period": {
            "start": privilege.starts_on.isoformat() if privilege.starts_on else None,
            "end": privilege.expires_on.isoformat() if privilege.expires_on else None,
        },
        "practitioner": {"reference": f"Practitioner/{practitioner.pk}", "display": str(practitioner)},
        "location": [{"reference": f"Location/{privilege.location_id}", "display": privilege.location.name}],
        "code": [
            {
                "coding": [
                    {
                        "system": SERVICE_SYSTEM,
                        "code": privilege.service_code,
                        "display": privilege.service_label or None,
                    }
                ],
                "text": f"Privilege: {privilege.service_label or privilege.service_code}",
            },
            {
                "coding": [
                    {
                        "system": STATUS_SYSTEM,
                        "code": privilege.status,
                        "display": privilege.get_status_display(),
                    }
                ]
            },
        ],
        "specialty": [
            {
                "coding": [
                    {
                        "system": SPECIALTY_SYSTEM,
                        "code": practitioner.specialty,
                        "display": practitioner.get_specialty_display(),
                    }
                ]
            }
        ],
    }
    return FhirPractitionerRole.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _reference(search: params.Search, name: str, resource_type: str) -> int | None:
    value = search.values.get(name, "")
    if not value:
        return None
    kind, _, reference_id = value.rpartition("/")
    if kind and kind.rsplit("/", 1)[-1] != resource_type:
        raise params.invalid(f"{name} must refer to a {resource_type}.", name)
    if not (reference_id.isascii() and reference_id.isdigit() and 0 < int(reference_id) <= MAX_ID):
        return -1  # matches nothing, as for any unknown id
    return int(reference_id)


@operation(
    "GET", "/PractitionerRole/{entry_id}", Permission.CREDENTIAL_VIEW, summary="Read a PractitionerRole"
)
def read_practitioner_role(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    if not (entry_id.isascii() and entry_id.isdigit() and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No PractitionerRole with id {entry_id!r}.")
    privilege = selectors.get_privilege(actor=_actor(actor), privilege_id=int(entry_id))
    return fhir_response(privilege_to_fhir(privilege))


@operation("GET", "/PractitionerRole", Permission.CREDENTIAL_VIEW, summary="Search PractitionerRoles")
def search_practitioner_roles(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    service = search.values.get("service", "")
    if "|" in service:
        system, _, service = service.partition("|")
        if system and system != SERVICE_SYSTEM:
            service = "\x00"  # another code system: nothing of ours matches
    rows, has_next = selectors.search_privileges(
        actor=actor,
        practitioner_id=_reference(search, "practitioner", "Practitioner"),
        location_id=_reference(search, "location", "Location"),
        service_code=service,
        page=search.page,
        page_size=search.count,
    )
    base = base_url(request)
    links = PageLinks(f"{base}/PractitionerRole", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(rows), has_next)
    return fhir_response(
        searchset([privilege_to_fhir(p) for p in rows], resource_url=base, links=links, total=total)
    )
