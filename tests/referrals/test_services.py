"""Referral use cases against the database: the loop from draft to consult note, the timeline, refusals
that change nothing, declined referrals that are never dropped, the overdue scan (idempotent), permissions
and tenancy, attachments and diagnoses, the report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients import services as patient_services
from caredesk.patients.errors import PatientNotFound
from caredesk.referrals import selectors, services, tasks
from caredesk.referrals.errors import (
    InvalidDiagnosis,
    InvalidTransition,
    ReceiverNotFound,
    ReferralNotFound,
    StaleReferral,
)
from caredesk.referrals.models import Referral, ReferralEvent
from caredesk.worklist.choices import TaskQueue, TaskStatus
from caredesk.worklist.models import Task
from tests.patients.factories import make_patient

from .conftest import walk

pytestmark = pytest.mark.django_db


def referral_tasks(referral: Referral) -> list[Task]:
    return list(
        Task.objects.filter(source_type="referrals.referral", source_id=str(referral.pk)).order_by("pk")
    )


def test_the_whole_loop_is_timestamped_with_who(coord, make_referral, frozen):
    referral = make_referral(send=False)
    assert referral.status == "draft"
    for action in ("send", "receive", "accept", "schedule", "seen", "close"):
        frozen.advance(days=1)
        referral = walk(coord, referral, action)
    assert referral.status == "closed"
    events = list(referral.events.all())
    assert [e.to_status for e in events] == [
        "draft",
        "sent",
        "received",
        "accepted",
        "scheduled",
        "seen",
        "closed",
    ]
    assert all(e.actor_name == "Coordinator Tester" for e in events)
    assert events[-1].at - events[1].at == dt.timedelta(days=5)
    assert referral.appointment_at is not None
    changes = AuditEvent.objects.filter(
        action=AuditAction.REFERRAL_STATUS_CHANGED, object_id=str(referral.pk)
    )
    assert changes.count() == 6
    assert set(changes.values_list("patient_id", flat=True)) == {referral.patient_id}


def test_create_and_send_at_once_with_diagnoses_attachments_and_authorization(coord, make_referral, document):
    referral = make_referral(
        diagnoses=["e119", "I10", "E11.9"],
        document_ids=[document.pk],
        authorization_required=True,
        authorization_number="AUTH-77",
        urgency="urgent",
    )
    assert referral.status == "sent"
    assert referral.diagnoses == [
        {"code": "E11.9", "description": "Type 2 diabetes mellitus without complications"},
        {"code": "I10", "description": "Essential (primary) hypertension"},
    ]
    assert [a.title for a in referral.attachments.all()] == ["Echo report"]
    assert AuditEvent.objects.filter(
        action=AuditAction.REFERRAL_CREATE, patient_id=referral.patient_id
    ).exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"diagnoses": ["I10", "NOPE"]}, InvalidDiagnosis),
        ({"reason": "  "}, ValidationFailed),
        ({"specialty": "astrology"}, ValidationFailed),
        ({"urgency": "whenever"}, ValidationFailed),
        ({"authorization_number": "A1"}, ValidationFailed),  # without "authorization required"
        ({"receiver_id": 999_999}, ReceiverNotFound),
        ({"patient_id": 999_999}, PatientNotFound),
        ({"document_ids": [999_999]}, ValidationFailed),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(make_referral, fields, error):
    with pytest.raises(error):
        make_referral(**fields)
    assert not Referral.objects.exists()
    assert not ReferralEvent.objects.exists()


def test_another_patients_document_cannot_be_attached(coord, make_referral, document):
    someone_else = make_patient(coord, family_name="Otherdoc")
    with pytest.raises(ValidationFailed, match="Only current documents"):
        make_referral(patient_id=someone_else.pk, document_ids=[document.pk])
    assert not Referral.objects.exists()


def test_an_invalid_step_changes_nothing(coord, make_referral):
    referral = make_referral()
    with pytest.raises(InvalidTransition):
        services.act(actor=coord, referral_id=referral.pk, action="close")
    referral.refresh_from_db()
    assert referral.status == "sent"
    assert referral.version == 2
    assert referral.events.count() == 2


def test_a_stale_version_is_refused(coord, make_referral):
    referral = make_referral()
    with pytest.raises(StaleReferral):
        services.act(actor=coord, referral_id=referral.pk, action="accept", expected_version=1)
    services.act(actor=coord, referral_id=referral.pk, action="accept", expected_version=referral.version)


def test_declining_needs_a_reason_and_puts_a_task_on_the_worklist_once(coord, make_referral):
    referral = make_referral()
    with pytest.raises(ValidationFailed):
        services.act(actor=coord, referral_id=referral.pk, action="decline", note=" ")
    referral = walk(coord, referral, "decline", note="Not accepting new patients")
    assert referral.outcome_note == "Not accepting new patients"
    [task] = referral_tasks(referral)
    assert task.queue == TaskQueue.CARE_COORDINATION
    assert task.status == TaskStatus.OPEN
    assert task.patient_id == referral.patient_id
    assert services.apply_rules(actor=tasks.scan_actor(coord.organization_id)) == []
    assert len(referral_tasks(referral)) == 1


def test_a_declined_referral_is_rerouted_and_its_task_is_done(coord, make_referral, valve):
    referral = walk(coord, make_referral(), "decline")
    with pytest.raises(ValidationFailed, match="another receiver"):
        services.act(actor=coord, referral_id=referral.pk, action="reroute", receiver_id=referral.receiver_id)
    referral = walk(coord, referral, "reroute", receiver_id=valve.pk)
    assert referral.status == "sent"
    assert referral.receiver_id == valve.pk
    [task] = referral_tasks(referral)
    assert task.status == TaskStatus.DONE
    # Declined again by the new receiver: a new task for the new decline.
    referral = walk(coord, referral, "decline")
    assert [t.status for t in referral_tasks(referral)] == [TaskStatus.DONE, TaskStatus.OPEN]


def test_a_declined_referral_closed_with_a_reason(coord, make_referral):
    referral = walk(coord, make_referral(), "decline")
    with pytest.raises(ValidationFailed):
        services.act(actor=coord, referral_id=referral.pk, action="cancel")
    referral = walk(coord, referral, "cancel", note="Patient prefers to wait")
    assert referral.status == "cancelled"
    assert referral.outcome_note == "Patient prefers to wait"
    assert [t.status for t in referral_tasks(referral)] == [TaskStatus.DONE]


def test_a_declined_referral_whose_task_is_missing_gets_one_from_the_scan(coord, make_referral, frozen):
    referral = walk(coord, make_referral(), "decline")
    Task.objects.filter(source_id=str(referral.pk)).update(dedupe_key="")  # as if the task had been lost
    created = services.apply_rules(actor=tasks.scan_actor(coord.organization_id))
    assert [spec.rule for spec in created] == ["declined"]
    assert services.apply_rules(actor=tasks.scan_actor(coord.organization_id)) == []


def test_the_scan_flags_a_referral_not_scheduled_once_and_scheduling_settles_it(coord, make_referral, frozen):
    referral = walk(coord, make_referral(), "accept")
    actor = tasks.scan_actor(coord.organization_id)
    frozen.advance(days=20)
    assert services.apply_rules(actor=actor) == []
    frozen.advance(days=1)
    assert [s.rule for s in services.apply_rules(actor=actor)] == ["not_scheduled"]
    assert services.apply_rules(actor=actor) == []
    frozen.advance(days=5)
    assert services.apply_rules(actor=actor) == []
    [task] = referral_tasks(referral)
    walk(coord, referral, "schedule")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_the_scan_asks_for_the_consult_note_once(coord, make_referral, frozen):
    referral = walk(coord, make_referral(urgency="urgent"), "accept", "schedule", "seen")
    actor = tasks.scan_actor(coord.organization_id)
    frozen.advance(days=7)
    [spec] = services.apply_rules(actor=actor)
    assert spec.rule == "consult_note"
    assert spec.urgent
    assert services.apply_rules(actor=actor) == []
    walk(coord, referral, "close", note="Stress test normal.")
    assert [t.status for t in referral_tasks(referral)] == [TaskStatus.DONE]


def test_the_management_command_and_the_background_task_are_idempotent(coord, make_referral, frozen, org):
    walk(coord, make_referral(), "accept")
    frozen.advance(days=30)
    call_command("referral_rules", "--organization", org.short_code)
    call_command("referral_rules")
    assert tasks.scan_overdue_referrals.call(org.pk) == 0
    assert Task.objects.filter(source_type="referrals.referral").count() == 1


def test_who_may_take_which_step(actors, make_referral):
    referral = make_referral(send=False, actor=actors[Role.PHYSICIAN])
    walk(actors[Role.NURSE], referral, "send")
    with pytest.raises(Forbidden):
        walk(actors[Role.FRONT_DESK], referral, "accept")
    with pytest.raises(Forbidden):
        walk(actors[Role.PHYSICIAN], referral, "accept")
    walk(actors[Role.COORDINATOR], referral, "accept")
    with pytest.raises(Forbidden):
        walk(actors[Role.NURSE], referral, "schedule")
    walk(actors[Role.FRONT_DESK], referral, "schedule", "seen")
    with pytest.raises(Forbidden):
        make_referral(actor=actors[Role.FRONT_DESK])
    with pytest.raises(Forbidden):
        services.add_receiver(
            actor=actors[Role.NURSE], data=services.ReceiverInput(name="X", specialty="urology")
        )


def test_a_draft_is_cancelled_by_its_kind_of_author(actors, make_referral):
    referral = make_referral(send=False, actor=actors[Role.PHYSICIAN])
    walk(actors[Role.PHYSICIAN], referral, "cancel", note="Entered for the wrong patient")
    assert Referral.objects.get(pk=referral.pk).status == "cancelled"


def test_another_organizations_referral_does_not_exist(stranger, make_referral, other_patient, heart):
    referral = make_referral()
    with pytest.raises(ReferralNotFound):
        services.act(actor=stranger, referral_id=referral.pk, action="accept")
    with pytest.raises(ReferralNotFound):
        selectors.get_referral(actor=stranger, referral_id=referral.pk, overrides={})
    with pytest.raises(ReceiverNotFound):  # our directory is not theirs
        services.create_referral(
            actor=stranger,
            data=services.NewReferral(
                patient_id=other_patient.pk, specialty="cardiology", reason="x", receiver_id=heart.pk
            ),
        )
    assert selectors.list_referrals(actor=stranger, query=selectors.ReferralQuery(), overrides={}).rows == []


def test_the_list_filters_overdue_and_audits_what_it_shows(coord, make_referral, frozen, patient):
    late = walk(coord, make_referral(), "accept")
    frozen.advance(days=10)
    fresh = make_referral()
    frozen.advance(days=5)  # late: accepted 15 days ago (14 allowed); fresh: sent 5 days ago (3 allowed)
    walk(coord, fresh, "receive")  # fresh: received just now
    page = selectors.list_referrals(actor=coord, query=selectors.ReferralQuery(overdue=True), overrides={})
    assert [row.referral.pk for row in page.rows] == [late.pk]
    assert page.rows[0].overdue
    everything = selectors.list_referrals(
        actor=coord, query=selectors.ReferralQuery(status="open"), overrides={}
    )
    assert {row.referral.pk for row in everything.rows} == {late.pk, fresh.pk}
    relaxed = selectors.list_referrals(
        actor=coord, query=selectors.ReferralQuery(overdue=True), overrides={"accepted": {"routine": 30}}
    )
    assert relaxed.rows == []
    search = AuditEvent.objects.filter(action=AuditAction.REFERRAL_SEARCH).order_by("pk").first()
    assert search is not None
    assert search.detail["result_ids"] == [patient.pk]


def test_the_report_counts_loops_and_medians(coord, make_referral, frozen, valve):
    closed = make_referral()
    walk(coord, make_referral(), "decline")
    make_referral(receiver_id=valve.pk, specialty="cardiology")
    make_referral(send=False)  # a draft is not in the report
    frozen.advance(days=2)
    walk(coord, closed, "accept")
    frozen.advance(days=4)
    walk(coord, closed, "schedule", "seen")
    frozen.advance(days=3)
    walk(coord, closed, "close")
    report = selectors.loop_report(
        actor=coord, since=frozen.now.date() - dt.timedelta(days=30), until=frozen.now.date()
    )
    assert (report.total.sent, report.total.closed, report.total.declined_open) == (3, 1, 1)
    assert report.total.medians["Sent → accepted"] == 2.0
    assert report.total.medians["Sent → loop closed"] == 9.0
    receivers = {g.key: g for g in report.by_receiver}
    assert receivers["Heart Partners"].sent == 2
    assert receivers["Heart Partners"].closure_percent == 50
    assert receivers["Dr Valve"].closed == 0
    assert [g.key for g in report.by_specialty] == ["Cardiology"]
    assert AuditEvent.objects.filter(action=AuditAction.REFERRAL_REPORT_VIEW).count() == 1


def test_a_merged_patients_referrals_move_to_the_surviving_record(coord, make_referral, patient):
    survivor = make_patient(coord, family_name="Survivor")
    referral = make_referral()
    patient_services.merge_patients(
        actor=coord, source_id=patient.pk, target_id=survivor.pk, reason="Same person"
    )
    referral.refresh_from_db()
    assert referral.patient_id == survivor.pk
    assert "merged" in referral.events.last().note  # type: ignore[union-attr]
