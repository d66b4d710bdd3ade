"""FHIR R4 Goal and CareTeam: a care plan's goals (target tied to a LOINC measure, achievement computed
from the latest observation) and its care team (the roles), read and searched with bearer tokens; another
organization's and unknown ids answer 404; a portal token sees only its own."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.careteam import CareTeam as FhirCareTeam
from fhir.resources.R4B.goal import Goal as FhirGoal

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.careplans import services
from tests.interop.conftest import TokenClient, audit_rows, token_for
from tests.patients.factories import make_patient, portal_user_for

from .conftest import observe

pytestmark = pytest.mark.django_db


@pytest.fixture
def fhir(staff) -> TokenClient:
    return TokenClient(token_for(staff[Role.PHYSICIAN]))


def entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return [e["resource"] for e in response.json().get("entry", [])]


def _goals(plan) -> dict[str, Any]:
    return {g.code: g for g in plan.goals.all()}


def test_goal_read_computes_achievement_from_the_latest_observation(fhir, coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    hba1c = _goals(plan)["4548-4"]
    observe(coord, patient, "hba1c", "7.8")
    response = fhir.get(f"/fhir/Goal/{hba1c.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirGoal.model_validate(body)
    assert body["lifecycleStatus"] == "active"
    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert body["achievementStatus"]["coding"][0]["code"] == "not-achieving"
    target = body["target"][0]
    assert target["measure"]["coding"][0]["code"] == "4548-4"
    assert target["detailQuantity"]["comparator"] == "<"
    assert "7.8" in body["note"][0]["text"]
    observe(coord, patient, "hba1c", "6.4", days_ago=0)
    assert fhir.get(f"/fhir/Goal/{hba1c.pk}").json()["achievementStatus"]["coding"][0]["code"] == "achieved"
    assert audit_rows(AuditAction.CAREPLAN_VIEW, patient_id=patient.pk)


def test_goal_search_filters_and_refuses_bad_parameters(fhir, coord, patient, other_patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    goals = _goals(plan)
    observe(coord, patient, "hba1c", "6.1")
    found = entries(fhir.get("/fhir/Goal", {"patient": f"Patient/{patient.pk}"}))
    assert {g["id"] for g in found} == {str(g.pk) for g in goals.values()}
    for goal in found:
        FhirGoal.model_validate(goal)
    achieved = entries(fhir.get("/fhir/Goal", {"patient": patient.pk, "achievement-status": "achieved"}))
    assert [g["id"] for g in achieved] == [str(goals["4548-4"].pk)]
    assert entries(fhir.get("/fhir/Goal", {"patient": patient.pk, "lifecycle-status": "completed"})) == []
    one = entries(fhir.get("/fhir/Goal", {"patient": patient.pk, "_id": str(goals["4548-4"].pk)}))
    assert len(one) == 1
    paged = fhir.get("/fhir/Goal", {"patient": patient.pk, "_count": "1"}).json()
    assert len(paged["entry"]) == 1
    assert any(link["relation"] == "next" for link in paged["link"])
    assert fhir.get("/fhir/Goal").status_code == 400  # patient is required
    assert fhir.get("/fhir/Goal", {"patient": patient.pk, "achievement-status": "maybe"}).status_code == 400
    assert fhir.get("/fhir/Goal", {"patient": patient.pk, "lifecycle-status": "paused"}).status_code == 400
    theirs = services.create_plan(actor=stranger, patient_id=other_patient.pk, template_code="copd")
    their_goal = theirs.goals.first()
    assert fhir.get(f"/fhir/Goal/{their_goal.pk}").status_code == 404
    assert fhir.get("/fhir/Goal/999999").json()["resourceType"] == "OperationOutcome"
    assert fhir.get("/fhir/Goal/abc").status_code == 404
    assert entries(fhir.get("/fhir/Goal", {"patient": other_patient.pk})) == []


def test_careteam_is_the_plans_roles(fhir, coord, patient, other_patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    response = fhir.get(f"/fhir/CareTeam/{plan.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirCareTeam.model_validate(body)
    assert body["status"] == "active"
    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    roles = [p["role"][0]["coding"][0]["code"] for p in body["participant"]]
    assert roles == list(plan.care_team)
    assert roles
    found = entries(fhir.get("/fhir/CareTeam", {"patient": patient.pk}))
    assert [t["id"] for t in found] == [str(plan.pk)]
    assert entries(fhir.get("/fhir/CareTeam", {"patient": patient.pk, "status": "inactive"})) == []
    assert fhir.get("/fhir/CareTeam", {"patient": patient.pk, "status": "nope"}).status_code == 400
    theirs = services.create_plan(actor=stranger, patient_id=other_patient.pk, template_code="copd")
    assert fhir.get(f"/fhir/CareTeam/{theirs.pk}").status_code == 404
    assert fhir.get("/fhir/CareTeam/0").status_code == 404
    assert entries(fhir.get("/fhir/CareTeam", {"patient": other_patient.pk})) == []


def test_careteam_names_its_practitioners_and_staff_as_members(fhir, coord, patient, doctor, staff):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    services.add_team_member(actor=coord, plan_id=plan.pk, role="physician", practitioner_id=doctor.pk)
    nurse_user = staff[Role.NURSE]
    services.add_team_member(actor=coord, plan_id=plan.pk, role="nurse", user_id=nurse_user.pk)
    body = fhir.get(f"/fhir/CareTeam/{plan.pk}").json()
    FhirCareTeam.model_validate(body)
    by_role = {p["role"][0]["coding"][0]["code"]: p for p in body["participant"]}
    assert by_role["physician"]["member"] == {
        "reference": f"Practitioner/{doctor.pk}",
        "display": "Finn Family, MD",
    }
    assert by_role["nurse"]["member"] == {"display": nurse_user.display_name}
    assert "member" not in by_role["dietitian"]  # a role nobody fills yet
    assert [p["role"][0]["coding"][0]["code"] for p in body["participant"]] == list(plan.care_team)
    assert fhir.get(f"/fhir/Practitioner/{doctor.pk}").status_code == 200


def test_portal_token_sees_only_its_own_goals_and_teams(coord, patient):
    mine = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    someone = make_patient(coord, given_name="Ann", family_name="Other")
    theirs = services.create_plan(actor=coord, patient_id=someone.pk, template_code="diabetes")
    portal = TokenClient(token_for(portal_user_for(patient)))
    my_goal, their_goal = mine.goals.first(), theirs.goals.first()
    assert portal.get(f"/fhir/Goal/{my_goal.pk}").status_code == 200
    assert portal.get(f"/fhir/Goal/{their_goal.pk}").status_code == 404
    assert portal.get(f"/fhir/CareTeam/{mine.pk}").status_code == 200
    assert portal.get(f"/fhir/CareTeam/{theirs.pk}").status_code == 404
    assert len(entries(portal.get("/fhir/Goal", {"patient": patient.pk}))) == mine.goals.count()
    assert entries(portal.get("/fhir/Goal", {"patient": someone.pk})) == []
    assert entries(portal.get("/fhir/CareTeam", {"patient": someone.pk})) == []


def _goal_body(plan, patient_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Goal",
        "extension": [
            {
                "url": "urn:caredesk:fhir:StructureDefinition/goal-careplan",
                "valueReference": {"reference": f"CarePlan/{plan.pk}"},
            }
        ],
        "lifecycleStatus": "active",
        "description": {"text": "Weight under 80 kg"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "target": [
            {
                "measure": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "detailQuantity": {"value": 80, "comparator": "<"},
            }
        ],
    }
    body.update(changes)
    return body


def test_goal_create_adds_onto_an_existing_plan(fhir, coord, patient, other_patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    before = plan.goals.count()
    observe(coord, patient, "weight", "78")
    post = lambda body: fhir.post("/fhir/Goal", data=body, content_type="application/fhir+json")  # noqa: E731
    response = post(_goal_body(plan, patient.pk))
    assert response.status_code == 201, response.content
    created = response.json()
    FhirGoal.model_validate(created)
    assert response["Location"].endswith(f"/fhir/Goal/{created['id']}")
    assert created["achievementStatus"]["coding"][0]["code"] == "achieved"  # 78 kg < 80 kg
    assert created["target"][0]["detailQuantity"]["unit"] == "kg"
    assert plan.goals.count() == before + 1
    assert fhir.get(f"/fhir/Goal/{created['id']}").status_code == 200
    assert audit_rows(AuditAction.CAREPLAN_UPDATE, patient_id=patient.pk)
    theirs = services.create_plan(actor=stranger, patient_id=other_patient.pk, template_code="copd")
    theirs_before = theirs.goals.count()
    refused = [
        post(_goal_body(plan, other_patient.pk)),  # not the plan's patient
        post(_goal_body(theirs, other_patient.pk)),  # another organization's plan
        post(_goal_body(plan, patient.pk, extension=[])),  # which plan?
        post(
            _goal_body(
                plan,
                patient.pk,
                target=[
                    {
                        "measure": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]},
                        "detailQuantity": {"value": 1, "comparator": "<"},
                    }
                ],
            )
        ),
        post({"resourceType": "Goal", "description": "not an object"}),
    ]
    assert [r.status_code for r in refused] == [422, 422, 400, 422, 400]
    assert plan.goals.count() == before + 1
    assert theirs.goals.count() == theirs_before
