"""The audit trail in the admin: the administrator's organization's events, viewable only.

No one may add, change or delete an event here (nor anywhere: see models.py and migration 0002). Looking
at the trail is itself recorded (AUDIT_VIEW), as on the /audit/ page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from caredesk.core.context import Actor
from caredesk.core.middleware import client_ip

from .codes import AuditAction
from .models import AuditEvent
from .services import record


def _actor(request: HttpRequest) -> Actor:
    """Who is looking, for the audit row (this app sits below accounts, so it reads the user directly)."""
    user = request.user
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        role=getattr(user, "role", ""),
        organization_id=getattr(user, "organization_id", None),
        ip=client_ip(request),
        request_id=getattr(request, "request_id", "") or "",
        channel="web",
    )


class ActionFilter(admin.SimpleListFilter):
    """Filter by audit action, labelled from the code registry (the column stores bare codes)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(code.value), f"{code.value} {code.label}") for code in AuditAction]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(action=int(value))
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "actor_username",
        "actor_role",
        "action",
        "patient_id",
        "object_type",
        "object_id",
        "channel",
        "ip",
    )
    list_filter = (ActionFilter, "channel", "actor_role")
    search_fields = ("=actor_username", "=request_id", "=object_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    list_per_page = 50
    fields = (
        "occurred_at",
        "actor_username",
        "actor_role",
        "action",
        "patient_id",
        "object_type",
        "object_id",
        "channel",
        "ip",
        "request_id",
        "detail",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        organization_id = getattr(request.user, "organization_id", None)
        if organization_id is None:
            return AuditEvent.objects.none()
        return super().get_queryset(request).filter(organization_id=organization_id)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and "cl" in (response.context_data or {}):
            record(
                actor=_actor(request),
                action=AuditAction.AUDIT_VIEW,
                object_type="audit.auditevent",
                detail={"via": "admin", "query": request.GET.dict()},
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
        if isinstance(original, AuditEvent):
            record(
                actor=_actor(request),
                action=AuditAction.AUDIT_VIEW,
                obj=original,
                detail={"via": "admin"},
            )
        return response
