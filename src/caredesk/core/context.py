"""Who is acting, from where: the value every service takes as its keyword-only `actor`.

Built once per request (or once per CLI run / feed message) and passed down; services never read the
request themselves. It carries what the audit trail needs (user, role, organization, IP, request id) and
what authorization needs (the permission set, the organization and, for portal users, their patient).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    organization_id: int | None
    permissions: frozenset[str] = field(default_factory=frozenset)
    patient_id: int | None = None  # set for portal users: bound to their own record
    ip: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    channel: str = "web"  # web, api, fhir, cli, hl7, task

    def has(self, permission: str) -> bool:
        return str(permission) in self.permissions

    def require(self, permission: str) -> None:
        if not self.has(permission):
            raise PermissionDenied(f"Missing permission {permission}")

    @property
    def is_portal(self) -> bool:
        return self.patient_id is not None


def system_actor(
    *,
    organization_id: int | None,
    permissions: frozenset[str],
    channel: str = "cli",
    username: str = "system",
) -> Actor:
    """An actor for work no person started (seeding, feeds, scheduled tasks)."""
    return Actor(
        user_id=None,
        username=username,
        role="system",
        organization_id=organization_id,
        permissions=permissions,
        channel=channel,
    )
