"""Plain input values of the transitions use cases: an ADT event as the domain sees it.

`interop.hl7` builds these from HL7 v2 messages; times are aware (a message's local times are read in the
organization's time zone). Nothing here knows HL7 syntax.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExternalId:
    """A patient identifier another system assigned (PID-3 / MRG-1): its value, who assigned it, its type."""

    value: str
    authority: str = ""
    type_code: str = ""  # HL7 table 0203: MR, PI, SS …


@dataclass(frozen=True)
class PersonData:
    identifiers: tuple[ExternalId, ...] = ()
    family_name: str = ""
    given_name: str = ""
    middle_name: str = ""
    birth_date: dt.date | None = None
    sex: str = ""  # patients' AdministrativeSex value, or ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""


@dataclass(frozen=True)
class VisitData:
    visit_number: str = ""  # PV1-19
    patient_class: str = ""  # PV1-2, HL7 table 0004: I, O, E, P, R, B …
    point_of_care: str = ""  # PV1-3.1 (the unit)
    room: str = ""
    bed: str = ""
    facility: str = ""
    admit_at: dt.datetime | None = None  # PV1-44
    discharge_at: dt.datetime | None = None  # PV1-45
    disposition_code: str = ""  # PV1-36 (UB-04 patient status: 01 home, 06 home health …)
    disposition_text: str = ""


@dataclass(frozen=True)
class MergeData:
    """A40: the surviving patient (PID) and the identifiers of the record merged into it (MRG-1)."""

    survivor: PersonData
    prior: tuple[ExternalId, ...]


@dataclass(frozen=True)
class MessageHeader:
    sender: str = ""  # "MSH-3|MSH-4" (first components): the key control ids are unique under
    control_id: str = ""  # MSH-10
    message_type: str = ""  # MSH-9.1, e.g. ADT
    trigger: str = ""  # MSH-9.2, e.g. A03
    version: str = ""  # MSH-12
    sent_at: dt.datetime | None = None  # MSH-7


@dataclass(frozen=True)
class AdtEvent:
    header: MessageHeader
    event_at: dt.datetime | None = None  # EVN-6 (when it happened) or EVN-2 (when recorded)
    person: PersonData | None = None
    visit: VisitData | None = None
    merges: tuple[MergeData, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rejection:
    """Why a message could not be read at all: answered AR (or AE), stored for review, nothing applied."""

    ack_code: str  # "AR" or "AE"
    error_code: str  # HL7 table 0357: 100 segment sequence, 101 required field missing, 102 data type,
    #                  200 unsupported message type, 201 unsupported event code, 203 unsupported version
    text: str


@dataclass(frozen=True)
class IncomingMessage:
    """One message handed to `services.receive_messages`: its header and text as received, and either the
    event read from it or why it could not be read. `request_id`: the audit rows' request id for this
    message (one per message; empty: the actor's)."""

    header: MessageHeader
    raw: str
    event: AdtEvent | None = None
    rejection: Rejection | None = None
    request_id: str = ""


@dataclass(frozen=True)
class Receipt:
    """What the acknowledgement says. `duplicate`: the control id was seen before; nothing was applied."""

    ack_code: str
    error_code: str = ""
    text: str = ""
    message_id: int | None = None
    duplicate: bool = False
    warnings: tuple[str, ...] = ()
