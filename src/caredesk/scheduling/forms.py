"""Forms parse what people type and pick; the rules (availability, conflicts, booking rules) live in the
services and rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from caredesk.accounts.models import Location
from caredesk.core.context import Actor
from caredesk.practitioners import selectors as practitioner_selectors

from . import selectors
from .choices import AppointmentSource, CancelReason, Modality, ReminderChannel
from .models import VisitType

CALENDAR_KINDS = [("", "All resources"), ("practitioner", "Practitioners"), ("room", "Rooms"),
                  ("equipment", "Equipment")]  # fmt: skip
WEEKDAY_CHOICES = [(str(n), name) for n, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))]
# Where each service error field is shown on the forms.
SERVICE_FIELD_TO_FORM_FIELD = {
    "patient_id": "patient_mrn",
    "visit_type_id": "visit_type",
    "practitioner_id": "practitioner",
    "location_id": "location",
    "start": "slot",
    "resource_ids": "slot",
    "every_weeks": "every_weeks",
    "occurrences": "occurrences",
}


class ScheduleForm(forms.Form):
    """Bootstrap classes on every widget, and service errors placed on the right field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            widget = form_field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
                continue
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def add_service_error(self, field: str | None, message: str) -> None:
        name = SERVICE_FIELD_TO_FORM_FIELD.get(field or "", field)
        self.add_error(name if name in self.fields else None, message)


def _locations(actor: Actor) -> QuerySet[Location]:
    return selectors.location_queryset(actor)


def _visit_types(actor: Actor) -> QuerySet[VisitType]:
    return selectors.visit_type_queryset(actor).filter(active=True).order_by("name")


class CalendarForm(ScheduleForm):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False, empty_label=None)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    view = forms.ChoiceField(choices=[("day", "Day"), ("week", "Week")], required=False)
    resource = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=CALENDAR_KINDS, required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)
        location_field.queryset = _locations(actor)


class MoveForm(ScheduleForm):
    """An appointment dropped on the calendar: the cell it landed on (its start and resource), how far
    into that cell (minutes), the column it was dragged from, and the version the page showed."""

    start = forms.CharField(max_length=40)
    offset = forms.IntegerField(required=False, min_value=0, max_value=24 * 60)
    resource = forms.IntegerField(min_value=1)
    from_resource = forms.IntegerField(min_value=1)
    version = forms.IntegerField(min_value=1)

    def clean_start(self) -> dt.datetime:
        try:
            start = dt.datetime.fromisoformat(self.cleaned_data["start"].strip())
        except ValueError as exc:
            raise forms.ValidationError("Enter the time as ISO 8601, with its UTC offset.") from exc
        if start.tzinfo is None:
            raise forms.ValidationError("The time needs its UTC offset (as the calendar sends it).")
        return start

    def new_start(self) -> dt.datetime:
        return self.cleaned_data["start"] + dt.timedelta(minutes=self.cleaned_data.get("offset") or 0)


class SlotSearchForm(ScheduleForm):
    """What to look for: a visit type, and optionally who, where, from when and the patient's preferences."""

    visit_type = forms.ModelChoiceField(queryset=VisitType.objects.none(), empty_label="Choose a visit type")
    practitioner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # the actor's organization's, set below
        required=False,
        empty_label="Any who offers it",
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="Any location"
    )
    modality = forms.ChoiceField(
        choices=[("", "As the visit type says"), *Modality.choices],
        required=False,
        label="In person or video",
    )
    first_day = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES, required=False, label="Days", widget=forms.CheckboxSelectMultiple
    )
    earliest = forms.TimeField(
        required=False, label="Not before", widget=forms.TimeInput(attrs={"type": "time"})
    )
    latest = forms.TimeField(
        required=False, label="Not after", widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        visit_type_field = self.fields["visit_type"]
        assert isinstance(visit_type_field, forms.ModelChoiceField)
        visit_type_field.queryset = _visit_types(actor)
        practitioner_field = self.fields["practitioner"]
        assert isinstance(practitioner_field, forms.ModelChoiceField)
        practitioner_field.queryset = (
            practitioner_selectors.practitioner_queryset(actor)
            .filter(active=True)
            .order_by("family_key", "given_key")
        )
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)
        location_field.queryset = _locations(actor)

    def to_query(self, *, patient_id: int | None = None, limit: int = 12) -> selectors.SlotQuery:
        data = self.cleaned_data
        weekdays = data.get("weekdays")
        practitioner = data.get("practitioner")
        location = data.get("location")
        return selectors.SlotQuery(
            visit_type_id=data["visit_type"].pk,
            practitioner_id=practitioner.pk if practitioner is not None else None,
            location_id=location.pk if location is not None else None,
            first_day=data.get("first_day"),
            weekdays=frozenset(int(d) for d in weekdays) if weekdays else None,
            earliest=data.get("earliest"),
            latest=data.get("latest"),
            modality=data.get("modality") or None,
            patient_id=patient_id,
            limit=limit,
        )


def parse_slot(token: str) -> tuple[dt.datetime, int, list[int]]:
    """A slot as the search offered it (selectors.Slot.token): start, location id, resource ids."""
    try:
        start_text, location_text, resources_text = token.split("|")
        start = dt.datetime.fromisoformat(start_text)
        return start, int(location_text), [int(i) for i in resources_text.split(",") if i]
    except ValueError as exc:
        raise forms.ValidationError("Pick one of the times offered.") from exc


class SlotPickForm(SlotSearchForm):
    """A search whose results are picked from: `slot` is the token of the time chosen (radio buttons in
    the result list)."""

    slot = forms.CharField(required=False, widget=forms.HiddenInput)

    def chosen_slot(self) -> tuple[dt.datetime, int, list[int]] | None:
        token = (self.cleaned_data.get("slot") or "").strip()
        if not token:
            self.add_error("slot", "Find times, then pick one.")
            return None
        try:
            return parse_slot(token)
        except forms.ValidationError as exc:
            self.add_error("slot", exc)
            return None


class BookingForm(SlotPickForm):
    patient = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    patient_mrn = forms.CharField(label="Patient MRN", required=False, max_length=20)
    source = forms.ChoiceField(
        choices=[(AppointmentSource.DESK, "Front desk"), (AppointmentSource.PHONE, "Phone")],
        initial=AppointmentSource.DESK,
    )
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    every_weeks = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=4,
        label="Repeat every (weeks)",
        help_text="Leave empty for one visit",
    )
    occurrences = forms.IntegerField(required=False, min_value=2, max_value=52, label="Number of visits")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("patient") and not (data.get("patient_mrn") or "").strip():
            self.add_error("patient_mrn", "Which patient? Enter the MRN.")
        if bool(data.get("every_weeks")) != bool(data.get("occurrences")):
            self.add_error("occurrences", "A series needs both how often and how many visits.")
        return data


class RescheduleForm(SlotPickForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=300)


class CancelForm(ScheduleForm):
    reason = forms.ChoiceField(choices=[("", "Why?"), *CancelReason.choices])
    note = forms.CharField(required=False, max_length=300)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class StatusForm(ScheduleForm):
    status = forms.ChoiceField(
        choices=[
            ("booked", "Booked"),
            ("confirmed", "Confirmed"),
            ("in_progress", "In progress"),
            ("fulfilled", "Fulfilled"),
        ]
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class VersionForm(ScheduleForm):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CheckInForm(VersionForm):
    """Check-in, with what the desk confirmed with the patient (recorded, not required)."""

    demographics_confirmed = forms.BooleanField(required=False, label="Demographics confirmed")
    coverage_confirmed = forms.BooleanField(required=False, label="Coverage confirmed")


WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class WaitlistForm(ScheduleForm):
    """Add a patient (by MRN) to a visit type's waitlist."""

    patient_mrn = forms.CharField(label="Patient MRN", max_length=20)
    practitioner = forms.TypedChoiceField(label="Practitioner", coerce=int, required=False, empty_value=None)
    priority = forms.TypedChoiceField(
        coerce=int, choices=[(1, "1 (first)"), (2, "2"), (3, "3"), (4, "4"), (5, "5 (last)")], initial=3
    )
    preferred_weekdays = forms.TypedMultipleChoiceField(
        label="Days", coerce=int, choices=WEEKDAYS, required=False, widget=forms.CheckboxSelectMultiple
    )
    earliest = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    latest = forms.TimeField(
        label="Latest start", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    channel = forms.ChoiceField(choices=ReminderChannel.choices)
    notes = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, visit_type: VisitType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practitioner_field = self.fields["practitioner"]
        assert isinstance(practitioner_field, forms.TypedChoiceField)
        practitioner_field.choices = [("", "Anyone who offers it")] + [
            (p.pk, f"{p.family_name}, {p.given_name}")
            for p in visit_type.practitioners.order_by("family_name")
        ]


class WaitlistStartForm(ScheduleForm):
    """The waitlist overview's entry point: which visit type's list to add a patient to (and, from the
    booking page, which patient)."""

    visit_type = forms.ModelChoiceField(queryset=VisitType.objects.none(), empty_label="Choose a visit type")
    patient = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visit_type_field = self.fields["visit_type"]
        assert isinstance(visit_type_field, forms.ModelChoiceField)
        visit_type_field.queryset = _visit_types(actor)


class AccessForm(ScheduleForm):
    """The access report's filter: one location, or all of them."""

    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="All locations"
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)
        location_field.queryset = _locations(actor)


# --- the patient portal -------------------------------------------------------------------------------------

TIMES_OF_DAY = [
    ("", "Any time"),
    ("morning", "Morning (before noon)"),
    ("afternoon", "Afternoon (from noon)"),
]
#: A time-of-day preference as the earliest and latest start (local).
TIME_OF_DAY_STARTS: dict[str, tuple[dt.time | None, dt.time | None]] = {
    "": (None, None),
    "morning": (None, dt.time(11, 59)),
    "afternoon": (dt.time(12, 0), None),
}


class PortalPreferencesForm(ScheduleForm):
    """When a patient would like a visit: optionally with whom (among those who offer `visit_type`, or
    any visit type bookable online), where, which days and which part of the day."""

    practitioner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Anyone who offers it", label="With"
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="Any location", label="Where"
    )
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        required=False,
        label="Days that suit you",
        widget=forms.CheckboxSelectMultiple,
    )
    time_of_day = forms.ChoiceField(choices=TIMES_OF_DAY, required=False, label="Time of day")

    def __init__(self, *args: Any, actor: Actor, visit_type: VisitType | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = (
            ("practitioner", selectors.portal_practitioners(actor, visit_type=visit_type)),
            ("location", _locations(actor)),
        )
        for name, queryset in choices:
            choice_field = self.fields[name]
            assert isinstance(choice_field, forms.ModelChoiceField)
            choice_field.queryset = queryset

    def weekday_set(self) -> frozenset[int] | None:
        days = self.cleaned_data.get("weekdays") or []
        return frozenset(int(d) for d in days) if days else None

    def starts_between(self) -> tuple[dt.time | None, dt.time | None]:
        return TIME_OF_DAY_STARTS[self.cleaned_data.get("time_of_day") or ""]


class PortalSearchForm(PortalPreferencesForm):
    """A patient looking for a time: a visit type they may book online, and their preferences."""

    field_order = ["visit_type", "practitioner", "location", "weekdays", "time_of_day"]

    visit_type = forms.ModelChoiceField(
        queryset=VisitType.objects.none(), empty_label="Choose a type of visit", label="Type of visit"
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, actor=actor, **kwargs)
        visit_type_field = self.fields["visit_type"]
        assert isinstance(visit_type_field, forms.ModelChoiceField)
        visit_type_field.queryset = selectors.portal_visit_types(actor)


class PortalBookForm(ScheduleForm):
    """The time a patient confirms: the visit type and the slot the search offered."""

    visit_type = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    slot = forms.CharField(max_length=400, widget=forms.HiddenInput)

    def clean_slot(self) -> tuple[dt.datetime, int, list[int]]:
        return parse_slot(self.cleaned_data["slot"])


class PortalMoveForm(ScheduleForm):
    """The new time a patient confirms for one of their visits: the slot the search offered."""

    slot = forms.CharField(max_length=400, widget=forms.HiddenInput)

    def clean_slot(self) -> tuple[dt.datetime, int, list[int]]:
        return parse_slot(self.cleaned_data["slot"])


class PortalCancelForm(ScheduleForm):
    note = forms.CharField(
        required=False,
        max_length=300,
        label="Reason (optional)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. feeling better, a conflict at work"}),
    )
