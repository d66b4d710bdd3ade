"""Logging communications (services and pages): what is kept, links to referrals and tasks (a task's
timeline gets the call), refusals that save nothing, the patient's timeline, another organization (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.messaging import selectors, services
from caredesk.messaging.errors import LinkedObjectNotFound
from caredesk.messaging.models import Communication
from caredesk.patients.errors import PatientNotFound
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskQueue
from caredesk.worklist.models import TaskComment
from tests.patients.factories import make_patient

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def call(patient_id: int, **fields: object) -> services.NewCommunication:
    values: dict[str, object] = {
        "patient_id": patient_id,
        "direction": "out",
        "channel": "phone",
        "subject": "Referral follow-up",
        "outcome": "reached",
    }
    return services.NewCommunication(**{**values, **fields})  # type: ignore[arg-type]


@pytest.fixture
def task(coord, patient):
    return worklist.create_task(
        actor=coord,
        data=worklist.NewTask(
            title="Call the patient", queue=TaskQueue.CARE_COORDINATION, patient_id=patient.pk
        ),
    ).task


def test_a_call_is_logged_with_who_and_linked_to_its_referral(coord, patient, make_referral):
    referral = make_referral()
    entry = services.log_communication(
        actor=coord,
        data=call(patient.pk, duration_seconds=125, referral_id=referral.pk, body="Booked for Tuesday"),
    )
    assert entry.logged_by_name == "Coordinator Tester"
    assert entry.duration_minutes == 3
    assert entry.referral_id == referral.pk
    assert AuditEvent.objects.filter(action=AuditAction.COMMUNICATION_CREATE, patient_id=patient.pk).exists()
    log = selectors.patient_log(actor=coord, patient_id=patient.pk, referral_id=referral.pk)
    assert [e.pk for e in log.entries] == [entry.pk]


def test_an_unanswered_call_about_a_task_is_a_contact_attempt_on_it(coord, patient, task):
    services.log_communication(actor=coord, data=call(patient.pk, outcome="no_answer", task_id=task.pk))
    services.log_communication(actor=coord, data=call(patient.pk, task_id=task.pk))
    kinds = list(TaskComment.objects.filter(task=task).values_list("kind", flat=True))
    assert kinds == ["attempt", "comment"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"outcome": "busy", "channel": "letter"}, ValidationFailed),
        ({"duration_seconds": 60, "channel": "email", "outcome": "sent"}, ValidationFailed),
        ({"subject": " "}, ValidationFailed),
        ({"direction": "sideways"}, ValidationFailed),
        ({"referral_id": 999_999}, LinkedObjectNotFound),
        ({"task_id": 999_999}, LinkedObjectNotFound),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(coord, patient, fields, error):
    with pytest.raises(error):
        services.log_communication(actor=coord, data=call(patient.pk, **fields))
    assert not Communication.objects.exists()


def test_an_unknown_patient_is_refused(coord):
    with pytest.raises(PatientNotFound):
        services.log_communication(actor=coord, data=call(999_999))
    assert not Communication.objects.exists()


def test_a_link_to_another_patients_referral_is_refused(coord, patient, make_referral):
    referral = make_referral()
    someone_else = make_patient(coord, family_name="Someone")
    with pytest.raises(LinkedObjectNotFound):
        services.log_communication(actor=coord, data=call(someone_else.pk, referral_id=referral.pk))


def test_permissions_and_tenancy(actors, patient, stranger, make_user, org):
    billing = make_user(Role.BILLING, org)
    with pytest.raises(Forbidden):
        services.log_communication(actor=actor_for_user(billing), data=call(patient.pk))
    with pytest.raises(PatientNotFound):
        services.log_communication(actor=stranger, data=call(patient.pk))
    with pytest.raises(PatientNotFound):
        selectors.patient_log(actor=stranger, patient_id=patient.pk)
    services.log_communication(actor=actors[Role.FRONT_DESK], data=call(patient.pk))


def test_the_timeline_page_and_the_htmx_log_form(client_as, staff, patient, make_referral):
    browser = client_as(staff[Role.NURSE])
    referral = make_referral()
    form = browser.get(
        reverse("messaging:log", args=[patient.pk]), {"referral_id": referral.pk}, headers=HTMX
    )
    assert form.status_code == 200
    assert f'value="{referral.pk}"' in form.content.decode()
    url = reverse("messaging:log", args=[patient.pk])
    data = {
        "direction": "out",
        "channel": "phone",
        "party": "patient",
        "outcome": "voicemail",
        "subject": "Left a message",
    }
    bad = browser.post(url, {**data, "channel": "letter", "referral_id": referral.pk}, headers=HTMX)
    assert bad.status_code == 400
    no_consent = browser.post(url, {**data, "referral_id": referral.pk}, headers=HTMX)
    assert no_consent.status_code == 400
    assert "not agreed to voicemail" in no_consent.content.decode()
    assert not Communication.objects.exists()
    patient.voicemail_allowed = True
    patient.save(update_fields=["voicemail_allowed"])
    logged = browser.post(url, {**data, "minutes": "2", "referral_id": referral.pk}, headers=HTMX)
    assert logged.status_code == 200
    assert logged["HX-Trigger"] == "communication-logged"
    entry = Communication.objects.get()
    assert (entry.referral_id, entry.duration_seconds, entry.outcome) == (referral.pk, 120, "voicemail")
    page = browser.get(reverse("messaging:patient_log", args=[patient.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Left a message" in html
    assert patient.mrn in html
    assert "voicemail allowed" in html
    fragment = browser.get(
        reverse("messaging:patient_log", args=[patient.pk]), {"referral_id": referral.pk}, headers=HTMX
    )
    assert "Left a message" in fragment.content.decode()
    assert "<nav" not in fragment.content.decode()
    detail = browser.get(reverse("referrals:referral", args=[referral.pk])).content.decode()
    assert 'data-testid="log-call"' in detail
    redirect = browser.post(url, data)
    assert redirect.status_code == 302


def test_another_organizations_patient_answers_404(client_as, make_user, other_org, patient):
    stranger = client_as(make_user(Role.COORDINATOR, other_org))
    assert stranger.get(reverse("messaging:patient_log", args=[patient.pk])).status_code == 404
    assert stranger.get(reverse("messaging:log", args=[patient.pk])).status_code == 404
    posted = stranger.post(
        reverse("messaging:log", args=[patient.pk]),
        {"direction": "out", "channel": "phone", "party": "patient", "outcome": "reached", "subject": "Hi"},
    )
    assert posted.status_code == 404
    assert not Communication.objects.exists()


def test_the_task_page_offers_to_log_a_call(client_as, staff, task):
    page = client_as(staff[Role.COORDINATOR]).get(reverse("worklist:task", args=[task.pk])).content.decode()
    assert reverse("messaging:log", args=[task.patient_id]) + f"?task_id={task.pk}" in page
