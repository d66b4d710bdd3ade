"""Submitting ready claims: one 837P file per payer, validated by pyx12 before it is written to the
file-drop outbox (`<CAREDESK_X12_DIR>/<organization>/outbox/<name>.837`); then its claims become submitted.

This entry point lives in interop because the billing app may not import interop: billing owns the claims,
their values (`billing.services.claim_data`) and the `mark_submitted` step; interop owns the X12.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from caredesk.billing import services as billing
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.errors import ClaimBlocked
from caredesk.billing.schemas import ClaimBatch, ClaimData, SubmittedBatch
from caredesk.core.context import Actor

from ..models import X12Batch, X12ControlSequence
from .claim_837p import ClaimNotBuildable, build_837p, pyx12_problems_837p
from .clearinghouse import organization_folder
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
    carries a provisional control number (the ones after the organization's last recorded batch; nothing is
    written): `submit_ready_claims` draws the real one from the counter when it records the batch."""
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


def _next_control_number(organization_id: int) -> int:
    """The organization's next batch control number, drawn inside the caller's transaction: the counter row
    stays locked until it commits (a concurrent export waits, then draws the next) and a rolled-back export
    gives its number back. The first use continues after the batches recorded before the counter; a number
    already taken (after wrapping past 999999999) is skipped."""
    X12ControlSequence.objects.get_or_create(organization_id=organization_id)
    counter = X12ControlSequence.objects.select_for_update().get(organization_id=organization_id)
    if not counter.last_value:
        found = X12Batch.objects.filter(organization_id=organization_id).aggregate(last=Max("control_number"))
        counter.last_value = found["last"] or 0
    taken = X12Batch.objects.filter(organization_id=organization_id)
    while True:
        counter.last_value = counter.last_value % 999_999_999 + 1
        if not taken.filter(control_number=counter.last_value).exists():
            counter.save(update_fields=["last_value"])
            return counter.last_value


def _still_ready(actor: Actor, claim_ids: list[int]) -> list[int]:
    """Of `claim_ids`, those still ready (another export may have submitted them meanwhile)."""
    ready = set(
        billing.claim_queryset(actor)
        .filter(pk__in=claim_ids, status=ClaimStatus.READY)
        .values_list("pk", flat=True)
    )
    return [pk for pk in claim_ids if pk in ready]


def _validated_text(payer: str, batch: ClaimBatch, *, validate: bool) -> str:
    try:
        text = build_837p(batch, Parties(sender_id=batch.submitter_id, receiver_id=RECEIVER_ID))
    except ClaimNotBuildable as exc:
        raise ClaimBlocked(f"The batch for payer {payer} cannot be built: {exc}") from exc
    problems = pyx12_problems_837p(text) if validate else []
    if problems:
        raise ClaimBlocked(f"The batch for payer {payer} fails validation: {problems[0]}")
    return text


def _temporary_file(folder: Path, name: str, text: str) -> Path:
    """The batch's text under a hidden temporary name beside where it goes (collectors skip dot-files)."""
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    with os.fdopen(handle, "w", encoding="ascii") as stream:
        stream.write(text)
    return Path(temporary)


def _submit_one(
    *, actor: Actor, payer: str, claim_ids: list[int], batch: ClaimBatch, folder: Path, validate: bool
) -> WrittenBatch | None:
    """One batch in one transaction: the control number drawn under the counter's lock, the claims marked
    submitted, the batch recorded and its file written to a temporary name, moved into place only once the
    transaction commits. Anything that fails rolls all of it back and removes the temporary file, so a
    failed export leaves no file. None when another export submitted every claim of the batch meanwhile."""
    organization_id = actor.organization_id
    assert organization_id is not None
    temporary: Path | None = None
    try:
        with transaction.atomic(durable=True):  # outermost, so its file appears as soon as it commits
            control = _next_control_number(organization_id)  # exports of the organization queue here
            remaining = _still_ready(actor, claim_ids)
            if not remaining:
                transaction.set_rollback(True)  # gives the number back
                return None
            changed = remaining != claim_ids
            if changed:  # part went out with a concurrent export: the rest, validated again
                numbers = set(
                    billing.claim_queryset(actor)
                    .filter(pk__in=remaining)
                    .values_list("claim_number", flat=True)
                )
                batch = dataclasses.replace(
                    batch, claims=tuple(c for c in batch.claims if c.claim_number in numbers)
                )
                claim_ids = remaining
            batch = dataclasses.replace(batch, control_number=control)
            text = _validated_text(payer, batch, validate=validate and changed)
            path = folder / batch_file_name(payer, control)
            billing.mark_submitted(actor=actor, claim_ids=claim_ids, file_name=path.name)
            X12Batch.objects.create(
                organization_id=organization_id,
                control_number=control,
                set_control_number=f"{control % 10000:04d}",
                payer_identifier=payer[:80],
                file_name=path.name,
                claim_numbers=[c.claim_number for c in batch.claims],
                actor_name=actor.username or "system",
            )
            temporary = _temporary_file(folder, path.name, text)
            transaction.on_commit(partial(os.replace, temporary, path))
    except IntegrityError as exc:  # a batch numbered outside the counter took the number meanwhile
        _remove(temporary)
        raise ClaimBlocked("Another export is writing batches right now; try again.") from exc
    except BaseException:
        _remove(temporary)
        raise
    return WrittenBatch(payer_id=payer, path=path, claim_ids=tuple(claim_ids), text=text)


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def submit_ready_claims(
    *, actor: Actor, payer_id: str = "", out_dir: Path | None = None, validate: bool = True
) -> list[WrittenBatch]:
    """Build, validate and write one 837P per payer (to the file-drop outbox, or `out_dir`); mark its
    claims submitted and record the batch (`X12Batch`: its control numbers and claim numbers, for the 999).
    A batch that cannot be built or fails validation is not written and its claims stay ready
    (ClaimBlocked says why). Each batch is its own transaction (`_submit_one`); its file appears when that
    transaction commits (when the caller's does, if called inside one). Exports running at the same time
    wait for each other's batches and never draw the same control number; claims another export submitted
    meanwhile are left out. `validate=False` skips pyx12 (bench/x12_claims.py times it apart)."""
    assert actor.organization_id is not None
    written: list[WrittenBatch] = []
    for payer, claim_ids, batch in build_batches(actor=actor, payer_id=payer_id):
        # Validated before the transaction (the control number does not change what pyx12 checks), so
        # concurrent exports do not wait on it.
        _validated_text(payer, batch, validate=validate)
        folder = organization_folder(actor.organization_id, "outbox") if out_dir is None else out_dir
        done = _submit_one(
            actor=actor, payer=payer, claim_ids=claim_ids, batch=batch, folder=folder, validate=validate
        )
        if done is not None:
            written.append(done)
    return written


class X12ClaimSubmitter:
    """billing.exchange.ClaimSubmitter: 837P batches through the file-drop outbox."""

    def submit(self, *, actor: Actor, payer_id: str = "") -> list[SubmittedBatch]:
        return [
            SubmittedBatch(payer_id=w.payer_id, file_name=w.path.name, claim_ids=w.claim_ids, text=w.text)
            for w in submit_ready_claims(actor=actor, payer_id=payer_id)
        ]
