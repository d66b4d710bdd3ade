"""Status sets and code lists of care plans and CCM."""

from __future__ import annotations

from django.db import models


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Comparator(models.TextChoices):
    LT = "lt", "below"
    LE = "le", "at most"
    GT = "gt", "above"
    GE = "ge", "at least"


class ItemStatus(models.TextChoices):
    """A goal's or activity's own lifecycle on its plan: cancelled ones stay, with their reason."""

    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class GoalStatus(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    NO_DATA = "no_data", "No data"
    STALE = "stale", "Out of date"


class ActivityKind(models.TextChoices):
    LAB = "lab", "Lab test"
    OUTREACH_CALL = "outreach_call", "Outreach call"
    EDUCATION = "education", "Education"
    VISIT = "visit", "Visit"


class ConsentMethod(models.TextChoices):
    VERBAL = "verbal", "Verbal"
    WRITTEN = "written", "Written"
    ELECTRONIC = "electronic", "Electronic"


class CareTeamRole(models.TextChoices):
    PHYSICIAN = "physician", "Primary care physician"
    NURSE = "nurse", "Nurse"
    COORDINATOR = "coordinator", "Care coordinator"
    PHARMACIST = "pharmacist", "Pharmacist"
    DIETITIAN = "dietitian", "Dietitian"
    EDUCATOR = "educator", "Diabetes educator"
    CARDIOLOGIST = "cardiologist", "Cardiologist"
    PULMONOLOGIST = "pulmonologist", "Pulmonologist"
    NEPHROLOGIST = "nephrologist", "Nephrologist"
    RESPIRATORY_THERAPIST = "respiratory_therapist", "Respiratory therapist"
