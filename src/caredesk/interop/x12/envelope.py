"""The ISA/GS/ST … SE/GE/IEA envelope around one transaction set, with its control numbers and counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .segments import Delimiters, join, segment

VERSION = "005010X279A1"
DEFAULT_DELIMITERS = Delimiters()


@dataclass(frozen=True)
class Parties:
    sender_id: str  # ISA06 / GS02 (qualifier ZZ, mutually defined)
    receiver_id: str  # ISA08 / GS03
    production: bool = False  # ISA15: P production, T test


def wrap(
    *,
    transaction: str,
    functional_code: str,
    body: list[str],
    parties: Parties,
    control_number: int,
    when: dt.datetime,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    version: str = VERSION,
) -> str:
    """`body` is the transaction's segments between ST and SE (BHT first); `version` is GS08/ST03."""
    if not 0 < control_number < 1_000_000_000:
        raise ValueError("The interchange control number must be 1 to 999999999.")
    control = f"{control_number:09d}"
    st_control = f"{control_number % 10000:04d}"
    isa = "*".join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            parties.sender_id[:15].ljust(15),
            "ZZ",
            parties.receiver_id[:15].ljust(15),
            when.strftime("%y%m%d"),
            when.strftime("%H%M"),
            delimiters.repetition,
            "00501",
            control,
            "0",
            "P" if parties.production else "T",
            delimiters.component,
        ]
    )
    gs = segment(
        "GS",
        functional_code,
        parties.sender_id[:15],
        parties.receiver_id[:15],
        when.strftime("%Y%m%d"),
        when.strftime("%H%M"),
        str(control_number),
        "X",
        version,
    )
    st = segment("ST", transaction, st_control, version)
    se = segment("SE", str(len(body) + 2), st_control)
    return join(
        [isa, gs, st, *body, se, segment("GE", "1", str(control_number)), segment("IEA", "1", control)],
        delimiters,
    )
