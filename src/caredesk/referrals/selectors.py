"""Read queries for referrals, restricted to what the actor may see. Reads of patient data are audited
here, before the data leaves the selector.

CONTRACT: `referral_queryset` and `receiver_queryset` (not audited, for building queries),
`list_referrals`, `get_referral`, `loop_report`, `rule_candidates`, `rule_task_keys`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import ValidationFailed
from caredesk.worklist import selectors as worklist_selectors

from . import clock, ports, rules
from .choices import (
    INBOUND_OPEN_STATUSES,
    OPEN_STATUSES,
    ReferralDirection,
    ReferralStatus,
    Specialty,
    Urgency,
)
from .errors import ReferralNotFound
from .models import Referral, ReferralAttachment, ReferralEvent, ReferralReceiver

MAX_PAGE_SIZE = 200
MAX_REPORT_ROWS = 50_000


def parse_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def referral_queryset(actor: Actor) -> QuerySet[Referral]:
    """The organization's referrals, for a holder of REFERRAL_VIEW. Not audited."""
    if actor.organization_id is None or not actor.has(Permission.REFERRAL_VIEW):
        return Referral.objects.none()
    return Referral.objects.filter(organization_id=actor.organization_id)


def receiver_queryset(actor: Actor) -> QuerySet[ReferralReceiver]:
    if actor.organization_id is None or not actor.has(Permission.REFERRAL_VIEW):
        return ReferralReceiver.objects.none()
    return ReferralReceiver.objects.filter(organization_id=actor.organization_id)


def target_label(referral: Referral) -> str:
    specialty = Specialty(referral.specialty).label
    if referral.is_inbound:
        return f"{specialty} — from {referral.referrer_name}"
    return (
        f"{specialty} — {referral.receiver.name}" if referral.receiver_id and referral.receiver else specialty
    )


def _overdue_condition(now: dt.datetime, overrides: rules.Days) -> Q:
    """Referrals whose current step's clock has run out (rules.step_due, as a query)."""
    condition = Q(status=ReferralStatus.SCHEDULED, appointment_at__lte=now - dt.timedelta(days=1))
    for status in OPEN_STATUSES:
        for urgency in Urgency.values:
            days = rules.limit_days(status, urgency, overrides)
            if days is None:
                continue
            branch = Q(status=status, urgency=urgency, status_changed_at__lte=now - dt.timedelta(days=days))
            if status == ReferralStatus.SCHEDULED:
                branch &= Q(appointment_at__isnull=True)
            if status not in INBOUND_OPEN_STATUSES:
                branch &= Q(direction=ReferralDirection.OUTBOUND)  # declined inbound: final, no clock
            condition |= branch
    return condition


def _open_condition() -> Q:
    """Referrals whose step runs a clock (outbound: sent to consult note, declined until re-routed;
    inbound: received to consult note sent back)."""
    return Q(direction=ReferralDirection.OUTBOUND, status__in=OPEN_STATUSES) | Q(
        direction=ReferralDirection.INBOUND, status__in=INBOUND_OPEN_STATUSES
    )


@dataclass(frozen=True)
class ReferralQuery:
    status: str = ""  # a status, "open" (every status with a clock) or "" (all)
    overdue: bool = False
    patient_id: int | None = None
    specialty: str = ""
    direction: str = ""  # "outbound", "inbound" or "" (both)


@dataclass
class Row:
    referral: Referral
    due: dt.datetime | None
    overdue: bool


@dataclass
class ReferralPage:
    rows: list[Row]
    page: int
    has_next: bool


def _row(referral: Referral, now: dt.datetime, overrides: rules.Days) -> Row:
    due = rules.step_due(
        referral.status,
        referral.status_changed_at,
        referral.urgency,
        referral.appointment_at,
        overrides,
        referral.direction,
    )
    return Row(referral, due, rules.is_overdue(due, now))


def list_referrals(
    *, actor: Actor, query: ReferralQuery, overrides: rules.Days, page: int = 1, page_size: int = 50
) -> ReferralPage:
    """Referrals matching `query`, oldest step first; one REFERRAL_SEARCH audit row with the criteria and
    the referral and patient ids shown."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    now = clock.now()
    referrals = referral_queryset(actor).select_related("patient", "receiver", "practitioner")
    if query.direction:
        referrals = referrals.filter(direction=query.direction)
    if query.status == "open":
        referrals = referrals.filter(_open_condition())
    elif query.status:
        referrals = referrals.filter(status=query.status)
    if query.specialty:
        referrals = referrals.filter(specialty=query.specialty)
    if query.patient_id is not None:
        referrals = referrals.filter(patient_id=query.patient_id)
    if query.overdue:
        referrals = referrals.filter(_overdue_condition(now, overrides))
    start = (page - 1) * page_size
    with transaction.atomic():
        window = list(referrals.order_by("status_changed_at", "pk")[start : start + page_size + 1])
        shown = window[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.REFERRAL_SEARCH,
            patient_id=query.patient_id,
            detail={
                "criteria": {
                    "status": query.status,
                    "overdue": query.overdue,
                    "patient_id": query.patient_id,
                    "specialty": query.specialty,
                    "direction": query.direction,
                    "page": page,
                },
                "referral_ids": [r.pk for r in shown],
                "result_ids": sorted({r.patient_id for r in shown}),
            },
        )
    return ReferralPage([_row(r, now, overrides) for r in shown], page, len(window) > page_size)


@dataclass
class ReferralDetail:
    referral: Referral
    events: list[ReferralEvent]
    attachments: list[ReferralAttachment]
    actions: list[str]
    due: dt.datetime | None
    overdue: bool
    tasks: list[Any] = field(default_factory=list)


def get_referral(*, actor: Actor, referral_id: Any, overrides: rules.Days) -> ReferralDetail:
    """One referral with its timeline and attachments (REFERRAL_VIEW audit row naming the patient);
    ReferralNotFound when it does not exist or is another organization's."""
    pk = parse_id(referral_id)
    with transaction.atomic():
        referral = (
            None
            if pk is None
            else referral_queryset(actor)
            .select_related("patient", "receiver", "practitioner")
            .filter(pk=pk)
            .first()
        )
        if referral is None:
            raise ReferralNotFound(f"No referral with id {referral_id}.", details={"id": str(referral_id)})
        events = list(referral.events.select_related("receiver", "document"))
        attachments = list(referral.attachments.order_by("pk"))
        audit.record(
            actor=actor,
            action=AuditAction.REFERRAL_VIEW,
            patient_id=referral.patient_id,
            obj=referral,
            detail={"view": "detail"},
        )
    row = _row(referral, clock.now(), overrides)
    tasks = list(
        worklist_selectors.task_queryset(actor)
        .filter(source_type="referrals.referral", source_id=str(referral.pk))
        .order_by("-created_at")
    )
    return ReferralDetail(
        referral,
        events,
        attachments,
        rules.allowed_actions(referral.status, referral.direction),
        row.due,
        row.overdue,
        tasks,
    )


# --- the worklist rules' inputs ----------------------------------------------------------------------


def _latest(events: list[ReferralEvent], status: str) -> ReferralEvent | None:
    found = [e for e in events if e.to_status == status and e.from_status != e.to_status]
    return found[-1] if found else None


def facts_of(referral: Referral, events: list[ReferralEvent]) -> rules.ReferralFacts:
    sent, seen, declined, received = (
        _latest(events, s)
        for s in (ReferralStatus.SENT, ReferralStatus.SEEN, ReferralStatus.DECLINED, ReferralStatus.RECEIVED)
    )
    return rules.ReferralFacts(
        referral_id=referral.pk,
        patient_id=referral.patient_id,
        status=referral.status,
        urgency=referral.urgency,
        target=target_label(referral),
        last_sent_event_id=sent.pk if sent else None,
        last_sent_at=sent.at if sent else None,
        seen_event_id=seen.pk if seen else None,
        seen_at=seen.at if seen else None,
        declined_event_id=declined.pk if declined else None,
        declined_at=declined.at if declined else None,
        direction=referral.direction,
        received_event_id=received.pk if received else None,
        received_at=received.at if received else None,
    )


def rule_candidates(
    actor: Actor, now: dt.datetime, overrides: rules.Days, batch: int = 500
) -> Iterator[tuple[Referral, rules.ReferralFacts]]:
    """The open referrals a worklist rule may fire for (not-scheduled, seen, declined, inbound intake), with
    their facts.
    Only ids and timestamps are read here; the tasks the services create are audited."""
    smallest = min((rules.limit_days("not_scheduled", u, overrides) or 0) for u in Urgency.values)
    candidates = (
        referral_queryset(actor)
        .filter(
            Q(
                status__in=[ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED],
                status_changed_at__lte=now,
            )
            | Q(status__in=[ReferralStatus.SEEN, ReferralStatus.DECLINED])
        )
        .exclude(direction=ReferralDirection.INBOUND, status=ReferralStatus.DECLINED)
    )
    if smallest:
        # A referral sent within the shortest clock cannot be late yet (its last send is its step start
        # or before it).
        candidates = candidates.exclude(
            status=ReferralStatus.SENT, status_changed_at__gt=now - dt.timedelta(days=smallest)
        )
    ids = list(candidates.order_by("pk").values_list("pk", flat=True))
    for offset in range(0, len(ids), batch):
        chunk = list(Referral.objects.filter(pk__in=ids[offset : offset + batch]).select_related("receiver"))
        events: dict[int, list[ReferralEvent]] = {}
        for event in ReferralEvent.objects.filter(referral_id__in=[r.pk for r in chunk]).order_by("at", "pk"):
            events.setdefault(event.referral_id, []).append(event)
        for referral in chunk:
            yield referral, facts_of(referral, events.get(referral.pk, []))


_RULE_KEYS: dict[str, str] = {
    ReferralStatus.SENT: "not-scheduled",
    ReferralStatus.SEEN: "consult-note",
    ReferralStatus.DECLINED: "declined",
}


def rule_task_keys(referral: Referral) -> list[str]:
    """Every dedupe key a worklist rule can have used for this referral (one per send, visit and decline;
    rules.py builds them the same way). Closing tasks by these keys leaves closed tasks alone."""
    rows = ReferralEvent.objects.filter(referral=referral, to_status__in=list(_RULE_KEYS)).exclude(
        from_status=F("to_status")
    )
    keys = [
        f"referral:{referral.pk}:{_RULE_KEYS[status]}:{pk}"
        for pk, status in rows.values_list("pk", "to_status")
    ]
    if referral.is_inbound:  # the intake task: one per arrival
        arrivals = ReferralEvent.objects.filter(referral=referral, to_status=ReferralStatus.RECEIVED)
        keys += [f"referral:{referral.pk}:intake:{pk}" for pk in arrivals.values_list("pk", flat=True)]
    return keys


# --- the loop-closure report --------------------------------------------------------------------------


@dataclass
class Report:
    since: dt.date
    until: dt.date
    by_specialty: list[rules.GroupStats]
    by_receiver: list[rules.GroupStats]
    steps: list[str]
    total: rules.GroupStats
    direction: str = ReferralDirection.OUTBOUND
    by_referrer: list[rules.GroupStats] = field(default_factory=list)  # inbound only


def loop_report(
    *, actor: Actor, since: dt.date, until: dt.date, direction: str = ReferralDirection.OUTBOUND
) -> Report:
    """Referrals first sent between `since` and `until` (inclusive): loop-closure rate and median days per
    step, by specialty and by receiver. Inbound (`direction`): the referrals received in the period, by
    specialty and by referring party, timed from their arrival to the consult note sent back. Aggregates
    only; one REFERRAL_REPORT_VIEW audit row."""
    if direction not in ReferralDirection.values:
        raise ValidationFailed(f"{direction!r} is not a referral direction.", field="direction")
    inbound = direction == ReferralDirection.INBOUND
    steps = rules.steps_for(direction)
    # Days are the clinic's days (the default period ends on timezone.localdate()), not UTC's: a referral
    # sent at 8 p.m. in New York belongs to that day.
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    scope = referral_queryset(actor).filter(direction=direction)
    started_ids = (
        ReferralEvent.objects.filter(
            referral__in=scope, to_status=rules.report_start(direction), at__gte=start, at__lt=end
        )
        .values_list("referral_id", flat=True)
        .distinct()
    )
    referrals = list(
        scope.filter(pk__in=started_ids)
        .select_related("receiver")
        .only("pk", "specialty", "status", "referrer_name", "receiver__name")[:MAX_REPORT_ROWS]
    )
    events: dict[int, list[tuple[str, dt.datetime]]] = {}
    rows = (
        ReferralEvent.objects.filter(referral_id__in=[r.pk for r in referrals])
        .exclude(from_status=F("to_status"))
        .values_list("referral_id", "to_status", "at")
    )
    for referral_id, status, at in rows:
        events.setdefault(referral_id, []).append((status, at))
    outcomes = [
        rules.Outcome(
            specialty=Specialty(r.specialty).label,
            receiver=r.receiver.name if r.receiver else f"Any {Specialty(r.specialty).label}",
            status=r.status,
            days=rules.step_days(rules.milestones(events.get(r.pk, [])), steps),
            referrer=r.referrer_name,
        )
        for r in referrals
    ]
    everyone = [rules.Outcome("All", "All", o.status, o.days) for o in outcomes]
    total = rules.summarize(everyone, "specialty", steps)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.REFERRAL_REPORT_VIEW,
            detail={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "direction": direction,
                "referrals": len(referrals),
            },
        )
    return Report(
        since=since,
        until=until,
        by_specialty=rules.summarize(outcomes, "specialty", steps),
        by_receiver=[] if inbound else rules.summarize(outcomes, "receiver", steps),
        steps=[label for label, _start, _end in steps],
        total=total[0]
        if total
        else rules.GroupStats("All", medians=dict.fromkeys((label for label, _s, _e in steps), None)),
        direction=direction,
        by_referrer=rules.summarize(outcomes, "referrer", steps) if inbound else [],
    )


def referrals_of_documents(*, actor: Actor, document_ids: list[int]) -> dict[int, list[int]]:
    """Document id -> the referrals (in the actor's scope) it was sent with. Not audited: ids only, of
    documents the caller has already read through an audited selector."""
    found: dict[int, list[int]] = {}
    rows = (
        ReferralAttachment.objects.filter(document_id__in=document_ids, referral__in=referral_queryset(actor))
        .order_by("referral_id")
        .values_list("document_id", "referral_id")
    )
    for document_id, referral_id in rows:
        found.setdefault(document_id, []).append(referral_id)
    return found


def documents_of_referral(*, actor: Actor, referral_id: Any) -> list[int]:
    """The ids of the chart documents sent with a referral in the actor's scope (empty otherwise). Not
    audited: the caller reads the documents through an audited selector."""
    pk = parse_id(referral_id)
    if pk is None:
        return []
    return list(
        ReferralAttachment.objects.filter(referral_id=pk, referral__in=referral_queryset(actor))
        .order_by("document_id")
        .values_list("document_id", flat=True)
    )


def service_request_queryset(actor: Actor) -> QuerySet[Referral]:
    """Referrals as FHIR ServiceRequests (served with orders by orders.selectors): the organization's for
    a holder of REFERRAL_VIEW, a portal user's own (drafts left out). Not audited: the caller audits."""
    if actor.organization_id is None:
        return Referral.objects.none()
    if actor.is_portal:
        if not actor.has(Permission.PORTAL_OWN_RECORD):
            return Referral.objects.none()
        return Referral.objects.filter(
            organization_id=actor.organization_id, patient_id=actor.patient_id or 0
        ).exclude(status=ReferralStatus.DRAFT)
    return referral_queryset(actor)


def upcoming_appointments(
    *, actor: Actor, patient_id: int, now: dt.datetime | None = None
) -> list[tuple[int, str]]:
    """The patient's booked appointments from `now` on, soonest first, as (id, label) for the scheduled
    step's form (empty when the actor may not see the schedule). Not audited: the page that shows them
    writes the row naming the patient."""
    now = now or clock.now()
    upcoming: list[tuple[int, str]] = []
    for appointment_id, label in ports.appointment_choices(actor=actor, patient_id=patient_id):
        found = ports.find_appointment(actor=actor, appointment_id=appointment_id)
        if found is None:
            continue
        if found.starts_at < now:
            break  # latest first: the rest are past
        if found.status in rules.BOOKED_APPOINTMENT_STATUSES:
            upcoming.append((appointment_id, label))
    return upcoming[::-1]
