"""Transitions of care over the JSON API: encounters from the ADT feed (the unmatched queue, one patient's,
one with its timeline), linking an unmatched encounter to a patient, TCM episodes with their deadlines,
a TCM episode's complexity, and the TCM compliance report. Refusals are 4xx with their reason and change
nothing; a portal token reads only its own encounters; another organization gets 404; reads are
audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.patients.models import Patient
from caredesk.transitions import services as transitions
from caredesk.transitions.models import Encounter, TcmEpisode
from caredesk.transitions.schemas import AdtEvent, ExternalId, MessageHeader, PersonData, VisitData
from tests.interop.conftest import TokenClient, audit_rows, token_for
from tests.patients.factories import make_patient

pytestmark = pytest.mark.django_db

DISCHARGED = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)


def discharge(org: Organization, number: int, person: PersonData) -> Encounter:
    """An ADT A03 (inpatient stay, discharged home yesterday) received from the hospital's feed."""
    header = MessageHeader(sender="ADT1|GHH", control_id=f"C{number}", message_type="ADT", trigger="A03")
    event = AdtEvent(
        header=header,
        person=person,
        visit=VisitData(
            visit_number=f"V{number}",
            patient_class="I",
            admit_at=DISCHARGED - dt.timedelta(days=3),
            discharge_at=DISCHARGED,
            disposition_code="01",
        ),
    )
    receipt = transitions.receive_message(
        actor=transitions.feed_actor(organization_id=org.pk),
        header=header,
        raw=f"MSH|^~\\&|ADT1|GHH|CAREDESK|{org.short_code}|||ADT^A03|C{number}|P|2.5.1",
        event=event,
    )
    assert receipt.ack_code == "AA", receipt
    return Encounter.objects.filter(organization=org, visit_number=f"V{number}").get()


def known(org: Organization, patient: Patient) -> PersonData:
    return PersonData(
        identifiers=(ExternalId(patient.mrn, org.short_code, "MR"),),
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
    )


def stranger(number: int) -> PersonData:
    return PersonData(
        identifiers=(ExternalId(f"H{number}", "GHH", "MR"),),
        family_name="Nobody",
        given_name=f"Known{number}",
        birth_date=dt.date(1933, 3, 3),
    )


@pytest.fixture
def stay(org, patient) -> Encounter:
    return discharge(org, 1, known(org, patient))


@pytest.fixture
def unmatched(org) -> Encounter:
    return discharge(org, 2, stranger(2))


def client(user: Any) -> TokenClient:
    return TokenClient(token_for(user))


# --- encounters --------------------------------------------------------------------------------------


def test_encounters_and_the_unmatched_queue(api, coordinator, patient, stay, unmatched):
    everything = api.get("/api/v1/encounters")
    assert everything.status_code == 200, everything.content
    assert {e["id"] for e in everything.json()["results"]} == {stay.pk, unmatched.pk}
    assert audit_rows(AuditAction.ENCOUNTER_SEARCH, actor_id=coordinator.pk)[0].detail["result_ids"] == [
        patient.pk
    ]

    queue = api.get("/api/v1/encounters?unmatched=true").json()["results"]
    assert [(e["id"], e["matched"], e["patient_id"]) for e in queue] == [(unmatched.pk, False, None)]
    assert queue[0]["demographics"]["family_name"] == "Nobody"
    assert queue[0]["external_patient_id"] == "H2"

    bad = api.get("/api/v1/encounters?status=gone")
    assert (bad.status_code, bad.json()["field"]) == (400, "status")


def test_a_patients_encounters_for_staff_and_for_the_patient(
    api, other_api, coordinator_actor, make_user, org, patient, stay, unmatched, staff
):
    listed = api.get(f"/api/v1/patients/{patient.pk}/encounters")
    assert listed.status_code == 200, listed.content
    assert [e["id"] for e in listed.json()["results"]] == [stay.pk]

    own = client(make_user(Role.PATIENT, org, patient=patient)).get(
        f"/api/v1/patients/{patient.pk}/encounters"
    )
    assert [e["id"] for e in own.json()["results"]] == [stay.pk]
    assert audit_rows(AuditAction.ENCOUNTER_SEARCH, patient_id=patient.pk)

    neighbour = make_patient(
        coordinator_actor, given_name="Ann", family_name="Lee", birth_date=dt.date(1960, 1, 1)
    )
    portal = client(make_user(Role.PATIENT, org, patient=neighbour))
    assert portal.get(f"/api/v1/patients/{patient.pk}/encounters").status_code == 404
    assert portal.get(f"/api/v1/encounters/{stay.pk}").status_code == 403
    assert other_api.get(f"/api/v1/patients/{patient.pk}/encounters").status_code == 404
    assert client(staff(Role.FRONT_DESK)).get(f"/api/v1/patients/{patient.pk}/encounters").status_code == 403


def test_an_encounter_reads_with_its_timeline_and_tcm(api, other_api, coordinator, patient, stay):
    response = api.get(f"/api/v1/encounters/{stay.pk}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["patient_id"], body["status"], body["matched"]) == (patient.pk, "finished", True)
    assert body["events"][0]["event_type"] == "A03"
    [episode] = body["tcm_episodes"]
    assert episode["status"] == "active"
    assert episode["contact"]["task_id"] is not None
    assert episode["contact"]["due"] > DISCHARGED.date().isoformat()
    assert audit_rows(AuditAction.ENCOUNTER_VIEW, actor_id=coordinator.pk, patient_id=patient.pk)
    assert other_api.get(f"/api/v1/encounters/{stay.pk}").status_code == 404


def test_linking_an_unmatched_encounter(api, coordinator, patient, unmatched, staff):
    nurse = client(staff(Role.NURSE))
    assert (
        nurse.post_json(f"/api/v1/encounters/{unmatched.pk}/patient", {"patient_id": patient.pk}).status_code
        == 403
    )
    bad = api.post_json(f"/api/v1/encounters/{unmatched.pk}/patient", {"patient": patient.pk})
    assert bad.status_code == 400
    missing = api.post_json(f"/api/v1/encounters/{unmatched.pk}/patient", {"patient_id": 999999})
    assert missing.status_code == 404
    unmatched.refresh_from_db()
    assert unmatched.patient_id is None

    linked = api.post_json(f"/api/v1/encounters/{unmatched.pk}/patient", {"patient_id": patient.pk})

    assert linked.status_code == 200, linked.content
    assert (linked.json()["patient_id"], linked.json()["matched"]) == (patient.pk, True)
    assert len(linked.json()["tcm_episodes"]) == 1
    assert audit_rows(AuditAction.ENCOUNTER_PATIENT_CHANGED, actor_id=coordinator.pk, patient_id=patient.pk)
    again = api.post_json(f"/api/v1/encounters/{unmatched.pk}/patient", {"patient_id": patient.pk})
    assert (again.status_code, again.json()["code"]) == (409, "encounter_already_linked")


# --- TCM ---------------------------------------------------------------------------------------------


def period(**more: str) -> str:
    today = dt.datetime.now(dt.UTC).date()
    query = {
        "discharged_from": (today - dt.timedelta(days=30)).isoformat(),
        "discharged_to": (today + dt.timedelta(days=1)).isoformat(),
        **more,
    }
    return "&".join(f"{key}={value}" for key, value in query.items())


def test_tcm_episodes_and_the_compliance_report(api, coordinator, patient, stay):
    episode = TcmEpisode.objects.get(encounter=stay)

    listed = api.get(f"/api/v1/tcm-episodes?{period()}")
    assert listed.status_code == 200, listed.content
    assert [e["id"] for e in listed.json()["results"]] == [episode.pk]

    report = api.get(f"/api/v1/reports/tcm-compliance?{period()}").json()
    assert (report["total"], report["on_time"] + report["not_on_time"] + report["pending"]) == (1, 1)
    assert report["results"][0]["patient_id"] == patient.pk
    rows = audit_rows(AuditAction.ENCOUNTER_SEARCH, actor_id=coordinator.pk)
    assert all(patient.pk in row.detail["result_ids"] for row in rows)

    backwards = api.get("/api/v1/reports/tcm-compliance?discharged_from=2026-02-01&discharged_to=2026-01-01")
    assert backwards.status_code == 400
    assert api.get("/api/v1/tcm-episodes").status_code == 400
    too_long = api.get("/api/v1/tcm-episodes?discharged_from=2024-01-01&discharged_to=2026-01-01")
    assert too_long.status_code == 400


def test_a_tcm_episode_and_its_complexity(api, other_api, coordinator, patient, stay, staff):
    episode = TcmEpisode.objects.get(encounter=stay)
    read = api.get(f"/api/v1/tcm-episodes/{episode.pk}")
    assert read.status_code == 200, read.content
    assert read.json()["visit_due"] == episode.visit_due.isoformat()
    assert audit_rows(AuditAction.ENCOUNTER_VIEW, actor_id=coordinator.pk, patient_id=patient.pk)
    assert other_api.get(f"/api/v1/tcm-episodes/{episode.pk}").status_code == 404

    other = "moderate" if episode.complexity == "high" else "high"
    nurse = client(staff(Role.NURSE))
    assert (
        nurse.put(
            f"/api/v1/tcm-episodes/{episode.pk}/complexity",
            {"complexity": other},
            content_type="application/json",
        ).status_code
        == 403
    )
    bad = api.put(
        f"/api/v1/tcm-episodes/{episode.pk}/complexity",
        {"complexity": "extreme"},
        content_type="application/json",
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "complexity")
    episode.refresh_from_db()
    before = episode.visit_due

    changed = api.put(
        f"/api/v1/tcm-episodes/{episode.pk}/complexity",
        {"complexity": other},
        content_type="application/json",
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["complexity"] == other
    episode.refresh_from_db()
    assert episode.complexity == other
    assert episode.visit_due != before
    assert changed.json()["visit_due"] == episode.visit_due.isoformat()
