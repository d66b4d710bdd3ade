"""Account use cases: building the Actor, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import NotFound
from caredesk.core.middleware import client_ip

from .models import ApiToken, User
from .permissions import Role, permissions_for

TOKEN_PREFIX = "cd_"  # noqa: S105 - a public prefix, not a secret


def actor_for_user(
    user: User, *, ip: str | None = None, request_id: str | None = None, channel: str = "web"
) -> Actor:
    """The Actor for a signed-in user. A user without an organization (or an inactive one) gets no
    permissions at all: deny by default."""
    perms = permissions_for(user.role) if user.is_active and user.organization_id else frozenset()
    kwargs = {"request_id": request_id} if request_id else {}
    return Actor(
        user_id=user.pk,
        username=user.username,
        role=user.role,
        organization_id=user.organization_id,
        permissions=perms,
        patient_id=user.patient_id if user.role == Role.PATIENT else None,
        ip=ip,
        channel=channel,
        **kwargs,
    )


def actor_for_request(request: HttpRequest, *, channel: str = "web") -> Actor:
    user = request.user
    assert isinstance(user, User)
    return actor_for_user(
        user, ip=client_ip(request), request_id=getattr(request, "request_id", None), channel=channel
    )


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, actor: Actor, username: str, name: str = "default") -> tuple[ApiToken, str]:
    """Create a bearer token for `username`. Returns the row and the secret (shown once, never stored)."""
    try:
        user = User.objects.get(username=username, is_active=True)
    except User.DoesNotExist as exc:
        raise NotFound(f"No active user named {username!r}", code="user_not_found") from exc
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:10], token_hash=_hash_token(secret))
    audit.record(
        actor=actor,
        action=AuditAction.API_TOKEN_CREATED,
        obj=token,
        detail={"for_user": user.username, "name": name},
    )
    return token, secret


def user_for_token(secret: str) -> User | None:
    """The active user behind a bearer token, or None. Tokens idle longer than the configured number of
    days, expired or revoked tokens are refused."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    try:
        token = ApiToken.objects.select_related("user").get(
            token_hash=_hash_token(secret), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:
        return None
    idle_limit = timedelta(days=settings.CAREDESK_API_TOKEN_IDLE_DAYS)
    if token.last_used_at and now - token.last_used_at > idle_limit:
        return None
    if not token.user.is_active:
        return None
    # Touch at most once a minute to keep reads cheap.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
