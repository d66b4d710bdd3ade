"""Forms parse what people type; the rules (NPI check digit, duplicates, scope) live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from caredesk.accounts.models import Location, User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor

from .models import Specialty
from .selectors import PractitionerQuery
from .services import PractitionerInput

# Where each service error field is shown on the form.
SERVICE_FIELD_TO_FORM_FIELD = {"location_ids": "locations", "user_id": "user"}


def _org_locations(actor: Actor) -> QuerySet[Location]:
    if actor.organization_id is None:
        return Location.objects.none()
    return Location.objects.filter(organization_id=actor.organization_id).order_by("name")


def _org_staff(actor: Actor) -> QuerySet[User]:
    if actor.organization_id is None:
        return User.objects.none()
    return (
        User.objects.filter(organization_id=actor.organization_id, is_active=True)
        .exclude(role=Role.PATIENT)
        .order_by("username")
    )


class PractitionerSearchForm(forms.Form):
    q = forms.CharField(
        label="Name or NPI",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "e.g. smi, jane smith, 1234567893", "autocomplete": "off"}
        ),
    )
    specialty = forms.ChoiceField(required=False, choices=[("", "Any specialty"), *Specialty.choices])
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="Any location"
    )
    active_only = forms.BooleanField(label="Active only", required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)
        location_field.queryset = _org_locations(actor)
        self.fields["q"].widget.attrs["class"] = "form-control"
        self.fields["specialty"].widget.attrs["class"] = "form-select"
        location_field.widget.attrs["class"] = "form-select"
        self.fields["active_only"].widget.attrs["class"] = "form-check-input"

    def to_query(self) -> PractitionerQuery:
        data = self.cleaned_data
        location = data.get("location")
        return PractitionerQuery(
            text=data.get("q") or "",
            specialty=data.get("specialty") or "",
            location_id=location.pk if location is not None else None,
            active_only=bool(data.get("active_only")),
        )


class PractitionerForm(forms.Form):
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    credentials = forms.CharField(max_length=30, required=False, help_text="MD, DO, NP, PA, PT …")
    npi = forms.CharField(
        label="NPI",
        max_length=20,
        help_text="10 digits, starting with 1 or 2.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    specialty = forms.ChoiceField(choices=Specialty.choices)
    phone = forms.CharField(max_length=30, required=False)
    email = forms.EmailField(required=False)
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    user = forms.ModelChoiceField(
        label="Linked user account",
        queryset=User.objects.none(),
        required=False,
        empty_label="None",
        help_text="The account this practitioner signs in with, if any.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, actor: Actor, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locations_field = self.fields["locations"]
        assert isinstance(locations_field, forms.ModelMultipleChoiceField)
        locations_field.queryset = _org_locations(actor)
        user_field = self.fields["user"]
        assert isinstance(user_field, forms.ModelChoiceField)
        user_field.queryset = _org_staff(actor)
        if not editing:
            del self.fields["active"]
        for name, form_field in self.fields.items():
            widget = form_field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
            if form_field.help_text:
                widget.attrs["aria-describedby"] = f"{name}-help"

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "")
                if "is-invalid" not in classes.split():
                    widget.attrs["class"] = f"{classes} is-invalid".strip()
                widget.attrs["aria-describedby"] = f"{name}-help"  # the template puts the error there

    def to_input(self) -> PractitionerInput:
        data = self.cleaned_data
        user = data.get("user")
        return PractitionerInput(
            given_name=data["given_name"],
            family_name=data["family_name"],
            npi=data["npi"],
            specialty=data["specialty"],
            credentials=data.get("credentials") or "",
            phone=data.get("phone") or "",
            email=data.get("email") or "",
            location_ids=[location.pk for location in data.get("locations") or []],
            user_id=user.pk if user is not None else None,
        )

    def to_changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = vars(self.to_input()).copy()
        changes["active"] = bool(self.cleaned_data.get("active"))
        return changes

    def add_service_error(self, field: str | None, message: str) -> None:
        name = SERVICE_FIELD_TO_FORM_FIELD.get(field or "", field)
        self.add_error(name if name in self.fields else None, message)
