"""Encounters (from ADT feeds), their timeline, links from other systems' patient identifiers to ours,
the inbound HL7 message log, and TCM episodes.

Invariants the database keeps: one encounter per (organization, sender, visit number); one message per
(organization, sender, control id), so a repeated control id is never applied twice; one active TCM
episode per encounter; a discharged encounter has its discharge time, never before its admission.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from caredesk.core.models import OrganizationScopedModel, TimeStampedModel

from .choices import (
    AckCode,
    ChecklistItemCode,
    ChecklistStatus,
    EncounterClass,
    EncounterStatus,
    MessageStatus,
    PackageKind,
    TcmComplexity,
    TcmStatus,
)


class InboundMessage(OrganizationScopedModel):
    """Every HL7 v2 message received, whatever became of it, with the acknowledgement it got."""

    received_at = models.DateTimeField()
    sender = models.CharField(max_length=120, help_text="MSH-3|MSH-4")
    control_id = models.CharField(max_length=80, blank=True, help_text="MSH-10")
    message_type = models.CharField(max_length=20, blank=True, help_text="MSH-9, e.g. ADT^A03")
    raw = models.TextField(help_text="As received (segments separated by CR)")
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    ack_code = models.CharField(max_length=2, choices=AckCode.choices)
    error_code = models.CharField(max_length=5, blank=True, help_text="HL7 table 0357")
    error_text = models.CharField(max_length=500, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    encounter = models.ForeignKey(
        "Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    duplicate_count = models.PositiveIntegerField(default=0)
    last_duplicate_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sender", "control_id"],
                condition=~Q(control_id=""),
                name="hl7_message_control_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(status=MessageStatus.APPLIED, ack_code=AckCode.ACCEPT)
                | Q(status=MessageStatus.REJECTED, ack_code=AckCode.REJECT)
                | Q(status=MessageStatus.ERROR, ack_code=AckCode.ERROR),
                name="hl7_message_status_matches_ack",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "received_at"], name="hl7_message_org_time"),
            models.Index(fields=["organization", "status", "received_at"], name="hl7_message_org_status"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type or 'message'} {self.control_id or '(no control id)'} from {self.sender}"


class ExternalPatientLink(OrganizationScopedModel):
    """Another system's identifier for one of our patients (learnt by matching or by a person linking)."""

    authority = models.CharField(max_length=120, help_text="Assigning authority or sending facility")
    value = models.CharField(max_length=80)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "authority", "value"], name="external_patient_link_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.authority}|{self.value}"


class Encounter(OrganizationScopedModel):
    """A hospital or clinic visit as the sender reports it. `patient` is empty until it is matched."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=120, help_text="The sender (MSH-3|MSH-4)")
    visit_number = models.CharField(max_length=120, help_text="PV1-19, or the patient id and admit time")
    encounter_class = models.CharField(max_length=12, choices=EncounterClass.choices)
    status = models.CharField(max_length=12, choices=EncounterStatus.choices)
    unit = models.CharField(max_length=120, blank=True, help_text="PV1-3.1 point of care")
    location = models.CharField(max_length=250, blank=True)
    facility = models.CharField(max_length=120, blank=True)
    admit_at = models.DateTimeField(null=True, blank=True)
    discharge_at = models.DateTimeField(null=True, blank=True)
    discharge_disposition = models.CharField(max_length=20, blank=True, help_text="PV1-36 code")
    discharge_disposition_text = models.CharField(max_length=200, blank=True)
    external_patient_id = models.CharField(max_length=80, blank=True)
    external_id_authority = models.CharField(max_length=120, blank=True)
    demographics = models.JSONField(
        default=dict, blank=True, help_text="The patient as the sender named them"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "visit_number"], name="encounter_visit_unique"
            ),
            models.CheckConstraint(
                condition=Q(discharge_at__isnull=True)
                | Q(admit_at__isnull=True)
                | Q(discharge_at__gte=F("admit_at")),
                name="encounter_discharge_after_admit",
            ),
            models.CheckConstraint(
                condition=~Q(status=EncounterStatus.FINISHED) | Q(discharge_at__isnull=False),
                name="encounter_discharged_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "discharge_at"], name="encounter_org_status"),
            models.Index(fields=["patient", "admit_at"], name="encounter_patient"),
            models.Index(
                fields=["organization", "external_id_authority", "external_patient_id"],
                name="encounter_ext_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_encounter_class_display()} visit {self.visit_number} ({self.get_status_display()})"


class EncounterEvent(TimeStampedModel):
    """The encounter's timeline: each ADT event applied to it, and what people did (linking, TCM)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="events")
    message = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    event_type = models.CharField(max_length=20, help_text="A01 … A40, or link / tcm")
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=300)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["encounter", "occurred_at"], name="encounter_event_time")]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.summary}"


class TcmEpisode(OrganizationScopedModel):
    """Transitional Care Management after one discharge to a community setting: its deadlines (local
    dates) and the worklist tasks that carry them (dedupe keys `tcm:<episode id>:<element>`)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="tcm_episodes")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    discharge_date = models.DateField()
    complexity = models.CharField(max_length=10, choices=TcmComplexity.choices)
    contact_due = models.DateField(help_text="Interactive contact: 2 business days after discharge")
    visit_due = models.DateField(help_text="Face-to-face visit: 7 (high) or 14 (moderate) days")
    period_end = models.DateField(help_text="The 30-day service period's last day")
    status = models.CharField(max_length=10, choices=TcmStatus.choices, default=TcmStatus.ACTIVE)
    cancelled_reason = models.CharField(max_length=300, blank=True)
    # How the contact and the visit were completed, when they were recorded (not closed by hand): the
    # logged contact (its day) and the fulfilled appointment (its day). The report counts these days.
    contact_communication = models.ForeignKey(
        "messaging.Communication", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contact_on = models.DateField(null=True, blank=True)
    visit_appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["encounter"],
                condition=Q(status=TcmStatus.ACTIVE),
                name="tcm_one_active_per_encounter",
            ),
            models.CheckConstraint(
                condition=Q(contact_due__gt=F("discharge_date")) & Q(visit_due__gt=F("discharge_date")),
                name="tcm_deadlines_after_discharge",
            ),
        ]
        indexes = [models.Index(fields=["organization", "discharge_date"], name="tcm_org_discharge")]

    def __str__(self) -> str:
        return f"TCM after discharge on {self.discharge_date:%Y-%m-%d} ({self.get_status_display()})"

    def task_key(self, element: str) -> str:
        return f"tcm:{self.pk}:{element}"


class TransferPackage(OrganizationScopedModel):
    """A records-transfer package produced for an encounter: which document (its Bundle identifier), when,
    by whom, what it held and its SHA-256, so "records sent" can say exactly what went out."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="transfer_packages")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=PackageKind.choices, default=PackageKind.FHIR_DOCUMENT)
    identifier = models.CharField(max_length=100, help_text="Bundle.identifier (urn:uuid:…)")
    sha256 = models.CharField(max_length=64)
    sections = models.JSONField(default=dict, blank=True, help_text="Section -> number of entries")
    produced_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    produced_by_name = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "identifier"], name="transfer_package_identifier"
            ),
        ]
        indexes = [models.Index(fields=["encounter", "created_at"], name="transfer_package_encounter")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.identifier} ({self.created_at:%Y-%m-%d %H:%M})"


class ChecklistItem(OrganizationScopedModel):
    """One item of an encounter's discharge-planning checklist as last decided: done or not needed (or
    reopened), by whom, when, with a note, and what it points at (the follow-up appointment, the records
    package). No row yet means "to do"; the history is in the encounter's timeline and the audit trail."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="checklist_items")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    item = models.CharField(max_length=12, choices=ChecklistItemCode.choices)
    status = models.CharField(max_length=12, choices=ChecklistStatus.choices, default=ChecklistStatus.OPEN)
    note = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    package = models.ForeignKey(
        TransferPackage, on_delete=models.PROTECT, null=True, blank=True, related_name="checklist_items"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["encounter", "item"], name="checklist_item_once"),
            models.CheckConstraint(
                condition=Q(item__in=ChecklistItemCode.values), name="checklist_item_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ChecklistStatus.values), name="checklist_item_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=ChecklistStatus.OPEN) | Q(decided_at__isnull=False),
                name="checklist_item_decided_has_time",
            ),
            models.CheckConstraint(
                condition=Q(appointment__isnull=True) | Q(item=ChecklistItemCode.FOLLOW_UP),
                name="checklist_appointment_only_follow_up",
            ),
            models.CheckConstraint(
                condition=Q(package__isnull=True) | Q(item=ChecklistItemCode.RECORDS),
                name="checklist_package_only_records",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: {self.get_status_display()}"
