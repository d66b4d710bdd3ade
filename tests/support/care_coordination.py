"""The matrix world's care coordination (worklist and transitions of care), built on first use through the
services: an HL7 discharge of the sample patient (an inpatient stay, home yesterday) received from a
hospital, which gives an encounter, its inbound message and a TCM episode with its worklist tasks; and one
more task about the sample patient that every role allowed to open tasks may open.

That task sits in the front desk's queue and is assigned to the billing user: clinical roles see every
queue, the front desk sees its own queue, billing sees what is assigned to it (worklist.rules.ROLE_QUEUES).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.transitions import services as transitions
from caredesk.transitions.models import Encounter, InboundMessage, TcmEpisode
from caredesk.transitions.schemas import AdtEvent, ExternalId, MessageHeader, PersonData, VisitData
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskQueue
from caredesk.worklist.models import Task

if TYPE_CHECKING:
    from .world import World


@dataclass
class CareCoordination:
    encounter: Encounter
    message: InboundMessage
    episode: TcmEpisode
    task: Task


def care_of(world: World) -> CareCoordination:
    found = world.__dict__.get("_care")
    if found is None:
        found = _build(world)
        world.__dict__["_care"] = found
    return found


def _build(world: World) -> CareCoordination:
    patient = world.patient
    discharged = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    event = AdtEvent(
        header=MessageHeader(
            sender="ADT1|MATRIXHOSP", control_id="MATRIX-A03", message_type="ADT", trigger="A03"
        ),
        person=PersonData(
            identifiers=(ExternalId(patient.mrn, world.org.short_code, "MR"),),
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
        ),
        visit=VisitData(
            visit_number="MATRIX-V1",
            patient_class="I",
            admit_at=discharged - dt.timedelta(days=3),
            discharge_at=discharged,
            disposition_code="01",
        ),
    )
    receipt = transitions.receive_message(
        actor=transitions.feed_actor(organization_id=world.org.pk),
        header=event.header,
        raw=f"MSH|^~\\&|ADT1|MATRIXHOSP|CAREDESK|{world.org.short_code}|||ADT^A03|MATRIX-A03|P|2.5.1",
        event=event,
    )
    assert receipt.ack_code == "AA", receipt
    message = InboundMessage.objects.get(pk=receipt.message_id)
    encounter = Encounter.objects.get(pk=message.encounter_id)
    task = worklist.create_task(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        data=worklist.NewTask(
            title="Scan the discharge papers",
            queue=TaskQueue.FRONT_DESK,
            patient_id=patient.pk,
            assignee_id=world.users[Role.BILLING].pk,
        ),
    ).task
    return CareCoordination(encounter, message, encounter.tcm_episodes.get(), task)


def _next(world: World, name: str) -> int:
    counter: itertools.count[int] = world.__dict__.setdefault(name, itertools.count(1))
    return next(counter)


def fresh_task(world: World) -> Task:
    """Another task like the shared one (front desk queue, assigned to the billing user), for a call that
    changes what the next role's call would find (a status change, an assignment)."""
    return worklist.create_task(
        actor=actor_for_user(world.users[Role.COORDINATOR]),
        data=worklist.NewTask(
            title=f"Call the pharmacy #{_next(world, '_fresh_task_counter')}",
            queue=TaskQueue.FRONT_DESK,
            patient_id=world.patient.pk,
            assignee_id=world.users[Role.BILLING].pk,
        ),
    ).task


def fresh_unmatched_encounter(world: World) -> Encounter:
    """A discharge of someone the feed could not match (unknown identifier, name and birth date), waiting
    in the ADT queue to be linked."""
    number = _next(world, "_unmatched_counter")
    discharged = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    event = AdtEvent(
        header=MessageHeader(
            sender="ADT1|MATRIXHOSP", control_id=f"MATRIX-U{number}", message_type="ADT", trigger="A03"
        ),
        person=PersonData(
            identifiers=(ExternalId(f"H-UNMATCHED-{number}", "MATRIXHOSP", "MR"),),
            family_name="Zzyzx",
            given_name=f"Unmatched{number}",
            birth_date=dt.date(1931, 1, 1),
        ),
        visit=VisitData(
            visit_number=f"MATRIX-U{number}",
            patient_class="I",
            admit_at=discharged - dt.timedelta(days=2),
            discharge_at=discharged,
            disposition_code="01",
        ),
    )
    receipt = transitions.receive_message(
        actor=transitions.feed_actor(organization_id=world.org.pk),
        header=event.header,
        raw=f"MSH|^~\\&|ADT1|MATRIXHOSP|CAREDESK|{world.org.short_code}|||ADT^A03|MATRIX-U{number}|P|2.5.1",
        event=event,
    )
    assert receipt.ack_code == "AA", receipt
    encounter = Encounter.objects.get(pk=InboundMessage.objects.get(pk=receipt.message_id).encounter_id)
    assert encounter.patient_id is None, "expected the feed to leave it unmatched"
    return encounter
