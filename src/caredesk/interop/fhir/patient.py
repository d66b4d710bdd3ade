"""Patient <-> FHIR R4 Patient (validated with fhir.resources.R4B). Pure mapping: no queries, no requests.

Out: the MRN is an identifier of type MR under the organization's MRN system (`urn:caredesk:mrn:<CODE>`),
other identifiers follow; the name is `official` (given + middle as given names), the preferred name a
`usual` name; phones and e-mail are telecoms; a deceased patient has `deceasedDateTime` (or
`deceasedBoolean` without a date); a merged record is inactive with a `replaced-by` link.

In (create): what Caredesk keeps is taken from the resource and checked by `register_patient`; what it
cannot keep in its own fields is refused (422) rather than silently changed, with these exceptions, which
carry nothing to store: `id` and `meta` (the server assigns them), narrative, photos, `link`,
`managingOrganization`, `generalPractitioner`, marital status, multiple birth, extensions other than
gender identity, `old` names/phones/addresses, identifiers without a value, repeated identical
identifiers, and contacts without a person's name (an organization as contact).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from fhir.resources.R4B.patient import Patient as FhirPatient

from caredesk.core.errors import ValidationFailed
from caredesk.patients.choices import ContactRelationship, PatientStatus
from caredesk.patients.models import Patient, PatientIdentifier, PatientTelecom, RelatedPerson
from caredesk.patients.schemas import IdentifierInput, PatientInput, RelatedPersonInput, TelecomInput

from .common import compact, instant, is_uri

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
BCP47 = "urn:ietf:bcp:47"
GENDER_IDENTITY_URL = "http://hl7.org/fhir/StructureDefinition/individual-genderIdentity"

MR_TYPE = {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}], "text": "MRN"}
EMERGENCY_CONTACT = {"system": V2_0131, "code": "C", "display": "Emergency Contact"}

# Our relationships as HL7 v3 RoleCode (caregiver and other have none: text only).
_ROLE_CODES = {
    ContactRelationship.SPOUSE: "SPS",
    ContactRelationship.PARENT: "PRN",
    ContactRelationship.CHILD: "CHILD",
    ContactRelationship.SIBLING: "SIB",
    ContactRelationship.GUARDIAN: "GUARD",
    ContactRelationship.FRIEND: "FRND",
}
_FROM_ROLE_CODES = {
    **{code: relationship for relationship, code in _ROLE_CODES.items()},
    "HUSB": ContactRelationship.SPOUSE,
    "WIFE": ContactRelationship.SPOUSE,
    "DOMPART": ContactRelationship.SPOUSE,
    "FTH": ContactRelationship.PARENT,
    "MTH": ContactRelationship.PARENT,
    "NPRN": ContactRelationship.PARENT,
    "SON": ContactRelationship.CHILD,
    "DAU": ContactRelationship.CHILD,
    "NCHILD": ContactRelationship.CHILD,
    "BRO": ContactRelationship.SIBLING,
    "SIS": ContactRelationship.SIBLING,
    "NSIB": ContactRelationship.SIBLING,
}
_EMERGENCY_CODES = {"C", "EP", "N"}  # v2-0131: emergency contact, emergency contact person, next of kin
_PHONE_SYSTEMS = {"phone", "sms", "fax"}
_PHONE_USES = {"home", "mobile", "work"}
_US_NAMES = {"us", "usa", "united states", "united states of america"}
_SKIPPED_NAME_USES = {"old", "maiden", "anonymous", "temp"}

# Where each PatientInput field comes from, for the `expression` of a refusal.
FHIR_PATHS = {
    "given_name": "Patient.name.given",
    "middle_name": "Patient.name.given",
    "family_name": "Patient.name.family",
    "suffix": "Patient.name.suffix",
    "preferred_name": "Patient.name",
    "birth_date": "Patient.birthDate",
    "sex": "Patient.gender",
    "gender_identity": "Patient.extension",
    "email": "Patient.telecom",
    "telecoms": "Patient.telecom",
    "address_line1": "Patient.address.line",
    "address_line2": "Patient.address.line",
    "city": "Patient.address.city",
    "state": "Patient.address.state",
    "postal_code": "Patient.address.postalCode",
    "country": "Patient.address.country",
    "preferred_language": "Patient.communication.language",
    "status": "Patient.active",
    "deceased_date": "Patient.deceasedDateTime",
    "identifiers": "Patient.identifier",
    "related_persons": "Patient.contact",
}


# --- out ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientRecord:
    """A patient with what its resource shows, loaded by the caller."""

    patient: Patient
    telecoms: Sequence[PatientTelecom]
    identifiers: Sequence[PatientIdentifier]
    related_persons: Sequence[RelatedPerson]
    mrn_system: str


def patient_to_fhir(record: PatientRecord) -> FhirPatient:
    patient = record.patient
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": {"versionId": str(patient.version), "lastUpdated": instant(patient.updated_at)},
        "identifier": [_mrn_identifier(patient.mrn, record.mrn_system)]
        + [_identifier(identifier, record.mrn_system) for identifier in record.identifiers],
        "active": patient.status not in (PatientStatus.INACTIVE, PatientStatus.MERGED),
        "name": _names(patient),
        "telecom": [_telecom(telecom) for telecom in record.telecoms]
        + ([{"system": "email", "value": patient.email}] if patient.email else []),
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
        "address": [_address(patient)],
        "communication": [
            {
                "language": {"coding": [{"system": BCP47, "code": patient.preferred_language}]},
                "preferred": True,
            }
        ]
        if patient.preferred_language
        else [],
        "contact": [_contact(person) for person in record.related_persons],
        "extension": [_gender_identity(patient.gender_identity)] if patient.gender_identity else [],
    }
    if patient.status == PatientStatus.DECEASED:
        if patient.deceased_date is not None:
            data["deceasedDateTime"] = patient.deceased_date.isoformat()
        else:
            data["deceasedBoolean"] = True
    if patient.status == PatientStatus.MERGED and patient.merged_into_id is not None:
        data["link"] = [{"other": {"reference": f"Patient/{patient.merged_into_id}"}, "type": "replaced-by"}]
    return FhirPatient.model_validate(compact(data))


def _mrn_identifier(mrn: str, mrn_system: str) -> dict[str, Any]:
    return {"use": "usual", "type": MR_TYPE, "system": mrn_system, "value": mrn}


def _identifier(identifier: PatientIdentifier, mrn_system: str) -> dict[str, Any]:
    if identifier.system == mrn_system:  # an MRN this record had before a merge
        return {"use": "old", "type": MR_TYPE, "system": mrn_system, "value": identifier.value}
    data: dict[str, Any] = {"value": identifier.value}
    if identifier.type_label:
        data["type"] = {"text": identifier.type_label}
    if is_uri(identifier.system):
        data["system"] = identifier.system
    else:  # a name such as "NY DMV": the assigning authority, not a URI
        data["assigner"] = {"display": identifier.system}
    return data


def _names(patient: Patient) -> list[dict[str, Any]]:
    names = [
        {
            "use": "official",
            "text": patient.full_name,
            "family": patient.family_name,
            "given": [patient.given_name, patient.middle_name],
            "suffix": [patient.suffix],
        }
    ]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name], "family": patient.family_name})
    return names


def _telecom(telecom: PatientTelecom) -> dict[str, Any]:
    return {
        "system": telecom.system,
        "value": telecom.value,
        "use": telecom.use,
        "rank": max(1, telecom.rank),
    }


def _address(patient: Patient) -> dict[str, Any]:
    parts = {
        "line": [patient.address_line1, patient.address_line2],
        "city": patient.city,
        "state": patient.state,
        "postalCode": patient.postal_code,
    }
    if not compact(parts):
        return {}
    return {"use": "home", **parts, "country": patient.country}


def _contact(person: RelatedPerson) -> dict[str, Any]:
    relationship: dict[str, Any] = {"text": person.get_relationship_display()}
    role_code = _ROLE_CODES.get(ContactRelationship(person.relationship)) if person.relationship else None
    if role_code:
        relationship["coding"] = [{"system": V3_ROLE_CODE, "code": role_code}]
    relationships = [relationship]
    if person.is_emergency_contact:
        relationships.insert(0, {"coding": [EMERGENCY_CONTACT]})
    telecom = []
    if person.phone:
        telecom.append({"system": "phone", "value": person.phone})
    if person.email:
        telecom.append({"system": "email", "value": person.email})
    return {"relationship": relationships, "name": {"text": person.name}, "telecom": telecom}


def _gender_identity(text: str) -> dict[str, Any]:
    return {
        "url": GENDER_IDENTITY_URL,
        "extension": [{"url": "value", "valueCodeableConcept": {"text": text}}],
    }


# --- in ----------------------------------------------------------------------------------------------


def _refuse(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(message, field=path)


def patient_input_from_fhir(resource: FhirPatient, *, mrn_system: str) -> PatientInput:
    """The registration input for a validated Patient resource. ValidationFailed (with a FHIRPath as
    `field`) when it holds something Caredesk cannot keep as given; the service checks the rest."""
    given, middle, family, suffix, preferred = _name_parts(resource.name or [])
    address = _address_parts(resource.address or [])
    telecoms, email = _contact_points(resource.telecom or [])
    status, deceased_date = _status(resource)
    return PatientInput(
        given_name=given,
        middle_name=middle,
        family_name=family,
        suffix=suffix,
        preferred_name=preferred,
        birth_date=_birth_date(resource.birthDate),
        sex=resource.gender or "unknown",
        gender_identity=_gender_identity_in(resource.extension or []),
        email=email,
        preferred_language=_language(resource.communication or []) or "en",
        status=status,
        deceased_date=deceased_date,
        telecoms=telecoms,
        identifiers=_identifiers(resource.identifier or [], mrn_system),
        related_persons=_contacts(resource.contact or []),
        **address,
    )


def _usable(items: Iterable[Any]) -> list[Any]:
    return [item for item in items if getattr(item, "use", None) not in _SKIPPED_NAME_USES]


def _name_parts(names: Sequence[Any]) -> tuple[str, str, str, str, str]:
    usable = _usable(names)
    official = [n for n in usable if n.use == "official"]
    primary = (official or [n for n in usable if n.use in (None, "usual")] or usable or [None])[0]
    if primary is None or not primary.family:
        raise _refuse("A name with a family name is required (Patient.name.family).", "Patient.name.family")
    given_names = [g for g in (primary.given or []) if g]
    if not given_names:
        raise _refuse("A given name is required (Patient.name.given).", "Patient.name.given")
    preferred = ""
    for name in usable:
        if name is not primary and name.use in ("usual", "nickname") and name.given:
            preferred = name.given[0]
            break
    return (
        given_names[0],
        " ".join(given_names[1:]),
        primary.family,
        " ".join(primary.suffix or []),
        preferred,
    )


def _birth_date(value: Any) -> dt.date:
    if value is None:
        raise _refuse("Patient.birthDate is required.", "Patient.birthDate")
    if not isinstance(value, dt.date):
        raise _refuse(
            f"Patient.birthDate must be a full date (YYYY-MM-DD), not {value!r}.", "Patient.birthDate"
        )
    return value


def _status(resource: FhirPatient) -> tuple[str, dt.date | None]:
    deceased = resource.deceasedDateTime
    if deceased is not None:
        if isinstance(deceased, dt.datetime):
            return PatientStatus.DECEASED, deceased.date()
        if isinstance(deceased, dt.date):
            return PatientStatus.DECEASED, deceased
        raise _refuse(
            f"Patient.deceasedDateTime must be a full date, not {deceased!r}.", "Patient.deceasedDateTime"
        )
    if resource.deceasedBoolean:
        return PatientStatus.DECEASED, None
    if resource.active is False:
        return PatientStatus.INACTIVE, None
    return PatientStatus.ACTIVE, None


class _Address(TypedDict, total=False):
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str


def _address_parts(addresses: Sequence[Any]) -> _Address:
    usable = _usable(addresses)
    if not usable:
        return _Address()
    address = next((a for a in usable if a.use == "home"), usable[0])
    lines = [line for line in (address.line or []) if line]
    if not lines and address.text and not (address.city or address.postalCode):
        lines = [address.text]
    parts = _Address(
        address_line1=lines[0] if lines else "",
        address_line2=", ".join(lines[1:]),
        city=address.city or "",
        state=address.state or "",
        postal_code=address.postalCode or "",
    )
    if address.country:
        parts["country"] = _country(address.country)
    return parts


def _country(value: str) -> str:
    text = value.strip()
    if text.lower() in _US_NAMES:
        return "US"
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    raise _refuse(
        f"Patient.address.country must be an ISO 3166 two-letter code such as US, not {value!r}.",
        "Patient.address.country",
    )


def _contact_points(points: Sequence[Any]) -> tuple[list[TelecomInput], str]:
    telecoms: list[TelecomInput] = []
    email = ""
    for point in points:
        if not point.value or point.use == "old" or (point.period and point.period.end):
            continue
        if point.system in _PHONE_SYSTEMS:
            use = point.use if point.use in _PHONE_USES else "mobile"
            telecoms.append(TelecomInput(value=point.value, system=point.system, use=use))
        elif point.system == "email" and not email:
            email = point.value
    return telecoms, email


def _language(communications: Sequence[Any]) -> str:
    ordered = sorted(communications, key=lambda c: not c.preferred)
    for communication in ordered:
        for coding in communication.language.coding or []:
            if coding.code and coding.system in (None, BCP47):
                return str(coding.code)
    return ""


def _gender_identity_in(extensions: Sequence[Any]) -> str:
    for extension in extensions:
        if extension.url != GENDER_IDENTITY_URL:
            continue
        for part in extension.extension or []:
            concept = part.valueCodeableConcept
            if part.url == "value" and concept is not None:
                codings = concept.coding or []
                return str(concept.text or (codings[0].display if codings else "") or "")
    return ""


def _identifiers(identifiers: Sequence[Any], mrn_system: str) -> list[IdentifierInput]:
    result: list[IdentifierInput] = []
    for index, identifier in enumerate(identifiers):
        if not identifier.value:
            continue
        path = f"Patient.identifier[{index}]"
        system = identifier.system or (identifier.assigner.display if identifier.assigner else None)
        if not system:
            raise _refuse(f"{path}.system is required (or an assigner with a name).", f"{path}.system")
        if system == mrn_system:
            raise _refuse(
                "MRNs of this organization are assigned by Caredesk; leave that identifier out.",
                f"{path}.system",
            )
        label = ""
        if identifier.type is not None:
            codings = identifier.type.coding or []
            label = identifier.type.text or (codings[0].display or codings[0].code if codings else "") or ""
        item = IdentifierInput(system=system, value=identifier.value, type_label=label[:60])
        if not any(i.system == item.system and i.value == item.value for i in result):
            result.append(item)
    return result


def _contacts(contacts: Sequence[Any]) -> list[RelatedPersonInput]:
    result: list[RelatedPersonInput] = []
    for contact in contacts:
        name = _person_name(contact.name)
        if not name:
            continue
        codes = [
            str(coding.code)
            for concept in contact.relationship or []
            for coding in concept.coding or []
            if coding.code
        ]
        relationship = next((_FROM_ROLE_CODES[c] for c in codes if c in _FROM_ROLE_CODES), None)
        points = contact.telecom or []
        phone = next((p.value for p in points if p.system in _PHONE_SYSTEMS and p.value), "")
        email = next((p.value for p in points if p.system == "email" and p.value), "")
        result.append(
            RelatedPersonInput(
                name=name,
                relationship=str(relationship or ContactRelationship.OTHER),
                phone=phone,
                email=email,
                is_emergency_contact=bool(_EMERGENCY_CODES & set(codes)),
            )
        )
    return result


def _person_name(name: Any) -> str:
    if name is None:
        return ""
    if name.text:
        return str(name.text).strip()
    parts = [*(name.prefix or []), *(name.given or []), name.family or "", *(name.suffix or [])]
    return " ".join(part for part in parts if part).strip()
