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

from intro import clock
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
    timezone = Timezone.from_tzid(TZID, first_date=first, last_date=last)
    # Each observance's DTSTART is its first onset, and its RDATEs the later ones. Some
    # readers (ical.js: Thunderbird, Nextcloud) skip the DTSTART once there are RDATEs, and
    # read only the first value of an RDATE list: either puts a change of the clocks in the
    # wrong place. So every onset gets an RDATE line of its own, the DTSTART included, as
    # libical writes them; RFC 5545 counts an onset given twice once.
    for observance in timezone.subcomponents:
        rdate = observance.get("RDATE")
        if rdate is not None and "RRULE" not in observance:
            onsets = [d.dt for r in (rdate if isinstance(rdate, list) else [rdate]) for d in r.dts]
            observance.pop("RDATE")
            for onset in [observance.decoded("DTSTART"), *onsets]:
                observance.add("rdate", onset)
    return timezone


def _when(instant: datetime) -> datetime:
    """Local time with TZID — except in the hour repeated when the clocks go back, where
    the wall-clock time names two instants (readers take the first, or not): UTC there."""
    local = instant.astimezone(COPENHAGEN)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return instant.astimezone(UTC)
    return local


def _event(e: FeedEvent, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", e.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", _when(e.starts_at))
    event.add("dtend", _when(e.ends_at))
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
    stamp = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
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
