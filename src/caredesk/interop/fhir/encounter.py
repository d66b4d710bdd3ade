"""Encounters of transitions of care (from the ADT feed) -> FHIR R4 Encounter, with the read and search
handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py). The mapping is
transfer.encounter_to_fhir, the one the records-transfer document uses; `Encounter/[id]/$document` (the
records-transfer package) lives in transfer.py.

Search: `patient`, `status` (in-progress, finished, cancelled), `class` (IMP, EMER, AMB, PRENC, or
`system|code`), `date` (one day, or a bound with ge/gt/le/lt: the stay's period, admission to discharge,
touches it; days are the organization's calendar days) and `_id`. Latest admission first.

Staff need the encounter permission; a portal user reads the encounters matched to their own record.
Reads and searches are audited by transitions.selectors (ENCOUNTER_VIEW, ENCOUNTER_SEARCH).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.http import HttpRequest, HttpResponse

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.transitions import selectors
from caredesk.transitions.errors import EncounterNotFound

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError
from .transfer import ACT_CODE, ENCOUNTER_CLASS, ENCOUNTER_STATUS, encounter_to_fhir

MAX_ID = 2**63 - 1
SEARCH_PARAMS = ("patient", "subject", "status", "class", "date", "_id")
#: FHIR status / class searched -> ours.
SEARCH_STATUS: dict[str, tuple[str, ...]] = {
    fhir: tuple(ours for ours, theirs in ENCOUNTER_STATUS.items() if theirs == fhir)
    for fhir in set(ENCOUNTER_STATUS.values())
}
SEARCH_CLASS: dict[str, tuple[str, ...]] = {
    fhir: tuple(ours for ours, theirs in ENCOUNTER_CLASS.items() if theirs == fhir)
    for fhir in set(ENCOUNTER_CLASS.values())
}
_DATE = re.compile(r"^(?P<prefix>eq|ge|gt|le|lt)?(?P<date>\d{4}-\d{2}-\d{2})$")
SUPPORT = ResourceSupport(
    "Encounter",
    ("read", "search-type"),
    (
        SearchParam("patient", "reference", "The patient (encounters still waiting for a match have none)"),
        SearchParam("status", "token", "in-progress, finished or cancelled"),
        SearchParam("class", "token", f"IMP, EMER, AMB or PRENC ({ACT_CODE})"),
        SearchParam(
            "date",
            "date",
            "YYYY-MM-DD, optionally prefixed ge, gt, le or lt: the stay (admission to discharge) touches it",
        ),
        SearchParam("_id", "token", "One encounter id"),
    ),
    "Encounters reported by the hospitals' ADT feeds (HL7 v2). Operation $document: the records-transfer "
    "package of one encounter as a FHIR document Bundle.",
    operations=(("document", "Encounter/[id]/$document: the records-transfer document Bundle"),),
)


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


def date_bounds(value: str, zone: dt.tzinfo) -> tuple[dt.datetime | None, dt.datetime | None]:
    """`date=[prefix]YYYY-MM-DD` -> the window [from, to) the stay must touch, in `zone`'s calendar days."""
    match = _DATE.match(value)
    if match is None:
        raise params.invalid(f"date must be a day such as ge2026-11-01, not {value!r}.", "date")
    try:
        day = dt.date.fromisoformat(match.group("date"))
    except ValueError as exc:
        raise params.invalid(f"{match.group('date')} is not a calendar date.", "date") from exc
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    prefix = match.group("prefix") or "eq"
    return {
        "eq": (start, end),
        "ge": (start, None),
        "gt": (end, None),
        "le": (None, end),
        "lt": (None, start),
    }[prefix]


def _criteria(actor: Actor, search: params.Search) -> selectors.EncounterSearch | None:
    """The search as transitions criteria; None when nothing can match (a patient id that is not one)."""
    criteria: dict[str, Any] = {}
    if "patient" in search.values or "subject" in search.values:
        _, reference = params.patient_reference(search)
        criteria["patient_id"] = _number(reference)
        if criteria["patient_id"] is None:
            return None
    status = search.values.get("status")
    if status is not None:
        if status not in SEARCH_STATUS:
            raise params.invalid(f"status must be one of {', '.join(sorted(SEARCH_STATUS))}.", "status")
        criteria["statuses"] = SEARCH_STATUS[status]
    encounter_class = search.values.get("class")
    if encounter_class is not None:
        system, _, code = encounter_class.rpartition("|")
        if (system and system != ACT_CODE) or code not in SEARCH_CLASS:
            raise params.invalid(f"class must be one of {', '.join(sorted(SEARCH_CLASS))}.", "class")
        criteria["classes"] = SEARCH_CLASS[code]
    date = search.values.get("date")
    if date is not None:
        zone = selectors.organization_zone(actor.organization_id)
        criteria["overlaps_from"], criteria["overlaps_to"] = date_bounds(date, zone)
    wanted = search.values.get("_id")
    if wanted is not None:
        criteria["encounter_id"] = _number(wanted)
        if criteria["encounter_id"] is None:
            return None
    return selectors.EncounterSearch(**criteria)


@operation(
    "GET",
    "/Encounter/{entry_id}",
    Permission.ENCOUNTER_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Read an Encounter",
)
def read_encounter(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """One encounter as the ADT feed reported it."""
    pk = _number(entry_id)
    if pk is None:
        raise FhirError.single(404, "not-found", f"No Encounter with id {entry_id!r}.")
    try:
        encounter = selectors.read_encounter(actor=_actor(actor), encounter_id=pk)
    except EncounterNotFound as exc:
        raise FhirError.single(404, "not-found", f"No Encounter with id {entry_id!r}.") from exc
    return fhir_response(encounter_to_fhir(encounter))


@operation(
    "GET",
    "/Encounter",
    Permission.ENCOUNTER_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Search Encounter by patient, status, class, date",
)
def search_encounters(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    criteria = _criteria(actor, search)
    found: list[Any] = []
    has_next = False
    if criteria is not None:
        found, has_next = selectors.search_encounters(
            actor=actor, search=criteria, page=search.page, page_size=search.count
        )
    base = base_url(request)
    links = PageLinks(f"{base}/Encounter", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(found), has_next)
    return fhir_response(
        searchset([encounter_to_fhir(e) for e in found], resource_url=base, links=links, total=total)
    )
