"""Every feed read by two parsers that share no code (issue 5): icalendar in Python and
ical.js, Mozilla's JavaScript parser (the one in Thunderbird and Nextcloud), run with node
(tests/feeds_parse.mjs, ical.js vendored in tests/vendor/icaljs).

They must agree on every event's start and end as instants in UTC — and with the instants
we put in — above all in the weeks the clocks change. They also resolve the local times
differently, which is the point: icalendar by the TZID's name in the tz database (and, as
a third reading, with the file's own VTIMEZONE), ical.js only with the VTIMEZONE in the
file. Without node the tests are skipped, unless INTRO_REQUIRE_BROWSER=1 (CI): then they
fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from litestar.testing import AsyncTestClient

from app import create_app
from intro import clock
from intro.calendars.ical import FeedDeadline, FeedEvent, build_calendar, single_event
from intro.tables import Cohort, Enrolment, Partnership, Person, PlanItem, Session
from intro.timefmt import COPENHAGEN
from tests.conftest import ROOT, login, post_form

SCRIPT = ROOT / "tests" / "feeds_parse.mjs"
SARA = "deltager@intro.example"
COORDINATOR = "koordinator@intro.example"
# ical.js must not lean on the machine's zone: run it in one with other clock-change days.
NODE_TZ = "America/Los_Angeles"

# The clocks change in Denmark at 01:00 UTC on these Sundays.
CHANGES = {
    "spring-2027": date(2027, 3, 28),
    "autumn-2027": date(2027, 10, 31),
    "spring-2028": date(2028, 3, 26),
    "autumn-2028": date(2028, 10, 29),
}


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    reason = None
    if path is None:
        reason = "node is not installed: the ical.js cross-check of calendar feeds is skipped"
    else:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        if int(re.match(r"v(\d+)", version).group(1)) < 18:
            reason = f"node {version.strip()} is too old for ical.js (18 or later needed)"
    if reason:
        if os.environ.get("INTRO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (INTRO_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(reason)
    return path


@dataclass(frozen=True)
class Reading:
    start: datetime | date  # a date for an all-day event (a plan deadline)
    end: datetime | date
    sequence: int
    status: str
    summary: str
    location: str
    description: str


def read_with_icaljs(node: str, paths: list[Path]) -> list[dict[str, Reading]]:
    result = subprocess.run(
        [node, str(SCRIPT), *map(str, paths)],
        capture_output=True, encoding="utf-8", timeout=120, env={**os.environ, "TZ": NODE_TZ},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(paths), result.stdout[:500]
    calendars = []
    for line in lines:
        events = {}
        for e in json.loads(line):
            assert e["uid"] not in events, f"UID {e['uid']} twice"
            when = date.fromisoformat if e["all_day"] else datetime.fromisoformat
            events[e["uid"]] = Reading(
                when(e["start_utc"]), when(e["end_utc"]),
                e["sequence"], e["status"], e["summary"], e["location"], e["description"],
            )
        calendars.append(events)
    return calendars


def _instant(event, name: str, own_zones: dict) -> datetime | date:
    value = event.decoded(name)
    if not isinstance(value, datetime):
        assert isinstance(value, date) and event[name].params.get("VALUE") == "DATE", f"{event['UID']}: {name}"
        return value
    assert value.tzinfo is not None, f"{event['UID']}: {name} is a floating time"
    by_name = value.astimezone(UTC)
    tzid = event[name].params.get("TZID")
    if tzid is not None:
        assert tzid in own_zones, f"{event['UID']}: {name};TZID={tzid} has no VTIMEZONE in the file"
        own = value.replace(tzinfo=None).replace(tzinfo=own_zones[tzid]).astimezone(UTC)
        assert own == by_name, f"{event['UID']}: {name} is {by_name} by the tz database, {own} by the file's VTIMEZONE"
    return by_name


def read_with_icalendar(data: bytes) -> dict[str, Reading]:
    calendar = Calendar.from_ical(data)
    own_zones = {str(z["TZID"]): z.to_tz(lookup_tzid=False) for z in calendar.walk("VTIMEZONE")}
    events = {}
    for e in calendar.walk("VEVENT"):
        uid = str(e["UID"])
        assert uid not in events, f"UID {uid} twice"
        events[uid] = Reading(
            _instant(e, "DTSTART", own_zones), _instant(e, "DTEND", own_zones),
            int(e.get("SEQUENCE", 0)), str(e.get("STATUS", "")), str(e.get("SUMMARY", "")),
            str(e.get("LOCATION", "")), str(e.get("DESCRIPTION", "")),
        )
    return events


def assert_well_formed(data: bytes) -> None:
    """CRLF lines of at most 75 octets, folded between characters, never inside one."""
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold inside a multi-byte letter would not decode


def crosscheck(node: str, tmp_path: Path, calendars: dict[str, bytes]) -> dict[str, dict[str, Reading]]:
    """Both parsers read every calendar; they must agree on every event. Returns the
    readings, per calendar."""
    paths = []
    for name, data in calendars.items():
        assert_well_formed(data)
        path = tmp_path / f"{name}.ics"
        path.write_bytes(data)
        paths.append(path)
    readings = {}
    for (name, data), js in zip(calendars.items(), read_with_icaljs(node, paths), strict=True):
        py = read_with_icalendar(data)
        assert sorted(js) == sorted(py), f"{name}: ical.js and icalendar see different events"
        for uid in py:
            differ = {f: (getattr(py[uid], f), getattr(js[uid], f)) for f in [f.name for f in fields(Reading)]
                      if getattr(py[uid], f) != getattr(js[uid], f)}
            assert not differ, f"{name}, {uid}: (icalendar, ical.js) differ: {differ}"
        readings[name] = py
    return readings


# --------------------------------------------------------------------------------------
# Calendars built from chosen instants


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def copenhagen(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=COPENHAGEN).astimezone(UTC)


LONG = (
    "LOV-1 Beskæftigelsesindsatsen – rammer og målgrupper\n\n"
    "Forbered dig: læs lovens §§ 1-10 og kapitlet om de første samtaler; tag din egen sag med, "
    "hvis du har én, og skriv tre spørgsmål ned til underviseren (fx om rådighed, sanktioner, "
    "tilbud). Æblegrød, økologi, Ålborg – ÆØÅ æøå «citat», 50 % og en sti C:\\data\\jobcenter.\n\n"
    + "æøå" * 40
    + "\n\nSe mere i Intro: https://intro.example/curriculum/1/modules/7"
)


def ev(uid: str, start: datetime, end: datetime, *, sequence: int = 0, cancelled: bool = False) -> FeedEvent:
    return FeedEvent(
        uid=f"{uid}@intro", starts_at=start, ends_at=end, sequence=sequence, cancelled=cancelled,
        summary="LOV-1 Beskæftigelsesindsatsen (dag 1 af 2) – Ærø, Østerbro og Åbenrå",
        location="Jobcenter Næstved, Mødecenter, Farimagsvej 4, 4700 Næstved", description=LONG,
        url="https://intro.example/curriculum/1/modules/7", last_modified=utc(2027, 1, 4, 12),
    )


def course_day(uid: str, day: date, **kw) -> FeedEvent:
    return ev(uid, copenhagen(day, 9), copenhagen(day, 15), **kw)


# Every set has a Tuesday and Friday before the change and after it, an event on the
# Sunday itself, and one across the night of the change (and across midnight UTC).
SEASONS = {
    "spring-2027": [
        course_day("s27-tue", date(2027, 3, 23)),  # 08:00 UTC
        course_day("s27-fri", date(2027, 3, 26)),
        ev("s27-night", utc(2027, 3, 27, 23, 30), utc(2027, 3, 28, 1, 30)),  # 00:30 CET–03:30 CEST
        ev("s27-sun", copenhagen(date(2027, 3, 28), 10), copenhagen(date(2027, 3, 28), 12)),
        course_day("s27-mon", date(2027, 3, 29)),  # 07:00 UTC
        course_day("s27-tue-after", date(2027, 3, 30), sequence=2),
    ],
    "autumn-2027": [
        course_day("a27-tue", date(2027, 10, 26), sequence=4, cancelled=True),
        course_day("a27-fri", date(2027, 10, 29)),  # 07:00 UTC
        course_day("a27-sat", date(2027, 10, 30)),
        ev("a27-night", utc(2027, 10, 30, 23, 30), utc(2027, 10, 31, 2, 30)),  # 01:30 CEST–03:30 CET
        # The hour 02:00–03:00 comes twice that night: the first time, then the second.
        ev("a27-first-0230", utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 0, 45)),
        ev("a27-second-0230", utc(2027, 10, 31, 1, 30), utc(2027, 10, 31, 1, 45)),
        ev("a27-across", utc(2027, 10, 31, 0, 15), utc(2027, 10, 31, 1, 45)),
        course_day("a27-mon", date(2027, 11, 1)),  # 08:00 UTC
        course_day("a27-tue-after", date(2027, 11, 2)),
    ],
    "spring-2028": [
        course_day("s28-tue", date(2028, 3, 21)),
        course_day("s28-fri", date(2028, 3, 24)),
        ev("s28-night", utc(2028, 3, 25, 22, 0), utc(2028, 3, 26, 3, 0)),
        course_day("s28-mon", date(2028, 3, 27)),
        course_day("s28-tue-after", date(2028, 3, 28), sequence=1, cancelled=True),
    ],
    "autumn-2028": [
        course_day("a28-tue", date(2028, 10, 24)),
        course_day("a28-fri", date(2028, 10, 27)),
        ev("a28-night", utc(2028, 10, 28, 22, 0), utc(2028, 10, 29, 3, 0)),
        ev("a28-second-0200", utc(2028, 10, 29, 1, 0), utc(2028, 10, 29, 2, 0)),
        course_day("a28-mon", date(2028, 10, 30)),
        course_day("a28-tue-after", date(2028, 10, 31)),
    ],
    "midnight-utc": [
        ev("midsummer", utc(2027, 6, 23, 20, 0), utc(2027, 6, 24, 1, 0)),  # 22:00–03:00 CEST
        ev("new-year", utc(2027, 12, 31, 22, 30), utc(2028, 1, 1, 0, 30)),  # 23:30–01:30 CET
        ev("winter-evening", utc(2028, 1, 17, 23, 0), utc(2028, 1, 18, 7, 0)),
    ],
}
STAMP = utc(2027, 1, 4, 12)


DEADLINES = [
    FeedDeadline("plan-1@intro", date(2027, 10, 31), "Frist: Sid med ved tre borgersamtaler", "Se og markér den i Intro", "https://intro.example/plan"),
    FeedDeadline("plan-2@intro", date(2028, 3, 26), "Frist: transferopgave – Æ, ø og å", "Se og markér den i Intro", "https://intro.example/plan"),
]


def test_icaljs_and_icalendar_agree_in_the_weeks_the_clocks_change(node, tmp_path):
    everything = [e for events in SEASONS.values() for e in events]
    calendars = {"all": build_calendar("Intro – Mine kursusdage", everything, DEADLINES, now=STAMP)}
    # Each season alone: the VTIMEZONE then starts and ends elsewhere.
    calendars.update({name: build_calendar(f"Intro – {name}", events, now=STAMP) for name, events in SEASONS.items()})
    # "Add to calendar": one course day a file, with a VTIMEZONE of its own.
    calendars.update({e.uid.split("@")[0]: single_event(e, now=STAMP) for e in everything})
    readings = crosscheck(node, tmp_path, calendars)

    def expected(events):
        return {e.uid: (e.starts_at, e.ends_at) for e in events}

    def got(name):
        return {uid: (r.start, r.end) for uid, r in readings[name].items()}

    assert got("all") == expected(everything) | {d.uid: (d.day, d.day + timedelta(days=1)) for d in DEADLINES}
    for name, events in SEASONS.items():
        assert got(name) == expected(events)
    for e in everything:
        assert got(e.uid.split("@")[0]) == expected([e])
    for e in everything:
        reading = readings["all"][e.uid]
        assert reading.sequence == e.sequence
        assert reading.status == ("CANCELLED" if e.cancelled else "CONFIRMED")
        assert reading.summary == ("Aflyst: " if e.cancelled else "") + e.summary
        assert reading.location == e.location and reading.description == LONG
    # The wall-clock times a Dane sees, written with TZID=Europe/Copenhagen.
    text = calendars["all"].decode()
    assert "DTSTART;TZID=Europe/Copenhagen:20271029T090000" in text
    assert "DTSTART;TZID=Europe/Copenhagen:20271101T090000" in text
    assert "DTSTART;TZID=Europe/Copenhagen:20280328T090000" in text


def test_every_day_of_the_clock_change_weeks(node, tmp_path):
    """A course day at 09:00 on each day of the weeks around each change, in one feed per
    week and as a single "add to calendar" file each; and in every change night an event
    every quarter of an hour."""
    calendars, expected = {}, {}
    for name, sunday in CHANGES.items():
        days = [sunday - timedelta(days=13) + timedelta(days=i) for i in range(21)]
        week = [course_day(f"{name}-{d}", d) for d in days]
        noon_before = datetime.combine(sunday, time(0), tzinfo=UTC) - timedelta(hours=12)
        starts = [noon_before + timedelta(minutes=15 * k) for k in range(24 * 4)]
        night = [ev(f"{name}-night-{s:%d%H%M}", s, s + timedelta(minutes=75)) for s in starts]
        calendars[f"{name}-weeks"] = build_calendar(name, week + night, now=STAMP)
        expected[f"{name}-weeks"] = {e.uid: (e.starts_at, e.ends_at) for e in week + night}
        for e in week:
            calendars[e.uid.split("@")[0]] = single_event(e, now=STAMP)
            expected[e.uid.split("@")[0]] = {e.uid: (e.starts_at, e.ends_at)}
    readings = crosscheck(node, tmp_path, calendars)
    for name, want in expected.items():
        assert {uid: (r.start, r.end) for uid, r in readings[name].items()} == want, name


# --------------------------------------------------------------------------------------
# Feeds served by the app


async def _make_feed(client, target: str, deadlines: bool = False) -> str:
    page = await post_form(client, "/me/feeds", {"target": target} | ({"deadlines": "1"} if deadlines else {}))
    assert page.status_code == 200, page.text[:300]
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page.text).group(1)
    return "/" + url.split("/", 3)[3]


async def _expected(where) -> dict[str, tuple[datetime, datetime, int, str]]:
    rows = await Session.select(
        Session.uid, Session.starts_at, Session.ends_at, Session.revision, Session.status
    ).where(where & (Session.status != "proposed"))
    return {
        r["uid"]: (r["starts_at"], r["ends_at"], r["revision"], "CANCELLED" if r["status"] == "cancelled" else "CONFIRMED")
        for r in rows
    }


def _as_expected(readings: dict[str, Reading]) -> dict[str, tuple[datetime, datetime, int, str]]:
    return {uid: (r.start, r.end, r.sequence, r.status) for uid, r in readings.items()}


async def test_the_served_feeds_read_the_same_in_both_parsers(node, demo_client, tmp_path):
    sara = await Person.select(Person.id).where(Person.email == SARA).first()
    cohort = (await Enrolment.select(Enrolment.cohort).where(Enrolment.person == sara["id"]).first())["cohort"]
    # Move some of Sara's course days into the weeks the clocks change (as a coordinator
    # would: the revision goes up), and cancel one.
    sessions = await Session.select(Session.id, Session.revision).where(
        (Session.cohort == cohort) & (Session.status == "scheduled")
    ).order_by(Session.starts_at, ascending=False).limit(6)
    assert len(sessions) == 6
    days = [date(2027, 3, 23), date(2027, 3, 30), date(2027, 10, 26), date(2027, 11, 2), date(2028, 3, 28)]
    now = clock.now()
    for s, day in zip(sessions, days, strict=False):
        await Session.update({
            Session.starts_at: copenhagen(day, 9), Session.ends_at: copenhagen(day, 15),
            Session.revision: s["revision"] + 1, Session.updated_at: now,
        }).where(Session.id == s["id"])
    await Session.update({
        Session.status: "cancelled", Session.revision: sessions[5]["revision"] + 1,
        Session.change_reason: "Underviseren er syg – ny dato følger", Session.updated_at: now,
    }).where(Session.id == sessions[5]["id"])

    await login(demo_client, SARA)
    own = await _make_feed(demo_client, "person:", deadlines=True)
    demo_client.cookies.clear()
    await login(demo_client, COORDINATOR)
    partnership = (await Cohort.select(Cohort.partnership).where(Cohort.id == cohort).first())["partnership"]
    assert await Partnership.exists().where(Partnership.id == partnership)
    everyone = await _make_feed(demo_client, f"partnership:{partnership}")

    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        served = {}
        for name, path in (("participant", own), ("partnership", everyone)):
            response = await calendar.get(path, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
            served[name] = response.content
    readings = crosscheck(node, tmp_path, served)

    participant = _as_expected(readings["participant"])
    deadlines = await PlanItem.select(PlanItem.id, PlanItem.due_date).where(
        (PlanItem.person == sara["id"]) & PlanItem.kind.is_in(["local_task", "transfer"])
        & (PlanItem.status == "open") & PlanItem.due_date.is_not_null()
    )
    assert deadlines, "the demo participant has open deadlines"
    assert participant == await _expected(Session.cohort == cohort) | {
        f"plan-{d['id']}@intro": (d["due_date"], d["due_date"] + timedelta(days=1), 0, "") for d in deadlines
    }
    moved = await Session.select(Session.uid).where(Session.id.is_in([s["id"] for s in sessions[:5]]))
    assert {participant[m["uid"]][0] for m in moved} == {copenhagen(d, 9) for d in days}
    cancelled = await Session.select(Session.uid).where(Session.id == sessions[5]["id"]).first()
    assert readings["participant"][cancelled["uid"]].status == "CANCELLED"
    assert "Underviseren er syg – ny dato følger" in readings["participant"][cancelled["uid"]].description
    assert _as_expected(readings["partnership"]) == await _expected(Session.cohort.partnership == partnership)
    assert {uid for uid in participant if not uid.startswith("plan-")} < set(readings["partnership"])
