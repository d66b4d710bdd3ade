"""Orders and referrals -> FHIR R4 ServiceRequest (validated with fhir.resources.R4B), served together by
one read and one search handler (registered in fhir/urls.py, listed in the CapabilityStatement by
fhir/views.py).

Ids cannot collide: an order is `order-<id>`, a referral `referral-<id>`. The first `category` coding
(`urn:caredesk:service-request-category`) says which it is (`order` or `referral`); an order also carries
its kind (`urn:caredesk:order-kind`: lab, imaging, procedure, referral, dme) and the SNOMED CT category
where one exists. Status: an order's draft -> `draft`, placed and in progress -> `active`, completed ->
`completed`, cancelled and revoked -> `revoked`; a referral's draft -> `draft`, sent ... seen and declined
(being re-routed) -> `active`, consult note received -> `completed`, cancelled -> `revoked`. An order's
requester is its ordering Practitioner; a referral's is the user who wrote it (by name). Diagnoses are
`reasonCode` in ICD-10-CM; a completed order's result and a cancellation's reason are `note`s.

Search: patient (or subject), requester (Practitioner/<id>: orders only), status, category (`order`,
`referral`, or an order kind such as `lab` or `urn:caredesk:order-kind|imaging`), authored (a date with
eq, ge, gt, le or lt; whole UTC days), _id. Newest first. Staff see orders with ORDER_VIEW and referrals
with REFERRAL_VIEW; a portal token sees only the patient's own (drafts left out). Reads and searches are
audited by orders.selectors.

Create (REFERRAL_CREATE) makes a referral through referrals.services.create_referral; orders are placed
through the JSON API. The body's `category` says `referral` (urn:caredesk:service-request-category, or SNOMED
CT 3457005); `status` draft keeps it a draft, active sends it at once; `subject` is the Patient; the
specialty is `performerType` (or `code`) in urn:caredesk:specialty, or the receiver's; `performer` (at most
one) is a receiver of the referral directory: by identifier (urn:caredesk:referral-receiver, as a referral
is read, or its NPI), or a `Practitioner/[id]` whose NPI is in the directory; `reasonCode` carries the
ICD-10-CM diagnoses (codings of http://hl7.org/fhir/sid/icd-10-cm, checked) and the reason as a text
without coding (required); `priority` routine, urgent or stat (asap is taken as urgent). Other elements
are not stored. Refused requests change nothing: 400 malformed, 403 without the permission, 422 anything
the referral rules refuse (an unknown code, patient or receiver).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.servicerequest import ServiceRequest

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.orders import selectors
from caredesk.orders.choices import OrderKind, OrderStatus
from caredesk.orders.models import Order
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.referrals import selectors as referral_selectors
from caredesk.referrals import services as referral_services
from caredesk.referrals.choices import ReferralStatus, Specialty, Urgency

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, read_json_body, search_pairs, validate
from .outcomes import FhirError, write_error

CATEGORY_SYSTEM = "urn:caredesk:service-request-category"
ORDER_KIND_SYSTEM = "urn:caredesk:order-kind"
SPECIALTY_SYSTEM = "urn:caredesk:specialty"
ORDER_SYSTEM = "urn:caredesk:order"
REFERRAL_SYSTEM = "urn:caredesk:referral"
RECEIVER_SYSTEM = "urn:caredesk:referral-receiver"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
MAX_ID = 2**63 - 1
CODE_SYSTEMS = {
    "loinc": "http://loinc.org",
    "cpt": "http://www.ama-assn.org/go/cpt",
    "hcpcs": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "snomed": SNOMED,
    "local": "urn:caredesk:order-code",
}
#: SNOMED CT categories of the FHIR servicerequest-category value set (DME has none).
SNOMED_CATEGORY: dict[str, tuple[str, str]] = {
    OrderKind.LAB: ("108252007", "Laboratory procedure"),
    OrderKind.IMAGING: ("363679005", "Imaging"),
    OrderKind.PROCEDURE: ("387713003", "Surgical procedure"),
    OrderKind.REFERRAL: ("3457005", "Patient referral"),
}
ORDER_STATUS: dict[str, str] = {
    OrderStatus.DRAFT: "draft",
    OrderStatus.ACTIVE: "active",
    OrderStatus.IN_PROGRESS: "active",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.CANCELLED: "revoked",
    OrderStatus.REVOKED: "revoked",
}
REFERRAL_STATUS: dict[str, str] = {
    ReferralStatus.DRAFT: "draft",
    ReferralStatus.SENT: "active",
    ReferralStatus.RECEIVED: "active",
    ReferralStatus.ACCEPTED: "active",
    ReferralStatus.SCHEDULED: "active",
    ReferralStatus.SEEN: "active",
    ReferralStatus.DECLINED: "active",
    ReferralStatus.CLOSED: "completed",
    ReferralStatus.CANCELLED: "revoked",
}
SEARCH_STATUSES = ("draft", "active", "completed", "revoked")
SEARCH_PARAMS = ("patient", "subject", "requester", "status", "category", "authored", "_id")
_DATE = re.compile(r"^(?P<prefix>eq|ge|gt|le|lt)?(?P<date>\d{4}-\d{2}-\d{2})$")
SUPPORT = ResourceSupport(
    "ServiceRequest",
    ("read", "search-type", "create"),
    (
        SearchParam("patient", "reference", "The patient the order or referral is for"),
        SearchParam("requester", "reference", "The ordering Practitioner (orders only)"),
        SearchParam("status", "token", "draft, active, completed or revoked"),
        SearchParam(
            "category",
            "token",
            f"order or referral ({CATEGORY_SYSTEM}), or an order kind ({ORDER_KIND_SYSTEM}|lab)",
        ),
        SearchParam("authored", "date", "When written: YYYY-MM-DD with eq, ge, gt, le or lt (UTC days)"),
        SearchParam("_id", "token", "order-<id> or referral-<id>"),
    ),
    "Orders (labs, imaging, procedures, referrals, DME) and referrals, ids order-<id> and referral-<id>. "
    f"Create makes a referral (category referral): subject, performerType = specialty ({SPECIALTY_SYSTEM}), "
    f"performer = a receiver ({RECEIVER_SYSTEM} or NPI identifier, or a Practitioner/[id] of the "
    "directory), reasonCode = ICD-10-CM diagnoses and the reason as text, priority = urgency, status draft "
    "or active (sent at once). Orders are created through the JSON API.",
)


def _priority(value: str) -> str:
    return value if value in ("routine", "urgent", "asap", "stat") else "routine"


def _reasons(diagnoses: list[dict[str, str]], text: str) -> list[dict[str, Any]]:
    coded = [
        {"coding": [{"system": ICD10CM, "code": d["code"], "display": d.get("description", "")}]}
        for d in diagnoses
    ]
    return [*coded, {"text": text}] if text else coded


def order_to_fhir(order: Order) -> ServiceRequest:
    kind = OrderKind(order.kind)
    category = [
        {"coding": [{"system": CATEGORY_SYSTEM, "code": "order", "display": "Order"}]},
        {"coding": [{"system": ORDER_KIND_SYSTEM, "code": kind.value, "display": kind.label}]},
    ]
    if kind in SNOMED_CATEGORY:
        code, display = SNOMED_CATEGORY[kind]
        category.append({"coding": [{"system": SNOMED, "code": code, "display": display}]})
    notes = []
    if order.result:
        notes.append(
            {
                "text": f"Result: {order.result}",
                "time": instant(order.completed_at) if order.completed_at else None,
            }
        )
    if order.status_reason:
        notes.append({"text": f"{order.get_status_display()}: {order.status_reason}"})
    if order.override_reason:
        notes.append(
            {"text": f"Placed past a failed check by {order.override_by_name}: {order.override_reason}"}
        )
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"{selectors.ORDER_PREFIX}{order.pk}",
        "meta": {"lastUpdated": instant(order.updated_at), "versionId": str(order.version)},
        "identifier": [{"system": ORDER_SYSTEM, "value": str(order.pk)}],
        "status": ORDER_STATUS.get(order.status, "unknown"),
        "intent": "order",
        "category": category,
        "priority": _priority(order.priority),
        "code": {
            "coding": [
                {
                    "system": CODE_SYSTEMS.get(order.code_system, CODE_SYSTEMS["local"]),
                    "code": order.code,
                    "display": order.code_display,
                }
            ],
            "text": order.code_display or order.code,
        },
        "subject": {"reference": f"Patient/{order.patient_id}"},
        "occurrenceDateTime": order.service_date.isoformat(),
        "authoredOn": instant(order.authored_at),
        "requester": {
            "reference": f"Practitioner/{order.practitioner_id}",
            "display": str(order.practitioner),
        }
        if order.practitioner_id is not None
        else {"display": order.created_by_name},
        "locationReference": [
            {"display": order.location.name + (" (telehealth)" if order.telehealth else "")}
        ],
        "reasonCode": _reasons(order.diagnoses, order.reason),
        "note": notes,
    }
    return ServiceRequest.model_validate(compact(data))


def referral_to_fhir(referral: Any) -> ServiceRequest:
    specialty = Specialty(referral.specialty)
    notes = [{"text": referral.outcome_note}] if referral.outcome_note else []
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"{selectors.REFERRAL_PREFIX}{referral.pk}",
        "meta": {"lastUpdated": instant(referral.updated_at), "versionId": str(referral.version)},
        "identifier": [{"system": REFERRAL_SYSTEM, "value": str(referral.pk)}],
        "status": REFERRAL_STATUS.get(referral.status, "unknown"),
        "intent": "order",
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "referral", "display": "Referral"}]},
            {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]},
        ],
        "priority": _priority(referral.urgency),
        "code": {
            "coding": [{"system": SPECIALTY_SYSTEM, "code": specialty.value, "display": specialty.label}],
            "text": f"Referral to {specialty.label}",
        },
        "subject": {"reference": f"Patient/{referral.patient_id}"},
        "authoredOn": instant(referral.created_at),
        "requester": {"display": referral.created_by_name},
        "performerType": {
            "coding": [{"system": SPECIALTY_SYSTEM, "code": specialty.value}],
            "text": specialty.label,
        },
        "performer": [
            {
                "type": "Organization" if referral.receiver.kind == "organization" else "Practitioner",
                "identifier": {"system": RECEIVER_SYSTEM, "value": str(referral.receiver_id)},
                "display": referral.receiver.name,
            }
        ]
        if referral.receiver_id and referral.receiver
        else [],
        "occurrenceDateTime": instant(referral.appointment_at) if referral.appointment_at else None,
        # The booked appointment of ours the referral is scheduled for (none when booked elsewhere).
        "supportingInfo": [{"reference": f"Appointment/{referral.appointment_id}"}]
        if referral.appointment_id
        else [],
        "reasonCode": _reasons(referral.diagnoses, referral.reason),
        "note": notes,
    }
    return ServiceRequest.model_validate(compact(data))


def to_fhir(item: Any) -> ServiceRequest:
    return order_to_fhir(item) if isinstance(item, Order) else referral_to_fhir(item)


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


def _authored(value: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    match = _DATE.match(value)
    if match is None:
        raise params.invalid(
            f"authored must be a date such as 2027-03-01 (after ge, gt, le, lt or eq), not {value!r}.",
            "authored",
        )
    try:
        day = dt.date.fromisoformat(match.group("date"))
    except ValueError as exc:
        raise params.invalid(f"{match.group('date')} is not a calendar date.", "authored") from exc
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    prefix = match.group("prefix") or "eq"
    return {
        "eq": (start, end),
        "ge": (start, None),
        "gt": (end, None),
        "le": (None, end),
        "lt": (None, start),
    }[prefix]


def _criteria(search: params.Search) -> selectors.ServiceRequestQuery | None:
    """The search in our terms; None when nothing can match (an unknown id shape or category)."""
    values = search.values
    criteria: dict[str, Any] = {}
    sources = {"order", "referral"}
    if "patient" in values or "subject" in values:
        _, reference = params.patient_reference(search)
        criteria["patient_id"] = _number(reference)
        if criteria["patient_id"] is None:
            return None
    requester = values.get("requester")
    if requester is not None:
        resource_type, _, reference = requester.rpartition("/")
        if resource_type and resource_type.rsplit("/", 1)[-1] != "Practitioner":
            raise params.invalid("requester must refer to a Practitioner.", "requester")
        criteria["practitioner_id"] = _number(reference)
        if criteria["practitioner_id"] is None:
            return None
        sources = {"order"}
    status = values.get("status")
    if status is not None:
        if status not in SEARCH_STATUSES:
            raise params.invalid(
                f"status must be one of {', '.join(SEARCH_STATUSES)}, not {status!r}.", "status"
            )
        criteria["order_statuses"] = tuple(k for k, v in ORDER_STATUS.items() if v == status)
        criteria["referral_statuses"] = tuple(k for k, v in REFERRAL_STATUS.items() if v == status)
    category = values.get("category")
    if category is not None:
        system, _, code = category.rpartition("|")
        if system in ("", CATEGORY_SYSTEM) and code in ("order", "referral"):
            sources &= {code}
        elif system in ("", ORDER_KIND_SYSTEM) and code in OrderKind.values:
            sources &= {"order"}
            criteria["order_kind"] = code
        else:
            return None
    authored = values.get("authored")
    if authored is not None:
        criteria["authored_from"], criteria["authored_before"] = _authored(authored)
    resource_id = values.get("_id")
    if resource_id is not None:
        if resource_id.startswith(selectors.ORDER_PREFIX):
            criteria["order_id"] = _number(resource_id.removeprefix(selectors.ORDER_PREFIX))
            sources &= {"order"}
            found = criteria["order_id"]
        elif resource_id.startswith(selectors.REFERRAL_PREFIX):
            criteria["referral_id"] = _number(resource_id.removeprefix(selectors.REFERRAL_PREFIX))
            sources &= {"referral"}
            found = criteria["referral_id"]
        else:
            found = None
        if found is None:
            return None
    if not sources:
        return None
    return selectors.ServiceRequestQuery(sources=frozenset(sources), **criteria)


@operation(
    "GET",
    "/ServiceRequest/{entry_id}",
    Permission.ORDER_VIEW,
    also=(Permission.REFERRAL_VIEW, Permission.PORTAL_OWN_RECORD),
    summary="Read a ServiceRequest (order-<id> or referral-<id>)",
)
def read_service_request(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    try:
        item = selectors.get_service_request(actor=_actor(actor), resource_id=entry_id)
    except NotFound as exc:
        raise FhirError.single(404, "not-found", f"No ServiceRequest with id {entry_id!r}.") from exc
    return fhir_response(to_fhir(item))


@operation(
    "GET",
    "/ServiceRequest",
    Permission.ORDER_VIEW,
    also=(Permission.REFERRAL_VIEW, Permission.PORTAL_OWN_RECORD),
    summary="Search ServiceRequest by patient, requester, status, category, authored, _id",
)
def search_service_requests(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    """Orders and referrals together, newest first."""
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    criteria = _criteria(search)
    items: list[Any] = []
    has_next = False
    if criteria is not None:
        items, has_next = selectors.search_service_requests(
            actor=actor, query=criteria, page=search.page, page_size=search.count
        )
    base = base_url(request)
    links = PageLinks(f"{base}/ServiceRequest", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(items), has_next)
    return fhir_response(searchset([to_fhir(i) for i in items], resource_url=base, links=links, total=total))


# --- create: a referral, through referrals.services.create_referral ------------------------------------

#: FHIR priority -> a referral's urgency (asap has no step of its own: urgent).
URGENCY: dict[str, str] = {
    "routine": Urgency.ROUTINE,
    "urgent": Urgency.URGENT,
    "asap": Urgency.URGENT,
    "stat": Urgency.STAT,
}
NEW_REFERRAL_STATUSES = {"draft": False, "active": True}  # -> sent at once
_FIELD_PATHS = {
    "patient_id": "ServiceRequest.subject",
    "specialty": "ServiceRequest.performerType",
    "reason": "ServiceRequest.reasonCode",
    "diagnoses": "ServiceRequest.reasonCode",
    "receiver_id": "ServiceRequest.performer",
    "urgency": "ServiceRequest.priority",
}


def _unprocessable(message: str, path: str, code: str = "") -> FhirError:
    return FhirError.single(422, "business-rule", message, expression=(path,), details_code=code)


def _is_referral(resource: ServiceRequest) -> bool:
    return any(
        (coding.system == CATEGORY_SYSTEM and coding.code == "referral")
        or (coding.system == SNOMED and coding.code == "3457005")
        for concept in resource.category or []
        for coding in concept.coding or []
    )


def _specialty_code(resource: ServiceRequest) -> str | None:
    concepts = [c for c in (resource.performerType, resource.code) if c is not None]
    codes = [
        str(coding.code)
        for concept in concepts
        for coding in concept.coding or []
        if coding.system == SPECIALTY_SYSTEM and coding.code
    ]
    if not codes:
        return None
    if len(set(codes)) > 1 or codes[0] not in Specialty.values:
        raise _unprocessable(
            f"The specialty must be one code of {SPECIALTY_SYSTEM} ({', '.join(Specialty.values)}).",
            "ServiceRequest.performerType",
        )
    return codes[0]


def _receiver(actor: Actor, resource: ServiceRequest) -> Any:
    """The directory receiver the performer names (None: a referral to a specialty)."""
    performers = resource.performer or []
    if not performers:
        return None
    path = "ServiceRequest.performer"
    if len(performers) > 1:
        raise _unprocessable("Name one performer (the receiver), not several.", path)
    performer = performers[0]
    receivers = referral_selectors.receiver_queryset(actor).filter(active=True)
    identifier = performer.identifier
    reference = str(performer.reference or "")
    found = None
    if identifier is not None and identifier.system == RECEIVER_SYSTEM:
        pk = _number(str(identifier.value or ""))
        found = receivers.filter(pk=pk).first() if pk is not None else None
    elif identifier is not None and identifier.system == NPI_SYSTEM and identifier.value:
        found = receivers.filter(npi=str(identifier.value)).order_by("pk").first()
    elif reference:
        kind, _, value = reference.rpartition("/")
        pk = _number(value)
        if kind.rsplit("/", 1)[-1] != "Practitioner" or pk is None:
            raise _unprocessable(
                f"performer must be a Practitioner/[id] or a receiver by identifier ({RECEIVER_SYSTEM} or "
                f"{NPI_SYSTEM}), not {reference!r}.",
                path,
            )
        npi = (
            practitioner_selectors.practitioner_queryset(actor)
            .filter(pk=pk)
            .values_list("npi", flat=True)
            .first()
        )
        found = receivers.filter(npi=npi).order_by("pk").first() if npi else None
    else:
        raise _unprocessable(
            f"Name the performer by identifier ({RECEIVER_SYSTEM} or {NPI_SYSTEM}) or as Practitioner/[id].",
            path,
        )
    if found is None:
        raise _unprocessable(
            "The performer is not an active receiver of the referral directory.", path, "receiver_not_found"
        )
    return found


def _reasons_from_fhir(resource: ServiceRequest) -> tuple[list[str], str]:
    """(ICD-10-CM codes, the reason in words) from reasonCode."""
    codes: list[str] = []
    texts: list[str] = []
    for concept in resource.reasonCode or []:
        codings = concept.coding or []
        for coding in codings:
            if coding.system != ICD10CM or not coding.code:
                raise _unprocessable(
                    f"reasonCode codings are ICD-10-CM diagnoses ({ICD10CM}); give other reasons as text.",
                    "ServiceRequest.reasonCode",
                )
            codes.append(str(coding.code))
        if not codings and concept.text and concept.text.strip():
            texts.append(concept.text.strip())
    if not texts:
        raise _unprocessable(
            "Say why: a reasonCode with a text (the ICD-10-CM codes go in codings of their own).",
            "ServiceRequest.reasonCode",
        )
    return codes, "\n".join(texts)


def new_referral_from_fhir(
    actor: Actor, resource: ServiceRequest
) -> tuple[referral_services.NewReferral, bool]:
    """The referral a new ServiceRequest asks for, and whether to send it at once."""
    if not _is_referral(resource):
        raise _unprocessable(
            f"Only referrals are created here (category {CATEGORY_SYSTEM}|referral); place orders through "
            "the JSON API.",
            "ServiceRequest.category",
        )
    send = NEW_REFERRAL_STATUSES.get(str(resource.status))
    if send is None:
        raise _unprocessable(
            f"A new referral is draft or active (sent at once), not {resource.status}.",
            "ServiceRequest.status",
        )
    subject = str(resource.subject.reference or "") if resource.subject else ""
    kind, _, value = subject.rpartition("/")
    patient_id = _number(value)
    if kind.rsplit("/", 1)[-1] != "Patient" or patient_id is None:
        raise _unprocessable("The subject must be Patient/[id].", "ServiceRequest.subject")
    receiver = _receiver(actor, resource)
    specialty = _specialty_code(resource) or (receiver.specialty if receiver is not None else None)
    if specialty is None:
        raise _unprocessable(
            f"Name the specialty (performerType in {SPECIALTY_SYSTEM}) or a receiver (performer).",
            "ServiceRequest.performerType",
        )
    diagnoses, reason = _reasons_from_fhir(resource)
    urgency = URGENCY.get(str(resource.priority or "routine"))
    if urgency is None:
        raise _unprocessable(
            f"priority must be one of {', '.join(URGENCY)}, not {resource.priority!r}.",
            "ServiceRequest.priority",
        )
    data = referral_services.NewReferral(
        patient_id=patient_id,
        specialty=specialty,
        reason=reason,
        receiver_id=receiver.pk if receiver is not None else None,
        urgency=urgency,
        diagnoses=diagnoses,
    )
    return data, send


@operation(
    "POST", "/ServiceRequest", Permission.REFERRAL_CREATE, summary="Create a referral (ServiceRequest)"
)
def create_service_request(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    data = read_json_body(request, "ServiceRequest")
    resource = validate(ServiceRequest, data)
    new, send = new_referral_from_fhir(actor, resource)
    try:
        referral = referral_services.create_referral(actor=actor, data=new, send=send)
    except DomainError as exc:
        raise write_error(exc, expression=_FIELD_PATHS.get(exc.field or "", "ServiceRequest")) from exc
    resource_id = f"{selectors.REFERRAL_PREFIX}{referral.pk}"
    headers = {
        "Location": f"{base_url(request)}/ServiceRequest/{resource_id}",
        "ETag": f'W/"{referral.version}"',
    }
    return fhir_response(referral_to_fhir(referral), status=201, headers=headers)
