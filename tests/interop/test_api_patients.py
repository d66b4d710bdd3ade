"""The JSON API's patient endpoints, through HTTP with real tokens, on the real database."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.models import ApiToken
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.patients.models import Patient
from tests.patients.factories import make_patient, portal_user_for

from .conftest import TokenClient, audit_rows, token_for

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "given_name": "Ava",
    "family_name": "Okafor",
    "birth_date": "1991-04-12",
    "sex": "female",
    "telecoms": [{"value": "(555) 010-7788", "use": "home"}],
    "identifiers": [{"system": "urn:oid:2.16.840.1.113883.4.3.36", "value": "D7654321"}],
    "related_persons": [{"name": "Sam Okafor", "relationship": "spouse", "phone": "555-010-9999"}],
    "state": "NY",
    "postal_code": "10001",
}


# --- authentication ----------------------------------------------------------------------------------


def test_no_token_is_401_with_a_coded_json_error(client, patient):
    response = client.get(f"/api/v1/patients/{patient.pk}")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer cd_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "cd_x"])
def test_bad_tokens_are_401(patient, header):
    response = TokenClient("unused").get(f"/api/v1/patients/{patient.pk}", headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}


def test_a_revoked_token_is_401(client_for, coordinator, patient):
    api = client_for(coordinator)
    assert api.get(f"/api/v1/patients/{patient.pk}").status_code == 200
    ApiToken.objects.update(revoked_at=dt.datetime.now(dt.UTC))
    assert api.get(f"/api/v1/patients/{patient.pk}").status_code == 401


def test_a_session_without_a_token_is_not_enough(client_as, coordinator, patient):
    assert client_as(coordinator).get(f"/api/v1/patients/{patient.pk}").status_code == 401


# --- search ------------------------------------------------------------------------------------------


def test_search_by_name_is_accent_insensitive_paginated_and_audited(api, coordinator_actor, patient):
    for n in range(3):
        make_patient(coordinator_actor, given_name="Maria", family_name=f"Garcian{'abc'[n]}")
    response = api.get(
        "/api/v1/patients", {"q": "garcia", "page_size": 2}, HTTP_X_REQUEST_ID="req-api-search-1"
    )
    assert response.status_code == 200
    body = response.json()
    assert [p["family_name"] for p in body["results"]] == ["García", "Garciana"]
    assert body["has_next"] is True
    assert body["results"][0]["telecoms"][0]["value"] == "(555) 010-1111"
    second = api.get("/api/v1/patients", {"q": "garcia", "page_size": 2, "page": 2}).json()
    assert [p["family_name"] for p in second["results"]] == ["Garcianb", "Garcianc"]
    assert second["has_next"] is False
    assert second["total"] == 4
    row = audit_rows(AuditAction.PATIENT_SEARCH, channel="api")[0]
    assert row.detail["criteria"]["text"] == "garcia"
    assert row.detail["result_ids"] == [body["results"][0]["id"], body["results"][1]["id"]]
    assert row.request_id == "req-api-search-1"
    assert row.ip == "127.0.0.1"
    assert row.actor_username == "coord"


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"birth_date": "1980-02-29"}, True),
        ({"birth_date": "1980-03-01"}, False),
        ({"phone": "555.010.1111"}, True),
        ({"family": "garc", "given": "jo"}, True),
        ({"name": "jose garcia"}, True),
        ({"q": "02/29/1980"}, True),
    ],
)
def test_search_criteria(api, patient, params, found):
    response = api.get("/api/v1/patients", params)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == ([patient.pk] if found else [])


def test_search_by_mrn(api, patient):
    results = api.get("/api/v1/patients", {"mrn": patient.mrn}).json()["results"]
    assert [p["mrn"] for p in results] == [patient.mrn]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"birth_date": "29/02/1980"}, "birth_date"),
        ({"page": "0"}, "page"),
        ({"page_size": "5000"}, "page_size"),
        ({"page": "abc"}, "page"),
        ({"include_inactive": "maybe"}, "include_inactive"),
    ],
)
def test_bad_search_parameters_are_400_naming_the_field(api, params, field):
    response = api.get("/api/v1/patients", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["field"] == field
    assert body["message"]


def test_search_never_shows_another_organization(other_api, patient):
    assert other_api.get("/api/v1/patients", {"q": "garcia"}).json()["results"] == []


# --- read --------------------------------------------------------------------------------------------


def test_read_shows_the_patient_and_writes_an_audit_row(api, patient):
    response = api.get(f"/api/v1/patients/{patient.pk}", HTTP_X_REQUEST_ID="req-api-read-1")
    assert response.status_code == 200
    body = response.json()
    assert body["mrn"] == patient.mrn
    assert body["given_name"] == "José"
    assert body["version"] == 1
    assert body["telecoms"] == [{"system": "phone", "use": "mobile", "value": "(555) 010-1111", "rank": 1}]
    assert response["ETag"] == 'W/"1"'
    assert response["X-Request-ID"] == "req-api-read-1"
    rows = audit_rows(AuditAction.PATIENT_VIEW, patient_id=patient.pk)
    assert len(rows) == 1
    assert rows[0].channel == "api"
    assert rows[0].request_id == "req-api-read-1"
    assert rows[0].ip == "127.0.0.1"


def test_another_organizations_patient_is_404_like_a_missing_one(other_api, api, patient):
    other = other_api.get(f"/api/v1/patients/{patient.pk}")
    missing = api.get("/api/v1/patients/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json()["code"] == missing.json()["code"] == "patient_not_found"
    assert audit_rows(AuditAction.PATIENT_VIEW) == []


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", str(2**64)])
def test_malformed_ids_are_4xx_not_500(api, bad_id):
    response = api.get(f"/api/v1/patients/{bad_id}")
    assert response.status_code in (400, 404)
    assert "code" in response.json()


def test_a_portal_token_reads_only_its_own_record(client_for, coordinator_actor, patient):
    someone_else = make_patient(coordinator_actor, given_name="Noah", family_name="Stranger")
    portal = client_for(portal_user_for(patient))
    assert portal.get(f"/api/v1/patients/{patient.pk}").status_code == 200
    assert portal.get(f"/api/v1/patients/{someone_else.pk}").status_code == 404
    assert portal.get("/api/v1/patients", {"q": "stranger"}).status_code == 403


# --- create ------------------------------------------------------------------------------------------


def test_create_registers_the_patient_with_a_generated_mrn(api):
    response = api.post_json("/api/v1/patients", NEW_PATIENT)
    assert response.status_code == 201, response.content
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert body["mrn"] == patient.mrn
    assert patient.mrn.startswith("RSH")
    assert response["Location"].endswith(f"/api/v1/patients/{patient.pk}")
    assert body["identifiers"][0]["value"] == "D7654321"
    assert body["related_persons"][0]["name"] == "Sam Okafor"
    row = audit_rows(AuditAction.PATIENT_CREATE, patient_id=patient.pk)[0]
    assert row.channel == "api"


def test_likely_duplicates_answer_409_with_the_candidates_until_confirmed(api, patient):
    twin = {"given_name": "Jose", "family_name": "Garcia", "birth_date": "1980-02-29", "sex": "male"}
    refused = api.post_json("/api/v1/patients", twin)
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "duplicate_suspected"
    assert [c["id"] for c in body["candidates"]] == [patient.pk]
    assert body["candidates"][0]["mrn"] == patient.mrn
    assert Patient.objects.count() == 1
    created = api.post_json("/api/v1/patients", {**twin, "confirm_not_duplicate": True})
    assert created.status_code == 201
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"birth_date": "1991-02-30"}, "birth_date", "validation_error"),
        ({"birth_date": "2999-01-01"}, "birth_date", "validation_error"),
        ({"sex": "robot"}, "sex", "validation_error"),
        ({"given_name": "   "}, "given_name", "validation_error"),
        ({"email": "not-an-email"}, "email", "validation_error"),
        ({"state": "ZZ"}, "state", "validation_error"),
        ({"telecoms": [{"value": "12"}]}, "telecoms", "validation_error"),
        ({"telecoms": [{"value": "555-010-2222", "use": "pager"}]}, "telecoms", "validation_error"),
        ({"favourite_colour": "blue"}, "favourite_colour", "validation_error"),
        ({"given_name": 42}, "given_name", "validation_error"),
        ({"telecoms": [{"number": "555"}]}, "telecoms[0].value", "validation_error"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_creates_nothing(api, change, field, code):
    response = api.post_json("/api/v1/patients", {**NEW_PATIENT, **change})
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]
    assert Patient.objects.count() == 0
    assert audit_rows(AuditAction.PATIENT_CREATE) == []


@pytest.mark.parametrize("raw", ["{not json", "[]", '"text"', ""])
def test_a_body_that_is_not_a_json_object_is_400(api, raw):
    response = api.post("/api/v1/patients", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_json", "validation_error")
    assert Patient.objects.count() == 0


def test_missing_required_fields_are_listed(api):
    response = api.post_json("/api/v1/patients", {"given_name": "Ava"})
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"family_name", "birth_date", "sex"}


def test_roles_without_create_permission_get_403_before_the_body_is_read(client_for, staff):
    billing = client_for(staff(Role.BILLING))
    response = billing.post("/api/v1/patients", data="{broken", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert Patient.objects.count() == 0


# --- update ------------------------------------------------------------------------------------------


def test_update_changes_the_fields_sent_and_bumps_the_version(api, patient):
    response = api.patch_json(
        f"/api/v1/patients/{patient.pk}",
        {"version": 1, "preferred_name": "Pepe", "telecoms": [{"value": "555-010-3333", "use": "work"}]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2
    assert body["preferred_name"] == "Pepe"
    assert [t["value"] for t in body["telecoms"]] == ["555-010-3333"]
    assert body["given_name"] == "José"  # not sent, not changed
    row = audit_rows(AuditAction.PATIENT_UPDATE, patient_id=patient.pk)[0]
    assert row.channel == "api"
    assert row.detail["changed"]["preferred_name"] == ["", "Pepe"]


def test_a_stale_version_is_409_and_writes_nothing(api, patient):
    assert (
        api.patch_json(f"/api/v1/patients/{patient.pk}", {"version": 1, "city": "Albany"}).status_code == 200
    )
    response = api.patch_json(f"/api/v1/patients/{patient.pk}", {"version": 1, "city": "Buffalo"})
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    assert response.json()["details"]["current_version"] == 2
    patient.refresh_from_db()
    assert (patient.city, patient.version) == ("Albany", 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"city": "Albany"}, "version"),
        ({"version": 1, "birth_date": "soon"}, "birth_date"),
        ({"version": 1, "status": "merged"}, "status"),
        ({"version": 1, "given_name": None}, "given_name"),
        ({"version": 1, "identifiers": []}, "identifiers"),
        ({"version": 1, "telecoms": None}, "telecoms"),
        ({"version": 1, "status": "deceased", "deceased_date": "1970-01-01"}, "deceased_date"),
    ],
)
def test_bad_updates_are_400_and_change_nothing(api, patient, body, field):
    response = api.patch_json(f"/api/v1/patients/{patient.pk}", body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    patient.refresh_from_db()
    assert patient.version == 1
    assert audit_rows(AuditAction.PATIENT_UPDATE) == []


def test_update_of_another_organizations_patient_is_404(other_api, patient):
    response = other_api.patch_json(f"/api/v1/patients/{patient.pk}", {"version": 1, "city": "Albany"})
    assert response.status_code == 404
    patient.refresh_from_db()
    assert patient.city == ""


def test_billing_may_read_but_not_edit(client_for, staff, patient):
    billing = client_for(staff(Role.BILLING))
    assert billing.get(f"/api/v1/patients/{patient.pk}").status_code == 200
    assert (
        billing.patch_json(f"/api/v1/patients/{patient.pk}", {"version": 1, "city": "X"}).status_code == 403
    )


def test_unknown_api_paths_and_methods_answer_in_json(api, patient):
    assert api.get("/api/v1/nothing-here").json()["code"] == "not_found"
    response = api.delete(f"/api/v1/patients/{patient.pk}")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_null_characters_are_400_not_a_database_error(api, patient):
    created = api.post_json("/api/v1/patients", {**NEW_PATIENT, "city": "Al\x00bany"})
    assert (created.status_code, created.json()["field"]) == (400, "city")
    nested = api.post_json("/api/v1/patients", {**NEW_PATIENT, "telecoms": [{"value": "555\x00"}]})
    assert (nested.status_code, nested.json()["field"]) == (400, "telecoms[0].value")
    searched = api.get("/api/v1/patients", {"mrn": "RSH\x001", "identifier": "x\x00"})
    assert searched.status_code == 400
    assert Patient.objects.count() == 1


def test_pages_deeper_than_the_offset_limit_are_400(api):
    response = api.get("/api/v1/patients", {"page": "60", "page_size": "200"})
    assert response.status_code == 400
    assert "narrow the search" in response.json()["message"]
    assert api.get("/api/v1/patients", {"page": "51", "page_size": "200"}).status_code == 200


def test_token_clients_need_no_csrf_token(coordinator):
    strict = TokenClient(token_for(coordinator), enforce_csrf_checks=True)
    assert strict.post_json("/api/v1/patients", NEW_PATIENT).status_code == 201
    fhir_body = {
        "resourceType": "Patient",
        "name": [{"family": "Csrf", "given": ["Nope"]}],
        "birthDate": "1960-01-01",
    }
    response = strict.post_json("/fhir/Patient", fhir_body, content_type="application/fhir+json")
    assert response.status_code == 201
