"""Request and response bodies of the JSON API (django-ninja schemas, i.e. pydantic models).

Inputs forbid unknown fields and carry the same names as `patients.schemas.PatientInput`, so the services
check them (and name the field in their errors). Outputs are read straight off the model objects the
selectors and services return.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Self

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator, model_validator

from caredesk.core.errors import ValidationFailed
from caredesk.interop.inputs import contains_nul
from caredesk.patients.models import Patient
from caredesk.patients.schemas import IdentifierInput, PatientInput, RelatedPersonInput, TelecomInput
from caredesk.practitioners.models import Practitioner

MAX_LIST_ITEMS = 20  # phones, identifiers or contacts in one request


class _NoNulCharacters(Schema):
    """Text with a NUL character is refused (400): PostgreSQL cannot store it, and no name, phone or code
    has one (Django's form fields refuse it the same way)."""

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and contains_nul(value):  # nested schemas check their own fields
            raise ValueError("Null characters are not allowed.")
        return value


class InputSchema(_NoNulCharacters):
    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------------------------


class ErrorOut(Schema):
    """Every error: a stable `code` to switch on, a `message` for people, the `field` when one is at fault."""

    code: str = Field(examples=["validation_error"])
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class FieldErrorOut(Schema):
    field: str
    message: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldErrorOut] = []


# --- patients: input ---------------------------------------------------------------------------------


class TelecomIn(InputSchema):
    value: str = Field(max_length=100, examples=["(555) 010-2345"])
    system: str = Field("phone", description="phone, sms or fax")
    use: str = Field("mobile", description="home, mobile or work")


class IdentifierIn(InputSchema):
    system: str = Field(max_length=200, description="URI or name of the assigning authority")
    value: str = Field(max_length=100)
    type_label: str = Field("", max_length=60)


class RelatedPersonIn(InputSchema):
    name: str = Field(max_length=200)
    relationship: str = Field(
        description="spouse, parent, child, sibling, guardian, caregiver, friend, other"
    )
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=254)
    is_emergency_contact: bool = True


class _Demographics(InputSchema):
    """The optional demographic fields, shared by create and update."""

    middle_name: str = ""
    suffix: str = ""
    preferred_name: str = ""
    gender_identity: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = Field("", description="Two-letter code")
    postal_code: str = ""
    country: str = Field("US", description="ISO 3166 two-letter code")
    preferred_language: str = Field("en", description="BCP-47 tag, e.g. en, es")
    sms_allowed: bool = False
    email_allowed: bool = False
    voicemail_allowed: bool = False
    status: str = Field("active", description="active, inactive or deceased")
    deceased_date: dt.date | None = None


class PatientIn(_Demographics):
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str = Field(description="female, male, other or unknown")
    telecoms: list[TelecomIn] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    related_persons: list[RelatedPersonIn] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    confirm_not_duplicate: bool = Field(
        False,
        description="Create even though likely duplicates exist (after a 409 duplicate_suspected answer).",
    )

    def to_input(self) -> PatientInput:
        values = self.model_dump(
            exclude={"telecoms", "identifiers", "related_persons", "confirm_not_duplicate"}
        )
        return PatientInput(
            **values,
            telecoms=[TelecomInput(**t.model_dump()) for t in self.telecoms],
            identifiers=[IdentifierInput(**i.model_dump()) for i in self.identifiers],
            related_persons=[RelatedPersonInput(**r.model_dump()) for r in self.related_persons],
        )


class PatientPatch(InputSchema):
    """Only the fields sent are changed. `version` is the one you read: if someone changed the patient
    since, the answer is 409 stale_version and nothing is written. `telecoms` replaces all phone numbers."""

    version: int = Field(ge=1, le=2**31 - 1)
    given_name: str | None = None
    family_name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    preferred_name: str | None = None
    gender_identity: str | None = None
    email: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    preferred_language: str | None = None
    sms_allowed: bool | None = None
    email_allowed: bool | None = None
    voicemail_allowed: bool | None = None
    status: str | None = None
    deceased_date: dt.date | None = None
    telecoms: list[TelecomIn] | None = Field(None, max_length=MAX_LIST_ITEMS)

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (an explicit null included), without `version`."""
        changes = self.model_dump(exclude_unset=True, exclude={"version"})
        if "telecoms" in changes and changes["telecoms"] is None:
            raise ValidationFailed(
                "telecoms must be a list (send [] to remove every number).", field="telecoms"
            )
        return changes


# --- patients: output --------------------------------------------------------------------------------


class TelecomOut(Schema):
    system: str
    use: str
    value: str
    rank: int


class IdentifierOut(Schema):
    system: str
    value: str
    type_label: str


class RelatedPersonOut(Schema):
    name: str
    relationship: str
    phone: str
    email: str
    is_emergency_contact: bool


class PatientSummaryOut(Schema):
    id: int
    mrn: str
    given_name: str
    middle_name: str
    family_name: str
    preferred_name: str
    birth_date: dt.date
    sex: str
    status: str
    telecoms: list[TelecomOut]


class PatientOut(Schema):
    id: int
    mrn: str
    version: int = Field(description="Send it back with an update (optimistic locking)")
    status: str
    merged_into_id: int | None
    given_name: str
    middle_name: str
    family_name: str
    suffix: str
    preferred_name: str
    birth_date: dt.date
    sex: str
    gender_identity: str
    email: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    preferred_language: str
    sms_allowed: bool
    email_allowed: bool
    voicemail_allowed: bool
    deceased_date: dt.date | None
    telecoms: list[TelecomOut]
    identifiers: list[IdentifierOut]
    related_persons: list[RelatedPersonOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class PatientPageOut(Schema):
    results: list[PatientSummaryOut]
    page: int
    page_size: int
    has_next: bool
    total: int | None = Field(description="Counted only when cheap; null means not counted")


class DuplicateOut(ErrorOut):
    candidates: list[PatientSummaryOut]


def candidate_summaries(candidates: list[Patient]) -> list[dict[str, Any]]:
    """The likely duplicates of a refused registration, as the 409 answer lists them."""
    return [PatientSummaryOut.model_validate(patient).model_dump(mode="json") for patient in candidates]


# --- the chart ---------------------------------------------------------------------------------------


class EntryOut(Schema):
    id: int
    status: str
    recorded_by_name: str
    created_at: dt.datetime
    supersedes_id: int | None
    change_reason: str


class ProblemOut(EntryOut):
    icd10_code: str
    description: str
    onset_date: dt.date | None
    clinical_status: str


class AllergyOut(EntryOut):
    substance: str
    reaction: str
    criticality: str


class MedicationOut(EntryOut):
    name: str
    dose: str
    route: str
    frequency: str
    start_date: dt.date | None
    end_date: dt.date | None
    rxnorm_code: str


class ObservationOut(EntryOut):
    kind: str
    loinc_code: str
    value: Decimal
    value2: Decimal | None
    unit: str
    effective_at: dt.datetime


class _EntryPageOut(Schema):
    page: int
    page_size: int
    has_next: bool


class ProblemPageOut(_EntryPageOut):
    results: list[ProblemOut]


class AllergyPageOut(_EntryPageOut):
    results: list[AllergyOut]


class MedicationPageOut(_EntryPageOut):
    results: list[MedicationOut]


class ObservationPageOut(_EntryPageOut):
    results: list[ObservationOut]


class ProblemIn(InputSchema):
    icd10_code: str = Field(max_length=10, examples=["E11.9"])
    description: str = Field("", description="Defaults to the code's official title")
    onset_date: dt.date | None = None
    clinical_status: str = Field("active", description="active, resolved or inactive")


# --- practitioners -----------------------------------------------------------------------------------


class PractitionerOut(Schema):
    id: int
    given_name: str
    family_name: str
    credentials: str
    npi: str
    specialty: str
    phone: str
    email: str
    active: bool
    location_ids: list[int]

    @staticmethod
    def resolve_location_ids(obj: Practitioner) -> list[int]:
        return [location.pk for location in obj.locations.all()]


class PractitionerPageOut(Schema):
    results: list[PractitionerOut]
    page: int
    page_size: int
    has_next: bool


# --- query strings -----------------------------------------------------------------------------------

MAX_OFFSET = 10_000  # results skipped to reach a page: deeper than this, narrow the search instead


class PageParams(_NoNulCharacters):
    page: int = Field(1, ge=1, le=MAX_OFFSET + 1)
    page_size: int = Field(25, ge=1, le=200)

    @model_validator(mode="after")
    def _not_too_deep(self) -> Self:
        if (self.page - 1) * self.page_size > MAX_OFFSET:
            raise ValueError(f"Pages end after {MAX_OFFSET} results; narrow the search instead.")
        return self


class PatientFilters(PageParams):
    """All given criteria must match, as in the patient search page."""

    q: str = Field(
        "", max_length=200, description="Free text: a name fragment, an MRN, a birth date or a phone"
    )
    name: str = Field("", max_length=200, description="Name fragment: 'smi', 'john smi', 'smith, jo'")
    family: str = Field("", max_length=100, description="Family name starts with")
    given: str = Field("", max_length=100, description="Given name starts with")
    birth_date: dt.date | None = None
    mrn: str = Field("", max_length=20, description="An MRN, or just its number")
    phone: str = Field("", max_length=30)
    identifier: str = Field("", max_length=300, description="'system|value' or just the value")
    include_inactive: bool = True


class PractitionerFilters(PageParams):
    q: str = Field("", max_length=200, description="A name fragment or an NPI")
    name: str = Field("", max_length=200)
    family: str = Field("", max_length=100)
    given: str = Field("", max_length=100)
    npi: str = Field("", max_length=20)
    specialty: str = Field("", max_length=40)
    active_only: bool = False
