"""Hand-made 999 (005010X231A1) and 277CA (005010X214) files for the acknowledgment tests, built with the
project's X12 segment helpers; each passes pyx12 (the tests check it)."""

from __future__ import annotations

import datetime as dt

from caredesk.interop.x12.envelope import Parties, wrap
from caredesk.interop.x12.segments import segment

WHEN = dt.datetime(2026, 11, 27, 8, 15, tzinfo=dt.UTC)
PARTIES = Parties(sender_id="CLEARINGHOUSE", receiver_id="1234567893", production=True)


def build_999(group_control: int, set_control: str, *, rejected: bool = False, control: int = 501) -> str:
    body = [
        segment("AK1", "HC", str(group_control), "005010X222A1"),
        segment("AK2", "837", set_control, "005010X222A1"),
    ]
    if rejected:
        body += [
            segment("IK3", "NM1", "17", "", "8"),
            segment("IK4", "9", "", "7", "XX"),
            segment("IK5", "R", "5"),
            segment("AK9", "R", "1", "1", "0"),
        ]
    else:
        body += [segment("IK5", "A"), segment("AK9", "A", "1", "1", "1")]
    return wrap(
        transaction="999",
        functional_code="FA",
        body=body,
        parties=PARTIES,
        control_number=control,
        when=WHEN,
        version="005010X231A1",
    )


def build_277ca(claims: list[tuple[str, str]], *, control: int = 601) -> str:
    """`claims`: (our claim number, STC01 such as "A1:20" or "A7:562:85")."""
    day = WHEN.strftime("%Y%m%d")
    body = [
        segment("BHT", "0085", "08", f"R{control}", day, "0815", "TH"),
        segment("HL", "1", "", "20", "1"),
        segment("NM1", "PR", "2", "ACME HEALTH", "", "", "", "", "PI", "60054"),
        segment("TRN", "1", f"R{control}"),
        segment("DTP", "050", "D8", day),
        segment("DTP", "009", "D8", day),
        segment("HL", "2", "1", "21", "1"),
        segment("NM1", "41", "2", "RIVERSIDE HEALTH", "", "", "", "", "46", "1234567893"),
        segment("TRN", "2", f"B{control}"),
        segment("STC", "A1:19", day, "WQ", "160"),
        segment("QTY", "90", str(len(claims))),
        segment("AMT", "YU", "160"),
        segment("HL", "3", "2", "19", "1"),
        segment("NM1", "85", "2", "RIVERSIDE HEALTH", "", "", "", "", "XX", "1234567893"),
        segment("TRN", "1", f"P{control}"),
        segment("STC", "A1:19", "", "WQ", "160"),
        segment("QTY", "QA", str(len(claims))),
        segment("AMT", "YU", "160"),
    ]
    for number, (claim_number, status) in enumerate(claims, start=4):
        body += [
            segment("HL", str(number), "3", "PT"),
            segment("NM1", "QC", "1", "LOPEZ", "MARIA", "", "", "", "MI", "W123456789"),
            segment("TRN", "2", claim_number),
            segment("STC", status, day, "WQ" if status.startswith(("A1", "A2")) else "U", "160"),
            segment("REF", "1K", f"PAYER{number:04d}"),
            segment("DTP", "472", "D8", "20261102"),
        ]
    return wrap(
        transaction="277",
        functional_code="HN",
        body=body,
        parties=PARTIES,
        control_number=control,
        when=WHEN,
        version="005010X214",
    )
