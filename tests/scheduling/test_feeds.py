"""Practitioners' calendar feeds: a secret, rotatable address; visit type, place and time only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import services
from caredesk.scheduling.models import PractitionerFeed

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)


def feed_path(token: str) -> str:
    return reverse("scheduling:feed", kwargs={"token": token})


def read(token: str) -> Calendar:
    response = Client().get(feed_path(token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def test_the_feed_lists_the_practitioners_appointments_without_patients(clinic):
    patient = clinic.patient(given_name="Zebedee", family_name="Quillfeather")
    mine = book(clinic, at(TUESDAY, 9), patient=patient, practitioner_id=clinic.heart.pk)
    book(clinic, at(TUESDAY, 9), practitioner_id=clinic.family.pk)  # someone else's
    video = book(
        clinic,
        at(TUESDAY, 11),
        clinic.video,
        patient=patient,
        practitioner_id=clinic.heart.pk,
        modality="telehealth",
    )
    gone = book(clinic, at(TUESDAY, 14), patient=patient, practitioner_id=clinic.heart.pk)
    services.cancel_appointment(actor=clinic.desk, appointment_id=gone.pk, reason="patient_request")
    token = services.issue_feed_token(actor=clinic.admin, practitioner_id=clinic.heart.pk)

    raw = Client().get(feed_path(token)).content.decode()
    for secret in ("Zebedee", "Quillfeather", patient.mrn, video.join_url):
        assert secret not in raw
    events = read(token).walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [
        f"appointment-{mine.pk}@caredesk",
        f"appointment-{video.pk}@caredesk",
    ]
    first, second = events
    assert str(first["summary"]) == clinic.follow_up.name
    assert str(first["location"]) == clinic.location.name
    assert first.decoded("dtstart") == at(TUESDAY, 9)
    assert first.decoded("dtend") == mine.ends_at
    assert str(second["location"]) == "Telehealth"
    assert set(first.keys()) <= {
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "LOCATION",
        "STATUS",
        "CLASS",
        "TRANSP",
    }
    read_audit = AuditEvent.objects.filter(action=AuditAction.SCHEDULE_FEED_READ).order_by("pk").last()
    assert read_audit is not None
    assert read_audit.detail["appointment_ids"] == [mine.pk, video.pk]
    assert PractitionerFeed.objects.get().last_read_at is not None


def test_rotating_turns_the_old_address_off(clinic):
    old = services.issue_feed_token(actor=clinic.admin, practitioner_id=clinic.heart.pk)
    new = services.issue_feed_token(actor=clinic.admin, practitioner_id=clinic.heart.pk)
    assert old != new
    assert Client().get(feed_path(old)).status_code == 404
    assert Client().get(feed_path("made-up")).status_code == 404
    read(new)
    assert PractitionerFeed.objects.count() == 1
    assert not PractitionerFeed.objects.filter(token_hash__in=[old, new]).exists()  # only hashes are kept
    assert AuditEvent.objects.filter(action=AuditAction.SCHEDULE_FEED_TOKEN_CHANGED).count() == 2


def test_only_schedule_managers_issue_addresses(clinic):
    with pytest.raises(PermissionDenied):
        services.issue_feed_token(actor=clinic.desk, practitioner_id=clinic.heart.pk)


def test_the_feeds_page_issues_an_address_shown_once(clinic, client_as, make_user, org):
    admin = client_as(make_user(Role.ADMINISTRATOR, org))
    page = admin.get(reverse("scheduling:feeds"))
    assert page.status_code == 200
    assert clinic.heart.family_name in page.content.decode()
    issued = admin.post(reverse("scheduling:issue_feed", args=[clinic.heart.pk]))
    assert issued.status_code == 200
    url = issued.context["new_url"]
    read(url.split("/scheduling/feeds/", 1)[1].removesuffix(".ics"))
    assert "new-feed-url" not in admin.get(reverse("scheduling:feeds")).content.decode()


def test_issuing_a_feed_for_an_impossible_practitioner_id_is_not_found(client, django_user_model) -> None:
    from caredesk.accounts.models import Organization
    from caredesk.accounts.permissions import Role

    org = Organization.objects.create(name="Riverside Health", short_code="RSH")
    manager = django_user_model.objects.create_user(
        username="mgr", password="x" * 12, organization=org, role=Role.COORDINATOR
    )
    client.force_login(manager)
    response = client.post("/scheduling/feeds/99999999999999999999/issue/")
    assert response.status_code == 404
