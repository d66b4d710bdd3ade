"""Read queries of the worklist, restricted to what the actor may see, audited where they show patients.

Scope: the actor's organization; a user without TASK_ALL_QUEUES sees the queues of their role
(rules.ROLE_QUEUES) and the tasks assigned to them. A task outside the scope answers TaskNotFound, exactly
like one that does not exist. The worklist writes one TASK_SEARCH row per page (criteria, the task ids and
the patient ids shown); opening a task about a patient writes TASK_VIEW.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction
from django.db.models import Case, Count, Q, QuerySet, Value, When

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission, Role, permissions_for
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound

from . import clock, rules
from .choices import (
    ACTIVE_STATUSES,
    CLOSED_STATUSES,
    CommentKind,
    TaskPriority,
    TaskQueue,
    TaskStatus,
    TaskType,
)
from .errors import TaskNotFound
from .models import Task, TaskComment

MAX_PAGE_SIZE = 200
STATUS_FILTERS = ("active", "closed", "all", *TaskStatus.values)
SORTS = {
    "due": ("due_at", "priority", "id"),
    "priority": ("priority", "due_at", "id"),
    "newest": ("-created_at", "-id"),
}


def parse_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def task_queryset(actor: Actor) -> QuerySet[Task]:
    """The tasks this actor may see. Not audited: build further (audited) queries on it."""
    if actor.organization_id is None or not actor.has(Permission.TASK_VIEW):
        return Task.objects.none()
    tasks = Task.objects.filter(organization_id=actor.organization_id)
    queues = rules.visible_queues(actor.role, actor.has(Permission.TASK_ALL_QUEUES))
    if queues is not None:
        mine = Q(assignee_id=actor.user_id) if actor.user_id is not None else Q(pk__in=[])
        tasks = tasks.filter(Q(queue__in=sorted(queues)) | mine)
    return tasks


def queues_for(actor: Actor) -> list[tuple[str, str]]:
    """The queues the actor works, as (value, label) choices."""
    queues = rules.visible_queues(actor.role, actor.has(Permission.TASK_ALL_QUEUES))
    return [(q.value, q.label) for q in TaskQueue if queues is None or q.value in queues]


# ---------------------------------------------------------------------------------------------------
# The worklist
# ---------------------------------------------------------------------------------------------------


@dataclass
class WorklistQuery:
    """Filters of the worklist. `assignee`: "" anyone, "me", "unassigned" or a user id."""

    queue: str = ""
    assignee: str = ""
    status: str = "active"
    task_type: str = ""
    overdue_only: bool = False
    include_snoozed: bool = False
    patient_id: int | None = None
    sort: str = "due"


@dataclass
class WorklistRow:
    """A task as the worklist shows it: the labels are worked out here, once, not per template lookup."""

    task: Task
    sla_state: str
    sla_text: str
    snoozed: bool
    priority_label: str = ""
    type_label: str = ""
    queue_label: str = ""
    status_label: str = ""
    patient_name: str = ""  # "Family, Given"; "" without a patient
    patient_mrn: str = ""
    assignee_name: str = ""  # "" unassigned
    url: str = ""  # set by the view
    patient_url: str = ""


@dataclass
class WorklistPage:
    rows: list[WorklistRow]
    page: int
    page_size: int
    has_next: bool
    now: dt.datetime


#: A queue's counts stop here ("999+"): counting stays a short index range scan however long it grows.
COUNT_CAP = 999


@dataclass
class QueueCount:
    queue: str
    label: str
    active: int = 0
    overdue: int = 0
    more_active: bool = False  # more than COUNT_CAP active tasks (`active` is COUNT_CAP)
    more_overdue: bool = False


def _filtered(actor: Actor, query: WorklistQuery, now: dt.datetime) -> QuerySet[Task]:
    tasks = task_queryset(actor)
    if query.queue:
        tasks = tasks.filter(queue=query.queue)
    if query.assignee == "me":
        tasks = tasks.filter(assignee_id=actor.user_id)
    elif query.assignee == "unassigned":
        tasks = tasks.filter(assignee__isnull=True)
    elif query.assignee:
        assignee_id = parse_id(query.assignee)
        tasks = tasks.filter(assignee_id=assignee_id) if assignee_id else tasks.none()
    if query.status == "active":
        tasks = tasks.filter(status__in=ACTIVE_STATUSES)
    elif query.status == "closed":
        tasks = tasks.filter(status__in=CLOSED_STATUSES)
    elif query.status in TaskStatus.values:
        tasks = tasks.filter(status=query.status)
    if query.task_type:
        tasks = tasks.filter(task_type=query.task_type)
    if query.overdue_only:
        tasks = tasks.filter(status__in=ACTIVE_STATUSES, due_at__lt=now)
    if not query.include_snoozed:
        tasks = tasks.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    if query.patient_id is not None:
        tasks = tasks.filter(patient_id=query.patient_id)
    return tasks


def _criteria(query: WorklistQuery) -> dict[str, Any]:
    criteria: dict[str, Any] = {"status": query.status, "sort": query.sort}
    for name in ("queue", "assignee", "task_type"):
        if getattr(query, name):
            criteria[name] = getattr(query, name)
    if query.overdue_only:
        criteria["overdue_only"] = True
    if query.include_snoozed:
        criteria["include_snoozed"] = True
    if query.patient_id is not None:
        criteria["patient_id"] = query.patient_id
    return criteria


#: What a worklist row reads (the rest of the task, patient and assignee rows is not loaded).
_ROW_FIELDS = (
    "title",
    "task_type",
    "queue",
    "priority",
    "status",
    "due_at",
    "snoozed_until",
    "organization",
    "patient",
    "assignee",
    "patient__family_name",
    "patient__given_name",
    "patient__mrn",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
)
_PRIORITY_LABELS = dict(TaskPriority.choices)
_TYPE_LABELS = dict(TaskType.choices)
_QUEUE_LABELS = dict(TaskQueue.choices)
_STATUS_LABELS = dict(TaskStatus.choices)


def _row(task: Task, now: dt.datetime) -> WorklistRow:
    patient = task.patient if task.patient_id is not None else None
    assignee = task.assignee if task.assignee_id is not None else None
    return WorklistRow(
        task=task,
        sla_state=rules.sla_state(task.status, task.due_at, now),
        sla_text=rules.sla_text(task.status, task.due_at, now),
        snoozed=rules.is_snoozed(task.snoozed_until, now),
        priority_label=str(_PRIORITY_LABELS.get(task.priority, task.priority)),
        type_label=str(_TYPE_LABELS.get(task.task_type, task.task_type)),
        queue_label=str(_QUEUE_LABELS.get(task.queue, task.queue)),
        status_label=str(_STATUS_LABELS.get(task.status, task.status)),
        patient_name=f"{patient.family_name}, {patient.given_name}" if patient is not None else "",
        patient_mrn=patient.mrn if patient is not None else "",
        assignee_name=assignee.display_name if assignee is not None else "",
    )


def list_tasks(*, actor: Actor, query: WorklistQuery, page: int = 1, page_size: int = 50) -> WorklistPage:
    """One page of the worklist, most pressing first (by due time unless `query.sort` says otherwise).
    Writes one TASK_SEARCH audit row: the criteria, the task ids and the patient ids shown (about the
    patient, when the query names one). A patient outside the actor's scope answers PatientNotFound."""
    now = clock.now()
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = (page - 1) * page_size
    ordering = SORTS.get(query.sort, SORTS["due"])
    if (
        query.patient_id is not None
        and not patient_selectors.patient_queryset(actor).filter(pk=query.patient_id).exists()
    ):
        raise PatientNotFound(f"No patient with id {query.patient_id}.")
    with transaction.atomic():
        tasks = list(
            _filtered(actor, query, now)
            .select_related("patient", "assignee")
            .only(*_ROW_FIELDS)
            .order_by(*ordering)[offset : offset + page_size + 1]
        )
        has_next = len(tasks) > page_size
        tasks = tasks[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.TASK_SEARCH,
            object_type="worklist.task",
            patient_id=query.patient_id,
            detail={
                "criteria": _criteria(query),
                "page": page,
                "task_ids": [t.pk for t in tasks],
                "result_ids": sorted({t.patient_id for t in tasks if t.patient_id is not None}),
            },
        )
    rows = [_row(t, now) for t in tasks]
    return WorklistPage(rows=rows, page=page, page_size=page_size, has_next=has_next, now=now)


def _capped_counts(active: QuerySet[Task], queues: list[str], now: dt.datetime) -> list[tuple[int, int]]:
    """(active, overdue) per queue, each over at most COUNT_CAP + 1 of the queue's active tasks in due
    order, in one statement: a UNION ALL of one short index range scan per queue (the ORM compiles each
    window, so scope, parameters and quoting are its own)."""
    if not queues:
        return []
    parts: list[str] = []
    params: list[Any] = []
    for position, queue in enumerate(queues):
        window = (
            active.filter(queue=queue)
            .order_by("due_at")
            .annotate(late=Case(When(due_at__lt=now, then=Value(1)), default=Value(0)))
            .values("late")[: COUNT_CAP + 1]
        )
        sql, window_params = window.query.sql_with_params()
        # `sql` is the ORM's own compiled query with its parameters kept apart; `position` is an int.
        parts.append(f"SELECT {position:d}, COUNT(*), COALESCE(SUM(w.late), 0) FROM ({sql}) w")  # noqa: S608
        params += window_params
    with connections[active.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = {int(row[0]): (int(row[1]), int(row[2])) for row in cursor.fetchall()}
    return [found.get(position, (0, 0)) for position in range(len(queues))]


def queue_counts(*, actor: Actor) -> list[QueueCount]:
    """Active and overdue tasks per queue the actor works (snoozed ones included: they still count), and per
    other queue where tasks are assigned to the actor. Each queue reads at most COUNT_CAP + 1 of its
    active tasks in due order (the partial index task_active_queue_due): overdue ones come first, so both
    counts are exact up to COUNT_CAP, and beyond it the count says "more" (`more_active`,
    `more_overdue`) instead of counting every row."""
    now = clock.now()
    active = task_queryset(actor).filter(status__in=ACTIVE_STATUSES)
    counts = []
    worked_queues = queues_for(actor)
    for (queue, label), (found_active, found_overdue) in zip(
        worked_queues, _capped_counts(active, [queue for queue, _label in worked_queues], now), strict=True
    ):
        counts.append(
            QueueCount(
                queue,
                label,
                active=min(found_active, COUNT_CAP),
                overdue=min(found_overdue, COUNT_CAP),
                more_active=found_active > COUNT_CAP,
                more_overdue=found_overdue > COUNT_CAP,
            )
        )
    worked = {count.queue for count in counts}
    if actor.user_id is not None and len(worked) < len(TaskQueue):
        # Tasks of other queues assigned to the actor: few, counted in one grouped query.
        rows = (
            active.filter(assignee_id=actor.user_id)
            .exclude(queue__in=sorted(worked))
            .values("queue")
            .annotate(active=Count("due_at"), overdue=Count("due_at", filter=Q(due_at__lt=now)))
            .order_by("queue")
        )
        for row in rows:
            counts.append(
                QueueCount(row["queue"], TaskQueue(row["queue"]).label, row["active"], row["overdue"])
            )
    return counts


# ---------------------------------------------------------------------------------------------------
# One task
# ---------------------------------------------------------------------------------------------------


@dataclass
class TaskDetail:
    task: Task
    comments: list[TaskComment]
    sla_state: str
    sla_text: str
    snoozed: bool
    attempts: int = 0
    allowed_statuses: list[str] = field(default_factory=list)


def get_task(*, actor: Actor, task_id: int) -> TaskDetail:
    """One task with its timeline; TASK_VIEW audit row when it concerns a patient. TaskNotFound when it
    does not exist or the actor may not see it."""
    now = clock.now()
    pk = parse_id(task_id)
    with transaction.atomic():
        task = (
            None
            if pk is None
            else task_queryset(actor)
            .select_related("patient", "assignee", "created_by")
            .filter(pk=pk)
            .first()
        )
        if task is None:
            raise TaskNotFound(f"No task with id {task_id}.", details={"id": str(task_id)})
        comments = list(task.comments.select_related("author"))
        if task.patient_id is not None:
            audit.record(
                actor=actor,
                action=AuditAction.TASK_VIEW,
                patient_id=task.patient_id,
                obj=task,
                detail={"task_type": task.task_type},
            )
    return TaskDetail(
        task=task,
        comments=comments,
        sla_state=rules.sla_state(task.status, task.due_at, now),
        sla_text=rules.sla_text(task.status, task.due_at, now),
        snoozed=rules.is_snoozed(task.snoozed_until, now),
        attempts=sum(1 for c in comments if c.kind == CommentKind.ATTEMPT),
        allowed_statuses=sorted(rules.TRANSITIONS.get(task.status, frozenset())),
    )


# ---------------------------------------------------------------------------------------------------
# For other apps and the forms
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskOutcome:
    """What another app needs to judge a task it caused (e.g. TCM compliance): no patient data."""

    task_id: int
    dedupe_key: str
    status: str
    due_at: dt.datetime
    closed_at: dt.datetime | None
    attempt_times: tuple[dt.datetime, ...]


def task_outcomes(*, actor: Actor, dedupe_keys: list[str]) -> dict[str, TaskOutcome]:
    """The tasks of the actor's organization with these dedupe keys, by key. Not audited and not limited
    to the actor's queues: the caller's own selector checks its permission and writes the audit row."""
    if actor.organization_id is None or not dedupe_keys:
        return {}
    tasks = list(
        Task.objects.filter(organization_id=actor.organization_id, dedupe_key__in=sorted(set(dedupe_keys)))
    )
    attempts: dict[int, list[dt.datetime]] = {}
    for task_id, created_at in TaskComment.objects.filter(
        task_id__in=[t.pk for t in tasks], kind=CommentKind.ATTEMPT
    ).values_list("task_id", "created_at"):
        attempts.setdefault(task_id, []).append(created_at)
    return {
        t.dedupe_key: TaskOutcome(
            task_id=t.pk,
            dedupe_key=t.dedupe_key,
            status=t.status,
            due_at=t.due_at,
            closed_at=t.closed_at,
            attempt_times=tuple(sorted(attempts.get(t.pk, []))),
        )
        for t in tasks
    }


def roles_that_work_tasks() -> list[str]:
    return [role for role in Role.values if str(Permission.TASK_WORK) in permissions_for(role)]


def assignable_users(*, actor: Actor) -> QuerySet[User]:
    """Active users of the actor's organization whose role works tasks, by name."""
    if actor.organization_id is None:
        return User.objects.none()
    return User.objects.filter(
        organization_id=actor.organization_id, is_active=True, role__in=roles_that_work_tasks()
    ).order_by("last_name", "first_name", "username")


# ---------------------------------------------------------------------------------------------------
# For the interop APIs (FHIR Task): staff in their scope, a portal user only the tasks about them
# ---------------------------------------------------------------------------------------------------


def shared_task_queryset(actor: Actor) -> QuerySet[Task]:
    """`task_queryset` for the FHIR facade: staff only (tasks are the staff's work, not written for
    patients; a portal user sees none). Not audited."""
    if actor.is_portal:
        return Task.objects.none()
    return task_queryset(actor)


@dataclass(frozen=True)
class TaskSearch:
    """`statuses`: any of TaskStatus (empty: all); `assigned`: True / False / None (either)."""

    patient_id: int | None = None
    statuses: tuple[str, ...] = ()
    assigned: bool | None = None
    assignee_id: int | None = None
    task_type: str = ""


def search_tasks(
    *, actor: Actor, search: TaskSearch, page: int = 1, page_size: int = 50
) -> tuple[list[Task], bool]:
    """Tasks by due time (snoozed ones included), and whether more follow; one TASK_SEARCH audit row with
    the criteria, the task ids and the patient ids shown."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    tasks = shared_task_queryset(actor)
    if search.patient_id is not None:
        tasks = tasks.filter(patient_id=search.patient_id)
    if search.statuses:
        tasks = tasks.filter(status__in=sorted(search.statuses))
    if search.assigned is not None:
        tasks = tasks.filter(assignee__isnull=not search.assigned)
    if search.assignee_id is not None:
        tasks = tasks.filter(assignee_id=search.assignee_id)
    if search.task_type:
        tasks = tasks.filter(task_type=search.task_type)
    offset = (page - 1) * page_size
    with transaction.atomic():
        found = list(
            tasks.select_related("assignee").order_by(*SORTS["due"])[offset : offset + page_size + 1]
        )
        shown = found[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.TASK_SEARCH,
            patient_id=search.patient_id,
            object_type="worklist.task",
            detail={
                "criteria": {
                    "patient_id": search.patient_id,
                    "statuses": sorted(search.statuses),
                    "assigned": search.assigned,
                    "assignee_id": search.assignee_id,
                    "task_type": search.task_type,
                },
                "page": page,
                "task_ids": [t.pk for t in shown],
                "result_ids": sorted({t.patient_id for t in shown if t.patient_id is not None}),
            },
        )
    return shown, len(found) > page_size


def read_task(*, actor: Actor, task_id: Any) -> Task:
    """One task (staff only: a portal user gets none); TASK_VIEW audit row when it concerns a patient.
    TaskNotFound outside the actor's scope."""
    pk = parse_id(task_id)
    with transaction.atomic():
        task = (
            None
            if pk is None
            else shared_task_queryset(actor).select_related("assignee").filter(pk=pk).first()
        )
        if task is None:
            raise TaskNotFound(f"No task with id {task_id}.", details={"id": str(task_id)})
        if task.patient_id is not None:
            audit.record(
                actor=actor,
                action=AuditAction.TASK_VIEW,
                patient_id=task.patient_id,
                obj=task,
                detail={"task_type": task.task_type, "view": "exchange"},
            )
    return task
