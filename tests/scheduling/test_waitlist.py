"""The waitlist: a cancellation's time offered in priority order through allowed channels, the first to
accept books it (through the booking service), the other offers lapse; expiry, decline and the sweep."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import system_actor
from caredesk.core.errors import Conflict, ValidationFailed
from caredesk.patients.schemas import TelecomInput
from caredesk.scheduling import services, tasks
from caredesk.scheduling.choices import AppointmentSource, OfferStatus, OpeningStatus, WaitlistStatus
from caredesk.scheduling.errors import OfferUnavailable
from caredesk.scheduling.models import WaitlistEntry, WaitlistOffer, WaitlistOpening

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
THURSDAY = MONDAY + dt.timedelta(days=3)


@pytest.fixture(autouse=True)
def channels(settings, tmp_path: Path) -> Path:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CAREDESK_SMS_GATEWAY = "caredesk.scheduling.notify.FileSmsGateway"
    settings.CAREDESK_SMS_OUTBOX = tmp_path / "outbox.jsonl"
    settings.CAREDESK_PUBLIC_BASE_URL = "https://care.example.org"
    settings.CAREDESK_WAITLIST_OFFER_BATCH = 3
    settings.CAREDESK_WAITLIST_OFFER_HOURS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings.CAREDESK_SMS_OUTBOX


def waiting(clinic, channel: str, *, priority: int = 3, phone: str = "(555) 010-1000", **entry):
    patient = clinic.patient(
        email=f"{phone[-4:]}@example.org",
        telecoms=[TelecomInput(value=phone, use="mobile")],
        sms_allowed=True,
        email_allowed=True,
    )
    return services.add_to_waitlist(
        actor=clinic.desk,
        data=services.WaitlistInput(
            patient_id=patient.pk,
            visit_type_id=clinic.follow_up.pk,
            channel=channel,
            priority=priority,
            **entry,
        ),
    )


def cancel(clinic, appointment, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(
            actor=clinic.desk, appointment_id=appointment.pk, reason="patient_request"
        )


def link_of(text: str) -> str:
    found = re.search(r"https://care\.example\.org(/scheduling/offer/\?t=[\w:.\-%]+)", text)
    assert found is not None, text
    return found.group(1)


def sms_sent(outbox: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


def test_a_cancellation_is_offered_in_priority_order_and_the_first_to_accept_books_it(
    clinic, channels, django_capture_on_commit_callbacks
):
    later = waiting(clinic, "sms", priority=2, phone="(555) 010-2001")
    first = waiting(clinic, "email", priority=1, phone="(555) 010-2002")
    fridays = waiting(clinic, "email", priority=1, phone="(555) 010-2003", preferred_weekdays=[4])
    mornings_with_family = waiting(clinic, "sms", phone="(555) 010-2004", practitioner_id=clinic.family.pk)
    appointment = book(clinic, at(THURSDAY, 10), practitioner_id=clinic.heart.pk)
    cancel(clinic, appointment, django_capture_on_commit_callbacks)

    offers = list(WaitlistOffer.objects.order_by("pk"))
    assert [o.entry_id for o in offers] == [first.pk, later.pk]  # priority order; days and practitioner fit
    assert fridays.pk not in [o.entry_id for o in offers]
    assert mornings_with_family.pk not in [o.entry_id for o in offers]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [first.patient.email]
    texts = sms_sent(channels)
    assert [t["to"] for t in texts] == ["(555) 010-2001"]
    assert first.patient.family_name not in mail.outbox[0].body

    # The SMS patient is quicker.
    page = Client().get(link_of(texts[0]["body"]))
    assert page.status_code == 200
    assert clinic.follow_up.name in page.content.decode()
    assert later.patient.family_name not in page.content.decode()
    taken = Client().post("/scheduling/offer/", {"t": page.context["token"], "answer": "accept"})
    assert taken.status_code == 200
    assert taken.context["booked"]

    later.refresh_from_db()
    assert later.status == WaitlistStatus.BOOKED
    booked = later.appointment
    assert booked is not None
    assert booked.starts_at == appointment.starts_at
    assert booked.source == AppointmentSource.WAITLIST
    assert sorted(booked.bookings.values_list("resource_id", flat=True)) == sorted(
        appointment.bookings.values_list("resource_id", flat=True)
    )
    statuses = dict(WaitlistOffer.objects.values_list("entry_id", "status"))
    assert statuses == {first.pk: OfferStatus.LAPSED, later.pk: OfferStatus.ACCEPTED}
    assert WaitlistOpening.objects.get().status == OpeningStatus.FILLED

    # The e-mail patient comes too late.
    token = Client().get(link_of(mail.outbox[0].body)).context["token"]
    too_late = Client().post("/scheduling/offer/", {"t": token, "answer": "accept"})
    assert too_late.status_code == 409
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING
    assert AuditEvent.objects.filter(action=AuditAction.WAITLIST_OFFER_CREATE).count() == 2


def test_the_database_decides_when_the_time_was_booked_meanwhile(clinic, django_capture_on_commit_callbacks):
    entry = waiting(clinic, "sms")
    appointment = book(clinic, at(THURSDAY, 10), practitioner_id=clinic.heart.pk)
    cancel(clinic, appointment, django_capture_on_commit_callbacks)
    offer = WaitlistOffer.objects.get()
    book(clinic, at(THURSDAY, 10), practitioner_id=clinic.heart.pk)  # the desk gave it to a walk-in
    actor = tasks.task_actor(clinic.org.pk)
    with pytest.raises(OfferUnavailable):
        services.accept_offer(actor=actor, offer_id=offer.pk)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.LAPSED
    assert WaitlistOpening.objects.get().status == OpeningStatus.CLOSED
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


def test_declines_and_lapsed_offers_pass_the_time_on(
    clinic, frozen_clock, settings, django_capture_on_commit_callbacks
):
    settings.CAREDESK_WAITLIST_OFFER_BATCH = 1
    one = waiting(clinic, "sms", priority=1, phone="(555) 010-3001")
    two = waiting(clinic, "sms", priority=2, phone="(555) 010-3002")
    three = waiting(clinic, "email", priority=3, phone="(555) 010-3003")
    appointment = book(clinic, at(THURSDAY, 10))
    cancel(clinic, appointment, django_capture_on_commit_callbacks)
    actor = tasks.task_actor(clinic.org.pk)
    assert list(WaitlistOffer.objects.values_list("entry_id", flat=True)) == [one.pk]

    services.decline_offer(actor=actor, offer_id=WaitlistOffer.objects.get(entry=one).pk)
    offer_two = WaitlistOffer.objects.get(entry=two)
    assert offer_two.expires_at == offer_two.sent_at + dt.timedelta(hours=2)

    assert services.sweep_waitlist(actor=actor) == 0  # still open: nobody else is asked
    frozen_clock(at(MONDAY, 9, 30))  # past its expiry
    with pytest.raises(OfferUnavailable):
        services.accept_offer(actor=actor, offer_id=offer_two.pk)
    assert services.sweep_waitlist(actor=actor) == 1
    assert WaitlistOffer.objects.get(entry=three).status == OfferStatus.OPEN
    assert dict(WaitlistOffer.objects.values_list("entry_id", "status")) == {
        one.pk: OfferStatus.DECLINED,
        two.pk: OfferStatus.LAPSED,
        three.pk: OfferStatus.OPEN,
    }
    assert services.accept_offer(actor=actor, offer_id=WaitlistOffer.objects.get(entry=three).pk).pk


def move(clinic, appointment, start, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.reschedule_appointment(actor=clinic.desk, appointment_id=appointment.pk, start=start)


def test_a_move_offers_the_time_it_left_to_the_waitlist(clinic, channels, django_capture_on_commit_callbacks):
    entry = waiting(clinic, "sms", phone="(555) 010-4001")
    appointment = book(clinic, at(THURSDAY, 10), practitioner_id=clinic.heart.pk)
    held = sorted(appointment.bookings.values_list("resource_id", flat=True))

    move(clinic, appointment, at(THURSDAY, 14), django_capture_on_commit_callbacks)

    offer = WaitlistOffer.objects.get()
    assert offer.entry_id == entry.pk
    assert offer.opening.starts_at == at(THURSDAY, 10)
    assert [t["to"] for t in sms_sent(channels)] == ["(555) 010-4001"]
    taken = services.accept_offer(actor=tasks.task_actor(clinic.org.pk), offer_id=offer.pk)
    assert taken.starts_at == at(THURSDAY, 10)
    assert taken.patient_id == entry.patient_id
    assert sorted(taken.bookings.values_list("resource_id", flat=True)) == held
    appointment.refresh_from_db()
    assert appointment.starts_at == at(THURSDAY, 14)  # the one who moved keeps the new time


def test_each_time_a_move_leaves_is_one_opening_and_moving_back_closes_it(
    clinic, django_capture_on_commit_callbacks
):
    appointment = book(clinic, at(THURSDAY, 10), practitioner_id=clinic.heart.pk)
    move(clinic, appointment, at(THURSDAY, 14), django_capture_on_commit_callbacks)
    move(clinic, appointment, at(THURSDAY, 10), django_capture_on_commit_callbacks)

    openings = dict(WaitlistOpening.objects.filter(source=appointment).values_list("starts_at", "status"))
    assert openings == {at(THURSDAY, 10): OpeningStatus.CLOSED, at(THURSDAY, 14): OpeningStatus.OPEN}
    assert not WaitlistOffer.objects.exists()  # nobody waiting; the mover is never asked for their old time

    move(clinic, appointment, at(THURSDAY, 15), django_capture_on_commit_callbacks)
    assert WaitlistOpening.objects.get(source=appointment, starts_at=at(THURSDAY, 10)).status == (
        OpeningStatus.OPEN
    )


def test_no_offers_for_time_too_near(clinic, frozen_clock, django_capture_on_commit_callbacks):
    waiting(clinic, "sms")
    appointment = book(clinic, at(MONDAY, 10))
    frozen_clock(at(MONDAY, 8, 30))
    cancel(clinic, appointment, django_capture_on_commit_callbacks)
    assert not WaitlistOffer.objects.exists()


def test_adding_checks_consent_practitioner_and_duplicates(clinic):
    silent = clinic.patient(email="quiet@example.org")  # allows nothing
    data = services.WaitlistInput(patient_id=silent.pk, visit_type_id=clinic.follow_up.pk, channel="email")
    with pytest.raises(ValidationFailed, match="does not allow"):
        services.add_to_waitlist(actor=clinic.desk, data=data)
    entry = waiting(clinic, "sms")
    with pytest.raises(Conflict):
        services.add_to_waitlist(
            actor=clinic.desk,
            data=services.WaitlistInput(
                patient_id=entry.patient_id, visit_type_id=clinic.follow_up.pk, channel="sms"
            ),
        )
    with pytest.raises(ValidationFailed):
        services.add_to_waitlist(
            actor=clinic.desk,
            data=services.WaitlistInput(
                patient_id=entry.patient_id,
                visit_type_id=clinic.echo.pk,
                channel="sms",
                practitioner_id=clinic.family.pk,
            ),
        )
    with pytest.raises(PermissionDenied):
        services.add_to_waitlist(
            actor=system_actor(organization_id=clinic.org.pk, permissions=frozenset()), data=data
        )


def test_the_waitlist_page_adds_lists_and_removes(clinic, client_as, make_user, org):
    desk = client_as(make_user(Role.FRONT_DESK, org))
    patient = clinic.patient(telecoms=[TelecomInput(value="(555) 010-4000", use="mobile")], sms_allowed=True)
    url = reverse("scheduling:waitlist", args=[clinic.follow_up.pk])
    added = desk.post(
        url, {"patient_mrn": patient.mrn, "priority": "2", "channel": "sms", "preferred_weekdays": ["1", "3"]}
    )
    assert added.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.priority, entry.preferred_weekdays) == (2, [1, 3])
    page = desk.get(url)
    assert page.status_code == 200
    assert patient.family_name in page.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.WAITLIST_VIEW).exists()
    refused = desk.post(url, {"patient_mrn": patient.mrn, "priority": "2", "channel": "email"})
    assert refused.status_code == 400
    assert desk.post(url, {"remove": str(entry.pk)}).status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert Client().get("/scheduling/offer/").status_code == 400


def test_the_sweep_command(clinic, frozen_clock, django_capture_on_commit_callbacks):
    waiting(clinic, "sms", priority=1, phone="(555) 010-5001")
    appointment = book(clinic, at(THURSDAY, 10))
    cancel(clinic, appointment, django_capture_on_commit_callbacks)
    frozen_clock(at(MONDAY, 12))
    call_command("waitlist_sweep", "--organization", "RSH")
    call_command("waitlist_sweep", "--wait")
    assert WaitlistOffer.objects.get().status == OfferStatus.LAPSED


def test_a_patient_taking_an_offer_that_needs_prior_authorization_leaves_the_front_desk_a_task(
    clinic, channels, django_capture_on_commit_callbacks, org
):
    from caredesk.coverage import services as coverage
    from caredesk.coverage.schemas import CoverageInput
    from caredesk.worklist.models import Task
    from tests.patients.factories import staff_actor

    billing = staff_actor(org, Role.BILLING)
    payer = coverage.create_payer(actor=billing, name="Acme Health", payer_id="60054", route="test_payer")
    plan = coverage.create_plan(actor=billing, payer_id=payer.pk, name="Acme Gold PPO")
    coverage.add_authorization_rule(actor=billing, payer_id=payer.pk, service_code=clinic.follow_up.code)
    entry = waiting(clinic, "sms", phone="(555) 010-3001")
    coverage.add_coverage(
        actor=billing,
        patient_id=entry.patient_id,
        data=CoverageInput(plan_id=plan.pk, member_id="W9", effective_from=dt.date(2024, 1, 1)),
    )
    cancel(
        clinic,
        book(clinic, at(THURSDAY, 10), practitioner_id=clinic.heart.pk),
        django_capture_on_commit_callbacks,
    )

    token = Client().get(link_of(sms_sent(channels)[0]["body"])).context["token"]
    taken = Client().post("/scheduling/offer/", {"t": token, "answer": "accept"})
    assert taken.context["booked"]
    assert "authorization" not in taken.content.decode().lower()  # the patient is not handed the desk's job
    entry.refresh_from_db()
    task = Task.objects.get(task_type="prior_authorization")
    assert (task.queue, task.patient_id, task.status) == ("front_desk", entry.patient_id, "open")
    assert task.source_id == str(entry.appointment_id)
