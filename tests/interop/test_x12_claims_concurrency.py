"""`caredesk claims_export` run several times at once (each thread its own connection and real transactions,
on SQLite and PostgreSQL): every batch draws its own control number, every ready claim goes out in exactly
one batch, and exactly one file lies in the folder per committed batch (no half-written or orphan file).
A batch whose file cannot be written is not recorded and leaves its claims ready."""

from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from caredesk.billing import services as billing
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim
from caredesk.coverage import services as coverage_services
from caredesk.coverage.schemas import CoverageInput
from caredesk.interop.models import X12Batch
from caredesk.interop.x12.claims import submit_ready_claims
from caredesk.interop.x12.segments import read
from tests.billing.conftest import BillingClinic, build_clinic
from tests.patients.factories import audit_triggers_lifted

#: Per payer, one export of that payer only; plus exports of every payer, all started at the same moment.
EXPORTS = ("60054", "60054", "BR001", "BR001", "", "")
CLAIMS_PER_PAYER = 3


@pytest.fixture
def _flushable_audit_table(django_db_setup, django_db_blocker):
    with audit_triggers_lifted(django_db_blocker):
        yield


def _ready_claims_for_two_payers(clinic: BillingClinic) -> list[Claim]:
    payer = coverage_services.create_payer(
        actor=clinic.billing, name="Blue River", payer_id="BR001", route="file_drop"
    )
    plan = coverage_services.create_plan(actor=clinic.billing, payer_id=payer.pk, name="Blue HMO")
    secondary = coverage_services.add_coverage(
        actor=clinic.billing,
        patient_id=clinic.patient.pk,
        data=CoverageInput(plan_id=plan.pk, member_id="B77", order=2, effective_from=dt.date(2024, 1, 1)),
    )
    claims = []
    for data in [clinic.charges()] * CLAIMS_PER_PAYER + [
        clinic.charges(coverage_id=secondary.pk, other_coverage_id=clinic.coverage.pk)
    ] * CLAIMS_PER_PAYER:
        claim = billing.enter_charges(actor=clinic.billing, data=data)
        billing.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
        claims.append(claim)
    return claims


@pytest.mark.usefixtures("_flushable_audit_table")
def test_exports_at_the_same_time_draw_distinct_numbers_and_leave_one_file_per_batch(
    transactional_db, settings, tmp_path: Path
) -> None:
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    clinic = build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")
    claims = _ready_claims_for_two_payers(clinic)
    out = tmp_path / "out"
    barrier = threading.Barrier(len(EXPORTS))
    unexpected: list[BaseException] = []

    def export(payer: str) -> None:
        from django.db import connection

        try:
            barrier.wait()
            call_command(
                "claims_export", "--organization", "RSH", "--out", str(out), "--payer", payer,
                stdout=io.StringIO(),
            )  # fmt: skip
        except BaseException as exc:  # reported below
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=export, args=(payer,)) for payer in EXPORTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    batches = list(X12Batch.objects.filter(organization=clinic.org).order_by("control_number"))
    assert sorted(b.payer_identifier for b in batches) == ["60054", "BR001"]
    assert [b.control_number for b in batches] == [1, 2]  # distinct, none given away by a rolled-back try
    # Exactly one file per committed batch, nothing else (no temporary file left behind).
    assert sorted(p.name for p in out.iterdir()) == sorted(b.file_name for b in batches)
    for batch in batches:
        segments = read((out / batch.file_name).read_text())[1]
        assert next(s for s in segments if s.tag == "GS").get(6) == str(batch.control_number)
        assert [s.get(1) for s in segments if s.tag == "CLM"] == batch.claim_numbers
    # Every claim went out once, in the batch that names it.
    sent = [number for b in batches for number in b.claim_numbers]
    assert sorted(sent) == sorted(c.claim_number for c in claims)
    file_of = {number: b.file_name for b in batches for number in b.claim_numbers}
    for claim in Claim.objects.filter(pk__in=[c.pk for c in claims]):
        assert claim.status == ClaimStatus.SUBMITTED
        assert claim.submitted_file == file_of[claim.claim_number]
        assert claim.events.filter(to_status=ClaimStatus.SUBMITTED).count() == 1


def test_a_batch_whose_file_cannot_be_written_is_not_recorded(
    db, settings, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    clinic = build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")
    claim = billing.enter_charges(actor=clinic.billing, data=clinic.charges())
    billing.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    missing = tmp_path / "no-such-folder"

    with pytest.raises(FileNotFoundError), django_capture_on_commit_callbacks(execute=True):
        submit_ready_claims(actor=clinic.billing, out_dir=missing)

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.READY
    assert not X12Batch.objects.exists()
    assert not missing.exists()
    # The next export takes the number the failed one gave back.
    out = tmp_path / "out"
    out.mkdir()
    with django_capture_on_commit_callbacks(execute=True):
        written = submit_ready_claims(actor=clinic.billing, out_dir=out)
    assert [p.name for p in out.iterdir()] == [w.path.name for w in written]
    assert X12Batch.objects.get().control_number == 1
