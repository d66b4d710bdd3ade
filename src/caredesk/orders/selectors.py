"""Read queries for orders, restricted to what the actor may see; reads of patient data write their audit
row here, before the data leaves the selector.

CONTRACT: `order_queryset` (not audited, for building queries), `list_orders`, `patient_orders`,
`get_order`, and the FHIR ServiceRequest reads that serve orders and referrals together
(`search_service_requests`, `get_service_request`).

Staff holding ORDER_VIEW see the organization's orders; a portal user (PORTAL_OWN_RECORD) sees their own
orders once placed (drafts are the clinicians' work in progress).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.referrals import selectors as referral_selectors
from caredesk.referrals.errors import ReferralNotFound

from . import rules
from .choices import OrderStatus
from .errors import OrderNotFound
from .models import Order, OrderEvent

MAX_PAGE_SIZE = 200
MAX_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def order_queryset(actor: Actor) -> QuerySet[Order]:
    """The orders the actor may see. Not audited."""
    if actor.organization_id is None:
        return Order.objects.none()
    orders = Order.objects.filter(organization_id=actor.organization_id)
    if actor.is_portal:
        if not actor.has(Permission.PORTAL_OWN_RECORD):
            return Order.objects.none()
        return orders.filter(patient_id=actor.patient_id or 0).exclude(status=OrderStatus.DRAFT)
    if not actor.has(Permission.ORDER_VIEW):
        return Order.objects.none()
    return orders


def _related(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("patient", "practitioner", "location")


@dataclass(frozen=True)
class OrderQuery:
    status: str = ""  # a status, "open" (draft, placed, in progress) or "" (all)
    kind: str = ""
    patient_id: int | None = None
    practitioner_id: int | None = None


@dataclass
class OrderPage:
    orders: list[Order]
    page: int
    has_next: bool


def list_orders(*, actor: Actor, query: OrderQuery, page: int = 1, page_size: int = 50) -> OrderPage:
    """Orders matching `query`, newest first; one ORDER_SEARCH audit row with the criteria and the order
    and patient ids shown."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    orders = _related(order_queryset(actor))
    if query.status == "open":
        orders = orders.filter(status__in=[OrderStatus.DRAFT, OrderStatus.ACTIVE, OrderStatus.IN_PROGRESS])
    elif query.status:
        orders = orders.filter(status=query.status)
    if query.kind:
        orders = orders.filter(kind=query.kind)
    if query.patient_id is not None:
        orders = orders.filter(patient_id=query.patient_id)
    if query.practitioner_id is not None:
        orders = orders.filter(practitioner_id=query.practitioner_id)
    start = (page - 1) * page_size
    with transaction.atomic():
        window = list(orders.order_by("-authored_at", "-pk")[start : start + page_size + 1])
        shown = window[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.ORDER_SEARCH,
            patient_id=query.patient_id,
            detail={
                "criteria": {
                    "status": query.status,
                    "kind": query.kind,
                    "patient_id": query.patient_id,
                    "practitioner_id": query.practitioner_id,
                    "page": page,
                },
                "order_ids": [o.pk for o in shown],
                "result_ids": sorted({o.patient_id for o in shown}),
            },
        )
    return OrderPage(shown, page, len(window) > page_size)


@dataclass
class PatientOrders:
    patient: Any  # patients.models.Patient
    orders: list[Order]
    events: dict[int, list[OrderEvent]] = field(default_factory=dict)


def patient_orders(*, actor: Actor, patient_id: Any) -> PatientOrders:
    """A patient's orders, newest first, with their timelines (one ORDER_SEARCH row naming the patient);
    PatientNotFound outside the actor's scope."""
    pk = parse_id(patient_id)
    with transaction.atomic():
        patient = None if pk is None else patient_selectors.patient_queryset(actor).filter(pk=pk).first()
        if patient is None:
            raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
        orders = list(
            _related(order_queryset(actor)).filter(patient_id=patient.pk).order_by("-authored_at", "-pk")
        )
        events: dict[int, list[OrderEvent]] = {o.pk: [] for o in orders}
        for event in OrderEvent.objects.filter(order_id__in=list(events)).order_by("at", "pk"):
            events[event.order_id].append(event)
        audit.record(
            actor=actor,
            action=AuditAction.ORDER_SEARCH,
            patient_id=patient.pk,
            detail={"criteria": {"patient_id": patient.pk}, "order_ids": [o.pk for o in orders]},
        )
    return PatientOrders(patient, orders, events)


@dataclass
class OrderDetail:
    order: Order
    events: list[OrderEvent]
    targets: tuple[str, ...]


def get_order(*, actor: Actor, order_id: Any) -> OrderDetail:
    """One order with its timeline (ORDER_VIEW audit row naming the patient); OrderNotFound when it does
    not exist or the actor may not see it."""
    pk = parse_id(order_id)
    with transaction.atomic():
        order = None if pk is None else _related(order_queryset(actor)).filter(pk=pk).first()
        if order is None:
            raise OrderNotFound(f"No order with id {order_id}.", details={"id": str(order_id)})
        events = list(order.events.order_by("at", "pk"))
        audit.record(
            actor=actor, action=AuditAction.ORDER_VIEW, patient_id=order.patient_id, obj=order, detail={}
        )
    return OrderDetail(order, events, rules.allowed_targets(order.status))


# --- FHIR ServiceRequest: orders and referrals ---------------------------------------------------------

ORDER_PREFIX = "order-"
REFERRAL_PREFIX = "referral-"


@dataclass(frozen=True)
class ServiceRequestQuery:
    """What a ServiceRequest search asks, in our terms. `sources`: "order", "referral" or both;
    statuses per source (None: any); `authored_from` inclusive, `authored_before` exclusive."""

    sources: frozenset[str] = frozenset({"order", "referral"})
    patient_id: int | None = None
    practitioner_id: int | None = None
    order_statuses: tuple[str, ...] | None = None
    referral_statuses: tuple[str, ...] | None = None
    order_kind: str = ""
    authored_from: dt.datetime | None = None
    authored_before: dt.datetime | None = None
    order_id: int | None = None
    referral_id: int | None = None


def _referral_queryset(actor: Actor) -> QuerySet[Any]:
    return referral_selectors.service_request_queryset(actor).select_related("patient", "receiver")


def _orders_for(actor: Actor, query: ServiceRequestQuery) -> QuerySet[Order]:
    orders = _related(order_queryset(actor))
    if query.patient_id is not None:
        orders = orders.filter(patient_id=query.patient_id)
    if query.practitioner_id is not None:
        orders = orders.filter(practitioner_id=query.practitioner_id)
    if query.order_statuses is not None:
        orders = orders.filter(status__in=query.order_statuses)
    if query.order_kind:
        orders = orders.filter(kind=query.order_kind)
    if query.authored_from is not None:
        orders = orders.filter(authored_at__gte=query.authored_from)
    if query.authored_before is not None:
        orders = orders.filter(authored_at__lt=query.authored_before)
    if query.order_id is not None:
        orders = orders.filter(pk=query.order_id)
    return orders.order_by("-authored_at", "-pk")


def _referrals_for(actor: Actor, query: ServiceRequestQuery) -> QuerySet[Any]:
    referrals = _referral_queryset(actor)
    if query.practitioner_id is not None:
        return referrals.none()  # a referral's requester is a user, not a practitioner
    if query.patient_id is not None:
        referrals = referrals.filter(patient_id=query.patient_id)
    if query.referral_statuses is not None:
        referrals = referrals.filter(status__in=query.referral_statuses)
    if query.authored_from is not None:
        referrals = referrals.filter(created_at__gte=query.authored_from)
    if query.authored_before is not None:
        referrals = referrals.filter(created_at__lt=query.authored_before)
    if query.referral_id is not None:
        referrals = referrals.filter(pk=query.referral_id)
    return referrals.order_by("-created_at", "-pk")


def authored(item: Any) -> dt.datetime:
    """When an order or a referral was written (the ServiceRequest's authoredOn)."""
    return item.authored_at if isinstance(item, Order) else item.created_at


def _sort_key(item: Any) -> tuple[float, int, int]:
    return (-authored(item).timestamp(), 0 if isinstance(item, Order) else 1, -item.pk)


def search_service_requests(
    *, actor: Actor, query: ServiceRequestQuery, page: int = 1, page_size: int = 20
) -> tuple[list[Any], bool]:
    """Orders and referrals matching `query`, newest first (an order before a referral written at the
    same instant), and whether there is a next page; one SERVICE_REQUEST_SEARCH audit row with the
    criteria and the ids and patients shown."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    start = (page - 1) * page_size
    reach = start + page_size + 1
    with transaction.atomic():
        found: list[Any] = []
        if "order" in query.sources:
            found += list(_orders_for(actor, query)[:reach])
        if "referral" in query.sources:
            found += list(_referrals_for(actor, query)[:reach])
        found.sort(key=_sort_key)
        window = found[start:reach]
        shown = window[:page_size]
        patient_ids = sorted({item.patient_id for item in shown})
        audit.record(
            actor=actor,
            action=AuditAction.SERVICE_REQUEST_SEARCH,
            patient_id=query.patient_id
            if query.patient_id is not None
            else (patient_ids[0] if len(patient_ids) == 1 else None),
            detail={
                "criteria": {
                    "sources": sorted(query.sources),
                    "patient_id": query.patient_id,
                    "practitioner_id": query.practitioner_id,
                    "order_statuses": list(query.order_statuses or ()),
                    "referral_statuses": list(query.referral_statuses or ()),
                    "order_kind": query.order_kind,
                    "authored_from": query.authored_from.isoformat() if query.authored_from else None,
                    "authored_before": query.authored_before.isoformat() if query.authored_before else None,
                    "page": page,
                },
                "order_ids": [i.pk for i in shown if isinstance(i, Order)],
                "referral_ids": [i.pk for i in shown if not isinstance(i, Order)],
                "result_ids": patient_ids,
            },
        )
    return shown, len(window) > page_size


def get_service_request(*, actor: Actor, resource_id: str) -> Any:
    """`order-12` or `referral-7` in the actor's scope (audited as a read of that order or referral);
    OrderNotFound / ReferralNotFound otherwise."""
    if resource_id.startswith(ORDER_PREFIX):
        pk = parse_id(resource_id.removeprefix(ORDER_PREFIX))
        with transaction.atomic():
            order = None if pk is None else _related(order_queryset(actor)).filter(pk=pk).first()
            if order is None:
                raise OrderNotFound(f"No ServiceRequest with id {resource_id!r}.")
            audit.record(
                actor=actor,
                action=AuditAction.ORDER_VIEW,
                patient_id=order.patient_id,
                obj=order,
                detail={"view": "fhir"},
            )
        return order
    if resource_id.startswith(REFERRAL_PREFIX):
        pk = parse_id(resource_id.removeprefix(REFERRAL_PREFIX))
        with transaction.atomic():
            referral = None if pk is None else _referral_queryset(actor).filter(pk=pk).first()
            if referral is None:
                raise ReferralNotFound(f"No ServiceRequest with id {resource_id!r}.")
            audit.record(
                actor=actor,
                action=AuditAction.REFERRAL_VIEW,
                patient_id=referral.patient_id,
                obj=referral,
                detail={"view": "fhir"},
            )
        return referral
    raise OrderNotFound(f"No ServiceRequest with id {resource_id!r}.")
