"""Interop's own records: the X12 files imported (`caredesk x12_import`, the upload endpoint).

One row per organization and file content (SHA-256): the unique constraint makes importing the same file
twice a no-op, even when two imports race. The summary is what the import changed, in plain words.
"""

from __future__ import annotations

from django.db import models

from caredesk.core.models import OrganizationScopedModel


class X12FileKind(models.TextChoices):
    ELIGIBILITY_271 = "271", "271 eligibility response"
    REMITTANCE_835 = "835", "835 remittance advice"
    ACKNOWLEDGMENT_999 = "999", "999 implementation acknowledgment"
    CLAIM_ACK_277CA = "277CA", "277CA claim acknowledgment"


class X12Import(OrganizationScopedModel):
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes (UTF-8)")
    kind = models.CharField(max_length=5, choices=X12FileKind.choices)
    file_name = models.CharField(max_length=300, blank=True)
    summary = models.JSONField(default=list, blank=True, help_text="What the import changed, line by line")
    actor_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sha256"], name="x12_import_unique_file"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name or self.sha256[:12]}"


class X12Batch(OrganizationScopedModel):
    """One 837P batch we wrote: its GS06 control number (unique per organization, the next after the
    organization's last), ST02, file name and the claim numbers in it, so a 999 naming the batch finds its
    claims."""

    control_number = models.PositiveIntegerField(help_text="ISA13/GS06; ST02 is its last four digits")
    set_control_number = models.CharField(max_length=9, help_text="ST02")
    payer_identifier = models.CharField(max_length=80)
    file_name = models.CharField(max_length=300)
    claim_numbers = models.JSONField(default=list)
    actor_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["-control_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "control_number"], name="x12_batch_control_unique_in_org"
            ),
        ]

    def __str__(self) -> str:
        return self.file_name


class X12ControlSequence(models.Model):
    """Per-organization counter of 837P batch control numbers (ISA13/GS06), advanced under a row lock in the
    transaction that records the batch: two exports at the same moment wait for each other and never draw
    the same number, and a rolled-back export gives its number back."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"X12 control counter of organization {self.organization_id}: {self.last_value}"
