"""Coverage and eligibility in the JSON API (/api/v1/...): payers and plans, a patient's coverages (add,
change, end), eligibility checks (one coverage or a batch; results with benefits and rejections in plain
words) and 271 responses handed in by a client.

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Money is given as decimal strings ("25.00"), never
floats. Checks are sent in the background: requesting one answers 202 with the check as queued; read it
again for the answer.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.coverage import selectors, services
from caredesk.coverage.models import (
    Coverage,
    EligibilityBenefit,
    EligibilityCheck,
    Payer,
    Plan,
    PriorAuthorization,
)
from caredesk.coverage.schemas import CoverageInput

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
CoverageId = PathEx[int, P(ge=1, le=MAX_ID, description="The coverage's id")]
CheckId = PathEx[int, P(ge=1, le=MAX_ID, description="The eligibility check's id")]
BatchId = PathEx[int, P(ge=1, le=MAX_ID, description="The eligibility batch's id")]
TAGS = ["coverage"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


# --- bodies --------------------------------------------------------------------------------------------


class PlanOut(Schema):
    id: int
    name: str
    plan_type: str
    copay: Decimal | None = Field(description="The plan's usual office-visit co-pay")
    active: bool


class PayerOut(Schema):
    id: int
    name: str
    payer_id: str
    clearinghouse_route: str
    active: bool
    plans: list[PlanOut]

    @staticmethod
    def resolve_plans(obj: Payer) -> list[Plan]:
        return list(obj.plans.all())


class PayerListOut(Schema):
    results: list[PayerOut]


class CoverageOut(Schema):
    id: int
    patient_id: int
    plan_id: int
    plan: str
    payer: str
    payer_id: str
    order: int = Field(description="1 primary, 2 secondary, 3 tertiary")
    status: str
    member_id: str
    group_number: str
    relationship: str = Field(description="The patient's relationship to the subscriber")
    subscriber_given_name: str
    subscriber_family_name: str
    subscriber_birth_date: dt.date | None
    effective_from: dt.date
    effective_to: dt.date | None
    end_reason: str
    version: int = Field(description="Send it back with a change (optimistic locking)")

    @staticmethod
    def resolve_plan(obj: Coverage) -> str:
        return obj.plan.name

    @staticmethod
    def resolve_payer(obj: Coverage) -> str:
        return obj.plan.payer.name

    @staticmethod
    def resolve_payer_id(obj: Coverage) -> str:
        return obj.plan.payer.payer_id


class CoverageListOut(Schema):
    results: list[CoverageOut]


class CoverageIn(InputSchema):
    plan_id: int = Field(ge=1, le=MAX_ID)
    member_id: str = Field(max_length=80)
    effective_from: dt.date
    order: int = Field(1, ge=1, le=3)
    group_number: str = Field("", max_length=50)
    relationship: str = Field("self", description="self, spouse, child or other")
    subscriber_given_name: str = Field("", max_length=35)
    subscriber_family_name: str = Field("", max_length=60)
    subscriber_birth_date: dt.date | None = None
    effective_to: dt.date | None = None

    def to_input(self) -> CoverageInput:
        return CoverageInput(**self.model_dump(exclude={"version"}))


class CoverageUpdateIn(CoverageIn):
    version: int | None = Field(None, description="The version you read; a newer one answers 409")


class EndCoverageIn(InputSchema):
    end_date: dt.date
    reason: str = Field("", max_length=200)
    version: int | None = None


class BenefitOut(Schema):
    kind: str
    service_type: str
    service_label: str
    coverage_level: str
    network: str
    time_period: str
    remaining: bool
    amount: Decimal | None
    percent: Decimal | None
    plan_description: str
    message: str


class RejectionOut(Schema):
    code: str
    follow_up: str
    message: str
    action: str = Field(description="What to do, in plain words")
    loop: str


class SummaryOut(Schema):
    copay: Decimal | None
    coinsurance_percent: Decimal | None
    deductible: Decimal | None
    deductible_remaining: Decimal | None
    out_of_pocket: Decimal | None
    out_of_pocket_remaining: Decimal | None


class CheckOut(Schema):
    id: int
    coverage_id: int
    patient_id: int
    batch_id: int | None
    status: str
    service_date: dt.date
    trace_number: str
    requested_by: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    plan_name: str
    plan_begin: dt.date | None
    plan_end: dt.date | None
    error_message: str
    rejections: list[RejectionOut]
    benefits: list[BenefitOut]
    summary: SummaryOut

    @staticmethod
    def resolve_requested_by(obj: EligibilityCheck) -> str:
        return obj.requested_by_name

    @staticmethod
    def resolve_benefits(obj: EligibilityCheck) -> list[EligibilityBenefit]:
        return list(obj.benefits.all())

    @staticmethod
    def resolve_summary(obj: EligibilityCheck) -> dict[str, Any]:
        return selectors.summary_of(obj).__dict__


class CheckListOut(Schema):
    results: list[CheckOut]


class CheckRequestIn(InputSchema):
    service_date: dt.date | None = Field(None, description="Default today")


class BatchIn(InputSchema):
    patient_ids: list[int] | None = Field(None, description="Omit for every patient with an active coverage")
    service_date: dt.date | None = None
    description: str = Field("", max_length=200)


class BatchOut(Schema):
    id: int
    description: str
    requested_by: str
    created_at: dt.datetime
    total: int
    finished: int
    done: bool
    counts: dict[str, int]


class ResponseIn(InputSchema):
    x12: str = Field(min_length=1, max_length=5_000_000, description="A 271 file's text")


# --- payers --------------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/payers",
    Permission.COVERAGE_VIEW,
    response={200: PayerListOut, **ERRORS},
    summary="Payers and their plans",
    tags=TAGS,
)
def list_payers(request: HttpRequest) -> Any:
    """The organization's payers by name, each with its plans."""
    return {"results": list(selectors.payer_queryset(actor_of(request)).prefetch_related("plans"))}


# --- coverages -----------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/patients/{patient_id}/coverages",
    Permission.COVERAGE_VIEW,
    response={200: CoverageListOut, **ERRORS},
    summary="A patient's coverages",
    tags=TAGS,
)
def list_patient_coverages(request: HttpRequest, patient_id: PatientId) -> Any:
    """Active ones first, by order (primary, secondary, tertiary), then ended ones. Audited."""
    return {"results": selectors.patient_coverages(actor=actor_of(request), patient_id=patient_id)}


@endpoint(
    "POST",
    "/patients/{patient_id}/coverages",
    Permission.COVERAGE_MANAGE,
    response={201: CoverageOut, **WRITE_ERRORS},
    summary="Add a coverage",
    tags=TAGS,
)
def add_coverage(request: HttpRequest, patient_id: PatientId, payload: CoverageIn) -> Any:
    """409 `coverage_order_taken` when another active coverage has the order."""
    coverage = services.add_coverage(actor=actor_of(request), patient_id=patient_id, data=payload.to_input())
    return Status(201, coverage)


@endpoint(
    "GET",
    "/coverages/{coverage_id}",
    Permission.COVERAGE_VIEW,
    response={200: CoverageOut, **ERRORS},
    summary="Read a coverage",
    tags=TAGS,
)
def read_coverage(request: HttpRequest, coverage_id: CoverageId) -> Any:
    return selectors.get_coverage(actor=actor_of(request), coverage_id=coverage_id)


@endpoint(
    "PUT",
    "/coverages/{coverage_id}",
    Permission.COVERAGE_MANAGE,
    response={200: CoverageOut, **WRITE_ERRORS},
    summary="Change a coverage",
    tags=TAGS,
)
def update_coverage(request: HttpRequest, coverage_id: CoverageId, payload: CoverageUpdateIn) -> Any:
    """The whole coverage as it should be; 409 `stale_version` when `version` is not the current one."""
    return services.update_coverage(
        actor=actor_of(request),
        coverage_id=coverage_id,
        data=payload.to_input(),
        expected_version=payload.version,
    )


@endpoint(
    "POST",
    "/coverages/{coverage_id}/end",
    Permission.COVERAGE_MANAGE,
    response={200: CoverageOut, **WRITE_ERRORS},
    summary="End a coverage",
    tags=TAGS,
)
def end_coverage(request: HttpRequest, coverage_id: CoverageId, payload: EndCoverageIn) -> Any:
    return services.end_coverage(
        actor=actor_of(request),
        coverage_id=coverage_id,
        end_date=payload.end_date,
        reason=payload.reason,
        expected_version=payload.version,
    )


# --- eligibility ---------------------------------------------------------------------------------------


@endpoint(
    "POST",
    "/coverages/{coverage_id}/eligibility-checks",
    Permission.ELIGIBILITY_CHECK,
    response={202: CheckOut, **WRITE_ERRORS},
    summary="Check eligibility",
    tags=TAGS,
)
def request_check(request: HttpRequest, coverage_id: CoverageId, payload: CheckRequestIn) -> Any:
    """Queues a 270 for the coverage (202); read the check for the payer's answer."""
    check = services.request_eligibility_check(
        actor=actor_of(request), coverage_id=coverage_id, service_date=payload.service_date
    )
    return Status(202, check)


@endpoint(
    "GET",
    "/eligibility-checks/{check_id}",
    Permission.COVERAGE_VIEW,
    response={200: CheckOut, **ERRORS},
    summary="Read an eligibility check",
    tags=TAGS,
)
def read_check(request: HttpRequest, check_id: CheckId) -> Any:
    """Its status, plan dates, benefits per service type, the front-desk summary and any rejection in
    plain words with what to do. Audited."""
    return selectors.get_check(actor=actor_of(request), check_id=check_id)


@endpoint(
    "GET",
    "/patients/{patient_id}/eligibility-checks",
    Permission.COVERAGE_VIEW,
    response={200: CheckListOut, **ERRORS},
    summary="A patient's eligibility checks",
    tags=TAGS,
)
def list_patient_checks(request: HttpRequest, patient_id: PatientId) -> Any:
    """Latest first (at most 50). Audited."""
    return {"results": selectors.patient_checks(actor=actor_of(request), patient_id=patient_id)}


def _batch_out(actor_request: HttpRequest, batch_id: int) -> dict[str, Any]:
    progress = selectors.batch_progress(actor=actor_of(actor_request), batch_id=batch_id, limit=0)
    return {
        "id": progress.batch.pk,
        "description": progress.batch.description,
        "requested_by": progress.batch.requested_by_name,
        "created_at": progress.batch.created_at,
        "total": progress.total,
        "finished": progress.finished,
        "done": progress.done,
        "counts": progress.counts,
    }


@endpoint(
    "POST",
    "/eligibility-batches",
    Permission.ELIGIBILITY_CHECK,
    response={202: BatchOut, **WRITE_ERRORS},
    summary="Check eligibility for many patients",
    tags=TAGS,
)
def request_batch(request: HttpRequest, payload: BatchIn) -> Any:
    """One 270 per active coverage in force of the patients given (or of every patient), sent in the
    background; read the batch for its progress."""
    batch = services.request_eligibility_batch(
        actor=actor_of(request),
        patient_ids=payload.patient_ids,
        service_date=payload.service_date,
        description=payload.description,
    )
    return Status(202, _batch_out(request, batch.pk))


@endpoint(
    "GET",
    "/eligibility-batches/{batch_id}",
    Permission.ELIGIBILITY_CHECK,
    response={200: BatchOut, **ERRORS},
    summary="An eligibility batch's progress",
    tags=TAGS,
)
def read_batch(request: HttpRequest, batch_id: BatchId) -> Any:
    return _batch_out(request, batch_id)


@endpoint(
    "POST",
    "/eligibility-responses",
    Permission.ELIGIBILITY_CHECK,
    response={200: CheckListOut, **WRITE_ERRORS},
    summary="Hand in a 271",
    tags=TAGS,
)
def hand_in_response(request: HttpRequest, payload: ResponseIn) -> Any:
    """Stores each answer on the check it answers (matched by trace number) and returns those checks.
    A malformed file, or one answering no check of ours, answers 400 naming the segment and line and
    changes nothing; answers to checks already answered are ignored."""
    checks = services.record_eligibility_response(actor=actor_of(request), response_text=payload.x12)
    return {"results": checks}


# --- prior authorizations ------------------------------------------------------------------------------

AuthorizationId = PathEx[int, P(ge=1, le=MAX_ID, description="The prior authorization's id")]


class AuthorizationOut(Schema):
    id: int
    patient_id: int
    coverage_id: int
    payer: str
    plan: str
    service_code: str = Field(description="A procedure code (e.g. 72148) or a visit-type code")
    description: str
    status: str = Field(description="As stored: requested, approved, denied or cancelled")
    current_status: str = Field(description="As of today: also expired or used up for an approved one")
    auth_number: str
    units_requested: int | None
    units_authorized: int | None
    units_used: int
    units_left: int
    valid_from: dt.date | None
    valid_to: dt.date | None
    notes: str
    decision_reason: str
    requested_by: str
    decided_by: str
    decided_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_payer(obj: PriorAuthorization) -> str:
        return obj.coverage.plan.payer.name

    @staticmethod
    def resolve_plan(obj: PriorAuthorization) -> str:
        return obj.coverage.plan.name

    @staticmethod
    def resolve_requested_by(obj: PriorAuthorization) -> str:
        return obj.requested_by_name

    @staticmethod
    def resolve_decided_by(obj: PriorAuthorization) -> str:
        return obj.decided_by_name


class AuthorizationListOut(Schema):
    results: list[AuthorizationOut]


class AuthorizationRequestIn(InputSchema):
    coverage_id: int = Field(ge=1, le=MAX_ID, description="One of the patient's active coverages")
    service_code: str = Field(max_length=40)
    description: str = Field("", max_length=200)
    units_requested: int | None = Field(None, ge=1, le=100_000)
    notes: str = Field("", max_length=2000)


class ApprovalIn(InputSchema):
    auth_number: str = Field(max_length=50)
    units_authorized: int = Field(ge=1, le=100_000)
    valid_from: dt.date
    valid_to: dt.date
    notes: str = Field("", max_length=2000)


class DecisionIn(InputSchema):
    reason: str = Field("", max_length=300)


class UseIn(InputSchema):
    used_on: dt.date
    units: int = Field(1, ge=1, le=100_000)
    reference: str = Field("", max_length=80, description="e.g. the appointment or order")
    override_reason: str = Field(
        "", max_length=300, description="Use it anyway (out of dates or used up); kept and audited"
    )


class AuthorizationCheckQuery(Schema):
    service_code: str = Field(min_length=1, max_length=40)
    date: dt.date | None = Field(None, description="Default: today")


class AuthorizationCheckOut(Schema):
    needed: bool
    ok: bool
    reason: str = Field(description="Plain words for the front desk; empty when ok")
    authorization_id: int | None


@endpoint(
    "GET",
    "/patients/{patient_id}/authorizations",
    Permission.COVERAGE_VIEW,
    response={200: AuthorizationListOut, **ERRORS},
    summary="A patient's prior authorizations",
    tags=TAGS,
)
def list_patient_authorizations(request: HttpRequest, patient_id: PatientId) -> Any:
    """Newest first, with units used and left and the status as of today. Audited."""
    return {"results": selectors.patient_authorizations(actor=actor_of(request), patient_id=patient_id)}


@endpoint(
    "POST",
    "/patients/{patient_id}/authorizations",
    Permission.COVERAGE_MANAGE,
    response={201: AuthorizationOut, **WRITE_ERRORS},
    summary="Request a prior authorization",
    tags=TAGS,
)
def request_authorization(
    request: HttpRequest, patient_id: PatientId, payload: AuthorizationRequestIn
) -> Any:
    """Records that the payer of one of the patient's active coverages was asked; record its answer with
    `/approval` or `/denial`."""
    auth = services.request_authorization(
        actor=actor_of(request),
        patient_id=patient_id,
        coverage_id=payload.coverage_id,
        service_code=payload.service_code,
        description=payload.description,
        units_requested=payload.units_requested,
        notes=payload.notes,
    )
    return Status(201, auth)


@endpoint(
    "GET",
    "/authorizations/{authorization_id}",
    Permission.COVERAGE_VIEW,
    response={200: AuthorizationOut, **ERRORS},
    summary="Read a prior authorization",
    tags=TAGS,
)
def read_authorization(request: HttpRequest, authorization_id: AuthorizationId) -> Any:
    return selectors.get_authorization(actor=actor_of(request), authorization_id=authorization_id)


@endpoint(
    "POST",
    "/authorizations/{authorization_id}/approval",
    Permission.COVERAGE_MANAGE,
    response={200: AuthorizationOut, **WRITE_ERRORS},
    summary="Record a prior authorization's approval",
    tags=TAGS,
)
def approve_authorization(
    request: HttpRequest, authorization_id: AuthorizationId, payload: ApprovalIn
) -> Any:
    """The payer's number, units and dates. Sending it again corrects an approved one (never to fewer
    units than are used). 409 `authorization_closed` for a denied or cancelled one."""
    return services.record_authorization_approval(
        actor=actor_of(request),
        authorization_id=authorization_id,
        auth_number=payload.auth_number,
        units_authorized=payload.units_authorized,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        notes=payload.notes,
    )


@endpoint(
    "POST",
    "/authorizations/{authorization_id}/denial",
    Permission.COVERAGE_MANAGE,
    response={200: AuthorizationOut, **WRITE_ERRORS},
    summary="Record a prior authorization's denial",
    tags=TAGS,
)
def deny_authorization(request: HttpRequest, authorization_id: AuthorizationId, payload: DecisionIn) -> Any:
    """Only a requested one; the reason is required."""
    return services.deny_authorization(
        actor=actor_of(request), authorization_id=authorization_id, reason=payload.reason
    )


@endpoint(
    "POST",
    "/authorizations/{authorization_id}/cancel",
    Permission.COVERAGE_MANAGE,
    response={200: AuthorizationOut, **WRITE_ERRORS},
    summary="Cancel a prior authorization",
    tags=TAGS,
)
def cancel_authorization(request: HttpRequest, authorization_id: AuthorizationId, payload: DecisionIn) -> Any:
    return services.cancel_authorization(
        actor=actor_of(request), authorization_id=authorization_id, reason=payload.reason
    )


@endpoint(
    "POST",
    "/authorizations/{authorization_id}/uses",
    Permission.COVERAGE_MANAGE,
    response={201: AuthorizationOut, **WRITE_ERRORS},
    summary="Use units of a prior authorization",
    tags=TAGS,
)
def use_authorization(request: HttpRequest, authorization_id: AuthorizationId, payload: UseIn) -> Any:
    """409 `authorization_not_usable` with the reason (not approved, out of its dates, used up) unless an
    `override_reason` is given. Concurrent uses never count past the units authorized."""
    actor = actor_of(request)
    use = services.record_authorization_use(
        actor=actor,
        authorization_id=authorization_id,
        used_on=payload.used_on,
        units=payload.units,
        reference=payload.reference,
        override_reason=payload.override_reason,
    )
    return Status(201, selectors.authorization_queryset(actor).get(pk=use.authorization_id))


@endpoint(
    "GET",
    "/patients/{patient_id}/authorization-check",
    Permission.COVERAGE_VIEW,
    response={200: AuthorizationCheckOut, **ERRORS},
    summary="Does a service need a prior authorization, and is one on file?",
    tags=TAGS,
)
def check_authorization(
    request: HttpRequest, patient_id: PatientId, query: Query[AuthorizationCheckQuery]
) -> Any:
    """For the patient's coverages in force on `date`: `needed` when a plan requires authorization for the
    service, `ok` when an approved one in its dates with units left is on file; `reason` says what is
    missing (none on file, expired, used up, pending, denied). Audited when needed."""
    result = services.authorization_check(
        actor=actor_of(request),
        patient_id=patient_id,
        service_code=query.service_code,
        on_date=query.date or timezone.localdate(),
    )
    return result.__dict__
