"""Code lists of patient education."""

from __future__ import annotations

from django.db import models


class Language(models.TextChoices):
    """BCP-47 codes of the languages materials are written in (the patient's `preferred_language`)."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    CHINESE = "zh", "Chinese"
    VIETNAMESE = "vi", "Vietnamese"
    RUSSIAN = "ru", "Russian"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    PORTUGUESE = "pt", "Portuguese"
    FRENCH = "fr", "French"
    ARABIC = "ar", "Arabic"


class ReadingLevel(models.TextChoices):
    EASY = "easy", "Easy (grade 5 or below)"
    STANDARD = "standard", "Standard (grades 6-8)"
    DETAILED = "detailed", "Detailed (grade 9 and up)"


class AssignmentSource(models.TextChoices):
    MANUAL = "manual", "By hand"
    CARE_PLAN = "care_plan", "From a care plan"


class DeliveryMethod(models.TextChoices):
    PRINTED = "printed", "Printed and handed over"
    PORTAL = "portal", "Shared in the patient portal"
    EMAIL = "email", "Sent by e-mail"
