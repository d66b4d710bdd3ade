"""Tasks, and the comments and events of each task (its timeline).

A task belongs to an organization, optionally to a patient (string foreign key), sits in one queue and may
have an assignee. `source_type`/`source_id` point at what caused it (an encounter, an appointment …);
`dedupe_key`, unique per organization when set, is how an event is turned into a task at most once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import (
    ACTIVE_STATUSES,
    CLOSED_STATUSES,
    CommentKind,
    TaskPriority,
    TaskQueue,
    TaskStatus,
    TaskType,
)

MAX_TITLE = 200
MAX_DEDUPE_KEY = 200


class Task(OrganizationScopedModel):
    title = models.CharField(max_length=MAX_TITLE)
    description = models.TextField(blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    task_type = models.CharField(max_length=30, choices=TaskType.choices, default=TaskType.GENERAL)
    queue = models.CharField(max_length=30, choices=TaskQueue.choices)
    assignee = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_at = models.DateTimeField()
    snoozed_until = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was done or cancelled")
    # What caused it: "transitions.encounter" + "42"; and the key that makes its creation idempotent.
    source_type = models.CharField(max_length=60, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=MAX_DEDUPE_KEY, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped on every change")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="task_dedupe_key_unique",
            ),
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="task_status_valid"),
            models.CheckConstraint(condition=Q(queue__in=TaskQueue.values), name="task_queue_valid"),
            models.CheckConstraint(
                condition=Q(priority__gte=TaskPriority.URGENT, priority__lte=TaskPriority.LOW),
                name="task_priority_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CLOSED_STATUSES, closed_at__isnull=False)
                | Q(status__in=ACTIVE_STATUSES, closed_at__isnull=True),
                name="task_closed_at_when_closed",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "due_at"], name="task_org_status_due"),
            models.Index(fields=["organization", "queue", "status", "due_at"], name="task_org_queue_due"),
            models.Index(
                fields=["organization", "assignee", "status", "due_at"], name="task_org_assignee_due"
            ),
            models.Index(fields=["patient", "status"], name="task_patient_status"),
            models.Index(fields=["organization", "source_type", "source_id"], name="task_source"),
            # The worklist's default page (active tasks by due time) walks this in order and stops after a
            # page; the queue counts read only this one (index-only on PostgreSQL). Both only hold active
            # tasks, a small share of all tasks once a clinic has run for a while.
            models.Index(
                fields=["organization", "due_at", "priority", "id"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="task_active_due",
            ),
            models.Index(
                fields=["organization", "queue", "due_at"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="task_active_queue_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class TaskComment(TimeStampedModel):
    """A comment, a documented contact attempt, or an event the services wrote (never edited)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    kind = models.CharField(max_length=10, choices=CommentKind.choices, default=CommentKind.COMMENT)
    body = models.TextField()
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, related_name="+")
    author_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="task_comment_task_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author_name}"
