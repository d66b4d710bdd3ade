"""Supplies over the JSON API and FHIR: record use (409 and nothing changed when there is not enough),
stock by location, a purchase order drafted, sent and received (over-receipt refused without
confirmation), and the FHIR SupplyRequest and SupplyDelivery it becomes, validated against R4B."""

from __future__ import annotations

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.supplydelivery import SupplyDelivery
from fhir.resources.R4B.supplyrequest import SupplyRequest

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.core.context import system_actor
from caredesk.inventory import services
from caredesk.inventory.models import StockMove

from .conftest import Supply


@pytest.fixture
def client_of(make_user, org):
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")

    def client_for(role: str, organization=None) -> Client:
        user = make_user(role, organization or org)
        token = create_api_token(actor=cli, username=user.username, name="tests")[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return client_for


def post(client: Client, path: str, body: dict[str, object]):
    return client.post(f"/api/v1{path}", body, content_type="application/json")


def test_record_use_over_the_api(client_of, supply: Supply):
    services.receive_stock(
        actor=supply.admin, item_id=supply.gloves.pk, stock_location_id=supply.exam1.pk, quantity=4
    )
    nurse = client_of(Role.NURSE)
    used = post(
        nurse,
        "/inventory/consume",
        {"item_id": supply.gloves.pk, "stock_location_id": supply.exam1.pk, "quantity": 3},
    )
    assert used.status_code == 201
    assert [(m["kind"], m["quantity"]) for m in used.json()["results"]] == [("consume", 3)]

    before = StockMove.objects.count()
    short = post(
        nurse,
        "/inventory/consume",
        {"item_id": supply.gloves.pk, "stock_location_id": supply.exam1.pk, "quantity": 2},
    )
    assert short.status_code == 409
    assert short.json()["code"] == "insufficient_stock"
    negative = post(
        nurse,
        "/inventory/consume",
        {"item_id": supply.gloves.pk, "stock_location_id": supply.exam1.pk, "quantity": -2},
    )
    assert negative.status_code == 400
    assert negative.json()["message"] == "The quantity cannot be negative."
    unknown = post(
        nurse, "/inventory/consume", {"item_id": 987654, "stock_location_id": supply.exam1.pk, "quantity": 1}
    )
    assert unknown.status_code == 404
    assert StockMove.objects.count() == before

    stock = nurse.get(f"/api/v1/inventory/stock?stock_location_id={supply.exam1.pk}").json()["results"]
    (gloves,) = [row for row in stock[0]["stock"] if row["item_id"] == supply.gloves.pk]
    assert gloves == {
        "item_id": supply.gloves.pk,
        "item_name": "Exam gloves (M)",
        "on_hand": 1,
        "par": 10,
        "below_par": True,
    }
    assert (
        post(
            nurse,
            "/inventory/receive",
            {"item_id": supply.gloves.pk, "stock_location_id": supply.exam1.pk, "quantity": 1},
        ).status_code
        == 403
    )


def test_purchase_order_over_the_api_and_as_fhir(client_of, supply: Supply, other_org):
    coordinator = client_of(Role.COORDINATOR)
    suggestions = coordinator.get("/api/v1/inventory/reorder-suggestions").json()["results"]
    assert {(s["item_name"], s["suggested"]) for s in suggestions} == {
        ("Exam gloves (M)", 50),
        ("Gauze pads 4x4", 20),
    }
    created = post(
        coordinator,
        "/inventory/purchase-orders",
        {
            "vendor_id": supply.vendor.pk,
            "ship_to_id": supply.central.pk,
            "lines": [{"item_id": supply.gloves.pk, "quantity": 50}],
        },
    )
    assert created.status_code == 201
    order = created.json()
    assert (order["number"], order["status"]) == (f"PO-{order['id']:06d}", "draft")
    line_id = order["lines"][0]["id"]
    assert post(coordinator, f"/inventory/purchase-orders/{order['id']}/send", {}).json()["status"] == "sent"

    over = post(
        coordinator,
        f"/inventory/purchase-orders/{order['id']}/receive",
        {"lines": [{"line_id": line_id, "quantity": 55}]},
    )
    assert over.status_code == 409
    assert over.json()["code"] == "over_receipt"
    assert not StockMove.objects.filter(kind="receive").exists()
    received = post(
        coordinator,
        f"/inventory/purchase-orders/{order['id']}/receive",
        {"lines": [{"line_id": line_id, "quantity": 55}], "confirm_over_receipt": True},
    )
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    assert received.json()["lines"][0]["quantity_received"] == 55

    request = coordinator.get(f"/fhir/SupplyRequest/{line_id}")
    assert request.status_code == 200
    assert request["Content-Type"].startswith("application/fhir+json")
    resource = SupplyRequest.model_validate(request.json())
    assert resource.status == "completed"
    assert resource.quantity.value == 50
    assert resource.itemCodeableConcept.coding[0].code == "gloves-m"

    receipt = StockMove.objects.get(kind="receive")
    delivery = SupplyDelivery.model_validate(coordinator.get(f"/fhir/SupplyDelivery/{receipt.pk}").json())
    assert delivery.basedOn[0].reference == f"SupplyRequest/{line_id}"
    assert delivery.suppliedItem.quantity.value == 55

    found = Bundle.model_validate(
        coordinator.get(f"/fhir/SupplyRequest?identifier=PO-{order['id']:06d}").json()
    )
    assert [e.resource.id for e in found.entry] == [str(line_id)]
    none = Bundle.model_validate(coordinator.get("/fhir/SupplyRequest?status=draft").json())
    assert none.total == 0
    deliveries = Bundle.model_validate(coordinator.get("/fhir/SupplyDelivery?status=completed").json())
    assert [e.resource.id for e in deliveries.entry] == [str(receipt.pk)]

    from caredesk.accounts.models import Location

    Location.objects.get_or_create(organization=other_org, name="Elsewhere", defaults={"state": "NJ"})
    stranger = client_of(Role.COORDINATOR, other_org)
    assert stranger.get(f"/fhir/SupplyRequest/{line_id}").status_code == 404
    assert stranger.get(f"/api/v1/inventory/purchase-orders/{order['id']}").status_code == 404
    assert client_of(Role.NURSE).get(f"/fhir/SupplyRequest/{line_id}").status_code == 403


def test_fhir_metadata_lists_the_supply_resources(client_of):
    statement = client_of(Role.COORDINATOR).get("/fhir/metadata").json()
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"SupplyRequest", "SupplyDelivery"} <= types


def test_fhir_ids_too_long_to_be_numbers_are_not_found_not_a_crash(client_of, supply: Supply):
    coordinator = client_of(Role.COORDINATOR)
    digits = "9" * 5000
    assert coordinator.get(f"/fhir/SupplyRequest/{digits}").status_code == 404
    assert coordinator.get(f"/fhir/SupplyDelivery/{digits}").status_code == 404
