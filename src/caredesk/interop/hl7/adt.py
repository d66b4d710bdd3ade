"""An HL7 v2 ADT message (parsed by python-hl7) as the values `transitions` works with.

Only what care coordination needs is read: MSH (who sent what), EVN (when), PID (the patient), PV1 (the
visit) and MRG (A40's merged record). Anything that cannot be read raises `Unreadable` with the
acknowledgement to answer: AR for what cannot be processed at all (not HL7, no control id, a message type
or event this listener does not handle), AE for bad content (a date that is not a date).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import hl7

from caredesk.transitions.choices import SUPPORTED_TRIGGERS
from caredesk.transitions.schemas import AdtEvent, ExternalId, MergeData, MessageHeader, PersonData, VisitData

SUPPORTED_TYPES = ("ADT",)
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")
_SEXES = {"F": "female", "M": "male", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}


class Unreadable(Exception):
    """The message cannot be applied as it is. `ack_code` AR or AE; `error_code` from HL7 table 0357."""

    def __init__(self, text: str, *, ack_code: str = "AE", error_code: str = "207") -> None:
        super().__init__(text)
        self.text = text
        self.ack_code = ack_code
        self.error_code = error_code


# ---------------------------------------------------------------------------------------------------
# Reading fields safely
# ---------------------------------------------------------------------------------------------------


def _get(segment: hl7.Segment | None, field: int, repeat: int = 1, component: int = 1, sub: int = 1) -> str:
    """One value (escapes undone), "" when absent; never raises for a short segment."""
    if segment is None:
        return ""
    try:
        value = segment.extract_field(1, field, repeat, component, sub)
    except (IndexError, KeyError, TypeError):
        return ""
    return str(value).strip()


def _repeats(segment: hl7.Segment | None, field: int) -> int:
    if segment is None or field >= len(segment):
        return 0
    value = segment(field)
    return len(value) if isinstance(value, hl7.Field) else 1


def _segments(message: hl7.Message, name: str) -> list[hl7.Segment]:
    return [segment for segment in message if str(segment(0)) == name]


def _first(message: hl7.Message, name: str) -> hl7.Segment | None:
    found = _segments(message, name)
    return found[0] if found else None


def _timestamp(value: str, label: str, zone: ZoneInfo) -> dt.datetime | None:
    """An HL7 DTM as an aware time: with its offset when it has one, else in the organization's zone."""
    if not value:
        return None
    try:
        moment = hl7.parse_datetime(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Unreadable(f"{label} is not an HL7 date/time: {value!r}.", error_code="102") from exc
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def _birth_date(value: str) -> dt.date | None:
    """PID-7: the calendar date as written (a time or offset after it is ignored, not converted)."""
    if not value:
        return None
    match = _DATE.match(value)
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])) if match else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------
# The message
# ---------------------------------------------------------------------------------------------------


def parse(text: str) -> hl7.Message:
    if not text.startswith("MSH"):
        raise Unreadable("The message does not start with an MSH segment.", ack_code="AR", error_code="100")
    try:
        return hl7.parse(text)
    except (hl7.ParseException, ValueError, IndexError, KeyError) as exc:
        raise Unreadable(f"The message could not be parsed: {exc}", ack_code="AR", error_code="100") from exc


@dataclass(frozen=True)
class Envelope:
    """MSH as the acknowledgement needs it: raw fields, so the ACK addresses the sender as it named
    itself."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    message_type: str = ""
    trigger: str = ""
    sent_at: dt.datetime | None = None

    @property
    def sender(self) -> str:
        app = self.sending_application.split("^", 1)[0]
        facility = self.sending_facility.split("^", 1)[0]
        return f"{app}|{facility}"

    def header(self) -> MessageHeader:
        return MessageHeader(
            sender=self.sender,
            control_id=self.control_id,
            message_type=self.message_type,
            trigger=self.trigger,
            version=self.version,
            sent_at=self.sent_at,
        )


def _raw_field(segment: hl7.Segment, field: int) -> str:
    return str(segment(field)) if field < len(segment) else ""


def envelope(message: hl7.Message, zone: ZoneInfo) -> Envelope:
    """MSH, read leniently (the acknowledgement needs what can be read even when the rest is bad)."""
    msh = message[0]
    sent_at: dt.datetime | None
    try:
        sent_at = _timestamp(_get(msh, 7), "MSH-7", zone)
    except Unreadable:
        sent_at = None
    return Envelope(
        sending_application=_raw_field(msh, 3),
        sending_facility=_raw_field(msh, 4),
        receiving_application=_raw_field(msh, 5),
        receiving_facility=_raw_field(msh, 6),
        control_id=_get(msh, 10),
        processing_id=_get(msh, 11),
        version=_get(msh, 12),
        message_type=_get(msh, 9, 1, 1).upper(),
        trigger=_get(msh, 9, 1, 2).upper(),
        sent_at=sent_at,
    )


def check_supported(env: Envelope) -> None:
    if not env.control_id:
        raise Unreadable("MSH-10 (message control id) is missing.", ack_code="AR", error_code="101")
    if env.message_type not in SUPPORTED_TYPES:
        raise Unreadable(
            f"Message type {env.message_type or '(none)'} is not supported; this listener takes ADT.",
            ack_code="AR",
            error_code="200",
        )
    if env.trigger not in SUPPORTED_TRIGGERS:
        raise Unreadable(
            f"Event {env.trigger or '(none)'} is not supported; this listener takes ADT "
            f"{', '.join(SUPPORTED_TRIGGERS)}.",
            ack_code="AR",
            error_code="201",
        )


def _identifiers(segment: hl7.Segment | None, field: int, default_authority: str) -> tuple[ExternalId, ...]:
    found = []
    for repeat in range(1, _repeats(segment, field) + 1):
        value = _get(segment, field, repeat, 1)
        if not value:
            continue
        authority = (
            _get(segment, field, repeat, 4, 1)
            or _get(segment, field, repeat, 4, 2)
            or _get(segment, field, repeat, 6, 1)
            or default_authority
        )
        found.append(
            ExternalId(value=value[:80], authority=authority[:120], type_code=_get(segment, field, repeat, 5))
        )
    return tuple(found)


def _street(segment: hl7.Segment, field: int) -> str:
    parts = [_get(segment, field, 1, 1, sub) for sub in (1, 2, 3)]
    return " ".join(part for part in parts if part)


def _phone(segment: hl7.Segment) -> str:
    number = _get(segment, 13, 1, 1)
    if number:
        return number
    area, local = _get(segment, 13, 1, 6), _get(segment, 13, 1, 7)
    return f"({area}) {local}" if area and local else local


def _person(segment: hl7.Segment, default_authority: str) -> PersonData:
    return PersonData(
        identifiers=_identifiers(segment, 3, default_authority),
        family_name=_get(segment, 5, 1, 1, 1)[:100],
        given_name=_get(segment, 5, 1, 2)[:100],
        middle_name=_get(segment, 5, 1, 3)[:100],
        birth_date=_birth_date(_get(segment, 7)),
        sex=_SEXES.get(_get(segment, 8).upper()[:1], ""),
        address_line1=_street(segment, 11)[:200],
        address_line2=_get(segment, 11, 1, 2)[:200],
        city=_get(segment, 11, 1, 3)[:100],
        state=_get(segment, 11, 1, 4)[:2] if len(_get(segment, 11, 1, 4)) == 2 else "",
        postal_code=_get(segment, 11, 1, 5)[:10],
        country=_get(segment, 11, 1, 6)[:3],
        phone=_phone(segment)[:100],
    )


def _visit(segment: hl7.Segment, zone: ZoneInfo) -> VisitData:
    return VisitData(
        visit_number=_get(segment, 19, 1, 1),
        patient_class=_get(segment, 2),
        point_of_care=_get(segment, 3, 1, 1, 1),
        room=_get(segment, 3, 1, 2),
        bed=_get(segment, 3, 1, 3),
        facility=_get(segment, 3, 1, 4, 1),
        admit_at=_timestamp(_get(segment, 44), "PV1-44 (admit date/time)", zone),
        discharge_at=_timestamp(_get(segment, 45), "PV1-45 (discharge date/time)", zone),
        disposition_code=_get(segment, 36, 1, 1),
        disposition_text=_get(segment, 36, 1, 2),
    )


def _merges(message: hl7.Message, default_authority: str) -> tuple[MergeData, ...]:
    """A40: each PID with the MRG that follows it."""
    merges = []
    current: hl7.Segment | None = None
    for segment in message:
        name = str(segment(0))
        if name == "PID":
            current = segment
        elif name == "MRG" and current is not None:
            merges.append(
                MergeData(
                    survivor=_person(current, default_authority),
                    prior=_identifiers(segment, 1, default_authority),
                )
            )
            current = None
    return tuple(merges)


def event(message: hl7.Message, env: Envelope, zone: ZoneInfo) -> AdtEvent:
    """The ADT event the message carries (raises Unreadable for a date that is not one)."""
    facility = env.sending_facility.split("^", 1)[0]
    evn = _first(message, "EVN")
    pid = _first(message, "PID")
    pv1 = _first(message, "PV1")
    event_at = _timestamp(_get(evn, 6), "EVN-6", zone) or _timestamp(_get(evn, 2), "EVN-2", zone)
    return AdtEvent(
        header=env.header(),
        event_at=event_at,
        person=_person(pid, facility) if pid is not None else None,
        visit=_visit(pv1, zone) if pv1 is not None else None,
        merges=_merges(message, facility) if env.trigger == "A40" else (),
    )
