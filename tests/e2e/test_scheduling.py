"""The scheduler's calendar in a real browser, on the seeded demo clinic: click an empty time to book,
drag an appointment to another time, drag one onto a taken time and be refused (nothing changes), and
check a patient in on the arrivals board.

Times come from the slot search on a weekday a few days ahead, so the demo's own bookings never collide
with the ones a test makes; the arrivals test stops scheduling's clock early on that day."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.patients.models import Patient
from caredesk.scheduling import clock, selectors, services
from caredesk.scheduling.models import Appointment, Resource, VisitType
from tests.e2e.nav import follow

pytestmark = pytest.mark.e2e


@dataclass
class Day:
    actor: Actor
    location: Location
    day: dt.date
    resource: Resource
    visit_type: VisitType
    starts: list[dt.datetime]  # free start times of the practitioner that day, in order
    patients: list[Patient]

    @property
    def calendar_url(self) -> str:
        return f"/scheduling/?location={self.location.pk}&date={self.day}&resource={self.resource.pk}"

    def book(self, start: dt.datetime, patient: Patient) -> Appointment:
        assert self.resource.practitioner_id is not None
        return services.book_appointment(
            actor=self.actor,
            request=services.BookingRequest(
                patient_id=patient.pk,
                visit_type_id=self.visit_type.pk,
                location_id=self.location.pk,
                start=start,
                practitioner_id=self.resource.practitioner_id,
            ),
        )


def _working_day(today: dt.date) -> dt.date:
    """A weekday two to four days ahead (the demo's holiday is two weeks out)."""
    day = today + dt.timedelta(days=2)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _plan() -> Day:
    org = Organization.objects.get(short_code="RSH")
    actor = system_actor(
        organization_id=org.pk,
        permissions=frozenset(
            str(p) for p in (Permission.SCHEDULE_VIEW, Permission.APPOINTMENT_BOOK, Permission.PATIENT_VIEW)
        ),
    )
    location = Location.objects.filter(organization=org).order_by("pk").first()
    assert location is not None
    day = _working_day(clock.now().astimezone(ZoneInfo(location.timezone)).date())
    visit_type = VisitType.objects.get(organization=org, code="follow-up")
    first = selectors.find_slots(
        actor=actor,
        query=selectors.SlotQuery(
            visit_type_id=visit_type.pk, location_id=location.pk, first_day=day, last_day=day, limit=1
        ),
    )[0]
    resource = Resource.objects.get(pk=next(r.id for r in first.resources if r.kind == "practitioner"))
    slots = selectors.find_slots(
        actor=actor,
        query=selectors.SlotQuery(
            visit_type_id=visit_type.pk,
            location_id=location.pk,
            practitioner_id=resource.practitioner_id,
            first_day=day,
            last_day=day,
            limit=30,
        ),
    )
    assert len(slots) >= 6
    patients = list(Patient.objects.filter(organization=org, status="active").order_by("pk")[:3])
    return Day(actor, location, day, resource, visit_type, [s.start for s in slots], patients)


def _cell(page: Page, plan: Day, start: dt.datetime):
    return page.locator(f'td[data-start="{start.isoformat()}"][data-resource="{plan.resource.pk}"]')


def _block(page: Page, appointment: Appointment):
    return page.locator(f'a[data-appointment="{appointment.pk}"]')


def test_click_an_empty_time_to_book_and_the_block_appears(page: Page, sign_in) -> None:
    plan = _plan()
    when = next(s for s in plan.starts[2:] if s.minute == 0)  # a row of the grid whatever its step
    sign_in("frontdesk")
    page.goto(plan.calendar_url)
    _cell(page, plan, when).get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/scheduling/book/\?resource="))
    # The form comes filled in with where, who and from when.
    expect(page.get_by_label("Location")).to_have_value(str(plan.location.pk))
    expect(page.get_by_label("Practitioner")).to_have_value(str(plan.resource.practitioner_id))
    expect(page.get_by_label("Not before")).to_have_value(re.compile(rf"^{when:%H:%M}"))
    page.get_by_label("Patient MRN").fill(plan.patients[0].mrn)
    page.get_by_label("Visit type").select_option(str(plan.visit_type.pk))
    page.get_by_test_id("find-times").click()
    first = page.get_by_test_id("slot").first
    expect(first).to_contain_text(f"{when:%H:%M}")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page).to_have_url(re.compile(r"/scheduling/appointments/\d+/$"))
    appointment = Appointment.objects.get(patient=plan.patients[0], starts_at=when)
    page.goto(plan.calendar_url)
    expect(_cell(page, plan, when).locator(f'[data-appointment="{appointment.pk}"]')).to_be_visible()


def test_drag_an_appointment_to_a_later_time_moves_it(page: Page, sign_in) -> None:
    plan = _plan()
    appointment = plan.book(plan.starts[0], plan.patients[0])
    target = plan.starts[4]
    sign_in("frontdesk")
    page.goto(plan.calendar_url)
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{appointment.pk}/move/")) as answer:
        _block(page, appointment).drag_to(_cell(page, plan, target), target_position={"x": 8, "y": 4})
    assert answer.value.status == 200
    expect(page.get_by_test_id("calendar-status")).to_contain_text(f"Moved to {target:%a %d %b, %H:%M}")
    expect(_cell(page, plan, target).locator(f'[data-appointment="{appointment.pk}"]')).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.starts_at == target
    assert appointment.version == 2


def test_drag_onto_a_taken_time_is_refused_and_nothing_moves(page: Page, sign_in) -> None:
    plan = _plan()
    appointment = plan.book(plan.starts[0], plan.patients[0])
    taken = plan.book(plan.starts[4], plan.patients[1])
    sign_in("frontdesk")
    page.goto(plan.calendar_url)
    occupied = page.locator("td.cal-appointments").filter(has=_block(page, taken))
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{appointment.pk}/move/")) as answer:
        _block(page, appointment).drag_to(occupied, target_position={"x": 8, "y": 4})
    assert answer.value.status == 409
    status = page.get_by_test_id("calendar-status")
    expect(status).to_contain_text("already booked at an overlapping time")
    expect(status).to_contain_text(f"{plan.starts[4]:%H:%M}")
    # The block stayed where it was, and so did the appointment.
    expect(
        _cell(page, plan, plan.starts[0]).locator(f'[data-appointment="{appointment.pk}"]')
    ).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.starts_at == plan.starts[0]
    assert appointment.version == 1


def test_the_arrivals_board_checks_a_patient_in(page: Page, sign_in, monkeypatch) -> None:
    plan = _plan()
    appointment = plan.book(plan.starts[1], plan.patients[2])
    early = dt.datetime.combine(plan.day, dt.time(7, 30), tzinfo=ZoneInfo(plan.location.timezone))
    monkeypatch.setattr(clock, "now", lambda: early.astimezone(dt.UTC))  # the board shows "today"
    sign_in("frontdesk")
    page.goto(f"/scheduling/arrivals/?location={plan.location.pk}")
    row = page.locator(f'[data-testid="arrival-row"][data-appointment="{appointment.pk}"]')
    expect(row.get_by_test_id("arrival-status")).to_have_text("Booked")
    with page.expect_response(lambda r: "/check-in/" in r.url) as answer:
        row.get_by_role("button", name="Check in").click()
    assert answer.value.status == 200
    expect(row.get_by_test_id("arrival-status")).to_have_text("Arrived")
    expect(row.get_by_test_id("arrival-wait")).to_have_text("0 min")
    expect(row.get_by_role("button", name="Check in")).to_have_count(0)
    appointment.refresh_from_db()
    assert appointment.status == "arrived"


def test_the_waitlist_overview_opens_from_the_navigation(page: Page, sign_in) -> None:
    org = Organization.objects.get(short_code="RSH")
    visit_type = VisitType.objects.get(organization=org, code="follow-up")
    sign_in("frontdesk")
    page.goto("/scheduling/")
    follow(page, "Waitlist")
    expect(page.get_by_role("heading", name="Waitlists")).to_be_visible()
    row = page.get_by_test_id("waitlist-row").filter(has_text=visit_type.name).first
    expect(row).to_be_visible()
    # Adding a patient starts here: choose the visit type, then its list's form opens.
    page.get_by_label("Visit type").select_option(label=visit_type.name)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"Waitlist: {visit_type.name}")).to_be_visible()
    expect(page.get_by_label("Patient MRN")).to_be_visible()
    assert page.url.endswith(f"/scheduling/waitlist/{visit_type.pk}/#add")
