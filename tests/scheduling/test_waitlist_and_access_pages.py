"""Pages a coordinator reaches from the navigation: the waitlist overview (every visit type's list in
numbers, the way to add a patient, links from the calendar and the booking page), the access report (third
next available per practitioner and visit type, with its chart and CSV), a location's week on the calendar,
and the no-show grace period from the settings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.patients.schemas import TelecomInput
from caredesk.scheduling import services

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def channels(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CAREDESK_PUBLIC_BASE_URL = "https://care.example.org"
    settings.CAREDESK_WAITLIST_OFFER_BATCH = 3
    settings.CAREDESK_WAITLIST_OFFER_HOURS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def desk(client_as, make_user, org):
    return client_as(make_user(Role.FRONT_DESK, org))


def waiting(clinic, family_name: str, n: int):
    patient = clinic.patient(
        family_name=family_name,
        email=f"wait{n}@example.org",
        telecoms=[TelecomInput(value=f"(555) 010-200{n}", use="mobile")],
        email_allowed=True,
    )
    services.add_to_waitlist(
        actor=clinic.desk,
        data=services.WaitlistInput(
            patient_id=patient.pk, visit_type_id=clinic.follow_up.pk, channel="email"
        ),
    )
    return patient


# --- the waitlist overview ------------------------------------------------------------------------------


def test_the_overview_counts_each_visit_types_waitlist_without_naming_anyone(
    clinic, desk, django_capture_on_commit_callbacks
):
    first = waiting(clinic, "Earlybird", 1)
    waiting(clinic, "Secondo", 2)
    appointment = book(clinic, at(MONDAY + dt.timedelta(days=2), 9))
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(
            actor=clinic.desk, appointment_id=appointment.pk, reason="patient_request"
        )

    response = desk.get(reverse("scheduling:waitlist_overview"))
    assert response.status_code == 200
    body = response.content.decode()
    rows = re.findall(r'<tr data-testid="waitlist-row">(.*?)</tr>', body, re.S)
    assert len(rows) == 4  # every active visit type, waiting or not
    follow_up = next(r for r in rows if "Follow-up visit" in r)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", follow_up, re.S)]
    assert cells[1] == "2"  # waiting
    assert cells[2].startswith("0 days")  # added today (the clock stands still)
    assert cells[3] == "2"  # the freed time is offered to both, open for two hours
    assert f'href="/scheduling/waitlist/{clinic.follow_up.pk}/"' in follow_up
    echo = next(r for r in rows if "Echocardiogram" in r)
    assert "nobody waiting" in echo
    assert '<strong data-testid="total-waiting">2</strong>' in body
    # Numbers only: no patient is named, so nothing about a patient is recorded.
    assert "Earlybird" not in body
    assert first.mrn not in body
    assert not AuditEvent.objects.filter(patient_id=first.pk, action=int(AuditAction.WAITLIST_VIEW)).exists()


def test_adding_a_patient_starts_from_the_overview_and_opens_the_visit_types_form(clinic, desk):
    patient = clinic.patient(family_name="Pending")
    answer = desk.get(
        reverse("scheduling:waitlist_overview"), {"visit_type": clinic.echo.pk, "patient": patient.pk}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/scheduling/waitlist/{clinic.echo.pk}/?patient={patient.pk}#add"
    page = desk.get(answer["Location"].split("#")[0])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Waitlist: Echocardiogram" in body
    assert f'name="patient_mrn" value="{patient.mrn}"' in body  # filled in from the booking page's patient
    assert AuditEvent.objects.filter(patient_id=patient.pk, action=int(AuditAction.PATIENT_VIEW)).exists()
    assert 'href="/scheduling/waitlist/"' in body  # back to all waitlists

    # The overview's form: a visit type must be chosen.
    refused = desk.get(reverse("scheduling:waitlist_overview"), {"visit_type": ""})
    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()


def test_the_waitlist_is_reached_from_the_navigation_the_calendar_and_the_booking_page(clinic, desk):
    patient = clinic.patient(family_name="Booker")
    home = desk.get(reverse("scheduling:calendar")).content.decode()
    assert '<a class="nav-link" href="/scheduling/waitlist/">Waitlist</a>' in home
    assert 'href="/scheduling/waitlist/">Waitlists</a>' in home  # the calendar's buttons
    assert 'href="/scheduling/access/">Access report</a>' in home
    booking = desk.get(reverse("scheduling:book"), {"patient": patient.pk}).content.decode()
    assert "No suitable time?" in booking
    assert (
        f'href="/scheduling/waitlist/?patient={patient.pk}#add">Put the patient on the waitlist</a>'
        in booking
    )


def test_staff_who_cannot_book_neither_see_nor_open_the_waitlists(
    clinic, client_as, make_user, org, other_org
):
    nurse = client_as(make_user(Role.NURSE, org))
    assert nurse.get(reverse("scheduling:waitlist_overview")).status_code == 403
    calendar = nurse.get(reverse("scheduling:calendar")).content.decode()
    assert "/scheduling/waitlist/" not in calendar
    assert "/scheduling/access/" in calendar  # the report only needs the schedule
    # Another organization's desk sees its own (empty) lists, not this one's visit types.
    stranger = client_as(make_user(Role.FRONT_DESK, other_org))
    body = stranger.get(reverse("scheduling:waitlist_overview")).content.decode()
    assert "Follow-up visit" not in body
    assert stranger.get(reverse("scheduling:waitlist", args=[clinic.follow_up.pk])).status_code == 404


# --- the access report ----------------------------------------------------------------------------------


def test_the_access_report_lists_third_next_available_with_a_chart_and_csv(clinic, desk):
    # Dr. Family's Monday and Tuesday mornings fill up: her third free follow-up moves to Tuesday afternoon.
    for day in (MONDAY, MONDAY + dt.timedelta(days=1)):
        for hour in range(8, 17):
            if hour != 12:
                for minute in (0, 20, 40):
                    book(clinic, at(day, hour, minute), practitioner_id=clinic.family.pk)
    response = desk.get(reverse("scheduling:access"))
    assert response.status_code == 200
    body = response.content.decode()
    rows = re.findall(r'<tr data-testid="access-row">(.*?)</tr>', body, re.S)
    table = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]
    follow_ups = [r for r in table if r[0] == "Follow-up visit"]
    assert [r[1] for r in follow_ups] == ["Finn Family, MD", "Cora Heart, MD"]
    family, heart = follow_ups
    assert heart[2].startswith("Mon 1 Mar 2027, 08:")
    assert heart[3] == "0"
    assert family[2].startswith("Wed 3 Mar 2027, 08:")
    assert family[3] == "2"
    assert table[0][:2] == ["Echocardiogram", "Cora Heart, MD"]  # by visit type name
    # The chart: one bar per row, the longest wait the longest bar.
    assert 'data-testid="chart-access"' in body
    assert body.count("<title>") - 1 == len(rows)  # the page's own <title> plus one per bar
    values = [int(v) for v in re.findall(r'data-value="(\d+)"', body)]
    assert max(values) == 2
    # The same as CSV.
    export = desk.get(reverse("scheduling:access_csv"))
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(export.content.decode())))
    assert lines[0] == ["visit_type", "practitioner", "third_next_available", "days_out", "note"]
    assert lines[1 + table.index(family)][:2] == ["Follow-up visit", "Finn Family, MD"]
    assert lines[1 + table.index(family)][2].startswith("2027-03-03T08:")
    assert lines[1 + table.index(family)][3] == "2"


def test_the_access_report_needs_the_schedule_and_a_location_of_ones_own(
    clinic, desk, client_as, make_user, org, other_org
):
    billing = client_as(make_user(Role.BILLING, org))
    assert billing.get(reverse("scheduling:access")).status_code == 403
    assert billing.get(reverse("scheduling:access_csv")).status_code == 403
    foreign = Location.objects.get(organization=other_org)
    refused = desk.get(reverse("scheduling:access"), {"location": foreign.pk})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert desk.get(reverse("scheduling:access_csv"), {"location": foreign.pk}).status_code == 400
    here = desk.get(reverse("scheduling:access"), {"location": clinic.location.pk})
    assert here.status_code == 200
    assert here.content.decode().count('data-testid="access-row"') == 7


# --- a location's week ----------------------------------------------------------------------------------


def test_a_locations_week_shows_the_days_as_groups_of_resource_columns(clinic, desk):
    tuesday = book(
        clinic, at(MONDAY + dt.timedelta(days=1), 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    url = reverse("scheduling:calendar")
    response = desk.get(url, {"view": "week", "date": "2027-03-03"})
    assert response.status_code == 200  # no longer sent to one resource's week
    body = response.content.decode()
    groups = re.findall(r'data-testid="day-group"><a [^>]*>([^<]+)</a>', body)
    assert groups == [
        "Mon 01 Mar",
        "Tue 02 Mar",
        "Wed 03 Mar",
        "Thu 04 Mar",
        "Fri 05 Mar",
        "Sat 06 Mar",
        "Sun 07 Mar",
    ]
    assert 'colspan="6"' in body  # six resources under each day
    headers = re.findall(r'title="This resource\'s week">([^<]+)</a>', body)
    assert len(headers) == 42
    assert headers[:6] == [
        "Echo cart",
        "Cora Heart, MD",
        "Finn Family, MD",
        "Exam 1",
        "Exam 2",
        "Procedure",
    ]
    # The appointment shows in its practitioner's and its room's column on Tuesday.
    assert body.count(f'data-appointment="{tuesday.pk}"') == 2
    assert "week of Mon 1 Mar 2027" in body

    practitioners = desk.get(
        url, {"view": "week", "date": "2027-03-03", "kind": "practitioner"}
    ).content.decode()
    assert 'colspan="2"' in practitioners
    assert len(re.findall(r'title="This resource\'s week">', practitioners)) == 14
    assert practitioners.count(f'data-appointment="{tuesday.pk}"') == 1
    # Paging keeps the columns chosen.
    assert "view=week&amp;date=2027-03-08&amp;kind=practitioner" in practitioners


# --- the no-show grace period ---------------------------------------------------------------------------


def test_the_no_show_grace_period_is_a_setting_of_fifteen_minutes(clinic, desk, frozen_clock):
    assert django_settings.CAREDESK_NO_SHOW_GRACE_MINUTES == 15
    appointment = book(clinic, at(MONDAY, 9))
    frozen_clock(at(MONDAY, 9, 10))
    page = desk.get(reverse("scheduling:detail", args=[appointment.pk])).content.decode()
    assert ">No-show</button>" not in page
    frozen_clock(at(MONDAY, 9, 16))
    page = desk.get(reverse("scheduling:detail", args=[appointment.pk])).content.decode()
    assert ">No-show</button>" in page
