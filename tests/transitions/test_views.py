"""The transitions pages: encounters (and linking an unmatched one), a discharge's TCM, the TCM compliance
report and the HL7 message log, as a coordinator, a nurse and the front desk see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.transitions.models import Encounter, InboundMessage, TcmEpisode
from tests.worklist.conftest import staff_user

from .conftest import adt, hospital_id, local, person

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
DISCHARGE = local(2026, 11, 25, 14)


@pytest.fixture
def browser(client_as, coordinator_user, org):
    def client(role: str = Role.COORDINATOR):
        user = coordinator_user if role == Role.COORDINATOR else staff_user(org, role, f"t-{role}")
        return client_as(user)

    return client


@pytest.fixture
def discharged(receive, patient, clock_at) -> Encounter:
    receive(
        adt(
            "A03",
            "D1",
            who=person(hospital_id(patient.mrn, authority="RSH")),
            discharge=DISCHARGE,
            disposition="01",
        )
    )
    return Encounter.objects.get()


@pytest.fixture
def unmatched(receive, clock_at) -> Encounter:
    who = person(hospital_id("H900"), family="Stranger", given="Sam")
    receive(adt("A03", "U1", who=who, visit_number="V900", discharge=DISCHARGE, disposition="01"))
    return Encounter.objects.get(visit_number="V900")


def test_encounter_list_and_its_filter(browser, discharged, unmatched):
    client = browser()
    page = client.get(reverse("transitions:encounters")).content.decode()
    assert "Doe, Jane" in page
    assert "Stranger, Sam" in page
    assert "Unmatched" in page
    only = client.get(reverse("transitions:encounters"), {"unmatched": "on"}, headers=HTMX).content.decode()
    assert "<html" not in only
    assert "Stranger, Sam" in only
    assert "Doe, Jane" not in only


def test_the_encounter_page_shows_tcm(browser, discharged, patient):
    page = browser().get(reverse("transitions:encounter", args=[discharged.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Discharged Wed 2026-11-25" in html
    assert "due Mon 2026-11-30" in html
    assert "due Wed 2026-12-02" in html
    assert 'data-outcome="pending"' in html
    assert "TCM started" in html
    assert AuditEvent.objects.filter(action=AuditAction.ENCOUNTER_VIEW, patient_id=patient.pk).exists()


def test_linking_an_unmatched_visit(browser, unmatched, patient):
    client = browser()
    assert (
        'data-testid="link-form"'
        in client.get(reverse("transitions:encounter", args=[unmatched.pk])).content.decode()
    )
    refused = client.post(reverse("transitions:link_patient", args=[unmatched.pk]), {"patient": "RSH9999999"})
    assert refused.status_code == 400
    assert "No patient with MRN" in refused.content.decode()
    response = client.post(reverse("transitions:link_patient", args=[unmatched.pk]), {"patient": patient.mrn})
    assert response.status_code == 302
    unmatched.refresh_from_db()
    assert unmatched.patient_id == patient.pk
    assert TcmEpisode.objects.get(encounter=unmatched).patient_id == patient.pk
    page = client.get(response["Location"]).content.decode()
    assert "Linked to Jane" in page
    assert 'data-testid="link-form"' not in page


def test_a_nurse_sees_encounters_but_cannot_link_or_read_messages(browser, unmatched, patient):
    nurse = browser(Role.NURSE)
    page = nurse.get(reverse("transitions:encounter", args=[unmatched.pk])).content.decode()
    assert 'data-testid="link-form"' not in page
    assert (
        nurse.post(
            reverse("transitions:link_patient", args=[unmatched.pk]), {"patient": patient.mrn}
        ).status_code
        == 403
    )
    assert nurse.get(reverse("transitions:messages")).status_code == 403
    assert browser(Role.FRONT_DESK).get(reverse("transitions:encounters")).status_code == 403


def test_changing_the_tcm_complexity(browser, discharged):
    episode = TcmEpisode.objects.get()
    client = browser()
    response = client.post(
        reverse("transitions:tcm_complexity", args=[episode.pk]), {"complexity": "moderate"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("transitions:encounter", args=[discharged.pk])
    episode.refresh_from_db()
    assert (episode.complexity, episode.visit_due) == ("moderate", dt.date(2026, 12, 9))
    page = client.get(response["Location"]).content.decode()
    assert "TCM visit now due Wed 2026-12-09" in page


def test_the_compliance_report(browser, discharged, patient):
    client = browser()
    report = client.get(
        reverse("transitions:tcm_report"), {"discharged_from": "2026-11-01", "discharged_to": "2026-11-30"}
    )
    html = report.content.decode()
    assert report.status_code == 200
    assert 'data-testid="tcm-row"' in html
    assert "Doe, Jane" in html
    assert patient.mrn in html
    assert "<strong>1</strong>" in html
    empty = client.get(
        reverse("transitions:tcm_report"), {"discharged_from": "2026-10-01", "discharged_to": "2026-10-31"}
    )
    assert "No TCM discharges in this period." in empty.content.decode()
    backwards = client.get(
        reverse("transitions:tcm_report"), {"discharged_from": "2026-12-01", "discharged_to": "2026-11-01"}
    )
    assert backwards.status_code == 400
    assert "starts after it ends" in backwards.content.decode()


def test_the_message_log(browser, discharged, feed):
    from caredesk.transitions import services
    from caredesk.transitions.schemas import MessageHeader, Rejection

    services.receive_message(
        actor=feed,
        header=MessageHeader(sender="X|Y", control_id="Z1"),
        raw="MSH|bad",
        rejection=Rejection("AR", "200", "Message type ORU is not supported."),
    )
    client = browser()
    log = client.get(reverse("transitions:messages")).content.decode()
    assert "D1" in log
    assert "Z1" in log
    assert "Message type ORU is not supported." in log
    rejected = client.get(reverse("transitions:messages"), {"status": "rejected"}).content.decode()
    assert "Z1" in rejected
    assert ">D1<" not in rejected
    message = InboundMessage.objects.get(control_id="D1")
    detail = client.get(reverse("transitions:inboundmessage", args=[message.pk])).content.decode()
    assert "MSH|^~\\&amp;|ADT1|GHH" in detail
    assert "Doe" in detail
    assert AuditEvent.objects.filter(
        action=AuditAction.HL7_MESSAGE_VIEW, patient_id=message.patient_id
    ).exists()


def test_the_worklist_links_a_task_to_the_encounter_that_caused_it(browser, discharged):
    from caredesk.worklist.models import Task

    task = Task.objects.filter(dedupe_key__endswith=":contact").get()
    page = browser().get(reverse("worklist:task", args=[task.pk])).content.decode()
    assert reverse("transitions:encounter", args=[discharged.pk]) in page
    assert f"Encounter #{discharged.pk}" in page
