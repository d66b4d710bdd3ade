"""Coded errors of orders (each entry point maps them to 4xx in one place)."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class OrderNotFound(NotFound):
    code = "order_not_found"


class InvalidOrder(ValidationFailed):
    code = "invalid_order"


class InvalidTransition(Conflict):
    code = "invalid_order_transition"


class StaleOrder(Conflict):
    code = "stale_order"


class OrderCheckFailed(Conflict):
    """The order may not be placed as written. `details` carries `reasons` (plain words), `alternatives`
    (id and name of practitioners who would pass the credential check) and `authorization_needed`."""

    code = "order_check_failed"
