"""Writing over FHIR: Task create and update (the worklist), ServiceRequest create (a referral) and
Communication create (the communication log). What a client sees: 201 with Location and the same content
read back, 4xx OperationOutcomes for bad input with nothing saved, 403 for a role without the permission
and for portal tokens, 412 for a stale If-Match, and the audit rows the services write."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fhir.resources.R4B.communication import Communication as FhirCommunication
from fhir.resources.R4B.servicerequest import ServiceRequest as FhirServiceRequest
from fhir.resources.R4B.task import Task as FhirTask

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.messaging.models import Communication
from caredesk.referrals import services as referrals
from caredesk.referrals.models import Referral
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import CommentKind, TaskQueue
from caredesk.worklist.models import Task
from tests.interop.conftest import FHIR_JSON, TokenClient, audit_rows
from tests.patients.factories import make_patient, portal_user_for
from tests.scheduling.conftest import MONDAY, at, book, clinic, frozen_clock  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
TASK_TYPES = "urn:caredesk:task-type"
QUEUES = "urn:caredesk:task-queue"
USERS = "urn:caredesk:user"
CATEGORY = "urn:caredesk:service-request-category"
SPECIALTY = "urn:caredesk:specialty"
RECEIVERS = "urn:caredesk:referral-receiver"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CHANNELS = "urn:caredesk:communication-channel"
OUTCOMES = "urn:caredesk:communication-outcome"
DUE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(hour=21, minute=0, second=0, microsecond=0)


def post(client: TokenClient, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, data=body, content_type=FHIR_JSON, headers=headers)


def put(client: TokenClient, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.put(path, data=body, content_type=FHIR_JSON, headers=headers)


def issue(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]


def created(response: Any, resource_type: str) -> dict[str, Any]:
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["resourceType"] == resource_type
    assert response["Location"].endswith(f"/fhir/{resource_type}/{body['id']}")
    return body


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    """The resource read back is the one the create answered (meta aside)."""
    strip = lambda r: {k: v for k, v in r.items() if k not in ("meta", "businessStatus")}  # noqa: E731
    assert strip(a) == strip(b)


# --- Task ---------------------------------------------------------------------------------------------


@pytest.fixture
def nurse(staff):
    return staff(Role.NURSE)


@pytest.fixture
def nurse_practitioner(add_practitioner, admin_actor, nurse):
    return add_practitioner(admin_actor, "Nora", "Nightingale", user_id=nurse.pk)


def task_body(patient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "description": "Call about the discharge\n\nAsk about the new medicines.",
        "for": {"reference": f"Patient/{patient.pk}"},
    }
    body.update(fields)
    return body


def test_task_create_maps_type_queue_priority_due_and_a_practitioners_user_as_owner(
    api, patient, nurse, nurse_practitioner
):
    response = post(
        api,
        "/fhir/Task",
        task_body(
            patient,
            status="ready",
            priority="urgent",
            code={"coding": [{"system": TASK_TYPES, "code": "tcm_contact"}]},
            performerType=[{"coding": [{"system": QUEUES, "code": "nursing"}]}],
            restriction={"period": {"end": DUE.isoformat()}},
            owner={"reference": f"Practitioner/{nurse_practitioner.pk}"},
        ),
    )
    body = created(response, "Task")
    FhirTask.model_validate(body)
    assert response["ETag"] == 'W/"1"'
    task = Task.objects.get(pk=body["id"])
    assert (task.title, task.description) == ("Call about the discharge", "Ask about the new medicines.")
    assert (task.task_type, task.queue, task.priority, task.assignee_id) == (
        "tcm_contact",
        "nursing",
        2,
        nurse.pk,
    )
    assert task.due_at == DUE
    assert body["status"] == "ready"
    assert body["priority"] == "urgent"
    assert body["owner"]["identifier"] == {"system": USERS, "value": str(nurse.pk)}
    assert dt.datetime.fromisoformat(body["restriction"]["period"]["end"]) == DUE
    same(api.get(f"/fhir/Task/{task.pk}").json(), body)
    assert audit_rows(AuditAction.TASK_CREATE, patient_id=patient.pk, object_id=str(task.pk))


def test_task_create_defaults_the_queue_type_and_takes_the_owner_by_user_id(client_for, staff, patient):
    desk = staff(Role.FRONT_DESK)
    client = client_for(desk)
    body = created(
        post(client, "/fhir/Task", task_body(patient, description="Scan the insurance card")), "Task"
    )
    task = Task.objects.get(pk=body["id"])
    assert (task.queue, task.task_type, task.priority, task.assignee_id) == ("front_desk", "general", 3, None)
    assert body["status"] == "requested"
    # Taking a task oneself needs only TASK_WORK.
    mine = task_body(patient, owner={"identifier": {"system": USERS, "value": str(desk.pk)}})
    assert Task.objects.get(pk=created(post(client, "/fhir/Task", mine), "Task")["id"]).assignee_id == desk.pk


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        ({"resourceType": "Patient"}, 400, "resourceType"),
        ({"restriction": {"period": {"end": "2030-01-01T10:00:00"}}}, 400, "Task.restriction.period.end"),
        ({"restriction": {"period": {"end": "2030-01-01"}}}, 400, "Task.restriction.period.end"),
        ({"status": "completed"}, 422, "Task.status"),
        ({"description": "  "}, 422, "Task.description"),
        ({"code": {"coding": [{"system": TASK_TYPES, "code": "nonsense"}]}}, 422, "Task.code"),
        ({"for": {"reference": "Patient/999999"}}, 422, "Task.for"),
        ({"for": {"reference": "Group/1"}}, 422, "Task.for"),
        ({"owner": {"identifier": {"system": USERS, "value": "999999"}}}, 422, "Task.owner"),
        ({"owner": {"reference": "Organization/1"}}, 422, "Task.owner"),
        ({"priority": "whenever"}, 422, "Task.priority"),
    ],
)
def test_task_create_refuses_bad_input_and_saves_nothing(api, patient, change, status, where):
    before = Task.objects.count()
    response = post(api, "/fhir/Task", task_body(patient, **change))
    assert response.status_code == status, response.content
    found = issue(response)
    if where is not None:
        assert where in (found.get("expression") or [""])[0]
    assert Task.objects.count() == before
    assert not audit_rows(AuditAction.TASK_CREATE)


def test_task_create_refuses_a_practitioner_without_a_user_account(
    api, patient, add_practitioner, admin_actor
):
    nobody = add_practitioner(admin_actor, "Una", "Linked")
    response = post(api, "/fhir/Task", task_body(patient, owner={"reference": f"Practitioner/{nobody.pk}"}))
    assert response.status_code == 422
    assert "no user account" in issue(response)["diagnostics"]
    assert not Task.objects.exists()


def test_task_create_keeps_one_queue_workers_in_their_queue(client_for, staff, patient):
    client = client_for(staff(Role.BILLING))
    body = task_body(patient, performerType=[{"coding": [{"system": QUEUES, "code": "nursing"}]}])
    response = post(client, "/fhir/Task", body)
    assert response.status_code == 422
    assert issue(response)["expression"] == ["Task.performerType"]
    assert not Task.objects.exists()


def test_task_create_and_update_refuse_portal_tokens(patient, client_for, coordinator_actor):
    portal = client_for(portal_user_for(patient))
    assert post(portal, "/fhir/Task", task_body(patient)).status_code == 403
    task = worklist.create_task(
        actor=coordinator_actor,
        data=worklist.NewTask(title="Call", queue=TaskQueue.CARE_COORDINATION, patient_id=patient.pk),
    ).task
    response = put(portal, f"/fhir/Task/{task.pk}", task_body(patient, status="in-progress"))
    assert response.status_code == 403
    assert issue(response)["code"] == "forbidden"
    assert Task.objects.get(pk=task.pk).status == "open"


@pytest.fixture
def open_task(coordinator_actor, patient):
    return worklist.create_task(
        actor=coordinator_actor,
        data=worklist.NewTask(
            title="Call after discharge", queue=TaskQueue.CARE_COORDINATION, patient_id=patient.pk
        ),
    ).task


def test_task_update_moves_the_status_with_its_reason_and_checks_the_version(api, open_task, patient):
    path = f"/fhir/Task/{open_task.pk}"
    read = api.get(path).json()
    response = put(api, path, {**read, "status": "in-progress"}, **{"If-Match": 'W/"1"'})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in-progress"
    assert response["ETag"] == 'W/"2"'
    assert api.get(path).json()["status"] == "in-progress"
    # Stale: the version read before is gone.
    stale = put(api, path, {**read, "status": "on-hold"}, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    # Cancelling says why; without a reason nothing changes.
    no_reason = put(api, path, {**read, "status": "cancelled"})
    assert no_reason.status_code == 422
    assert Task.objects.get(pk=open_task.pk).status == "in_progress"
    cancelled = put(
        api, path, {**read, "status": "cancelled", "statusReason": {"text": "Patient moved away"}}
    )
    assert cancelled.status_code == 200, cancelled.content
    task = Task.objects.get(pk=open_task.pk)
    assert task.status == "cancelled"
    assert task.comments.filter(kind=CommentKind.EVENT, body__contains="Patient moved away").exists()
    assert audit_rows(AuditAction.TASK_STATUS_CHANGED, patient_id=patient.pk)
    # The worklist's transitions hold: a cancelled task only reopens.
    refused = put(api, path, {**read, "status": "on-hold", "statusReason": {"text": "x"}})
    assert refused.status_code == 409
    assert put(api, path, {**read, "status": "draft"}).status_code == 422
    assert Task.objects.get(pk=open_task.pk).status == "cancelled"


def test_task_update_assigns_one_change_at_a_time(api, client_for, staff, open_task, nurse, patient):
    path = f"/fhir/Task/{open_task.pk}"
    owner = {"identifier": {"system": USERS, "value": str(nurse.pk)}}
    both = put(api, path, task_body(patient, status="in-progress", owner=owner))
    assert both.status_code == 422
    assert Task.objects.get(pk=open_task.pk).assignee_id is None
    assigned = put(api, path, task_body(patient, status="ready", owner=owner))
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["owner"]["identifier"]["value"] == str(nurse.pk)
    assert Task.objects.get(pk=open_task.pk).assignee_id == nurse.pk
    assert audit_rows(AuditAction.TASK_ASSIGNMENT_CHANGED, patient_id=patient.pk)
    # Unassigning someone else's task needs TASK_ASSIGN (the front desk works its own queue only).
    desk_task = worklist.create_task(
        actor=worklist_actor(open_task),
        data=worklist.NewTask(
            title="File", queue=TaskQueue.FRONT_DESK, patient_id=patient.pk, assignee_id=nurse.pk
        ),
    ).task
    desk = client_for(staff(Role.FRONT_DESK))
    refused = put(desk, f"/fhir/Task/{desk_task.pk}", task_body(patient, status="requested"))
    assert refused.status_code == 403
    assert Task.objects.get(pk=desk_task.pk).assignee_id == nurse.pk


def worklist_actor(task: Task):
    from caredesk.accounts.services import actor_for_user

    assert task.created_by is not None
    return actor_for_user(task.created_by)


def test_task_update_of_another_organizations_task_is_not_found(other_api, open_task, patient):
    response = put(other_api, f"/fhir/Task/{open_task.pk}", task_body(patient, status="in-progress"))
    assert response.status_code == 404
    assert put(other_api, "/fhir/Task/nope", task_body(patient)).status_code == 404
    assert Task.objects.get(pk=open_task.pk).status == "open"


# --- ServiceRequest (referral) --------------------------------------------------------------------------


@pytest.fixture
def receiver(coordinator_actor, add_practitioner, admin_actor):
    return referrals.add_receiver(
        actor=coordinator_actor,
        data=referrals.ReceiverInput(name="Lakeside Neurology", specialty="neurology", npi="1234567893"),
    )


def referral_body(patient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [{"system": CATEGORY, "code": "referral"}]}],
        "subject": {"reference": f"Patient/{patient.pk}"},
        "performerType": {"coding": [{"system": SPECIALTY, "code": "neurology"}]},
        "reasonCode": [
            {"coding": [{"system": ICD10CM, "code": "R51.9"}]},
            {"text": "Daily headaches for three months"},
        ],
    }
    body.update(fields)
    return body


def test_referral_create_sends_it_to_the_receiver_and_reads_back_the_same(api, patient, receiver):
    response = post(
        api,
        "/fhir/ServiceRequest",
        referral_body(
            patient,
            status="active",
            priority="urgent",
            performer=[{"identifier": {"system": RECEIVERS, "value": str(receiver.pk)}}],
        ),
    )
    body = created(response, "ServiceRequest")
    FhirServiceRequest.model_validate(body)
    referral = Referral.objects.get()
    assert body["id"] == f"referral-{referral.pk}"
    assert (referral.status, referral.urgency, referral.receiver_id) == ("sent", "urgent", receiver.pk)
    assert [d["code"] for d in referral.diagnoses] == ["R51.9"]
    assert referral.reason == "Daily headaches for three months"
    assert body["status"] == "active"
    assert body["performer"][0]["identifier"] == {"system": RECEIVERS, "value": str(receiver.pk)}
    assert {"text": "Daily headaches for three months"} in body["reasonCode"]
    same(api.get(f"/fhir/ServiceRequest/{body['id']}").json(), body)
    assert audit_rows(AuditAction.REFERRAL_CREATE, patient_id=patient.pk)


def test_referral_create_finds_the_receiver_by_npi_or_practitioner(
    api, patient, receiver, add_practitioner, admin_actor
):
    by_npi = referral_body(
        patient,
        performerType=None,
        performer=[{"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}}],
    )
    del by_npi["performerType"]
    body = created(post(api, "/fhir/ServiceRequest", by_npi), "ServiceRequest")
    assert body["status"] == "draft"
    assert body["code"]["coding"][0]["code"] == "neurology"  # the receiver's specialty
    doctor = add_practitioner(admin_actor, "Nell", "Neuro", npi="1234567893")
    by_reference = referral_body(patient, performer=[{"reference": f"Practitioner/{doctor.pk}"}])
    created(post(api, "/fhir/ServiceRequest", by_reference), "ServiceRequest")
    assert list(Referral.objects.values_list("receiver_id", flat=True)) == [receiver.pk, receiver.pk]


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        (
            {"reasonCode": [{"coding": [{"system": ICD10CM, "code": "XYZ"}]}, {"text": "Why"}]},
            422,
            "reasonCode",
        ),
        (
            {"reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "25064002"}]}]},
            422,
            "reasonCode",
        ),
        ({"reasonCode": [{"coding": [{"system": ICD10CM, "code": "R51.9"}]}]}, 422, "reasonCode"),
        ({"category": [{"coding": [{"system": CATEGORY, "code": "order"}]}]}, 422, "category"),
        ({"status": "completed"}, 422, "status"),
        ({"subject": {"reference": "Patient/999999"}}, 422, "subject"),
        ({"performerType": {"coding": [{"system": SPECIALTY, "code": "astrology"}]}}, 422, "performerType"),
        ({"performer": [{"identifier": {"system": RECEIVERS, "value": "999999"}}]}, 422, "performer"),
        ({"performer": [{"display": "Dr Somebody"}]}, 422, "performer"),
        ({"intent": 7}, 400, None),
        ({"priority": "whenever"}, 422, "priority"),
        ({"resourceType": "Task"}, 400, "resourceType"),
    ],
)
def test_referral_create_refuses_bad_input_and_saves_nothing(api, patient, receiver, change, status, where):
    response = post(api, "/fhir/ServiceRequest", referral_body(patient, **change))
    assert response.status_code == status, response.content
    found = issue(response)
    if where is not None:
        assert where in (found.get("expression") or [""])[0]
    assert not Referral.objects.exists()
    assert not audit_rows(AuditAction.REFERRAL_CREATE)


def test_referral_create_needs_the_referral_permission(client_for, staff, patient):
    for role in (Role.BILLING, Role.FRONT_DESK):
        response = post(client_for(staff(role)), "/fhir/ServiceRequest", referral_body(patient))
        assert response.status_code == 403
    assert (
        post(client_for(portal_user_for(patient)), "/fhir/ServiceRequest", referral_body(patient)).status_code
        == 403
    )
    assert not Referral.objects.exists()


# --- Communication -------------------------------------------------------------------------------------


def call_body(patient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": CHANNELS, "code": "phone"}]}],
        "subject": {"reference": f"Patient/{patient.pk}"},
        "recipient": [{"reference": f"Patient/{patient.pk}"}],
        "topic": {"text": "TCM call"},
    }
    body.update(fields)
    return body


def test_communication_create_logs_an_unanswered_call_as_a_contact_attempt_on_the_task(
    api, patient, open_task
):
    sent = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0)
    response = post(
        api,
        "/fhir/Communication",
        call_body(
            patient,
            status="not-done",
            statusReason={"coding": [{"system": OUTCOMES, "code": "no_answer"}]},
            sent=sent.isoformat(),
            about=[{"reference": f"Task/{open_task.pk}"}],
            payload=[{"contentString": "Rang twice."}],
        ),
    )
    body = created(response, "Communication")
    FhirCommunication.model_validate(body)
    entry = Communication.objects.get()
    assert (entry.direction, entry.channel, entry.outcome, entry.party) == (
        "out",
        "phone",
        "no_answer",
        "patient",
    )
    assert (entry.subject, entry.body, entry.task_id, entry.occurred_at) == (
        "TCM call",
        "Rang twice.",
        open_task.pk,
        sent,
    )
    assert body["status"] == "not-done"
    assert body["about"] == [{"reference": f"Task/{open_task.pk}"}]
    assert open_task.comments.filter(kind=CommentKind.ATTEMPT).count() == 1
    same(api.get(f"/fhir/Communication/{entry.pk}").json(), body)
    assert audit_rows(AuditAction.COMMUNICATION_CREATE, patient_id=patient.pk)


def test_communication_create_inbound_email_about_a_referral_reads_back_the_same(
    api, coordinator_actor, patient
):
    referral = referrals.create_referral(
        actor=coordinator_actor,
        data=referrals.NewReferral(patient_id=patient.pk, specialty="cardiology", reason="Palpitations"),
    )
    body = created(
        post(
            api,
            "/fhir/Communication",
            {
                "resourceType": "Communication",
                "status": "completed",
                "medium": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
                                "code": "EMAILWRIT",
                            }
                        ]
                    }
                ],
                "subject": {"reference": f"Patient/{patient.pk}"},
                "sender": {"reference": f"Patient/{patient.pk}"},
                "topic": {"text": "Question about the cardiologist"},
                "about": [{"reference": f"ServiceRequest/referral-{referral.pk}"}],
            },
        ),
        "Communication",
    )
    entry = Communication.objects.get()
    assert (entry.direction, entry.channel, entry.outcome, entry.referral_id) == (
        "in",
        "email",
        "received",
        referral.pk,
    )
    assert body["sender"] == {"reference": f"Patient/{patient.pk}"}
    again = created(post(api, "/fhir/Communication", {**body, "id": None, "meta": None}), "Communication")
    same({**again, "id": body["id"]}, body)


def test_communication_create_about_an_appointment(api, clinic, patient):  # noqa: F811
    visit = book(clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    body = created(
        post(
            api, "/fhir/Communication", call_body(patient, about=[{"reference": f"Appointment/{visit.pk}"}])
        ),
        "Communication",
    )
    assert Communication.objects.get().appointment_id == visit.pk
    assert {"reference": f"Appointment/{visit.pk}", "display": "Appointment"} in body["about"]


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        (
            {
                "category": [{"coding": [{"system": CHANNELS, "code": "email"}]}],
                "statusReason": {"coding": [{"system": OUTCOMES, "code": "busy"}]},
            },
            422,
            "statusReason",
        ),
        ({"sent": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()}, 422, "sent"),
        ({"sent": "2026-01-01"}, 400, "sent"),
        ({"status": "in-progress"}, 422, "status"),
        ({"topic": None}, 422, "topic"),
        ({"category": None}, 422, "category"),
        ({"subject": {"reference": "Patient/999999"}}, 422, "subject"),
        ({"about": [{"reference": "Task/999999"}]}, 422, "about"),
        ({"about": [{"reference": "Appointment/999999"}]}, 422, "about"),
        ({"about": [{"reference": "Condition/1"}]}, 422, "about"),
    ],
)
def test_communication_create_refuses_bad_input_and_saves_nothing(api, patient, change, status, where):
    body = {k: v for k, v in call_body(patient, **change).items() if v is not None}
    response = post(api, "/fhir/Communication", body)
    assert response.status_code == status, response.content
    assert where in (issue(response).get("expression") or [""])[0]
    assert not Communication.objects.exists()
    assert not audit_rows(AuditAction.COMMUNICATION_CREATE)


def test_communication_create_refuses_another_patients_task_and_roles_without_the_log(
    api, client_for, staff, coordinator_actor, patient, open_task
):
    someone = make_patient(coordinator_actor, given_name="Ann", family_name="Other")
    response = post(
        api, "/fhir/Communication", call_body(someone, about=[{"reference": f"Task/{open_task.pk}"}])
    )
    assert response.status_code == 422
    assert post(client_for(staff(Role.BILLING)), "/fhir/Communication", call_body(patient)).status_code == 403
    assert (
        post(client_for(portal_user_for(patient)), "/fhir/Communication", call_body(patient)).status_code
        == 403
    )
    assert not Communication.objects.exists()


# --- the CapabilityStatement -----------------------------------------------------------------------------


def test_capability_statement_lists_the_new_interactions(client):
    body = client.get("/fhir/metadata").json()
    interactions = {r["type"]: {i["code"] for i in r["interaction"]} for r in body["rest"][0]["resource"]}
    assert {"create", "update"} <= interactions["Task"]
    assert "create" in interactions["ServiceRequest"]
    assert "create" in interactions["Communication"]
