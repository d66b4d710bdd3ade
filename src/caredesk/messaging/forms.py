"""The "log a communication" form: parses what people pick and type; the rules live in services/rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.utils import timezone

from caredesk.core.forms import StyledForm

from .choices import Channel, Direction, LetterTemplate, Outcome, Party
from .services import MAX_BODY, MAX_NOTE


class LogForm(StyledForm):
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.OUTBOUND)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    party = forms.ChoiceField(choices=Party.choices, initial=Party.PATIENT, label="With")
    party_name = forms.CharField(required=False, max_length=200, label="Name (when not the patient)")
    outcome = forms.ChoiceField(choices=Outcome.choices, initial=Outcome.REACHED)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(
        required=False, max_length=MAX_BODY, label="Summary", widget=forms.Textarea(attrs={"rows": 3})
    )
    minutes = forms.IntegerField(required=False, min_value=0, max_value=360, label="Minutes (calls)")
    occurred_at = forms.DateTimeField(
        required=False,
        label="When (empty: now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    referral_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    task_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    document_id = forms.TypedChoiceField(
        choices=(), coerce=int, required=False, empty_value=None, label="Fax: document from the chart"
    )
    document_file = forms.FileField(
        required=False,
        label="…or upload the faxed PDF (filed in the chart)",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    document_title = forms.CharField(required=False, max_length=200, label="Title of the uploaded PDF")

    field_aliases: ClassVar[dict[str, str]] = {
        "duration_seconds": "minutes",
        "file": "document_file",
        "title": "document_title",
    }

    def __init__(self, *args: Any, documents: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_id"].choices = [("", "—"), *documents]  # type: ignore[attr-defined]

    def duration_seconds(self) -> int | None:
        minutes = self.cleaned_data.get("minutes")
        return None if minutes is None else minutes * 60

    def occurred(self) -> dt.datetime | None:
        value = self.cleaned_data.get("occurred_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class LetterForm(StyledForm):
    """Which letter, about what: an appointment (from the patient's appointments), a referral, or the
    balance for a statement cover letter."""

    template = forms.ChoiceField(choices=LetterTemplate.choices, label="Letter")
    appointment_id = forms.TypedChoiceField(
        choices=(), coerce=int, required=False, empty_value=None, label="Appointment"
    )
    referral_id = forms.TypedChoiceField(
        choices=(), coerce=int, required=False, empty_value=None, label="Referral"
    )
    balance = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        label="Balance due (statement)",
    )
    statement_date = forms.DateField(
        required=False, label="Statement date", widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        required=False, max_length=MAX_NOTE, label="Extra paragraph", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        appointments: Sequence[tuple[int, str]] = (),
        referrals: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["appointment_id"].choices = [("", "—"), *appointments]  # type: ignore[attr-defined]
        self.fields["referral_id"].choices = [("", "—"), *referrals]  # type: ignore[attr-defined]
