"""Worklist tasks -> FHIR R4 Task (validated with fhir.resources.R4B), with the read and search handlers
(registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

Status: open -> `requested` (nobody assigned yet) or `ready` (assigned), in progress -> `in-progress`,
waiting -> `on-hold`, done -> `completed`, cancelled -> `cancelled`; the worklist's SLA state ("Overdue",
"Due soon" ...) is the `businessStatus`. Priority: urgent -> `asap`, high -> `urgent`, normal and low ->
`routine`. The task type is the `code` (`urn:caredesk:task-type`), the title the `description`, the
patient `for`, the queue the `performerType`, the assignee (a user, not a FHIR resource) the `owner` by
identifier (`urn:caredesk:user`). The due time is `restriction.period.end`; `executionPeriod` runs from
creation to when the task was closed. What caused it is the `focus` (a reference when it is served here,
an identifier otherwise).

Staff see the tasks of their queues (worklist scope). Tasks are the staff's own work (titles such as a claim
follow-up or a patient-match review are not written for patients): portal tokens get none.
Reads and searches are audited by the worklist selectors.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.task import Task as FhirTask

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.worklist import clock, rules, selectors
from caredesk.worklist.choices import SlaState, TaskPriority, TaskStatus, TaskType
from caredesk.worklist.errors import TaskNotFound
from caredesk.worklist.models import Task

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

TASK_TYPE_SYSTEM = "urn:caredesk:task-type"
QUEUE_SYSTEM = "urn:caredesk:task-queue"
USER_SYSTEM = "urn:caredesk:user"
MAX_ID = 2**63 - 1
PRIORITY: dict[int, str] = {
    TaskPriority.URGENT: "asap",
    TaskPriority.HIGH: "urgent",
    TaskPriority.NORMAL: "routine",
    TaskPriority.LOW: "routine",
}
STATUS: dict[str, str] = {
    TaskStatus.IN_PROGRESS: "in-progress",
    TaskStatus.WAITING: "on-hold",
    TaskStatus.DONE: "completed",
    TaskStatus.CANCELLED: "cancelled",
}
#: FHIR status searched -> (our statuses, assigned or not (None: either)).
SEARCH_STATUS: dict[str, tuple[tuple[str, ...], bool | None]] = {
    "requested": ((TaskStatus.OPEN,), False),
    "ready": ((TaskStatus.OPEN,), True),
    "in-progress": ((TaskStatus.IN_PROGRESS,), None),
    "on-hold": ((TaskStatus.WAITING,), None),
    "completed": ((TaskStatus.DONE,), None),
    "cancelled": ((TaskStatus.CANCELLED,), None),
}
#: Causes that are FHIR resources served here.
FOCUS_RESOURCES = {"scheduling.appointment": "Appointment", "careplans.careplan": "CarePlan"}
SEARCH_PARAMS = ("patient", "subject", "status", "owner", "code")
SUPPORT = ResourceSupport(
    "Task",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "The patient the task is for"),
        SearchParam("status", "token", "requested, ready, in-progress, on-hold, completed or cancelled"),
        SearchParam("owner", "reference", f"The assignee's user id ({USER_SYSTEM})"),
        SearchParam("code", "token", f"The task type ({TASK_TYPE_SYSTEM}|tcm_contact)"),
    ),
)


def fhir_status(task: Task) -> str:
    if task.status == TaskStatus.OPEN:
        return "ready" if task.assignee_id is not None else "requested"
    return STATUS.get(task.status, "unknown")


def _focus(task: Task) -> dict[str, Any] | None:
    if not (task.source_type and task.source_id):
        return None
    resource = FOCUS_RESOURCES.get(task.source_type)
    if resource is not None and task.source_id.isdigit():
        return {"reference": f"{resource}/{task.source_id}"}
    return {"identifier": {"system": f"urn:caredesk:{task.source_type}", "value": task.source_id}}


def task_to_fhir(task: Task) -> FhirTask:
    sla = rules.sla_state(task.status, task.due_at, clock.now())
    description = task.title if not task.description else f"{task.title}\n\n{task.description}"
    data: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(task.pk),
        "meta": {"lastUpdated": instant(task.updated_at), "versionId": str(task.version)},
        "status": fhir_status(task),
        "businessStatus": {"text": SlaState(sla).label},
        "intent": "order",
        "priority": PRIORITY.get(task.priority, "routine"),
        "code": {
            "coding": [
                {
                    "system": TASK_TYPE_SYSTEM,
                    "code": task.task_type,
                    "display": TaskType(task.task_type).label,
                }
            ],
            "text": TaskType(task.task_type).label,
        },
        "description": description,
        "focus": _focus(task),
        "for": {"reference": f"Patient/{task.patient_id}"} if task.patient_id else None,
        "executionPeriod": {
            "start": instant(task.created_at),
            "end": instant(task.closed_at) if task.closed_at else None,
        },
        "authoredOn": instant(task.created_at),
        "lastModified": instant(task.updated_at),
        "requester": {"display": task.created_by_name},
        "performerType": [
            {"coding": [{"system": QUEUE_SYSTEM, "code": task.queue, "display": task.get_queue_display()}]}
        ],
        "owner": {
            "identifier": {"system": USER_SYSTEM, "value": str(task.assignee_id)},
            "display": task.assignee.display_name,
        }
        if task.assignee is not None
        else None,
        "restriction": {"period": {"end": instant(task.due_at)}},
    }
    return FhirTask.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


def _criteria(actor: Actor, search: params.Search) -> selectors.TaskSearch | None:
    """The search as worklist criteria; None when nothing can match (an unknown code or patient)."""
    criteria: dict[str, Any] = {}
    if "patient" in search.values or "subject" in search.values:
        _, reference = params.patient_reference(search)
        criteria["patient_id"] = _number(reference)
        if criteria["patient_id"] is None:
            return None
    status = search.values.get("status")
    if status is not None:
        if status not in SEARCH_STATUS:
            raise params.invalid(
                f"status must be one of {', '.join(SEARCH_STATUS)}, not {status!r}.", "status"
            )
        criteria["statuses"], criteria["assigned"] = SEARCH_STATUS[status]
    owner = search.values.get("owner")
    if owner is not None:
        system, _, value = owner.rpartition("|")
        value = value.rpartition("/")[2]
        if (system and system != USER_SYSTEM) or _number(value) is None:
            raise params.invalid(f"owner must be a user id ({USER_SYSTEM}), not {owner!r}.", "owner")
        criteria["assignee_id"] = _number(value)
    code = search.values.get("code")
    if code is not None:
        system, _, value = code.rpartition("|")
        if (system and system != TASK_TYPE_SYSTEM) or value not in TaskType.values:
            return None
        criteria["task_type"] = value
    return selectors.TaskSearch(**criteria)


@operation(
    "GET",
    "/Task/{entry_id}",
    Permission.TASK_VIEW,
    summary="Read a Task",
)
def read_task(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """One worklist task."""
    pk = _number(entry_id)
    if pk is None:
        raise FhirError.single(404, "not-found", f"No Task with id {entry_id!r}.")
    try:
        task = selectors.read_task(actor=_actor(actor), task_id=pk)
    except TaskNotFound as exc:
        raise FhirError.single(404, "not-found", f"No Task with id {entry_id!r}.") from exc
    return fhir_response(task_to_fhir(task))


@operation(
    "GET",
    "/Task",
    Permission.TASK_VIEW,
    summary="Search Task by patient, status, owner, code",
)
def search_tasks(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    """Most pressing first (by due time, then priority)."""
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    criteria = _criteria(actor, search)
    tasks: list[Task] = []
    has_next = False
    if criteria is not None:
        tasks, has_next = selectors.search_tasks(
            actor=actor, search=criteria, page=search.page, page_size=search.count
        )
    base = base_url(request)
    links = PageLinks(f"{base}/Task", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(tasks), has_next)
    return fhir_response(
        searchset([task_to_fhir(t) for t in tasks], resource_url=base, links=links, total=total)
    )
