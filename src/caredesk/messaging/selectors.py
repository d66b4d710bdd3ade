"""Read queries of the communication log (audited: a patient's log is patient data).

CONTRACT: `communication_queryset` (not audited), `patient_log`, `get_communication`,
`search_communications` (the last two also serve a portal user's own entries, for FHIR), `letter_pdf`,
and printed letters as documents (FHIR DocumentReference): `letter_keys`, `search_letters`, `get_letter`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.referrals.selectors import parse_id

from . import letters
from .errors import CommunicationNotFound
from .models import Communication

MAX_ENTRIES = 200


def communication_queryset(actor: Actor) -> QuerySet[Communication]:
    if actor.organization_id is None or not actor.has(Permission.COMMUNICATION_VIEW):
        return Communication.objects.none()
    return Communication.objects.filter(organization_id=actor.organization_id)


@dataclass
class Log:
    patient_id: int
    entries: list[Communication]
    truncated: bool


def patient_log(*, actor: Actor, patient_id: Any, referral_id: Any = None, task_id: Any = None) -> Log:
    """A patient's communications, latest first (only those about one referral or task when given); one
    COMMUNICATION_SEARCH audit row naming the patient and the entries shown. PatientNotFound outside the
    actor's scope."""
    pk = parse_id(patient_id)
    if pk is None or not patient_selectors.patient_queryset(actor).filter(pk=pk).exists():
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    entries = communication_queryset(actor).filter(patient_id=pk)
    if referral_id not in (None, ""):
        entries = entries.filter(referral_id=parse_id(referral_id) or 0)
    if task_id not in (None, ""):
        entries = entries.filter(task_id=parse_id(task_id) or 0)
    with transaction.atomic():
        window = list(entries.order_by("-occurred_at", "-pk")[: MAX_ENTRIES + 1])
        shown = window[:MAX_ENTRIES]
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_SEARCH,
            patient_id=pk,
            detail={
                "referral_id": referral_id or None,
                "task_id": task_id or None,
                "communication_ids": [entry.pk for entry in shown],
            },
        )
    return Log(pk, shown, len(window) > MAX_ENTRIES)


def _visible(actor: Actor) -> QuerySet[Communication]:
    """`communication_queryset`, or for a portal user holding PORTAL_OWN_RECORD the entries about their own
    record. Not audited."""
    if actor.is_portal:
        if actor.organization_id is None or not actor.has(Permission.PORTAL_OWN_RECORD):
            return Communication.objects.none()
        return Communication.objects.filter(
            organization_id=actor.organization_id, patient_id=actor.patient_id or 0
        )
    return communication_queryset(actor)


def get_communication(*, actor: Actor, communication_id: Any, purpose: str = "detail") -> Communication:
    """One log entry of a patient the actor may see (a portal user: their own); one COMMUNICATION_VIEW
    audit row naming the patient. CommunicationNotFound outside the actor's scope."""
    pk = parse_id(communication_id)
    visible = patient_selectors.patient_queryset(actor).values("pk")
    entry = None if pk is None else _visible(actor).filter(pk=pk, patient_id__in=visible).first()
    if entry is None:
        raise CommunicationNotFound(
            f"No communication with id {communication_id}.", details={"id": str(communication_id)}
        )
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_VIEW,
            patient_id=entry.patient_id,
            obj=entry,
            detail={"view": purpose},
        )
    return entry


@dataclass
class CommunicationPage:
    patient_id: int
    entries: list[Communication]
    has_next: bool


def search_communications(
    *,
    actor: Actor,
    patient_id: Any,
    since: dt.datetime | None = None,
    before: dt.datetime | None = None,
    page: int = 1,
    page_size: int = 50,
    referral_id: int | None = None,
    task_id: int | None = None,
    appointment_id: int | None = None,
) -> CommunicationPage:
    """A patient's entries (a portal user: only their own record), latest first, optionally those that
    happened from `since` (inclusive) to `before` (exclusive) and those about one referral, task or
    appointment; one COMMUNICATION_SEARCH audit row naming the patient and the entries shown.
    PatientNotFound outside the actor's scope."""
    pk = parse_id(patient_id)
    if pk is None or not patient_selectors.patient_queryset(actor).filter(pk=pk).exists():
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_ENTRIES))
    entries = _visible(actor).filter(patient_id=pk)
    if since is not None:
        entries = entries.filter(occurred_at__gte=since)
    if before is not None:
        entries = entries.filter(occurred_at__lt=before)
    about = {"referral_id": referral_id, "task_id": task_id, "appointment_id": appointment_id}
    entries = entries.filter(**{field: pk for field, pk in about.items() if pk is not None})
    offset = (page - 1) * page_size
    with transaction.atomic():
        window = list(entries.order_by("-occurred_at", "-pk")[offset : offset + page_size + 1])
        shown = window[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_SEARCH,
            patient_id=pk,
            detail={
                "since": since.isoformat() if since else None,
                "before": before.isoformat() if before else None,
                "page": page,
                **{field: pk for field, pk in about.items() if pk is not None},
                "communication_ids": [entry.pk for entry in shown],
            },
        )
    return CommunicationPage(pk, shown, len(window) > page_size)


# --- letters --------------------------------------------------------------------------------------------


def organization_zone(organization_id: int) -> ZoneInfo:
    """The organization's time zone: its first location's (the server's when it has none or a bad one)."""
    name = (
        Location.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("timezone", flat=True)
        .first()
    )
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def letterhead_of(organization_id: int) -> letters.Letterhead:
    """The organization's name and phone, and its first location's address."""
    organization = Organization.objects.filter(pk=organization_id).first()
    location = Location.objects.filter(organization_id=organization_id).order_by("pk").first()
    address = ""
    if location is not None:
        place = f"{location.state} {location.postal_code}".strip()
        address = ", ".join(part for part in (location.address_line, location.city, place) if part)
    phone = (organization.phone if organization else "") or (location.phone if location else "")
    return letters.Letterhead(
        organization=organization.name if organization else "", address=address, phone=phone
    )


@dataclass(frozen=True)
class LetterPdf:
    communication_id: int | None  # None: a preview, not in the log
    patient_id: int
    subject: str
    text: str
    pdf: bytes

    @property
    def filename(self) -> str:
        return f"letter-{self.communication_id or 'preview'}.pdf"


def letter_pdf(*, actor: Actor, communication_id: Any) -> LetterPdf:
    """The PDF of a letter in the log (its text as sent, under the letterhead); one LETTER_PRINT audit row
    naming the patient. CommunicationNotFound outside the scope or when the entry is not a printed letter."""
    pk = parse_id(communication_id)
    visible = patient_selectors.patient_queryset(actor).values("pk")
    entry = (
        None
        if pk is None
        else _visible(actor).filter(pk=pk, patient_id__in=visible).exclude(letter_template="").first()
    )
    if entry is None:
        raise CommunicationNotFound(
            f"No letter with id {communication_id}.", details={"id": str(communication_id)}
        )
    letterhead = letterhead_of(entry.organization_id)
    pdf = letters.render_pdf(letterhead=letterhead, text=entry.body, title=entry.subject)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.LETTER_PRINT,
            patient_id=entry.patient_id,
            obj=entry,
            detail={"letter_template": entry.letter_template},
        )
    return LetterPdf(entry.pk, entry.patient_id, entry.subject, entry.body, pdf)


def fax_document(*, actor: Actor, communication_id: Any) -> Any:
    """The chart document a logged fax carried, opened through the chart's own download
    (`patients.selectors.open_document`: audited DOCUMENT_DOWNLOAD naming the patient, the same rule on who
    may open documents). CommunicationNotFound when the entry is outside the scope or has no document."""
    pk = parse_id(communication_id)
    visible = patient_selectors.patient_queryset(actor).values("pk")
    document_id = (
        None
        if pk is None
        else _visible(actor)
        .filter(pk=pk, patient_id__in=visible, document__isnull=False)
        .values_list("document_id", flat=True)
        .first()
    )
    if document_id is None:
        raise CommunicationNotFound(
            f"No fax with a document with id {communication_id}.", details={"id": str(communication_id)}
        )
    return patient_selectors.open_document(actor=actor, document_id=document_id)


# --- printed letters as documents (FHIR DocumentReference) ---------------------------------------------


@dataclass(frozen=True)
class LetterSearch:
    """Criteria of a search of printed letters (log entries with a letter template); `sent_from` /
    `sent_to` bound when it was sent, [from, to)."""

    patient_id: int | None = None
    letter_ids: tuple[int, ...] | None = None  # None: any
    referral_id: int | None = None
    subject_prefix: str = ""
    sent_from: dt.datetime | None = None
    sent_to: dt.datetime | None = None


def _matching_letters(actor: Actor, search: LetterSearch) -> QuerySet[Communication]:
    """The printed letters the actor may see (as letter_pdf: a portal user their own) matching `search`.
    Not audited."""
    visible = patient_selectors.patient_queryset(actor).values("pk")
    letters_ = _visible(actor).filter(patient_id__in=visible).exclude(letter_template="")
    if search.patient_id is not None:
        letters_ = letters_.filter(patient_id=search.patient_id)
    if search.letter_ids is not None:
        letters_ = letters_.filter(pk__in=search.letter_ids)
    if search.referral_id is not None:
        letters_ = letters_.filter(referral_id=search.referral_id)
    if search.subject_prefix:
        letters_ = letters_.filter(subject__istartswith=search.subject_prefix)
    if search.sent_from is not None:
        letters_ = letters_.filter(occurred_at__gte=search.sent_from)
    if search.sent_to is not None:
        letters_ = letters_.filter(occurred_at__lt=search.sent_to)
    return letters_


def letter_keys(*, actor: Actor, search: LetterSearch, limit: int) -> list[tuple[dt.datetime, int]]:
    """(sent at, id) of the first `limit` letters matching `search`, newest first: for a caller that pages
    letters together with chart documents. Not audited (times and ids only): the caller reads the letters
    it shows through search_letters (with their `letter_ids`)."""
    rows = _matching_letters(actor, search).order_by("-occurred_at", "-pk")[: max(0, limit)]
    return list(rows.values_list("occurred_at", "pk"))


def search_letters(*, actor: Actor, search: LetterSearch, limit: int = MAX_ENTRIES) -> list[Communication]:
    """The letters matching `search` (at most `limit`), newest first; one COMMUNICATION_SEARCH audit row
    with the criteria, the entries shown and their patients (`result_ids`)."""
    with transaction.atomic():
        shown = list(
            _matching_letters(actor, search).order_by("-occurred_at", "-pk")[
                : max(0, min(limit, MAX_ENTRIES))
            ]
        )
        patient_ids = sorted({entry.patient_id for entry in shown})
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_SEARCH,
            patient_id=search.patient_id
            if search.patient_id is not None
            else (patient_ids[0] if len(patient_ids) == 1 else None),
            detail={
                "view": "letters",
                "criteria": {
                    "patient_id": search.patient_id,
                    "referral_id": search.referral_id,
                    "subject": search.subject_prefix,
                    "from": search.sent_from.isoformat() if search.sent_from else None,
                    "to": search.sent_to.isoformat() if search.sent_to else None,
                },
                "communication_ids": [entry.pk for entry in shown],
                "result_ids": patient_ids,
            },
        )
    return shown


def get_letter(*, actor: Actor, letter_id: Any, purpose: str = "letter") -> Communication:
    """One printed letter's log entry (its description; the PDF: letter_pdf) of a patient the actor may see
    (a portal user: their own); one COMMUNICATION_VIEW audit row naming the patient. CommunicationNotFound
    outside the scope or when the entry is not a printed letter."""
    pk = parse_id(letter_id)
    with transaction.atomic():
        entry = None if pk is None else _matching_letters(actor, LetterSearch(letter_ids=(pk,))).first()
        if entry is None:
            raise CommunicationNotFound(f"No letter with id {letter_id}.", details={"id": str(letter_id)})
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_VIEW,
            patient_id=entry.patient_id,
            obj=entry,
            detail={"view": purpose, "letter_template": entry.letter_template},
        )
    return entry
