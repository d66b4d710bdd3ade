"""The demo network carries referrals at every step, each with a logged call, loaded through the services."""

from __future__ import annotations

import pytest

from caredesk.demo.services import seed_demo
from caredesk.messaging.models import Communication
from caredesk.referrals.models import Referral
from caredesk.worklist.models import Task

pytestmark = pytest.mark.django_db


def test_the_demo_has_referrals_along_the_loop_with_their_calls():
    report = seed_demo(patients=80, seed=11)
    referrals = Referral.objects.all()
    assert report.counts["referrals"] == referrals.count() == 40
    assert (
        report.counts["communications"] == Communication.objects.filter(referral__isnull=False).count() == 40
    )
    statuses = set(referrals.values_list("status", flat=True))
    assert {"sent", "closed", "declined"} <= statuses
    declined = referrals.filter(status="declined").values_list("pk", flat=True)
    waiting = Task.objects.filter(source_type="referrals.referral", status="open")
    assert {int(pk) for pk in waiting.values_list("source_id", flat=True)} >= set(declined)
