"""The calendar as the desk uses it: columns per practitioner, room or location, status colours, drag to
reschedule (the JSON endpoint the page's script posts to), the printable day sheet, the arrivals board
and booking from a sentence."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import search_text
from caredesk.scheduling.models import Appointment

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def desk(client_as, make_user, org):
    return client_as(make_user(Role.FRONT_DESK, org))


def resources_of(appointment: Appointment) -> set[int]:
    return set(appointment.bookings.values_list("resource_id", flat=True))


def move(client, appointment: Appointment, start: dt.datetime, to: int, from_: int, **extra):
    data = {
        "start": start.isoformat(),
        "resource": to,
        "from_resource": from_,
        "version": appointment.version,
        **extra,
    }
    return client.post(reverse("scheduling:move", args=[appointment.pk]), data)


# --- the calendar ---------------------------------------------------------------------------------------


def test_columns_per_kind_or_per_resource_with_a_status_legend_and_draggable_blocks(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    url = reverse("scheduling:calendar")
    rooms = desk.get(url, {"date": "2027-03-01", "kind": "room"}).content.decode()
    headers = re.findall(r'title="This resource\'s week">([^<]+)</a>', rooms)
    assert headers == ["Exam 1", "Exam 2", "Procedure"]
    practitioners = desk.get(url, {"date": "2027-03-01", "kind": "practitioner"}).content.decode()
    assert re.findall(r'title="This resource\'s week">([^<]+)</a>', practitioners) == [
        "Cora Heart, MD",
        "Finn Family, MD",
    ]
    one = desk.get(url, {"date": "2027-03-01", "resource": clinic.dr_heart.pk}).content.decode()
    assert re.findall(r'title="This resource\'s week">([^<]+)</a>', one) == ["Cora Heart, MD"]
    # Coloured by status, with a legend naming each colour.
    assert 'class="cal-appt status-booked"' in one
    for label in ("Booked", "Confirmed", "Arrived", "In progress", "No-show"):
        assert f"</span>{label}</li>" in one
    # The block can be dragged: it carries where to post and the version the page shows.
    move_url = reverse("scheduling:move", args=[appointment.pk])
    assert f'draggable="true" data-move-url="{move_url}" data-version="1"' in one
    assert f'data-resource="{clinic.dr_heart.pk}"' in one
    assert 'src="/static/scheduling/scheduling.js"' in one
    assert "style=" not in one  # the CSP forbids inline styles
    # Empty cells link to booking with the resource and time filled in.
    assert f"/scheduling/book/?resource={clinic.dr_heart.pk}&amp;start=2027-03-01T08%3A00%3A00-05%3A00" in one


def test_staff_who_cannot_book_see_blocks_that_do_not_move(clinic, client_as, make_user, org):
    book(clinic, at(MONDAY, 9))
    nurse = client_as(make_user(Role.NURSE, org))
    body = nurse.get(reverse("scheduling:calendar"), {"date": "2027-03-01"}).content.decode()
    assert 'data-testid="appointment"' in body
    assert "data-move-url" not in body
    assert "/scheduling/book/?resource=" not in body


# --- drag to reschedule ------------------------------------------------------------------------------


def test_dropping_later_in_the_same_column_moves_the_appointment_and_keeps_its_room(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    response = move(desk, appointment, at(MONDAY, 10), clinic.dr_heart.pk, clinic.dr_heart.pk)
    assert response.status_code == 200, response.content
    assert response.json()["message"] == "Moved to Mon 01 Mar, 10:00 (Cora Heart, MD, Exam 1)."
    appointment.refresh_from_db()
    assert appointment.local_start == at(MONDAY, 10)
    assert appointment.version == 2
    assert resources_of(appointment) == {clinic.dr_heart.pk, clinic.exam1.pk}
    assert appointment.events.filter(kind="rescheduled").count() == 1
    assert AuditEvent.objects.filter(action=int(AuditAction.APPOINTMENT_RESCHEDULE)).count() == 1


def test_a_drop_inside_a_taller_cell_counts_the_rows_from_its_top(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    response = move(desk, appointment, at(MONDAY, 13), clinic.dr_heart.pk, clinic.dr_heart.pk, offset=40)
    assert response.status_code == 200, response.content
    appointment.refresh_from_db()
    assert appointment.local_start == at(MONDAY, 13, 40)


def test_dropping_in_another_practitioners_or_rooms_column_swaps_that_resource(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    response = move(desk, appointment, at(MONDAY, 9), clinic.dr_family.pk, clinic.dr_heart.pk)
    assert response.status_code == 200, response.content
    appointment.refresh_from_db()
    assert resources_of(appointment) == {clinic.dr_family.pk, clinic.exam1.pk}
    response = move(desk, appointment, at(MONDAY, 11), clinic.exam2.pk, clinic.exam1.pk)
    assert response.status_code == 200, response.content
    appointment.refresh_from_db()
    assert resources_of(appointment) == {clinic.dr_family.pk, clinic.exam2.pk}
    assert appointment.local_start == at(MONDAY, 11)


def test_dropping_on_an_occupied_time_is_refused_with_what_is_in_the_way(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    book(clinic, at(MONDAY, 11), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk])
    response = move(desk, appointment, at(MONDAY, 11), clinic.dr_heart.pk, clinic.dr_heart.pk)
    assert response.status_code == 409
    answer = response.json()
    assert answer["code"] == "slot_conflict"
    assert "already booked at an overlapping time" in answer["error"]
    assert "Cora Heart, MD Mon 01 Mar 11:00-11:20" in answer["error"]
    appointment.refresh_from_db()
    assert appointment.local_start == at(MONDAY, 9)
    assert appointment.version == 1
    assert resources_of(appointment) == {clinic.dr_heart.pk, clinic.exam1.pk}


def test_drops_outside_hours_on_a_stale_page_or_with_bad_input_change_nothing(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    lunch = move(desk, appointment, at(MONDAY, 12), clinic.dr_heart.pk, clinic.dr_heart.pk)
    assert lunch.status_code == 409
    assert "is available for Follow-up visit then" in lunch.json()["error"]
    stale = move(desk, appointment, at(MONDAY, 10), clinic.dr_heart.pk, clinic.dr_heart.pk, version=7)
    assert stale.status_code == 409
    assert "Someone changed this appointment" in stale.json()["error"]
    naive = move(desk, appointment, dt.datetime(2027, 3, 1, 10), clinic.dr_heart.pk, clinic.dr_heart.pk)
    assert naive.status_code == 400
    assert "UTC offset" in naive.json()["error"]
    wrong_column = move(desk, appointment, at(MONDAY, 10), clinic.dr_heart.pk, clinic.exam2.pk)
    assert wrong_column.status_code == 400
    unknown = move(desk, appointment, at(MONDAY, 10), 999999, clinic.dr_heart.pk)
    assert unknown.status_code == 404
    past = move(
        desk, appointment, at(MONDAY - dt.timedelta(days=7), 10), clinic.dr_heart.pk, clinic.dr_heart.pk
    )
    assert past.status_code == 400
    assert "in the past" in past.json()["error"]
    appointment.refresh_from_db()
    assert (appointment.local_start, appointment.version) == (at(MONDAY, 9), 1)


def test_moving_needs_the_booking_permission_and_the_organization(
    clinic, client_as, make_user, org, other_org
):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    nurse = client_as(make_user(Role.NURSE, org))
    assert move(nurse, appointment, at(MONDAY, 10), clinic.dr_heart.pk, clinic.dr_heart.pk).status_code == 403
    stranger = client_as(make_user(Role.FRONT_DESK, other_org))
    assert (
        move(stranger, appointment, at(MONDAY, 10), clinic.dr_heart.pk, clinic.dr_heart.pk).status_code == 404
    )
    appointment.refresh_from_db()
    assert appointment.version == 1


# --- the day sheet ------------------------------------------------------------------------------------


def test_the_day_sheet_lists_each_column_with_patients_to_print(clinic, desk):
    quill = clinic.patient(family_name="Quill")
    book(clinic, at(MONDAY, 9), patient=quill, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    book(clinic, at(MONDAY, 10), resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    url = reverse("scheduling:day_sheet")
    body = desk.get(url, {"date": "2027-03-01", "resource": clinic.dr_heart.pk}).content.decode()
    assert "Riverside Main Clinic &middot; Monday 1 March 2027" in body
    assert body.count('data-testid="day-sheet-column"') == 1
    assert "09:00&ndash;09:20" in body
    assert f"Quill, {quill.given_name}" in body
    assert quill.mrn in body
    assert "Exam 1" in body  # who else is in the visit
    assert "data-print" in body
    assert "style=" not in body
    event = AuditEvent.objects.filter(action=int(AuditAction.APPOINTMENT_SEARCH)).latest("pk")
    assert quill.pk in event.detail["result_ids"]
    everyone = desk.get(url, {"date": "2027-03-01"}).content.decode()
    assert everyone.count('data-testid="day-sheet-column"') == 2  # the practitioners with appointments
    with_rooms = desk.get(url, {"date": "2027-03-01", "kind": ""}).content.decode()
    assert with_rooms.count('data-testid="day-sheet-column"') == 4  # and the rooms they use
    empty = desk.get(url, {"date": "2027-03-02"}).content.decode()
    assert "No appointments on this day." in empty
    assert desk.get(url, {"date": "not a date"}).status_code == 400


# --- the arrivals board --------------------------------------------------------------------------------


def test_the_arrivals_board_shows_lateness_checks_in_and_counts_the_wait(clinic, desk, frozen_clock):
    quill = clinic.patient(family_name="Quill")
    appointment = book(
        clinic, at(MONDAY, 9), patient=quill, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    later = book(clinic, at(MONDAY, 14))
    book(clinic, at(TUESDAY, 9))  # tomorrow: not on today's board
    frozen_clock(at(MONDAY, 9, 5))
    url = reverse("scheduling:arrivals")
    page = desk.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('data-testid="arrival-row"') == 2
    assert "5 min late" in body
    assert 'hx-trigger="every 30s"' in body
    assert "style=" not in body
    check_in = reverse("scheduling:arrivals_check_in", args=[appointment.pk])
    response = desk.post(
        f"{check_in}?location={clinic.location.pk}", {"version": appointment.version}, **HTMX
    )
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == "arrived"
    assert "<html" not in response.content.decode()  # the board's fragment
    frozen_clock(at(MONDAY, 9, 30))
    body = desk.get(url, **HTMX).content.decode()
    assert re.search(r'data-testid="arrival-wait">25 min<', body)
    assert "<strong>1</strong> arrived" in body
    # Twice: refused with the reason, on the board.
    again = desk.post(f"{check_in}?location={clinic.location.pk}", {"version": appointment.version}, **HTMX)
    assert again.status_code == 409
    assert "cannot become arrived" in again.content.decode()
    # Without htmx: back to the board with a message.
    plain = desk.post(
        reverse("scheduling:arrivals_check_in", args=[later.pk]),
        {"version": later.version, "location": clinic.location.pk},
    )
    assert plain.status_code == 302
    assert plain["Location"] == f"{url}?location={clinic.location.pk}"
    later.refresh_from_db()
    assert later.status == "arrived"


# --- booking from a sentence -----------------------------------------------------------------------------


def test_a_sentence_fills_the_search_and_lists_matching_times(clinic, desk):
    patient = clinic.patient()
    response = desk.get(
        reverse("scheduling:book"),
        {"q": "next new-patient cardiology visit near Riverside on Tuesday morning", "patient": patient.pk},
    )
    body = response.content.decode()
    assert response.status_code == 200
    understood = re.search(r'data-testid="understood">(.*?)</div>', body, re.S)
    assert understood is not None
    assert "visit type: New patient visit; specialty: Cardiology; location: Riverside Main Clinic" in body
    assert "days: Tue" in body
    assert "until 11:59" in body
    times = re.findall(r"<strong>(\w{3} \d+ \w{3}, \d\d:\d\d)</strong>\s*&middot; ([^&]+)&middot;", body)
    assert times, body
    assert all(when.startswith("Tue 2 Mar") or when.startswith("Tue") for when, _ in times)
    assert all("Cora Heart, MD" in who for _, who in times)
    assert all(int(when[-5:-3]) < 12 for when, _ in times)
    assert f'<option value="{clinic.new_patient.pk}" selected>' in body  # the form is filled in


def test_a_sentence_that_names_no_visit_type_says_so(clinic, desk):
    body = desk.get(reverse("scheduling:slots"), {"q": "something near Northside"}).content.decode()
    assert "Which visit type?" in body
    assert "Not understood: something, northside." in body


def test_understanding_is_plain_word_matching_against_the_organizations_names():
    vocabulary = search_text.Vocabulary(
        visit_types=[
            search_text.VisitTypeWords(1, "New patient visit", "new-patient", "new", "in_person"),
            search_text.VisitTypeWords(2, "Follow-up visit", "follow-up", "any", "in_person"),
            search_text.VisitTypeWords(3, "Video follow-up", "video-follow-up", "any", "telehealth"),
        ],
        practitioners=[
            search_text.PractitionerWords(10, "Cora", "Heart", "cardiology", "Cardiology"),
            search_text.PractitionerWords(11, "Finn", "Family", "family_medicine", "Family medicine"),
        ],
        locations=[
            search_text.LocationWords(20, "Riverside Family Health Center", "Yonkers"),
            search_text.LocationWords(21, "Riverside Hospital, 5 North Medical Unit", "White Plains"),
        ],
    )
    found = search_text.understand("video follow up with a cardiologist, afternoons, Mon or Wed", vocabulary)
    assert found.visit_type_id == 3
    assert found.practitioner_ids == [10]
    assert found.modality == "telehealth"
    assert found.weekdays == frozenset({0, 2})
    assert (found.earliest, found.latest) == (dt.time(12), dt.time(16, 59))
    assert found.unknown == []
    by_name = search_text.understand("follow-up with Dr. Family in White Plains", vocabulary)
    assert (by_name.visit_type_id, by_name.practitioner_ids, by_name.location_id) == (2, [11], 21)
    vague = search_text.understand("new patient at Riverside", vocabulary)
    assert vague.visit_type_id == 1
    assert vague.location_id is None  # both locations are "Riverside"
    assert "name one more precisely" in "; ".join(vague.understood)
