"""Coded errors of the worklist. The pages show them on the form; other apps may switch on `code`."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class TaskNotFound(NotFound):
    """Missing, or outside what the actor may see (the same answer for both)."""

    code = "task_not_found"


class InvalidTransition(Conflict):
    """The status change is not allowed from the task's current status (rules.TRANSITIONS)."""

    code = "task_invalid_transition"


class TaskClosed(Conflict):
    """The task is done or cancelled: it cannot be snoozed, assigned or get contact attempts."""

    code = "task_closed"


class StaleTask(Conflict):
    """Someone else changed the task since it was read (optimistic lock on `version`)."""

    code = "task_stale"


class InvalidAssignee(ValidationFailed):
    code = "task_invalid_assignee"


class QueueNotAllowed(ValidationFailed):
    """A user who works only their own queue tried to put a task into another one."""

    code = "task_queue_not_allowed"


__all__ = [
    "InvalidAssignee",
    "InvalidTransition",
    "QueueNotAllowed",
    "StaleTask",
    "TaskClosed",
    "TaskNotFound",
]
