"""Transitions fixtures: the feed's actor, a registered patient, staff, a frozen clock, and a builder of
ADT events (the values interop.hl7 hands over) with a plausible raw text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.patients.models import Patient
from caredesk.transitions import clock as transitions_clock
from caredesk.transitions import services
from caredesk.transitions.schemas import (
    AdtEvent,
    ExternalId,
    MergeData,
    MessageHeader,
    PersonData,
    Receipt,
    VisitData,
)
from caredesk.worklist import clock as worklist_clock
from tests.patients.factories import make_patient
from tests.worklist.conftest import staff_user

ZONE = ZoneInfo("America/New_York")
HOSPITAL = "GHH"
SENDER = "ADT1|GHH"


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZONE)


@pytest.fixture
def clock_at(monkeypatch) -> Callable[[dt.datetime], None]:
    """`clock_at(moment)`: both the worklist's and transitions' clocks read `moment` from now on."""

    def set_clock(moment: dt.datetime) -> None:
        monkeypatch.setattr(worklist_clock, "now", lambda: moment)
        monkeypatch.setattr(transitions_clock, "now", lambda: moment)

    set_clock(local(2026, 11, 25, 12))
    return set_clock


@pytest.fixture
def feed(org) -> Actor:
    return services.feed_actor(organization_id=org.pk)


@pytest.fixture
def coordinator_user(org) -> User:
    return staff_user(org, Role.COORDINATOR, "t-coord")


@pytest.fixture
def coord(coordinator_user, actor_of) -> Actor:
    return actor_of(coordinator_user)


@pytest.fixture
def patient(coord) -> Patient:
    return make_patient(
        coord, given_name="Jane", family_name="Doe", birth_date=dt.date(1950, 1, 2), sex="female"
    )


def hospital_id(value: str = "H123", authority: str = HOSPITAL, type_code: str = "MR") -> ExternalId:
    return ExternalId(value=value, authority=authority, type_code=type_code)


def person(
    *ids: ExternalId,
    family: str = "Doe",
    given: str = "Jane",
    birth: dt.date | None = dt.date(1950, 1, 2),
    **more: Any,
) -> PersonData:
    return PersonData(
        identifiers=ids or (hospital_id(),),
        family_name=family,
        given_name=given,
        birth_date=birth,
        sex="female",
        **more,
    )


def adt(
    trigger: str,
    control_id: str,
    *,
    who: PersonData | None = None,
    visit_number: str = "V100",
    patient_class: str = "I",
    admit: dt.datetime | None = None,
    discharge: dt.datetime | None = None,
    disposition: str = "",
    disposition_text: str = "",
    merges: tuple[MergeData, ...] = (),
    with_visit: bool = True,
    sender: str = SENDER,
) -> AdtEvent:
    visit = (
        VisitData(
            visit_number=visit_number,
            patient_class=patient_class,
            point_of_care="4E",
            room="136",
            bed="B",
            facility="GHH",
            admit_at=admit or local(2026, 11, 20, 8),
            discharge_at=discharge,
            disposition_code=disposition,
            disposition_text=disposition_text,
        )
        if with_visit
        else None
    )
    return AdtEvent(
        header=MessageHeader(
            sender=sender, control_id=control_id, message_type="ADT", trigger=trigger, version="2.5.1"
        ),
        event_at=discharge or admit,
        person=who if who is not None else (person() if not merges else None),
        visit=visit,
        merges=merges,
    )


@pytest.fixture
def receive(feed) -> Callable[[AdtEvent], Receipt]:
    def send(event: AdtEvent) -> Receipt:
        raw = (
            f"MSH|^~\\&|ADT1|GHH|CAREDESK|RSH|||ADT^{event.header.trigger}|{event.header.control_id}|P|2.5.1"
        )
        return services.receive_message(actor=feed, header=event.header, raw=raw, event=event)

    return send


__all__ = ["HOSPITAL", "SENDER", "ZONE", "adt", "hospital_id", "local", "person"]
