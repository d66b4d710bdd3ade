"""Forms parse what people pick and type into the values the worklist use cases take; the rules live in
the services and rules."""

from __future__ import annotations

from typing import Any

from django import forms

from caredesk.core.context import Actor
from caredesk.core.forms import StyledForm

from . import rules, selectors
from .choices import CommentKind, TaskPriority, TaskStatus, TaskType
from .selectors import WorklistQuery

DATETIME_WIDGET_FORMAT = "%Y-%m-%dT%H:%M"
STATUS_FILTER_CHOICES = [
    ("active", "Active (open, in progress, waiting)"),
    *TaskStatus.choices,
    ("closed", "Closed (done or cancelled)"),
    ("all", "All"),
]
SORT_CHOICES = [("due", "Due first"), ("priority", "Most urgent first"), ("newest", "Newest first")]
#: The types a person creates by hand (the others come from events: discharges, feeds).
MANUAL_TYPES = [(t.value, t.label) for t in (TaskType.GENERAL, TaskType.FOLLOW_UP_CALL)]


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_WIDGET_FORMAT)


class WorklistForm(StyledForm):
    """Bootstrap classes on every widget, and a service's refusal placed on the field it names."""

    def set_choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def staff_choices(actor: Actor) -> list[tuple[str, str]]:
    """The people tasks can be assigned to, as choices (read once per page, shared by its forms)."""
    return [(str(u.pk), u.display_name) for u in selectors.assignable_users(actor=actor)]


def _assignee_choices(
    actor: Actor, *, everyone: bool, staff: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    choices = [("", "Anyone" if everyone else "Nobody"), ("me", "Me")]
    if everyone:
        choices.append(("unassigned", "Unassigned"))
    return choices + (staff_choices(actor) if staff is None else staff)


def _assignee_id(actor: Actor, value: str) -> int | None:
    """An assignee choice as a user id: "me" is the actor, "" nobody."""
    if value == "me":
        return actor.user_id
    return int(value) if value else None


class FilterForm(WorklistForm):
    queue = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=STATUS_FILTER_CHOICES)
    task_type = forms.ChoiceField(required=False, label="Type", choices=[("", "Any type"), *TaskType.choices])
    overdue = forms.BooleanField(required=False, label="Overdue only")
    snoozed = forms.BooleanField(required=False, label="Include snoozed")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, actor: Actor, staff: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("queue", [("", "My queues"), *selectors.queues_for(actor)])
        self.set_choices("assignee", _assignee_choices(actor, everyone=True, staff=staff))

    def to_query(self) -> WorklistQuery:
        data = self.cleaned_data
        return WorklistQuery(
            queue=data.get("queue") or "",
            assignee=data.get("assignee") or "",
            status=data.get("status") or "active",
            task_type=data.get("task_type") or "",
            overdue_only=bool(data.get("overdue")),
            include_snoozed=bool(data.get("snoozed")),
            sort=data.get("sort") or "due",
        )


class BulkAssignForm(WorklistForm):
    task_ids = forms.TypedMultipleChoiceField(coerce=int, required=True, widget=forms.MultipleHiddenInput)
    assignee = forms.ChoiceField(required=False, label="Assign to")

    def __init__(
        self, *args: Any, actor: Actor, staff: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("assignee", _assignee_choices(actor, everyone=False, staff=staff))
        self.actor = actor
        # Any id is acceptable here: the service decides which the actor may assign.
        raw = self.data.getlist("task_ids") if hasattr(self.data, "getlist") else []
        self.set_choices("task_ids", [(value, value) for value in raw])

    def assignee_id(self) -> int | None:
        return _assignee_id(self.actor, self.cleaned_data.get("assignee") or "")


class AssignForm(WorklistForm):
    assignee = forms.ChoiceField(required=False, label="Assignee")
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("assignee", _assignee_choices(actor, everyone=False))
        self.actor = actor

    def assignee_id(self) -> int | None:
        return _assignee_id(self.actor, self.cleaned_data.get("assignee") or "")


class StatusForm(WorklistForm):
    status = forms.ChoiceField(choices=TaskStatus.choices)
    note = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SnoozeForm(WorklistForm):
    until = forms.DateTimeField(
        required=False,
        label="Snooze until",
        widget=_datetime_widget(),
        input_formats=[DATETIME_WIDGET_FORMAT],
    )
    wake = forms.BooleanField(required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("wake") and data.get("until") is None:
            self.add_error("until", "Pick when the task should come back.")
        return data


class CommentForm(WorklistForm):
    kind = forms.ChoiceField(
        choices=[(CommentKind.COMMENT, "Comment"), (CommentKind.ATTEMPT, "Contact attempt (unsuccessful)")]
    )
    body = forms.CharField(label="Text", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class NewTaskForm(WorklistForm):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    task_type = forms.ChoiceField(label="Type", choices=MANUAL_TYPES)
    queue = forms.ChoiceField()
    priority = forms.TypedChoiceField(coerce=int, choices=TaskPriority.choices, initial=TaskPriority.NORMAL)
    due_at = forms.DateTimeField(
        required=False,
        label="Due",
        widget=_datetime_widget(),
        input_formats=[DATETIME_WIDGET_FORMAT],
        help_text="Empty: the type's usual time to respond.",
    )
    patient_mrn = forms.CharField(required=False, max_length=20, label="Patient MRN")
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("queue", selectors.queues_for(actor))
        self.fields["queue"].initial = rules.home_queue(actor.role)
        self.set_choices("assignee", _assignee_choices(actor, everyone=False))
        self.actor = actor

    def assignee_id(self) -> int | None:
        return _assignee_id(self.actor, self.cleaned_data.get("assignee") or "")
