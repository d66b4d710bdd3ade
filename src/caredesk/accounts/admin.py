"""Back-office admin for organizations, locations, departments, users and API tokens.

Who may use the admin at all is the site's decision (config.admin.CaredeskAdminSite: an active
administrator with a verified second factor). Every ModelAdmin here defers to it instead of Django's
per-model permissions (our users do not carry is_staff or model permissions), and shows only the
administrator's own organization: another organization's rows are not listed and answer "not found".
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm, UsernameField
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction

from .models import ApiToken, Department, Location, Organization, User
from .permissions import Permission, Role
from .services import actor_for_request

# Caredesk grants access through roles (accounts.permissions), not Django groups.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


def request_organization_id(request: HttpRequest) -> int | None:
    """The signed-in administrator's organization (None for anyone without one: they see nothing)."""
    return getattr(request.user, "organization_id", None)


def _scope(queryset: QuerySet[Any], organization_id: int | None) -> QuerySet[Any]:
    """Rows of one organization, for any model that has an `organization` foreign key (or is one)."""
    if organization_id is None:
        return queryset.none()
    model = queryset.model
    if model is Organization:
        return queryset.filter(pk=organization_id)
    if any(f.name == "organization" for f in model._meta.get_fields()):
        return queryset.filter(organization_id=organization_id)
    return queryset


class SiteGuardedAdmin(admin.ModelAdmin):
    """Permissions come from the admin site's check (role administrator, verified second factor)."""

    def _allowed(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)


class ReadOnlyAdminMixin:
    """Listed and viewable, never added, changed or deleted here (changes go through the app's pages)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrganizationScopedAdmin(SiteGuardedAdmin):
    """Rows of the administrator's organization only. The `organization` field is shown fixed to it, and
    every choice of a related row (location, patient, user …) is limited to the same organization."""

    #: The lookup from this model to its organization's id.
    organization_lookup = "organization_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        organization_id = request_organization_id(request)
        queryset = super().get_queryset(request)
        if organization_id is None:
            return queryset.none()
        return queryset.filter(**{self.organization_lookup: organization_id})

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        organization_id = request_organization_id(request)
        remote = db_field.remote_field.model
        assert isinstance(remote, type)
        kwargs["queryset"] = _scope(remote._default_manager.all(), organization_id)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and remote is Organization:
            field.disabled = True
            field.initial = organization_id
            field.help_text = "Your organization."
        return field

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        remote = db_field.remote_field.model
        assert isinstance(remote, type)
        kwargs["queryset"] = _scope(remote._default_manager.all(), request_organization_id(request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        organization_id = request_organization_id(request)
        if organization_id is not None:
            initial["organization"] = str(organization_id)
        return initial

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and hasattr(obj, "organization_id"):
            obj.organization_id = request_organization_id(request)
        super().save_model(request, obj, form, change)


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_lookup = "pk"
    list_display = ("name", "short_code", "npi", "phone")
    fields = ("name", "short_code", "npi", "tax_id", "phone", "created_at", "updated_at")
    readonly_fields = ("short_code", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # organizations are created by the installation (seeding, command line)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_timezones())]


class LocationForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=_time_zone_choices, initial="America/New_York")

    class Meta:
        model = Location
        fields = (
            "organization",
            "name",
            "kind",
            "address_line",
            "city",
            "state",
            "postal_code",
            "phone",
            "timezone",
        )


@admin.register(Location)
class LocationAdmin(OrganizationScopedAdmin):
    form = LocationForm
    list_display = ("name", "kind", "city", "state", "timezone")
    list_filter = ("kind",)
    search_fields = ("name", "city")
    fields = (
        "organization",
        "name",
        "kind",
        "address_line",
        "city",
        "state",
        "postal_code",
        "phone",
        "timezone",
    )


@admin.register(Department)
class DepartmentAdmin(OrganizationScopedAdmin):
    list_display = ("name", "location")
    search_fields = ("name",)
    fields = ("organization", "location", "name")


class _PortalLinkCheck(forms.ModelForm):
    """A patient (portal) user is bound to exactly their patient record; staff are bound to none."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        role, patient = cleaned.get("role"), cleaned.get("patient")
        if role == Role.PATIENT and patient is None:
            self.add_error("patient", "A patient (portal) user must be linked to their patient record.")
        if role and role != Role.PATIENT and patient is not None:
            self.add_error("patient", "Only patient (portal) users are linked to a patient record.")
        return cleaned


class CaredeskUserChangeForm(_PortalLinkCheck, UserChangeForm):
    class Meta:
        model = User
        field_classes = {"username": UsernameField}
        fields = (
            "username",
            "password",
            "first_name",
            "last_name",
            "email",
            "organization",
            "role",
            "patient",
            "is_active",
        )


class CaredeskUserCreationForm(_PortalLinkCheck, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


@admin.register(User)
class CaredeskUserAdmin(OrganizationScopedAdmin, UserAdmin):
    """Users of the organization: role, active flag, portal patient link. Passwords through Django's own
    password form. Django's is_staff / is_superuser / groups are not used by Caredesk and not shown."""

    form = CaredeskUserChangeForm
    add_form = CaredeskUserCreationForm
    list_display = ("username", "first_name", "last_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    raw_id_fields = ("patient",)
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("organization", "role", "patient", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "organization",
                    "role",
                    "patient",
                    "first_name",
                    "last_name",
                    "email",
                ),
            },
        ),
    )

    def _allowed(self, request: HttpRequest) -> bool:
        return super()._allowed(request) and actor_for_request(request).has(Permission.USER_MANAGE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: audit rows and chart entries keep pointing at the user

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = User.objects.filter(pk=obj.pk).values_list("role", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        if before != obj.role:
            audit.record(
                actor=actor_for_request(request),
                action=AuditAction.USER_ROLE_CHANGED,
                obj=obj,
                detail={"username": obj.username, "from": before, "to": obj.role, "via": "admin"},
            )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Tokens are listed for review; the secret is never stored and its hash is not shown."""

    organization_lookup = "user__organization_id"
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
