"""Payers and plans in the admin, read-only and of the administrator's organization (reference data, no
patient data; they are added on the payers page, whose services validate and audit). Coverages and
eligibility checks are patient data and live on the coverage pages only. The services each payer requires
prior authorization for are listed here too (changed on the "Services needing prior authorization" page,
whose service audits); prior authorizations themselves are patient data."""

from __future__ import annotations

from django.contrib import admin

from caredesk.accounts.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin

from .models import AuthorizationRule, Payer, Plan


@admin.register(Payer)
class PayerAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("name", "payer_id", "clearinghouse_route", "active")
    search_fields = ("name", "payer_id")
    list_filter = ("clearinghouse_route", "active")


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("name", "payer", "plan_type", "copay", "active")
    search_fields = ("name", "payer__name")


@admin.register(AuthorizationRule)
class AuthorizationRuleAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("service_code", "description", "payer", "plan", "active")
    search_fields = ("service_code", "description", "payer__name", "plan__name")
    list_filter = ("active", "payer")
