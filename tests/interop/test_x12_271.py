"""Reading 271s: the public samples (shared/data/x12), our test payer's answers, and broken files, which
fail with the segment and line and yield nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caredesk.interop.x12.clearinghouse import answer_270
from caredesk.interop.x12.segments import X12Error
from caredesk.interop.x12.x271 import parse_271
from tests.support.shared_data import SHARED_DATA

SAMPLES = SHARED_DATA / "x12"
LFH = SAMPLES / "linuxforhealth-x12"
pytestmark = pytest.mark.skipif(not SAMPLES.exists(), reason="the shared X12 samples are not on this machine")


def sample(path: str) -> str:
    return (SAMPLES / path).read_text()


def test_subscriber_answer():
    [outcome] = parse_271(sample("linuxforhealth-x12/271_005010X279A1/subscriber-health-benefit-check.271"))
    assert outcome.trace_number == "93175-012547"
    assert outcome.active is True
    assert outcome.plan_name == "GOLD 123 PLAN"
    assert outcome.plan_begin == dt.date(2006, 1, 1)
    assert outcome.member_id == "123456789"
    copays = [(b.service_type, b.amount, b.network) for b in outcome.benefits if b.kind == "copay"]
    assert ("98", Decimal("10.00"), "in") in copays
    assert ("98", Decimal("30.00"), "out") in copays
    assert len(copays) == 20  # ten service types, in and out of network
    office = next(b for b in outcome.benefits if b.kind == "copay" and b.service_type == "98")
    assert office.service_label == "Professional (physician) visit - office"
    assert office.time_period == "visit"


def test_dependent_answer():
    [outcome] = parse_271(sample("linuxforhealth-x12/271_005010X279A1/dependent-health-benefit-check.271"))
    assert outcome.trace_number == "93175-012547"
    assert outcome.member_id == "123456789"  # stated on the subscriber loop above
    assert outcome.active is True
    assert outcome.plan_begin == dt.date(2006, 1, 1)


def test_demo_answer():
    [outcome] = parse_271(sample("linuxforhealth-x12/demo-file/demo.271"))
    assert outcome.active is True


def test_error_sample_has_a_wrong_control_number_but_its_rejection_is_readable():
    text = sample("linuxforhealth-x12/271_005010X279A1/subscriber-health-benefit-check-error.271")
    with pytest.raises(X12Error, match="segment SE at line 10: SE02 does not match ST02"):
        parse_271(text)
    [outcome] = parse_271(text, strict=False)
    assert outcome.trace_number == "10001234"  # no subscriber loop: the request named by BHT03
    assert outcome.active is None
    [rejection] = outcome.rejections
    assert rejection.code == "50"
    assert rejection.loop == "information receiver"
    assert rejection.message == "The payer does not accept eligibility questions from this provider."
    assert "Do not check again" in rejection.action


def test_4010_answer_is_refused_by_version():
    with pytest.raises(X12Error, match=r"segment GS at line 2: Version 004010X092A1 is not supported"):
        parse_271(sample("imsweb-x12-parser/x270_271/x271.txt"))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "linuxforhealth-x12/270_005010X279A1/subscriber-health-benefit-check.270",
            "This is a 270 transaction, not a 271",
        ),
        ("linuxforhealth-x12/835_005010X221A1/managed-care.835", "This is a 835 transaction, not a 271"),
        ("imsweb-x12-parser/837_5010/x12_no_isa_line.txt", "does not start with an ISA segment"),
        ("imsweb-x12-parser/837_5010/x12_bad_first_line.txt", "line 1"),
    ],
)
def test_other_files_are_refused_with_where(path, message):
    with pytest.raises(X12Error, match=message):
        parse_271(sample(path))


def test_our_test_payer_answers_round_trip():
    request = sample("linuxforhealth-x12/270_005010X279A1/dependent-health-benefit-check.270")
    [outcome] = parse_271(answer_270(request))
    assert outcome.trace_number == "93175-012547"
    assert outcome.active is True
    assert {b.kind for b in outcome.benefits} >= {"copay", "coinsurance", "deductible", "out_of_pocket"}


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            lambda t: t.replace("DTP*346*D8*20060101", "DTP*346*D8*20061301"),
            r"segment DTP at line \d+: '20061301' is not a date",
        ),
        (lambda t: t.replace("*27*10.00*", "*27*TEN*"), r"segment EB at line \d+: 'TEN' is not a number"),
        (lambda t: t.replace("TRN*2*93175-012547*9877281234~", ""), "SE01 says"),
        (lambda t: t.replace("IEA*1*000000907~", ""), "ends before its IEA"),
        (
            lambda t: t.replace("NM1*IL", "nm1*IL"),
            r"segment nm1 at line \d+: 'nm1' is not a segment identifier",
        ),
    ],
)
def test_broken_answers_name_segment_and_line(mutation, message):
    text = mutation(sample("linuxforhealth-x12/271_005010X279A1/subscriber-health-benefit-check.271"))
    with pytest.raises(X12Error, match=message):
        parse_271(text)
