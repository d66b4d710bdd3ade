"""Scheduling setup pages as a scheduling manager (a coordinator) uses them: each create form saves
through its service; each bad input is shown on the form with its status and changes nothing; only
holders of SCHEDULE_MANAGE get in, and another organization's things answer 404.

The clinic (tests/scheduling/conftest.py): Riverside Main Clinic, New York time; Dr. Heart and Dr. Family
work Mon-Fri 08:00-12:00 and 13:00-17:00 from 1 Jan 2027; the clock stands at Monday 1 March 2027 07:00."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pytest
from django.urls import reverse

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from caredesk.scheduling import selectors, services
from caredesk.scheduling.models import (
    AvailabilityException,
    AvailabilityTemplate,
    AvailabilityWindow,
    Resource,
    VisitType,
)
from caredesk.scheduling.setup_views import week_grid, window_summaries
from tests.practitioners.conftest import valid_npi

from .conftest import MONDAY, NY

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def manager(client_as, make_user, org):
    return client_as(make_user(Role.COORDINATOR, org))


def url(name: str, *args: Any) -> str:
    return reverse(f"scheduling:{name}", args=args)


def counts() -> tuple[int, int, int, int, int]:
    return (
        Resource.objects.count(),
        VisitType.objects.count(),
        AvailabilityTemplate.objects.count(),
        AvailabilityWindow.objects.count(),
        AvailabilityException.objects.count(),
    )


def listed(response: Any) -> str:
    """The list table of a setup page (without the messages above it)."""
    body = response.content.decode()
    return body[body.index("<table") :]


def audited(action: AuditAction) -> int:
    return AuditEvent.objects.filter(action=int(action)).count()


# --- who gets in ------------------------------------------------------------------------------------------

PAGES = [
    "setup",
    "setup_resources",
    "setup_resource_new",
    "setup_visit_types",
    "setup_visit_type_new",
    "setup_templates",
    "setup_template_new",
    "setup_exceptions",
    "setup_exception_new",
]


def test_a_manager_opens_every_setup_page_from_the_calendar(clinic, manager):
    calendar = manager.get(url("calendar")).content.decode()
    assert f'href="{url("setup")}"' in calendar
    for name in PAGES:
        response = manager.get(url(name))
        assert response.status_code == 200, name
        assert 'style="' not in response.content.decode(), name  # the CSP forbids inline styles


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.PHYSICIAN, Role.BILLING])
def test_roles_without_schedule_manage_are_refused(clinic, client_as, make_user, org, role):
    client = client_as(make_user(role, org))
    for name in PAGES:
        assert client.get(url(name)).status_code == 403, name
    before = counts()
    assert (
        client.post(
            url("setup_resource_new"), {"kind": "room", "location": clinic.location.pk, "name": "Sneaky"}
        ).status_code
        == 403
    )
    assert client.post(url("setup_resource_active", clinic.exam1.pk), {"active": "0"}).status_code == 403
    assert counts() == before
    if role == Role.FRONT_DESK:  # may see the calendar, but not the way into setup
        assert f'href="{url("setup")}"' not in client.get(url("calendar")).content.decode()


def test_another_organizations_manager_gets_404_and_changes_nothing(clinic, client_as, make_user, other_org):
    outsider = client_as(make_user(Role.COORDINATOR, other_org))
    exception = services.add_availability_exception(
        actor=clinic.admin,
        kind="holiday",
        starts_at=dt.datetime(2027, 5, 31, tzinfo=NY),
        ends_at=dt.datetime(2027, 6, 1, tzinfo=NY),
    )
    template = AvailabilityTemplate.objects.filter(resource=clinic.exam1).get()
    assert outsider.post(url("setup_resource_active", clinic.exam1.pk), {"active": "0"}).status_code == 404
    assert outsider.post(url("setup_visit_type_active", clinic.echo.pk), {"active": "0"}).status_code == 404
    assert (
        outsider.post(url("setup_template_end", template.pk), {"last_day": "2027-03-31"}).status_code == 404
    )
    assert outsider.post(url("setup_exception_remove", exception.pk)).status_code == 404
    assert Resource.objects.get(pk=clinic.exam1.pk).active
    assert VisitType.objects.get(pk=clinic.echo.pk).active
    assert AvailabilityTemplate.objects.get(pk=template.pk).effective_until is None
    assert AvailabilityException.objects.filter(pk=exception.pk).exists()
    listing = outsider.get(url("setup_resources")).content.decode()
    assert "Exam 1" not in listing


# --- resources --------------------------------------------------------------------------------------------


def test_a_manager_adds_an_operating_room_and_the_list_filters_by_kind_and_location(clinic, manager):
    response = manager.post(
        url("setup_resource_new"),
        {"kind": "room", "location": clinic.location.pk, "name": "OR 1", "category": "Operating"},
    )
    assert response.status_code == 302
    room = Resource.objects.get(name="OR 1")
    assert (room.kind, room.category, room.location_id, room.active) == (
        "room",
        "operating",
        clinic.location.pk,
        True,
    )
    assert audited(AuditAction.SCHEDULE_RESOURCE_CREATE) == 7  # the clinic's six, and this one
    rooms = manager.get(url("setup_resources"), {"kind": "room", "location": clinic.location.pk})
    body = rooms.content.decode()
    assert "OR 1" in body
    assert "Exam 2" in body
    assert "Echo cart" not in body
    equipment = manager.get(url("setup_resources"), {"kind": "equipment"}).content.decode()
    assert "Echo cart" in equipment
    assert "OR 1" not in equipment


def test_a_practitioner_resource_is_named_after_them(clinic, manager):
    surgeon = create_practitioner(
        actor=clinic.admin,
        data=PractitionerInput(
            given_name="Sam", family_name="Cutter", npi=valid_npi(9100), specialty="general_surgery"
        ),
    )
    response = manager.post(
        url("setup_resource_new"),
        {"kind": "practitioner", "location": clinic.location.pk, "practitioner": surgeon.pk},
    )
    assert response.status_code == 302
    assert Resource.objects.get(practitioner=surgeon).name.startswith("Sam Cutter")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"kind": "room", "name": "Exam 1"}, 409, "Riverside Main Clinic already has a room named Exam 1."),
        ({"kind": "room", "name": ""}, 400, "Name is required."),
        ({"kind": "practitioner", "name": "Dr. Nobody"}, 400, "Which practitioner?"),
        ({"kind": "spaceship", "name": "Enterprise"}, 400, "Select a valid choice."),
        ({"kind": "room", "name": "Exam 9", "location": "999999"}, 400, "Select a valid choice."),
    ],
)
def test_bad_resources_are_refused_with_the_reason(clinic, manager, data, status, message):
    before = counts()
    response = manager.post(url("setup_resource_new"), {"location": clinic.location.pk, **data})
    assert response.status_code == status
    assert message in response.content.decode()
    assert counts() == before


def test_withdrawing_a_resource_stops_it_being_offered_and_putting_it_back_restores_it(clinic, manager):
    query = selectors.SlotQuery(visit_type_id=clinic.echo.pk, first_day=TUESDAY, limit=1)
    assert selectors.find_slots(actor=clinic.desk, query=query)
    response = manager.post(url("setup_resource_active", clinic.echo_machine.pk), {"active": "0"})
    assert response.status_code == 302
    assert not Resource.objects.get(pk=clinic.echo_machine.pk).active
    assert audited(AuditAction.SCHEDULE_RESOURCE_CHANGED) == 1
    assert selectors.find_slots(actor=clinic.desk, query=query) == []
    withdrawn = listed(manager.get(url("setup_resources"), {"status": "inactive"}))
    assert "Echo cart" in withdrawn
    assert "Exam 1" not in withdrawn
    assert (
        manager.post(url("setup_resource_active", clinic.echo_machine.pk), {"active": "1"}).status_code == 302
    )
    assert selectors.find_slots(actor=clinic.desk, query=query)
    assert (
        manager.post(url("setup_resource_active", clinic.echo_machine.pk), {"active": "x"}).status_code == 400
    )


# --- visit types ------------------------------------------------------------------------------------------


def visit_type_post(clinic: Any, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Knee surgery",
        "code": "knee",
        "duration_minutes": "90",
        "buffer_before_minutes": "15",
        "buffer_after_minutes": "30",
        "slot_step_minutes": "30",
        "modality": "in_person",
        "eligibility": "established",
        "min_notice_minutes": "1440",
        "max_days_ahead": "90",
        "practitioners": [clinic.heart.pk],
        "req-TOTAL_FORMS": "4",
        "req-INITIAL_FORMS": "0",
        "req-0-kind": "practitioner",
        "req-1-kind": "room",
        "req-1-category": "procedure",
        "req-2-kind": "equipment",
        "req-2-resource": str(clinic.echo_machine.pk),
    }
    data.update(fields)
    return data


def test_a_manager_adds_a_visit_type_with_its_resources_and_booking_rules(clinic, manager):
    response = manager.post(url("setup_visit_type_new"), visit_type_post(clinic))
    assert response.status_code == 302, response.content.decode()
    knee = VisitType.objects.get(code="knee")
    assert (knee.duration_minutes, knee.buffer_before_minutes, knee.buffer_after_minutes) == (90, 15, 30)
    assert (knee.eligibility, knee.min_notice_minutes, knee.max_days_ahead) == ("established", 1440, 90)
    assert [(r.kind, r.resource_id, r.category) for r in knee.requirements.all()] == [
        ("practitioner", None, ""),
        ("room", None, "procedure"),
        ("equipment", clinic.echo_machine.pk, ""),
    ]
    assert list(knee.practitioners.all()) == [clinic.heart]
    listing = manager.get(url("setup_visit_types"), {"eligibility": "established"}).content.decode()
    assert "Knee surgery" in listing
    assert "Follow-up visit" not in listing
    assert "Echo cart" in listing
    assert "a room (procedure)" in listing


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"duration_minutes": "2"}, 400, "The duration must be a whole number from 5 to 1440."),
        ({"buffer_after_minutes": "-5"}, 400, "The buffer after must be a whole number from 0 to 240."),
        ({"max_days_ahead": "0"}, 400, "The maximum days ahead must be a whole number from 1 to 730."),
        ({"code": "knee surgery!"}, 400, "A code holds letters, digits, - and _ only."),
        ({"code": "echo"}, 409, "A visit type with code echo exists."),
        (
            {
                "req-0-kind": "",
                "req-1-kind": "",
                "req-1-category": "",
                "req-2-kind": "",
                "req-2-resource": "",
            },
            400,
            "A visit type needs at least one resource.",
        ),
        ({"req-2-kind": "room"}, 400, "No room resource with id"),  # the echo cart is no room
        ({"req-2-resource": "999999"}, 400, "Select a valid choice."),
        ({"practitioners": ["999999"]}, 400, "Select a valid choice."),
    ],
)
def test_bad_visit_types_are_refused_with_the_reason(clinic, manager, fields, status, message):
    before = counts()
    response = manager.post(url("setup_visit_type_new"), visit_type_post(clinic, **fields))
    assert response.status_code == status
    assert message in response.content.decode()
    assert counts() == before


def test_withdrawing_a_visit_type_stops_booking_it(clinic, manager):
    assert manager.post(url("setup_visit_type_active", clinic.echo.pk), {"active": "0"}).status_code == 302
    assert not VisitType.objects.get(pk=clinic.echo.pk).active
    assert "Echocardiogram" not in listed(manager.get(url("setup_visit_types")))
    assert "Echocardiogram" in listed(manager.get(url("setup_visit_types"), {"status": "inactive"}))
    assert audited(AuditAction.SCHEDULE_VISIT_TYPE_CHANGED) == 1


# --- weekly templates -------------------------------------------------------------------------------------


def template_post(target: Resource, rows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resource": target.pk,
        "name": "Spring",
        "effective_from": "2027-03-01",
        "effective_until": "",
        "win-TOTAL_FORMS": "6",
        "win-INITIAL_FORMS": "0",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"win-{index}-{key}"] = value
    data.update(fields)
    return data


def room(clinic: Any, name: str = "Exam 3") -> Resource:
    return services.create_resource(
        actor=clinic.admin, kind="room", location_id=clinic.location.pk, name=name, category="exam"
    )


def test_a_manager_adds_weekly_hours_and_sees_them_as_a_week_grid(clinic, manager):
    exam3 = room(clinic)
    rows = [
        {"days": ["0", "1", "2", "3", "4"], "start": "08:00", "end": "12:00", "week_interval": "1"},
        {
            "days": ["5"],
            "start": "09:00",
            "end": "11:30",
            "week_interval": "2",
            "reserved_for": str(clinic.new_patient.pk),
        },
    ]
    response = manager.post(url("setup_template_new"), template_post(exam3, rows))
    assert response.status_code == 302, response.content.decode()
    template = AvailabilityTemplate.objects.get(resource=exam3)
    assert template.location_id == clinic.location.pk  # the room's own location
    windows = list(template.windows.order_by("weekday"))
    assert [(w.weekday, w.start_time, w.end_time) for w in windows][:2] == [
        (0, dt.time(8), dt.time(12)),
        (1, dt.time(8), dt.time(12)),
    ]
    saturday = windows[-1]
    assert (saturday.weekday, saturday.week_interval, saturday.reserved_for_id) == (
        5,
        2,
        clinic.new_patient.pk,
    )
    assert audited(AuditAction.SCHEDULE_TEMPLATE_CREATE) == 7
    page = manager.get(url("setup_templates"), {"resource": exam3.pk}).content.decode()
    assert "Exam 3 · Spring" in page
    assert 'class="wk-open" title="Mon 08:00-12:00"' in page
    assert "wk-open wk-reserved wk-alternate" in page  # the Saturday new-patient block, every 2 weeks
    assert "Sat 09:00-11:30, every 2 weeks, reserved for New patient visit" in page
    assert "Mon-Fri 08:00-12:00" in page
    # The new hours are bookable: a visit that needs Exam 3 starts on Monday at 08:00.
    needs_exam3 = services.create_visit_type(
        actor=clinic.admin,
        data=services.VisitTypeInput(
            name="In Exam 3",
            code="exam-3",
            duration_minutes=20,
            requirements=[
                services.RequirementInput("practitioner"),
                services.RequirementInput("room", exam3.pk),
            ],
            practitioner_ids=[clinic.heart.pk],
        ),
    )
    slots = selectors.find_slots(
        actor=clinic.desk, query=selectors.SlotQuery(visit_type_id=needs_exam3.pk, first_day=MONDAY, limit=1)
    )
    assert slots[0].start == dt.datetime(2027, 3, 1, 8, tzinfo=NY)


def test_an_overlapping_template_for_the_same_resource_is_refused_with_where_it_overlaps(clinic, manager):
    before = counts()
    rows = [{"days": ["0"], "start": "11:00", "end": "14:00", "week_interval": "1"}]
    response = manager.post(url("setup_template_new"), template_post(clinic.dr_heart, rows))
    assert response.status_code == 400
    expected = "Monday 11:00-14:00 overlaps Cora Heart, MD's template 'Clinic week' (first on 2027-03-01)."
    assert expected in html.unescape(response.content.decode())
    assert counts() == before
    # After the other template ends, the same hours fit.
    services.end_availability_template(
        actor=clinic.admin,
        template_id=AvailabilityTemplate.objects.get(resource=clinic.dr_heart).pk,
        last_day=dt.date(2027, 3, 5),
    )
    later = template_post(clinic.dr_heart, rows, effective_from="2027-03-08")
    assert manager.post(url("setup_template_new"), later).status_code == 302


@pytest.mark.parametrize(
    ("rows", "fields", "message"),
    [
        (
            [
                {"days": ["0", "1"], "start": "08:00", "end": "12:00"},
                {"days": ["1"], "start": "10:00", "end": "13:00"},
            ],
            {},
            "Windows 2 and 3 overlap.",
        ),
        (
            [{"days": ["2"], "start": "12:00", "end": "08:00"}],
            {},
            "Window 1: it ends at 08:00, not after 12:00.",
        ),
        (
            [{"days": ["2"], "start": "08:00", "end": "12:00", "week_interval": "9"}],
            {},
            "repeat every 1 to 8 weeks",
        ),
        (
            [{"days": ["2"], "start": "08:00", "end": "12:00"}],
            {"effective_until": "2027-02-01"},
            "The last day is before the first day.",
        ),
        ([], {}, "A template needs at least one window of hours."),
        ([{"days": ["2"], "start": "08:00"}], {}, "Give a start and an end time."),
        ([{"start": "08:00", "end": "12:00"}], {}, "Pick the days these hours are on."),
        (
            [{"days": ["2"], "start": "08:00", "end": "12:00"}],
            {"resource": "999999"},
            "Select a valid choice.",
        ),
        (
            [{"days": ["2"], "start": "08:00", "end": "12:00", "reserved_for": "999999"}],
            {},
            "Select a valid choice.",
        ),
        ([{"days": ["2"], "start": "8 o'clock", "end": "12:00"}], {}, "Enter a valid time."),
    ],
)
def test_bad_templates_are_refused_with_the_reason_and_change_nothing(clinic, manager, rows, fields, message):
    exam3 = room(clinic)
    before = counts()
    response = manager.post(url("setup_template_new"), template_post(exam3, rows, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before


def test_overlap_messages_come_with_the_windows_numbered(clinic, manager):
    rows = [
        {"days": ["0", "1"], "start": "08:00", "end": "12:00"},
        {"days": ["1"], "start": "10:00", "end": "13:00"},
    ]
    body = manager.post(url("setup_template_new"), template_post(room(clinic), rows)).content.decode()
    assert "2 = Tue 08:00-12:00 (row 1); 3 = Tue 10:00-13:00 (row 2)" in body


def test_a_room_template_elsewhere_than_the_room_is_refused(clinic, manager):
    north = Location.objects.create(organization=clinic.org, name="Northside", timezone="America/New_York")
    rows = [{"days": ["2"], "start": "08:00", "end": "12:00"}]
    before = counts()
    response = manager.post(url("setup_template_new"), template_post(room(clinic), rows, location=north.pk))
    assert response.status_code == 400
    assert "Exam 3 is at another location." in response.content.decode()
    assert counts()[2:] == before[2:]


def test_ending_a_template_early(clinic, manager):
    template = AvailabilityTemplate.objects.get(resource=clinic.exam2)
    refused = manager.post(url("setup_template_end", template.pk), {"last_day": "2026-12-31"})
    assert refused.status_code == 400
    assert (
        "The last day is before the template&#x27;s first day (Fri 01 Jan 2027)." in refused.content.decode()
    )
    assert AvailabilityTemplate.objects.get(pk=template.pk).effective_until is None
    assert manager.post(url("setup_template_end", template.pk), {"last_day": "bad"}).status_code == 400
    done = manager.post(url("setup_template_end", template.pk), {"last_day": "2027-03-02"})
    assert done.status_code == 302
    assert AvailabilityTemplate.objects.get(pk=template.pk).effective_until == dt.date(2027, 3, 2)
    assert audited(AuditAction.SCHEDULE_TEMPLATE_CHANGED) == 1
    later = manager.post(url("setup_template_end", template.pk), {"last_day": "2027-04-01"})
    assert later.status_code == 400
    assert "it can end earlier, not later" in later.content.decode()


# --- exceptions -------------------------------------------------------------------------------------------


def exception_post(clinic: Any, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "time_off",
        "applies_to": "resource",
        "resource": clinic.dr_heart.pk,
        "start_date": "2027-03-02",
        "start_time": "",
        "end_date": "2027-03-02",
        "end_time": "",
        "timezone": "",
        "reason": "Conference",
    }
    data.update(fields)
    return data


def heart_slots_on(clinic: Any, day: dt.date) -> list[Any]:
    query = selectors.SlotQuery(
        visit_type_id=clinic.follow_up.pk, practitioner_id=clinic.heart.pk, first_day=day, limit=50
    )
    return [
        s
        for s in selectors.find_slots(actor=clinic.desk, query=query)
        if s.start.astimezone(NY).date() == day
    ]


def test_a_days_time_off_takes_the_whole_local_day_away(clinic, manager):
    assert heart_slots_on(clinic, TUESDAY)
    response = manager.post(url("setup_exception_new"), exception_post(clinic))
    assert response.status_code == 302
    exception = AvailabilityException.objects.get()
    assert exception.starts_at == dt.datetime(2027, 3, 2, tzinfo=NY)
    assert exception.ends_at == dt.datetime(2027, 3, 3, tzinfo=NY)
    assert (exception.resource_id, exception.reason) == (clinic.dr_heart.pk, "Conference")
    assert heart_slots_on(clinic, TUESDAY) == []
    listing = manager.get(url("setup_exceptions")).content.decode()
    assert "Conference" in listing
    assert "Tue 2 Mar 2027 00:00" in listing


def test_a_partial_day_a_closure_and_a_holiday(clinic, manager):
    partial = exception_post(
        clinic, kind="partial_day", start_time="13:00", end_time="17:00", reason="Teaching"
    )
    assert manager.post(url("setup_exception_new"), partial).status_code == 302
    starts = {s.start.astimezone(NY).time() for s in heart_slots_on(clinic, TUESDAY)}
    assert dt.time(8) in starts
    assert dt.time(13) not in starts
    closure = exception_post(
        clinic,
        kind="closure",
        applies_to="location",
        location=clinic.location.pk,
        start_date="2027-03-03",
        end_date="2027-03-03",
    )
    assert manager.post(url("setup_exception_new"), closure).status_code == 302
    holiday = exception_post(
        clinic,
        kind="holiday",
        applies_to="organization",
        start_date="2027-03-04",
        end_date="2027-03-04",
        reason="Founders' day",
    )
    assert manager.post(url("setup_exception_new"), holiday).status_code == 302
    rows = {(e.kind, e.resource_id, e.location_id) for e in AvailabilityException.objects.all()}
    assert rows == {
        ("partial_day", clinic.dr_heart.pk, None),
        ("closure", None, clinic.location.pk),
        ("holiday", None, None),
    }
    assert heart_slots_on(clinic, MONDAY + dt.timedelta(days=2)) == []
    assert heart_slots_on(clinic, MONDAY + dt.timedelta(days=3)) == []
    closures = manager.get(url("setup_exceptions"), {"kind": "closure"}).content.decode()
    assert "All of Riverside Main Clinic" in closures
    assert "Teaching" not in closures


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"end_date": "2027-03-01"}, "The end is not after the start."),
        ({"start_time": "15:00", "end_time": "09:00"}, "The end is not after the start."),
        ({"timezone": "Mars/Olympus_Mons"}, "Unknown time zone &#x27;Mars/Olympus_Mons&#x27;"),
        (
            {
                "start_date": "2027-03-14",
                "end_date": "2027-03-14",
                "start_time": "02:30",
                "end_time": "04:00",
            },
            "14 Mar 2027 02:30 does not exist in America/New_York",
        ),
        ({"resource": ""}, "Which resource?"),
        ({"applies_to": "location"}, "Which location?"),
        ({"resource": "999999"}, "Select a valid choice."),
        ({"kind": "vacation"}, "Select a valid choice."),
        ({"start_date": "next tuesday"}, "Enter a valid date."),
    ],
)
def test_bad_exceptions_are_refused_with_the_reason(clinic, manager, fields, message):
    before = counts()
    response = manager.post(url("setup_exception_new"), exception_post(clinic, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before


def test_an_exception_in_another_time_zone_is_stored_at_the_instant_meant(clinic, manager):
    fields = {"timezone": "America/Los_Angeles", "start_time": "06:00", "end_time": "07:00"}
    assert manager.post(url("setup_exception_new"), exception_post(clinic, **fields)).status_code == 302
    exception = AvailabilityException.objects.get()
    assert exception.starts_at.astimezone(NY) == dt.datetime(2027, 3, 2, 9, 0, tzinfo=NY)


def test_removing_an_exception_gives_the_hours_back(clinic, manager):
    manager.post(url("setup_exception_new"), exception_post(clinic))
    exception = AvailabilityException.objects.get()
    assert heart_slots_on(clinic, TUESDAY) == []
    assert manager.post(url("setup_exception_remove", exception.pk)).status_code == 302
    assert not AvailabilityException.objects.exists()
    assert heart_slots_on(clinic, TUESDAY)
    removed = AuditEvent.objects.get(action=int(AuditAction.SCHEDULE_EXCEPTION_REMOVED))
    assert removed.detail["reason"] == "Conference"
    assert manager.post(url("setup_exception_remove", exception.pk)).status_code == 404


# --- the week grid ----------------------------------------------------------------------------------------


def test_the_week_grid_marks_open_partly_open_reserved_and_alternate_cells():
    windows = [
        AvailabilityWindow(weekday=0, start_time=dt.time(8), end_time=dt.time(9, 15)),
        AvailabilityWindow(weekday=2, start_time=dt.time(8, 30), end_time=dt.time(9), week_interval=2),
        AvailabilityWindow(
            weekday=6, start_time=dt.time(9), end_time=dt.time(10), reserved_for=VisitType(pk=7, name="New")
        ),
    ]
    grid = week_grid(windows)
    assert [row.label for row in grid] == ["08:00", "", "09:00", ""]
    monday = [row.cells[0].css for row in grid]
    assert monday == ["wk-open", "wk-open", "wk-part", ""]
    assert [row.cells[2].css for row in grid] == ["", "wk-open wk-alternate", "", ""]
    assert [row.cells[6].css for row in grid] == ["", "", "wk-open wk-reserved", "wk-open wk-reserved"]
    assert grid[0].cells[0].title == "Mon 08:00-09:15"
    assert week_grid([]) == []


def test_window_summaries_say_the_same_hours_on_several_days_once():
    def window(day: int, start: int, end: int, **kwargs: Any) -> AvailabilityWindow:
        return AvailabilityWindow(weekday=day, start_time=dt.time(start), end_time=dt.time(end), **kwargs)

    windows = [window(d, 8, 12) for d in range(5)] + [window(0, 13, 17), window(2, 13, 17)]
    windows.append(window(5, 9, 11, week_interval=2))
    assert window_summaries(windows) == [
        "Mon-Fri 08:00-12:00",
        "Mon, Wed 13:00-17:00",
        "Sat 09:00-11:00, every 2 weeks",
    ]
