"""iCalendar output: calendar feeds and single-event downloads.

Pure functions over plain data. Course days are written in local time with
TZID=Europe/Copenhagen and a VTIMEZONE that covers every event, so Outlook, Google and
Apple show the right wall-clock time also in the weeks the clocks change. A session's
UID never changes; SEQUENCE is its revision; cancelled sessions stay in the feed as
STATUS:CANCELLED so calendars remove them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vDuration

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


def clock_changes(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[datetime, timedelta, timedelta]]:
    """Every change of the zone's UTC offset in [first, last), as (instant in UTC, offset
    before, offset after), in order. Found by asking the zone every six hours and then
    halving to the second (the tz database changes on whole seconds; no zone changes
    twice within six hours)."""
    step = timedelta(hours=6)
    changes = []
    at, end = first.astimezone(UTC), last.astimezone(UTC)  # compared in UTC: no zone lookups
    before = at.astimezone(zone).utcoffset()
    while at < end:
        nxt = at + step
        after = nxt.astimezone(zone).utcoffset()
        if after != before:
            low, high = at, nxt  # offset(low) == before, offset(high) == after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(microsecond=0), before, after))
            before = after
        at = nxt
    return changes


@lru_cache(maxsize=256)
def _changes_between(tzid: str, first: date, last: date) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """clock_changes between two local dates, kept: a feed rebuilt after a change asks
    for the same span again (about 45 ms for twelve years, 0 the second time)."""
    zone = ZoneInfo(tzid)
    return tuple(clock_changes(zone, datetime.combine(first, time(), tzinfo=zone), datetime.combine(last, time(), tzinfo=zone)))


def _observance(dst: bool, before: timedelta, after: timedelta, name: str, onsets: list[datetime]):
    observance = TimezoneDaylight() if dst else TimezoneStandard()
    observance.add("dtstart", onsets[0])
    # Every onset gets an RDATE line of its own, the DTSTART's included, as libical writes
    # them: some readers (ical.js: Thunderbird, Nextcloud) skip the DTSTART once there are
    # RDATEs, and read only the first value of an RDATE list. RFC 5545 counts an onset
    # given twice once.
    if len(onsets) > 1:
        for onset in onsets:
            observance.add("rdate", onset)
    observance.add("tzname", name)
    observance.add("tzoffsetfrom", before)
    observance.add("tzoffsetto", after)
    return observance


def vtimezone(first: date, last: date, tzid: str = TZID) -> Timezone:
    """A VTIMEZONE for `tzid` that holds every change of the clocks from `first` to
    `last` (local dates), as RFC 5545 §3.6.5 defines an observance: its onset (DTSTART,
    RDATE) is the local time *before* the change, read with TZOFFSETFROM — the spring
    change in Denmark at 02:00, the autumn one at 03:00, both 01:00 UTC.

    Written here rather than by icalendar's Timezone.from_tzid (7.3.2), which gives the
    spring onset as the first wall-clock time after the change (03:00 with
    TZOFFSETFROM:+0100, i.e. 02:00 UTC, an hour late) — see the note in the module
    docstring of tests/test_feeds.py. A first observance from `first` with the offset
    then in force covers the time before the first change."""
    zone = ZoneInfo(tzid)
    start = datetime.combine(first, time(), tzinfo=zone)
    timezone = Timezone()
    timezone.add("tzid", tzid)
    groups: dict[tuple[bool, timedelta, timedelta, str], list[datetime]] = {}
    offset = start.utcoffset()
    groups[(bool(start.dst()), offset, offset, start.tzname())] = [start.replace(tzinfo=None)]
    for instant, before, after in _changes_between(tzid, first, last):
        local = instant.astimezone(zone)
        onset = (instant + before).replace(tzinfo=None)  # wall-clock time read with TZOFFSETFROM
        groups.setdefault((bool(local.dst()), before, after, local.tzname()), []).append(onset)
    for (dst, before, after, name), onsets in groups.items():
        timezone.add_component(_observance(dst, before, after, name, onsets))
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
    """A VCALENDAR (bytes, UTF-8, CRLF, folded) named `name` — both as RFC 7986 NAME and
    as X-WR-CALNAME, which Outlook and Apple show — with the events and all-day deadlines.

    It always holds a VTIMEZONE, from a year before the first event (or today) to a year
    after the last: RFC 5545 §3.4 requires at least one component, so a feed with nothing
    in it yet (a cohort still in planning) is still a valid calendar."""
    stamp = (now or clock.now()).astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TZID)
    cal.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    days = [e.starts_at.astimezone(COPENHAGEN).date() for e in events] + [d.day for d in deadlines]
    days = days or [stamp.astimezone(COPENHAGEN).date()]
    cal.add_component(vtimezone(min(days) - timedelta(days=366), max(days) + timedelta(days=366)))
    for e in sorted(events, key=lambda e: (e.starts_at, e.uid)):
        cal.add_component(_event(e, stamp))
    for d in sorted(deadlines, key=lambda d: (d.day, d.uid)):
        cal.add_component(_deadline(d, stamp))
    return cal.to_ical()


def single_event(e: FeedEvent, *, now: datetime | None = None) -> bytes:
    """An .ics file with one course day, for "add to calendar"."""
    return build_calendar(e.summary, [e], now=now)
