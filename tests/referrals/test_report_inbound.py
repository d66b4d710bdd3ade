"""The loop-closure report for inbound referrals (other practices referred the patient to us): the ones
received in the period, by specialty and by referring party, timed received -> accepted -> scheduled ->
seen -> consult note sent back, with the loop-closure rate closed / received (declined and cancelled
counted apart). The outbound report (the default) is the same with or without inbound referrals; a
direction that is neither is refused on the page, in the CSV and over REST."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import system_actor
from caredesk.core.errors import ValidationFailed
from caredesk.referrals import selectors, services
from caredesk.referrals.models import Referral

from .conftest import NOW, Clock, walk

pytestmark = pytest.mark.django_db

SINCE = NOW.date() - dt.timedelta(days=30)
UNTIL = NOW.date() + dt.timedelta(days=30)
PERIOD = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
VALLEY, HILL = "Valley Family Practice", "Hill Street Clinic"


@dataclasses.dataclass
class Scenario:
    outbound: selectors.Report  # the outbound report before any inbound referral existed


@pytest.fixture
def scenario(coord, patient, make_referral, frozen: Clock, valve) -> Scenario:
    """Outbound: one loop closed in 9 days (received by the receiver on the way), one declined, one
    sent. Then inbound, all received at NOW + 20 days unless said:
    - X (Valley, cardiology): accepted after 1 day, scheduled 3 days later, seen 5 days later, the consult
      note sent back 2 days later (11 days in all);
    - Y (Valley, cardiology): accepted after 3 days, scheduled 1 day later, then cancelled;
    - Z (Hill, neurology): declined after 1 day;
    - W (Hill, neurology): still waiting;
    - an old one from Valley received 60 days before NOW: outside the period."""
    closed = make_referral()
    walk(coord, make_referral(), "decline")
    make_referral(receiver_id=valve.pk)
    frozen.advance(days=2)
    walk(coord, closed, "receive", "accept")
    frozen.advance(days=4)
    walk(coord, closed, "schedule", "seen")
    frozen.advance(days=3)
    walk(coord, closed, "close")
    before = selectors.loop_report(actor=coord, since=SINCE, until=UNTIL)

    def inbound(referrer: str, specialty: str, received_at: dt.datetime | None = None) -> Referral:
        return services.register_inbound_referral(
            actor=coord,
            data=services.NewInboundReferral(
                patient_id=patient.pk,
                specialty=specialty,
                reason="Please see",
                referrer_name=referrer,
                received_at=received_at,
            ),
        )

    inbound(VALLEY, "cardiology", received_at=NOW - dt.timedelta(days=60))
    frozen.now = NOW + dt.timedelta(days=20)
    x, y = inbound(VALLEY, "cardiology"), inbound(VALLEY, "cardiology")
    z, _w = inbound(HILL, "neurology"), inbound(HILL, "neurology")
    frozen.advance(days=1)
    walk(coord, x, "accept")
    walk(coord, z, "decline")
    frozen.advance(days=2)
    walk(coord, y, "accept")
    frozen.advance(days=1)
    walk(coord, x, "schedule")
    walk(coord, y, "schedule")
    walk(coord, y, "cancel")
    frozen.advance(days=5)
    walk(coord, x, "seen")
    frozen.advance(days=2)
    walk(coord, x, "close")
    return Scenario(outbound=before)


INBOUND_STEPS = [
    "Received → accepted",
    "Accepted → scheduled",
    "Scheduled → seen",
    "Seen → consult note sent back",
    "Received → loop closed",
]


def test_the_inbound_report_counts_what_was_received(coord, scenario):
    report = selectors.loop_report(actor=coord, since=SINCE, until=UNTIL, direction="inbound")

    assert (report.direction, report.steps) == ("inbound", INBOUND_STEPS)
    total = report.total
    assert (total.sent, total.closed, total.declined_open, total.cancelled) == (4, 1, 1, 1)
    assert total.closure_rate == 0.25
    assert total.medians == {
        "Received → accepted": 2.0,  # X after 1 day, Y after 3 (Z's decline is not an acceptance)
        "Accepted → scheduled": 2.0,  # X after 3 days, Y after 1
        "Scheduled → seen": 5.0,
        "Seen → consult note sent back": 2.0,
        "Received → loop closed": 11.0,
    }
    referrers = {g.key: g for g in report.by_referrer}
    assert list(referrers) == [HILL, VALLEY]
    assert (referrers[VALLEY].sent, referrers[VALLEY].closed, referrers[VALLEY].cancelled) == (2, 1, 1)
    assert referrers[VALLEY].closure_percent == 50
    assert (referrers[HILL].sent, referrers[HILL].closed, referrers[HILL].declined_open) == (2, 0, 1)
    assert referrers[HILL].medians["Received → accepted"] is None
    assert [(g.key, g.sent, g.closed) for g in report.by_specialty] == [
        ("Cardiology", 2, 1),
        ("Neurology", 2, 0),
    ]
    assert report.by_receiver == []
    row = AuditEvent.objects.filter(action=AuditAction.REFERRAL_REPORT_VIEW).latest("pk")
    assert (row.detail["direction"], row.detail["referrals"], row.patient_id) == ("inbound", 4, None)


def test_the_outbound_report_is_unchanged_by_inbound_referrals(coord, scenario):
    report = selectors.loop_report(actor=coord, since=SINCE, until=UNTIL)

    assert report == scenario.outbound
    assert report.direction == "outbound"
    assert (report.total.sent, report.total.closed, report.total.declined_open) == (3, 1, 1)
    assert report.total.medians["Sent → loop closed"] == 9.0
    assert {g.key for g in report.by_receiver} == {"Heart Partners", "Dr Valve"}
    assert report.by_referrer == []
    assert report.steps[0] == "Sent → accepted"


def test_an_unknown_direction_is_refused(coord):
    with pytest.raises(ValidationFailed, match="direction"):
        selectors.loop_report(actor=coord, since=SINCE, until=UNTIL, direction="sideways")
    assert not AuditEvent.objects.filter(action=AuditAction.REFERRAL_REPORT_VIEW).exists()


# --- the page and its CSV ---------------------------------------------------------------------------


@pytest.fixture
def browser(client_as, staff):
    return lambda role=Role.COORDINATOR: client_as(staff[role])


def test_the_page_shows_the_inbound_report_by_referring_party(browser, scenario):
    page = browser().get(reverse("referrals:report"), {**PERIOD, "direction": "inbound"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "Referrals received" in html
    assert "By referring party" in html
    assert "By receiver" not in html
    assert 'data-testid="chart-referrer"' in html
    assert 'data-testid="table-referrer"' in html
    referrers = html.split('data-testid="table-referrer"', 1)[1].split("</table>", 1)[0]
    assert VALLEY in referrers
    assert HILL in referrers
    assert "Heart Partners" not in referrers
    assert 'data-value="50"' in html  # Valley: one loop closed of two
    assert '<option value="inbound" selected>' in html
    assert "direction=inbound" in html.split('data-testid="csv"', 1)[0].rsplit("href=", 1)[1]

    outbound = browser().get(reverse("referrals:report"), PERIOD).content.decode()
    assert "Referrals sent" in outbound
    assert "By receiver" in outbound
    assert VALLEY not in outbound
    assert '<option value="outbound" selected>' in outbound


def test_the_inbound_csv(browser, scenario):
    exported = browser().get(reverse("referrals:report_csv"), {**PERIOD, "direction": "inbound"})

    assert exported.status_code == 200
    assert "referral-loop-inbound-" in exported["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == [
        "group",
        "name",
        "received",
        "loop_closed",
        "closure_rate",
        "declined",
        "cancelled",
        *[f"median_days {step}" for step in INBOUND_STEPS],
    ]
    assert rows[1] == ["all", "All", "4", "1", "0.250", "1", "1", "2.0", "2.0", "5.0", "2.0", "11.0"]
    assert ["referrer", VALLEY, "2", "1", "0.500", "0", "1", "2.0", "2.0", "5.0", "2.0", "11.0"] in rows
    assert not any(row[0] == "receiver" for row in rows)
    outbound = list(
        csv.reader(io.StringIO(browser().get(reverse("referrals:report_csv"), PERIOD).content.decode()))
    )
    assert outbound[0][2] == "sent"
    assert outbound[1][:5] == ["all", "All", "3", "1", "0.333"]


def test_a_bad_direction_is_a_form_error(browser, scenario):
    page = browser().get(reverse("referrals:report"), {**PERIOD, "direction": "sideways"})
    assert page.status_code == 400
    assert "Select a valid choice" in page.content.decode()
    exported = browser().get(reverse("referrals:report_csv"), {**PERIOD, "direction": "sideways"})
    assert exported.status_code == 400
    assert (
        not AuditEvent.objects.filter(action=AuditAction.REFERRAL_REPORT_VIEW)
        .exclude(detail__direction="outbound")
        .exists()
    )


# --- REST --------------------------------------------------------------------------------------------


@pytest.fixture
def api(staff) -> Client:
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")
    token = create_api_token(actor=cli, username=staff[Role.COORDINATOR].username, name="tests")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _groups(body: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    return {g["key"]: g for g in body[name]}


def test_the_inbound_report_over_rest(api, scenario):
    response = api.get("/api/v1/reports/referral-loop", {**PERIOD, "direction": "inbound"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["direction"], body["steps"], body["by_receiver"]) == ("inbound", INBOUND_STEPS, [])
    total = body["total"]
    assert (total["sent"], total["closed"], total["declined_open"], total["cancelled"]) == (4, 1, 1, 1)
    assert total["closure_rate"] == 0.25
    assert total["medians"]["Received → loop closed"] == 11.0
    referrers = _groups(body, "by_referrer")
    assert (referrers[VALLEY]["closure_rate"], referrers[HILL]["declined_open"]) == (0.5, 1)

    outbound = api.get("/api/v1/reports/referral-loop", PERIOD).json()
    assert (outbound["direction"], outbound["by_referrer"]) == ("outbound", [])
    assert (outbound["total"]["sent"], outbound["total"]["closed"]) == (3, 1)
    assert set(_groups(outbound, "by_receiver")) == {"Heart Partners", "Dr Valve"}


def test_a_bad_direction_over_rest_is_refused(api):
    response = api.get("/api/v1/reports/referral-loop", {**PERIOD, "direction": "sideways"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not AuditEvent.objects.filter(action=AuditAction.REFERRAL_REPORT_VIEW).exists()
