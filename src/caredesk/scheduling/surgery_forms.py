"""Forms of the surgery planning pages. They parse; the rules live in `surgery` and `planning`."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from caredesk.accounts.models import Location
from caredesk.core.context import Actor

from . import planning, selectors
from .choices import CasePriority, ResourceKind
from .forms import ScheduleForm
from .models import Resource, VisitType

# Where each service error field is shown.
CASE_FIELDS = {
    "patient_id": "patient_mrn",
    "location_id": "location",
    "surgeon_id": "surgeon",
    "procedure_id": "procedure",
    "visit_type_id": "procedure",
    "equipment_ids": "equipment",
}


class _Form(ScheduleForm):
    fields_by_service: dict[str, str] = {}

    def add_service_error(self, field: str | None, message: str) -> None:
        name = self.fields_by_service.get(field or "", field)
        self.add_error(name if name in self.fields else None, message)


class SurgeonChoiceField(forms.ModelChoiceField[Resource]):
    def label_from_instance(self, obj: Resource) -> str:
        return obj.name


class CaseForm(_Form):
    fields_by_service = CASE_FIELDS

    location = forms.ModelChoiceField(queryset=Location.objects.none(), widget=forms.HiddenInput)
    patient_mrn = forms.CharField(label="Patient MRN", max_length=40)
    surgeon = SurgeonChoiceField(queryset=Resource.objects.none(), empty_label="Choose a surgeon")
    procedure = forms.ModelChoiceField(
        queryset=VisitType.objects.none(), empty_label="Choose a procedure", label="Procedure (visit type)"
    )
    procedure_code = forms.CharField(label="Procedure code", max_length=20, required=False)
    procedure_name = forms.CharField(label="Procedure name", max_length=200, required=False)
    duration_minutes = forms.IntegerField(label="Estimated minutes", min_value=5, max_value=24 * 60)
    equipment = forms.ModelMultipleChoiceField(
        queryset=Resource.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    priority = forms.TypedChoiceField(choices=CasePriority.choices, coerce=int, initial=CasePriority.ROUTINE)
    earliest_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    latest_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, actor: Actor, location: Location | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        resources = selectors.resource_queryset(actor).filter(active=True)
        self._set("location", selectors.location_queryset(actor))
        self._set("surgeon", resources.filter(kind=ResourceKind.PRACTITIONER).order_by("name"))
        self._set("procedure", selectors.visit_type_queryset(actor).filter(active=True).order_by("name"))
        equipment = resources.filter(kind=ResourceKind.EQUIPMENT)
        self._set(
            "equipment",
            equipment.filter(location=location).order_by("name") if location else equipment.none(),
        )

    def _set(self, name: str, queryset: Any) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset


class PlanForm(_Form):
    fields_by_service = {"location_id": "location", "case_ids": "date_from"}

    location = forms.ModelChoiceField(queryset=Location.objects.none(), widget=forms.HiddenInput)
    date_from = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))
    turnover = forms.IntegerField(label="Turnover (min)", min_value=0, initial=planning.DEFAULT_TURNOVER)
    overtime_cap = forms.IntegerField(
        label="Overtime cap (min)", min_value=0, initial=planning.DEFAULT_OVERTIME_CAP
    )
    time_limit = forms.FloatField(
        label="Time limit (s)", min_value=0.5, max_value=60, initial=planning.DEFAULT_TIME_LIMIT
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectors.location_queryset(actor)


class AdjustForm(_Form):
    fields_by_service = {"room_id": "room"}

    room = forms.TypedChoiceField(coerce=int, choices=())
    start = forms.DateTimeField(
        label="Start", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def __init__(self, *args: Any, rooms: list[Resource], zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        room_field = self.fields["room"]
        assert isinstance(room_field, forms.TypedChoiceField)
        room_field.choices = [(r.pk, r.name) for r in rooms]
        self.zone = zone

    def aware_start(self) -> dt.datetime:
        """The start typed, read as wall-clock time at the plan's location."""
        start: dt.datetime = self.cleaned_data["start"]
        return start.replace(tzinfo=None).replace(tzinfo=self.zone)
