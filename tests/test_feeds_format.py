"""Feeds that say what they are (issue 18): a name per cohort, venue, municipality and
partnership; one charset in Content-Type; a component even in an empty feed; and a
VTIMEZONE whose onsets are where RFC 5545 puts them.

Upstream (icalendar 7.3.2, collective/icalendar): `Timezone.from_tzid("Europe/Copenhagen")`
writes the spring change as `DTSTART:20270328T030000` with `TZOFFSETFROM:+0100` in the
DAYLIGHT observance. RFC 5545 §3.6.5 reads an onset as local time in TZOFFSETFROM, so
that is 02:00 UTC — an hour after the real change at 01:00 UTC (02:00 local). The
autumn onset (03:00 with +0200) is right. `from_tzinfo` walks wall-clock times and
records the first one with the new offset; in spring that is the time *after* the gap.
Report text, for the issue tracker:

    Timezone.from_tzinfo: DAYLIGHT onset in spring is one hour late (RFC 5545 §3.6.5)

    Timezone.from_tzid("Europe/Copenhagen", first_date=date(2027,1,1),
    last_date=date(2027,12,31)) gives, for the spring change,
        BEGIN:DAYLIGHT / DTSTART:20270328T030000 / TZOFFSETFROM:+0100 / TZOFFSETTO:+0200
    RFC 5545 §3.6.5: DTSTART is the onset in local time, combined with TZOFFSETFROM to
    give the instant; 03:00 at +01:00 is 02:00 UTC, but the clocks change at 01:00 UTC,
    so the expected line is DTSTART:20270328T020000 (as the IANA/libical zones have it).
    Timezone.get_transitions() on the generated component shows 2027-03-28 02:00 UTC.
    The autumn observance is right (03:00 at +02:00 = 01:00 UTC) only because the walk
    stops at the first wall time with the new offset, which in autumn is 03:00 CET.
    Cause: from_tzinfo records `start.replace(tzinfo=None)`, the wall-clock time after
    the change; the onset is (instant of the change) + offset_from. Same for RDATEs.

Until that is fixed, intro.calendars.ical.vtimezone writes the component itself;
test_icalendar_from_tzid_still_puts_the_spring_onset_an_hour_late turns red the day it is.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Timezone
from litestar.testing import AsyncTestClient

from app import create_app
from intro.calendars.ical import build_calendar, clock_changes, vtimezone
from intro.tables import Cohort, Municipality, Partnership, Venue
from tests.conftest import login, post_form
from tests.test_feeds import SARA, _make_feed, event

COORDINATOR = "koordinator@intro.example"


def _observance_onsets(tz: Timezone, kind: str) -> list[tuple[datetime, timedelta]]:
    return [
        (o.decoded("DTSTART"), o.decoded("TZOFFSETFROM"))
        for o in tz.walk(kind)
        if o.decoded("TZOFFSETFROM") != o.decoded("TZOFFSETTO")
    ]


def test_the_spring_change_starts_at_two_local_time():
    text = build_calendar("Intro – x", [event("a@intro", datetime(2027, 3, 23, 8, tzinfo=UTC))]).decode()
    daylight = text.split("BEGIN:DAYLIGHT", 1)[1].split("END:DAYLIGHT", 1)[0]
    assert "RDATE:20270328T020000" in daylight and "TZOFFSETFROM:+0100" in daylight
    assert "T030000" not in daylight
    standard = text.split("BEGIN:STANDARD")[2].split("END:STANDARD", 1)[0]
    assert "RDATE:20271031T030000" in standard and "TZOFFSETFROM:+0200" in standard
    # Every reader that goes by the file's own VTIMEZONE finds the change at 01:00 UTC.
    tz = Calendar.from_ical(text).walk("VTIMEZONE")[0]
    changes = tz.get_transitions()[0][1:]
    assert datetime(2027, 3, 28, 1) in changes and datetime(2027, 10, 31, 1) in changes
    assert datetime(2027, 3, 28, 2) not in changes


def test_icalendar_from_tzid_still_puts_the_spring_onset_an_hour_late():
    """A canary for the upstream bug in the module docstring: when it fails, icalendar
    writes the onset right and intro.calendars.ical.vtimezone could go back to Timezone.from_tzid."""
    tz = Timezone.from_tzid("Europe/Copenhagen", first_date=date(2027, 1, 1), last_date=date(2027, 12, 31))
    spring = [onset for onset, before in _observance_onsets(tz, "DAYLIGHT")]
    assert datetime(2027, 3, 28, 3) in spring


ZONES = ["Europe/Copenhagen", "Europe/London", "America/Santiago", "Australia/Lord_Howe", "America/New_York"]


@settings(max_examples=25, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 1, 1)),
    days=st.integers(min_value=1, max_value=3 * 366),
)
def test_the_vtimezone_read_back_gives_every_offset_the_tz_database_gives(zone, first, days):
    """Whatever the zone and range: icalendar, reading nothing but the component (no tz
    database), finds the clocks changing at the same instants, to the same offsets, as
    the tz database — spring, autumn, half-hour and midnight changes alike — and the same
    offset at noon on every day."""
    last = first + timedelta(days=days)
    info = ZoneInfo(zone)
    text = b"BEGIN:VCALENDAR\r\n" + vtimezone(first, last, zone).to_ical() + b"END:VCALENDAR\r\n"
    component = Calendar.from_ical(text).walk("VTIMEZONE")[0]
    times, offsets = component.get_transitions()
    read = [(t, o[0]) for t, o in zip(times, offsets, strict=True)][1:]  # [0]: the offset in force at `first`
    changes = clock_changes(info, datetime(first.year, first.month, first.day, tzinfo=info),
                            datetime(last.year, last.month, last.day, tzinfo=info))
    assert read == [(at.replace(tzinfo=None), after) for at, _before, after in changes]
    own = component.to_tz(lookup_tzid=False)
    for d in range(days):
        noon = datetime.combine(first + timedelta(days=d), datetime.min.time().replace(hour=12))
        assert noon.replace(tzinfo=own).utcoffset() == noon.replace(tzinfo=info).utcoffset(), (zone, noon)


def test_clock_changes_in_denmark_are_at_one_utc():
    zone = ZoneInfo("Europe/Copenhagen")
    changes = clock_changes(zone, datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert changes == [
        (datetime(2027, 3, 28, 1, tzinfo=UTC), timedelta(hours=1), timedelta(hours=2)),
        (datetime(2027, 10, 31, 1, tzinfo=UTC), timedelta(hours=2), timedelta(hours=1)),
    ]


def test_an_empty_calendar_still_holds_a_component():
    text = build_calendar("Intro – Hold: Tomt", [], now=datetime(2027, 1, 5, 9, tzinfo=UTC)).decode()
    parsed = Calendar.from_ical(text)
    assert len(parsed.subcomponents) >= 1  # RFC 5545 §3.4: icalbody = calprops component
    assert parsed.walk("VTIMEZONE") and not parsed.walk("VEVENT")


async def _feed_body(path: str) -> tuple[bytes, str]:
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        response = await calendar.get(path)
        assert response.status_code == 200
        return response.content, response.headers["content-type"]


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_each_feed_is_named_after_what_it_shows(demo_client):
    await login(demo_client, COORDINATOR)
    two = await Cohort.select(Cohort.id, Cohort.name).where(Cohort.partnership == 1).order_by(Cohort.id).limit(2)
    venue = await Venue.select(Venue.id, Venue.name).first()
    municipality = await Municipality.select(Municipality.id, Municipality.name).where(Municipality.name == "Næstved").first()
    partnership = await Partnership.select(Partnership.id, Partnership.name).where(Partnership.id == 1).first()
    wanted = {f"cohort:{c['id']}": f"Intro – Hold: {c['name']}" for c in two}
    wanted[f"venue:{venue['id']}"] = f"Intro – Lokation: {venue['name']}"
    wanted[f"municipality:{municipality['id']}"] = f"Intro – Kommune: {municipality['name']}"
    wanted[f"partnership:{partnership['id']}"] = f"Intro – Samarbejde: {partnership['name']}"
    names = set()
    for target, name in wanted.items():
        body, _type = await _feed_body(_path(await _make_feed(demo_client, target)))
        parsed = Calendar.from_ical(body)
        assert str(parsed["X-WR-CALNAME"]) == name and str(parsed["NAME"]) == name, target
        names.add(name)
    assert len(names) == len(wanted)
    await login(demo_client, SARA)
    body, _type = await _feed_body(_path(await _make_feed(demo_client, "person:")))
    assert str(Calendar.from_ical(body)["NAME"]) == "Intro – Mine kursusdage"


async def test_calendars_say_their_charset_once(demo_client):
    await login(demo_client, SARA)
    url = await _make_feed(demo_client, "person:")
    _body, content_type = await _feed_body(_path(url))
    assert content_type == "text/calendar; charset=utf-8"
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        missing = await calendar.get("/feeds/nothing-here.ics")
        assert missing.status_code == 404 and missing.headers["content-type"] == "text/plain; charset=utf-8"
    page = await demo_client.get("/plan")
    session = page.text.split("/event.ics", 1)[0].rsplit("/sessions/", 1)[1]
    single = await demo_client.get(f"/sessions/{session}/event.ics")
    assert single.status_code == 200 and single.headers["content-type"] == "text/calendar; charset=utf-8"


async def test_a_cohort_in_planning_gives_a_valid_feed_with_a_component(demo_client):
    await login(demo_client, COORDINATOR)
    planning = await Cohort.select(Cohort.id, Cohort.name).where(Cohort.status == "planning").first()
    body, _type = await _feed_body(_path(await _make_feed(demo_client, f"cohort:{planning['id']}")))
    parsed = Calendar.from_ical(body)
    assert not parsed.walk("VEVENT") and parsed.walk("VTIMEZONE")
    assert str(parsed["NAME"]) == f"Intro – Hold: {planning['name']}"


async def test_the_webcal_address_is_a_link_to_tap(demo_client):
    await login(demo_client, SARA)
    url = await _make_feed(demo_client, "person:")
    page = (await demo_client.get("/me/feeds")).text  # the address is shown once only
    assert "webcal://" not in page
    shown = (await post_form(demo_client, "/me/feeds", {"target": "person:"})).text
    link = re.search(r'<a class="button" id="feed-webcal" href="(webcal://[^"]+)"', shown)
    assert link and link.group(1).endswith(".ics") and "readonly value=\"webcal" not in shown
    assert url.split("://", 1)[1].rsplit("/", 1)[0] == link.group(1).split("://", 1)[1].rsplit("/", 1)[0]


async def test_a_renamed_cohort_renames_its_feed(demo_client):
    await login(demo_client, COORDINATOR)
    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    path = _path(await _make_feed(demo_client, f"cohort:{cohort['id']}"))
    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as calendar:
        first = await calendar.get(path)
        await Cohort.update({Cohort.name: "Hold B – efterår (Slagelse)"}).where(Cohort.id == cohort["id"])
        again = await calendar.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 200 and again.headers["etag"] != first.headers["etag"]
        assert str(Calendar.from_ical(again.content)["NAME"]) == "Intro – Hold: Hold B – efterår (Slagelse)"
