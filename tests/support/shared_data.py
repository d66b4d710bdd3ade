"""Where the shared public test data (HL7 v2, X12, C-CDA, FHIR samples) lives.

CAREDESK_SAMPLE_DATA when set; otherwise `shared/data` beside the checkout (../shared/data), then the
workplace's /work/shared/data, so a clone anywhere on the machine (CI clones elsewhere) finds it.
"""

from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def _locate() -> Path:
    configured = os.environ.get("CAREDESK_SAMPLE_DATA")
    if configured:
        return Path(configured)
    for candidate in (_CHECKOUT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return _CHECKOUT.parent / "shared" / "data"


SHARED_DATA = _locate()
