"""Patient education in the JSON API: the library, a patient's materials, assigning and delivering, and
the refusals (already assigned, no e-mail consent, another organization)."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.education.models import Delivery
from tests.interop.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(coordinator_user) -> TokenClient:
    return TokenClient(token_for(coordinator_user))


def test_library_assign_deliver_and_read_back(api, patient, other_patient, library):
    found = api.get("/api/v1/education/materials", {"code": "I50.9"}).json()["results"]
    assert [m["title"] for m in found] == ["Heart failure basics"]
    material_id = found[0]["id"]
    created = api.post(
        f"/api/v1/patients/{patient.pk}/education",
        {"material_id": material_id},
        content_type="application/json",
    )
    assert created.status_code == 201
    assignment = created.json()
    assert (assignment["title"], assignment["source"], assignment["deliveries"]) == (
        "Heart failure basics",
        "manual",
        [],
    )
    again = api.post(
        f"/api/v1/patients/{patient.pk}/education",
        {"material_id": material_id},
        content_type="application/json",
    )
    assert (again.status_code, again.json()["code"]) == (409, "education_already_assigned")
    delivered = api.post(
        f"/api/v1/education/assignments/{assignment['id']}/deliveries",
        {"method": "portal"},
        content_type="application/json",
    )
    assert delivered.status_code == 201
    read = api.get(f"/api/v1/patients/{patient.pk}/education").json()["results"]
    assert [d["method"] for d in read[0]["deliveries"]] == ["portal"]

    theirs = api.post(
        f"/api/v1/patients/{other_patient.pk}/education",
        {"material_id": material_id},
        content_type="application/json",
    ).json()
    refused = api.post(
        f"/api/v1/education/assignments/{theirs['id']}/deliveries",
        {"method": "email"},
        content_type="application/json",
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "education_cannot_deliver")
    assert Delivery.objects.count() == 1


def test_another_organization_gets_404(make_user, other_org, patient):
    them = TokenClient(token_for(make_user(Role.COORDINATOR, other_org, username="ed-api-them")))
    assert them.get(f"/api/v1/patients/{patient.pk}/education").status_code == 404
