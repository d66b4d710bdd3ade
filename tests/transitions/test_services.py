"""Receiving ADT events against a real database: matching, encounters, the message log's exactly-once
rule, errors that keep the message but apply nothing, TCM started and undone, linking, A08 and A40."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden
from caredesk.patients import services as patient_services
from caredesk.patients.schemas import IdentifierInput
from caredesk.transitions import selectors, services
from caredesk.transitions.choices import EncounterStatus, MessageStatus, Outcome, TcmStatus
from caredesk.transitions.errors import AlreadyLinked
from caredesk.transitions.models import Encounter, ExternalPatientLink, InboundMessage, TcmEpisode
from caredesk.transitions.schemas import MergeData, MessageHeader, Rejection
from caredesk.worklist import services as worklist_services
from caredesk.worklist.choices import TaskStatus, TaskType
from caredesk.worklist.models import Task
from tests.patients.factories import make_patient, staff_actor

from .conftest import SENDER, adt, hospital_id, local, person

pytestmark = pytest.mark.django_db

DISCHARGE = local(2026, 11, 25, 14)  # the Wednesday before Thanksgiving


def ours(patient):
    """PID-3 carrying our own MRN."""
    return person(hospital_id(patient.mrn, authority="RSH"), hospital_id("H123"))


# --- receiving and matching ---------------------------------------------------------------------------


def test_an_admission_for_a_known_mrn_creates_the_encounter(receive, patient, clock_at):
    receipt = receive(adt("A01", "M1", who=ours(patient)))
    assert (receipt.ack_code, receipt.duplicate) == ("AA", False)
    encounter = Encounter.objects.get()
    assert (encounter.patient_id, encounter.status, encounter.encounter_class) == (
        patient.pk,
        EncounterStatus.IN_PROGRESS,
        "inpatient",
    )
    assert encounter.location == "4E, room 136, bed B"
    message = InboundMessage.objects.get()
    assert (message.status, message.ack_code, message.patient_id, message.encounter_id) == (
        MessageStatus.APPLIED,
        "AA",
        patient.pk,
        encounter.pk,
    )
    actions = set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True))
    assert {AuditAction.HL7_MESSAGE_CREATE, AuditAction.ENCOUNTER_CREATE} <= actions
    assert AuditEvent.objects.filter(channel="hl7").exists()


def test_an_unmatched_patient_waits_for_a_person(receive, clock_at):
    receipt = receive(adt("A01", "M1", who=person(family="Nobody", given="Known")))
    assert receipt.ack_code == "AA"
    assert "review task" in " ".join(receipt.warnings)
    encounter = Encounter.objects.get()
    assert encounter.patient_id is None
    assert encounter.demographics["family_name"] == "Nobody"
    task = Task.objects.get()
    assert (task.task_type, task.dedupe_key, task.source_id) == (
        TaskType.PATIENT_MATCH_REVIEW,
        f"hl7-match:{encounter.pk}",
        str(encounter.pk),
    )
    receive(adt("A02", "M2", who=person(family="Nobody", given="Known")))  # still one review task
    assert Task.objects.count() == 1


def test_demographics_match_once_then_the_identifier_is_remembered(receive, patient, clock_at):
    receive(adt("A01", "M1", who=person(hospital_id("H777"))))
    assert Encounter.objects.get().patient_id == patient.pk
    assert ExternalPatientLink.objects.get().value == "H777"
    # The next message names her differently: the identifier decides.
    receive(
        adt("A01", "M2", visit_number="V2", who=person(hospital_id("H777"), family="Doe-Smith", given="J"))
    )
    assert Encounter.objects.get(visit_number="V2").patient_id == patient.pk


def test_ambiguous_demographics_do_not_match(receive, patient, coord, clock_at):
    twin = make_patient(
        coord, given_name="Jane", family_name="Doe", birth_date=dt.date(1950, 1, 2), sex="female"
    )
    receive(adt("A01", "M1"))
    assert Encounter.objects.get().patient_id is None
    task = Task.objects.get()
    assert str(patient.pk) in task.description
    assert str(twin.pk) in task.description


def test_a_registered_identifier_of_the_authority_matches(receive, coord, clock_at):
    registered = make_patient(coord, identifiers=[IdentifierInput(system="GHH", value="H555")])
    receive(adt("A04", "M1", who=person(hospital_id("H555"), family="Other", given="Name")))
    assert Encounter.objects.get().patient_id == registered.pk


@pytest.mark.parametrize("authority", ["ELSEWHERE", "GHH"])
def test_someone_elses_identifier_is_never_taken_for_our_mrn(receive, patient, clock_at, authority):
    number = patient.mrn.removeprefix("RSH").lstrip("0")
    receive(adt("A01", "M1", who=person(hospital_id(number, authority=authority), family="X", given="Y")))
    receive(
        adt(
            "A01",
            "M2",
            visit_number="V2",
            who=person(hospital_id(patient.mrn, authority), family="X", given="Y"),
        )
    )
    assert list(Encounter.objects.values_list("patient_id", flat=True)) == [None, None]


# --- exactly once, errors kept -------------------------------------------------------------------------


def test_a_repeated_control_id_is_acknowledged_and_not_applied_again(receive, patient, clock_at):
    first = receive(adt("A03", "DUP1", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    counts = (
        Encounter.objects.count(),
        TcmEpisode.objects.count(),
        Task.objects.count(),
        AuditEvent.objects.count(),
    )
    again = receive(adt("A03", "DUP1", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    assert (again.ack_code, again.duplicate, again.message_id) == ("AA", True, first.message_id)
    assert (
        Encounter.objects.count(),
        TcmEpisode.objects.count(),
        Task.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    message = InboundMessage.objects.get()
    assert message.duplicate_count == 1
    assert message.warnings == []


def test_the_same_control_id_from_another_sender_is_another_message(receive, patient, clock_at):
    receive(adt("A01", "SAME", who=ours(patient)))
    receive(adt("A01", "SAME", who=ours(patient), sender="LAB|GHH", visit_number="V9"))
    assert InboundMessage.objects.count() == 2


def test_a_rule_that_says_no_keeps_the_message_and_applies_nothing(receive, patient, clock_at):
    receipt = receive(
        adt(
            "A03",
            "BAD1",
            who=ours(patient),
            admit=local(2026, 11, 20),
            discharge=local(2026, 11, 19),
            disposition="01",
        )
    )
    assert receipt.ack_code == "AE"
    assert "before the admission" in receipt.text
    message = InboundMessage.objects.get()
    assert (message.status, message.error_code, message.encounter_id) == (MessageStatus.ERROR, "207", None)
    assert not Encounter.objects.exists()
    assert not Task.objects.exists()
    assert not TcmEpisode.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ENCOUNTER_CREATE).exists()
    # A repeat of a refused message is answered the same way, and still not applied.
    again = receive(
        adt("A03", "BAD1", who=ours(patient), admit=local(2026, 11, 20), discharge=local(2026, 11, 19))
    )
    assert (again.ack_code, again.duplicate) == ("AE", True)
    assert "before the admission" in again.text


def test_missing_segments_are_errors(receive, clock_at):
    assert receive(adt("A01", "X1", with_visit=False)).error_code == "100"
    no_ids = receive(adt("A01", "X2", who=person(hospital_id("")).__class__(identifiers=())))
    assert (no_ids.ack_code, no_ids.error_code) == ("AE", "101")
    assert receive(adt("A40", "X3", merges=())).ack_code == "AE"
    assert not Encounter.objects.exists()
    assert InboundMessage.objects.filter(status=MessageStatus.ERROR).count() == 3


def test_a_rejection_is_stored_for_review(feed):
    receipt = services.receive_message(
        actor=feed,
        header=MessageHeader(sender=SENDER, control_id="R1", message_type="ORU", trigger="R01"),
        raw="MSH|^~\\&|ADT1|GHH|||||ORU^R01|R1|P|2.5",
        rejection=Rejection(ack_code="AR", error_code="200", text="Message type ORU is not supported."),
    )
    assert (receipt.ack_code, receipt.error_code) == ("AR", "200")
    message = InboundMessage.objects.get()
    assert (message.status, message.message_type, message.error_text) == (
        MessageStatus.REJECTED,
        "ORU^R01",
        "Message type ORU is not supported.",
    )


def test_an_unreadable_message_without_control_id_is_kept_too(feed):
    for _ in range(2):
        services.receive_message(
            actor=feed, header=MessageHeader(), raw="garbage", rejection=Rejection("AR", "100", "Not HL7.")
        )
    assert InboundMessage.objects.filter(control_id="", sender="unknown").count() == 2


def test_receiving_needs_the_feed_permissions(org):
    nurse = staff_actor(org, Role.NURSE)
    with pytest.raises(Forbidden):
        services.receive_message(
            actor=nurse, header=MessageHeader(), raw="x", rejection=Rejection("AR", "100", "x")
        )


# --- TCM ------------------------------------------------------------------------------------------------


def tcm_tasks():
    return {t.task_type: t for t in Task.objects.filter(dedupe_key__startswith="tcm:")}


def test_a_discharge_home_starts_tcm_with_its_deadlines(receive, patient, clock_at):
    receive(adt("A01", "A1", who=ours(patient)))
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    episode = TcmEpisode.objects.get()
    assert (episode.discharge_date, episode.contact_due, episode.visit_due, episode.complexity) == (
        dt.date(2026, 11, 25),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 2),
        "high",
    )
    tasks = tcm_tasks()
    assert set(tasks) == {TaskType.TCM_CONTACT, TaskType.TCM_VISIT, TaskType.TCM_MED_RECONCILIATION}
    assert tasks[TaskType.TCM_CONTACT].due_at == local(2026, 11, 30, 23, 59)
    assert tasks[TaskType.TCM_VISIT].due_at == local(2026, 12, 2, 23, 59)
    assert tasks[TaskType.TCM_MED_RECONCILIATION].queue == "nursing"
    assert all(t.patient_id == patient.pk for t in tasks.values())
    encounter = Encounter.objects.get()
    assert encounter.status == EncounterStatus.FINISHED
    assert encounter.discharge_disposition == "01"
    assert AuditEvent.objects.filter(action=AuditAction.TCM_EPISODE_CREATE, patient_id=patient.pk).exists()


def test_a_second_discharge_message_does_not_start_tcm_twice(receive, patient, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    receive(adt("A03", "A3", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    assert TcmEpisode.objects.count() == 1
    assert len(tcm_tasks()) == 3
    # A corrected discharge date moves the deadlines instead.
    receive(adt("A03", "A4", who=ours(patient), discharge=local(2026, 11, 27, 9), disposition="01"))
    episode = TcmEpisode.objects.get()
    assert (episode.discharge_date, episode.contact_due) == (dt.date(2026, 11, 27), dt.date(2026, 12, 1))
    assert tcm_tasks()[TaskType.TCM_CONTACT].due_at == local(2026, 12, 1, 23, 59)


@pytest.mark.parametrize(
    ("patient_class", "disposition", "text"),
    [("I", "03", "Skilled nursing"), ("E", "01", ""), ("I", "20", "Expired"), ("I", "", "Hospice facility")],
)
def test_other_discharges_start_no_tcm(receive, patient, clock_at, patient_class, disposition, text):
    receive(
        adt(
            "A03",
            "A2",
            who=ours(patient),
            patient_class=patient_class,
            discharge=DISCHARGE,
            disposition=disposition,
            disposition_text=text,
        )
    )
    assert not TcmEpisode.objects.exists()
    assert not Task.objects.exists()


def test_a_discharge_without_disposition_asks_a_person(receive, patient, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE))
    task = Task.objects.get()
    assert task.task_type == TaskType.DISCHARGE_REVIEW
    assert "PV1-36" in task.description
    assert not TcmEpisode.objects.exists()


@override_settings(CAREDESK_HOLIDAYS=["2026-11-30"], CAREDESK_TCM_DEFAULT_COMPLEXITY="moderate")
def test_the_holiday_calendar_and_complexity_are_configurable(receive, patient, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="06"))
    episode = TcmEpisode.objects.get()
    assert (episode.contact_due, episode.visit_due) == (dt.date(2026, 12, 1), dt.date(2026, 12, 9))


def test_cancelling_the_discharge_undoes_tcm(receive, patient, coord, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    contact = tcm_tasks()[TaskType.TCM_CONTACT]
    worklist_services.change_status(actor=coord, task_id=contact.pk, status="done", note="Reached her.")
    receipt = receive(adt("A13", "A3", who=ours(patient)))
    assert receipt.ack_code == "AA"
    encounter = Encounter.objects.get()
    assert (encounter.status, encounter.discharge_at, encounter.discharge_disposition) == (
        EncounterStatus.IN_PROGRESS,
        None,
        "",
    )
    episode = TcmEpisode.objects.get()
    assert episode.status == TcmStatus.CANCELLED
    assert "A13" in episode.cancelled_reason
    statuses = {t.task_type: t.status for t in tcm_tasks().values()}
    assert statuses == {
        TaskType.TCM_CONTACT: TaskStatus.DONE,  # what was done stays done
        TaskType.TCM_VISIT: TaskStatus.CANCELLED,
        TaskType.TCM_MED_RECONCILIATION: TaskStatus.CANCELLED,
    }
    # Discharged again later: a new episode with new tasks.
    receive(adt("A03", "A4", who=ours(patient), discharge=local(2026, 11, 28, 10), disposition="01"))
    assert TcmEpisode.objects.filter(status=TcmStatus.ACTIVE).count() == 1
    assert Task.objects.filter(dedupe_key__startswith="tcm:", status=TaskStatus.OPEN).count() == 3


def test_cancelling_the_admission_undoes_tcm_too(receive, patient, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    receive(adt("A11", "A3", who=ours(patient)))
    assert Encounter.objects.get().status == EncounterStatus.CANCELLED
    assert TcmEpisode.objects.get().status == TcmStatus.CANCELLED
    assert set(Task.objects.values_list("status", flat=True)) == {TaskStatus.CANCELLED}


def test_cancelling_an_unknown_visit_is_accepted_with_a_warning(receive, patient, clock_at):
    receipt = receive(adt("A11", "A3", who=ours(patient), visit_number="NOPE"))
    assert receipt.ack_code == "AA"
    assert "nothing to cancel" in receipt.warnings[0]
    assert not Encounter.objects.exists()
    assert receive(adt("A01", "A4", who=ours(patient))).ack_code == "AA"
    assert "no discharge to cancel" in receive(adt("A13", "A5", who=ours(patient))).warnings[0]


def test_compliance_as_the_tasks_are_worked(receive, patient, coord, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    tasks = tcm_tasks()
    clock_at(local(2026, 11, 27, 9))
    worklist_services.add_comment(
        actor=coord, task_id=tasks[TaskType.TCM_CONTACT].pk, body="No answer", kind="attempt"
    )
    clock_at(local(2026, 11, 30, 16))
    worklist_services.add_comment(
        actor=coord, task_id=tasks[TaskType.TCM_CONTACT].pk, body="Busy", kind="attempt"
    )
    clock_at(local(2026, 12, 1, 10))
    worklist_services.change_status(
        actor=coord, task_id=tasks[TaskType.TCM_MED_RECONCILIATION].pk, status="done"
    )
    report = selectors.tcm_compliance(
        actor=coord, discharged_from=dt.date(2026, 11, 1), discharged_to=dt.date(2026, 11, 30)
    )
    row = report.rows[0]
    assert (row.contact.outcome, row.contact.attempts) == (Outcome.MET_BY_ATTEMPTS, 2)
    assert row.visit.outcome == Outcome.PENDING
    assert row.med_rec.outcome == Outcome.MET
    assert row.compliant is None
    assert (report.total, report.pending) == (1, 1)
    clock_at(local(2026, 12, 3, 10))
    worklist_services.change_status(actor=coord, task_id=tasks[TaskType.TCM_VISIT].pk, status="done")
    row = selectors.tcm_compliance(
        actor=coord, discharged_from=dt.date(2026, 11, 1), discharged_to=dt.date(2026, 11, 30)
    ).rows[0]
    assert row.visit.outcome == Outcome.LATE
    assert row.compliant is False
    search = AuditEvent.objects.filter(action=AuditAction.ENCOUNTER_SEARCH).last()
    assert search.detail["result_ids"] == [patient.pk]
    assert search.detail["report"] == "tcm_compliance"


def test_changing_the_complexity_moves_the_visit(receive, patient, coord, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    episode = services.set_tcm_complexity(
        actor=coord, episode_id=TcmEpisode.objects.get().pk, complexity="moderate"
    )
    assert episode.visit_due == dt.date(2026, 12, 9)
    tasks = tcm_tasks()
    assert tasks[TaskType.TCM_VISIT].due_at == local(2026, 12, 9, 23, 59)
    assert tasks[TaskType.TCM_MED_RECONCILIATION].due_at == local(2026, 12, 9, 23, 59)
    assert tasks[TaskType.TCM_CONTACT].due_at == local(2026, 11, 30, 23, 59)
    assert AuditEvent.objects.filter(action=AuditAction.TCM_EPISODE_UPDATE).count() == 1


# --- linking an unmatched visit ---------------------------------------------------------------------------


def test_linking_an_unmatched_discharge_starts_tcm(receive, patient, coord, clock_at):
    stranger = person(hospital_id("H900"), family="Doh", given="Jayne")
    receive(adt("A01", "L1", who=stranger))
    receive(adt("A03", "L2", who=stranger, discharge=DISCHARGE, disposition="01"))
    assert {t.task_type for t in Task.objects.all()} == {
        TaskType.PATIENT_MATCH_REVIEW,
        TaskType.DISCHARGE_REVIEW,
    }
    encounter = Encounter.objects.get()
    services.link_encounter_patient(actor=coord, encounter_id=encounter.pk, patient_id=patient.pk)
    encounter.refresh_from_db()
    assert encounter.patient_id == patient.pk
    assert set(
        Task.objects.filter(task_type__in=["patient_match_review", "discharge_review"]).values_list(
            "status", flat=True
        )
    ) == {TaskStatus.DONE}
    assert TcmEpisode.objects.get().patient_id == patient.pk
    assert len(tcm_tasks()) == 3
    assert AuditEvent.objects.filter(
        action=AuditAction.ENCOUNTER_PATIENT_CHANGED, patient_id=patient.pk
    ).exists()
    # The hospital's identifier now matches by itself.
    receive(adt("A01", "L3", who=stranger, visit_number="V2"))
    assert Encounter.objects.get(visit_number="V2").patient_id == patient.pk
    with pytest.raises(AlreadyLinked):
        services.link_encounter_patient(actor=coord, encounter_id=encounter.pk, patient_id=patient.pk)


# --- A08 and A40 ----------------------------------------------------------------------------------------


def test_a08_updates_the_address_and_skips_what_our_rules_refuse(receive, patient, clock_at):
    who = person(
        hospital_id(patient.mrn, authority="RSH"),
        address_line1="12 Elm St",
        city="Albany",
        state="XX",
        postal_code="12207",
        country="USA",
    )
    receipt = receive(adt("A08", "U1", who=who))
    assert receipt.ack_code == "AA"
    patient.refresh_from_db()
    assert (patient.address_line1, patient.city, patient.postal_code, patient.state) == (
        "12 Elm St",
        "Albany",
        "12207",
        "NY",
    )
    assert any("not a US state" in w for w in receipt.warnings)


def test_a40_moves_the_hospital_identifier(receive, patient, clock_at):
    old = person(hospital_id("OLD1"))
    receive(adt("A01", "G1", who=old))  # matched by demographics: OLD1 is remembered
    merge = MergeData(
        survivor=person(hospital_id("NEW1"), family="Doe", given="Jane"), prior=(hospital_id("OLD1"),)
    )
    receipt = receive(adt("A40", "G2", merges=(merge,), with_visit=False))
    assert receipt.ack_code == "AA"
    encounter = Encounter.objects.get()
    assert (encounter.external_patient_id, encounter.patient_id) == ("NEW1", patient.pk)
    assert ExternalPatientLink.objects.filter(value="NEW1", patient=patient).exists()


def test_a40_of_two_registered_patients_asks_for_a_merge(receive, patient, coord, clock_at):
    other = make_patient(
        coord, family_name="Doe", given_name="Janet", identifiers=[IdentifierInput("GHH", "NEW2")]
    )
    receive(adt("A01", "G1", who=person(hospital_id("OLD2"))))
    merge = MergeData(survivor=person(hospital_id("NEW2")), prior=(hospital_id("OLD2"),))
    receipt = receive(adt("A40", "G2", merges=(merge,), with_visit=False))
    task = Task.objects.get(task_type=TaskType.PATIENT_MERGE_REVIEW)
    assert task.patient_id == other.pk
    assert str(patient.pk) in task.description
    assert "merge review" in " ".join(receipt.warnings)


def test_merging_patients_moves_encounters_and_tcm(receive, patient, coord, clock_at):
    receive(adt("A03", "A2", who=ours(patient), discharge=DISCHARGE, disposition="01"))
    survivor = make_patient(coord, family_name="Keeper")
    patient_services.merge_patients(actor=coord, source_id=patient.pk, target_id=survivor.pk, reason="dup")
    assert Encounter.objects.get().patient_id == survivor.pk
    assert TcmEpisode.objects.get().patient_id == survivor.pk
    assert set(Task.objects.values_list("patient_id", flat=True)) == {survivor.pk}
