"""Record ids as they come in from URLs, forms and JSON."""

from __future__ import annotations

from typing import Any

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
