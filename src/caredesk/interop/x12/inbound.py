"""Importing inbound X12 files of any kind we read: 271 eligibility responses, 835 remittances, 999
acknowledgments and 277CA claim acknowledgments (`caredesk x12_import`, the upload endpoint).

The kind is detected from ST01 and GS08. A file is read and validated completely before anything is
stored; the whole import is one transaction, so a file that fails anywhere changes nothing. A file whose
content (SHA-256) the organization imported before changes nothing either: the `X12Import` row, unique per
organization and hash, answers with what the first import did.

Each kind goes through its owning app's services: 271s through `coverage.services`, 835s through
`billing.services.post_remittance` (then each unmatched claim payment becomes one billing worklist task,
keyed by the remittance line, so a re-import never makes a second), 999s and 277CAs through
`billing.services.record_acknowledgement` (then the worklist's claim rule puts each rejected claim on the
billing queue).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from caredesk.billing import services as billing
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.coverage import services as coverage
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskType
from caredesk.worklist.claim_rules import apply_claim_rules
from caredesk.worklist.tasks import claim_rules_actor

from ..models import X12Batch, X12FileKind, X12Import
from .acks import VERSION_277CA, parse_277ca, parse_999
from .segments import X12Error, read
from .x835 import parse_835


@dataclass(frozen=True)
class ImportResult:
    kind: str
    file_name: str
    duplicate: bool
    lines: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return f"{X12FileKind(self.kind).label}: " + " ".join(self.lines)


def detect_kind(text: str) -> str:
    """271, 835, 999 or 277CA, from the first ST01 (and GS08 for a 277, which must be the 277CA
    005010X214); anything else raises `X12Error` naming the segment and line."""
    _delimiters, segments = read(text)
    gs = next((s for s in segments if s.tag == "GS"), None)
    st = next((s for s in segments if s.tag == "ST"), None)
    if gs is None or st is None:
        missing = "GS" if gs is None else "ST"
        raise X12Error(f"The {missing} segment is missing.", segment=missing, line=len(segments))
    kind = st.get(1)
    if kind == "277":
        if gs.get(8) != VERSION_277CA:
            raise X12Error(
                f"A 277 of version {gs.get(8) or 'not given'} is not a claim acknowledgment "
                f"(277CA, {VERSION_277CA}); only 277CAs are imported.",
                segment="GS",
                line=gs.line,
            )
        return X12FileKind.CLAIM_ACK_277CA
    if kind not in ("271", "835", "999"):
        raise X12Error(
            f"Transaction {kind or '(empty)'} is not one we import (271, 835, 999, 277CA).",
            segment="ST",
            line=st.line,
        )
    return kind


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None or actor.is_portal:
        raise Forbidden("Only staff of an organization can import X12 files.")
    return actor.organization_id


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _import_271(actor: Actor, text: str) -> list[str]:
    checks = coverage.record_eligibility_response(actor=actor, response_text=text)
    if not checks:
        return ["No eligibility check changed (each was answered before)."]
    return [f"Eligibility check {c.trace_number}: {c.get_status_display().lower()}." for c in checks]


def unmatched_payment_tasks(actor: Actor, posted: billing.PostedRemittance) -> int:
    """One billing worklist task per unmatched claim payment, keyed by the remittance line."""
    remittance = posted.remittance
    tasks_actor = claim_rules_actor(remittance.organization_id, channel=actor.channel)
    created = 0
    for line in remittance.claims.filter(claim__isnull=True).order_by("pk"):
        task = worklist.NewTask(
            title=f"Unmatched payment for claim {line.claim_number} from {remittance.payer_name}"[:200],
            queue=TaskQueue.BILLING,
            task_type=TaskType.REMITTANCE_UNMATCHED,
            description=(
                f"Remittance {remittance.trace_number} ({remittance.file_name or 'no file name'}) pays "
                f"{line.paid} on claim number {line.claim_number} (patient {line.patient_name or 'not named'}"
                f", payer claim {line.payer_claim_number or 'not given'}), but no claim of ours has that "
                "number. Find the claim and post the payment by hand, or return it to the payer."
            ),
            priority=TaskPriority.NORMAL,
            source_type="billing.remittanceclaim",
            source_id=str(line.pk),
            dedupe_key=f"remittance:{remittance.pk}:line:{line.pk}",
        )
        if worklist.create_task(actor=tasks_actor, data=task).created:
            created += 1
    return created


def _import_835(actor: Actor, text: str, file_name: str) -> list[str]:
    posted = billing.post_remittance(actor=actor, remittance=parse_835(text), file_name=file_name)
    lines = [posted.message]
    created = unmatched_payment_tasks(actor, posted)
    if posted.unmatched:
        lines.append(f"Unmatched claim numbers: {', '.join(posted.unmatched)}.")
    if created:
        lines.append(f"{_plural(created, 'worklist task')} created for unmatched payments.")
    return lines


def _follow_up(actor: Actor, organization_id: int) -> list[str]:
    created = apply_claim_rules(actor=claim_rules_actor(organization_id, channel=actor.channel))
    return [f"{_plural(created, 'follow-up task')} created for rejected claims."] if created else []


def _acknowledged(results: list[billing.AcknowledgedClaim]) -> str:
    return "; ".join(f"claim {r.claim_number} {r.text}" for r in results)


def _import_999(actor: Actor, text: str, organization_id: int, file_name: str) -> list[str]:
    lines: list[str] = []
    source = f"999 {file_name}".strip()
    for group in parse_999(text):
        if group.functional_code != "HC":
            lines.append(
                f"Group {group.group_control_number} ({group.functional_code}) is not a claim batch; skipped."
            )
            continue
        batch = X12Batch.objects.filter(
            organization_id=organization_id,
            control_number=int(group.group_control_number) if group.group_control_number.isdigit() else 0,
        ).first()
        if batch is None:
            lines.append(f"Batch {group.group_control_number} is not one we sent; nothing changed.")
            continue
        for ack in group.sets:
            if ack.control_number.lstrip("0") != batch.set_control_number.lstrip("0"):
                lines.append(
                    f"Batch {group.group_control_number} set {ack.control_number} is not one we sent "
                    f"(the batch's set is {batch.set_control_number}); nothing changed."
                )
                continue
            outcome = "rejected" if ack.rejected else "received"
            reason = f"batch {group.group_control_number} {ack.status_text}"
            if ack.errors:
                reason += ": " + "; ".join(ack.errors)
            reason = reason[0].upper() + reason[1:] + "."
            results = billing.record_acknowledgement(
                actor=actor,
                outcome=outcome,
                reason=reason,
                source=source,
                claim_numbers=batch.claim_numbers,
                submitted_file=batch.file_name,
            )
            lines.append(
                f"Batch {batch.file_name} {ack.status_text}: "
                f"{_acknowledged(results) or 'no claim of it is still submitted in it; nothing changed'}."
            )
    return lines + _follow_up(actor, organization_id)


def _import_277ca(actor: Actor, text: str, organization_id: int, file_name: str) -> list[str]:
    lines: list[str] = []
    source = f"277CA {file_name}".strip()
    for ack in parse_277ca(text):
        outcome = "rejected" if ack.rejected else "accepted" if ack.accepted else "received"
        reason = f"{outcome.capitalize()} by the payer: {ack.reason}."
        results = billing.record_acknowledgement(
            actor=actor, outcome=outcome, reason=reason, source=source, claim_numbers=[ack.claim_number]
        )
        if results:
            lines.append(f"{_acknowledged(results)} ({ack.reason}).")
        else:
            lines.append(f"Claim {ack.claim_number}: not one of ours; nothing changed ({ack.reason}).")
    return lines + _follow_up(actor, organization_id)


def import_x12(*, actor: Actor, text: str, file_name: str = "") -> ImportResult:
    """Import one file; see the module's description. Raises `X12Error` (naming the segment and line) or
    a `DomainError` when the file cannot be used, and then nothing changed."""
    organization_id = _organization_id(actor)
    kind = detect_kind(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    name = file_name[:300]
    with transaction.atomic():
        existing = X12Import.objects.filter(organization_id=organization_id, sha256=digest).first()
        if existing is not None:
            return _duplicate(existing, name)
        if kind == X12FileKind.ELIGIBILITY_271:
            lines = _import_271(actor, text)
        elif kind == X12FileKind.REMITTANCE_835:
            lines = _import_835(actor, text, name)
        elif kind == X12FileKind.ACKNOWLEDGMENT_999:
            lines = _import_999(actor, text, organization_id, name)
        else:
            lines = _import_277ca(actor, text, organization_id, name)
        try:
            with transaction.atomic():
                X12Import.objects.create(
                    organization_id=organization_id,
                    sha256=digest,
                    kind=kind,
                    file_name=name,
                    summary=lines,
                    actor_name=actor.username or "system",
                )
        except IntegrityError:  # the same file imported at the same moment: the first one wins
            raced = True
            transaction.set_rollback(True)
        else:
            raced = False
    if raced:
        return _duplicate(X12Import.objects.get(organization_id=organization_id, sha256=digest), name)
    return ImportResult(kind=kind, file_name=name, duplicate=False, lines=lines)


def _duplicate(existing: X12Import, file_name: str) -> ImportResult:
    first = existing.file_name or "a file"
    return ImportResult(
        kind=existing.kind,
        file_name=file_name,
        duplicate=True,
        lines=[f"Already imported on {existing.created_at:%Y-%m-%d %H:%M} as {first}; nothing changed."],
    )
