"""The patient chart's open-tasks panel: the patient's active tasks in every queue, most pressing first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.worklist import services
from caredesk.worklist.choices import TaskQueue, TaskStatus
from tests.patients.factories import portal_user_for

pytestmark = pytest.mark.django_db


def _panel(client, patient_id: int) -> str:
    response = client.get(reverse("worklist:patient_panel", args=[patient_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_panel_shows_the_patients_open_tasks_overdue_first(
    client_as, staff, add_task, patient, coord, frozen_now
):
    add_task(title="Book the follow-up", due_in_hours=48, patient_id=patient.pk)
    add_task(title="Call after discharge", due_in_hours=-3, patient_id=patient.pk, queue=TaskQueue.NURSING)
    done = add_task(title="Send the records", patient_id=patient.pk)
    services.change_status(actor=coord, task_id=done.pk, status=TaskStatus.DONE)
    add_task(title="Someone else's call", patient_id=None)

    html = _panel(client_as(staff[Role.COORDINATOR]), patient.pk)
    assert html.index("Call after discharge") < html.index("Book the follow-up")
    assert 'data-sla="overdue"' in html
    assert "overdue by 3 h" in html
    assert "Send the records" not in html  # done
    assert "Someone else" not in html


def test_no_open_tasks_is_said_and_the_portal_is_refused(client_as, staff, patient, frozen_now):
    assert "No open tasks." in _panel(client_as(staff[Role.COORDINATOR]), patient.pk)
    portal = client_as(portal_user_for(patient))
    assert portal.get(reverse("worklist:patient_panel", args=[patient.pk])).status_code == 403


def test_another_organizations_patient_answers_as_if_it_did_not_exist(
    client_as, staff, add_task, stranger, other_patient, frozen_now
):
    add_task(actor=stranger, title="Their own call", patient_id=other_patient.pk)
    response = client_as(staff[Role.COORDINATOR]).get(
        reverse("worklist:patient_panel", args=[other_patient.pk])
    )
    assert response.status_code == 404
    assert "Their own call" not in response.content.decode()
