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


# ------------------------------------------------------------------------------------ remittance (835)


@dataclass(frozen=True)
class Adjustment:
    """One CAS adjustment: group (CO contractual, PR patient responsibility, OA other, PI payer initiated,
    CR correction), the CARC reason code and the amount (negative in a reversal)."""

    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True)
class ServicePayment:
    """One SVC of a claim payment: the procedure as billed, charge, paid and its adjustments."""

    procedure_code: str
    charge: Decimal
    paid: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal | None = None
    service_date: dt.date | None = None
    adjustments: tuple[Adjustment, ...] = ()


@dataclass(frozen=True)
class ClaimPayment:
    """One CLP: the payer's answer for one claim (CLP01 is our claim number, CLM01)."""

    claim_number: str
    status_code: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal, ...
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = Decimal("0")
    payer_claim_number: str = ""
    patient_name: str = ""
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    services: tuple[ServicePayment, ...] = ()
    line: int = 0  # the CLP's segment number in the file

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        return self.adjustments + tuple(a for s in self.services for a in s.adjustments)


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB adjustment (reason code, reference, amount): not tied to a claim."""

    reason: str
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class Remittance:
    """One 835 transaction: who paid whom, how (BPR), the trace number (TRN02) and the claim payments."""

    payer_name: str
    payer_id: str  # TRN03 (the payer's identifier), else N1*PR N104
    payee_name: str
    payee_id: str
    trace_number: str  # TRN02: the check or EFT trace number
    payment_method: str  # BPR04: CHK, ACH, FWT, BOP, NON
    payment_date: dt.date | None  # BPR16
    total_paid: Decimal  # BPR02
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
