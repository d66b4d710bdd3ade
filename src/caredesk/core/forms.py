"""The one base class of the apps' forms: Bootstrap classes on every visible widget, and a service's
refusal (a DomainError naming a service field) placed on the form field it concerns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms


def style_widgets(fields: Iterable[forms.Field]) -> None:
    """Give each visible widget its Bootstrap class (unless it has one): check boxes, selects, the rest.
    Hidden inputs and lists of radio buttons or check boxes (styled in their templates) are left alone."""
    for form_field in fields:
        widget = form_field.widget
        if isinstance(widget, forms.HiddenInput | forms.RadioSelect):
            continue
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select form-select-sm")
        else:
            widget.attrs.setdefault("class", "form-control form-control-sm")


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, and a service's refusal placed on the field it names."""

    #: the service's field name -> the form's, where they differ ("receiver_id" -> "receiver")
    field_aliases: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self.fields.values())

    def add_service_error(self, field: str | None, message: str) -> None:
        """Put a service's refusal on the field it names, or on the whole form when no field shows it."""
        name = self.field_aliases.get(field or "", field)
        self.add_error(name if name in self.fields else None, message)
