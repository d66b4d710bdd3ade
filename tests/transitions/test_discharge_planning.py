"""Discharge planning: the checklist of a discharged inpatient stay (ticking items with who, when and a
note; the follow-up appointment, education given and the records package they point at; progress; the
timeline and the audit trail), its htmx section, its JSON API, and the printable transfer summary."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user, create_api_token
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import DomainError, Forbidden, ValidationFailed
from caredesk.education import services as education
from caredesk.patients import services as patient_services
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.models import Appointment
from caredesk.transitions import selectors, services
from caredesk.transitions.errors import ChecklistItemNotFound, EncounterNotFound, EncounterNotLinked
from caredesk.transitions.models import ChecklistItem, Encounter, TransferPackage
from tests.worklist.conftest import staff_user

from .conftest import adt, hospital_id, local, person

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
DISCHARGE = local(2026, 11, 25, 14)


@pytest.fixture
def discharged(receive, patient, clock_at) -> Encounter:
    receive(
        adt(
            "A03",
            "D1",
            who=person(hospital_id(patient.mrn, authority="RSH")),
            discharge=DISCHARGE,
            disposition="01",
        )
    )
    return Encounter.objects.get()


@pytest.fixture
def follow_up(org, patient, coord) -> Appointment:
    """A visit booked for the patient after the discharge (tomorrow, real time)."""
    admin = actor_for_user(staff_user(org, Role.ADMINISTRATOR, "t-admin"))
    location = Location.objects.filter(organization=org).first()
    room = scheduling.create_resource(actor=admin, kind="room", location_id=location.pk, name="Room 1")
    visit_type = scheduling.create_visit_type(
        actor=admin,
        data=scheduling.VisitTypeInput(
            name="Post-discharge visit",
            code="post-discharge",
            duration_minutes=30,
            requirements=[scheduling.RequirementInput("room")],
            max_days_ahead=365,
        ),
    )
    zone = ZoneInfo(location.timezone)
    today = dt.datetime.now(zone).date()
    scheduling.create_availability_template(
        actor=admin,
        data=scheduling.TemplateInput(
            resource_id=room.pk,
            location_id=location.pk,
            name="Always",
            effective_from=today - dt.timedelta(days=1),
            windows=[scheduling.WindowInput(day, dt.time(0), dt.time(23, 59)) for day in range(7)],
        ),
    )
    return scheduling.book_appointment(
        actor=coord,
        request=scheduling.BookingRequest(
            patient_id=patient.pk,
            visit_type_id=visit_type.pk,
            location_id=location.pk,
            start=dt.datetime.combine(today + dt.timedelta(days=2), dt.time(10), tzinfo=zone),
        ),
    )


def package_for(coord, encounter: Encounter, n: int = 1) -> TransferPackage:
    return services.record_transfer_package(
        actor=coord, encounter_id=encounter.pk, identifier=f"urn:uuid:0000-{n}", sha256="a" * 64, sections={}
    )


# --- services -----------------------------------------------------------------------------------------


def test_a_discharge_has_five_open_items(coord, discharged):
    checklist = selectors.get_discharge_checklist(actor=coord, encounter_id=discharged.pk)
    assert checklist.applies
    assert [r.code for r in checklist.rows] == [
        "follow_up",
        "medications",
        "equipment",
        "education",
        "records",
    ]
    assert {r.status for r in checklist.rows} == {"open"}
    assert (checklist.decided, checklist.total) == (0, 5)


def test_ticking_items_records_who_when_and_moves_the_progress(coord, discharged, follow_up):
    item = services.set_checklist_item(
        actor=coord, encounter_id=discharged.pk, item="follow_up", status="done", appointment_id=follow_up.pk
    )
    assert item.decided_by_name == "Coordinator Tester"
    assert item.decided_at is not None
    services.set_checklist_item(
        actor=coord, encounter_id=discharged.pk, item="equipment", status="not_needed", note="Walks unaided"
    )
    checklist = selectors.get_discharge_checklist(actor=coord, encounter_id=discharged.pk)
    assert (checklist.decided, checklist.total) == (2, 5)
    assert [a.pk for a in checklist.appointments] == [follow_up.pk]
    assert discharged.events.filter(event_type="checklist").count() == 2
    audit = AuditEvent.objects.filter(
        action=AuditAction.DISCHARGE_ITEM_UPDATE, patient_id=discharged.patient_id
    )
    assert audit.count() == 2
    first = audit.order_by("pk").first()
    assert first.detail["before"] == {"status": "open"}
    assert first.detail["after"]["appointment_id"] == follow_up.pk


def test_reopening_clears_who_and_when(coord, discharged):
    services.set_checklist_item(actor=coord, encounter_id=discharged.pk, item="medications", status="done")
    item = services.set_checklist_item(
        actor=coord, encounter_id=discharged.pk, item="medications", status="open"
    )
    assert (item.status, item.decided_at, item.decided_by_name, item.version) == ("open", None, "", 2)
    assert ChecklistItem.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"item": "equipment", "status": "not_needed"}, "note"),
        ({"item": "medications", "status": "done", "appointment_id": 1}, "appointment"),
        ({"item": "follow_up", "status": "open", "appointment_id": 1}, "status"),
        ({"item": "records", "status": "done", "package_id": 1}, "package"),
        ({"item": "follow_up", "status": "finished"}, "status"),
    ],
)
def test_refusals_change_nothing(coord, discharged, changes, field):
    with pytest.raises(DomainError) as refused:
        services.set_checklist_item(actor=coord, encounter_id=discharged.pk, **changes)
    assert refused.value.field == field
    assert not ChecklistItem.objects.exists()


def test_an_unknown_item_or_someone_elses_appointment_is_refused(coord, discharged, follow_up, org):
    with pytest.raises(ChecklistItemNotFound):
        services.set_checklist_item(actor=coord, encounter_id=discharged.pk, item="laundry", status="done")
    with pytest.raises(ValidationFailed, match="not one of this patient's appointments"):
        services.set_checklist_item(
            actor=coord,
            encounter_id=discharged.pk,
            item="follow_up",
            status="done",
            appointment_id=follow_up.pk + 99,
        )


def test_records_sent_names_the_package_that_went_out(coord, discharged):
    package = package_for(coord, discharged)
    item = services.set_checklist_item(
        actor=coord, encounter_id=discharged.pk, item="records", status="done", package_id=package.pk
    )
    assert item.package == package
    assert AuditEvent.objects.filter(
        action=AuditAction.TRANSFER_PACKAGE_CREATE, patient_id=discharged.patient_id
    ).exists()


def test_only_discharge_planners_tick_and_only_linked_inpatient_stays_have_a_checklist(
    org, coord, discharged, receive, actor_of
):
    billing = actor_of(staff_user(org, Role.BILLING, "t-billing"))
    with pytest.raises(Forbidden):
        services.set_checklist_item(actor=billing, encounter_id=discharged.pk, item="records", status="done")
    receive(
        adt(
            "A03",
            "U1",
            who=person(hospital_id("H900"), family="Stranger"),
            visit_number="V900",
            discharge=DISCHARGE,
        )
    )
    unmatched = Encounter.objects.get(visit_number="V900")
    assert not selectors.get_discharge_checklist(actor=coord, encounter_id=unmatched.pk).applies
    with pytest.raises(EncounterNotLinked):
        services.set_checklist_item(actor=coord, encounter_id=unmatched.pk, item="records", status="done")
    receive(adt("A04", "O1", who=person(hospital_id("H123")), visit_number="V500", patient_class="O"))
    outpatient = Encounter.objects.get(visit_number="V500")
    with pytest.raises(ValidationFailed, match="inpatient"):
        services.set_checklist_item(actor=coord, encounter_id=outpatient.pk, item="records", status="done")


def test_another_organization_cannot_see_or_tick(discharged, other_org, actor_of):
    stranger = actor_of(staff_user(other_org, Role.COORDINATOR, "t-stranger"))
    with pytest.raises(EncounterNotFound):
        selectors.get_discharge_checklist(actor=stranger, encounter_id=discharged.pk)
    with pytest.raises(EncounterNotFound):
        services.set_checklist_item(actor=stranger, encounter_id=discharged.pk, item="records", status="done")


# --- pages ------------------------------------------------------------------------------------------------


@pytest.fixture
def browser(client_as, coordinator_user):
    return client_as(coordinator_user)


def test_the_encounter_page_shows_the_checklist_and_htmx_ticks_an_item(browser, discharged):
    page = browser.get(reverse("transitions:encounter", args=[discharged.pk])).content.decode()
    assert 'data-testid="discharge-checklist"' in page
    assert "0 of 5 done" in page
    url = reverse("transitions:checklist_item", args=[discharged.pk, "medications"])
    answer = browser.post(
        url, {"medications-status": "done", "medications-note": "Reviewed with pharmacy"}, headers=HTMX
    )
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "1 of 5 done" in html
    assert "Reviewed with pharmacy" in html
    assert "<html" not in html  # the section alone


def test_a_refusal_comes_back_on_the_item_with_400(browser, discharged):
    url = reverse("transitions:checklist_item", args=[discharged.pk, "equipment"])
    answer = browser.post(url, {"equipment-status": "not_needed"}, headers=HTMX)
    assert answer.status_code == 400
    assert "Say why the item is not needed." in answer.content.decode()
    assert not ChecklistItem.objects.exists()


def test_without_htmx_the_page_redirects_back(browser, discharged):
    url = reverse("transitions:checklist_item", args=[discharged.pk, "medications"])
    answer = browser.post(url, {"medications-status": "done"})
    assert answer.status_code == 302
    assert answer["Location"] == reverse("transitions:encounter", args=[discharged.pk])
    assert (
        browser.post(reverse("transitions:checklist_item", args=[discharged.pk, "laundry"]), {}).status_code
        == 404
    )


def test_a_nurse_ticks_the_front_desk_may_not(client_as, org, discharged):
    url = reverse("transitions:checklist_item", args=[discharged.pk, "education"])
    nurse = client_as(staff_user(org, Role.NURSE, "t-nurse"))
    assert nurse.post(url, {"education-status": "done"}).status_code == 302
    desk = client_as(staff_user(org, Role.FRONT_DESK, "t-desk"))
    assert desk.post(url, {"education-status": "open"}).status_code == 403


def test_the_printable_summary_shows_the_chart_the_stay_and_what_was_planned(
    browser, coord, discharged, follow_up, patient
):
    patient_services.add_problem(actor=coord, patient_id=patient.pk, icd10_code="I50.9")
    patient_services.add_medication(
        actor=coord, patient_id=patient.pk, name="Furosemide 40 mg tablet", dose="40 mg"
    )
    patient_services.add_allergy(actor=coord, patient_id=patient.pk, substance="Sulfa", reaction="Rash")
    material = education.add_material(
        actor=coord,
        title="Daily weights",
        language="en",
        reading_level="easy",
        source="Us",
        condition_codes="I50",
        body="Weigh daily.",
    )
    assignment = education.assign_material(actor=coord, patient_id=patient.pk, material_id=material.pk)
    education.record_delivery(actor=coord, assignment_id=assignment.pk, method="printed")
    services.set_checklist_item(actor=coord, encounter_id=discharged.pk, item="education", status="done")
    page = browser.get(reverse("transitions:summary", args=[discharged.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    for expected in (
        "Furosemide 40 mg tablet",
        "I50.9",
        "Sulfa: Rash",
        "Post-discharge visit",
        "Daily weights",
        "Education given: Done",
    ):
        assert expected in html, expected
    assert "data-print" in html
    assert AuditEvent.objects.filter(action=AuditAction.TRANSFER_SUMMARY_VIEW, patient_id=patient.pk).exists()


# --- the JSON API -------------------------------------------------------------------------------------------


@pytest.fixture
def api(client, coordinator_user):
    _token, secret = create_api_token(
        actor=actor_for_user(coordinator_user), username=coordinator_user.username
    )
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_the_api_reads_and_ticks_the_checklist(api, discharged):
    url = f"/api/v1/encounters/{discharged.pk}/discharge-checklist"
    read = api.get(url).json()
    assert read["applies"] is True
    assert [i["status"] for i in read["items"]] == ["open"] * 5
    answer = api.put(
        f"{url}/equipment", {"status": "not_needed", "note": "Independent"}, content_type="application/json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["decided"] == 1
    assert body["items"][2] | {"decided_at": None} == {
        "item": "equipment",
        "label": "Equipment / home health arranged",
        "status": "not_needed",
        "note": "Independent",
        "decided_by": "Coordinator Tester",
        "decided_at": None,
        "appointment_id": None,
        "package_id": None,
    }
    bad = api.put(f"{url}/equipment", {"status": "not_needed"}, content_type="application/json")
    assert (bad.status_code, bad.json()["field"]) == (400, "note")
    assert api.put(f"{url}/laundry", {"status": "done"}, content_type="application/json").status_code == 404
