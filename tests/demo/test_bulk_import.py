"""patients.bulk.import_patients: whole records in one transaction, all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients.bulk import (
    AllergyRow,
    MedicationRow,
    ObservationRow,
    PatientRecord,
    ProblemRow,
    import_patients,
)
from caredesk.patients.errors import InvalidCode
from caredesk.patients.models import (
    Allergy,
    Medication,
    MrnSequence,
    Observation,
    Patient,
    PatientIdentifier,
    PatientTelecom,
    Problem,
    RelatedPerson,
)
from caredesk.patients.schemas import IdentifierInput, PatientInput, RelatedPersonInput, TelecomInput

pytestmark = pytest.mark.django_db

VISIT = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)


def record(given: str = "Zoë", family: str = "O'Brien", **changes) -> PatientRecord:
    data = PatientInput(
        given_name=given,
        family_name=family,
        birth_date=changes.pop("birth_date", dt.date(1970, 5, 17)),
        sex="female",
        city="Yonkers",
        state="NY",
        postal_code="10701",
        telecoms=[TelecomInput("(914) 555-0142")],
        identifiers=[IdentifierInput("urn:caredesk:legacy-mrn:RSH", "L0000042", "Previous system MRN")],
        related_persons=[RelatedPersonInput("Seán O'Brien", "spouse", phone="(914) 555-0143")],
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return PatientRecord(
        patient=data,
        problems=[ProblemRow("e119", onset_date=dt.date(2015, 1, 1)), ProblemRow("I10")],
        allergies=[AllergyRow("Penicillin", "Hives", "high")],
        medications=[MedicationRow("Metformin", "500 mg", "oral", "twice daily with meals")],
        observations=[
            ObservationRow("blood_pressure", Decimal("132"), VISIT, value2=Decimal("84")),
            ObservationRow("hba1c", Decimal("7.4"), VISIT),
        ],
    )


def nothing_written() -> bool:
    return (
        not Patient.objects.exists()
        and not AuditEvent.objects.filter(action=AuditAction.PATIENT_CREATE).exists()
    )


def test_imports_whole_records_with_a_block_of_mrns_and_one_audit_row_each(org, coordinator_actor):
    result = import_patients(
        actor=coordinator_actor,
        records=[record(), record("José", "Müller")],
        recorded_by_name="Clinic import",
        source="test file",
    )
    assert result.mrns == ["RSH0000001", "RSH0000002"]
    assert result.counts == {
        "patients": 2,
        "telecoms": 2,
        "identifiers": 2,
        "related_persons": 2,
        "problems": 4,
        "allergies": 2,
        "medications": 2,
        "observations": 4,
    }
    zoe = Patient.objects.get(mrn="RSH0000001")
    assert (zoe.organization_id, zoe.given_key, zoe.family_key) == (org.pk, "zoe", "obrien")
    assert PatientTelecom.objects.get(patient=zoe).digits == "9145550142"
    assert PatientIdentifier.objects.filter(patient=zoe, value="L0000042").exists()
    assert RelatedPerson.objects.get(patient=zoe).relationship == "spouse"
    problems = {p.icd10_code: p for p in Problem.objects.filter(patient=zoe)}
    assert set(problems) == {"E11.9", "I10"}
    assert problems["E11.9"].description == "Type 2 diabetes mellitus without complications"
    assert problems["E11.9"].recorded_by_name == "Clinic import"
    assert Allergy.objects.get(patient=zoe).criticality == "high"
    assert Medication.objects.get(patient=zoe).name == "Metformin"
    bp = Observation.objects.get(patient=zoe, kind="blood_pressure")
    assert (bp.value, bp.value2, bp.unit, bp.loinc_code) == (
        Decimal("132"),
        Decimal("84"),
        "mm[Hg]",
        "85354-9",
    )
    events = AuditEvent.objects.filter(action=AuditAction.PATIENT_CREATE)
    assert sorted(events.values_list("patient_id", flat=True)) == sorted(result.patient_ids)
    assert {e.detail["source"] for e in events} == {"test file"}
    assert MrnSequence.objects.get(organization=org).last_value == 2


def test_numbering_continues_and_skips_numbers_already_taken(org, coordinator_actor):
    import_patients(actor=coordinator_actor, records=[record()])
    Patient.objects.create(
        organization=org, mrn="RSH0000003", given_name="Ann", family_name="Lee",
        birth_date=dt.date(1990, 1, 1), sex="female", family_key="lee", given_key="ann",
    )  # fmt: skip
    result = import_patients(actor=coordinator_actor, records=[record("Ana", "Lee"), record("Ben", "Lee")])
    assert result.mrns == ["RSH0000002", "RSH0000004"]


def test_one_bad_record_refuses_the_whole_batch(org, coordinator_actor):
    future = timezone.localdate() + dt.timedelta(days=3)
    with pytest.raises(ValidationFailed, match="Record 2: Birth date is in the future"):
        import_patients(actor=coordinator_actor, records=[record(), record(birth_date=future)])
    assert nothing_written()
    assert not MrnSequence.objects.filter(organization=org, last_value__gt=0).exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"given_name": "  "}, "Given name is required"),
        ({"state": "XX"}, "not a US state code"),
        ({"postal_code": "1070"}, "not a US ZIP code"),
        ({"sex": "f"}, "not an administrative sex"),
        ({"status": "merged"}, "not a status a new record can have"),
        ({"telecoms": [TelecomInput("911")]}, "at least 7 digits"),
        ({"status": "active", "deceased_date": dt.date(2020, 1, 1)}, "only be recorded when the status"),
    ],
)
def test_bad_demographics_name_the_record_and_change_nothing(coordinator_actor, changes, message):
    with pytest.raises(ValidationFailed, match=message):
        import_patients(actor=coordinator_actor, records=[record(**changes)])
    assert nothing_written()


def test_bad_chart_entries_are_refused(coordinator_actor):
    bad_code = record()
    bad_code.problems.append(ProblemRow("E11.999"))  # no such code
    with pytest.raises(InvalidCode, match=r"Record 1: 'E11\.999' is not an ICD-10-CM diagnosis code"):
        import_patients(actor=coordinator_actor, records=[bad_code])
    implausible = record()
    implausible.observations.append(ObservationRow("weight", Decimal("7500"), VISIT))
    with pytest.raises(ValidationFailed, match="outside the plausible range"):
        import_patients(actor=coordinator_actor, records=[implausible])
    naive = record()
    naive.observations.append(ObservationRow("heart_rate", Decimal("70"), dt.datetime(2026, 3, 2, 9, 0)))
    with pytest.raises(ValidationFailed, match="time zone"):
        import_patients(actor=coordinator_actor, records=[naive])
    assert nothing_written()


def test_permissions_are_checked(org, make_user, actor_of):
    front_desk = actor_of(make_user(Role.FRONT_DESK, org))
    with pytest.raises(Forbidden):
        import_patients(actor=front_desk, records=[record()])  # chart entries need CLINICAL_EDIT
    assert nothing_written()
    demographics_only = PatientRecord(patient=record().patient)
    assert import_patients(actor=front_desk, records=[demographics_only]).mrns == ["RSH0000001"]
    billing = actor_of(make_user(Role.BILLING, org))
    with pytest.raises(Forbidden):
        import_patients(actor=billing, records=[demographics_only])
    assert Patient.objects.count() == 1
