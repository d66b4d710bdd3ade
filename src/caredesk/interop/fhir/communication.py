"""Communication-log entries -> FHIR R4 Communication (validated with fhir.resources.R4B), with the read and
search handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

A call that reached nobody (no answer, busy, wrong number) or a message that failed is `not-done` with the
outcome as `statusReason`; everything else `completed`. The channel is the `medium` (v3 ParticipationMode)
and the `category` text; `sent` is when it happened (the log records one time for either direction). For
an outbound entry the staff member is the sender and the patient (or the named other party) the
recipient; inbound the other way round. What it was about is `about`, by literal reference: a linked
worklist task (`Task/{id}`), referral (`ServiceRequest/referral-{id}`, as service_request.py serves it) or
appointment (`Appointment/{id}`). A referral is not `basedOn`: a call or letter about a referral does not
fulfil it. Duration and outcome go in a `note`.

Search: `patient` (required), `sent`, and `about` (one `Task/{id}`, `ServiceRequest/referral-{id}` or
`Appointment/{id}`: the entries about it).

Staff with the communication-log permission see their organization's entries; a portal token only those
about its own record. Reads and searches are audited by the messaging selectors.

Create (COMMUNICATION_LOG, staff only) logs what happened through messaging.services.log_communication:
`subject` the Patient, the channel from `category` (urn:caredesk:communication-channel) or else `medium`
(PHONE, ELECTRONIC = SMS, EMAILWRIT, MAILWRIT, FAXWRIT, ONLINEWRIT), `topic.text` the subject line,
`payload` contentString the summary, `sent` when (with its UTC offset; now when left out), `about` the
linked `Task/[id]`, `ServiceRequest/referral-[id]` and `Appointment/[id]` (each the patient's). Inbound
when the `sender` is the Patient (or another party given as a display "Name (Party)" as a read shows it),
outbound otherwise; the other party is the patient unless named so. The outcome is the `statusReason`
coding (urn:caredesk:communication-outcome); without one, `completed` is reached (calls) or sent/received,
`not-done` no answer (calls) or failed. Refused requests change nothing: 400 malformed, 403 without the
permission, 422 anything the log refuses (an outcome the channel cannot have, a time in the future, a
linked record that is not the patient's, a consent the patient has not given).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from fhir.resources.R4B.communication import Communication as FhirCommunication

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.messaging import selectors, services
from caredesk.messaging.choices import Direction, Outcome, Party
from caredesk.messaging.errors import CommunicationNotFound
from caredesk.messaging.models import Communication
from caredesk.patients.errors import PatientNotFound

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, read_json_body, search_pairs, validate
from .outcomes import FhirError, write_error
from .scheduling import time_range

MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
CHANNEL_SYSTEM = "urn:caredesk:communication-channel"
OUTCOME_SYSTEM = "urn:caredesk:communication-outcome"
REFERRAL_PREFIX = "referral-"  # service_request.py's ids of referrals
MAX_ID = 2**63 - 1
MEDIUM: dict[str, tuple[str, str]] = {
    "phone": ("PHONE", "telephone"),
    "sms": ("ELECTRONIC", "electronic data"),
    "email": ("EMAILWRIT", "email"),
    "letter": ("MAILWRIT", "mail"),
    "fax": ("FAXWRIT", "telefax"),
    "portal": ("ONLINEWRIT", "online"),
}
NOT_DONE = frozenset({"no_answer", "busy", "wrong_number", "failed"})
SEARCH_PARAMS = ("patient", "subject", "about")
SUPPORT = ResourceSupport(
    "Communication",
    ("read", "search-type", "create"),
    (
        SearchParam("patient", "reference", "Required: the patient's communication log, latest first"),
        SearchParam(
            "sent",
            "date",
            "When it happened: ge/gt/le/lt/eq; may be given twice for a range; a date is a day in the "
            "server's time zone, a time needs its UTC offset",
        ),
        SearchParam(
            "about",
            "reference",
            f"Task/[id], ServiceRequest/{REFERRAL_PREFIX}[id] or Appointment/[id]: the entries about it",
        ),
    ),
    "Create logs a call, message, letter or fax that happened (nothing is sent): subject, category "
    f"({CHANNEL_SYSTEM}) or medium, topic.text, payload, sent, about, and the outcome as statusReason "
    f"({OUTCOME_SYSTEM}).",
)


def _other_party(entry: Communication) -> dict[str, Any]:
    if entry.party == Party.PATIENT:
        return {"reference": f"Patient/{entry.patient_id}"}
    label = entry.get_party_display()
    return {"display": f"{entry.party_name} ({label})" if entry.party_name else label}


def communication_to_fhir(entry: Communication) -> FhirCommunication:
    staff = {"display": entry.logged_by_name}
    outbound = entry.direction == Direction.OUTBOUND
    not_done = entry.outcome in NOT_DONE
    outcome = {"system": OUTCOME_SYSTEM, "code": entry.outcome, "display": entry.get_outcome_display()}
    notes = [f"{entry.get_direction_display()}, {entry.get_outcome_display().lower()}."]
    if entry.duration_minutes is not None:
        notes.append(f"Duration: {entry.duration_minutes} min.")
    code, display = MEDIUM[entry.channel]
    about: list[dict[str, Any]] = []
    if entry.task_id is not None:
        about.append({"reference": f"Task/{entry.task_id}"})
    if entry.referral_id is not None:
        about.append(
            {"reference": f"ServiceRequest/{REFERRAL_PREFIX}{entry.referral_id}", "display": "Referral"}
        )
    if entry.appointment_id is not None:
        about.append({"reference": f"Appointment/{entry.appointment_id}", "display": "Appointment"})
    data: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(entry.pk),
        "meta": {"lastUpdated": instant(entry.created_at)},
        "status": "not-done" if not_done else "completed",
        "statusReason": {"coding": [outcome], "text": entry.get_outcome_display()} if not_done else None,
        "category": [
            {
                "coding": [
                    {"system": CHANNEL_SYSTEM, "code": entry.channel, "display": entry.get_channel_display()}
                ],
                "text": entry.get_channel_display(),
            }
        ],
        "medium": [{"coding": [{"system": MODE_SYSTEM, "code": code, "display": display}]}],
        "subject": {"reference": f"Patient/{entry.patient_id}"},
        "topic": {"text": entry.subject},
        "about": about,
        "sent": instant(entry.occurred_at),
        "received": instant(entry.occurred_at) if not outbound and not not_done else None,
        "sender": staff if outbound else _other_party(entry),
        "recipient": [_other_party(entry) if outbound else staff],
        "payload": [{"contentString": entry.body}] if entry.body else None,
        "note": [{"text": " ".join(notes)}],
    }
    return FhirCommunication.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


def _split_sent(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Take the `sent` values out of the query (it may repeat: a range is ge… and lt…)."""
    rest: list[tuple[str, str]] = []
    values: list[str] = []
    for name, value in pairs:
        base, _, modifier = name.partition(":")
        if base != "sent":
            rest.append((name, value))
            continue
        if modifier:
            raise params.invalid(
                f"The modifier :{modifier} is not supported on sent.", name, code="not-supported"
            )
        if value.strip():
            values.append(value.strip())
    if len(values) > 2:
        raise params.invalid(
            "Give sent at most twice (a lower and an upper bound).", "sent", code="not-supported"
        )
    return rest, values


def _about(value: str | None) -> dict[str, int] | None:
    """The `about` parameter as the selector's filter ({} when not given); None when nothing can match
    (an id of the right type that is no number). 400 for a reference to another resource type."""
    if value is None:
        return {}
    resource_type, _, reference = value.rpartition("/")
    resource_type = resource_type.rsplit("/", 1)[-1]
    if resource_type == "ServiceRequest":
        if not reference.startswith(REFERRAL_PREFIX):
            return None  # an order (order-<id>): no communication is about one
        pk = _number(reference.removeprefix(REFERRAL_PREFIX))
        return None if pk is None else {"referral_id": pk}
    if resource_type in ("Task", "Appointment"):
        pk = _number(reference)
        return None if pk is None else {f"{resource_type.lower()}_id": pk}
    raise params.invalid(
        f"about must refer to a Task, a ServiceRequest ({REFERRAL_PREFIX}[id]) or an Appointment, "
        f"not {value!r}.",
        "about",
    )


@operation(
    "GET",
    "/Communication/{entry_id}",
    Permission.COMMUNICATION_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Read a Communication",
)
def read_communication(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """One communication-log entry (a portal token: only one about its own record)."""
    pk = _number(entry_id)
    if pk is None:
        raise FhirError.single(404, "not-found", f"No Communication with id {entry_id!r}.")
    try:
        entry = selectors.get_communication(actor=_actor(actor), communication_id=pk, purpose="fhir")
    except CommunicationNotFound as exc:
        raise FhirError.single(404, "not-found", f"No Communication with id {entry_id!r}.") from exc
    return fhir_response(communication_to_fhir(entry))


@operation(
    "GET",
    "/Communication",
    Permission.COMMUNICATION_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Search Communication by patient, sent date and about",
)
def search_communications(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    pairs, sent = _split_sent(list(search_pairs(request)))
    search = params.parse(pairs, SEARCH_PARAMS, strict=prefers_strict(request))
    window = time_range("sent", sent, timezone.get_default_timezone())
    used = [*search.used, *(("sent", value) for value in sent)]
    _, reference = params.patient_reference(search)
    patient_id = _number(reference)
    about = _about(search.values.get("about"))
    entries: list[Communication] = []
    has_next = False
    if patient_id is not None and about is not None and not window.empty:
        try:
            found = selectors.search_communications(
                actor=actor,
                patient_id=patient_id,
                since=window.start,
                before=window.end,
                page=search.page,
                page_size=search.count,
                **about,
            )
        except PatientNotFound:
            pass  # another organization's patient, or none: an empty result, as for any search
        else:
            entries, has_next = found.entries, found.has_next
    base = base_url(request)
    links = PageLinks(f"{base}/Communication", used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(entries), has_next)
    return fhir_response(
        searchset([communication_to_fhir(e) for e in entries], resource_url=base, links=links, total=total)
    )


# --- create: log what happened, through messaging.services.log_communication -----------------------------

CHANNEL_OF_MEDIUM = {code: channel for channel, (code, _display) in MEDIUM.items()}
_FIELD_PATHS = {
    "patient_id": "Communication.subject",
    "direction": "Communication.sender",
    "channel": "Communication.category",
    "outcome": "Communication.statusReason",
    "party": "Communication.recipient",
    "party_name": "Communication.recipient",
    "subject": "Communication.topic",
    "body": "Communication.payload",
    "occurred_at": "Communication.sent",
    "referral_id": "Communication.about",
    "task_id": "Communication.about",
    "appointment_id": "Communication.about",
}


def _unprocessable(message: str, path: str) -> FhirError:
    return FhirError.single(422, "business-rule", message, expression=(path,))


def _codes(concepts: Any, system: str) -> list[str]:
    return [
        str(coding.code)
        for concept in concepts or []
        for coding in concept.coding or []
        if coding.system == system and coding.code
    ]


def _channel(resource: FhirCommunication) -> str:
    channels = _codes(resource.category, CHANNEL_SYSTEM) or [
        CHANNEL_OF_MEDIUM.get(code, "") for code in _codes(resource.medium, MODE_SYSTEM)
    ]
    if len(set(channels)) != 1 or channels[0] not in MEDIUM:
        raise _unprocessable(
            f"Say how: one category of {CHANNEL_SYSTEM} ({', '.join(MEDIUM)}) or one medium of {MODE_SYSTEM} "
            f"({', '.join(CHANNEL_OF_MEDIUM)}).",
            "Communication.category",
        )
    return channels[0]


def _party_of(reference: Any, patient_reference: str) -> tuple[str, str] | None:
    """(party, name) when `reference` is the patient or a party named as a read shows it; else None."""
    if reference is None:
        return None
    if str(reference.reference or "").rsplit("/", 2)[-2:] == patient_reference.split("/"):
        return Party.PATIENT, ""
    display = str(reference.display or "").strip()
    for party, label in Party.choices:
        if display == label:
            return str(party), ""
        if display.endswith(f" ({label})"):
            return str(party), display.removesuffix(f" ({label})").strip()
    return None


def _direction_and_party(resource: FhirCommunication, patient_reference: str) -> tuple[str, str, str]:
    recipients = resource.recipient or []
    if len(recipients) > 1:
        raise _unprocessable("Name one recipient.", "Communication.recipient")
    recipient = _party_of(recipients[0] if recipients else None, patient_reference)
    if recipient is not None:
        return Direction.OUTBOUND, *recipient
    sender = _party_of(resource.sender, patient_reference)
    if sender is not None:
        return Direction.INBOUND, *sender
    if recipients and recipients[0].display:
        return Direction.OUTBOUND, Party.OTHER, str(recipients[0].display).strip()
    return Direction.OUTBOUND, Party.PATIENT, ""


def _outcome(resource: FhirCommunication, channel: str, direction: str) -> str:
    codes = _codes([resource.statusReason] if resource.statusReason else [], OUTCOME_SYSTEM)
    if codes:
        if len(set(codes)) > 1 or codes[0] not in Outcome.values:
            raise _unprocessable(
                f"statusReason must be one outcome of {OUTCOME_SYSTEM} ({', '.join(Outcome.values)}).",
                "Communication.statusReason",
            )
        return codes[0]
    if resource.status == "not-done":
        return Outcome.NO_ANSWER if channel == "phone" else Outcome.FAILED
    if channel == "phone":
        return Outcome.REACHED
    return Outcome.SENT if direction == Direction.OUTBOUND else Outcome.RECEIVED


def _about_ids(resource: FhirCommunication) -> dict[str, int]:
    found: dict[str, int] = {}
    for reference in resource.about or []:
        value = str(reference.reference or "")
        try:
            ids = _about(value)
        except FhirError as exc:
            raise _unprocessable(exc.issues[0].diagnostics, "Communication.about") from exc
        if not ids:
            raise _unprocessable(f"{value!r} is not a record Caredesk has.", "Communication.about")
        for key, pk in ids.items():
            if key in found and found[key] != pk:
                raise _unprocessable("Name at most one record of each type in about.", "Communication.about")
            found[key] = pk
    return found


def new_communication_from_fhir(resource: FhirCommunication) -> services.NewCommunication:
    """The log entry a new Communication asks for."""
    if resource.status not in ("completed", "not-done"):
        raise _unprocessable(
            f"The log records what happened: completed or not-done, not {resource.status}.",
            "Communication.status",
        )
    subject = str(resource.subject.reference or "") if resource.subject else ""
    kind, _, value = subject.rpartition("/")
    patient_id = _number(value)
    if kind.rsplit("/", 1)[-1] != "Patient" or patient_id is None:
        raise _unprocessable("The subject must be Patient/[id].", "Communication.subject")
    channel = _channel(resource)
    direction, party, party_name = _direction_and_party(resource, f"Patient/{patient_id}")
    topic = (resource.topic.text or "").strip() if resource.topic is not None else ""
    if not topic:
        raise _unprocessable("Give the subject line as topic.text.", "Communication.topic")
    sent = resource.sent
    if sent is not None and not isinstance(sent, dt.datetime):
        raise FhirError.single(
            400,
            "value",
            "sent is a date and time with its UTC offset, e.g. 2027-03-01T10:30:00-05:00.",
            expression=("Communication.sent",),
        )
    body = "\n\n".join(
        str(part.contentString).strip() for part in resource.payload or [] if part.contentString
    )
    return services.NewCommunication(
        patient_id=patient_id,
        direction=direction,
        channel=channel,
        subject=topic,
        outcome=_outcome(resource, channel, direction),
        party=party,
        party_name=party_name,
        body=body,
        occurred_at=sent,
        **_about_ids(resource),
    )


@operation(
    "POST",
    "/Communication",
    Permission.COMMUNICATION_LOG,
    summary="Log a Communication (a call, message, ...)",
)
def create_communication(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    data = read_json_body(request, "Communication")
    resource = validate(FhirCommunication, data)
    new = new_communication_from_fhir(resource)
    try:
        entry = services.log_communication(actor=actor, data=new)
    except DomainError as exc:
        field = "patient_id" if isinstance(exc, PatientNotFound) else exc.field or ""
        raise write_error(exc, expression=_FIELD_PATHS.get(field, "Communication")) from exc
    headers = {"Location": f"{base_url(request)}/Communication/{entry.pk}"}
    return fhir_response(communication_to_fhir(entry), status=201, headers=headers)
