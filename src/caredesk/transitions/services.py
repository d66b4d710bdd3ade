"""Transitions-of-care use cases: receiving ADT messages (store and apply, a batch in one transaction),
linking an unmatched encounter to a patient, the TCM complexity of a discharge, and the patient-merge hook.

CONTRACT: `interop.hl7` calls `feed_actor` once per listener and `receive_messages` with the messages
waiting on its connections (`receive_message` for one), then sends the acknowledgements the returned
Receipts describe: `receive_messages` has committed by then, so an acknowledged message is durable. A
repeated control id (per sender) is answered as it was the first time and never applied twice: the
database's unique constraint decides, even between concurrent connections. A message that fails while
applied is kept with its reason and applies nothing, and the rest of its batch is applied without it.
There is one way to apply a message: alone, it is a batch of one.

Applying a batch reads once what its messages look up one by one (patients by our MRN, visits with a row
lock, their active TCM episodes) and writes what they append with one insert per table at the end
(messages, new visits, timeline events, TCM tasks, audit rows); a message that needs an id sooner (a
review task names its visit) has its row inserted then. Messages about the same visit see each other's
changes in order, as they would one transaction after the other.

Applying an event: the patient is matched by identifier (our MRN, an identifier learnt before, a
registered identifier of the assigning authority), then by demographics (exactly one registered patient
with the same birth date and name); an unmatched encounter is kept without a patient and a review task
goes onto the worklist. A discharge (A03) of an inpatient to a community setting starts Transitional Care
Management: contact, visit and medication-reconciliation tasks with their deadlines (rules.tcm_deadlines);
A11 (cancel admit) and A13 (cancel discharge) cancel them again. A40 (merge) moves the hospital identifier
and asks a person to merge our records when both are registered here (merging charts is not automatic).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, OperationalError, models, transaction
from django.db.models import F

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import DomainError, Forbidden, ValidationFailed
from caredesk.core.keyed import rows_by_keys
from caredesk.core.text import name_key
from caredesk.messaging.hooks import LoggedCommunication
from caredesk.patients import selectors as patient_selectors
from caredesk.patients import services as patient_services
from caredesk.patients.choices import PatientStatus
from caredesk.patients.schemas import PatientInput, PatientQuery
from caredesk.scheduling import selectors as scheduling_selectors
from caredesk.scheduling.hooks import FulfilledVisit
from caredesk.worklist import selectors as worklist_selectors
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType

from . import clock, rules, selectors
from .choices import (
    SUPPORTED_TRIGGERS,
    AckCode,
    ChecklistItemCode,
    ChecklistStatus,
    EncounterStatus,
    MessageStatus,
    TcmComplexity,
    TcmStatus,
)
from .errors import (
    AlreadyLinked,
    ChecklistItemNotFound,
    EncounterNotFound,
    EncounterNotLinked,
    EpisodeNotFound,
    InvalidEvent,
    PackageNotFound,
)
from .models import (
    ChecklistItem,
    Encounter,
    EncounterEvent,
    ExternalPatientLink,
    InboundMessage,
    TcmEpisode,
    TransferPackage,
)
from .schemas import (
    AdtEvent,
    ExternalId,
    IncomingMessage,
    MessageHeader,
    PersonData,
    Receipt,
    Rejection,
    VisitData,
)

logger = logging.getLogger(__name__)

#: What a feed may do: find and read patients, update their address (A08), put tasks on the worklist,
#: keep encounters.
FEED_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.PATIENT_SEARCH,
        Permission.PATIENT_VIEW,
        Permission.PATIENT_EDIT,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
        Permission.ENCOUNTER_VIEW,
        Permission.ENCOUNTER_MANAGE,
    )
)
SOURCE_TYPE = "transitions.encounter"
MAX_ERROR_TEXT = 500
_DEMOGRAPHIC_UPDATES = ("address_line1", "address_line2", "city", "state", "postal_code", "country")


def feed_actor(*, organization_id: int, feed: str = "hl7") -> Actor:
    """The actor an inbound feed acts as (channel `hl7`): FEED_PERMISSIONS in one organization."""
    return system_actor(
        organization_id=organization_id, permissions=FEED_PERMISSIONS, channel="hl7", username=f"{feed}-feed"
    )


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can work with its encounters.")
    return actor.organization_id


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------------
# Receiving a message
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedOrganization:
    """What applying a message needs to know about the receiving organization: its short code (our MRNs)
    and time zone. A listener reads it once (`feed_organization`) and passes it to every
    `receive_message`, so a message does not look them up again."""

    organization_id: int
    short_code: str
    zone: ZoneInfo


def feed_organization(organization_id: int) -> FeedOrganization:
    short_code = Organization.objects.values_list("short_code", flat=True).get(pk=organization_id)
    return FeedOrganization(organization_id, short_code.upper(), selectors.organization_zone(organization_id))


class _Writes:
    """Rows that only get appended while messages are applied (timeline events, audit rows, the TCM
    worklist tasks), written with one insert each at the end of the transaction. A message of a batch
    writes through its own view (`for_actor`: its audit rows carry its request id) into the batch's lists.
    """

    def __init__(self, actor: Actor, shared: _Writes | None = None) -> None:
        self.actor = actor
        self.events: list[EncounterEvent] = shared.events if shared is not None else []
        self.audits: list[_PendingAudit] = shared.audits if shared is not None else []
        self.tasks: list[tuple[str, Callable[[], list[worklist.NewTask]]]] = (
            shared.tasks if shared is not None else []
        )
        self.episodes: list[TcmEpisode] = shared.episodes if shared is not None else []

    def for_actor(self, actor: Actor) -> _Writes:
        return _Writes(actor, shared=self)

    def event(
        self,
        encounter: Encounter,
        kind: str,
        summary: str,
        moment: dt.datetime,
        message: InboundMessage | None = None,
    ) -> None:
        self.events.append(
            EncounterEvent(
                encounter=encounter, message=message, event_type=kind, occurred_at=moment, summary=summary
            )
        )

    def audit(
        self,
        action: AuditAction,
        *,
        patient_id: int | None = None,
        obj: models.Model | None = None,
        object_type: str = "",
        detail: dict[str, Any] | None = None,
        message: InboundMessage | None = None,
    ) -> None:
        """An audit row, built when written (`obj` and `message` may get their ids only then); with
        `message` its detail names the message's id (`message_id`)."""
        self.audits.append(_PendingAudit(self.actor, action, patient_id, obj, object_type, detail, message))

    def tasks_of(self, build: Callable[[], list[worklist.NewTask]]) -> None:
        """Tasks to put on the worklist, built when written (they may name rows that get their ids then)."""
        self.tasks.append((self.actor.request_id, build))

    def episode(self, episode: TcmEpisode) -> None:
        """A new TCM episode, inserted with the others before the tasks (`flush_tasks`)."""
        self.episodes.append(episode)

    def flush_tasks(self) -> None:
        """Store the waiting TCM episodes and put the waiting tasks on the worklist now (before anything
        reads or changes them)."""
        if self.episodes:
            TcmEpisode.objects.bulk_create(list(self.episodes))
            self.episodes.clear()
        if self.tasks:
            pending = [(request_id, task) for request_id, build in self.tasks for task in build()]
            self.tasks.clear()
            worklist.create_tasks(
                actor=self.actor,
                data=[task for _, task in pending],
                request_ids=[request_id for request_id, _ in pending],
            )

    def flush(self) -> None:
        self.flush_tasks()
        if self.events:
            EncounterEvent.objects.bulk_create(list(self.events))
            self.events.clear()
        if self.audits:
            audit.record_many(pending.build() for pending in self.audits)
            self.audits.clear()


@dataclass(frozen=True)
class _PendingAudit:
    actor: Actor
    action: AuditAction
    patient_id: int | None
    obj: models.Model | None
    object_type: str
    detail: dict[str, Any] | None
    message: InboundMessage | None

    def build(self) -> AuditEvent:
        detail = self.detail
        if self.message is not None:
            detail = {**(detail or {}), "message_id": self.message.pk}
        return audit.build(
            actor=self.actor,
            action=self.action,
            patient_id=self.patient_id,
            obj=self.obj,
            object_type=self.object_type,
            detail=detail,
        )


#: One of our MRNs -> (patient id, status, merged into), or None when no patient has it.
_PatientRow = tuple[int, str, int | None] | None


@dataclass
class _Batch:
    """What the messages applied in one transaction share: the rows still to insert, and what was read
    for all of them at once (patients by our MRN; encounters by visit, locked; their active TCM episodes,
    locked). A message finds its rows here first; what it creates is added, so the next message of the
    batch sees it as it would one transaction later."""

    organization: FeedOrganization
    writes: _Writes
    patients: dict[str, _PatientRow] = field(default_factory=dict)
    encounters: dict[tuple[str, str], Encounter | None] = field(default_factory=dict)
    episodes: dict[int, list[TcmEpisode]] = field(default_factory=dict)
    #: Visits created by the batch's messages and not stored yet: stored with one insert at the end, or
    #: as soon as something needs their id (`stored`).
    new_encounters: list[Encounter] = field(default_factory=list)

    def stored(self, encounter: Encounter) -> Encounter:
        """The encounter with its id (a new one is inserted now)."""
        if encounter.pk is None:
            encounter.save(force_insert=True)
            self.new_encounters.remove(encounter)
            self.episodes[encounter.pk] = []  # a new visit has no TCM episode yet
        return encounter

    def store_encounters(self) -> None:
        if self.new_encounters:
            Encounter.objects.bulk_create(list(self.new_encounters))
            self.episodes |= {encounter.pk: [] for encounter in self.new_encounters}
            self.new_encounters.clear()


@dataclass
class _Context:
    """One message being applied: who, which, where, and what came of it."""

    actor: Actor
    message: InboundMessage
    event: AdtEvent
    organization: FeedOrganization
    writes: _Writes
    batch: _Batch | None = None
    warnings: list[str] = field(default_factory=list)
    patient_id: int | None = None
    encounter: Encounter | None = None

    @property
    def zone(self) -> ZoneInfo:
        return self.organization.zone

    @property
    def trigger(self) -> str:
        return self.event.header.trigger

    @property
    def organization_id(self) -> int:
        return self.message.organization_id

    def stored_message(self) -> InboundMessage:
        """The message with its id: stored now when the batch has not stored it yet (it stores the others
        at the end, with what applying them found)."""
        if self.message.pk is None:
            self.message.save(force_insert=True)
        return self.message

    def moment(self, *candidates: dt.datetime | None) -> dt.datetime:
        """The first time given, else when the event happened, else when the message was sent/received."""
        for value in (*candidates, self.event.event_at, self.event.header.sent_at):
            if value is not None:
                return value
        return self.message.received_at


class _NotApplied(Exception):
    """Applying failed: the transaction is rolled back and the message stored with this outcome."""

    def __init__(self, rejection: Rejection, index: int = 0) -> None:
        super().__init__(rejection.text)
        self.rejection = rejection
        self.index = index


#: A race (two connections creating the same encounter, task or control id at once) ends the transaction
#: with an IntegrityError (or a deadlock); it is run again, and then finds what the other one wrote.
_ATTEMPTS = 3
#: A batch in which this many messages failed one after the other is finished one message at a time.
_FAILED_PASSES = 3
_INTERNAL_ERROR = "Application internal error; the message is kept for review."
_RETRIED_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected (PostgreSQL)


def receive_message(
    *,
    actor: Actor,
    header: MessageHeader,
    raw: str,
    event: AdtEvent | None = None,
    rejection: Rejection | None = None,
    organization: FeedOrganization | None = None,
) -> Receipt:
    """Store an inbound message and, when it could be read (`event`), apply it, in one transaction that has
    committed when this returns: `receive_messages` with one message."""
    incoming = IncomingMessage(header=header, raw=raw, event=event, rejection=rejection)
    return receive_messages(actor=actor, messages=[incoming], organization=organization)[0]


def receive_messages(
    *, actor: Actor, messages: Sequence[IncomingMessage], organization: FeedOrganization | None = None
) -> list[Receipt]:
    """Store inbound messages and apply those that could be read (`event`), in order, in one transaction
    that has committed when this returns; one receipt per message, in the same order. With `rejection`
    (it could not be read, or is of a type not handled) a message is stored with that outcome and nothing
    is applied. A rule that says no while applying (InvalidEvent and other domain errors) keeps the
    message, answered AE with the reason, and applies nothing of it: the batch is run again with that
    message stored as failed, so the others are applied as if it had come alone. So does an unexpected
    failure (HL7 error 207). A control id seen before from the same sender (earlier, or earlier in the same
    batch) is answered with the first outcome and not applied again. Messages of one batch that concern
    the same visit apply one after the other with the result they would have one by one. `organization`:
    the listener's `feed_organization` (looked up when not given)."""
    _require(actor, Permission.ENCOUNTER_MANAGE)
    organization_id = _organization_id(actor)
    for incoming in messages:
        if (incoming.event is None) == (incoming.rejection is None):
            raise ValueError("Pass either the event or the rejection")
    if not messages:
        return []
    if organization is None or organization.organization_id != organization_id:
        organization = feed_organization(organization_id)
    now = clock.now()
    items = [
        _Item(
            incoming,
            dataclasses.replace(actor, request_id=incoming.request_id) if incoming.request_id else actor,
            hashlib.sha256(incoming.raw.encode("utf-8", "replace")).hexdigest(),
        )
        for incoming in messages
    ]
    failed: dict[int, Rejection] = {}
    attempt = 0
    while True:
        try:
            with transaction.atomic():
                return _receive_batch(actor, organization, items, now, failed)
        except _NotApplied as exc:
            failed[exc.index] = exc.rejection
            if len(failed) < _FAILED_PASSES or len(items) == 1:
                continue
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and _sqlstate(exc) not in _RETRIED_SQLSTATES:
                raise
            attempt += 1
            if attempt < _ATTEMPTS:
                continue
            if len(items) == 1:
                if items[0].incoming.event is None or 0 in failed:
                    raise
                header = items[0].incoming.header
                logger.exception("Applying HL7 message %s from %s failed", header.control_id, header.sender)
                failed[0] = Rejection(ack_code=AckCode.ERROR, error_code="207", text=_INTERNAL_ERROR)
                attempt = 0
                continue
        # Too many failures or races in this batch: each message in a transaction of its own.
        return [
            receive_messages(
                actor=actor, messages=[_as_failed(item.incoming, failed.get(n))], organization=organization
            )[0]
            for n, item in enumerate(items)
        ]


def _sqlstate(exc: BaseException) -> str:
    return str(getattr(exc.__cause__, "sqlstate", "") or "")


def _as_failed(incoming: IncomingMessage, rejection: Rejection | None) -> IncomingMessage:
    if rejection is None:
        return incoming
    return dataclasses.replace(incoming, event=None, rejection=rejection)


@dataclass(frozen=True)
class _Item:
    incoming: IncomingMessage
    actor: Actor  # with the message's request id
    digest: str

    @property
    def sender(self) -> str:
        return _clip(self.incoming.header.sender or "unknown", 120)

    @property
    def control_id(self) -> str:
        return self.incoming.header.control_id[:80]


def _receive_batch(
    actor: Actor,
    organization: FeedOrganization,
    items: list[_Item],
    now: dt.datetime,
    failed: dict[int, Rejection],
) -> list[Receipt]:
    """One attempt, inside the transaction: the messages seen before (one locked read), then each message
    in order applied (or stored as failed, or counted as a repeat); at the end the new messages are stored
    (one insert, with what applying them found) and the rows they append written (one insert per table).
    A message whose id is needed while it is applied is stored then (`_Context.stored_message`)."""
    organization_id = organization.organization_id
    keyed = {(item.sender, item.control_id) for item in items if item.control_id}
    stored: dict[tuple[str, str], InboundMessage] = {}
    if keyed:
        found = rows_by_keys(
            InboundMessage,
            ("sender", "control_id"),
            keyed,
            where={"organization_id": organization_id},
            not_empty=("control_id",),
            lock=True,
        )
        stored = {(m.sender, m.control_id): m for m in found}
    # Each message is new, a repeat of one stored before, or a repeat of an earlier one in this batch.
    plan: list[tuple[InboundMessage, str]] = []  # (the message, "new", "stored" or "batch")
    first_here: dict[tuple[str, str], InboundMessage] = {}
    new: list[InboundMessage] = []
    for n, item in enumerate(items):
        key = (item.sender, item.control_id)
        if item.control_id and key in stored:
            plan.append((stored[key], "stored"))
            continue
        if item.control_id and key in first_here:
            plan.append((first_here[key], "batch"))
            continue
        header = item.incoming.header
        message = InboundMessage(
            organization_id=organization_id,
            received_at=now,
            sender=item.sender,
            control_id=item.control_id,
            message_type=_clip("^".join(p for p in (header.message_type, header.trigger) if p), 20),
            raw=item.incoming.raw,
            sha256=item.digest,
            status=MessageStatus.APPLIED,
            ack_code=AckCode.ACCEPT,
        )
        rejection = failed.get(n) or item.incoming.rejection
        if rejection is not None:
            _set_outcome(message, rejection.ack_code, rejection.error_code, rejection.text)
        if item.control_id:
            first_here[key] = message
        new.append(message)
        plan.append((message, "new"))
    writes = _Writes(actor)
    batch = _Batch(organization, writes)
    contexts: dict[int, _Context] = {}
    for n, (item, (message, kind)) in enumerate(zip(items, plan, strict=True)):
        if kind == "new" and message.ack_code == AckCode.ACCEPT:
            event = item.incoming.event
            assert event is not None
            own = writes.for_actor(item.actor)
            contexts[n] = _Context(item.actor, message, event, organization, own, batch)
    _read_ahead(batch, actor, list(contexts.values()))
    answers: list[Receipt | None] = []  # None: answered from the message once it is stored
    for n, (item, (message, kind)) in enumerate(zip(items, plan, strict=True)):
        if kind == "stored":
            answers.append(_repeat(message, item.digest, now))
            continue
        answers.append(None)
        if kind == "batch":
            _repeat_in_batch(message, item.digest, now)
            continue
        ctx = contexts.get(n)
        if ctx is not None:
            try:
                _apply_or_fail(ctx)
            except _NotApplied as exc:
                raise _NotApplied(exc.rejection, index=n) from exc
            message.patient_id = ctx.patient_id
            message.encounter = ctx.encounter
            message.warnings = ctx.warnings
        writes.for_actor(item.actor).audit(
            AuditAction.HL7_MESSAGE_CREATE,
            patient_id=message.patient_id,
            obj=message,
            detail={
                "sender": message.sender,
                "control_id": message.control_id,
                "message_type": message.message_type,
                "ack": message.ack_code,
                "error_code": message.error_code,
            },
        )
    # A repeated control id (or a concurrent insert of it) fails the transaction, which is run again and
    # finds the message (the unique constraint decides).
    batch.store_encounters()
    early = [message for message in new if message.pk is not None]
    InboundMessage.objects.bulk_create([message for message in new if message.pk is None])
    for message in early:  # stored while applied: what came of it since
        message.save(
            update_fields=[
                "patient",
                "encounter",
                "warnings",
                "duplicate_count",
                "last_duplicate_at",
                "updated_at",
            ]
        )
    writes.flush()
    return [
        answer if answer is not None else (_repeat_receipt(message) if kind == "batch" else _receipt(message))
        for answer, (message, kind) in zip(answers, plan, strict=True)
    ]


def _receipt(message: InboundMessage) -> Receipt:
    return Receipt(
        ack_code=message.ack_code,
        error_code=message.error_code,
        text=message.error_text,
        message_id=message.pk,
        warnings=tuple(message.warnings),
    )


def _read_ahead(batch: _Batch, actor: Actor, contexts: list[_Context]) -> None:
    """Read for all the batch's messages at once what applying them looks up one by one: the patients
    with our MRNs they name, the visits they concern (locked, in id order) and those visits' active TCM
    episodes (locked)."""
    if not contexts:
        return
    short_code = batch.organization.short_code
    mrns: set[str] = set()
    visits: set[tuple[str, str]] = set()
    for ctx in contexts:
        person, visit = ctx.event.person, ctx.event.visit
        if person is None:
            continue
        mrns |= {ext.value.strip().upper() for ext in person.identifiers if _is_our_mrn(ext, short_code)}
        if visit is not None and person.identifiers and ctx.trigger != "A40":
            with contextlib.suppress(InvalidEvent):
                visits.add((ctx.message.sender, _visit_key(person, visit)))
    if mrns:
        batch.patients = dict.fromkeys(mrns)
        rows = (
            patient_selectors.patient_queryset(actor)
            .filter(mrn__in=sorted(mrns))
            .values_list("mrn", "pk", "status", "merged_into_id")
        )
        for mrn, pk, status, merged_into in rows:
            batch.patients[mrn] = (pk, status, merged_into)
    if not visits:
        return
    batch.encounters = dict.fromkeys(visits)
    found = rows_by_keys(
        Encounter,
        ("source", "visit_number"),
        visits,
        where={"organization_id": batch.organization.organization_id},
        lock=True,
    )
    for encounter in found:
        batch.encounters[(encounter.source, encounter.visit_number)] = encounter
    if found and any(ctx.trigger in ("A03", "A11", "A13") for ctx in contexts):
        batch.episodes = {encounter.pk: [] for encounter in found}
        for episode in (
            TcmEpisode.objects.select_for_update()
            .filter(encounter_id__in=list(batch.episodes), status=TcmStatus.ACTIVE)
            .order_by("pk")
        ):
            batch.episodes[episode.encounter_id].append(episode)


def _repeat(existing: InboundMessage, digest: str, now: dt.datetime) -> Receipt:
    """A control id seen before: count it, note a different content, answer as the first time."""
    warnings = list(existing.warnings)
    if digest != existing.sha256:
        warnings.append(_different_content(now))
    InboundMessage.objects.filter(pk=existing.pk).update(
        duplicate_count=F("duplicate_count") + 1, last_duplicate_at=now, warnings=warnings
    )
    existing.warnings = warnings
    return _repeat_receipt(existing)


def _repeat_in_batch(first: InboundMessage, digest: str, now: dt.datetime) -> None:
    """A repeat of a message earlier in the same batch: counted on it (stored with the batch)."""
    first.duplicate_count += 1
    first.last_duplicate_at = now
    if digest != first.sha256:
        first.warnings = [*first.warnings, _different_content(now)]


def _different_content(now: dt.datetime) -> str:
    return f"Repeated at {now:%Y-%m-%d %H:%M:%S} with different content; the repeat was not applied."


def _repeat_receipt(existing: InboundMessage) -> Receipt:
    first = f"received {existing.received_at:%Y-%m-%d %H:%M:%S}"
    text = f"Duplicate of message {existing.control_id} ({first}); not applied again."
    if existing.error_text:
        text += f" First outcome: {existing.error_text}"
    return Receipt(
        ack_code=existing.ack_code,
        error_code=existing.error_code,
        text=_clip(text, MAX_ERROR_TEXT),
        message_id=existing.pk,
        duplicate=True,
    )


def _set_outcome(message: InboundMessage, ack_code: str, error_code: str, text: str) -> None:
    message.ack_code = ack_code
    message.status = {
        AckCode.ACCEPT: MessageStatus.APPLIED,
        AckCode.REJECT: MessageStatus.REJECTED,
    }.get(AckCode(ack_code), MessageStatus.ERROR)
    message.error_code = error_code[:5]
    message.error_text = _clip(text, MAX_ERROR_TEXT)


def _apply_or_fail(ctx: _Context) -> None:
    """Apply; whatever goes wrong (but a race, which is run again) rolls the transaction back and the
    message is stored with the reason (_NotApplied)."""
    try:
        _apply(ctx)
    except DomainError as exc:
        raise _NotApplied(
            Rejection(
                ack_code=AckCode.ERROR, error_code=str(exc.details.get("hl7_code", "207")), text=exc.message
            )
        ) from exc
    except IntegrityError:
        raise
    except OperationalError as exc:
        if _sqlstate(exc) in _RETRIED_SQLSTATES:
            raise  # a deadlock: the batch runs again
        logger.exception("Applying HL7 message %s from %s failed", ctx.message.control_id, ctx.message.sender)
        raise _NotApplied(Rejection(ack_code=AckCode.ERROR, error_code="207", text=_INTERNAL_ERROR)) from exc
    except Exception as exc:
        # A defect must not lose the message or the connection: it is kept, answered AE, and logged.
        logger.exception("Applying HL7 message %s from %s failed", ctx.message.control_id, ctx.message.sender)
        raise _NotApplied(Rejection(ack_code=AckCode.ERROR, error_code="207", text=_INTERNAL_ERROR)) from exc


def _apply(ctx: _Context) -> None:
    handler = _HANDLERS.get(ctx.trigger)
    if handler is None:
        raise InvalidEvent(f"ADT^{ctx.trigger} is not supported here.", hl7_code="201")
    if ctx.trigger == "A40" and ctx.batch is not None:
        ctx.batch.store_encounters()  # it looks visits up by the patient's identifier
    handler(ctx)
    if ctx.trigger == "A40" and ctx.batch is not None:
        ctx.batch.encounters.clear()  # it changed visits read by other means: read them again


# ---------------------------------------------------------------------------------------------------
# Matching the patient
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Match:
    patient_id: int | None = None
    method: str = ""  # mrn, link, identifier, demographics
    candidates: list[int] = field(default_factory=list)


def primary_identifier(identifiers: tuple[ExternalId, ...]) -> ExternalId | None:
    """The medical record number (type MR) if there is one, else the first identifier."""
    return next(
        (i for i in identifiers if i.type_code.upper() == "MR"), identifiers[0] if identifiers else None
    )


def _is_our_mrn(ext: ExternalId, short_code: str) -> bool:
    """An MRN we issued: assigned by us (CX-4 is our short code or our MRN system) and shaped like ours
    (our prefix, then digits). A bare number, or our shape under another authority, is someone else's id."""
    value = ext.value.strip().upper()
    ours = {"", short_code, f"URN:CAREDESK:MRN:{short_code}"}
    shaped = value.startswith(short_code) and value[len(short_code) :].isdigit()
    return shaped and ext.authority.strip().upper() in ours


def _one(actor: Actor, query: PatientQuery) -> int | None:
    page = patient_selectors.search_patients(actor=actor, query=query, page_size=2)
    return page.results[0].pk if len(page.results) == 1 else None


def _by_our_mrn(ctx: _Context, value: str) -> int | None:
    """What `search_patients(mrn=value)` finds, in one indexed read (two after a merge): the active record
    with this MRN or the one it was merged into. The same PATIENT_SEARCH audit row, written with the
    message's other rows."""
    columns = ("pk", "status", "merged_into_id")
    mrn = value.strip().upper()
    row: _PatientRow
    if ctx.batch is not None and mrn in ctx.batch.patients:
        row = ctx.batch.patients[mrn]  # read with the batch's other messages' MRNs
    else:
        row = patient_selectors.patient_queryset(ctx.actor).filter(mrn=mrn).values_list(*columns).first()
    for _ in range(patient_selectors.MAX_MERGE_HOPS):
        if row is None or row[1] != PatientStatus.MERGED or row[2] is None:
            break
        scope = patient_selectors.patient_queryset(ctx.actor)
        row = scope.filter(pk=row[2]).values_list(*columns).first()
    found = row[0] if row is not None and row[1] == PatientStatus.ACTIVE else None
    ctx.writes.audit(
        AuditAction.PATIENT_SEARCH,
        object_type="patients.patient",
        detail={
            "criteria": {"mrn": value.strip(), "include_inactive": False},
            "page": 1,
            "result_ids": [found] if found is not None else [],
        },
    )
    return found


def _match_identifiers(ctx: _Context, identifiers: tuple[ExternalId, ...]) -> _Match:
    short_code = ctx.organization.short_code
    for ext in identifiers:
        if _is_our_mrn(ext, short_code) and (found := _by_our_mrn(ctx, ext.value)):
            return _Match(found, "mrn")
    for ext in identifiers:
        link = (
            ExternalPatientLink.objects.filter(
                organization_id=ctx.organization_id, authority=ext.authority, value=ext.value
            )
            .values_list("patient_id", flat=True)
            .first()
        )
        if link is not None:
            return _Match(link, "link")
    for ext in identifiers:
        if ext.authority and (
            found := _one(ctx.actor, PatientQuery(identifier=f"{ext.authority}|{ext.value}"))
        ):
            return _Match(found, "identifier")
    return _Match()


def _match_person(ctx: _Context, person: PersonData) -> _Match:
    match = _match_identifiers(ctx, person.identifiers)
    if match.patient_id is not None or not (person.family_name and person.given_name and person.birth_date):
        return match
    data = PatientInput(
        given_name=person.given_name,
        family_name=person.family_name,
        birth_date=person.birth_date,
        sex=person.sex or "unknown",
    )
    candidates = patient_services.find_likely_duplicates(actor=ctx.actor, data=data)
    received = (name_key(person.family_name), name_key(person.given_name), person.birth_date, person.sex)
    agreeing = [
        c.pk
        for c in candidates
        if rules.demographics_agree((c.family_key, c.given_key, c.birth_date, c.sex), received)
    ]
    if len(agreeing) == 1:
        primary = primary_identifier(person.identifiers)
        if primary is not None:
            _remember(ctx.actor, ctx.organization_id, primary, agreeing[0], ctx.warnings)
        return _Match(agreeing[0], "demographics")
    return _Match(None, "", agreeing or [c.pk for c in candidates])


def _remember(
    actor: Actor, organization_id: int, ext: ExternalId, patient_id: int, warnings: list[str]
) -> None:
    """Keep `ext` -> patient, so the next message with it matches at once."""
    if not ext.value:
        return
    try:
        with transaction.atomic():
            link, created = ExternalPatientLink.objects.get_or_create(
                organization_id=organization_id,
                authority=ext.authority[:120],
                value=ext.value[:80],
                defaults={"patient_id": patient_id},
            )
    except IntegrityError:
        link, created = (
            ExternalPatientLink.objects.get(
                organization_id=organization_id, authority=ext.authority[:120], value=ext.value[:80]
            ),
            False,
        )
    if not created and link.patient_id != patient_id:
        warnings.append(f"Identifier {ext.authority}|{ext.value} already belongs to another patient here.")


# ---------------------------------------------------------------------------------------------------
# Encounters
# ---------------------------------------------------------------------------------------------------


def _visit_key(person: PersonData, visit: VisitData) -> str:
    if visit.visit_number:
        return visit.visit_number[:120]
    primary = primary_identifier(person.identifiers)
    if primary is None or visit.admit_at is None:
        raise InvalidEvent(
            "PV1-19 (visit number) is missing, and without it the patient identifier and PV1-44 (admit time) "
            "are needed to tell visits apart.",
            hl7_code="101",
        )
    return _clip(f"{primary.authority}|{primary.value}@{visit.admit_at.isoformat()}", 120)


def _need_person(ctx: _Context) -> PersonData:
    person = ctx.event.person
    if person is None:
        raise InvalidEvent("The PID segment is missing.", hl7_code="100")
    if not person.identifiers:
        raise InvalidEvent("PID-3 (patient identifier list) is empty.", hl7_code="101")
    return person


def _need_visit(ctx: _Context) -> VisitData:
    if ctx.event.visit is None:
        raise InvalidEvent(f"ADT^{ctx.trigger} needs a PV1 segment.", hl7_code="100")
    return ctx.event.visit


def _demographics(person: PersonData) -> dict[str, Any]:
    """The patient as the sender named them: what a person needs to match them by hand."""
    primary = primary_identifier(person.identifiers)
    return {
        "family_name": person.family_name,
        "given_name": person.given_name,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "sex": person.sex,
        "identifiers": [
            f"{i.authority}|{i.value}" + (f" ({i.type_code})" if i.type_code else "")
            for i in person.identifiers
        ],
        "primary": f"{primary.authority}|{primary.value}" if primary else "",
        "address": ", ".join(
            p for p in (person.address_line1, person.city, person.state, person.postal_code) if p
        ),
        "phone": person.phone,
    }


def _event_row(
    ctx: _Context | None, encounter: Encounter, kind: str, summary: str, moment: dt.datetime
) -> None:
    if ctx is not None:
        ctx.writes.event(encounter, kind, _clip(summary, 300), moment, ctx.message)
        return
    EncounterEvent.objects.create(
        encounter=encounter, event_type=kind, occurred_at=moment, summary=_clip(summary, 300)
    )


def _stored(batch: _Batch | None, encounter: Encounter) -> Encounter:
    """The encounter with its id (one created earlier in the batch is inserted now)."""
    return batch.stored(encounter) if batch is not None else encounter


def _locked_encounter(ctx: _Context, source: str, key: str) -> Encounter | None:
    """The visit, locked: as the batch read (or created) it, else read now."""
    if ctx.batch is not None and (source, key) in ctx.batch.encounters:
        return ctx.batch.encounters[(source, key)]
    return (
        Encounter.objects.select_for_update()
        .filter(organization_id=ctx.organization_id, source=source, visit_number=key)
        .first()
    )


def _encounter_for(
    ctx: _Context, person: PersonData, visit: VisitData, match: _Match
) -> tuple[Encounter, bool]:
    """The encounter this visit is (locked), or a new one (`created`, saved by _save_encounter); visit
    details refreshed from the message."""
    key = _visit_key(person, visit)
    source = ctx.message.sender
    encounter = _locked_encounter(ctx, source, key)
    created = encounter is None
    if encounter is None:
        primary = primary_identifier(person.identifiers)
        encounter = Encounter(
            organization_id=ctx.organization_id,
            source=source,
            visit_number=key,
            status=EncounterStatus.IN_PROGRESS,
            encounter_class=rules.encounter_class(visit.patient_class),
            patient_id=match.patient_id,
            external_patient_id=(primary.value if primary else "")[:80],
            external_id_authority=(primary.authority if primary else "")[:120],
            admit_at=visit.admit_at,
        )
    else:
        if encounter.patient_id is None and match.patient_id is not None:
            encounter.patient_id = match.patient_id
        elif match.patient_id is not None and encounter.patient_id != match.patient_id:
            ctx.warnings.append(
                "The message matches a different patient than this visit's; the visit keeps its patient."
            )
        if visit.patient_class:
            encounter.encounter_class = rules.encounter_class(visit.patient_class)
        if visit.admit_at is not None:
            encounter.admit_at = visit.admit_at
    if visit.point_of_care or visit.room or visit.bed:
        encounter.unit = visit.point_of_care[:120]
        encounter.location = _clip(rules.location_text(visit.point_of_care, visit.room, visit.bed), 250)
    if visit.facility:
        encounter.facility = visit.facility[:120]
    encounter.demographics = _demographics(person)
    return encounter, created


def _save_encounter(ctx: _Context, encounter: Encounter, created: bool, summary: str) -> None:
    if encounter.admit_at and encounter.discharge_at and encounter.discharge_at < encounter.admit_at:
        raise InvalidEvent(
            f"The discharge time ({encounter.discharge_at:%Y-%m-%d %H:%M}) is before the admission "
            f"({encounter.admit_at:%Y-%m-%d %H:%M}).",
            hl7_code="207",
        )
    # A visit another connection creates at the same moment fails the transaction: it runs again.
    if created and ctx.batch is not None:  # stored with the batch; its next messages find it here
        ctx.batch.new_encounters.append(encounter)
        ctx.batch.encounters[(encounter.source, encounter.visit_number)] = encounter
    elif created:
        encounter.save(force_insert=True)
    elif encounter.pk is None:  # created by an earlier message of the batch: stored as it ends up
        encounter.version += 1
    else:
        encounter.version += 1
        encounter.save()
    _event_row(ctx, encounter, ctx.trigger, summary, ctx.moment())
    ctx.writes.audit(
        AuditAction.ENCOUNTER_CREATE if created else AuditAction.ENCOUNTER_UPDATE,
        patient_id=encounter.patient_id,
        obj=encounter,
        detail={"trigger": ctx.trigger, "status": encounter.status},
        message=ctx.message,
    )
    ctx.encounter, ctx.patient_id = encounter, encounter.patient_id


def _review_unmatched(ctx: _Context, encounter: Encounter, match: _Match) -> None:
    if encounter.patient_id is not None:
        return
    _stored(ctx.batch, encounter)
    details = encounter.demographics
    who = (
        f"{details.get('family_name', '')}, {details.get('given_name', '')}".strip(", ") or "unnamed patient"
    )
    candidates = (
        f"Possible matches here: patient ids {', '.join(str(c) for c in match.candidates)}."
        if match.candidates
        else "No registered patient looks like them."
    )
    worklist.create_task(
        actor=ctx.actor,
        data=worklist.NewTask(
            title=_clip(f"Match hospital patient {who} to a Caredesk patient", 200),
            description=(
                f"{ctx.message.sender} sent ADT^{ctx.trigger} for {who}, "
                f"born {details.get('birth_date') or '?'}, "
                f"identifiers {', '.join(details.get('identifiers', [])) or 'none'}. {candidates} "
                "Link the visit to the right patient (or register them first)."
            ),
            task_type=TaskType.PATIENT_MATCH_REVIEW,
            queue=TaskQueue.CARE_COORDINATION,
            priority=TaskPriority.HIGH,
            source_type=SOURCE_TYPE,
            source_id=str(encounter.pk),
            dedupe_key=f"hl7-match:{encounter.pk}",
        ),
    )
    ctx.warnings.append("No patient matched: a review task is on the worklist.")


def _visit_event(ctx: _Context, change: Callable[[_Context, Encounter, VisitData], str]) -> Encounter:
    person = _need_person(ctx)
    visit = _need_visit(ctx)
    match = _match_person(ctx, person)
    encounter, created = _encounter_for(ctx, person, visit, match)
    summary = change(ctx, encounter, visit)
    _save_encounter(ctx, encounter, created, summary)
    _review_unmatched(ctx, encounter, match)
    return encounter


def _where(encounter: Encounter) -> str:
    place = encounter.location or encounter.unit or encounter.facility
    return f" at {place}" if place else ""


def _admit(ctx: _Context, encounter: Encounter, visit: VisitData) -> str:
    if encounter.status == EncounterStatus.FINISHED:
        ctx.warnings.append("The visit was already discharged; its admission details were updated.")
    else:
        encounter.status = EncounterStatus.IN_PROGRESS
    encounter.admit_at = visit.admit_at or encounter.admit_at or ctx.moment()
    verb = "Registered" if ctx.trigger == "A04" else "Admitted"
    return f"{verb} ({encounter.get_encounter_class_display().lower()}){_where(encounter)}."


def _transfer(ctx: _Context, encounter: Encounter, visit: VisitData) -> str:
    if encounter.status == EncounterStatus.CANCELLED:
        encounter.status = EncounterStatus.IN_PROGRESS
    return f"Transferred{_where(encounter)}."


def _discharge(ctx: _Context, encounter: Encounter, visit: VisitData) -> str:
    encounter.status = EncounterStatus.FINISHED
    encounter.discharge_at = ctx.moment(visit.discharge_at)
    encounter.discharge_disposition = visit.disposition_code[:20]
    encounter.discharge_disposition_text = visit.disposition_text[:200]
    disposition = visit.disposition_text or visit.disposition_code or "disposition not given"
    return f"Discharged ({disposition})."


def _update(ctx: _Context, encounter: Encounter, visit: VisitData) -> str:
    if visit.discharge_at is not None and encounter.status == EncounterStatus.FINISHED:
        encounter.discharge_at = visit.discharge_at
    return "Patient or visit details updated."


def _on_admit(ctx: _Context) -> None:
    _visit_event(ctx, _admit)


def _on_transfer(ctx: _Context) -> None:
    _visit_event(ctx, _transfer)


def _on_discharge(ctx: _Context) -> None:
    encounter = _stored(ctx.batch, _visit_event(ctx, _discharge))
    if encounter.patient_id is None:
        _discharge_review(
            ctx.actor,
            encounter,
            "unmatched",
            "The discharged patient is not matched to a Caredesk patient, so TCM cannot start. "
            "Match them first.",
        )
        return
    _start_tcm(ctx.actor, encounter, ctx.zone, ctx.message, ctx.writes, ctx.batch)


def _on_update(ctx: _Context) -> None:
    encounter = _visit_event(ctx, _update)
    person = ctx.event.person
    if encounter.patient_id is not None and person is not None:
        _update_demographics(ctx, encounter.patient_id, person)


def _update_demographics(ctx: _Context, patient_id: int, person: PersonData) -> None:
    """A08: the address as the sender has it. A field our rules refuse is left as it was (warning)."""
    values = {name: getattr(person, name) for name in _DEMOGRAPHIC_UPDATES}
    country = values["country"].upper()
    values["country"] = {"USA": "US"}.get(country, country if len(country) == 2 else "")
    changes = {name: value for name, value in values.items() if value}
    while changes:
        try:
            with transaction.atomic():
                patient_services.update_patient(actor=ctx.actor, patient_id=patient_id, changes=changes)
            return
        except ValidationFailed as exc:
            dropped = exc.field if exc.field in changes else None
            ctx.warnings.append(f"Demographic update: {exc.message}" + (" Not applied." if dropped else ""))
            if dropped is None:
                return
            changes.pop(dropped)
        except DomainError as exc:
            ctx.warnings.append(f"Demographic update not applied: {exc.message}")
            return


def _cancelled_visit(ctx: _Context) -> Encounter | None:
    person = _need_person(ctx)
    visit = _need_visit(ctx)
    encounter = _locked_encounter(ctx, ctx.message.sender, _visit_key(person, visit))
    if encounter is None:
        ctx.warnings.append("No such visit is known here: there was nothing to cancel.")
        return None
    return _stored(ctx.batch, encounter)


def _record_cancel(ctx: _Context, encounter: Encounter, summary: str) -> None:
    encounter.version += 1
    encounter.save()
    _event_row(ctx, encounter, ctx.trigger, summary, ctx.moment())
    ctx.writes.audit(
        AuditAction.ENCOUNTER_CANCEL,
        patient_id=encounter.patient_id,
        obj=encounter,
        detail={"trigger": ctx.trigger, "status": encounter.status},
        message=ctx.message,
    )
    ctx.encounter, ctx.patient_id = encounter, encounter.patient_id


def _on_cancel_admit(ctx: _Context) -> None:
    encounter = _cancelled_visit(ctx)
    if encounter is None:
        return
    reason = "Admission cancelled (A11)."
    _cancel_tcm(ctx.actor, encounter, reason, ctx)
    worklist.close_tasks_by_keys(
        actor=ctx.actor,
        dedupe_keys=[f"hl7-match:{encounter.pk}"],
        status=TaskStatus.CANCELLED,
        reason=reason,
    )
    encounter.status = EncounterStatus.CANCELLED
    _record_cancel(ctx, encounter, reason)


def _on_cancel_discharge(ctx: _Context) -> None:
    encounter = _cancelled_visit(ctx)
    if encounter is None:
        return
    if encounter.status != EncounterStatus.FINISHED:
        ctx.warnings.append("The visit was not discharged: there was no discharge to cancel.")
        ctx.encounter, ctx.patient_id = encounter, encounter.patient_id
        return
    reason = "Discharge cancelled (A13)."
    _cancel_tcm(ctx.actor, encounter, reason, ctx)
    encounter.status = EncounterStatus.IN_PROGRESS
    encounter.discharge_at = None
    encounter.discharge_disposition = encounter.discharge_disposition_text = ""
    _record_cancel(ctx, encounter, reason)


def _on_merge(ctx: _Context) -> None:
    """A40: the sender merged `prior` into `survivor`. Visits carrying the prior identifier now carry the
    survivor's; when both are registered here as different patients, a person is asked to merge them."""
    if not ctx.event.merges:
        raise InvalidEvent("ADT^A40 needs PID and MRG segments.", hl7_code="100")
    for index, merge in enumerate(ctx.event.merges):
        survivor_id = primary_identifier(merge.survivor.identifiers)
        if survivor_id is None or not merge.prior:
            raise InvalidEvent("PID-3 and MRG-1 must both name a patient.", hl7_code="101")
        survivor = _match_identifiers(ctx, merge.survivor.identifiers)
        prior = _match_identifiers(ctx, merge.prior)
        patient_id = survivor.patient_id or prior.patient_id
        for ext in merge.prior:
            for encounter in Encounter.objects.select_for_update().filter(
                organization_id=ctx.organization_id,
                external_id_authority=ext.authority,
                external_patient_id=ext.value,
            ):
                encounter.external_id_authority = survivor_id.authority[:120]
                encounter.external_patient_id = survivor_id.value[:80]
                changed_patient = encounter.patient_id is None and patient_id is not None
                if changed_patient:
                    encounter.patient_id = patient_id
                encounter.version += 1
                encounter.save()
                _event_row(
                    ctx,
                    encounter,
                    "A40",
                    f"Hospital record {ext.value} merged into {survivor_id.value}.",
                    ctx.moment(),
                )
                ctx.writes.audit(
                    AuditAction.ENCOUNTER_PATIENT_CHANGED
                    if changed_patient
                    else AuditAction.ENCOUNTER_UPDATE,
                    patient_id=encounter.patient_id,
                    obj=encounter,
                    detail={"trigger": "A40"},
                    message=ctx.message,
                )
        if prior.patient_id and survivor.patient_id and prior.patient_id != survivor.patient_id:
            _merge_review(ctx, index, prior.patient_id, survivor.patient_id, survivor_id)
        elif prior.patient_id and not survivor.patient_id:
            _remember(ctx.actor, ctx.organization_id, survivor_id, prior.patient_id, ctx.warnings)
        elif not patient_id:
            ctx.warnings.append(
                f"Neither {survivor_id.value} nor the merged record is known to belong to a patient here."
            )
        ctx.patient_id = ctx.patient_id or patient_id


def _merge_review(ctx: _Context, index: int, prior_id: int, survivor_id: int, ext: ExternalId) -> None:
    worklist.create_task(
        actor=ctx.actor,
        data=worklist.NewTask(
            title="Hospital merged two records: review merging our patients",
            description=(
                f"{ctx.message.sender} merged a patient record into {ext.authority}|{ext.value} "
                f"(ADT^A40, message {ctx.message.control_id}). Here they are patient ids {prior_id} "
                f"(merged record) and {survivor_id} "
                "(survivor). If they are the same person, merge them on the patient's page."
            ),
            task_type=TaskType.PATIENT_MERGE_REVIEW,
            queue=TaskQueue.CARE_COORDINATION,
            patient_id=survivor_id,
            source_type="transitions.inboundmessage",
            source_id=str(ctx.stored_message().pk),
            dedupe_key=f"hl7-merge:{prior_id}:{survivor_id}",
        ),
    )
    ctx.warnings.append("Both records are registered here: a merge review task is on the worklist.")


_HANDLERS: dict[str, Callable[[_Context], None]] = {
    "A01": _on_admit,
    "A04": _on_admit,
    "A02": _on_transfer,
    "A03": _on_discharge,
    "A08": _on_update,
    "A11": _on_cancel_admit,
    "A13": _on_cancel_discharge,
    "A40": _on_merge,
}
assert set(_HANDLERS) == set(SUPPORTED_TRIGGERS)


# ---------------------------------------------------------------------------------------------------
# Transitional Care Management
# ---------------------------------------------------------------------------------------------------


def _discharge_review(actor: Actor, encounter: Encounter, why: str, text: str) -> None:
    assert encounter.discharge_at is not None
    day = encounter.discharge_at.date().isoformat()
    worklist.create_task(
        actor=actor,
        data=worklist.NewTask(
            title="Discharge: check whether TCM applies",
            description=text,
            task_type=TaskType.DISCHARGE_REVIEW,
            queue=TaskQueue.CARE_COORDINATION,
            priority=TaskPriority.HIGH,
            patient_id=encounter.patient_id,
            source_type=SOURCE_TYPE,
            source_id=str(encounter.pk),
            dedupe_key=f"discharge-{why}:{encounter.pk}:{day}",
        ),
    )


def _qualifies(actor: Actor, encounter: Encounter) -> bool:
    """A discharged, matched encounter of a TCM class to a community setting. A discharge without a
    disposition gets a review task instead (someone must find out where the patient went)."""
    if encounter.status != EncounterStatus.FINISHED or encounter.patient_id is None:
        return False
    if encounter.encounter_class not in settings.CAREDESK_TCM_ENCOUNTER_CLASSES:
        return False
    code, text = encounter.discharge_disposition, encounter.discharge_disposition_text
    if not rules.disposition_known(code, text):
        _discharge_review(
            actor,
            encounter,
            "disposition",
            "The discharge message gave no disposition (PV1-36). If the patient went home (or to home "
            "health, assisted living, a domiciliary or rest home), TCM applies: contact within 2 "
            "business days.",
        )
        return False
    return rules.is_community_disposition(code, text, settings.CAREDESK_TCM_COMMUNITY_DISPOSITIONS)


def _tcm_tasks(episode: TcmEpisode, encounter: Encounter, zone: ZoneInfo) -> list[worklist.NewTask]:
    where = encounter.facility or encounter.source
    discharged = f"Discharged {episode.discharge_date:%a %Y-%m-%d} from {where}"
    code = "99496" if episode.complexity == TcmComplexity.HIGH else "99495"
    common: dict[str, Any] = {
        "patient_id": episode.patient_id,
        "source_type": SOURCE_TYPE,
        "source_id": str(encounter.pk),
    }
    return [
        worklist.NewTask(
            title="TCM: interactive contact with patient or caregiver",
            description=(
                f"{discharged}. Reach the patient or caregiver (phone, video, in person or secure message; "
                f"not a voicemail) by {episode.contact_due:%a %Y-%m-%d}. If you cannot, document each "
                "attempt: "
                "two timely attempts count."
            ),
            task_type=TaskType.TCM_CONTACT,
            queue=TaskQueue.CARE_COORDINATION,
            priority=TaskPriority.URGENT,
            due_at=rules.local_end_of_day(episode.contact_due, zone),
            dedupe_key=episode.task_key("contact"),
            **common,
        ),
        worklist.NewTask(
            title="TCM: face-to-face visit",
            description=(
                f"{discharged}. Book and hold the face-to-face visit by {episode.visit_due:%a %Y-%m-%d} "
                f"({episode.get_complexity_display()}; CPT {code})."
            ),
            task_type=TaskType.TCM_VISIT,
            queue=TaskQueue.CARE_COORDINATION,
            priority=TaskPriority.HIGH,
            due_at=rules.local_end_of_day(episode.visit_due, zone),
            dedupe_key=episode.task_key("visit"),
            **common,
        ),
        worklist.NewTask(
            title="TCM: medication reconciliation",
            description=f"{discharged}. Reconcile the medications no later than the face-to-face visit.",
            task_type=TaskType.TCM_MED_RECONCILIATION,
            queue=TaskQueue.NURSING,
            priority=TaskPriority.HIGH,
            due_at=rules.local_end_of_day(episode.visit_due, zone),
            dedupe_key=episode.task_key("med_rec"),
            **common,
        ),
    ]


def _start_tcm(
    actor: Actor,
    encounter: Encounter,
    zone: ZoneInfo,
    message: InboundMessage | None = None,
    writes: _Writes | None = None,
    batch: _Batch | None = None,
) -> TcmEpisode | None:
    """Start TCM for a qualifying discharge (idempotent: an active episode with the same discharge date is
    left alone; a corrected discharge date moves its deadlines). With `writes` (a message being applied)
    the tasks go in with one insert and the timeline and audit rows with the message's; a race on a task
    key then fails the message's transaction, which runs again."""
    if not _qualifies(actor, encounter):
        return None
    assert encounter.discharge_at is not None
    assert encounter.patient_id is not None
    discharge_date = encounter.discharge_at.astimezone(zone).date()
    episodes = _active_episodes(encounter, batch)
    active = episodes[0] if episodes else None
    if active is not None:
        if active.discharge_date != discharge_date:
            if writes is not None:
                writes.flush_tasks()  # the episode's tasks may still wait to be inserted
            _reschedule(actor, active, discharge_date, active.complexity, zone, "The discharge date changed.")
        return active
    complexity = TcmComplexity(settings.CAREDESK_TCM_DEFAULT_COMPLEXITY)
    deadlines = rules.tcm_deadlines(
        discharge_date, complexity, selectors.holiday_calendar(), settings.CAREDESK_TCM_DISCHARGE_DAY_NUMBER
    )
    episode = TcmEpisode(
        organization_id=encounter.organization_id,
        encounter=encounter,
        patient_id=encounter.patient_id,
        discharge_date=discharge_date,
        complexity=complexity,
        contact_due=deadlines.contact_due,
        visit_due=deadlines.visit_due,
        period_end=deadlines.period_end,
    )
    if batch is not None:
        batch.episodes[encounter.pk] = [*episodes, episode]
    if writes is None:
        episode.save(force_insert=True)
        for task in _tcm_tasks(episode, encounter, zone):
            worklist.create_task(actor=actor, data=task)
    else:  # inserted with the message's (or batch's) other rows: the episode, then its tasks
        writes.episode(episode)
        writes.tasks_of(lambda: _tcm_tasks(episode, encounter, zone))
    summary = (
        f"TCM started: contact due {episode.contact_due:%a %Y-%m-%d}, "
        f"visit due {episode.visit_due:%a %Y-%m-%d}."
    )
    own = writes or _Writes(actor)
    own.event(encounter, "tcm", summary, clock.now(), message)
    own.audit(
        AuditAction.TCM_EPISODE_CREATE,
        patient_id=episode.patient_id,
        obj=episode,
        detail={
            "discharge_date": discharge_date.isoformat(),
            "contact_due": episode.contact_due.isoformat(),
            "visit_due": episode.visit_due.isoformat(),
            "complexity": complexity,
        },
    )
    if writes is None:
        own.flush()
    return episode


def _active_episodes(encounter: Encounter, batch: _Batch | None) -> list[TcmEpisode]:
    """The encounter's active TCM episodes, locked: as the batch read (or started) them, else read now."""
    if batch is not None and encounter.pk in batch.episodes:
        return batch.episodes[encounter.pk]
    if batch is not None and encounter.pk is None:
        return []  # created in this batch
    return list(
        TcmEpisode.objects.select_for_update()
        .filter(encounter=encounter, status=TcmStatus.ACTIVE)
        .order_by("pk")
    )


def _cancel_tcm(actor: Actor, encounter: Encounter, reason: str, ctx: _Context | None = None) -> None:
    """Undo TCM for the encounter: episodes cancelled, their open tasks (and discharge reviews) too."""
    batch = ctx.batch if ctx is not None else None
    if ctx is not None:
        ctx.writes.flush_tasks()  # the tasks to cancel may still wait to be inserted
    episodes = list(_active_episodes(encounter, batch))
    if batch is not None:
        batch.episodes[encounter.pk] = []
    keys = [episode.task_key(element) for episode in episodes for element in selectors.TCM_ELEMENTS]
    if encounter.discharge_at is not None:
        day = encounter.discharge_at.date().isoformat()
        keys += [f"discharge-{why}:{encounter.pk}:{day}" for why in ("unmatched", "disposition")]
    worklist.close_tasks_by_keys(actor=actor, dedupe_keys=keys, status=TaskStatus.CANCELLED, reason=reason)
    for episode in episodes:
        episode.status, episode.cancelled_reason = TcmStatus.CANCELLED, reason[:300]
        episode.save(update_fields=["status", "cancelled_reason", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.TCM_EPISODE_CANCEL,
            patient_id=episode.patient_id,
            obj=episode,
            detail={"reason": reason},
        )


def _reschedule(
    actor: Actor, episode: TcmEpisode, discharge_date: dt.date, complexity: str, zone: ZoneInfo, reason: str
) -> None:
    deadlines = rules.tcm_deadlines(
        discharge_date, complexity, selectors.holiday_calendar(), settings.CAREDESK_TCM_DISCHARGE_DAY_NUMBER
    )
    before = {"discharge_date": episode.discharge_date.isoformat(), "complexity": episode.complexity}
    episode.discharge_date, episode.complexity = discharge_date, complexity
    episode.contact_due, episode.visit_due, episode.period_end = (
        deadlines.contact_due,
        deadlines.visit_due,
        deadlines.period_end,
    )
    episode.save()
    dues = {
        "contact": deadlines.contact_due,
        "visit": deadlines.visit_due,
        "med_rec": deadlines.visit_due,
    }
    outcomes = worklist_selectors.task_outcomes(actor=actor, dedupe_keys=[episode.task_key(e) for e in dues])
    for element, due in dues.items():
        task = outcomes.get(episode.task_key(element))
        if task is not None and task.status not in (TaskStatus.DONE, TaskStatus.CANCELLED):
            worklist.set_due(
                actor=actor, task_id=task.task_id, due_at=rules.local_end_of_day(due, zone), reason=reason
            )
    audit.record(
        actor=actor,
        action=AuditAction.TCM_EPISODE_UPDATE,
        patient_id=episode.patient_id,
        obj=episode,
        detail={"before": before, "discharge_date": discharge_date.isoformat(), "complexity": complexity},
    )


def set_tcm_complexity(*, actor: Actor, episode_id: int, complexity: str) -> TcmEpisode:
    """High complexity: visit within 7 days (99496); moderate: within 14 (99495). Moves the visit and
    medication-reconciliation deadlines of the episode's open tasks."""
    _require(actor, Permission.ENCOUNTER_MANAGE)
    organization_id = _organization_id(actor)
    if complexity not in TcmComplexity.values:
        raise ValidationFailed(f"{complexity!r} is not a TCM complexity.", field="complexity")
    pk = selectors.parse_id(episode_id)
    with transaction.atomic():
        episode = (
            None
            if pk is None
            else TcmEpisode.objects.select_for_update().filter(organization_id=organization_id, pk=pk).first()
        )
        if episode is None or not actor.has(Permission.ENCOUNTER_VIEW):
            raise EpisodeNotFound(f"No TCM episode with id {episode_id}.")
        if episode.status != TcmStatus.ACTIVE:
            raise ValidationFailed("This TCM episode was cancelled.", field="complexity")
        if episode.complexity != complexity:
            zone = selectors.organization_zone(organization_id)
            _reschedule(actor, episode, episode.discharge_date, complexity, zone, "TCM complexity changed.")
    return episode


# ---------------------------------------------------------------------------------------------------
# TCM steps completed by what happened elsewhere: a fulfilled visit, a logged contact
# ---------------------------------------------------------------------------------------------------

#: What TCM tracking needs to find the appointment and close the episode's tasks (whoever fulfilled the
#: visit or logged the call may not work the care-coordination queue).
_TRACKING_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.SCHEDULE_VIEW,
        Permission.TASK_VIEW,
        Permission.TASK_WORK,
        Permission.TASK_ALL_QUEUES,
        Permission.ENCOUNTER_VIEW,
        Permission.ENCOUNTER_MANAGE,
    )
)


def _tracker(actor: Actor, organization_id: int) -> Actor:
    return system_actor(
        organization_id=organization_id,
        permissions=_TRACKING_PERMISSIONS,
        channel=actor.channel,
        username="TCM tracking",
    )


def _complete_step(
    actor: Actor, tracker: Actor, episode: TcmEpisode, element: str, day: dt.date, what: str, due: dt.date
) -> None:
    """Close the step's task (done) and write the timeline and audit rows; the caller saved the episode."""
    late = f" after the deadline ({due:%a %Y-%m-%d}): reported late" if day > due else ""
    summary = f"TCM {what} on {day:%a %Y-%m-%d}{late}."
    worklist.close_tasks_by_keys(
        actor=tracker, dedupe_keys=[episode.task_key(element)], status=TaskStatus.DONE, reason=summary
    )
    writes = _Writes(actor)
    writes.event(episode.encounter, "tcm", summary, clock.now())
    writes.audit(
        AuditAction.TCM_EPISODE_UPDATE,
        patient_id=episode.patient_id,
        obj=episode,
        detail={
            "element": element,
            "done_on": day.isoformat(),
            "due": due.isoformat(),
            "appointment_id": episode.visit_appointment_id if element == "visit" else None,
            "communication_id": episode.contact_communication_id if element == "contact" else None,
        },
    )
    writes.flush()


def _open_step(tracker: Actor, episodes: list[TcmEpisode], element: str) -> dict[int, int]:
    """Episode id -> the id of its still-open `element` task (a step closed by hand is left alone)."""
    outcomes = worklist_selectors.task_outcomes(
        actor=tracker, dedupe_keys=[episode.task_key(element) for episode in episodes]
    )
    found = {}
    for episode in episodes:
        task = outcomes.get(episode.task_key(element))
        if task is not None and task.status not in (TaskStatus.DONE, TaskStatus.CANCELLED):
            found[episode.pk] = task.task_id
    return found


def complete_visit_on_fulfilment(actor: Actor, visit: FulfilledVisit) -> None:
    """scheduling's fulfilled hook (inside the transaction that fulfils the appointment): a visit of a
    patient in TCM, after the discharge and within the service period, completes the episode's
    face-to-face step: the episode records the appointment and its day, and the visit task is closed.
    After the visit deadline it still does, and the report shows the visit late. Idempotent: an episode
    keeps the first visit that completed it; a step already closed by hand is left as it is."""
    tracker = _tracker(actor, visit.organization_id)
    starts_at = (
        scheduling_selectors.appointment_queryset(tracker)
        .filter(pk=visit.appointment_id, patient_id=visit.patient_id)
        .values_list("starts_at", flat=True)
        .first()
    )
    if starts_at is None:
        return
    day = starts_at.astimezone(selectors.organization_zone(visit.organization_id)).date()
    episodes = list(
        TcmEpisode.objects.select_for_update()
        .filter(
            organization_id=visit.organization_id,
            patient_id=visit.patient_id,
            status=TcmStatus.ACTIVE,
            visit_appointment__isnull=True,
            discharge_date__lte=day,
        )
        .select_related("encounter")
        .order_by("-discharge_date", "-pk")
    )
    episodes = [
        e for e in episodes if rules.visit_counts(starts_at, e.encounter.discharge_at, day, e.period_end)
    ]
    if not episodes:
        return
    episode = episodes[0]  # the latest discharge before the visit
    if episode.pk not in _open_step(tracker, [episode], "visit"):
        return
    episode.visit_appointment_id, episode.visit_on = visit.appointment_id, day
    episode.save(update_fields=["visit_appointment", "visit_on", "updated_at"])
    what = f"face-to-face visit held: appointment #{visit.appointment_id}"
    _complete_step(actor, tracker, episode, "visit", day, what, episode.visit_due)


def complete_contact_on_communication(actor: Actor, logged: LoggedCommunication) -> None:
    """messaging's logged hook (inside the transaction that logs it): a reached, interactive contact with
    the patient or caregiver logged on an active episode's contact task completes the contact step: the
    episode records the communication and its day, and the task is closed. After the contact deadline it
    still does; the report shows it late unless two attempts were documented in time. Idempotent."""
    if logged.task_id is None or not rules.is_interactive_contact(
        channel=logged.channel, direction=logged.direction, outcome=logged.outcome, party=logged.party
    ):
        return
    tracker = _tracker(actor, logged.organization_id)
    episodes = list(
        TcmEpisode.objects.select_for_update()
        .filter(
            organization_id=logged.organization_id,
            patient_id=logged.patient_id,
            status=TcmStatus.ACTIVE,
            contact_communication__isnull=True,
        )
        .select_related("encounter")
        .order_by("pk")
    )
    open_tasks = _open_step(tracker, episodes, "contact")
    for episode in episodes:
        if open_tasks.get(episode.pk) != logged.task_id:
            continue
        discharge_at = episode.encounter.discharge_at
        if discharge_at is not None and logged.occurred_at < discharge_at:
            return
        day = logged.occurred_at.astimezone(selectors.organization_zone(logged.organization_id)).date()
        episode.contact_communication_id, episode.contact_on = logged.communication_id, day
        episode.save(update_fields=["contact_communication", "contact_on", "updated_at"])
        what = f"interactive contact made: logged communication #{logged.communication_id}"
        _complete_step(actor, tracker, episode, "contact", day, what, episode.contact_due)
        return


# ---------------------------------------------------------------------------------------------------
# Linking an unmatched encounter
# ---------------------------------------------------------------------------------------------------


def link_encounter_patient(*, actor: Actor, encounter_id: int, patient_id: int) -> Encounter:
    """Say which patient an unmatched encounter is. The sender's identifier is remembered (its next
    messages match at once), other unmatched visits with that identifier are linked too, the review tasks
    are closed, and a qualifying discharge starts TCM."""
    _require(actor, Permission.ENCOUNTER_MANAGE)
    organization_id = _organization_id(actor)
    pk = selectors.parse_id(encounter_id)
    with transaction.atomic():
        encounter = (
            None
            if pk is None
            else selectors.encounter_queryset(actor).select_for_update().filter(pk=pk).first()
        )
        if encounter is None:
            raise EncounterNotFound(f"No encounter with id {encounter_id}.")
        if encounter.patient_id is not None:
            raise AlreadyLinked("This visit is already linked to a patient.")
        patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="link encounter")
        if patient.status == PatientStatus.MERGED:
            raise ValidationFailed(
                "That record was merged into another one; link the surviving record.", field="patient"
            )
        ext = ExternalId(encounter.external_patient_id, encounter.external_id_authority)
        existing = ExternalPatientLink.objects.filter(
            organization_id=organization_id, authority=ext.authority, value=ext.value
        ).first()
        if existing is not None and existing.patient_id != patient.pk:
            raise AlreadyLinked(
                f"The hospital's identifier {ext.value} already belongs to another patient here.",
                field="patient",
            )
        warnings: list[str] = []
        _remember(actor, organization_id, ext, patient.pk, warnings)
        siblings = list(
            Encounter.objects.select_for_update()
            .filter(
                organization_id=organization_id,
                patient__isnull=True,
                external_id_authority=ext.authority,
                external_patient_id=ext.value,
            )
            .order_by("pk")
        )
        zone = selectors.organization_zone(organization_id)
        for visit in siblings:
            _link_one(actor, visit, patient.pk, patient.mrn, zone)
        encounter.refresh_from_db()
    return encounter


def _link_one(actor: Actor, encounter: Encounter, patient_id: int, mrn: str, zone: ZoneInfo) -> None:
    encounter.patient_id = patient_id
    encounter.version += 1
    encounter.save(update_fields=["patient", "version", "updated_at"])
    EncounterEvent.objects.create(
        encounter=encounter,
        event_type="link",
        occurred_at=clock.now(),
        summary=f"Linked to patient {mrn} by {actor.username}.",
    )
    audit.record(
        actor=actor,
        action=AuditAction.ENCOUNTER_PATIENT_CHANGED,
        patient_id=patient_id,
        obj=encounter,
        detail={"linked": True},
    )
    keys = [f"hl7-match:{encounter.pk}"]
    if encounter.discharge_at is not None:
        keys.append(f"discharge-unmatched:{encounter.pk}:{encounter.discharge_at.date().isoformat()}")
    worklist.close_tasks_by_keys(
        actor=actor, dedupe_keys=keys, status=TaskStatus.DONE, reason=f"Linked to patient {mrn}."
    )
    _start_tcm(actor, encounter, zone)


# ---------------------------------------------------------------------------------------------------
# Patient merges
# ---------------------------------------------------------------------------------------------------


def move_encounters_on_merge(actor: Actor, source: models.Model, target: models.Model) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's encounters, TCM
    episodes and learnt identifiers (inside the merge's transaction, which writes the audit rows)."""
    Encounter.objects.filter(patient_id=source.pk).update(patient_id=target.pk, version=F("version") + 1)
    TcmEpisode.objects.filter(patient_id=source.pk).update(patient_id=target.pk)
    ChecklistItem.objects.filter(patient_id=source.pk).update(patient_id=target.pk)
    TransferPackage.objects.filter(patient_id=source.pk).update(patient_id=target.pk)
    ExternalPatientLink.objects.filter(patient_id=source.pk).update(patient_id=target.pk)


# ---------------------------------------------------------------------------------------------------
# Discharge planning: the checklist and records-transfer packages
# ---------------------------------------------------------------------------------------------------

MAX_CHECKLIST_NOTE = 500


def _display_name(actor: Actor) -> str:
    if actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id).only("first_name", "last_name", "username").first()
        if user is not None:
            return user.display_name[:150]
    return actor.username[:150]


def _planned_encounter(actor: Actor, encounter_id: Any) -> Encounter:
    """The encounter, locked, when its checklist may be worked: in scope, linked, an inpatient stay (or a
    visit with TCM) that was not cancelled."""
    pk = selectors.parse_id(encounter_id)
    encounter = (
        None if pk is None else selectors.encounter_queryset(actor).select_for_update().filter(pk=pk).first()
    )
    if encounter is None:
        raise EncounterNotFound(f"No encounter with id {encounter_id}.")
    if encounter.patient_id is None:
        raise EncounterNotLinked("This visit is not linked to a patient yet; link it first.")
    has_tcm = encounter.tcm_episodes.filter(status=TcmStatus.ACTIVE).exists()
    if not rules.checklist_applies(
        encounter_class=encounter.encounter_class,
        status=encounter.status,
        has_patient=True,
        has_tcm=has_tcm,
    ):
        raise ValidationFailed(
            "Discharge planning applies to inpatient stays (or visits with TCM) that were not cancelled."
        )
    return encounter


def _checklist_snapshot(item: ChecklistItem | None) -> dict[str, Any]:
    if item is None:
        return {"status": ChecklistStatus.OPEN}
    return {
        "status": item.status,
        "note": item.note,
        "appointment_id": item.appointment_id,
        "package_id": item.package_id,
    }


def set_checklist_item(
    *,
    actor: Actor,
    encounter_id: int,
    item: str,
    status: str,
    note: str = "",
    appointment_id: int | None = None,
    package_id: int | None = None,
) -> ChecklistItem:
    """Mark one discharge-planning item done, not needed (a note says why) or back to do, with who and
    when. "Follow-up booked" may name the patient's appointment after the discharge; "records sent" the
    transfer package that went out. A timeline row and a DISCHARGE_ITEM_UPDATE audit row (before and
    after) are written with it."""
    _require(actor, Permission.DISCHARGE_PLAN)
    organization_id = _organization_id(actor)
    if item not in ChecklistItemCode.values:
        raise ChecklistItemNotFound(f"{item!r} is not an item of the discharge checklist.", field="item")
    if status not in ChecklistStatus.values:
        raise ValidationFailed(f"{status!r} is not a checklist status.", field="status")
    if not isinstance(note, str) or len(note.strip()) > MAX_CHECKLIST_NOTE or "\x00" in note:
        raise ValidationFailed(f"The note is text of at most {MAX_CHECKLIST_NOTE} characters.", field="note")
    note = note.strip()
    if status == ChecklistStatus.NOT_NEEDED and not note:
        raise ValidationFailed("Say why the item is not needed.", field="note")
    if appointment_id is not None and item != ChecklistItemCode.FOLLOW_UP:
        raise ValidationFailed("Only the follow-up item names an appointment.", field="appointment")
    if package_id is not None and item != ChecklistItemCode.RECORDS:
        raise ValidationFailed("Only the records item names a transfer package.", field="package")
    if status != ChecklistStatus.DONE and (appointment_id is not None or package_id is not None):
        raise ValidationFailed("Only a done item points at an appointment or a package.", field="status")
    with transaction.atomic():
        encounter = _planned_encounter(actor, encounter_id)
        patient_id = encounter.patient_id or 0  # linked: _planned_encounter refuses unlinked visits
        if appointment_id is not None:
            appointment_ok = (
                scheduling_selectors.appointment_queryset(actor)
                .filter(pk=selectors.parse_id(appointment_id) or 0, patient_id=patient_id)
                .exists()
            )
            if not appointment_ok:
                raise ValidationFailed("That is not one of this patient's appointments.", field="appointment")
        if (
            package_id is not None
            and not TransferPackage.objects.filter(
                pk=selectors.parse_id(package_id) or 0, encounter=encounter
            ).exists()
        ):
            raise PackageNotFound("That is not a transfer package of this visit.", field="package")
        row = ChecklistItem.objects.select_for_update().filter(encounter=encounter, item=item).first()
        before = _checklist_snapshot(row)
        now = clock.now()
        if row is None:
            row = ChecklistItem(organization_id=organization_id, encounter=encounter, item=item)
        else:
            row.version += 1
        row.patient_id = patient_id
        row.status = status
        row.note = note
        row.appointment_id = appointment_id
        row.package_id = package_id
        if status == ChecklistStatus.OPEN:
            row.decided_by_id, row.decided_by_name, row.decided_at = None, "", None
        else:
            row.decided_by_id, row.decided_by_name, row.decided_at = actor.user_id, _display_name(actor), now
        row.save()
        label = ChecklistItemCode(item).label
        EncounterEvent.objects.create(
            encounter=encounter,
            event_type="checklist",
            occurred_at=now,
            summary=_clip(
                f"Discharge checklist: {label} — {ChecklistStatus(status).label.lower()}"
                f" ({_display_name(actor)}){': ' + note if note else ''}",
                300,
            ),
        )
        audit.record(
            actor=actor,
            action=AuditAction.DISCHARGE_ITEM_UPDATE,
            patient_id=encounter.patient_id,
            obj=row,
            detail={
                "encounter_id": encounter.pk,
                "item": item,
                "before": before,
                "after": _checklist_snapshot(row),
            },
        )
    return row


def record_transfer_package(
    *, actor: Actor, encounter_id: int, identifier: str, sha256: str, sections: dict[str, int]
) -> TransferPackage:
    """Remember a records-transfer package produced for a linked encounter (the FHIR document Bundle
    interop built): its identifier, SHA-256 and what it held. TRANSFER_PACKAGE_CREATE audit row."""
    _require(actor, Permission.ENCOUNTER_VIEW)
    organization_id = _organization_id(actor)
    if not identifier or len(identifier) > 100 or len(sha256) != 64:
        raise ValidationFailed("A package needs its identifier and SHA-256.")
    pk = selectors.parse_id(encounter_id)
    with transaction.atomic():
        encounter = None if pk is None else selectors.encounter_queryset(actor).filter(pk=pk).first()
        if encounter is None:
            raise EncounterNotFound(f"No encounter with id {encounter_id}.")
        if encounter.patient_id is None:
            raise EncounterNotLinked("This visit is not linked to a patient yet; link it first.")
        package = TransferPackage.objects.create(
            organization_id=organization_id,
            encounter=encounter,
            patient_id=encounter.patient_id,
            identifier=identifier,
            sha256=sha256,
            sections=sections,
            produced_by_id=actor.user_id,
            produced_by_name=_display_name(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.TRANSFER_PACKAGE_CREATE,
            patient_id=encounter.patient_id,
            obj=package,
            detail={
                "encounter_id": encounter.pk,
                "identifier": identifier,
                "sha256": sha256,
                "sections": sections,
            },
        )
    return package


__all__ = [
    "FEED_PERMISSIONS",
    "FeedOrganization",
    "feed_actor",
    "feed_organization",
    "link_encounter_patient",
    "move_encounters_on_merge",
    "primary_identifier",
    "receive_message",
    "receive_messages",
    "record_transfer_package",
    "set_checklist_item",
    "set_tcm_complexity",
]
