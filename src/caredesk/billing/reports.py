"""The billing reports, read from the ledger (never from a stored balance) and restricted to the claims
and patients the actor may see: A/R aging by payer, denial rate by reason, collections per period.

Each report writes one audit row (its criteria; it names no patient: it shows sums). Dates:
- aging counts a claim's age from its date of service (its earliest line), to the report's "as of" day;
- denials and collections use the day a row was posted to the ledger (the organization's time zone).
The arithmetic is `report_rules`'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.patients import selectors as patient_selectors

from . import report_rules, rules
from .choices import LedgerKind
from .errors import InvalidReport
from .models import LedgerEntry, RemittanceClaim
from .services import claim_queryset

MAX_DAYS = 3 * 366  # the longest window a denial or collections report covers
NO_PAYER = ("", "Self-pay")


def _audit(actor: Actor, report: str, export: bool, criteria: dict[str, str]) -> None:
    audit.record(
        actor=actor,
        action=AuditAction.BILLING_REPORT_EXPORT if export else AuditAction.BILLING_REPORT_VIEW,
        object_type="billing.Report",
        detail={"report": report, **criteria},
    )


def check_window(first: dt.date, last: dt.date) -> None:
    """Refuse a window that ends before it starts, or is longer than MAX_DAYS."""
    if last < first:
        raise InvalidReport("The end date is before the start date.", field="end")
    if (last - first).days > MAX_DAYS:
        raise InvalidReport(f"Choose at most {MAX_DAYS} days.", field="start")


def _window(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    check_window(first, last)
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


# ---------------------------------------------------------------------------------------------- aging


@dataclass(frozen=True)
class AgingReport:
    as_of: dt.date
    aging: report_rules.Aging


def aging_report(*, actor: Actor, as_of: dt.date, export: bool = False) -> AgingReport:
    """Outstanding balances on `as_of`, per payer and age bucket, plus the patients' row."""
    with transaction.atomic():
        claims = claim_queryset(actor)
        meta = {
            row["pk"]: row
            for row in claims.filter(ledger__isnull=False)
            .annotate(service_date=Min("lines__service_date"))
            .values(
                "pk",
                "patient_id",
                "service_date",
                "coverage__plan__payer_id",
                "coverage__plan__payer__name",
            )
        }
        sums: dict[int, dict[str, Decimal]] = {}
        for row in (
            LedgerEntry.objects.filter(claim_id__in=claims.values("pk"))
            .values("claim_id", "kind")
            .annotate(total=Sum("amount"))
        ):
            sums.setdefault(row["claim_id"], {})[row["kind"]] = row["total"]
        items = []
        for claim_id, totals in sums.items():
            claim = meta[claim_id]
            payer_id = claim["coverage__plan__payer_id"]
            key, label = (str(payer_id), claim["coverage__plan__payer__name"]) if payer_id else NO_PAYER
            served = claim["service_date"] or as_of
            items.append(
                report_rules.AgingItem(
                    payer_key=key,
                    payer_label=label,
                    ledger=report_rules.ClaimLedger(
                        charges=totals.get(LedgerKind.CHARGE, report_rules.ZERO),
                        payments=totals.get(LedgerKind.PAYMENT, report_rules.ZERO),
                        adjustments=totals.get(LedgerKind.ADJUSTMENT, report_rules.ZERO),
                        patient_responsibility=totals.get(
                            LedgerKind.PATIENT_RESPONSIBILITY, report_rules.ZERO
                        ),
                    ),
                    patient_id=claim["patient_id"],
                    days=(as_of - served).days,
                )
            )
        paid = {
            row["payment__patient_id"]: row["total"]
            for row in LedgerEntry.objects.filter(
                organization_id=actor.organization_id or 0,
                kind=LedgerKind.PATIENT_PAYMENT,
                payment__patient_id__in=patient_selectors.patient_queryset(actor).values("pk"),
            )
            .values("payment__patient_id")
            .annotate(total=Sum("amount"))
        }
        _audit(actor, "aging", export, {"as_of": as_of.isoformat()})
    return AgingReport(as_of=as_of, aging=report_rules.aging(items, paid))


# ---------------------------------------------------------------------------------------------- denials


@dataclass(frozen=True)
class DenialReport:
    first: dt.date
    last: dt.date
    denials: report_rules.Denials


def denial_report(*, actor: Actor, first: dt.date, last: dt.date, export: bool = False) -> DenialReport:
    """Claim payments posted from `first` to `last` (reversals left out): how many denied the claim, and
    per CARC reason (the payer's adjustments on the ledger, not patient responsibility) how many and
    how much."""
    start, end = _window(first, last)
    with transaction.atomic():
        payments = list(
            RemittanceClaim.objects.filter(
                claim_id__in=claim_queryset(actor).values("pk"),
                created_at__gte=start,
                created_at__lt=end,
            )
            .exclude(status_code=report_rules.REVERSAL_STATUS)
            .values("pk", "status_code", "paid", "patient_responsibility")
        )
        reasons: dict[int, dict[str, Decimal]] = {}
        largest: dict[int, Decimal] = {}
        for row in (
            LedgerEntry.objects.filter(
                kind=LedgerKind.ADJUSTMENT, remittance_claim_id__in=[p["pk"] for p in payments]
            )
            .exclude(group="PR")
            .values("remittance_claim_id", "reason")
            .annotate(total=Sum("amount"), largest=Max("amount"))
        ):
            payment_id = row["remittance_claim_id"]
            reasons.setdefault(payment_id, {})[row["reason"]] = row["total"]
            largest[payment_id] = max(largest.get(payment_id, report_rules.ZERO), row["largest"])
        items = [
            report_rules.Adjudicated(
                denied=report_rules.is_denial(
                    p["status_code"],
                    p["paid"],
                    p["patient_responsibility"],
                    largest.get(p["pk"], report_rules.ZERO),
                ),
                reasons=reasons.get(p["pk"], {}),
            )
            for p in payments
        ]
        _audit(actor, "denials", export, {"start": first.isoformat(), "end": last.isoformat()})
    return DenialReport(first=first, last=last, denials=report_rules.denials(items, rules.CARC_TEXT))


# ---------------------------------------------------------------------------------------------- collections


@dataclass(frozen=True)
class CollectionsReport:
    first: dt.date
    last: dt.date
    period: str
    rows: list[report_rules.CollectionRow]

    @property
    def insurance(self) -> Decimal:
        return sum((r.insurance for r in self.rows), report_rules.ZERO)

    @property
    def patient(self) -> Decimal:
        return sum((r.patient for r in self.rows), report_rules.ZERO)

    @property
    def total(self) -> Decimal:
        return self.insurance + self.patient


def collections_report(
    *, actor: Actor, first: dt.date, last: dt.date, period: str, export: bool = False
) -> CollectionsReport:
    """Insurance payments (posted from remittances) and patient payments per month or week, by the day
    they were posted to the ledger."""
    if period not in report_rules.PERIODS:
        raise InvalidReport("The period is month or week.", field="period")
    start, end = _window(first, last)
    zone = timezone.get_current_timezone()
    with transaction.atomic():
        insurance = Q(kind=LedgerKind.PAYMENT, claim_id__in=claim_queryset(actor).values("pk"))
        patient = Q(
            kind=LedgerKind.PATIENT_PAYMENT,
            payment__patient_id__in=patient_selectors.patient_queryset(actor).values("pk"),
        )
        rows = (
            LedgerEntry.objects.filter(
                insurance | patient,
                organization_id=actor.organization_id or 0,
                created_at__gte=start,
                created_at__lt=end,
            )
            .annotate(day=TruncDate("created_at", tzinfo=zone))
            .values("day", "kind")
            .annotate(total=Sum("amount"))
        )
        payments = [(r["day"], r["kind"] == LedgerKind.PAYMENT, r["total"]) for r in rows]
        _audit(
            actor,
            "collections",
            export,
            {"start": first.isoformat(), "end": last.isoformat(), "period": period},
        )
    return CollectionsReport(
        first=first,
        last=last,
        period=period,
        rows=report_rules.collections(payments, first=first, last=last, period=period),
    )
