"""The referral loop-closure report in the JSON API (/api/v1/reports/referral-loop): for referrals first
sent in a period, the loop-closure rate and median days per step, in total, by specialty and by receiver;
with `direction=inbound`, for the referrals other practices sent us that were received in the period, by
specialty and by referring party (received -> accepted -> scheduled -> seen -> consult note sent back).
Aggregates only (no patient data); the referrals selector audits the reading (REFERRAL_REPORT_VIEW). The
same permission as the report page (REFERRAL_MANAGE).

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Any, Literal, Self

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Schema
from pydantic import Field, model_validator

from caredesk.accounts.permissions import Permission
from caredesk.core.errors import ValidationFailed
from caredesk.referrals import selectors

from .api import ERRORS, actor_of, endpoint

TAGS = ["referrals"]
MAX_REPORT_DAYS = 3 * 366


class LoopGroupOut(Schema):
    key: str = Field(description="The specialty, receiver or referring party (or All)")
    sent: int = Field(description="Referrals in the group: sent (outbound) or received (inbound)")
    closed: int
    declined_open: int = Field(
        description="Declined: still open until re-routed or cancelled (outbound); final (inbound)"
    )
    cancelled: int
    closure_rate: float = Field(
        description="Loops closed per referral sent (inbound: received); 0 when there was none"
    )
    medians: dict[str, float | None] = Field(description="Median days per step, by step label")


class LoopReportOut(Schema):
    direction: str = Field(description="outbound (referrals we sent) or inbound (referrals we received)")
    since: dt.date
    until: dt.date
    steps: list[str] = Field(description="The step labels, in order")
    total: LoopGroupOut
    by_specialty: list[LoopGroupOut]
    by_receiver: list[LoopGroupOut] = Field(description="Outbound only (empty for inbound)")
    by_referrer: list[LoopGroupOut] = Field(description="Inbound only: by referring party")


class LoopReportFilters(Schema):
    direction: Literal["outbound", "inbound"] = Field(
        "outbound", description="outbound (referrals we sent, the default) or inbound (we received)"
    )
    since: dt.date | None = Field(
        None, description="First day referrals were sent (inbound: received); default: a year back"
    )
    until: dt.date | None = Field(None, description="Last day; default: today")

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.since and self.until and self.since > self.until:
            raise ValueError("The period starts after it ends.")
        if self.since and self.until and (self.until - self.since).days > MAX_REPORT_DAYS:
            raise ValueError("Pick at most three years.")
        return self


@endpoint(
    "GET",
    "/reports/referral-loop",
    Permission.REFERRAL_MANAGE,
    response={200: LoopReportOut, **ERRORS},
    summary="The referral loop-closure report",
    tags=TAGS,
)
def loop_report(request: HttpRequest, period: Query[LoopReportFilters]) -> Any:
    """Referrals first sent in the period: loop-closure rate and median days per step, in total, by
    specialty and by receiver. `direction=inbound`: referrals received in the period, by specialty and by
    referring party. Aggregates only (no patient data); the reading is audited."""
    until = period.until or timezone.localdate()
    since = period.since or until - dt.timedelta(days=365)
    if since > until:
        raise ValidationFailed("The period starts after it ends.", field="since")
    report = selectors.loop_report(
        actor=actor_of(request), since=since, until=until, direction=period.direction
    )
    return {
        "direction": report.direction,
        "since": report.since,
        "until": report.until,
        "steps": report.steps,
        "total": report.total,
        "by_specialty": report.by_specialty,
        "by_receiver": report.by_receiver,
        "by_referrer": report.by_referrer,
    }
