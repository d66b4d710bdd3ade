"""Coverage pages: a patient's coverages with their latest eligibility result, adding, editing and
ending a coverage, checking eligibility (one coverage, or a batch with its progress), an eligibility
result in full, and the payer list.

Each view parses with a form, calls one service or selector, and renders. A service's refusal is shown
on the form with its status (400 or 409); a record outside the actor's scope answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import ServiceErrorForm, refusal_status, request_actor

from . import selectors, services
from .choices import AuthorizationStatus, EligibilityStatus
from .errors import StaleVersion
from .forms import (
    ApprovalForm,
    AuthorizationRequestForm,
    AuthorizationRuleForm,
    BatchForm,
    CheckEligibilityForm,
    CoverageBaseForm,
    CoverageForm,
    EndCoverageForm,
    PayerForm,
    PlanForm,
    ReasonForm,
    UseForm,
)
from .models import Coverage


def _show_error(form: ServiceErrorForm, exc: DomainError) -> int:
    return refusal_status(form, exc, any_not_found_is_404=True)


def _coverage_or_404(actor: Actor, coverage_id: int) -> Coverage:
    try:
        return selectors.get_coverage(actor=actor, coverage_id=coverage_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _can(actor: Actor) -> dict[str, bool]:
    return {
        "manage": actor.has(Permission.COVERAGE_MANAGE),
        "check": actor.has(Permission.ELIGIBILITY_CHECK),
        "payers": actor.has(Permission.PAYER_MANAGE),
    }


@require_permission(Permission.COVERAGE_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_coverage(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        overview = selectors.coverage_overview(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    waiting = any(
        row.latest_check is not None and row.latest_check.status not in EligibilityStatus.finished()
        for row in overview.active
    )
    context = {"overview": overview, "patient": overview.patient, "can": _can(actor), "waiting": waiting}
    if not is_htmx(request):  # the polled partial shows coverages only
        context["authorizations"] = selectors.patient_authorizations(actor=actor, patient_id=patient_id)
    return render_page_or_partial(
        request, "coverage/patient.html", "coverage/partials/coverages.html", context
    )


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def add_coverage(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        overview = selectors.coverage_overview(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {"patient": overview.patient, "coverage": None}
    if request.method != "POST":
        context["form"] = CoverageForm(
            actor=actor, initial={"order": len(overview.active) + 1 if len(overview.active) < 3 else 1}
        )
        return render(request, "coverage/coverage_form.html", context)
    form = CoverageForm(request.POST, actor=actor)
    context["form"] = form
    status = 400
    if form.is_valid():
        try:
            coverage = services.add_coverage(actor=actor, patient_id=patient_id, data=form.to_input())
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            messages.success(request, f"Added the {coverage.get_order_display().lower()} coverage.")
            return redirect("coverage:patient", patient_id=patient_id)
    return render(request, "coverage/coverage_form.html", context, status=status)


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def edit_coverage(request: HttpRequest, coverage_id: int) -> HttpResponse:
    actor = request_actor(request)
    coverage = _coverage_or_404(actor, coverage_id)
    context: dict[str, Any] = {"coverage": coverage, "patient": coverage.patient, "stale": False}
    if request.method != "POST":
        context["form"] = CoverageForm(actor=actor, initial=CoverageForm.initial_for(coverage))
        return render(request, "coverage/coverage_form.html", context)
    form = CoverageForm(request.POST, actor=actor)
    context["form"] = form
    status = 400
    if form.is_valid():
        try:
            services.update_coverage(
                actor=actor,
                coverage_id=coverage_id,
                data=form.to_input(),
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as exc:
            status = _show_error(form, exc)
            context["stale"] = isinstance(exc, StaleVersion)
        else:
            messages.success(request, "Saved the coverage.")
            return redirect("coverage:patient", patient_id=coverage.patient_id)
    return render(request, "coverage/coverage_form.html", context, status=status)


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def end_coverage(request: HttpRequest, coverage_id: int) -> HttpResponse:
    actor = request_actor(request)
    coverage = _coverage_or_404(actor, coverage_id)
    context: dict[str, Any] = {"coverage": coverage, "patient": coverage.patient}
    if request.method != "POST":
        context["form"] = EndCoverageForm(initial={"version": coverage.version})
        return render(request, "coverage/end_coverage.html", context)
    form = EndCoverageForm(request.POST)
    context["form"] = form
    status = 400
    if form.is_valid():
        try:
            services.end_coverage(
                actor=actor,
                coverage_id=coverage_id,
                end_date=form.cleaned_data["end_date"],
                reason=form.cleaned_data.get("reason") or "",
                expected_version=form.cleaned_data.get("version"),
            )
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            messages.success(request, "The coverage has ended.")
            return redirect("coverage:patient", patient_id=coverage.patient_id)
    return render(request, "coverage/end_coverage.html", context, status=status)


@require_permission(Permission.ELIGIBILITY_CHECK)
@require_http_methods(["POST"])
def check_eligibility(request: HttpRequest, coverage_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = CheckEligibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the date as YYYY-MM-DD.")
        coverage = _coverage_or_404(actor, coverage_id)
        return redirect("coverage:patient", patient_id=coverage.patient_id)
    try:
        check = services.request_eligibility_check(
            actor=actor, coverage_id=coverage_id, service_date=form.cleaned_data.get("service_date")
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        coverage = _coverage_or_404(actor, coverage_id)
        messages.error(request, exc.message)
        return redirect("coverage:patient", patient_id=coverage.patient_id)
    messages.info(request, "Eligibility check sent. The answer shows here as soon as the payer replies.")
    return redirect("coverage:patient", patient_id=check.patient_id)


@require_permission(Permission.COVERAGE_VIEW)
@require_http_methods(["GET", "HEAD"])
def eligibility_check(request: HttpRequest, check_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        check = selectors.get_check(actor=actor, check_id=check_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {"check": check, "patient": check.patient, "summary": selectors.summary_of(check)}
    return render(request, "coverage/check.html", context)


@require_permission(Permission.ELIGIBILITY_CHECK)
@require_http_methods(["GET", "HEAD", "POST"])
def batches(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = BatchForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            listed = form.cleaned_data["scope"] == BatchForm.LISTED
            try:
                batch = services.request_eligibility_batch(
                    actor=actor,
                    mrns=form.mrn_list() if listed else None,
                    service_date=form.cleaned_data.get("service_date"),
                )
            except DomainError as exc:
                status = _show_error(form, exc)
            else:
                return redirect("coverage:batch", batch_id=batch.pk)
    context = {"form": form, "batches": selectors.recent_batches(actor=actor)}
    return render(request, "coverage/batches.html", context, status=status)


@require_permission(Permission.ELIGIBILITY_CHECK)
@require_http_methods(["GET", "HEAD"])
def batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        progress = selectors.batch_progress(actor=actor, batch_id=batch_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {"progress": progress, "statuses": EligibilityStatus}
    return render_page_or_partial(
        request, "coverage/batch.html", "coverage/partials/batch_progress.html", context
    )


@require_permission(Permission.ELIGIBILITY_CHECK)
@require_http_methods(["POST"])
def collect_responses(request: HttpRequest) -> HttpResponse:
    """Read the 271s waiting in the file-drop inbox now (the worker also does it on a schedule)."""
    answered, problems = services.collect_eligibility_responses(actor=request_actor(request))
    messages.info(request, f"Read {len(answered)} eligibility answer{'s' if len(answered) != 1 else ''}.")
    for problem in problems[:5]:
        messages.error(request, problem)
    return redirect("coverage:batches")


@require_permission(Permission.PAYER_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def payers(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    payer_form = PayerForm(request.POST if request.POST.get("form") == "payer" else None, prefix="payer")
    plan_form = PlanForm(
        request.POST if request.POST.get("form") == "plan" else None, actor=actor, prefix="plan"
    )
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("form") == "payer" and payer_form.is_valid():
                data = payer_form.cleaned_data
                payer = services.create_payer(
                    actor=actor, name=data["name"], payer_id=data["payer_id"], route=data["route"]
                )
                messages.success(request, f"Added the payer {payer.name}.")
                return redirect("coverage:payers")
            if request.POST.get("form") == "plan" and plan_form.is_valid():
                data = plan_form.cleaned_data
                plan = services.create_plan(
                    actor=actor,
                    payer_id=data["payer"],
                    name=data["name"],
                    plan_type=data.get("plan_type") or "",
                    copay=data.get("copay"),
                )
                messages.success(request, f"Added the plan {plan.name}.")
                return redirect("coverage:payers")
        except DomainError as exc:
            status = _show_error(plan_form if request.POST.get("form") == "plan" else payer_form, exc)
    context = {
        "payer_form": payer_form,
        "plan_form": plan_form,
        "payers": selectors.payer_queryset(actor).prefetch_related("plans"),
    }
    return render(request, "coverage/payers.html", context, status=status)


# --- prior authorizations ------------------------------------------------------------------------------


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def request_authorization(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        coverages = selectors.patient_coverages(actor=actor, patient_id=patient_id, active_only=True)
        patient = selectors.patient_of(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    initial = {"service_code": request.GET.get("service_code", "")[:40]}
    form = AuthorizationRequestForm(request.POST or None, coverages=coverages, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                auth = services.request_authorization(
                    actor=actor,
                    patient_id=patient_id,
                    coverage_id=data["coverage"],
                    service_code=data["service_code"],
                    description=data.get("description") or "",
                    units_requested=data.get("units_requested"),
                    notes=data.get("notes") or "",
                )
            except DomainError as exc:
                status = _show_error(form, exc)
            else:
                messages.success(request, f"Recorded the authorization request for {auth.service_code}.")
                return redirect("coverage:authorization", authorization_id=auth.pk)
    context = {"patient": patient, "form": form, "coverages": coverages}
    return render(request, "coverage/authorization_request.html", context, status=status)


def _authorization_page(
    request: HttpRequest, authorization_id: int, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    actor = request_actor(request)
    try:
        auth = selectors.get_authorization(actor=actor, authorization_id=authorization_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    shown = forms or {}
    context = {
        "auth": auth,
        "patient": auth.patient,
        "can": _can(actor),
        "open": auth.status in (AuthorizationStatus.REQUESTED, AuthorizationStatus.APPROVED),
        "approval_form": shown.get("approve")
        or ApprovalForm(
            initial={
                "auth_number": auth.auth_number,
                "units_authorized": auth.units_authorized or auth.units_requested,
                "valid_from": auth.valid_from,
                "valid_to": auth.valid_to,
            }
        ),
        "deny_form": shown.get("deny") or ReasonForm(prefix="deny"),
        "cancel_form": shown.get("cancel") or ReasonForm(prefix="cancel"),
        "use_form": shown.get("use") or UseForm(initial={"used_on": timezone.localdate(), "units": 1}),
    }
    return render(request, "coverage/authorization.html", context, status=status)


@require_permission(Permission.COVERAGE_VIEW)
@require_http_methods(["GET", "HEAD"])
def authorization(request: HttpRequest, authorization_id: int) -> HttpResponse:
    return _authorization_page(request, authorization_id)


def _authorization_step(request: HttpRequest, authorization_id: int, step: str) -> HttpResponse:
    """Approve, deny, cancel or use: the form of that step, its service, then back to the page (or the
    page again with the refusal on the form, 400 or 409)."""
    actor = request_actor(request)
    form: CoverageBaseForm
    if step == "approve":
        form = ApprovalForm(request.POST)
    elif step == "use":
        form = UseForm(request.POST)
    else:
        form = ReasonForm(request.POST, prefix=step)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            if step == "approve":
                services.record_authorization_approval(
                    actor=actor,
                    authorization_id=authorization_id,
                    auth_number=data["auth_number"],
                    units_authorized=data["units_authorized"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    notes=data.get("notes") or "",
                )
                done = "Recorded the approval."
            elif step == "deny":
                services.deny_authorization(
                    actor=actor, authorization_id=authorization_id, reason=data.get("reason") or ""
                )
                done = "Recorded the denial."
            elif step == "cancel":
                services.cancel_authorization(
                    actor=actor, authorization_id=authorization_id, reason=data.get("reason") or ""
                )
                done = "Cancelled the authorization."
            else:
                use = services.record_authorization_use(
                    actor=actor,
                    authorization_id=authorization_id,
                    used_on=data["used_on"],
                    units=data["units"],
                    reference=data.get("reference") or "",
                    override_reason=data.get("override_reason") or "",
                )
                done = f"Recorded {use.units} unit{'s' if use.units != 1 else ''} used."
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("coverage:authorization", authorization_id=authorization_id)
    return _authorization_page(request, authorization_id, {step: form}, status=status)


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["POST"])
def approve_authorization(request: HttpRequest, authorization_id: int) -> HttpResponse:
    return _authorization_step(request, authorization_id, "approve")


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["POST"])
def deny_authorization(request: HttpRequest, authorization_id: int) -> HttpResponse:
    return _authorization_step(request, authorization_id, "deny")


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["POST"])
def cancel_authorization(request: HttpRequest, authorization_id: int) -> HttpResponse:
    return _authorization_step(request, authorization_id, "cancel")


@require_permission(Permission.COVERAGE_MANAGE)
@require_http_methods(["POST"])
def use_authorization(request: HttpRequest, authorization_id: int) -> HttpResponse:
    return _authorization_step(request, authorization_id, "use")


@require_permission(Permission.PAYER_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def authorization_rules(request: HttpRequest) -> HttpResponse:
    """Which services each payer (or plan) requires prior authorization for: add one, or switch one off
    and on again."""
    actor = request_actor(request)
    adding = request.POST.get("form") == "rule"
    form = AuthorizationRuleForm(request.POST if adding else None, actor=actor)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if adding and form.is_valid():
                data = form.cleaned_data
                rule = services.add_authorization_rule(
                    actor=actor,
                    payer_id=data["payer"],
                    plan_id=data.get("plan"),
                    service_code=data["service_code"],
                    description=data.get("description") or "",
                )
                messages.success(request, f"{rule.service_code} now needs prior authorization.")
                return redirect("coverage:authorization_rules")
            if not adding:
                rule = services.set_authorization_rule_active(
                    actor=actor,
                    rule_id=request.POST.get("rule", ""),
                    active=request.POST.get("active") == "1",
                )
                state = "needs" if rule.active else "no longer needs"
                messages.success(request, f"{rule.service_code} {state} prior authorization.")
                return redirect("coverage:authorization_rules")
        except NotFound as exc:
            if adding:
                status = _show_error(form, exc)
            else:
                raise Http404(exc.message) from exc
        except DomainError as exc:
            status = _show_error(form, exc)
    context = {"form": form, "rules": selectors.authorization_rules(actor=actor)}
    return render(request, "coverage/authorization_rules.html", context, status=status)
