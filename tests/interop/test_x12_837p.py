"""837P (005010X222A1): every generated file passes pyx12's own X222A1 map, run through its Python API —
several claims, a dependent patient, a secondary payer; what cannot be built is refused in words; ready
claims leave as one file per payer in the file-drop outbox and become submitted."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from caredesk.billing import services as billing
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.errors import ClaimBlocked
from caredesk.billing.models import Claim
from caredesk.billing.schemas import (
    Address,
    ClaimBatch,
    ClaimCoverage,
    ClaimData,
    ClaimLineData,
    ClaimPerson,
    Provider,
)
from caredesk.coverage import services as coverage_services
from caredesk.coverage.schemas import CoverageInput
from caredesk.interop.x12.claim_837p import ClaimNotBuildable, build_837p, money, pyx12_problems_837p
from caredesk.interop.x12.claims import submit_ready_claims
from caredesk.interop.x12.envelope import Parties
from caredesk.interop.x12.segments import read
from tests.billing.conftest import BillingClinic, build_clinic

ADDRESS = Address(line1="1 Main St", city="Albany", state="NY", postal_code="122071234")
BILLING = Provider(
    npi="1234567893", family_name="Riverside Health", organization=True, tax_id="12-3456789", address=ADDRESS
)
RENDERING = Provider(npi="1245319599", family_name="Smith", given_name="Ann")
PATIENT = ClaimPerson("Maria", "Lopez", dt.date(1961, 3, 4), "female", ADDRESS)
HUSBAND = ClaimPerson("Jose", "Lopez", dt.date(1959, 7, 8), "male", ADDRESS)
PRIMARY = ClaimCoverage(
    payer_name="Acme Health", payer_id="60054", member_id="W123", subscriber=PATIENT, group_number="GRP42"
)
LINES = (
    ClaimLineData("G0439", Decimal("120.00"), dt.date(2026, 11, 2), diagnosis_pointers=(1, 2)),
    ClaimLineData("G0444", Decimal("40.00"), dt.date(2026, 11, 2), Decimal("2"), ("25",), (2,)),
)
PARTIES = Parties(sender_id="1234567893", receiver_id="CLEARINGHOUSE")


def claim(number: str = "C1", **changes: object) -> ClaimData:
    base = ClaimData(
        claim_number=number,
        patient=PATIENT,
        coverage=PRIMARY,
        billing_provider=BILLING,
        rendering_provider=RENDERING,
        diagnoses=("E11.9", "I10"),
        lines=LINES,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def batch(*claims: ClaimData) -> ClaimBatch:
    return ClaimBatch(
        submitter_name="Riverside Health",
        submitter_id="1234567893",
        contact_name="Billing",
        contact_phone="(518) 555-0100",
        receiver_name="Clearinghouse",
        receiver_id="CLEARINGHOUSE",
        control_number=42,
        created_at=dt.datetime(2026, 11, 26, 7, 0),
        claims=claims,
    )


def tags(text: str) -> list[str]:
    return [s.tag for s in read(text)[1]]


def test_several_claims_pass_pyx12() -> None:
    text = build_837p(
        batch(
            claim("C1"),
            claim(
                "C2", diagnoses=("J45.909",), lines=(dataclasses.replace(LINES[0], diagnosis_pointers=(1,)),)
            ),
        ),
        PARTIES,
    )
    assert pyx12_problems_837p(text) == []
    segments = read(text)[1]
    assert [s.get(1) for s in segments if s.tag == "CLM"] == ["C1", "C2"]
    assert [s.get(2) for s in segments if s.tag == "CLM"] == ["160", "120"]
    assert "ST*837*0042*005010X222A1~" in text
    assert "GS*HC*" in text
    assert "SV1*HC:G0444:25*40*UN*2***2~" in text
    assert "HI*ABK:E119*ABF:I10~" in text


def test_patient_who_is_not_the_subscriber_passes_pyx12() -> None:
    dependent = dataclasses.replace(PRIMARY, subscriber=HUSBAND, relationship="spouse")
    text = build_837p(batch(claim(coverage=dependent), claim("C2")), PARTIES)
    assert pyx12_problems_837p(text) == []
    assert "HL*2*1*22*1~" in text
    assert "HL*3*2*23*0~" in text
    assert "PAT*01~" in text
    assert "NM1*QC*1*LOPEZ*MARIA~" in text
    assert "NM1*IL*1*LOPEZ*JOSE****MI*W123~" in text


def test_secondary_coverage_passes_pyx12() -> None:
    other = ClaimCoverage(
        payer_name="Blue River",
        payer_id="BR001",
        member_id="B77",
        subscriber=HUSBAND,
        relationship="spouse",
        order=2,
    )
    text = build_837p(batch(claim(other_coverage=other)), PARTIES)
    assert pyx12_problems_837p(text) == []
    assert "SBR*S*01*******CI~" in text
    assert "NM1*PR*2*BLUE RIVER*****PI*BR001~" in text


def test_pyx12_catches_a_broken_file() -> None:
    text = build_837p(batch(claim()), PARTIES)
    broken = "".join(line + "\n" for line in text.splitlines() if not line.startswith("HI*"))
    assert pyx12_problems_837p(broken) != []
    assert pyx12_problems_837p(text.replace("CLM*C1*160***11:B:1", "CLM*C1*160***99:X:1")) != []


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"diagnoses": ()}, "no diagnosis"),
        ({"diagnoses": tuple(f"E11.{n}" for n in range(13))}, "at most 12"),
        ({"lines": ()}, "no lines"),
        (
            {"rendering_provider": dataclasses.replace(RENDERING, npi="12")},
            "rendering provider has no valid NPI",
        ),
        ({"coverage": dataclasses.replace(PRIMARY, member_id="")}, "member ID"),
        ({"patient": dataclasses.replace(PATIENT, birth_date=None)}, "birth date"),
        ({"lines": (dataclasses.replace(LINES[0], diagnosis_pointers=(3,)),)}, "does not have"),
        (
            {"lines": (dataclasses.replace(LINES[0], modifiers=("25", "59", "XS", "76", "77")),)},
            "4 modifiers",
        ),
    ],
)
def test_what_cannot_be_built_is_refused_in_words(changes: dict, words: str) -> None:
    with pytest.raises(ClaimNotBuildable, match=words):
        build_837p(batch(claim(**changes)), PARTIES)


def test_a_batch_is_one_payer() -> None:
    other = dataclasses.replace(PRIMARY, payer_id="BR001")
    with pytest.raises(ClaimNotBuildable, match="one payer"):
        build_837p(batch(claim(), claim("C2", coverage=other)), PARTIES)
    with pytest.raises(ClaimNotBuildable, match="tax ID"):
        build_837p(batch(claim(billing_provider=dataclasses.replace(BILLING, tax_id=""))), PARTIES)


def test_money_is_written_from_decimal() -> None:
    assert money(Decimal("120.00")) == "120"
    assert money(Decimal("10.50")) == "10.5"
    assert money(Decimal("0.05")) == "0.05"


# --------------------------------------------------------------------------- end to end, on the database


@pytest.fixture
def billing_clinic(db, settings, tmp_path: Path) -> BillingClinic:
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    return build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")


def test_ready_claims_leave_one_validated_file_per_payer(
    billing_clinic: BillingClinic, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    clinic = billing_clinic
    second_payer = coverage_services.create_payer(
        actor=clinic.billing, name="Blue River", payer_id="BR001", route="file_drop"
    )
    plan = coverage_services.create_plan(actor=clinic.billing, payer_id=second_payer.pk, name="Blue HMO")
    secondary = coverage_services.add_coverage(
        actor=clinic.billing,
        patient_id=clinic.patient.pk,
        data=CoverageInput(
            plan_id=plan.pk,
            member_id="B77",
            order=2,
            relationship="spouse",
            subscriber_given_name="Jose",
            subscriber_family_name="Lopez",
            subscriber_birth_date=dt.date(1959, 7, 8),
            effective_from=dt.date(2024, 1, 1),
        ),
    )
    ids = []
    for data in (
        clinic.charges(),
        clinic.charges(other_coverage_id=secondary.pk),
        clinic.charges(coverage_id=secondary.pk, other_coverage_id=clinic.coverage.pk),
    ):
        made = billing.enter_charges(actor=clinic.billing, data=data)
        billing.change_status(actor=clinic.billing, claim_id=made.pk, target=ClaimStatus.READY)
        ids.append(made.pk)
    draft = billing.enter_charges(actor=clinic.billing, data=clinic.charges())

    with django_capture_on_commit_callbacks(execute=True):  # each file appears when its batch commits
        written = submit_ready_claims(actor=clinic.billing)

    assert sorted(w.payer_id for w in written) == ["60054", "BR001"]
    outbox = tmp_path / "x12" / str(clinic.org.pk) / "outbox"
    assert sorted(p.name for p in outbox.iterdir()) == sorted(w.path.name for w in written)
    for item in written:
        assert pyx12_problems_837p(item.path.read_text()) == []
        assert tags(item.text)[0] == "ISA"
    by_payer = {w.payer_id: w for w in written}
    assert by_payer["60054"].claim_ids == (ids[0], ids[1])
    assert by_payer["BR001"].claim_ids == (ids[2],)
    assert "PAT*01~" in by_payer["BR001"].text
    for claim_row in Claim.objects.filter(pk__in=ids):
        assert claim_row.status == ClaimStatus.SUBMITTED
        assert claim_row.submitted_file
        assert claim_row.events.last().note.startswith("837P batch")  # type: ignore[union-attr]
    draft.refresh_from_db()
    assert draft.status == ClaimStatus.DRAFT
    assert submit_ready_claims(actor=clinic.billing) == []


def test_a_batch_that_cannot_be_built_writes_nothing(billing_clinic: BillingClinic, tmp_path: Path) -> None:
    clinic = billing_clinic
    made = billing.enter_charges(actor=clinic.billing, data=clinic.charges())
    billing.change_status(actor=clinic.billing, claim_id=made.pk, target=ClaimStatus.READY)
    clinic.org.tax_id = ""
    clinic.org.save()
    with pytest.raises(ClaimBlocked, match="tax ID"):
        submit_ready_claims(actor=clinic.billing)
    made.refresh_from_db()
    assert made.status == ClaimStatus.READY
    outbox = tmp_path / "x12" / str(clinic.org.pk) / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []
