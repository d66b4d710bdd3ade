"""Patients in the admin: a read-only list searchable by MRN, for the back office.

Patient data is edited on the patient pages (their services validate, version and audit). Reading it here
is still reading patient data, so the list writes a PATIENT_SEARCH audit row (criteria and ids shown) and
opening a record writes a PATIENT_VIEW row.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from caredesk.accounts.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin
from caredesk.accounts.services import actor_for_request
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction

from .models import Patient


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("mrn", "family_name", "given_name", "birth_date", "sex", "status")
    list_filter = ("status",)
    search_fields = ("=mrn",)
    search_help_text = "Exact MRN"
    ordering = ("family_key", "given_key")
    show_full_result_count = False
    fields = (
        "mrn",
        "given_name",
        "middle_name",
        "family_name",
        "suffix",
        "birth_date",
        "sex",
        "status",
        "merged_into",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (
            (response.context_data or {}).get("cl") if isinstance(response, TemplateResponse) else None
        )
        if changelist is not None:
            audit.record(
                actor=actor_for_request(request),
                action=AuditAction.PATIENT_SEARCH,
                detail={
                    "via": "admin",
                    "q": changelist.query,
                    "ids": [patient.pk for patient in changelist.result_list],
                },
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = (
            (response.context_data or {}).get("original") if isinstance(response, TemplateResponse) else None
        )
        if isinstance(original, Patient):
            audit.record(
                actor=actor_for_request(request),
                action=AuditAction.PATIENT_VIEW,
                patient_id=original.pk,
                obj=original,
                detail={"via": "admin"},
            )
        return response
