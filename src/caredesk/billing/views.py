"""Billing pages: the claim list (filter by status, scrubber findings) and one claim with its lines and
timeline, where a biller moves it along its lifecycle. Each view calls one selector or service."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.coverage import selectors as coverage_selectors
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

from . import charges_form, rules, selectors, services
from .choices import ClaimStatus
from .exchange import get_submitter


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def claim_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    claims = selectors.list_claims(actor=request.actor, status=status)  # type: ignore[attr-defined]
    return render(
        request,
        "billing/claims.html",
        {
            "claims": claims,
            "status": status,
            "statuses": ClaimStatus.choices,
            "can_manage": request.actor.has(Permission.BILLING_MANAGE),  # type: ignore[attr-defined]
        },
    )


def _claim_page(request: HttpRequest, claim_id: int, error: str = "", status: int = 200) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        claim = selectors.get_claim(actor=actor, claim_id=claim_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    steps = [(s, ClaimStatus(s).label) for s in sorted(rules.TRANSITIONS[claim.status]) if s != "submitted"]
    context = {
        "claim": claim,
        "steps": steps,
        "error": error,
        "can_manage": actor.has(Permission.BILLING_MANAGE),
        "total": sum((line.charge for line in claim.lines.all()), Decimal("0.00")),
    }
    return render(request, "billing/claim.html", context, status=status)


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def claim_detail(request: HttpRequest, claim_id: int) -> HttpResponse:
    return _claim_page(request, claim_id)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["POST"])
def claim_status(request: HttpRequest, claim_id: int) -> HttpResponse:
    try:
        services.change_status(
            actor=request.actor,  # type: ignore[attr-defined]
            claim_id=claim_id,
            target=request.POST.get("target", ""),
            note=request.POST.get("note", "")[:500],
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _claim_page(request, claim_id, error=exc.message, status=exc.http_status)
    return redirect("billing:claim", claim_id=claim_id)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["POST"])
def build_batch(request: HttpRequest) -> HttpResponse:
    """Every ready claim (or those of one payer) leaves as one 837P file per payer; the page shows them."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    payer_id = request.POST.get("payer_id", "").strip()[:80]
    try:
        batches = get_submitter().submit(actor=actor, payer_id=payer_id)
    except DomainError as exc:
        return render(request, "billing/batch.html", {"error": exc.message}, status=exc.http_status)
    return render(request, "billing/batch.html", {"batches": batches})


def _charges_page(
    request: HttpRequest, patient_id: int, *, error: str = "", field: str = "", status: int = 200
) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="charges")
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "patient": patient,
        "coverages": coverage_selectors.patient_coverages(
            actor=actor, patient_id=patient.pk, active_only=True
        ),
        "practitioners": list(practitioner_selectors.practitioner_queryset(actor).order_by("family_name")),
        "codes": selectors.procedure_codes(actor=actor),
        "values": request.POST if request.method == "POST" else {},
        "error": error,
        "field": field,
        "today": timezone.localdate().isoformat(),
    }
    return render(request, "billing/charges.html", context, status=status)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def enter_charges(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Charges for a visit: diagnoses and lines (more lines arrive through htmx); saved as a draft claim."""
    if request.method != "POST":
        return _charges_page(request, patient_id)
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        claim = services.enter_charges(actor=actor, data=charges_form.read_charges(request.POST, patient_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _charges_page(
            request, patient_id, error=exc.message, field=exc.field or "", status=exc.http_status
        )
    return redirect("billing:claim", claim_id=claim.pk)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["GET", "HEAD"])
def charge_line(request: HttpRequest) -> HttpResponse:
    """One more empty line of the charge form (htmx)."""
    number = request.GET.get("n", "")
    n = int(number) if number.isdigit() and 0 < int(number) <= charges_form.MAX_LINES else 1
    return render(
        request,
        "billing/partials/charge_line.html",
        {"n": n, "next": n + 1, "values": {}, "today": timezone.localdate().isoformat()},
    )


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def remittance_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.list_remittances(actor=request.actor)  # type: ignore[attr-defined]
    return render(request, "billing/remittances.html", {"rows": rows})
