"""Orders in the JSON API (/api/v1/orders...): list and read orders, write one (placed at once after the
checks, or a draft), place a draft, move an order along, and an administrator's override.

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). A failed credential or prior-authorization check
answers 409 `order_check_failed` with `details.reasons` (plain words), `details.alternatives` (the
practitioners who would pass: id and name) and `details.authorization_needed`, like a booking refused for
credentials; nothing is written. A step that is not open from the order's status answers 409
`invalid_order_transition`; a stale `version` 409 `stale_order`; bad input 400 naming the field.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.orders import selectors, services
from caredesk.orders.errors import OrderCheckFailed
from caredesk.orders.models import Order, OrderEvent

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .errors import error_response
from .schemas import ErrorOut, InputSchema

OrderId = PathEx[int, P(ge=1, le=MAX_ID, description="The order's id")]
TAGS = ["orders"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class DiagnosisOut(Schema):
    code: str
    description: str


class OrderEventOut(Schema):
    kind: str
    from_status: str
    to_status: str
    at: dt.datetime
    note: str
    actor_name: str


class OrderOut(Schema):
    id: int
    patient_id: int
    kind: str
    code_system: str
    code: str
    code_display: str
    priority: str
    reason: str
    diagnoses: list[DiagnosisOut]
    practitioner_id: int | None
    location_id: int
    telehealth: bool
    controlled_substance: bool
    service_date: dt.date
    status: str
    status_reason: str
    authored_at: dt.datetime
    placed_at: dt.datetime | None
    completed_at: dt.datetime | None
    result: str
    authorization_id: int | None
    override_reason: str
    override_reasons: list[str]
    override_by_name: str
    created_by_name: str
    version: int


class OrderDetailOut(OrderOut):
    events: list[OrderEventOut]
    next_statuses: list[str]


class OrderPageOut(Schema):
    results: list[OrderOut]
    page: int
    has_next: bool


class OrderFilters(Schema):
    status: str = Field("", description="A status, or 'open' (draft, active, in progress)")
    kind: str = Field("", description="lab, imaging, procedure, referral or dme")
    patient_id: int | None = Field(None, ge=1, le=MAX_ID)
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID)
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=200)


class OrderIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID)
    kind: str = Field(max_length=20, description="lab, imaging, procedure, referral or dme")
    code: str = Field(max_length=40, description="LOINC, CPT, HCPCS, SNOMED CT or a local code")
    code_system: str = Field(
        "", max_length=10, description="loinc, cpt, hcpcs, snomed, local (default: by kind)"
    )
    code_display: str = Field("", max_length=200)
    location_id: int = Field(ge=1, le=MAX_ID, description="Where the service happens")
    practitioner_id: int | None = Field(None, ge=1, le=MAX_ID, description="The ordering practitioner")
    priority: str = Field("routine", max_length=10, description="routine, urgent, asap or stat")
    reason: str = Field("", max_length=2000)
    diagnoses: list[str] = Field([], max_length=12, description="ICD-10-CM codes")
    telehealth: bool = Field(False, description="The patient's state counts for the license check")
    controlled_substance: bool = False
    service_date: dt.date | None = Field(None, description="Default: today")
    place: bool = Field(True, description="Place it now (after the checks); false keeps a draft")
    override_reason: str = Field(
        "", max_length=2000, description="Administrators: place past a failed check (kept, audited)"
    )


class PlaceIn(InputSchema):
    version: int | None = Field(None, ge=1)
    override_reason: str = Field("", max_length=2000)


class OverrideIn(InputSchema):
    reason: str = Field(max_length=2000)
    version: int | None = Field(None, ge=1)


class StatusIn(InputSchema):
    status: str = Field(max_length=20, description="in_progress, completed, cancelled or revoked")
    note: str = Field(
        "", max_length=20_000, description="The result (completed) or the reason (cancelled, revoked)"
    )
    version: int | None = Field(None, ge=1)


def _checked(action: Callable[[], Order]) -> Order | HttpResponse:
    """Run a use case that may be refused by the checks; the refusal keeps its alternatives (id, name)."""
    try:
        return action()
    except OrderCheckFailed as exc:
        return error_response(exc.http_status, exc.code, exc.message, field=exc.field, details=exc.details)


def _detail(order: Order, events: list[OrderEvent], targets: tuple[str, ...]) -> dict[str, Any]:
    data = OrderOut.model_validate(order).model_dump()
    data["events"] = events
    data["next_statuses"] = list(targets)
    return data


def _read(request: HttpRequest, order_id: int) -> dict[str, Any]:
    found = selectors.get_order(actor=actor_of(request), order_id=order_id)
    return _detail(found.order, found.events, found.targets)


@endpoint(
    "GET",
    "/orders",
    Permission.ORDER_VIEW,
    response={200: OrderPageOut, **ERRORS},
    summary="List orders",
    tags=TAGS,
)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> Any:
    """Newest first; by status, kind, patient and ordering practitioner. Audited (the ids shown)."""
    page = selectors.list_orders(
        actor=actor_of(request),
        query=selectors.OrderQuery(
            status=filters.status,
            kind=filters.kind,
            patient_id=filters.patient_id,
            practitioner_id=filters.practitioner_id,
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return {"results": page.orders, "page": page.page, "has_next": page.has_next}


@endpoint(
    "POST",
    "/orders",
    Permission.ORDER_PLACE,
    response={201: OrderDetailOut, **WRITE_ERRORS},
    summary="Write an order",
    tags=TAGS,
)
def create_order(request: HttpRequest, payload: OrderIn) -> Any:
    """Placed at once after the checks (credentials of the ordering practitioner, prior authorization),
    or kept as a draft with `"place": false`. 409 `order_check_failed` with reasons and alternatives."""
    actor = actor_of(request)
    data = payload.dict()
    place, override_reason = data.pop("place"), data.pop("override_reason")
    result = _checked(
        lambda: services.create_order(
            actor=actor, data=services.OrderInput(**data), place=place, override_reason=override_reason
        )
    )
    if isinstance(result, HttpResponse):
        return result
    return Status(201, _read(request, result.pk))


@endpoint(
    "GET",
    "/orders/{order_id}",
    Permission.ORDER_VIEW,
    response={200: OrderDetailOut, **ERRORS},
    summary="Read an order",
    tags=TAGS,
)
def read_order(request: HttpRequest, order_id: OrderId) -> Any:
    """With its timeline and the statuses it may move to. Audited."""
    return _read(request, order_id)


@endpoint(
    "POST",
    "/orders/{order_id}/place",
    Permission.ORDER_PLACE,
    response={200: OrderDetailOut, **WRITE_ERRORS},
    summary="Place a draft order",
    tags=TAGS,
)
def place_order(request: HttpRequest, order_id: OrderId, payload: PlaceIn) -> Any:
    """Runs the checks; 409 `order_check_failed` with reasons and alternatives when they fail."""
    actor = actor_of(request)
    result = _checked(
        lambda: services.place_order(
            actor=actor, order_id=order_id, override_reason=payload.override_reason, version=payload.version
        )
    )
    if isinstance(result, HttpResponse):
        return result
    return _read(request, order_id)


@endpoint(
    "POST",
    "/orders/{order_id}/override",
    Permission.ORDER_OVERRIDE,
    response={200: OrderDetailOut, **WRITE_ERRORS},
    summary="Place a draft past a failed check",
    tags=TAGS,
)
def override_order(request: HttpRequest, order_id: OrderId, payload: OverrideIn) -> Any:
    """Administrators: the reason is kept with what the checks said, and audited."""
    actor = actor_of(request)
    services.override_order(actor=actor, order_id=order_id, reason=payload.reason, version=payload.version)
    return _read(request, order_id)


@endpoint(
    "POST",
    "/orders/{order_id}/status",
    Permission.ORDER_PLACE,
    response={200: OrderDetailOut, **WRITE_ERRORS},
    summary="Move an order along",
    tags=TAGS,
)
def change_status(request: HttpRequest, order_id: OrderId, payload: StatusIn) -> Any:
    """in_progress; completed with the result in `note`; cancelled (a draft) or revoked with the reason."""
    services.change_status(
        actor=actor_of(request),
        order_id=order_id,
        status=payload.status,
        note=payload.note,
        version=payload.version,
    )
    return _read(request, order_id)
