"""Status sets and code lists of the worklist."""

from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING = "waiting", "Waiting"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.WAITING)
CLOSED_STATUSES = (TaskStatus.DONE, TaskStatus.CANCELLED)


class TaskPriority(models.IntegerChoices):
    """Stored as numbers so "most urgent first" is an index order."""

    URGENT = 1, "Urgent"
    HIGH = 2, "High"
    NORMAL = 3, "Normal"
    LOW = 4, "Low"


class TaskQueue(models.TextChoices):
    """Teams that own work. A task sits in one queue; someone from it (or anyone) may be its assignee."""

    CARE_COORDINATION = "care_coordination", "Care coordination"
    NURSING = "nursing", "Nursing"
    PHYSICIANS = "physicians", "Physicians"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"
    MEDICAL_STAFF = "medical_staff", "Medical staff office"


class TaskType(models.TextChoices):
    GENERAL = "general", "General"
    FOLLOW_UP_CALL = "follow_up_call", "Follow-up call"
    TCM_CONTACT = "tcm_contact", "TCM interactive contact"
    TCM_VISIT = "tcm_visit", "TCM face-to-face visit"
    TCM_MED_RECONCILIATION = "tcm_med_reconciliation", "TCM medication reconciliation"
    DISCHARGE_REVIEW = "discharge_review", "Discharge review"
    PATIENT_MATCH_REVIEW = "patient_match_review", "Patient match review"
    PATIENT_MERGE_REVIEW = "patient_merge_review", "Patient merge review"
    CLAIM_FOLLOW_UP = "claim_follow_up", "Claim follow-up (rejected or denied)"
    ELIGIBILITY_FAILED = "eligibility_failed", "Eligibility failed before a visit"
    SUPPLY_REORDER = "supply_reorder", "Supply below reorder point"
    CREDENTIAL_EXPIRING = "credential_expiring", "Credential expiring"
    REFERRAL_FOLLOW_UP = "referral_follow_up", "Referral follow-up (unscheduled, declined, note overdue)"
    CAREPLAN_ACTIVITY_OVERDUE = "careplan_activity_overdue", "Care-plan activity overdue"
    REMITTANCE_UNMATCHED = "remittance_unmatched", "Unmatched remittance payment"
    PRIOR_AUTHORIZATION = "prior_authorization", "Prior authorization missing, expiring or used up"


class CommentKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    ATTEMPT = "attempt", "Contact attempt"  # documented, unsuccessful: counts toward TCM's two attempts
    EVENT = "event", "Event"  # written by the services: status changes, assignment, snooze


class SlaState(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    CLOSED = "closed", "Closed"
