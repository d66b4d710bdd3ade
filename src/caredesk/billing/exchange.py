"""The port through which ready claims leave as 837P batches.

The billing app owns claims and their lifecycle; writing X12 and handing files to a clearinghouse is
interop's job, and domain apps never import interop. So billing names what it needs here, and
settings.CAREDESK_CLAIM_SUBMITTER names the class that provides it
(`caredesk.interop.x12.claims.X12ClaimSubmitter`).
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from caredesk.core.context import Actor

from .schemas import SubmittedBatch


class ClaimSubmitter(Protocol):
    def submit(self, *, actor: Actor, payer_id: str = "") -> list[SubmittedBatch]:
        """Build, validate and send one 837P per payer of the ready claims (all payers, or `payer_id`);
        its claims become submitted. Raises billing.errors.ClaimBlocked, in plain words, when a batch
        cannot be built or fails validation (nothing of it is written)."""
        ...


@cache
def _submitter_class(path: str) -> type[ClaimSubmitter]:
    found: type[ClaimSubmitter] = import_string(path)
    return found


def get_submitter() -> ClaimSubmitter:
    return _submitter_class(settings.CAREDESK_CLAIM_SUBMITTER)()
