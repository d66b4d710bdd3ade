"""Checks on raw input shared by the JSON API and FHIR."""

from __future__ import annotations

from typing import Any


def contains_nul(value: Any) -> bool:
    """Whether any text in a JSON-like value holds a NUL character (PostgreSQL cannot store one, and no
    name, phone or code has one: Django's form fields refuse them the same way)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False
