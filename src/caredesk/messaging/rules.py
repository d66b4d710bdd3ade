"""Pure rules of the communication log."""

from __future__ import annotations

import datetime as dt

from .choices import UNSUCCESSFUL, Channel, Direction, Outcome

#: Outcomes that make sense per channel (a letter is not "busy").
CHANNEL_OUTCOMES: dict[str, frozenset[str]] = {
    Channel.PHONE: frozenset(
        {
            Outcome.REACHED,
            Outcome.VOICEMAIL,
            Outcome.NO_ANSWER,
            Outcome.BUSY,
            Outcome.WRONG_NUMBER,
            Outcome.RECEIVED,
        }
    ),
    Channel.SMS: frozenset({Outcome.SENT, Outcome.RECEIVED, Outcome.FAILED}),
    Channel.EMAIL: frozenset({Outcome.SENT, Outcome.RECEIVED, Outcome.FAILED}),
    Channel.LETTER: frozenset({Outcome.SENT, Outcome.RECEIVED, Outcome.FAILED}),
    Channel.FAX: frozenset({Outcome.SENT, Outcome.RECEIVED, Outcome.FAILED}),
    Channel.PORTAL: frozenset({Outcome.SENT, Outcome.RECEIVED}),
}
MAX_BACKDATE = dt.timedelta(days=365)
CLOCK_SKEW = dt.timedelta(minutes=5)


def outcome_error(channel: str, direction: str, outcome: str) -> str | None:
    if outcome not in CHANNEL_OUTCOMES.get(channel, frozenset()):
        return f"“{Outcome(outcome).label}” is not an outcome of a {Channel(channel).label.lower()}."
    if direction == Direction.INBOUND and outcome in UNSUCCESSFUL and outcome != Outcome.FAILED:
        return "An inbound contact reached us: its outcome is “reached” or “received”."
    return None


def duration_error(channel: str, seconds: int | None) -> str | None:
    if seconds is not None and channel != Channel.PHONE:
        return "Only calls have a duration."
    return None


def occurred_at_error(occurred_at: dt.datetime, now: dt.datetime) -> str | None:
    if occurred_at > now + CLOCK_SKEW:
        return "That is in the future."
    if occurred_at < now - MAX_BACKDATE:
        return "That is more than a year ago."
    return None


def is_contact_attempt(channel: str, direction: str, outcome: str) -> bool:
    """An outbound call that reached nobody: a documented contact attempt on the task it is about."""
    return channel == Channel.PHONE and direction == Direction.OUTBOUND and outcome in UNSUCCESSFUL
