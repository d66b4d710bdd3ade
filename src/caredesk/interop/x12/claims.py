"""Submitting ready claims: one 837P file per payer, validated by pyx12 before it is written to the
file-drop outbox (`<CAREDESK_X12_DIR>/<organization>/outbox/<name>.837`); then its claims become submitted.

This entry point lives in interop because the billing app may not import interop: billing owns the claims,
their values (`billing.services.claim_data`) and the `mark_submitted` step; interop owns the X12.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from caredesk.billing import services as billing
from caredesk.billing.errors import ClaimBlocked
from caredesk.billing.schemas import ClaimBatch, ClaimData, SubmittedBatch
from caredesk.core.context import Actor

from ..models import X12Batch
from .claim_837p import ClaimNotBuildable, build_837p, pyx12_problems_837p
from .clearinghouse import _folder, _write_atomically
from .envelope import Parties

RECEIVER_ID = "CLEARINGHOUSE"


def batch_file_name(payer_id: str, control_number: int) -> str:
    """The outbox name of a batch: the GS06 control number a 999 names is its last part."""
    return f"837P-{payer_id}{batch_file_suffix(control_number)}"


def batch_file_suffix(control_number: int) -> str:
    """What every file name of the batch with this GS06 control number ends with."""
    if not 0 < control_number < 1_000_000_000:
        raise ValueError("A batch control number is 1 to 999999999.")
    return f"-{control_number:09d}.837"


@dataclass(frozen=True)
class WrittenBatch:
    payer_id: str
    path: Path
    claim_ids: tuple[int, ...]
    text: str


#: The 837 guide's recommended ceiling of claims (CLM) per transaction set; larger groups are split.
MAX_CLAIMS_PER_BATCH = 5000


def build_batches(
    *, actor: Actor, payer_id: str = "", max_claims: int = MAX_CLAIMS_PER_BATCH
) -> list[tuple[str, list[int], ClaimBatch]]:
    """The ready claims grouped per payer (at most `max_claims` per batch), as 837P batch values; each batch
    takes the next control number after the organization's last recorded batch (nothing is written)."""
    claims = billing.ready_claims(actor=actor, payer_id=payer_id)
    if not claims:
        return []
    organization = claims[0].organization
    address = billing.billing_address(organization.pk)
    grouped: dict[str, list[tuple[int, ClaimData]]] = {}
    for claim in claims:
        data = billing.claim_data(actor=actor, claim=claim, address=address)
        grouped.setdefault(data.coverage.payer_id, []).append((claim.pk, data))
    found = X12Batch.objects.filter(organization_id=organization.pk).aggregate(last=Max("control_number"))
    last = found["last"] or 0
    now = timezone.localtime()
    chunks = [
        (payer, rows[start : start + max_claims])
        for payer, rows in sorted(grouped.items())
        for start in range(0, len(rows), max_claims)
    ]
    batches = []
    for number, (payer, rows) in enumerate(chunks, start=1):
        control = (last + number) % 1_000_000_000 or 1
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


def submit_ready_claims(
    *, actor: Actor, payer_id: str = "", out_dir: Path | None = None, validate: bool = True
) -> list[WrittenBatch]:
    """Build, validate and write one 837P per payer (to the file-drop outbox, or `out_dir`); mark its
    claims submitted and record the batch (`X12Batch`: its control numbers and claim numbers, for the 999).
    A batch that cannot be built or fails validation is not written and its claims stay ready
    (ClaimBlocked says why). `validate=False` skips pyx12 (bench/x12_claims.py times it apart)."""
    written: list[WrittenBatch] = []
    for payer, claim_ids, batch in build_batches(actor=actor, payer_id=payer_id):
        sender = batch.submitter_id
        try:
            text = build_837p(batch, Parties(sender_id=sender, receiver_id=RECEIVER_ID))
        except ClaimNotBuildable as exc:
            raise ClaimBlocked(f"The batch for payer {payer} cannot be built: {exc}") from exc
        problems = pyx12_problems_837p(text) if validate else []
        if problems:
            raise ClaimBlocked(f"The batch for payer {payer} fails validation: {problems[0]}")
        assert actor.organization_id is not None
        folder = _folder(actor.organization_id, "outbox") if out_dir is None else out_dir
        path = folder / batch_file_name(payer, batch.control_number)
        try:
            with transaction.atomic():  # the claims become submitted only if the file is written
                billing.mark_submitted(actor=actor, claim_ids=claim_ids, file_name=path.name)
                X12Batch.objects.create(
                    organization_id=actor.organization_id,
                    control_number=batch.control_number,
                    set_control_number=f"{batch.control_number % 10000:04d}",
                    payer_identifier=payer[:80],
                    file_name=path.name,
                    claim_numbers=[c.claim_number for c in batch.claims],
                    actor_name=actor.username or "system",
                )
                _write_atomically(path, text)
        except IntegrityError as exc:  # another export numbered its batch at the same moment
            raise ClaimBlocked("Another export is writing batches right now; try again.") from exc
        written.append(WrittenBatch(payer_id=payer, path=path, claim_ids=tuple(claim_ids), text=text))
    return written


class X12ClaimSubmitter:
    """billing.exchange.ClaimSubmitter: 837P batches through the file-drop outbox."""

    def submit(self, *, actor: Actor, payer_id: str = "") -> list[SubmittedBatch]:
        return [
            SubmittedBatch(payer_id=w.payer_id, file_name=w.path.name, claim_ids=w.claim_ids, text=w.text)
            for w in submit_ready_claims(actor=actor, payer_id=payer_id)
        ]
