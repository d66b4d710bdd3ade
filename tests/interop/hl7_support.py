"""Helpers for the HL7 v2 tests: the public samples, MLLP framing, a socket client, and small edits to a
sample (its control id, its line endings)."""

from __future__ import annotations

import socket

from tests.support.shared_data import SHARED_DATA

#: The shared public HL7 v2 samples (see tests/support/shared_data.py for where they are looked for).
SAMPLES = SHARED_DATA / "hl7v2"
VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"

#: The ADT samples (data/hl7v2, see its VALIDATION.md) with the events this listener applies.
#: MDM_01.hl7 is really an ADT^A01 (named wrongly upstream).
SUPPORTED_SAMPLES = [
    "hapi-hl7v2/ADT_A01.txt",
    "hapi-hl7v2/adt_a03.txt",
    *(
        f"microsoft-fhir-converter/ADT-{event}-0{n}.hl7"
        for event in ("A01", "A02", "A03", "A04", "A08", "A11", "A13", "A40")
        for n in (1, 2)
    ),
    "microsoft-fhir-converter/ADT01-23.hl7",
    "microsoft-fhir-converter/ADT04-23.hl7",
    "microsoft-fhir-converter/ADT04-251.hl7",
    "microsoft-fhir-converter/ADT04-28.hl7",
    "microsoft-fhir-converter/MDM_01.hl7",
]
#: Well-formed, but with no visit number (PV1-19) and no admit time (PV1-44): visits cannot be told apart,
#: so it is answered AE 101 and kept for review.
NO_VISIT_KEY_SAMPLES = ["microsoft-fhir-converter/ADT01-28.hl7"]
#: ADT events this listener does not apply: answered AR 201.
UNSUPPORTED_SAMPLES = [
    f"microsoft-fhir-converter/ADT-{event}-01.hl7"
    for event in (
        "A05",
        "A06",
        "A07",
        "A09",
        "A10",
        "A14",
        "A15",
        "A16",
        "A25",
        "A26",
        "A27",
        "A28",
        "A29",
        "A31",
        "A41",
        "A45",
        "A47",
        "A60",
    )
]
#: Not ADT at all: answered AR 200.
OTHER_TYPES = ["microsoft-fhir-converter/ORU-R01-01.hl7", "microsoft-fhir-converter/SIU-S12-01.hl7"]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def frame(payload: bytes | str) -> bytes:
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return VT + data + FS + CR


def segments(payload: bytes) -> list[str]:
    text = payload.decode("utf-8-sig")
    return [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line]


def with_control_id(payload: bytes, control_id: str, separator: str = "\r", bom: bool = False) -> bytes:
    """The sample with MSH-10 replaced, re-joined with `separator` (and a BOM if asked)."""
    lines = segments(payload)
    fields = lines[0].split("|")
    fields[9] = control_id
    lines[0] = "|".join(fields)
    text = separator.join(lines) + separator
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


class MllpClient:
    """A sender: one TCP connection, frames out, ACK frames back."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_ack(self) -> str:
        while FS + CR not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the listener closed the connection")
            self.buffer += chunk
        block, _, self.buffer = self.buffer.partition(FS + CR)
        assert block.startswith(VT), block[:20]
        return block[1:].decode("utf-8")

    def send(self, payload: bytes | str) -> str:
        self.send_raw(frame(payload))
        return self.read_ack()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ack_fields(ack: str) -> dict[str, str]:
    """MSA-1, MSA-2, MSA-3 and ERR-3.1 of an ACK."""
    found: dict[str, str] = {}
    for line in ack.split("\r"):
        fields = line.split("|")
        if fields[0] == "MSA":
            found.update(code=fields[1], control_id=fields[2], text=fields[3] if len(fields) > 3 else "")
        elif fields[0] == "ERR":
            found["error"] = fields[3].split("^")[0]
    return found
