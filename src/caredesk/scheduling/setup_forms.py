"""The scheduling setup pages' forms: they parse what a scheduling manager types and picks into the
services' inputs. The rules (ranges, overlapping windows, dates in order, unknown resources and visit
types) are the services'; a refusal comes back onto the field it names (`add_service_error`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.db.models import QuerySet

from caredesk.accounts.models import Location
from caredesk.core.context import Actor
from caredesk.practitioners import selectors as practitioner_selectors

from . import selectors, services
from .choices import ExceptionKind, PatientEligibility, ResourceKind, VisitModality
from .forms import ScheduleForm
from .models import Resource, VisitType

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_CHOICES = [(n, name) for n, name in enumerate(DAY_NAMES)]
#: What a visit type's requirement or a resource's category usually says (the form suggests them).
CATEGORY_SUGGESTIONS = ("exam", "procedure", "operating", "ultrasound", "ecg", "anesthesia", "infusion")
STATUS_CHOICES = [("active", "In use"), ("inactive", "Withdrawn"), ("all", "All")]
WINDOW_ROWS = 6
REQUIREMENT_ROWS = 4


class SetupForm(ScheduleForm):
    """A setup form: a service's field name is shown on the form field of that name (or the one mapped
    in `service_fields`); anything else goes on top of the form."""

    service_fields: dict[str, str] = {}

    def add_service_error(self, field: str | None, message: str) -> None:
        name = self.service_fields.get(field or "", field or "")
        self.add_error(name if name in self.fields else None, message)


def _locations(actor: Actor) -> QuerySet[Location]:
    return selectors.location_queryset(actor)


def _practitioners(actor: Actor) -> QuerySet[Any]:
    return (
        practitioner_selectors.practitioner_queryset(actor)
        .filter(active=True)
        .order_by("family_key", "given_key")
    )


def _resources(actor: Actor) -> QuerySet[Resource]:
    return (
        selectors.resource_queryset(actor)
        .filter(active=True)
        .select_related("location")
        .order_by("location__name", "kind", "name")
    )


def _visit_types(actor: Actor) -> QuerySet[VisitType]:
    return selectors.visit_type_queryset(actor).filter(active=True).order_by("name")


class ResourceChoiceField(forms.ModelChoiceField[Resource]):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_kind_display().lower()}, {obj.location.name})"


def _set_queryset(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


# --- lists ------------------------------------------------------------------------------------------------


class ListFilterForm(SetupForm):
    """Filters of the setup lists: where, what kind, and whether withdrawn ones show."""

    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="All locations"
    )
    kind = forms.ChoiceField(required=False)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)

    kind_choices: list[tuple[str, str]] = [("", "All kinds"), *ResourceKind.choices]

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "location", _locations(actor))
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = self.kind_choices


class TemplateFilterForm(ListFilterForm):
    """`kind` is the resource's; `resource` narrows to one resource (the resources list links here)."""

    status = forms.ChoiceField(
        choices=[("active", "In force or coming"), ("inactive", "Ended"), ("all", "All")],
        required=False,
        label="When",
    )
    resource = forms.IntegerField(required=False, min_value=1, max_value=2**62, widget=forms.HiddenInput)


class VisitTypeFilterForm(SetupForm):
    modality = forms.ChoiceField(choices=[("", "Any modality"), *VisitModality.choices], required=False)
    eligibility = forms.ChoiceField(
        choices=[("", "Any patients"), *PatientEligibility.choices], required=False, label="Who may book"
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)


class ExceptionFilterForm(ListFilterForm):
    kind_choices = [("", "All kinds"), *ExceptionKind.choices]
    status = forms.ChoiceField(
        choices=[("upcoming", "Current and upcoming"), ("past", "Past"), ("all", "All")],
        required=False,
        label="When",
    )


# --- resources --------------------------------------------------------------------------------------------


class ResourceForm(SetupForm):
    service_fields = {"location_id": "location", "practitioner_id": "practitioner"}

    kind = forms.ChoiceField(choices=ResourceKind.choices, initial=ResourceKind.ROOM)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label="Choose a location")
    name = forms.CharField(
        required=False,
        max_length=200,
        help_text="A practitioner's resource is named after them if left empty",
    )
    practitioner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # the actor's organization's, set in __init__
        required=False,
        empty_label="(not a practitioner)",
        help_text="Only for a practitioner resource",
    )
    category = forms.CharField(
        required=False,
        max_length=60,
        help_text="What visit types ask for: exam, procedure, operating, ultrasound, anesthesia …",
        widget=forms.TextInput(attrs={"list": "category-suggestions"}),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "location", _locations(actor))
        _set_queryset(self, "practitioner", _practitioners(actor))


# --- visit types ------------------------------------------------------------------------------------------


class VisitTypeForm(SetupForm):
    """Numbers are parsed here and checked by the service (its ranges, its messages)."""

    service_fields = {"practitioner_ids": "practitioners"}

    name = forms.CharField(max_length=200)
    code = forms.CharField(max_length=60, help_text="A short stable name: letters, digits, - and _")
    duration_minutes = forms.IntegerField(label="Duration (minutes)", initial=20)
    buffer_before_minutes = forms.IntegerField(label="Buffer before (minutes)", initial=0)
    buffer_after_minutes = forms.IntegerField(label="Buffer after (minutes)", initial=0)
    slot_step_minutes = forms.IntegerField(
        label="Start times every (minutes)", initial=15, help_text="Counted from local midnight"
    )
    modality = forms.ChoiceField(choices=VisitModality.choices, initial=VisitModality.IN_PERSON)
    eligibility = forms.ChoiceField(
        choices=PatientEligibility.choices, initial=PatientEligibility.ANY, label="Who may book"
    )
    min_notice_minutes = forms.IntegerField(
        label="Minimum notice (minutes)",
        initial=0,
        help_text="How long before the start it can still be booked",
    )
    max_days_ahead = forms.IntegerField(label="Bookable up to (days ahead)", initial=180)
    portal_bookable = forms.BooleanField(
        required=False,
        label="Patients may book it online",
        help_text="In the patient portal, and cancel it there",
    )
    portal_cancel_notice_hours = forms.IntegerField(
        label="Online cancellation up to (hours before)",
        initial=24,
        required=False,
        help_text="Later than that, patients call the clinic (empty: 24)",
    )
    practitioners: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,  # the actor's organization's, set in __init__
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Offered by",
        help_text="A practitioner requirement picks among them",
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["practitioners"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = _practitioners(actor)


class RequirementForm(SetupForm):
    """One resource a visit type needs: a specific one, or any of a kind (and category)."""

    kind = forms.ChoiceField(choices=[("", "—"), *ResourceKind.choices], required=False)
    resource = ResourceChoiceField(
        queryset=Resource.objects.none(), required=False, empty_label="Any of this kind"
    )
    category = forms.CharField(
        required=False, max_length=60, widget=forms.TextInput(attrs={"list": "category-suggestions"})
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "resource", _resources(actor))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("kind") and (data.get("resource") or data.get("category")):
            self.add_error("kind", "Which kind of resource?")
        return data

    def requirement(self) -> services.RequirementInput | None:
        data = self.cleaned_data
        if not data.get("kind"):
            return None
        resource = data.get("resource")
        return services.RequirementInput(
            kind=data["kind"],
            resource_id=resource.pk if resource is not None else None,
            category=data.get("category") or "",
        )


class BaseRowFormSet(forms.BaseFormSet[Any]):
    """Rows that take the actor (for their choices)."""

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        self.actor = actor
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "actor": self.actor}


RequirementFormSet = cast(
    "type[BaseRowFormSet]",
    forms.formset_factory(
        RequirementForm, formset=BaseRowFormSet, extra=REQUIREMENT_ROWS, max_num=12, absolute_max=12
    ),
)


# --- weekly templates -------------------------------------------------------------------------------------


class TemplateForm(SetupForm):
    service_fields = {"resource_id": "resource", "location_id": "location"}

    resource = ResourceChoiceField(queryset=Resource.objects.none(), empty_label="Choose a resource")
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        required=False,
        empty_label="The resource's own location",
        help_text="Where these hours are worked (a practitioner may work at several sites)",
    )
    name = forms.CharField(max_length=200, initial="Regular week")
    effective_from = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    effective_until = forms.DateField(
        label="Last day",
        required=False,
        help_text="Leave empty for no end",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "resource", _resources(actor))
        _set_queryset(self, "location", _locations(actor))


@dataclass(frozen=True)
class NumberedWindow:
    """One window as the service numbers them (1, 2, … in the order sent), and the row it came from."""

    number: int
    row: int
    window: services.WindowInput

    def __str__(self) -> str:
        w = self.window
        every = f", every {w.week_interval} weeks" if w.week_interval != 1 else ""
        return f"{DAY_NAMES[w.weekday]} {w.start:%H:%M}-{w.end:%H:%M}{every} (row {self.row})"


class WindowForm(SetupForm):
    """A row of hours on one or more weekdays (Mon-Fri 08:00-12:00 is one row)."""

    days = forms.TypedMultipleChoiceField(
        choices=DAY_CHOICES, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    week_interval = forms.IntegerField(required=False, initial=1, label="Every (weeks)")
    reserved_for = forms.ModelChoiceField(
        queryset=VisitType.objects.none(), required=False, empty_label="Any visit type"
    )
    reserved_for_surgeon = forms.ModelChoiceField(
        queryset=Resource.objects.none(),
        required=False,
        empty_label="Any surgeon",
        label="Held for surgeon",
        help_text="Operating-room block time only that surgeon's cases may use (rooms only)",
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "reserved_for", _visit_types(actor))
        surgeons = _resources(actor).filter(kind=ResourceKind.PRACTITIONER).order_by("name")
        _set_queryset(self, "reserved_for_surgeon", surgeons)

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not data.get("days") and data.get("start") is None and data.get("end") is None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors or self.is_blank():
            return data
        if not data.get("days"):
            self.add_error("days", "Pick the days these hours are on.")
        if data.get("start") is None or data.get("end") is None:
            self.add_error(
                "end" if data.get("start") is not None else "start", "Give a start and an end time."
            )
        return data

    def windows(self) -> list[services.WindowInput]:
        data = self.cleaned_data
        if self.is_blank():
            return []
        reserved = data.get("reserved_for")
        surgeon = data.get("reserved_for_surgeon")
        interval = data.get("week_interval")
        return [
            services.WindowInput(
                weekday=day,
                start=data["start"],
                end=data["end"],
                week_interval=1 if interval is None else interval,
                reserved_for_id=reserved.pk if reserved is not None else None,
                reserved_for_surgeon_id=surgeon.pk if surgeon is not None else None,
            )
            for day in sorted(data["days"])
        ]


WindowFormSet = cast(
    "type[BaseRowFormSet]",
    forms.formset_factory(WindowForm, formset=BaseRowFormSet, extra=WINDOW_ROWS, max_num=20, absolute_max=20),
)


def numbered_windows(rows: Any) -> list[NumberedWindow]:
    """The windows of a valid window formset, numbered in the order the service receives them."""
    numbered: list[NumberedWindow] = []
    for row_number, row in enumerate(rows, start=1):
        for window in row.windows():
            numbered.append(NumberedWindow(len(numbered) + 1, row_number, window))
    return numbered


class EndTemplateForm(SetupForm):
    last_day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


# --- exceptions -------------------------------------------------------------------------------------------


class ExceptionForm(SetupForm):
    """Time taken away. Dates and times are local wall-clock times of `timezone` (by default the time zone
    of the resource's or location's site); a time that does not exist there (the hour skipped when clocks
    go forward) is refused. Without times the exception covers whole days."""

    service_fields = {
        "resource_id": "resource",
        "location_id": "location",
        "starts_at": "start_date",
        "ends_at": "end_date",
    }
    APPLIES_TO = [
        ("resource", "One resource (time off, partial day)"),
        ("location", "A whole location (closure)"),
        ("organization", "The whole organization (holiday)"),
    ]

    kind = forms.ChoiceField(choices=ExceptionKind.choices, initial=ExceptionKind.TIME_OFF)
    applies_to = forms.ChoiceField(choices=APPLIES_TO, initial="resource", widget=forms.RadioSelect)
    resource = ResourceChoiceField(
        queryset=Resource.objects.none(), required=False, empty_label="Choose a resource"
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="Choose a location"
    )
    start_date = forms.DateField(label="From (day)", widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(
        label="From (time)",
        required=False,
        help_text="Empty: from the start of the day",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    end_date = forms.DateField(label="Until (day)", widget=forms.DateInput(attrs={"type": "date"}))
    end_time = forms.TimeField(
        label="Until (time)",
        required=False,
        help_text="Empty: to the end of the day",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    timezone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        help_text="Empty: the location's time zone",
        widget=forms.TextInput(attrs={"list": "timezone-suggestions"}),
    )
    reason = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        _set_queryset(self, "resource", _resources(actor))
        _set_queryset(self, "location", _locations(actor))

    def _zone(self, data: dict[str, Any]) -> ZoneInfo | None:
        name = (data.get("timezone") or "").strip()
        if not name:
            site = data.get("location") if data.get("applies_to") == "location" else None
            resource = data.get("resource") if data.get("applies_to") == "resource" else None
            if resource is not None:
                site = resource.location
            if site is None:
                site = _locations(self.actor).order_by("pk").first()
            name = site.timezone if site is not None else "UTC"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.add_error(
                "timezone",
                f"Unknown time zone {name!r}: use a name such as America/New_York, or leave it empty.",
            )
            return None

    def _aware(self, day: dt.date, time: dt.time, zone: ZoneInfo, field: str) -> dt.datetime | None:
        local = dt.datetime.combine(day, time)
        aware = local.replace(tzinfo=zone)
        if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != local:
            self.add_error(
                field, f"{local:%d %b %Y %H:%M} does not exist in {zone.key} (the clocks go forward then)."
            )
            return None
        return aware

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        applies_to = data.get("applies_to")
        if applies_to == "resource" and data.get("resource") is None and "resource" not in self.errors:
            self.add_error("resource", "Which resource?")
        if applies_to == "location" and data.get("location") is None and "location" not in self.errors:
            self.add_error("location", "Which location?")
        if self.errors:
            return data
        zone = self._zone(data)
        if zone is None:
            return data
        end_day = data["end_date"]
        end_time = data.get("end_time")
        if end_time is None:  # through the whole last day
            end_day, end_time = end_day + dt.timedelta(days=1), dt.time(0)
        data["starts_at"] = self._aware(
            data["start_date"], data.get("start_time") or dt.time(0), zone, "start_time"
        )
        data["ends_at"] = self._aware(end_day, end_time, zone, "end_time")
        return data
