"""Plain values the coverage use cases take and give: what a person types for a coverage, what an
eligibility request says about the patient (the 270's content), and what a payer answered (the 271's).

interop.x12 turns an `EligibilityInquiry` into a 270 and a 271 into an `EligibilityOutcome`; the coverage
app never sees X12 itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class CoverageInput:
    plan_id: int
    member_id: str
    effective_from: dt.date
    order: int = 1  # CoverageOrder
    group_number: str = ""
    relationship: str = "self"  # SubscriberRelationship
    subscriber_given_name: str = ""
    subscriber_family_name: str = ""
    subscriber_birth_date: dt.date | None = None
    effective_to: dt.date | None = None


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    birth_date: dt.date | None
    sex: str = ""  # "male", "female", or anything else for unknown


@dataclass(frozen=True)
class EligibilityInquiry:
    """Everything a 270 carries for one check."""

    organization_id: int
    trace_number: str
    control_number: int  # ISA13 / GS06 / ST02 of the interchange that carries it
    service_date: dt.date
    created_at: dt.datetime
    payer_name: str
    payer_id: str
    route: str  # ClearinghouseRoute
    provider_name: str
    provider_npi: str
    provider_tax_id: str
    member_id: str
    group_number: str
    relationship: str  # SubscriberRelationship
    subscriber: Person
    patient: Person
    service_types: tuple[str, ...] = ("30",)


@dataclass(frozen=True)
class Rejection:
    """An AAA segment: the payer could not answer, in plain words and with what to do."""

    code: str
    follow_up: str
    message: str
    action: str
    loop: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "follow_up": self.follow_up,
            "message": self.message,
            "action": self.action,
            "loop": self.loop,
        }


@dataclass(frozen=True)
class Benefit:
    kind: str  # BenefitKind
    service_type: str = ""
    service_label: str = ""
    coverage_level: str = ""
    network: str = ""  # Network
    time_period: str = ""
    remaining: bool = False
    amount: Decimal | None = None
    percent: Decimal | None = None
    plan_description: str = ""
    message: str = ""


@dataclass
class EligibilityOutcome:
    """What one 271 says about one request."""

    trace_number: str
    active: bool | None = None
    plan_name: str = ""
    plan_begin: dt.date | None = None
    plan_end: dt.date | None = None
    member_id: str = ""
    benefits: list[Benefit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class InboxFile:
    """A response file waiting in a file-drop inbox."""

    name: str
    text: str


@dataclass(frozen=True)
class Exchanged:
    """What happened when a 270 went out: the text sent and, when the route answers at once, the 271."""

    request_text: str
    response_text: str = ""
