"""The permission matrix: every page, JSON API and FHIR endpoint, every role, and another organization's user.

The endpoints come from walking the URL resolver (tests/support/endpoints.py), so a view added later is
picked up by itself; its URL keywords are filled from tests/support/samples.py (a keyword without a sample
fails with a message saying what to add). For each endpoint:

- it declares its permission (`require_permission` / `public` on a view; `interop.registry.declare` for
  the API and FHIR), or the first test fails naming it;
- a role holding the permission gets the page: 200, or the status tests/support/expectations.py gives
  with its reason; a POST-only page answers a GET with 405 (its `Allow` header without GET);
- a role without it gets 403 (a POST-only page: to a POST too);
- a user of another organization holding it gets 404 for anything of the first organization (the same
  answer as for something that does not exist), and otherwise only their own organization's data;
- an anonymous visitor is sent to sign in (pages) or gets 401 (API/FHIR);
- no answer except the allowed first-organization ones contains the sample patient's name or MRN.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.http import HttpResponseBase
from django.urls import path, reverse

from caredesk.accounts.decorators import public, require_permission
from caredesk.accounts.models import User
from caredesk.accounts.permissions import ROLE_PERMISSIONS, Permission, Role
from tests.support.endpoints import WRITE_METHODS, Endpoint, discover
from tests.support.expectations import ALLOWED_STATUS, ROLE_REFUSED, lookup
from tests.support.samples import body_for
from tests.support.world import MissingSample, World, content, shared_world

pytestmark = pytest.mark.django_db

ENDPOINTS = discover()
LOGIN_PATH = reverse("accounts:login")


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    with shared_world(django_db_blocker, tmp_path_factory.mktemp("media")) as built:
        yield built


@pytest.fixture
def world(_module_world: World, db) -> World:
    return _module_world.fresh()


# --- declarations ----------------------------------------------------------------------------------


def test_every_endpoint_declares_the_permission_it_needs():
    problems = [f"  {endpoint}: {endpoint.problem}" for endpoint in ENDPOINTS if endpoint.problem]
    assert not problems, "Endpoints the matrix cannot check:\n" + "\n".join(problems)


def test_the_walk_reaches_every_app_and_nested_include():
    names = {endpoint.name for endpoint in ENDPOINTS}
    expected = {
        "core:home",
        "core:healthz",
        "accounts:login",
        "accounts:logout",
        "accounts:otp_verify",
        "accounts:otp_enroll",
        "accounts:security",
        "patients:search",
        "practitioners:detail",
        "audit:list",
    }
    assert expected <= names, f"not found: {sorted(expected - names)}"
    assert not [e for e in ENDPOINTS if e.route.startswith("admin/")]


def test_every_role_has_a_permission_bundle():
    assert set(ROLE_PERMISSIONS) == set(Role.values)
    assert all(Permission.SIGNED_IN in perms for perms in ROLE_PERMISSIONS.values())


def test_the_walk_reports_views_without_a_declaration():
    """The matrix's own machinery: an undeclared view, a misspelt permission, a declared one, a public
    one and a nested include are each told apart."""
    from django.http import HttpResponse
    from django.urls import include

    def undeclared(request):
        return HttpResponse()

    def misspelt(request):
        return HttpResponse()

    misspelt.required_permission = "patients:patient:peek"  # type: ignore[attr-defined]

    @require_permission(Permission.PATIENT_VIEW)
    def declared(request, patient_id):
        return HttpResponse()

    @public
    def open_to_all(request):
        return HttpResponse()

    inner = ([path("<int:patient_id>/", declared, name="declared")], "inner")
    found = {
        e.route: e
        for e in discover(
            [
                path("undeclared/", undeclared),
                path("misspelt/", misspelt),
                path("open/", open_to_all),
                path("nested/", include(inner)),
            ]
        )
    }
    assert "declares no permission" in found["undeclared/"].problem
    assert "not a member of accounts.permissions.Permission" in found["misspelt/"].problem
    assert found["open/"].is_public
    assert not found["open/"].problem
    nested = found["nested/<int:patient_id>/"]
    assert nested.permission == Permission.PATIENT_VIEW
    assert nested.name == "inner:declared"
    assert nested.kwargs == ("patient_id",)
    assert nested.path == "/nested/{patient_id}/"


def test_a_url_keyword_without_a_sample_fails_with_what_to_add(world):
    endpoint = Endpoint("web", "GET", "widgets/<int:widget_id>/", "widgets:detail", Permission.SIGNED_IN)
    with pytest.raises(MissingSample, match=r"'widget_id', which has no sample.*tests/support/samples.py"):
        world.url(endpoint)


# --- the matrix ------------------------------------------------------------------------------------


@dataclass
class Expected:
    status: int
    why: str
    allowed: bool = False  # the user may use the endpoint
    leak_ok: bool = False  # the allowed first-organization answer may show the sample patient


def _allowed_status(endpoint: Endpoint) -> tuple[int, str]:
    override = lookup(ALLOWED_STATUS, endpoint)
    if override is not None:
        return override
    if endpoint.method in WRITE_METHODS and endpoint.uses_token:
        body = body_for(endpoint)
        if body is not None:
            return body.status, "the status of its body sample"
    return 200, "holds the permission"


def _expected(world: World, endpoint: Endpoint, user: User | None, first_org: bool) -> Expected:
    status, why = _allowed_status(endpoint)
    if endpoint.catch_all:
        return Expected(404, "a catch-all route: there is nothing at this address", allowed=True)
    if user is None:
        if endpoint.is_public:
            return Expected(status, f"public: {why}", allowed=True)
        return Expected(401 if endpoint.uses_token else 302, "anonymous: must authenticate")
    if not endpoint.allows(user.role):
        return Expected(403, f"{user.role} lacks {endpoint.permission}")
    refused = (lookup(ROLE_REFUSED, endpoint) or {}).get(user.role)
    if refused:
        return Expected(403, refused)
    if not first_org and world.is_scoped(endpoint):
        return Expected(404, "another organization's record answers as if it did not exist")
    return Expected(status, why, allowed=True, leak_ok=first_org)


def _is_post_only_refusal(response: HttpResponseBase) -> bool:
    """405 to a GET from a view that takes other methods only."""
    allow = {m.strip().upper() for m in response.get("Allow", "").split(",") if m.strip()}
    return response.status_code == 405 and bool(allow) and "GET" not in allow


def _check(world: World, endpoint: Endpoint, label: str, user: User | None, first_org: bool) -> str | None:
    expected = _expected(world, endpoint, user, first_org)
    response = world.call(endpoint, user)
    note = ""
    if endpoint.channel == "web" and _is_post_only_refusal(response):
        if expected.allowed:
            return None  # a GET to a POST-only page: 405 is the precise answer for everyone allowed
        # A refusal must hold for the method the page does take.
        response = world.call(endpoint, user, method="POST")
        note = " (to an empty POST)"
    problems = []
    if response.status_code != expected.status:
        problems.append(f"got {response.status_code}, expected {expected.status} ({expected.why}){note}")
    elif response.status_code == 302 and user is None and not endpoint.is_public:
        location = response.get("Location", "")
        if not location.startswith(LOGIN_PATH):
            problems.append(f"redirects to {location!r}, not to sign-in")
    if not expected.leak_ok:
        leaked = world.leaks(content(response))
        if leaked:
            problems.append(f"the answer shows the sample patient ({', '.join(leaked)})")
    return f"{label}: " + "; ".join(problems) if problems else None


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_permission_matrix(endpoint: Endpoint, world: World):
    if endpoint.problem:
        pytest.fail(f"{endpoint}: {endpoint.problem}")
    try:
        world.url(endpoint)
        if endpoint.uses_token and endpoint.method in WRITE_METHODS:
            world.call(endpoint, None)  # fails early, with the message, when the body sample is missing
    except MissingSample as exc:
        pytest.fail(str(exc))
    results = [_check(world, endpoint, label, user, first) for label, user, first in world.everyone()]
    problems = [r for r in results if r]
    assert not problems, f"{endpoint} needs {endpoint.permission or 'nothing (public)'}:\n  " + "\n  ".join(
        problems
    )
