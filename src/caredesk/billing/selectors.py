"""Billing reads, restricted to the actor's organization and the patients it may see; each is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor

from .choices import ClaimStatus
from .errors import ClaimNotFound
from .models import Claim, ProcedureCode
from .services import claim_queryset


def _as_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**63 else 0


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
            .filter(pk=_as_id(claim_id))
            .first()
        )
        if claim is None:
            raise ClaimNotFound(f"No claim with id {claim_id}.", details={"id": str(claim_id)})
        audit.record(actor=actor, action=AuditAction.CLAIM_VIEW, patient_id=claim.patient_id, obj=claim)
    return claim


def procedure_codes(*, actor: Actor) -> list[ProcedureCode]:
    claim_queryset(actor)  # checks the permission and the organization
    return list(ProcedureCode.objects.filter(organization_id=actor.organization_id or 0, active=True))
