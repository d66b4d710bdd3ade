"""FHIR Task (worklist tasks) and Communication (the communication log) over HTTP with bearer tokens: the
mapping a client sees (status, priority, patient, due time, owner, medium, sent), the searches, the
CapabilityStatement, another organization and a portal token (no tasks; only its own communications),
and the audit rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fhir.resources.R4B.communication import Communication as FhirCommunication
from fhir.resources.R4B.task import Task as FhirTask

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.messaging import services as messaging
from caredesk.referrals import services as referrals
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskType
from tests.interop.conftest import TokenClient, audit_rows, token_for
from tests.patients.factories import make_patient, portal_user_for

pytestmark = pytest.mark.django_db
TASK_TYPES = "urn:caredesk:task-type"
DUE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)


def entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resourceType"] == "Bundle"
    return [e["resource"] for e in body.get("entry", [])]


def _task(actor, patient, **fields: Any):
    fields.setdefault("title", "Call after discharge")
    fields.setdefault("queue", TaskQueue.CARE_COORDINATION)
    fields.setdefault("due_at", dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    return worklist.create_task(actor=actor, data=worklist.NewTask(patient_id=patient.pk, **fields)).task


def _log(actor, patient, **fields: Any):
    fields.setdefault("direction", "out")
    fields.setdefault("channel", "phone")
    fields.setdefault("outcome", "reached")
    fields.setdefault("subject", "TCM call")
    return messaging.log_communication(
        actor=actor, data=messaging.NewCommunication(patient_id=patient.pk, **fields)
    )


@pytest.fixture
def tcm(coordinator_actor, coordinator, patient):
    return _task(
        coordinator_actor,
        patient,
        title="TCM interactive contact",
        task_type=TaskType.TCM_CONTACT,
        priority=TaskPriority.URGENT,
        assignee_id=coordinator.pk,
        due_at=DUE,
    )


def test_task_read_maps_status_priority_patient_owner_and_due(api, tcm, patient, coordinator):
    response = api.get(f"/fhir/Task/{tcm.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirTask.model_validate(body)
    assert body["status"] == "ready"  # open and assigned
    assert body["intent"] == "order"
    assert body["priority"] == "asap"
    assert body["for"] == {"reference": f"Patient/{patient.pk}"}
    assert body["code"]["coding"][0] == {
        "system": TASK_TYPES,
        "code": "tcm_contact",
        "display": "TCM interactive contact",
    }
    assert dt.datetime.fromisoformat(body["restriction"]["period"]["end"]) == DUE
    assert body["owner"]["identifier"]["value"] == str(coordinator.pk)
    assert "end" not in body["executionPeriod"]
    assert audit_rows(AuditAction.TASK_VIEW, patient_id=patient.pk)


def test_task_status_mapping_follows_the_worklist(api, coordinator_actor, patient):
    unassigned = _task(coordinator_actor, patient)
    assert api.get(f"/fhir/Task/{unassigned.pk}").json()["status"] == "requested"
    for ours, theirs in [("in_progress", "in-progress"), ("waiting", "on-hold"), ("done", "completed")]:
        worklist.change_status(actor=coordinator_actor, task_id=unassigned.pk, status=ours)
        assert api.get(f"/fhir/Task/{unassigned.pk}").json()["status"] == theirs
    done = api.get(f"/fhir/Task/{unassigned.pk}").json()
    assert "end" in done["executionPeriod"]
    other = _task(coordinator_actor, patient)
    worklist.change_status(actor=coordinator_actor, task_id=other.pk, status="cancelled", note="Duplicate")
    assert api.get(f"/fhir/Task/{other.pk}").json()["status"] == "cancelled"


def test_task_search_by_patient_status_owner_and_code(api, tcm, coordinator_actor, coordinator, patient):
    someone = make_patient(coordinator_actor, given_name="Ann", family_name="Other")
    general = _task(coordinator_actor, patient, title="Send records")
    elsewhere = _task(coordinator_actor, someone, title="Ask for labs")
    ids = lambda query: [t["id"] for t in entries(api.get(f"/fhir/Task?{query}"))]  # noqa: E731
    assert set(ids(f"patient=Patient/{patient.pk}")) == {str(tcm.pk), str(general.pk)}
    assert ids(f"patient={someone.pk}") == [str(elsewhere.pk)]
    assert ids(f"patient={patient.pk}&status=ready") == [str(tcm.pk)]
    assert ids(f"patient={patient.pk}&status=requested") == [str(general.pk)]
    assert ids(f"owner={coordinator.pk}") == [str(tcm.pk)]
    assert ids(f"code={TASK_TYPES}|tcm_contact") == [str(tcm.pk)]
    assert ids("code=nonsense") == []
    assert ids("patient=999999") == []
    assert api.get("/fhir/Task?status=paused").status_code == 400
    assert api.get("/fhir/Task?owner=Practitioner/x").status_code == 400
    assert audit_rows(AuditAction.TASK_SEARCH)


def test_communication_read_and_search_by_patient_and_sent(api, coordinator_actor, patient, tcm):
    call = _log(
        coordinator_actor,
        patient,
        outcome="no_answer",
        duration_seconds=30,
        task_id=tcm.pk,
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
    )
    letter = _log(coordinator_actor, patient, channel="letter", outcome="sent", subject="Visit letter")
    response = api.get(f"/fhir/Communication/{call.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirCommunication.model_validate(body)
    assert body["status"] == "not-done"
    assert body["statusReason"]["text"] == "No answer"
    assert body["medium"][0]["coding"][0]["code"] == "PHONE"
    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert body["recipient"] == [{"reference": f"Patient/{patient.pk}"}]
    assert body["about"] == [{"reference": f"Task/{tcm.pk}"}]
    assert audit_rows(AuditAction.COMMUNICATION_VIEW, patient_id=patient.pk)

    found = entries(api.get(f"/fhir/Communication?patient={patient.pk}"))
    assert [c["id"] for c in found] == [str(letter.pk), str(call.pk)]
    today = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    recent = entries(api.get(f"/fhir/Communication?patient={patient.pk}&sent=ge{today.date().isoformat()}"))
    assert [c["id"] for c in recent] == [str(letter.pk)]
    older = entries(api.get(f"/fhir/Communication?patient={patient.pk}&sent=lt{today.date().isoformat()}"))
    assert [c["id"] for c in older] == [str(call.pk)]
    assert api.get(f"/fhir/Communication?patient={patient.pk}&sent=yesterday").status_code == 400
    assert api.get("/fhir/Communication").status_code == 400  # patient is required
    assert audit_rows(AuditAction.COMMUNICATION_SEARCH, patient_id=patient.pk)


def test_other_organizations_and_roles_without_the_permission(
    api, other_api, tcm, coordinator_actor, patient, make_user, org
):
    entry = _log(coordinator_actor, patient)
    assert other_api.get(f"/fhir/Task/{tcm.pk}").status_code == 404
    assert other_api.get(f"/fhir/Communication/{entry.pk}").status_code == 404
    assert entries(other_api.get(f"/fhir/Task?patient={patient.pk}")) == []
    assert entries(other_api.get(f"/fhir/Communication?patient={patient.pk}")) == []
    billing = TokenClient(token_for(make_user(Role.BILLING, org)))
    assert billing.get(f"/fhir/Communication/{entry.pk}").status_code == 403
    assert TokenClient("nonsense").get(f"/fhir/Task/{tcm.pk}").status_code == 401


def test_a_portal_token_sees_only_its_own(tcm, coordinator_actor, patient):
    someone = make_patient(coordinator_actor, given_name="Ann", family_name="Other")
    theirs_task = _task(coordinator_actor, someone)
    mine = _log(coordinator_actor, patient)
    theirs = _log(coordinator_actor, someone)
    portal = TokenClient(token_for(portal_user_for(patient)))
    # Tasks are the staff's work: not even the ones about the patient's own record.
    assert portal.get(f"/fhir/Task/{tcm.pk}").status_code == 403
    assert portal.get(f"/fhir/Task/{theirs_task.pk}").status_code == 403
    assert portal.get("/fhir/Task").status_code == 403
    assert portal.get(f"/fhir/Communication/{mine.pk}").status_code == 200
    assert portal.get(f"/fhir/Communication/{theirs.pk}").status_code == 404
    assert [c["id"] for c in entries(portal.get(f"/fhir/Communication?patient={patient.pk}"))] == [
        str(mine.pk)
    ]
    assert entries(portal.get(f"/fhir/Communication?patient={someone.pk}")) == []


def test_capability_statement_lists_task_and_communication(api):
    statement = api.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {p["name"] for p in resources["Task"]["searchParam"]} == {"patient", "status", "owner", "code"}
    assert {p["name"] for p in resources["Communication"]["searchParam"]} == {"patient", "sent", "about"}


def test_communication_about_a_referral_refers_to_its_service_request(api, coordinator_actor, patient, tcm):
    referral = referrals.create_referral(
        actor=coordinator_actor,
        data=referrals.NewReferral(patient_id=patient.pk, specialty="neurology", reason="Headaches"),
    )
    fax = _log(  # inbound: an outbound fax would need the document faxed
        coordinator_actor, patient, direction="in", channel="fax", outcome="received", referral_id=referral.pk
    )
    call = _log(coordinator_actor, patient, task_id=tcm.pk)
    body = api.get(f"/fhir/Communication/{fax.pk}").json()
    FhirCommunication.model_validate(body)
    assert body["about"] == [{"reference": f"ServiceRequest/referral-{referral.pk}", "display": "Referral"}]
    assert "basedOn" not in body
    served = api.get(f"/fhir/{body['about'][0]['reference']}")  # the reference resolves
    assert served.status_code == 200, served.content
    assert served.json()["id"] == f"referral-{referral.pk}"

    def ids(query: str) -> list[str]:
        return [c["id"] for c in entries(api.get(f"/fhir/Communication?patient={patient.pk}&{query}"))]

    assert ids(f"about=ServiceRequest/referral-{referral.pk}") == [str(fax.pk)]
    assert ids(f"about=Task/{tcm.pk}") == [str(call.pk)]
    assert ids("about=ServiceRequest/order-1") == []
    assert ids("about=Task/x") == []
    assert api.get(f"/fhir/Communication?patient={patient.pk}&about=Patient/{patient.pk}").status_code == 400
    search_row = audit_rows(AuditAction.COMMUNICATION_SEARCH, patient_id=patient.pk)[-1]
    assert search_row.detail["task_id"] == tcm.pk
