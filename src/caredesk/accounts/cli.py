"""What management commands share about accounts."""

from __future__ import annotations

import getpass
from collections.abc import Iterable

from django.core.management.base import CommandError

from caredesk.core.context import Actor, system_actor
from caredesk.core.errors import NotFound

from . import services
from .models import Organization


def organization_of(code: str) -> Organization:
    """A command's --organization: the organization with that short code, or a CommandError saying none
    has it (the command then exits non-zero and changes nothing)."""
    try:
        return services.organization_by_code(code)
    except NotFound as exc:
        raise CommandError(exc.message) from exc


def operator() -> str:
    """Who ran the command, as the audit row's actor name: the OS account when it can be told."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def cli_actor(organization: Organization, permissions: Iterable[str]) -> Actor:
    """The command's actor in `organization`, holding only `permissions`, audited as the operator."""
    return system_actor(
        organization_id=organization.pk,
        permissions=frozenset(str(p) for p in permissions),
        channel="cli",
        username=operator(),
    )
