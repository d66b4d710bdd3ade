"""Education fixtures: staff who assign and keep the library, patients (one with e-mail consent), a small
library; all set up through the services."""

from __future__ import annotations

import pytest

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.education import services
from caredesk.education.models import Material
from caredesk.patients.models import Patient
from tests.patients.factories import make_patient
from tests.worklist.conftest import staff_user


@pytest.fixture
def coordinator_user(org) -> User:
    return staff_user(org, Role.COORDINATOR, "ed-coord")


@pytest.fixture
def coord(coordinator_user, actor_of) -> Actor:
    return actor_of(coordinator_user)


@pytest.fixture
def front_desk(org, actor_of) -> Actor:
    return actor_of(staff_user(org, Role.FRONT_DESK, "ed-front"))


@pytest.fixture
def stranger(other_org, actor_of) -> Actor:
    return actor_of(staff_user(other_org, Role.COORDINATOR, "ed-stranger"))


@pytest.fixture
def patient(coord) -> Patient:
    return make_patient(
        coord,
        given_name="Elena",
        family_name="Lectora",
        email="elena@example.org",
        email_allowed=True,
        preferred_language="es",
    )


@pytest.fixture
def other_patient(coord) -> Patient:
    return make_patient(coord, given_name="Otto", family_name="Neighbour")


def add(actor: Actor, title: str, codes: str = "E11", language: str = "en", level: str = "easy") -> Material:
    return services.add_material(
        actor=actor,
        title=title,
        language=language,
        reading_level=level,
        source="Caredesk test authors",
        condition_codes=codes,
        body=f"{title}: check your sugar every day.",
    )


@pytest.fixture
def library(coord) -> dict[str, Material]:
    return {
        "diabetes_en": add(coord, "Diabetes basics"),
        "diabetes_es": add(coord, "Diabetes: lo básico", language="es"),
        "diabetes_detailed_en": add(coord, "Diabetes in depth", level="detailed"),
        "heart_en": add(coord, "Heart failure basics", codes="I50"),
    }
