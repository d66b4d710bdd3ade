"""Worklist use cases: one function per use case, keyword-only actor, one transaction, audit row inside.

CONTRACT (other apps call exactly these): `create_task` (idempotent by `dedupe_key`), `create_tasks` (the
same for several at once), `close_tasks_by_keys`,
`set_due`; the pages also use `assign_task`, `bulk_assign`, `snooze_task`, `change_status`, `add_comment`.

Every function checks the permission it needs (TASK_WORK; TASK_ASSIGN to give a task to someone else) and
works only on tasks the actor may see (selectors.task_queryset): another organization's task, or another
queue's for a user who works only their own, answers TaskNotFound. Every change bumps the task's
`version` (pass `expected_version` to refuse a stale edit with StaleTask), adds an event to the task's
timeline and writes its audit row, naming the patient when the task has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.ids import checked_id
from caredesk.core.inputs import checked_text
from caredesk.core.keyed import rows_by_keys
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import PatientStatus
from caredesk.patients.errors import PatientNotFound

from . import clock, rules, selectors
from .choices import ACTIVE_STATUSES, CommentKind, TaskPriority, TaskQueue, TaskStatus, TaskType
from .errors import InvalidAssignee, InvalidTransition, QueueNotAllowed, StaleTask, TaskClosed, TaskNotFound
from .models import MAX_DEDUPE_KEY, MAX_TITLE, Task, TaskComment

MAX_DESCRIPTION = 4000
MAX_COMMENT = 4000
MAX_BULK = 200
MAX_DUE_AHEAD = dt.timedelta(days=3 * 365)


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can work with its tasks.")
    return actor.organization_id


def _choice(value: Any, field: str, label: str, choices: Iterable[Any]) -> Any:
    allowed = list(choices)
    if value not in allowed:
        raise ValidationFailed(f"{value!r} is not a valid {label}.", field=field)
    return value


def _aware(value: Any, field: str, label: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationFailed(f"{label} must be a date and time.", field=field)
    if timezone.is_naive(value):
        raise ValidationFailed(f"{label} needs a time zone.", field=field)
    return value


def _name_of(actor: Actor) -> str:
    if actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id).only("first_name", "last_name", "username").first()
        if user is not None:
            return user.display_name[:150]
    return actor.username[:150]


def _locked(actor: Actor, task_id: Any, expected_version: int | None = None) -> Task:
    """The task, locked for the rest of the transaction; TaskNotFound outside the actor's scope."""
    pk = selectors.parse_id(task_id)
    task = None if pk is None else selectors.task_queryset(actor).select_for_update().filter(pk=pk).first()
    if task is None:
        raise TaskNotFound(f"No task with id {task_id}.", details={"id": str(task_id)})
    if expected_version is not None and task.version != expected_version:
        raise StaleTask(
            "Someone else changed this task since you opened it. Reload to see their changes.",
            details={"expected_version": expected_version, "current_version": task.version},
        )
    return task


def _save(task: Task, fields: list[str]) -> None:
    """Write the changed fields and bump the version (the row is locked: see _locked)."""
    task.version += 1
    task.save(update_fields=[*fields, "version", "updated_at"])


def _event(task: Task, actor: Actor, body: str, kind: str = CommentKind.EVENT) -> TaskComment:
    return TaskComment.objects.create(
        task=task, kind=kind, body=body, author_id=actor.user_id, author_name=_name_of(actor)
    )


def _record(actor: Actor, action: AuditAction, task: Task, detail: dict[str, Any]) -> None:
    audit.record(actor=actor, action=action, patient_id=task.patient_id, obj=task, detail=detail)


def _check_queue(actor: Actor, queue: str) -> str:
    queue = _choice(queue, "queue", "queue", TaskQueue.values)
    allowed = rules.visible_queues(actor.role, actor.has(Permission.TASK_ALL_QUEUES))
    # System actors (feeds) hold TASK_ALL_QUEUES; a person who works one queue creates only there.
    if allowed is not None and queue not in allowed:
        raise QueueNotAllowed("You can put tasks only into your own queue.", field="queue")
    return str(queue)


def _check_patient(actor: Actor, patient_id: Any) -> int | None:
    if patient_id in (None, ""):
        return None
    pk = checked_id(patient_id, "patient_id")
    status = patient_selectors.patient_queryset(actor).filter(pk=pk).values_list("status", flat=True).first()
    if status is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", field="patient_id", details={"id": pk})
    if status == PatientStatus.MERGED:
        raise ValidationFailed(
            "That patient was merged into another record; use the surviving record.", field="patient_id"
        )
    return pk


def _check_patients(actor: Actor, patient_ids: set[Any]) -> dict[Any, int | None]:
    """`_check_patient` for several at once: one read."""
    if len(patient_ids) <= 1:
        return {pid: _check_patient(actor, pid) for pid in patient_ids}
    checked = {pid: checked_id(pid, "patient_id") for pid in patient_ids if pid not in (None, "")}
    statuses = dict(
        patient_selectors.patient_queryset(actor)
        .filter(pk__in=sorted(set(checked.values())))
        .values_list("pk", "status")
    )
    found: dict[Any, int | None] = dict.fromkeys(patient_ids - set(checked))
    for pid, pk in checked.items():
        if pk not in statuses:
            raise PatientNotFound(f"No patient with id {pid}.", field="patient_id", details={"id": pk})
        if statuses[pk] == PatientStatus.MERGED:
            raise ValidationFailed(
                "That patient was merged into another record; use the surviving record.", field="patient_id"
            )
        found[pid] = pk
    return found


def _check_assignee(actor: Actor, assignee_id: Any) -> User | None:
    if assignee_id in (None, ""):
        return None
    pk = checked_id(assignee_id, "assignee_id")
    user = selectors.assignable_users(actor=actor).filter(pk=pk).first()
    if user is None:
        raise InvalidAssignee(
            "Tasks can be assigned only to active staff of your organization.", field="assignee_id"
        )
    return user


def _may_assign(actor: Actor, task: Task, assignee: User | None) -> None:
    """TASK_ASSIGN gives any task to anyone; TASK_WORK alone takes a task, or lets go of one's own."""
    if actor.has(Permission.TASK_ASSIGN):
        return
    _require(actor, Permission.TASK_WORK)
    taking = assignee is not None and assignee.pk == actor.user_id
    letting_go = assignee is None and task.assignee_id == actor.user_id
    if not (taking or letting_go):
        raise Forbidden(
            "You can take a task or let go of your own; assigning it to others needs the permission "
            f"{Permission.TASK_ASSIGN}.",
            details={"permission": str(Permission.TASK_ASSIGN)},
        )


# ---------------------------------------------------------------------------------------------------
# Creating
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    title: str
    queue: str
    task_type: str = TaskType.GENERAL
    patient_id: int | None = None
    description: str = ""
    priority: int = TaskPriority.NORMAL
    due_at: dt.datetime | None = None  # default: now + the type's SLA (rules.DEFAULT_SLA)
    assignee_id: int | None = None
    source_type: str = ""
    source_id: str = ""
    dedupe_key: str = ""  # unique per organization: the same key never makes a second task


@dataclass(frozen=True)
class CreatedTask:
    task: Task
    created: bool  # False: a task with the same dedupe key existed and was returned unchanged


def _clean_new(actor: Actor, data: NewTask, now: dt.datetime) -> dict[str, Any]:
    task_type = _choice(data.task_type, "task_type", "task type", TaskType.values)
    due_at = (
        rules.default_due(task_type, now) if data.due_at is None else _aware(data.due_at, "due_at", "Due")
    )
    if due_at - now > MAX_DUE_AHEAD:
        raise ValidationFailed("The due time is more than three years ahead.", field="due_at")
    return {
        "title": checked_text(data.title, "title", "Title", MAX_TITLE, required=True),
        "description": checked_text(data.description, "description", "Description", MAX_DESCRIPTION),
        "queue": _check_queue(actor, data.queue),
        "task_type": task_type,
        "priority": _choice(data.priority, "priority", "priority", TaskPriority.values),
        "due_at": due_at,
        "source_type": checked_text(data.source_type, "source_type", "Source type", 60),
        "source_id": checked_text(data.source_id, "source_id", "Source id", 64),
        "dedupe_key": checked_text(data.dedupe_key, "dedupe_key", "Dedupe key", MAX_DEDUPE_KEY),
    }


def create_task(*, actor: Actor, data: NewTask) -> CreatedTask:
    """Put a task on the worklist. With a `dedupe_key` it is idempotent: when the organization already has a
    task with that key (whatever its status), that task is returned with `created=False` and nothing is
    written. The unique constraint decides when two callers race; the loser gets the winner's task."""
    _require(actor, Permission.TASK_WORK)
    organization_id = _organization_id(actor)
    now = clock.now()
    values = _clean_new(actor, data, now)
    with transaction.atomic():
        key = values["dedupe_key"]
        if key:
            existing = Task.objects.filter(organization_id=organization_id, dedupe_key=key).first()
            if existing is not None:
                return CreatedTask(existing, created=False)
        patient_id = _check_patient(actor, data.patient_id)
        assignee = _check_assignee(actor, data.assignee_id)
        task = Task(
            organization_id=organization_id,
            patient_id=patient_id,
            assignee=assignee,
            created_by_id=actor.user_id,
            created_by_name=_name_of(actor),
            **values,
        )
        try:
            with transaction.atomic():
                task.save(force_insert=True)
        except IntegrityError:
            winner = (
                Task.objects.filter(organization_id=organization_id, dedupe_key=key).first() if key else None
            )
            if winner is None:
                raise
            return CreatedTask(winner, created=False)
        if assignee is not None:
            _event(task, actor, f"Assigned to {assignee.display_name}.")
        _record(
            actor,
            AuditAction.TASK_CREATE,
            task,
            {
                "task_type": task.task_type,
                "queue": task.queue,
                "dedupe_key": key,
                "source": f"{task.source_type}:{task.source_id}" if task.source_type else "",
            },
        )
    return CreatedTask(task, created=True)


def create_tasks(
    *, actor: Actor, data: list[NewTask], request_ids: Sequence[str] | None = None
) -> list[CreatedTask]:
    """`create_task` for several tasks at once (a feed's TCM tasks): the same checks and outcome, in a
    few queries (one read of the existing dedupe keys, one of the patients, one insert, one audit
    insert). A key that exists (or repeats in `data`) returns its task with `created=False`. No savepoint:
    when a concurrent caller inserts one of the keys first, the IntegrityError ends the surrounding
    transaction and the caller retries it (transitions.receive_messages does). `request_ids`: one per
    task, the request id its audit row carries (a feed applying several messages at once: each message's
    own); the actor's when not given."""
    _require(actor, Permission.TASK_WORK)
    if request_ids is not None and len(request_ids) != len(data):
        raise ValueError("One request id per task")
    organization_id = _organization_id(actor)
    now = clock.now()
    cleaned = [_clean_new(actor, item, now) for item in data]
    with transaction.atomic(savepoint=False):
        keys = sorted({values["dedupe_key"] for values in cleaned if values["dedupe_key"]})
        found = rows_by_keys(
            Task,
            ("dedupe_key",),
            {(key,) for key in keys},
            where={"organization_id": organization_id},
            not_empty=("dedupe_key",),
        )
        existing = {t.dedupe_key: t for t in found}
        patients = _check_patients(actor, {item.patient_id for item in data})
        assignees = {aid: _check_assignee(actor, aid) for aid in {item.assignee_id for item in data}}
        name = _name_of(actor)
        outcomes: list[CreatedTask | None] = []
        new: list[Task] = []
        new_requests: list[str | None] = []
        for n, (item, values) in enumerate(zip(data, cleaned, strict=True)):
            key = values["dedupe_key"]
            if key and key in existing:
                outcomes.append(CreatedTask(existing[key], created=False))
                continue
            task = Task(
                organization_id=organization_id,
                patient_id=patients[item.patient_id],
                assignee=assignees[item.assignee_id],
                created_by_id=actor.user_id,
                created_by_name=name,
                **values,
            )
            if key:
                existing[key] = task
            new.append(task)
            new_requests.append(request_ids[n] if request_ids is not None else None)
            outcomes.append(None)
        Task.objects.bulk_create(new)
        for task in new:
            if task.assignee is not None:
                _event(task, actor, f"Assigned to {task.assignee.display_name}.")
        audit.record_many(
            audit.build(
                actor=replace(actor, request_id=request_id) if request_id is not None else actor,
                action=AuditAction.TASK_CREATE,
                patient_id=task.patient_id,
                obj=task,
                detail={
                    "task_type": task.task_type,
                    "queue": task.queue,
                    "dedupe_key": task.dedupe_key,
                    "source": f"{task.source_type}:{task.source_id}" if task.source_type else "",
                },
            )
            for task, request_id in zip(new, new_requests, strict=True)
        )
    created = iter(new)
    return [outcome or CreatedTask(next(created), created=True) for outcome in outcomes]


# ---------------------------------------------------------------------------------------------------
# Assigning
# ---------------------------------------------------------------------------------------------------


def _assign(actor: Actor, task: Task, assignee: User | None) -> bool:
    if task.assignee_id == (assignee.pk if assignee else None):
        return False
    before = task.assignee_id
    task.assignee = assignee
    _save(task, ["assignee"])
    _event(task, actor, f"Assigned to {assignee.display_name}." if assignee else "Unassigned.")
    _record(actor, AuditAction.TASK_ASSIGNMENT_CHANGED, task, {"from": before, "to": task.assignee_id})
    return True


def assign_task(
    *, actor: Actor, task_id: int, assignee_id: int | None, expected_version: int | None = None
) -> Task:
    """Give the task to `assignee_id` (None: nobody). Closed tasks keep their assignee (TaskClosed)."""
    _require(actor, Permission.TASK_WORK)
    with transaction.atomic():
        task = _locked(actor, task_id, expected_version)
        if not task.is_active:
            raise TaskClosed("A closed task cannot be reassigned; reopen it first.")
        assignee = _check_assignee(actor, assignee_id)
        _may_assign(actor, task, assignee)
        _assign(actor, task, assignee)
    return task


@dataclass(frozen=True)
class BulkResult:
    assigned: list[Task]
    unchanged: list[int]  # already with that assignee
    skipped: list[int]  # not found, not visible, or closed


def bulk_assign(*, actor: Actor, task_ids: Iterable[Any], assignee_id: int | None) -> BulkResult:
    """Assign many tasks at once (one transaction, rows locked in id order). Tasks the actor cannot see or
    that are closed are skipped and reported, not fatal; one audit row per task changed."""
    _require(actor, Permission.TASK_WORK)
    ids = sorted({selectors.parse_id(value) or 0 for value in task_ids} - {0})
    if not ids:
        raise ValidationFailed("Pick at least one task.", field="task_ids")
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"Assign at most {MAX_BULK} tasks at once.", field="task_ids")
    assigned: list[Task] = []
    unchanged: list[Task] = []
    with transaction.atomic():
        assignee = _check_assignee(actor, assignee_id)
        tasks = list(selectors.task_queryset(actor).select_for_update().filter(pk__in=ids).order_by("pk"))
        for task in tasks:
            _may_assign(actor, task, assignee)
        active = [task for task in tasks if task.is_active]
        for task in active:
            (assigned if _assign(actor, task, assignee) else unchanged).append(task)
    done = {task.pk for task in active}
    return BulkResult(
        assigned=assigned, unchanged=[t.pk for t in unchanged], skipped=[pk for pk in ids if pk not in done]
    )


# ---------------------------------------------------------------------------------------------------
# Status, snooze, due time, comments
# ---------------------------------------------------------------------------------------------------


def change_status(
    *, actor: Actor, task_id: int, status: str, note: str = "", expected_version: int | None = None
) -> Task:
    """Move the task along (rules.TRANSITIONS). Done and cancelled stamp `closed_at`; reopening clears it
    and any snooze. Cancelling needs a note (the reason). The note goes on the timeline."""
    _require(actor, Permission.TASK_WORK)
    status = _choice(status, "status", "status", TaskStatus.values)
    note = checked_text(note, "note", "Note", MAX_COMMENT, required=rules.needs_reason(status))
    with transaction.atomic():
        task = _locked(actor, task_id, expected_version)
        problem = rules.transition_error(task.status, status)
        if problem:
            raise InvalidTransition(problem, field="status", details={"from": task.status, "to": status})
        before = task.status
        task.status = status
        fields = ["status"]
        if status in ACTIVE_STATUSES and task.closed_at is not None:
            task.closed_at, task.snoozed_until = None, None
            fields += ["closed_at", "snoozed_until"]
        elif status not in ACTIVE_STATUSES:
            task.closed_at = clock.now()
            fields.append("closed_at")
        _save(task, fields)
        line = f"Status: {TaskStatus(before).label} → {TaskStatus(status).label}."
        _event(task, actor, f"{line} {note}".strip())
        _record(actor, AuditAction.TASK_STATUS_CHANGED, task, {"from": before, "to": status})
    return task


def snooze_task(
    *, actor: Actor, task_id: int, until: dt.datetime | None, expected_version: int | None = None
) -> Task:
    """Hide an active task from the worklist until `until` (None: wake it now). Its due time is unchanged:
    a snoozed task still counts, and still turns overdue."""
    _require(actor, Permission.TASK_WORK)
    now = clock.now()
    if until is not None:
        until = _aware(until, "until", "Snooze until")
        problem = rules.snooze_error(until, now)
        if problem:
            raise ValidationFailed(problem, field="until")
    with transaction.atomic():
        task = _locked(actor, task_id, expected_version)
        if not task.is_active:
            raise TaskClosed("A closed task cannot be snoozed.")
        task.snoozed_until = until
        _save(task, ["snoozed_until"])
        local = timezone.localtime(until).strftime("%Y-%m-%d %H:%M") if until else ""
        _event(task, actor, f"Snoozed until {local}." if until else "Woken up.")
        _record(
            actor, AuditAction.TASK_DUE_CHANGED, task, {"snoozed_until": until.isoformat() if until else None}
        )
    return task


def set_due(*, actor: Actor, task_id: int, due_at: dt.datetime, reason: str = "") -> Task:
    """Move an active task's due time (e.g. a TCM visit when the complexity changes)."""
    _require(actor, Permission.TASK_WORK)
    due_at = _aware(due_at, "due_at", "Due")
    reason = checked_text(reason, "reason", "Reason", 300)
    with transaction.atomic():
        task = _locked(actor, task_id)
        if not task.is_active:
            raise TaskClosed("A closed task keeps its due time.")
        if task.due_at == due_at:
            return task
        before = task.due_at
        task.due_at = due_at
        _save(task, ["due_at"])
        local = timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M")
        _event(task, actor, f"Due time moved to {local}. {reason}".strip())
        _record(
            actor,
            AuditAction.TASK_DUE_CHANGED,
            task,
            {"due_at": [before.isoformat(), due_at.isoformat()], "reason": reason},
        )
    return task


def add_comment(*, actor: Actor, task_id: int, body: str, kind: str = CommentKind.COMMENT) -> TaskComment:
    """A comment, or a documented unsuccessful contact attempt (`kind="attempt"`, active tasks only; two
    timely attempts count as the TCM interactive contact). The audit row names the kind, never the text."""
    _require(actor, Permission.TASK_WORK)
    kind = _choice(kind, "kind", "kind of comment", [CommentKind.COMMENT, CommentKind.ATTEMPT])
    body = checked_text(body, "body", "Comment", MAX_COMMENT, required=True)
    with transaction.atomic():
        task = _locked(actor, task_id)
        if kind == CommentKind.ATTEMPT and not task.is_active:
            raise TaskClosed("Contact attempts are documented on open tasks.")
        comment = _event(task, actor, body, kind=kind)
        Task.objects.filter(pk=task.pk).update(version=F("version") + 1, updated_at=timezone.now())
        _record(actor, AuditAction.TASK_COMMENT_ADD, task, {"kind": kind, "comment_id": comment.pk})
    return comment


def close_tasks_by_keys(
    *, actor: Actor, dedupe_keys: Iterable[str], status: str = TaskStatus.CANCELLED, reason: str
) -> list[Task]:
    """Close the organization's still-active tasks with these dedupe keys: `cancelled` when the event that
    caused them was undone (A11/A13 cancel a discharge's TCM tasks), `done` when it was dealt with
    elsewhere (an unmatched visit linked). Closed tasks stay as they are. Returns the tasks closed."""
    _require(actor, Permission.TASK_WORK)
    organization_id = _organization_id(actor)
    status = _choice(status, "status", "closing status", [TaskStatus.CANCELLED, TaskStatus.DONE])
    reason = checked_text(reason, "reason", "Reason", 300, required=True)
    keys = sorted({key for key in dedupe_keys if key})
    closed: list[Task] = []
    with transaction.atomic():
        tasks = (
            Task.objects.select_for_update()
            .filter(organization_id=organization_id, dedupe_key__in=keys, status__in=ACTIVE_STATUSES)
            .order_by("pk")
        )
        now = clock.now()
        for task in tasks:
            before = task.status
            task.status, task.closed_at = status, now
            _save(task, ["status", "closed_at"])
            _event(task, actor, f"Status: {TaskStatus(before).label} → {TaskStatus(status).label}. {reason}")
            _record(
                actor, AuditAction.TASK_STATUS_CHANGED, task, {"from": before, "to": status, "reason": reason}
            )
            closed.append(task)
    return closed


def move_tasks_on_merge(actor: Actor, source: models.Model, target: models.Model) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's tasks (inside the
    merge's transaction, which writes the audit rows)."""
    moved = list(Task.objects.filter(patient_id=source.pk).values_list("pk", flat=True))
    if not moved:
        return
    Task.objects.filter(pk__in=moved).update(patient_id=target.pk, version=F("version") + 1)
    name = _name_of(actor)
    TaskComment.objects.bulk_create(
        TaskComment(
            task_id=pk,
            kind=CommentKind.EVENT,
            body=f"Patient record merged: moved from patient {source.pk} to {target.pk}.",
            author_id=actor.user_id,
            author_name=name,
        )
        for pk in moved
    )
