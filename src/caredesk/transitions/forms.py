"""Forms of the transitions pages: filters, linking a visit to a patient, TCM complexity, the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from .choices import EncounterStatus, MessageStatus, TcmComplexity

DATE_FORMAT = "%Y-%m-%d"
MAX_REPORT_DAYS = 366


class TransitionsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            widget = form_field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")

    def add_service_error(self, field: str | None, message: str) -> None:
        self.add_error(field if field in self.fields else None, message)


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
