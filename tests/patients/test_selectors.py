"""Patient reads on the real database: search, scope, the chart, history and downloads, and their audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.patients import selectors, services
from caredesk.patients.errors import EntryNotFound, PatientNotFound
from caredesk.patients.models import Patient
from caredesk.patients.schemas import IdentifierInput, PatientQuery

from .factories import PDF_BYTES, make_patient, portal_user_for, upload


def search(actor: Actor, page: int = 1, page_size: int = 25, **criteria) -> selectors.SearchPage:
    return selectors.search_patients(
        actor=actor, query=PatientQuery(**criteria), page=page, page_size=page_size
    )


def names(page: selectors.SearchPage) -> list[str]:
    return [f"{p.given_name} {p.family_name}" for p in page.results]


def audit_rows(action: AuditAction, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=int(action), **filters).order_by("id"))


@pytest.fixture
def other_actor(make_user, other_org, actor_of):
    return actor_of(make_user(Role.COORDINATOR, other_org, username="othercoord"))


@pytest.fixture
def people(coordinator_actor) -> dict[str, Patient]:
    """A small clinic: accents, shared family names, given names that are also family names."""
    specs = {
        "jose": ("José", "García", dt.date(1980, 2, 29), ["(555) 010-1111"]),
        "zoe": ("ZOË", "Ólafsdóttir", dt.date(1992, 7, 4), []),
        "john": ("John", "Smith", dt.date(1970, 1, 15), ["555-010-2222"]),
        "jane": ("Jane", "Smithers", dt.date(1971, 3, 9), []),
        "smith": ("Smith", "Johnson", dt.date(1985, 12, 1), []),
        "joan": ("Joan", "Jones", dt.date(1964, 5, 5), []),
        "maria": ("Maria", "de la Cruz", dt.date(1990, 10, 10), []),
    }
    return {
        key: make_patient(coordinator_actor, given_name=g, family_name=f, birth_date=b, phones=phones)
        for key, (g, f, b, phones) in specs.items()
    }


# --- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jose", ["José García"]),
        ("GARCIA", ["José García"]),
        ("zoe", ["ZOË Ólafsdóttir"]),
        ("olafs", ["ZOË Ólafsdóttir"]),
        ("smi", ["Smith Johnson", "John Smith", "Jane Smithers"]),
        ("john smi", ["Smith Johnson", "John Smith"]),  # given john* and family smi*, or the reverse
        ("smi john", ["Smith Johnson", "John Smith"]),
        ("smith, jo", ["John Smith"]),
        ("smith,", ["John Smith", "Jane Smithers"]),
        ("jo", ["José García", "Smith Johnson", "Joan Jones", "John Smith"]),
        ("maria de la", ["Maria de la Cruz"]),
        ("de la cr", ["Maria de la Cruz"]),
        ("jo smithe", []),
        ("ja smithe", ["Jane Smithers"]),
        ("nobody", []),
        ("!!!", []),
    ],
)
def test_name_search_is_prefix_accent_and_case_insensitive(coordinator_actor, people, text, expected):
    assert names(search(coordinator_actor, text=text)) == expected


def test_search_by_birth_date_mrn_and_phone(coordinator_actor, people):
    jose = people["jose"]
    assert search(coordinator_actor, text="1980-02-29").results == [jose]
    assert search(coordinator_actor, text="2/29/1980").results == [jose]
    assert search(coordinator_actor, text="garcia 2/29/1980").results == [jose]
    assert search(coordinator_actor, text="smith 2/29/1980").results == []
    assert search(coordinator_actor, text=jose.mrn.lower()).results == [jose]
    assert search(coordinator_actor, text=str(int(jose.mrn[3:]))).results == [jose]
    assert search(coordinator_actor, mrn=jose.mrn).results == [jose]
    assert search(coordinator_actor, text="+1 555 010 1111").results == [jose]
    assert search(coordinator_actor, phone="5550102222").results == [people["john"]]
    assert search(coordinator_actor, birth_date=dt.date(1970, 1, 15), family="smi").results == [
        people["john"]
    ]


def test_search_by_identifier(coordinator_actor):
    patient = make_patient(coordinator_actor, identifiers=[IdentifierInput(system="urn:dl:ny", value="D77")])
    make_patient(coordinator_actor)
    assert search(coordinator_actor, identifier="D77").results == [patient]
    assert search(coordinator_actor, identifier="urn:dl:ny|D77").results == [patient]
    assert search(coordinator_actor, identifier="urn:dl:nj|D77").results == []


def test_pages_tell_whether_there_is_more_without_counting_everything(coordinator_actor):
    for n in range(30):
        make_patient(
            coordinator_actor, given_name=f"Pat{chr(97 + n % 26)}{chr(97 + n // 26)}", family_name="Page"
        )
    first = search(coordinator_actor, text="page", page_size=25)
    assert (len(first.results), first.has_next, first.total) == (25, True, 30)
    second = search(coordinator_actor, text="page", page=2, page_size=25)
    assert (len(second.results), second.has_next, second.total) == (5, False, 30)
    assert {p.pk for p in first.results}.isdisjoint({p.pk for p in second.results})
    assert [p.given_key for p in first.results + second.results] == sorted(
        p.given_key for p in first.results + second.results
    )
    beyond = search(coordinator_actor, text="page", page=9, page_size=25)
    assert (beyond.results, beyond.has_next, beyond.total) == ([], False, None)


def test_search_never_returns_another_organizations_patients(coordinator_actor, other_actor, people):
    make_patient(other_actor, given_name="José", family_name="García", birth_date=dt.date(1980, 2, 29))
    assert search(coordinator_actor, text="garcia").results == [people["jose"]]
    assert search(other_actor, text=people["jose"].mrn).results == []
    assert search(other_actor, text="555-010-1111").results == []
    assert len(search(other_actor).results) == 1


def test_merged_records_are_hidden_except_by_mrn_which_leads_to_the_survivor(coordinator_actor):
    source = make_patient(coordinator_actor, given_name="Omar", family_name="Haddad", phones=["555-010-3333"])
    target = make_patient(coordinator_actor, given_name="Omar", family_name="Hadad")
    services.merge_patients(actor=coordinator_actor, source_id=source.pk, target_id=target.pk, reason="dup")
    assert search(coordinator_actor, text="omar").results == [target]
    assert search(coordinator_actor, text="haddad").results == []
    assert search(coordinator_actor, text=source.mrn).results == [target]
    assert search(coordinator_actor, text="555-010-3333").results == [target]  # the number moved
    assert selectors.get_patient_by_mrn(actor=coordinator_actor, mrn=source.mrn) == source


def test_inactive_patients_can_be_left_out(coordinator_actor):
    active = make_patient(coordinator_actor, family_name="Quill")
    make_patient(coordinator_actor, family_name="Quill", given_name="Iris", status="inactive")
    assert len(search(coordinator_actor, family="quill").results) == 2
    assert search(coordinator_actor, family="quill", include_inactive=False).results == [active]


def test_each_search_writes_one_audit_row_with_criteria_and_results(coordinator_actor, coordinator, people):
    before = AuditEvent.objects.count()
    page = search(coordinator_actor, text="smi", birth_date=dt.date(1970, 1, 15))
    assert AuditEvent.objects.count() == before + 1
    row = audit_rows(AuditAction.PATIENT_SEARCH)[-1]
    assert (row.actor_id, row.patient_id, row.organization_id) == (
        coordinator.pk,
        None,
        coordinator.organization_id,
    )
    assert row.detail == {
        "criteria": {"text": "smi", "birth_date": "1970-01-15"},
        "page": 1,
        "result_ids": [p.pk for p in page.results],
    }
    assert row.detail["result_ids"] == [people["john"].pk]


# --- scope -----------------------------------------------------------------------------------------


def test_get_patient_is_scoped_and_audited(coordinator_actor, coordinator, other_actor, people):
    jose = people["jose"]
    assert selectors.get_patient(actor=coordinator_actor, patient_id=jose.pk) == jose
    [row] = audit_rows(AuditAction.PATIENT_VIEW)
    assert (row.patient_id, row.actor_id, row.detail) == (jose.pk, coordinator.pk, {"view": "view"})
    for actor, patient_id in [(other_actor, jose.pk), (coordinator_actor, 10**9), (coordinator_actor, "abc")]:
        with pytest.raises(PatientNotFound):
            selectors.get_patient(actor=actor, patient_id=patient_id)
    with pytest.raises(PatientNotFound):
        selectors.get_chart(actor=other_actor, patient_id=jose.pk)
    with pytest.raises(PatientNotFound):
        selectors.get_patient_by_mrn(actor=other_actor, mrn=jose.mrn)
    assert len(audit_rows(AuditAction.PATIENT_VIEW)) == 1


def test_portal_users_see_only_their_own_record(coordinator_actor, actor_of, people):
    jose, john = people["jose"], people["john"]
    portal = actor_of(portal_user_for(jose))
    assert list(selectors.patient_queryset(portal)) == [jose]
    assert search(portal, text="smi").results == []
    assert search(portal).results == [jose]
    assert selectors.get_patient(actor=portal, patient_id=jose.pk) == jose
    with pytest.raises(PatientNotFound):
        selectors.get_patient(actor=portal, patient_id=john.pk)


def test_staff_without_patient_permissions_see_nothing(org, people):
    nobody = Actor(user_id=None, username="nobody", role="coordinator", organization_id=org.pk)
    assert not selectors.patient_queryset(nobody).exists()
    with pytest.raises(PatientNotFound):
        selectors.get_patient(actor=nobody, patient_id=people["jose"].pk)


# --- the chart -------------------------------------------------------------------------------------


@pytest.fixture
def charted(coordinator_actor, settings, tmp_path) -> Patient:
    settings.MEDIA_ROOT = tmp_path / "media"
    patient = make_patient(coordinator_actor, phones=["555-010-4444"])
    p = patient.pk
    services.add_problem(actor=coordinator_actor, patient_id=p, icd10_code="I10")
    wrong = services.add_problem(actor=coordinator_actor, patient_id=p, icd10_code="E11.9")
    services.correct_entry(
        actor=coordinator_actor,
        entry_type="problem",
        entry_id=wrong.pk,
        changes={"icd10_code": "E10.9"},
        reason="Type",
    )
    allergy = services.add_allergy(actor=coordinator_actor, patient_id=p, substance="Latex")
    services.retract_entry(
        actor=coordinator_actor, entry_type="allergy", entry_id=allergy.pk, reason="Other chart"
    )
    services.add_medication(actor=coordinator_actor, patient_id=p, name="Amlodipine 5 mg")
    now = dt.datetime.now(dt.UTC)
    for hours in range(55):
        services.add_observation(
            actor=coordinator_actor,
            patient_id=p,
            kind="heart_rate",
            value=60 + hours,
            effective_at=now - dt.timedelta(hours=hours),
        )
    services.add_observation(
        actor=coordinator_actor,
        patient_id=p,
        kind="weight",
        value=80,
        effective_at=now - dt.timedelta(days=30),
    )
    services.add_note(actor=coordinator_actor, patient_id=p, title="Call", body="Discussed diet.")
    services.upload_document(
        actor=coordinator_actor, patient_id=p, title="Referral", uploaded_file=upload("r.pdf", PDF_BYTES)
    )
    return patient


def test_the_chart_shows_current_entries_and_counts_the_rest(coordinator_actor, coordinator, charted):
    chart = selectors.get_chart(actor=coordinator_actor, patient_id=charted.pk)
    assert chart.patient == charted
    assert [t.digits for t in chart.telecoms] == ["5550104444"]
    assert [p.icd10_code for p in chart.problems] == ["E10.9", "I10"]
    assert chart.allergies == []
    assert [m.name for m in chart.medications] == ["Amlodipine 5 mg"]
    assert len(chart.observations) == 50
    assert chart.observations[0].value == 60  # latest first
    assert list(chart.latest_vitals) == ["heart_rate", "weight"]
    assert (chart.latest_vitals["heart_rate"].value, chart.latest_vitals["weight"].value) == (60, 80)
    assert [n.title for n in chart.notes] == ["Call"]
    assert [d.title for d in chart.documents] == ["Referral"]
    assert (chart.superseded_count, chart.retracted_count, chart.clinical_visible) == (1, 1, True)
    [row] = audit_rows(AuditAction.PATIENT_VIEW)
    assert (row.patient_id, row.actor_id, row.detail) == (charted.pk, coordinator.pk, {"view": "chart"})


def test_front_desk_sees_demographics_and_documents_but_not_the_clinical_chart(
    make_user, org, actor_of, charted
):
    chart = selectors.get_chart(actor=actor_of(make_user(Role.FRONT_DESK, org)), patient_id=charted.pk)
    assert chart.clinical_visible is False
    assert chart.problems == chart.notes == chart.observations == []
    assert [d.title for d in chart.documents] == ["Referral"]


def test_the_portal_summary_leaves_out_staff_notes(actor_of, coordinator_actor, charted):
    portal_user = portal_user_for(charted)
    summary = selectors.portal_summary(actor=actor_of(portal_user))
    assert summary.patient == charted
    assert summary.notes == []
    assert [p.icd10_code for p in summary.problems] == ["E10.9", "I10"]
    [row] = audit_rows(AuditAction.PATIENT_VIEW)
    assert (row.actor_id, row.patient_id, row.detail) == (portal_user.pk, charted.pk, {"view": "portal"})
    with pytest.raises(Forbidden):
        selectors.portal_summary(actor=coordinator_actor)


def test_entry_history_follows_corrections_both_ways_and_is_audited(coordinator_actor, coordinator, charted):
    first = services.add_note(actor=coordinator_actor, patient_id=charted.pk, title="Plan", body="v1")
    second = services.correct_entry(
        actor=coordinator_actor, entry_type="note", entry_id=first.pk, changes={"body": "v2"}, reason="typo"
    )
    third = services.correct_entry(
        actor=coordinator_actor, entry_type="note", entry_id=second.pk, changes={"body": "v3"}, reason="more"
    )
    for start in (first, second, third):
        history = selectors.entry_history(actor=coordinator_actor, entry_type="note", entry_id=start.pk)
        assert [(v.body, v.status) for v in history] == [
            ("v1", "superseded"),
            ("v2", "superseded"),
            ("v3", "current"),
        ]
    row = audit_rows(AuditAction.CLINICAL_VIEW)[-1]
    assert (row.patient_id, row.actor_id) == (charted.pk, coordinator.pk)
    assert row.detail["version_ids"] == [first.pk, second.pk, third.pk]


def test_history_and_documents_are_not_found_outside_the_scope(
    other_actor, actor_of, coordinator_actor, charted
):
    note_id = selectors.get_chart(actor=coordinator_actor, patient_id=charted.pk).notes[0].pk
    document_id = selectors.get_chart(actor=coordinator_actor, patient_id=charted.pk).documents[0].pk
    with pytest.raises(EntryNotFound):
        selectors.entry_history(actor=other_actor, entry_type="note", entry_id=note_id)
    with pytest.raises(EntryNotFound):
        selectors.open_document(actor=other_actor, document_id=document_id)
    stranger = make_patient(coordinator_actor)
    with pytest.raises(EntryNotFound):
        selectors.open_document(
            actor=actor_of(portal_user_for(stranger, "stranger")), document_id=document_id
        )
    assert not audit_rows(AuditAction.DOCUMENT_DOWNLOAD)


def test_opening_a_document_is_audited(coordinator_actor, coordinator, actor_of, charted):
    document_id = selectors.get_chart(actor=coordinator_actor, patient_id=charted.pk).documents[0].pk
    document = selectors.open_document(actor=coordinator_actor, document_id=document_id)
    assert document.file.read() == PDF_BYTES
    document.file.close()
    own = selectors.open_document(actor=actor_of(portal_user_for(charted)), document_id=document_id)
    assert own.pk == document_id
    rows = audit_rows(AuditAction.DOCUMENT_DOWNLOAD)
    assert [(r.patient_id, r.object_id) for r in rows] == [(charted.pk, str(document_id))] * 2
    assert rows[0].actor_id == coordinator.pk
    assert rows[0].detail["sha256"] == document.sha256


# --- the query plan --------------------------------------------------------------------------------


def _plan(sql: str, params: tuple) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize("text", ["smi", "john smi", "smith, jo"])
def test_name_search_uses_the_key_indexes(coordinator_actor, people, text):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL plans by table statistics; bench/patient_search.py measures 100k rows")
    matching, branches = selectors._matching(coordinator_actor, PatientQuery(text=text))
    assert branches
    for branch in branches:
        sql, params = selectors._ordered(matching.filter(branch))[:26].query.sql_with_params()
        with transaction.atomic():
            plan = _plan(sql, params)
        assert "patient_family_key" in plan or "patient_given_key" in plan, plan
        assert "SCAN patients_patient" not in plan, plan
        assert "Seq Scan" not in plan, plan
