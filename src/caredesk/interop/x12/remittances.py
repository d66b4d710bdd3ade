"""Importing 835 remittance files: read and validate (x835), then post through billing's
`post_remittance`. A file that does not parse or validate raises `X12Error` before anything is stored."""

from __future__ import annotations

from caredesk.billing import services as billing
from caredesk.core.context import Actor

from .x835 import parse_835


def import_835(*, actor: Actor, text: str, file_name: str = "") -> billing.PostedRemittance:
    remittance = parse_835(text)
    return billing.post_remittance(actor=actor, remittance=remittance, file_name=file_name)
