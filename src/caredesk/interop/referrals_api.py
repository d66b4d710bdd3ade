"""Referrals in the JSON API (/api/v1/...): list and read referrals (filter by direction), create one (a
draft, or sent at once), register an inbound one, accept or decline one (decline needs the reason), take a
step of the loop, and the receiver directory.

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). A step that is not open from the referral's status
answers 409 `invalid_transition`; a stale `version` 409 `stale_referral`. Sending a draft needs
REFERRAL_CREATE; the steps endpoint needs at least REFERRAL_SCHEDULE (schedule, seen), and the referrals
service checks the rest need REFERRAL_MANAGE (403 otherwise).

A step carries what the referral page's form does: the scheduled step one of the patient's booked
appointments (`appointment_id`), the close step the consult note received (`consult_document`: the file,
base64 in the JSON body, which becomes the same upload the form sends, filed in the chart by
patients.services.upload_document with its type and size checks, and linked from the closing step).

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import base64
import binascii
import datetime as dt
from typing import Any, Literal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.http import HttpRequest, HttpResponse
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.patients.errors import InvalidDocument
from caredesk.patients.rules import file_extension
from caredesk.referrals import selectors, services
from caredesk.referrals.models import Referral, ReferralEvent

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

ReferralId = PathEx[int, P(ge=1, le=MAX_ID, description="The referral's id")]
TAGS = ["referrals"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class ReceiverOut(Schema):
    id: int
    name: str
    kind: str
    specialty: str
    npi: str
    phone: str
    fax: str
    email: str
    active: bool


class ReceiverListOut(Schema):
    results: list[ReceiverOut]


class DiagnosisOut(Schema):
    code: str
    description: str


class EventOut(Schema):
    from_status: str
    to_status: str
    at: dt.datetime
    receiver_id: int | None
    note: str
    actor_name: str
    document_id: int | None = Field(None, description="The chart document filed at this step (consult note)")


class ReferrerOut(Schema):
    kind: str
    name: str
    npi: str
    phone: str
    fax: str


class ReferralOut(Schema):
    id: int
    patient_id: int
    direction: str = Field(description="outbound, or inbound (another practice referred the patient to us)")
    referrer: ReferrerOut | None = Field(None, description="Inbound: who referred the patient to us")
    received_at: dt.datetime | None = Field(None, description="Inbound: when it reached us")
    practitioner_id: int | None = Field(None, description="Inbound: our practitioner it is for")
    specialty: str
    receiver_id: int | None
    reason: str
    urgency: str
    diagnoses: list[DiagnosisOut]
    document_ids: list[int]
    include_chart_summary: bool
    authorization_required: bool
    authorization_number: str
    status: str
    status_changed_at: dt.datetime
    appointment_at: dt.datetime | None
    appointment_id: int | None = Field(
        None, description="The booked appointment of ours it is scheduled for (none: booked elsewhere)"
    )
    outcome_note: str
    version: int = Field(description="Send it back with a step (optimistic locking)")
    timeline: list[EventOut]

    @staticmethod
    def resolve_referrer(obj: Referral) -> dict[str, str] | None:
        if not obj.is_inbound:
            return None
        return {
            "kind": obj.referrer_kind,
            "name": obj.referrer_name,
            "npi": obj.referrer_npi,
            "phone": obj.referrer_phone,
            "fax": obj.referrer_fax,
        }

    @staticmethod
    def resolve_document_ids(obj: Referral) -> list[int]:
        return [a.document_id for a in obj.attachments.order_by("pk")]

    @staticmethod
    def resolve_timeline(obj: Referral) -> list[ReferralEvent]:
        return list(obj.events.all())


class ReferralSummaryOut(Schema):
    id: int
    patient_id: int
    direction: str
    referrer_name: str
    specialty: str
    receiver_id: int | None
    urgency: str
    status: str
    status_changed_at: dt.datetime
    due: dt.datetime | None
    overdue: bool


class ReferralPageOut(Schema):
    results: list[ReferralSummaryOut]
    page: int
    has_next: bool


class ReferralFilters(Schema):
    status: str = Field("", description="A status, or `open`")
    overdue: bool = False
    patient_id: int | None = Field(None, ge=1, le=MAX_ID)
    specialty: str = ""
    direction: Literal["", "outbound", "inbound"] = Field("", description="outbound, inbound, or both")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=selectors.MAX_PAGE_SIZE)


class ReferralIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID)
    specialty: str = Field(examples=["cardiology"])
    reason: str = Field(min_length=1, max_length=2000)
    receiver_id: int | None = Field(None, ge=1, le=MAX_ID)
    urgency: str = "routine"
    diagnoses: list[str] = Field(default_factory=list, max_length=12, examples=[["I10"]])
    document_ids: list[int] = Field(default_factory=list, max_length=20)
    include_chart_summary: bool = True
    authorization_required: bool = False
    authorization_number: str = ""
    send: bool = Field(False, description="Send at once instead of saving a draft")
    occurred_at: dt.datetime | None = Field(
        None, description="When it was made (and sent), for one entered after the fact (default now)"
    )


class InboundReferrerIn(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Valley Family Practice"])
    kind: str = Field("practitioner", description="practitioner or organization")
    npi: str = Field("", max_length=10)
    phone: str = Field("", max_length=30)
    fax: str = Field("", max_length=30)


class InboundReferralIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID)
    referrer: InboundReferrerIn
    received_at: dt.datetime | None = Field(None, description="With its UTC offset; default now")
    specialty: str = Field(examples=["cardiology"], description="Our receiving specialty")
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID, description="Our practitioner it is for")
    reason: str = Field(min_length=1, max_length=2000)
    urgency: str = "routine"
    diagnoses: list[str] = Field(default_factory=list, max_length=12, examples=[["I10"]])
    document_ids: list[int] = Field(default_factory=list, max_length=20)


class AcceptIn(InputSchema):
    note: str = Field("", max_length=2000)
    version: int | None = None


class DeclineIn(InputSchema):
    reason: str = Field(min_length=1, max_length=2000, description="Why (an inbound referrer is told)")
    version: int | None = None


class ConsultDocumentIn(InputSchema):
    filename: str = Field(
        min_length=1,
        max_length=255,
        examples=["consult-note.pdf"],
        description="Its name: the extension says its type (pdf, png, jpg, jpeg or txt)",
    )
    content_type: str = Field(
        "", max_length=100, examples=["application/pdf"], description="Optional; must match the name's type"
    )
    content_base64: str = Field(
        min_length=1,
        description="The file itself, base64 (standard alphabet; line breaks allowed). The chart takes "
        "files up to CAREDESK_DOCUMENT_MAX_BYTES; the whole request body at most 12 MB.",
    )


class StepIn(InputSchema):
    action: str = Field(description="send, receive, accept, decline, reroute, schedule, seen, close, cancel")
    note: str = Field("", max_length=2000, description="Required to decline or cancel (the reason)")
    receiver_id: int | None = Field(None, ge=1, le=MAX_ID, description="For reroute (and optionally send)")
    appointment_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="For schedule: one of the patient's booked appointments (its time is taken)",
    )
    appointment_at: dt.datetime | None = Field(
        None, description="For schedule, an appointment booked elsewhere: its time, with its UTC offset"
    )
    consult_document: ConsultDocumentIn | None = Field(
        None, description="For close (a referral we sent): the consult note received, filed in the chart"
    )
    occurred_at: dt.datetime | None = Field(
        None,
        description="When the step happened, with its UTC offset, for one entered after the fact (default "
        "now; not in the future, not before the previous step, at most 365 days back)",
    )
    version: int | None = None


class SendIn(InputSchema):
    receiver_id: int | None = Field(None, ge=1, le=MAX_ID)
    version: int | None = None


def _consult_upload(document: ConsultDocumentIn) -> UploadedFile:
    """The JSON body's file as the upload the referral page's form sends (patients.services checks its
    type, content and size the same way). InvalidDocument (400) for content that is not base64 or a
    content type that is not the one the name says."""
    try:
        content = base64.b64decode("".join(document.content_base64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidDocument(
            "The consult document's content is not valid base64.",
            field="consult_document.content_base64",
        ) from exc
    types: dict[str, str] = settings.CAREDESK_DOCUMENT_TYPES
    named = types.get(file_extension(document.filename))
    declared = document.content_type.strip().lower()
    if declared and named and declared != named:
        raise InvalidDocument(
            f"A file named {document.filename!r} is {named}, not {declared}.",
            field="consult_document.content_type",
        )
    return SimpleUploadedFile(document.filename, content, content_type=declared or named or "")


def _full(referral_id: int, request: HttpRequest) -> Referral:
    actor = actor_of(request)
    return selectors.get_referral(
        actor=actor, referral_id=referral_id, overrides=services.step_overrides()
    ).referral


@endpoint(
    "GET",
    "/referral-receivers",
    Permission.REFERRAL_VIEW,
    response={200: ReceiverListOut, **ERRORS},
    summary="Referral receivers",
    tags=TAGS,
)
def list_receivers(request: HttpRequest) -> Any:
    """The organization's receiver directory, by name."""
    return {"results": list(selectors.receiver_queryset(actor_of(request)))}


@endpoint(
    "GET",
    "/referrals",
    Permission.REFERRAL_VIEW,
    response={200: ReferralPageOut, **ERRORS},
    summary="Search referrals",
    tags=TAGS,
)
def list_referrals(request: HttpRequest, filters: Query[ReferralFilters]) -> Any:
    """Oldest step first; filter by status (or `open`), specialty, patient, overdue, direction
    (`inbound`: referrals other practices sent us). Audited."""
    found = selectors.list_referrals(
        actor=actor_of(request),
        query=selectors.ReferralQuery(
            status=filters.status,
            overdue=filters.overdue,
            patient_id=filters.patient_id,
            specialty=filters.specialty,
            direction=filters.direction,
        ),
        overrides=services.step_overrides(),
        page=filters.page,
        page_size=filters.page_size,
    )
    rows = [
        {
            "id": row.referral.pk,
            "patient_id": row.referral.patient_id,
            "direction": row.referral.direction,
            "referrer_name": row.referral.referrer_name,
            "specialty": row.referral.specialty,
            "receiver_id": row.referral.receiver_id,
            "urgency": row.referral.urgency,
            "status": row.referral.status,
            "status_changed_at": row.referral.status_changed_at,
            "due": row.due,
            "overdue": row.overdue,
        }
        for row in found.rows
    ]
    return {"results": rows, "page": found.page, "has_next": found.has_next}


@endpoint(
    "GET",
    "/referrals/{referral_id}",
    Permission.REFERRAL_VIEW,
    response={200: ReferralOut, **ERRORS},
    summary="Read a referral",
    tags=TAGS,
)
def read_referral(request: HttpRequest, referral_id: ReferralId) -> Any:
    """One referral with its diagnoses, attachments and timeline. Audited."""
    return _full(referral_id, request)


@endpoint(
    "POST",
    "/referrals",
    Permission.REFERRAL_CREATE,
    response={201: ReferralOut, **WRITE_ERRORS},
    summary="Create a referral",
    tags=TAGS,
)
def create_referral(request: HttpRequest, payload: ReferralIn, response: HttpResponse) -> Any:
    """A draft, or sent at once with `"send": true`. Diagnoses are ICD-10-CM codes; `document_ids` are
    current documents of the patient's chart."""
    referral = services.create_referral(
        actor=actor_of(request),
        data=services.NewReferral(
            patient_id=payload.patient_id,
            specialty=payload.specialty,
            reason=payload.reason,
            receiver_id=payload.receiver_id,
            urgency=payload.urgency,
            diagnoses=payload.diagnoses,
            document_ids=payload.document_ids,
            include_chart_summary=payload.include_chart_summary,
            authorization_required=payload.authorization_required,
            authorization_number=payload.authorization_number,
        ),
        send=payload.send,
        occurred_at=payload.occurred_at,
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/referrals/{referral.pk}")
    return Status(201, referral)


@endpoint(
    "POST",
    "/referrals/{referral_id}/send",
    Permission.REFERRAL_CREATE,
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Send a draft referral",
    tags=TAGS,
)
def send_referral(request: HttpRequest, referral_id: ReferralId, payload: SendIn) -> Any:
    """Send a draft (optionally to the receiver named now)."""
    services.act(
        actor=actor_of(request),
        referral_id=referral_id,
        action="send",
        receiver_id=payload.receiver_id,
        expected_version=payload.version,
    )
    return _full(referral_id, request)


@endpoint(
    "POST",
    "/referrals/{referral_id}/steps",
    Permission.REFERRAL_SCHEDULE,
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Take a step of the loop",
    tags=TAGS,
)
def take_step(request: HttpRequest, referral_id: ReferralId, payload: StepIn) -> Any:
    """Send, receive, accept, decline (with the reason), re-route (to another receiver), schedule (one
    of the patient's booked appointments, `appointment_id`, or the time of one booked elsewhere,
    `appointment_at`), seen, close (consult note received; `consult_document` files it in the patient's
    chart, linked from this step) or cancel (with the reason). Sending needs REFERRAL_CREATE, scheduling
    and "seen" REFERRAL_SCHEDULE, the rest REFERRAL_MANAGE (filing the note also DOCUMENT_UPLOAD). A
    refused appointment or document answers 400 and changes nothing."""
    upload = None if payload.consult_document is None else _consult_upload(payload.consult_document)
    try:
        services.act(
            actor=actor_of(request),
            referral_id=referral_id,
            action=payload.action,
            note=payload.note,
            receiver_id=payload.receiver_id,
            appointment_at=payload.appointment_at,
            expected_version=payload.version,
            appointment_id=payload.appointment_id,
            consult_document=upload,
            occurred_at=payload.occurred_at,
        )
    except InvalidDocument as exc:
        if exc.field == "file":  # patients.services names its own form's field
            exc.field = "consult_document"
        raise
    return _full(referral_id, request)


@endpoint(
    "POST",
    "/inbound-referrals",
    Permission.REFERRAL_CREATE,
    response={201: ReferralOut, **WRITE_ERRORS},
    summary="Register an inbound referral",
    tags=TAGS,
)
def register_inbound_referral(
    request: HttpRequest, payload: InboundReferralIn, response: HttpResponse
) -> Any:
    """A referral another practice sent us about a patient of ours: received, with the referring party,
    and put on the intake queue (a worklist task) until it is accepted or declined. Diagnoses are
    ICD-10-CM codes; `document_ids` are current documents of the patient's chart."""
    referral = services.register_inbound_referral(
        actor=actor_of(request),
        data=services.NewInboundReferral(
            patient_id=payload.patient_id,
            specialty=payload.specialty,
            reason=payload.reason,
            referrer_name=payload.referrer.name,
            referrer_kind=payload.referrer.kind,
            referrer_npi=payload.referrer.npi,
            referrer_phone=payload.referrer.phone,
            referrer_fax=payload.referrer.fax,
            received_at=payload.received_at,
            practitioner_id=payload.practitioner_id,
            urgency=payload.urgency,
            diagnoses=payload.diagnoses,
            document_ids=payload.document_ids,
        ),
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/referrals/{referral.pk}")
    return Status(201, referral)


@endpoint(
    "POST",
    "/referrals/{referral_id}/accept",
    Permission.REFERRAL_MANAGE,
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Accept a referral",
    tags=TAGS,
)
def accept_referral(request: HttpRequest, referral_id: ReferralId, payload: AcceptIn) -> Any:
    """Accept an inbound referral (it leaves the intake queue), or record that the receiver accepted an
    outbound one."""
    services.act(
        actor=actor_of(request),
        referral_id=referral_id,
        action="accept",
        note=payload.note,
        expected_version=payload.version,
    )
    return _full(referral_id, request)


@endpoint(
    "POST",
    "/referrals/{referral_id}/decline",
    Permission.REFERRAL_MANAGE,
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Decline a referral (with the reason)",
    tags=TAGS,
)
def decline_referral(request: HttpRequest, referral_id: ReferralId, payload: DeclineIn) -> Any:
    """Decline an inbound referral with the reason: final, and the referring party is told why (an entry
    in the communication log). For an outbound one: record that the receiver declined (it goes on the
    worklist until it is re-routed or cancelled)."""
    services.act(
        actor=actor_of(request),
        referral_id=referral_id,
        action="decline",
        note=payload.reason,
        expected_version=payload.version,
    )
    return _full(referral_id, request)
