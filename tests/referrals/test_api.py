"""Referrals over the JSON API: create (draft or sent), read with the timeline, search, send, the steps
(409 for a step that is not open, 403 for a step the role may not take), another organization (404)."""

from __future__ import annotations

import pytest
from django.test import Client

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.core.context import system_actor
from caredesk.referrals.models import Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")

    def client_for(user):
        token = create_api_token(actor=cli, username=user.username, name="tests")[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return lambda role=Role.COORDINATOR: client_for(staff[role])


def post(client: Client, path: str, body: dict[str, object]):
    return client.post(f"/api/v1{path}", body, content_type="application/json")


def test_create_read_send_and_step_through(api, patient, heart):
    created = post(
        api(Role.NURSE),
        "/referrals",
        {
            "patient_id": patient.pk,
            "specialty": "cardiology",
            "reason": "Palpitations",
            "diagnoses": ["R00.2"],
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "draft"
    assert body["diagnoses"] == [{"code": "R00.2", "description": "Palpitations"}]
    assert created["Location"].endswith(f"/api/v1/referrals/{body['id']}")
    sent = post(api(Role.NURSE), f"/referrals/{body['id']}/send", {"receiver_id": heart.pk})
    assert sent.status_code == 200
    assert sent.json()["status"] == "sent"
    assert [e["to_status"] for e in sent.json()["timeline"]] == ["draft", "sent"]
    accepted = post(api(), f"/referrals/{body['id']}/steps", {"action": "accept"})
    assert accepted.json()["status"] == "accepted"
    wrong = post(api(), f"/referrals/{body['id']}/steps", {"action": "close"})
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "invalid_transition"
    no_time = post(api(Role.FRONT_DESK), f"/referrals/{body['id']}/steps", {"action": "schedule"})
    assert no_time.status_code == 400
    scheduled = post(
        api(Role.FRONT_DESK),
        f"/referrals/{body['id']}/steps",
        {"action": "schedule", "appointment_at": "2030-01-02T09:00:00-05:00"},
    )
    assert scheduled.status_code == 200
    assert scheduled.json()["appointment_at"].startswith("2030-01-02T14:00:00")
    manage_only = post(
        api(Role.FRONT_DESK), f"/referrals/{body['id']}/steps", {"action": "cancel", "note": "x"}
    )
    assert manage_only.status_code == 403
    listed = api().get("/api/v1/referrals", {"status": "scheduled"})
    assert [r["id"] for r in listed.json()["results"]] == [body["id"]]
    assert api().get("/api/v1/referral-receivers").json()["results"][0]["name"] == "Heart Partners"


def test_bad_bodies_are_refused_and_nothing_is_saved(api, patient):
    bad_code = post(
        api(),
        "/referrals",
        {"patient_id": patient.pk, "specialty": "cardiology", "reason": "x", "diagnoses": ["Q"]},
    )
    assert bad_code.status_code == 400
    assert bad_code.json()["code"] == "invalid_diagnosis"
    extra = post(
        api(), "/referrals", {"patient_id": patient.pk, "specialty": "cardiology", "reason": "x", "foo": 1}
    )
    assert extra.status_code == 400
    assert post(api(Role.FRONT_DESK), "/referrals", {"patient_id": patient.pk}).status_code == 403
    assert not Referral.objects.exists()


def test_another_organizations_referral_answers_404(api, make_referral, make_user, other_org):
    referral = make_referral()
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")
    stranger = make_user(Role.COORDINATOR, other_org)
    token = create_api_token(actor=cli, username=stranger.username, name="tests")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"/api/v1/referrals/{referral.pk}").status_code == 404
    assert post(client, f"/referrals/{referral.pk}/steps", {"action": "accept"}).status_code == 404
    assert client.get("/api/v1/referrals").json()["results"] == []
