"""The audit trail's filter form: what an administrator types, checked before any query runs."""

from __future__ import annotations

from typing import Any

from django import forms

from .codes import AuditAction
from .selectors import AuditFilters

MAX_PAGE = 100_000


class AuditFilterForm(forms.Form):
    patient = forms.CharField(
        label="Patient (MRN or id)",
        required=False,
        max_length=40,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    user = forms.CharField(
        label="User",
        required=False,
        max_length=150,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    action = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any action"), *((a.value, f"{a.value} · {a.label}") for a in AuditAction)],
    )
    date_from = forms.DateField(
        label="From",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label="To", required=False, input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            css = "form-select" if isinstance(form_field.widget, forms.Select) else "form-control"
            form_field.widget.attrs.setdefault("class", css)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def to_filters(self, time_zone: str) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            patient=data.get("patient") or "",
            username=data.get("user") or "",
            action=data.get("action"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            time_zone=time_zone,
        )
