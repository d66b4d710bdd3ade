"""The original-mode acknowledgement (ACK): MSH addressed back to the sender, MSA with the code, the
original control id and the reason (MSA-3), and for AE/AR an ERR segment with the HL7 error code (table
0357) and the reason (ERR-3 / ERR-8, v2.5 and later)."""

from __future__ import annotations

import datetime as dt
import uuid

from .adt import Envelope
from .wire import SEGMENT_SEPARATOR, escape

DEFAULT_VERSION = "2.5.1"
ERROR_NAMES = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}


def build_ack(
    env: Envelope,
    *,
    ack_code: str,
    text: str = "",
    error_code: str = "",
    application: str = "CAREDESK",
    facility: str = "",
    now: dt.datetime | None = None,
) -> str:
    """The ACK as HL7 text (segments separated by CR, no MLLP framing)."""
    moment = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d%H%M%S")
    trigger = env.trigger or ""
    msh = [
        "MSH",
        "^~\\&",
        escape(application),
        escape(facility),
        env.sending_application,
        env.sending_facility,
        moment,
        "",
        f"ACK^{trigger}^ACK" if trigger else "ACK",
        f"ACK{uuid.uuid4().hex[:16].upper()}",
        env.processing_id or "P",
        env.version or DEFAULT_VERSION,
    ]
    msa = ["MSA", ack_code, escape(env.control_id), escape(text[:80]) if text else ""]
    segments = ["|".join(msh), "|".join(msa).rstrip("|")]
    if ack_code != "AA":
        code = error_code or "207"
        err = [
            "ERR",
            "",
            "",
            f"{code}^{escape(ERROR_NAMES.get(code, 'Error'))}^HL70357",
            "E",
            "",
            "",
            "",
            escape(text),
        ]
        segments.append("|".join(err))
    return SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR
