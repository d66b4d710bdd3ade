"""FHIR R4 Claim, ClaimResponse, ExplanationOfBenefit, CoverageEligibilityRequest and
CoverageEligibilityResponse: read and search, valid R4B resources, filters, 404 OperationOutcomes, and
nothing of another organization or (for a portal user) another patient."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources.R4B.claim import Claim as FhirClaim
from fhir.resources.R4B.claimresponse import ClaimResponse as FhirClaimResponse
from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim, RemittanceClaim
from caredesk.billing.schemas import Adjustment, ClaimPayment, Remittance, ServicePayment
from caredesk.coverage import services as coverage_services
from caredesk.coverage.models import EligibilityCheck
from caredesk.coverage.schemas import CoverageInput
from tests.interop.conftest import FHIR_JSON, TokenClient, token_for
from tests.patients.factories import make_patient, staff_actor

from .conftest import BillingClinic

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


@pytest.fixture(autouse=True)
def _immediate_tasks(settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@dataclass
class Adjudicated:
    paid: Claim
    denied: Claim
    draft: Claim
    paid_answer: RemittanceClaim
    denied_answer: RemittanceClaim


def _submitted(clinic: BillingClinic) -> Claim:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="b.837")
    claim.refresh_from_db()
    return claim


@pytest.fixture
def adjudicated(clinic: BillingClinic) -> Adjudicated:
    """Two submitted claims (160.00 each: G0439 120.00 and G0444 2 x 20.00) answered in one 835 (one paid
    with a line-level contractual write-off and coinsurance, one denied), and a draft claim."""
    paid, denied = _submitted(clinic), _submitted(clinic)
    draft = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.post_remittance(
        actor=clinic.billing,
        remittance=Remittance(
            payer_name="Acme Health",
            payer_id="60054",
            payee_name="Riverside Health",
            payee_id="1234567893",
            trace_number="EFT-778899",
            payment_method="ACH",
            payment_date=dt.date(2026, 11, 20),
            total_paid=Decimal("100.00"),
            claims=(
                ClaimPayment(
                    paid.claim_number,
                    "1",
                    Decimal("160.00"),
                    Decimal("100.00"),
                    patient_responsibility=Decimal("20.00"),
                    payer_claim_number="PCN-1",
                    adjustments=(Adjustment("PR", "2", Decimal("20.00")),),
                    services=(
                        ServicePayment(
                            "G0439",
                            Decimal("120.00"),
                            Decimal("70.00"),
                            adjustments=(Adjustment("CO", "45", Decimal("40.00")),),
                        ),
                    ),
                ),
                ClaimPayment(
                    denied.claim_number,
                    "4",
                    Decimal("160.00"),
                    ZERO,
                    adjustments=(Adjustment("CO", "50", Decimal("160.00")),),
                ),
            ),
        ),
    )
    return Adjudicated(
        paid=paid,
        denied=denied,
        draft=draft,
        paid_answer=RemittanceClaim.objects.get(claim=paid),
        denied_answer=RemittanceClaim.objects.get(claim=denied),
    )


def fhir(make_user, clinic: BillingClinic, role: str = Role.BILLING, **kwargs: Any) -> TokenClient:
    return TokenClient(token_for(make_user(role, clinic.org, **kwargs)))


def ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


# --- Claim ---------------------------------------------------------------------------------------


def test_read_claim_is_a_valid_r4b_claim(clinic: BillingClinic, adjudicated: Adjudicated, make_user) -> None:
    response = fhir(make_user, clinic, Role.COORDINATOR).get(f"/fhir/Claim/{adjudicated.paid.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    FhirClaim.model_validate(body)
    assert body["status"] == "active"
    assert body["meta"]["tag"][0]["code"] == "paid"
    assert body["identifier"][0]["value"] == adjudicated.paid.claim_number
    assert body["patient"]["reference"] == f"Patient/{clinic.patient.pk}"
    assert body["provider"]["identifier"]["value"] == clinic.org.npi
    assert body["careTeam"][0]["provider"]["reference"] == f"Practitioner/{clinic.practitioner.pk}"
    assert body["insurance"][0]["coverage"]["reference"] == f"Coverage/{clinic.coverage.pk}"
    assert body["insurer"]["identifier"]["value"] == "60054"
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in body["diagnosis"]] == ["E11.9", "I10"]
    second = body["item"][1]
    assert second["productOrService"]["coding"][0]["code"] == "G0444"
    assert second["modifier"][0]["coding"][0]["code"] == "25"
    assert second["diagnosisSequence"] == [2]
    assert Decimal(str(second["quantity"]["value"])) == Decimal("2")
    assert Decimal(str(second["net"]["value"])) == Decimal("40.00")
    assert second["locationCodeableConcept"]["coding"][0]["code"] == "11"
    assert Decimal(str(body["total"]["value"])) == Decimal("160.00")
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_VIEW, patient_id=clinic.patient.pk).exists()


def test_search_claims_by_patient_status_created_and_payer(
    clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    client = fhir(make_user, clinic)
    every = {str(c.pk) for c in (adjudicated.paid, adjudicated.denied, adjudicated.draft)}
    patient = f"Patient/{clinic.patient.pk}"
    bundle = client.get("/fhir/Claim", {"patient": patient}).json()
    assert bundle["type"] == "searchset"
    assert set(ids(bundle)) == every
    for entry in bundle["entry"]:
        FhirClaim.model_validate(entry["resource"])
    assert ids(client.get("/fhir/Claim", {"patient": patient, "status": "draft"}).json()) == [
        str(adjudicated.draft.pk)
    ]
    active = client.get("/fhir/Claim", {"status": "active"}).json()
    assert set(ids(active)) == {str(adjudicated.paid.pk), str(adjudicated.denied.pk)}
    assert ids(client.get("/fhir/Claim", {"status": "cancelled"}).json()) == []
    today = timezone.localdate().isoformat()
    assert set(ids(client.get("/fhir/Claim", {"created": f"ge{today}"}).json())) == every
    assert set(ids(client.get("/fhir/Claim", {"created": today}).json())) == every
    assert ids(client.get("/fhir/Claim", {"created": f"lt{today}"}).json()) == []
    assert ids(client.get("/fhir/Claim", {"created": "2020-01"}).json()) == []
    assert set(ids(client.get("/fhir/Claim", {"payer": "60054"}).json())) == every
    assert set(ids(client.get("/fhir/Claim", {"payer": "urn:caredesk:payer-id|60054"}).json())) == every
    assert ids(client.get("/fhir/Claim", {"payer": "99999"}).json()) == []
    paged = client.get("/fhir/Claim", {"patient": patient, "_count": "2"}).json()
    assert len(ids(paged)) == 2
    assert any(link["relation"] == "next" for link in paged["link"])
    for bad in ({"status": "paid"}, {"created": "yesterday"}, {"created": "2026-02-30"}):
        refused = client.get("/fhir/Claim", bad)
        assert refused.status_code == 400
        assert refused.json()["resourceType"] == "OperationOutcome"


# --- ClaimResponse and ExplanationOfBenefit --------------------------------------------------------


def test_claim_response_and_eob_of_a_paid_claim(
    clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    client = fhir(make_user, clinic)
    answer = adjudicated.paid_answer
    response = client.get(f"/fhir/ClaimResponse/{answer.pk}").json()
    FhirClaimResponse.model_validate(response)
    assert response["request"]["reference"] == f"Claim/{adjudicated.paid.pk}"
    assert response["outcome"] == "complete"
    assert response["disposition"].startswith("Processed as primary")
    assert Decimal(str(response["payment"]["amount"]["value"])) == Decimal("100.00")
    assert response["payment"]["identifier"]["value"] == "EFT-778899"
    totals = {
        t["category"]["coding"][0]["code"]: Decimal(str(t["amount"]["value"])) for t in response["total"]
    }
    assert totals == {"submitted": Decimal("160.00"), "benefit": Decimal("100.00")}
    assert response["adjudication"][0]["reason"]["coding"][0]["code"] == "2"
    assert "coinsurance" in response["adjudication"][0]["reason"]["text"]

    eob = client.get(f"/fhir/ExplanationOfBenefit/{answer.pk}").json()
    ExplanationOfBenefit.model_validate(eob)
    assert eob["claim"]["reference"] == f"Claim/{adjudicated.paid.pk}"
    assert eob["claimResponse"]["reference"] == f"ClaimResponse/{answer.pk}"
    assert eob["insurance"][0]["coverage"]["reference"] == f"Coverage/{clinic.coverage.pk}"
    assert eob["payment"]["date"] == "2026-11-20"
    first_line = eob["item"][0]["adjudication"]
    assert Decimal(str(first_line[0]["amount"]["value"])) == Decimal("120.00")
    assert first_line[1]["reason"]["coding"][0]["code"] == "45"
    assert Decimal(str(first_line[1]["amount"]["value"])) == Decimal("40.00")
    assert len(eob["item"][1]["adjudication"]) == 1  # G0444: billed, not adjusted
    assert AuditEvent.objects.filter(
        action=AuditAction.REMITTANCE_VIEW, patient_id=clinic.patient.pk
    ).exists()


def test_eob_of_a_denied_claim_names_the_reason(
    clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    eob = fhir(make_user, clinic).get(f"/fhir/ExplanationOfBenefit/{adjudicated.denied_answer.pk}").json()
    ExplanationOfBenefit.model_validate(eob)
    assert eob["disposition"].startswith("Denied")
    assert eob["adjudication"][0]["reason"]["coding"][0]["code"] == "50"
    assert "medical necessity" in eob["adjudication"][0]["reason"]["text"]
    assert Decimal(str(eob["payment"]["amount"]["value"])) == ZERO


def test_search_answers_by_patient_created_and_payer(
    clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    client = fhir(make_user, clinic)
    both = {str(adjudicated.paid_answer.pk), str(adjudicated.denied_answer.pk)}
    patient = {"patient": str(clinic.patient.pk)}
    for resource, model in (
        ("ClaimResponse", FhirClaimResponse),
        ("ExplanationOfBenefit", ExplanationOfBenefit),
    ):
        bundle = client.get(f"/fhir/{resource}", patient).json()
        assert set(ids(bundle)) == both
        for entry in bundle["entry"]:
            model.model_validate(entry["resource"])
        today = timezone.localdate().isoformat()
        assert set(ids(client.get(f"/fhir/{resource}", {**patient, "created": f"le{today}"}).json())) == both
        assert ids(client.get(f"/fhir/{resource}", {**patient, "created": f"gt{today}"}).json()) == []
        assert ids(client.get(f"/fhir/{resource}", {**patient, "status": "cancelled"}).json()) == []
    assert set(ids(client.get("/fhir/ExplanationOfBenefit", {"payer": "60054"}).json())) == both
    assert ids(client.get("/fhir/ExplanationOfBenefit", {"payer": "00000"}).json()) == []


# --- not found, other organizations, portal patients ------------------------------------------------


def test_unknown_ids_answer_404_operation_outcomes(
    clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    client = fhir(make_user, clinic, Role.ADMINISTRATOR)
    for path in (
        "/fhir/Claim/999999",
        "/fhir/Claim/abc",
        "/fhir/ClaimResponse/0",
        "/fhir/ExplanationOfBenefit/999999",
        "/fhir/CoverageEligibilityRequest/999999",
        "/fhir/CoverageEligibilityResponse/x1",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["resourceType"] == "OperationOutcome"


def test_another_organization_sees_nothing(
    clinic: BillingClinic, other_clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    stranger = fhir(make_user, other_clinic, Role.ADMINISTRATOR)
    for path in (
        f"/fhir/Claim/{adjudicated.paid.pk}",
        f"/fhir/ClaimResponse/{adjudicated.paid_answer.pk}",
        f"/fhir/ExplanationOfBenefit/{adjudicated.paid_answer.pk}",
    ):
        assert stranger.get(path).status_code == 404, path
    for resource in ("Claim", "ClaimResponse", "ExplanationOfBenefit"):
        assert ids(stranger.get(f"/fhir/{resource}", {"patient": str(clinic.patient.pk)}).json()) == []
        assert ids(stranger.get(f"/fhir/{resource}").json()) == []
    assert stranger.get("/fhir/Claim", {"payer": "60054"}).json().get("entry") is None


def test_portal_patient_sees_only_their_own(
    clinic: BillingClinic, adjudicated: Adjudicated, make_user
) -> None:
    neighbour = make_patient(
        staff_actor(clinic.org, Role.ADMINISTRATOR), given_name="Otto", family_name="Neighbour"
    )
    theirs = services.enter_charges(
        actor=clinic.billing, data=clinic.charges(patient_id=neighbour.pk, coverage_id=None)
    )
    portal = fhir(make_user, clinic, Role.PATIENT, patient=clinic.patient)
    assert portal.get(f"/fhir/Claim/{adjudicated.paid.pk}").status_code == 200
    assert portal.get(f"/fhir/ExplanationOfBenefit/{adjudicated.paid_answer.pk}").status_code == 200
    assert portal.get(f"/fhir/Claim/{theirs.pk}").status_code == 404
    own = {str(c.pk) for c in (adjudicated.paid, adjudicated.denied, adjudicated.draft)}
    assert set(ids(portal.get("/fhir/Claim").json())) == own
    assert ids(portal.get("/fhir/Claim", {"patient": str(neighbour.pk)}).json()) == []
    assert len(ids(portal.get("/fhir/ExplanationOfBenefit").json())) == 2
    # Eligibility checks are the front desk's and billing's, as Coverage is: not the portal's.
    assert (
        portal.get("/fhir/CoverageEligibilityRequest", {"patient": str(clinic.patient.pk)}).status_code == 403
    )
    staff = fhir(make_user, clinic)
    assert set(ids(staff.get("/fhir/Claim", {"patient": str(neighbour.pk)}).json())) == {str(theirs.pk)}


# --- eligibility -----------------------------------------------------------------------------------


@pytest.fixture
def checks(
    clinic: BillingClinic, django_capture_on_commit_callbacks
) -> tuple[EligibilityCheck, EligibilityCheck]:
    """An eligibility check answered by the test payer, and one still waiting (file drop, never answered)."""
    payer = coverage_services.create_payer(
        actor=clinic.billing, name="Test Mutual", payer_id="TST01", route="test_payer"
    )
    plan = coverage_services.create_plan(actor=clinic.billing, payer_id=payer.pk, name="Test Gold")
    coverage = coverage_services.add_coverage(
        actor=clinic.billing,
        patient_id=clinic.patient.pk,
        data=CoverageInput(
            plan_id=plan.pk, member_id="W123456789", order=2, effective_from=dt.date(2024, 1, 1)
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        answered = coverage_services.request_eligibility_check(actor=clinic.billing, coverage_id=coverage.pk)
    waiting = coverage_services.request_eligibility_check(
        actor=clinic.billing, coverage_id=clinic.coverage.pk
    )
    answered.refresh_from_db()
    waiting.refresh_from_db()
    assert answered.status == "active"
    assert waiting.status == "queued"
    return answered, waiting


def test_eligibility_request_and_response(clinic: BillingClinic, checks, make_user) -> None:
    answered, waiting = checks
    client = fhir(make_user, clinic, Role.FRONT_DESK)
    request = client.get(f"/fhir/CoverageEligibilityRequest/{answered.pk}").json()
    CoverageEligibilityRequest.model_validate(request)
    assert request["patient"]["reference"] == f"Patient/{clinic.patient.pk}"
    assert request["insurer"]["identifier"]["value"] == "TST01"
    assert request["identifier"][0]["value"] == answered.trace_number
    assert request["insurance"][0]["coverage"]["reference"] == f"Coverage/{answered.coverage_id}"

    response = client.get(f"/fhir/CoverageEligibilityResponse/{answered.pk}").json()
    CoverageEligibilityResponse.model_validate(response)
    assert response["request"]["reference"] == f"CoverageEligibilityRequest/{answered.pk}"
    assert response["outcome"] == "complete"
    insurance = response["insurance"][0]
    assert insurance["inforce"] is True
    benefits = [b for item in insurance["item"] for b in item.get("benefit", [])]
    copays = [Decimal(str(b["allowedMoney"]["value"])) for b in benefits if b["type"]["text"] == "Co-pay"]
    assert Decimal("20.00") in copays  # the test payer's in-network office-visit co-pay
    assert any(b.get("allowedString") == "10%" for b in benefits)  # its coinsurance

    # The waiting check is a request without a response yet.
    assert client.get(f"/fhir/CoverageEligibilityRequest/{waiting.pk}").status_code == 200
    missing = client.get(f"/fhir/CoverageEligibilityResponse/{waiting.pk}")
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"


def test_eligibility_search(clinic: BillingClinic, other_clinic: BillingClinic, checks, make_user) -> None:
    answered, waiting = checks
    client = fhir(make_user, clinic)
    patient = {"patient": f"Patient/{clinic.patient.pk}"}
    requests = client.get("/fhir/CoverageEligibilityRequest", patient).json()
    assert set(ids(requests)) == {str(answered.pk), str(waiting.pk)}
    for entry in requests["entry"]:
        CoverageEligibilityRequest.model_validate(entry["resource"])
    responses = client.get("/fhir/CoverageEligibilityResponse", patient).json()
    assert ids(responses) == [str(answered.pk)]
    CoverageEligibilityResponse.model_validate(responses["entry"][0]["resource"])
    today = timezone.localdate().isoformat()
    assert len(ids(client.get("/fhir/CoverageEligibilityRequest", {**patient, "created": today}).json())) == 2
    assert ids(client.get("/fhir/CoverageEligibilityRequest", {**patient, "created": "lt2020"}).json()) == []
    assert (
        ids(client.get("/fhir/CoverageEligibilityRequest", {**patient, "status": "cancelled"}).json()) == []
    )
    assert client.get("/fhir/CoverageEligibilityRequest").status_code == 400  # patient is required
    stranger = fhir(make_user, other_clinic)
    assert stranger.get(f"/fhir/CoverageEligibilityRequest/{answered.pk}").status_code == 404
    assert ids(stranger.get("/fhir/CoverageEligibilityResponse", patient).json()) == []


def test_capability_statement_lists_the_billing_resources(client) -> None:
    statement = client.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for resource, params in (
        ("Claim", {"patient", "status", "created", "payer"}),
        ("ClaimResponse", {"patient", "status", "created"}),
        ("ExplanationOfBenefit", {"patient", "status", "created", "payer"}),
        ("CoverageEligibilityRequest", {"patient", "status", "created"}),
        ("CoverageEligibilityResponse", {"patient", "status", "created"}),
    ):
        assert {i["code"] for i in resources[resource]["interaction"]} == {"read", "search-type"}
        assert {p["name"] for p in resources[resource]["searchParam"]} == params
