"""Chart documents -> FHIR R4 DocumentReference (validated with fhir.resources.R4B), with the read and
search handlers, and `Binary/[id]`, the authorized download of a document's content (registered in
fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

A document's content is never inlined: `content[0].attachment.url` is `[base]/Binary/[id]`, which answers
the file itself to the same bearer token (audited DOCUMENT_DOWNLOAD, like the chart's download link),
with its content type, size and original file name. The document's title is its `description` and its
`type` (text: Caredesk keeps no document codes), the one who filed it the `author`; a correction is a new
document that `relatesTo` (replaces) the old one, which turns `superseded`; a retraction `entered-in-error`.
Documents sent with referrals name them in `context.related` (`ServiceRequest/[referral id]`) and carry
the category `referral`; the others `chart`.

Search: `patient`, `type` (the title starts with it, case-insensitive), `contenttype`, `status`, `date`
(the day it was filed, or a bound with ge/gt/le/lt; the organization's calendar days), `related`
(`ServiceRequest/[id]`: the documents sent with that referral), `_id`. Newest first.

Staff who file or read charts, and a portal user (the current documents of their own record).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from fhir.resources.R4B.documentreference import DocumentReference as FhirDocumentReference

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
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
        SearchParam("type", "token", "The document's title starts with this (case-insensitive)"),
        SearchParam("contenttype", "token", "The file's MIME type, e.g. application/pdf"),
        SearchParam("status", "token", "current, superseded or entered-in-error"),
        SearchParam(
            "date", "date", "The day it was filed (YYYY-MM-DD), optionally prefixed ge, gt, le or lt"
        ),
        SearchParam("related", "reference", "ServiceRequest/[id]: the documents sent with that referral"),
        SearchParam("_id", "token", "One document id"),
    ),
    "content.attachment.url is [base]/Binary/[id], the authorized download (the same bearer token).",
)
BINARY_SUPPORT = ResourceSupport(
    "Binary", ("read",), (), "A chart document's content, as its own MIME type (audited download)."
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
        "context": {"related": [{"reference": f"ServiceRequest/{pk}"} for pk in referral_ids]}
        if referral_ids
        else None,
    }
    return FhirDocumentReference.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


def _criteria(actor: Actor, search: params.Search) -> patient_selectors.DocumentSearch | None:
    """The search as document criteria; None when nothing can match."""
    criteria: dict[str, Any] = {}
    if "patient" in search.values or "subject" in search.values:
        _, reference = params.patient_reference(search)
        criteria["patient_id"] = _number(reference)
        if criteria["patient_id"] is None:
            return None
    if "type" in search.values:
        criteria["title_prefix"] = search.values["type"].rpartition("|")[2]
    if "contenttype" in search.values:
        criteria["content_type"] = search.values["contenttype"].rpartition("|")[2]
    status = search.values.get("status")
    if status is not None:
        if status not in SEARCH_STATUS:
            raise params.invalid(f"status must be one of {', '.join(SEARCH_STATUS)}.", "status")
        criteria["statuses"] = (SEARCH_STATUS[status],)
    date = search.values.get("date")
    if date is not None:
        zone = transitions_selectors.organization_zone(actor.organization_id)
        criteria["created_from"], criteria["created_to"] = date_bounds(date, zone)
    ids: set[int] | None = None
    related = search.values.get("related")
    if related is not None:
        resource_type, _, reference_id = related.rpartition("/")
        if resource_type.rsplit("/", 1)[-1] not in ("", "ServiceRequest"):
            raise params.invalid("related must refer to a ServiceRequest (a referral).", "related")
        ids = set(referral_selectors.documents_of_referral(actor=actor, referral_id=reference_id))
    wanted = search.values.get("_id")
    if wanted is not None:
        pk = _number(wanted)
        ids = ({pk} if pk is not None else set()) if ids is None else ids & {pk}
    if ids is not None:
        if not ids:
            return None
        criteria["document_ids"] = tuple(sorted(ids))
    return patient_selectors.DocumentSearch(**criteria)


@operation(
    "GET",
    "/DocumentReference/{entry_id}",
    Permission.DOCUMENT_UPLOAD,
    also=VIEW_PERMISSIONS,
    summary="Read a DocumentReference",
)
def read_document_reference(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    actor = _actor(actor)
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
    documents: list[Document] = []
    has_next = False
    if criteria is not None:
        documents, has_next = patient_selectors.search_documents(
            actor=actor, search=criteria, page=search.page, page_size=search.count
        )
    referrals = referral_selectors.referrals_of_documents(actor=actor, document_ids=[d.pk for d in documents])
    base = base_url(request)
    links = PageLinks(f"{base}/DocumentReference", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(documents), has_next)
    resources = [document_to_fhir(d, base=base, referral_ids=referrals.get(d.pk, [])) for d in documents]
    return fhir_response(searchset(resources, resource_url=base, links=links, total=total))


@operation(
    "GET",
    "/Binary/{entry_id}",
    Permission.DOCUMENT_UPLOAD,
    also=VIEW_PERMISSIONS,
    summary="A chart document's content (the DocumentReference's attachment)",
)
def read_binary(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """The file as uploaded, with its own content type (audited DOCUMENT_DOWNLOAD)."""
    actor = _actor(actor)
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
