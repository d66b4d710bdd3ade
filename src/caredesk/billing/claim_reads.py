"""Claim and adjudication reads for other systems (the FHIR facade's Claim, ClaimResponse and
ExplanationOfBenefit): one claim, or claims by patient, status, creation date and payer; and the payer's
answers to them (the claim payments of posted 835s). Each read writes its audit row.

Staff with billing:claim:view see their organization's claims; a portal user (with portal:own:view) sees
their own claims and nothing else. Anything outside the actor's scope is "not found".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.core.ids import positive_id

from .errors import ClaimNotFound, RemittanceClaimNotFound
from .models import Claim, RemittanceClaim
from .services import claim_queryset

MAX_ROWS = 200


def visible_claims(actor: Actor) -> QuerySet[Claim]:
    """The claims the actor may read: a portal user's own, or (staff) claim_queryset's. Not audited."""
    if actor.is_portal:
        if actor.organization_id is None or not actor.has(Permission.PORTAL_OWN_RECORD):
            raise Forbidden("This needs the permission portal:own:view.")
        return Claim.objects.filter(organization_id=actor.organization_id, patient_id=actor.patient_id or 0)
    return claim_queryset(actor)


@dataclass(frozen=True)
class ClaimQuery:
    """Criteria of a claim (or claim payment) search; every one given must hold."""

    patient_id: int | None = None
    statuses: Sequence[str] | None = None  # claim statuses; None: any
    created_from: dt.datetime | None = None  # inclusive
    created_to: dt.datetime | None = None  # exclusive
    payer_id: str = ""  # the payer's ID (claims: the billed coverage's payer; payments: the remitter)
    criteria: dict[str, str] = field(default_factory=dict)  # as asked, for the audit row


def _claims_with_lines(rows: QuerySet[Claim]) -> QuerySet[Claim]:
    return rows.select_related(
        "organization",
        "coverage__plan__payer",
        "other_coverage__plan__payer",
        "rendering_provider",
    ).prefetch_related("diagnoses", "lines__procedure")


def get_claim(*, actor: Actor, claim_id: Any) -> Claim:
    with transaction.atomic():
        claim = _claims_with_lines(visible_claims(actor)).filter(pk=positive_id(claim_id)).first()
        if claim is None:
            raise ClaimNotFound(f"No claim with id {claim_id}.", details={"id": str(claim_id)})
        audit.record(actor=actor, action=AuditAction.CLAIM_VIEW, patient_id=claim.patient_id, obj=claim)
    return claim


def search_claims(*, actor: Actor, query: ClaimQuery, offset: int = 0, limit: int = 20) -> list[Claim]:
    """Newest first; `limit` + 1 rows are returned when there are more (so the caller knows of a next
    page). Audited as a claim search with its criteria and the claim and patient ids shown."""
    limit = max(1, min(limit, MAX_ROWS))
    with transaction.atomic():
        rows = visible_claims(actor)
        if query.patient_id is not None:
            rows = rows.filter(patient_id=query.patient_id)
        if query.statuses is not None:
            rows = rows.filter(status__in=list(query.statuses))
        if query.created_from is not None:
            rows = rows.filter(created_at__gte=query.created_from)
        if query.created_to is not None:
            rows = rows.filter(created_at__lt=query.created_to)
        if query.payer_id:
            rows = rows.filter(coverage__plan__payer__payer_id=query.payer_id)
        claims = list(_claims_with_lines(rows).order_by("-created_at", "-id")[offset : offset + limit + 1])
        audit.record(
            actor=actor,
            action=AuditAction.CLAIM_SEARCH,
            detail={
                **query.criteria,
                "claim_ids": [c.pk for c in claims[:limit]],
                "result_ids": sorted({c.patient_id for c in claims[:limit]}),
            },
        )
    return claims


def _payments(actor: Actor) -> QuerySet[RemittanceClaim]:
    return (
        RemittanceClaim.objects.filter(claim__in=visible_claims(actor))
        .select_related("remittance", "claim__organization", "claim__coverage__plan__payer")
        .prefetch_related("claim__lines__procedure", "claim__diagnoses")
    )


def get_claim_payment(*, actor: Actor, payment_id: Any) -> RemittanceClaim:
    """One claim payment of a posted 835 (matched to a claim the actor may see). Audited."""
    with transaction.atomic():
        payment = _payments(actor).filter(pk=positive_id(payment_id)).first()
        if payment is None or payment.claim is None:
            raise RemittanceClaimNotFound(
                f"No claim payment with id {payment_id}.", details={"id": str(payment_id)}
            )
        audit.record(
            actor=actor,
            action=AuditAction.REMITTANCE_VIEW,
            patient_id=payment.claim.patient_id,
            obj=payment.claim,
            detail={"remittance_claim_id": payment.pk, "remittance_id": payment.remittance_id},
        )
    return payment


def search_claim_payments(
    *, actor: Actor, query: ClaimQuery, offset: int = 0, limit: int = 20
) -> list[RemittanceClaim]:
    """Claim payments, newest posting first, by the claim's patient, posting time and the remitting
    payer's ID (`limit` + 1 rows when there are more). Audited with the payment and patient ids shown."""
    limit = max(1, min(limit, MAX_ROWS))
    with transaction.atomic():
        rows = _payments(actor)
        if query.patient_id is not None:
            rows = rows.filter(claim__patient_id=query.patient_id)
        if query.statuses is not None:
            rows = rows.filter(claim__status__in=list(query.statuses))
        if query.created_from is not None:
            rows = rows.filter(created_at__gte=query.created_from)
        if query.created_to is not None:
            rows = rows.filter(created_at__lt=query.created_to)
        if query.payer_id:
            rows = rows.filter(
                Q(remittance__payer_identifier=query.payer_id)
                | Q(claim__coverage__plan__payer__payer_id=query.payer_id)
            )
        payments = list(rows.order_by("-created_at", "-id")[offset : offset + limit + 1])
        shown = [p for p in payments[:limit] if p.claim is not None]
        audit.record(
            actor=actor,
            action=AuditAction.REMITTANCE_VIEW,
            detail={
                **query.criteria,
                "remittance_claim_ids": [p.pk for p in shown],
                "result_ids": sorted({p.claim.patient_id for p in shown if p.claim is not None}),
            },
        )
    return payments
