"""Worklist fixtures: staff of every role in one organization, a patient, and a task builder that goes
through the service like every other caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.patients.models import Patient
from caredesk.worklist import clock, services
from caredesk.worklist.choices import TaskQueue
from caredesk.worklist.models import Task
from tests.patients.factories import make_patient

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # a Monday


@pytest.fixture
def frozen_now(monkeypatch) -> dt.datetime:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


def staff_user(organization: Organization, role: str, username: str) -> User:
    """A staff user without a usable password (tests sign in with force_login; hashing is slow)."""
    return User.objects.create_user(
        username=username,
        password=None,
        organization=organization,
        role=role,
        first_name=role.replace("_", " ").title(),
        last_name="Tester",
    )


@pytest.fixture
def staff(org) -> dict[str, User]:
    """One user of every staff role in `org`, by role."""
    return {role: staff_user(org, role, f"w-{role}") for role in Role.values if role != Role.PATIENT}


@pytest.fixture
def actors(staff, actor_of) -> dict[str, Actor]:
    return {role: actor_of(user) for role, user in staff.items()}


@pytest.fixture
def coord(actors) -> Actor:
    return actors[Role.COORDINATOR]


@pytest.fixture
def patient(coord) -> Patient:
    return make_patient(coord, family_name="Worklistson", given_name="Wanda")


@pytest.fixture
def stranger(other_org, actor_of) -> Actor:
    """A coordinator of the other organization."""
    return actor_of(staff_user(other_org, Role.COORDINATOR, "w-stranger"))


@pytest.fixture
def other_patient(stranger) -> Patient:
    return make_patient(stranger, family_name="Elsewhere")


def due_in(hours: float) -> dt.datetime:
    return clock.now() + dt.timedelta(hours=hours)


@pytest.fixture
def add_task(coord) -> Callable[..., Task]:
    """`add_task(title="Call", queue=..., due_in_hours=..., actor=..., **NewTask fields)`."""

    def add(actor: Actor | None = None, *, due_in_hours: float = 24, **fields: Any) -> Task:
        fields.setdefault("title", "Call the patient back")
        fields.setdefault("queue", TaskQueue.CARE_COORDINATION)
        fields.setdefault("due_at", due_in(due_in_hours))
        return services.create_task(actor=actor or coord, data=services.NewTask(**fields)).task

    return add


def local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment)


__all__ = ["NOW", "due_in", "local", "staff_user"]
