"""Plain input values for the patient use cases (shared by forms, the JSON API, FHIR and the seeder)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class TelecomInput:
    value: str
    system: str = "phone"  # TelecomSystem
    use: str = "mobile"  # TelecomUse


@dataclass
class IdentifierInput:
    system: str
    value: str
    type_label: str = ""


@dataclass
class RelatedPersonInput:
    name: str
    relationship: str  # ContactRelationship
    phone: str = ""
    email: str = ""
    is_emergency_contact: bool = True


@dataclass
class PatientInput:
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str  # AdministrativeSex
    middle_name: str = ""
    suffix: str = ""
    preferred_name: str = ""
    gender_identity: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = "US"
    preferred_language: str = "en"
    sms_allowed: bool = False
    email_allowed: bool = False
    voicemail_allowed: bool = False
    status: str = "active"
    deceased_date: dt.date | None = None
    telecoms: list[TelecomInput] = field(default_factory=list)
    identifiers: list[IdentifierInput] = field(default_factory=list)
    related_persons: list[RelatedPersonInput] = field(default_factory=list)


@dataclass
class PatientQuery:
    """Search criteria; all given criteria must match. `text` is a free search box: a name fragment
    ("smi", "john smi", "smith, jo"), an MRN, a birth date (YYYY-MM-DD or MM/DD/YYYY) or a phone number."""

    text: str = ""
    name: str = ""
    family: str = ""
    given: str = ""
    birth_date: dt.date | None = None
    mrn: str = ""
    phone: str = ""
    identifier: str = ""  # "system|value" or just value
    include_inactive: bool = True
