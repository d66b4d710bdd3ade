"""Chart documents and printed letters -> FHIR R4 DocumentReference (validated with fhir.resources.R4B),
with the read and search handlers, and `Binary/[id]`, the authorized download of the content (registered in
fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

Ids cannot collide: a chart document is `[id]`, a letter `letter-[id]` (the id of its communication-log
entry); the same ids name their content, `Binary/[id]` and `Binary/letter-[id]`.

A document's content is never inlined: `content[0].attachment.url` is `[base]/Binary/[id]`, which answers
the file itself to the same bearer token (audited DOCUMENT_DOWNLOAD, like the chart's download link),
with its content type, size and original file name. The document's title is its `description` and its
`type` (text: Caredesk keeps no document codes), the one who filed it the `author`; a correction is a new
document that `relatesTo` (replaces) the old one, which turns `superseded`; a retraction `entered-in-error`.
Documents sent with referrals name them in `context.related` (`ServiceRequest/referral-[id]`, as
service_request.py serves referrals) and carry the category `referral`; the others `chart`.

A letter (appointment, referral, no-show, statement cover: messaging/letters.py, recorded once in the
communication log) has the category `letter`, the type LOINC 51852-2 "Letter" with its template
(`urn:caredesk:letter-template`), its subject as `description`, the one who sent it as `author`, the time
it was sent as `date`, and in `context.related` its log entry (`Communication/[id]`) and what it is about
(`ServiceRequest/referral-[id]`, `Appointment/[id]`). Its content is the PDF as printed from the log
(`Binary/letter-[id]`, audited LETTER_PRINT); reading the DocumentReference is audited COMMUNICATION_VIEW,
a search that shows letters COMMUNICATION_SEARCH (documents: CLINICAL_VIEW as before). Letters are always
`current` PDFs; staff see them with the communication-log permission, a portal user their own.

Search (documents and letters together, newest first): `patient`, `type` (the title or a letter's subject
starts with it, case-insensitive; `http://loinc.org|51852-2`: letters only), `contenttype`, `status`, `date`
(the day it was filed or sent, or a bound with ge/gt/le/lt; the organization's calendar days), `related`
(`ServiceRequest/referral-[id]`, or the bare referral id: the documents sent with that referral and the
letters about it), `_id`.

Staff who file or read charts, and a portal user (the current documents of their own record).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from fhir.resources.R4B.documentreference import DocumentReference as FhirDocumentReference

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.messaging import selectors as messaging_selectors
from caredesk.messaging.choices import LetterTemplate
from caredesk.messaging.errors import CommunicationNotFound
from caredesk.messaging.models import Communication
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import EntryStatus
from caredesk.patients.errors import EntryNotFound
from caredesk.patients.models import Document
from caredesk.referrals import selectors as referral_selectors
from caredesk.transitions import selectors as transitions_selectors

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .encounter import date_bounds
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

MAX_ID = 2**63 - 1
CATEGORY_SYSTEM = "urn:caredesk:document-category"
LETTER_TEMPLATE_SYSTEM = "urn:caredesk:letter-template"
LOINC = "http://loinc.org"
LETTER_CODE = "51852-2"  # LOINC document type "Letter"
LETTER_PREFIX = "letter-"
REFERRAL_PREFIX = "referral-"  # service_request.py's ids of referrals
LETTER_CONTENT_TYPE = "application/pdf"
STATUS = {
    EntryStatus.CURRENT: "current",
    EntryStatus.SUPERSEDED: "superseded",
    EntryStatus.ENTERED_IN_ERROR: "entered-in-error",
}
SEARCH_STATUS = {theirs: ours for ours, theirs in STATUS.items()}
SEARCH_PARAMS = ("patient", "subject", "type", "contenttype", "status", "date", "related", "_id")
VIEW_PERMISSIONS = (Permission.CLINICAL_VIEW, Permission.PORTAL_OWN_RECORD)
SUPPORT = ResourceSupport(
    "DocumentReference",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "The patient whose chart holds the document"),
        SearchParam(
            "type",
            "token",
            f"The title (a letter's subject) starts with this (case-insensitive); {LOINC}|{LETTER_CODE}: "
            "letters only",
        ),
        SearchParam("contenttype", "token", "The file's MIME type, e.g. application/pdf"),
        SearchParam("status", "token", "current, superseded or entered-in-error"),
        SearchParam(
            "date",
            "date",
            "The day it was filed or sent (YYYY-MM-DD), optionally prefixed ge, gt, le or lt",
        ),
        SearchParam(
            "related",
            "reference",
            f"ServiceRequest/{REFERRAL_PREFIX}[id]: the documents sent with that referral and the "
            "letters about it",
        ),
        SearchParam("_id", "token", f"One document id, or {LETTER_PREFIX}[id] for a letter"),
    ),
    "Chart documents ([id]) and the letters sent to patients (letter-[id], category letter, LOINC "
    "51852-2). content.attachment.url is [base]/Binary/[id], the authorized download (the same bearer "
    "token).",
)
BINARY_SUPPORT = ResourceSupport(
    "Binary",
    ("read",),
    (),
    "A chart document's content, as its own MIME type, or a letter's PDF (letter-[id]) (audited download).",
)


def document_to_fhir(document: Document, *, base: str, referral_ids: list[int]) -> FhirDocumentReference:
    category = "referral" if referral_ids else "chart"
    data: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": str(document.pk),
        "meta": {"lastUpdated": instant(document.updated_at)},
        "status": STATUS.get(EntryStatus(document.status), "current")
        if document.status in EntryStatus.values
        else "current",
        "docStatus": "final",
        "type": {"text": document.title},
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": category,
                        "display": "Sent with a referral" if referral_ids else "Chart document",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{document.patient_id}"},
        "date": instant(document.created_at),
        "author": [{"display": document.recorded_by_name}],
        "description": document.title,
        "relatesTo": [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{document.supersedes_id}"}}
        ]
        if document.supersedes_id
        else [],
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "url": f"{base}/Binary/{document.pk}",
                    "size": document.size_bytes,
                    "title": document.original_filename,
                    "creation": instant(document.created_at),
                }
            }
        ],
        "context": {
            "related": [{"reference": f"ServiceRequest/{REFERRAL_PREFIX}{pk}"} for pk in referral_ids]
        }
        if referral_ids
        else None,
    }
    return FhirDocumentReference.model_validate(compact(data))


def letter_to_fhir(entry: Communication, *, base: str) -> FhirDocumentReference:
    template = entry.letter_template
    label = LetterTemplate(template).label if template in LetterTemplate.values else template
    resource_id = f"{LETTER_PREFIX}{entry.pk}"
    related: list[dict[str, Any]] = [
        {"reference": f"Communication/{entry.pk}", "display": "Sent (log entry)"}
    ]
    if entry.referral_id is not None:
        related.append(
            {"reference": f"ServiceRequest/{REFERRAL_PREFIX}{entry.referral_id}", "display": "Referral"}
        )
    if entry.appointment_id is not None:
        related.append({"reference": f"Appointment/{entry.appointment_id}", "display": "Appointment"})
    data: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": resource_id,
        "meta": {"lastUpdated": instant(entry.created_at)},
        "status": "current",
        "docStatus": "final",
        "type": {
            "coding": [
                {"system": LOINC, "code": LETTER_CODE, "display": "Letter"},
                {"system": LETTER_TEMPLATE_SYSTEM, "code": template, "display": label},
            ],
            "text": label,
        },
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "letter", "display": "Letter to the patient"}]}
        ],
        "subject": {"reference": f"Patient/{entry.patient_id}"},
        "date": instant(entry.occurred_at),
        "author": [{"display": entry.logged_by_name}],
        "description": entry.subject,
        "content": [
            {
                "attachment": {
                    "contentType": LETTER_CONTENT_TYPE,
                    "url": f"{base}/Binary/{resource_id}",
                    "title": f"{resource_id}.pdf",
                    "creation": instant(entry.occurred_at),
                }
            }
        ],
        "context": {"related": related},
    }
    return FhirDocumentReference.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


@dataclass(frozen=True)
class _Criteria:
    """The search as criteria of each source; None where nothing of that source can match."""

    documents: patient_selectors.DocumentSearch | None
    letters: messaging_selectors.LetterSearch | None


def _referral_id(value: str) -> int | None:
    """`related`: ServiceRequest/referral-[id] (or the bare referral id) -> the referral's id; 400 for
    another resource type."""
    resource_type, _, reference = value.rpartition("/")
    if resource_type.rsplit("/", 1)[-1] not in ("", "ServiceRequest"):
        raise params.invalid("related must refer to a ServiceRequest (a referral).", "related")
    return _number(reference.removeprefix(REFERRAL_PREFIX))


def _criteria(actor: Actor, search: params.Search) -> _Criteria:
    """The search as document and letter criteria."""
    documents: dict[str, Any] = {}
    letters: dict[str, Any] = {}
    with_documents = with_letters = True
    if "patient" in search.values or "subject" in search.values:
        _, reference = params.patient_reference(search)
        patient_id = _number(reference)
        if patient_id is None:
            return _Criteria(None, None)
        documents["patient_id"] = letters["patient_id"] = patient_id
    if "type" in search.values:
        system, _, code = search.values["type"].rpartition("|")
        if system == LOINC and code == LETTER_CODE:
            with_documents = False
        else:
            documents["title_prefix"] = letters["subject_prefix"] = code
    if "contenttype" in search.values:
        content_type = search.values["contenttype"].rpartition("|")[2]
        documents["content_type"] = content_type
        with_letters = with_letters and content_type.lower() == LETTER_CONTENT_TYPE
    status = search.values.get("status")
    if status is not None:
        if status not in SEARCH_STATUS:
            raise params.invalid(f"status must be one of {', '.join(SEARCH_STATUS)}.", "status")
        documents["statuses"] = (SEARCH_STATUS[status],)
        with_letters = with_letters and status == "current"
    date = search.values.get("date")
    if date is not None:
        zone = transitions_selectors.organization_zone(actor.organization_id)
        start, end = date_bounds(date, zone)
        documents["created_from"], documents["created_to"] = start, end
        letters["sent_from"], letters["sent_to"] = start, end
    ids: set[int] | None = None
    related = search.values.get("related")
    if related is not None:
        referral_id = _referral_id(related)
        if referral_id is None:
            return _Criteria(None, None)
        ids = set(referral_selectors.documents_of_referral(actor=actor, referral_id=referral_id))
        letters["referral_id"] = referral_id
    wanted = search.values.get("_id")
    if wanted is not None:
        letter_id = _number(wanted.removeprefix(LETTER_PREFIX)) if wanted.startswith(LETTER_PREFIX) else None
        letters["letter_ids"] = (letter_id,)
        with_letters = with_letters and letter_id is not None
        pk = _number(wanted)
        ids = ({pk} if pk is not None else set()) if ids is None else ids & {pk}
    if ids is not None:
        documents["document_ids"] = tuple(sorted(ids))
        with_documents = with_documents and bool(ids)
    return _Criteria(
        patient_selectors.DocumentSearch(**documents) if with_documents else None,
        messaging_selectors.LetterSearch(**letters) if with_letters else None,
    )


@operation(
    "GET",
    "/DocumentReference/{entry_id}",
    Permission.DOCUMENT_UPLOAD,
    also=VIEW_PERMISSIONS,
    summary="Read a DocumentReference",
)
def read_document_reference(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    actor = _actor(actor)
    if entry_id.startswith(LETTER_PREFIX):
        try:
            entry = messaging_selectors.get_letter(
                actor=actor, letter_id=_number(entry_id.removeprefix(LETTER_PREFIX)), purpose="fhir-letter"
            )
        except CommunicationNotFound as exc:
            raise FhirError.single(404, "not-found", f"No DocumentReference with id {entry_id!r}.") from exc
        return fhir_response(letter_to_fhir(entry, base=base_url(request)))
    pk = _number(entry_id)
    if pk is None:
        raise FhirError.single(404, "not-found", f"No DocumentReference with id {entry_id!r}.")
    try:
        document = patient_selectors.get_document(actor=actor, document_id=pk)
    except EntryNotFound as exc:
        raise FhirError.single(404, "not-found", f"No DocumentReference with id {entry_id!r}.") from exc
    referrals = referral_selectors.referrals_of_documents(actor=actor, document_ids=[document.pk])
    resource = document_to_fhir(document, base=base_url(request), referral_ids=referrals.get(document.pk, []))
    return fhir_response(resource)


@operation(
    "GET",
    "/DocumentReference",
    Permission.DOCUMENT_UPLOAD,
    also=VIEW_PERMISSIONS,
    summary="Search DocumentReference by patient, type, contenttype, status, date, related",
)
def search_document_references(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    criteria = _criteria(actor, search)
    # Documents and letters are paged together: the first `reach` of each (times and ids only), merged
    # newest first; then each source reads exactly the ones shown, through its audited selector.
    start = (search.page - 1) * search.count
    reach = start + search.count + 1
    keys: list[tuple[dt.datetime, int, int]] = []  # (time, 0 document / 1 letter, id)
    if criteria.documents is not None:
        found = patient_selectors.document_keys(actor=actor, search=criteria.documents, limit=reach)
        keys += [(when, 0, pk) for when, pk in found]
    if criteria.letters is not None:
        found = messaging_selectors.letter_keys(actor=actor, search=criteria.letters, limit=reach)
        keys += [(when, 1, pk) for when, pk in found]
    keys.sort(key=lambda key: (-key[0].timestamp(), key[1], -key[2]))
    window = keys[start:reach]
    shown = window[: search.count]
    has_next = len(window) > search.count
    base = base_url(request)
    resources: dict[tuple[int, int], FhirDocumentReference] = {}
    if criteria.documents is not None:
        document_ids = tuple(pk for _, source, pk in shown if source == 0)
        documents, _ = patient_selectors.search_documents(
            actor=actor,
            search=dataclasses.replace(criteria.documents, document_ids=document_ids),
            page_size=max(1, len(document_ids)),
        )
        referrals = referral_selectors.referrals_of_documents(
            actor=actor, document_ids=[d.pk for d in documents]
        )
        for d in documents:
            resources[0, d.pk] = document_to_fhir(d, base=base, referral_ids=referrals.get(d.pk, []))
    letter_ids = tuple(pk for _, source, pk in shown if source == 1)
    if criteria.letters is not None and letter_ids:
        letters = messaging_selectors.search_letters(
            actor=actor, search=dataclasses.replace(criteria.letters, letter_ids=letter_ids)
        )
        for entry in letters:
            resources[1, entry.pk] = letter_to_fhir(entry, base=base)
    ordered = [resources[source, pk] for _, source, pk in shown if (source, pk) in resources]
    links = PageLinks(f"{base}/DocumentReference", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(ordered), has_next)
    return fhir_response(searchset(ordered, resource_url=base, links=links, total=total))


def _letter_binary(actor: Actor, entry_id: str) -> HttpResponse:
    try:
        letter = messaging_selectors.letter_pdf(
            actor=actor, communication_id=_number(entry_id.removeprefix(LETTER_PREFIX))
        )
    except CommunicationNotFound as exc:
        raise FhirError.single(404, "not-found", f"No Binary with id {entry_id!r}.") from exc
    response = HttpResponse(letter.pdf, content_type=LETTER_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, letter.filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@operation(
    "GET",
    "/Binary/{entry_id}",
    Permission.DOCUMENT_UPLOAD,
    also=VIEW_PERMISSIONS,
    summary="A chart document's content or a letter's PDF (the DocumentReference's attachment)",
)
def read_binary(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """The file as uploaded, with its own content type (audited DOCUMENT_DOWNLOAD); for `letter-[id]`, the
    letter's PDF as printed from the communication log (audited LETTER_PRINT)."""
    actor = _actor(actor)
    if entry_id.startswith(LETTER_PREFIX):
        return _letter_binary(actor, entry_id)
    pk = _number(entry_id)
    if pk is None:
        raise FhirError.single(404, "not-found", f"No Binary with id {entry_id!r}.")
    try:
        document = patient_selectors.open_document(actor=actor, document_id=pk)
    except EntryNotFound as exc:
        raise FhirError.single(404, "not-found", f"No Binary with id {entry_id!r}.") from exc
    try:
        with document.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError as exc:
        raise FhirError.single(
            404, "not-found", "The file of this document is missing from storage."
        ) from exc
    response = HttpResponse(content, content_type=document.content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(
        True, document.original_filename or "document"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
