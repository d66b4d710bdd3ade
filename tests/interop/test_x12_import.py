"""The file-based clearinghouse: `claims_export` writes validated 837P batches and marks the claims
submitted; `x12_import` detects 271, 835, 999 and 277CA files, acknowledgments move the claims of our own
batches (accepted, or rejected with the reason in words and a follow-up task), a file imported twice changes
nothing the second time, a bad file exits non-zero naming the segment and line and changes nothing, and an
unmatched remittance line becomes one billing worklist task (never two)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase

from caredesk.audit.models import AuditEvent
from caredesk.billing import services as billing
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim, ClaimEvent, LedgerEntry, Remittance
from caredesk.interop.models import X12Batch, X12Import
from caredesk.interop.x12.acks import parse_277ca, parse_999
from caredesk.interop.x12.claim_837p import pyx12_problems_837p
from caredesk.interop.x12.inbound import detect_kind
from caredesk.interop.x12.segments import X12Error, read
from caredesk.interop.x12.x835 import pyx12_problems_835
from caredesk.worklist.choices import TaskQueue, TaskType
from caredesk.worklist.models import Task
from tests.billing.conftest import BillingClinic, build_clinic
from tests.billing.remittance_files import Paid, build_835

from .x12_ack_files import build_277ca, build_999

SAMPLES = Path("/work/shared/data/x12")
if not SAMPLES.exists():
    SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "x12"
needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="the shared X12 samples are not here")


@pytest.fixture
def clinic(db, settings, tmp_path: Path) -> BillingClinic:
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    return build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")


def _ready(clinic: BillingClinic, count: int = 2) -> list[Claim]:
    claims = []
    for _ in range(count):
        claim = billing.enter_charges(actor=clinic.billing, data=clinic.charges())
        billing.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
        claims.append(claim)
    return claims


def _export(clinic: BillingClinic, out: Path) -> str:
    stdout = io.StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the files appear when the batches commit
        call_command("claims_export", "--organization", "RSH", "--out", str(out), stdout=stdout)
    return stdout.getvalue()


def _import(*paths: Path) -> str:
    stdout = io.StringIO()
    call_command("x12_import", "--organization", "rsh", *(str(p) for p in paths), stdout=stdout)
    return stdout.getvalue()


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _state() -> tuple[object, ...]:
    """Everything an import may change, to assert that a refused one changed nothing."""
    return (
        sorted(Claim.objects.values_list("pk", "status")),
        ClaimEvent.objects.count(),
        Task.objects.count(),
        X12Import.objects.count(),
        Remittance.objects.count(),
        LedgerEntry.objects.count(),
        AuditEvent.objects.count(),
    )


def _statuses(claims: list[Claim]) -> list[str]:
    return [Claim.objects.get(pk=c.pk).status for c in claims]


# ------------------------------------------------------------------------------------------ claims_export


def test_claims_export_writes_valid_837p_and_marks_the_claims_submitted(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    claims = _ready(clinic)
    draft = billing.enter_charges(actor=clinic.billing, data=clinic.charges())
    out = tmp_path / "out"

    printed = _export(clinic, out)

    files = list(out.glob("*.837"))
    assert len(files) == 1
    assert pyx12_problems_837p(files[0].read_text()) == []
    assert str(files[0]) in printed
    assert all(c.claim_number in printed for c in claims)
    assert "payer 60054, 2 claim(s) submitted" in printed
    assert _statuses(claims) == [ClaimStatus.SUBMITTED, ClaimStatus.SUBMITTED]
    assert Claim.objects.get(pk=draft.pk).status == ClaimStatus.DRAFT
    batch = X12Batch.objects.get()
    assert batch.file_name == files[0].name
    assert batch.claim_numbers == [c.claim_number for c in claims]
    segments = read(files[0].read_text())[1]
    gs = next(s for s in segments if s.tag == "GS")
    st = next(s for s in segments if s.tag == "ST")
    assert (gs.get(6), st.get(2)) == (str(batch.control_number), batch.set_control_number)
    # Nothing ready any more: a second run writes nothing; a later batch gets the next control number.
    assert "No ready claims" in _export(clinic, out)
    _ready(clinic, 1)
    _export(clinic, out)
    assert sorted(X12Batch.objects.values_list("control_number", flat=True)) == [
        batch.control_number,
        batch.control_number + 1,
    ]


def test_claims_export_for_one_payer_leaves_the_others_ready(clinic: BillingClinic, tmp_path: Path) -> None:
    claims = _ready(clinic, 1)
    stdout = io.StringIO()
    call_command(
        "claims_export", "--organization", "RSH", "--out", str(tmp_path), "--payer", "OTHER", stdout=stdout
    )
    assert "No ready claims for payer OTHER" in stdout.getvalue()
    assert _statuses(claims) == [ClaimStatus.READY]


# ------------------------------------------------------------------------------------------------- 999


def _exported_batch(clinic: BillingClinic, tmp_path: Path) -> tuple[list[Claim], X12Batch]:
    claims = _ready(clinic)
    _export(clinic, tmp_path / "out")
    return claims, X12Batch.objects.get()


def test_an_accepted_999_notes_the_batch_on_each_claim(clinic: BillingClinic, tmp_path: Path) -> None:
    claims, batch = _exported_batch(clinic, tmp_path)
    text = build_999(batch.control_number, batch.set_control_number)
    assert pyx12_problems_835(text) == []

    printed = _import(_write(tmp_path, "ack.999", text))

    assert "999 implementation acknowledgment" in printed
    assert f"Batch {batch.file_name} accepted" in printed
    assert _statuses(claims) == [ClaimStatus.SUBMITTED, ClaimStatus.SUBMITTED]  # the payer has not spoken yet
    for claim in claims:
        note = ClaimEvent.objects.filter(claim=claim).last()
        assert note is not None
        assert "accepted" in note.note
        assert "999 ack.999" in note.note
    assert not Task.objects.exists()


def test_a_rejected_999_rejects_the_batch_with_the_reason_and_a_follow_up_task(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    claims, batch = _exported_batch(clinic, tmp_path)
    text = build_999(batch.control_number, batch.set_control_number, rejected=True)

    printed = _import(_write(tmp_path, "ack.999", text))

    assert "rejected" in printed
    assert _statuses(claims) == [ClaimStatus.REJECTED, ClaimStatus.REJECTED]
    event = ClaimEvent.objects.filter(claim=claims[0]).last()
    assert event is not None
    assert event.to_status == ClaimStatus.REJECTED
    assert "segment NM1 (position 17 in the set), element 9 (value 'XX'): invalid code value" in event.note
    tasks = Task.objects.filter(task_type=TaskType.CLAIM_FOLLOW_UP, queue=TaskQueue.BILLING)
    assert sorted(tasks.values_list("source_id", flat=True)) == sorted(str(c.pk) for c in claims)
    assert "invalid code value" in tasks.first().description  # type: ignore[union-attr]


def test_a_999_for_a_batch_we_did_not_send_changes_no_claim(clinic: BillingClinic, tmp_path: Path) -> None:
    claims, batch = _exported_batch(clinic, tmp_path)
    printed = _import(_write(tmp_path, "ack.999", build_999(batch.control_number + 7, "0099", rejected=True)))
    assert "is not one we sent; nothing changed" in printed
    assert _statuses(claims) == [ClaimStatus.SUBMITTED, ClaimStatus.SUBMITTED]


@needs_samples
def test_the_valid_public_999_sample_is_read() -> None:
    groups = parse_999((SAMPLES / "imsweb-x12-parser/837_5010/x12_999_rejected.txt").read_text())
    assert [(g.functional_code, g.group_control_number, g.status) for g in groups] == [("HC", "28", "R")]
    (ack,) = groups[0].sets
    assert (ack.set_id, ack.control_number, ack.rejected) == ("837", "0028", True)
    assert ack.errors == (
        "segment NM (position 17 in the set): unrecognized segment",
        "one or more segments in error",
    )


# ----------------------------------------------------------------------------------------------- 277CA


def test_a_277ca_accepts_one_claim_and_rejects_another_in_words(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    claims, _batch = _exported_batch(clinic, tmp_path)
    text = build_277ca([(claims[0].claim_number, "A2:20"), (claims[1].claim_number, "A7:562:85")])
    assert pyx12_problems_835(text) == []

    printed = _import(_write(tmp_path, "ack.277", text))

    assert "277CA claim acknowledgment" in printed
    assert _statuses(claims) == [ClaimStatus.ACCEPTED, ClaimStatus.REJECTED]
    rejected = ClaimEvent.objects.filter(claim=claims[1]).last()
    assert rejected is not None
    assert (
        "rejected: invalid information; entity's National Provider Identifier (NPI) (billing provider)"
        in (rejected.note)
    )
    task = Task.objects.get(task_type=TaskType.CLAIM_FOLLOW_UP)
    assert task.source_id == str(claims[1].pk)
    assert "National Provider Identifier" in task.description


def test_a_277ca_for_an_unknown_claim_changes_nothing(clinic: BillingClinic, tmp_path: Path) -> None:
    claims, _batch = _exported_batch(clinic, tmp_path)
    printed = _import(_write(tmp_path, "ack.277", build_277ca([("NOT-OURS", "A7:21")])))
    assert "Claim NOT-OURS: not one of ours; nothing changed" in printed
    assert _statuses(claims) == [ClaimStatus.SUBMITTED, ClaimStatus.SUBMITTED]


# --------------------------------------------------------------------------------- detection and refusals


@needs_samples
@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("linuxforhealth-x12/271_005010X279A1/subscriber-health-benefit-check.271", "271"),
        ("linuxforhealth-x12/835_005010X221A1/managed-care.835", "835"),
        ("imsweb-x12-parser/837_5010/x12_999_rejected.txt", "999"),
        ("imsweb-x12-parser/277_5010/x12_277CA_accepted.txt", "277CA"),
    ],
)
def test_the_kind_is_detected_from_st01_and_gs08(path: str, kind: str) -> None:
    assert detect_kind((SAMPLES / path).read_text()) == kind


@needs_samples
@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("linuxforhealth-x12/277_005010X212/claim-level-status.277", "segment GS at line 2"),
        ("linuxforhealth-x12/834_005010X220A1/add-dependent.834", "segment ST at line 3"),
    ],
)
def test_other_transactions_are_refused_naming_the_segment(path: str, where: str) -> None:
    with pytest.raises(X12Error, match=where):
        detect_kind((SAMPLES / path).read_text())


@needs_samples
@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("imsweb-x12-parser/837_5010/x12_999_accepted.txt", "segment GS at line 2"),  # GS05 time 102497
        ("imsweb-x12-parser/277_5010/x12_277CA_rejected.txt", "segment HL at line 19"),  # 2000C STC missing
    ],
)
def test_a_broken_public_sample_exits_non_zero_and_changes_nothing(
    clinic: BillingClinic, tmp_path: Path, path: str, where: str
) -> None:
    _exported_batch(clinic, tmp_path)
    before = _state()
    with pytest.raises(CommandError) as caught:
        _import(SAMPLES / path)
    assert where in str(caught.value)
    assert Path(path).name in str(caught.value)
    assert _state() == before


def test_a_file_that_fails_half_way_changes_nothing(clinic: BillingClinic, tmp_path: Path) -> None:
    claims, _batch = _exported_batch(clinic, tmp_path)
    good = build_277ca([(claims[0].claim_number, "A2:20"), (claims[1].claim_number, "A7:562:85")])
    # The second claim's TRN lost: pyx12 and the reader both refuse the file, after the first claim.
    broken = good.replace(f"TRN*2*{claims[1].claim_number}~", "TRN*2~")
    first = _write(tmp_path, "good.277", good)
    bad = _write(tmp_path, "bad.277", broken)
    before = _state()
    with pytest.raises(CommandError) as caught:
        _import(bad, first)
    assert "bad.277" in str(caught.value)
    assert "segment TRN at line" in str(caught.value)
    assert _state() == before
    with pytest.raises(X12Error, match="patient control number"):
        parse_277ca(broken, validate=False)


def test_a_file_imported_twice_changes_nothing_the_second_time(clinic: BillingClinic, tmp_path: Path) -> None:
    claims, batch = _exported_batch(clinic, tmp_path)
    path = _write(
        tmp_path, "ack.999", build_999(batch.control_number, batch.set_control_number, rejected=True)
    )
    _import(path)
    after_first = _state()

    printed = _import(path)

    assert "Already imported" in printed
    assert "nothing changed" in printed
    assert _state()[:-1] == after_first[:-1]  # the audit trail only (nothing else) may differ
    assert ClaimEvent.objects.filter(claim=claims[0], to_status=ClaimStatus.REJECTED).count() == 1


# --------------------------------------------------------------------------------------- 835 and worklist


def test_an_unmatched_remittance_line_becomes_one_worklist_task(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    claims, _batch = _exported_batch(clinic, tmp_path)
    charge = sum((line.charge for line in claims[0].lines.all()), Decimal("0"))
    text = build_835(
        [Paid(claims[0].claim_number, charge, charge), Paid("ZZ-404", Decimal("50"), Decimal("45"))]
    )
    path = _write(tmp_path, "era.835", text)

    printed = _import(path)

    assert "835 remittance advice" in printed
    assert "1 worklist task created for unmatched payments" in printed
    assert _statuses(claims) == [ClaimStatus.PAID, ClaimStatus.SUBMITTED]
    task = Task.objects.get(task_type=TaskType.REMITTANCE_UNMATCHED)
    assert task.queue == TaskQueue.BILLING
    assert "ZZ-404" in task.title
    assert "45" in task.description
    # Again, by x12_import (same file), by remittance_import, and as a re-sent file with the same trace.
    _import(path)
    call_command("remittance_import", "--organization", "RSH", str(path), stdout=io.StringIO())
    _import(_write(tmp_path, "era-again.835", text.replace("PROVIDER SERVICES", "PROVIDER DESK")))
    assert Task.objects.filter(task_type=TaskType.REMITTANCE_UNMATCHED).count() == 1
    assert Remittance.objects.count() == 1


def test_an_eligibility_response_for_checks_we_did_not_send_is_refused(
    clinic: BillingClinic, tmp_path: Path
) -> None:
    sample = SAMPLES / "linuxforhealth-x12/271_005010X279A1/subscriber-health-benefit-check.271"
    if not sample.exists():
        pytest.skip("the shared X12 samples are not here")
    before = _state()
    with pytest.raises(CommandError, match=r"subscriber-health-benefit-check\.271"):
        _import(sample)
    assert _state() == before


# ---------------------------------------------------------------------------------------------- REST upload


def test_the_upload_endpoint_imports_a_file_and_refuses_a_bad_one(
    clinic: BillingClinic, tmp_path: Path, client_for, make_user
) -> None:
    from caredesk.accounts.permissions import Role

    claims, _batch = _exported_batch(clinic, tmp_path)
    client = client_for(make_user(Role.BILLING, clinic.org))
    text = build_277ca([(claims[0].claim_number, "A2:20")])
    url = "/api/v1/x12/imports?file_name=ack.277"

    first = client.post(url, data=text, content_type="application/edi-x12")
    again = client.post(url, data=text, content_type="application/edi-x12")
    broken = client.post(url, data=text.replace("HL*4*3*PT~", "HL*4*3*XX~"), content_type="text/plain")

    assert first.status_code == 200, first.content
    assert first.json()["kind"] == "277CA"
    assert first.json()["duplicate"] is False
    assert claims[0].claim_number in " ".join(first.json()["lines"])
    assert again.json()["duplicate"] is True
    assert _statuses(claims) == [ClaimStatus.ACCEPTED, ClaimStatus.SUBMITTED]
    assert broken.status_code == 400
    assert broken.json()["code"] == "invalid_x12"
    assert "line" in broken.json()["message"]
    nurse = client_for(make_user(Role.NURSE, clinic.org))
    assert nurse.post(url, data=text, content_type="text/plain").status_code == 403
