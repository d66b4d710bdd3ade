"""The receiver directory in the admin. Referrals are not: they are patient data, read and changed on the
audited referral pages (through the services, which keep their timeline)."""

from __future__ import annotations

from django.contrib import admin

from .models import ReferralReceiver


@admin.register(ReferralReceiver)
class ReferralReceiverAdmin(admin.ModelAdmin[ReferralReceiver]):
    list_display = ("name", "kind", "specialty", "organization", "active")
    list_filter = ("kind", "specialty", "active")
    search_fields = ("name", "npi")
