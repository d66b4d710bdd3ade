"""Bearer tokens to Actors, for the JSON API (channel "api") and FHIR (channel "fhir").

`Authorization: Bearer <token>` with a token from `caredesk create_api_token USERNAME`. Sessions and
cookies are never looked at: a browser signed in to the pages cannot call the API without a token, so
the API needs no CSRF protection.
"""

from __future__ import annotations

from django.http import HttpRequest

from caredesk.accounts.services import actor_for_user, user_for_token
from caredesk.core.context import Actor
from caredesk.core.middleware import client_ip

MAX_TOKEN_LENGTH = 200


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def actor_for_token(request: HttpRequest, token: str, *, channel: str) -> Actor | None:
    """The Actor behind a token (client IP and request id from the request), or None when the token is
    unknown, expired, revoked or idle too long, or its user is inactive."""
    user = user_for_token(token)
    if user is None:
        return None
    return actor_for_user(
        user, ip=client_ip(request), request_id=getattr(request, "request_id", None), channel=channel
    )


def authenticate(request: HttpRequest, *, channel: str) -> Actor | None:
    token = bearer_token(request)
    return None if token is None else actor_for_token(request, token, channel=channel)
