"""The communication log over the JSON API: log a call about a task (it lands on the task's timeline),
list a patient's log (filtered by referral or task), read one entry; bad input is refused with nothing
written; another organization gets 404; a role without the permission 403; every read is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.messaging.models import Communication
from caredesk.patients import services as patient_services
from caredesk.referrals import services as referrals
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import CommentKind, TaskQueue, TaskType
from caredesk.worklist.models import TaskComment
from tests.interop.conftest import TokenClient, token_for
from tests.patients.factories import PDF_BYTES, make_patient, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    """`api(Role.NURSE)`: a client with the bearer token of a user of that role (one user per role)."""
    clients: dict[str, TokenClient] = {}

    def client(role: str = Role.COORDINATOR) -> TokenClient:
        if role not in clients:
            clients[role] = TokenClient(token_for(staff(role)))
        return clients[role]

    return client


@pytest.fixture
def coord(coordinator_actor):
    return coordinator_actor


@pytest.fixture
def task(coord, patient):
    return worklist.create_task(
        actor=coord,
        data=worklist.NewTask(
            title="TCM contact",
            patient_id=patient.pk,
            task_type=TaskType.TCM_CONTACT,
            queue=TaskQueue.CARE_COORDINATION,
            due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
        ),
    ).task


def post(client: Client, path: str, body: dict[str, Any]):
    return client.post(f"/api/v1{path}", body, content_type="application/json")


def test_log_a_call_about_a_task_then_list_and_read_it(api, patient, task):
    created = post(
        api(Role.NURSE),
        f"/patients/{patient.pk}/communications",
        {
            "direction": "out",
            "channel": "phone",
            "outcome": "no_answer",
            "subject": "TCM call after discharge",
            "duration_seconds": 45,
            "task_id": task.pk,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["task_id"] == task.pk
    assert body["outcome"] == "no_answer"
    assert created["Location"].endswith(f"/api/v1/communications/{body['id']}")
    # An unanswered outbound call about a task is a documented contact attempt on its timeline.
    assert TaskComment.objects.filter(task=task, kind=CommentKind.ATTEMPT).count() == 1

    post(
        api(),
        f"/patients/{patient.pk}/communications",
        {"direction": "in", "channel": "sms", "outcome": "received", "subject": "Thanks!"},
    )
    listed = api().get(f"/api/v1/patients/{patient.pk}/communications")
    assert listed.status_code == 200
    assert [e["subject"] for e in listed.json()["results"]] == ["Thanks!", "TCM call after discharge"]
    only_task = api().get(f"/api/v1/patients/{patient.pk}/communications", {"task_id": task.pk})
    assert [e["id"] for e in only_task.json()["results"]] == [body["id"]]

    read = api(Role.FRONT_DESK).get(f"/api/v1/communications/{body['id']}")
    assert read.status_code == 200
    assert read.json()["subject"] == "TCM call after discharge"
    assert read.json()["duration_seconds"] == 45
    assert AuditEvent.objects.filter(
        action=AuditAction.COMMUNICATION_VIEW, patient_id=patient.pk, object_id=str(body["id"])
    ).exists()
    assert AuditEvent.objects.filter(action=AuditAction.COMMUNICATION_SEARCH, patient_id=patient.pk).exists()


def test_linked_to_a_referral(api, patient, coord, settings, tmp_path):
    receiver = referrals.add_receiver(
        actor=coord,
        data=referrals.ReceiverInput(name="Heart Partners", specialty="cardiology", kind="organization"),
    )
    referral = referrals.create_referral(
        actor=coord,
        data=referrals.NewReferral(
            patient_id=patient.pk,
            specialty="cardiology",
            reason="Palpitations",
            receiver_id=receiver.pk,
            diagnoses=["R00.2"],
        ),
        send=True,
    )
    created = post(
        api(),
        f"/patients/{patient.pk}/communications",
        {
            "direction": "out",
            "channel": "fax",
            "outcome": "sent",
            "subject": "Referral packet faxed",
            "referral_id": referral.pk,
        },
    )
    assert created.status_code == 400  # an outbound fax names the document faxed
    assert created.json()["field"] == "document_id"
    settings.MEDIA_ROOT = tmp_path / "media"
    packet = patient_services.upload_document(
        actor=coord,
        patient_id=patient.pk,
        title="Referral packet",
        uploaded_file=upload("packet.pdf", PDF_BYTES),
    )
    created = post(
        api(),
        f"/patients/{patient.pk}/communications",
        {
            "direction": "out",
            "channel": "fax",
            "outcome": "sent",
            "subject": "Referral packet faxed",
            "referral_id": referral.pk,
            "document_id": packet.pk,
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["document_id"] == packet.pk
    listed = api().get(f"/api/v1/patients/{patient.pk}/communications", {"referral_id": referral.pk})
    assert [e["referral_id"] for e in listed.json()["results"]] == [referral.pk]


def test_bad_input_is_refused_and_nothing_is_written(api, patient, coord):
    path = f"/patients/{patient.pk}/communications"
    good = {"direction": "out", "channel": "phone", "outcome": "reached", "subject": "Check-in"}
    bad_channel = post(api(), path, {**good, "channel": "pigeon"})
    assert bad_channel.status_code == 400
    assert bad_channel.json()["field"] == "channel"
    assert post(api(), path, {**good, "subject": "  "}).status_code == 400
    assert post(api(), path, {**good, "unknown": 1}).status_code == 400
    assert post(api(), path, {**good, "duration_seconds": -1}).status_code == 400
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    assert post(api(), path, {**good, "occurred_at": future}).status_code == 400
    someone_else = make_patient(coord, family_name="Other", given_name="Olga")
    other_task = worklist.create_task(
        actor=coord,
        data=worklist.NewTask(
            title="Call",
            patient_id=someone_else.pk,
            queue=TaskQueue.CARE_COORDINATION,
            due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        ),
    ).task
    wrong_link = post(api(), path, {**good, "task_id": other_task.pk})
    assert wrong_link.status_code == 404
    assert wrong_link.json()["code"] == "linked_object_not_found"
    assert post(api(), "/patients/999999/communications", good).status_code == 404
    assert not Communication.objects.exists()


def test_permissions_and_other_organizations(api, other_api, patient):
    entry = post(
        api(),
        f"/patients/{patient.pk}/communications",
        {"direction": "out", "channel": "letter", "outcome": "sent", "subject": "Appointment letter"},
    ).json()
    outsider = other_api
    assert outsider.get(f"/api/v1/communications/{entry['id']}").status_code == 404
    assert outsider.get(f"/api/v1/patients/{patient.pk}/communications").status_code == 404
    assert (
        post(
            outsider,
            f"/patients/{patient.pk}/communications",
            {"direction": "out", "channel": "letter", "outcome": "sent", "subject": "x"},
        ).status_code
        == 404
    )
    assert api().get("/api/v1/communications/987654").status_code == 404
    assert Client().get(f"/api/v1/communications/{entry['id']}").status_code == 401
    billing = api(Role.BILLING)
    assert billing.get(f"/api/v1/communications/{entry['id']}").status_code == 403
    assert Communication.objects.count() == 1
