"""Claims and the payer's answers as FHIR R4 (validated with fhir.resources.R4B), with their read and search
handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

- `Claim` is a billing claim: its diagnoses (ICD-10-CM), lines (procedure, modifiers, units, diagnosis
  pointers, service date, charge), place of service, the coverages billed, the rendering practitioner
  (careTeam) and the billing provider (the organization, by NPI). Our claim status is a `meta.tag`;
  FHIR's status is `draft` until the claim is ready and sent, then `active`.
- `ClaimResponse` and `ExplanationOfBenefit` are one claim payment of a posted 835 (the same id for both):
  the payer's status (CLP02) as the disposition, what was billed and paid, each CAS adjustment with its
  group and reason code (CARC, in plain words), and the payment (trace number and date). The EOB adds the
  claim's lines, each with its charge and the adjustments the payer made to it.

Search: `patient`, `status`, `created` (a date with eq/ge/gt/le/lt; for the payer's answers the day it
was posted) and, for Claim and ExplanationOfBenefit, `payer` (the payer ID). Staff search their
organization; a portal user reads and searches their own claims only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from fhir.resources.R4B.claim import Claim as FhirClaim
from fhir.resources.R4B.claimresponse import ClaimResponse as FhirClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit as FhirEob
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from caredesk.accounts.permissions import Permission
from caredesk.billing import claim_reads, rules
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim, RemittanceClaim
from caredesk.core.context import Actor

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .coverage import PAYER_ID_SYSTEM
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError
from .practitioner import NPI_SYSTEM

MAX_ID = 2**63 - 1
OWN_RECORD = (Permission.PORTAL_OWN_RECORD,)
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS_SYSTEM = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
LOCAL_CODE_SYSTEM = "urn:caredesk:procedure-code"
MODIFIER_SYSTEM = "urn:caredesk:procedure-modifier"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
CAS_GROUP_SYSTEM = "https://x12.org/codes/claim-adjustment-group-codes"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
CLAIM_STATUS_SYSTEM = "https://x12.org/codes/claim-status-codes-clp02"
PAYMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
CLAIM_NUMBER_SYSTEM = "urn:caredesk:claim-number"
PAYER_CLAIM_SYSTEM = "urn:caredesk:payer-claim-number"
TRACE_SYSTEM = "urn:caredesk:remittance-trace-number"
OUR_STATUS_SYSTEM = "urn:caredesk:claim-status"
CURRENCY = "USD"

CODE_SYSTEMS = {"hcpcs": HCPCS_SYSTEM, "cpt": CPT_SYSTEM, "local": LOCAL_CODE_SYSTEM}
DRAFT_STATUSES = (ClaimStatus.DRAFT, ClaimStatus.READY)
CLP02_TEXT = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded to additional payer(s)",
    "20": "Processed as secondary, forwarded to additional payer(s)",
    "21": "Processed as tertiary, forwarded to additional payer(s)",
    "22": "Reversal of previous payment",
    "23": "Not our claim, forwarded to additional payer(s)",
}

CLAIM_PARAMS = ("patient", "status", "created", "payer")
RESPONSE_PARAMS = ("patient", "status", "created")
EOB_PARAMS = ("patient", "status", "created", "payer")
_STATUS_DOC = "draft (not yet sent), active (sent to the payer); cancelled and entered-in-error match nothing"
_CREATED_DOC = "A date (YYYY, YYYY-MM or YYYY-MM-DD) with an optional prefix eq, ge, gt, le or lt"

CLAIM_SUPPORT = ResourceSupport(
    "Claim",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "The patient's claims (a portal user: only their own)"),
        SearchParam("status", "token", _STATUS_DOC),
        SearchParam("created", "date", _CREATED_DOC + ": when the claim was entered"),
        SearchParam("payer", "token", "The payer ID of the coverage billed"),
    ),
    documentation="Billing claims (837P professional) with diagnoses, lines and the coverages billed.",
)
CLAIM_RESPONSE_SUPPORT = ResourceSupport(
    "ClaimResponse",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "The patient's adjudicated claims"),
        SearchParam("status", "token", "active (every posted answer)"),
        SearchParam("created", "date", _CREATED_DOC + ": when the payer's answer was posted"),
    ),
    documentation="The payer's adjudication of a claim, one per claim payment of a posted 835.",
)
EOB_SUPPORT = ResourceSupport(
    "ExplanationOfBenefit",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "The patient's explanations of benefit"),
        SearchParam("status", "token", "active (every posted answer)"),
        SearchParam("created", "date", _CREATED_DOC + ": when the remittance was posted"),
        SearchParam("payer", "token", "The payer ID of the remitting payer"),
    ),
    documentation="A claim as the payer adjudicated and paid it (posted 835), with its lines.",
)

_DATE = re.compile(r"^(?P<prefix>eq|ge|gt|le|lt)?(?P<date>\d{4}(-\d{2}(-\d{2})?)?)$")


# --- small pieces ------------------------------------------------------------------------------------


def _money(amount: Decimal | str | None) -> dict[str, Any] | None:
    if amount is None or amount == "":
        return None
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return None
    return {"value": value, "currency": CURRENCY}


def _payer(name: str, payer_id: str) -> dict[str, Any]:
    return {"display": name, "identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id}}


def _billing_provider(claim: Claim) -> dict[str, Any]:
    return {
        "display": claim.organization.name,
        "identifier": {"system": NPI_SYSTEM, "value": claim.billing_npi} if claim.billing_npi else None,
    }


def _insurance(claim: Claim) -> list[dict[str, Any]]:
    rows = []
    for sequence, coverage in enumerate(c for c in (claim.coverage, claim.other_coverage) if c):
        rows.append(
            {
                "sequence": sequence + 1,
                "focal": sequence == 0,
                "coverage": {"reference": f"Coverage/{coverage.pk}", "display": coverage.plan.payer.name},
            }
        )
    return rows or [{"sequence": 1, "focal": True, "coverage": {"display": "No coverage (self-pay)"}}]


def _product(line: Any) -> dict[str, Any]:
    procedure = line.procedure
    return {
        "coding": [
            {
                "system": CODE_SYSTEMS.get(procedure.system, LOCAL_CODE_SYSTEM),
                "code": procedure.code,
                "display": procedure.description,
            }
        ],
        "text": procedure.description,
    }


def _service_period(claim: Claim) -> dict[str, Any] | None:
    days = sorted(line.service_date for line in claim.lines.all())
    return {"start": days[0].isoformat(), "end": days[-1].isoformat()} if days else None


def _type() -> dict[str, Any]:
    return {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional"}]}


def _adjustment(row: dict[str, Any]) -> dict[str, Any]:
    group = str(row.get("group", ""))
    reason = str(row.get("reason", ""))
    return {
        "category": {
            "coding": [{"system": CAS_GROUP_SYSTEM, "code": group, "display": rules.GROUP_TEXT.get(group)}],
            "text": rules.GROUP_TEXT.get(group, group),
        },
        "reason": {
            "coding": [{"system": CARC_SYSTEM, "code": reason}],
            "text": rules.carc_text(group, reason),
        },
        "amount": _money(row.get("amount")),
    }


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": ADJUDICATION_SYSTEM, "code": code}]}


# --- mappings ------------------------------------------------------------------------------------------


def claim_to_fhir(claim: Claim) -> FhirClaim:
    lines = list(claim.lines.all())
    data: dict[str, Any] = {
        "resourceType": "Claim",
        "id": str(claim.pk),
        "meta": {
            "lastUpdated": instant(claim.updated_at),
            "tag": [
                {"system": OUR_STATUS_SYSTEM, "code": claim.status, "display": claim.get_status_display()}
            ],
        },
        "identifier": [{"system": CLAIM_NUMBER_SYSTEM, "value": claim.claim_number}],
        "status": "draft" if claim.status in DRAFT_STATUSES else "active",
        "type": _type(),
        "use": "claim",
        "patient": {"reference": f"Patient/{claim.patient_id}"},
        "billablePeriod": _service_period(claim),
        "created": instant(claim.created_at),
        "insurer": _payer(claim.coverage.plan.payer.name, claim.coverage.plan.payer.payer_id)
        if claim.coverage
        else None,
        "provider": _billing_provider(claim),
        "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal"}]},
        "careTeam": [
            {
                "sequence": 1,
                "provider": {"reference": f"Practitioner/{claim.rendering_provider_id}"},
                "responsible": True,
                "role": {"coding": [{"system": CARE_TEAM_ROLE_SYSTEM, "code": "primary"}]},
            }
        ]
        if claim.rendering_provider_id
        else None,
        "diagnosis": [
            {
                "sequence": d.position,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": d.code}]},
            }
            for d in claim.diagnoses.all()
        ],
        "insurance": _insurance(claim),
        "item": [
            {
                "sequence": line.position,
                "careTeamSequence": [1] if claim.rendering_provider_id else None,
                "diagnosisSequence": list(line.pointers),
                "productOrService": _product(line),
                "modifier": [{"coding": [{"system": MODIFIER_SYSTEM, "code": m}]} for m in line.modifiers],
                "servicedDate": line.service_date.isoformat(),
                "locationCodeableConcept": {
                    "coding": [{"system": POS_SYSTEM, "code": claim.place_of_service}]
                },
                "quantity": {"value": line.units},
                "net": _money(line.charge),
            }
            for line in lines
        ],
        "total": _money(sum((line.charge for line in lines), Decimal("0.00"))),
    }
    return FhirClaim.model_validate(compact(data))


def _answer(payment: RemittanceClaim) -> dict[str, Any]:
    """What ClaimResponse and ExplanationOfBenefit share: one claim payment of a posted 835."""
    claim = payment.claim
    assert claim is not None
    remittance = payment.remittance
    status_text = CLP02_TEXT.get(payment.status_code, f"Claim status code {payment.status_code}")
    claim_level = [row for row in payment.adjustments if not row.get("line")]
    return {
        "id": str(payment.pk),
        "meta": {"lastUpdated": instant(payment.updated_at)},
        "identifier": [
            {"system": PAYER_CLAIM_SYSTEM, "value": payment.payer_claim_number}
            if payment.payer_claim_number
            else None
        ],
        "status": "active",
        "type": _type(),
        "use": "claim",
        "patient": {"reference": f"Patient/{claim.patient_id}"},
        "created": instant(payment.created_at),
        "insurer": _payer(remittance.payer_name, remittance.payer_identifier),
        "outcome": "complete",
        "disposition": f"{status_text}. {payment.outcome}".strip(),
        "adjudication": [_adjustment(row) for row in claim_level],
        "total": [
            {"category": _category("submitted"), "amount": _money(payment.charge)},
            {"category": _category("benefit"), "amount": _money(payment.paid)},
        ],
        "payment": {
            "type": {"coding": [{"system": PAYMENT_TYPE_SYSTEM, "code": "complete"}]},
            "date": remittance.payment_date.isoformat() if remittance.payment_date else None,
            "amount": _money(payment.paid),
            "identifier": {"system": TRACE_SYSTEM, "value": remittance.trace_number},
        },
        "processNote": [
            {
                "number": 1,
                "type": "display",
                "text": f"Patient responsibility: {payment.patient_responsibility}",
            }
        ],
    }


def claim_response_to_fhir(payment: RemittanceClaim) -> FhirClaimResponse:
    claim = payment.claim
    assert claim is not None
    data = {
        "resourceType": "ClaimResponse",
        **_answer(payment),
        "request": {"reference": f"Claim/{claim.pk}"},
        "requestor": _billing_provider(claim),
    }
    return FhirClaimResponse.model_validate(compact(data))


def _line_adjudication(line: Any, adjustments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"category": _category("submitted"), "amount": _money(line.charge)},
        *(_adjustment(row) for row in adjustments),
    ]


def eob_to_fhir(payment: RemittanceClaim) -> FhirEob:
    claim = payment.claim
    assert claim is not None
    by_code: dict[str, list[dict[str, Any]]] = {}
    for row in payment.adjustments:
        if row.get("line"):
            by_code.setdefault(str(row["line"]).upper(), []).append(row)
    items = []
    for line in claim.lines.all():
        # An 835 names a service by its code: its adjustments go on the first line billed with it.
        adjustments = by_code.pop(line.procedure.code.upper(), [])
        items.append(
            {
                "sequence": line.position,
                "diagnosisSequence": list(line.pointers),
                "productOrService": _product(line),
                "modifier": [{"coding": [{"system": MODIFIER_SYSTEM, "code": m}]} for m in line.modifiers],
                "servicedDate": line.service_date.isoformat(),
                "locationCodeableConcept": {
                    "coding": [{"system": POS_SYSTEM, "code": claim.place_of_service}]
                },
                "quantity": {"value": line.units},
                "net": _money(line.charge),
                "adjudication": _line_adjudication(line, adjustments),
            }
        )
    unplaced = [row for rows in by_code.values() for row in rows]
    data = {
        "resourceType": "ExplanationOfBenefit",
        **_answer(payment),
        "billablePeriod": _service_period(claim),
        "provider": _billing_provider(claim),
        "claim": {"reference": f"Claim/{claim.pk}"},
        "claimResponse": {"reference": f"ClaimResponse/{payment.pk}"},
        "diagnosis": [
            {
                "sequence": d.position,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": d.code}]},
            }
            for d in claim.diagnoses.all()
        ],
        "insurance": [{"focal": row["focal"], "coverage": row["coverage"]} for row in _insurance(claim)],
        "item": items,
    }
    data["adjudication"] = [*data["adjudication"], *(_adjustment(row) for row in unplaced)]
    return FhirEob.model_validate(compact(data))


# --- search criteria -----------------------------------------------------------------------------------


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _id(resource: str, entry_id: str) -> int:
    if not (entry_id.isascii() and entry_id.isdigit() and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No {resource} with id {entry_id!r}.")
    return int(entry_id)


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def date_range(value: str, name: str = "created") -> tuple[dt.datetime | None, dt.datetime | None]:
    """A FHIR date search value -> [from, to) as aware datetimes in the server's zone."""
    match = _DATE.match(value)
    if match is None:
        raise params.invalid(f"{name} must be a date such as ge2026-01-31, not {value!r}.", name)
    prefix = match.group("prefix") or "eq"
    text = match.group("date")
    try:
        if len(text) == 4:
            first = dt.date(int(text), 1, 1)
            after = dt.date(int(text) + 1, 1, 1) if int(text) < 9999 else dt.date.max
        elif len(text) == 7:
            first = dt.date.fromisoformat(f"{text}-01")
            after = _month_after(first)
        else:
            first = dt.date.fromisoformat(text)
            after = first + dt.timedelta(days=1)
    except (ValueError, OverflowError) as exc:
        raise params.invalid(f"{text} is not a calendar date.", name) from exc
    zone = timezone.get_current_timezone()

    def moment(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=zone)

    if prefix == "eq":
        return moment(first), moment(after)
    if prefix in ("ge",):
        return moment(first), None
    if prefix == "gt":
        return moment(after), None
    if prefix == "lt":
        return None, moment(first)
    return None, moment(after)  # le


def _query(
    search: params.Search, *, statuses: Callable[[str], list[str] | None]
) -> claim_reads.ClaimQuery | None:
    """The criteria, or None when they cannot match anything (another resource type's reference …)."""
    values = search.values
    patient_id: int | None = None
    if "patient" in values:
        resource_type, _, reference = values["patient"].rpartition("/")
        if resource_type and resource_type.rsplit("/", 1)[-1] != "Patient":
            raise params.invalid("patient must refer to a Patient.", "patient")
        if not (reference.isascii() and reference.isdigit() and 0 < int(reference) <= MAX_ID):
            return None
        patient_id = int(reference)
    chosen: list[str] | None = None
    if "status" in values:
        chosen = statuses(values["status"])
        if chosen is None:
            raise params.invalid(
                f"status {values['status']!r} is not a status of this resource.",
                "status",
                code="code-invalid",
            )
    created_from = created_to = None
    if "created" in values:
        created_from, created_to = date_range(values["created"])
    payer = values.get("payer", "")
    if "|" in payer:
        system, _, payer = payer.partition("|")
        if system and system != PAYER_ID_SYSTEM:
            return None
    return claim_reads.ClaimQuery(
        patient_id=patient_id,
        statuses=chosen,
        created_from=created_from,
        created_to=created_to,
        payer_id=payer,
        criteria=dict(search.used),
    )


def _claim_statuses(status: str) -> list[str] | None:
    if status == "draft":
        return list(DRAFT_STATUSES)
    if status == "active":
        return [s for s in ClaimStatus.values if s not in DRAFT_STATUSES]
    if status in ("cancelled", "entered-in-error"):
        return []
    return None


def _answer_statuses(status: str) -> list[str] | None:
    if status == "active":
        return list(ClaimStatus.values)
    if status in ("cancelled", "draft", "entered-in-error"):
        return []
    return None


def _search(
    request: HttpRequest,
    actor: Actor | None,
    *,
    resource: str,
    supported: tuple[str, ...],
    statuses: Callable[[str], list[str] | None],
    find: Callable[..., list[Any]],
    to_fhir: Callable[[Any], FHIRAbstractModel],
) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), supported, strict=prefers_strict(request))
    query = _query(search, statuses=statuses)
    start = (search.page - 1) * search.count
    found = [] if query is None else find(actor=actor, query=query, offset=start, limit=search.count)
    shown = found[: search.count]
    has_next = len(found) > search.count
    base = base_url(request)
    links = PageLinks(f"{base}/{resource}", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    return fhir_response(searchset([to_fhir(x) for x in shown], resource_url=base, links=links, total=total))


# --- handlers ------------------------------------------------------------------------------------------


@operation("GET", "/Claim/{entry_id}", Permission.BILLING_VIEW, also=OWN_RECORD, summary="Read a Claim")
def read_claim(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    claim = claim_reads.get_claim(actor=_actor(actor), claim_id=_id("Claim", entry_id))
    return fhir_response(claim_to_fhir(claim))


@operation("GET", "/Claim", Permission.BILLING_VIEW, also=OWN_RECORD, summary="Search Claim")
def search_claims(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    return _search(
        request,
        actor,
        resource="Claim",
        supported=CLAIM_PARAMS,
        statuses=_claim_statuses,
        find=claim_reads.search_claims,
        to_fhir=claim_to_fhir,
    )


@operation(
    "GET",
    "/ClaimResponse/{entry_id}",
    Permission.BILLING_VIEW,
    also=OWN_RECORD,
    summary="Read a ClaimResponse",
)
def read_claim_response(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    payment = claim_reads.get_claim_payment(actor=_actor(actor), payment_id=_id("ClaimResponse", entry_id))
    return fhir_response(claim_response_to_fhir(payment))


@operation("GET", "/ClaimResponse", Permission.BILLING_VIEW, also=OWN_RECORD, summary="Search ClaimResponse")
def search_claim_responses(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    return _search(
        request,
        actor,
        resource="ClaimResponse",
        supported=RESPONSE_PARAMS,
        statuses=_answer_statuses,
        find=claim_reads.search_claim_payments,
        to_fhir=claim_response_to_fhir,
    )


@operation(
    "GET",
    "/ExplanationOfBenefit/{entry_id}",
    Permission.BILLING_VIEW,
    also=OWN_RECORD,
    summary="Read an ExplanationOfBenefit",
)
def read_eob(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    payment = claim_reads.get_claim_payment(
        actor=_actor(actor), payment_id=_id("ExplanationOfBenefit", entry_id)
    )
    return fhir_response(eob_to_fhir(payment))


@operation(
    "GET",
    "/ExplanationOfBenefit",
    Permission.BILLING_VIEW,
    also=OWN_RECORD,
    summary="Search ExplanationOfBenefit",
)
def search_eobs(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    return _search(
        request,
        actor,
        resource="ExplanationOfBenefit",
        supported=EOB_PARAMS,
        statuses=_answer_statuses,
        find=claim_reads.search_claim_payments,
        to_fhir=eob_to_fhir,
    )
