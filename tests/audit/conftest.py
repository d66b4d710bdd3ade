"""Audit fixtures: administrators of two organizations and a way to write events as if they happened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from caredesk.accounts.models import Organization, User
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.audit.services import build
from caredesk.core.context import Actor


@pytest.fixture
def admin_user(make_user, org: Organization) -> User:
    return make_user(Role.ADMINISTRATOR, org, username="auditor")


@pytest.fixture
def admin_client(client_as, admin_user):
    return client_as(admin_user)


@pytest.fixture
def other_admin(make_user, other_org: Organization) -> User:
    return make_user(Role.ADMINISTRATOR, other_org, username="otherauditor")


@pytest.fixture
def add_event(db) -> Callable[..., AuditEvent]:
    """Append one event through the audit service, then (for tests only) place it at `at` in time.

    The row is built with `build()` and saved once, so no UPDATE ever runs on the table."""

    def add(actor: Actor, action: AuditAction, *, at: dt.datetime | None = None, **kwargs) -> AuditEvent:
        event = build(actor=actor, action=action, **kwargs)
        if at is not None:
            event.occurred_at = at
        event.save(force_insert=True)
        return event

    return add
