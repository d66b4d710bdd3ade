"""Pure rules of the communication log."""

from __future__ import annotations

import datetime as dt

from .choices import UNSUCCESSFUL, Channel, Direction, Outcome, Party

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


def needed_consent(channel: str, direction: str, outcome: str, party: str) -> str | None:
    """The patient consent an entry needs (the name of the patient record's flag), or None.

    Only outbound contacts *to the patient* need one: an SMS (`sms_allowed`), an e-mail (`email_allowed`),
    or a call on which a voicemail was left (`voicemail_allowed`). Whatever the patient sends us is always
    recorded, a call that reached the patient (or nobody, without a message) needs none, and letters, faxes
    and portal messages have no consent flag. Contacts with caregivers, practitioners, payers, pharmacies
    and colleagues (party `staff`) are not the patient's channels: no patient consent applies."""
    if direction != Direction.OUTBOUND or party != Party.PATIENT:
        return None
    if channel == Channel.SMS:
        return "sms_allowed"
    if channel == Channel.EMAIL:
        return "email_allowed"
    if channel == Channel.PHONE and outcome == Outcome.VOICEMAIL:
        return "voicemail_allowed"
    return None


CONSENT_REFUSALS: dict[str, tuple[str, str]] = {
    "sms_allowed": ("channel", "The patient has not agreed to SMS (“SMS allowed” is off on the chart)."),
    "email_allowed": (
        "channel",
        "The patient has not agreed to e-mail (“E-mail allowed” is off on the chart).",
    ),
    "voicemail_allowed": (
        "outcome",
        "The patient has not agreed to voicemail (“Voicemail allowed” is off on the chart): "
        "no message may be left.",
    ),
}


def document_error(channel: str, direction: str, has_document: bool) -> str | None:
    """A document goes with faxes only, and a fax we sent (or tried to) must name what was faxed."""
    if has_document and channel != Channel.FAX:
        return "Only a fax carries a document."
    if channel == Channel.FAX and direction == Direction.OUTBOUND and not has_document:
        return "An outbound fax needs the document that was faxed: choose one of the chart or upload the PDF."
    return None
