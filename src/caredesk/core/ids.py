"""Record ids as they come in from URLs, forms and JSON."""

from __future__ import annotations

from typing import Any

from caredesk.core.errors import DomainError, ValidationFailed

#: The largest id a 64-bit primary key can hold, plus one.
ID_LIMIT = 2**63


def positive_id(value: Any) -> int:
    """`value` as a record id, or 0 (which matches no row) when it is not one: not a number, zero,
    negative, or too large for the database (PostgreSQL would refuse it with an error, not "not found")."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < ID_LIMIT else 0


def optional_id(value: Any) -> int | None:
    """`value` as a record id, or None when it is not one (see `positive_id`)."""
    return positive_id(value) or None


def checked_id(value: Any, field: str, *, error: type[DomainError] = ValidationFailed) -> int:
    """`value` as a record id; `error` (with `field`) when it is not a whole number or not a positive one
    that fits a 64-bit primary key."""
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise error(f"{field} must be a whole number.", field=field) from exc
    if not 0 < number < ID_LIMIT:
        raise error(f"{field} must be a positive number.", field=field)
    return number
