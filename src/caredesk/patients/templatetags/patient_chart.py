"""Presentation helpers for the chart: unit labels and the action links of an entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone

from caredesk.accounts.permissions import Permission

from .. import forms
from ..services import CORRECTABLE_ENTRY_TYPES, ENTRY_KINDS

register = template.Library()


@register.filter
def unit_label(unit: str) -> str:
    return forms.unit_label(unit or "")


@register.filter
def measure(value: Decimal | None) -> str:
    """A measured value without trailing zeros: 78.50 -> 78.5, 120.00 -> 120."""
    if not isinstance(value, Decimal):
        return "" if value is None else str(value)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def age(birth_date: dt.date | None) -> int | str:
    """Whole years since `birth_date`, today in the installation's time zone."""
    if not isinstance(birth_date, dt.date):
        return ""
    today = timezone.localdate()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def action_urls(entry_type: str, entry_id: int) -> dict[str, str | None]:
    """Where the correct, retract and history actions of one chart entry live."""
    if entry_type == "note":
        correct: str | None = reverse("patients:correct_note", args=[entry_id])
        retract = reverse("patients:retract_note", args=[entry_id])
    elif entry_type == "document":
        correct, retract = None, reverse("patients:retract_document", args=[entry_id])
    else:
        correct = reverse("patients:correct_entry", args=[entry_type, entry_id])
        retract = reverse("patients:retract_entry", args=[entry_type, entry_id])
    history = (
        reverse("patients:entry_history", args=[entry_type, entry_id])
        if entry_type in CORRECTABLE_ENTRY_TYPES
        else None
    )
    return {"correct": correct, "retract": retract, "history": history}


@register.inclusion_tag("patients/partials/entry_actions.html", takes_context=True)
def entry_actions(context: template.Context, entry_type: str, entry: Any) -> dict[str, Any]:
    """The buttons of an entry the signed-in user may use (the views check the permission again)."""
    perms: Collection[str] = context.get("perms_set") or frozenset()
    urls = action_urls(entry_type, entry.pk)
    may_change = str(ENTRY_KINDS[entry_type].permission) in perms
    return {
        "entry_type": entry_type,
        "entry": entry,
        "panel": f"#{entry_type}-{entry.pk}-panel",
        "correct_url": urls["correct"] if may_change else None,
        "retract_url": urls["retract"] if may_change else None,
        "history_url": urls["history"] if str(Permission.CLINICAL_VIEW) in perms else None,
    }
