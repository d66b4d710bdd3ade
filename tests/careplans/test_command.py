"""`caredesk careplan_overdue`: the overdue rule from the command line, and queued as a background task."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from caredesk.careplans import services
from caredesk.worklist.models import Task


@pytest.fixture
def overdue(coord, patient):
    plan = services.create_plan(
        actor=coord,
        patient_id=patient.pk,
        template_code="hypertension",
        start_on=timezone.localdate() - dt.timedelta(days=200),
    )
    return plan


def test_the_command_creates_each_task_once(org, overdue):
    out = io.StringIO()
    call_command("careplan_overdue", "--organization", org.short_code, stdout=out)
    # started 200 days ago: the monthly call (due after 1 month), the 3-monthly visit and the one-off
    # education are overdue; the yearly lab is not.
    assert "RSH: 3 new task(s), 0 already there" in out.getvalue()
    call_command("careplan_overdue", stdout=out)
    assert "RSH: 0 new task(s), 3 already there" in out.getvalue()
    assert Task.objects.filter(patient=overdue.patient).count() == 3


def test_enqueue_runs_the_background_task(org, overdue):
    call_command("careplan_overdue", "--enqueue", stdout=io.StringIO())  # immediate backend in tests
    assert Task.objects.filter(patient=overdue.patient).count() == 3


def test_unknown_organization(db):
    with pytest.raises(CommandError):
        call_command("careplan_overdue", "--organization", "NOPE")
