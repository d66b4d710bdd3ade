"""A care coordinator's day in a real browser, on the seeded demo clinic (issue 4's "Done when"):

1. a discharge (ADT^A03) arrives over MLLP on a real socket; the worklist shows the TCM call on top with
   its deadline; she logs the call from the task, closes it, and books the follow-up visit;
2. she sends a referral, walks it through the loop, records the consult note and sees the loop close;
3. a diabetic patient's care plan shows HbA1c off target and the overdue lab, which is on the worklist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from caredesk.accounts.models import Location, Organization, User
from caredesk.accounts.services import actor_for_user
from caredesk.careplans.models import Activity, Goal
from caredesk.interop.hl7.inbound import Inbound
from caredesk.interop.hl7.server import ListenerThread
from caredesk.messaging.models import Communication
from caredesk.patients import services as patient_services
from caredesk.patients.models import Patient
from caredesk.referrals.models import Referral, ReferralReceiver
from caredesk.scheduling import clock as scheduling_clock
from caredesk.scheduling.models import Appointment, VisitType
from caredesk.transitions.models import TcmEpisode
from caredesk.worklist.choices import TaskStatus, TaskType
from caredesk.worklist.models import Task
from tests.interop.hl7_support import MllpClient, ack_fields

pytestmark = pytest.mark.e2e

HBA1C = "4548-4"


def _organization() -> Organization:
    return Organization.objects.get(short_code="RSH")


@pytest.fixture
def listener(demo_network) -> Iterator[int]:
    """The MLLP listener of the demo organization, on a free port, against the live server's database."""
    thread = ListenerThread(Inbound(_organization()), workers=1)
    port = thread.start()
    yield port
    thread.stop()


def _discharge_message(patient: Patient, control_id: str) -> str:
    discharged = timezone.localtime() - dt.timedelta(hours=3)
    stamp = discharged.strftime("%Y%m%d%H%M")
    pv1 = ["PV1", "1", "I", "4E^136^B^GHH"] + [""] * 42
    pv1[19], pv1[36], pv1[44], pv1[45] = "E2E-DAY-V1", "01^Home or self care", stamp, stamp
    birth = patient.birth_date.strftime("%Y%m%d")
    return "\r".join(
        [
            f"MSH|^~\\&|ADT1|GHH|CAREDESK|RSH|{stamp}||ADT^A03^ADT_A03|{control_id}|P|2.5.1",
            f"EVN|A03|{stamp}",
            f"PID|1||{patient.mrn}^^^RSH^MR||{patient.family_name.upper()}^{patient.given_name.upper()}"
            f"||{birth}|{'F' if patient.sex == 'female' else 'M'}",
            "|".join(pv1),
        ]
    )


def _first_slot_day(location: Location) -> dt.date:
    """A weekday a few days ahead (the demo's holiday is two weeks out)."""
    day = scheduling_clock.now().astimezone(ZoneInfo(location.timezone)).date() + dt.timedelta(days=3)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def test_a_discharge_over_mllp_puts_the_tcm_call_on_top_she_logs_it_and_books_the_visit(
    page: Page, sign_in, listener: int
) -> None:
    organization = _organization()
    patient = Patient.objects.filter(organization=organization, status="active").order_by("-pk").first()
    assert patient is not None
    with MllpClient(listener) as client:
        assert ack_fields(client.send(_discharge_message(patient, "E2E-DAY-1")))["code"] == "AA"
    task = Task.objects.get(patient=patient, task_type=TaskType.TCM_CONTACT, status="open")
    assert TcmEpisode.objects.filter(patient=patient).exists()

    sign_in("coordinator")
    page.goto("/worklist/?sort=priority")
    top = page.get_by_test_id("task-row").first
    expect(top).to_contain_text(patient.family_name)
    expect(top).to_contain_text("TCM interactive contact")
    expect(top).to_contain_text(timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M"))

    # She opens the task and logs the call from it (htmx form in place).
    top.get_by_role("link", name=task.title).click()
    expect(page.get_by_test_id("task-panel")).to_be_visible()
    expect(page.get_by_test_id("task-due")).to_contain_text(
        timezone.localtime(task.due_at).strftime("%Y-%m-%d")
    )
    page.get_by_test_id("log-call").click()
    form = page.get_by_test_id("log-form")
    form.get_by_label("Outcome").select_option("reached")
    form.get_by_label("Subject").fill("TCM call: doing well at home")
    form.get_by_label("Minutes (calls)").fill("12")
    form.get_by_role("button", name="Log it").click()
    # The task panel reloads: the call is on the task's timeline.
    expect(page.get_by_test_id("timeline")).to_contain_text("TCM call: doing well at home")
    entry = Communication.objects.get(patient=patient, task=task)
    assert (entry.outcome, entry.duration_seconds) == ("reached", 720)
    # A reached call logged on the TCM contact task completes the contact: the task closes by itself.
    expect(page.get_by_test_id("task-status")).to_have_text("Done")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert TcmEpisode.objects.get(patient=patient).contact_communication_id == entry.pk

    # The patient's communication log shows the call.
    page.goto(f"/communications/patients/{patient.pk}/")
    expect(page.get_by_text("TCM call: doing well at home")).to_be_visible()

    # She books the follow-up visit.
    location = Location.objects.filter(organization=organization).order_by("pk").first()
    assert location is not None
    visit_type = VisitType.objects.get(organization=organization, code="follow-up")
    page.goto(f"/scheduling/book/?patient={patient.pk}")
    page.get_by_label("Visit type").select_option(str(visit_type.pk))
    page.get_by_label("From").fill(_first_slot_day(location).isoformat())
    page.get_by_test_id("find-times").click()
    expect(page.get_by_test_id("slot").first).to_be_visible()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page).to_have_url(re.compile(r"/scheduling/appointments/\d+/$"))
    assert Appointment.objects.filter(
        patient=patient, visit_type=visit_type, starts_at__gt=timezone.now()
    ).exists()


def test_she_sends_a_referral_and_sees_the_loop_close(page: Page, sign_in) -> None:
    organization = _organization()
    receiver = ReferralReceiver.objects.filter(organization=organization, active=True).order_by("pk").first()
    assert receiver is not None
    patient = Patient.objects.filter(organization=organization, status="active").order_by("pk")[1]
    before = set(Referral.objects.filter(patient=patient).values_list("pk", flat=True))

    sign_in("coordinator")
    page.goto(f"/referrals/patients/{patient.pk}/new/")
    page.get_by_label("Specialty").select_option(receiver.specialty)
    page.get_by_label("Receiver").select_option(str(receiver.pk))
    page.get_by_label("Reason").fill("Specialist opinion after the hospital stay")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("referral-status")).to_have_text("Sent")
    referral = Referral.objects.filter(patient=patient).exclude(pk__in=before).get()

    for action, status in [("receive", "Received"), ("accept", "Accepted")]:
        page.get_by_test_id(f"action-{action}").click()
        expect(page.get_by_test_id("referral-status")).to_have_text(status)
    when = (timezone.localtime() + dt.timedelta(days=5)).replace(hour=10, minute=0)
    page.get_by_label("Appointment", exact=True).fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("action-schedule").click()
    expect(page.get_by_test_id("referral-status")).to_have_text("Scheduled")
    page.get_by_test_id("action-seen").click()
    expect(page.get_by_test_id("referral-status")).to_have_text("Seen")
    page.get_by_label("Note", exact=True).fill("Consult note: start a beta blocker, review in 3 months.")
    page.get_by_test_id("action-close").click()
    expect(page.get_by_test_id("referral-status")).to_have_text("Consult note received")
    expect(page.get_by_test_id("outcome-note")).to_contain_text("start a beta blocker")
    timeline = page.get_by_test_id("timeline")
    for step in ["Sent", "Received", "Accepted", "Scheduled", "Seen", "Consult note received"]:
        expect(timeline).to_contain_text(step)
    referral.refresh_from_db()
    assert referral.status == "closed"


def test_a_diabetic_plan_shows_hba1c_off_target_and_the_overdue_lab(page: Page, sign_in) -> None:
    organization = _organization()
    today = timezone.localdate()
    lab = (
        Activity.objects.filter(
            plan__organization=organization,
            plan__status="active",
            description="HbA1c blood test",
            due_on__lt=today,
        )
        .select_related("plan__patient")
        .order_by("pk")
        .first()
    )
    assert lab is not None, "the demo sets the first diabetic's HbA1c lab overdue"
    patient = lab.plan.patient
    assert Goal.objects.filter(plan=lab.plan, code=HBA1C).exists()
    coordinator = User.objects.get(username="coordinator")
    # The latest HbA1c is well above the 7 % target.
    patient_services.add_observation(
        actor=actor_for_user(coordinator), patient_id=patient.pk, kind="hba1c", value=Decimal("8.6")
    )

    sign_in("coordinator")
    page.goto(f"/careplans/patients/{patient.pk}/")
    plan = page.get_by_test_id("careplan").filter(has_text="HbA1c").first
    goal = plan.get_by_test_id("goal").filter(has_text="HbA1c").first
    expect(goal.get_by_test_id("goal-status")).to_have_attribute("data-status", "not_met")
    expect(goal).to_contain_text("8.6")
    activity = plan.get_by_test_id("activity").filter(has_text="HbA1c blood test")
    expect(activity.get_by_test_id("overdue")).to_be_visible()

    # The overdue lab made a task on the worklist (the demo ran the care-plan rule).
    task = Task.objects.get(
        patient=patient, source_type="careplans.careplan", title="Overdue: HbA1c blood test"
    )
    page.goto(f"/worklist/?queue={task.queue}&task_type={task.task_type}")
    row = (
        page.get_by_test_id("task-row")
        .filter(has_text="Overdue: HbA1c blood test")
        .filter(has_text=patient.family_name)
    )
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Overdue: HbA1c blood test").click()
    expect(page.get_by_test_id("task-panel")).to_contain_text(f"was due on {lab.due_on:%Y-%m-%d}")
