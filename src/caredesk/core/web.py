"""What every app's views share: the request's Actor, and a service's refusal put on the form."""

from __future__ import annotations

from typing import Protocol

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from .context import Actor
from .errors import DomainError, Forbidden, NotFound


class ServiceErrorForm(Protocol):
    def add_service_error(self, field: str | None, message: str) -> None: ...


def request_actor(request: HttpRequest) -> Actor:
    """The Actor that `require_permission` built for this request."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def refusal_status(form: ServiceErrorForm, exc: DomainError, *, any_not_found_is_404: bool = False) -> int:
    """Put a service's refusal on the form and answer its status. A record outside the actor's scope is a
    404 (a NotFound naming a form field is that field's error, unless `any_not_found_is_404`); a
    Forbidden is a 403."""
    if isinstance(exc, NotFound) and (any_not_found_is_404 or exc.field is None):
        raise Http404(exc.message) from exc
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message) from exc
    form.add_service_error(exc.field, exc.message)
    return exc.http_status
