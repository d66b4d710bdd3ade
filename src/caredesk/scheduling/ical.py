"""A practitioner's appointments as an iCalendar feed (RFC 5545, built with the `icalendar` library).

Minimum necessary: each event carries the visit type, the place and the time, and nothing about the
patient (no name, MRN, notes or join link): a calendar app on a phone is outside our protection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from icalendar import Calendar, Event

PRODID = "-//Caredesk//Scheduling feed//EN"


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    starts_at: dt.datetime  # aware
    ends_at: dt.datetime
    visit_type: str
    location: str
    confirmed: bool


def build_feed(name: str, events: Iterable[FeedEvent], stamp: dt.datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("dtstart", item.starts_at.astimezone(dt.UTC))
        event.add("dtend", item.ends_at.astimezone(dt.UTC))
        event.add("summary", item.visit_type)
        event.add("location", item.location)
        event.add("status", "CONFIRMED" if item.confirmed else "TENTATIVE")
        event.add("class", "CONFIDENTIAL")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    feed: bytes = calendar.to_ical()
    return feed
