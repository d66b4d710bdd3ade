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

Create (TASK_WORK) puts a task on the worklist through worklist.services.create_task: `description` is the
title (text after a blank line is the task's description), `for` the patient (optional), `code` the task
type (`urn:caredesk:task-type`, general when left out), `performerType` the queue (`urn:caredesk:task-queue`;
the creator's home queue when left out), `priority` (routine -> normal, urgent -> high, asap and stat ->
urgent), `restriction.period.end` the due time (with its UTC offset; the type's SLA when left out) and
`owner` the assignee: a `Practitioner/[id]` who has a user account, or the user by identifier
(`urn:caredesk:user`). A new task is `requested` or `ready`. `businessStatus` is worked out from the due
time, so it is not taken from the client; `focus` and other elements are not stored.
Update (PUT, TASK_WORK) changes the status or the owner, one at a time, through worklist.services
(`change_status`, `assign_task`); cancelling says why in `statusReason.text` (required), which goes on the
task's timeline with any other status change. `If-Match: W/"[version]"` refuses a stale change with 412.
Refused requests change nothing: 400 malformed, 403 without the permission (or assigning others' work
without TASK_ASSIGN), 409 a transition the worklist does not allow, 422 anything else the worklist refuses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.task import Task as FhirTask

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.worklist import clock, rules, selectors, services
from caredesk.worklist.choices import SlaState, TaskPriority, TaskQueue, TaskStatus, TaskType
from caredesk.worklist.errors import StaleTask, TaskNotFound
from caredesk.worklist.models import Task

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, read_json_body, search_pairs, validate
from .outcomes import FhirError, write_error

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
    ("read", "search-type", "create", "update"),
    (
        SearchParam("patient", "reference", "The patient the task is for"),
        SearchParam("status", "token", "requested, ready, in-progress, on-hold, completed or cancelled"),
        SearchParam("owner", "reference", f"The assignee's user id ({USER_SYSTEM})"),
        SearchParam("code", "token", f"The task type ({TASK_TYPE_SYSTEM}|tcm_contact)"),
    ),
    "Create puts a task on the worklist (description = title, for, code = task type, performerType = "
    f"queue ({QUEUE_SYSTEM}), priority, restriction.period.end = due time, owner = a Practitioner with a "
    f"user account or {USER_SYSTEM}|[id]). Update (PUT) changes the status or the owner, one at a time "
    "(cancelling needs statusReason.text); send If-Match with the ETag to refuse a stale change (412).",
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


# --- create and update: through worklist.services --------------------------------------------------------

#: FHIR priority -> the worklist's (the reverse of PRIORITY; asap and stat are both the most pressing).
FHIR_PRIORITY: dict[str, int] = {
    "routine": TaskPriority.NORMAL,
    "urgent": TaskPriority.HIGH,
    "asap": TaskPriority.URGENT,
    "stat": TaskPriority.URGENT,
}
NEW_STATUSES = ("requested", "ready")
_FIELD_PATHS = {
    "title": "Task.description",
    "description": "Task.description",
    "patient_id": "Task.for",
    "queue": "Task.performerType",
    "task_type": "Task.code",
    "priority": "Task.priority",
    "due_at": "Task.restriction.period.end",
    "assignee_id": "Task.owner",
    "status": "Task.status",
    "note": "Task.statusReason",
}


def _unprocessable(message: str, path: str, code: str = "") -> FhirError:
    return FhirError.single(422, "business-rule", message, expression=(path,), details_code=code)


def _write_error(exc: DomainError) -> FhirError:
    if isinstance(exc, StaleTask):
        return FhirError.single(412, "conflict", exc.message, details_code=exc.code)
    return write_error(exc, expression=_FIELD_PATHS.get(exc.field or "", "Task"))


def _reference_id(reference: Any, resource_type: str, path: str) -> int | None:
    """The id of `resource_type/[id]` in a Reference (None when the element is absent)."""
    text = str(reference.reference or "") if reference is not None else ""
    if not text:
        return None
    kind, _, value = text.rpartition("/")
    pk = _number(value)
    if kind.rsplit("/", 1)[-1] != resource_type or pk is None:
        raise _unprocessable(f"{path} must refer to {resource_type}/[id], not {text!r}.", path)
    return pk


def _owner_id(actor: Actor, resource: FhirTask) -> int | None:
    """The assignee's user id: a Practitioner's user account, or the user by identifier; None: nobody."""
    owner = resource.owner
    if owner is None:
        return None
    identifier = owner.identifier
    if identifier is not None and identifier.system == USER_SYSTEM:
        user_id = _number(str(identifier.value or ""))
        if user_id is None:
            raise _unprocessable(f"owner.identifier must be a user id ({USER_SYSTEM}).", "Task.owner")
        return user_id
    reference = str(owner.reference or "")
    if not reference:
        raise _unprocessable(
            f"owner must be a Practitioner/[id] or a user by identifier ({USER_SYSTEM}).", "Task.owner"
        )
    practitioner_id = _reference_id(owner, "Practitioner", "Task.owner")
    found = (
        practitioner_selectors.practitioner_queryset(actor)
        .filter(pk=practitioner_id)
        .values_list("user_id", flat=True)
        .first()
        if practitioner_id is not None
        else None
    )
    if found is None:
        raise _unprocessable(
            f"{reference} has no user account in Caredesk, so cannot own a task; leave the owner out or "
            f"name a user ({USER_SYSTEM}).",
            "Task.owner",
            "task_invalid_assignee",
        )
    return int(found)


def _coded(concepts: Any, system: str, path: str, allowed: list[str]) -> str | None:
    """The one code of `system` among `concepts` (a CodeableConcept or a list of them); 422 if unknown."""
    if concepts is None:
        return None
    codes = [
        str(coding.code)
        for concept in (concepts if isinstance(concepts, list) else [concepts])
        for coding in concept.coding or []
        if coding.system == system and coding.code
    ]
    if not codes:
        return None
    if len(set(codes)) > 1 or codes[0] not in allowed:
        raise _unprocessable(f"{path} must be one of {', '.join(allowed)} ({system}).", path)
    return codes[0]


def _due(resource: FhirTask) -> dt.datetime | None:
    period = resource.restriction.period if resource.restriction is not None else None
    end = period.end if period is not None else None
    if end is None:
        return None
    if not isinstance(end, dt.datetime) or end.tzinfo is None:
        raise FhirError.single(
            400,
            "value",
            "restriction.period.end is the due time: a date and time with its UTC offset, e.g. "
            "2027-03-01T17:00:00-05:00.",
            expression=("Task.restriction.period.end",),
        )
    return end


def _priority_of(resource: FhirTask) -> int:
    priority = FHIR_PRIORITY.get(str(resource.priority or "routine"))
    if priority is None:
        raise _unprocessable(
            f"priority must be one of {', '.join(FHIR_PRIORITY)}, not {resource.priority!r}.", "Task.priority"
        )
    return priority


def new_task_from_fhir(actor: Actor, resource: FhirTask) -> services.NewTask:
    """The worklist task a new FHIR Task asks for."""
    if resource.status not in NEW_STATUSES:
        raise _unprocessable(f"A new task is requested or ready, not {resource.status}.", "Task.status")
    text = (resource.description or "").strip()
    if not text:
        raise _unprocessable(
            "Say what is to be done: the description is the task's title.", "Task.description"
        )
    title, _, description = text.partition("\n\n")
    task_type = _coded(resource.code, TASK_TYPE_SYSTEM, "Task.code", TaskType.values)
    queue = _coded(resource.performerType, QUEUE_SYSTEM, "Task.performerType", TaskQueue.values)
    return services.NewTask(
        title=title.strip(),
        description=description.strip(),
        queue=queue or rules.home_queue(actor.role),
        task_type=task_type or TaskType.GENERAL,
        patient_id=_reference_id(resource.for_fhir, "Patient", "Task.for"),
        priority=_priority_of(resource),
        due_at=_due(resource),
        assignee_id=_owner_id(actor, resource),
    )


def _version_headers(task: Task) -> dict[str, str]:
    return {"ETag": f'W/"{task.version}"'}


@operation("POST", "/Task", Permission.TASK_WORK, summary="Create a Task (put a task on the worklist)")
def create_task(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    data = read_json_body(request, "Task")
    resource = validate(FhirTask, data)
    new = new_task_from_fhir(actor, resource)
    try:
        task = services.create_task(actor=actor, data=new).task
    except DomainError as exc:
        raise _write_error(exc) from exc
    headers = {"Location": f"{base_url(request)}/Task/{task.pk}", **_version_headers(task)}
    return fhir_response(task_to_fhir(task), status=201, headers=headers)


def _expected_version(request: HttpRequest) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    text = header.removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise FhirError.single(400, "value", f'If-Match must be an ETag such as W/"3", not {header!r}.')
    return int(text)


@operation(
    "PUT", "/Task/{entry_id}", Permission.TASK_WORK, summary="Update a Task (status or owner, one at a time)"
)
def update_task(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    actor = _actor(actor)
    pk = _number(entry_id)
    expected = _expected_version(request)
    data = read_json_body(request, "Task")
    if data.get("id") not in (None, entry_id):
        raise FhirError.single(
            400, "invalid", f"The body's id {data.get('id')!r} is not {entry_id!r}.", expression=("Task.id",)
        )
    resource = validate(FhirTask, data)
    try:
        if pk is None:
            raise TaskNotFound(f"No task with id {entry_id}.")
        current = selectors.read_task(actor=actor, task_id=pk)
    except TaskNotFound as exc:
        raise FhirError.single(404, "not-found", f"No Task with id {entry_id!r}.") from exc
    wanted = SEARCH_STATUS.get(str(resource.status))
    if wanted is None:
        raise _unprocessable(
            f"Caredesk does not set a task to {resource.status}; use one of {', '.join(SEARCH_STATUS)}.",
            "Task.status",
            "task_invalid_transition",
        )
    status = wanted[0][0]
    owner = _owner_id(actor, resource)
    status_changes = status != current.status
    owner_changes = owner != current.assignee_id
    if status_changes and owner_changes:
        raise _unprocessable(
            "Change the status or the owner, one at a time.", "Task.owner", "one_change_at_a_time"
        )
    note = (resource.statusReason.text or "").strip() if resource.statusReason is not None else ""
    try:
        if status_changes:
            task = services.change_status(
                actor=actor, task_id=pk, status=status, note=note, expected_version=expected
            )
        elif owner_changes:
            task = services.assign_task(actor=actor, task_id=pk, assignee_id=owner, expected_version=expected)
        elif expected is not None and expected != current.version:
            raise StaleTask(
                "Someone else changed this task since you read it. Read it again and retry.",
                details={"expected_version": expected, "current_version": current.version},
            )
        else:
            task = current
    except DomainError as exc:
        raise _write_error(exc) from exc
    return fhir_response(task_to_fhir(task), headers=_version_headers(task))
