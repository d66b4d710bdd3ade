"""Practitioners in the admin: listed and viewable for the back office, read-only.

Adding and editing go through the practitioner pages, whose services check the NPI and write the audit
row; the admin must not become a way around them.
"""

from __future__ import annotations

from django.contrib import admin

from caredesk.accounts.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin

from .models import Practitioner


@admin.register(Practitioner)
class PractitionerAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("family_name", "given_name", "credentials", "npi", "specialty", "active")
    list_filter = ("specialty", "active")
    search_fields = ("=npi", "family_key", "family_name", "given_name")
    ordering = ("family_key", "given_key")
    fields = (
        "given_name",
        "family_name",
        "credentials",
        "npi",
        "specialty",
        "phone",
        "email",
        "locations",
        "user",
        "active",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
