"""The one append-only audit table. Reads are logged too.

The application cannot change or remove a row: the model and its queryset refuse update/delete, the
admin is read-only, and database triggers (see migration 0002) reject UPDATE and DELETE statements on
both SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models

from .codes import AuditAction


class AuditImmutable(Exception):
    """Raised on any attempt to change or remove an audit row."""


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("Audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AuditImmutable("Audit events cannot be deleted")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(db_index=True)
    # Who: the user (kept as plain values too, so the row outlives renames), the role, the organization.
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=30)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    # What and which patient.
    # A code of the AuditAction registry. Deliberately without `choices`: every app adds codes, and codes are
    # stable numbers, so a new code must not need a migration of this table.
    action = models.PositiveSmallIntegerField()
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # From where.
    channel = models.CharField(max_length=10)
    ip = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Details: search terms, changed fields (before/after), counts. Never the full record.
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="audit_org_time"),
            models.Index(fields=["patient", "occurred_at"], name="audit_patient_time"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action_enum.label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AuditImmutable("Audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("Audit events cannot be deleted")

    @property
    def action_enum(self) -> AuditAction:
        return AuditAction(self.action)

    @property
    def action_label(self) -> str:
        try:
            return AuditAction(self.action).label
        except ValueError:
            return f"Unknown action {self.action}"
