"""Hooks other apps register to follow the communication log.

Apps above messaging in the layers (transitions: a reached call on the TCM contact task completes the
contact) may import messaging; messaging may not import them. So messaging names the event here and calls
whatever was registered, the way `scheduling.hooks` does for fulfilled visits. Register once, from the
app's `AppConfig.ready()`; registering the same function again is a no-op.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from caredesk.core.context import Actor


@dataclass(frozen=True)
class LoggedCommunication:
    """A communication that has just been logged through `services.log_communication` (letters sent from
    a template are not: they are never an interactive contact). Values are messaging.choices values."""

    communication_id: int
    organization_id: int
    patient_id: int
    task_id: int | None  # the worklist task it is about, if any
    direction: str
    channel: str
    outcome: str
    party: str
    occurred_at: dt.datetime


LoggedHook = Callable[[Actor, LoggedCommunication], object]  # what a hook returns is ignored
_logged_hooks: list[LoggedHook] = []


def register_logged_hook(hook: LoggedHook) -> LoggedHook:
    """`hook(actor, logged)` runs inside the transaction that logs the communication, after it was written
    (and put on its task's timeline); raising aborts the logging."""
    if hook not in _logged_hooks:
        _logged_hooks.append(hook)
    return hook


def communication_logged(actor: Actor, logged: LoggedCommunication) -> None:
    for hook in list(_logged_hooks):
        hook(actor, logged)
