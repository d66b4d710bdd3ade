"""Billing pages: the claim list (filter by status, scrubber findings) and one claim with its lines and
timeline, where a biller moves it along its lifecycle. Each view calls one selector or service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import render_page_or_partial
from caredesk.core.web import request_actor
from caredesk.coverage import selectors as coverage_selectors
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

from . import charges_form, patient_accounts, payments, pdf, rules, selectors, services
from .choices import ClaimStatus, PaymentMethod, PaymentPurpose
from .exchange import get_submitter
from .models import PatientPayment


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
    actor = request_actor(request)
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
        "diagnoses_editable": claim.status in (ClaimStatus.DRAFT, ClaimStatus.READY),
        "ledger": services.claim_balance(actor=actor, claim_id=claim.pk),
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
            actor=request_actor(request),
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
def claim_diagnoses(request: HttpRequest, claim_id: int) -> HttpResponse:
    """Replace a draft or ready claim's diagnoses (ICD-10-CM codes, comma-separated, in order)."""
    try:
        services.set_claim_diagnoses(
            actor=request_actor(request),
            claim_id=claim_id,
            codes=charges_form.diagnosis_codes(request.POST.get("diagnoses", "")[:200]),
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
    actor = request_actor(request)
    payer_id = request.POST.get("payer_id", "").strip()[:80]
    try:
        batches = get_submitter().submit(actor=actor, payer_id=payer_id)
    except DomainError as exc:
        return render(request, "billing/batch.html", {"error": exc.message}, status=exc.http_status)
    return render(request, "billing/batch.html", {"batches": batches})


def _charges_page(
    request: HttpRequest, patient_id: int, *, error: str = "", field: str = "", status: int = 200
) -> HttpResponse:
    actor = request_actor(request)
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
    actor = request_actor(request)
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


# --- patient money: payments and receipts, the patient's account, statements --------------------------------


def payment_form_values(given: Any) -> dict[str, str]:
    """What the payment form shows: what was typed (after a refusal) or the defaults given."""
    return {
        "amount": str(given.get("amount", "")),
        "method": str(given.get("method", PaymentMethod.CASH)),
        "reference": str(given.get("reference", "")),
        "purpose": str(given.get("purpose", PaymentPurpose.COPAY)),
    }


def _payment_card(
    request: HttpRequest,
    patient_id: int,
    *,
    payment: PatientPayment | None = None,
    error: str = "",
    field: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "patient_id": patient_id,
        "payment": payment,
        "error": error,
        "field": field,
        "form_values": payment_form_values(request.POST),
        "methods": PaymentMethod.choices,
        "purposes": PaymentPurpose.choices,
        "appointment_id": request.POST.get("appointment_id", ""),
    }
    return render_page_or_partial(
        request, "billing/payment.html", "billing/partials/payment_card.html", context, status=status
    )


@require_permission(Permission.PAYMENT_RECORD)
@require_http_methods(["POST"])
def record_payment(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Take a patient's payment (a co-pay at check-in, or against a statement); the answer is the payment
    card again with the receipt link, or the reason it was refused (nothing is recorded then)."""
    actor = request_actor(request)
    amount = rules.parse_amount(request.POST.get("amount", "")[:30])  # None: the service says why
    appointment = request.POST.get("appointment_id", "")
    try:
        payment = payments.record_payment(
            actor=actor,
            patient_id=patient_id,
            amount=amount,
            method=request.POST.get("method", "")[:10],
            reference=request.POST.get("reference", "")[:80],
            purpose=request.POST.get("purpose", PaymentPurpose.COPAY)[:12],
            appointment_id=int(appointment) if appointment.isdigit() else None,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise PermissionDenied(exc.message) from exc
        return _payment_card(
            request, patient_id, error=exc.message, field=exc.field or "", status=exc.http_status
        )
    return _payment_card(request, patient_id, payment=payment)


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@require_permission(Permission.PAYMENT_RECORD)
@require_http_methods(["GET", "HEAD"])
def receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    try:
        payment = patient_accounts.payment_for(actor=request.actor, payment_id=payment_id)  # type: ignore[attr-defined]
    except NotFound as exc:
        raise Http404(exc.message) from exc
    content = pdf.render_receipt(
        payment=payment, patient_name=payment.patient.full_name, organization=payment.organization.name
    )
    return _pdf(content, f"receipt-{payment.receipt_number}.pdf")


def _account_page(
    request: HttpRequest, patient_id: int, *, error: str = "", status: int = 200
) -> HttpResponse:
    actor = request_actor(request)
    try:
        patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="billing account")
        account = patient_accounts.account_for(actor=actor, patient_id=patient.pk)
        statements = patient_accounts.statements_for(actor=actor, patient_id=patient.pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "patient": patient,
        "account": account,
        "lines": list(reversed(account.lines)),
        "statements": statements,
        "error": error,
        "can_manage": actor.has(Permission.BILLING_MANAGE),
        "can_take_payment": actor.has(Permission.PAYMENT_RECORD),
        "methods": PaymentMethod.choices,
        "purposes": PaymentPurpose.choices,
        "form_values": payment_form_values({"purpose": PaymentPurpose.STATEMENT}),
        "patient_id": patient.pk,
        "appointment_id": "",
    }
    return render(request, "billing/account.html", context, status=status)


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_account(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's account: balance and aging, ledger lines, payments and statements sent."""
    return _account_page(request, patient_id)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["POST"])
def create_statement(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        payments.generate_statement(actor=request.actor, patient_id=patient_id)  # type: ignore[attr-defined]
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _account_page(request, patient_id, error=exc.message, status=exc.http_status)
    return redirect("billing:account", patient_id=patient_id)


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def statement_pdf(request: HttpRequest, statement_id: int) -> HttpResponse:
    try:
        statement = patient_accounts.statement_for(actor=request.actor, statement_id=statement_id)  # type: ignore[attr-defined]
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _pdf(bytes(statement.pdf), f"statement-{statement.pk}-{statement.statement_date}.pdf")


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def account_panel(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's billing panel (htmx): balance, aging and the latest payments, linking to the account."""
    try:
        account = patient_accounts.account_for(actor=request.actor, patient_id=patient_id)  # type: ignore[attr-defined]
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "billing/partials/account_panel.html",
        {"account": account, "patient_id": patient_id, "recent": account.payments[:5]},
    )
