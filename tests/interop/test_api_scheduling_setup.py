"""Scheduling setup in the JSON API (interop/scheduling_setup_api.py): resources, visit types, weekly
templates and exceptions, listed and created; bad input refused with its reason and nothing written."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling.models import AvailabilityException, AvailabilityTemplate, Resource, VisitType
from tests.interop.conftest import TokenClient, token_for
from tests.scheduling.conftest import MONDAY, clinic, frozen_clock  # noqa: F401  (the scheduling test clinic)

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def manager_api(make_user, org) -> TokenClient:
    return TokenClient(token_for(make_user(Role.COORDINATOR, org, username="setup-coordinator")))


def test_resources_are_listed_and_created_and_duplicates_refused(clinic, manager_api):  # noqa: F811
    created = manager_api.post_json(
        f"{API}/scheduling/resources",
        {"kind": "room", "location_id": clinic.location.pk, "name": "OR 1", "category": "Operating"},
    )
    assert created.status_code == 201, created.json()
    room = created.json()
    assert (room["kind"], room["name"], room["category"], room["active"]) == (
        "room",
        "OR 1",
        "operating",
        True,
    )
    assert AuditEvent.objects.filter(
        action=int(AuditAction.SCHEDULE_RESOURCE_CREATE), object_id=str(room["id"])
    )

    duplicate = manager_api.post_json(
        f"{API}/scheduling/resources", {"kind": "room", "location_id": clinic.location.pk, "name": "OR 1"}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_resource"
    bad_kind = manager_api.post_json(
        f"{API}/scheduling/resources", {"kind": "robot", "location_id": clinic.location.pk, "name": "R2"}
    )
    assert bad_kind.status_code == 400
    assert bad_kind.json()["field"] == "kind"
    twice = manager_api.post_json(
        f"{API}/scheduling/resources",
        {"kind": "practitioner", "location_id": clinic.location.pk, "practitioner_id": clinic.heart.pk},
    )
    assert twice.status_code == 409
    assert Resource.objects.filter(name__in=["OR 1", "R2"]).count() == 1

    listed = manager_api.get(f"{API}/scheduling/resources", {"category": "operating"}).json()["results"]
    assert [r["id"] for r in listed] == [room["id"]]
    rooms = manager_api.get(f"{API}/scheduling/resources", {"kind": "room"}).json()["results"]
    assert {"Exam 1", "OR 1"} <= {r["name"] for r in rooms}


def test_visit_types_are_created_with_their_requirements_and_bad_ones_refused(
    clinic,  # noqa: F811
    manager_api,
):
    body = {
        "name": "Knee arthroscopy",
        "code": "knee-scope",
        "duration_minutes": 75,
        "requirements": [{"kind": "practitioner"}, {"kind": "room", "category": "procedure"}],
        "practitioner_ids": [clinic.heart.pk],
        "buffer_after_minutes": 15,
    }
    created = manager_api.post_json(f"{API}/visit-types", body)
    assert created.status_code == 201, created.json()
    assert created.json()["code"] == "knee-scope"
    assert created.json()["buffer_after_minutes"] == 15
    assert created.json()["portal_bookable"] is False  # patients book it only when the clinic says so
    visit_type = VisitType.objects.get(code="knee-scope")
    assert [(r.kind, r.category) for r in visit_type.requirements.order_by("position")] == [
        ("practitioner", ""),
        ("room", "procedure"),
    ]
    assert "knee-scope" in {v["code"] for v in manager_api.get(f"{API}/visit-types").json()["results"]}

    count = VisitType.objects.count()
    for changes, field in (
        ({"code": "knee scope!"}, "code"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"requirements": []}, "requirements"),
        ({"practitioner_ids": [999_999]}, "practitioner_ids"),
    ):
        response = manager_api.post_json(
            f"{API}/visit-types", {**body, **changes, "code": changes.get("code", "x1")}
        )
        assert response.status_code == 400, (changes, response.json())
        assert field in str(response.json())
    assert manager_api.post_json(f"{API}/visit-types", body).status_code in (400, 409)  # the code is in use
    assert VisitType.objects.count() == count
    online = {**body, "code": "follow-up-online", "portal_bookable": True, "portal_cancel_notice_hours": 12}
    created = manager_api.post_json(f"{API}/visit-types", online)
    assert created.status_code == 201, created.json()
    assert created.json()["portal_bookable"] is True
    saved = VisitType.objects.get(code="follow-up-online")
    assert (saved.portal_bookable, saved.portal_cancel_notice_hours) == (True, 12)
    count += 1
    refused = manager_api.post_json(
        f"{API}/visit-types", {**online, "code": "x2", "portal_cancel_notice_hours": -1}
    )
    assert refused.status_code == 400
    assert "portal_cancel_notice_hours" in str(refused.json())
    assert VisitType.objects.count() == count


def test_templates_are_created_listed_and_overlaps_refused(clinic, manager_api):  # noqa: F811
    room = manager_api.post_json(
        f"{API}/scheduling/resources", {"kind": "room", "location_id": clinic.location.pk, "name": "OR 2"}
    ).json()
    body = {
        "resource_id": room["id"],
        "location_id": clinic.location.pk,
        "name": "Block time",
        "effective_from": MONDAY.isoformat(),
        "windows": [
            {"weekday": 0, "start": "07:30", "end": "15:30"},
            {"weekday": 2, "start": "07:30", "end": "15:30", "reserved_for_id": clinic.echo.pk},
        ],
    }
    created = manager_api.post_json(f"{API}/scheduling/availability-templates", body)
    assert created.status_code == 201, created.json()
    windows = created.json()["windows"]
    assert [(w["weekday"], w["start"], w["reserved_for_id"]) for w in windows] == [
        (0, "07:30:00", None),
        (2, "07:30:00", clinic.echo.pk),
    ]
    listed = manager_api.get(f"{API}/scheduling/availability-templates", {"resource_id": room["id"]}).json()
    assert [t["id"] for t in listed["results"]] == [created.json()["id"]]

    for changes, status in (
        ({"windows": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}, 400),  # ends before it starts
        ({}, 400),  # overlaps the template above
        ({"windows": [{"weekday": 9, "start": "08:00", "end": "09:00"}]}, 400),
        ({"resource_id": 999_999}, 404),
        ({"effective_until": "2027-01-01"}, 400),  # before the first day
    ):
        response = manager_api.post_json(f"{API}/scheduling/availability-templates", {**body, **changes})
        assert response.status_code == status, (changes, response.json())
        assert response.json()["message"]
    assert AvailabilityTemplate.objects.filter(resource_id=room["id"]).count() == 1


def test_exceptions_are_created_listed_and_bad_times_refused(clinic, manager_api):  # noqa: F811
    body = {
        "kind": "time_off",
        "resource_id": clinic.dr_heart.pk,
        "start": f"{MONDAY}T13:00:00-05:00",
        "end": f"{MONDAY}T17:00:00-05:00",
        "reason": "Conference",
    }
    created = manager_api.post_json(f"{API}/scheduling/availability-exceptions", body)
    assert created.status_code == 201, created.json()
    assert created.json()["reason"] == "Conference"
    listed = manager_api.get(
        f"{API}/scheduling/availability-exceptions", {"since": MONDAY.isoformat()}
    ).json()
    assert [e["id"] for e in listed["results"]] == [created.json()["id"]]
    count = AvailabilityException.objects.count()
    for changes, status in (
        ({"end": f"{MONDAY}T12:00:00-05:00"}, 400),  # ends before it starts
        ({"kind": "vacation"}, 400),
        ({"location_id": clinic.location.pk}, 400),  # a resource or a location, not both
        ({"resource_id": 999_999}, 404),
    ):
        response = manager_api.post_json(f"{API}/scheduling/availability-exceptions", {**body, **changes})
        assert response.status_code == status, (changes, response.json())
    assert AvailabilityException.objects.count() == count


def test_front_desk_reads_the_setup_but_cannot_change_it(clinic, make_user, org):  # noqa: F811
    desk = TokenClient(token_for(make_user(Role.FRONT_DESK, org, username="setup-desk")))
    assert desk.get(f"{API}/scheduling/resources").status_code == 200
    refused = desk.post_json(
        f"{API}/scheduling/resources", {"kind": "room", "location_id": clinic.location.pk, "name": "Exam 9"}
    )
    assert refused.status_code == 403
    assert not Resource.objects.filter(name="Exam 9").exists()
