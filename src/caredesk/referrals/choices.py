"""Status sets and code lists of referrals."""

from __future__ import annotations

from django.db import models


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    SCHEDULED = "scheduled", "Scheduled"
    SEEN = "seen", "Seen"
    CLOSED = "closed", "Consult note received"  # the loop is closed
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


#: Referrals still on their way: each of these steps runs an overdue clock (rules.STEP_DAYS).
OPEN_STATUSES = (
    ReferralStatus.SENT,
    ReferralStatus.RECEIVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.SCHEDULED,
    ReferralStatus.SEEN,
    ReferralStatus.DECLINED,
)
FINAL_STATUSES = (ReferralStatus.CLOSED, ReferralStatus.CANCELLED)


class ReferralDirection(models.TextChoices):
    """Outbound: we refer our patient out. Inbound: another practice refers a patient to us."""

    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


#: Inbound referrals still on their way (each step runs an overdue clock). Declined is final for an
#: inbound referral: the referring party is told why, and the referral is closed with that reason.
INBOUND_OPEN_STATUSES = (
    ReferralStatus.RECEIVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.SCHEDULED,
    ReferralStatus.SEEN,
)
INBOUND_FINAL_STATUSES = (ReferralStatus.CLOSED, ReferralStatus.DECLINED, ReferralStatus.CANCELLED)


class ReferralAction(models.TextChoices):
    """What a person does to a referral; each moves it to one status (rules.ACTIONS)."""

    SEND = "send", "Send"
    RECEIVE = "receive", "Mark received"
    ACCEPT = "accept", "Accept"
    DECLINE = "decline", "Decline"
    REROUTE = "reroute", "Re-route to another receiver"
    SCHEDULE = "schedule", "Mark scheduled"
    SEEN = "seen", "Mark seen"
    CLOSE = "close", "Consult note received"
    CANCEL = "cancel", "Cancel"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    STAT = "stat", "Stat"


class ReceiverKind(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    ORGANIZATION = "organization", "Organization"


class Specialty(models.TextChoices):
    """The specialties referred to most in primary care (a referral names one, with or without a receiver)."""

    CARDIOLOGY = "cardiology", "Cardiology"
    DERMATOLOGY = "dermatology", "Dermatology"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology"
    GASTROENTEROLOGY = "gastroenterology", "Gastroenterology"
    NEPHROLOGY = "nephrology", "Nephrology"
    NEUROLOGY = "neurology", "Neurology"
    OBSTETRICS_GYNECOLOGY = "obstetrics_gynecology", "Obstetrics and gynecology"
    ONCOLOGY = "oncology", "Oncology"
    OPHTHALMOLOGY = "ophthalmology", "Ophthalmology"
    ORTHOPEDICS = "orthopedics", "Orthopedics"
    OTOLARYNGOLOGY = "otolaryngology", "Otolaryngology (ENT)"
    PHYSICAL_THERAPY = "physical_therapy", "Physical therapy"
    PODIATRY = "podiatry", "Podiatry"
    PSYCHIATRY = "psychiatry", "Psychiatry"
    BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral health"
    PULMONOLOGY = "pulmonology", "Pulmonology"
    RHEUMATOLOGY = "rheumatology", "Rheumatology"
    UROLOGY = "urology", "Urology"
    GENERAL_SURGERY = "general_surgery", "General surgery"
    OTHER = "other", "Other"
