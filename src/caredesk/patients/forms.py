"""Forms parse what people type into the values the patient use cases take. The rules themselves
(birth dates, ICD-10-CM codes, plausible measurements, duplicates, scope) live in the services; a
service's refusal comes back onto the form through `add_service_error`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from caredesk.core.context import Actor
from caredesk.core.text import phone_key

from . import rules, selectors
from .choices import (
    AdministrativeSex,
    AllergyCriticality,
    ContactRelationship,
    ObservationKind,
    PatientStatus,
    TelecomSystem,
    TelecomUse,
)
from .models import Patient
from .schemas import PatientInput, PatientQuery, RelatedPersonInput, TelecomInput

PHONE_ROWS = 3
CLINICAL_STATUS_CHOICES = [("active", "Active"), ("resolved", "Resolved"), ("inactive", "Inactive")]
DATE_WIDGET_FORMAT = "%Y-%m-%d"
DATETIME_WIDGET_FORMAT = "%Y-%m-%dT%H:%M"


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format=DATE_WIDGET_FORMAT)


def _unit_choices() -> list[tuple[str, str]]:
    """Every unit any kind of measurement accepts (the service checks it fits the kind)."""
    units: list[str] = []
    for spec in rules.OBSERVATION_SPECS.values():
        units.extend(unit for unit in spec.units if unit not in units)
    return [("", "Usual unit for the kind"), *((unit, unit_label(unit)) for unit in units)]


_UNIT_LABELS = {"mm[Hg]": "mmHg", "Cel": "°C", "[degF]": "°F", "[lb_av]": "lb", "[in_i]": "in"}


def unit_label(unit: str) -> str:
    """A UCUM unit code as people write it (`[degF]` -> °F)."""
    return _UNIT_LABELS.get(unit, unit)


class CaredeskForm(forms.Form):
    """Bootstrap classes on every widget, `is-invalid` on fields with errors, and service errors mapped
    onto the field they name (or onto the form as a whole)."""

    service_fields: dict[str, str] = {}  # the service's field name -> the form field that shows it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, form_field in self.fields.items():
            widget = form_field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
            if form_field.help_text:
                widget.attrs["aria-describedby"] = self.help_id(name)

    def help_id(self, name: str) -> str:
        """The id of the element under a field that holds its help text or its error (see field.html)."""
        return f"{self[name].auto_id}-help"

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "")
                if "is-invalid" not in classes.split():
                    widget.attrs["class"] = f"{classes} is-invalid".strip()
                widget.attrs["aria-describedby"] = self.help_id(name)

    def add_service_error(self, field: str | None, message: str) -> None:
        name = self.service_fields.get(field or "", field)
        self.add_error(name if name in self.fields else None, message)


# --- search ---------------------------------------------------------------------------------------------


class PatientSearchForm(CaredeskForm):
    q = forms.CharField(
        label="Name, birth date, MRN or phone",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "e.g. smi, john smi, smith, jo, 1980-02-29, RSH0000042, 555-010-2345",
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )
    birth_date = forms.DateField(label="Birth date", required=False, widget=_date_widget())
    active_only = forms.BooleanField(label="Active only", required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)

    def to_query(self) -> PatientQuery:
        data = self.cleaned_data
        return PatientQuery(
            text=data.get("q") or "",
            birth_date=data.get("birth_date"),
            include_inactive=not data.get("active_only"),
        )


# --- demographics ---------------------------------------------------------------------------------------


def _phone_fields() -> dict[str, forms.Field]:
    found: dict[str, forms.Field] = {}
    for row in range(1, PHONE_ROWS + 1):
        found[f"phone_{row}"] = forms.CharField(
            label=f"Phone {row}",
            max_length=100,
            required=False,
            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        )
        found[f"phone_{row}_use"] = forms.ChoiceField(
            label=f"Phone {row} use", choices=TelecomUse.choices, initial=TelecomUse.MOBILE
        )
        found[f"phone_{row}_system"] = forms.ChoiceField(
            label=f"Phone {row} kind", choices=TelecomSystem.choices, initial=TelecomSystem.PHONE
        )
    return found


class DemographicsForm(CaredeskForm):
    """The demographic fields registration and editing share."""

    given_name = forms.CharField(max_length=100)
    middle_name = forms.CharField(max_length=100, required=False)
    family_name = forms.CharField(max_length=100)
    suffix = forms.CharField(max_length=20, required=False, help_text="Jr, Sr, III …")
    preferred_name = forms.CharField(max_length=100, required=False)
    birth_date = forms.DateField(label="Birth date", widget=_date_widget())
    sex = forms.ChoiceField(label="Administrative sex", choices=[("", "—"), *AdministrativeSex.choices])
    gender_identity = forms.CharField(max_length=60, required=False)
    email = forms.EmailField(label="E-mail", max_length=254, required=False)
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2, required=False, help_text="Two-letter code, e.g. NY")
    postal_code = forms.CharField(label="ZIP / postal code", max_length=10, required=False)
    country = forms.CharField(max_length=2, initial="US", help_text="Two-letter code")
    preferred_language = forms.CharField(
        max_length=35, initial="en", help_text="Language code such as en, es, zh-Hant"
    )
    sms_allowed = forms.BooleanField(label="SMS allowed", required=False)
    email_allowed = forms.BooleanField(label="E-mail allowed", required=False)
    voicemail_allowed = forms.BooleanField(label="Voicemail allowed", required=False)

    service_fields = {"telecoms": "phone_1"}
    TEXT_FIELDS = (
        "given_name",
        "middle_name",
        "family_name",
        "suffix",
        "preferred_name",
        "gender_identity",
        "email",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "country",
        "preferred_language",
    )
    FLAG_FIELDS = ("sms_allowed", "email_allowed", "voicemail_allowed")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, form_field in _phone_fields().items():
            self.fields[name] = form_field
        for name in self.fields:
            if name.startswith("phone_"):
                widget = self.fields[name].widget
                widget.attrs.setdefault(
                    "class", "form-select" if isinstance(widget, forms.Select) else "form-control"
                )

    @property
    def phone_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"phone_{row}"], self[f"phone_{row}_use"], self[f"phone_{row}_system"])
            for row in range(1, PHONE_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for row in range(1, PHONE_ROWS + 1):
            value = (cleaned.get(f"phone_{row}") or "").strip()
            problem = rules.phone_digits_error(phone_key(value)) if value else None
            if problem:
                self.add_error(f"phone_{row}", problem)
        return cleaned

    def telecoms(self) -> list[TelecomInput]:
        data = self.cleaned_data
        return [
            TelecomInput(
                value=data[f"phone_{row}"].strip(),
                system=data.get(f"phone_{row}_system") or TelecomSystem.PHONE,
                use=data.get(f"phone_{row}_use") or TelecomUse.MOBILE,
            )
            for row in range(1, PHONE_ROWS + 1)
            if (data.get(f"phone_{row}") or "").strip()
        ]

    def demographic_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {name: data.get(name) or "" for name in self.TEXT_FIELDS}
        values["country"] = values["country"] or "US"
        values["preferred_language"] = values["preferred_language"] or "en"
        values.update({name: bool(data.get(name)) for name in self.FLAG_FIELDS})
        values["birth_date"] = data["birth_date"]
        values["sex"] = data["sex"]
        return values


class RegisterPatientForm(DemographicsForm):
    contact_name = forms.CharField(label="Name", max_length=200, required=False)
    contact_relationship = forms.ChoiceField(
        label="Relationship", choices=[("", "—"), *ContactRelationship.choices], required=False
    )
    contact_phone = forms.CharField(
        label="Phone", max_length=30, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    contact_email = forms.EmailField(label="E-mail", max_length=254, required=False)
    confirm_not_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)

    service_fields = {"telecoms": "phone_1", "related_persons": "contact_name"}
    CONTACT_FIELDS = ("contact_name", "contact_relationship", "contact_phone", "contact_email")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if any(cleaned.get(name) for name in self.CONTACT_FIELDS):
            if not (cleaned.get("contact_name") or "").strip():
                self.add_error("contact_name", "Give the contact's name, or leave the contact empty.")
            if not cleaned.get("contact_relationship"):
                self.add_error("contact_relationship", "Choose how the contact is related to the patient.")
        phone = (cleaned.get("contact_phone") or "").strip()
        problem = rules.phone_digits_error(phone_key(phone)) if phone else None
        if problem:
            self.add_error("contact_phone", problem)
        return cleaned

    def to_input(self) -> PatientInput:
        data = self.cleaned_data
        related = []
        if (data.get("contact_name") or "").strip():
            related.append(
                RelatedPersonInput(
                    name=data["contact_name"].strip(),
                    relationship=data["contact_relationship"],
                    phone=(data.get("contact_phone") or "").strip(),
                    email=data.get("contact_email") or "",
                    is_emergency_contact=True,
                )
            )
        return PatientInput(**self.demographic_values(), telecoms=self.telecoms(), related_persons=related)


class DuplicateProbeForm(forms.Form):
    """What the registration page sends while it is being filled in: all optional, nothing validated
    beyond the types (find_likely_duplicates works on a half-filled form)."""

    given_name = forms.CharField(max_length=100, required=False)
    family_name = forms.CharField(max_length=100, required=False)
    birth_date = forms.DateField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(1, PHONE_ROWS + 1):
            self.fields[f"phone_{row}"] = forms.CharField(max_length=100, required=False)

    def has_enough(self) -> bool:
        """A birth date or a phone number: without either nothing can look like a duplicate."""
        data = self.cleaned_data
        return data.get("birth_date") is not None or any(
            rules.phone_is_matchable(phone_key(data.get(f"phone_{row}") or ""))
            for row in range(1, PHONE_ROWS + 1)
        )

    def to_input(self) -> PatientInput:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "given_name": data.get("given_name") or "",
            "family_name": data.get("family_name") or "",
            "birth_date": data.get("birth_date"),
            "sex": AdministrativeSex.UNKNOWN,
            "telecoms": [
                TelecomInput(value=data[f"phone_{row}"])
                for row in range(1, PHONE_ROWS + 1)
                if data.get(f"phone_{row}")
            ],
        }
        return PatientInput(**values)


class EditPatientForm(DemographicsForm):
    """Edit demographics with the optimistic lock: `version` is the one the page was opened at, and every
    field carries its value at that moment, so only what the user changed is sent to the service."""

    status = forms.ChoiceField(
        choices=[(value, label) for value, label in PatientStatus.choices if value != PatientStatus.MERGED]
    )
    deceased_date = forms.DateField(label="Date of death", required=False, widget=_date_widget())
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, form_field in self.fields.items():
            if name != "version":
                form_field.show_hidden_initial = True

    @staticmethod
    def initial_for(patient: Patient) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(patient, name)
            for name in (*DemographicsForm.TEXT_FIELDS, *DemographicsForm.FLAG_FIELDS)
        }
        initial.update(
            birth_date=patient.birth_date,
            sex=patient.sex,
            status=patient.status,
            deceased_date=patient.deceased_date,
            version=patient.version,
        )
        for row, telecom in enumerate(patient.telecoms.order_by("rank", "pk")[:PHONE_ROWS], start=1):
            initial[f"phone_{row}"] = telecom.value
            initial[f"phone_{row}_use"] = telecom.use
            initial[f"phone_{row}_system"] = telecom.system
        return initial

    def to_changes(self) -> dict[str, Any]:
        """Only the fields the user changed; the phone numbers as a whole when any of them changed."""
        values = self.demographic_values()
        values["status"] = self.cleaned_data["status"]
        values["deceased_date"] = self.cleaned_data.get("deceased_date")
        changes = {name: values[name] for name in self.changed_data if name in values}
        if any(name.startswith("phone_") for name in self.changed_data):
            changes["telecoms"] = self.telecoms()
        return changes


class MrnField(forms.ModelChoiceField):
    """A patient of the actor's scope, typed as an MRN (spaces and letter case do not matter)."""

    def to_python(self, value: Any) -> Any:
        return super().to_python(str(value or "").strip().upper())


class MergeForm(CaredeskForm):
    """Merge the record on screen (the duplicate) into the record to keep, found by its MRN."""

    target = MrnField(
        label="MRN of the record to keep",
        queryset=Patient.objects.none(),
        to_field_name="mrn",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. RSH0000042"}),
        error_messages={"invalid_choice": "There is no patient with this MRN in your organization."},
        help_text="Everything on this record moves to that one; this record is kept, marked merged.",
    )
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(
        label="I checked that both records are the same person",
        error_messages={"required": "Tick the box to confirm that both records are the same person."},
    )

    service_fields = {"target_id": "target", "source_id": "target"}

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target = self.fields["target"]
        assert isinstance(target, forms.ModelChoiceField)
        target.queryset = selectors.patient_queryset(actor)


# --- the chart: adding entries ----------------------------------------------------------------------------


class EntryForm(CaredeskForm):
    """A chart entry's fields; `to_kwargs` gives the keyword arguments of its `add_*` service."""

    def to_kwargs(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.fields}


class ProblemForm(EntryForm):
    icd10_code = forms.CharField(
        label="ICD-10-CM code",
        max_length=10,
        help_text="A billable or category code, e.g. E11.9 (the dot and case do not matter).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        max_length=300, required=False, help_text="Leave empty for the code's official title."
    )
    onset_date = forms.DateField(label="Onset", required=False, widget=_date_widget())
    clinical_status = forms.ChoiceField(label="Status", choices=CLINICAL_STATUS_CHOICES, initial="active")

    def to_kwargs(self) -> dict[str, Any]:
        kwargs = super().to_kwargs()
        kwargs["description"] = kwargs["description"] or ""
        return kwargs


class AllergyForm(EntryForm):
    substance = forms.CharField(max_length=200)
    reaction = forms.CharField(max_length=200, required=False)
    criticality = forms.ChoiceField(choices=AllergyCriticality.choices, initial=AllergyCriticality.LOW)

    def to_kwargs(self) -> dict[str, Any]:
        kwargs = super().to_kwargs()
        kwargs["reaction"] = kwargs["reaction"] or ""
        return kwargs


class MedicationForm(EntryForm):
    name = forms.CharField(label="Medication", max_length=200)
    dose = forms.CharField(max_length=100, required=False, help_text="e.g. 500 mg")
    route = forms.CharField(max_length=50, required=False, help_text="e.g. oral")
    frequency = forms.CharField(max_length=100, required=False, help_text="e.g. twice daily")
    start_date = forms.DateField(label="Started", required=False, widget=_date_widget())
    end_date = forms.DateField(label="Stopped", required=False, widget=_date_widget())

    def to_kwargs(self) -> dict[str, Any]:
        kwargs = super().to_kwargs()
        for name in ("dose", "route", "frequency"):
            kwargs[name] = kwargs[name] or ""
        return kwargs


class ObservationForm(EntryForm):
    kind = forms.ChoiceField(label="Measurement", choices=ObservationKind.choices)
    value = forms.DecimalField(
        max_digits=12, help_text="For blood pressure: the systolic pressure.", localize=False
    )
    value2 = forms.DecimalField(
        label="Second value",
        max_digits=12,
        required=False,
        help_text="Blood pressure only: the diastolic pressure.",
    )
    unit = forms.ChoiceField(choices=_unit_choices(), required=False)
    effective_at = forms.DateTimeField(
        label="Taken at",
        required=False,
        help_text="Leave empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_WIDGET_FORMAT),
    )

    def to_kwargs(self) -> dict[str, Any]:
        kwargs = super().to_kwargs()
        kwargs["unit"] = kwargs["unit"] or ""
        return kwargs


class NoteForm(EntryForm):
    title = forms.CharField(max_length=200)
    body = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 4}))


class DocumentForm(EntryForm):
    title = forms.CharField(max_length=200)
    uploaded_file = forms.FileField(label="File")

    service_fields = {"file": "uploaded_file"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types: dict[str, str] = settings.CAREDESK_DOCUMENT_TYPES
        max_megabytes = settings.CAREDESK_DOCUMENT_MAX_BYTES / (1024 * 1024)
        upload = self.fields["uploaded_file"]
        upload.help_text = f"{', '.join(ext.upper() for ext in sorted(types))}; at most {max_megabytes:g} MB."
        upload.widget.attrs["accept"] = ",".join(f".{ext}" for ext in sorted(types))
        upload.widget.attrs["aria-describedby"] = self.help_id("uploaded_file")


ENTRY_FORMS: dict[str, type[EntryForm]] = {
    "problem": ProblemForm,
    "allergy": AllergyForm,
    "medication": MedicationForm,
    "observation": ObservationForm,
    "note": NoteForm,
    "document": DocumentForm,
}


# --- the chart: corrections and retractions -----------------------------------------------------------------


class ReasonForm(CaredeskForm):
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Kept with the entry's history.",
    )


class CorrectionMixin(EntryForm):
    """A correction: the entry's fields, each carrying the value it had when the form was opened, and a
    reason. Only the fields the user changed go to `correct_entry`, so changing a problem's code without
    touching its description gives the new code's official title."""

    reason = forms.CharField(
        label="Reason for the correction",
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    service_fields = {"changes": "__all__"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, form_field in self.fields.items():
            if name != "reason":
                form_field.show_hidden_initial = True
        # the reason goes last
        self.fields["reason"] = self.fields.pop("reason")

    def to_changes(self) -> dict[str, Any]:
        values = {name: value for name, value in self.to_kwargs().items() if name != "reason"}
        for name, value in values.items():
            if value is None and isinstance(self.fields[name], forms.CharField):
                values[name] = ""
        return {name: values[name] for name in self.changed_data if name in values}

    def add_service_error(self, field: str | None, message: str) -> None:
        if field == "changes":
            self.add_error(None, message)
        else:
            super().add_service_error(field, message)


CORRECTION_FORMS: dict[str, type[CorrectionMixin]] = {
    entry_type: type(f"{form_class.__name__}Correction", (CorrectionMixin, form_class), {})
    for entry_type, form_class in ENTRY_FORMS.items()
    if entry_type != "document"
}


def correction_initial(entry_type: str, entry: Any) -> dict[str, Any]:
    """The values an entry holds now, as the correction form's starting point."""
    form_class = CORRECTION_FORMS[entry_type]
    initial: dict[str, Any] = {}
    for name in form_class.base_fields:
        if name == "reason":
            continue
        value = getattr(entry, name, None)
        if isinstance(value, Decimal):  # 120.00 -> 120, 98.60 -> 98.6
            value = value.to_integral_value() if value == value.to_integral_value() else value.normalize()
        if isinstance(value, dt.datetime):
            value = value.replace(second=0, microsecond=0)
        initial[name] = value
    return initial
