"""Gaps of the loop as the team meets them on the pages: an inbound referral's closed step reads "Consult
note sent back" on the list, the detail page and the timeline alike (outbound keeps "Consult note
received"); the scheduled step links one of the patient's booked appointments (picked from the upcoming
ones on the form) or keeps the free time of an appointment booked elsewhere; the consult note received
can be filed in the patient's chart and is linked from the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import DomainError, Forbidden, ValidationFailed
from caredesk.patients.models import Document
from caredesk.referrals import services
from caredesk.referrals.errors import InvalidTransition
from caredesk.referrals.models import Referral
from caredesk.scheduling import services as scheduling_services
from tests.scheduling.conftest import MONDAY, at, book, clinic, frozen_clock  # noqa: F401  (fixtures)

from .conftest import PDF, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client_as, staff):
    return lambda role=Role.COORDINATOR: client_as(staff[role])


@pytest.fixture
def make_inbound(coord, patient):
    def make(**fields: Any) -> Referral:
        fields.setdefault("patient_id", patient.pk)
        fields.setdefault("specialty", "cardiology")
        fields.setdefault("reason", "Murmur heard at the annual visit")
        fields.setdefault("referrer_name", "Valley Family Practice")
        fields.setdefault("referrer_fax", "555-0101")
        return services.register_inbound_referral(actor=coord, data=services.NewInboundReferral(**fields))

    return make


def _status_cell(page: str, referral: Referral) -> str:
    row = page.split(f'data-referral="{referral.pk}"', 1)[1].split("</tr>", 1)[0]
    return row.split('data-testid="status">', 1)[1].split("</td>", 1)[0]


def _timeline(page: str) -> str:
    return page.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]


# --- 1. inbound wording -------------------------------------------------------------------------------


def test_a_closed_inbound_referral_reads_sent_back_on_the_list_the_detail_and_the_timeline(
    coord, browser, make_inbound, make_referral
):
    inbound = walk(coord, make_inbound(), "accept", "schedule", "seen", "close")
    outbound = walk(coord, make_referral(), "accept", "schedule", "seen", "close")
    listing = browser().get(reverse("referrals:list")).content.decode()
    assert _status_cell(listing, inbound) == "Consult note sent back"
    assert _status_cell(listing, outbound) == "Consult note received"

    page = browser().get(reverse("referrals:referral", args=[inbound.pk])).content.decode()
    assert "Consult note sent back" in page.split('data-testid="referral-status"', 1)[1].split("</span>")[0]
    assert "<strong>Consult note sent back</strong>" in _timeline(page)
    assert "Consult note received" not in page

    page = browser().get(reverse("referrals:referral", args=[outbound.pk])).content.decode()
    assert "<strong>Consult note received</strong>" in _timeline(page)
    assert "sent back" not in page


def test_sending_the_note_back_from_the_page_says_so(coord, browser, make_inbound):
    referral = walk(coord, make_inbound(), "accept", "schedule", "seen")
    response = browser().post(
        reverse("referrals:action", args=[referral.pk]),
        {"action": "close", "note": "Echo normal", "version": referral.version},
        follow=True,
    )
    assert response.status_code == 200
    assert "Consult note sent back: done." in response.content.decode()


# --- 2. the scheduled step and the patient's booked appointments ----------------------------------------


@pytest.fixture
def schedule(clinic):  # noqa: F811
    """Scheduling's test clinic (its clock stops in March 2027, months after the referrals' now)."""
    return clinic


@pytest.fixture
def accepted(coord, make_referral) -> Referral:
    return walk(coord, make_referral(), "accept")


def test_scheduling_for_a_booked_appointment_links_it_and_takes_its_time(coord, accepted, schedule, patient):
    visit = book(schedule, at(MONDAY, 9), patient=patient)
    referral = services.act(actor=coord, referral_id=accepted.pk, action="schedule", appointment_id=visit.pk)
    referral.refresh_from_db()
    assert referral.status == "scheduled"
    assert referral.appointment_id == visit.pk
    assert referral.appointment_at == visit.starts_at
    last = referral.events.last()
    assert last is not None
    assert f"booked appointment #{visit.pk}" in last.note
    audit = AuditEvent.objects.filter(action=AuditAction.REFERRAL_STATUS_CHANGED).latest("pk")
    assert audit.detail["appointment_id"] == visit.pk

    # Moved to an appointment booked elsewhere: the link goes, the time stays what was given.
    elsewhere = dt.datetime(2027, 4, 2, 14, 0, tzinfo=dt.UTC)
    referral = services.act(actor=coord, referral_id=referral.pk, action="schedule", appointment_at=elsewhere)
    referral.refresh_from_db()
    assert (referral.appointment_id, referral.appointment_at) == (None, elsewhere)


def test_only_a_booked_appointment_of_the_patient_is_accepted(coord, accepted, schedule, patient):
    someone_else = book(schedule, at(MONDAY, 9))
    cancelled = book(schedule, at(MONDAY, 10), patient=patient)
    scheduling_services.cancel_appointment(
        actor=schedule.desk, appointment_id=cancelled.pk, reason="patient_request"
    )
    mine = book(schedule, at(MONDAY, 11), patient=patient)
    for appointment_id, words in (
        (someone_else.pk, "another patient"),
        (cancelled.pk, "Only a booked appointment"),
        (999_999, "No appointment"),
    ):
        with pytest.raises(ValidationFailed, match=words):
            services.act(
                actor=coord, referral_id=accepted.pk, action="schedule", appointment_id=appointment_id
            )
    with pytest.raises(ValidationFailed, match="not both"):
        services.act(
            actor=coord,
            referral_id=accepted.pk,
            action="schedule",
            appointment_id=mine.pk,
            appointment_at=mine.starts_at,
        )
    accepted.refresh_from_db()
    assert (accepted.status, accepted.appointment_id) == ("accepted", None)
    sent = walk(coord, accepted, "cancel")
    with pytest.raises(InvalidTransition):
        services.act(actor=coord, referral_id=sent.pk, action="schedule", appointment_id=mine.pk)


def test_the_form_offers_the_patients_upcoming_booked_appointments(browser, accepted, schedule, patient):
    later = book(schedule, at(MONDAY, 11), patient=patient)
    sooner = book(schedule, at(MONDAY, 9), patient=patient)
    cancelled = book(schedule, at(MONDAY, 10), patient=patient)
    scheduling_services.cancel_appointment(
        actor=schedule.desk, appointment_id=cancelled.pk, reason="patient_request"
    )
    other = book(schedule, at(MONDAY, 13))
    url = reverse("referrals:referral", args=[accepted.pk])
    page = browser().get(url).content.decode()
    picker = page.split('name="booked_appointment"', 1)[1].split("</select>", 1)[0]
    offered = [int(part.split('"', 1)[0]) for part in picker.split('<option value="')[1:] if part[0] != '"']
    assert offered == [sooner.pk, later.pk]
    assert other.pk not in offered
    assert cancelled.pk not in offered

    response = browser().post(
        reverse("referrals:action", args=[accepted.pk]),
        {"action": "schedule", "booked_appointment": str(sooner.pk), "version": accepted.version},
    )
    assert response.status_code == 302
    page = browser().get(url).content.decode()
    link = reverse("scheduling:detail", args=[sooner.pk])
    assert f'href="{link}"' in page
    assert f"booked appointment #{sooner.pk}" in _timeline(page)

    refused = browser().post(
        reverse("referrals:action", args=[accepted.pk]),
        {"action": "schedule", "booked_appointment": str(other.pk), "version": accepted.version + 1},
    )
    assert refused.status_code == 400
    assert "another patient" in refused.content.decode()


def test_with_no_booked_appointment_the_free_time_schedules(browser, accepted):
    url = reverse("referrals:referral", args=[accepted.pk])
    page = browser(Role.FRONT_DESK).get(url).content.decode()
    assert 'name="appointment_at"' in page
    assert 'name="booked_appointment"' not in page  # nothing booked with us: no picker
    response = browser(Role.FRONT_DESK).post(
        reverse("referrals:action", args=[accepted.pk]),
        {"action": "schedule", "appointment_at": "2027-01-05T10:30", "version": accepted.version},
    )
    assert response.status_code == 302
    accepted.refresh_from_db()
    assert (accepted.status, accepted.appointment_id) == ("scheduled", None)
    assert "booked elsewhere" in browser(Role.FRONT_DESK).get(url).content.decode()


# --- 3. the consult note received, filed in the chart -----------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _pdf(name: str = "consult.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_closing_from_the_page_files_the_consult_note_and_the_timeline_links_it(
    coord, browser, make_referral, patient, media
):
    referral = walk(coord, make_referral(), "accept", "schedule", "seen")
    url = reverse("referrals:referral", args=[referral.pk])
    page = browser().get(url).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'name="consult_document"' in page
    response = browser().post(
        reverse("referrals:action", args=[referral.pk]),
        {
            "action": "close",
            "note": "Stress test normal",
            "version": referral.version,
            "consult_document": _pdf(),
        },
    )
    assert response.status_code == 302
    [document] = Document.objects.filter(patient=patient)
    assert document.title == "Consult note: Cardiology — Heart Partners"
    referral.refresh_from_db()
    assert referral.status == "closed"
    closed = referral.events.last()
    assert closed is not None
    assert closed.document_id == document.pk
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_UPLOAD, patient_id=patient.pk).count() == 1
    timeline = _timeline(browser().get(url).content.decode())
    link = reverse("patients:download_document", args=[document.pk])
    assert f'href="{link}"' in timeline
    assert "Consult note: Cardiology" in timeline


def test_a_refused_file_or_step_files_nothing(coord, actors, make_referral, make_inbound, patient, media):
    referral = walk(coord, make_referral(), "accept", "schedule", "seen")
    bad = SimpleUploadedFile("note.exe", b"MZ...", content_type="application/octet-stream")
    with pytest.raises(DomainError):
        services.act(actor=coord, referral_id=referral.pk, action="close", consult_document=bad)
    with pytest.raises(Forbidden):  # a nurse may not close the loop (REFERRAL_MANAGE)
        services.act(
            actor=actors[Role.NURSE], referral_id=referral.pk, action="close", consult_document=_pdf()
        )
    too_early = walk(coord, make_referral(), "accept")
    with pytest.raises(InvalidTransition):
        services.act(actor=coord, referral_id=too_early.pk, action="close", consult_document=_pdf())
    inbound = walk(coord, make_inbound(), "accept", "schedule", "seen")
    with pytest.raises(ValidationFailed, match="referral we sent"):
        services.act(actor=coord, referral_id=inbound.pk, action="close", consult_document=_pdf())
    assert not Document.objects.filter(patient=patient).exists()
    referral.refresh_from_db()
    inbound.refresh_from_db()
    assert (referral.status, inbound.status) == ("seen", "seen")


def test_a_refused_file_is_shown_on_the_form(coord, browser, make_referral, patient, media):
    referral = walk(coord, make_referral(), "accept", "schedule", "seen")
    response = browser().post(
        reverse("referrals:action", args=[referral.pk]),
        {
            "action": "close",
            "version": referral.version,
            "consult_document": SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf"),
        },
    )
    assert response.status_code == 400
    assert not Document.objects.filter(patient=patient).exists()
