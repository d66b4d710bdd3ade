"""Charges and claims in the JSON API (/api/v1/...): the claim list (filter by status) and one claim with
its diagnoses, charge lines, scrubber findings and timeline. Reads are audited by the billing selectors.
Money is given as decimal strings ("120.00"), never floats.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import P, PathEx, Query, Schema
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.billing import selectors
from caredesk.billing.models import ChargeLine, Claim

from .api import ERRORS, MAX_ID, actor_of, endpoint

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
