"""Patient pages: search, registration (with the duplicate check), the chart with its htmx sections,
corrections and history, demographics editing, merging, and the patient portal.

Each view parses with a form, calls one service or selector, and renders. A service's refusal is shown
on the form with its status (400 or 409); a record outside the actor's scope answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import ServiceErrorForm, refusal_status, request_actor

from . import selectors, services
from .choices import EntryStatus, PatientStatus
from .errors import DuplicateSuspected, StaleVersion
from .forms import (
    CORRECTION_FORMS,
    ENTRY_FORMS,
    DuplicateProbeForm,
    EditPatientForm,
    MergeForm,
    PatientSearchForm,
    ReasonForm,
    RegisterPatientForm,
    correction_initial,
)
from .models import ClinicalEntry, Document, Patient

# ---------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------


def _show_error(form: ServiceErrorForm, exc: DomainError) -> int:
    return refusal_status(form, exc, any_not_found_is_404=True)


def _patient_or_404(actor: Actor, patient_id: int, action: str) -> Patient:
    try:
        return selectors.get_patient(actor=actor, patient_id=patient_id, action=action)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _history_or_404(actor: Actor, entry_type: str, entry_id: int) -> list[ClinicalEntry]:
    try:
        return selectors.entry_history(actor=actor, entry_type=entry_type, entry_id=entry_id)
    except (NotFound, DomainError) as exc:  # an unknown entry type is as absent as an unknown id
        raise Http404(exc.message) from exc


def _chart_url(patient_id: int, anchor: str = "") -> str:
    url = reverse("patients:chart", args=[patient_id])
    return f"{url}#{anchor}" if anchor else url


def _entry_auto_id(entry_type: str, entry_id: int | None = None) -> str:
    """Unique element ids for each form on the chart (several forms share field names)."""
    return f"id_{entry_type}{entry_id or ''}_%s"


# ---------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.PATIENT_SEARCH)
@require_http_methods(["GET", "HEAD"])
def search(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = PatientSearchForm(request.GET)
    context: dict[str, Any] = {"form": form, "result": None}
    if not form.is_valid():
        return render_page_or_partial(
            request, "patients/search.html", "patients/partials/search_results.html", context, status=400
        )
    result = selectors.search_patients(
        actor=actor,
        query=form.to_query(),
        page=form.cleaned_data.get("page") or 1,
        page_size=settings.CAREDESK_PAGE_SIZE,
    )
    params = request.GET.copy()
    params.pop("page", None)
    context.update(result=result, base_query=params.urlencode())
    return render_page_or_partial(
        request, "patients/search.html", "patients/partials/search_results.html", context
    )


# ---------------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.PATIENT_CREATE)
@require_http_methods(["GET", "HEAD", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = RegisterPatientForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "candidates": None}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                patient = services.register_patient(
                    actor=actor,
                    data=form.to_input(),
                    confirm_not_duplicate=bool(form.cleaned_data.get("confirm_not_duplicate")),
                )
            except DuplicateSuspected as exc:
                context["candidates"] = exc.candidates
                status = exc.http_status
            except DomainError as exc:
                status = _show_error(form, exc)
            else:
                messages.success(request, f"Registered {patient.full_name} with MRN {patient.mrn}.")
                return redirect("patients:chart", patient_id=patient.pk)
    return render(request, "patients/register.html", context, status=status)


@require_permission(Permission.PATIENT_CREATE)
@require_http_methods(["POST"])
def duplicate_check(request: HttpRequest) -> HttpResponse:
    """The registration form, half filled in, asks whether the person may already be registered."""
    form = DuplicateProbeForm(request.POST)
    candidates: list[Patient] = []
    if form.is_valid() and form.has_enough():
        try:
            candidates = services.find_likely_duplicates(actor=request_actor(request), data=form.to_input())
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
    return render(request, "patients/partials/duplicates.html", {"candidates": candidates, "live": True})


# ---------------------------------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.PATIENT_VIEW)
@require_http_methods(["GET", "HEAD"])
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        patient_chart = selectors.get_chart(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    add_forms = {
        entry_type: form_class(auto_id=_entry_auto_id(entry_type))
        for entry_type, form_class in ENTRY_FORMS.items()
    }
    can = {
        "edit": actor.has(Permission.PATIENT_EDIT),
        "merge": actor.has(Permission.PATIENT_MERGE),
        "clinical_edit": actor.has(Permission.CLINICAL_EDIT),
        "note_write": actor.has(Permission.NOTE_WRITE),
        "document_upload": actor.has(Permission.DOCUMENT_UPLOAD),
        "documents": actor.has(Permission.CLINICAL_VIEW) or actor.has(Permission.DOCUMENT_UPLOAD),
    }
    return render(
        request,
        "patients/chart.html",
        {
            "chart": patient_chart,
            "patient": patient_chart.patient,
            "patient_id": patient_chart.patient.pk,
            "add_forms": add_forms,
            "sections": SECTIONS,
            "can": can,
            "writable": patient_chart.patient.status != PatientStatus.MERGED,
        },
    )


@dataclass(frozen=True)
class _Section:
    entry_type: str
    label: str
    anchor: str
    add: Callable[..., ClinicalEntry]

    @property
    def add_title(self) -> str:
        article = "an" if self.label[:1] in "aeiou" else "a"
        return f"Add {article} {self.label}"


SECTIONS: dict[str, _Section] = {
    "problem": _Section("problem", "problem", "problems", services.add_problem),
    "allergy": _Section("allergy", "allergy", "allergies", services.add_allergy),
    "medication": _Section("medication", "medication", "medications", services.add_medication),
    "observation": _Section("observation", "measurement", "observations", services.add_observation),
    "note": _Section("note", "note", "notes", services.add_note),
    "document": _Section("document", "document", "documents", services.upload_document),
}


def _add_entry(request: HttpRequest, patient_id: int, entry_type: str) -> HttpResponse:
    """Add one entry to a chart section. For htmx the answer is the section's form (fresh after a
    success, with the new entry put at the top of the list out of band; with its errors otherwise)."""
    actor = request_actor(request)
    section = SECTIONS[entry_type]
    form_class = ENTRY_FORMS[entry_type]
    auto_id = _entry_auto_id(entry_type)
    context: dict[str, Any] = {"entry_type": entry_type, "section": section, "patient_id": patient_id}
    if request.method != "POST":
        context["patient"] = _patient_or_404(actor, patient_id, action=f"add-{entry_type}")
        context["form"] = form_class(auto_id=auto_id)
        return render_page_or_partial(
            request, "patients/entry_add.html", "patients/partials/add_form.html", context
        )
    form = form_class(request.POST, request.FILES, auto_id=auto_id)
    context["form"] = form
    status = 400
    if form.is_valid():
        try:
            entry = section.add(actor=actor, patient_id=patient_id, **form.to_kwargs())
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            if not is_htmx(request):
                messages.success(request, f"Added the {section.label}.")
                return redirect(_chart_url(patient_id, section.anchor))
            context.update(form=form_class(auto_id=auto_id), added=entry)
            return render(request, "patients/partials/add_form.html", context)
    return render_page_or_partial(
        request, "patients/entry_add.html", "patients/partials/add_form.html", context, status=status
    )


@require_permission(Permission.CLINICAL_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def add_problem(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _add_entry(request, patient_id, "problem")


@require_permission(Permission.CLINICAL_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def add_allergy(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _add_entry(request, patient_id, "allergy")


@require_permission(Permission.CLINICAL_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def add_medication(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _add_entry(request, patient_id, "medication")


@require_permission(Permission.CLINICAL_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def add_observation(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _add_entry(request, patient_id, "observation")


@require_permission(Permission.NOTE_WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def add_note(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _add_entry(request, patient_id, "note")


@require_permission(Permission.DOCUMENT_UPLOAD)
@require_http_methods(["GET", "HEAD", "POST"])
def add_document(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _add_entry(request, patient_id, "document")


# ---------------------------------------------------------------------------------------------------
# Corrections, retractions and history
# ---------------------------------------------------------------------------------------------------


def _replace_entry(response: HttpResponse, entry_type: str, entry_id: int) -> HttpResponse:
    """Have htmx put this response in place of the entry the action started from."""
    response["HX-Retarget"] = f"#{entry_type}-{entry_id}"
    response["HX-Reswap"] = "outerHTML"
    return response


def _correct(request: HttpRequest, entry_type: str, entry_id: int) -> HttpResponse:
    actor = request_actor(request)
    section = SECTIONS[entry_type]
    form_class = CORRECTION_FORMS[entry_type]
    auto_id = _entry_auto_id(entry_type, entry_id)
    context: dict[str, Any] = {
        "entry_type": entry_type,
        "entry_id": entry_id,
        "section": section,
        "action": "correct",
    }
    status = 200
    if request.method != "POST":
        versions = _history_or_404(actor, entry_type, entry_id)
        entry = next(version for version in versions if version.pk == entry_id)
        context.update(entry=entry, patient_id=entry.patient_id)
        if entry.status == EntryStatus.CURRENT:
            context["form"] = form_class(initial=correction_initial(entry_type, entry), auto_id=auto_id)
        else:
            status = 409
    else:
        form = form_class(request.POST, auto_id=auto_id)
        context["form"] = form
        status = 400
        if form.is_valid():
            try:
                new = services.correct_entry(
                    actor=actor,
                    entry_type=entry_type,
                    entry_id=entry_id,
                    changes=form.to_changes(),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                status = _show_error(form, exc)
            else:
                if not is_htmx(request):
                    messages.success(request, f"Corrected the {section.label}; the original is kept.")
                    return redirect(_chart_url(new.patient_id, section.anchor))
                response = render(
                    request,
                    "patients/partials/entry.html",
                    {"entry": new, "entry_type": entry_type, "show_actions": True, "changed": "corrected"},
                )
                return _replace_entry(response, entry_type, entry_id)
    return render_page_or_partial(
        request, "patients/entry_action.html", "patients/partials/correct_form.html", context, status=status
    )


@require_permission(Permission.CLINICAL_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def correct_entry(request: HttpRequest, entry_type: str, entry_id: int) -> HttpResponse:
    return _correct(request, entry_type, entry_id)


@require_permission(Permission.NOTE_WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def correct_note(request: HttpRequest, entry_id: int) -> HttpResponse:
    return _correct(request, "note", entry_id)


def _retract(request: HttpRequest, entry_type: str, entry_id: int) -> HttpResponse:
    actor = request_actor(request)
    section = SECTIONS[entry_type]
    auto_id = _entry_auto_id(f"{entry_type}_retract", entry_id)
    context: dict[str, Any] = {
        "entry_type": entry_type,
        "entry_id": entry_id,
        "section": section,
        "action": "retract",
    }
    status = 200
    if request.method != "POST":
        versions = _history_or_404(actor, entry_type, entry_id)
        entry = next(version for version in versions if version.pk == entry_id)
        context.update(entry=entry, patient_id=entry.patient_id)
        if entry.status == EntryStatus.CURRENT:
            context["form"] = ReasonForm(auto_id=auto_id)
        else:
            status = 409
    else:
        form = ReasonForm(request.POST, auto_id=auto_id)
        context["form"] = form
        status = 400
        if form.is_valid():
            try:
                entry = services.retract_entry(
                    actor=actor, entry_type=entry_type, entry_id=entry_id, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                status = _show_error(form, exc)
            else:
                if not is_htmx(request):
                    messages.success(request, f"Marked the {section.label} as entered in error.")
                    return redirect(_chart_url(entry.patient_id, section.anchor))
                response = render(
                    request,
                    "patients/partials/retracted.html",
                    {"entry": entry, "entry_type": entry_type, "section": section},
                )
                return _replace_entry(response, entry_type, entry_id)
    return render_page_or_partial(
        request, "patients/entry_action.html", "patients/partials/retract_form.html", context, status=status
    )


@require_permission(Permission.CLINICAL_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def retract_entry(request: HttpRequest, entry_type: str, entry_id: int) -> HttpResponse:
    return _retract(request, entry_type, entry_id)


@require_permission(Permission.NOTE_WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def retract_note(request: HttpRequest, entry_id: int) -> HttpResponse:
    return _retract(request, "note", entry_id)


@require_permission(Permission.DOCUMENT_UPLOAD)
@require_http_methods(["GET", "HEAD", "POST"])
def retract_document(request: HttpRequest, entry_id: int) -> HttpResponse:
    return _retract(request, "document", entry_id)


@require_permission(Permission.CLINICAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def entry_history(request: HttpRequest, entry_type: str, entry_id: int) -> HttpResponse:
    """Every version of an entry, the original first, with who recorded or changed it and why."""
    versions = _history_or_404(request_actor(request), entry_type, entry_id)
    context = {
        "versions": versions,
        "entry_type": entry_type,
        "entry_id": entry_id,
        "section": SECTIONS[entry_type],
        "patient_id": versions[0].patient_id,
    }
    return render_page_or_partial(request, "patients/history.html", "patients/partials/history.html", context)


# ---------------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------------


def _document_response(actor: Actor, document_id: int) -> FileResponse:
    try:
        document: Document = selectors.open_document(actor=actor, document_id=document_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file of this document is missing from storage.") from exc
    return FileResponse(
        handle, as_attachment=True, filename=document.original_filename, content_type=document.content_type
    )


@require_permission(Permission.DOCUMENT_UPLOAD)
@require_http_methods(["GET", "HEAD"])
def download_document(request: HttpRequest, document_id: int) -> HttpResponseBase:
    """Staff download. Documents are opened by the roles that file them (DOCUMENT_UPLOAD: clinical staff
    and the front desk, who scan papers in); the selector applies its own rule again (CLINICAL_VIEW or
    DOCUMENT_UPLOAD) and answers 404 outside the actor's scope."""
    return _document_response(request_actor(request), document_id)


# ---------------------------------------------------------------------------------------------------
# Demographics and merging
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.PATIENT_EDIT)
@require_http_methods(["GET", "HEAD", "POST"])
def edit_patient(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    context: dict[str, Any] = {"patient_id": patient_id, "stale": False}
    if request.method != "POST":
        patient = _patient_or_404(actor, patient_id, action="edit")
        context.update(patient=patient, form=EditPatientForm(initial=EditPatientForm.initial_for(patient)))
        return render(request, "patients/edit.html", context)
    form = EditPatientForm(request.POST)
    context["form"] = form
    status = 400
    if form.is_valid():
        changes = form.to_changes()
        try:
            patient = services.update_patient(
                actor=actor,
                patient_id=patient_id,
                changes=changes,
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as exc:
            status = _show_error(form, exc)
            context["stale"] = isinstance(exc, StaleVersion)
        else:
            if changes:
                messages.success(request, f"Saved the demographics of {patient.full_name}.")
            else:
                messages.info(request, "Nothing was changed.")
            return redirect("patients:chart", patient_id=patient.pk)
    return render(request, "patients/edit.html", context, status=status)


@require_permission(Permission.PATIENT_MERGE)
@require_http_methods(["GET", "HEAD", "POST"])
def merge_patient(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Merge the patient on screen (the duplicate) into the record to keep."""
    actor = request_actor(request)
    context: dict[str, Any] = {"patient_id": patient_id}
    if request.method != "POST":
        context["patient"] = _patient_or_404(actor, patient_id, action="merge")
        context["form"] = MergeForm(actor=actor, initial={"target": request.GET.get("into", "")[:20]})
        return render(request, "patients/merge.html", context)
    form = MergeForm(request.POST, actor=actor)
    context["form"] = form
    status = 400
    if form.is_valid():
        try:
            target = services.merge_patients(
                actor=actor,
                source_id=patient_id,
                target_id=form.cleaned_data["target"].pk,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            status = _show_error(form, exc)
        else:
            messages.success(request, f"Merged the duplicate record into {target.full_name} ({target.mrn}).")
            return redirect("patients:chart", patient_id=target.pk)
    return render(request, "patients/merge.html", context, status=status)


# ---------------------------------------------------------------------------------------------------
# Portal
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def portal_home(request: HttpRequest) -> HttpResponse:
    try:
        summary = selectors.portal_summary(actor=request_actor(request))
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except NotFound as exc:
        raise Http404(exc.message) from exc
    portal_sections = [
        ("problem", "problems", "Health problems", summary.problems),
        ("allergy", "allergies", "Allergies", summary.allergies),
        ("medication", "medications", "Medications", summary.medications),
        ("observation", "observations", "Measurements", summary.observations),
        ("document", "documents", "Documents", summary.documents),
    ]
    return render(
        request,
        "patients/portal.html",
        {"chart": summary, "patient": summary.patient, "portal_sections": portal_sections},
    )


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def portal_document(request: HttpRequest, document_id: int) -> HttpResponseBase:
    """A document of the signed-in patient's own record (the selector refuses any other)."""
    return _document_response(request_actor(request), document_id)
