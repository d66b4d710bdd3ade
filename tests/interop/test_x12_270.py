"""Every 270 we generate passes pyx12 (run through its Python API) and our own X279A1 checks.

pyx12 ships no 005010X279A1 map, so `pyx12_problems` validates against its 004010X092A1 map of the same
transaction after relabelling the envelope (see interop/x12/validation.py); the first test pins that fact
so the workaround goes when pyx12 gains the map."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import pyx12.error_handler
import pyx12.params
import pyx12.x12n_document

from caredesk.coverage.schemas import EligibilityInquiry, Person
from caredesk.interop.x12.envelope import Parties
from caredesk.interop.x12.validation import pyx12_problems, structure_problems
from caredesk.interop.x12.x270 import RequestNotPossible, build_270

NOW = dt.datetime(2026, 11, 26, 9, 30)
PARTIES = Parties(sender_id="CAREDESK", receiver_id="CLEARINGHOUSE")
MAYA = Person("Maya", "Lindqvist", dt.date(1984, 6, 2), "female")
INGRID = Person("Ingrid", "Lindqvist", dt.date(1960, 2, 3), "female")


def inquiry(**fields: object) -> EligibilityInquiry:
    values: dict[str, object] = {
        "organization_id": 1,
        "trace_number": "0F1E2D3C4B5A69788796A5B4C3D2E1F0",
        "control_number": 1207,
        "service_date": NOW.date(),
        "created_at": NOW,
        "payer_name": "Acme Health",
        "payer_id": "60054",
        "route": "test_payer",
        "provider_name": "Riverside Health",
        "provider_npi": "1234567893",
        "provider_tax_id": "12-3456789",
        "member_id": "W123456789",
        "group_number": "GRP-42",
        "relationship": "self",
        "subscriber": MAYA,
        "patient": MAYA,
    }
    values.update(fields)
    return EligibilityInquiry(**values)  # type: ignore[arg-type]


def test_pyx12_has_no_x279a1_map():
    text = build_270(inquiry(), PARTIES)
    with pytest.raises(pyx12.errors.EngineError, match="Map not found"):
        pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(), src_file=io.StringIO(text), fd_997=io.StringIO(), fd_html=None
        )


CASES = {
    "subscriber, today, with group": inquiry(),
    "subscriber, no group, a later date": inquiry(
        group_number="", service_date=NOW.date() + dt.timedelta(days=1)
    ),
    "dependent child": inquiry(
        relationship="child",
        subscriber=INGRID,
        patient=Person("Tim", "Lindqvist", dt.date(2015, 5, 6), "male"),
    ),
    "spouse, subscriber's birth date unknown": inquiry(
        relationship="spouse", subscriber=Person("Lars", "Lindqvist", None), patient=MAYA
    ),
    "awkward names": inquiry(
        subscriber=Person("Zoë-Ann", "O'Brien*Smith~Jr", dt.date(1950, 12, 31), "unknown"),
        patient=Person("Zoë-Ann", "O'Brien*Smith~Jr", dt.date(1950, 12, 31), "unknown"),
        member_id="abc 123/45",
    ),
    "long names and ids": inquiry(
        payer_name="P" * 90,
        provider_name="R" * 90,
        member_id="9" * 90,
        subscriber=Person("G" * 50, "F" * 80, dt.date(1999, 1, 1)),
        patient=Person("G" * 50, "F" * 80, dt.date(1999, 1, 1)),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_generated_270_passes_pyx12_and_our_checks(case):
    text = build_270(CASES[case], PARTIES)
    assert structure_problems(text) == []
    assert pyx12_problems(text) == []


def test_the_request_carries_what_the_payer_needs():
    text = build_270(inquiry(service_date=NOW.date() + dt.timedelta(days=1)), PARTIES)
    lines = text.splitlines()
    assert lines[0] == (
        "ISA*00*          *00*          *ZZ*CAREDESK       *ZZ*CLEARINGHOUSE  "
        "*261126*0930*^*00501*000001207*0*T*:~"
    )
    assert len(lines[0]) == 106
    assert "NM1*PR*2*ACME HEALTH*****PI*60054~" in lines
    assert "NM1*1P*2*RIVERSIDE HEALTH*****XX*1234567893~" in lines
    assert "TRN*1*0F1E2D3C4B5A69788796A5B4C3D2E1F0*1123456789~" in lines
    assert "NM1*IL*1*LINDQVIST*MAYA****MI*W123456789~" in lines
    assert "DMG*D8*19840602*F~" in lines
    assert "DTP*291*D8*20261127~" in lines
    assert lines[-3:] == ["SE*14*1207~", "GE*1*1207~", "IEA*1*000001207~"]


def test_pyx12_catches_what_we_would_get_wrong():
    good = build_270(inquiry(), PARTIES)
    missing_subscriber = good.replace("NM1*IL*1*LINDQVIST*MAYA****MI*W123456789~\n", "").replace(
        "SE*13*", "SE*12*"
    )
    assert any('"Subscriber Name" (2100C) missing' in p for p in pyx12_problems(missing_subscriber))
    bad_date = good.replace("DMG*D8*19840602", "DMG*D8*19841302")
    assert any("19841302" in p for p in pyx12_problems(bad_date))


def test_our_checks_catch_envelope_mistakes():
    good = build_270(inquiry(), PARTIES)
    assert any("SE01" in p for p in structure_problems(good.replace("SE*13*", "SE*12*")))
    assert any("Control numbers" in p for p in structure_problems(good.replace("GE*1*1207", "GE*1*1208")))
    no_eq = good.replace("EQ*30~\n", "").replace("SE*13*", "SE*12*")
    assert "The patient's loop lacks EQ." in structure_problems(no_eq)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"provider_npi": ""}, "no valid NPI"),
        ({"provider_npi": "1234567890x"}, "no valid NPI"),
        ({"member_id": "***"}, "no member ID"),
        ({"payer_id": ""}, "no name or payer ID"),
    ],
)
def test_requests_that_cannot_be_built_say_why(fields, message):
    with pytest.raises(RequestNotPossible, match=message):
        build_270(inquiry(**fields), PARTIES)
