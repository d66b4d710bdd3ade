"""Appointment reminders: due times, consents, the channels (locmem e-mail, the file SMS gateway), at most
once, the task and its command, and the patient's answers (SMS "C"/"X", the e-mail's signed links)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.patients.schemas import TelecomInput
from caredesk.scheduling import rules, services, tasks
from caredesk.scheduling.choices import AppointmentStatus, ReminderStatus
from caredesk.scheduling.errors import InvalidReplyLink, UnknownReply
from caredesk.scheduling.models import Appointment, AppointmentReminder, ReminderReply

from .conftest import MONDAY, NOW, at, book

pytestmark = pytest.mark.django_db

THURSDAY = MONDAY + dt.timedelta(days=3)
MOBILE = "(555) 010-7777"


@pytest.fixture(autouse=True)
def channels(settings, tmp_path: Path) -> Path:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CAREDESK_SMS_GATEWAY = "caredesk.scheduling.notify.FileSmsGateway"
    settings.CAREDESK_SMS_OUTBOX = tmp_path / "sms" / "outbox.jsonl"
    settings.CAREDESK_REMINDER_OFFSETS_HOURS = [72, 24]
    settings.CAREDESK_PUBLIC_BASE_URL = "https://care.example.org"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings.CAREDESK_SMS_OUTBOX


def texts(outbox: Path) -> list[dict[str, str]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines()]


def reachable(clinic, *, sms: bool = True, email: bool = True, **fields):
    """A patient with an e-mail address and a mobile number, allowing the channels asked for."""
    return clinic.patient(
        email="pat@example.org",
        telecoms=[TelecomInput(value=MOBILE, use="mobile")],
        sms_allowed=sms,
        email_allowed=email,
        **fields,
    )


def actor(clinic):
    return tasks.task_actor(clinic.org.pk)


# --- rules ---------------------------------------------------------------------------------------------


def test_plan_sends_the_closest_due_offset_and_supersedes_the_rest():
    start = dt.datetime(2027, 3, 4, 15, 0, tzinfo=dt.UTC)
    offsets = [72 * 60, 24 * 60]
    assert rules.reminder_plan(start, start - dt.timedelta(hours=80), offsets) == rules.ReminderPlan(None, ())
    assert rules.reminder_plan(start, start - dt.timedelta(hours=72), offsets).send == 72 * 60
    assert rules.reminder_plan(start, start - dt.timedelta(hours=10), offsets) == rules.ReminderPlan(
        24 * 60, (72 * 60,)
    )
    assert rules.reminder_plan(start, start - dt.timedelta(hours=10), offsets, done=[24 * 60]).send is None
    assert rules.reminder_plan(start, start, offsets).send is None  # started: too late


def test_offsets_replies_and_numbers():
    assert rules.reminder_offsets([24, 72, 24, 0]) == [72 * 60, 24 * 60]
    assert [rules.parse_reply(t) for t in ("c", " Yes ", "X", "cancel!", "maybe", "")] == [
        "confirm",
        "confirm",
        "cancel",
        "cancel",
        None,
        None,
    ]
    assert rules.phone_digits("+1 (555) 010-7777") == rules.phone_digits("5550107777") == "5550107777"


# --- sending ---------------------------------------------------------------------------------------------


def test_nothing_is_due_before_the_first_offset(clinic, channels):
    book(clinic, at(THURSDAY, 10), patient=reachable(clinic))
    run = services.send_due_reminders(actor=actor(clinic))
    assert (run.sent, run.skipped) == (0, 0)
    assert not mail.outbox
    assert not texts(channels)
    assert not AppointmentReminder.objects.exists()


def test_due_reminder_goes_out_by_email_and_sms_once(clinic, frozen_clock, channels):
    patient = reachable(clinic)
    appointment = book(clinic, at(THURSDAY, 10), patient=patient)
    frozen_clock(at(MONDAY, 10))  # exactly 72 h before
    assert services.send_due_reminders(actor=actor(clinic)).sent == 1
    assert services.send_due_reminders(actor=actor(clinic)).sent == 0  # a second run sends nothing
    assert (
        services.send_reminder(actor=actor(clinic), appointment_id=appointment.pk, offset_minutes=72 * 60)
        is None
    )

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pat@example.org"]
    assert "Follow-up" in message.subject or clinic.follow_up.name in message.subject
    assert "Thursday 4 March 2027 at 10:00" in message.body
    assert "https://care.example.org/scheduling/reply/?t=" in message.body
    assert patient.family_name not in message.body
    sent = texts(channels)
    assert len(sent) == 1
    assert sent[0]["to"] == MOBILE
    assert "Reply C to confirm, X to cancel" in sent[0]["body"]

    reminder = AppointmentReminder.objects.get()
    assert (reminder.offset_minutes, reminder.status) == (72 * 60, ReminderStatus.SENT)
    assert sorted(reminder.channels) == ["email", "sms"]
    audit = AuditEvent.objects.get(action=AuditAction.APPOINTMENT_REMINDER_SENT)
    assert audit.patient_id == patient.pk

    frozen_clock(at(MONDAY + dt.timedelta(days=2), 10))  # 24 h before: the second reminder
    assert services.send_due_reminders(actor=actor(clinic)).sent == 1
    assert len(mail.outbox) == 2
    assert len(texts(channels)) == 2
    assert list(AppointmentReminder.objects.values_list("offset_minutes", flat=True)) == [72 * 60, 24 * 60]


def test_only_the_allowed_channels_are_used(clinic, frozen_clock, channels):
    sms_only = reachable(clinic, email=False)
    email_only = reachable(clinic, sms=False)
    neither = reachable(clinic, sms=False, email=False)
    for i, patient in enumerate((sms_only, email_only, neither)):
        book(clinic, at(THURSDAY, 9 + i), patient=patient)
    frozen_clock(at(THURSDAY, 7))
    run = services.send_due_reminders(actor=actor(clinic))
    assert (run.sent, run.skipped) == (2, 1)
    assert len(mail.outbox) == 1
    assert len(texts(channels)) == 1
    by_patient = {
        r.appointment.patient_id: r for r in AppointmentReminder.objects.filter(offset_minutes=1440)
    }
    assert by_patient[sms_only.pk].channels == ["sms"]
    assert by_patient[email_only.pk].channels == ["email"]
    assert by_patient[neither.pk].status == ReminderStatus.SKIPPED
    assert by_patient[neither.pk].detail["reason"] == "no allowed channel"
    # The 72 h reminders came due too, but only the closest one is sent; the others are recorded skipped.
    assert (
        AppointmentReminder.objects.filter(offset_minutes=72 * 60, status=ReminderStatus.SKIPPED).count() == 3
    )


def test_cancelled_appointments_get_no_reminder(clinic, frozen_clock):
    appointment = book(clinic, at(THURSDAY, 10), patient=reachable(clinic))
    services.cancel_appointment(actor=clinic.desk, appointment_id=appointment.pk, reason="patient_request")
    frozen_clock(at(THURSDAY, 7))
    assert services.send_due_reminders(actor=actor(clinic)).sent == 0
    assert not AppointmentReminder.objects.exists()
    assert not mail.outbox


def test_telehealth_reminders_carry_the_join_link(clinic, frozen_clock, channels):
    appointment = book(
        clinic, at(THURSDAY, 10), clinic.video, patient=reachable(clinic), modality="telehealth"
    )
    assert appointment.join_url
    frozen_clock(at(THURSDAY, 7))
    services.send_due_reminders(actor=actor(clinic))
    assert appointment.join_url in mail.outbox[0].body
    assert appointment.join_url in texts(channels)[0]["body"]


def test_a_failing_gateway_is_recorded_and_not_retried(clinic, frozen_clock, settings, tmp_path):
    settings.CAREDESK_SMS_OUTBOX = tmp_path / "a-file" / "outbox.jsonl"
    (tmp_path / "a-file").write_text("not a directory")
    book(clinic, at(THURSDAY, 10), patient=reachable(clinic, email=False))
    frozen_clock(at(THURSDAY, 7))
    assert services.send_due_reminders(actor=actor(clinic)).failed == 1
    reminder = AppointmentReminder.objects.get(offset_minutes=1440)
    assert reminder.status == ReminderStatus.FAILED
    assert "sms" in reminder.detail["failed"]
    assert services.send_due_reminders(actor=actor(clinic)).failed == 0


def test_the_command_enqueues_the_task(clinic, frozen_clock, channels):
    book(clinic, at(THURSDAY, 10), patient=reachable(clinic))
    call_command("send_reminders", "--organization", "RSH", "--now", NOW.isoformat())
    assert not mail.outbox  # 75 h ahead at NOW: not yet
    frozen_clock(at(THURSDAY, 7))
    call_command("send_reminders")
    assert len(mail.outbox) == 1
    call_command("send_reminders", "--wait")
    assert len(mail.outbox) == 1
    with pytest.raises(CommandError):
        call_command("send_reminders", "--organization", "NOPE")


# --- answers -----------------------------------------------------------------------------------------------


def _reminded(clinic, frozen_clock, **fields) -> Appointment:
    appointment = book(clinic, at(THURSDAY, 10), patient=reachable(clinic, **fields))
    frozen_clock(at(THURSDAY, 7))
    services.send_due_reminders(actor=actor(clinic))
    return appointment


def test_sms_c_confirms_and_x_cancels(clinic, frozen_clock):
    appointment = _reminded(clinic, frozen_clock)
    call_command("sms_reply", "--organization", "RSH", "--from", "+1 555 010 7777", "c")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    reply = services.record_sms_reply(actor=actor(clinic), from_number="5550107777", text="X")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "patient_request"
    assert not appointment.bookings.filter(active=True).exists()  # the time is free again
    assert reply.outcome == "cancelled"
    assert reply.reminder is not None
    assert [r.answer for r in ReminderReply.objects.all()] == ["confirm", "cancel"]
    assert AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_REPLY_RECORDED).count() == 2


def test_unknown_sms_replies_change_nothing(clinic, frozen_clock):
    _reminded(clinic, frozen_clock)
    with pytest.raises(UnknownReply):
        services.record_sms_reply(actor=actor(clinic), from_number="5550100000", text="C")
    with pytest.raises(UnknownReply):
        services.record_sms_reply(actor=actor(clinic), from_number=MOBILE, text="see you")
    with pytest.raises(CommandError):
        call_command("sms_reply", "--organization", "RSH", "--from", "5550100000", "X")
    assert not ReminderReply.objects.exists()


def test_email_link_page_confirms_and_cancels(clinic, frozen_clock):
    appointment = _reminded(clinic, frozen_clock, sms=False)
    body = mail.outbox[0].body
    confirm = next(
        line.split(": ", 1)[1].strip() for line in body.splitlines() if line.startswith("Confirm:")
    )
    path = confirm.removeprefix("https://care.example.org")
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert clinic.follow_up.name in text
    assert appointment.patient.family_name not in text
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED  # opening the link changes nothing

    token = page.context["token"]
    answered = client.post("/scheduling/reply/", {"t": token, "answer": "confirm"})
    assert answered.status_code == 200
    assert "confirmed" in answered.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    client.post("/scheduling/reply/", {"t": token, "answer": "cancel"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert ReminderReply.objects.filter(channel="email").count() == 2


def test_forged_or_missing_links_are_refused(clinic, frozen_clock):
    appointment = _reminded(clinic, frozen_clock)
    token = services.reply_token(appointment)
    client = Client()
    assert client.get("/scheduling/reply/").status_code == 400
    assert client.get("/scheduling/reply/", {"t": token[:-2] + "xx"}).status_code == 400
    assert client.post("/scheduling/reply/", {"t": token + "0", "answer": "cancel"}).status_code == 400
    with pytest.raises(InvalidReplyLink):
        services.read_reply_token("garbage")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_appointment_page_lists_reminders_and_replies(clinic, frozen_clock, client):
    appointment = _reminded(clinic, frozen_clock)
    services.record_sms_reply(actor=actor(clinic), from_number=MOBILE, text="C")
    detail = services.selectors.get_appointment(actor=clinic.desk, appointment_id=appointment.pk)
    assert [r.offset_minutes for r in detail.reminders] == [72 * 60, 24 * 60]
    assert [r.outcome for r in detail.replies] == ["confirmed"]
