"""The worklist in the JSON API (/api/v1/...): the worklist with its filters and queue counts, one task with
its timeline, a task made by hand, and the actions of the task page (assign one or many, snooze, change
status, comment or document a contact attempt).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Each handler calls one worklist selector or service,
which check the scope (another organization's task, or another queue's for a user who works only their
own, answers 404 `task_not_found`) and write the audit rows the pages write. Refusals: 409
`task_invalid_transition`, `task_closed`, `task_stale` (a `version` older than the task's); 400 with the
field at fault (`task_invalid_assignee`, `task_queue_not_allowed`, `validation_error`).

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field, field_validator

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.worklist import selectors, services
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType
from caredesk.worklist.models import MAX_TITLE

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

TaskId = PathEx[int, P(ge=1, le=MAX_ID, description="The task's id")]
TAGS = ["worklist"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}
Me = Literal["me"]


# --- bodies ------------------------------------------------------------------------------------------


class TaskRowOut(Schema):
    id: int
    title: str
    task_type: str
    type_label: str
    queue: str
    queue_label: str
    priority: int = Field(description="1 urgent, 2 high, 3 normal, 4 low")
    priority_label: str
    status: str
    status_label: str
    due_at: dt.datetime
    sla_state: str = Field(description="on_track, due_soon, overdue or closed")
    sla_text: str = Field(examples=["overdue by 2 h"])
    snoozed_until: dt.datetime | None
    snoozed: bool
    patient_id: int | None
    patient_name: str = Field(description='"Family, Given"; empty without a patient')
    patient_mrn: str
    assignee_id: int | None
    assignee_name: str = Field(description="Empty when unassigned")


class TaskPageOut(Schema):
    results: list[TaskRowOut]
    page: int
    page_size: int
    has_next: bool


class QueueCountOut(Schema):
    queue: str
    label: str
    active: int
    overdue: int
    more_active: bool = Field(description=f"More than {selectors.COUNT_CAP} active tasks")
    more_overdue: bool


class QueueCountListOut(Schema):
    results: list[QueueCountOut]


class CommentOut(Schema):
    id: int
    kind: str = Field(description="comment, attempt (a documented contact attempt) or event")
    body: str
    author_id: int | None
    author_name: str
    created_at: dt.datetime


class TaskOut(TaskRowOut):
    description: str
    source_type: str = Field(description='What caused the task, e.g. "transitions.encounter"')
    source_id: str
    created_by_name: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    version: int = Field(description="Send it back with a change (optimistic locking)")
    attempts: int = Field(description="Documented contact attempts")
    allowed_statuses: list[str] = Field(description="The statuses the task may move to")
    comments: list[CommentOut] = Field(description="The timeline, oldest first")


class TaskFilters(Schema):
    queue: str = Field("", description="A queue; empty: every queue you see")
    assignee: str = Field("", description="me, unassigned or a user id; empty: anyone")
    status: str = Field("active", description="active, closed, all, or one status")
    task_type: str = Field("", description="A task type; empty: any")
    overdue: bool = Field(False, description="Only active tasks past their due time")
    include_snoozed: bool = False
    patient_id: int | None = Field(None, ge=1, le=MAX_ID)
    sort: str = Field("due", description="due, priority or newest")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=selectors.MAX_PAGE_SIZE)

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        return _one_of(value, ["", *TaskQueue.values], "queue")

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return _one_of(value, list(selectors.STATUS_FILTERS), "status")

    @field_validator("task_type")
    @classmethod
    def _task_type(cls, value: str) -> str:
        return _one_of(value, ["", *TaskType.values], "task type")

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str) -> str:
        return _one_of(value, list(selectors.SORTS), "sort")

    @field_validator("assignee")
    @classmethod
    def _assignee(cls, value: str) -> str:
        if value in ("", "me", "unassigned") or selectors.parse_id(value) is not None:
            return value
        raise ValueError("Use me, unassigned or a user id.")


def _one_of(value: str, allowed: list[str], label: str) -> str:
    if value not in allowed:
        raise ValueError(f"Not a {label}; use one of: {', '.join(a for a in allowed if a)}.")
    return value


class NewTaskIn(InputSchema):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    queue: str = Field(description="The queue that owns the task (yours, unless you work every queue)")
    task_type: str = Field(TaskType.GENERAL.value, description="general, follow_up_call, ...")
    description: str = Field("", max_length=services.MAX_DESCRIPTION)
    priority: int = Field(TaskPriority.NORMAL.value, ge=1, le=4, description="1 urgent … 4 low")
    due_at: dt.datetime | None = Field(None, description="With its UTC offset; empty: the type's usual SLA")
    patient_id: int | None = Field(None, ge=1, le=MAX_ID)
    assignee_id: int | Me | None = Field(None, description="A user id, or me")


class AssignIn(InputSchema):
    assignee_id: int | Me | None = Field(description="A user id, me, or null to unassign")
    version: int | None = Field(None, description="The version you read; 409 task_stale if it changed")


class BulkAssignIn(InputSchema):
    task_ids: list[int] = Field(min_length=1, max_length=services.MAX_BULK)
    assignee_id: int | Me | None = Field(description="A user id, me, or null to unassign")


class BulkAssignOut(Schema):
    assigned: list[int]
    unchanged: list[int] = Field(description="Already had that assignee")
    skipped: list[int] = Field(description="Closed, or not found among the tasks you may see")


class SnoozeIn(InputSchema):
    until: dt.datetime | None = Field(
        description="With its UTC offset (at most 90 days ahead); null: wake it"
    )
    version: int | None = None


class StatusIn(InputSchema):
    status: str = Field(description="open, in_progress, waiting, done or cancelled")
    note: str = Field("", max_length=services.MAX_COMMENT, description="Required to cancel (the reason)")
    version: int | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return _one_of(value, list(TaskStatus.values), "status")


class CommentIn(InputSchema):
    body: str = Field(min_length=1, max_length=services.MAX_COMMENT)
    kind: Literal["comment", "attempt"] = Field(
        "comment", description="attempt: a documented unsuccessful contact attempt (counts toward TCM)"
    )


# --- translation -------------------------------------------------------------------------------------


def _user_id(actor: Actor, value: int | str | None) -> int | None:
    if value == "me":
        return actor.user_id
    return value if isinstance(value, int) else None


def _row_out(row: selectors.WorklistRow) -> dict[str, Any]:
    task = row.task
    return {
        "id": task.pk,
        "title": task.title,
        "task_type": task.task_type,
        "type_label": row.type_label,
        "queue": task.queue,
        "queue_label": row.queue_label,
        "priority": task.priority,
        "priority_label": row.priority_label,
        "status": task.status,
        "status_label": row.status_label,
        "due_at": task.due_at,
        "sla_state": row.sla_state,
        "sla_text": row.sla_text,
        "snoozed_until": task.snoozed_until,
        "snoozed": row.snoozed,
        "patient_id": task.patient_id,
        "patient_name": row.patient_name,
        "patient_mrn": row.patient_mrn,
        "assignee_id": task.assignee_id,
        "assignee_name": row.assignee_name,
    }


def _task_out(detail: selectors.TaskDetail) -> dict[str, Any]:
    task = detail.task
    patient = task.patient if task.patient_id is not None else None
    assignee = task.assignee if task.assignee_id is not None else None
    return {
        "id": task.pk,
        "title": task.title,
        "task_type": task.task_type,
        "type_label": task.get_task_type_display(),
        "queue": task.queue,
        "queue_label": task.get_queue_display(),
        "priority": task.priority,
        "priority_label": task.get_priority_display(),
        "status": task.status,
        "status_label": task.get_status_display(),
        "due_at": task.due_at,
        "sla_state": detail.sla_state,
        "sla_text": detail.sla_text,
        "snoozed_until": task.snoozed_until,
        "snoozed": detail.snoozed,
        "patient_id": task.patient_id,
        "patient_name": f"{patient.family_name}, {patient.given_name}" if patient is not None else "",
        "patient_mrn": patient.mrn if patient is not None else "",
        "assignee_id": task.assignee_id,
        "assignee_name": assignee.display_name if assignee is not None else "",
        "description": task.description,
        "source_type": task.source_type,
        "source_id": task.source_id,
        "created_by_name": task.created_by_name,
        "created_at": task.created_at,
        "closed_at": task.closed_at,
        "version": task.version,
        "attempts": detail.attempts,
        "allowed_statuses": detail.allowed_statuses,
        "comments": detail.comments,
    }


def _read(request: HttpRequest, task_id: int) -> dict[str, Any]:
    return _task_out(selectors.get_task(actor=actor_of(request), task_id=task_id))


# --- the worklist ------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/tasks",
    Permission.TASK_VIEW,
    response={200: TaskPageOut, **ERRORS},
    summary="The worklist",
    tags=TAGS,
)
def list_tasks(request: HttpRequest, filters: Query[TaskFilters]) -> Any:
    """Tasks of the queues you work and tasks assigned to you, most pressing first (`sort`: due,
    priority, newest). Snoozed tasks are hidden unless `include_snoozed`. Audited (one search row with the
    criteria, the task ids and the patient ids shown)."""
    found = selectors.list_tasks(
        actor=actor_of(request),
        query=selectors.WorklistQuery(
            queue=filters.queue,
            assignee=filters.assignee,
            status=filters.status,
            task_type=filters.task_type,
            overdue_only=filters.overdue,
            include_snoozed=filters.include_snoozed,
            patient_id=filters.patient_id,
            sort=filters.sort,
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return {
        "results": [_row_out(row) for row in found.rows],
        "page": found.page,
        "page_size": found.page_size,
        "has_next": found.has_next,
    }


@endpoint(
    "GET",
    "/task-queues",
    Permission.TASK_VIEW,
    response={200: QueueCountListOut, **ERRORS},
    summary="Active and overdue tasks per queue",
    tags=TAGS,
)
def queue_counts(request: HttpRequest) -> Any:
    """The queues you work (and others where tasks are assigned to you) with their active and overdue
    counts; beyond 999 a count says `more_active` / `more_overdue` instead. No patient data."""
    return {"results": selectors.queue_counts(actor=actor_of(request))}


@endpoint(
    "POST",
    "/tasks/bulk-assign",
    Permission.TASK_WORK,
    response={200: BulkAssignOut, **WRITE_ERRORS},
    summary="Assign many tasks at once",
    tags=TAGS,
)
def bulk_assign(request: HttpRequest, payload: BulkAssignIn) -> Any:
    """Up to 200 tasks in one go. Closed tasks and tasks you cannot see are skipped and listed, not
    fatal; a task you may not give to that person refuses the whole request (403) and changes nothing."""
    actor = actor_of(request)
    outcome = services.bulk_assign(
        actor=actor, task_ids=payload.task_ids, assignee_id=_user_id(actor, payload.assignee_id)
    )
    return {
        "assigned": [task.pk for task in outcome.assigned],
        "unchanged": outcome.unchanged,
        "skipped": outcome.skipped,
    }


# --- one task ----------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/tasks/{task_id}",
    Permission.TASK_VIEW,
    response={200: TaskOut, **ERRORS},
    summary="Read a task",
    tags=TAGS,
)
def read_task(request: HttpRequest, task_id: TaskId) -> Any:
    """One task with its timeline (comments, contact attempts, events) and the statuses it may move to.
    Audited when it concerns a patient."""
    return _read(request, task_id)


@endpoint(
    "POST",
    "/tasks",
    Permission.TASK_WORK,
    response={201: TaskOut, **WRITE_ERRORS},
    summary="Put a task on the worklist",
    tags=TAGS,
)
def create_task(request: HttpRequest, payload: NewTaskIn, response: HttpResponse) -> Any:
    """A task made by hand, in a queue you work (400 `task_queue_not_allowed` otherwise), optionally about
    a patient and given to someone (assigning to others needs `worklist:task:assign`)."""
    actor = actor_of(request)
    created = services.create_task(
        actor=actor,
        data=services.NewTask(
            title=payload.title,
            queue=payload.queue,
            task_type=payload.task_type,
            patient_id=payload.patient_id,
            description=payload.description,
            priority=payload.priority,
            due_at=payload.due_at,
            assignee_id=_user_id(actor, payload.assignee_id),
        ),
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/tasks/{created.task.pk}")
    return Status(201, _read(request, created.task.pk))


@endpoint(
    "POST",
    "/tasks/{task_id}/assign",
    Permission.TASK_WORK,
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Assign a task",
    tags=TAGS,
)
def assign_task(request: HttpRequest, task_id: TaskId, payload: AssignIn) -> Any:
    """Give the task to someone (`worklist:task:assign`), take it (`"assignee_id": "me"`) or let go of your
    own (`null`). Closed tasks keep their assignee (409 `task_closed`)."""
    actor = actor_of(request)
    services.assign_task(
        actor=actor,
        task_id=task_id,
        assignee_id=_user_id(actor, payload.assignee_id),
        expected_version=payload.version,
    )
    return _read(request, task_id)


@endpoint(
    "POST",
    "/tasks/{task_id}/snooze",
    Permission.TASK_WORK,
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Snooze or wake a task",
    tags=TAGS,
)
def snooze_task(request: HttpRequest, task_id: TaskId, payload: SnoozeIn) -> Any:
    """Hide an active task from the worklist until `until` (`null` wakes it). The due time is unchanged:
    a snoozed task still counts and still turns overdue."""
    services.snooze_task(
        actor=actor_of(request), task_id=task_id, until=payload.until, expected_version=payload.version
    )
    return _read(request, task_id)


@endpoint(
    "POST",
    "/tasks/{task_id}/status",
    Permission.TASK_WORK,
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Change a task's status",
    tags=TAGS,
)
def change_status(request: HttpRequest, task_id: TaskId, payload: StatusIn) -> Any:
    """Start, wait, finish, cancel (with the reason in `note`) or reopen; 409 `task_invalid_transition`
    when the status cannot follow the current one (see `allowed_statuses`)."""
    services.change_status(
        actor=actor_of(request),
        task_id=task_id,
        status=payload.status,
        note=payload.note,
        expected_version=payload.version,
    )
    return _read(request, task_id)


@endpoint(
    "POST",
    "/tasks/{task_id}/comments",
    Permission.TASK_WORK,
    response={201: TaskOut, **WRITE_ERRORS},
    summary="Comment on a task, or document a contact attempt",
    tags=TAGS,
)
def add_comment(request: HttpRequest, task_id: TaskId, payload: CommentIn) -> Any:
    """A comment, or (`"kind": "attempt"`, active tasks only) a documented unsuccessful contact attempt:
    two timely attempts on a TCM contact task count as the interactive contact. The audit row names the
    kind, never the text."""
    services.add_comment(actor=actor_of(request), task_id=task_id, body=payload.body, kind=payload.kind)
    return Status(201, _read(request, task_id))
