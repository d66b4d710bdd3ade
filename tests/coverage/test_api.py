"""Coverage and eligibility through the JSON API: bearer token, declared permission, the API's error
format; money as decimal strings; bad input answers 4xx and saves nothing."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.coverage.models import Coverage, EligibilityCheck
from caredesk.interop.x12.clearinghouse import answer_270
from tests.interop.conftest import TokenClient, token_for

API = "/api/v1"


@pytest.fixture
def api(clinic, make_user) -> TokenClient:
    return TokenClient(token_for(make_user(Role.FRONT_DESK, clinic.org)))


def _body(clinic, **fields) -> dict[str, object]:
    data: dict[str, object] = {
        "plan_id": clinic.instant_plan.pk,
        "member_id": "W123456789",
        "effective_from": "2024-01-01",
    }
    data.update(fields)
    return data


def test_add_read_update_end(clinic, api):
    created = api.post_json(f"{API}/patients/{clinic.patient.pk}/coverages", _body(clinic))
    assert created.status_code == 201, created.content
    coverage = created.json()
    assert coverage["payer"] == "Acme Health"
    assert coverage["order"] == 1
    assert coverage["version"] == 1
    listed = api.get(f"{API}/patients/{clinic.patient.pk}/coverages").json()["results"]
    assert [c["id"] for c in listed] == [coverage["id"]]
    updated = api.put(
        f"{API}/coverages/{coverage['id']}",
        data=_body(clinic, member_id="W2", version=1),
        content_type="application/json",
    )
    assert updated.status_code == 200
    assert updated.json()["member_id"] == "W2"
    stale = api.put(
        f"{API}/coverages/{coverage['id']}", data=_body(clinic, version=1), content_type="application/json"
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    ended = api.post_json(f"{API}/coverages/{coverage['id']}/end", {"end_date": "2025-12-31"})
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"member_id": ""}, 400, "invalid_coverage"),
        ({"member_id": "A*B"}, 400, "invalid_coverage"),
        ({"order": 7}, 400, "validation_error"),
        ({"effective_from": "2024-02-30"}, 400, "validation_error"),
        ({"plan_id": 999999}, 404, "plan_not_found"),
        ({"surprise": 1}, 400, "validation_error"),
    ],
)
def test_bad_coverage_is_refused_and_nothing_saved(clinic, api, fields, status, code):
    response = api.post_json(f"{API}/patients/{clinic.patient.pk}/coverages", _body(clinic, **fields))
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not Coverage.objects.exists()


def test_second_primary_answers_409(clinic, api):
    clinic.coverage()
    response = api.post_json(f"{API}/patients/{clinic.patient.pk}/coverages", _body(clinic, member_id="X2"))
    assert response.status_code == 409
    assert response.json()["code"] == "coverage_order_taken"


def test_eligibility_check_and_its_result(clinic, api, django_capture_on_commit_callbacks):
    coverage = clinic.coverage()
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post_json(f"{API}/coverages/{coverage.pk}/eligibility-checks", {})
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    result = api.get(f"{API}/eligibility-checks/{queued.json()['id']}").json()
    assert result["status"] == "active"
    assert result["summary"]["copay"] == "20.00"
    assert result["summary"]["deductible_remaining"] == "1000.00"
    assert any(b["kind"] == "coinsurance" and b["percent"] == "10.00" for b in result["benefits"])
    listed = api.get(f"{API}/patients/{clinic.patient.pk}/eligibility-checks").json()["results"]
    assert [c["id"] for c in listed] == [result["id"]]


def test_rejection_in_plain_words(clinic, api, django_capture_on_commit_callbacks):
    coverage = clinic.coverage(member_id="W900")
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post_json(f"{API}/coverages/{coverage.pk}/eligibility-checks", {})
    [rejection] = api.get(f"{API}/eligibility-checks/{queued.json()['id']}").json()["rejections"]
    assert rejection == {
        "code": "72",
        "follow_up": "C",
        "message": "The payer does not recognise the member ID.",
        "action": "Check the insurance card and correct the member ID.",
        "loop": "subscriber",
    }


def test_batch_and_its_progress(clinic, api, django_capture_on_commit_callbacks):
    clinic.coverage()
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post_json(f"{API}/eligibility-batches", {"patient_ids": [clinic.patient.pk]})
    assert started.status_code == 202
    progress = api.get(f"{API}/eligibility-batches/{started.json()['id']}").json()
    assert progress["total"] == 1
    assert progress["done"] is True
    assert progress["counts"] == {"active": 1}


def test_handing_in_a_271(clinic, api, django_capture_on_commit_callbacks):
    coverage = clinic.coverage(plan_id=clinic.drop_plan.pk)
    with django_capture_on_commit_callbacks(execute=True):
        api.post_json(f"{API}/coverages/{coverage.pk}/eligibility-checks", {})
    check = EligibilityCheck.objects.get()
    answer = answer_270(check.request_text)
    broken = api.post_json(f"{API}/eligibility-responses", {"x12": answer.replace("IEA*", "XEA*")})
    assert broken.status_code == 400
    assert broken.json()["code"] == "invalid_eligibility_response"
    assert "IEA" in broken.json()["message"]
    check.refresh_from_db()
    assert check.status == "sent"
    first = api.post_json(f"{API}/eligibility-responses", {"x12": answer})
    assert first.status_code == 200
    assert [c["status"] for c in first.json()["results"]] == ["active"]
    again = api.post_json(f"{API}/eligibility-responses", {"x12": answer})
    assert again.status_code == 200
    assert again.json()["results"] == []


def test_coordinator_cannot_write_and_other_org_sees_nothing(clinic, make_user, other_org):
    coverage = clinic.coverage()
    coordinator = TokenClient(token_for(make_user(Role.COORDINATOR, clinic.org)))
    assert coordinator.get(f"{API}/coverages/{coverage.pk}").status_code == 200
    assert coordinator.post_json(f"{API}/coverages/{coverage.pk}/eligibility-checks", {}).status_code == 403
    stranger = TokenClient(token_for(make_user(Role.FRONT_DESK, other_org)))
    assert stranger.get(f"{API}/coverages/{coverage.pk}").status_code == 404
    assert stranger.post_json(f"{API}/coverages/{coverage.pk}/eligibility-checks", {}).status_code == 404
    assert not EligibilityCheck.objects.exists()
