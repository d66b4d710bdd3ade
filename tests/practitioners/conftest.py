"""Practitioner fixtures: an administrator (who may edit the directory) and a helper that makes valid NPIs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.rules import npi_check_digit
from caredesk.practitioners.services import PractitionerInput, create_practitioner


def valid_npi(n: int) -> str:
    """The n-th valid NPI of a private series (first digit 1, check digit appended)."""
    first_nine = f"1{n:08d}"
    return first_nine + str(npi_check_digit(first_nine))


@pytest.fixture
def admin_user(make_user, org: Organization) -> User:
    return make_user(Role.ADMINISTRATOR, org, username="boss")


@pytest.fixture
def admin_actor(admin_user: User, actor_of) -> Actor:
    return actor_of(admin_user)


@pytest.fixture
def other_admin_actor(make_user, other_org: Organization, actor_of) -> Actor:
    return actor_of(make_user(Role.ADMINISTRATOR, other_org, username="otherboss"))


@pytest.fixture
def add_practitioner(db) -> Callable[..., Practitioner]:
    counter = {"n": 0}

    def add(actor: Actor, given: str = "Jane", family: str = "Doe", **kwargs) -> Practitioner:
        counter["n"] += 1
        data = PractitionerInput(
            given_name=given,
            family_name=family,
            npi=kwargs.pop("npi", valid_npi(counter["n"])),
            specialty=kwargs.pop("specialty", "family_medicine"),
            **kwargs,
        )
        return create_practitioner(actor=actor, data=data)

    return add
