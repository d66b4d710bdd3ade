"""Small pure helpers shared by the FHIR mappings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone


def compact(value: Any) -> Any:
    """Drop empty strings, None, empty lists and empty objects, recursively: FHIR allows no empty values
    (`""` is not a valid string, `[]` not a valid list), so mappings build freely and compact once."""
    if isinstance(value, dict):
        cleaned = {key: compact(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if not _empty(item)}
    if isinstance(value, list):
        cleaned_items = [compact(item) for item in value]
        return [item for item in cleaned_items if not _empty(item)]
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def is_uri(text: str) -> bool:
    """Good enough to be an Identifier.system: a scheme and no spaces (`urn:oid:…`, `http://…`)."""
    scheme, colon, rest = text.partition(":")
    return bool(colon and rest and scheme.isascii() and scheme[:1].isalpha()) and not any(
        ch.isspace() for ch in text
    )


def instant(moment: dt.datetime) -> str:
    """An aware datetime as a FHIR instant/dateTime (naive values are taken in the current zone)."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()
