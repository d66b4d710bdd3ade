"""How 270s leave and 271s arrive. A `Clearinghouse` takes one request file; it may answer at once.

- `FileDropClearinghouse` writes each 270 into `<CAREDESK_X12_DIR>/<organization>/outbox/` (a transfer
  agent, e.g. SFTP, picks them up) and reads 271s that arrive in `.../inbox/`; read files move to
  `inbox/processed/`, refused ones to `inbox/refused/` with a `.why.txt` beside them.
- `TestPayerClearinghouse` is a payer of its own for demos and tests: it reads the 270 and answers with a
  271 at once, deterministically by the member ID's last two digits: `00` the member ID is not recognised
  (AAA 72), `98` the payer cannot answer now (AAA 42), `99` coverage inactive, anything else active with
  co-pay, coinsurance, deductible and out-of-pocket amounts derived from the member ID.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from django.conf import settings

from caredesk.coverage.schemas import InboxFile

from .envelope import Parties, wrap
from .segments import Segment, X12Error, read, segment

INBOX_SUFFIXES = (".271", ".x12", ".txt", ".edi")


class Clearinghouse(Protocol):
    def submit(self, organization_id: int, name: str, text: str) -> str | None:
        """Hand over one request; the response text when it is answered at once, else None."""
        ...


def organization_folder(organization_id: int, *parts: str) -> Path:
    """The organization's X12 folder `parts` below CAREDESK_X12_DIR, made when it is not there yet."""
    path = Path(settings.CAREDESK_X12_DIR, str(organization_id), *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(text, encoding="ascii")
    os.replace(temporary, path)


class FileDropClearinghouse:
    def submit(self, organization_id: int, name: str, text: str) -> str | None:
        _write_atomically(organization_folder(organization_id, "outbox") / f"{name}.270", text)
        return None

    def collect(self, organization_id: int) -> list[InboxFile]:
        inbox = organization_folder(organization_id, "inbox")
        found: list[InboxFile] = []
        for path in sorted(inbox.iterdir()):
            if path.is_file() and path.suffix.lower() in INBOX_SUFFIXES and not path.name.startswith("."):
                found.append(
                    InboxFile(name=path.name, text=path.read_text(encoding="utf-8", errors="replace"))
                )
        return found

    def archive(self, organization_id: int, name: str, *, accepted: bool, note: str = "") -> None:
        source = organization_folder(organization_id, "inbox") / Path(name).name
        if not source.exists():
            return
        target = (
            organization_folder(organization_id, "inbox", "processed" if accepted else "refused")
            / source.name
        )
        os.replace(source, target)
        if note:
            target.with_name(f"{target.name}.why.txt").write_text(note + "\n", encoding="utf-8")


class TestPayerClearinghouse:
    __test__ = False  # not a pytest test class

    def submit(self, organization_id: int, name: str, text: str) -> str | None:
        return answer_270(text)


def _first(segments: list[Segment], tag: str, qualifier: str = "") -> Segment | None:
    return next((s for s in segments if s.tag == tag and (not qualifier or s.get(1) == qualifier)), None)


def _amounts(member_id: str) -> dict[str, Decimal]:
    digits = [int(c) for c in member_id if c.isdigit()] or [5]
    spread = sum(digits) % 10
    deductible = Decimal(1000 + 250 * (spread % 4))
    out_of_pocket = Decimal(4000 + 1000 * (spread % 3))
    used = Decimal(50 * spread)
    return {
        "copay": Decimal(20 + 5 * (spread % 5)),
        "coinsurance": Decimal("0.2") if spread % 2 == 0 else Decimal("0.1"),
        "deductible": deductible,
        "deductible_remaining": deductible - used,
        "out_of_pocket": out_of_pocket,
        "out_of_pocket_remaining": out_of_pocket - used * 2,
    }


def answer_270(request_text: str) -> str:
    """The test payer's 271 for a 270 (raises X12Error when the 270 cannot be read)."""
    _delimiters, segments = read(request_text)
    bht = _first(segments, "BHT")
    trn = _first(segments, "TRN")
    subscriber = _first(segments, "NM1", "IL")
    payer = _first(segments, "NM1", "PR")
    receiver = _first(segments, "NM1", "1P")
    isa = segments[0]
    if bht is None or trn is None or subscriber is None or payer is None or receiver is None:
        raise X12Error(
            "The 270 lacks BHT, TRN or a payer, receiver or subscriber name.", segment="ST", line=3
        )
    member_id = subscriber.get(9)
    dependent = _first(segments, "NM1", "03")
    when = dt.datetime.now(tz=dt.UTC)
    body = [
        segment("BHT", "0022", "11", bht.get(3), when.strftime("%Y%m%d"), when.strftime("%H%M")),
        segment("HL", "1", "", "20", "1"),
        segment("NM1", *payer.elements),
    ]
    if member_id.endswith("98"):
        body.append(segment("AAA", "Y", "", "42", "P"))
        body += [segment("HL", "2", "1", "21", "0"), segment("NM1", *receiver.elements)]
        return _wrap_271(body, isa)
    body += [segment("HL", "2", "1", "21", "1"), segment("NM1", *receiver.elements)]
    body += [segment("HL", "3", "2", "22", "1" if dependent else "0")]
    subject: list[str] = [segment("TRN", "2", trn.get(2), trn.get(3))]
    if dependent is None:
        body += [*subject, segment("NM1", *subscriber.elements)]
    else:
        body += [
            segment("NM1", *subscriber.elements),
            segment("HL", "4", "3", "23", "0"),
            *subject,
            segment("NM1", *dependent.elements),
        ]
    if member_id.endswith("00"):
        body.append(segment("AAA", "N", "", "72", "C"))
        return _wrap_271(body, isa)
    year = when.year
    body.append(segment("DTP", "346", "D8", f"{year}0101"))
    if member_id.endswith("99"):
        body += [segment("DTP", "347", "D8", f"{year - 1}1231"), segment("EB", "6", "IND", "30")]
        return _wrap_271(body, isa)
    money = _amounts(member_id)
    plan = "CAREDESK TEST PLAN"
    body += [
        segment("EB", "1", "IND", "30", "", plan),
        segment("EB", "B", "IND", "98", "", plan, "27", f"{money['copay']:.2f}", "", "", "", "", "Y"),
        segment("EB", "A", "IND", "98", "", plan, "", "", f"{money['coinsurance']}", "", "", "", "Y"),
        segment("EB", "C", "IND", "30", "", plan, "23", f"{money['deductible']:.2f}", "", "", "", "", "Y"),
        segment(
            "EB",
            "C",
            "IND",
            "30",
            "",
            plan,
            "29",
            f"{money['deductible_remaining']:.2f}",
            "",
            "",
            "",
            "",
            "Y",
        ),
        segment("EB", "G", "IND", "30", "", plan, "23", f"{money['out_of_pocket']:.2f}", "", "", "", "", "Y"),
        segment(
            "EB",
            "G",
            "IND",
            "30",
            "",
            plan,
            "29",
            f"{money['out_of_pocket_remaining']:.2f}",
            "",
            "",
            "",
            "",
            "Y",
        ),
        segment("EB", "B", "IND", "98", "", plan, "27", f"{money['copay'] * 2:.2f}", "", "", "", "", "N"),
    ]
    return _wrap_271(body, isa)


def _wrap_271(body: list[str], request_isa: Segment) -> str:
    parties = Parties(sender_id=request_isa.get(8).strip(), receiver_id=request_isa.get(6).strip())
    control = int(request_isa.get(13)) if request_isa.get(13).isdigit() else 1
    return wrap(
        transaction="271",
        functional_code="HB",
        body=body,
        parties=parties,
        control_number=control or 1,
        when=dt.datetime.now(tz=dt.UTC),
    )
