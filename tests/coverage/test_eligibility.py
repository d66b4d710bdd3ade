"""Eligibility end to end on a real database: a check goes out as a 270 (through the test payer or the
file drop), the 271 comes back and the front desk reads the result in plain words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import ValidationFailed
from caredesk.coverage import selectors, services, tasks
from caredesk.coverage.errors import EligibilityNotPossible, InvalidEligibilityResponse
from caredesk.coverage.models import EligibilityBatch, EligibilityCheck
from caredesk.interop.x12.clearinghouse import answer_270
from tests.patients.factories import make_patient


def _check(clinic, capture, coverage, **kwargs) -> EligibilityCheck:
    with capture(execute=True):
        check = services.request_eligibility_check(actor=clinic.front_desk, coverage_id=coverage.pk, **kwargs)
    check.refresh_from_db()
    return check


def test_active_coverage_with_copay_and_deductible(clinic, django_capture_on_commit_callbacks):
    coverage = clinic.coverage(member_id="W123456789")
    check = _check(clinic, django_capture_on_commit_callbacks, coverage)
    assert check.status == "active"
    assert check.request_text.startswith("ISA*")
    assert "ST*270*" in check.request_text
    assert "TRN*2*" + check.trace_number in check.response_text
    assert check.plan_begin == dt.date(timezone.now().year, 1, 1)
    summary = selectors.summary_of(check)
    assert summary.copay == Decimal("20.00")  # the in-network office visit; out of network it is 40.00
    assert summary.coinsurance_percent == Decimal("10")
    assert summary.deductible == Decimal("1250.00")
    assert summary.deductible_remaining == Decimal("1000.00")
    assert summary.out_of_pocket == Decimal("6000.00")
    assert summary.out_of_pocket_remaining == Decimal("5500.00")
    actions = list(AuditEvent.objects.filter(patient_id=clinic.patient.pk).values_list("action", flat=True))
    assert actions.count(AuditAction.ELIGIBILITY_CHECK_CREATE) == 1
    assert actions.count(AuditAction.ELIGIBILITY_CHECK_UPDATE) == 2  # sent, answered


def test_invalid_member_id_is_explained_with_what_to_do(clinic, django_capture_on_commit_callbacks):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W100"))
    assert check.status == "rejected"
    assert check.rejections[0]["code"] == "72"
    assert check.rejections[0]["message"] == "The payer does not recognise the member ID."
    assert check.rejections[0]["action"] == "Check the insurance card and correct the member ID."


def test_payer_unable_to_answer(clinic, django_capture_on_commit_callbacks):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W198"))
    assert check.status == "rejected"
    assert check.rejections[0]["message"] == "The payer could not answer right now."
    assert check.rejections[0]["loop"] == "information source"


def test_inactive_coverage(clinic, django_capture_on_commit_callbacks):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(member_id="W199"))
    assert check.status == "inactive"
    assert check.plan_end == dt.date(timezone.now().year - 1, 12, 31)


def test_dependent_check_names_the_subscriber(clinic, django_capture_on_commit_callbacks):
    coverage = clinic.coverage(
        relationship="child",
        subscriber_given_name="Ingrid",
        subscriber_family_name="Lindqvist",
        subscriber_birth_date=dt.date(1960, 2, 3),
    )
    check = _check(clinic, django_capture_on_commit_callbacks, coverage)
    assert "NM1*IL*1*LINDQVIST*INGRID****MI*W123456789" in check.request_text
    assert "NM1*03*1*LINDQVIST*MAYA" in check.request_text
    assert "INS*N*19" in check.request_text
    assert check.status == "active"


def test_file_drop_round_trip_and_reading_twice_changes_nothing(
    clinic, x12_dir, django_capture_on_commit_callbacks
):
    coverage = clinic.coverage(plan_id=clinic.drop_plan.pk, member_id="BR778812")
    check = _check(clinic, django_capture_on_commit_callbacks, coverage)
    assert check.status == "sent"
    outbox = x12_dir / str(clinic.org.pk) / "outbox"
    sent = outbox / f"{check.trace_number}.270"
    assert sent.read_text() == check.request_text
    inbox = x12_dir / str(clinic.org.pk) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    response = answer_270(sent.read_text())
    (inbox / "answer.271").write_text(response)
    (inbox / "copy.271").write_text(response)
    (inbox / "junk.271").write_text("hello")
    answered, problems = services.collect_eligibility_responses(actor=clinic.front_desk)
    assert [c.pk for c in answered] == [check.pk]
    assert len(problems) == 1
    assert problems[0].startswith("junk.271: line 1: This is not an X12 file")
    check.refresh_from_db()
    assert check.status == "active"
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["answer.271", "copy.271"]
    assert (inbox / "refused" / "junk.271.why.txt").exists()
    assert services.collect_eligibility_responses(actor=clinic.front_desk) == ([], [])


def test_malformed_response_names_segment_and_line_and_changes_nothing(
    clinic, django_capture_on_commit_callbacks
):
    coverage = clinic.coverage(plan_id=clinic.drop_plan.pk)
    check = _check(clinic, django_capture_on_commit_callbacks, coverage)
    good = answer_270(check.request_text)
    broken = good.replace("\nSE*", "\nSE*9", 1)
    with pytest.raises(InvalidEligibilityResponse, match=r"segment SE at line \d+: SE01 says"):
        services.record_eligibility_response(actor=clinic.front_desk, response_text=broken)
    bad_amount = good.replace("*20.00*", "*2X.00*")
    with pytest.raises(InvalidEligibilityResponse, match=r"segment EB at line \d+: '2X.00' is not a number"):
        services.record_eligibility_response(actor=clinic.front_desk, response_text=bad_amount)
    check.refresh_from_db()
    assert check.status == "sent"
    assert check.response_text == ""
    assert not check.benefits.exists()


def test_response_to_a_request_we_never_sent_is_refused(clinic, django_capture_on_commit_callbacks):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(plan_id=clinic.drop_plan.pk))
    foreign = answer_270(check.request_text).replace(check.trace_number, "NOTOURS123")
    with pytest.raises(InvalidEligibilityResponse, match="did not send"):
        services.record_eligibility_response(actor=clinic.front_desk, response_text=foreign)


def test_organization_without_npi_fails_with_a_reason(clinic, django_capture_on_commit_callbacks):
    clinic.org.npi = ""
    clinic.org.save()
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage())
    assert check.status == "failed"
    assert "no valid NPI" in check.error_message


def test_ended_coverage_cannot_be_checked(clinic):
    coverage = clinic.coverage()
    services.end_coverage(actor=clinic.front_desk, coverage_id=coverage.pk, end_date=dt.date(2025, 1, 1))
    with pytest.raises(EligibilityNotPossible, match="ended"):
        services.request_eligibility_check(actor=clinic.front_desk, coverage_id=coverage.pk)
    assert not EligibilityCheck.objects.exists()


def test_date_outside_the_coverage_is_refused(clinic):
    coverage = clinic.coverage(effective_from=timezone.localdate() + dt.timedelta(days=30))
    with pytest.raises(EligibilityNotPossible, match="not in force"):
        services.request_eligibility_check(actor=clinic.front_desk, coverage_id=coverage.pk)


def test_a_task_run_twice_sends_once(clinic, django_capture_on_commit_callbacks):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(plan_id=clinic.drop_plan.pk))
    result = tasks.send_eligibility_checks.call(clinic.org.pk, [check.pk])
    assert result == 0
    assert EligibilityCheck.objects.get(pk=check.pk).status == "sent"


def test_batch_checks_every_patient_with_coverage(clinic, django_capture_on_commit_callbacks):
    second = make_patient(
        clinic.front_desk, given_name="Omar", family_name="Haddad", birth_date=dt.date(1990, 3, 4)
    )
    make_patient(
        clinic.front_desk, given_name="Lena", family_name="Uninsured", birth_date=dt.date(1991, 3, 4)
    )
    clinic.coverage()
    clinic.coverage(order=2, plan_id=clinic.drop_plan.pk, member_id="B2")
    clinic.coverage(patient=second, member_id="W2100")
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.request_eligibility_batch(actor=clinic.front_desk)
    progress = selectors.batch_progress(actor=clinic.front_desk, batch_id=batch.pk)
    assert progress.total == 3
    assert progress.counts == {"active": 1, "sent": 1, "rejected": 1}
    assert progress.finished == 2
    assert not progress.done
    event = AuditEvent.objects.get(action=AuditAction.ELIGIBILITY_BATCH_VIEW)
    assert sorted(event.detail["result_ids"]) == sorted([clinic.patient.pk, second.pk])


def test_batch_by_mrn_refuses_unknown_mrns_and_saves_nothing(clinic):
    clinic.coverage()
    with pytest.raises(ValidationFailed, match="No patient with MRN NOPE1"):
        services.request_eligibility_batch(actor=clinic.front_desk, mrns=[clinic.patient.mrn, "nope1"])
    assert not EligibilityBatch.objects.exists()
    assert not EligibilityCheck.objects.exists()
    batch = services.request_eligibility_batch(actor=clinic.front_desk, mrns=[clinic.patient.mrn])
    assert batch.checks.count() == 1


def test_batch_without_any_coverage_is_refused(clinic):
    with pytest.raises(EligibilityNotPossible, match="None of these patients"):
        services.request_eligibility_batch(actor=clinic.front_desk, patient_ids=[clinic.patient.pk])
    assert not EligibilityBatch.objects.exists()


def test_command_reads_271_files_and_refuses_bad_ones(clinic, tmp_path, django_capture_on_commit_callbacks):
    check = _check(clinic, django_capture_on_commit_callbacks, clinic.coverage(plan_id=clinic.drop_plan.pk))
    good = tmp_path / "good.271"
    good.write_text(answer_270(check.request_text))
    bad = tmp_path / "bad.271"
    bad.write_text(good.read_text().replace("\nIEA*1*", "\nIEA*1*9"))
    with pytest.raises(CommandError, match=r"bad.271: segment IEA at line \d+: IEA02 does not match ISA13"):
        call_command("eligibility_responses", "--organization", "rsh", str(bad), str(good))
    check.refresh_from_db()
    assert check.status == "active"  # the good file was read; the bad one changed nothing
    with pytest.raises(CommandError, match="No organization"):
        call_command("eligibility_responses", "--organization", "NOPE")
