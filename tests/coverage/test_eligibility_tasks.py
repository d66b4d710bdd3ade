"""Worklist rule: an eligibility check that failed for an upcoming visit puts a task on the front desk's
queue, once; a later check that finds the coverage active closes it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from caredesk.coverage import services
from caredesk.coverage.models import EligibilityCheck
from caredesk.coverage.schemas import CoverageInput
from caredesk.ops.schedule import RECURRING
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType
from caredesk.worklist.models import Task
from caredesk.worklist.tasks import create_eligibility_tasks

TOMORROW = timezone.localdate() + dt.timedelta(days=1)


def _check(clinic, capture, coverage, day: dt.date = TOMORROW) -> EligibilityCheck:
    with capture(execute=True):
        check = services.request_eligibility_check(
            actor=clinic.front_desk, coverage_id=coverage.pk, service_date=day
        )
    check.refresh_from_db()
    return check


def _run(clinic) -> int:
    return int(create_eligibility_tasks.call(clinic.org.pk))


def test_inactive_coverage_for_tomorrows_visit_becomes_one_front_desk_task(
    clinic, django_capture_on_commit_callbacks
):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W199"))
    assert check.status == "inactive"

    assert _run(clinic) == 1
    assert _run(clinic) == 0  # the same failure never makes a second task

    task = Task.objects.get(dedupe_key=f"eligibility:{check.pk}")
    assert task.queue == TaskQueue.FRONT_DESK
    assert task.task_type == TaskType.ELIGIBILITY_FAILED
    assert task.patient_id == clinic.patient.pk
    assert task.priority == TaskPriority.HIGH
    assert "coverage not active" in task.title
    assert f"{TOMORROW:%d %b %Y}" in task.title
    assert "Acme Health, member ID W199" in task.description
    assert timezone.localtime(task.due_at).date() == TOMORROW


def test_a_payer_rejection_carries_the_payers_reason_and_what_to_do(
    clinic, django_capture_on_commit_callbacks
):
    _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W100"))
    assert _run(clinic) == 1
    task = Task.objects.get(task_type=TaskType.ELIGIBILITY_FAILED)
    assert "payer rejected the request" in task.title
    assert "The payer does not recognise the member ID." in task.description
    assert "Check the insurance card and correct the member ID." in task.description


def test_active_coverage_and_past_visits_make_no_task(clinic, django_capture_on_commit_callbacks):
    _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W123456789"))
    assert _run(clinic) == 0
    assert not Task.objects.filter(task_type=TaskType.ELIGIBILITY_FAILED).exists()


def test_a_later_active_answer_closes_the_task(clinic, django_capture_on_commit_callbacks):
    coverage = clinic.coverage(member_id="W100")
    _check(clinic, django_capture_on_commit_callbacks, coverage)
    assert _run(clinic) == 1
    services.update_coverage(
        actor=clinic.front_desk,
        coverage_id=coverage.pk,
        data=CoverageInput(
            plan_id=clinic.instant_plan.pk,
            member_id="W123456789",
            group_number="GRP-42",
            effective_from=dt.date(2024, 1, 1),
        ),
    )
    assert _check(clinic, django_capture_on_commit_callbacks, coverage).status == "active"

    assert _run(clinic) == 0
    task = Task.objects.get(task_type=TaskType.ELIGIBILITY_FAILED)
    assert task.status == TaskStatus.DONE
    assert "found the coverage active" in task.comments.last().body


def test_the_rule_runs_on_the_periodic_clock(clinic, django_capture_on_commit_callbacks):
    _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W199"))
    entry = next(r for r in RECURRING if r.task is create_eligibility_tasks)
    assert entry.run_now(clinic.org.pk) == 1
