"""The communication log in the JSON API (/api/v1/...): a patient's log (latest first, optionally only
what concerns one referral or worklist task), log a call / message / letter / fax, read one entry; write
a letter from a template (recorded in the log) and fetch its PDF, or preview it (nothing recorded).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Reads need COMMUNICATION_VIEW, logging needs
COMMUNICATION_LOG (like the messaging pages). A referral or task that is not the patient's answers 404
`linked_object_not_found` on its field; nothing is written. Every read and write is audited by the
messaging selectors and services.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.messaging import selectors, services
from caredesk.messaging.models import MAX_DURATION_SECONDS

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .schemas import InputSchema

PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
CommunicationId = PathEx[int, P(ge=1, le=MAX_ID, description="The communication's id")]
TAGS = ["communication log"]


class CommunicationOut(Schema):
    id: int
    patient_id: int
    direction: str = Field(description="out or in")
    channel: str = Field(description="phone, sms, email, letter, fax or portal")
    party: str
    party_name: str
    subject: str
    body: str
    outcome: str
    duration_seconds: int | None
    occurred_at: dt.datetime
    referral_id: int | None
    task_id: int | None
    document_id: int | None = Field(None, description="The chart document faxed (faxes only)")
    logged_by_name: str


class CommunicationPageOut(Schema):
    patient_id: int
    results: list[CommunicationOut]
    truncated: bool = Field(description=f"More than the latest {selectors.MAX_ENTRIES} entries exist")


class LogFilters(Schema):
    referral_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only entries about this referral")
    task_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only entries about this task")


class CommunicationIn(InputSchema):
    direction: str = Field(examples=["out"])
    channel: str = Field(examples=["phone"])
    outcome: str = Field(examples=["reached"])
    subject: str = Field(max_length=200, examples=["TCM follow-up call"])
    body: str = Field("", max_length=services.MAX_BODY)
    party: str = "patient"
    party_name: str = Field("", max_length=200)
    duration_seconds: int | None = Field(None, ge=0, le=MAX_DURATION_SECONDS)
    occurred_at: dt.datetime | None = Field(None, description="With its UTC offset; default now")
    referral_id: int | None = Field(None, ge=1, le=MAX_ID)
    task_id: int | None = Field(None, ge=1, le=MAX_ID)
    document_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="A fax: the patient's chart document faxed (an outbound fax needs one)",
    )


@endpoint(
    "GET",
    "/patients/{patient_id}/communications",
    Permission.COMMUNICATION_VIEW,
    response={200: CommunicationPageOut, **ERRORS},
    summary="A patient's communication log",
    tags=TAGS,
)
def list_communications(request: HttpRequest, patient_id: PatientId, filters: Query[LogFilters]) -> Any:
    """Latest first (at most the latest 200); filter by `referral_id` or `task_id`. Audited."""
    log = selectors.patient_log(
        actor=actor_of(request),
        patient_id=patient_id,
        referral_id=filters.referral_id,
        task_id=filters.task_id,
    )
    return {"patient_id": log.patient_id, "results": log.entries, "truncated": log.truncated}


@endpoint(
    "POST",
    "/patients/{patient_id}/communications",
    Permission.COMMUNICATION_LOG,
    response={201: CommunicationOut, **ERRORS},
    summary="Log a communication",
    tags=TAGS,
)
def log_communication(
    request: HttpRequest, patient_id: PatientId, payload: CommunicationIn, response: HttpResponse
) -> Any:
    """A call (with its outcome and duration), voicemail, SMS, e-mail, letter, fax or portal message,
    optionally about one of the patient's referrals or worklist tasks. Logged about a task, it also goes
    on the task's timeline (an outbound call that reached nobody counts as a contact attempt)."""
    entry = services.log_communication(
        actor=actor_of(request),
        data=services.NewCommunication(
            patient_id=patient_id,
            direction=payload.direction,
            channel=payload.channel,
            subject=payload.subject,
            outcome=payload.outcome,
            party=payload.party,
            party_name=payload.party_name,
            body=payload.body,
            duration_seconds=payload.duration_seconds,
            occurred_at=payload.occurred_at,
            referral_id=payload.referral_id,
            task_id=payload.task_id,
            document_id=payload.document_id,
        ),
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/communications/{entry.pk}")
    return Status(201, entry)


@endpoint(
    "GET",
    "/communications/{communication_id}",
    Permission.COMMUNICATION_VIEW,
    response={200: CommunicationOut, **ERRORS},
    summary="Read a communication",
    tags=TAGS,
)
def read_communication(request: HttpRequest, communication_id: CommunicationId) -> Any:
    """One entry of a communication log. Audited."""
    return selectors.get_communication(actor=actor_of(request), communication_id=communication_id)


# --- letters ---------------------------------------------------------------------------------------------


class LetterIn(InputSchema):
    template: str = Field(
        examples=["appointment"], description="appointment, referral, no_show or statement_cover"
    )
    appointment_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Appointment and no-show letters: the appointment"
    )
    referral_id: int | None = Field(None, ge=1, le=MAX_ID, description="Referral letters: the referral")
    balance: Decimal | None = Field(
        None, ge=0, max_digits=10, decimal_places=2, description="Statement cover letters: the balance due"
    )
    statement_date: dt.date | None = Field(None, description="Statement cover letters: the statement's date")
    note: str = Field("", max_length=services.MAX_NOTE, description="An extra closing paragraph")


class LetterOut(CommunicationOut):
    appointment_id: int | None
    letter_template: str
    pdf_url: str

    @staticmethod
    def resolve_pdf_url(obj: Any) -> str:
        return f"{API_PREFIX}/communications/{obj.pk}/letter.pdf"


def _new_letter(patient_id: int, payload: LetterIn) -> services.NewLetter:
    return services.NewLetter(
        patient_id=patient_id,
        template=payload.template,
        appointment_id=payload.appointment_id,
        referral_id=payload.referral_id,
        balance=payload.balance,
        statement_date=payload.statement_date,
        note=payload.note,
    )


def _pdf(letter: selectors.LetterPdf, *, inline: bool) -> HttpResponse:
    response = HttpResponse(letter.pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{letter.filename}"'
    return response


@endpoint(
    "POST",
    "/patients/{patient_id}/letters",
    Permission.COMMUNICATION_LOG,
    response={201: LetterOut, **ERRORS},
    summary="Write a letter from a template and record it",
    tags=TAGS,
)
def send_letter(
    request: HttpRequest, patient_id: PatientId, payload: LetterIn, response: HttpResponse
) -> Any:
    """Renders the letter (appointment, referral, no_show or statement_cover) for the patient, records it
    in the communication log as an outbound letter linked to its appointment or referral, and answers the
    entry with `pdf_url`, where its PDF is fetched. An unknown template, a missing or foreign appointment or
    referral, or a kept appointment for a no-show letter is refused and nothing is recorded. Audited."""
    entry, _ = services.send_letter(actor=actor_of(request), data=_new_letter(patient_id, payload))
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/communications/{entry.pk}")
    return Status(201, entry)


@endpoint(
    "POST",
    "/patients/{patient_id}/letters/preview",
    Permission.COMMUNICATION_LOG,
    response={200: None, **ERRORS},
    summary="Preview a letter as PDF (nothing recorded)",
    tags=TAGS,
)
def preview_letter(request: HttpRequest, patient_id: PatientId, payload: LetterIn) -> Any:
    """The letter as application/pdf, not recorded in the log (the preview itself is audited)."""
    return _pdf(
        services.preview_letter(actor=actor_of(request), data=_new_letter(patient_id, payload)), inline=True
    )


@endpoint(
    "GET",
    "/communications/{communication_id}/letter.pdf",
    Permission.COMMUNICATION_VIEW,
    response={200: None, **ERRORS},
    summary="The PDF of a recorded letter",
    tags=TAGS,
)
def letter_pdf(request: HttpRequest, communication_id: CommunicationId) -> Any:
    """application/pdf: the letter as it was recorded, under the organization's letterhead. Audited."""
    return _pdf(
        selectors.letter_pdf(actor=actor_of(request), communication_id=communication_id), inline=False
    )
