"""The referral pages as a coordinator, a physician and the front desk use them: the list and its filters,
the new-referral form, the detail page's steps, refusals shown on the form (nothing saved), another
organization's records (404), the receiver directory and the report with its chart and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.referrals.models import Referral, ReferralEvent, ReferralReceiver
from caredesk.worklist.models import Task

from .conftest import walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client_as, staff):
    return lambda role=Role.COORDINATOR: client_as(staff[role])


def test_the_list_shows_referrals_with_overdue_standing_out(browser, coord, make_referral, frozen, patient):
    late = walk(coord, make_referral(), "accept")
    frozen.advance(days=15)
    make_referral(send=False)
    page = browser().get(reverse("referrals:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert patient.mrn in html
    assert "Overdue" in html
    overdue = browser().get(reverse("referrals:list"), {"overdue": "on"}, headers={"HX-Request": "true"})
    assert overdue.status_code == 200
    assert f'data-referral="{late.pk}"' in overdue.content.decode()
    assert overdue.content.decode().count("data-referral=") == 1
    assert "<nav" not in overdue.content.decode().split("<table")[0]  # the partial, not the page
    assert browser().get(reverse("referrals:list"), {"status": "lost"}).status_code == 400


def test_a_physician_sends_a_referral_from_the_patients_chart(browser, patient, heart, document):
    chart = browser(Role.PHYSICIAN).get(reverse("patients:chart", args=[patient.pk]))
    assert reverse("referrals:patient", args=[patient.pk]) in chart.content.decode()
    form = browser(Role.PHYSICIAN).get(reverse("referrals:new", args=[patient.pk]))
    assert form.status_code == 200
    assert "Echo report" in form.content.decode()
    response = browser(Role.PHYSICIAN).post(
        reverse("referrals:new", args=[patient.pk]),
        {
            "specialty": "cardiology",
            "receiver": str(heart.pk),
            "urgency": "urgent",
            "reason": "Exertional chest pain",
            "diagnoses": "I20.9, i10",
            "documents": [str(document.pk)],
            "include_chart_summary": "on",
            "send": "1",
        },
    )
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:referral", args=[referral.pk])
    assert referral.status == "sent"
    assert [d["code"] for d in referral.diagnoses] == ["I20.9", "I10"]
    detail = browser(Role.PHYSICIAN).get(response["Location"]).content.decode()
    assert "Echo report" in detail
    assert 'data-testid="chart-summary"' in detail
    assert "Essential (primary) hypertension" in detail


@pytest.mark.parametrize(
    "changes",
    [{"diagnoses": "I10 BOGUS"}, {"reason": ""}, {"receiver": "999999"}, {"authorization_number": "X1"}],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(browser, patient, heart, changes):
    data = {
        "specialty": "cardiology",
        "receiver": str(heart.pk),
        "urgency": "routine",
        "reason": "Chest pain",
    }
    response = browser().post(reverse("referrals:new", args=[patient.pk]), {**data, **changes, "send": "1"})
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode() or "alert-warning" in response.content.decode()
    assert not Referral.objects.exists()


def test_another_organizations_patient_and_referral_answer_404(
    client_as, make_user, other_org, make_referral
):
    referral = make_referral()
    stranger = client_as(make_user(Role.COORDINATOR, other_org))
    assert stranger.get(reverse("referrals:new", args=[referral.patient_id])).status_code == 404
    assert stranger.get(reverse("referrals:patient", args=[referral.patient_id])).status_code == 404
    assert stranger.get(reverse("referrals:referral", args=[referral.pk])).status_code == 404
    posted = stranger.post(reverse("referrals:action", args=[referral.pk]), {"action": "accept"})
    assert posted.status_code == 404
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_the_detail_page_takes_the_steps_the_role_may_take(browser, make_referral, valve):
    referral = make_referral()
    front_desk = (
        browser(Role.FRONT_DESK).get(reverse("referrals:referral", args=[referral.pk])).content.decode()
    )
    assert 'data-testid="action-accept"' not in front_desk
    page = browser().get(reverse("referrals:referral", args=[referral.pk])).content.decode()
    assert 'data-testid="action-accept"' in page
    assert 'data-testid="action-decline"' in page
    url = reverse("referrals:action", args=[referral.pk])
    refused = browser().post(url, {"action": "decline", "note": "", "version": referral.version})
    assert refused.status_code == 400
    assert "Say why" in refused.content.decode()
    referral.refresh_from_db()
    assert referral.status == "sent"
    declined = browser().post(url, {"action": "decline", "note": "No capacity", "version": referral.version})
    assert declined.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "declined"
    page = browser().get(reverse("referrals:referral", args=[referral.pk])).content.decode()
    assert 'data-testid="referral-tasks"' in page
    assert "Referral declined" in page
    assert "re-routed to another receiver or cancelled" in page
    task = Task.objects.get(source_id=str(referral.pk))
    task_page = browser().get(reverse("worklist:task", args=[task.pk])).content.decode()
    assert reverse("referrals:referral", args=[referral.pk]) in task_page  # "Caused by" links back
    wrong = browser().post(url, {"action": "close", "version": referral.version})
    assert wrong.status_code == 409
    forbidden = browser(Role.FRONT_DESK).post(url, {"action": "cancel", "note": "x"})
    assert forbidden.status_code == 403
    rerouted = browser().post(
        url, {"action": "reroute", "receiver": str(valve.pk), "version": referral.version}
    )
    assert rerouted.status_code == 302
    referral.refresh_from_db()
    assert referral.receiver_id == valve.pk
    assert Task.objects.get(source_id=str(referral.pk)).status == "done"


def test_stale_steps_are_refused(browser, make_referral):
    referral = make_referral()
    url = reverse("referrals:action", args=[referral.pk])
    assert browser().post(url, {"action": "accept", "version": referral.version - 1}).status_code == 409


def test_the_receiver_directory(browser):
    url = reverse("referrals:receivers")
    added = browser().post(url, {"name": "Brain Group", "kind": "organization", "specialty": "neurology"})
    assert added.status_code == 302
    refused = browser().post(
        url, {"name": "Dr Nerve", "kind": "practitioner", "specialty": "neurology", "npi": "12"}
    )
    assert refused.status_code == 400
    assert list(ReferralReceiver.objects.values_list("name", flat=True)) == ["Brain Group"]
    assert "Brain Group" in browser().get(url).content.decode()


def test_the_report_draws_its_chart_and_exports_csv(browser, coord, make_referral, frozen, valve):
    closed = make_referral()
    make_referral(receiver_id=valve.pk)
    frozen.advance(days=3)
    walk(coord, closed, "accept", "schedule", "seen", "close")
    today = frozen.now.date().isoformat()
    page = browser().get(reverse("referrals:report"), {"since": "2026-01-01", "until": today})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="chart-specialty"' in html
    assert 'data-testid="chart-receiver"' in html
    assert 'data-value="50"' in html  # cardiology: one loop closed of two
    assert 'data-value="100"' in html  # Heart Partners
    assert "style=" not in html.split('data-testid="chart-specialty"')[1].split("</svg>")[0]
    exported = browser().get(reverse("referrals:report_csv"), {"since": "2026-01-01", "until": today})
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:5] == ["group", "name", "sent", "loop_closed", "closure_rate"]
    assert rows[1][:5] == ["all", "All", "2", "1", "0.500"]
    assert any(row[:2] == ["receiver", "Dr Valve"] for row in rows)
    backwards = browser().get(reverse("referrals:report"), {"since": today, "until": "2026-01-01"})
    assert backwards.status_code == 400
    assert browser().get(reverse("referrals:report_csv"), {"since": "soon"}).status_code == 400
    assert browser(Role.PHYSICIAN).get(reverse("referrals:report")).status_code == 403


def test_the_page_enters_a_step_that_happened_earlier(browser, make_referral, frozen):
    referral = make_referral()  # sent now: Monday 23 November 2026, 10:00 in New York
    url = reverse("referrals:action", args=[referral.pk])
    page = browser().get(reverse("referrals:referral", args=[referral.pk])).content.decode()
    assert "Entering a step that happened earlier?" in page
    refused = browser().post(url, {"action": "accept", "occurred_at": "2026-11-20T09:00"})
    assert refused.status_code == 400
    assert "cannot have happened before it" in refused.content.decode()
    frozen.advance(days=3)
    accepted = browser().post(url, {"action": "accept", "occurred_at": "2026-11-24T16:30"})
    assert accepted.status_code == 302
    step = ReferralEvent.objects.filter(referral=referral).latest("pk")
    assert (step.to_status, step.at) == ("accepted", dt.datetime(2026, 11, 24, 21, 30, tzinfo=dt.UTC))
