"""Forms parse what people type into the values the care-plan use cases take; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms

from caredesk.core.forms import StyledForm

from . import catalog
from .choices import ActivityKind, Comparator, ConsentMethod, PlanStatus


class CareplanForm(StyledForm):
    """The app's forms: Bootstrap classes on every widget, service refusals on their fields."""


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NewPlanForm(CareplanForm):
    template = forms.ChoiceField(choices=[(t.code, t.title) for t in catalog.TEMPLATES.values()])


class GoalForm(CareplanForm):
    description = forms.CharField(max_length=300, label="Goal (plain language)")
    comparator = forms.ChoiceField(choices=Comparator.choices, label="Value must be")
    target = forms.DecimalField(max_digits=10, decimal_places=2)
    stale_after_days = forms.IntegerField(min_value=1, max_value=3650, label="Out of date after (days)")


class ActivityForm(CareplanForm):
    description = forms.CharField(max_length=300)
    every_months = forms.IntegerField(
        required=False, min_value=1, max_value=60, label="Every (months)", help_text="Empty: once"
    )
    due_on = forms.DateField(required=False, widget=_date_widget(), label="Next due")


class NewActivityForm(CareplanForm):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    description = forms.CharField(max_length=300)
    every_months = forms.IntegerField(
        required=False, min_value=1, max_value=60, label="Every (months)", help_text="Empty: once"
    )
    due_on = forms.DateField(widget=_date_widget(), label="First due")


class ClosePlanForm(CareplanForm):
    status = forms.ChoiceField(
        choices=[(PlanStatus.COMPLETED, "Completed"), (PlanStatus.CANCELLED, "Cancelled")], label="End as"
    )
    reason = forms.CharField(max_length=300)


class DoneForm(CareplanForm):
    done_on = forms.DateField(required=False, widget=_date_widget(), label="Done on")


class ConsentForm(CareplanForm):
    consented_on = forms.DateField(widget=_date_widget(), label="Consent date")
    method = forms.ChoiceField(choices=ConsentMethod.choices, label="How")
    note = forms.CharField(required=False, max_length=500)


class RevokeConsentForm(CareplanForm):
    revoked_on = forms.DateField(widget=_date_widget(), label="Stopped on")
    reason = forms.CharField(required=False, max_length=300)


class TimeEntryForm(CareplanForm):
    performed_on = forms.DateField(widget=_date_widget(), label="Date")
    minutes = forms.IntegerField(min_value=1, max_value=240)
    activity = forms.CharField(max_length=300, label="What was done")
    billing_practitioner = forms.TypedChoiceField(coerce=int, label="Billing practitioner")

    def __init__(self, *args: Any, practitioners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["billing_practitioner"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—"), *practitioners]


class MonthForm(forms.Form):
    month = forms.DateField(required=False, input_formats=["%Y-%m"])
