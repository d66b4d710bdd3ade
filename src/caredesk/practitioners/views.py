"""Practitioner directory pages: list/search (htmx live search), detail, create and edit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.htmx import render_page_or_partial
from caredesk.core.web import request_actor

from . import selectors, services
from .forms import PractitionerForm, PractitionerSearchForm
from .models import Practitioner


def _get_or_404(actor: Actor, practitioner_id: int) -> Practitioner:
    try:
        return selectors.get_practitioner(actor=actor, practitioner_id=practitioner_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_permission(Permission.PRACTITIONER_VIEW)
@require_http_methods(["GET", "HEAD"])
def practitioner_list(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = PractitionerSearchForm(request.GET, actor=actor)
    context: dict[str, Any] = {"form": form, "can_edit": actor.has(Permission.PRACTITIONER_EDIT)}
    if not form.is_valid():
        context["result"] = None
        return render_page_or_partial(
            request, "practitioners/list.html", "practitioners/partials/results.html", context, status=400
        )
    page_number = form.cleaned_data.get("page") or 1
    result = selectors.search_practitioners(
        actor=actor, query=form.to_query(), page=page_number, page_size=settings.CAREDESK_PAGE_SIZE
    )
    params = request.GET.copy()
    params.pop("page", None)
    context.update(result=result, base_query=params.urlencode())
    return render_page_or_partial(
        request, "practitioners/list.html", "practitioners/partials/results.html", context
    )


@require_permission(Permission.PRACTITIONER_VIEW)
@require_http_methods(["GET", "HEAD"])
def practitioner_detail(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    actor = request_actor(request)
    practitioner = _get_or_404(actor, practitioner_id)
    return render(
        request,
        "practitioners/detail.html",
        {"practitioner": practitioner, "can_edit": actor.has(Permission.PRACTITIONER_EDIT)},
    )


@require_permission(Permission.PRACTITIONER_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def practitioner_create(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = PractitionerForm(request.POST or None, actor=actor)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                practitioner = services.create_practitioner(actor=actor, data=form.to_input())
            except DomainError as exc:
                form.add_service_error(exc.field, exc.message)
                status = exc.http_status
            else:
                messages.success(request, f"Added {practitioner}.")
                return redirect("practitioners:detail", practitioner_id=practitioner.pk)
    return render(request, "practitioners/form.html", {"form": form, "practitioner": None}, status=status)


@require_permission(Permission.PRACTITIONER_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def practitioner_edit(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    actor = request_actor(request)
    practitioner = _get_or_404(actor, practitioner_id)
    initial = {
        "given_name": practitioner.given_name,
        "family_name": practitioner.family_name,
        "credentials": practitioner.credentials,
        "npi": practitioner.npi,
        "specialty": practitioner.specialty,
        "phone": practitioner.phone,
        "email": practitioner.email,
        "locations": list(practitioner.locations.all()),
        "user": practitioner.user_id,
        "active": practitioner.active,
    }
    form = PractitionerForm(request.POST or None, actor=actor, editing=True, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                practitioner = services.update_practitioner(
                    actor=actor, practitioner_id=practitioner.pk, changes=form.to_changes()
                )
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                form.add_service_error(exc.field, exc.message)
                status = exc.http_status
            else:
                messages.success(request, f"Saved {practitioner}.")
                return redirect("practitioners:detail", practitioner_id=practitioner.pk)
    return render(
        request, "practitioners/form.html", {"form": form, "practitioner": practitioner}, status=status
    )
