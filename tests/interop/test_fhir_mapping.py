"""The pure parts of the FHIR facade, without a database: search parameters, and Patient both ways."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient

from caredesk.core.errors import ValidationFailed
from caredesk.interop.fhir import search
from caredesk.interop.fhir.common import compact, is_uri
from caredesk.interop.fhir.outcomes import FhirError
from caredesk.interop.fhir.patient import PatientRecord, patient_input_from_fhir, patient_to_fhir
from caredesk.patients.models import Patient, PatientIdentifier, PatientTelecom, RelatedPerson

MRN_SYSTEM = "urn:caredesk:mrn:RSH"


def fhir(data: dict) -> FhirPatient:
    return FhirPatient.model_validate({"resourceType": "Patient", **data})


def minimal(**extra) -> FhirPatient:
    return fhir({"name": [{"family": "Doe", "given": ["Jane"]}], "birthDate": "1970-01-31", **extra})


# --- search parameters -------------------------------------------------------------------------------


def test_parse_keeps_supported_parameters_in_order_and_pages():
    parsed = search.parse(
        [
            ("family", "smith"),
            ("_format", "json"),
            ("other", "x"),
            ("given", "j\\,r"),
            ("_count", "500"),
            ("_page", "3"),
        ],
        search.PATIENT_PARAMS,
    )
    assert parsed.values == {"family": "smith", "given": "j,r"}
    assert parsed.used == [("family", "smith"), ("given", "j\\,r")]
    assert (parsed.count, parsed.page) == (search.MAX_COUNT, 3)


def test_parse_ignores_empty_values():
    assert search.parse([("name", "  ")], search.PATIENT_PARAMS).values == {}


@pytest.mark.parametrize(
    ("pairs", "strict"),
    [
        ([("name:exact", "x")], False),
        ([("name", "a,b")], False),
        ([("name", "a"), ("name", "b")], False),
        ([("_count", "0")], False),
        ([("_page", "x")], False),
        ([("other", "x")], True),
    ],
)
def test_parse_refuses(pairs, strict):
    with pytest.raises(FhirError) as caught:
        search.parse(pairs, search.PATIENT_PARAMS, strict=strict)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("identifier", "mrn", "other"),
    [
        (f"{MRN_SYSTEM}|RSH0000042", "RSH0000042", ""),
        ("rsh0000042", "rsh0000042", ""),
        ("urn:oid:1.2|X9", "", "urn:oid:1.2|X9"),
        ("|X9", "", "X9"),
        ("X9", "", "X9"),
        ("RSHX1", "", "RSHX1"),
    ],
)
def test_identifier_search_picks_the_mrn_or_other_identifiers(identifier, mrn, other):
    query = search.patient_query(
        search.parse([("identifier", identifier)], search.PATIENT_PARAMS), mrn_system=MRN_SYSTEM
    )
    assert (query.mrn, query.identifier) == (mrn, other)


def test_patient_query_dates_and_phones():
    parsed = search.parse(
        [("birthdate", "eq1980-02-29"), ("telecom", "sms|555-010-1111")], search.PATIENT_PARAMS
    )
    query = search.patient_query(parsed, mrn_system=MRN_SYSTEM)
    assert (query.birth_date, query.phone) == (dt.date(1980, 2, 29), "555-010-1111")


def test_practitioner_identifiers_of_other_systems_match_nothing():
    parsed = search.parse([("identifier", "urn:x|1234567893")], search.PRACTITIONER_PARAMS)
    assert search.practitioner_query(parsed) is None


@pytest.mark.parametrize(
    ("value", "expected"), [("12", "12"), ("Patient/12", "12"), ("https://h/fhir/Patient/12", "12")]
)
def test_patient_reference(value, expected):
    parsed = search.parse([("patient", value)], search.CLINICAL_PARAMS)
    assert search.patient_reference(parsed) == ("patient", expected)


# --- helpers -----------------------------------------------------------------------------------------


def test_compact_drops_empty_values_but_keeps_false_and_zero():
    assert compact({"a": "", "b": [None, "", {"c": []}], "d": False, "e": 0, "f": {"g": None}}) == {
        "d": False,
        "e": 0,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("urn:oid:1.2.3", True),
        ("http://example.org/ids", True),
        ("NY DMV", False),
        ("DMV", False),
        ("a:", False),
    ],
)
def test_is_uri(text, expected):
    assert is_uri(text) is expected


# --- Patient in --------------------------------------------------------------------------------------


def test_name_choice_official_first_then_preferred_from_nickname():
    resource = fhir(
        {
            "name": [
                {"use": "old", "family": "Shaw", "given": ["Amy"]},
                {"use": "nickname", "given": ["Ames"]},
                {
                    "use": "official",
                    "family": "Baxter",
                    "given": ["Amy", "Victoria", "Lee"],
                    "suffix": ["Jr."],
                },
            ],
            "birthDate": "1987-02-20",
        }
    )
    data = patient_input_from_fhir(resource, mrn_system=MRN_SYSTEM)
    assert (data.given_name, data.middle_name, data.family_name, data.suffix, data.preferred_name) == (
        "Amy",
        "Victoria Lee",
        "Baxter",
        "Jr.",
        "Ames",
    )
    assert data.sex == "unknown"
    assert data.status == "active"


def test_contact_points_skip_old_and_ended_ones():
    resource = minimal(
        telecom=[
            {"system": "phone", "value": "555-010-0001", "use": "old"},
            {"system": "phone", "value": "555-010-0002", "period": {"end": "2010-01-01"}},
            {"system": "phone", "value": "555-010-0003", "use": "temp"},
            {"system": "fax", "value": "555-010-0004", "use": "work"},
            {"system": "pager", "value": "555-010-0005"},
            {"system": "email", "value": "first@example.org"},
            {"system": "email", "value": "second@example.org"},
        ]
    )
    data = patient_input_from_fhir(resource, mrn_system=MRN_SYSTEM)
    assert [(t.system, t.use, t.value) for t in data.telecoms] == [
        ("phone", "mobile", "555-010-0003"),
        ("fax", "work", "555-010-0004"),
    ]
    assert data.email == "first@example.org"


@pytest.mark.parametrize(("country", "expected"), [("USA", "US"), ("United States", "US"), ("ca", "CA")])
def test_countries(country, expected):
    data = patient_input_from_fhir(
        minimal(address=[{"city": "X", "country": country}]), mrn_system=MRN_SYSTEM
    )
    assert data.country == expected


def test_address_prefers_home_and_joins_extra_lines():
    resource = minimal(
        address=[
            {"use": "work", "line": ["1 Office Park"], "city": "Troy"},
            {
                "use": "home",
                "line": ["12 Main St", "Apt 4", "Rear"],
                "city": "Albany",
                "state": "NY",
                "postalCode": "12207",
            },
        ]
    )
    data = patient_input_from_fhir(resource, mrn_system=MRN_SYSTEM)
    assert (data.address_line1, data.address_line2, data.city, data.state) == (
        "12 Main St",
        "Apt 4, Rear",
        "Albany",
        "NY",
    )


@pytest.mark.parametrize(
    ("extra", "status", "deceased_date"),
    [
        ({"deceasedBoolean": True}, "deceased", None),
        ({"deceasedDateTime": "2015-02-14T13:42:00+10:00"}, "deceased", dt.date(2015, 2, 14)),
        ({"deceasedDateTime": "2015-02-14"}, "deceased", dt.date(2015, 2, 14)),
        ({"active": False}, "inactive", None),
        ({"active": True, "deceasedBoolean": False}, "active", None),
    ],
)
def test_status(extra, status, deceased_date):
    data = patient_input_from_fhir(minimal(**extra), mrn_system=MRN_SYSTEM)
    assert (data.status, data.deceased_date) == (status, deceased_date)


def test_identifiers_and_contacts():
    resource = minimal(
        identifier=[
            {
                "system": "urn:oid:2.16.840.1.113883.4.1",
                "value": "123-45-6789",
                "type": {"coding": [{"code": "SS"}]},
            },
            {"system": "urn:oid:2.16.840.1.113883.4.1", "value": "123-45-6789"},
            {"assigner": {"display": "NY DMV"}, "value": "D1"},
            {"system": "urn:no-value"},
        ],
        contact=[
            {
                "relationship": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]},
                    {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "WIFE"}
                        ]
                    },
                ],
                "name": {"family": "Doe", "given": ["Mary"]},
                "telecom": [
                    {"system": "email", "value": "mary@example.org"},
                    {"system": "phone", "value": "555-010-0009"},
                ],
            },
            {"organization": {"display": "Acme Employer"}},
        ],
    )
    data = patient_input_from_fhir(resource, mrn_system=MRN_SYSTEM)
    assert [(i.system, i.value, i.type_label) for i in data.identifiers] == [
        ("urn:oid:2.16.840.1.113883.4.1", "123-45-6789", "SS"),
        ("NY DMV", "D1", ""),
    ]
    assert [asdict(r) for r in data.related_persons] == [
        {
            "name": "Mary Doe",
            "relationship": "spouse",
            "phone": "555-010-0009",
            "email": "mary@example.org",
            "is_emergency_contact": True,
        }
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"birthDate": "1970-01-01"}, "Patient.name.family"),
        ({"name": [{"family": "Doe"}], "birthDate": "1970-01-01"}, "Patient.name.given"),
        (
            {"name": [{"use": "old", "family": "Doe", "given": ["J"]}], "birthDate": "1970-01-01"},
            "Patient.name.family",
        ),
        ({"name": [{"family": "Doe", "given": ["J"]}], "birthDate": "1970-01"}, "Patient.birthDate"),
        (
            {
                "name": [{"family": "Doe", "given": ["J"]}],
                "birthDate": "1970-01-01",
                "deceasedDateTime": "2001",
            },
            "Patient.deceasedDateTime",
        ),
        (
            {
                "name": [{"family": "Doe", "given": ["J"]}],
                "birthDate": "1970-01-01",
                "address": [{"country": "NLD"}],
            },
            "Patient.address.country",
        ),
        (
            {
                "name": [{"family": "Doe", "given": ["J"]}],
                "birthDate": "1970-01-01",
                "identifier": [{"system": MRN_SYSTEM, "value": "RSH1"}],
            },
            "Patient.identifier[0].system",
        ),
    ],
)
def test_what_cannot_be_kept_is_refused_naming_the_element(data, field):
    with pytest.raises(ValidationFailed) as caught:
        patient_input_from_fhir(fhir(data), mrn_system=MRN_SYSTEM)
    assert caught.value.field == field


# --- Patient out, and back -----------------------------------------------------------------------------


def _record() -> PatientRecord:
    moment = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)
    patient = Patient(
        pk=7,
        mrn="RSH0000007",
        given_name="Zoë",
        middle_name="Ann",
        family_name="Ólafsdóttir",
        suffix="III",
        preferred_name="Zo",
        birth_date=dt.date(1992, 7, 4),
        sex="female",
        gender_identity="Non-binary",
        email="zo@example.org",
        address_line1="1 Elm St",
        city="Hudson",
        state="NY",
        postal_code="12534",
        preferred_language="is",
        status="deceased",
        deceased_date=dt.date(2024, 1, 2),
        version=3,
    )
    patient.updated_at = moment
    return PatientRecord(
        patient=patient,
        telecoms=[
            PatientTelecom(patient=patient, system="phone", use="home", value="(555) 010-2345", rank=1)
        ],
        identifiers=[
            PatientIdentifier(patient=patient, system="NY DMV", value="D1", type_label="Licence"),
            PatientIdentifier(
                patient=patient, system=MRN_SYSTEM, value="RSH0000003", type_label="Previous MRN"
            ),
        ],
        related_persons=[
            RelatedPerson(patient=patient, name="Sam Rivera", relationship="guardian", phone="555-010-9999")
        ],
        mrn_system=MRN_SYSTEM,
    )


def test_patient_to_fhir_is_valid_and_complete():
    resource = patient_to_fhir(_record())
    FhirPatient.model_validate(resource.model_dump())  # what we emit validates again as R4B
    assert [(i.use, i.system, i.value) for i in resource.identifier] == [
        ("usual", MRN_SYSTEM, "RSH0000007"),
        (None, None, "D1"),
        ("old", MRN_SYSTEM, "RSH0000003"),
    ]
    assert resource.deceasedDateTime == dt.date(2024, 1, 2)
    assert resource.meta.versionId == "3"
    assert resource.extension[0].extension[0].valueCodeableConcept.text == "Non-binary"
    contact = resource.contact[0]
    assert [r.coding[0].code for r in contact.relationship] == ["C", "GUARD"]


def test_a_resource_we_emit_maps_back_to_the_same_demographics():
    record = _record()
    emitted = patient_to_fhir(record)
    emitted.identifier = [i for i in emitted.identifier if i.system != MRN_SYSTEM]  # MRNs are ours to assign
    data = patient_input_from_fhir(emitted, mrn_system=MRN_SYSTEM)
    patient = record.patient
    for name in (
        "given_name",
        "middle_name",
        "family_name",
        "suffix",
        "preferred_name",
        "birth_date",
        "sex",
        "gender_identity",
        "email",
        "address_line1",
        "city",
        "state",
        "postal_code",
        "country",
        "preferred_language",
        "status",
        "deceased_date",
    ):
        assert getattr(data, name) == getattr(patient, name), name
    assert [(t.value, t.use) for t in data.telecoms] == [("(555) 010-2345", "home")]
    assert [(i.system, i.value, i.type_label) for i in data.identifiers] == [("NY DMV", "D1", "Licence")]
    assert [(r.name, r.relationship, r.is_emergency_contact) for r in data.related_persons] == [
        ("Sam Rivera", "guardian", True)
    ]
