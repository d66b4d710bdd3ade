"""Read queries of transitions of care, restricted to the actor's organization, audited where they show
patients: encounter lists and the TCM compliance report write ENCOUNTER_SEARCH (the ids shown), an
encounter ENCOUNTER_VIEW, the message log HL7_MESSAGE_SEARCH / HL7_MESSAGE_VIEW.

Encounters and the report need ENCOUNTER_VIEW, the message log INTERFACE_MESSAGE_VIEW. Anything outside
the scope answers NotFound, exactly like something that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q, QuerySet

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.education import selectors as education_selectors
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.scheduling import selectors as scheduling_selectors
from caredesk.scheduling.choices import AppointmentStatus
from caredesk.worklist import selectors as worklist_selectors
from caredesk.worklist.choices import TaskStatus

from . import clock, ports, rules
from .choices import ChecklistItemCode, ChecklistStatus, EncounterStatus, MessageStatus, Outcome, TcmStatus
from .errors import EncounterNotFound, EncounterNotLinked, EpisodeNotFound, MessageNotFound
from .models import ChecklistItem, Encounter, EncounterEvent, InboundMessage, TcmEpisode, TransferPackage

MAX_PAGE_SIZE = 200
TCM_ELEMENTS = ("contact", "visit", "med_rec")


def parse_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


# ---------------------------------------------------------------------------------------------------
# Configuration: the organization's clock and calendar
# ---------------------------------------------------------------------------------------------------


def organization_zone(organization_id: int | None) -> ZoneInfo:
    """The organization's time zone (its first location's), else the installation's."""
    name = (
        Location.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("timezone", flat=True)
        .first()
        if organization_id is not None
        else None
    )
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def holiday_calendar() -> rules.HolidayCalendar:
    """The business-day calendar from the settings (CAREDESK_HOLIDAY_CALENDAR, CAREDESK_HOLIDAYS)."""
    name = settings.CAREDESK_HOLIDAY_CALENDAR
    if name not in ("us-federal", "none"):
        raise ImproperlyConfigured(f"CAREDESK_HOLIDAY_CALENDAR must be us-federal or none, not {name!r}")
    try:
        extra = frozenset(dt.date.fromisoformat(day) for day in settings.CAREDESK_HOLIDAYS)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CAREDESK_HOLIDAYS holds a day that is not YYYY-MM-DD: {exc}") from exc
    return rules.HolidayCalendar(calendar=name, extra=extra)


# ---------------------------------------------------------------------------------------------------
# Encounters
# ---------------------------------------------------------------------------------------------------


def encounter_queryset(actor: Actor) -> QuerySet[Encounter]:
    if actor.organization_id is None or not actor.has(Permission.ENCOUNTER_VIEW):
        return Encounter.objects.none()
    return Encounter.objects.filter(organization_id=actor.organization_id)


@dataclass
class EncounterPage:
    encounters: list[Encounter]
    page: int
    has_next: bool


def list_encounters(
    *, actor: Actor, status: str = "", unmatched_only: bool = False, page: int = 1, page_size: int = 50
) -> EncounterPage:
    """Encounters, latest first; `unmatched_only`: those still waiting for a patient."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    encounters = encounter_queryset(actor)
    if status in EncounterStatus.values:
        encounters = encounters.filter(status=status)
    if unmatched_only:
        encounters = encounters.filter(patient__isnull=True)
    offset = (page - 1) * page_size
    with transaction.atomic():
        rows = list(
            encounters.select_related("patient").order_by("-updated_at", "-id")[
                offset : offset + page_size + 1
            ]
        )
        shown = rows[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_SEARCH,
            object_type="transitions.encounter",
            detail={
                "criteria": {"status": status, "unmatched_only": unmatched_only},
                "page": page,
                "encounter_ids": [e.pk for e in shown],
                "result_ids": sorted({e.patient_id for e in shown if e.patient_id is not None}),
            },
        )
    return EncounterPage(encounters=shown, page=page, has_next=len(rows) > page_size)


def _readable_encounters(actor: Actor) -> QuerySet[Encounter]:
    """Staff with ENCOUNTER_VIEW: the organization's encounters; a portal user: the encounters matched to
    their own record. Not audited."""
    if actor.organization_id is not None and actor.is_portal and actor.has(Permission.PORTAL_OWN_RECORD):
        return Encounter.objects.filter(
            organization_id=actor.organization_id, patient_id=actor.patient_id or 0
        )
    if actor.is_portal:
        return Encounter.objects.none()
    return encounter_queryset(actor)


@dataclass(frozen=True)
class EncounterSearch:
    """Criteria of an encounter search (FHIR). `overlaps_from` / `overlaps_to`: the stay's period (admit
    to discharge, open while in progress) touches [from, to)."""

    patient_id: int | None = None
    statuses: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    overlaps_from: dt.datetime | None = None
    overlaps_to: dt.datetime | None = None
    encounter_id: int | None = None


def read_encounter(*, actor: Actor, encounter_id: Any) -> Encounter:
    """One encounter (a portal user: one of their own), audited ENCOUNTER_VIEW; EncounterNotFound outside
    the scope."""
    pk = parse_id(encounter_id)
    with transaction.atomic():
        encounter = None if pk is None else _readable_encounters(actor).filter(pk=pk).first()
        if encounter is None:
            raise EncounterNotFound(
                f"No encounter with id {encounter_id}.", details={"id": str(encounter_id)}
            )
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_VIEW,
            patient_id=encounter.patient_id,
            obj=encounter,
            detail={"view": "fhir"},
        )
    return encounter


def search_encounters(
    *, actor: Actor, search: EncounterSearch, page: int = 1, page_size: int = 20
) -> tuple[list[Encounter], bool]:
    """Encounters matching `search`, latest admission first, a page at a time (and whether more follow);
    one ENCOUNTER_SEARCH audit row with the criteria and the ids shown."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    encounters = _readable_encounters(actor)
    if search.patient_id is not None:
        encounters = encounters.filter(patient_id=search.patient_id)
    if search.encounter_id is not None:
        encounters = encounters.filter(pk=search.encounter_id)
    if search.statuses:
        encounters = encounters.filter(status__in=search.statuses)
    if search.classes:
        encounters = encounters.filter(encounter_class__in=search.classes)
    if search.overlaps_to is not None:
        encounters = encounters.filter(Q(admit_at__lt=search.overlaps_to) | Q(admit_at__isnull=True))
    if search.overlaps_from is not None:
        encounters = encounters.filter(
            Q(discharge_at__gte=search.overlaps_from)
            | Q(discharge_at__isnull=True, status=EncounterStatus.IN_PROGRESS)
        )
    offset = (page - 1) * page_size
    with transaction.atomic():
        rows = list(
            encounters.order_by(F("admit_at").desc(nulls_last=True), "-id")[offset : offset + page_size + 1]
        )
        shown = rows[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_SEARCH,
            patient_id=search.patient_id if search.patient_id in {e.patient_id for e in shown} else None,
            object_type="transitions.encounter",
            detail={
                "criteria": {
                    "patient_id": search.patient_id,
                    "statuses": list(search.statuses),
                    "classes": list(search.classes),
                    "from": search.overlaps_from.isoformat() if search.overlaps_from else None,
                    "to": search.overlaps_to.isoformat() if search.overlaps_to else None,
                    "id": search.encounter_id,
                },
                "page": page,
                "encounter_ids": [e.pk for e in shown],
                "result_ids": sorted({e.patient_id for e in shown if e.patient_id is not None}),
            },
        )
    return shown, len(rows) > page_size


def patient_encounters(
    *, actor: Actor, patient_id: Any, page: int = 1, page_size: int = 20
) -> tuple[list[Encounter], bool]:
    """One patient's encounters, latest admission first (a portal user: only their own record), and
    whether more follow. PatientNotFound for a patient outside the actor's scope. One ENCOUNTER_SEARCH
    audit row naming the patient (even when the list is empty: it still says something about them)."""
    pk = parse_id(patient_id)
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = (page - 1) * page_size
    with transaction.atomic():
        if pk is None or not patient_selectors.patient_queryset(actor).filter(pk=pk).exists():
            raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
        rows = list(
            _readable_encounters(actor)
            .filter(patient_id=pk)
            .order_by(F("admit_at").desc(nulls_last=True), "-id")[offset : offset + page_size + 1]
        )
        shown = rows[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_SEARCH,
            patient_id=pk,
            object_type="transitions.encounter",
            detail={
                "criteria": {"patient_id": pk},
                "page": page,
                "encounter_ids": [e.pk for e in shown],
                "result_ids": [pk] if shown else [],
            },
        )
    return shown, len(rows) > page_size


@dataclass
class ElementStatus:
    due: dt.date
    outcome: str
    done_on: dt.date | None = None
    task_id: int | None = None
    attempts: int = 0
    appointment_id: int | None = None  # the fulfilled appointment that completed the visit
    communication_id: int | None = None  # the logged contact that completed the contact


@dataclass
class EpisodeCompliance:
    episode: TcmEpisode
    contact: ElementStatus
    visit: ElementStatus
    med_rec: ElementStatus

    @property
    def compliant(self) -> bool | None:
        """True when contact and visit were on time, False when either was missed or late, None while
        something is still pending (or the episode was cancelled)."""
        if self.episode.status == TcmStatus.CANCELLED:
            return None
        on_time = {Outcome.MET, Outcome.MET_BY_ATTEMPTS}
        elements = (self.contact.outcome, self.visit.outcome)
        if any(o in (Outcome.LATE, Outcome.MISSED) for o in elements):
            return False
        return True if all(o in on_time for o in elements) else None


def _done_on(outcome: worklist_selectors.TaskOutcome | None, zone: ZoneInfo) -> dt.date | None:
    if outcome is None or outcome.status != TaskStatus.DONE or outcome.closed_at is None:
        return None
    return outcome.closed_at.astimezone(zone).date()


def _compliance(
    episode: TcmEpisode, outcomes: dict[str, worklist_selectors.TaskOutcome], zone: ZoneInfo, today: dt.date
) -> EpisodeCompliance:
    contact = outcomes.get(episode.task_key("contact"))
    visit = outcomes.get(episode.task_key("visit"))
    med_rec = outcomes.get(episode.task_key("med_rec"))
    contact_done, visit_done, med_rec_done = (_done_on(o, zone) for o in (contact, visit, med_rec))
    # A step completed by a logged contact or a fulfilled visit counts from the day it happened.
    contact_done = episode.contact_on or contact_done
    visit_done = episode.visit_on or visit_done
    attempt_days = [moment.astimezone(zone).date() for moment in (contact.attempt_times if contact else ())]
    med_rec_due = rules.med_reconciliation_due(episode.visit_due, visit_done)
    cancelled = episode.status == TcmStatus.CANCELLED

    def status(
        due: dt.date, outcome: str, done: dt.date | None, task: Any, attempts: int = 0
    ) -> ElementStatus:
        return ElementStatus(
            due=due,
            outcome=Outcome.CANCELLED if cancelled else outcome,
            done_on=done,
            task_id=task.task_id if task else None,
            attempts=attempts,
        )

    compliance = EpisodeCompliance(
        episode=episode,
        contact=status(
            episode.contact_due,
            rules.contact_outcome(episode.contact_due, today, contact_done, attempt_days),
            contact_done,
            contact,
            len(attempt_days),
        ),
        visit=status(
            episode.visit_due, rules.deadline_outcome(episode.visit_due, today, visit_done), visit_done, visit
        ),
        med_rec=status(
            med_rec_due, rules.deadline_outcome(med_rec_due, today, med_rec_done), med_rec_done, med_rec
        ),
    )
    compliance.contact.communication_id = episode.contact_communication_id
    compliance.visit.appointment_id = episode.visit_appointment_id
    return compliance


def compliance_of(actor: Actor, episodes: list[TcmEpisode]) -> list[EpisodeCompliance]:
    """Where each episode's contact, visit and medication reconciliation stand (not audited: the caller's
    selector is)."""
    zone = organization_zone(actor.organization_id)
    today = clock.now().astimezone(zone).date()
    keys = [episode.task_key(element) for episode in episodes for element in TCM_ELEMENTS]
    outcomes = worklist_selectors.task_outcomes(actor=actor, dedupe_keys=keys)
    return [_compliance(episode, outcomes, zone, today) for episode in episodes]


@dataclass
class EncounterDetail:
    encounter: Encounter
    events: list[EncounterEvent]
    episodes: list[EpisodeCompliance]
    messages: list[InboundMessage] = field(default_factory=list)


def get_encounter(*, actor: Actor, encounter_id: int) -> EncounterDetail:
    pk = parse_id(encounter_id)
    with transaction.atomic():
        encounter = (
            None if pk is None else encounter_queryset(actor).select_related("patient").filter(pk=pk).first()
        )
        if encounter is None:
            raise EncounterNotFound(
                f"No encounter with id {encounter_id}.", details={"id": str(encounter_id)}
            )
        events = list(encounter.events.all())
        episodes = list(encounter.tcm_episodes.order_by("-created_at", "-id"))
        messages = list(
            encounter.messages.order_by("-received_at", "-id").only(
                "pk", "received_at", "message_type", "control_id", "status", "ack_code", "organization_id"
            )[:50]
        )
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_VIEW,
            patient_id=encounter.patient_id,
            obj=encounter,
            detail={"matched": encounter.patient_id is not None},
        )
    return EncounterDetail(encounter, events, compliance_of(actor, episodes), messages)


def episode_encounter_id(*, actor: Actor, episode_id: int) -> int:
    """The encounter a TCM episode belongs to (not audited: it shows nothing); EpisodeNotFound outside
    the scope."""
    pk = parse_id(episode_id)
    found = (
        None
        if pk is None or actor.organization_id is None or not actor.has(Permission.ENCOUNTER_VIEW)
        else TcmEpisode.objects.filter(organization_id=actor.organization_id, pk=pk)
        .values_list("encounter_id", flat=True)
        .first()
    )
    if found is None:
        raise EpisodeNotFound(f"No TCM episode with id {episode_id}.")
    return found


def get_tcm_episode(*, actor: Actor, episode_id: Any) -> EpisodeCompliance:
    """One TCM episode with its deadlines and where its contact, visit and medication reconciliation
    stand (and the worklist tasks that carry them). ENCOUNTER_VIEW audit row naming the patient;
    EpisodeNotFound outside the scope."""
    pk = parse_id(episode_id)
    with transaction.atomic():
        episode = (
            None
            if pk is None or actor.organization_id is None or not actor.has(Permission.ENCOUNTER_VIEW)
            else TcmEpisode.objects.filter(organization_id=actor.organization_id, pk=pk)
            .select_related("patient", "encounter")
            .first()
        )
        if episode is None:
            raise EpisodeNotFound(f"No TCM episode with id {episode_id}.", details={"id": str(episode_id)})
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_VIEW,
            patient_id=episode.patient_id,
            obj=episode,
            detail={"encounter_id": episode.encounter_id},
        )
    return compliance_of(actor, [episode])[0]


# ---------------------------------------------------------------------------------------------------
# The TCM compliance report
# ---------------------------------------------------------------------------------------------------


@dataclass
class ComplianceReport:
    rows: list[EpisodeCompliance]
    discharged_from: dt.date
    discharged_to: dt.date
    total: int
    on_time: int
    not_on_time: int
    pending: int


def tcm_compliance(
    *, actor: Actor, discharged_from: dt.date, discharged_to: dt.date, include_cancelled: bool = False
) -> ComplianceReport:
    """Per discharge in the period: was the contact made on time, the visit on time, medications
    reconciled by the visit. One ENCOUNTER_SEARCH audit row with the patient ids shown."""
    episodes = TcmEpisode.objects.none()
    if actor.organization_id is not None and actor.has(Permission.ENCOUNTER_VIEW):
        episodes = TcmEpisode.objects.filter(
            organization_id=actor.organization_id,
            discharge_date__gte=discharged_from,
            discharge_date__lte=discharged_to,
        )
    if not include_cancelled:
        episodes = episodes.filter(status=TcmStatus.ACTIVE)
    with transaction.atomic():
        found = list(
            episodes.select_related("patient", "encounter").order_by("-discharge_date", "-id")[:1000]
        )
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_SEARCH,
            object_type="transitions.tcmepisode",
            detail={
                "report": "tcm_compliance",
                "criteria": {
                    "discharged_from": discharged_from.isoformat(),
                    "discharged_to": discharged_to.isoformat(),
                    "include_cancelled": include_cancelled,
                },
                "episode_ids": [e.pk for e in found],
                "result_ids": sorted({e.patient_id for e in found}),
            },
        )
    rows = compliance_of(actor, found)
    return ComplianceReport(
        rows=rows,
        discharged_from=discharged_from,
        discharged_to=discharged_to,
        total=len(rows),
        on_time=sum(1 for r in rows if r.compliant is True),
        not_on_time=sum(1 for r in rows if r.compliant is False),
        pending=sum(1 for r in rows if r.compliant is None and r.episode.status == TcmStatus.ACTIVE),
    )


# ---------------------------------------------------------------------------------------------------
# The inbound message log
# ---------------------------------------------------------------------------------------------------


def message_queryset(actor: Actor) -> QuerySet[InboundMessage]:
    if actor.organization_id is None or not actor.has(Permission.INTERFACE_MESSAGE_VIEW):
        return InboundMessage.objects.none()
    return InboundMessage.objects.filter(organization_id=actor.organization_id)


@dataclass
class MessagePage:
    messages: list[InboundMessage]
    page: int
    has_next: bool


def list_messages(*, actor: Actor, status: str = "", page: int = 1, page_size: int = 50) -> MessagePage:
    """The message log, newest first (without the raw text); `status` narrows to applied/rejected/error."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    messages = message_queryset(actor).defer("raw")
    if status in MessageStatus.values:
        messages = messages.filter(status=status)
    offset = (page - 1) * page_size
    with transaction.atomic():
        rows = list(
            messages.select_related("patient").order_by("-received_at", "-id")[
                offset : offset + page_size + 1
            ]
        )
        shown = rows[:page_size]
        audit.record(
            actor=actor,
            action=AuditAction.HL7_MESSAGE_SEARCH,
            object_type="transitions.inboundmessage",
            detail={
                "criteria": {"status": status},
                "page": page,
                "message_ids": [m.pk for m in shown],
                "result_ids": sorted({m.patient_id for m in shown if m.patient_id is not None}),
            },
        )
    return MessagePage(messages=shown, page=page, has_next=len(rows) > page_size)


def get_message(*, actor: Actor, message_id: int) -> InboundMessage:
    """One message with its raw text (which names the patient, matched or not): HL7_MESSAGE_VIEW."""
    pk = parse_id(message_id)
    with transaction.atomic():
        message = (
            None if pk is None else message_queryset(actor).select_related("patient").filter(pk=pk).first()
        )
        if message is None:
            raise MessageNotFound(f"No message with id {message_id}.", details={"id": str(message_id)})
        audit.record(
            actor=actor,
            action=AuditAction.HL7_MESSAGE_VIEW,
            patient_id=message.patient_id,
            obj=message,
            detail={"control_id": message.control_id},
        )
    return message


# ---------------------------------------------------------------------------------------------------
# Discharge planning: the checklist and the transfer summary
# ---------------------------------------------------------------------------------------------------

MAX_RECENT_ENCOUNTERS = 10
_NOT_HAPPENING = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


def care_starts(encounter: Encounter) -> dt.datetime:
    """From when follow-up and education count for this stay: the discharge, else the admission."""
    return encounter.discharge_at or encounter.admit_at or encounter.created_at


def follow_up_appointments(actor: Actor, encounter: Encounter) -> list[Any]:
    """The patient's appointments from the discharge on (not cancelled or missed), soonest first; empty
    without SCHEDULE_VIEW. The scheduling selector writes its APPOINTMENT_SEARCH audit row."""
    if encounter.patient_id is None or not actor.has(Permission.SCHEDULE_VIEW):
        return []
    since = care_starts(encounter)
    rows = scheduling_selectors.patient_appointments(actor=actor, patient_id=encounter.patient_id)
    return sorted(
        (a for a in rows if a.starts_at >= since and a.status not in _NOT_HAPPENING),
        key=lambda a: (a.starts_at, a.pk),
    )


@dataclass
class ChecklistRow:
    code: str
    label: str
    item: ChecklistItem | None

    @property
    def status(self) -> str:
        return self.item.status if self.item is not None else ChecklistStatus.OPEN

    @property
    def status_label(self) -> str:
        return ChecklistStatus(self.status).label

    @property
    def decided(self) -> bool:
        return self.status != ChecklistStatus.OPEN


@dataclass
class DischargeChecklist:
    encounter: Encounter
    applies: bool
    rows: list[ChecklistRow] = field(default_factory=list)
    appointments: list[Any] = field(default_factory=list)
    deliveries: list[education_selectors.DeliveredMaterial] = field(default_factory=list)
    packages: list[TransferPackage] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return rules.checklist_progress((r.status for r in self.rows), len(self.rows))[0]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def percent(self) -> int:
        return round(100 * self.decided / self.total) if self.total else 0


def discharge_checklist(*, actor: Actor, encounter: Encounter) -> DischargeChecklist:
    """The checklist of an encounter the caller has already read (and audited) in the actor's scope, with
    what its items can point at: follow-up appointments, education delivered since the stay, records
    packages produced. The scheduling and education reads write their own audit rows."""
    has_tcm = encounter.tcm_episodes.filter(status=TcmStatus.ACTIVE).exists()
    applies = rules.checklist_applies(
        encounter_class=encounter.encounter_class,
        status=encounter.status,
        has_patient=encounter.patient_id is not None,
        has_tcm=has_tcm,
    )
    checklist = DischargeChecklist(encounter=encounter, applies=applies)
    if not applies or encounter.patient_id is None:
        return checklist
    items = {
        i.item: i for i in encounter.checklist_items.select_related("appointment", "package").order_by("pk")
    }
    checklist.rows = [
        ChecklistRow(code, str(label), items.get(code)) for code, label in ChecklistItemCode.choices
    ]
    checklist.appointments = follow_up_appointments(actor, encounter)
    checklist.deliveries = education_selectors.deliveries_since(
        actor=actor, patient_id=encounter.patient_id, since=encounter.admit_at or care_starts(encounter)
    )
    checklist.packages = list(encounter.transfer_packages.order_by("-created_at", "-pk")[:20])
    return checklist


def get_discharge_checklist(*, actor: Actor, encounter_id: int) -> DischargeChecklist:
    """An encounter's checklist by id: ENCOUNTER_VIEW audit row, EncounterNotFound outside the scope."""
    pk = parse_id(encounter_id)
    with transaction.atomic():
        encounter = None if pk is None else encounter_queryset(actor).filter(pk=pk).first()
        if encounter is None:
            raise EncounterNotFound(
                f"No encounter with id {encounter_id}.", details={"id": str(encounter_id)}
            )
        audit.record(
            actor=actor,
            action=AuditAction.ENCOUNTER_VIEW,
            patient_id=encounter.patient_id,
            obj=encounter,
            detail={"view": "discharge_checklist"},
        )
    return discharge_checklist(actor=actor, encounter=encounter)


@dataclass
class TransferSummary:
    """What goes to the next provider: the patient's problems, medications and allergies, this stay and
    the recent ones, the care plans, follow-up appointments, education given and the checklist."""

    encounter: Encounter
    chart: patient_selectors.Chart
    encounters: list[Encounter]
    follow_ups: list[Any]
    care_plans: list[ports.PlanSummary]
    deliveries: list[education_selectors.DeliveredMaterial]
    checklist: list[ChecklistRow]
    produced_at: dt.datetime

    @property
    def patient(self) -> Any:
        return self.chart.patient


def transfer_summary(*, actor: Actor, encounter_id: int, with_care_plans: bool = True) -> TransferSummary:
    """The records-transfer summary of a linked encounter: one TRANSFER_SUMMARY_VIEW audit row with the
    patient (the chart, appointment, education and care-plan reads write their own). EncounterNotFound
    outside the scope; EncounterNotLinked while the visit waits for its patient. `with_care_plans=False`
    leaves the care plans out (the FHIR document reads them itself)."""
    pk = parse_id(encounter_id)
    with transaction.atomic():
        encounter = None if pk is None else encounter_queryset(actor).filter(pk=pk).first()
        if encounter is None:
            raise EncounterNotFound(
                f"No encounter with id {encounter_id}.", details={"id": str(encounter_id)}
            )
        if encounter.patient_id is None:
            raise EncounterNotLinked("This visit is not linked to a patient yet; link it first.")
        patient_id = encounter.patient_id
        chart = patient_selectors.get_chart(actor=actor, patient_id=patient_id)
        encounters = list(
            encounter_queryset(actor)
            .filter(patient_id=patient_id)
            .exclude(status=EncounterStatus.CANCELLED)
            .order_by("-admit_at", "-pk")[:MAX_RECENT_ENCOUNTERS]
        )
        items = {i.item: i for i in encounter.checklist_items.select_related("appointment", "package")}
        audit.record(
            actor=actor,
            action=AuditAction.TRANSFER_SUMMARY_VIEW,
            patient_id=patient_id,
            obj=encounter,
            detail={"encounter_ids": [e.pk for e in encounters]},
        )
    return TransferSummary(
        encounter=encounter,
        chart=chart,
        encounters=encounters,
        follow_ups=follow_up_appointments(actor, encounter),
        care_plans=ports.care_plan_summaries(actor=actor, patient_id=patient_id) if with_care_plans else [],
        deliveries=education_selectors.deliveries_since(
            actor=actor, patient_id=patient_id, since=encounter.admit_at or care_starts(encounter)
        ),
        checklist=[
            ChecklistRow(code, str(label), items.get(code)) for code, label in ChecklistItemCode.choices
        ],
        produced_at=clock.now(),
    )
