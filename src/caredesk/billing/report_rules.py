"""Pure arithmetic of the billing reports (no ORM): A/R aging buckets, denial rates by reason, collections
per period, and the horizontal bars the report page draws as SVG on the server.

Every figure starts from ledger sums handed in by `billing.reports`; nothing here reads a stored balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal("0.00")
BUCKETS = ("0-30", "31-60", "61-90", "90+")
BUCKET_LIMITS = (30, 60, 90)  # the last day of each bucket but the open-ended last one
PERIODS = ("month", "week")
PATIENT_ROW = "Patient responsibility"


# ---------------------------------------------------------------------------------------------- aging


def bucket_index(days: int) -> int:
    """0 for 0-30 days (a date in the future counts as 0 days), 1 for 31-60, 2 for 61-90, 3 for 90+."""
    for index, limit in enumerate(BUCKET_LIMITS):
        if days <= limit:
            return index
    return len(BUCKET_LIMITS)


@dataclass(frozen=True)
class ClaimLedger:
    """One claim's ledger rows, summed per kind (payments here are the payer's: patients pay into their
    account, not onto a claim)."""

    charges: Decimal = ZERO
    payments: Decimal = ZERO
    adjustments: Decimal = ZERO
    patient_responsibility: Decimal = ZERO

    @property
    def insurance_balance(self) -> Decimal:
        """Still expected from the payer: charges less its payments, its adjustments and what it moved to
        the patient."""
        return self.charges - self.payments - self.adjustments - self.patient_responsibility


@dataclass
class AgingRow:
    key: str
    label: str
    amounts: list[Decimal] = field(default_factory=lambda: [ZERO] * len(BUCKETS))
    count: int = 0  # claims (a payer's row) or patients (the patient row) with a balance

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)


@dataclass(frozen=True)
class AgingItem:
    """One claim: its payer, its ledger, its patient and how many days old it is."""

    payer_key: str  # empty for a self-pay claim (no coverage)
    payer_label: str
    ledger: ClaimLedger
    patient_id: int
    days: int


@dataclass(frozen=True)
class Aging:
    payers: list[AgingRow]
    patient: AgingRow

    @property
    def rows(self) -> list[AgingRow]:
        return [*self.payers, self.patient]

    @property
    def totals(self) -> list[Decimal]:
        return [sum((r.amounts[i] for r in self.rows), ZERO) for i in range(len(BUCKETS))]

    @property
    def total(self) -> Decimal:
        return sum(self.totals, ZERO)


def patient_buckets(owed: Sequence[tuple[int, Decimal]], paid: Decimal) -> list[Decimal]:
    """One patient's balance per age bucket: what they owe per claim (days old, amount), with their
    payments applied to the oldest first; a payment beyond what they owe is a credit in 0-30."""
    amounts = [ZERO] * len(BUCKETS)
    left = paid
    for days, amount in sorted(owed, key=lambda o: -o[0]):
        applied = min(max(left, ZERO), max(amount, ZERO))
        left -= applied
        amounts[bucket_index(days)] += amount - applied
    amounts[0] -= left
    return amounts


def aging(items: Iterable[AgingItem], patient_payments: dict[int, Decimal]) -> Aging:
    """Outstanding insurance balances per payer (by claim age) and the patients' balances as one row:
    patient responsibility (and self-pay claims, `payer_key` empty) less patient payments. A claim
    counts in a payer's row when its insurance balance is not zero (a credit counts, negative)."""
    payers: dict[str, AgingRow] = {}
    owed: dict[int, list[tuple[int, Decimal]]] = {}
    for item in items:
        if not item.payer_key:  # self-pay: the whole claim is the patient's
            balance = item.ledger.insurance_balance + item.ledger.patient_responsibility
            if balance:
                owed.setdefault(item.patient_id, []).append((item.days, balance))
            continue
        insurance = item.ledger.insurance_balance
        if insurance:
            row = payers.setdefault(item.payer_key, AgingRow(item.payer_key, item.payer_label))
            row.amounts[bucket_index(item.days)] += insurance
            row.count += 1
        if item.ledger.patient_responsibility:
            owed.setdefault(item.patient_id, []).append((item.days, item.ledger.patient_responsibility))
    patient = AgingRow("patient", PATIENT_ROW)
    for patient_id in sorted(set(owed) | set(patient_payments)):
        amounts = patient_buckets(owed.get(patient_id, []), patient_payments.get(patient_id, ZERO))
        if any(amounts):
            patient.count += 1
            patient.amounts = [a + b for a, b in zip(patient.amounts, amounts, strict=True)]
    return Aging(payers=sorted(payers.values(), key=lambda r: (r.label.lower(), r.key)), patient=patient)


# ---------------------------------------------------------------------------------------------- denials

DENIED_STATUS = "4"
REVERSAL_STATUS = "22"
PROCESSED_STATUSES = frozenset({"1", "2", "3", "19", "20", "21"})


def is_denial(
    status_code: str, paid: Decimal, patient_responsibility: Decimal, payer_adjustments: Decimal
) -> bool:
    """Whether a claim payment (CLP) denies the claim: CLP02 4, or processed with nothing paid, nothing
    moved to the patient and an adjustment by the payer (the same test posting uses to deny a claim)."""
    if status_code == DENIED_STATUS:
        return True
    return (
        status_code in PROCESSED_STATUSES
        and paid == 0
        and patient_responsibility == 0
        and payer_adjustments > 0
    )


@dataclass(frozen=True)
class Adjudicated:
    """One claim payment of a remittance: whether it denied the claim, and its payer adjustments (not
    patient responsibility) by CARC, summed from the ledger."""

    denied: bool
    reasons: dict[str, Decimal]


@dataclass(frozen=True)
class DenialRow:
    reason: str
    label: str
    claims: int
    amount: Decimal
    rate: Decimal  # percent of the adjudicated claim payments


@dataclass(frozen=True)
class Denials:
    adjudicated: int
    denied: int
    rows: list[DenialRow]

    @property
    def rate(self) -> Decimal:
        return percent(self.denied, self.adjudicated)


def percent(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def denials(items: Iterable[Adjudicated], labels: dict[str, str]) -> Denials:
    """Denied claim payments per CARC reason: how many carried it, its amount, and the rate against every
    adjudicated claim payment. A denial with several reasons counts under each; one without a reason
    counts under "none"."""
    adjudicated = 0
    denied = 0
    counts: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    for item in items:
        adjudicated += 1
        if not item.denied:
            continue
        denied += 1
        reasons = item.reasons or {"": ZERO}
        for reason, amount in reasons.items():
            counts[reason] = counts.get(reason, 0) + 1
            amounts[reason] = amounts.get(reason, ZERO) + amount
    rows = [
        DenialRow(
            reason=reason or "none",
            label=labels.get(reason, f"reason code {reason}") if reason else "no reason code given",
            claims=counts[reason],
            amount=amounts[reason],
            rate=percent(counts[reason], adjudicated),
        )
        for reason in counts
    ]
    rows.sort(key=lambda r: (-r.claims, -r.amount, r.reason))
    return Denials(adjudicated=adjudicated, denied=denied, rows=rows)


# ---------------------------------------------------------------------------------------------- collections


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the month, or the Monday of the ISO week, that `day` falls in."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(start: dt.date, period: str) -> dt.date:
    if period == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def period_label(start: dt.date, period: str) -> str:
    return f"Week of {start.isoformat()}" if period == "week" else start.strftime("%Y-%m")


@dataclass(frozen=True)
class CollectionRow:
    start: dt.date
    label: str
    insurance: Decimal
    patient: Decimal

    @property
    def total(self) -> Decimal:
        return self.insurance + self.patient


def collections(
    payments: Iterable[tuple[dt.date, bool, Decimal]], *, first: dt.date, last: dt.date, period: str
) -> list[CollectionRow]:
    """Payments (posting date, from insurance?, amount) summed per period from `first` to `last`, every
    period shown, empty ones as zero."""
    insurance: dict[dt.date, Decimal] = {}
    patient: dict[dt.date, Decimal] = {}
    for day, from_insurance, amount in payments:
        if not first <= day <= last:
            continue
        key = period_start(day, period)
        target = insurance if from_insurance else patient
        target[key] = target.get(key, ZERO) + amount
    rows = []
    start = period_start(first, period)
    while start <= last:
        rows.append(
            CollectionRow(
                start=start,
                label=period_label(start, period),
                insurance=insurance.get(start, ZERO),
                patient=patient.get(start, ZERO),
            )
        )
        start = next_period(start, period)
    return rows


# ---------------------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Segment:
    x: int
    width: int
    value: Decimal
    series: int  # which series (colour) of the chart


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal  # the row's total
    y: int
    segments: tuple[Segment, ...]
    text_x: int  # where the total is written, after the bar


def bars(rows: Sequence[tuple[str, Sequence[Decimal]]], *, width: int = 360, row: int = 26) -> list[Bar]:
    """Horizontal bars (SVG user units), one per row, its series stacked left to right and scaled so the
    largest row fills `width`. Negative values (credits) draw nothing but keep their number."""
    largest = max((sum((max(v, ZERO) for v in values), ZERO) for _, values in rows), default=ZERO)
    drawn = []
    for index, (label, values) in enumerate(rows):
        x = 0
        segments = []
        for series, value in enumerate(values):
            length = int((Decimal(width) * max(value, ZERO) / largest).to_integral_value()) if largest else 0
            segments.append(Segment(x, length, value, series))
            x += length
        total = sum(values[1:], values[0]) if values else ZERO  # keeps the values' own decimals
        drawn.append(Bar(label, total, index * row, tuple(segments), x + 4))
    return drawn
