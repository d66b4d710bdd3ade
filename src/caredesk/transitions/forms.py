"""Forms of the transitions pages: filters, linking a visit to a patient, TCM complexity, the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from caredesk.core.forms import StyledForm

from .choices import ChecklistStatus, EncounterStatus, MessageStatus, TcmComplexity

DATE_FORMAT = "%Y-%m-%d"
MAX_REPORT_DAYS = 366


class TransitionsForm(StyledForm):
    """The app's forms: Bootstrap classes on every widget, service refusals on their fields."""


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT)


class EncounterFilterForm(TransitionsForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *EncounterStatus.choices])
    unmatched = forms.BooleanField(required=False, label="Unmatched only")
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)


class MessageFilterForm(TransitionsForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *MessageStatus.choices])
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)


class LinkForm(TransitionsForm):
    patient = forms.CharField(label="Patient MRN", max_length=20)


class ComplexityForm(TransitionsForm):
    complexity = forms.ChoiceField(choices=TcmComplexity.choices, label="Medical decision making")


class TcmReportForm(TransitionsForm):
    discharged_from = forms.DateField(required=False, label="Discharged from", widget=_date_widget())
    discharged_to = forms.DateField(required=False, label="to", widget=_date_widget())
    include_cancelled = forms.BooleanField(required=False, label="Include cancelled")

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        end = data.get("discharged_to") or self.today
        start = data.get("discharged_from") or end - dt.timedelta(days=30)
        if start > end:
            self.add_error("discharged_from", "The period starts after it ends.")
        elif (end - start).days > MAX_REPORT_DAYS:
            self.add_error("discharged_from", "Report on at most a year at a time.")
        data["discharged_from"], data["discharged_to"] = start, end
        return data


class ChecklistItemForm(TransitionsForm):
    """One checklist item (prefixed with its code on the page): the status comes from the button pressed."""

    status = forms.ChoiceField(choices=ChecklistStatus.choices)
    note = forms.CharField(required=False, max_length=500)
    appointment = forms.IntegerField(required=False, min_value=1, widget=forms.Select)
    package = forms.IntegerField(required=False, min_value=1, widget=forms.Select)

    def __init__(
        self,
        *args: Any,
        appointments: list[tuple[int, str]] | None = None,
        packages: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.offer(appointments or [], packages or [])

    def offer(self, appointments: list[tuple[int, str]], packages: list[tuple[int, str]]) -> None:
        """The follow-up appointments and transfer packages the selects list."""
        self.fields["appointment"].widget.choices = [("", "No appointment named"), *appointments]
        self.fields["package"].widget.choices = [("", "No package named"), *packages]
