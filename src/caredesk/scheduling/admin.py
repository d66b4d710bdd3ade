"""Scheduling in the admin: listed and viewable for the back office, read-only.

Resources, visit types and templates change through the scheduling services (which check overlaps and
write the audit rows); the admin must not become a way around them. Appointments are not here at all: they
are patient data, read on the audited appointment pages.
"""

from __future__ import annotations

from django.contrib import admin

from caredesk.accounts.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin

from .models import AvailabilityException, AvailabilityTemplate, Resource, VisitType


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("name", "kind", "category", "location", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "category")
    ordering = ("kind", "name")


@admin.register(VisitType)
class VisitTypeAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "name",
        "code",
        "duration_minutes",
        "modality",
        "eligibility",
        "portal_bookable",
        "active",
    )
    list_filter = ("modality", "eligibility", "portal_bookable", "active")
    search_fields = ("name", "code")
    ordering = ("name",)


@admin.register(AvailabilityTemplate)
class AvailabilityTemplateAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("name", "resource", "location", "effective_from", "effective_until")
    ordering = ("resource__name", "effective_from")


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("kind", "resource", "location", "starts_at", "ends_at", "reason")
    list_filter = ("kind",)
    ordering = ("-starts_at",)
