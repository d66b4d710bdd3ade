"""Forms parse what people type into the values the coverage use cases take; the rules live in the
services, and a service's refusal comes back onto the form through `add_service_error`."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from caredesk.core.context import Actor

from . import selectors
from .choices import ClearinghouseRoute, CoverageOrder, SubscriberRelationship
from .models import Coverage
from .schemas import CoverageInput

DATE_FORMAT = "%Y-%m-%d"


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT)


class CoverageBaseForm(forms.Form):
    """Bootstrap classes on the widgets; service errors onto the field they name (or the whole form)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            widget = form_field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def add_service_error(self, field: str | None, message: str) -> None:
        self.add_error(field if field in self.fields else None, message)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                css = self.fields[name].widget.attrs.get("class", "")
                self.fields[name].widget.attrs["class"] = f"{css} is-invalid".strip()


class CoverageForm(CoverageBaseForm):
    plan = forms.TypedChoiceField(label="Plan", coerce=int)
    order = forms.TypedChoiceField(choices=CoverageOrder.choices, coerce=int, initial=CoverageOrder.PRIMARY)
    member_id = forms.CharField(label="Member ID", max_length=80)
    group_number = forms.CharField(max_length=50, required=False)
    relationship = forms.ChoiceField(
        label="Patient's relationship to the subscriber",
        choices=SubscriberRelationship.choices,
        initial=SubscriberRelationship.SELF,
    )
    subscriber_given_name = forms.CharField(label="Subscriber's given name", max_length=35, required=False)
    subscriber_family_name = forms.CharField(label="Subscriber's family name", max_length=60, required=False)
    subscriber_birth_date = forms.DateField(
        label="Subscriber's date of birth", required=False, widget=_date_widget()
    )
    effective_from = forms.DateField(label="Coverage starts", widget=_date_widget())
    effective_to = forms.DateField(label="Coverage ends", required=False, widget=_date_widget())
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plans = (
            selectors.plan_queryset(actor)
            .filter(active=True, payer__active=True)
            .order_by("payer__name", "name")
        )
        cast(forms.ChoiceField, self.fields["plan"]).choices = [("", "Choose a plan")] + [
            (p.pk, f"{p.payer.name} — {p.name}") for p in plans
        ]

    @staticmethod
    def initial_for(coverage: Coverage) -> dict[str, Any]:
        return {
            "plan": coverage.plan_id,
            "order": coverage.order,
            "member_id": coverage.member_id,
            "group_number": coverage.group_number,
            "relationship": coverage.relationship,
            "subscriber_given_name": coverage.subscriber_given_name,
            "subscriber_family_name": coverage.subscriber_family_name,
            "subscriber_birth_date": coverage.subscriber_birth_date,
            "effective_from": coverage.effective_from,
            "effective_to": coverage.effective_to,
            "version": coverage.version,
        }

    def to_input(self) -> CoverageInput:
        data = self.cleaned_data
        return CoverageInput(
            plan_id=data["plan"],
            order=data["order"],
            member_id=data["member_id"],
            group_number=data.get("group_number") or "",
            relationship=data["relationship"],
            subscriber_given_name=data.get("subscriber_given_name") or "",
            subscriber_family_name=data.get("subscriber_family_name") or "",
            subscriber_birth_date=data.get("subscriber_birth_date"),
            effective_from=data["effective_from"],
            effective_to=data.get("effective_to"),
        )


class EndCoverageForm(CoverageBaseForm):
    end_date = forms.DateField(label="Last day of coverage", widget=_date_widget())
    reason = forms.CharField(max_length=200, required=False, help_text="e.g. new insurance, plan terminated")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class CheckEligibilityForm(CoverageBaseForm):
    service_date = forms.DateField(label="For the date", required=False, widget=_date_widget())


class BatchForm(CoverageBaseForm):
    EVERYONE = "everyone"
    LISTED = "listed"
    scope = forms.ChoiceField(
        choices=[(EVERYONE, "Every patient with an active coverage"), (LISTED, "The patients listed below")],
        initial=EVERYONE,
    )
    mrns = forms.CharField(
        label="MRNs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more, separated by spaces, commas or lines",
    )
    service_date = forms.DateField(label="For the date", required=False, widget=_date_widget())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == self.LISTED and not self.mrn_list():
            self.add_error("mrns", "List at least one MRN.")
        return data

    def mrn_list(self) -> list[str]:
        text = self.cleaned_data.get("mrns") or ""
        return [m for m in text.replace(",", " ").split() if m][:5000]


class PayerForm(CoverageBaseForm):
    name = forms.CharField(max_length=60)
    payer_id = forms.CharField(label="Payer ID", max_length=80)
    route = forms.ChoiceField(label="Clearinghouse route", choices=ClearinghouseRoute.choices)


class PlanForm(CoverageBaseForm):
    payer = forms.TypedChoiceField(coerce=int)
    name = forms.CharField(max_length=120)
    plan_type = forms.CharField(max_length=40, required=False)
    copay = forms.DecimalField(
        label="Office visit co-pay", max_digits=10, decimal_places=2, min_value=0, required=False
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["payer"]).choices = [("", "Choose a payer")] + [
            (p.pk, p.name) for p in selectors.payer_queryset(actor).filter(active=True)
        ]


# --- prior authorizations ------------------------------------------------------------------------------


class AuthorizationRequestForm(CoverageBaseForm):
    coverage = forms.TypedChoiceField(label="Coverage", coerce=int)
    service_code = forms.CharField(
        max_length=40, help_text="The procedure code (e.g. 72148) or visit-type code the payer authorizes"
    )
    description = forms.CharField(max_length=200, required=False, help_text="e.g. MRI lumbar spine")
    units_requested = forms.IntegerField(min_value=1, max_value=100_000, required=False)
    notes = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, coverages: list[Coverage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["coverage"]).choices = [
            (c.pk, f"{c.get_order_display()}: {c.plan.payer.name} — {c.plan.name} ({c.member_id})")
            for c in coverages
        ]


class ApprovalForm(CoverageBaseForm):
    auth_number = forms.CharField(label="Authorization number", max_length=50)
    units_authorized = forms.IntegerField(min_value=1, max_value=100_000)
    valid_from = forms.DateField(widget=_date_widget())
    valid_to = forms.DateField(widget=_date_widget())
    notes = forms.CharField(max_length=2000, required=False)


class ReasonForm(CoverageBaseForm):
    reason = forms.CharField(max_length=300, required=False)


class UseForm(CoverageBaseForm):
    used_on = forms.DateField(label="Used on", widget=_date_widget())
    units = forms.IntegerField(min_value=1, max_value=100_000, initial=1)
    reference = forms.CharField(max_length=80, required=False, help_text="e.g. the appointment")
    override_reason = forms.CharField(
        max_length=300, required=False, help_text="Only to use it beyond its dates or units"
    )


class AuthorizationRuleForm(CoverageBaseForm):
    payer = forms.TypedChoiceField(coerce=int)
    plan = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, help_text="Empty: every plan of the payer"
    )
    service_code = forms.CharField(max_length=40, help_text="Procedure code or visit-type code")
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["payer"]).choices = [("", "Choose a payer")] + [
            (p.pk, p.name) for p in selectors.payer_queryset(actor).filter(active=True)
        ]
        cast(forms.ChoiceField, self.fields["plan"]).choices = [("", "Every plan of the payer")] + [
            (p.pk, f"{p.payer.name} — {p.name}") for p in selectors.plan_queryset(actor).filter(active=True)
        ]
