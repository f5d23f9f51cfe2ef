"""iCalendar output: calendar feeds and single-event downloads.

Pure functions over plain data. Course days are written in local time with
TZID=Europe/Copenhagen and a VTIMEZONE that covers every event, so Outlook, Google and
Apple show the right wall-clock time also in the weeks the clocks change. A session's
UID never changes; SEQUENCE is its revision; cancelled sessions stay in the feed as
STATUS:CANCELLED so calendars remove them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, Timezone, vDuration

from intro.timefmt import COPENHAGEN

PRODID = "-//Intro//Introduktionsuddannelse//DA"
TZID = "Europe/Copenhagen"


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    starts_at: datetime  # UTC
    ends_at: datetime
    sequence: int
    cancelled: bool
    summary: str
    location: str
    description: str
    url: str
    last_modified: datetime


@dataclass(frozen=True)
class FeedDeadline:
    """A plan deadline as an all-day event."""

    uid: str
    day: date
    summary: str
    description: str
    url: str


def _timezone(first: date, last: date) -> Timezone:
    return Timezone.from_tzid(TZID, first_date=first, last_date=last)


def _event(e: FeedEvent, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", e.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", e.starts_at.astimezone(COPENHAGEN))
    event.add("dtend", e.ends_at.astimezone(COPENHAGEN))
    event.add("sequence", e.sequence)
    event.add("status", "CANCELLED" if e.cancelled else "CONFIRMED")
    event.add("summary", ("Aflyst: " if e.cancelled else "") + e.summary)
    if e.location:
        event.add("location", e.location)
    event.add("description", e.description)
    event.add("url", e.url)
    event.add("last-modified", e.last_modified.astimezone(UTC))
    event.add("transp", "TRANSPARENT" if e.cancelled else "OPAQUE")
    return event


def _deadline(d: FeedDeadline, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", d.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", d.day)
    event.add("dtend", d.day + timedelta(days=1))
    event.add("summary", d.summary)
    event.add("description", d.description)
    event.add("url", d.url)
    event.add("transp", "TRANSPARENT")
    return event


def build_calendar(
    name: str,
    events: list[FeedEvent],
    deadlines: list[FeedDeadline] = (),
    *,
    now: datetime | None = None,
    refresh: timedelta = timedelta(hours=1),
) -> bytes:
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    cal.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    days = [e.starts_at.astimezone(COPENHAGEN).date() for e in events] + [d.day for d in deadlines]
    if events:
        first, last = min(days), max(days)
        cal.add_component(_timezone(first - timedelta(days=366), last + timedelta(days=366)))
    for e in sorted(events, key=lambda e: (e.starts_at, e.uid)):
        cal.add_component(_event(e, stamp))
    for d in sorted(deadlines, key=lambda d: (d.day, d.uid)):
        cal.add_component(_deadline(d, stamp))
    return cal.to_ical()


def single_event(e: FeedEvent, *, now: datetime | None = None) -> bytes:
    """An .ics file with one course day, for "add to calendar"."""
    return build_calendar(e.summary, [e], now=now)
