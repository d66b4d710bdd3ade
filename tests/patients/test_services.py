"""Patient use cases on the real database: registration, duplicates, updates, merges and the chart."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients import selectors, services
from caredesk.patients.errors import (
    DuplicateSuspected,
    EntryNotCurrent,
    EntryNotFound,
    InvalidCode,
    InvalidDocument,
    MergeNotAllowed,
    PatientMerged,
    PatientNotFound,
    StaleVersion,
)
from caredesk.patients.models import (
    Allergy,
    Document,
    Medication,
    MrnSequence,
    Note,
    Observation,
    Patient,
    PatientTelecom,
    Problem,
    RelatedPerson,
)
from caredesk.patients.schemas import IdentifierInput, RelatedPersonInput, TelecomInput

from .factories import (
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    PatientInputFactory,
    audit_triggers_lifted,
    full_patient_input,
    make_patient,
    portal_user_for,
    staff_actor,
    upload,
)


def audit_rows(action: AuditAction, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=int(action), **filters).order_by("id"))


@pytest.fixture
def other_actor(make_user, other_org, actor_of):
    return actor_of(make_user(Role.COORDINATOR, other_org, username="othercoord"))


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- registration ----------------------------------------------------------------------------------


def test_mrns_count_up_per_organization_with_its_prefix(coordinator_actor, other_actor):
    first = make_patient(coordinator_actor)
    second = make_patient(coordinator_actor)
    elsewhere = make_patient(other_actor)
    assert (first.mrn, second.mrn, elsewhere.mrn) == ("RSH0000001", "RSH0000002", "HMG0000001")


def test_registration_stores_keys_contacts_and_an_audit_row(coordinator_actor, coordinator):
    data = full_patient_input(given_name="  Zoë ", family_name="O'Brien-Núñez", state="ny")
    patient = services.register_patient(actor=coordinator_actor, data=data)

    patient.refresh_from_db()
    assert (patient.given_name, patient.family_name, patient.state) == ("Zoë", "O'Brien-Núñez", "NY")
    assert (patient.given_key, patient.family_key) == ("zoe", "obrien nunez")
    assert patient.version == 1
    assert list(patient.telecoms.values_list("value", "digits", "use")) == [
        ("(555) 010-2345", "5550102345", "home")
    ]
    assert patient.identifiers.get().value == "D1234567"
    assert patient.related_persons.get().relationship == "spouse"
    [row] = audit_rows(AuditAction.PATIENT_CREATE)
    assert (row.patient_id, row.actor_id, row.organization_id) == (
        patient.pk,
        coordinator.pk,
        patient.organization_id,
    )
    assert row.detail == {"mrn": patient.mrn, "confirmed_not_duplicate": False}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"given_name": "   "}, "given_name"),
        ({"family_name": "--"}, "family_name"),
        ({"birth_date": timezone.localdate() + dt.timedelta(days=1)}, "birth_date"),
        ({"birth_date": dt.date(1899, 12, 31)}, "birth_date"),
        ({"birth_date": "not a date"}, "birth_date"),
        ({"sex": "f"}, "sex"),
        ({"state": "XX"}, "state"),
        ({"state": "New York"}, "state"),
        ({"postal_code": "1234"}, "postal_code"),
        ({"email": "nobody@"}, "email"),
        ({"deceased_date": dt.date(2020, 1, 1)}, "deceased_date"),
        (
            {"status": "deceased", "birth_date": dt.date(1990, 1, 1), "deceased_date": dt.date(1980, 1, 1)},
            "deceased_date",
        ),
        ({"status": "merged"}, "status"),
        ({"preferred_language": "english please"}, "preferred_language"),
        ({"telecoms": [TelecomInput(value="12")]}, "telecoms"),
        ({"telecoms": [{"value": "555-010-2345", "colour": "red"}]}, "telecoms"),
        ({"identifiers": [IdentifierInput(system="", value="1")]}, "identifiers"),
        ({"related_persons": [RelatedPersonInput(name="Sam", relationship="boss")]}, "related_persons"),
    ],
)
def test_invalid_registration_names_the_field_and_writes_nothing(coordinator_actor, fields, field):
    with pytest.raises(ValidationFailed) as caught:
        services.register_patient(actor=coordinator_actor, data=PatientInputFactory.build(**fields))
    assert caught.value.field == field
    assert caught.value.http_status == 400
    assert not Patient.objects.exists()
    assert not MrnSequence.objects.exists()
    assert not AuditEvent.objects.exists()


def test_registering_needs_the_permission(make_user, org, actor_of):
    billing = actor_of(make_user(Role.BILLING, org))
    with pytest.raises(Forbidden):
        make_patient(billing)
    assert not Patient.objects.exists()


def test_a_deceased_patient_can_be_registered(coordinator_actor):
    patient = make_patient(
        coordinator_actor,
        status="deceased",
        birth_date=dt.date(1930, 1, 1),
        deceased_date=dt.date(2020, 5, 1),
    )
    assert (patient.status, patient.deceased_date) == ("deceased", dt.date(2020, 5, 1))


# --- duplicates ------------------------------------------------------------------------------------


def test_same_birth_date_and_similar_name_is_a_suspected_duplicate(coordinator_actor, coordinator):
    born = dt.date(1980, 2, 29)
    existing = make_patient(coordinator_actor, given_name="José", family_name="García", birth_date=born)

    with pytest.raises(DuplicateSuspected) as caught:
        make_patient(
            coordinator_actor, confirm=False, given_name="Jose", family_name="Garcia", birth_date=born
        )

    assert caught.value.candidates == [existing]
    assert caught.value.http_status == 409
    assert Patient.objects.count() == 1
    [check] = audit_rows(AuditAction.PATIENT_DUPLICATE_CHECK)
    assert (check.actor_id, check.detail) == (coordinator.pk, {"candidate_ids": [existing.pk]})

    confirmed = make_patient(
        coordinator_actor, confirm=True, given_name="Jose", family_name="Garcia", birth_date=born
    )
    assert confirmed.mrn == "RSH0000002"
    assert (
        audit_rows(AuditAction.PATIENT_CREATE, patient=confirmed)[0].detail["confirmed_not_duplicate"] is True
    )


def test_a_shared_phone_number_is_a_suspected_duplicate(coordinator_actor):
    existing = make_patient(coordinator_actor, phones=["+1 (555) 010-2345"])
    with pytest.raises(DuplicateSuspected) as caught:
        make_patient(coordinator_actor, confirm=False, given_name="Other", phones=["555.010.2345"])
    assert caught.value.candidates == [existing]


def test_different_people_on_the_same_day_are_not_duplicates(coordinator_actor, other_actor):
    born = dt.date(1975, 6, 1)
    make_patient(coordinator_actor, given_name="Alice", family_name="Walker", birth_date=born)
    make_patient(other_actor, given_name="Robert", family_name="Chen", birth_date=born)
    patient = make_patient(
        coordinator_actor, confirm=False, given_name="Robert", family_name="Chen", birth_date=born
    )
    assert patient.pk


def test_find_likely_duplicates_ignores_merged_records_and_is_audited(coordinator_actor):
    born = dt.date(1960, 3, 3)
    source = make_patient(coordinator_actor, given_name="Anh", family_name="Nguyen", birth_date=born)
    target = make_patient(coordinator_actor, given_name="Anh", family_name="Nguyen", birth_date=born)
    query = PatientInputFactory.build(given_name="Nguyen", family_name="Anh", birth_date=born)
    assert services.find_likely_duplicates(actor=coordinator_actor, data=query) == [source, target]

    services.merge_patients(
        actor=coordinator_actor, source_id=source.pk, target_id=target.pk, reason="same person"
    )
    assert services.find_likely_duplicates(actor=coordinator_actor, data=query) == [target]
    assert services.find_likely_duplicates(actor=coordinator_actor, data=query, exclude_id=target.pk) == []
    assert len(audit_rows(AuditAction.PATIENT_DUPLICATE_CHECK)) == 3


class TestConcurrentRegistration:
    """Real transactions, committed by separate connections: the audit table's append-only triggers are
    lifted for the duration (the end-of-test flush must empty the table) and put back afterwards."""

    @pytest.fixture(autouse=True)
    def _flushable_audit_table(self, django_db_setup, django_db_blocker):
        with audit_triggers_lifted(django_db_blocker):
            yield

    def test_mrns_stay_unique_when_eight_desks_register_at_once(self, transactional_db, org):
        actor = staff_actor(org, Role.FRONT_DESK)
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def register(n: int) -> None:
            try:
                start.wait()
                make_patient(actor, given_name="Thread", family_name=f"Desk{chr(97 + n)}")
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=register, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        mrns = sorted(Patient.objects.values_list("mrn", flat=True))
        assert mrns == [f"RSH000000{n}" for n in range(1, 9)]
        assert MrnSequence.objects.get(organization=org).last_value == 8
        assert AuditEvent.objects.filter(action=int(AuditAction.PATIENT_CREATE)).count() == 8


# --- updates ---------------------------------------------------------------------------------------


def test_update_changes_fields_recomputes_keys_and_audits_before_after(coordinator_actor):
    patient = make_patient(coordinator_actor, given_name="Jon", family_name="Smith")
    updated = services.update_patient(
        actor=coordinator_actor,
        patient_id=patient.pk,
        changes={
            "given_name": "Jöhn ",
            "city": "Albany",
            "telecoms": [{"value": "518-555-0100", "use": "work"}],
        },
        expected_version=1,
    )
    assert (updated.given_name, updated.given_key, updated.city, updated.version) == (
        "Jöhn",
        "john",
        "Albany",
        2,
    )
    assert list(updated.telecoms.values_list("digits", flat=True)) == ["5185550100"]
    [row] = audit_rows(AuditAction.PATIENT_UPDATE, patient=patient)
    assert row.detail["changed"] == {
        "given_name": ["Jon", "Jöhn"],
        "city": ["", "Albany"],
        "telecoms": [[], ["phone:work:518-555-0100"]],
    }


def test_stale_version_is_refused_and_nothing_changes(coordinator_actor):
    patient = make_patient(coordinator_actor, given_name="Ruth")
    services.update_patient(
        actor=coordinator_actor, patient_id=patient.pk, changes={"city": "Troy"}, expected_version=1
    )

    with pytest.raises(StaleVersion):
        services.update_patient(
            actor=coordinator_actor, patient_id=patient.pk, changes={"given_name": "Rita"}, expected_version=1
        )
    patient.refresh_from_db()
    assert (patient.given_name, patient.city, patient.version) == ("Ruth", "Troy", 2)
    assert len(audit_rows(AuditAction.PATIENT_UPDATE)) == 1


def test_update_refuses_bad_values_unknown_fields_and_no_change_writes_nothing(coordinator_actor):
    patient = make_patient(coordinator_actor)
    with pytest.raises(ValidationFailed) as caught:
        services.update_patient(actor=coordinator_actor, patient_id=patient.pk, changes={"state": "ZZ"})
    assert caught.value.field == "state"
    with pytest.raises(ValidationFailed) as caught:
        services.update_patient(actor=coordinator_actor, patient_id=patient.pk, changes={"mrn": "X1"})
    assert caught.value.field == "mrn"
    same = services.update_patient(actor=coordinator_actor, patient_id=patient.pk, changes={"city": ""})
    assert same.version == 1
    assert not audit_rows(AuditAction.PATIENT_UPDATE)


def test_a_death_is_recorded_with_status_and_date_together(coordinator_actor):
    patient = make_patient(coordinator_actor, birth_date=dt.date(1940, 1, 1))
    with pytest.raises(ValidationFailed):
        services.update_patient(
            actor=coordinator_actor, patient_id=patient.pk, changes={"deceased_date": dt.date(2024, 1, 1)}
        )
    updated = services.update_patient(
        actor=coordinator_actor,
        patient_id=patient.pk,
        changes={"status": "deceased", "deceased_date": "2024-01-01"},
    )
    assert (updated.status, updated.deceased_date) == ("deceased", dt.date(2024, 1, 1))


def test_another_organizations_patient_cannot_be_updated(coordinator_actor, other_actor):
    theirs = make_patient(other_actor, city="Hoboken")
    with pytest.raises(PatientNotFound):
        services.update_patient(actor=coordinator_actor, patient_id=theirs.pk, changes={"city": "Troy"})
    theirs.refresh_from_db()
    assert theirs.city == "Hoboken"


# --- merge -----------------------------------------------------------------------------------------


@pytest.fixture
def merge_pair(coordinator_actor, media):
    source = services.register_patient(actor=coordinator_actor, data=full_patient_input(given_name="Ava"))
    target = make_patient(
        coordinator_actor,
        given_name="Ava",
        phones=["555 010 2345", "555 010 7777"],
        related_persons=[RelatedPersonInput(name="Sam Rivera", relationship="spouse", phone="5550109999")],
    )
    services.add_problem(actor=coordinator_actor, patient_id=source.pk, icd10_code="I10")
    services.add_allergy(actor=coordinator_actor, patient_id=source.pk, substance="Penicillin")
    services.add_medication(actor=coordinator_actor, patient_id=source.pk, name="Lisinopril 10 mg")
    services.add_observation(actor=coordinator_actor, patient_id=source.pk, kind="heart_rate", value=70)
    services.add_note(actor=coordinator_actor, patient_id=source.pk, title="Intake", body="Seen today.")
    services.upload_document(
        actor=coordinator_actor,
        patient_id=source.pk,
        title="Referral",
        uploaded_file=upload("r.pdf", PDF_BYTES),
    )
    source.telecoms.create(value="555-010-4444", digits="5550104444", use="work", rank=2)
    return source, target


def test_merge_moves_the_chart_and_contacts_and_keeps_the_source(coordinator_actor, coordinator, merge_pair):
    source, target = merge_pair
    portal_user_for(source, username="ava-portal")

    result = services.merge_patients(
        actor=coordinator_actor, source_id=source.pk, target_id=target.pk, reason="Registered twice"
    )

    assert result == target
    for model in (Problem, Allergy, Medication, Observation, Note, Document):
        assert model.objects.filter(patient=target).count() == 1
        assert not model.objects.filter(patient=source).exists()
    assert sorted(PatientTelecom.objects.filter(patient=target).values_list("digits", flat=True)) == [
        "5550102345",
        "5550104444",
        "5550107777",
    ]
    assert list(source.telecoms.values_list("digits", flat=True)) == [
        "5550102345"
    ]  # the exact duplicate stays
    assert RelatedPerson.objects.filter(patient=target).count() == 1
    assert set(target.identifiers.values_list("system", "value", "type_label")) == {
        ("urn:oid:2.16.840.1.113883.4.3.36", "D1234567", "Driver's licence"),
        ("urn:caredesk:mrn:RSH", source.mrn, "Previous MRN"),
    }
    source.refresh_from_db()
    assert (source.status, source.merged_into_id, source.given_name) == ("merged", target.pk, "Ava")
    rows = audit_rows(AuditAction.PATIENT_MERGE)
    assert [(r.patient_id, r.actor_id, r.detail["role"]) for r in rows] == [
        (source.pk, coordinator.pk, "source"),
        (target.pk, coordinator.pk, "target"),
    ]
    assert rows[0].detail["reason"] == "Registered twice"
    assert rows[0].detail["source_portal_user"]["username"] == "ava-portal"
    assert rows[1].detail["moved"]["problem"] == 1


def test_merge_calls_the_registered_hooks_inside_the_transaction(coordinator_actor, merge_pair):
    source, target = merge_pair
    seen: list[tuple[int, int, str]] = []

    def hook(actor, hook_source, hook_target):
        seen.append((hook_source.pk, hook_target.pk, hook_source.status))
        raise RuntimeError("the other app could not move its rows")

    services.register_merge_hook(hook)
    services.register_merge_hook(hook)  # registering twice is harmless
    try:
        with pytest.raises(RuntimeError):
            services.merge_patients(
                actor=coordinator_actor, source_id=source.pk, target_id=target.pk, reason="dup"
            )
    finally:
        services._merge_hooks.remove(hook)
    assert seen == [(source.pk, target.pk, "merged")]
    source.refresh_from_db()
    assert source.status == "active"  # the hook's failure rolled the merge back
    assert Problem.objects.filter(patient=source).count() == 1
    assert not audit_rows(AuditAction.PATIENT_MERGE)


def test_merge_refusals(coordinator_actor, other_actor):
    a, b, c = (make_patient(coordinator_actor) for _ in range(3))
    theirs = make_patient(other_actor)
    with pytest.raises(MergeNotAllowed):
        services.merge_patients(actor=coordinator_actor, source_id=a.pk, target_id=a.pk, reason="x")
    with pytest.raises(ValidationFailed) as caught:
        services.merge_patients(actor=coordinator_actor, source_id=a.pk, target_id=b.pk, reason="  ")
    assert caught.value.field == "reason"
    with pytest.raises(PatientNotFound):
        services.merge_patients(actor=coordinator_actor, source_id=theirs.pk, target_id=b.pk, reason="x")
    services.merge_patients(actor=coordinator_actor, source_id=a.pk, target_id=b.pk, reason="dup")
    with pytest.raises(MergeNotAllowed):
        services.merge_patients(actor=coordinator_actor, source_id=a.pk, target_id=c.pk, reason="again")
    with pytest.raises(MergeNotAllowed):
        services.merge_patients(actor=coordinator_actor, source_id=c.pk, target_id=a.pk, reason="into merged")
    with pytest.raises(PatientMerged):
        services.update_patient(actor=coordinator_actor, patient_id=a.pk, changes={"city": "Troy"})
    with pytest.raises(PatientMerged):
        services.add_allergy(actor=coordinator_actor, patient_id=a.pk, substance="Latex")


def test_nurses_cannot_merge(make_user, org, actor_of, coordinator_actor):
    a, b = make_patient(coordinator_actor), make_patient(coordinator_actor)
    nurse = actor_of(make_user(Role.NURSE, org))
    with pytest.raises(Forbidden):
        services.merge_patients(actor=nurse, source_id=a.pk, target_id=b.pk, reason="dup")


# --- chart entries ---------------------------------------------------------------------------------


def test_problem_codes_are_normalized_and_described(coordinator_actor, coordinator):
    patient = make_patient(coordinator_actor)
    problem = services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="e119")
    assert (problem.icd10_code, problem.description) == (
        "E11.9",
        "Type 2 diabetes mellitus without complications",
    )
    assert (problem.recorded_by_id, problem.recorded_by_name, problem.status) == (
        coordinator.pk,
        "Coord Tester",
        "current",
    )
    [row] = audit_rows(AuditAction.CLINICAL_ADD)
    assert (row.patient_id, row.actor_id, row.object_id) == (patient.pk, coordinator.pk, str(problem.pk))
    assert row.detail == {"entry_type": "problem", "icd10_code": "E11.9"}


def test_an_invalid_icd10_code_is_refused_and_nothing_written(coordinator_actor):
    patient = make_patient(coordinator_actor)
    with pytest.raises(InvalidCode) as caught:
        services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="E11.999")
    assert caught.value.message == "'E11.999' is not an ICD-10-CM code."
    assert caught.value.field == "icd10_code"
    assert not Problem.objects.exists()
    assert not audit_rows(AuditAction.CLINICAL_ADD)


def test_observations_get_their_loinc_code_unit_and_range_checks(coordinator_actor):
    patient = make_patient(coordinator_actor)
    bp = services.add_observation(
        actor=coordinator_actor, patient_id=patient.pk, kind="blood_pressure", value="128", value2=82
    )
    assert (bp.loinc_code, bp.unit, bp.value, bp.value2) == (
        "85354-9",
        "mm[Hg]",
        Decimal("128.00"),
        Decimal("82.00"),
    )
    temp = services.add_observation(
        actor=coordinator_actor, patient_id=patient.pk, kind="temperature", value=98.6, unit="[degF]"
    )
    assert (temp.loinc_code, temp.value) == ("8310-5", Decimal("98.60"))

    for kwargs, field in [
        ({"kind": "blood_pressure", "value": 128}, "value2"),
        ({"kind": "blood_pressure", "value": 400, "value2": 80}, "value"),
        ({"kind": "heart_rate", "value": "fast"}, "value"),
        ({"kind": "weight", "value": 70, "unit": "stone"}, "unit"),
        ({"kind": "mood", "value": 1}, "kind"),
        (
            {"kind": "spo2", "value": 97, "effective_at": dt.datetime(2999, 1, 1, tzinfo=dt.UTC)},
            "effective_at",
        ),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            services.add_observation(actor=coordinator_actor, patient_id=patient.pk, **kwargs)
        assert caught.value.field == field, kwargs
    assert Observation.objects.count() == 2


def test_chart_writes_need_the_clinical_permission_and_the_patient_in_scope(
    make_user, org, actor_of, coordinator_actor, other_actor
):
    patient = make_patient(coordinator_actor)
    front_desk = actor_of(make_user(Role.FRONT_DESK, org))
    with pytest.raises(Forbidden):
        services.add_problem(actor=front_desk, patient_id=patient.pk, icd10_code="I10")
    with pytest.raises(Forbidden):
        services.add_note(actor=front_desk, patient_id=patient.pk, title="t", body="b")
    with pytest.raises(PatientNotFound):
        services.add_problem(actor=other_actor, patient_id=patient.pk, icd10_code="I10")
    with pytest.raises(PatientNotFound):
        services.add_allergy(actor=coordinator_actor, patient_id=999_999, substance="Latex")
    assert not Problem.objects.exists()
    assert not Note.objects.exists()


def test_medication_dates_and_notes_are_checked(coordinator_actor):
    patient = make_patient(coordinator_actor)
    with pytest.raises(ValidationFailed) as caught:
        services.add_medication(
            actor=coordinator_actor,
            patient_id=patient.pk,
            name="Metformin",
            start_date=dt.date(2024, 5, 1),
            end_date=dt.date(2024, 4, 1),
        )
    assert caught.value.field == "end_date"
    with pytest.raises(ValidationFailed) as caught:
        services.add_note(actor=coordinator_actor, patient_id=patient.pk, title="Call", body="   ")
    assert caught.value.field == "body"
    note = services.add_note(
        actor=coordinator_actor, patient_id=patient.pk, title="Call", body="Left a message."
    )
    assert [r.object_id for r in audit_rows(AuditAction.NOTE_ADD, patient=patient)] == [str(note.pk)]


def test_a_correction_keeps_the_original_and_records_who_and_why(coordinator_actor, make_user, org, actor_of):
    patient = make_patient(coordinator_actor)
    original = services.add_problem(
        actor=coordinator_actor, patient_id=patient.pk, icd10_code="E11.9", onset_date=dt.date(2019, 1, 1)
    )
    stamp_before = original.updated_at
    physician_user = make_user(Role.PHYSICIAN, org, username="drlee")
    physician = actor_of(physician_user)

    corrected = services.correct_entry(
        actor=physician,
        entry_type="problem",
        entry_id=original.pk,
        changes={"icd10_code": "E11.65"},
        reason="Coded without the hyperglycemia",
    )

    original.refresh_from_db()
    assert (original.status, original.icd10_code, original.description) == (
        "superseded",
        "E11.9",
        "Type 2 diabetes mellitus without complications",
    )
    assert original.updated_at == stamp_before  # only the status column was written
    assert corrected.supersedes_id == original.pk
    assert (corrected.icd10_code, corrected.onset_date, corrected.status) == (
        "E11.65",
        dt.date(2019, 1, 1),
        "current",
    )
    assert corrected.description == "Type 2 diabetes mellitus with hyperglycemia"
    assert (corrected.recorded_by_id, corrected.change_reason) == (
        physician_user.pk,
        "Coded without the hyperglycemia",
    )
    [row] = audit_rows(AuditAction.CLINICAL_CORRECT)
    assert (row.patient_id, row.actor_id, row.object_id) == (patient.pk, physician_user.pk, str(corrected.pk))
    assert row.detail["supersedes"] == original.pk
    assert row.detail["changed"]["icd10_code"] == ["E11.9", "E11.65"]

    history = selectors.entry_history(actor=coordinator_actor, entry_type="problem", entry_id=original.pk)
    assert [v.pk for v in history] == [original.pk, corrected.pk]

    with pytest.raises(EntryNotCurrent):
        services.correct_entry(
            actor=physician,
            entry_type="problem",
            entry_id=original.pk,
            changes={"icd10_code": "I10"},
            reason="x",
        )
    assert Problem.objects.count() == 2


def test_corrections_are_validated_like_additions(coordinator_actor):
    patient = make_patient(coordinator_actor)
    bp = services.add_observation(
        actor=coordinator_actor, patient_id=patient.pk, kind="blood_pressure", value=120, value2=80
    )
    for changes, reason, error in [
        ({"value2": 130}, "typo", ValidationFailed),
        ({"loinc_code": "1-1"}, "typo", ValidationFailed),
        ({"value": 121}, "  ", ValidationFailed),
        ({"value": 120}, "nothing", ValidationFailed),
    ]:
        with pytest.raises(error):
            services.correct_entry(
                actor=coordinator_actor,
                entry_type="observation",
                entry_id=bp.pk,
                changes=changes,
                reason=reason,
            )
    with pytest.raises(ValidationFailed):
        services.correct_entry(
            actor=coordinator_actor, entry_type="document", entry_id=1, changes={}, reason="x"
        )
    with pytest.raises(EntryNotFound):
        services.correct_entry(
            actor=coordinator_actor,
            entry_type="allergy",
            entry_id=bp.pk,
            changes={"substance": "x"},
            reason="x",
        )
    bp.refresh_from_db()
    assert bp.status == "current"
    assert Observation.objects.count() == 1


def test_retracting_marks_entered_in_error_with_the_reason(coordinator_actor, coordinator, other_actor):
    patient = make_patient(coordinator_actor)
    allergy = services.add_allergy(actor=coordinator_actor, patient_id=patient.pk, substance="Peanuts")
    with pytest.raises(EntryNotFound):
        services.retract_entry(actor=other_actor, entry_type="allergy", entry_id=allergy.pk, reason="x")

    services.retract_entry(
        actor=coordinator_actor, entry_type="allergy", entry_id=allergy.pk, reason="Wrong patient"
    )

    allergy.refresh_from_db()
    assert (allergy.status, allergy.change_reason, allergy.substance) == (
        "entered_in_error",
        "Wrong patient",
        "Peanuts",
    )
    [row] = audit_rows(AuditAction.CLINICAL_RETRACT)
    assert (row.patient_id, row.actor_id, row.detail["reason"]) == (
        patient.pk,
        coordinator.pk,
        "Wrong patient",
    )
    with pytest.raises(EntryNotCurrent):
        services.retract_entry(
            actor=coordinator_actor, entry_type="allergy", entry_id=allergy.pk, reason="again"
        )


# --- documents -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("Referral.PDF", PDF_BYTES, "application/pdf"),
        ("card.png", PNG_BYTES, "image/png"),
        ("card.jpeg", JPEG_BYTES, "image/jpeg"),
        ("message.txt", "Rückruf erbeten ✓".encode(), "text/plain"),
    ],
)
def test_documents_are_stored_with_their_sha256(
    coordinator_actor, coordinator, media, name, content, content_type
):
    patient = make_patient(coordinator_actor)
    document = services.upload_document(
        actor=coordinator_actor, patient_id=patient.pk, title=" Scan ", uploaded_file=upload(name, content)
    )
    document.refresh_from_db()
    assert (document.title, document.original_filename, document.content_type) == ("Scan", name, content_type)
    assert (document.size_bytes, document.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    stored = Path(document.file.path)
    assert stored.is_relative_to(media)
    assert stored.read_bytes() == content
    assert name not in stored.name  # stored under a random name
    [row] = audit_rows(AuditAction.DOCUMENT_UPLOAD)
    assert (row.patient_id, row.actor_id, row.detail["sha256"]) == (
        patient.pk,
        coordinator.pk,
        document.sha256,
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("virus.exe", b"MZ\x90\x00", "not accepted"),
        ("noextension", PDF_BYTES, "not accepted"),
        ("fake.pdf", PNG_BYTES, "is not application/pdf"),
        ("fake.png", b"GIF89a....", "is not image/png"),
        ("photo.jpg", PDF_BYTES, "is not image/jpeg"),
        ("empty.pdf", b"", "empty"),
        ("latin1.txt", "Müller".encode("latin-1"), "UTF-8"),
        ("big.pdf", PDF_BYTES + b"x" * 200, "larger than"),
    ],
)
def test_bad_documents_are_refused_with_a_reason_and_nothing_stored(
    coordinator_actor, settings, media, name, content, reason
):
    settings.CAREDESK_DOCUMENT_MAX_BYTES = 200
    patient = make_patient(coordinator_actor)
    with pytest.raises(InvalidDocument) as caught:
        services.upload_document(
            actor=coordinator_actor, patient_id=patient.pk, title="Scan", uploaded_file=upload(name, content)
        )
    assert reason in caught.value.message
    assert caught.value.field == "file"
    assert not Document.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    assert not audit_rows(AuditAction.DOCUMENT_UPLOAD)


def test_documents_need_the_upload_permission(make_user, org, actor_of, coordinator_actor, media):
    patient = make_patient(coordinator_actor)
    billing = actor_of(make_user(Role.BILLING, org))
    with pytest.raises(Forbidden):
        services.upload_document(
            actor=billing, patient_id=patient.pk, title="Scan", uploaded_file=upload("a.pdf", PDF_BYTES)
        )
    front_desk = actor_of(make_user(Role.FRONT_DESK, org))
    document = services.upload_document(
        actor=front_desk,
        patient_id=patient.pk,
        title="Insurance card",
        uploaded_file=upload("a.pdf", PDF_BYTES),
    )
    assert document.pk


def test_portal_users_cannot_write_to_the_chart(coordinator_actor, actor_of):
    patient = make_patient(coordinator_actor)
    portal = actor_of(portal_user_for(patient))
    with pytest.raises(Forbidden):
        services.add_allergy(actor=portal, patient_id=patient.pk, substance="Latex")
    with pytest.raises(Forbidden):
        services.update_patient(actor=portal, patient_id=patient.pk, changes={"city": "Troy"})
