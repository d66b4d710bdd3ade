"""A care plan's care team -> FHIR R4 CareTeam (validated with fhir.resources.R4B), with the read and
search handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

Caredesk keeps a plan's care team as the roles it needs (primary care physician, nurse, care coordinator,
dietitian ...), each optionally filled by a named person: every participant has its role
(`urn:caredesk:care-team-role`) and, when someone is named, a `member`: `Practitioner/[id]` (with the name
as display) for a practitioner, a display name alone for a staff user (who has no FHIR resource). One
CareTeam per care plan, with the plan's id: `CareTeam/12` is the team of `CarePlan/12`. Its
status follows the plan: active while the plan is, inactive once completed or cancelled.

Reads go through careplans.selectors (CAREPLAN_VIEW audit rows); a portal user sees their own teams.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.careteam import CareTeam as FhirCareTeam

from caredesk.accounts.permissions import Permission
from caredesk.careplans import selectors
from caredesk.careplans.choices import PlanStatus
from caredesk.careplans.errors import PlanNotFound
from caredesk.core.context import Actor
from caredesk.patients.errors import PatientNotFound

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

ROLE_SYSTEM = "urn:caredesk:care-team-role"
CATEGORY_SYSTEM = "http://loinc.org"
LONGITUDINAL = "LA27976-2"  # LOINC answer: "Longitudinal care-coordination focused care team"
MAX_ID = 2**63 - 1
STATUS = {PlanStatus.ACTIVE: "active", PlanStatus.COMPLETED: "inactive", PlanStatus.CANCELLED: "inactive"}
SEARCH_PARAMS = ("patient", "subject", "status", "_id")
SUPPORT = ResourceSupport(
    "CareTeam",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "Required: the teams of the patient's active care plans"),
        SearchParam("status", "token", "active (teams of active plans are searched)"),
        SearchParam("_id", "token", "One care team id (the care plan's id)"),
    ),
    "One CareTeam per CarePlan, with the plan's id; participants are roles (urn:caredesk:care-team-role), "
    "with the named Practitioner (or a staff member's name) as member.",
)


def careteam_to_fhir(view: selectors.PlanView) -> FhirCareTeam:
    plan = view.plan
    participants = []
    for item in view.team:
        member = item.member
        participant: dict[str, Any] = {
            "role": [{"coding": [{"system": ROLE_SYSTEM, "code": member.role, "display": item.role_label}]}]
        }
        if member.practitioner_id is not None:
            participant["member"] = {
                "reference": f"Practitioner/{member.practitioner_id}",
                "display": item.name,
            }
        elif item.name:
            participant["member"] = {"display": item.name}
        participants.append(participant)
    data: dict[str, Any] = {
        "resourceType": "CareTeam",
        "id": str(plan.pk),
        "meta": {"lastUpdated": instant(plan.updated_at), "versionId": str(plan.version)},
        "status": STATUS.get(PlanStatus(plan.status), "inactive")
        if plan.status in PlanStatus.values
        else None,
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": LONGITUDINAL,
                        "display": "Longitudinal care-coordination focused care team",
                    }
                ]
            }
        ],
        "name": f"Care team: {plan.title}",
        "subject": {"reference": f"Patient/{plan.patient_id}"},
        "period": {"start": instant(plan.created_at)},
        "participant": participants,
        "reasonCode": [{"text": plan.condition}],
        "note": [{"text": f"Care team of CarePlan/{plan.pk}"}],
    }
    return FhirCareTeam.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


@operation(
    "GET",
    "/CareTeam/{entry_id}",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Read a CareTeam (a care plan's team)",
)
def read_careteam(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    actor = _actor(actor)
    pk = _number(entry_id)
    if pk is None:
        raise FhirError.single(404, "not-found", f"No CareTeam with id {entry_id!r}.")
    try:
        _, view = selectors.get_plan(actor=actor, plan_id=pk)
    except (PlanNotFound, PatientNotFound) as exc:
        raise FhirError.single(404, "not-found", f"No CareTeam with id {entry_id!r}.") from exc
    return fhir_response(careteam_to_fhir(view))


@operation(
    "GET",
    "/CareTeam",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Search CareTeam by patient, status",
)
def search_careteams(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    _, reference = params.patient_reference(search)
    status = search.values.get("status")
    if status is not None and status not in (
        "proposed",
        "active",
        "suspended",
        "inactive",
        "entered-in-error",
    ):
        raise params.invalid(f"status {status!r} is not a CareTeam status.", "status")
    views: list[selectors.PlanView] = []
    patient_id = _number(reference)
    if patient_id is not None and status in (None, "active"):
        with suppress(PatientNotFound):  # another organization's patient, or none: an empty result
            views = selectors.patient_plans(actor=actor, patient_id=patient_id).plans
    wanted_id = search.values.get("_id")
    if wanted_id is not None:
        views = [v for v in views if str(v.plan.pk) == wanted_id]
    start = (search.page - 1) * search.count
    shown = views[start : start + search.count]
    has_next = len(views) > start + search.count
    base = base_url(request)
    links = PageLinks(f"{base}/CareTeam", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    return fhir_response(
        searchset([careteam_to_fhir(v) for v in shown], resource_url=base, links=links, total=total)
    )
