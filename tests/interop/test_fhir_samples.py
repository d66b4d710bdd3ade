"""Public FHIR R4 Patient examples (the FHIR spec's and US Core 9.0.0's, from /work/shared/data/fhir-r4,
listed in its MANIFEST.tsv and valid under fhir.resources.R4B per its VALIDATION.md) POSTed to /fhir/Patient.

Examples Caredesk can keep are created (after confirming the likely duplicates the US Core examples are:
they share the placeholder phone 555-555-5555); examples it cannot keep as given are refused with 422
naming the element, and nothing is created for them."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient

from caredesk.patients.models import Patient
from tests.support.shared_data import SHARED_DATA

from .conftest import FHIR_JSON

pytestmark = pytest.mark.django_db

DATA = SHARED_DATA / "fhir-r4"
CONFIRM = {"Caredesk-Confirm-Not-Duplicate": "true"}

ACCEPTED = [
    "us-core-9.0.0-examples/patient-example.json",
    "us-core-9.0.0-examples/patient-child-example.json",
    "us-core-9.0.0-examples/patient-infant-example.json",
    "us-core-9.0.0-examples/patient-deceased-example.json",
    "spec-examples/patient-example-c.json",
    "spec-examples/patient-example-d.json",
    "spec-examples/patient-example-xcda.json",
    "spec-examples/patient-example-mom.json",
]
REFUSED = {
    "spec-examples/patient-example.json": "Patient.address.state",  # "Vic": an Australian state, no country
    "spec-examples/patient-example-newborn.json": "Patient.name.family",  # no name yet
    "spec-examples/patient-example-a.json": "Patient.birthDate",  # no birth date
}


def sample(name: str) -> dict:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not available on this machine")
    return json.loads(path.read_text())


def post(api, resource: dict, headers: dict | None = None):
    return api.post("/fhir/Patient", data=json.dumps(resource), content_type=FHIR_JSON, headers=headers or {})


def test_public_examples_are_created_and_read_back_as_valid_r4(api):
    created: list[int] = []
    confirmed = 0
    for name in ACCEPTED:
        resource = sample(name)
        response = post(api, resource)
        if response.status_code == 409:  # likely duplicates of examples posted before: only those
            candidates = [i["details"]["text"] for i in json.loads(response.content)["issue"][1:]]
            assert candidates, name
            assert {c.removeprefix("Patient/") for c in candidates} <= {str(pk) for pk in created}, name
            response = post(api, resource, CONFIRM)
            confirmed += 1
        assert response.status_code == 201, (name, response.content)
        patient_id = int(FhirPatient.model_validate(json.loads(response.content)).id)
        created.append(patient_id)

        read = FhirPatient.model_validate(json.loads(api.get(f"/fhir/Patient/{patient_id}").content))
        source = FhirPatient.model_validate(resource)
        assert read.id != source.id  # the server assigns ids
        assert read.birthDate == source.birthDate
        kept_names = [n for n in source.name if n.use not in ("old", "maiden")]
        assert read.name[0].family == kept_names[0].family
        assert read.name[0].given[0] == kept_names[0].given[0]
        assert read.gender == (source.gender or "unknown")
        assert bool(read.deceasedBoolean or read.deceasedDateTime) == bool(
            source.deceasedBoolean or source.deceasedDateTime
        )
        source_ids = {(i.system, i.value) for i in source.identifier or [] if i.value}
        assert source_ids <= {(i.system, i.value) for i in read.identifier}
    assert Patient.objects.count() == len(ACCEPTED)
    assert confirmed >= 3  # the US Core examples after the first


@pytest.mark.parametrize(("name", "expression"), sorted(REFUSED.items()))
def test_examples_caredesk_cannot_keep_are_422(api, name, expression):
    response = post(api, sample(name))
    assert response.status_code == 422, response.content
    issue = json.loads(response.content)["issue"][0]
    assert issue["code"] == "business-rule"
    assert issue["expression"] == [expression]
    assert Patient.objects.count() == 0
