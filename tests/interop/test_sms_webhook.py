"""The SMS gateway's inbound webhook (POST /interop/sms/replies/): the shared secret is the credential,
and a reply confirms or cancels the reminded appointment through the same service as `caredesk sms_reply`."""

from __future__ import annotations

import pytest
from django.test import Client

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling.choices import AppointmentStatus
from caredesk.scheduling.models import ReminderReply
from tests.scheduling.conftest import clinic, frozen_clock  # noqa: F401  (fixtures)
from tests.scheduling.test_reminders import _reminded, channels  # noqa: F401  (fixtures, helper)

pytestmark = pytest.mark.django_db

URL = "/interop/sms/replies/"
SECRET = "test-webhook-secret-0123456789"


@pytest.fixture(autouse=True)
def webhook_secret(settings) -> str:
    settings.CAREDESK_SMS_WEBHOOK_SECRET = SECRET
    return SECRET


def send(
    body: dict[str, str], *, secret: str | None = SECRET, query: str = "?organization=RSH", **headers: str
):
    if secret is not None:
        headers.setdefault("Authorization", f"Bearer {secret}")
    # enforce_csrf_checks: the gateway has no CSRF token, so the endpoint must not need one
    return Client(enforce_csrf_checks=True).post(URL + query, body, headers=headers)


def test_a_reply_through_the_webhook_confirms_the_appointment(clinic, frozen_clock):  # noqa: F811
    appointment = _reminded(clinic, frozen_clock)
    answer = send({"from": "+1 555 010 7777", "text": "C"})
    assert answer.status_code == 200
    assert answer.json() == {"recorded": True, "appointment_id": appointment.pk, "outcome": "confirmed"}
    assert appointment.patient.family_name not in answer.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    event = AuditEvent.objects.get(action=AuditAction.APPOINTMENT_REPLY_RECORDED)
    assert event.patient_id == appointment.patient_id
    # the gateway's own field names, and the secret in its header
    cancelled = send(
        {"From": "5550107777", "Body": "x"}, secret=None, **{"X-Caredesk-Webhook-Secret": SECRET}
    )
    assert cancelled.json()["outcome"] == "cancelled"
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_without_the_secret_it_answers_401_and_changes_nothing(clinic, frozen_clock):  # noqa: F811
    appointment = _reminded(clinic, frozen_clock)
    body = {"from": "5550107777", "text": "X"}
    for answer in (
        send(body, secret=None),
        send(body, secret="wrong"),
        send(body, secret=SECRET[:-1]),
        send(body, secret=None, **{"X-Caredesk-Webhook-Secret": ""}),
    ):
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"].startswith("Bearer")
    assert not ReminderReply.objects.exists()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_it_is_off_without_a_configured_secret(settings, clinic, frozen_clock):  # noqa: F811
    settings.CAREDESK_SMS_WEBHOOK_SECRET = ""
    _reminded(clinic, frozen_clock)
    assert send({"from": "5550107777", "text": "C"}, secret="").status_code == 503
    assert send({"from": "5550107777", "text": "C"}).status_code == 503
    assert not ReminderReply.objects.exists()


def test_bad_requests_and_unknown_replies(clinic, frozen_clock):  # noqa: F811
    _reminded(clinic, frozen_clock)
    assert Client().get(URL, headers={"Authorization": f"Bearer {SECRET}"}).status_code == 405
    assert send({"text": "C"}).status_code == 400
    assert send({"from": "5550107777", "text": "C"}, query="").status_code == 400
    assert send({"from": "5550107777", "text": "C"}, query="?organization=NOPE").status_code == 400
    unknown = send({"from": "5550100000", "text": "C"})
    assert unknown.status_code == 200
    assert unknown.json()["recorded"] is False
    assert unknown.json()["code"] == "unknown_reply"
    assert send({"from": "5550107777", "text": "see you then"}).json()["recorded"] is False
    assert not ReminderReply.objects.exists()
