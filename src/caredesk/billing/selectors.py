"""Billing reads, restricted to the actor's organization and the patients it may see; each is audited."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.ids import positive_id

from .choices import ClaimStatus
from .errors import ClaimNotFound
from .models import Claim, ClaimEvent, ProcedureCode, Remittance, RemittanceClaim
from .services import claim_queryset


def list_claims(*, actor: Actor, status: str = "", limit: int = 200) -> list[Claim]:
    with transaction.atomic():
        rows = claim_queryset(actor).select_related("patient", "coverage__plan__payer").order_by("-id")
        if status in ClaimStatus.values:
            rows = rows.filter(status=status)
        claims = list(rows[:limit])
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_SEARCH,
            detail={
                "status": status,
                "claim_ids": [c.pk for c in claims],
                "result_ids": sorted({c.patient_id for c in claims}),
            },
        )
    return claims


def get_claim(*, actor: Actor, claim_id: Any) -> Claim:
    with transaction.atomic():
        claim = (
            claim_queryset(actor)
            .select_related("patient", "coverage__plan__payer", "rendering_provider")
            .prefetch_related("diagnoses", "lines__procedure", "events")
            .filter(pk=positive_id(claim_id))
            .first()
        )
        if claim is None:
            raise ClaimNotFound(f"No claim with id {claim_id}.", details={"id": str(claim_id)})
        audit.record(actor=actor, action=AuditAction.CLAIM_VIEW, patient_id=claim.patient_id, obj=claim)
    return claim


def procedure_codes(*, actor: Actor) -> list[ProcedureCode]:
    claim_queryset(actor)  # checks the permission and the organization
    return list(ProcedureCode.objects.filter(organization_id=actor.organization_id or 0, active=True))


@dataclass(frozen=True)
class ClaimNeedingWork:
    """A claim the payer turned down (rejected at the front door or denied after review), with the step that
    put it there: the worklist makes one follow-up task per such step."""

    claim_id: int
    claim_number: str
    patient_id: int
    status: str
    event_id: int
    reason: str
    payer_name: str


def claims_needing_follow_up(*, actor: Actor) -> list[ClaimNeedingWork]:
    """Every rejected or denied claim of the organization with the event (and its note: the payer's reason)
    that moved it there. Audited as a claim search naming the patients."""
    with transaction.atomic():
        claims = list(
            claim_queryset(actor)
            .filter(status__in=(ClaimStatus.REJECTED, ClaimStatus.DENIED))
            .select_related("coverage__plan__payer")
            .order_by("pk")
        )
        latest: dict[int, ClaimEvent] = {}
        for event in ClaimEvent.objects.filter(
            claim_id__in=[c.pk for c in claims], to_status__in=(ClaimStatus.REJECTED, ClaimStatus.DENIED)
        ).order_by("claim_id", "created_at", "pk"):
            latest[event.claim_id] = event
        found = [
            ClaimNeedingWork(
                claim_id=claim.pk,
                claim_number=claim.claim_number,
                patient_id=claim.patient_id,
                status=claim.status,
                event_id=latest[claim.pk].pk if claim.pk in latest else 0,
                reason=latest[claim.pk].note if claim.pk in latest else "",
                payer_name=claim.coverage.plan.payer.name if claim.coverage else "self-pay",
            )
            for claim in claims
        ]
        if found:
            audit.record(
                actor=actor,
                action=AuditAction.CLAIM_SEARCH,
                detail={
                    "status": "rejected|denied",
                    "claim_ids": [c.claim_id for c in found],
                    "result_ids": sorted({c.patient_id for c in found}),
                },
            )
    return found


@dataclass(frozen=True)
class RemittanceRow:
    """One imported 835 for the remittance list, with its matched and unmatched claim payments."""

    remittance: Remittance
    matched: list[RemittanceClaim]
    unmatched: list[RemittanceClaim]
    claims_paid: Decimal


def list_remittances(*, actor: Actor, limit: int = 100) -> list[RemittanceRow]:
    """The organization's imported remittances, newest first. Audited, naming the patients of the
    matched claims shown (unmatched rows carry the payer's patient name only)."""
    claim_queryset(actor)  # checks the permission and the organization
    with transaction.atomic():
        remittances = list(
            Remittance.objects.filter(organization_id=actor.organization_id or 0)
            .prefetch_related("claims__claim")
            .order_by("-created_at", "-id")[:limit]
        )
        rows = []
        for remittance in remittances:
            lines = list(remittance.claims.all())
            rows.append(
                RemittanceRow(
                    remittance=remittance,
                    matched=[line for line in lines if line.claim_id is not None],
                    unmatched=[line for line in lines if line.claim_id is None],
                    claims_paid=sum((line.paid for line in lines), Decimal("0.00")),
                )
            )
        audit.record(
            actor=actor,
            action=AuditAction.REMITTANCE_VIEW,
            detail={
                "remittance_ids": [r.remittance.pk for r in rows],
                "result_ids": sorted(
                    {line.claim.patient_id for r in rows for line in r.matched if line.claim}
                ),
            },
        )
    return rows
