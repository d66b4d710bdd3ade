"""The billing reports page (A/R aging, denial rate by reason, collections per period) with its SVG bar
charts drawn on the server, and a CSV export of each. Each view calls the report selectors."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.core.text import spreadsheet_cell
from caredesk.core.web import request_actor

from . import report_rules, reports
from .errors import InvalidReport

CHART_WIDTH = 360
LABEL_WIDTH = 190
SERIES_COLOURS = ("#0d6efd", "#fd7e14")  # insurance, patient


@dataclass(frozen=True)
class Criteria:
    as_of: dt.date
    first: dt.date
    last: dt.date
    period: str


def _date(values: QueryDict, name: str, default: dt.date) -> dt.date:
    text = values.get(name, "").strip()
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidReport(f"{name.replace('_', ' ')} must be a date (YYYY-MM-DD).", field=name) from exc


def _criteria(values: QueryDict) -> Criteria:
    today = timezone.localdate()
    last = _date(values, "end", today)
    first = _date(values, "start", (last.replace(day=1) - dt.timedelta(days=330)).replace(day=1))
    period = values.get("period", "month").strip() or "month"
    if period not in report_rules.PERIODS:
        raise InvalidReport("The period is month or week.", field="period")
    reports.check_window(first, last)  # before any report is read, so a refusal records nothing
    return Criteria(as_of=_date(values, "as_of", today), first=first, last=last, period=period)


def _chart(rows: Sequence[tuple[str, Sequence[Any]]]) -> dict[str, Any]:
    drawn = report_rules.bars(rows, width=CHART_WIDTH)
    return {
        "bars": drawn,
        "label_width": LABEL_WIDTH,
        "bar_width": CHART_WIDTH,
        "width": LABEL_WIDTH + CHART_WIDTH + 90,
        "height": max(len(drawn), 1) * 26 + 4,
        "colours": SERIES_COLOURS,
    }


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def report_page(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    try:
        criteria = _criteria(request.GET)
        aging = reports.aging_report(actor=actor, as_of=criteria.as_of)
        denials = reports.denial_report(actor=actor, first=criteria.first, last=criteria.last)
        collections = reports.collections_report(
            actor=actor, first=criteria.first, last=criteria.last, period=criteria.period
        )
    except DomainError as exc:
        return render(
            request,
            "billing/reports.html",
            {"error": exc.message, "values": request.GET, "periods": report_rules.PERIODS},
            status=exc.http_status,
        )
    context = {
        "criteria": criteria,
        "values": request.GET,
        "periods": report_rules.PERIODS,
        "buckets": report_rules.BUCKETS,
        "aging": aging.aging,
        "aging_chart": _chart([(row.label, [row.total]) for row in aging.aging.rows]),
        "denials": denials.denials,
        "denial_chart": _chart([(f"{r.reason} {r.label}"[:32], [r.rate]) for r in denials.denials.rows]),
        "collections": collections,
        "collection_chart": _chart([(r.label, [r.insurance, r.patient]) for r in collections.rows]),
        "query": request.GET.urlencode(),
    }
    return render(request, "billing/reports.html", context)


def _csv(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_cell(value) for value in row])
    return response


def _export(request: HttpRequest, build: Callable[[Actor, Criteria], HttpResponse]) -> HttpResponse:
    try:
        return build(request.actor, _criteria(request.GET))  # type: ignore[attr-defined]
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8")


def _aging_csv(actor: Actor, criteria: Criteria) -> HttpResponse:
    report = reports.aging_report(actor=actor, as_of=criteria.as_of, export=True)
    rows = [
        [row.label, row.key if row.key != "patient" else "", *row.amounts, row.total, row.count]
        for row in report.aging.rows
    ]
    rows.append(["Total", "", *report.aging.totals, report.aging.total, ""])
    return _csv(
        f"ar-aging-{report.as_of:%Y-%m-%d}",
        ["payer", "payer record", *(f"{b} days" for b in report_rules.BUCKETS), "total", "count"],
        rows,
    )


def _denials_csv(actor: Actor, criteria: Criteria) -> HttpResponse:
    report = reports.denial_report(actor=actor, first=criteria.first, last=criteria.last, export=True)
    denials = report.denials
    rows: list[list[object]] = [
        [r.reason, r.label, r.claims, r.amount, r.rate, denials.adjudicated] for r in denials.rows
    ]
    rows.append(["all", "every denial", denials.denied, "", denials.rate, denials.adjudicated])
    return _csv(
        f"denials-{report.first:%Y-%m-%d}-{report.last:%Y-%m-%d}",
        ["reason", "description", "denied claims", "amount", "rate percent", "adjudicated claims"],
        rows,
    )


def _collections_csv(actor: Actor, criteria: Criteria) -> HttpResponse:
    report = reports.collections_report(
        actor=actor, first=criteria.first, last=criteria.last, period=criteria.period, export=True
    )
    rows: list[list[object]] = [[r.label, r.insurance, r.patient, r.total] for r in report.rows]
    rows.append(["Total", report.insurance, report.patient, report.total])
    return _csv(
        f"collections-{report.period}-{report.first:%Y-%m-%d}-{report.last:%Y-%m-%d}",
        [report.period, "insurance payments", "patient payments", "total"],
        rows,
    )


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def aging_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, _aging_csv)


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def denials_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, _denials_csv)


@require_permission(Permission.BILLING_VIEW)
@require_http_methods(["GET", "HEAD"])
def collections_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, _collections_csv)
