"""Reading 835 remittance advice: the pyx12-valid public sample, a hand-made 835 and broken files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caredesk.billing.schemas import Adjustment
from caredesk.interop.x12.segments import X12Error
from caredesk.interop.x12.x835 import parse_835
from tests.billing.remittance_files import Paid, build_835
from tests.support.shared_data import SHARED_DATA

X12 = SHARED_DATA / "x12"
VALID_SAMPLE = X12 / "pyx12" / "835_mult_loops.txt"  # pyx12 OK in VALIDATION.md
INVALID_SAMPLES = [  # pyx12 FAIL in VALIDATION.md, with the segment and line of its first finding
    ("linuxforhealth-x12/835_005010X221A1/managed-care.835", "segment BPR at line 4", "BPR16"),
    ("linuxforhealth-x12/835_005010X221A1/secondary-payment.835", "segment BPR at line 4", "BPR16"),
    ("linuxforhealth-x12/835_005010X221A1/medicare-part-a.835", "line 11", "PER"),
]

needs_samples = pytest.mark.skipif(not X12.is_dir(), reason="shared X12 samples not available")


@needs_samples
def test_the_valid_public_sample_reads_as_one_denied_claim_with_its_service_lines() -> None:
    remittance = parse_835(VALID_SAMPLE.read_text())

    assert remittance.payer_name == "PAYER"
    assert remittance.payee_name == "UNKNOWN"
    assert remittance.trace_number == "000000000"
    assert remittance.payer_id == "1386000134"
    assert remittance.payment_method == "NON"
    assert remittance.payment_date == dt.date(2004, 10, 28)
    assert remittance.total_paid == Decimal("0.00")
    (claim,) = remittance.claims
    assert claim.claim_number == "2005555A"
    assert claim.status_code == "4"
    assert (claim.charge, claim.paid) == (Decimal("915.39"), Decimal("0.00"))
    assert claim.patient_name == "JOHANN BACH"
    assert [s.procedure_code for s in claim.services] == ["T1005"] * 3
    assert claim.services[0].service_date == dt.date(2003, 11, 29)
    assert claim.services[0].adjustments == (Adjustment("CO", "16", Decimal("500.04")),)
    assert sum(a.amount for a in claim.all_adjustments) == claim.charge


@needs_samples
@pytest.mark.parametrize(("name", "where", "what"), INVALID_SAMPLES)
def test_public_samples_pyx12_rejects_give_the_segment_and_line(name: str, where: str, what: str) -> None:
    with pytest.raises(X12Error) as caught:
        parse_835((X12 / name).read_text())
    assert where in str(caught.value)
    assert what in str(caught.value)


def test_a_hand_made_835_reads_every_amount_and_adjustment() -> None:
    text = build_835(
        [
            Paid(
                "C1-000001",
                Decimal("150"),
                Decimal("100"),
                patient_responsibility=Decimal("20"),
                extra=["SVC*HC:G0439:25*150*100**1", "DTM*472*20261102", "CAS*CO*45*30", "CAS*PR*2*20"],
            ),
            Paid(
                "C1-000002",
                Decimal("80"),
                Decimal("0"),
                status="4",
                adjustments=(("CO", "50", Decimal("80")),),
            ),
        ],
        trace="EFT777",
    )

    remittance = parse_835(text)

    assert (remittance.trace_number, remittance.payer_id) == ("EFT777", "1600054000")
    assert remittance.total_paid == Decimal("100.00")
    assert remittance.payment_date == dt.date(2026, 11, 20)
    first, second = remittance.claims
    assert (first.claim_number, first.status_code, first.paid) == ("C1-000001", "1", Decimal("100.00"))
    assert first.patient_responsibility == Decimal("20.00")
    (service,) = first.services
    assert (service.procedure_code, service.modifiers, service.service_date) == (
        "G0439",
        ("25",),
        dt.date(2026, 11, 2),
    )
    assert service.adjustments == (
        Adjustment("CO", "45", Decimal("30.00")),
        Adjustment("PR", "2", Decimal("20.00")),
    )
    assert second.status_code == "4"
    assert second.adjustments == (Adjustment("CO", "50", Decimal("80.00")),)


def test_a_file_that_is_not_an_835_is_refused_by_name() -> None:
    text = build_835([Paid("C1-000001", Decimal("10"), Decimal("10"))]).replace("ST*835*", "ST*837*")
    with pytest.raises(X12Error, match="not an 835") as caught:
        parse_835(text)
    assert caught.value.segment == "ST"
    assert caught.value.line == 3


def test_a_broken_amount_names_the_segment_and_line() -> None:
    text = build_835([Paid("C1-000001", Decimal("10"), Decimal("10"))]).replace(
        "CLP*C1-000001*1*10*10", "CLP*C1-000001*1*1O*10"
    )
    with pytest.raises(X12Error) as caught:
        parse_835(text)
    assert caught.value.segment == "CLP"
    assert caught.value.line == 13
    assert "segment CLP at line 13" in str(caught.value)
    assert "CLP03" in str(caught.value)


def test_a_truncated_file_is_refused() -> None:
    text = build_835([Paid("C1-000001", Decimal("10"), Decimal("10"))])
    with pytest.raises(X12Error, match="IEA"):
        parse_835(text[: text.index("SE*")])


def test_an_amount_too_large_for_the_ledger_names_the_segment_and_line() -> None:
    text = build_835([Paid("C1-000001", Decimal("10"), Decimal("10"))]).replace(
        "CLP*C1-000001*1*10*10", "CLP*C1-000001*1*99999999999*10"
    )
    with pytest.raises(X12Error, match="not an amount") as caught:
        parse_835(text)
    assert caught.value.segment == "CLP"
    assert caught.value.line == 13
