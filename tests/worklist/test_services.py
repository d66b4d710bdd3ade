"""Worklist use cases against a real database: idempotent creation, assignment rights and scope, status
changes, snooze, comments and contact attempts, the audit rows, and the patient-merge hook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients import services as patient_services
from caredesk.patients.errors import PatientNotFound
from caredesk.worklist import selectors, services
from caredesk.worklist.choices import CommentKind, TaskQueue, TaskStatus, TaskType
from caredesk.worklist.errors import (
    InvalidAssignee,
    InvalidTransition,
    QueueNotAllowed,
    StaleTask,
    TaskClosed,
    TaskNotFound,
)
from caredesk.worklist.models import Task
from caredesk.worklist.selectors import WorklistQuery
from tests.patients.factories import make_patient, portal_user_for

from .conftest import NOW, due_in, staff_user

pytestmark = pytest.mark.django_db


# --- creating ---------------------------------------------------------------------------------------


def test_the_same_event_never_makes_two_tasks(coord, patient, add_task):
    first = services.create_task(
        actor=coord,
        data=services.NewTask(
            title="TCM contact",
            queue=TaskQueue.CARE_COORDINATION,
            dedupe_key="tcm:1:contact",
            patient_id=patient.pk,
        ),
    )
    again = services.create_task(
        actor=coord,
        data=services.NewTask(title="Something else", queue=TaskQueue.NURSING, dedupe_key="tcm:1:contact"),
    )
    assert first.created
    assert not again.created
    assert again.task.pk == first.task.pk
    assert again.task.title == "TCM contact"
    assert Task.objects.filter(dedupe_key="tcm:1:contact").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.TASK_CREATE).count() == 1


def test_several_tasks_at_once_keep_their_keys_and_audit_rows(coord, patient, add_task):
    existing = add_task(title="Already there", dedupe_key="tcm:2:contact")
    made = services.create_tasks(
        actor=coord,
        data=[
            services.NewTask(title="Contact", queue=TaskQueue.CARE_COORDINATION, dedupe_key="tcm:2:contact"),
            services.NewTask(
                title="Visit",
                queue=TaskQueue.CARE_COORDINATION,
                dedupe_key="tcm:2:visit",
                patient_id=patient.pk,
            ),
            services.NewTask(title="Meds", queue=TaskQueue.NURSING, dedupe_key="tcm:2:med_rec"),
            services.NewTask(title="Visit again", queue=TaskQueue.NURSING, dedupe_key="tcm:2:visit"),
        ],
    )
    assert [m.created for m in made] == [False, True, True, False]
    assert made[0].task.pk == existing.pk
    assert made[3].task.pk == made[1].task.pk
    assert Task.objects.get(dedupe_key="tcm:2:visit").patient_id == patient.pk
    audited = AuditEvent.objects.filter(action=AuditAction.TASK_CREATE, object_type="worklist.task")
    assert sorted(int(a.object_id) for a in audited) == sorted(
        [existing.pk, made[1].task.pk, made[2].task.pk]
    )
    with pytest.raises(ValidationFailed):
        services.create_tasks(actor=coord, data=[services.NewTask(title="", queue=TaskQueue.NURSING)])


def test_the_database_refuses_a_second_task_with_the_same_key(coord, org):
    services.create_task(actor=coord, data=services.NewTask(title="A", queue="nursing", dedupe_key="k:1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            organization=org, title="B", queue="nursing", due_at=NOW, dedupe_key="k:1", created_by_name="x"
        )
    # Tasks without a key are never deduplicated.
    services.create_task(actor=coord, data=services.NewTask(title="A", queue="nursing"))
    services.create_task(actor=coord, data=services.NewTask(title="A", queue="nursing"))
    assert Task.objects.filter(dedupe_key="").count() == 2


def test_dedupe_keys_are_per_organization(coord, stranger):
    for actor in (coord, stranger):
        assert services.create_task(
            actor=actor, data=services.NewTask(title="A", queue="nursing", dedupe_key="same")
        ).created


def test_a_task_without_due_time_gets_its_types_sla(coord, frozen_now):
    task = services.create_task(
        actor=coord,
        data=services.NewTask(
            title="Who is this?", queue="care_coordination", task_type=TaskType.PATIENT_MATCH_REVIEW
        ),
    ).task
    assert task.due_at == NOW + dt.timedelta(hours=4)


def test_task_patient_must_be_in_scope_and_not_merged(coord, patient, other_patient):
    with pytest.raises(PatientNotFound):
        services.create_task(
            actor=coord, data=services.NewTask(title="A", queue="nursing", patient_id=other_patient.pk)
        )
    survivor = make_patient(coord, family_name="Survivor")
    patient_services.merge_patients(actor=coord, source_id=patient.pk, target_id=survivor.pk, reason="dup")
    with pytest.raises(ValidationFailed, match="merged"):
        services.create_task(
            actor=coord, data=services.NewTask(title="A", queue="nursing", patient_id=patient.pk)
        )


def test_front_desk_creates_only_in_its_own_queue(actors):
    front = actors[Role.FRONT_DESK]
    with pytest.raises(QueueNotAllowed):
        services.create_task(actor=front, data=services.NewTask(title="A", queue=TaskQueue.NURSING))
    assert services.create_task(
        actor=front, data=services.NewTask(title="A", queue=TaskQueue.FRONT_DESK)
    ).created


def test_bad_input_writes_nothing(coord):
    for data in (
        services.NewTask(title="", queue="nursing"),
        services.NewTask(title="A", queue="nowhere"),
        services.NewTask(title="A", queue="nursing", priority=9),
        services.NewTask(title="A", queue="nursing", due_at=dt.datetime(2026, 1, 1)),  # naive
    ):
        with pytest.raises(ValidationFailed):
            services.create_task(actor=coord, data=data)
    assert not Task.objects.exists()


def test_creating_needs_the_permission(patient, actor_of):
    portal = actor_of(portal_user_for(patient))
    with pytest.raises(Forbidden):
        services.create_task(actor=portal, data=services.NewTask(title="A", queue="nursing"))


# --- scope and assignment -----------------------------------------------------------------------------


def test_front_desk_sees_its_queue_and_what_is_assigned_to_it(actors, staff, add_task):
    front = actors[Role.FRONT_DESK]
    own = add_task(queue=TaskQueue.FRONT_DESK, title="Front")
    nursing = add_task(queue=TaskQueue.NURSING, title="Nursing")
    billing = add_task(queue=TaskQueue.BILLING, title="Billing", assignee_id=staff[Role.FRONT_DESK].pk)
    visible = set(selectors.task_queryset(front).values_list("pk", flat=True))
    assert visible == {own.pk, billing.pk}
    with pytest.raises(TaskNotFound):
        selectors.get_task(actor=front, task_id=nursing.pk)
    with pytest.raises(TaskNotFound):
        services.change_status(actor=front, task_id=nursing.pk, status="done")


def test_other_organization_never_sees_a_task(add_task, stranger):
    task = add_task()
    with pytest.raises(TaskNotFound):
        selectors.get_task(actor=stranger, task_id=task.pk)
    with pytest.raises(TaskNotFound):
        services.assign_task(actor=stranger, task_id=task.pk, assignee_id=None)


def test_coordinator_assigns_to_anyone_on_staff(coord, staff, add_task, patient):
    task = add_task(patient_id=patient.pk)
    services.assign_task(actor=coord, task_id=task.pk, assignee_id=staff[Role.NURSE].pk)
    task.refresh_from_db()
    assert task.assignee_id == staff[Role.NURSE].pk
    event = AuditEvent.objects.filter(action=AuditAction.TASK_ASSIGNMENT_CHANGED).get()
    assert event.patient_id == patient.pk
    assert event.detail == {"from": None, "to": staff[Role.NURSE].pk}
    assert task.comments.filter(kind=CommentKind.EVENT, body__startswith="Assigned to").exists()


def test_only_staff_of_the_organization_can_be_assignees(coord, add_task, patient, other_org):
    task = add_task()
    for user in (portal_user_for(patient), staff_user(other_org, Role.NURSE, "w-far-nurse")):
        with pytest.raises(InvalidAssignee):
            services.assign_task(actor=coord, task_id=task.pk, assignee_id=user.pk)


def test_without_assign_permission_one_takes_or_lets_go(actors, staff, add_task):
    front = actors[Role.FRONT_DESK]
    task = add_task(queue=TaskQueue.FRONT_DESK)
    with pytest.raises(Forbidden):
        services.assign_task(actor=front, task_id=task.pk, assignee_id=staff[Role.NURSE].pk)
    services.assign_task(actor=front, task_id=task.pk, assignee_id=staff[Role.FRONT_DESK].pk)
    services.assign_task(actor=front, task_id=task.pk, assignee_id=None)
    task.refresh_from_db()
    assert task.assignee_id is None


def test_bulk_assign_skips_what_it_cannot_touch(coord, staff, add_task, stranger):
    mine = [add_task(title=f"T{n}") for n in range(3)]
    done = add_task(title="Done")
    services.change_status(actor=coord, task_id=done.pk, status="done")
    foreign = services.create_task(actor=stranger, data=services.NewTask(title="F", queue="nursing")).task
    result = services.bulk_assign(
        actor=coord,
        task_ids=[t.pk for t in mine] + [done.pk, foreign.pk, "junk"],
        assignee_id=staff[Role.NURSE].pk,
    )
    assert sorted(t.pk for t in result.assigned) == sorted(t.pk for t in mine)
    assert sorted(result.skipped) == sorted([done.pk, foreign.pk])
    assert set(Task.objects.filter(assignee=staff[Role.NURSE]).values_list("pk", flat=True)) == {
        t.pk for t in mine
    }
    assert AuditEvent.objects.filter(action=AuditAction.TASK_ASSIGNMENT_CHANGED).count() == 3
    again = services.bulk_assign(actor=coord, task_ids=[mine[0].pk], assignee_id=staff[Role.NURSE].pk)
    assert again.unchanged == [mine[0].pk]
    assert not again.assigned


def test_bulk_assign_needs_tasks(coord):
    with pytest.raises(ValidationFailed):
        services.bulk_assign(actor=coord, task_ids=[], assignee_id=None)


# --- status, snooze, comments ------------------------------------------------------------------------


def test_done_stamps_closed_at_and_reopening_clears_it(coord, add_task, frozen_now):
    task = add_task()
    services.change_status(actor=coord, task_id=task.pk, status="in_progress")
    task = services.change_status(actor=coord, task_id=task.pk, status="done", note="Spoke with daughter.")
    assert task.status == TaskStatus.DONE
    assert task.closed_at == NOW
    task = services.change_status(actor=coord, task_id=task.pk, status="open", note="Not reached after all.")
    assert task.status == TaskStatus.OPEN
    assert task.closed_at is None
    lines = list(task.comments.values_list("body", flat=True))
    assert lines[1] == "Status: In progress → Done. Spoke with daughter."
    assert AuditEvent.objects.filter(action=AuditAction.TASK_STATUS_CHANGED).count() == 3


def test_status_rules(coord, add_task):
    task = add_task()
    with pytest.raises(ValidationFailed, match="Note is required"):
        services.change_status(actor=coord, task_id=task.pk, status="cancelled")
    services.change_status(actor=coord, task_id=task.pk, status="done")
    with pytest.raises(InvalidTransition):
        services.change_status(actor=coord, task_id=task.pk, status="waiting")
    with pytest.raises(ValidationFailed):
        services.change_status(actor=coord, task_id=task.pk, status="finished")


def test_a_stale_edit_is_refused(coord, add_task):
    task = add_task()
    services.change_status(actor=coord, task_id=task.pk, status="in_progress", expected_version=task.version)
    with pytest.raises(StaleTask):
        services.change_status(actor=coord, task_id=task.pk, status="done", expected_version=task.version)


def test_snooze_hides_a_task_until_it_wakes(coord, add_task, frozen_now):
    task = add_task(due_in_hours=48)
    services.snooze_task(actor=coord, task_id=task.pk, until=NOW + dt.timedelta(hours=3))
    listed = selectors.list_tasks(actor=coord, query=WorklistQuery())
    assert task.pk not in [r.task.pk for r in listed.rows]
    with_snoozed = selectors.list_tasks(actor=coord, query=WorklistQuery(include_snoozed=True))
    assert [r.snoozed for r in with_snoozed.rows if r.task.pk == task.pk] == [True]
    services.snooze_task(actor=coord, task_id=task.pk, until=None)
    assert task.pk in [r.task.pk for r in selectors.list_tasks(actor=coord, query=WorklistQuery()).rows]
    with pytest.raises(ValidationFailed):
        services.snooze_task(actor=coord, task_id=task.pk, until=NOW - dt.timedelta(minutes=1))
    services.change_status(actor=coord, task_id=task.pk, status="done")
    with pytest.raises(TaskClosed):
        services.snooze_task(actor=coord, task_id=task.pk, until=NOW + dt.timedelta(hours=3))


def test_comments_and_attempts(coord, add_task, patient):
    task = add_task(patient_id=patient.pk)
    services.add_comment(actor=coord, task_id=task.pk, body="Left a voicemail, no answer.", kind="attempt")
    services.add_comment(actor=coord, task_id=task.pk, body="Daughter says call after 5.")
    detail = selectors.get_task(actor=coord, task_id=task.pk)
    assert detail.attempts == 1
    assert [c.kind for c in detail.comments] == ["attempt", "comment"]
    rows = AuditEvent.objects.filter(action=AuditAction.TASK_COMMENT_ADD, patient_id=patient.pk)
    assert sorted(r.detail["kind"] for r in rows) == ["attempt", "comment"]
    assert all("voicemail" not in str(r.detail) for r in rows)  # the text never goes into the audit trail
    services.change_status(actor=coord, task_id=task.pk, status="done")
    with pytest.raises(TaskClosed):
        services.add_comment(actor=coord, task_id=task.pk, body="late", kind="attempt")
    services.add_comment(actor=coord, task_id=task.pk, body="Closing note.")  # comments still welcome


def test_close_tasks_by_keys_leaves_closed_ones_alone(coord, add_task):
    a = add_task(dedupe_key="ev:1:a")
    b = add_task(dedupe_key="ev:1:b")
    services.change_status(actor=coord, task_id=b.pk, status="done")
    closed = services.close_tasks_by_keys(
        actor=coord, dedupe_keys=["ev:1:a", "ev:1:b", "ev:9"], reason="Undone."
    )
    assert [t.pk for t in closed] == [a.pk]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (TaskStatus.CANCELLED, TaskStatus.DONE)


def test_set_due_moves_an_open_task(coord, add_task, frozen_now):
    task = add_task()
    services.set_due(actor=coord, task_id=task.pk, due_at=NOW + dt.timedelta(days=7), reason="Complexity.")
    task.refresh_from_db()
    assert task.due_at == NOW + dt.timedelta(days=7)
    assert AuditEvent.objects.filter(action=AuditAction.TASK_DUE_CHANGED).count() == 1


# --- reading -----------------------------------------------------------------------------------------


def test_the_worklist_sorts_by_due_and_counts_per_queue(coord, add_task, patient, frozen_now):
    late = add_task(title="Late", due_in_hours=-2, patient_id=patient.pk)
    soon = add_task(title="Soon", due_in_hours=2)
    later = add_task(title="Later", due_in_hours=50, queue=TaskQueue.NURSING)
    closed = add_task(title="Closed", due_in_hours=-5)
    services.change_status(actor=coord, task_id=closed.pk, status="done")
    page = selectors.list_tasks(actor=coord, query=WorklistQuery())
    assert [r.task.pk for r in page.rows] == [late.pk, soon.pk, later.pk]
    assert [r.sla_state for r in page.rows] == ["overdue", "due_soon", "on_track"]
    overdue = selectors.list_tasks(actor=coord, query=WorklistQuery(overdue_only=True))
    assert [r.task.pk for r in overdue.rows] == [late.pk]
    nursing = selectors.list_tasks(actor=coord, query=WorklistQuery(queue=TaskQueue.NURSING))
    assert [r.task.pk for r in nursing.rows] == [later.pk]
    counts = {c.queue: (c.active, c.overdue) for c in selectors.queue_counts(actor=coord)}
    assert counts[TaskQueue.CARE_COORDINATION] == (2, 1)
    assert counts[TaskQueue.NURSING] == (1, 0)
    assert counts[TaskQueue.BILLING] == (0, 0)
    search = AuditEvent.objects.filter(action=AuditAction.TASK_SEARCH).order_by("id").first()
    assert search.detail["result_ids"] == [patient.pk]
    assert search.detail["task_ids"] == [late.pk, soon.pk, later.pk]


def test_a_long_queue_is_counted_up_to_the_cap(coord, add_task, frozen_now, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for hours in (-3, -2, -1, 5):
        add_task(due_in_hours=hours)
    add_task(due_in_hours=-1, queue=TaskQueue.NURSING)
    counts = {c.queue: c for c in selectors.queue_counts(actor=coord)}
    coordination = counts[TaskQueue.CARE_COORDINATION]
    assert (coordination.active, coordination.more_active) == (2, True)
    assert (coordination.overdue, coordination.more_overdue) == (2, True)
    nursing = counts[TaskQueue.NURSING]
    assert (nursing.active, nursing.overdue, nursing.more_active, nursing.more_overdue) == (
        1,
        1,
        False,
        False,
    )


def test_assignee_filters(coord, staff, add_task):
    mine = add_task(assignee_id=staff[Role.COORDINATOR].pk)
    nobody = add_task()
    theirs = add_task(assignee_id=staff[Role.NURSE].pk)
    ids = lambda q: [r.task.pk for r in selectors.list_tasks(actor=coord, query=q).rows]  # noqa: E731
    assert ids(WorklistQuery(assignee="me")) == [mine.pk]
    assert ids(WorklistQuery(assignee="unassigned")) == [nobody.pk]
    assert ids(WorklistQuery(assignee=str(staff[Role.NURSE].pk))) == [theirs.pk]


def test_opening_a_patients_task_is_audited(coord, add_task, patient):
    task = add_task(patient_id=patient.pk)
    selectors.get_task(actor=coord, task_id=task.pk)
    view = AuditEvent.objects.get(action=AuditAction.TASK_VIEW)
    assert (view.patient_id, view.object_id) == (patient.pk, str(task.pk))


def test_paging(coord, add_task):
    for n in range(5):
        add_task(title=f"T{n}", due_in_hours=n + 1)
    first = selectors.list_tasks(actor=coord, query=WorklistQuery(), page=1, page_size=2)
    third = selectors.list_tasks(actor=coord, query=WorklistQuery(), page=3, page_size=2)
    assert first.has_next
    assert not third.has_next
    assert [r.task.title for r in third.rows] == ["T4"]


# --- patient merges ----------------------------------------------------------------------------------


def test_merging_patients_moves_their_tasks(coord, add_task, patient):
    survivor = make_patient(coord, family_name="Keeper")
    task = add_task(patient_id=patient.pk)
    patient_services.merge_patients(actor=coord, source_id=patient.pk, target_id=survivor.pk, reason="dup")
    task.refresh_from_db()
    assert task.patient_id == survivor.pk
    assert task.comments.filter(body__contains="merged").exists()


def test_due_in_helper_uses_the_worklist_clock(frozen_now):
    assert due_in(1) == NOW + dt.timedelta(hours=1)
