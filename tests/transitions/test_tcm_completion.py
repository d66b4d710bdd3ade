"""TCM steps completed by what happens elsewhere: the patient's follow-up visit, fulfilled at the clinic,
completes the face-to-face step; a reached call logged on the contact task completes the contact. Each
closes its task, names what completed it, and shows in the compliance report, on time or late.

Discharged Sunday 28 February 2027 at 14:00 (New York): contact due Tuesday 2 March (two business days),
visit due Sunday 7 March (high complexity), service period until 29 March."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.urls import reverse

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.messaging import clock as messaging_clock
from caredesk.messaging import services as messaging
from caredesk.scheduling import clock as scheduling_clock
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.hooks import FulfilledVisit
from caredesk.scheduling.models import Appointment
from caredesk.transitions import clock as transitions_clock
from caredesk.transitions import selectors, services
from caredesk.transitions.choices import Outcome
from caredesk.transitions.models import EncounterEvent, TcmEpisode
from caredesk.worklist import clock as worklist_clock
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskStatus, TaskType
from caredesk.worklist.models import Task
from tests.scheduling.conftest import Clinic, at, build_clinic

from .conftest import adt, hospital_id, local, person

pytestmark = pytest.mark.django_db
DISCHARGE = local(2027, 2, 28, 14)
CONTACT_DUE, VISIT_DUE = dt.date(2027, 3, 2), dt.date(2027, 3, 7)


@pytest.fixture
def now_is(monkeypatch) -> Callable[[dt.datetime], None]:
    """`now_is(moment)`: every clock involved (feed, worklist, clinic, communication log) reads it."""

    def set_clock(moment: dt.datetime) -> None:
        for clock in (worklist_clock, transitions_clock, scheduling_clock, messaging_clock):
            monkeypatch.setattr(clock, "now", lambda: moment.astimezone(dt.UTC))

    set_clock(local(2027, 2, 28, 15))
    return set_clock


@pytest.fixture
def clinic(org, now_is) -> Clinic:
    return build_clinic(org)


@pytest.fixture
def discharged(clinic, receive, now_is):
    """The patient (registered at the clinic), discharged home from the hospital: TCM started."""
    patient = clinic.patient(family_name="Tcmson", given_name="Tess")
    who = person(hospital_id(patient.mrn, authority="RSH"), hospital_id("H900"))
    receive(adt("A03", "D1", who=who, discharge=DISCHARGE, disposition="01"))
    episode = TcmEpisode.objects.get(patient=patient)
    assert (episode.contact_due, episode.visit_due) == (CONTACT_DUE, VISIT_DUE)
    return patient


def task(kind: str) -> Task:
    return Task.objects.get(dedupe_key__startswith="tcm:", task_type=kind)


def report_row(coord) -> selectors.EpisodeCompliance:
    report = selectors.tcm_compliance(
        actor=coord, discharged_from=dt.date(2027, 2, 1), discharged_to=dt.date(2027, 2, 28)
    )
    assert report.total == 1
    return report.rows[0]


def hold_visit(clinic: Clinic, patient, day: dt.date, now_is) -> Appointment:
    """Book the follow-up (the day before), then check the patient in and complete the visit."""
    now_is(at(day - dt.timedelta(days=1), 7))
    appointment = scheduling.book_appointment(
        actor=clinic.desk,
        request=scheduling.BookingRequest(
            patient_id=patient.pk,
            visit_type_id=clinic.follow_up.pk,
            location_id=clinic.location.pk,
            start=at(day, 9),
        ),
    )
    now_is(at(day, 9, 5))
    scheduling.check_in(actor=clinic.desk, appointment_id=appointment.pk)
    now_is(at(day, 9, 40))
    scheduling.change_status(actor=clinic.desk, appointment_id=appointment.pk, status="fulfilled")
    return appointment


# --- the face-to-face visit -------------------------------------------------------------------------------


def test_a_fulfilled_follow_up_visit_completes_the_face_to_face_step(clinic, discharged, coord, now_is):
    appointment = hold_visit(clinic, discharged, dt.date(2027, 3, 5), now_is)

    visit = task(TaskType.TCM_VISIT)
    assert visit.status == TaskStatus.DONE
    assert f"appointment #{appointment.pk}" in visit.comments.order_by("pk").last().body
    episode = TcmEpisode.objects.get()
    assert (episode.visit_appointment_id, episode.visit_on) == (appointment.pk, dt.date(2027, 3, 5))
    assert task(TaskType.TCM_CONTACT).status == TaskStatus.OPEN  # only the visit
    assert task(TaskType.TCM_MED_RECONCILIATION).status == TaskStatus.OPEN
    row = report_row(coord)
    assert (row.visit.outcome, row.visit.done_on) == (Outcome.MET, dt.date(2027, 3, 5))
    assert row.visit.appointment_id == appointment.pk
    assert EncounterEvent.objects.filter(event_type="tcm", summary__contains="face-to-face").count() == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.TCM_EPISODE_UPDATE, patient_id=discharged.pk, detail__element="visit"
    ).exists()


def test_completing_the_visit_again_changes_nothing(clinic, discharged, now_is, org):
    first = hold_visit(clinic, discharged, dt.date(2027, 3, 4), now_is)
    again = FulfilledVisit(
        appointment_id=first.pk,
        organization_id=org.pk,
        patient_id=discharged.pk,
        visit_type_id=clinic.follow_up.pk,
        location_id=clinic.location.pk,
        resource_ids=(),
    )
    services.complete_visit_on_fulfilment(clinic.desk, again)
    second = hold_visit(clinic, discharged, dt.date(2027, 3, 8), now_is)
    episode = TcmEpisode.objects.get()
    assert (episode.visit_appointment_id, episode.visit_on) == (first.pk, dt.date(2027, 3, 4))
    assert second.pk != first.pk
    assert AuditEvent.objects.filter(action=AuditAction.TCM_EPISODE_UPDATE).count() == 1
    assert EncounterEvent.objects.filter(event_type="tcm", summary__contains="face-to-face").count() == 1


def test_a_visit_after_the_deadline_still_closes_the_task_but_the_episode_is_reported_late(
    clinic, discharged, coord, now_is
):
    appointment = hold_visit(clinic, discharged, dt.date(2027, 3, 10), now_is)
    assert task(TaskType.TCM_VISIT).status == TaskStatus.DONE
    assert TcmEpisode.objects.get().visit_appointment_id == appointment.pk
    row = report_row(coord)
    assert (row.visit.outcome, row.visit.done_on) == (Outcome.LATE, dt.date(2027, 3, 10))
    assert row.compliant is False
    assert "reported late" in EncounterEvent.objects.filter(event_type="tcm").last().summary


def test_a_visit_closed_by_hand_is_left_as_it_was(clinic, discharged, coord, now_is):
    now_is(local(2027, 3, 3, 12))
    worklist.change_status(actor=coord, task_id=task(TaskType.TCM_VISIT).pk, status="done")
    hold_visit(clinic, discharged, dt.date(2027, 3, 9), now_is)
    assert TcmEpisode.objects.get().visit_appointment_id is None
    assert report_row(coord).visit.outcome == Outcome.MET


def test_another_patients_visit_completes_nothing(clinic, discharged, now_is):
    hold_visit(clinic, clinic.patient(family_name="Other"), dt.date(2027, 3, 5), now_is)
    assert task(TaskType.TCM_VISIT).status == TaskStatus.OPEN
    assert TcmEpisode.objects.get().visit_appointment_id is None


def test_the_encounter_page_names_the_visit_that_completed_it(
    clinic, discharged, client_as, coordinator_user, now_is
):
    appointment = hold_visit(clinic, discharged, dt.date(2027, 3, 5), now_is)
    episode = TcmEpisode.objects.get()
    html = client_as(coordinator_user).get(reverse("transitions:encounter", args=[episode.encounter_id]))
    assert html.status_code == 200
    assert reverse("scheduling:detail", args=[appointment.pk]) in html.content.decode()


# --- the interactive contact ----------------------------------------------------------------------------


def log_call(coord, patient, *, outcome: str, on_task: bool = True, at_moment: dt.datetime | None = None):
    return messaging.log_communication(
        actor=coord,
        data=messaging.NewCommunication(
            patient_id=patient.pk,
            direction="out",
            channel="phone",
            subject="TCM call after discharge",
            outcome=outcome,
            party="patient",
            task_id=task(TaskType.TCM_CONTACT).pk if on_task else None,
            occurred_at=at_moment,
        ),
    )


def test_a_reached_call_logged_on_the_contact_task_completes_the_contact(discharged, coord, now_is):
    now_is(local(2027, 3, 1, 11))
    entry = log_call(coord, discharged, outcome="reached")
    contact = task(TaskType.TCM_CONTACT)
    assert contact.status == TaskStatus.DONE
    episode = TcmEpisode.objects.get()
    assert (episode.contact_communication_id, episode.contact_on) == (entry.pk, dt.date(2027, 3, 1))
    row = report_row(coord)
    assert (row.contact.outcome, row.contact.done_on) == (Outcome.MET, dt.date(2027, 3, 1))
    assert row.contact.communication_id == entry.pk
    assert task(TaskType.TCM_VISIT).status == TaskStatus.OPEN
    # Logged again (a second call that day): nothing changes.
    log_call(coord, discharged, outcome="reached")
    assert TcmEpisode.objects.get().contact_communication_id == entry.pk
    assert AuditEvent.objects.filter(action=AuditAction.TCM_EPISODE_UPDATE).count() == 1


def test_a_call_that_reached_nobody_is_an_attempt_and_leaves_the_task_open(discharged, coord, now_is):
    now_is(local(2027, 3, 1, 11))
    log_call(coord, discharged, outcome="no_answer")
    now_is(local(2027, 3, 2, 11))
    log_call(coord, discharged, outcome="busy")
    assert task(TaskType.TCM_CONTACT).status == TaskStatus.OPEN
    assert TcmEpisode.objects.get().contact_communication_id is None
    row = report_row(coord)
    assert (row.contact.outcome, row.contact.attempts) == (Outcome.MET_BY_ATTEMPTS, 2)


def test_a_late_contact_closes_the_task_and_is_reported_late(discharged, coord, now_is):
    now_is(local(2027, 3, 4, 10))
    log_call(coord, discharged, outcome="reached")
    assert task(TaskType.TCM_CONTACT).status == TaskStatus.DONE
    row = report_row(coord)
    assert (row.contact.outcome, row.contact.done_on) == (Outcome.LATE, dt.date(2027, 3, 4))
    assert row.compliant is False


def test_a_call_logged_later_counts_from_when_it_happened(discharged, coord, now_is):
    now_is(local(2027, 3, 4, 10))
    log_call(coord, discharged, outcome="reached", at_moment=local(2027, 3, 2, 16))
    assert report_row(coord).contact.outcome == Outcome.MET


def test_a_reached_call_not_about_the_contact_task_leaves_it_open(discharged, coord, now_is):
    now_is(local(2027, 3, 1, 11))
    log_call(coord, discharged, outcome="reached", on_task=False)
    assert task(TaskType.TCM_CONTACT).status == TaskStatus.OPEN
    assert TcmEpisode.objects.get().contact_communication_id is None
