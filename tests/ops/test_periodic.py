"""`caredesk periodic` queues every app's recurring work for every organization (the worker runs it)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from caredesk.ops.schedule import RECURRING


@pytest.mark.django_db
def test_one_round_queues_each_recurring_task_per_organization(org, other_org, settings, capsys):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    call_command("periodic", "--once")
    queued = list(DBTaskResult.objects.ready().values_list("task_path", "args_kwargs"))
    assert len(queued) == len(RECURRING) * 2
    per_org = {args["args"][0] for _, args in queued}
    assert per_org == {org.pk, other_org.pk}
    assert {path for path, _ in queued} == {job.task.module_path for job in RECURRING}
    assert "RSH: appointment reminders: queued" in capsys.readouterr().out


@pytest.mark.django_db
def test_inline_round_runs_the_work_and_reports_it(org, capsys):
    call_command("periodic", "--once", "--inline")
    out = capsys.readouterr().out
    for job in RECURRING:
        assert f"RSH: {job.name}: " in out
    assert DBTaskResult.objects.count() == 0


def test_a_too_short_interval_is_refused():
    with pytest.raises(CommandError, match="at least 10 seconds"):
        call_command("periodic", "--interval", "1")
