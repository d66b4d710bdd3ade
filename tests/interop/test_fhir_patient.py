"""The FHIR R4 Patient endpoints and the CapabilityStatement, through HTTP with real tokens."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.patients import services
from caredesk.patients.models import Patient
from caredesk.patients.schemas import IdentifierInput
from tests.patients.factories import full_patient_input, make_patient, portal_user_for

from .conftest import FHIR_JSON, audit_rows

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "resourceType": "Patient",
    "name": [
        {"use": "official", "family": "Okafor", "given": ["Ava", "Chioma"]},
        {"use": "nickname", "given": ["Avi"]},
    ],
    "gender": "female",
    "birthDate": "1991-04-12",
    "telecom": [
        {"system": "phone", "value": "(555) 010-7788", "use": "home"},
        {"system": "email", "value": "ava@example.org"},
    ],
    "address": [
        {
            "use": "home",
            "line": ["12 Main St", "Apt 4"],
            "city": "Albany",
            "state": "NY",
            "postalCode": "12207",
        }
    ],
    "identifier": [
        {
            "system": "urn:oid:2.16.840.1.113883.4.3.36",
            "value": "D7654321",
            "type": {"text": "Driver's licence"},
        }
    ],
    "communication": [
        {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}, "preferred": True}
    ],
    "contact": [
        {
            "relationship": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C"}]}
            ],
            "name": {"family": "Okafor", "given": ["Sam"]},
            "telecom": [{"system": "phone", "value": "555-010-9999"}],
        }
    ],
}


def fhir_json(response) -> dict:
    assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
    return json.loads(response.content)


def outcome_of(response) -> OperationOutcome:
    return OperationOutcome.model_validate(fhir_json(response))


def post_patient(api, resource, **headers):
    return api.post("/fhir/Patient", data=json.dumps(resource), content_type=FHIR_JSON, headers=headers)


# --- metadata ----------------------------------------------------------------------------------------


def test_metadata_is_a_valid_capability_statement_without_auth(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(fhir_json(response))
    resources = {r.type: r for r in statement.rest[0].resource}
    assert {"Patient", "Practitioner", "Condition", "Observation"} <= set(resources)
    assert {i.code for i in resources["Patient"].interaction} == {"read", "search-type", "create"}
    assert {p.name for p in resources["Patient"].searchParam} >= {
        "name",
        "family",
        "given",
        "birthdate",
        "identifier",
        "telecom",
    }


# --- read --------------------------------------------------------------------------------------------


def test_read_emits_a_valid_r4_patient_and_audits_it(client_for, coordinator, coordinator_actor):
    patient = services.register_patient(
        actor=coordinator_actor,
        data=full_patient_input(
            given_name="Zoë", family_name="Ólafsdóttir", preferred_name="Zo", gender_identity="Woman"
        ),
    )
    api = client_for(coordinator)
    response = api.get(f"/fhir/Patient/{patient.pk}", HTTP_X_REQUEST_ID="req-fhir-read-1")
    assert response.status_code == 200
    resource = FhirPatient.model_validate(fhir_json(response))
    assert resource.id == str(patient.pk)
    assert resource.meta.versionId == "1"
    mrn = resource.identifier[0]
    assert (mrn.system, mrn.value, mrn.type.coding[0].code) == ("urn:caredesk:mrn:RSH", patient.mrn, "MR")
    assert resource.identifier[1].value == "D1234567"
    official = resource.name[0]
    assert (official.family, official.given) == ("Ólafsdóttir", ["Zoë"])
    assert resource.name[1].use == "usual"
    assert resource.name[1].given == ["Zo"]
    assert resource.birthDate == patient.birth_date
    assert resource.telecom[0].value == "(555) 010-2345"
    assert resource.contact[0].name.text == "Sam Rivera"
    assert resource.address[0].state == "NY"
    assert response["ETag"] == 'W/"1"'
    row = audit_rows(AuditAction.PATIENT_VIEW, patient_id=patient.pk)[0]
    assert (row.channel, row.request_id, row.ip) == ("fhir", "req-fhir-read-1", "127.0.0.1")


def test_read_needs_a_token(client, patient):
    response = client.get(f"/fhir/Patient/{patient.pk}")
    assert response.status_code == 401
    assert outcome_of(response).issue[0].code == "login"


def test_read_of_another_organizations_patient_is_404(other_api, patient):
    response = other_api.get(f"/fhir/Patient/{patient.pk}")
    assert response.status_code == 404
    assert outcome_of(response).issue[0].code == "not-found"
    assert audit_rows(AuditAction.PATIENT_VIEW) == []


@pytest.mark.parametrize("bad_id", ["abc", "0", "99999999999999999999999", "1.5"])
def test_ids_that_are_not_ours_are_404(api, bad_id):
    assert api.get(f"/fhir/Patient/{bad_id}").status_code == 404


def test_a_merged_record_points_to_the_survivor(api, coordinator_actor, patient):
    survivor = make_patient(coordinator_actor, given_name="José", family_name="Garcia")
    services.merge_patients(
        actor=coordinator_actor, source_id=patient.pk, target_id=survivor.pk, reason="same person"
    )
    merged = FhirPatient.model_validate(fhir_json(api.get(f"/fhir/Patient/{patient.pk}")))
    assert merged.active is False
    assert merged.link[0].other.reference == f"Patient/{survivor.pk}"
    assert merged.link[0].type == "replaced-by"
    kept = FhirPatient.model_validate(fhir_json(api.get(f"/fhir/Patient/{survivor.pk}")))
    assert {(i.use, i.value) for i in kept.identifier} >= {("old", patient.mrn)}


def test_a_portal_token_sees_only_its_own_patient(client_for, coordinator_actor, patient):
    stranger = make_patient(coordinator_actor, given_name="Noah", family_name="Stranger")
    portal = client_for(portal_user_for(patient))
    assert portal.get(f"/fhir/Patient/{patient.pk}").status_code == 200
    assert portal.get(f"/fhir/Patient/{stranger.pk}").status_code == 404
    bundle = Bundle.model_validate(fhir_json(portal.get("/fhir/Patient")))
    assert [e.resource.id for e in bundle.entry] == [str(patient.pk)]
    assert portal.post("/fhir/Patient", data="{}", content_type=FHIR_JSON).status_code == 403


# --- search ------------------------------------------------------------------------------------------


@pytest.fixture
def clinic(coordinator_actor):
    people = {
        "jose": make_patient(
            coordinator_actor,
            given_name="José",
            family_name="García",
            birth_date=dt.date(1980, 2, 29),
            phones=["(555) 010-1111"],
        ),
        "john": make_patient(
            coordinator_actor, given_name="John", family_name="Smith", birth_date=dt.date(1970, 1, 15)
        ),
        "jane": make_patient(
            coordinator_actor, given_name="Jane", family_name="Smithers", birth_date=dt.date(1971, 3, 9)
        ),
        "smith": make_patient(
            coordinator_actor, given_name="Smith", family_name="Johnson", birth_date=dt.date(1985, 12, 1)
        ),
    }
    services.update_patient(actor=coordinator_actor, patient_id=people["john"].pk, changes={"city": "Albany"})
    people["john"].identifiers.create(
        system="urn:oid:2.16.840.1.113883.4.1", value="123-45-6789", type_label="SSN"
    )
    return people


def search_ids(api, params: dict) -> list[str]:
    response = api.get("/fhir/Patient", params)
    assert response.status_code == 200, response.content
    bundle = Bundle.model_validate(fhir_json(response))
    assert bundle.type == "searchset"
    return [entry.resource.id for entry in bundle.entry or []]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "garcia"}, ["jose"]),
        ({"name": "smi"}, ["smith", "john", "jane"]),
        ({"family": "smith"}, ["john", "jane"]),
        ({"given": "jo"}, ["jose", "john"]),
        ({"family": "smith", "given": "ja"}, ["jane"]),
        ({"birthdate": "1980-02-29"}, ["jose"]),
        ({"birthdate": "eq1970-01-15"}, ["john"]),
        ({"telecom": "phone|555-010-1111"}, ["jose"]),
        ({"phone": "5550101111"}, ["jose"]),
        ({"identifier": "urn:oid:2.16.840.1.113883.4.1|123-45-6789"}, ["john"]),
        ({"identifier": "123-45-6789"}, ["john"]),
        ({"identifier": "urn:other|123-45-6789"}, []),
        ({"name": "smi", "birthdate": "1971-03-09"}, ["jane"]),
        ({"name": "smi", "unknown-param": "x"}, ["smith", "john", "jane"]),
    ],
)
def test_patient_search_parameters(api, clinic, params, expected):
    assert search_ids(api, params) == [str(clinic[key].pk) for key in expected]


def test_identifier_search_by_mrn(api, clinic):
    mrn = clinic["jane"].mrn
    assert search_ids(api, {"identifier": f"urn:caredesk:mrn:RSH|{mrn}"}) == [str(clinic["jane"].pk)]
    assert search_ids(api, {"identifier": mrn}) == [str(clinic["jane"].pk)]


def test_search_pages_with_self_next_and_previous_links(api, clinic):
    first = Bundle.model_validate(fhir_json(api.get("/fhir/Patient", {"name": "smi", "_count": "2"})))
    links = {link.relation: link.url for link in first.link}
    assert set(links) == {"self", "next"}
    assert [e.resource.id for e in first.entry] == [str(clinic["smith"].pk), str(clinic["john"].pk)]
    assert first.total == 3
    assert first.entry[0].fullUrl == f"http://testserver/fhir/Patient/{clinic['smith'].pk}"
    next_url = urlsplit(links["next"])
    assert parse_qs(next_url.query) == {"name": ["smi"], "_count": ["2"], "_page": ["2"]}
    second = Bundle.model_validate(fhir_json(api.get(next_url.path, parse_qs(next_url.query))))
    second_links = {link.relation for link in second.link}
    assert second_links == {"self", "previous"}
    assert [e.resource.id for e in second.entry] == [str(clinic["jane"].pk)]


def test_search_is_audited_with_its_criteria(api, clinic):
    api.get("/fhir/Patient", {"family": "smith"})
    row = audit_rows(AuditAction.PATIENT_SEARCH, channel="fhir")[0]
    assert row.detail["criteria"] == {"family": "smith"}
    assert row.detail["result_ids"] == [clinic["john"].pk, clinic["jane"].pk]


def test_search_by_post_form(api, clinic):
    response = api.post(
        "/fhir/Patient/_search", data="family=smithers", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert api.post("/fhir/Patient/_search", {"family": "smithers"}).status_code == 415  # multipart
    assert [e.resource.id for e in Bundle.model_validate(fhir_json(response)).entry] == [
        str(clinic["jane"].pk)
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"birthdate": "ge1970-01-01"},
        {"birthdate": "1970"},
        {"birthdate": "1970-02-31"},
        {"birthdate": "yesterday"},
        {"name:exact": "Smith"},
        {"name": "smith,jones"},
        {"identifier": "urn:x|"},
        {"telecom": "email|a@b.org"},
        {"_count": "0"},
        {"_count": "many"},
        {"_page": "-1"},
        {"_page": "60", "_count": "200"},
        {"name": "x" * 300},
    ],
)
def test_unsupported_or_malformed_search_parameters_are_400(api, clinic, params):
    response = api.get("/fhir/Patient", params)
    assert response.status_code == 400
    assert outcome_of(response).issue[0].severity == "error"


def test_repeated_parameters_are_400(api):
    assert api.get("/fhir/Patient?family=smith&family=jones").status_code == 400


def test_strict_handling_refuses_unknown_parameters(api, clinic):
    response = api.get("/fhir/Patient", {"hair-colour": "red"}, headers={"Prefer": "handling=strict"})
    assert response.status_code == 400
    assert outcome_of(response).issue[0].code == "not-supported"


def test_search_never_crosses_organizations(other_api, clinic):
    assert search_ids(other_api, {"name": "smi"}) == []


def test_roles_without_search_get_403(client_for, staff):
    response = client_for(staff(Role.FRONT_DESK)).get("/fhir/Condition", {"patient": "1"})
    assert response.status_code == 403
    assert outcome_of(response).issue[0].code == "forbidden"


# --- create ------------------------------------------------------------------------------------------


def test_create_maps_the_resource_and_answers_201_with_location(api):
    response = post_patient(api, NEW_PATIENT)
    assert response.status_code == 201, response.content
    created = FhirPatient.model_validate(fhir_json(response))
    patient = Patient.objects.get(pk=int(created.id))
    assert response["Location"] == f"http://testserver/fhir/Patient/{patient.pk}"
    assert (patient.given_name, patient.middle_name, patient.family_name) == ("Ava", "Chioma", "Okafor")
    assert patient.preferred_name == "Avi"
    assert (patient.address_line1, patient.address_line2, patient.city, patient.postal_code) == (
        "12 Main St",
        "Apt 4",
        "Albany",
        "12207",
    )
    assert patient.email == "ava@example.org"
    assert patient.preferred_language == "es"
    assert [t.value for t in patient.telecoms.all()] == ["(555) 010-7788"]
    assert [(i.system, i.value, i.type_label) for i in patient.identifiers.all()] == [
        ("urn:oid:2.16.840.1.113883.4.3.36", "D7654321", "Driver's licence")
    ]
    contact = patient.related_persons.get()
    assert (contact.name, contact.phone, contact.is_emergency_contact) == ("Sam Okafor", "555-010-9999", True)
    assert created.identifier[0].value == patient.mrn
    row = audit_rows(AuditAction.PATIENT_CREATE, patient_id=patient.pk)[0]
    assert row.channel == "fhir"


def test_create_accepts_plain_json_and_prefer_minimal(api):
    response = api.post(
        "/fhir/Patient",
        data=json.dumps(NEW_PATIENT),
        content_type="application/json",
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 201
    assert response.content == b""
    assert response["Location"]


def test_duplicates_are_409_listing_candidates_unless_confirmed(api, patient):
    twin = {
        "resourceType": "Patient",
        "name": [{"family": "Garcia", "given": ["Jose"]}],
        "birthDate": "1980-02-29",
    }
    refused = post_patient(api, twin)
    assert refused.status_code == 409
    outcome = outcome_of(refused)
    assert outcome.issue[0].code == "duplicate"
    assert outcome.issue[0].details.coding[0].code == "duplicate_suspected"
    assert f"Patient/{patient.pk}" in outcome.issue[1].diagnostics
    assert Patient.objects.count() == 1
    confirmed = post_patient(api, twin, **{"Caredesk-Confirm-Not-Duplicate": "true"})
    assert confirmed.status_code == 201
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "structure"),
        ("[1, 2]", 400, "structure"),
        ('"Patient"', 400, "structure"),
        ('{"resourceType": "Observation", "status": "final"}', 400, "invalid"),
        ('{"resourceType": "Patient", "birthDate": "1970-13-01"}', 400, "value"),
        ('{"resourceType": "Patient", "gender": "female", "hairColour": "red"}', 400, "structure"),
        (
            '{"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}], "birthDate": "1970"}',
            422,
            "business-rule",
        ),
        (
            '{"resourceType": "Patient", "name": [{"text": "Y X"}], "birthDate": "1970-01-01"}',
            422,
            "business-rule",
        ),
        ('{"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}]}', 422, "business-rule"),
    ],
)
def test_bad_bodies_are_4xx_operation_outcomes_and_create_nothing(api, body, status, code):
    response = api.post("/fhir/Patient", data=body, content_type=FHIR_JSON)
    assert response.status_code == status, response.content
    assert outcome_of(response).issue[0].code == code
    assert Patient.objects.count() == 0
    assert audit_rows(AuditAction.PATIENT_CREATE) == []


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"birthDate": "2999-01-01"}, "Patient.birthDate"),
        ({"address": [{"state": "Vic", "city": "PleasantVille"}]}, "Patient.address.state"),
        ({"address": [{"country": "Netherlands"}]}, "Patient.address.country"),
        ({"telecom": [{"system": "phone", "value": "12"}]}, "Patient.telecom"),
        (
            {"identifier": [{"system": "urn:caredesk:mrn:RSH", "value": "RSH0000001"}]},
            "Patient.identifier[0].system",
        ),
        ({"identifier": [{"value": "123"}]}, "Patient.identifier[0].system"),
        (
            {"communication": [{"language": {"coding": [{"code": "not a language"}]}}]},
            "Patient.communication.language",
        ),
    ],
)
def test_business_rules_are_422_pointing_at_the_element(api, change, expression):
    response = post_patient(api, {**NEW_PATIENT, **change})
    assert response.status_code == 422, response.content
    issue = outcome_of(response).issue[0]
    assert issue.code == "business-rule"
    assert issue.expression == [expression]
    assert Patient.objects.count() == 0


def test_wrong_content_type_is_415(api):
    response = api.post("/fhir/Patient", data="<Patient/>", content_type="application/fhir+xml")
    assert response.status_code == 415
    assert outcome_of(response).issue[0].code == "not-supported"


def test_create_needs_the_create_permission_before_the_body_is_read(client_for, staff):
    response = client_for(staff(Role.NURSE)).post("/fhir/Patient", data="{broken", content_type=FHIR_JSON)
    assert response.status_code == 403
    assert Patient.objects.count() == 0


def test_unknown_fhir_paths_and_methods(api, patient):
    assert api.get("/fhir/Questionnaire").status_code == 404  # a resource type not served here
    assert outcome_of(api.get("/fhir/Questionnaire")).issue[0].code == "not-found"
    response = api.delete(f"/fhir/Patient/{patient.pk}")
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_identifier_input_round_trip_through_fhir(api, coordinator_actor):
    patient = services.register_patient(
        actor=coordinator_actor,
        data=full_patient_input(
            identifiers=[IdentifierInput(system="NY DMV", value="X1", type_label="Licence")]
        ),
    )
    resource = FhirPatient.model_validate(fhir_json(api.get(f"/fhir/Patient/{patient.pk}")))
    other = resource.identifier[1]
    assert (other.system, other.assigner.display, other.value) == (None, "NY DMV", "X1")


def test_null_characters_are_400_not_a_database_error(api, patient):
    body = {**NEW_PATIENT, "name": [{"family": "Oka\u0000for", "given": ["Ava"]}]}
    assert post_patient(api, body).status_code == 400
    assert api.get("/fhir/Patient", {"identifier": "RSH\x000001"}).status_code == 400
    assert Patient.objects.count() == 1
