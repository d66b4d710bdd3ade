"""`caredesk eligibility_requests`: a 270 for every insured patient with an appointment on a day, through
the payer's route (and into --out), each passing pyx12; wrong input exits non-zero and changes nothing."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.coverage import services
from caredesk.coverage.models import EligibilityBatch
from caredesk.coverage.schemas import CoverageInput
from caredesk.interop.x12.validation import pyx12_problems, structure_problems
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import at, book, build_clinic, frozen_clock  # noqa: F401  (fixture)


@pytest.fixture
def seen_tomorrow(org, frozen_clock, settings, tmp_path):  # noqa: F811  (the fixture imported above)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    org.npi = "1234567893"
    org.save()
    # A weekday soon (eligibility is checked within a year of today), on or after 2027-01-01 when the
    # test clinic's weekly templates start.
    day = max(timezone.localdate() + dt.timedelta(days=1), dt.date(2027, 1, 1))
    while day.weekday() >= 5:  # the clinic works Monday to Friday
        day += dt.timedelta(days=1)
    frozen_clock(at(day - dt.timedelta(days=1), 7))
    clinic = build_clinic(org)
    insured = clinic.patient(given_name="Maya", family_name="Lindqvist")
    book(clinic, at(day, 9), patient=insured)
    book(clinic, at(day, 10), patient=clinic.patient(given_name="Omar", family_name="Selfpay"))
    billing = staff_actor(org, Role.BILLING)
    payer = services.create_payer(actor=billing, name="Blue River", payer_id="BR001", route="file_drop")
    plan = services.create_plan(actor=billing, payer_id=payer.pk, name="Blue River HMO")
    services.add_coverage(
        actor=staff_actor(org, Role.FRONT_DESK),
        patient_id=insured.pk,
        data=CoverageInput(plan_id=plan.pk, member_id="BR1234", effective_from=dt.date(2024, 1, 1)),
    )
    return day


def test_writes_a_valid_270_for_each_insured_patient_seen_that_day(org, seen_tomorrow, tmp_path, settings):
    out = tmp_path / "out"
    output = io.StringIO()
    call_command(
        "eligibility_requests",
        "--organization", "rsh", "--date", seen_tomorrow.isoformat(), "--out", str(out),
        stdout=output,
    )  # fmt: skip
    assert "1 eligibility request(s) for 2 patient(s)" in output.getvalue()
    assert "1 sent" in output.getvalue()
    [written] = list(out.iterdir())
    text = written.read_text()
    assert structure_problems(text) == []
    assert pyx12_problems(text) == []
    assert f"DTP*291*D8*{seen_tomorrow:%Y%m%d}" in text
    outbox = Path(settings.CAREDESK_X12_DIR) / str(org.pk) / "outbox"
    assert (outbox / written.name).read_text() == text


def test_wrong_input_exits_non_zero_and_changes_nothing(org, seen_tomorrow):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("eligibility_requests", "--organization", "RSH", "--date", "2027-02-30")
    with pytest.raises(CommandError, match="No patient has an appointment"):
        call_command(
            "eligibility_requests", "--organization", "RSH",
            "--date", (seen_tomorrow + dt.timedelta(days=30)).isoformat(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="No organization"):
        call_command("eligibility_requests", "--organization", "NOPE")
    assert not EligibilityBatch.objects.exists()
