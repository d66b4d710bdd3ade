"""Scheduling in FHIR R4 (validated with fhir.resources.R4B): Schedule, Slot and Appointment, and their
handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

- `Schedule`: one per scheduling resource (practitioner, room or equipment), id = the resource's id. Its
  `actor` is the Practitioner (rooms: a Location, equipment: a Device, by display and identifier; they
  have no FHIR endpoint of their own) and the resource's home site; `serviceType` lists the visit types
  it can serve (system urn:caredesk:visit-type, code = the visit type's code).
- `Slot` (search only): the free start times the scheduling app's slot search finds (the same search the
  booking pages use: every resource the visit type needs free, booking rules kept). A slot's id is
  synthetic, `<schedule>-<location>-<epoch minute>-<visit type id>`, and is only good for booking
  (`Appointment.slot`); there is no Slot read, because a free slot is a search result, not a record.
  Only `status=free` is published; slots come earliest first, one page (to go on, search again with
  `start=gt<the last start>`).
- `Appointment`: read, search, create (booking) and update (PUT: a status change or a new start, one at
  a time; other elements of the body are not stored; PATCH is not offered). Caredesk's statuses map onto
  FHIR's: confirmed is `booked` and in progress is `checked-in`; the exact status is kept as a `meta.tag`
  (system urn:caredesk:appointment-status). Rooms, equipment and the site appear as participants by
  display and identifier; a booking may name its site as `Location/<id>` (the urn:caredesk:location id).

Prior authorization: a booking (create) goes through without an authorization the payer requires, as on
the booking page and in the JSON API; `scheduling.authorizations.check_booked` runs after it, exactly as
there, and opens the front desk's worklist task. The warnings reach the client the FHIR way:
- `Prefer: return=OperationOutcome`: 201 (Location, ETag) with an OperationOutcome instead of the
  Appointment; one issue per warning (severity `warning`, code `business-rule`, details code
  `prior_authorization`), or a single `information` issue when there is none.
- by default and with `Prefer: return=representation`: 201 with the Appointment, carrying each warning as
  an extension `urn:caredesk:fhir:StructureDefinition/booking-warning` (valueString) of the answer only
  (a later read has no such extension; the worklist task is what stays).
- `Prefer: return=minimal`: no body, so no warnings (the task is opened all the same).

Errors: a booking that meets another answers 409 with an OperationOutcome naming the appointments in the
way; bad input answers 400 (malformed: a time without a UTC offset, a bad parameter) or 422 (a valid
resource Caredesk cannot book: unknown visit type, a time in the past, an end before the start, booking
rules); a stale `If-Match` answers 412. Nothing is changed by a refused request.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound, ValidationFailed
from caredesk.scheduling import clock, rules, selectors, services
from caredesk.scheduling.authorizations import check_booked
from caredesk.scheduling.choices import AppointmentSource, AppointmentStatus, CancelReason, ResourceKind
from caredesk.scheduling.errors import SlotConflict, StaleAppointment
from caredesk.scheduling.models import Appointment, VisitType

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import (
    base_url,
    fhir_response,
    operation,
    prefers,
    prefers_strict,
    read_json_body,
    search_pairs,
    validate,
)
from .outcomes import FhirError, Issue, from_domain_error, outcome

VISIT_TYPE_SYSTEM = "urn:caredesk:visit-type"
RESOURCE_SYSTEM = "urn:caredesk:scheduling-resource"
LOCATION_SYSTEM = "urn:caredesk:location"
CANCEL_REASON_SYSTEM = "urn:caredesk:cancel-reason"
STATUS_TAG_SYSTEM = "urn:caredesk:appointment-status"
WARNING_EXTENSION = "urn:caredesk:fhir:StructureDefinition/booking-warning"
MAX_ID = 2**63 - 1
MAX_VISIT_TYPES = 10  # a Slot search by schedule alone looks at most this many of its visit types
OWN_RECORD = (Permission.PORTAL_OWN_RECORD,)
S = AppointmentStatus

STATUS_TO_FHIR: dict[str, str] = {
    S.PROPOSED: "proposed",
    S.BOOKED: "booked",
    S.CONFIRMED: "booked",
    S.ARRIVED: "arrived",
    S.IN_PROGRESS: "checked-in",
    S.FULFILLED: "fulfilled",
    S.CANCELLED: "cancelled",
    S.NO_SHOW: "noshow",
}
FHIR_TO_STATUSES: dict[str, tuple[str, ...]] = {
    "proposed": (S.PROPOSED,),
    "booked": (S.BOOKED, S.CONFIRMED),
    "arrived": (S.ARRIVED,),
    "checked-in": (S.IN_PROGRESS,),
    "fulfilled": (S.FULFILLED,),
    "cancelled": (S.CANCELLED,),
    "noshow": (S.NO_SHOW,),
    "pending": (),
    "waitlist": (),
    "entered-in-error": (),
}
# PUT: the FHIR status asked for -> the plain status step (check-in, cancel and no-show have their own).
STATUS_STEPS = {"booked": S.BOOKED, "fulfilled": S.FULFILLED, "checked-in": S.IN_PROGRESS}

SCHEDULE_SUPPORT = ResourceSupport(
    "Schedule",
    ("read", "search-type"),
    (
        SearchParam("actor", "reference", "Practitioner/<id>: that practitioner's schedule"),
        SearchParam("service-type", "token", f"A visit type code ({VISIT_TYPE_SYSTEM}|<code>)"),
    ),
    "One Schedule per scheduling resource: practitioners, rooms (actor type Location) and equipment "
    "(actor type Device).",
)
SLOT_SUPPORT = ResourceSupport(
    "Slot",
    ("search-type",),
    (
        SearchParam("schedule", "reference", "Schedule/<id>: slots using that resource"),
        SearchParam("service-type", "token", "A visit type code; required unless schedule is given"),
        SearchParam(
            "start",
            "date",
            "ge/gt/le/lt/eq; may be given twice for a range; a date is a day in the schedule's time zone, "
            "a time needs its UTC offset",
        ),
        SearchParam("status", "token", "Only 'free' is supported"),
    ),
    "Free start times from the slot search, earliest first, one page (then search with start=gt<last>). "
    "Slot ids are synthetic (no read); book one with Appointment.slot.",
)
APPOINTMENT_SUPPORT = ResourceSupport(
    "Appointment",
    ("read", "search-type", "create", "update"),
    (
        SearchParam("patient", "reference", "Patient/<id>"),
        SearchParam("practitioner", "reference", "Practitioner/<id>"),
        SearchParam(
            "date",
            "date",
            "The start: ge/gt/le/lt/eq; may be given twice for a range; a date is a day in the clinic's "
            "time zone, a time needs its UTC offset",
        ),
        SearchParam("status", "token", "proposed, booked, arrived, checked-in, fulfilled, cancelled, noshow"),
    ),
    "Create books (201; 409 with the appointments in the way on a conflict); prior-authorization warnings "
    f"come as {WARNING_EXTENSION} extensions of the answer, or with 'Prefer: return=OperationOutcome' "
    "as an OperationOutcome of warnings instead of the Appointment. Update (PUT) changes the "
    "status (cancelled with a cancelationReason, arrived, checked-in, fulfilled, noshow, booked) or the "
    "start (reschedule), one at a time; send If-Match with the ETag to refuse a stale change (412).",
)


# --- small helpers -----------------------------------------------------------------------------------


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _id(value: str, resource_type: str) -> int:
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
        return int(value)
    raise FhirError.single(404, "not-found", f"No {resource_type} with id {value!r}.")


def _reference_id(value: str, resource_type: str, parameter: str) -> int | None:
    """`123` or `Type/123` (or a full URL ending so) -> 123; another type is refused (400); an id that
    cannot be ours -> None (the search finds nothing)."""
    kind, _, reference_id = value.rpartition("/")
    if kind and kind.rsplit("/", 1)[-1] != resource_type:
        raise params.invalid(f"{parameter} must refer to a {resource_type}.", parameter)
    if reference_id.isascii() and reference_id.isdigit() and 0 < int(reference_id) <= MAX_ID:
        return int(reference_id)
    return None


def _version_headers(appointment: Appointment) -> dict[str, str]:
    return {
        "ETag": f'W/"{appointment.version}"',
        "Last-Modified": http_date(appointment.updated_at.timestamp()),
    }


def _service_type(visit_type: VisitType) -> dict[str, Any]:
    return {"coding": [{"system": VISIT_TYPE_SYSTEM, "code": visit_type.code, "display": visit_type.name}]}


def _organization_zone(actor: Actor) -> ZoneInfo:
    """The zone date-only search values are days of: the organization's first location's."""
    location = selectors.location_queryset(actor).order_by("pk").first()
    return selectors.zone_of(location) if location is not None else ZoneInfo("UTC")


def _take(pairs: Iterable[tuple[str, str]], name: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split off a date parameter that may repeat (a range is two values: ge… and lt…)."""
    rest: list[tuple[str, str]] = []
    values: list[str] = []
    for raw_name, value in pairs:
        base, _, modifier = raw_name.partition(":")
        if base != name:
            rest.append((raw_name, value))
            continue
        if modifier:
            raise params.invalid(
                f"The modifier :{modifier} is not supported on {name}.", raw_name, code="not-supported"
            )
        if value.strip():
            values.append(value.strip())
    if len(values) > 2:
        raise params.invalid(
            f"Give {name} at most twice (a lower and an upper bound).", name, code="not-supported"
        )
    return rest, values


# --- date search parameters --------------------------------------------------------------------------

_DATE_VALUE = re.compile(r"^(?P<prefix>[a-z]{2})?(?P<value>\d{4}(-\d{2}(-\d{2}(T.+)?)?)?)$")


@dataclass(frozen=True)
class TimeRange:
    """Instants from `start` (inclusive) to `end` (exclusive); None: open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def contains(self, moment: dt.datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start >= self.end


def _value_bounds(name: str, text: str, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """A FHIR date/dateTime value as the instants it covers: a year, month or day (local to `zone`), or a
    time to the minute or second (which must carry its UTC offset)."""
    try:
        if "T" in text:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise FhirError.single(
                    400,
                    "value",
                    f"{name}={text} has no time zone; give a UTC offset (e.g. {text}-05:00) or a date.",
                    expression=(name,),
                    details_code="invalid_timezone",
                )
            step = (
                dt.timedelta(seconds=1) if text.split("T", 1)[1].count(":") >= 2 else dt.timedelta(minutes=1)
            )
            return moment, moment + step
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 1:
            first, after = dt.date(parts[0], 1, 1), dt.date(parts[0] + 1, 1, 1)
        elif len(parts) == 2:
            first = dt.date(parts[0], parts[1], 1)
            after = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        else:
            first = dt.date(parts[0], parts[1], parts[2])
            after = first + dt.timedelta(days=1)
    except (ValueError, OverflowError) as exc:
        raise params.invalid(f"{name}={text} is not a date or time.", name) from exc
    return rules.local_datetime(first, dt.time(0), zone), rules.local_datetime(after, dt.time(0), zone)


def time_range(name: str, values: Sequence[str], zone: ZoneInfo) -> TimeRange:
    """The instants `values` (each with an optional eq/ge/gt/le/lt prefix) allow together."""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    for value in values:
        match = _DATE_VALUE.match(value)
        if match is None:
            raise params.invalid(
                f"{name} must be a date or time such as ge2027-03-01 or lt2027-03-01T12:00:00-05:00.", name
            )
        prefix = match.group("prefix") or "eq"
        low, high = _value_bounds(name, match.group("value"), zone)
        bounds: dict[str, tuple[dt.datetime | None, dt.datetime | None]] = {
            "eq": (low, high),
            "ge": (low, None),
            "gt": (high, None),
            "le": (None, high),
            "lt": (None, low),
        }
        if prefix not in bounds:
            raise params.invalid(
                f"The prefix {prefix!r} is not supported on {name}; use eq, ge, gt, le or lt.",
                name,
                code="not-supported",
            )
        lower, upper = bounds[prefix]
        if lower is not None:
            start = lower if start is None else max(start, lower)
        if upper is not None:
            end = upper if end is None else min(end, upper)
    return TimeRange(start, end)


# --- Schedule ----------------------------------------------------------------------------------------


def _resource_actor(resource: Any) -> dict[str, Any]:
    if resource.kind == ResourceKind.PRACTITIONER:
        return {"reference": f"Practitioner/{resource.practitioner_id}", "display": resource.name}
    return {
        "type": "Location" if resource.kind == ResourceKind.ROOM else "Device",
        "identifier": {"system": RESOURCE_SYSTEM, "value": str(resource.pk)},
        "display": resource.name,
    }


def _location_actor(location: Any) -> dict[str, Any]:
    return {
        "type": "Location",
        "identifier": {"system": LOCATION_SYSTEM, "value": str(location.pk)},
        "display": location.name,
    }


def schedule_to_fhir(schedule: selectors.ResourceSchedule) -> FhirSchedule:
    resource = schedule.resource
    kind = ResourceKind(resource.kind).label
    data = {
        "resourceType": "Schedule",
        "id": str(resource.pk),
        "meta": {"lastUpdated": instant(resource.updated_at)},
        "identifier": [{"system": RESOURCE_SYSTEM, "value": str(resource.pk)}],
        "active": resource.active,
        "serviceType": [_service_type(vt) for vt in schedule.visit_types],
        "actor": [_resource_actor(resource), _location_actor(resource.location)],
        "comment": f"{kind}{f' ({resource.category})' if resource.category else ''}: {resource.name}, "
        f"{resource.location.name}",
    }
    return FhirSchedule.model_validate(compact(data))


def _visit_type_code(value: str, parameter: str) -> str | None:
    """`code` or `urn:caredesk:visit-type|code`; None for another system (nothing matches)."""
    system, _, code = value.rpartition("|") if "|" in value else ("", "", value)
    if not code:
        raise params.invalid(f"{parameter} needs a visit type code.", parameter, code="required")
    if "|" in value and system not in ("", VISIT_TYPE_SYSTEM):
        return None
    return code


@operation("GET", "/Schedule/{entry_id}", Permission.SCHEDULE_VIEW, summary="Read a Schedule")
def read_schedule(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    found = selectors.resource_schedules(
        actor=_actor(actor), resource_id=_id(entry_id, "Schedule"), active_only=False
    )
    if not found:
        raise FhirError.single(404, "not-found", f"No Schedule with id {entry_id!r}.")
    return fhir_response(schedule_to_fhir(found[0]))


@operation("GET", "/Schedule", Permission.SCHEDULE_VIEW, summary="Search Schedules")
def search_schedules(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), ("actor", "service-type"), strict=prefers_strict(request))
    found: list[selectors.ResourceSchedule] = []
    practitioner_id = code = None
    matchable = True
    if "actor" in search.values:
        practitioner_id = _reference_id(search.values["actor"], "Practitioner", "actor")
        matchable = practitioner_id is not None
    if "service-type" in search.values:
        code = _visit_type_code(search.values["service-type"], "service-type")
        matchable = matchable and code is not None
    if matchable:
        found = selectors.resource_schedules(
            actor=actor, practitioner_id=practitioner_id, visit_type_code=code
        )
    start = (search.page - 1) * search.count
    shown = found[start : start + search.count]
    has_next = len(found) > start + search.count
    base = base_url(request)
    links = PageLinks(f"{base}/Schedule", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    return fhir_response(
        searchset([schedule_to_fhir(s) for s in shown], resource_url=base, links=links, total=total)
    )


# --- Slot --------------------------------------------------------------------------------------------


def slot_id(schedule_id: int, location_id: int, start: dt.datetime, visit_type_id: int) -> str:
    return f"{schedule_id}-{location_id}-{rules.to_minute(start)}-{visit_type_id}"


@dataclass(frozen=True)
class SlotRef:
    schedule_id: int
    location_id: int
    start: dt.datetime
    visit_type_id: int


def parse_slot_id(value: str) -> SlotRef | None:
    parts = value.rpartition("/")[2].split("-")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        return None
    schedule_id, location_id, minute, visit_type_id = (int(p) for p in parts)
    return SlotRef(schedule_id, location_id, rules.from_minute(minute), visit_type_id)


def slot_to_fhir(slot: selectors.Slot, visit_type: VisitType, schedule_id: int) -> FhirSlot:
    names = ", ".join(r.name for r in slot.resources)
    schedule_name = next((r.name for r in slot.resources if r.id == schedule_id), "")
    data = {
        "resourceType": "Slot",
        "id": slot_id(schedule_id, slot.location_id, slot.start, visit_type.pk),
        "schedule": {"reference": f"Schedule/{schedule_id}", "display": schedule_name},
        "serviceType": [_service_type(visit_type)],
        "status": "free",
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "comment": f"{visit_type.name} at {slot.location_name} with {names}"
        + (" (telehealth)" if slot.modality == "telehealth" else ""),
    }
    return FhirSlot.model_validate(compact(data))


def _offers_as_practitioner(visit_type: VisitType, practitioner_id: int | None) -> bool:
    """Whether the slot search can narrow `visit_type` to this practitioner (they offer it, and it asks
    for "a practitioner who offers it")."""
    return (
        practitioner_id is not None
        and practitioner_id in selectors.offered_by(visit_type)
        and any(r.is_offering_practitioner for r in selectors.requirements_of(visit_type))
    )


@operation("GET", "/Slot", Permission.SCHEDULE_VIEW, summary="Search free Slots")
def search_slots(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    pairs, starts = _take(search_pairs(request), "start")
    search = params.parse(pairs, ("schedule", "service-type", "status"), strict=prefers_strict(request))
    if search.page > 1:
        raise params.invalid(
            "Slots come earliest first on one page; to see later ones, search again with start=gt<the last "
            "slot's start>.",
            "_page",
            code="not-supported",
        )
    status = search.values.get("status", "free")
    if status != "free":
        raise params.invalid(
            f"Only free slots are published (status=free), not {status!r}: booked time is read as "
            "Appointments.",
            "status",
            code="not-supported",
        )
    used = [*search.used, *(("start", v) for v in starts)]
    base = base_url(request)
    results = _find_slots(actor, search, starts)
    links = PageLinks(f"{base}/Slot", used, search.count, 1, False)
    # No total: the search stops at the earliest slots, it does not count them all.
    return fhir_response(searchset(results, resource_url=base, links=links, total=None))


def _find_slots(actor: Actor, search: params.Search, starts: Sequence[str]) -> list[FhirSlot]:
    schedule: selectors.ResourceSchedule | None = None
    if "schedule" in search.values:
        resource_id = _reference_id(search.values["schedule"], "Schedule", "schedule")
        found = selectors.resource_schedules(actor=actor, resource_id=resource_id) if resource_id else []
        if not found:
            return []  # another organization's, inactive, or none: nothing, as for any search
        schedule = found[0]
    if "service-type" in search.values:
        code = _visit_type_code(search.values["service-type"], "service-type")
        visit_types = (
            list(selectors.visit_type_queryset(actor).filter(active=True, code=code)) if code else []
        )
        if schedule is not None:
            visit_types = [vt for vt in visit_types if vt.pk in {v.pk for v in schedule.visit_types}]
    elif schedule is not None:
        visit_types = list(schedule.visit_types[:MAX_VISIT_TYPES])
    else:
        raise params.invalid(
            "Say what to book: service-type=<visit type code>, or schedule=Schedule/<id>.",
            "service-type",
            code="required",
        )
    if not visit_types:
        return []
    zone = selectors.zone_of(schedule.resource.location) if schedule else _organization_zone(actor)
    window = time_range("start", starts, zone)
    if window.empty:
        return []
    first_day = window.start.astimezone(zone).date() if window.start else None
    last_day = (window.end - dt.timedelta(microseconds=1)).astimezone(zone).date() if window.end else None
    today = clock.now().astimezone(zone).date()
    if last_day is not None and last_day < today:
        return []  # free time in the past is no use
    if first_day is not None and first_day < today:
        first_day = today
    midday = window.start is not None and window.start != rules.local_datetime(
        window.start.astimezone(zone).date(), dt.time(0), zone
    )
    limit = selectors.MAX_SLOTS if midday or schedule is not None else search.count
    found_slots: list[tuple[selectors.Slot, VisitType]] = []
    resource = schedule.resource if schedule is not None else None
    for visit_type in visit_types:
        practitioner_id = resource.practitioner_id if resource is not None else None
        narrow = _offers_as_practitioner(visit_type, practitioner_id)
        query = selectors.SlotQuery(
            visit_type_id=visit_type.pk,
            practitioner_id=practitioner_id if narrow else None,
            location_id=resource.location_id
            if resource is not None and resource.kind != ResourceKind.PRACTITIONER
            else None,
            first_day=first_day,
            last_day=last_day,
            limit=limit,
        )
        for slot in selectors.find_slots(actor=actor, query=query):
            if window.contains(slot.start) and (resource is None or resource.pk in slot.resource_ids):
                found_slots.append((slot, visit_type))
    found_slots.sort(key=lambda pair: (pair[0].start, pair[0].location_name, pair[1].code))
    out = []
    for slot, visit_type in found_slots[: search.count]:
        owner = resource.pk if resource is not None else (slot.practitioner or slot.resources[0]).id
        out.append(slot_to_fhir(slot, visit_type, owner))
    return out


# --- Appointment: mapping ----------------------------------------------------------------------------


def appointment_to_fhir(appointment: Appointment, *, warnings: Sequence[str] = ()) -> FhirAppointment:
    """The appointment; `warnings` (a booking's, for its create answer only) as booking-warning
    extensions."""
    status = AppointmentStatus(appointment.status)
    participant_status = "tentative" if status == S.PROPOSED else "accepted"
    participants: list[dict[str, Any]] = [
        {
            "actor": {"reference": f"Patient/{appointment.patient_id}"},
            "required": "required",
            "status": participant_status,
        }
    ]
    for booking in appointment.bookings.all():
        participants.append(
            {"actor": _resource_actor(booking.resource), "required": "required", "status": participant_status}
        )
    participants.append(
        {"actor": _location_actor(appointment.location), "required": "information-only", "status": "accepted"}
    )
    zone = selectors.zone_of(appointment.location)
    start, end = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
    cancelled = status == S.CANCELLED
    data = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "meta": {
            "versionId": str(appointment.version),
            "lastUpdated": instant(appointment.updated_at),
            "tag": [{"system": STATUS_TAG_SYSTEM, "code": status.value, "display": status.label}],
        },
        "status": STATUS_TO_FHIR[status],
        "cancelationReason": {
            "coding": [
                {
                    "system": CANCEL_REASON_SYSTEM,
                    "code": appointment.cancel_reason,
                    "display": appointment.get_cancel_reason_display(),
                }
            ],
            "text": appointment.cancel_note,
        }
        if cancelled
        else None,
        "serviceType": [_service_type(appointment.visit_type)],
        "description": f"{appointment.visit_type.name}, {appointment.location.name}",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "minutesDuration": int((end - start).total_seconds() // 60),
        "created": instant(appointment.created_at),
        "comment": appointment.notes,
        "patientInstruction": f"Video visit: join at {appointment.join_url}" if appointment.join_url else "",
        "participant": participants,
        "extension": [{"url": WARNING_EXTENSION, "valueString": warning} for warning in warnings],
    }
    return FhirAppointment.model_validate(compact(data))


_NAIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _check_times(data: dict[str, Any]) -> None:
    """A start or end without a UTC offset: 400 saying so (R4B would only say the pattern does not
    match)."""
    for name in ("start", "end"):
        value = data.get(name)
        if isinstance(value, str) and _NAIVE_TIME.match(value.strip()):
            raise FhirError.single(
                400,
                "value",
                f"Appointment.{name} {value!r} has no time zone; give it with a UTC offset, e.g. "
                f"{value}-05:00 (times are kept in the location's time zone).",
                expression=(f"Appointment.{name}",),
                details_code="invalid_timezone",
            )


def _unprocessable(message: str, path: str, code: str = "") -> FhirError:
    return FhirError.single(422, "business-rule", message, expression=(path,), details_code=code)


def _references(resource: FhirAppointment, resource_type: str) -> list[str]:
    found = []
    for participant in resource.participant or []:
        reference = participant.actor.reference if participant.actor is not None else None
        if reference:
            kind, _, reference_id = str(reference).rpartition("/")
            if kind.rsplit("/", 1)[-1] == resource_type:
                found.append(reference_id)
    return found


def _one_id(values: list[str], resource_type: str, *, required: bool) -> int | None:
    path = "Appointment.participant.actor"
    if not values:
        if required:
            raise _unprocessable(
                f"Name the {resource_type}: a participant with actor {resource_type}/<id>.", path
            )
        return None
    if len(values) > 1:
        raise _unprocessable(f"Name one {resource_type}, not {len(values)}.", path)
    value = values[0]
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
        raise _unprocessable(
            f"No {resource_type} with id {value!r}.", path, f"{resource_type.lower()}_not_found"
        )
    return int(value)


def _visit_type_of(actor: Actor, resource: FhirAppointment) -> VisitType | None:
    codes = [
        coding.code
        for concept in resource.serviceType or []
        for coding in concept.coding or []
        if coding.code and (coding.system in (None, VISIT_TYPE_SYSTEM))
    ]
    if not codes:
        return None
    if len(set(codes)) > 1:
        raise _unprocessable("Give one visit type in serviceType.", "Appointment.serviceType")
    visit_type = selectors.visit_type_queryset(actor).filter(active=True, code=codes[0]).first()
    if visit_type is None:
        raise _unprocessable(
            f"There is no visit type with code {codes[0]!r}.",
            "Appointment.serviceType",
            "visit_type_not_found",
        )
    return visit_type


def booking_from_fhir(actor: Actor, resource: FhirAppointment) -> services.BookingRequest:
    """The booking a new Appointment asks for: its patient, visit type (serviceType code, or the Slot's),
    start (or the Slot's), location (participant Location/<id>, the Slot's, the practitioner's site, or
    the organization's only one) and optionally the practitioner."""
    if resource.status not in ("booked", "proposed"):
        raise _unprocessable(
            f"A new appointment is booked or proposed, not {resource.status}.", "Appointment.status"
        )
    patient_id = _one_id(_references(resource, "Patient"), "Patient", required=True)
    practitioner_id = _one_id(_references(resource, "Practitioner"), "Practitioner", required=False)
    location_id = _one_id(_references(resource, "Location"), "Location", required=False)
    visit_type = _visit_type_of(actor, resource)
    start = resource.start
    slot = None
    if resource.slot:
        if len(resource.slot) > 1:
            raise _unprocessable("Book one slot at a time.", "Appointment.slot")
        slot = parse_slot_id(str(resource.slot[0].reference or ""))
        if slot is None:
            raise _unprocessable(
                "That is not a slot from a Slot search.", "Appointment.slot", "slot_not_found"
            )
        schedules = selectors.resource_schedules(actor=actor, resource_id=slot.schedule_id)
        if not schedules:
            raise _unprocessable("That slot's schedule does not exist.", "Appointment.slot", "slot_not_found")
        slot_type = next((vt for vt in schedules[0].visit_types if vt.pk == slot.visit_type_id), None)
        if slot_type is None or (visit_type is not None and visit_type.pk != slot_type.pk):
            raise _unprocessable("The slot is for another visit type.", "Appointment.serviceType")
        if start is not None and rules.to_minute(start) != rules.to_minute(slot.start):
            raise _unprocessable("The start is not the slot's start.", "Appointment.start")
        visit_type, start = slot_type, slot.start
        location_id = location_id or slot.location_id
        schedule_resource = schedules[0].resource
        if (
            practitioner_id is None
            and schedule_resource.kind == ResourceKind.PRACTITIONER
            and _offers_as_practitioner(slot_type, schedule_resource.practitioner_id)
        ):
            practitioner_id = schedule_resource.practitioner_id
    if visit_type is None:
        raise _unprocessable(
            f"Say what to book: serviceType with a visit type code ({VISIT_TYPE_SYSTEM}), or a slot.",
            "Appointment.serviceType",
            "required",
        )
    if start is None:
        raise _unprocessable("Give the start (or a slot).", "Appointment.start", "required")
    if resource.end is not None:
        if resource.end <= start:
            raise _unprocessable("The end is not after the start.", "Appointment.end", "invalid_time")
        if resource.end - start != dt.timedelta(minutes=visit_type.duration_minutes):
            raise _unprocessable(
                f"{visit_type.name} lasts {visit_type.duration_minutes} minutes; leave out the end or "
                "make it match.",
                "Appointment.end",
                "invalid_time",
            )
    if resource.minutesDuration is not None and resource.minutesDuration != visit_type.duration_minutes:
        raise _unprocessable(
            f"{visit_type.name} lasts {visit_type.duration_minutes} minutes.", "Appointment.minutesDuration"
        )
    if location_id is None:
        location_id = _default_location(actor, practitioner_id)
    return services.BookingRequest(
        patient_id=patient_id or 0,
        visit_type_id=visit_type.pk,
        location_id=location_id,
        start=start,
        practitioner_id=practitioner_id,
        source=AppointmentSource.API,
        notes=resource.comment or "",
        proposed=resource.status == "proposed",
    )


def _default_location(actor: Actor, practitioner_id: int | None) -> int:
    if practitioner_id is not None:
        found = selectors.resource_schedules(actor=actor, practitioner_id=practitioner_id)
        if found:
            return found[0].resource.location_id
    locations = list(selectors.location_queryset(actor).values_list("pk", flat=True)[:2])
    if len(locations) == 1:
        return locations[0]
    raise _unprocessable(
        "Name the location: a participant with actor Location/<id> (or book a slot).",
        "Appointment.participant.actor",
        "required",
    )


_FIELD_PATHS = {
    "start": "Appointment.start",
    "patient_id": "Appointment.participant.actor",
    "practitioner_id": "Appointment.participant.actor",
    "location_id": "Appointment.participant.actor",
    "visit_type_id": "Appointment.serviceType",
    "notes": "Appointment.comment",
    "reason": "Appointment.cancelationReason",
    "note": "Appointment.cancelationReason.text",
    "status": "Appointment.status",
}


def _write_error(exc: DomainError) -> FhirError:
    """A refused booking or change: 409 for a conflict (with the appointments in the way), 412 for a
    stale version, 400 for a time without a zone, 422 for the rest (a valid resource Caredesk cannot
    act on: unknown visit type, patient or location, a past time, booking rules)."""
    path = _FIELD_PATHS.get(exc.field or "", "")
    if isinstance(exc, StaleAppointment):
        return FhirError.single(412, "conflict", exc.message, details_code=exc.code)
    if isinstance(exc, SlotConflict):
        issues = [Issue("conflict", exc.message, details_code=exc.code)]
        for item in (exc.details or {}).get("conflicts", [])[:10]:
            issues.append(Issue("conflict", _conflict_text(item), severity="information"))
        return FhirError(409, issues)
    if exc.code == "invalid_timezone":
        return FhirError.single(
            400, "value", exc.message, expression=(path,) if path else (), details_code=exc.code
        )
    if isinstance(exc, NotFound) and exc.field:
        return _unprocessable(exc.message, path or "Appointment", exc.code)
    if isinstance(exc, ValidationFailed):
        return from_domain_error(exc, validation_status=422, expression=path)
    return from_domain_error(exc, validation_status=422, expression=path)


def _conflict_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    parts = [str(item.get(key)) for key in ("resource", "start", "end") if item.get(key)]
    if item.get("appointment_id"):
        parts.append(f"Appointment/{item['appointment_id']}")
    return "In the way: " + ", ".join(parts) if parts else "In the way: another appointment"


# --- Appointment: handlers ---------------------------------------------------------------------------


@operation(
    "GET", "/Appointment/{entry_id}", Permission.SCHEDULE_VIEW, also=OWN_RECORD, summary="Read an Appointment"
)
def read_appointment(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    detail = selectors.get_appointment(actor=_actor(actor), appointment_id=_id(entry_id, "Appointment"))
    appointment = detail.appointment
    return fhir_response(appointment_to_fhir(appointment), headers=_version_headers(appointment))


@operation("GET", "/Appointment", Permission.SCHEDULE_VIEW, also=OWN_RECORD, summary="Search Appointments")
def search_appointments(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    pairs, dates = _take(search_pairs(request), "date")
    search = params.parse(pairs, ("patient", "practitioner", "status"), strict=prefers_strict(request))
    values = search.values
    results: list[Appointment] = []
    has_next = False
    matchable = True
    patient_id = practitioner_id = None
    statuses: tuple[str, ...] | None = None
    if "patient" in values:
        patient_id = _reference_id(values["patient"], "Patient", "patient")
        matchable = patient_id is not None
    if "practitioner" in values:
        practitioner_id = _reference_id(values["practitioner"], "Practitioner", "practitioner")
        matchable = matchable and practitioner_id is not None
    if "status" in values:
        code = values["status"].rpartition("|")[2]
        if code not in FHIR_TO_STATUSES:
            raise params.invalid(
                f"status must be one of {', '.join(FHIR_TO_STATUSES)}, not {code!r}.", "status"
            )
        statuses = FHIR_TO_STATUSES[code]
        matchable = matchable and bool(statuses)
    window = time_range("date", dates, _organization_zone(actor))
    if matchable and not window.empty:
        page = selectors.search_appointments(
            actor=actor,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            starts_from=window.start,
            starts_before=window.end,
            statuses=statuses,
            page=search.page,
            page_size=search.count,
        )
        results, has_next = page.results, page.has_next
    base = base_url(request)
    used = [*search.used, *(("date", v) for v in dates)]
    links = PageLinks(f"{base}/Appointment", used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(results), has_next)
    return fhir_response(
        searchset([appointment_to_fhir(a) for a in results], resource_url=base, links=links, total=total)
    )


def _created(
    request: HttpRequest, appointment: Appointment, status: int, warnings: Sequence[str] = ()
) -> HttpResponse:
    headers = _version_headers(appointment)
    if status == 201:
        headers["Location"] = f"{base_url(request)}/Appointment/{appointment.pk}"
    wanted = prefers(request, "return")
    if wanted == "minimal":
        return fhir_response(None, status=status, headers=headers)
    if wanted == "operationoutcome":
        issues = [
            Issue("business-rule", warning, severity="warning", details_code="prior_authorization")
            for warning in warnings
        ] or [
            Issue(
                "informational",
                f"{'Booked' if status == 201 else 'Updated'} Appointment/{appointment.pk}.",
                severity="information",
            )
        ]
        return fhir_response(outcome(issues), status=status, headers=headers)
    return fhir_response(appointment_to_fhir(appointment, warnings=warnings), status=status, headers=headers)


@operation("POST", "/Appointment", Permission.APPOINTMENT_BOOK, summary="Book an Appointment")
def create_appointment(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    data = read_json_body(request, "Appointment")
    _check_times(data)
    resource = validate(FhirAppointment, data)
    try:
        booking = booking_from_fhir(actor, resource)
        appointment = services.book_appointment(actor=actor, request=booking)
    except DomainError as exc:
        raise _write_error(exc) from exc
    warnings = check_booked(actor, [appointment])  # booked anyway; the front desk gets a task
    return _created(request, appointment, 201, warnings)


def _expected_version(request: HttpRequest) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    text = header.removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise FhirError.single(400, "value", f'If-Match must be an ETag such as W/"3", not {header!r}.')
    return int(text)


def _cancel_reason(resource: FhirAppointment) -> tuple[str, str]:
    concept = resource.cancelationReason
    if concept is None:
        raise _unprocessable(
            f"Say why: cancelationReason with a code of {CANCEL_REASON_SYSTEM} "
            f"({', '.join(CancelReason.values)}) or a text.",
            "Appointment.cancelationReason",
            "required",
        )
    codes = [c.code for c in concept.coding or [] if c.code and c.system in (None, CANCEL_REASON_SYSTEM)]
    text = (concept.text or "").strip()
    if codes:
        return codes[0], text
    if text:
        return CancelReason.OTHER, text
    raise _unprocessable(
        "cancelationReason needs a code or a text.", "Appointment.cancelationReason", "required"
    )


@operation(
    "PUT",
    "/Appointment/{entry_id}",
    Permission.APPOINTMENT_BOOK,
    summary="Update an Appointment (status, start)",
)
def update_appointment(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    actor = _actor(actor)
    pk = _id(entry_id, "Appointment")
    expected = _expected_version(request)
    data = read_json_body(request, "Appointment")
    if data.get("id") not in (None, entry_id):
        raise FhirError.single(
            400,
            "invalid",
            f"The body's id {data.get('id')!r} is not {entry_id!r}.",
            expression=("Appointment.id",),
        )
    _check_times(data)
    resource = validate(FhirAppointment, data)
    current = selectors.appointment_queryset(actor).filter(pk=pk).first()  # the write below is audited
    if current is None:
        raise FhirError.single(404, "not-found", f"No Appointment with id {entry_id!r}.")
    wanted = str(resource.status)
    status_changes = wanted != STATUS_TO_FHIR[current.status]
    moves = resource.start is not None and rules.to_minute(resource.start) != rules.to_minute(
        current.starts_at
    )
    if status_changes and moves:
        raise _unprocessable(
            "Change the status or the start, one at a time.", "Appointment.start", "one_change_at_a_time"
        )
    try:
        appointment = _apply(
            actor, current, resource, wanted, expected, moves=moves, status_changes=status_changes
        )
    except DomainError as exc:
        raise _write_error(exc) from exc
    return _created(request, appointment, 200)


def _apply(
    actor: Actor,
    current: Appointment,
    resource: FhirAppointment,
    wanted: str,
    expected: int | None,
    *,
    moves: bool,
    status_changes: bool,
) -> Appointment:
    pk = current.pk
    if moves:
        assert resource.start is not None
        return services.reschedule_appointment(
            actor=actor, appointment_id=pk, start=resource.start, expected_version=expected
        )
    if not status_changes:
        if expected is not None and expected != current.version:
            raise StaleAppointment(
                "Someone changed this appointment since you read it. Read it again and retry.",
                details={"version": current.version},
            )
        return current
    if wanted == "cancelled":
        reason, note = _cancel_reason(resource)
        return services.cancel_appointment(
            actor=actor, appointment_id=pk, reason=reason, note=note, expected_version=expected
        )
    if wanted == "arrived":
        return services.check_in(actor=actor, appointment_id=pk, expected_version=expected)
    if wanted == "noshow":
        return services.mark_no_show(actor=actor, appointment_id=pk, expected_version=expected)
    if wanted in STATUS_STEPS:
        return services.change_status(
            actor=actor, appointment_id=pk, status=STATUS_STEPS[wanted], expected_version=expected
        )
    raise _unprocessable(
        f"Caredesk does not set an appointment to {wanted}.", "Appointment.status", "invalid_transition"
    )
