"""Base model pieces. Core imports no domain app."""

from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrganizationScopedModel(TimeStampedModel):
    """Every record belongs to one organization; selectors filter on it for every query."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
