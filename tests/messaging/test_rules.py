"""The communication log's rules on plain values."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.messaging import rules
from caredesk.messaging.choices import Channel, Direction, Outcome

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("channel", "direction", "outcome", "ok"),
    [
        (Channel.PHONE, Direction.OUTBOUND, Outcome.VOICEMAIL, True),
        (Channel.PHONE, Direction.INBOUND, Outcome.REACHED, True),
        (Channel.PHONE, Direction.INBOUND, Outcome.NO_ANSWER, False),
        (Channel.LETTER, Direction.OUTBOUND, Outcome.BUSY, False),
        (Channel.FAX, Direction.OUTBOUND, Outcome.FAILED, True),
        (Channel.PORTAL, Direction.INBOUND, Outcome.RECEIVED, True),
        (Channel.SMS, Direction.OUTBOUND, Outcome.REACHED, False),
    ],
)
def test_outcomes_that_fit_the_channel(channel, direction, outcome, ok):
    assert (rules.outcome_error(channel, direction, outcome) is None) == ok


def test_only_calls_have_a_duration():
    assert rules.duration_error(Channel.PHONE, 300) is None
    assert rules.duration_error(Channel.EMAIL, 300) is not None
    assert rules.duration_error(Channel.EMAIL, None) is None


def test_when_it_happened():
    assert rules.occurred_at_error(NOW - dt.timedelta(hours=2), NOW) is None
    assert rules.occurred_at_error(NOW + dt.timedelta(hours=1), NOW) is not None
    assert rules.occurred_at_error(NOW - dt.timedelta(days=400), NOW) is not None


def test_an_unanswered_outbound_call_is_a_contact_attempt():
    assert rules.is_contact_attempt(Channel.PHONE, Direction.OUTBOUND, Outcome.NO_ANSWER)
    assert not rules.is_contact_attempt(Channel.PHONE, Direction.OUTBOUND, Outcome.REACHED)
    assert not rules.is_contact_attempt(Channel.LETTER, Direction.OUTBOUND, Outcome.FAILED)
