"""Code lists of the communication log."""

from __future__ import annotations

from django.db import models


class Direction(models.TextChoices):
    OUTBOUND = "out", "Outbound"
    INBOUND = "in", "Inbound"


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"
    LETTER = "letter", "Letter"
    FAX = "fax", "Fax"
    PORTAL = "portal", "Portal message"


class Outcome(models.TextChoices):
    REACHED = "reached", "Reached"
    VOICEMAIL = "voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    SENT = "sent", "Sent"
    RECEIVED = "received", "Received"
    FAILED = "failed", "Failed / returned"


#: Outcomes that mean nobody was reached (a contact attempt on a task).
UNSUCCESSFUL = (Outcome.VOICEMAIL, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.WRONG_NUMBER, Outcome.FAILED)


class Party(models.TextChoices):
    PATIENT = "patient", "Patient"
    CAREGIVER = "caregiver", "Caregiver / family"
    PRACTITIONER = "practitioner", "Practitioner / office"
    PAYER = "payer", "Payer"
    PHARMACY = "pharmacy", "Pharmacy"
    STAFF = "staff", "Staff (internal, between colleagues)"
    OTHER = "other", "Other"


class LetterTemplate(models.TextChoices):
    """The letters Caredesk prints (templates in messaging/templates/messaging/letters/<code>.txt)."""

    APPOINTMENT = "appointment", "Appointment letter"
    REFERRAL = "referral", "Referral letter"
    NO_SHOW = "no_show", "Missed appointment (no-show) letter"
    STATEMENT_COVER = "statement_cover", "Statement cover letter"
