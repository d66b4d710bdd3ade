"""Interop fixtures: real users with real bearer tokens, and clients that send them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Role, permissions_for
from caredesk.accounts.services import create_api_token
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import Actor, system_actor
from caredesk.patients.models import Patient
from tests.patients.factories import make_patient
from tests.practitioners.conftest import (  # noqa: F401  (shared practitioner fixtures)
    add_practitioner,
    admin_actor,
    admin_user,
    other_admin_actor,
)

FHIR_JSON = "application/fhir+json"


def token_for(user: User) -> str:
    actor = system_actor(
        organization_id=user.organization_id, permissions=permissions_for(Role.ADMINISTRATOR)
    )
    _token, secret = create_api_token(actor=actor, username=user.username)
    return secret


class TokenClient(Client):
    """A test client that sends `Authorization: Bearer <token>` (and JSON by default)."""

    def __init__(self, token: str, **defaults: Any) -> None:
        super().__init__(headers={"Authorization": f"Bearer {token}"}, **defaults)

    def post_json(self, path: str, data: Any, **extra: Any) -> Any:
        return self.post(path, data=data, content_type=extra.pop("content_type", "application/json"), **extra)

    def patch_json(self, path: str, data: Any, **extra: Any) -> Any:
        return self.patch(path, data=data, content_type="application/json", **extra)


@pytest.fixture
def client_for(db) -> Callable[[User], TokenClient]:
    return lambda user: TokenClient(token_for(user))


@pytest.fixture
def staff(make_user, org) -> Callable[[str], User]:
    """`staff(Role.NURSE)`: a user of the main organization with that role."""
    return lambda role: make_user(role, org)


@pytest.fixture
def api(client_for, coordinator) -> TokenClient:
    """The coordinator's client (search, read, create, edit, chart)."""
    return client_for(coordinator)


@pytest.fixture
def other_api(client_for, make_user, other_org) -> TokenClient:
    """A coordinator of another organization."""
    return client_for(make_user(Role.COORDINATOR, other_org, username="othercoord"))


@pytest.fixture
def patient(coordinator_actor: Actor) -> Patient:
    return make_patient(
        coordinator_actor,
        given_name="José",
        family_name="García",
        birth_date=dt.date(1980, 2, 29),
        phones=["(555) 010-1111"],
    )


@pytest.fixture
def other_patient(make_user, other_org: Organization, actor_of) -> Patient:
    actor = actor_of(make_user(Role.COORDINATOR, other_org, username="otherregistrar"))
    return make_patient(actor, given_name="Other", family_name="Person", birth_date=dt.date(1975, 5, 5))


def audit_rows(action: AuditAction, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=int(action), **filters).order_by("id"))
