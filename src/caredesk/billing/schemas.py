"""Plain values a claim is made of, as the 837P builder (interop) needs them: no ORM, no money as float."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class ClaimPerson:
    given_name: str
    family_name: str
    birth_date: dt.date | None = None
    sex: str = ""  # "male", "female" or "" (unknown)
    address: Address | None = None


@dataclass(frozen=True)
class ClaimCoverage:
    payer_name: str
    payer_id: str
    member_id: str
    subscriber: ClaimPerson
    relationship: str = "self"  # the patient's relationship to the subscriber: self, spouse, child, other
    group_number: str = ""
    order: int = 1  # 1 primary, 2 secondary, 3 tertiary


@dataclass(frozen=True)
class Provider:
    npi: str
    family_name: str
    given_name: str = ""
    organization: bool = False
    tax_id: str = ""
    address: Address | None = None


@dataclass(frozen=True)
class ClaimLineData:
    procedure_code: str
    charge: Decimal
    service_date: dt.date
    units: Decimal = Decimal("1")
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = (1,)  # 1-based positions in the claim's diagnoses


@dataclass(frozen=True)
class ClaimData:
    claim_number: str
    patient: ClaimPerson
    coverage: ClaimCoverage
    billing_provider: Provider
    rendering_provider: Provider
    diagnoses: tuple[str, ...]  # ICD-10-CM, with or without the dot; the first is the principal
    lines: tuple[ClaimLineData, ...]
    place_of_service: str = "11"
    other_coverage: ClaimCoverage | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class ClaimBatch:
    """The claims of one file, all to the same payer."""

    submitter_name: str
    submitter_id: str
    contact_name: str
    contact_phone: str
    receiver_name: str
    receiver_id: str
    control_number: int
    created_at: dt.datetime
    claims: tuple[ClaimData, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class LineInput:
    """One charge line as typed: the charge defaults to the code's price times the units."""

    procedure_code: str
    service_date: dt.date
    diagnosis_pointers: tuple[int, ...] = (1,)
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal("1")
    charge: Decimal | None = None


@dataclass(frozen=True)
class ChargesInput:
    """The charges of one visit: a draft claim with its diagnoses and lines."""

    patient_id: int
    rendering_provider_id: int
    diagnoses: tuple[str, ...]
    lines: tuple[LineInput, ...]
    coverage_id: int | None = None
    other_coverage_id: int | None = None
    appointment_id: int | None = None
    place_of_service: str = "11"


@dataclass(frozen=True)
class SubmittedBatch:
    """One 837P file written for a payer, and the claims it carries."""

    payer_id: str
    file_name: str
    claim_ids: tuple[int, ...]
    text: str
