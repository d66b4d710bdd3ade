"""Forms of the education pages: the library filter, a new material, assigning, recording a delivery."""

from __future__ import annotations

from typing import Any

from django import forms

from caredesk.core.forms import StyledForm

from .choices import DeliveryMethod, Language, ReadingLevel
from .models import Material


class EducationForm(StyledForm):
    """The app's forms: Bootstrap classes on every widget, service refusals on their fields."""


class LibraryFilterForm(EducationForm):
    q = forms.CharField(required=False, max_length=100, label="Title or source")
    code = forms.CharField(required=False, max_length=10, label="ICD-10-CM or procedure code")
    language = forms.ChoiceField(required=False, choices=[("", "Any language"), *Language.choices])
    reading_level = forms.ChoiceField(
        required=False, choices=[("", "Any reading level"), *ReadingLevel.choices]
    )


class MaterialForm(EducationForm):
    title = forms.CharField(max_length=200)
    condition_codes = forms.CharField(
        required=False,
        max_length=300,
        label="Conditions (ICD-10-CM codes or prefixes)",
        help_text="e.g. E11, I50",
    )
    procedure_codes = forms.CharField(
        required=False, max_length=300, label="Procedures (CPT / HCPCS codes)", help_text="e.g. 93000"
    )
    language = forms.ChoiceField(choices=Language.choices, initial=Language.ENGLISH)
    reading_level = forms.ChoiceField(choices=ReadingLevel.choices, initial=ReadingLevel.STANDARD)
    body = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 6}), label="Text"
    )
    file = forms.FileField(required=False, label="Or a PDF handout")
    source = forms.CharField(max_length=300, help_text="Who wrote it, or what it is based on")


class AssignForm(EducationForm):
    material = forms.TypedChoiceField(coerce=int, label="Material")
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args: Any, materials: list[Material], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        material_field = self.fields["material"]
        assert isinstance(material_field, forms.TypedChoiceField)
        material_field.choices = [
            ("", "Choose a material…"),
            *[
                (m.pk, f"{m.title} · {m.get_language_display()} · {m.get_reading_level_display()}")
                for m in materials
            ],
        ]


class DeliverForm(EducationForm):
    method = forms.ChoiceField(choices=DeliveryMethod.choices, label="How")
    note = forms.CharField(required=False, max_length=300)
