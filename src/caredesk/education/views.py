"""Education pages: the materials library (and adding to it), a patient's materials (assigning, recording
deliveries), the printable handout, and the portal's own materials. Each view parses with a form, calls one
service or selector, and renders; a refusal is shown on the form with its status (400/409), a record
outside the actor's scope answers 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.web import refusal_status, request_actor

from . import selectors, services
from .forms import AssignForm, DeliverForm, LibraryFilterForm, MaterialForm
from .models import Assignment, Material

# --- the library ------------------------------------------------------------------------------------


def _library_page(
    request: HttpRequest, status: int = 200, material_form: MaterialForm | None = None
) -> HttpResponse:
    actor = request_actor(request)
    form = LibraryFilterForm(request.GET)
    materials: list[Material] = []
    if form.is_valid():
        data = form.cleaned_data
        materials = selectors.list_materials(
            actor=actor,
            query=selectors.LibraryQuery(
                text=data["q"],
                code=data["code"],
                language=data["language"],
                reading_level=data["reading_level"],
            ),
        )
    else:
        status = 400
    context: dict[str, Any] = {
        "form": form,
        "materials": materials,
        "can_manage": actor.has(Permission.EDUCATION_MANAGE),
        "material_form": material_form or MaterialForm(),
    }
    return render(request, "education/library.html", context, status=status)


@require_permission(Permission.EDUCATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def library(request: HttpRequest) -> HttpResponse:
    return _library_page(request)


@require_permission(Permission.EDUCATION_MANAGE)
@require_http_methods(["POST"])
def add_material(request: HttpRequest) -> HttpResponse:
    form = MaterialForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            material = services.add_material(
                actor=request_actor(request),
                title=data["title"],
                language=data["language"],
                reading_level=data["reading_level"],
                source=data["source"],
                condition_codes=data["condition_codes"],
                procedure_codes=data["procedure_codes"],
                body=data["body"],
                uploaded_file=data.get("file"),
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            messages.success(request, f"“{material.title}” is in the library.")
            return redirect("education:material", material_id=material.pk)
    return _library_page(request, status, form)


def _material(request: HttpRequest, material_id: int) -> Material:
    try:
        return selectors.get_material(actor=request_actor(request), material_id=material_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_permission(Permission.EDUCATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def material(request: HttpRequest, material_id: int) -> HttpResponse:
    found = _material(request, material_id)
    return render(request, "education/handout.html", {"material": found, "assignment": None})


def _file_response(material: Material) -> FileResponse:
    if not material.file:
        raise Http404("This material has no file.")
    try:
        handle = material.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file of this material is missing from storage.") from exc
    return FileResponse(
        handle,
        as_attachment=False,
        filename=material.original_filename or "handout.pdf",
        content_type="application/pdf",
    )


@require_permission(Permission.EDUCATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def material_file(request: HttpRequest, material_id: int) -> FileResponse:
    return _file_response(_material(request, material_id))


# --- a patient's materials ----------------------------------------------------------------------------


def _patient_page(
    request: HttpRequest,
    patient_id: int,
    status: int = 200,
    assign_form: AssignForm | None = None,
    failed_delivery: tuple[int, DeliverForm] | None = None,
) -> HttpResponse:
    actor = request_actor(request)
    try:
        found = selectors.patient_education(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    rows = [
        (
            assignment,
            failed_delivery[1]
            if failed_delivery and failed_delivery[0] == assignment.pk
            else DeliverForm(prefix=f"d{assignment.pk}"),
        )
        for assignment in found.assignments
    ]
    suggested = found.suggestions[0].pk if found.suggestions else None
    context = {
        "data": found,
        "patient": found.patient,
        "rows": rows,
        "can_assign": actor.has(Permission.EDUCATION_ASSIGN),
        "assign_form": assign_form or AssignForm(materials=found.library, initial={"material": suggested}),
    }
    return render(request, "education/patient.html", context, status=status)


@require_permission(Permission.EDUCATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_education(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _patient_page(request, patient_id)


@require_permission(Permission.EDUCATION_ASSIGN)
@require_http_methods(["POST"])
def assign(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    materials = selectors.list_materials(actor=actor)
    form = AssignForm(request.POST, materials=materials)
    status = 400
    if form.is_valid():
        try:
            assignment = services.assign_material(
                actor=actor,
                patient_id=patient_id,
                material_id=form.cleaned_data["material"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            messages.success(request, f"Assigned “{assignment.material.title}”.")
            return redirect("education:patient", patient_id=patient_id)
    return _patient_page(request, patient_id, status, assign_form=form)


@require_permission(Permission.EDUCATION_ASSIGN)
@require_http_methods(["POST"])
def deliver(request: HttpRequest, assignment_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        with_patient = selectors.assignment_patient_id(actor=actor, assignment_id=assignment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = DeliverForm(request.POST, prefix=f"d{assignment_id}")
    status = 400
    if form.is_valid():
        try:
            delivery = services.record_delivery(
                actor=actor,
                assignment_id=assignment_id,
                method=form.cleaned_data["method"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            messages.success(request, f"Recorded: {delivery.get_method_display().lower()}.")
            return redirect("education:patient", patient_id=with_patient)
    return _patient_page(request, with_patient, status, failed_delivery=(assignment_id, form))


def _handout(request: HttpRequest, assignment_id: int, what: str) -> Assignment:
    try:
        return selectors.open_handout(actor=request_actor(request), assignment_id=assignment_id, what=what)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_permission(Permission.EDUCATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def handout(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The printable handout, with the patient's name on it."""
    assignment = _handout(request, assignment_id, "print")
    context = {"material": assignment.material, "assignment": assignment, "patient": assignment.patient}
    return render(request, "education/handout.html", context)


# --- the portal ---------------------------------------------------------------------------------------


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def my_materials(request: HttpRequest) -> HttpResponse:
    try:
        assignments = selectors.portal_materials(actor=request_actor(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "education/portal.html", {"assignments": assignments})


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def my_handout(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _handout(request, assignment_id, "portal")
    context = {
        "material": assignment.material,
        "assignment": assignment,
        "patient": assignment.patient,
        "portal": True,
    }
    return render(request, "education/handout.html", context)


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def my_file(request: HttpRequest, assignment_id: int) -> FileResponse:
    return _file_response(_handout(request, assignment_id, "portal file").material)
