"""Forms of the order pages: a new order, moving one along, an override reason, the list filter."""

from __future__ import annotations

from typing import Any

from django import forms

from caredesk.core.forms import StyledForm

from .choices import CodeSystem, OrderKind, OrderStatus, Priority


class OrderForm(StyledForm):
    field_aliases = {"practitioner_id": "practitioner", "location_id": "location"}

    kind = forms.ChoiceField(choices=OrderKind.choices)
    code = forms.CharField(max_length=40, help_text="LOINC, CPT or HCPCS code, e.g. 4548-4, 72148, E0601")
    code_display = forms.CharField(max_length=200, required=False, label="Description")
    code_system = forms.ChoiceField(
        choices=[("", "Usual for the kind"), *CodeSystem.choices], required=False, label="Code system"
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)
    practitioner = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Ordering practitioner"
    )
    location = forms.TypedChoiceField(coerce=int, label="Where it happens")
    service_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date (default: today)"
    )
    telehealth = forms.BooleanField(required=False, label="Telehealth (the patient's state counts)")
    controlled_substance = forms.BooleanField(required=False, label="Involves a controlled substance")
    diagnoses = forms.CharField(
        max_length=300, required=False, label="Diagnoses (ICD-10-CM)", help_text="e.g. E11.9, I10"
    )
    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    save_as_draft = forms.BooleanField(required=False, label="Save as a draft (place it later)")
    override_reason = forms.CharField(
        max_length=2000,
        required=False,
        label="Override reason (administrators)",
        help_text="Place the order although a check failed; the reason is kept with what the checks said",
    )

    def __init__(
        self,
        *args: Any,
        practitioners: list[tuple[int, str]],
        locations: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].choices = [("", "—"), *practitioners]  # type: ignore[attr-defined]
        self.fields["location"].choices = locations  # type: ignore[attr-defined]


class StatusForm(StyledForm):
    status = forms.ChoiceField(
        choices=[
            (OrderStatus.IN_PROGRESS, "In progress"),
            (OrderStatus.COMPLETED, "Completed"),
            (OrderStatus.CANCELLED, "Cancelled"),
            (OrderStatus.REVOKED, "Revoked"),
        ]
    )
    note = forms.CharField(
        max_length=20_000,
        required=False,
        label="Result, notes or reason",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PlaceForm(StyledForm):
    override_reason = forms.CharField(
        max_length=2000, required=False, label="Override reason (administrators)"
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class OverrideForm(StyledForm):
    reason = forms.CharField(max_length=2000, label="Why the order goes ahead despite the checks")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class OrderFilterForm(StyledForm):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), ("open", "Open"), *OrderStatus.choices]
    )
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *OrderKind.choices])
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)
