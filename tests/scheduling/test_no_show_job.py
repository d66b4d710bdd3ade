"""The automatic no-show: the recurring job marks not-arrived appointments no-show once the grace period
has passed, counts them per patient and puts one follow-up call per no-show on the front desk's worklist
(never two, however often it runs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import Actor, system_actor
from caredesk.ops.schedule import RECURRING
from caredesk.scheduling import selectors, services, tasks
from caredesk.scheduling.models import Appointment, AppointmentResource
from caredesk.worklist.models import Task

from .conftest import MONDAY, Clinic, at, book

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace(settings) -> int:
    settings.CAREDESK_NO_SHOW_GRACE_MINUTES = 15
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return 15


def follow_ups() -> list[Task]:
    return list(Task.objects.filter(dedupe_key__startswith="scheduling:no-show:").order_by("pk"))


def test_not_arrived_after_the_grace_period_becomes_a_no_show_with_one_follow_up_call(
    clinic, frozen_clock, grace
):
    absent, present, later = clinic.patient(), clinic.patient(), clinic.patient()
    missed = book(clinic, at(MONDAY, 9), patient=absent, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    came = book(clinic, at(MONDAY, 9), patient=present, resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    not_yet = book(
        clinic, at(MONDAY, 9, 20), patient=later, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    frozen_clock(at(MONDAY, 9, 5))
    services.check_in(actor=clinic.desk, appointment_id=came.pk)

    frozen_clock(at(MONDAY, 9, 16))
    assert tasks.mark_no_shows.call(clinic.org.pk) == {"marked": 1, "tasks_created": 1}

    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {missed.pk: "noshow", came.pk: "arrived", not_yet.pk: "booked"}
    assert not AppointmentResource.objects.filter(appointment=missed, active=True).exists()  # time freed
    [task] = follow_ups()
    assert (task.patient_id, task.task_type, task.queue, task.status) == (
        absent.pk,
        "follow_up_call",
        "front_desk",
        "open",
    )
    assert task.source_id == str(missed.pk)
    assert "No-show follow-up call" in task.title
    detail = selectors.get_appointment(actor=clinic.desk, appointment_id=missed.pk)
    assert detail.no_shows == 1
    event = detail.history[-1]
    assert (event.kind, event.from_status, event.detail["automatic"]) == ("no_show", "booked", True)
    assert AuditEvent.objects.filter(
        action=AuditAction.APPOINTMENT_NO_SHOW, patient_id=absent.pk, object_id=str(missed.pk)
    ).exists()


def test_running_the_job_again_creates_nothing_twice(clinic, frozen_clock, grace):
    patient = clinic.patient()
    appointment = book(
        clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    frozen_clock(at(MONDAY, 9, 30))
    first = services.mark_overdue_no_shows(actor=_job_actor(clinic))
    again = services.mark_overdue_no_shows(actor=_job_actor(clinic))
    assert (first.marked, first.tasks_created) == (1, 1)
    assert (again.marked, again.tasks_created) == (0, 0)
    assert len(follow_ups()) == 1
    assert AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_NO_SHOW).count() == 1
    assert [e.kind for e in appointment.events.order_by("pk")] == ["booked", "no_show"]


def test_each_no_show_counts_per_patient_and_gets_its_own_call(clinic, frozen_clock, grace):
    patient = clinic.patient()
    first = book(clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    second = book(clinic, at(MONDAY, 11), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    frozen_clock(at(MONDAY, 9, 20))
    services.mark_overdue_no_shows(actor=_job_actor(clinic))
    frozen_clock(at(MONDAY, 11, 20))
    run = services.mark_overdue_no_shows(actor=_job_actor(clinic))
    assert (run.marked, run.tasks_created) == (1, 1)
    assert [t.source_id for t in follow_ups()] == [str(first.pk), str(second.pk)]
    assert "2 no-shows so far" in follow_ups()[1].description
    assert selectors.get_appointment(actor=clinic.desk, appointment_id=second.pk).no_shows == 2


def test_old_bookings_and_other_statuses_are_left_alone(clinic, frozen_clock, grace):
    patient = clinic.patient()
    old = book(clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    cancelled = book(
        clinic, at(MONDAY, 10), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    services.cancel_appointment(actor=clinic.desk, appointment_id=cancelled.pk, reason="patient_request")
    frozen_clock(at(MONDAY, 9) + services.NO_SHOW_LOOKBACK + dt.timedelta(minutes=1))
    run = services.mark_overdue_no_shows(actor=_job_actor(clinic))
    assert (run.marked, run.tasks_created) == (0, 0)
    assert Appointment.objects.get(pk=old.pk).status == "booked"
    assert Appointment.objects.get(pk=cancelled.pk).status == "cancelled"
    assert follow_ups() == []


def test_the_job_needs_booking_and_worklist_permissions(clinic, frozen_clock, grace):
    with pytest.raises(PermissionDenied):
        services.mark_overdue_no_shows(actor=tasks.task_actor(clinic.org.pk))  # reminders' actor: no tasks


def test_the_job_is_recurring_work():
    assert any(job.task is tasks.mark_no_shows for job in RECURRING)


def _job_actor(clinic: Clinic) -> Actor:
    return system_actor(organization_id=clinic.org.pk, permissions=tasks.NO_SHOW_PERMISSIONS, channel="task")
