"""The worklist over the JSON API: the worklist with its filters and paging, one task with its timeline,
a task made by hand, assigning (one and many), snoozing, status changes and comments. Every refusal is a
4xx with its reason and changes nothing; another organization's task and another queue's (for a user who
works only their own) answer 404; a portal token gets 403; reads and writes land in the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.patients.models import Patient
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskQueue, TaskStatus
from caredesk.worklist.models import Task, TaskComment
from tests.interop.conftest import TokenClient, audit_rows, token_for

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def users(staff) -> dict[str, User]:
    return {role: staff(role) for role in (Role.NURSE, Role.FRONT_DESK, Role.BILLING)}


@pytest.fixture
def api(coordinator) -> TokenClient:
    return TokenClient(token_for(coordinator))


def client_of(user: User) -> TokenClient:
    return TokenClient(token_for(user))


def add_task(actor: Actor, title: str, queue: str = TaskQueue.CARE_COORDINATION, **more: Any) -> Task:
    return worklist.create_task(actor=actor, data=worklist.NewTask(title=title, queue=queue, **more)).task


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


# --- the worklist ------------------------------------------------------------------------------------


def test_the_worklist_filters_sorts_and_pages(api, coordinator, coordinator_actor, patient: Patient, users):
    nurse = users[Role.NURSE]
    add_task(coordinator_actor, "Mine, late", assignee_id=coordinator.pk, due_at=NOW - dt.timedelta(hours=2))
    add_task(coordinator_actor, "Unassigned, about the patient", patient_id=patient.pk)
    add_task(coordinator_actor, "The nurse's", queue=TaskQueue.NURSING, assignee_id=nurse.pk)
    done = add_task(coordinator_actor, "Finished")
    worklist.change_status(actor=coordinator_actor, task_id=done.pk, status=TaskStatus.DONE)

    assert titles(api.get("/api/v1/tasks?sort=due")) == [
        "Mine, late",
        "Unassigned, about the patient",
        "The nurse's",
    ]
    assert titles(api.get("/api/v1/tasks?assignee=me")) == ["Mine, late"]
    assert titles(api.get("/api/v1/tasks?assignee=unassigned")) == ["Unassigned, about the patient"]
    assert titles(api.get(f"/api/v1/tasks?assignee={nurse.pk}")) == ["The nurse's"]
    assert titles(api.get("/api/v1/tasks?queue=nursing")) == ["The nurse's"]
    assert titles(api.get("/api/v1/tasks?overdue=true")) == ["Mine, late"]
    assert titles(api.get("/api/v1/tasks?status=closed")) == ["Finished"]
    assert titles(api.get("/api/v1/tasks?task_type=follow_up_call")) == []

    by_patient = api.get(f"/api/v1/tasks?patient_id={patient.pk}").json()["results"]
    assert [(r["title"], r["patient_name"], r["patient_mrn"]) for r in by_patient] == [
        ("Unassigned, about the patient", "García, José", patient.mrn)
    ]
    late = api.get("/api/v1/tasks?assignee=me").json()["results"][0]
    assert late["sla_state"] == "overdue"
    assert late["assignee_id"] == coordinator.pk

    first = api.get("/api/v1/tasks?page_size=2").json()
    second = api.get("/api/v1/tasks?page_size=2&page=2").json()
    assert (len(first["results"]), first["has_next"]) == (2, True)
    assert (len(second["results"]), second["has_next"]) == (1, False)

    searches = audit_rows(AuditAction.TASK_SEARCH, actor_id=coordinator.pk)
    assert patient.pk in searches[0].detail["result_ids"]
    assert searches[8].detail["criteria"]["patient_id"] == patient.pk


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=finished", "status"),
        ("queue=kitchen", "queue"),
        ("assignee=somebody", "assignee"),
        ("sort=alphabet", "sort"),
        ("task_type=chores", "task_type"),
        ("page_size=500", "page_size"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(api, coordinator, query: str, field: str):
    response = api.get(f"/api/v1/tasks?{query}")
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert audit_rows(AuditAction.TASK_SEARCH, actor_id=coordinator.pk) == []


def test_a_user_of_one_queue_sees_it_and_what_is_assigned_to_them(coordinator_actor, users):
    front_desk = users[Role.FRONT_DESK]
    add_task(coordinator_actor, "Scan the papers", queue=TaskQueue.FRONT_DESK)
    nursing = add_task(coordinator_actor, "Check the wound", queue=TaskQueue.NURSING)
    add_task(coordinator_actor, "Call the lab", queue=TaskQueue.NURSING, assignee_id=front_desk.pk)
    client = client_of(front_desk)

    assert titles(client.get("/api/v1/tasks")) == ["Scan the papers", "Call the lab"]
    assert client.get(f"/api/v1/tasks/{nursing.pk}").json()["code"] == "task_not_found"
    counts = client.get("/api/v1/task-queues").json()["results"]
    assert {(c["queue"], c["active"]) for c in counts} == {("front_desk", 1), ("nursing", 1)}


# --- one task ----------------------------------------------------------------------------------------


def test_a_task_reads_with_its_timeline_and_is_audited(api, coordinator, coordinator_actor, patient):
    task = add_task(coordinator_actor, "Call the patient", patient_id=patient.pk, assignee_id=coordinator.pk)
    worklist.add_comment(actor=coordinator_actor, task_id=task.pk, body="No answer.", kind="attempt")

    response = api.get(f"/api/v1/tasks/{task.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["patient_name"] == "García, José"
    assert body["attempts"] == 1
    assert [c["kind"] for c in body["comments"]] == ["event", "attempt"]
    assert body["comments"][1]["body"] == "No answer."
    assert set(body["allowed_statuses"]) == {"in_progress", "waiting", "done", "cancelled"}
    assert audit_rows(AuditAction.TASK_VIEW, actor_id=coordinator.pk, patient_id=patient.pk)


def test_another_organization_and_a_portal_token_cannot_reach_a_task(
    coordinator_actor, other_api, make_user, org, patient
):
    task = add_task(coordinator_actor, "Call the patient", patient_id=patient.pk)
    portal = client_of(make_user(Role.PATIENT, org, patient=patient))

    assert other_api.get(f"/api/v1/tasks/{task.pk}").status_code == 404
    assert titles(other_api.get("/api/v1/tasks")) == []
    assert portal.get(f"/api/v1/tasks/{task.pk}").status_code == 403
    assert portal.get("/api/v1/tasks").status_code == 403
    assert TokenClient("nonsense").get("/api/v1/tasks").status_code == 401


def test_creating_a_task(api, coordinator, patient, users):
    response = api.post_json(
        "/api/v1/tasks",
        {
            "title": "Arrange transport",
            "queue": "nursing",
            "task_type": "follow_up_call",
            "priority": 1,
            "patient_id": patient.pk,
            "assignee_id": users[Role.NURSE].pk,
            "due_at": (NOW + dt.timedelta(days=1)).isoformat(),
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/tasks/{body['id']}")
    assert (body["queue"], body["priority_label"], body["assignee_id"]) == (
        "nursing",
        "Urgent",
        users[Role.NURSE].pk,
    )
    assert body["created_by_name"]
    assert audit_rows(AuditAction.TASK_CREATE, actor_id=coordinator.pk, patient_id=patient.pk)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"queue": "nursing"}, 400, "validation_error", "title"),
        ({"title": "x", "queue": "nursing", "priority": 9}, 400, "validation_error", "priority"),
        ({"title": "x", "queue": "kitchen"}, 400, "validation_error", "queue"),
        ({"title": "x", "queue": "nursing", "task_type": "chores"}, 400, "validation_error", "task_type"),
        (
            {"title": "x", "queue": "nursing", "due_at": "2026-01-01T10:00:00"},
            400,
            "validation_error",
            "due_at",
        ),
        ({"title": "x", "queue": "nursing", "patient_id": 999999}, 404, "patient_not_found", "patient_id"),
        ({"title": "x", "queue": "nursing", "mood": "good"}, 400, "validation_error", "mood"),
    ],
)
def test_a_bad_new_task_is_refused_and_nothing_is_created(api, body, status, code, field):
    response = api.post_json("/api/v1/tasks", body)
    assert response.status_code == status, response.content
    assert (response.json()["code"], response.json().get("field")) == (code, field)
    assert not Task.objects.exists()


def test_a_front_desk_user_creates_only_in_their_own_queue(users):
    client = client_of(users[Role.FRONT_DESK])
    refused = client.post_json("/api/v1/tasks", {"title": "Help", "queue": "nursing"})
    assert (refused.status_code, refused.json()["code"]) == (400, "task_queue_not_allowed")
    assert not Task.objects.exists()
    assert client.post_json("/api/v1/tasks", {"title": "Help", "queue": "front_desk"}).status_code == 201


# --- assigning ---------------------------------------------------------------------------------------


def test_assigning_taking_and_letting_go(api, coordinator, coordinator_actor, patient, users):
    nurse, front_desk = users[Role.NURSE], users[Role.FRONT_DESK]
    task = add_task(coordinator_actor, "Scan the papers", queue=TaskQueue.FRONT_DESK, patient_id=patient.pk)

    given = api.post_json(f"/api/v1/tasks/{task.pk}/assign", {"assignee_id": nurse.pk, "version": 1})
    assert given.status_code == 200, given.content
    assert (given.json()["assignee_id"], given.json()["version"]) == (nurse.pk, 2)
    assert audit_rows(AuditAction.TASK_ASSIGNMENT_CHANGED, actor_id=coordinator.pk, patient_id=patient.pk)

    stale = api.post_json(f"/api/v1/tasks/{task.pk}/assign", {"assignee_id": None, "version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "task_stale")

    desk = client_of(front_desk)
    to_someone_else = desk.post_json(f"/api/v1/tasks/{task.pk}/assign", {"assignee_id": coordinator.pk})
    assert to_someone_else.status_code == 403
    taken = desk.post_json(f"/api/v1/tasks/{task.pk}/assign", {"assignee_id": "me"})
    assert taken.json()["assignee_id"] == front_desk.pk
    let_go = desk.post_json(f"/api/v1/tasks/{task.pk}/assign", {"assignee_id": None})
    assert let_go.json()["assignee_id"] is None

    stranger = api.post_json(f"/api/v1/tasks/{task.pk}/assign", {"assignee_id": 999999})
    assert (stranger.status_code, stranger.json()["code"]) == (400, "task_invalid_assignee")
    task.refresh_from_db()
    assert task.assignee_id is None


def test_bulk_assign_reports_what_it_skipped(api, coordinator_actor, make_user, other_org, users):
    nurse = users[Role.NURSE]
    open_one = add_task(coordinator_actor, "One")
    already = add_task(coordinator_actor, "Two", assignee_id=nurse.pk)
    closed = add_task(coordinator_actor, "Three")
    worklist.change_status(actor=coordinator_actor, task_id=closed.pk, status=TaskStatus.DONE)
    foreign = add_task(actor_for_user(make_user(Role.COORDINATOR, other_org, username="foreigner")), "Theirs")

    response = api.post_json(
        "/api/v1/tasks/bulk-assign",
        {"task_ids": [open_one.pk, already.pk, closed.pk, foreign.pk], "assignee_id": nurse.pk},
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "assigned": [open_one.pk],
        "unchanged": [already.pk],
        "skipped": sorted([closed.pk, foreign.pk]),
    }
    foreign.refresh_from_db()
    assert foreign.assignee_id is None


def test_bulk_assign_refuses_an_empty_list_and_a_forbidden_handover(
    api, coordinator_actor, coordinator, users
):
    assert (
        api.post_json("/api/v1/tasks/bulk-assign", {"task_ids": [], "assignee_id": None}).status_code == 400
    )
    task = add_task(coordinator_actor, "Scan", queue=TaskQueue.FRONT_DESK)
    desk = client_of(users[Role.FRONT_DESK])
    refused = desk.post_json(
        "/api/v1/tasks/bulk-assign", {"task_ids": [task.pk], "assignee_id": coordinator.pk}
    )
    assert refused.status_code == 403
    task.refresh_from_db()
    assert task.assignee_id is None


# --- snooze, status, comments ------------------------------------------------------------------------


def test_snoozing_hides_a_task_until_it_is_woken(api, coordinator_actor):
    task = add_task(coordinator_actor, "Later")
    until = (NOW + dt.timedelta(days=1)).isoformat()

    snoozed = api.post_json(f"/api/v1/tasks/{task.pk}/snooze", {"until": until})
    assert snoozed.status_code == 200, snoozed.content
    assert snoozed.json()["snoozed"] is True
    assert titles(api.get("/api/v1/tasks")) == []
    assert titles(api.get("/api/v1/tasks?include_snoozed=true")) == ["Later"]

    past = api.post_json(
        f"/api/v1/tasks/{task.pk}/snooze", {"until": (NOW - dt.timedelta(hours=1)).isoformat()}
    )
    assert (past.status_code, past.json()["field"]) == (400, "until")
    assert api.post_json(f"/api/v1/tasks/{task.pk}/snooze", {"until": None}).json()["snoozed"] is False
    assert titles(api.get("/api/v1/tasks")) == ["Later"]


def test_status_changes_follow_the_rules(api, coordinator, coordinator_actor, patient):
    task = add_task(coordinator_actor, "Do it", patient_id=patient.pk)

    started = api.post_json(f"/api/v1/tasks/{task.pk}/status", {"status": "in_progress"})
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "in_progress"
    assert audit_rows(AuditAction.TASK_STATUS_CHANGED, actor_id=coordinator.pk, patient_id=patient.pk)

    again = api.post_json(f"/api/v1/tasks/{task.pk}/status", {"status": "in_progress"})
    assert (again.status_code, again.json()["code"]) == (409, "task_invalid_transition")
    no_reason = api.post_json(f"/api/v1/tasks/{task.pk}/status", {"status": "cancelled"})
    assert (no_reason.status_code, no_reason.json()["field"]) == (400, "note")
    unknown = api.post_json(f"/api/v1/tasks/{task.pk}/status", {"status": "paused"})
    assert (unknown.status_code, unknown.json()["field"]) == (400, "status")
    task.refresh_from_db()
    assert (task.status, task.version) == ("in_progress", 2)

    cancelled = api.post_json(
        f"/api/v1/tasks/{task.pk}/status", {"status": "cancelled", "note": "Duplicate."}
    )
    assert cancelled.json()["closed_at"] is not None
    assert cancelled.json()["comments"][-1]["body"].endswith("Duplicate.")


def test_comments_and_contact_attempts(api, coordinator, coordinator_actor, patient):
    task = add_task(coordinator_actor, "Reach the patient", patient_id=patient.pk)

    added = api.post_json(f"/api/v1/tasks/{task.pk}/comments", {"body": "Voicemail left.", "kind": "attempt"})
    assert added.status_code == 201, added.content
    assert added.json()["attempts"] == 1
    rows = audit_rows(AuditAction.TASK_COMMENT_ADD, actor_id=coordinator.pk, patient_id=patient.pk)
    assert rows[0].detail["kind"] == "attempt"
    assert "Voicemail" not in str(rows[0].detail)

    assert api.post_json(f"/api/v1/tasks/{task.pk}/comments", {"body": ""}).status_code == 400
    worklist.change_status(actor=coordinator_actor, task_id=task.pk, status=TaskStatus.DONE)
    late = api.post_json(f"/api/v1/tasks/{task.pk}/comments", {"body": "Tried again.", "kind": "attempt"})
    assert (late.status_code, late.json()["code"]) == (409, "task_closed")
    assert TaskComment.objects.filter(task=task, kind="attempt").count() == 1
