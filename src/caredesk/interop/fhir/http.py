"""The HTTP side of the FHIR facade: one Django view per URL dispatching on the method, bearer-token
authentication (channel "fhir"), the declared permission, JSON bodies, and errors as OperationOutcome.

This is the one place where FHIR maps errors: a handler raises FhirError or a domain error, and the
dispatcher answers with the status and an OperationOutcome. Nothing a client sends produces a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError
from caredesk.interop.auth import authenticate
from caredesk.interop.inputs import contains_nul
from caredesk.interop.registry import DeclaredEndpoint, authorize, declare

from .outcomes import FhirError, Issue, from_domain_error, outcome

logger = logging.getLogger(__name__)

FHIR_PREFIX = "/fhir"
FHIR_JSON = "application/fhir+json"
BODY_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
MAX_ISSUES = 20

Model = TypeVar("Model", bound=FHIRAbstractModel)
FhirHandler = Callable[..., HttpResponse]


# --- responses ---------------------------------------------------------------------------------------


def fhir_response(
    resource: FHIRAbstractModel | None, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    body = "" if resource is None else resource.model_dump_json(exclude_comments=True)
    response = HttpResponse(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: FhirError) -> HttpResponse:
    response = fhir_response(outcome(error.issues), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="caredesk"'
    return response


# --- declared operations and the dispatching view ----------------------------------------------------


@dataclass(frozen=True)
class Operation:
    endpoint: DeclaredEndpoint
    handler: FhirHandler


def operation(
    method: str,
    path: str,
    permission: Permission | None,
    *,
    also: Iterable[Permission] = (),
    summary: str = "",
) -> Callable[[FhirHandler], Operation]:
    """Declare `method` on `/fhir<path>` with the permission it needs. A handler is called as
    `handler(request, actor, **url_kwargs)` (actor None only for public operations)."""
    declared = declare("fhir", method, FHIR_PREFIX + path, permission, also=also, summary=summary)

    def decorator(handler: FhirHandler) -> Operation:
        return Operation(declared, handler)

    return decorator


def _authorized_actor(request: HttpRequest, endpoint: DeclaredEndpoint) -> Actor | None:
    if endpoint.is_public:
        return None
    actor = authenticate(request, channel="fhir")
    if actor is None:
        raise FhirError.single(
            401,
            "login",
            "Send a valid API token: 'Authorization: Bearer <token>'.",
            details_code="not_authenticated",
        )
    authorize(actor, endpoint)
    return actor


def fhir_view(*operations: Operation) -> Callable[..., HttpResponse]:
    """One URL's view: picks the operation for the method, authenticates, authorizes, runs it, and turns
    every refusal into an OperationOutcome. The view carries its declarations for the permission matrix
    (`declared_endpoints`, and `required_permission` of its GET, or its only operation)."""
    by_method = {op.endpoint.method: op for op in operations}

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        op = by_method.get(request.method or "")
        if op is None:
            allowed = ", ".join(sorted(by_method))
            response = error_response(
                FhirError.single(
                    405, "not-supported", f"{request.method} is not supported here; use {allowed}."
                )
            )
            response["Allow"] = allowed
            return response
        try:
            actor = _authorized_actor(request, op.endpoint)
            return op.handler(request, actor, **kwargs)
        except FhirError as exc:
            return error_response(exc)
        except DomainError as exc:
            return error_response(from_domain_error(exc))
        except RequestDataTooBig:
            return error_response(FhirError.single(413, "too-costly", "The request body is too large."))
        except Exception:
            logger.exception("Unexpected error in FHIR %s %s", request.method, request.path)
            return error_response(
                FhirError.single(500, "exception", "Something went wrong on our side; it was logged.")
            )

    primary = by_method.get("GET") or operations[0]
    view.declared_endpoints = tuple(op.endpoint for op in operations)  # type: ignore[attr-defined]
    view.required_permission = primary.endpoint.permission  # type: ignore[attr-defined]
    view.is_public = all(op.endpoint.is_public for op in operations)  # type: ignore[attr-defined]
    view.is_interop = True  # type: ignore[attr-defined]
    return view


def unknown_path(request: HttpRequest, **kwargs: str) -> HttpResponse:
    """Anything under /fhir/ that is not an endpoint: 404 as an OperationOutcome (public: shows nothing)."""
    return error_response(FhirError.single(404, "not-found", f"There is no FHIR endpoint at {request.path}."))


unknown_path.required_permission = None  # type: ignore[attr-defined]
unknown_path.is_public = True  # type: ignore[attr-defined]
unknown_path.is_interop = True  # type: ignore[attr-defined]


# --- requests ----------------------------------------------------------------------------------------


def base_url(request: HttpRequest) -> str:
    """The service base, e.g. `https://host/fhir`, for fullUrl, Location and links."""
    return request.build_absolute_uri(FHIR_PREFIX)


def search_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """The search parameters: the query string, plus a form body for `POST [type]/_search`."""
    pairs = [(name, value) for name, values in request.GET.lists() for value in values]
    if request.method == "POST":
        if request.content_type != "application/x-www-form-urlencoded":
            raise FhirError.single(
                415, "not-supported", "POST _search takes an application/x-www-form-urlencoded body."
            )
        pairs += [(name, value) for name, values in request.POST.lists() for value in values]
    return pairs


def prefers(request: HttpRequest, name: str) -> str:
    """The value of one `Prefer` token, e.g. prefers(request, "return") -> "minimal"."""
    for part in request.headers.get("Prefer", "").replace(";", ",").split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == name:
            return value.strip().strip('"').lower()
    return ""


def prefers_strict(request: HttpRequest) -> bool:
    return prefers(request, "handling") == "strict"


def read_json_body(request: HttpRequest, resource_type: str) -> dict[str, Any]:
    """The body as a JSON object of `resource_type`: 415 for another content type, 400 for bad JSON."""
    if request.content_type not in BODY_TYPES:
        raise FhirError.single(
            415,
            "not-supported",
            f"Send the resource as {FHIR_JSON} (not {request.content_type or 'nothing'}).",
        )
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FhirError.single(400, "structure", "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise FhirError.single(400, "structure", "The body must be a JSON object (one FHIR resource).")
    if contains_nul(data):
        raise FhirError.single(400, "value", "Null characters (U+0000) are not allowed in a resource.")
    if data.get("resourceType") != resource_type:
        raise FhirError.single(
            400,
            "invalid",
            f"Expected a {resource_type} resource, got resourceType {data.get('resourceType')!r}.",
            expression=("resourceType",),
        )
    return data


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """The resource validated against its R4B definition; 400 with one issue per problem otherwise."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        resource_type = str(data.get("resourceType", "Resource"))
        issues = [
            _validation_issue(resource_type, error) for error in exc.errors(include_url=False)[:MAX_ISSUES]
        ]
        raise FhirError(400, issues) from exc
    except (ValueError, TypeError) as exc:
        raise FhirError.single(400, "invalid", f"The {model.__name__} resource is not valid: {exc}") from exc


def _validation_issue(resource_type: str, error: Mapping[str, Any]) -> Issue:
    path = resource_type
    for part in error.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = str(error.get("type", ""))
    if kind in ("extra_forbidden", "model_type", "list_type", "dict_type"):
        code = "structure"
    elif "missing" in kind:
        code = "required"
    else:
        code = "value"
    return Issue(code, f"{path}: {error.get('msg', 'invalid')}", expression=(path,))
