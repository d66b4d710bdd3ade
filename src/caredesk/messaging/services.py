"""Communication-log use cases (keyword-only actor, one transaction, audit row inside).

CONTRACT: `log_communication`, `preview_letter`, `send_letter`; `log_referrer_notice` (the referrals hook).

Only what happened is logged here; nothing is sent. The log honours the patient's communication consents
(`sms_allowed`, `email_allowed`, `voicemail_allowed` on the patient record, `rules.needed_consent`): an
outbound SMS, e-mail or voicemail to a patient who has not agreed to that channel is refused
(ConsentNotGiven); inbound contacts, calls that reached the patient, and contacts with anyone else are
always recorded. A sending use case added later must check the same consents before it sends, and run the
delivery after commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.inputs import checked_text
from caredesk.patients import selectors as patient_selectors
from caredesk.patients import services as patient_services
from caredesk.patients.choices import EntryStatus, PatientStatus
from caredesk.patients.errors import PatientNotFound
from caredesk.referrals import selectors as referral_selectors
from caredesk.referrals.choices import Urgency
from caredesk.referrals.services import ReferrerNotice
from caredesk.worklist import selectors as task_selectors
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import ACTIVE_STATUSES, CommentKind

from . import clock, hooks, letters, ports, rules, selectors
from .choices import Channel, Direction, LetterTemplate, Outcome, Party
from .errors import (
    ConsentNotGiven,
    FaxDocumentNotFound,
    LetterNotAllowed,
    LinkedObjectNotFound,
    UnknownLetterTemplate,
)
from .models import MAX_DURATION_SECONDS, Communication

MAX_BODY = 8000


@dataclass(frozen=True)
class NewCommunication:
    patient_id: int
    direction: str
    channel: str
    subject: str
    outcome: str
    party: str = Party.PATIENT
    party_name: str = ""
    body: str = ""
    duration_seconds: int | None = None
    occurred_at: dt.datetime | None = None  # default: now
    referral_id: int | None = None
    task_id: int | None = None
    appointment_id: int | None = None
    # A fax's document: one of the patient's chart documents (or a PDF uploaded with the entry: FaxUpload).
    document_id: int | None = None


@dataclass(frozen=True)
class FaxUpload:
    """The faxed PDF, uploaded with the entry: filed in the chart through patients.services.upload_document
    (stored, hashed and audited like every chart document), titled `title` or after the subject."""

    file: UploadedFile
    title: str = ""


def _choice(value: Any, field: str, label: str, choices: list[str]) -> str:
    if value not in choices:
        raise ValidationFailed(f"{value!r} is not a valid {label}.", field=field)
    return str(value)


def _name_of(actor: Actor) -> str:
    user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    return (user.display_name if user else actor.username)[:150]


def _patient(actor: Actor, patient_id: Any, consent: str | None = None) -> int:
    """The patient's id when the actor may write about them; with `consent`, refuse (ConsentNotGiven)
    unless that consent flag is set on the patient record."""
    pk = referral_selectors.parse_id(patient_id)
    row = (
        None
        if pk is None
        else patient_selectors.patient_queryset(actor)
        .filter(pk=pk)
        .values("status", "sms_allowed", "email_allowed", "voicemail_allowed")
        .first()
    )
    if pk is None or row is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    if row["status"] == PatientStatus.MERGED:
        raise ValidationFailed("That patient was merged into another record; use the surviving record.")
    flags: dict[str, Any] = dict(row)
    if consent is not None and not flags[consent]:
        field, message = rules.CONSENT_REFUSALS[consent]
        raise ConsentNotGiven(message, field=field, details={"consent": consent})
    return pk


def _fax_document(
    actor: Actor, patient_id: int, document_id: Any, upload: FaxUpload | None, subject: str
) -> tuple[int | None, Any]:
    """The fax's document: (id, None) for the chart document named (current, this patient's, visible to
    the actor), (id, document) for a PDF uploaded now and filed in the chart through the chart's own upload
    use case (stored, hashed and audited like every chart document), (None, None) when there is none."""
    if upload is not None:
        if document_id not in (None, ""):
            raise ValidationFailed("Choose a chart document or upload a file, not both.", field="document_id")
        if not (upload.file.name or "").lower().endswith(".pdf"):
            raise ValidationFailed("A faxed document is uploaded as a PDF.", field="document_file")
        title = checked_text(upload.title, "document_title", "Document title", 200) or f"Fax: {subject}"
        document = patient_services.upload_document(
            actor=actor, patient_id=patient_id, title=title[:200], uploaded_file=upload.file
        )
        return int(document.pk), document
    if document_id in (None, ""):
        return None, None
    pk = referral_selectors.parse_id(document_id)
    search = patient_selectors.DocumentSearch(
        patient_id=patient_id, document_ids=(pk or 0,), statuses=(EntryStatus.CURRENT,)
    )
    if pk is None or not patient_selectors.document_keys(actor=actor, search=search, limit=1):
        raise FaxDocumentNotFound("No such current document in this patient's chart.", field="document_id")
    return pk, None


def _linked(actor: Actor, patient_id: int, referral_id: Any, task_id: Any) -> tuple[int | None, int | None]:
    referral_pk = task_pk = None
    if referral_id not in (None, ""):
        referral_pk = referral_selectors.parse_id(referral_id)
        found = referral_pk is not None and (
            referral_selectors.referral_queryset(actor).filter(pk=referral_pk, patient_id=patient_id).exists()
        )
        if not found:
            raise LinkedObjectNotFound("No such referral of this patient.", field="referral_id")
    if task_id not in (None, ""):
        task_pk = referral_selectors.parse_id(task_id)
        found = task_pk is not None and (
            task_selectors.task_queryset(actor).filter(pk=task_pk, patient_id=patient_id).exists()
        )
        if not found:
            raise LinkedObjectNotFound("No such task of this patient.", field="task_id")
    return referral_pk, task_pk


def _linked_appointment(actor: Actor, patient_id: int, appointment_id: Any) -> int | None:
    """The appointment a call or message was about: one of this patient's that the actor may see (asked
    through ports: scheduling sits above messaging)."""
    if appointment_id in (None, ""):
        return None
    pk = referral_selectors.parse_id(appointment_id)
    found = None if pk is None else ports.appointment_for_letter(actor=actor, appointment_id=pk)
    if found is None or found.patient_id != patient_id:
        raise LinkedObjectNotFound("No such appointment of this patient.", field="appointment_id")
    return pk


def log_communication(
    *, actor: Actor, data: NewCommunication, upload: FaxUpload | None = None, body_is_content: bool = False
) -> Communication:
    """Log a call, message, letter or fax about a patient. Linked to a task, it also goes on the task's
    timeline: an outbound call that reached nobody as a contact attempt, anything else as a comment.

    Refused without the patient's consent to the channel (ConsentNotGiven, `rules.needed_consent`). A fax
    carries its document (`data.document_id`, or `upload`); an outbound fax must, unless `body_is_content`
    (for use cases that compose the text faxed themselves: the body is the whole of it)."""
    if not actor.has(Permission.COMMUNICATION_LOG):
        raise Forbidden(f"This needs the permission {Permission.COMMUNICATION_LOG}.")
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can log communications.")
    now = clock.now()
    direction = _choice(data.direction, "direction", "direction", Direction.values)
    channel = _choice(data.channel, "channel", "channel", Channel.values)
    outcome = _choice(data.outcome, "outcome", "outcome", Outcome.values)
    problem = rules.outcome_error(channel, direction, outcome)
    if problem:
        raise ValidationFailed(problem, field="outcome")
    duration = data.duration_seconds
    if duration is not None and not (isinstance(duration, int) and 0 <= duration <= MAX_DURATION_SECONDS):
        raise ValidationFailed("The duration must be between 0 and 6 hours.", field="duration_seconds")
    problem = rules.duration_error(channel, duration)
    if problem:
        raise ValidationFailed(problem, field="duration_seconds")
    has_document = upload is not None or data.document_id not in (None, "")
    problem = rules.document_error(channel, direction, has_document or body_is_content)
    if problem:
        raise ValidationFailed(problem, field="document_id")
    occurred_at = data.occurred_at or now
    if occurred_at.tzinfo is None:
        raise ValidationFailed("The time needs a time zone.", field="occurred_at")
    problem = rules.occurred_at_error(occurred_at, now)
    if problem:
        raise ValidationFailed(problem, field="occurred_at")
    party = _choice(data.party, "party", "party", Party.values)
    values = {
        "direction": direction,
        "channel": channel,
        "outcome": outcome,
        "party": party,
        "party_name": checked_text(data.party_name, "party_name", "Name", 200),
        "subject": checked_text(data.subject, "subject", "Subject", 200, required=True),
        "body": checked_text(data.body, "body", "Summary", MAX_BODY),
        "duration_seconds": duration,
        "occurred_at": occurred_at,
    }
    consent = rules.needed_consent(channel, direction, outcome, party)
    with transaction.atomic():
        patient_id = _patient(actor, data.patient_id, consent)
        referral_id, task_id = _linked(actor, patient_id, data.referral_id, data.task_id)
        appointment_id = _linked_appointment(actor, patient_id, data.appointment_id)
        document_id, uploaded = _fax_document(
            actor, patient_id, data.document_id, upload, str(values["subject"])
        )
        try:
            entry = Communication.objects.create(
                organization_id=actor.organization_id,
                patient_id=patient_id,
                referral_id=referral_id,
                task_id=task_id,
                appointment_id=appointment_id,
                document_id=document_id,
                logged_by_id=actor.user_id,
                logged_by_name=_name_of(actor),
                **values,
            )
        except BaseException:
            if uploaded is not None:  # the upload's row rolls back with this transaction: so goes its file
                uploaded.file.delete(save=False)
            raise
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_CREATE,
            patient_id=patient_id,
            obj=entry,
            detail={
                "channel": channel,
                "direction": direction,
                "outcome": outcome,
                "referral_id": referral_id,
                "task_id": task_id,
                "appointment_id": appointment_id,
                "document_id": document_id,
            },
        )
        if task_id is not None and actor.has(Permission.TASK_WORK):
            active = (
                task_selectors.task_queryset(actor).filter(pk=task_id, status__in=ACTIVE_STATUSES).exists()
            )
            attempt = active and rules.is_contact_attempt(channel, direction, outcome)
            summary = (
                f"{entry.get_direction_display()} {entry.get_channel_display().lower()}: {entry.subject}"
            )
            summary += f" — {entry.get_outcome_display()}."
            worklist.add_comment(
                actor=actor,
                task_id=task_id,
                body=summary,
                kind=CommentKind.ATTEMPT if attempt else CommentKind.COMMENT,
            )
        hooks.communication_logged(
            actor,
            hooks.LoggedCommunication(
                communication_id=entry.pk,
                organization_id=entry.organization_id,
                patient_id=patient_id,
                task_id=task_id,
                direction=direction,
                channel=channel,
                outcome=outcome,
                party=entry.party,
                occurred_at=occurred_at,
            ),
        )
    return entry


def log_referrer_notice(actor: Actor, notice: ReferrerNotice) -> None:
    """referrals.services hook: what the referring party of an inbound referral is told (declined with the
    reason, or the consult note sent back), as an outbound fax (a letter when no fax number is known) about
    the referral. Runs inside the step's transaction; the step itself was authorized (REFERRAL_MANAGE),
    so logging what it tells the referrer does not need COMMUNICATION_LOG as well."""
    log_communication(
        actor=dataclasses.replace(
            actor, permissions=actor.permissions | frozenset({str(Permission.COMMUNICATION_LOG)})
        ),
        data=NewCommunication(
            patient_id=notice.patient_id,
            direction=Direction.OUTBOUND,
            channel=Channel.FAX if notice.referrer_fax else Channel.LETTER,
            subject=notice.subject,
            outcome=Outcome.SENT,
            party=Party.PRACTITIONER,
            party_name=notice.referrer_name,
            body=notice.body,
            referral_id=notice.referral_id,
        ),
        # A fax's text is the notice itself (no chart document); a letter carries no document at all.
        body_is_content=bool(notice.referrer_fax),
    )


# --- letters ------------------------------------------------------------------------------------------

MAX_NOTE = 1000
MAX_BALANCE = Decimal("10000000")


@dataclass(frozen=True)
class NewLetter:
    """A letter to a patient from a template. What it is about: an appointment (appointment and no-show
    letters), a referral (referral letters) or a balance the caller computed (statement cover: messaging
    knows nothing of billing). `note`: an optional closing paragraph."""

    patient_id: int
    template: str
    appointment_id: int | None = None
    referral_id: int | None = None
    balance: Decimal | None = None
    statement_date: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class _Prepared:
    facts: letters.LetterFacts
    letter: letters.ComposedLetter
    patient_id: int
    appointment_id: int | None
    referral_id: int | None


def _letter_patient(actor: Actor, patient_id: Any) -> Any:
    pk = referral_selectors.parse_id(patient_id)
    patient = None if pk is None else patient_selectors.patient_queryset(actor).filter(pk=pk).first()
    if patient is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    if patient.status == PatientStatus.MERGED:
        raise LetterNotAllowed("That patient was merged into another record; use the surviving record.")
    if patient.status == PatientStatus.DECEASED:
        raise LetterNotAllowed("The patient has died: no letters are sent to them.")
    return patient


def _addressee(patient: Any) -> letters.Addressee:
    region = " ".join(part for part in (patient.state, patient.postal_code) if part)
    place = ", ".join(part for part in (patient.city, region) if part)
    address = tuple(line for line in (patient.address_line1, patient.address_line2, place) if line)
    salutation = f"{patient.preferred_name or patient.given_name} {patient.family_name}"
    return letters.Addressee(name=patient.full_name, salutation=salutation, address=address)


def _appointment_facts(
    actor: Actor, patient_id: int, appointment_id: Any, *, no_show: bool
) -> tuple[int, letters.AppointmentFacts]:
    if appointment_id in (None, ""):
        raise ValidationFailed("This letter is about an appointment: choose one.", field="appointment_id")
    pk = referral_selectors.parse_id(appointment_id)
    found = None if pk is None else ports.appointment_for_letter(actor=actor, appointment_id=pk)
    if found is None or found.patient_id != patient_id:
        raise LinkedObjectNotFound("No such appointment of this patient.", field="appointment_id")
    if no_show and not found.is_no_show:
        raise LetterNotAllowed(
            "That appointment is not marked as a no-show: a missed-appointment letter would be wrong.",
            field="appointment_id",
        )
    try:
        zone = ZoneInfo(found.zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = selectors.organization_zone(actor.organization_id or 0)
    day, time = letters.when(found.starts_at, zone)
    return found.appointment_id, letters.AppointmentFacts(
        day=day,
        time=time,
        visit_type=found.visit_type,
        location=found.location_name,
        address=found.location_address,
        phone=found.location_phone,
        with_whom=found.with_whom,
    )


def _referral_facts(actor: Actor, patient_id: int, referral_id: Any) -> tuple[int, letters.ReferralFacts]:
    if referral_id in (None, ""):
        raise ValidationFailed("This letter is about a referral: choose one.", field="referral_id")
    pk = referral_selectors.parse_id(referral_id)
    referral = (
        None
        if pk is None
        else referral_selectors.referral_queryset(actor)
        .select_related("receiver")
        .filter(pk=pk, patient_id=patient_id)
        .first()
    )
    if referral is None:
        raise LinkedObjectNotFound("No such referral of this patient.", field="referral_id")
    receiver = referral.receiver
    specialty = referral.get_specialty_display()
    appointment = ""
    if referral.appointment_at is not None:
        day, time = letters.when(
            referral.appointment_at, selectors.organization_zone(referral.organization_id)
        )
        appointment = f"{day} at {time}"
    return referral.pk, letters.ReferralFacts(
        to=receiver.name if receiver else f"a {specialty.lower()} specialist",
        specialty=specialty,
        reason=" ".join(referral.reason.split()),
        urgency=referral.get_urgency_display().lower(),
        urgent=referral.urgency != Urgency.ROUTINE,
        phone=receiver.phone if receiver else "",
        address=receiver.address if receiver else "",
        appointment=appointment,
    )


def _balance(value: Any) -> Decimal:
    if value in (None, ""):
        raise ValidationFailed("A statement cover letter needs the balance due.", field="balance")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError as exc:
        raise ValidationFailed("The balance must be an amount such as 125.50.", field="balance") from exc
    if (
        not amount.is_finite()
        or amount < 0
        or amount >= MAX_BALANCE
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise ValidationFailed("The balance must be an amount of zero or more, in cents.", field="balance")
    return amount


def _prepare(actor: Actor, data: NewLetter) -> _Prepared:
    if not actor.has(Permission.COMMUNICATION_LOG):
        raise Forbidden(f"This needs the permission {Permission.COMMUNICATION_LOG}.")
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can write letters.")
    if data.template not in LetterTemplate.values:
        known = ", ".join(LetterTemplate.values)
        raise UnknownLetterTemplate(
            f"There is no letter template {data.template!r}; use one of {known}.", field="template"
        )
    note = checked_text(data.note, "note", "Note", MAX_NOTE)
    patient = _letter_patient(actor, data.patient_id)
    appointment_id = referral_id = None
    extra: dict[str, Any] = {}
    if data.template in (LetterTemplate.APPOINTMENT, LetterTemplate.NO_SHOW):
        appointment_id, extra["appointment"] = _appointment_facts(
            actor, patient.pk, data.appointment_id, no_show=data.template == LetterTemplate.NO_SHOW
        )
    elif data.template == LetterTemplate.REFERRAL:
        referral_id, extra["referral"] = _referral_facts(actor, patient.pk, data.referral_id)
    else:
        extra["balance"] = _balance(data.balance)
        extra["statement_date"] = data.statement_date
    facts = letters.LetterFacts(
        template=data.template,
        letterhead=selectors.letterhead_of(actor.organization_id),
        patient=_addressee(patient),
        today=clock.now().astimezone(selectors.organization_zone(actor.organization_id)).date(),
        note=note,
        **extra,
    )
    return _Prepared(facts, letters.compose(facts), patient.pk, appointment_id, referral_id)


def preview_letter(*, actor: Actor, data: NewLetter) -> selectors.LetterPdf:
    """The letter as a PDF, not sent and not logged; one LETTER_PREVIEW audit row naming the patient."""
    prepared = _prepare(actor, data)
    pdf = letters.render_pdf(
        letterhead=prepared.facts.letterhead, text=prepared.letter.text, title=prepared.letter.subject
    )
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.LETTER_PREVIEW,
            patient_id=prepared.patient_id,
            object_type="messaging.communication",
            detail={
                "letter_template": data.template,
                "appointment_id": prepared.appointment_id,
                "referral_id": prepared.referral_id,
            },
        )
    return selectors.LetterPdf(None, prepared.patient_id, prepared.letter.subject, prepared.letter.text, pdf)


def send_letter(*, actor: Actor, data: NewLetter) -> tuple[Communication, selectors.LetterPdf]:
    """Record a letter to the patient in the communication log (outbound, letter, sent; linked to its
    appointment or referral; the text as sent is the body) and return it with its PDF. Nothing is mailed
    from here: printing and posting it is the user's. Patients have no mail consent to check (only SMS,
    e-mail and voicemail); a deceased or merged patient gets no letter."""
    prepared = _prepare(actor, data)
    organization_id = actor.organization_id
    if organization_id is None:  # refused by _prepare already; for the type checker
        raise Forbidden("Only a member of an organization can write letters.")
    if len(prepared.letter.text) > MAX_BODY:
        raise ValidationFailed(f"The letter is longer than {MAX_BODY} characters.", field="note")
    pdf = letters.render_pdf(
        letterhead=prepared.facts.letterhead, text=prepared.letter.text, title=prepared.letter.subject
    )
    with transaction.atomic():
        patient_id = _patient(actor, prepared.patient_id)
        entry = Communication.objects.create(
            organization_id=organization_id,
            patient_id=patient_id,
            direction=Direction.OUTBOUND,
            channel=Channel.LETTER,
            party=Party.PATIENT,
            subject=prepared.letter.subject[:200],
            body=prepared.letter.text,
            outcome=Outcome.SENT,
            occurred_at=clock.now(),
            referral_id=prepared.referral_id,
            appointment_id=prepared.appointment_id,
            letter_template=data.template,
            logged_by_id=actor.user_id,
            logged_by_name=_name_of(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.COMMUNICATION_CREATE,
            patient_id=patient_id,
            obj=entry,
            detail={
                "channel": Channel.LETTER,
                "direction": Direction.OUTBOUND,
                "outcome": Outcome.SENT,
                "letter_template": data.template,
                "appointment_id": prepared.appointment_id,
                "referral_id": prepared.referral_id,
            },
        )
    return entry, selectors.LetterPdf(entry.pk, patient_id, entry.subject, entry.body, pdf)
