"""Forms parse what people pick and type into the values the referral use cases take; the rules live in
the services and rules."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django import forms
from django.utils import timezone

from caredesk.core.forms import StyledForm

from . import rules
from .choices import ReceiverKind, ReferralAction, ReferralDirection, ReferralStatus, Specialty, Urgency
from .models import MAX_NOTE, MAX_REASON, ReferralReceiver
from .selectors import ReferralQuery

STATUS_FILTER = [("", "All"), ("open", "Open (sent to consult note)"), *ReferralStatus.choices]


class ReferralForm(StyledForm):
    """Bootstrap classes on every widget, and a service's refusal placed on the field it names."""

    field_aliases: ClassVar[dict[str, str]] = {"receiver_id": "receiver", "document_ids": "documents"}


def receiver_choices(receivers: list[ReferralReceiver], empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(str(r.pk), str(r)) for r in receivers]


class FilterForm(ReferralForm):
    status = forms.ChoiceField(required=False, choices=STATUS_FILTER)
    specialty = forms.ChoiceField(required=False, choices=[("", "Any specialty"), *Specialty.choices])
    overdue = forms.BooleanField(required=False, label="Overdue only")
    direction = forms.ChoiceField(
        required=False, choices=[("", "All"), *ReferralDirection.choices], widget=forms.HiddenInput
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)

    def to_query(self, patient_id: int | None = None) -> ReferralQuery:
        data = self.cleaned_data
        return ReferralQuery(
            status=data.get("status") or "",
            overdue=bool(data.get("overdue")),
            specialty=data.get("specialty") or "",
            patient_id=patient_id,
            direction=data.get("direction") or "",
        )


class NewReferralForm(ReferralForm):
    specialty = forms.ChoiceField(choices=Specialty.choices)
    receiver = forms.ChoiceField(required=False, help_text="Leave empty to refer to the specialty")
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    reason = forms.CharField(max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 3}))
    diagnoses = forms.CharField(
        required=False, max_length=300, label="Diagnoses (ICD-10-CM)", help_text="e.g. I10, E11.9"
    )
    documents = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Attach documents"
    )
    include_chart_summary = forms.BooleanField(required=False, initial=True, label="Include a chart summary")
    authorization_required = forms.BooleanField(required=False, label="Prior authorization required")
    authorization_number = forms.CharField(required=False, max_length=50)

    def __init__(
        self, *args: Any, receivers: list[ReferralReceiver], documents: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        receiver_field = self.fields["receiver"]
        document_field = self.fields["documents"]
        assert isinstance(receiver_field, forms.ChoiceField)
        assert isinstance(document_field, forms.MultipleChoiceField)
        receiver_field.choices = receiver_choices(receivers, "Any receiver of the specialty")
        document_field.choices = [(str(pk), title) for pk, title in documents]

    def clean_diagnoses(self) -> list[str]:
        return rules.split_codes(self.cleaned_data.get("diagnoses") or "")


class InboundReferralForm(ReferralForm):
    """A referral another practice sent us (the patient is the page's)."""

    field_aliases: ClassVar[dict[str, str]] = {
        "practitioner_id": "practitioner",
        "document_ids": "documents",
    }

    referrer_name = forms.CharField(max_length=200, label="Referred by")
    referrer_kind = forms.ChoiceField(choices=ReceiverKind.choices, label="Practitioner or organization")
    referrer_npi = forms.CharField(required=False, max_length=10, label="Referrer NPI")
    referrer_phone = forms.CharField(required=False, max_length=30, label="Referrer phone")
    referrer_fax = forms.CharField(required=False, max_length=30, label="Referrer fax")
    received_at = forms.DateTimeField(
        required=False,
        label="Received",
        help_text="Leave empty for now",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    specialty = forms.ChoiceField(choices=Specialty.choices, label="For our specialty")
    practitioner = forms.ChoiceField(required=False, label="For our practitioner")
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    reason = forms.CharField(max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 3}))
    diagnoses = forms.CharField(
        required=False, max_length=300, label="Diagnoses (ICD-10-CM)", help_text="e.g. I10, E11.9"
    )
    documents = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Documents that came with it"
    )

    def __init__(
        self,
        *args: Any,
        practitioners: list[tuple[int, str]],
        documents: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        practitioner_field = self.fields["practitioner"]
        document_field = self.fields["documents"]
        assert isinstance(practitioner_field, forms.ChoiceField)
        assert isinstance(document_field, forms.MultipleChoiceField)
        practitioner_field.choices = [("", "Anyone of the specialty")] + [
            (str(pk), name) for pk, name in practitioners
        ]
        document_field.choices = [(str(pk), title) for pk, title in documents]

    def clean_diagnoses(self) -> list[str]:
        return rules.split_codes(self.cleaned_data.get("diagnoses") or "")

    def received(self) -> dt.datetime | None:
        value = self.cleaned_data.get("received_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ActionForm(ReferralForm):
    field_aliases: ClassVar[dict[str, str]] = {
        "receiver_id": "receiver",
        "appointment_id": "booked_appointment",
        "file": "consult_document",  # patients.services.upload_document's refusals
    }

    action = forms.ChoiceField(choices=ReferralAction.choices, widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=MAX_NOTE, widget=forms.Textarea(attrs={"rows": 2}))
    receiver = forms.ChoiceField(required=False, label="Re-route to")
    # The service checks it is one of the patient's booked appointments (the choices are only the page's).
    booked_appointment = forms.IntegerField(
        required=False, min_value=1, label="Booked appointment", widget=forms.Select
    )
    appointment_at = forms.DateTimeField(
        required=False,
        label="Appointment",
        help_text="Or the time of an appointment booked elsewhere",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    consult_document = forms.FileField(
        required=False,
        label="Consult note document",
        help_text="The note as received (PDF, image or text): filed in the patient's chart",
    )
    occurred_at = forms.DateTimeField(
        required=False,
        label="It happened at",
        help_text="Empty: now. The time of a step that happened earlier: the clocks count from it",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        receivers: list[ReferralReceiver],
        appointments: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        receiver_field = self.fields["receiver"]
        assert isinstance(receiver_field, forms.ChoiceField)
        receiver_field.choices = receiver_choices(receivers, "—")
        self.set_appointments(appointments or [])

    def set_appointments(self, appointments: list[tuple[int, str]]) -> None:
        """The patient's upcoming booked appointments the scheduled step may pick from."""
        widget = self.fields["booked_appointment"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [("", "— booked elsewhere —")] + [(str(pk), label) for pk, label in appointments]

    def appointment(self) -> dt.datetime | None:
        return self._aware("appointment_at")

    def occurred(self) -> dt.datetime | None:
        return self._aware("occurred_at")

    def _aware(self, name: str) -> dt.datetime | None:
        value = self.cleaned_data.get(name)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ReceiverForm(ReferralForm):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=ReceiverKind.choices)
    specialty = forms.ChoiceField(choices=Specialty.choices)
    npi = forms.CharField(required=False, max_length=10, label="NPI")
    phone = forms.CharField(required=False, max_length=30)
    fax = forms.CharField(required=False, max_length=30)
    email = forms.EmailField(required=False)
    address = forms.CharField(required=False, max_length=300)


class ReportForm(ReferralForm):
    direction = forms.ChoiceField(
        required=False,
        choices=[
            (ReferralDirection.OUTBOUND, "Outbound (we sent)"),
            (ReferralDirection.INBOUND, "Inbound (we received)"),
        ],
        initial=ReferralDirection.OUTBOUND,
        label="Referrals",
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def chosen_direction(self) -> str:
        """Outbound unless inbound was picked (today's report when the field is left out)."""
        return self.cleaned_data.get("direction") or ReferralDirection.OUTBOUND

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        until = self.cleaned_data.get("until") or today
        since = self.cleaned_data.get("since") or until - dt.timedelta(days=365)
        return since, until

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The period starts after it ends.")
        if since and until and (until - since).days > 3 * 366:
            raise forms.ValidationError("Pick at most three years.")
        return data
