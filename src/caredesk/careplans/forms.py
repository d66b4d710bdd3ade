"""Forms parse what people type into the values the care-plan use cases take; the rules live in services."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from caredesk.core.forms import StyledForm

from . import catalog
from .choices import ActivityKind, CareTeamRole, Comparator, ConsentMethod, PlanStatus


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
    due_on = forms.DateField(
        required=False, widget=_date_widget(), label="Reach by", help_text="Empty: no date"
    )


class NewGoalForm(CareplanForm):
    code = forms.ChoiceField(
        choices=[(m.code, f"{m.label} ({m.unit})") for m in catalog.MEASURES.values()], label="Measure"
    )
    description = forms.CharField(max_length=300, label="Goal (plain language)")
    comparator = forms.ChoiceField(choices=Comparator.choices, label="Value must be")
    target = forms.DecimalField(max_digits=10, decimal_places=2)
    due_on = forms.DateField(required=False, widget=_date_widget(), label="Reach by")
    stale_after_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=180, label="Out of date after (days)"
    )


class CancelForm(CareplanForm):
    reason = forms.CharField(max_length=300, label="Why cancel")


class TeamMemberForm(CareplanForm):
    """A care-team role and, optionally, who fills it: a staff user (`u:ID`) or a practitioner (`p:ID`)."""

    field_aliases: ClassVar[dict[str, str]] = {"user_id": "member", "practitioner_id": "member"}

    role = forms.ChoiceField(choices=CareTeamRole.choices)
    member = forms.ChoiceField(required=False, label="Who", help_text="Empty: the role, nobody named yet")

    def __init__(
        self,
        *args: Any,
        users: list[tuple[int, str]],
        practitioners: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["member"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", "—"),
            ("Practitioners", [(f"p:{pk}", name) for pk, name in practitioners]),
            ("Staff", [(f"u:{pk}", name) for pk, name in users]),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, _, number = str(data.pop("member", "") or "").partition(":")
        data["user_id"] = int(number) if kind == "u" else None
        data["practitioner_id"] = int(number) if kind == "p" else None
        return data


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
