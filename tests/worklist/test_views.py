"""The worklist pages as a coordinator, a nurse and the front desk use them: what they see, what htmx
swaps, bulk assignment, the task page's actions, and refusals shown on the form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.worklist.choices import TaskQueue, TaskStatus
from caredesk.worklist.models import Task

from .conftest import NOW

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def browser(client_as, staff):
    return lambda role=Role.COORDINATOR: client_as(staff[role])


def test_the_worklist_shows_what_is_due_with_overdue_standing_out(browser, add_task, patient, frozen_now):
    add_task(title="Call after discharge", due_in_hours=-3, patient_id=patient.pk)
    add_task(title="Send records", due_in_hours=30)
    page = browser().get(reverse("worklist:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Call after discharge") < html.index("Send records")
    assert 'data-sla="overdue"' in html
    assert "Overdue" in html
    assert "overdue by 3 h" in html
    assert "Worklistson, Wanda" in html
    assert patient.mrn in html
    assert 'data-testid="queue-count-care_coordination"' in html
    assert "<html" in html


def test_htmx_filters_swap_only_the_results(browser, add_task, frozen_now):
    add_task(title="Nursing thing", queue=TaskQueue.NURSING)
    add_task(title="Coordination thing")
    response = browser().get(reverse("worklist:list"), {"queue": "nursing"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="worklist-results"')
    assert "Nursing thing" in html
    assert "Coordination thing" not in html


def test_a_bad_filter_answers_400(browser):
    assert browser().get(reverse("worklist:list"), {"status": "bogus"}).status_code == 400


def test_front_desk_sees_only_its_queue(browser, add_task, frozen_now):
    add_task(title="Confirm insurance card", queue=TaskQueue.FRONT_DESK)
    nursing = add_task(title="Wound check", queue=TaskQueue.NURSING)
    client = browser(Role.FRONT_DESK)
    html = client.get(reverse("worklist:list")).content.decode()
    assert "Confirm insurance card" in html
    assert "Wound check" not in html
    assert "Take selected" in html
    assert "Assign selected to" not in html
    assert client.get(reverse("worklist:task", args=[nursing.pk])).status_code == 404


def test_bulk_assign_from_the_worklist(browser, add_task, staff, frozen_now):
    tasks = [add_task(title=f"Task {n}") for n in range(3)]
    response = browser().post(
        reverse("worklist:bulk_assign"),
        {
            "task_ids": [tasks[0].pk, tasks[2].pk],
            "assignee": str(staff[Role.NURSE].pk),
            "filters": "status=active",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Assigned 2 tasks." in response.content.decode()
    assert set(Task.objects.filter(assignee=staff[Role.NURSE]).values_list("pk", flat=True)) == {
        tasks[0].pk,
        tasks[2].pk,
    }


def test_bulk_assign_without_htmx_redirects_back(browser, add_task, staff):
    task = add_task()
    response = browser().post(
        reverse("worklist:bulk_assign"), {"task_ids": [task.pk], "assignee": "me", "filters": "queue=nursing"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?queue=nursing")
    task.refresh_from_db()
    assert task.assignee_id == staff[Role.COORDINATOR].pk


def test_bulk_assign_with_nothing_ticked_says_so(browser):
    response = browser().post(reverse("worklist:bulk_assign"), {"assignee": "me"}, headers=HTMX)
    assert response.status_code == 400
    assert "Tick at least one task" in response.content.decode()


def test_front_desk_cannot_bulk_assign_to_others(browser, add_task, staff):
    task = add_task(queue=TaskQueue.FRONT_DESK)
    response = browser(Role.FRONT_DESK).post(
        reverse("worklist:bulk_assign"), {"task_ids": [task.pk], "assignee": str(staff[Role.NURSE].pk)}
    )
    assert response.status_code == 403


def test_the_task_page_and_its_actions(browser, add_task, patient, frozen_now):
    task = add_task(title="TCM call", patient_id=patient.pk)
    client = browser()
    page = client.get(reverse("worklist:task", args=[task.pk]))
    assert page.status_code == 200
    assert "TCM call" in page.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.TASK_VIEW, patient_id=patient.pk).exists()

    attempt = client.post(
        reverse("worklist:task_comment", args=[task.pk]),
        {"kind": "attempt", "body": "No answer, voicemail full."},
        headers=HTMX,
    )
    assert attempt.status_code == 200
    assert 'data-testid="task-attempts">1<' in attempt.content.decode()

    done = client.post(
        reverse("worklist:task_status", args=[task.pk]),
        {"status": "done", "note": "Reached her son.", "version": task.version + 1},
        headers=HTMX,
    )
    assert done.status_code == 200
    assert "Status: Open → Done. Reached her son." in done.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_refusals_show_on_the_form(browser, add_task):
    task = add_task()
    client = browser()
    cancel = client.post(
        reverse("worklist:task_status", args=[task.pk]), {"status": "cancelled"}, headers=HTMX
    )
    assert cancel.status_code == 400
    assert "Note is required." in cancel.content.decode()
    stale = client.post(
        reverse("worklist:task_status", args=[task.pk]), {"status": "done", "version": 99}, headers=HTMX
    )
    assert stale.status_code == 409
    assert "Someone else changed this task" in stale.content.decode()


def test_actions_without_htmx_redirect_to_the_task(browser, add_task, staff, frozen_now):
    task = add_task()
    client = browser()
    response = client.post(reverse("worklist:task_assign", args=[task.pk]), {"assignee": "me"})
    assert response.status_code == 302
    assert response["Location"] == reverse("worklist:task", args=[task.pk])
    until = (NOW + dt.timedelta(days=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    assert client.post(reverse("worklist:task_snooze", args=[task.pk]), {"until": until}).status_code == 302
    task.refresh_from_db()
    assert task.assignee_id == staff[Role.COORDINATOR].pk
    assert task.snoozed_until is not None


def test_new_task_for_a_patient(browser, patient, staff):
    client = browser(Role.NURSE)
    form = client.get(reverse("worklist:new"))
    assert form.status_code == 200
    response = client.post(
        reverse("worklist:new"),
        {
            "title": "Check wound photo",
            "task_type": "general",
            "queue": "nursing",
            "priority": "2",
            "patient_mrn": patient.mrn,
            "assignee": "me",
        },
    )
    task = Task.objects.get(title="Check wound photo")
    assert response.status_code == 302
    assert response["Location"] == reverse("worklist:task", args=[task.pk])
    assert (task.patient_id, task.assignee_id, task.priority) == (patient.pk, staff[Role.NURSE].pk, 2)


def test_new_task_with_an_unknown_mrn_is_refused(browser):
    response = browser().post(
        reverse("worklist:new"),
        {
            "title": "X",
            "task_type": "general",
            "queue": "nursing",
            "priority": "3",
            "patient_mrn": "ZZZ0000001",
        },
    )
    assert response.status_code == 400
    assert "No patient with MRN" in response.content.decode()
    assert not Task.objects.exists()


def test_the_navigation_offers_the_worklist(browser, client_as, patient):
    from tests.patients.factories import portal_user_for

    assert reverse("worklist:list") in browser().get(reverse("worklist:new")).content.decode()
    portal = client_as(portal_user_for(patient))
    assert portal.get(reverse("worklist:list")).status_code == 403
