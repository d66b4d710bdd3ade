"""FHIR ServiceRequest: orders and referrals from one endpoint, with ids that cannot collide, told apart by
category; search by patient, requester, status, category, authored date and _id; a portal token sees only
the patient's own."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.referrals import services as referral_services
from caredesk.referrals.models import Referral

pytestmark = pytest.mark.django_db


def _referral(ordering, patient, send: bool = True) -> Referral:  # type: ignore[no-untyped-def]
    return referral_services.create_referral(
        actor=ordering.physician,
        data=referral_services.NewReferral(
            patient_id=patient.pk, specialty="orthopedics", reason="Chronic back pain", diagnoses=["M54.50"]
        ),
        send=send,
    )


def _ids(answer) -> list[str]:  # type: ignore[no-untyped-def]
    bundle = Bundle.model_validate(answer.json())
    return [entry.resource.id for entry in bundle.entry or []]


@pytest.fixture
def requests(ordering):  # type: ignore[no-untyped-def]
    order = ordering.order()
    lab = ordering.order(kind="lab", code="58410-2", code_display="CBC panel", practitioner_id=None)
    draft = ordering.order(place=False)
    referral = _referral(ordering, ordering.ny_patient)
    other = ordering.order(patient_id=ordering.nj_patient.pk)
    return {"order": order, "lab": lab, "draft": draft, "referral": referral, "other": other}


def test_read_an_order_and_a_referral_with_ids_that_cannot_collide(ordering, requests, api) -> None:
    fhir = api(Role.COORDINATOR, ordering.clinic.org)
    order, referral = requests["order"], requests["referral"]
    answer = fhir.get(f"/fhir/ServiceRequest/order-{order.pk}")
    assert answer.status_code == 200
    resource = ServiceRequest.model_validate(answer.json())
    assert resource.id == f"order-{order.pk}"
    assert (resource.status, resource.intent, resource.priority) == ("active", "order", "routine")
    assert resource.category[0].coding[0].code == "order"
    assert resource.category[1].coding[0].code == "imaging"
    assert resource.code.coding[0].code == "72148"
    assert resource.requester.reference == f"Practitioner/{ordering.clinic.heart.pk}"
    assert resource.subject.reference == f"Patient/{ordering.ny_patient.pk}"
    assert resource.reasonCode[0].coding[0].code == "M54.50"

    answer = fhir.get(f"/fhir/ServiceRequest/referral-{referral.pk}")
    assert answer.status_code == 200
    resource = ServiceRequest.model_validate(answer.json())
    assert resource.category[0].coding[0].code == "referral"
    assert resource.status == "active"
    assert resource.code.text == "Referral to Orthopedics"
    assert AuditEvent.objects.filter(
        action=AuditAction.REFERRAL_VIEW, patient_id=referral.patient_id
    ).exists()
    for missing in ("12", f"order-{referral.pk + 10_000}", "referral-x", f"claim-{order.pk}"):
        assert fhir.get(f"/fhir/ServiceRequest/{missing}").status_code == 404


def test_search_by_patient_requester_status_category_date_and_id(ordering, requests, api) -> None:
    fhir = api(Role.COORDINATOR, ordering.clinic.org)
    order, lab, draft, referral = requests["order"], requests["lab"], requests["draft"], requests["referral"]
    patient = f"Patient/{ordering.ny_patient.pk}"
    everything = _ids(fhir.get("/fhir/ServiceRequest", {"patient": patient}))
    assert set(everything) == {
        f"order-{order.pk}",
        f"order-{lab.pk}",
        f"order-{draft.pk}",
        f"referral-{referral.pk}",
    }
    assert AuditEvent.objects.filter(
        action=AuditAction.SERVICE_REQUEST_SEARCH, patient_id=ordering.ny_patient.pk
    ).exists()
    assert _ids(fhir.get("/fhir/ServiceRequest", {"patient": patient, "category": "referral"})) == [
        f"referral-{referral.pk}"
    ]
    assert _ids(fhir.get("/fhir/ServiceRequest", {"patient": patient, "category": "lab"})) == [
        f"order-{lab.pk}"
    ]
    assert set(_ids(fhir.get("/fhir/ServiceRequest", {"patient": patient, "category": "order"}))) == {
        f"order-{order.pk}",
        f"order-{lab.pk}",
        f"order-{draft.pk}",
    }
    assert _ids(fhir.get("/fhir/ServiceRequest", {"patient": patient, "status": "draft"})) == [
        f"order-{draft.pk}"
    ]
    by_requester = _ids(
        fhir.get("/fhir/ServiceRequest", {"requester": f"Practitioner/{ordering.clinic.heart.pk}"})
    )
    assert set(by_requester) == {f"order-{order.pk}", f"order-{draft.pk}", f"order-{requests['other'].pk}"}
    assert _ids(fhir.get("/fhir/ServiceRequest", {"_id": f"referral-{referral.pk}"})) == [
        f"referral-{referral.pk}"
    ]
    order_day = order.authored_at.astimezone(dt.UTC).date()
    referral_day = referral.created_at.astimezone(dt.UTC).date()
    on_order_day = _ids(
        fhir.get("/fhir/ServiceRequest", {"patient": patient, "authored": order_day.isoformat()})
    )
    assert f"order-{order.pk}" in on_order_day
    assert (f"referral-{referral.pk}" in on_order_day) == (order_day == referral_day)
    after = _ids(
        fhir.get("/fhir/ServiceRequest", {"patient": patient, "authored": f"gt{order_day.isoformat()}"})
    )
    assert not any(i.startswith("order-") for i in after)
    assert fhir.get("/fhir/ServiceRequest", {"authored": "yesterday"}).status_code == 400
    assert fhir.get("/fhir/ServiceRequest", {"status": "finished"}).status_code == 400
    assert _ids(fhir.get("/fhir/ServiceRequest", {"category": "x-ray"})) == []


def test_a_portal_token_sees_only_the_patients_own_placed_requests(
    ordering, requests, api, other_org
) -> None:
    portal = api(Role.PATIENT, ordering.clinic.org, patient=ordering.ny_patient)
    own = set(_ids(portal.get("/fhir/ServiceRequest")))
    assert own == {
        f"order-{requests['order'].pk}",
        f"order-{requests['lab'].pk}",
        f"referral-{requests['referral'].pk}",
    }
    assert portal.get(f"/fhir/ServiceRequest/order-{requests['other'].pk}").status_code == 404
    assert portal.get(f"/fhir/ServiceRequest/order-{requests['draft'].pk}").status_code == 404
    assert _ids(portal.get("/fhir/ServiceRequest", {"patient": f"Patient/{ordering.nj_patient.pk}"})) == []
    stranger = api(Role.COORDINATOR, other_org)
    assert stranger.get(f"/fhir/ServiceRequest/order-{requests['order'].pk}").status_code == 404
    assert _ids(stranger.get("/fhir/ServiceRequest")) == []
    # Front desk holds REFERRAL_VIEW and ORDER_VIEW; billing neither.
    assert api(Role.BILLING, ordering.clinic.org).get("/fhir/ServiceRequest").status_code == 403


def test_the_capability_statement_lists_service_request(client) -> None:
    statement = client.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    params = {p["name"] for p in resources["ServiceRequest"]["searchParam"]}
    assert {"patient", "requester", "status", "category", "authored", "_id"} <= params
