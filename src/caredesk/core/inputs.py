"""Text fields as they come in from forms, JSON and service callers, checked the same way in every app.

Errors are raised as `error` (the app's own `ValidationFailed` subclass, `ValidationFailed` itself by
default) with the field's name, so the message and HTTP status stay the app's."""

from __future__ import annotations

from typing import Any

from caredesk.core.errors import DomainError, ValidationFailed


def checked_text(
    value: Any,
    field: str,
    label: str,
    limit: int,
    *,
    required: bool = False,
    coerce: bool = False,
    error: type[DomainError] = ValidationFailed,
) -> str:
    """`value` stripped. None is empty text; anything else that is not text is refused ("must be text"),
    or with `coerce` turned into text by `str()` (a false value such as 0 as empty text). Empty text is
    refused when `required`, and so is text longer than `limit` characters."""
    if coerce:
        value = str(value or "")
    elif value is None:
        value = ""
    elif not isinstance(value, str):
        raise error(f"{label} must be text.", field=field)
    text = value.strip()
    if required and not text:
        raise error(f"{label} is required.", field=field)
    if len(text) > limit:
        raise error(f"{label} is longer than {limit} characters.", field=field)
    return text
