"""Forms of the sign-in and two-factor pages. They only parse; the use cases live in services."""

from __future__ import annotations

from django import forms

from .services import DEFAULT_DEVICE_NAME


class OneTimeCodeForm(forms.Form):
    """The six-digit code an authenticator app shows (spaces allowed: "123 456")."""

    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "class": "form-control",
            }
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit() or len(token) != 6:
            raise forms.ValidationError("Enter the 6-digit code from your authenticator app.")
        return token


class EnrollDeviceForm(OneTimeCodeForm):
    name = forms.CharField(
        label="Name of this authenticator",
        max_length=64,
        required=False,
        initial=DEFAULT_DEVICE_NAME,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text="So you can tell your authenticators apart, e.g. “Work phone”.",
    )

    field_order = ["name", "token"]


class RemoveDeviceForm(forms.Form):
    device = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
