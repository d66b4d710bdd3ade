"""Forms parse what people type into the values the credentialing use cases take; the rules (known state,
expiry after issue, schedules) live in the services, whose refusals land on the field they name."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from caredesk.core.forms import StyledForm

from .choices import (
    ApplicationKind,
    HistoryKind,
    LicenseType,
    PrivilegeStatus,
    VerificationKind,
    VerificationOutcome,
)


class DateInput(forms.DateInput):
    input_type = "date"


class CredentialForm(StyledForm):
    """Bootstrap classes on every widget, and a service's refusal placed on the field it names."""

    field_aliases: ClassVar[dict[str, str]] = {"location_id": "location"}


def _date(label: str, required: bool = False) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput)


class LicenseForm(CredentialForm):
    state = forms.CharField(max_length=20, help_text="Two-letter code, for example NJ")
    number = forms.CharField(max_length=40, label="License number")
    license_type = forms.ChoiceField(choices=LicenseType.choices, label="Type")
    issued_on = _date("Issued")
    expires_on = _date("Expires", required=True)


class DeaForm(CredentialForm):
    state = forms.CharField(max_length=20)
    number = forms.CharField(max_length=20, label="DEA number")
    schedules = forms.CharField(max_length=40, help_text="Comma-separated: 2, 2N, 3, 3N, 4, 5")
    issued_on = _date("Issued")
    expires_on = _date("Expires", required=True)


class BoardForm(CredentialForm):
    board = forms.CharField(max_length=200)
    specialty = forms.CharField(max_length=200)
    issued_on = _date("Certified")
    expires_on = _date("Expires", required=True)


class MalpracticeForm(CredentialForm):
    carrier = forms.CharField(max_length=200)
    policy_number = forms.CharField(max_length=60)
    per_claim_amount = forms.CharField(max_length=20, required=False, label="Per-claim limit ($)")
    aggregate_amount = forms.CharField(max_length=20, required=False, label="Aggregate limit ($)")
    issued_on = _date("Starts")
    expires_on = _date("Expires", required=True)


class HistoryForm(CredentialForm):
    kind = forms.ChoiceField(choices=HistoryKind.choices)
    institution = forms.CharField(max_length=200)
    title = forms.CharField(max_length=200, label="Degree, program or position")
    started_on = _date("From")
    ended_on = _date("To")


class DocumentForm(CredentialForm):
    title = forms.CharField(max_length=200)
    file = forms.FileField()


class PrivilegeForm(CredentialForm):
    location = forms.TypedChoiceField(coerce=int, choices=())
    service_code = forms.CharField(max_length=40, help_text="A visit-type code or a procedure code")
    service_label = forms.CharField(max_length=200, required=False, label="Service")
    status = forms.ChoiceField(
        choices=[
            (s.value, s.label)
            for s in (PrivilegeStatus.REQUESTED, PrivilegeStatus.GRANTED, PrivilegeStatus.PROVISIONAL)
        ]
    )
    starts_on = _date("Starts")
    expires_on = _date("Expires")

    def __init__(self, *args: Any, locations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.TypedChoiceField)
        location_field.choices = locations


class RenewForm(CredentialForm):
    expires_on = _date("New expiry", required=True)
    issued_on = _date("Renewed on")
    number = forms.CharField(max_length=40, required=False, label="New number (if it changed)")


class RetireForm(CredentialForm):
    reason = forms.CharField(max_length=300)


class PrivilegeStatusForm(CredentialForm):
    status = forms.ChoiceField(choices=PrivilegeStatus.choices)
    reason = forms.CharField(max_length=300, required=False)


class ApplicationForm(CredentialForm):
    kind = forms.ChoiceField(choices=ApplicationKind.choices)


class VerificationForm(CredentialForm):
    kind = forms.ChoiceField(choices=VerificationKind.choices)
    outcome = forms.ChoiceField(
        choices=[c for c in VerificationOutcome.choices if c[0] != VerificationOutcome.PENDING]
    )
    note = forms.CharField(max_length=2000, required=False)


class ApproveForm(CredentialForm):
    note = forms.CharField(max_length=2000, required=False, label="Committee note")


class ReportForm(CredentialForm):
    days = forms.IntegerField(min_value=1, max_value=365, required=False, initial=90)
