"""Charges and claims in the JSON API (/api/v1/...): the claim list (filter by status) and one claim with
its diagnoses, charge lines, scrubber findings and timeline; entering charges (a draft claim), running the
scrubber again and marking a claim ready. Reads are audited by the billing selectors, writes by the billing
services. Money is given as decimal strings ("120.00"), never floats.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.billing import selectors, services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import ChargeLine, Claim
from caredesk.billing.schemas import ChargesInput, LineInput

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

ClaimId = PathEx[int, P(ge=1, le=MAX_ID, description="The claim's id")]
TAGS = ["billing"]


class DiagnosisOut(Schema):
    position: int
    code: str


class LineOut(Schema):
    position: int
    procedure_code: str
    modifiers: list[str]
    diagnosis_pointers: list[int]
    units: Decimal
    charge: Decimal
    service_date: dt.date

    @staticmethod
    def resolve_procedure_code(obj: ChargeLine) -> str:
        return obj.procedure.code

    @staticmethod
    def resolve_diagnosis_pointers(obj: ChargeLine) -> list[int]:
        return list(obj.pointers)


class EventOut(Schema):
    from_status: str
    to_status: str
    actor_name: str
    note: str
    created_at: dt.datetime


class ClaimSummaryOut(Schema):
    id: int
    claim_number: str
    patient_id: int
    coverage_id: int | None
    status: str
    scrub_problems: list[str] = Field(description="What blocks the claim, in plain words")
    submitted_file: str
    created_at: dt.datetime


class ClaimOut(ClaimSummaryOut):
    other_coverage_id: int | None
    rendering_provider_id: int | None
    billing_npi: str
    place_of_service: str
    total: Decimal
    diagnoses: list[DiagnosisOut]
    lines: list[LineOut]
    events: list[EventOut]

    @staticmethod
    def resolve_total(obj: Claim) -> Decimal:
        return sum((line.charge for line in obj.lines.all()), Decimal("0.00"))

    @staticmethod
    def resolve_diagnoses(obj: Claim) -> list[Any]:
        return list(obj.diagnoses.all())

    @staticmethod
    def resolve_lines(obj: Claim) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_events(obj: Claim) -> list[Any]:
        return list(obj.events.all())


class ClaimListOut(Schema):
    results: list[ClaimSummaryOut]


class ClaimFilter(Schema):
    status: str = Field("", max_length=20, description="draft, ready, submitted, accepted, rejected, …")


@endpoint(
    "GET",
    "/claims",
    Permission.BILLING_VIEW,
    response={200: ClaimListOut, **ERRORS},
    summary="List claims",
    tags=TAGS,
)
def list_claims(request: HttpRequest, filters: Query[ClaimFilter]) -> Any:
    """Newest first (at most 200), optionally of one status. Audited with the claim and patient ids."""
    return {"results": selectors.list_claims(actor=actor_of(request), status=filters.status)}


@endpoint(
    "GET",
    "/claims/{claim_id}",
    Permission.BILLING_VIEW,
    response={200: ClaimOut, **ERRORS},
    summary="Read a claim",
    tags=TAGS,
)
def read_claim(request: HttpRequest, claim_id: ClaimId) -> Any:
    """Its diagnoses, charge lines, scrubber findings and timeline. Audited."""
    return selectors.get_claim(actor=actor_of(request), claim_id=claim_id)


WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class ChargeLineIn(InputSchema):
    procedure_code: str = Field(min_length=1, max_length=5, description="HCPCS/CPT code of the code list")
    service_date: dt.date
    diagnosis_pointers: list[int] = Field(
        [1], min_length=1, max_length=4, description="1-based positions in `diagnoses`"
    )
    modifiers: list[str] = Field([], max_length=4, description="Up to 4 two-character modifiers")
    units: Decimal = Field(Decimal("1"), gt=0, max_digits=7, decimal_places=2)
    charge: Decimal | None = Field(
        None, ge=0, max_digits=10, decimal_places=2, description="Default: the code's price times the units"
    )


class ChargesIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID)
    rendering_provider_id: int = Field(ge=1, le=MAX_ID, description="The practitioner who saw the patient")
    diagnoses: list[str] = Field(min_length=1, max_length=12, description="ICD-10-CM, the first principal")
    lines: list[ChargeLineIn] = Field(min_length=1, max_length=50)
    coverage_id: int | None = Field(None, ge=1, le=MAX_ID, description="The coverage billed")
    other_coverage_id: int | None = Field(None, ge=1, le=MAX_ID)
    appointment_id: int | None = Field(None, ge=1, le=MAX_ID, description="The visit")
    place_of_service: str = Field("11", min_length=2, max_length=2, description="CMS place-of-service code")

    def to_input(self) -> ChargesInput:
        return ChargesInput(
            patient_id=self.patient_id,
            rendering_provider_id=self.rendering_provider_id,
            diagnoses=tuple(self.diagnoses),
            lines=tuple(
                LineInput(
                    procedure_code=line.procedure_code,
                    service_date=line.service_date,
                    diagnosis_pointers=tuple(line.diagnosis_pointers),
                    modifiers=tuple(line.modifiers),
                    units=line.units,
                    charge=line.charge,
                )
                for line in self.lines
            ),
            coverage_id=self.coverage_id,
            other_coverage_id=self.other_coverage_id,
            appointment_id=self.appointment_id,
            place_of_service=self.place_of_service,
        )


class ScrubOut(Schema):
    claim_id: int
    status: str
    clean: bool = Field(description="True when nothing blocks marking the claim ready")
    problems: list[str] = Field(description="What blocks the claim, in plain words")


class ReadyIn(InputSchema):
    note: str = Field("", max_length=500)


@endpoint(
    "POST",
    "/claims",
    Permission.BILLING_MANAGE,
    response={201: ClaimOut, **WRITE_ERRORS},
    summary="Enter charges (a draft claim)",
    tags=TAGS,
)
def enter_charges(request: HttpRequest, payload: ChargesIn) -> Any:
    """The charges of one visit: diagnoses and lines (code, modifiers, units, diagnosis pointers, service
    date, charge), place of service, the coverage billed and the rendering provider (the billing provider
    is the organization and its NPI). Saved as a draft claim, already scrubbed: `scrub_problems` says what
    blocks it. 400 `invalid_charges` names the field at fault; nothing is saved then."""
    claim = services.enter_charges(actor=actor_of(request), data=payload.to_input())
    return Status(201, selectors.get_claim(actor=actor_of(request), claim_id=claim.pk))


@endpoint(
    "POST",
    "/claims/{claim_id}/scrub",
    Permission.BILLING_MANAGE,
    response={200: ScrubOut, **WRITE_ERRORS},
    summary="Scrub a claim",
    tags=TAGS,
)
def scrub_claim(request: HttpRequest, claim_id: ClaimId) -> Any:
    """Run the scrubber on a draft claim again (after a coverage or code change) and return its findings;
    409 `claim_blocked` for a claim that is no longer a draft."""
    claim = services.scrub_claim(actor=actor_of(request), claim_id=claim_id)
    return {
        "claim_id": claim.pk,
        "status": claim.status,
        "clean": not claim.scrub_problems,
        "problems": claim.scrub_problems,
    }


@endpoint(
    "POST",
    "/claims/{claim_id}/ready",
    Permission.BILLING_MANAGE,
    response={200: ClaimOut, **WRITE_ERRORS},
    summary="Mark a claim ready to submit",
    tags=TAGS,
)
def mark_ready(request: HttpRequest, claim_id: ClaimId, payload: ReadyIn) -> Any:
    """A draft claim with a clean scrub becomes ready for the next 837P batch. 409 `claim_blocked` with
    `details.problems` when the scrubber finds problems, or when the claim is not a draft; nothing changes
    then."""
    actor = actor_of(request)
    services.change_status(actor=actor, claim_id=claim_id, target=ClaimStatus.READY, note=payload.note)
    return selectors.get_claim(actor=actor, claim_id=claim_id)
