"""Orders in the JSON API: write and place, the 409 with reasons and alternatives, drafts, status steps,
the administrator's override, and bad input that changes nothing."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.orders.models import Order

from .conftest import MRI

pytestmark = pytest.mark.django_db


def _body(ordering, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    body: dict[str, object] = {
        "patient_id": ordering.ny_patient.pk,
        "kind": "imaging",
        "code": MRI,
        "code_display": "MRI lumbar spine",
        "location_id": ordering.clinic.location.pk,
        "practitioner_id": ordering.clinic.heart.pk,
        "diagnoses": ["M54.50"],
    }
    body.update(fields)
    return body


def test_write_read_list_and_complete_an_order(ordering, api) -> None:
    physician = api(Role.PHYSICIAN, ordering.clinic.org)
    created = physician.post("/api/v1/orders", _body(ordering), content_type="application/json")
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["status"] == "active"
    assert order["diagnoses"][0]["code"] == "M54.50"
    assert [e["kind"] for e in order["events"]] == ["created", "placed"]
    assert order["next_statuses"] == ["in_progress", "completed", "revoked"]

    listed = physician.get("/api/v1/orders", {"status": "active", "kind": "imaging"})
    assert [o["id"] for o in listed.json()["results"]] == [order["id"]]
    assert physician.get("/api/v1/orders", {"kind": "lab"}).json()["results"] == []

    done = physician.post(
        f"/api/v1/orders/{order['id']}/status",
        {"status": "completed", "note": "No stenosis.", "version": order["version"]},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["result"]) == ("completed", "No stenosis.")
    stale = physician.post(
        f"/api/v1/orders/{order['id']}/status",
        {"status": "revoked", "note": "x", "version": order["version"]},
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_order"
    read = api(Role.COORDINATOR, ordering.clinic.org).get(f"/api/v1/orders/{order['id']}")
    assert read.status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditAction.ORDER_VIEW, patient_id=ordering.ny_patient.pk
    ).exists()


def test_a_failed_check_answers_409_with_reasons_and_alternatives(ordering, api) -> None:
    physician = api(Role.PHYSICIAN, ordering.clinic.org)
    body = _body(ordering, patient_id=ordering.nj_patient.pk, telehealth=True)
    refused = physician.post("/api/v1/orders", body, content_type="application/json")
    assert refused.status_code == 409
    answer = refused.json()
    assert answer["code"] == "order_check_failed"
    assert "25MA0001" in answer["details"]["reasons"][0]
    assert answer["details"]["alternatives"] == [{"id": ordering.clinic.family.pk, "name": "Finn Family, MD"}]
    assert not Order.objects.exists()
    with_reason = physician.post(
        "/api/v1/orders", {**body, "override_reason": "Urgent"}, content_type="application/json"
    )
    assert with_reason.status_code == 409
    assert "Only an administrator" in with_reason.json()["message"]

    admin = api(Role.ADMINISTRATOR, ordering.clinic.org)
    draft = physician.post("/api/v1/orders", {**body, "place": False}, content_type="application/json")
    assert draft.status_code == 201
    draft_id = draft.json()["id"]
    assert (
        physician.post(f"/api/v1/orders/{draft_id}/place", {}, content_type="application/json").status_code
        == 409
    )
    forbidden = physician.post(
        f"/api/v1/orders/{draft_id}/override", {"reason": "Urgent"}, content_type="application/json"
    )
    assert forbidden.status_code == 403
    overridden = admin.post(
        f"/api/v1/orders/{draft_id}/override",
        {"reason": "Board renewal confirmed"},
        content_type="application/json",
    )
    assert overridden.status_code == 200
    assert overridden.json()["status"] == "active"
    assert overridden.json()["override_reason"] == "Board renewal confirmed"


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"kind": "xray"}, 400, "kind"),
        ({"patient_id": 987_654}, 400, "patient_id"),
        ({"practitioner_id": 987_654}, 400, "practitioner_id"),
        ({"location_id": 987_654}, 400, "location_id"),
        ({"diagnoses": ["ZZZ.9"]}, 400, "diagnoses"),
        ({"code": None}, 400, "code"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)
def test_bad_input_answers_400_and_writes_nothing(ordering, api, fields, status, field) -> None:
    physician = api(Role.PHYSICIAN, ordering.clinic.org)
    body = {k: v for k, v in _body(ordering, **fields).items() if v is not None}
    answer = physician.post("/api/v1/orders", body, content_type="application/json")
    assert answer.status_code == status, answer.content
    assert answer.json()["field"] == field
    assert not Order.objects.exists()


def test_permissions_and_other_organizations(ordering, api, other_org) -> None:
    order = ordering.order()
    assert api(Role.BILLING, ordering.clinic.org).get("/api/v1/orders").status_code == 403
    coordinator = api(Role.COORDINATOR, ordering.clinic.org)
    assert (
        coordinator.post("/api/v1/orders", _body(ordering), content_type="application/json").status_code
        == 403
    )
    stranger = api(Role.PHYSICIAN, other_org)
    assert stranger.get(f"/api/v1/orders/{order.pk}").status_code == 404
    assert stranger.get("/api/v1/orders").json()["results"] == []
