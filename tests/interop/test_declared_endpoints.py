"""Every JSON API and FHIR endpoint declares its permission, and enforces exactly that: each endpoint
x every role x a user of another organization x no token."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from caredesk.accounts.permissions import Permission, Role, permissions_for
from caredesk.interop.permissions import declared_endpoints
from caredesk.patients import services
from tests.patients.factories import portal_user_for

from .conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _interop_views(patterns, prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _interop_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.lstrip("^").startswith(("api/", "fhir/")):
            found.append((route, pattern.callback))
    return found


def test_declared_endpoints_cover_the_api_and_fhir():
    endpoints = declared_endpoints()
    assert {e.channel for e in endpoints} == {"api", "fhir"}
    paths = {(e.method, e.path) for e in endpoints}
    assert ("POST", "/api/v1/patients") in paths
    assert ("GET", "/fhir/Patient/{patient_id}") in paths
    assert ("GET", "/fhir/metadata") in paths
    for endpoint in endpoints:
        assert endpoint.is_public or isinstance(endpoint.permission, Permission)
        method, path, permission = endpoint.as_tuple()
        assert (method, path, permission) == (endpoint.method, endpoint.path, endpoint.permission)
    assert [e for e in endpoints if e.is_public and e.method != "GET"] == []
    assert {e.path for e in endpoints if e.is_public} == {
        "/api/docs",
        "/api/v1/openapi.json",
        "/fhir/metadata",
    }


def test_every_interop_view_carries_its_declarations():
    for route, view in _interop_views(get_resolver().url_patterns):
        assert hasattr(view, "required_permission"), route
        assert getattr(view, "is_interop", False), route
        for endpoint in getattr(view, "declared_endpoints", ()):
            assert endpoint in declared_endpoints(), route


def test_every_declared_path_resolves_to_a_view_declaring_it():
    for endpoint in declared_endpoints():
        url = _PLACEHOLDER.sub("1", endpoint.path)
        view = resolve(url).func
        assert endpoint in getattr(view, "declared_endpoints", ()), endpoint


@pytest.fixture
def samples(coordinator_actor, patient, add_practitioner, admin_actor) -> dict[str, int]:
    problem = services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="I10")
    return {
        "patient_id": patient.pk,
        "practitioner_id": add_practitioner(admin_actor).pk,
        "entry_id": problem.pk,
    }


def _call(client, endpoint, samples):
    url = _PLACEHOLDER.sub(lambda m: str(samples[m.group(1)]), endpoint.path)
    if (
        endpoint.path.startswith("/fhir/")
        and endpoint.path.endswith("{entry_id}")
        and "Condition" not in endpoint.path
    ):
        url = url.rsplit("/", 1)[0] + "/999999"  # only the Condition sample exists; 404 is fine for the rest
    if endpoint.method == "GET":
        return client.get(url)
    body = "{}"
    if endpoint.method == "POST":
        return client.post(url, data=body, content_type="application/json")
    return client.generic(endpoint.method, url, data=body, content_type="application/json")


def _patients_and_fhir(endpoint) -> bool:
    """The endpoints of this work (other apps' API endpoints are covered by the project's matrix test)."""
    return endpoint.channel == "fhir" or endpoint.path.startswith(
        ("/api/v1/patients", "/api/v1/practitioners", "/api/v1/openapi", "/api/docs")
    )


def test_each_endpoint_by_role_other_organization_and_anonymous(
    make_user, org, other_org, patient, samples, client
):
    clients = {
        role: TokenClient(token_for(make_user(role, org))) for role in Role.values if role != Role.PATIENT
    }
    clients[Role.PATIENT] = TokenClient(token_for(portal_user_for(patient)))
    outsider = TokenClient(token_for(make_user(Role.ADMINISTRATOR, other_org)))
    for endpoint in filter(_patients_and_fhir, declared_endpoints()):
        anonymous = _call(client, endpoint, samples).status_code
        if endpoint.is_public:
            assert anonymous == 200, endpoint
            continue
        assert anonymous == 401, endpoint
        for role, role_client in clients.items():
            status = _call(role_client, endpoint, samples).status_code
            if endpoint.allows(permissions_for(role)):
                assert status not in (401, 403, 500), (role, endpoint, status)
            else:
                assert status == 403, (role, endpoint, status)
        outside = _call(outsider, endpoint, samples)
        assert outside.status_code not in (401, 500), (endpoint, outside.status_code)
        if "{" in endpoint.path:
            assert outside.status_code in (400, 404), (endpoint, outside.status_code)
        assert patient.mrn.encode() not in outside.content, endpoint
