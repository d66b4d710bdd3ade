"""Submitting ready claims: one 837P file per payer, validated by pyx12 before it is written to the
file-drop outbox (`<CAREDESK_X12_DIR>/<organization>/outbox/<name>.837`); then its claims become submitted.

This entry point lives in interop because the billing app may not import interop: billing owns the claims,
their values (`billing.services.claim_data`) and the `mark_submitted` step; interop owns the X12.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from caredesk.billing import services as billing
from caredesk.billing.errors import ClaimBlocked
from caredesk.billing.schemas import ClaimBatch, ClaimData, SubmittedBatch
from caredesk.core.context import Actor

from .claim_837p import ClaimNotBuildable, build_837p, pyx12_problems_837p
from .clearinghouse import _folder, _write_atomically
from .envelope import Parties

RECEIVER_ID = "CLEARINGHOUSE"


@dataclass(frozen=True)
class WrittenBatch:
    payer_id: str
    path: Path
    claim_ids: tuple[int, ...]
    text: str


def build_batches(*, actor: Actor, payer_id: str = "") -> list[tuple[str, list[int], ClaimBatch]]:
    """The ready claims grouped per payer, as 837P batch values (nothing is written)."""
    claims = billing.ready_claims(actor=actor, payer_id=payer_id)
    grouped: dict[str, list[tuple[int, ClaimData]]] = {}
    for claim in claims:
        data = billing.claim_data(actor=actor, claim=claim)
        grouped.setdefault(data.coverage.payer_id, []).append((claim.pk, data))
    batches = []
    now = timezone.localtime()
    for number, (payer, rows) in enumerate(sorted(grouped.items()), start=1):
        organization = claims[0].organization
        control = (rows[0][0] * 10 + number) % 1_000_000_000 or 1
        batch = ClaimBatch(
            submitter_name=organization.name,
            submitter_id=organization.npi or str(organization.pk),
            contact_name="Billing office",
            contact_phone=organization.phone or "0000000000",
            receiver_name=RECEIVER_ID,
            receiver_id=RECEIVER_ID,
            control_number=control,
            created_at=now,
            claims=tuple(data for _pk, data in rows),
        )
        batches.append((payer, [pk for pk, _data in rows], batch))
    return batches


def submit_ready_claims(*, actor: Actor, payer_id: str = "") -> list[WrittenBatch]:
    """Build, validate and write one 837P per payer; mark its claims submitted. A batch that cannot be
    built or fails validation is not written and its claims stay ready (ClaimBlocked says why)."""
    written: list[WrittenBatch] = []
    for payer, claim_ids, batch in build_batches(actor=actor, payer_id=payer_id):
        sender = batch.submitter_id
        try:
            text = build_837p(batch, Parties(sender_id=sender, receiver_id=RECEIVER_ID))
        except ClaimNotBuildable as exc:
            raise ClaimBlocked(f"The batch for payer {payer} cannot be built: {exc}") from exc
        problems = pyx12_problems_837p(text)
        if problems:
            raise ClaimBlocked(f"The batch for payer {payer} fails validation: {problems[0]}")
        assert actor.organization_id is not None
        name = f"837P-{payer}-{batch.control_number:09d}"
        path = _folder(actor.organization_id, "outbox") / f"{name}.837"
        with transaction.atomic():  # the claims become submitted only if the file is written
            billing.mark_submitted(actor=actor, claim_ids=claim_ids, file_name=path.name)
            _write_atomically(path, text)
        written.append(WrittenBatch(payer_id=payer, path=path, claim_ids=tuple(claim_ids), text=text))
    return written


class X12ClaimSubmitter:
    """billing.exchange.ClaimSubmitter: 837P batches through the file-drop outbox."""

    def submit(self, *, actor: Actor, payer_id: str = "") -> list[SubmittedBatch]:
        return [
            SubmittedBatch(payer_id=w.payer_id, file_name=w.path.name, claim_ids=w.claim_ids, text=w.text)
            for w in submit_ready_claims(actor=actor, payer_id=payer_id)
        ]
