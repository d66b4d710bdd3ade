"""A step entered after the fact (the consult note that came by fax last week): it is recorded at the time
it happened, so the timeline, the overdue clocks and the loop-closure report count from that time. A time
in the future, before the previous step, or more than a year back is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.core.context import system_actor
from caredesk.core.errors import ValidationFailed
from caredesk.referrals import selectors, services
from caredesk.referrals.models import Referral, ReferralEvent

from .conftest import NOW

pytestmark = pytest.mark.django_db


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def sent(actor, patient, receiver, when: dt.datetime) -> Referral:
    """A referral made and sent at `when`, entered now."""
    return services.create_referral(
        actor=actor,
        data=services.NewReferral(
            patient_id=patient.pk,
            specialty="cardiology",
            reason="Palpitations",
            diagnoses=["R00.2"],
            receiver_id=receiver.pk,
        ),
        send=True,
        occurred_at=when,
    )


def test_steps_entered_after_the_fact_count_from_when_they_happened(coord, patient, heart, frozen):
    referral = sent(coord, patient, heart, days_ago(20))
    services.act(actor=coord, referral_id=referral.pk, action="accept", occurred_at=days_ago(16))
    services.act(
        actor=coord,
        referral_id=referral.pk,
        action="schedule",
        appointment_at=days_ago(6),
        occurred_at=days_ago(13),
    )
    services.act(actor=coord, referral_id=referral.pk, action="seen", occurred_at=days_ago(6))
    services.act(actor=coord, referral_id=referral.pk, action="close")  # now

    times = list(ReferralEvent.objects.filter(referral=referral).order_by("pk").values_list("at", flat=True))
    assert times[1:] == [days_ago(20), days_ago(16), days_ago(13), days_ago(6), NOW]  # after "Created."
    report = selectors.loop_report(actor=coord, since=days_ago(30).date(), until=NOW.date())
    assert report.total.medians == {
        "Sent → accepted": 4.0,
        "Accepted → scheduled": 3.0,
        "Scheduled → seen": 7.0,
        "Seen → consult note": 6.0,
        "Sent → loop closed": 20.0,
    }


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (NOW + dt.timedelta(hours=2), "cannot be recorded as happening in the future"),
        (days_ago(10), "cannot have happened before it"),  # the referral was sent 5 days ago
        (days_ago(400), "up to 365 days after it happened"),
        (dt.datetime(2026, 11, 20, 9, 0), "with its time zone"),
    ],
)
def test_an_impossible_time_is_refused_and_changes_nothing(coord, patient, heart, frozen, when, message):
    referral = sent(coord, patient, heart, days_ago(5))
    version = referral.version
    before = ReferralEvent.objects.filter(referral=referral).count()
    with pytest.raises(ValidationFailed, match=message) as refused:
        services.act(actor=coord, referral_id=referral.pk, action="accept", occurred_at=when)
    assert refused.value.field == "occurred_at"
    referral.refresh_from_db()
    assert (referral.status, referral.version) == ("sent", version)
    assert ReferralEvent.objects.filter(referral=referral).count() == before


def test_the_rest_step_takes_the_time_it_happened(coord, make_referral, staff, frozen):
    referral = make_referral()
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")
    token = create_api_token(actor=cli, username=staff[Role.COORDINATOR].username, name="tests")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/referrals/{referral.pk}/steps"
    future = api.post(url, {"action": "accept", "occurred_at": "2026-12-01T09:00:00Z"}, "application/json")
    assert future.status_code == 400
    assert future.json()["field"] == "occurred_at"
    accepted = api.post(
        url, {"action": "accept", "occurred_at": "2026-11-23T10:00:00-05:00"}, "application/json"
    )
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    last = ReferralEvent.objects.filter(referral=referral).latest("pk")
    assert last.at == dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def test_the_report_counts_days_as_the_clinic_lives_them(coord, patient, heart, frozen):
    evening = dt.datetime(2026, 11, 23, 21, 0, tzinfo=ZoneInfo("America/New_York"))  # 02:00 UTC the next day
    frozen.now = evening
    sent(coord, patient, heart, evening)
    report = selectors.loop_report(actor=coord, since=evening.date(), until=evening.date())
    assert report.total.sent == 1
    assert (
        selectors.loop_report(
            actor=coord, since=NOW.date() + dt.timedelta(days=1), until=NOW.date() + dt.timedelta(days=1)
        ).total.sent
        == 0
    )
