"""Surgery planning in the JSON API (interop/surgery_api.py): request and list cases, plan with a time limit,
read and adjust the plan, withdraw a case, book the plan (409 with every failing case on conflict)."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling.models import Appointment, SurgeryPlan, SurgicalCase
from tests.interop.conftest import TokenClient, token_for
from tests.scheduling.conftest import clinic, frozen_clock  # noqa: F401  (the scheduling test clinic)
from tests.scheduling.test_surgery_planning import FRIDAY, TUESDAY, theatre  # noqa: F401

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def coordinator_api(make_user, org) -> TokenClient:
    return TokenClient(token_for(make_user(Role.COORDINATOR, org, username="or-coordinator")))


def case(theatre, patient=None, **fields) -> dict:  # noqa: F811
    return {
        "patient_id": (patient or theatre.patient()).pk,
        "location_id": theatre.location.pk,
        "surgeon_id": theatre.dr_heart.pk,
        "procedure_id": theatre.chole.pk,
        "duration_minutes": 90,
        "earliest_date": TUESDAY.isoformat(),
        "latest_date": FRIDAY.isoformat(),
        "priority": 2,
        **fields,
    }


def plan(api: TokenClient, theatre, **fields) -> dict:  # noqa: F811
    response = api.post_json(
        f"{API}/surgery-plans",
        {
            "location_id": theatre.location.pk,
            "date_from": TUESDAY.isoformat(),
            "date_to": FRIDAY.isoformat(),
            "time_limit": 1,
            **fields,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_request_list_plan_adjust_and_book_through_the_api(theatre, coordinator_api):  # noqa: F811
    created = coordinator_api.post_json(
        f"{API}/surgical-cases", case(theatre, equipment_ids=[theatre.c_arm.pk], procedure_name="Chole")
    )
    assert created.status_code == 201
    first = created.json()
    assert first["status"] == "requested"
    assert first["equipment_ids"] == [theatre.c_arm.pk]
    assert created["Location"].endswith(f"/api/v1/surgical-cases/{first['id']}")
    second = coordinator_api.post_json(f"{API}/surgical-cases", case(theatre, duration_minutes=60)).json()

    listed = coordinator_api.get(f"{API}/locations/{theatre.location.pk}/surgical-cases")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [first["id"], second["id"]]

    drafted = plan(coordinator_api, theatre)
    assert drafted["status"] == "draft"
    assert drafted["method"] in ("cp-sat", "first-fit")
    assert drafted["unplaced"] == []
    assert sorted(i["case_id"] for i in drafted["items"]) == sorted([first["id"], second["id"]])
    assert all(i["start"].endswith("-05:00") for i in drafted["items"])  # the location's time zone

    read = coordinator_api.get(f"{API}/surgery-plans/{drafted['id']}")
    assert read.status_code == 200
    assert read.json()["items"] == drafted["items"]
    assert AuditEvent.objects.filter(
        action=int(AuditAction.SURGERY_PLAN_VIEW), object_id=str(drafted["id"])
    ).exists()

    item = drafted["items"][0]
    move_url = f"{API}/surgery-plans/{drafted['id']}/items/{item['id']}/move"
    refused = coordinator_api.post_json(
        move_url, {"room_id": item["room_id"], "start": f"{TUESDAY}T05:00:00-05:00"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "surgery_plan_conflict"
    assert refused.json()["items"][0]["case_id"] == item["case_id"]
    assert "block time" in " ".join(refused.json()["items"][0]["problems"])
    naive = coordinator_api.post_json(move_url, {"room_id": item["room_id"], "start": f"{FRIDAY}T10:00:00"})
    assert naive.status_code == 400
    moved = coordinator_api.post_json(
        move_url, {"room_id": theatre.rooms[0].pk, "start": f"{FRIDAY}T13:00:00-05:00"}
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["start"] == f"{FRIDAY}T13:00:00-05:00"
    assert moved.json()["room"] == "OR 1"

    booked = coordinator_api.post_json(f"{API}/surgery-plans/{drafted['id']}/book", {})
    assert booked.status_code == 200
    assert booked.json()["status"] == "booked"
    appointment_ids = [i["appointment_id"] for i in booked.json()["items"]]
    assert all(appointment_ids)
    assert Appointment.objects.filter(pk__in=appointment_ids, status="booked").count() == 2
    assert set(SurgicalCase.objects.values_list("status", flat=True)) == {"booked"}
    again = coordinator_api.post_json(f"{API}/surgery-plans/{drafted['id']}/book", {})
    assert again.status_code == 409
    assert "booked" in again.json()["message"]


def test_a_withdrawn_case_stops_the_booking_with_every_reason_and_nothing_is_booked(
    theatre,  # noqa: F811
    coordinator_api,
):
    ids = [coordinator_api.post_json(f"{API}/surgical-cases", case(theatre)).json()["id"] for _ in range(2)]
    drafted = plan(coordinator_api, theatre, case_ids=ids, turnover=15, overtime_cap=60)
    assert drafted["turnover_minutes"] == 15
    withdrawn = coordinator_api.post_json(f"{API}/surgical-cases/{ids[0]}/withdraw", {})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "cancelled"
    twice = coordinator_api.post_json(f"{API}/surgical-cases/{ids[0]}/withdraw", {})
    assert twice.status_code == 400
    assert twice.json()["code"] == "invalid_surgical_case"

    refused = coordinator_api.post_json(f"{API}/surgery-plans/{drafted['id']}/book", {})
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "surgery_plan_conflict"
    assert [i["case_id"] for i in body["items"]] == [ids[0]]
    assert "cancelled" in body["items"][0]["problems"][0]
    assert not Appointment.objects.exists()
    assert SurgeryPlan.objects.get(pk=drafted["id"]).status == "draft"


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"duration_minutes": 0}, 400, "duration_minutes"),
        ({"priority": 7}, 400, "priority"),
        ({"latest_date": "2027-02-26"}, 400, "latest_date"),
        ({"surgeon_id": 999_999}, 400, "surgeon_id"),
        ({"procedure_id": 999_999}, 404, None),
        ({"patient_id": 999_999}, 404, "patient_id"),
        ({"unknown": 1}, 400, None),
    ],
)
def test_bad_cases_are_refused_with_a_reason_and_nothing_is_written(
    theatre,  # noqa: F811
    coordinator_api,
    fields,
    status,
    field,
):
    response = coordinator_api.post_json(f"{API}/surgical-cases", case(theatre, **fields))
    assert response.status_code == status, response.json()
    assert response.json()["message"]
    if field:
        assert field in str(response.json())
    assert not SurgicalCase.objects.exists()


def test_bad_planning_requests_change_nothing(theatre, coordinator_api):  # noqa: F811
    case_id = coordinator_api.post_json(f"{API}/surgical-cases", case(theatre)).json()["id"]
    base = {
        "location_id": theatre.location.pk,
        "date_from": TUESDAY.isoformat(),
        "date_to": FRIDAY.isoformat(),
    }
    for changes, status in (
        ({"date_from": FRIDAY.isoformat(), "date_to": TUESDAY.isoformat()}, 400),
        ({"time_limit": 0.1}, 400),
        ({"turnover": -5}, 400),
        ({"case_ids": [case_id, 999_999]}, 404),
    ):
        response = coordinator_api.post_json(f"{API}/surgery-plans", {**base, **changes})
        assert response.status_code == status, (changes, response.json())
    assert not SurgeryPlan.objects.exists()
    assert SurgicalCase.objects.get().status == "requested"


def test_front_desk_lists_and_requests_cases_but_cannot_plan_and_others_see_nothing(
    theatre,  # noqa: F811
    make_user,
    org,
    other_org,
):
    desk = TokenClient(token_for(make_user(Role.FRONT_DESK, org, username="or-desk")))
    assert desk.post_json(f"{API}/surgical-cases", case(theatre)).status_code == 201
    assert desk.get(f"{API}/locations/{theatre.location.pk}/surgical-cases").status_code == 200
    refused = desk.post_json(
        f"{API}/surgery-plans",
        {"location_id": theatre.location.pk, "date_from": TUESDAY.isoformat(), "date_to": FRIDAY.isoformat()},
    )
    assert refused.status_code == 403
    stranger = TokenClient(token_for(make_user(Role.COORDINATOR, other_org, username="or-stranger")))
    assert stranger.get(f"{API}/locations/{theatre.location.pk}/surgical-cases").status_code == 404
    case_id = SurgicalCase.objects.get().pk
    assert stranger.post_json(f"{API}/surgical-cases/{case_id}/withdraw", {}).status_code == 404
    assert SurgicalCase.objects.get().status == "requested"


def test_out_of_range_ids_in_lists_are_refused_not_crashed(theatre, coordinator_api):  # noqa: F811
    huge = 2**70
    response = coordinator_api.post_json(f"{API}/surgical-cases", case(theatre, equipment_ids=[huge]))
    assert 400 <= response.status_code < 500, response.content
    dates = {"date_from": TUESDAY.isoformat(), "date_to": FRIDAY.isoformat()}
    base = {"location_id": theatre.location.pk, **dates}
    response = coordinator_api.post_json(f"{API}/surgery-plans", {**base, "case_ids": [huge]})
    assert 400 <= response.status_code < 500, response.content
    assert not SurgicalCase.objects.exists()
    assert not SurgeryPlan.objects.exists()
