"""Inbound referrals (another practice refers a patient to us), as the intake team meets them: registering
one puts it on the intake queue once, accepting or declining (the reason required) takes it off, a decline
is final and the referring party is told why in the communication log, the rest of the loop up to the
consult note sent back; the same through the pages (Inbound tab, the register form, the detail page's
buttons) and the JSON API (direction filter, register, accept, decline). Outbound referrals keep their
own state machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.messaging.models import Communication
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from caredesk.referrals import services
from caredesk.referrals.errors import InvalidDiagnosis, InvalidTransition, ReferralNotFound
from caredesk.referrals.models import Referral, ReferralEvent
from caredesk.worklist.choices import TaskQueue, TaskStatus, TaskType
from caredesk.worklist.models import Task

from .conftest import NOW, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def cardiologist(actors) -> Practitioner:
    return create_practitioner(
        actor=actors[Role.ADMINISTRATOR],
        data=PractitionerInput(
            given_name="Cora", family_name="Pulse", npi="1234567893", specialty="cardiology"
        ),
    )


@pytest.fixture
def make_inbound(coord, patient) -> Callable[..., Referral]:
    """`make_inbound(actor=..., **NewInboundReferral fields)`: from Valley Family Practice, with a fax."""

    def make(*, actor: Actor | None = None, **fields: Any) -> Referral:
        fields.setdefault("patient_id", patient.pk)
        fields.setdefault("specialty", "cardiology")
        fields.setdefault("reason", "Murmur heard at the annual visit")
        fields.setdefault("referrer_name", "Valley Family Practice")
        fields.setdefault("referrer_kind", "organization")
        fields.setdefault("referrer_fax", "555-0101")
        fields.setdefault("diagnoses", ["R01.1"])
        return services.register_inbound_referral(
            actor=actor or coord, data=services.NewInboundReferral(**fields)
        )

    return make


def tasks_of(referral: Referral) -> list[Task]:
    return list(
        Task.objects.filter(source_type="referrals.referral", source_id=str(referral.pk)).order_by("pk")
    )


# --- the use cases ---------------------------------------------------------------------------------


def test_registering_puts_it_received_on_the_intake_queue_once(
    coord, make_inbound, cardiologist, document, frozen
):
    referral = make_inbound(
        practitioner_id=cardiologist.pk,
        referrer_npi="1558598797",
        urgency="urgent",
        received_at=NOW - dt.timedelta(hours=3),
        document_ids=[document.pk],
        diagnoses=["r011", "I10"],
    )
    assert referral.direction == "inbound"
    assert referral.status == "received"
    assert referral.receiver_id is None
    assert referral.practitioner_id == cardiologist.pk
    assert referral.received_at == NOW - dt.timedelta(hours=3)
    assert [d["code"] for d in referral.diagnoses] == ["R01.1", "I10"]
    assert [a.title for a in referral.attachments.all()] == ["Echo report"]
    [event] = referral.events.all()
    assert (event.from_status, event.to_status) == ("", "received")
    assert "Valley Family Practice" in event.note
    [task] = tasks_of(referral)
    assert task.task_type == TaskType.REFERRAL_FOLLOW_UP
    assert task.queue == TaskQueue.CARE_COORDINATION
    assert task.status == TaskStatus.OPEN
    assert "accept or decline" in task.title
    assert task.due_at == NOW - dt.timedelta(hours=3) + dt.timedelta(days=2)  # urgent: two days
    created = AuditEvent.objects.get(action=AuditAction.REFERRAL_CREATE, object_id=str(referral.pk))
    assert created.patient_id == referral.patient_id
    assert created.detail["direction"] == "inbound"
    # The overdue scan, twice, after the clock ran out: the same task, not a second one.
    frozen.advance(days=5)
    assert services.apply_rules(actor=coord) == []
    assert services.apply_rules(actor=coord) == []
    assert len(tasks_of(referral)) == 1


def test_the_scan_puts_a_lost_intake_task_back(coord, make_inbound):
    referral = make_inbound()
    Task.objects.filter(source_id=str(referral.pk)).delete()
    [spec] = services.apply_rules(actor=coord)
    assert spec.rule == "intake"
    assert len(tasks_of(referral)) == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"referrer_name": " "}, ValidationFailed),
        ({"referrer_kind": "astrologer"}, ValidationFailed),
        ({"referrer_npi": "12AB"}, ValidationFailed),
        ({"diagnoses": ["R01.1", "NOPE"]}, InvalidDiagnosis),
        ({"reason": ""}, ValidationFailed),
        ({"specialty": "astrology"}, ValidationFailed),
        ({"practitioner_id": 999_999}, ValidationFailed),
        ({"received_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, ValidationFailed),
        ({"received_at": dt.datetime(2026, 1, 1)}, ValidationFailed),  # no time zone
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(make_inbound, frozen, fields, error):
    with pytest.raises(error):
        make_inbound(**fields)
    assert not Referral.objects.exists()
    assert not Task.objects.exists()


def test_registering_needs_referral_create_and_our_own_practitioner(
    actors, make_inbound, stranger, other_patient, cardiologist
):
    with pytest.raises(Forbidden):
        make_inbound(actor=actors[Role.FRONT_DESK])
    with pytest.raises(ValidationFailed):  # a practitioner of another organization is no one of ours
        make_inbound(actor=stranger, patient_id=other_patient.pk, practitioner_id=cardiologist.pk)
    assert make_inbound(actor=actors[Role.NURSE]).status == "received"


def test_accepting_takes_it_off_the_queue_and_the_loop_closes_with_the_note_sent_back(
    coord, make_inbound, frozen
):
    referral = make_inbound()
    for action in ("accept", "schedule", "seen"):
        frozen.advance(days=1)
        referral = walk(coord, referral, action)
    [intake] = tasks_of(referral)
    assert intake.status == TaskStatus.DONE
    frozen.advance(days=15)  # seen, and the consult note has not gone back
    [spec] = services.apply_rules(actor=coord)
    assert spec.rule == "consult_note"
    assert "sent back" in spec.title
    referral = walk(coord, referral, "close", note="Echo normal; no follow-up needed")
    assert referral.status == "closed"
    assert [e.to_status for e in referral.events.all()] == [
        "received",
        "accepted",
        "scheduled",
        "seen",
        "closed",
    ]
    assert all(t.status == TaskStatus.DONE for t in tasks_of(referral))
    [sent_back] = Communication.objects.filter(referral=referral)
    assert (sent_back.direction, sent_back.channel, sent_back.outcome) == ("out", "fax", "sent")
    assert sent_back.party_name == "Valley Family Practice"


def test_declining_needs_a_reason_and_the_referrer_is_told_why(coord, make_inbound):
    referral = make_inbound(referrer_fax="")
    with pytest.raises(ValidationFailed):
        services.act(actor=coord, referral_id=referral.pk, action="decline", note="  ")
    referral.refresh_from_db()
    assert referral.status == "received"
    assert not Communication.objects.exists()
    referral = walk(coord, referral, "decline", note="We do not see patients under 18")
    assert referral.status == "declined"
    assert referral.outcome_note == "We do not see patients under 18"
    [told] = Communication.objects.filter(referral=referral)
    assert told.patient_id == referral.patient_id
    assert (told.direction, told.channel, told.outcome, told.party) == (
        "out",
        "letter",
        "sent",
        "practitioner",
    )
    assert told.party_name == "Valley Family Practice"
    assert "declined" in told.subject
    assert "We do not see patients under 18" in told.body
    assert told.logged_by_name == "Coordinator Tester"
    assert AuditEvent.objects.filter(action=AuditAction.COMMUNICATION_CREATE, object_id=str(told.pk)).exists()
    # Declined is final for an inbound referral: nothing is left on the worklist, and nothing re-opens it.
    assert [t.status for t in tasks_of(referral)] == [TaskStatus.DONE]
    assert services.apply_rules(actor=coord) == []
    with pytest.raises(InvalidTransition):
        services.act(actor=coord, referral_id=referral.pk, action="accept")


@pytest.mark.parametrize("action", ["send", "receive", "reroute", "schedule", "seen", "close"])
def test_outbound_steps_are_refused_for_a_received_inbound_referral(coord, make_inbound, heart, action):
    referral = make_inbound()
    with pytest.raises(InvalidTransition):
        services.act(
            actor=coord,
            referral_id=referral.pk,
            action=action,
            receiver_id=heart.pk,
            appointment_at=NOW + dt.timedelta(days=3),
        )
    referral.refresh_from_db()
    assert (referral.status, referral.receiver_id, referral.events.count()) == ("received", None, 1)


def test_accepting_or_declining_needs_referral_manage(actors, make_inbound):
    referral = make_inbound()
    for role in (Role.PHYSICIAN, Role.NURSE, Role.FRONT_DESK):
        for action in ("accept", "decline"):
            with pytest.raises(Forbidden):
                services.act(actor=actors[role], referral_id=referral.pk, action=action, note="No")
    referral.refresh_from_db()
    assert referral.status == "received"


def test_another_organizations_inbound_referral_is_not_found(make_inbound, stranger):
    referral = make_inbound()
    with pytest.raises(ReferralNotFound):
        services.act(actor=stranger, referral_id=referral.pk, action="decline", note="Not ours")
    assert not Communication.objects.exists()


def test_an_outbound_referral_declined_still_goes_to_the_worklist_and_tells_no_referrer(coord, make_referral):
    referral = walk(coord, make_referral(), "decline")
    assert referral.direction == "outbound"
    assert set(services.rules.allowed_actions(referral.status, referral.direction)) == {"reroute", "cancel"}
    assert [t.status for t in tasks_of(referral)] == [TaskStatus.OPEN]
    assert not Communication.objects.exists()


# --- the pages -------------------------------------------------------------------------------------


@pytest.fixture
def browser(client_as, staff):
    return lambda role=Role.COORDINATOR: client_as(staff[role])


def test_the_inbound_tab_lists_only_inbound_referrals(browser, make_inbound, make_referral, patient):
    inbound = make_inbound()
    outbound = make_referral()
    page = browser().get(reverse("referrals:list"), {"direction": "inbound"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="tab-inbound"' in html
    assert f'data-referral="{inbound.pk}"' in html
    assert f'data-referral="{outbound.pk}"' not in html
    assert "from Valley Family Practice" in html
    everything = browser().get(reverse("referrals:list")).content.decode()
    assert f'data-referral="{inbound.pk}"' in everything
    assert f'data-referral="{outbound.pk}"' in everything
    outbound_only = browser().get(reverse("referrals:list"), {"direction": "outbound"}).content.decode()
    assert f'data-referral="{inbound.pk}"' not in outbound_only
    mine = browser().get(reverse("referrals:patient", args=[patient.pk]), {"direction": "inbound"})
    assert reverse("referrals:new_inbound", args=[patient.pk]) in mine.content.decode()
    assert browser().get(reverse("referrals:list"), {"direction": "sideways"}).status_code == 400


def test_registering_from_the_form(browser, patient, cardiologist, document):
    url = reverse("referrals:new_inbound", args=[patient.pk])
    form = browser(Role.NURSE).get(url)
    assert form.status_code == 200
    assert "Pulse, Cora" in form.content.decode()
    assert "Echo report" in form.content.decode()
    refused = browser(Role.NURSE).post(
        url,
        {"referrer_name": "Dr Far", "referrer_kind": "practitioner", "specialty": "cardiology",
         "urgency": "routine", "reason": "Murmur", "diagnoses": "NOPE"},
    )  # fmt: skip
    assert refused.status_code == 400
    assert "ICD-10-CM" in refused.content.decode()
    assert not Referral.objects.exists()
    response = browser(Role.NURSE).post(
        url,
        {"referrer_name": "Dr Far", "referrer_kind": "practitioner", "referrer_fax": "555-0199",
         "specialty": "cardiology", "practitioner": str(cardiologist.pk), "urgency": "routine",
         "reason": "Murmur", "diagnoses": "R01.1", "documents": [str(document.pk)]},
    )  # fmt: skip
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:referral", args=[referral.pk])
    assert (referral.direction, referral.status, referral.referrer_name) == ("inbound", "received", "Dr Far")
    assert referral.practitioner_id == cardiologist.pk
    assert len(tasks_of(referral)) == 1
    assert browser(Role.FRONT_DESK).get(url).status_code == 403


def test_accept_and_decline_from_the_detail_page(browser, make_inbound):
    referral = make_inbound()
    url = reverse("referrals:referral", args=[referral.pk])
    page = browser().get(url).content.decode()
    assert "Inbound referral" in page
    assert "Valley Family Practice" in page
    assert 'data-testid="action-accept"' in page
    assert 'data-testid="action-decline"' in page
    assert 'data-testid="action-reroute"' not in page
    assert 'data-testid="action-send"' not in page
    assert 'data-testid="action-accept"' not in browser(Role.PHYSICIAN).get(url).content.decode()
    action = reverse("referrals:action", args=[referral.pk])
    no_reason = browser().post(action, {"action": "decline", "note": "", "version": referral.version})
    assert no_reason.status_code == 400
    assert "Say why" in no_reason.content.decode()
    declined = browser().post(
        action, {"action": "decline", "note": "Outside our area", "version": referral.version}
    )
    assert declined.status_code == 302
    page = browser().get(url).content.decode()
    assert "Outside our area" in page
    assert 'data-testid="action-accept"' not in page
    assert Communication.objects.filter(referral=referral, direction="out").count() == 1
    other = make_inbound()
    accepted = browser().post(
        reverse("referrals:action", args=[other.pk]), {"action": "accept", "version": other.version}
    )
    assert accepted.status_code == 302
    other.refresh_from_db()
    assert other.status == "accepted"
    assert (
        'data-testid="action-schedule"'
        in browser().get(reverse("referrals:referral", args=[other.pk])).content.decode()
    )


# --- the JSON API ----------------------------------------------------------------------------------


@pytest.fixture
def api(staff):
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")

    def client_for(user):
        token = create_api_token(actor=cli, username=user.username, name="tests")[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return lambda role=Role.COORDINATOR: client_for(staff[role])


def post(client: Client, path: str, body: dict[str, object]):
    return client.post(f"/api/v1{path}", body, content_type="application/json")


def inbound_body(patient_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "referrer": {"name": "Valley Family Practice", "kind": "organization", "fax": "555-0101"},
        "specialty": "cardiology",
        "reason": "Murmur",
        "diagnoses": ["R01.1"],
        **fields,
    }


def test_register_filter_accept_and_decline_over_the_api(api, patient, make_referral, cardiologist):
    created = post(
        api(Role.NURSE), "/inbound-referrals", inbound_body(patient.pk, practitioner_id=cardiologist.pk)
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["direction"], body["status"], body["practitioner_id"]) == (
        "inbound",
        "received",
        cardiologist.pk,
    )
    assert body["referrer"] == {
        "kind": "organization",
        "name": "Valley Family Practice",
        "npi": "",
        "phone": "",
        "fax": "555-0101",
    }
    assert body["received_at"] is not None
    assert created["Location"].endswith(f"/api/v1/referrals/{body['id']}")
    outbound = make_referral()
    assert api().get(f"/api/v1/referrals/{outbound.pk}").json()["referrer"] is None
    listed = api().get("/api/v1/referrals", {"direction": "inbound"}).json()["results"]
    assert [(r["id"], r["direction"], r["referrer_name"]) for r in listed] == [
        (body["id"], "inbound", "Valley Family Practice")
    ]
    assert api().get("/api/v1/referrals", {"direction": "sideways"}).status_code == 400
    assert post(api(Role.NURSE), f"/referrals/{body['id']}/accept", {}).status_code == 403
    no_reason = post(api(), f"/referrals/{body['id']}/decline", {"reason": ""})
    assert no_reason.status_code == 400
    declined = post(api(), f"/referrals/{body['id']}/decline", {"reason": "Outside our area"})
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["outcome_note"]) == ("declined", "Outside our area")
    assert Communication.objects.filter(referral_id=body["id"], channel="fax").count() == 1
    again = post(api(), f"/referrals/{body['id']}/accept", {})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    second = post(api(), "/inbound-referrals", inbound_body(patient.pk)).json()
    accepted = post(api(), f"/referrals/{second['id']}/accept", {"version": second["version"]})
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"


def test_bad_inbound_bodies_are_refused(api, patient, other_patient):
    assert post(api(), "/inbound-referrals", inbound_body(patient.pk, diagnoses=["NOPE"])).status_code == 400
    assert post(api(), "/inbound-referrals", {"patient_id": patient.pk}).status_code == 400
    assert post(api(), "/inbound-referrals", inbound_body(other_patient.pk)).status_code == 404
    assert post(api(Role.FRONT_DESK), "/inbound-referrals", inbound_body(patient.pk)).status_code == 403
    assert not Referral.objects.exists()
    assert not ReferralEvent.objects.exists()
