"""Every URL the application answers, with the permission it declares.

Pages (channel "web") are found by walking the root URL resolver, nested includes too, and read the
`required_permission` that `accounts.decorators.require_permission` / `public` put on each view (through
`functools.wraps` chains, class-based views' `view_class`, and `functools.partial`).

The JSON API and FHIR (channels "api" and "fhir", bearer tokens) live under `api/` and `fhir/`; their
handlers declare what they need in `caredesk.interop.registry` (`declare(channel, method, path,
permission, also=...)`), read here through `caredesk.interop.permissions.declared_endpoints()`. Each
method a routed handler answers (django-ninja's operations, found from the URL pattern) must be declared,
and every declaration must be routed.

The Django admin (its own guard: config/admin.py and tests/admin_site) and static files are left out.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from caredesk.accounts.permissions import ROLE_PERMISSIONS, Permission

#: `<int:patient_id>` or `<patient_id>` in a Django route.
KWARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
#: URL prefixes served with bearer tokens, and their channel.
TOKEN_PREFIXES = {"api/": "api", "fhir/": "fhir"}
SKIPPED_PREFIXES = ("admin/", settings.STATIC_URL.lstrip("/"))
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Endpoint:
    """One HTTP method on one URL. `problem` says why it cannot be checked (no declared permission …)."""

    channel: str  # "web" (session), "api" or "fhir" (bearer token)
    method: str
    route: str  # the Django route without the leading slash: "patients/<int:patient_id>/"
    name: str = ""  # "namespace:name", "" when the pattern has no name
    permission: Permission | None = None  # None: public
    also: frozenset[Permission] = field(default_factory=frozenset)  # alternatives accepted (interop)
    problem: str = ""
    view: str = ""  # dotted name of the view, for messages
    catch_all: bool = False  # a public route that answers 404 for whatever it is asked

    @property
    def path(self) -> str:
        """The path with `{keyword}` placeholders, the form interop's registry uses."""
        return "/" + KWARG.sub(lambda m: "{" + m["name"] + "}", self.route)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0]

    @property
    def kwargs(self) -> tuple[str, ...]:
        return tuple(m["name"] for m in KWARG.finditer(self.route))

    @property
    def is_public(self) -> bool:
        return self.permission is None

    @property
    def uses_token(self) -> bool:
        return self.channel != "web"

    def allows(self, role: str) -> bool:
        """Whether a user of `role` holds what the endpoint declares."""
        if self.permission is None:
            return True
        granted = ROLE_PERMISSIONS.get(role, frozenset())
        return any(p in granted for p in {self.permission, *self.also})

    def url(self, values: Mapping[str, object]) -> str:
        return "/" + KWARG.sub(lambda m: str(values[m["name"]]), self.route)

    def names(self) -> tuple[str, ...]:
        """What the expectation tables may key this endpoint by: its URL name, then method and path."""
        return tuple(x for x in (self.name, self.key) if x)

    def __str__(self) -> str:
        return f"{self.key} [{self.name}]" if self.name else self.key


# --- walking the resolver ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str
    name: str
    callback: Callable[..., Any]
    is_regex: bool


def walk(
    patterns: Iterable[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[Route]:
    """Every URL pattern under `patterns`, with its full route and namespaced name."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        is_regex = not hasattr(pattern.pattern, "_route")
        if isinstance(pattern, URLResolver):
            inner = ":".join(x for x in (namespace, pattern.namespace or "") if x)
            for found in walk(pattern.url_patterns, route, inner):
                yield Route(found.route, found.name, found.callback, found.is_regex or is_regex)
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            yield Route(route, name, pattern.callback, is_regex)


_UNDECLARED = object()


def unwrapped(view: Any) -> Iterator[Any]:
    """The view and everything it wraps: `functools.wraps` chains, a class-based view's class, a partial's
    function."""
    seen: set[int] = set()
    queue = [view]
    while queue:
        obj = queue.pop(0)
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        queue += [getattr(obj, attr, None) for attr in ("__wrapped__", "view_class", "func")]


def declared_permission(view: Any) -> Any:
    """The `required_permission` a view carries (None for public), or _UNDECLARED."""
    for obj in unwrapped(view):
        if hasattr(obj, "required_permission"):
            return obj.required_permission
    return _UNDECLARED


def _view_name(view: Any) -> str:
    inner = view.func if isinstance(view, partial) else view
    return f"{getattr(inner, '__module__', '?')}.{getattr(inner, '__qualname__', type(inner).__name__)}"


def _ninja_path_view(view: Any) -> Any:
    """The django-ninja PathView behind a URL pattern's callback (a closure holds it), else None."""
    try:
        from ninja.operation import PathView
    except ImportError:  # pragma: no cover - ninja is a dependency
        return None
    for obj in unwrapped(view):
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                contents = cell.cell_contents
            except ValueError:
                continue
            if isinstance(contents, PathView):
                return contents
    return None


def _is_ninja_api_root(view: Any) -> bool:
    """django-ninja's root path, which only ever answers 404 (it exists for reversing URLs)."""
    try:
        from ninja.openapi.views import default_home
    except ImportError:  # pragma: no cover
        return False
    return any(isinstance(obj, partial) and obj.func is default_home for obj in unwrapped(view))


def _normalize(value: Any) -> tuple[Permission | None, str]:
    if value is None:
        return None, ""
    if isinstance(value, Permission):
        return value, ""
    try:
        return Permission(str(value)), ""
    except ValueError:
        return None, f"declares {value!r}, which is not a member of accounts.permissions.Permission"


_REGEX_SPECIALS = re.compile(r"[\\()\[\]{}?*+|^$]")


def _catch_all_example(route: str) -> str | None:
    """A path a catch-all regular-expression route answers ("fhir/^.*$" -> "fhir/no-such-thing"), or None
    when the route is not a plain prefix or catch-all."""
    example = route.replace("^", "").replace("$", "")
    for wildcard in (".*", ".+"):
        example = example.replace(wildcard, "no-such-thing")
    return None if _REGEX_SPECIALS.search(example) else example


# --- interop's declarations ----------------------------------------------------------------------


def token_declarations() -> list[Any]:
    """interop's declared JSON API and FHIR endpoints (empty while interop declares none)."""
    try:
        module = importlib.import_module("caredesk.interop.permissions")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("caredesk.interop"):
            return []
        raise
    return list(module.declared_endpoints())


def _same_path(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


# --- discovery -----------------------------------------------------------------------------------


def _token_channel(route: str) -> str | None:
    return next((channel for prefix, channel in TOKEN_PREFIXES.items() if route.startswith(prefix)), None)


def _web_endpoint(found: Route) -> Endpoint:
    value = declared_permission(found.callback)
    view = _view_name(found.callback)
    if value is _UNDECLARED:
        problem = (
            f"{view} declares no permission: decorate it with accounts.decorators.require_permission(...) "
            "or @public"
        )
        return Endpoint("web", "GET", found.route, found.name, problem=problem, view=view)
    permission, problem = _normalize(value)
    return Endpoint("web", "GET", found.route, found.name, permission, problem=problem, view=view)


def _catch_all_endpoint(found: Route, channel: str) -> Endpoint:
    view = _view_name(found.callback)
    example = _catch_all_example(found.route)
    if example is None:
        problem = "a regular-expression route: use django.urls.path() so the matrix can build its URL"
        return Endpoint(channel, "GET", found.route, found.name, problem=problem, view=view)
    value = declared_permission(found.callback)
    if value is _UNDECLARED:
        problem = f"{view} (a catch-all route) declares no permission: mark it @public"
        return Endpoint(channel, "GET", example, found.name, problem=problem, view=view, catch_all=True)
    permission, problem = _normalize(value)
    if permission is not None:
        problem = problem or f"{view} is a catch-all route: it answers 404 to everyone, so it must be public"
    return Endpoint(
        channel, "GET", example, found.name, permission, problem=problem, view=view, catch_all=True
    )


class _TokenRoutes:
    """Turns the token-channel URL patterns into one Endpoint per declared method, and remembers which
    declarations were routed."""

    def __init__(self, declarations: list[Any]) -> None:
        self.declarations = declarations
        self.matched: set[int] = set()
        self.occurrences: dict[str, int] = {}

    def endpoints(self, found: Route, channel: str) -> list[Endpoint]:
        path = "/" + KWARG.sub(lambda m: "{" + m["name"] + "}", found.route)
        view = _view_name(found.callback)
        attached = [d for obj in unwrapped(found.callback) for d in getattr(obj, "declared_endpoints", ())]
        mine = [d for d in self.declarations if _same_path(d.path, path)]
        mine += [d for d in attached if all(d is not x for x in mine)]
        path_view = _ninja_path_view(found.callback)
        if path_view is not None:
            # django-ninja routes the same path once per operation, in the operations' order.
            index = self.occurrences.get(found.route, 0)
            self.occurrences[found.route] = index + 1
            operations = path_view.operations
            methods = (
                sorted({m.upper() for m in operations[index].methods}) if index < len(operations) else []
            )
        else:
            methods = sorted({d.method for d in mine}) or ["GET"]
        endpoints = []
        for method in methods:
            declaration = next((d for d in mine if d.method == method), None)
            if declaration is None:
                problem = (
                    f"{method} {path} is answered but not declared: call caredesk.interop.registry.declare("
                    f"{channel!r}, {method!r}, {path!r}, Permission.X) beside its handler"
                )
                endpoints.append(
                    Endpoint(channel, method, found.route, found.name, problem=problem, view=view)
                )
                continue
            self.matched.add(id(declaration))
            endpoints.append(
                Endpoint(
                    declaration.channel,
                    method,
                    found.route,
                    found.name,
                    declaration.permission,
                    frozenset(declaration.also),
                    view=view,
                )
            )
        return endpoints

    def unrouted(self) -> list[Endpoint]:
        return [
            Endpoint(
                d.channel,
                d.method,
                KWARG_PLACEHOLDER.sub(lambda m: "<" + m[1] + ">", d.path.lstrip("/")),
                problem=f"{d.method} {d.path} is declared in interop but no URL answers it",
            )
            for d in self.declarations
            if id(d) not in self.matched
        ]


KWARG_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def discover(patterns: Iterable[URLPattern | URLResolver] | None = None) -> list[Endpoint]:
    """Every endpoint of the URL configuration (the project's root one unless `patterns` is given)."""
    routes = walk(get_resolver().url_patterns if patterns is None else patterns)
    tokens = _TokenRoutes(token_declarations() if patterns is None else [])
    endpoints: list[Endpoint] = []
    for found in routes:
        if found.route.startswith(SKIPPED_PREFIXES) or _is_ninja_api_root(found.callback):
            continue
        channel = _token_channel(found.route)
        if channel is None and _ninja_path_view(found.callback) is not None:
            channel = "api"
        if found.is_regex:
            endpoints.append(_catch_all_endpoint(found, channel or "web"))
        elif channel is None:
            endpoints.append(_web_endpoint(found))
        else:
            endpoints += tokens.endpoints(found, channel)
    endpoints += tokens.unrouted()
    return sorted(endpoints, key=lambda e: (e.channel != "web", e.path, e.method))
