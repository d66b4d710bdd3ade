"""Pure inventory arithmetic (no ORM): reorder suggestions, restock picks, first-expiry-first-out
allocation, and the report's chart geometry."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

#: Lots expiring within this many days are flagged.
EXPIRY_WARNING_DAYS = 30


def reorder_quantity(*, on_hand: int, on_order: int, reorder_point: int, reorder_quantity: int) -> int:
    """How many to order: nothing while on hand plus on order reaches the reorder point; otherwise whole
    reorder quantities, enough to bring the position back to the reorder point (at least one)."""
    position = on_hand + on_order
    if position >= reorder_point:
        return 0
    step = max(reorder_quantity, 1)
    return step * max(1, math.ceil((reorder_point - position) / step))


def is_below_reorder_point(on_hand: int, reorder_point: int) -> bool:
    return on_hand < reorder_point


def restock_quantity(*, par: int, on_hand: int, tomorrow: int) -> int:
    """What to bring to a room: up to par, plus what tomorrow's visits there will use."""
    return max(par - on_hand + tomorrow, 0)


@dataclass(frozen=True)
class LotStock:
    """A balance to take from: its key, lot expiry (None: no expiry, used last) and quantity on hand."""

    key: int
    expires_on: dt.date | None
    quantity: int


def allocate_fefo(stock: Iterable[LotStock], wanted: int) -> list[tuple[int, int]]:
    """Take `wanted` first-expiry-first-out: [(key, quantity)], or [] when there is not enough."""
    ordered = sorted(stock, key=lambda s: (s.expires_on is None, s.expires_on or dt.date.max, s.key))
    if sum(s.quantity for s in ordered) < wanted:
        return []
    taken: list[tuple[int, int]] = []
    remaining = wanted
    for lot in ordered:
        if remaining == 0:
            break
        take = min(lot.quantity, remaining)
        if take > 0:
            taken.append((lot.key, take))
            remaining -= take
    return taken


def expires_soon(expires_on: dt.date | None, today: dt.date, days: int = EXPIRY_WARNING_DAYS) -> bool:
    return expires_on is not None and expires_on <= today + dt.timedelta(days=days)


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # as shown
    y: int
    width: int
    text_x: int


def cost_bars(rows: Sequence[tuple[str, Decimal]], *, width: int = 360, row: int = 26) -> list[Bar]:
    """Horizontal bars (SVG user units), the longest bar the largest amount."""
    top = max((amount for _, amount in rows), default=Decimal(0))
    bars = []
    for index, (label, amount) in enumerate(rows):
        length = 0 if top <= 0 else round(width * float(amount / top))
        bars.append(Bar(label, f"{amount:.2f}", index * row, length, length + 4))
    return bars
