"""FHIR Goal and CarePlan after plan edits: a cancelled goal is still read (lifecycleStatus `cancelled`, the
reason as a note), a goal's due date is its target's dueDate, and a cancelled activity stays in the CarePlan
as `cancelled`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.goal import Goal as FhirGoal

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.careplans import services
from tests.interop.conftest import TokenClient, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def fhir(staff) -> TokenClient:
    return TokenClient(token_for(staff[Role.PHYSICIAN]))


def test_a_goal_shows_its_due_date_and_stays_readable_once_cancelled(fhir, coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    due = timezone.localdate() + dt.timedelta(days=90)
    goal = services.add_goal(
        actor=coord,
        plan_id=plan.pk,
        description="HbA1c below 6.5 %",
        code="4548-4",
        comparator="lt",
        target="6.5",
        due_on=due,
    )
    body = fhir.get(f"/fhir/Goal/{goal.pk}").json()
    assert body["target"][0]["dueDate"] == due.isoformat()
    contained = fhir.get(f"/fhir/CarePlan/{plan.pk}").json()["contained"]
    assert [g["target"][0].get("dueDate") for g in contained if g["id"] == f"goal-{goal.pk}"] == [
        due.isoformat()
    ]

    services.cancel_goal(actor=coord, goal_id=goal.pk, reason="Hypoglycaemia risk")
    response = fhir.get(f"/fhir/Goal/{goal.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirGoal.model_validate(body)
    assert body["lifecycleStatus"] == "cancelled"
    assert "achievementStatus" not in body
    assert any("Hypoglycaemia risk" in note["text"] for note in body["note"])
    assert body["target"][0]["dueDate"] == due.isoformat()

    search = f"/fhir/Goal?patient=Patient/{patient.pk}"
    active = [e["resource"]["id"] for e in fhir.get(search).json().get("entry", [])]
    assert str(goal.pk) not in active
    cancelled = fhir.get(search + "&lifecycle-status=cancelled").json()
    assert [e["resource"]["id"] for e in cancelled["entry"]] == [str(goal.pk)]


def test_a_cancelled_goal_of_another_organization_is_still_not_found(coord, patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    goal = plan.goals.first()
    services.cancel_goal(actor=coord, goal_id=goal.pk, reason="Not needed")
    outsider = TokenClient(token_for(User.objects.get(pk=stranger.user_id)))
    assert outsider.get(f"/fhir/Goal/{goal.pk}").status_code == 404


def test_a_cancelled_activity_stays_in_the_careplan_as_cancelled(fhir, coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    activities = list(plan.activities.order_by("position"))
    dropped = activities[1]
    services.cancel_activity(actor=coord, activity_id=dropped.pk, reason="Seen by the endocrinologist")
    response = fhir.get(f"/fhir/CarePlan/{plan.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirCarePlan.model_validate(body)
    details = [a["detail"] for a in body["activity"]]
    assert [d["description"] for d in details] == [a.description for a in activities]
    assert details[1]["status"] == "cancelled"
    assert "Seen by the endocrinologist" in details[1]["statusReason"]["text"]
    assert all(d["status"] != "cancelled" for i, d in enumerate(details) if i != 1)
