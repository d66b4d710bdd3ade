"""Hooks other apps register to follow scheduling events they may not be called for directly.

Apps above scheduling in the layers (inventory) may import scheduling; scheduling may not import them. So
scheduling names the event here and calls whatever was registered, the way `patients.services` offers
merge hooks. Register once, from the app's `AppConfig.ready()`; registering the same function again is a
no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from caredesk.core.context import Actor


@dataclass(frozen=True)
class FulfilledVisit:
    """An appointment that has just become fulfilled (the visit took place)."""

    appointment_id: int
    organization_id: int
    patient_id: int
    visit_type_id: int
    location_id: int
    resource_ids: tuple[int, ...]  # every resource it held: practitioners, rooms, equipment


FulfilledHook = Callable[[Actor, FulfilledVisit], object]  # what a hook returns is ignored
_fulfilled_hooks: list[FulfilledHook] = []


def register_fulfilled_hook(hook: FulfilledHook) -> FulfilledHook:
    """`hook(actor, visit)` runs inside the transaction that fulfils the appointment (the appointment row
    is locked), after the status changed; raising aborts the change, so a hook should only refuse for a
    reason that must stop the visit from being completed."""
    if hook not in _fulfilled_hooks:
        _fulfilled_hooks.append(hook)
    return hook


def visit_fulfilled(actor: Actor, visit: FulfilledVisit) -> None:
    for hook in list(_fulfilled_hooks):
        hook(actor, visit)
