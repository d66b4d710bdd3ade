"""JSON API errors: every refusal is `{"code": ..., "message": ...}` (plus `field` when one field is at fault)
with its 4xx status. This is the one place where the API maps errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from caredesk.core.errors import DomainError
from caredesk.patients.errors import DuplicateSuspected

from .schemas import candidate_summaries

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    **extra: Any,
) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    body.update(extra)
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="caredesk"'
    return response


def domain_error_response(exc: DomainError) -> JsonResponse:
    if isinstance(exc, DuplicateSuspected):
        return error_response(
            exc.http_status, exc.code, exc.message, candidates=candidate_summaries(exc.candidates)
        )
    details = {key: value for key, value in exc.details.items() if _is_plain(value)}
    return error_response(exc.http_status, exc.code, exc.message, field=exc.field, details=details)


def _is_plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


def field_path(location: Sequence[Any]) -> str:
    """ninja's error location as a field path: ("body", "payload", "telecoms", 0, "value") ->
    "telecoms[0].value"; ("query", "page") -> "page"."""
    parts = list(location)
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def validation_error_response(exc: ValidationError) -> JsonResponse:
    errors = [
        {"field": field_path(error.get("loc", ())), "message": str(error.get("msg", "Invalid value."))}
        for error in exc.errors
    ]
    first = errors[0] if errors else {"field": "", "message": "The request is not valid."}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return error_response(400, "validation_error", message, field=first["field"] or None, errors=errors)


def install(api: NinjaAPI) -> None:
    """Replace ninja's default handlers (422 with `detail`, re-raised 500s) with ours."""

    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return domain_error_response(exc)

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return validation_error_response(exc)

    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            401, "not_authenticated", "Send a valid API token: 'Authorization: Bearer <token>'."
        )

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        if exc.status_code == 400 and "parse" in exc.message.lower():
            return error_response(400, "invalid_json", "The request body is not valid JSON.")
        return error_response(exc.status_code, code, exc.message)

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, "not_found", "There is nothing at this address.")

    def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(413, "too_large", "The request body is too large.")

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unexpected error in %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "server_error", "Something went wrong on our side; it was logged.")

    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (DomainError, on_domain_error),
        (ValidationError, on_validation_error),
        (AuthenticationError, on_authentication_error),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (RequestDataTooBig, on_too_large),
        (Exception, on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
