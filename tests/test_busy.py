"""Instructors' busy calendars: reading iCalendar, fetching an address safely, the
operations, the proposer keeping away from busy days, and the page."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from textwrap import dedent

import pytest
from click.testing import CliRunner

from app import cli
from intro import clock
from intro.errors import Invalid, NotFound
from intro.planning import busy, cohorts
from intro.planning.rows import CohortRow
from intro.settings import get_settings
from intro.tables import (
    AuditLog,
    BusyCalendar,
    BusyTime,
    InstructorQualification,
    Partnership,
    Person,
    Role,
    RoleGrant,
    Session,
)
from intro.timefmt import da_date
from tests.cohort_rows import cohort_or_404
from tests.conftest import csrf_token, login, post_form


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def calendar(*events: str) -> str:
    body = "\n".join(dedent(e).strip() for e in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Intro tests//DA\n{body}\nEND:VCALENDAR\n"


def event(uid: str, *lines: str) -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270101T000000Z", *lines, "END:VEVENT"])


YEAR_2027 = (utc(2027, 1, 1), utc(2028, 1, 1))


def read(text: str, window=YEAR_2027) -> list[tuple[datetime, datetime]]:
    return busy.busy_times(text, *window)


# --------------------------------------------------------------------------------------
# Reading iCalendar (pure)


def test_a_weekly_series_with_an_exception_and_a_moved_occurrence():
    text = calendar(
        event(
            "team@x",
            "DTSTART;TZID=Europe/Copenhagen:20270201T090000",
            "DTEND;TZID=Europe/Copenhagen:20270201T100000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
            "EXDATE;TZID=Europe/Copenhagen:20270208T090000",
        ),
        # The third meeting moved from Monday morning to Tuesday afternoon.
        event(
            "team@x",
            "RECURRENCE-ID;TZID=Europe/Copenhagen:20270215T090000",
            "DTSTART;TZID=Europe/Copenhagen:20270216T130000",
            "DTEND;TZID=Europe/Copenhagen:20270216T140000",
        ),
    )
    assert read(text) == [
        (utc(2027, 2, 1, 8), utc(2027, 2, 1, 9)),
        (utc(2027, 2, 16, 12), utc(2027, 2, 16, 13)),
        (utc(2027, 2, 22, 8), utc(2027, 2, 22, 9)),
    ]


def test_an_all_day_event_blocks_the_whole_danish_days():
    text = calendar(
        # Two days in summer (DTEND is exclusive), one in winter with no DTEND.
        event("ferie@x", "DTSTART;VALUE=DATE:20270701", "DTEND;VALUE=DATE:20270703"),
        event("kursus@x", "DTSTART;VALUE=DATE:20271201"),
    )
    assert read(text) == [
        (utc(2027, 6, 30, 22), utc(2027, 7, 2, 22)),
        (utc(2027, 11, 30, 23), utc(2027, 12, 1, 23)),
    ]


def test_copenhagen_times_across_the_spring_clock_change():
    # Summer time begins on Sunday 28 March 2027: 09:00 is 08:00 UTC before, 07:00 after.
    text = calendar(
        event(
            "fredag@x",
            "DTSTART;TZID=Europe/Copenhagen:20270326T090000",
            "DTEND;TZID=Europe/Copenhagen:20270326T113000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
        )
    )
    assert read(text) == [
        (utc(2027, 3, 26, 8), utc(2027, 3, 26, 10, 30)),
        (utc(2027, 4, 2, 7), utc(2027, 4, 2, 9, 30)),
    ]


def test_floating_times_are_copenhagen_time():
    text = calendar(
        event("vinter@x", "DTSTART:20270115T100000", "DTEND:20270115T113000"),
        event("sommer@x", "DTSTART:20270615T100000", "DURATION:PT90M"),
    )
    assert read(text) == [
        (utc(2027, 1, 15, 9), utc(2027, 1, 15, 10, 30)),
        (utc(2027, 6, 15, 8), utc(2027, 6, 15, 9, 30)),
    ]


def test_free_and_cancelled_events_are_not_busy():
    text = calendar(
        event("fri@x", "DTSTART:20270301T080000Z", "DTEND:20270301T090000Z", "TRANSP:TRANSPARENT"),
        event("aflyst@x", "DTSTART:20270302T080000Z", "DTEND:20270302T090000Z", "STATUS:CANCELLED"),
        event("optaget@x", "DTSTART:20270303T080000Z", "DTEND:20270303T090000Z", "TRANSP:OPAQUE"),
        # One occurrence of a daily series cancelled on its own.
        event("daglig@x", "DTSTART:20270310T120000Z", "DTEND:20270310T130000Z", "RRULE:FREQ=DAILY;COUNT=3"),
        event(
            "daglig@x", "RECURRENCE-ID:20270311T120000Z",
            "DTSTART:20270311T120000Z", "DTEND:20270311T130000Z", "STATUS:CANCELLED",
        ),
    )
    assert read(text) == [
        (utc(2027, 3, 3, 8), utc(2027, 3, 3, 9)),
        (utc(2027, 3, 10, 12), utc(2027, 3, 10, 13)),
        (utc(2027, 3, 12, 12), utc(2027, 3, 12, 13)),
    ]


def test_overlaps_are_merged_zero_length_skipped_and_the_window_cuts():
    text = calendar(
        event("a@x", "DTSTART:20270405T080000Z", "DTEND:20270405T100000Z"),
        event("b@x", "DTSTART:20270405T090000Z", "DTEND:20270405T110000Z"),
        event("c@x", "DTSTART:20270405T110000Z", "DTEND:20270405T113000Z"),  # touches b
        event("nul@x", "DTSTART:20270406T080000Z"),  # no end, no duration: a moment
        event("lang@x", "DTSTART:20270409T000000Z", "DTEND:20270420T000000Z"),
        event("for-tidligt@x", "DTSTART:20270301T080000Z", "DTEND:20270301T090000Z"),
    )
    window = (utc(2027, 4, 1), utc(2027, 4, 10))
    assert read(text, window) == [
        (utc(2027, 4, 5, 8), utc(2027, 4, 5, 11, 30)),
        (utc(2027, 4, 9), utc(2027, 4, 10)),
    ]


def test_outlook_time_zone_names_are_read_from_the_file():
    text = calendar(
        """
        BEGIN:VTIMEZONE
        TZID:Romance Standard Time
        BEGIN:STANDARD
        DTSTART:16010101T030000
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
        END:STANDARD
        BEGIN:DAYLIGHT
        DTSTART:16010101T020000
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0200
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
        END:DAYLIGHT
        END:VTIMEZONE
        """,
        event(
            "outlook@x",
            "DTSTART;TZID=Romance Standard Time:20270329T090000",
            "DTEND;TZID=Romance Standard Time:20270329T100000",
        ),
    )
    assert read(text) == [(utc(2027, 3, 29, 7), utc(2027, 3, 29, 8))]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hej med dig",
        "%PDF-1.7 binary stuff",
        "BEGIN:VEVENT\nUID:x\nEND:VEVENT\n",  # an event, not a calendar
        "BEGIN:VCALENDAR\nthis is not a content line\nEND:VCALENDAR\n",
        calendar(event("x@x", "DTSTART:ikke-en-dato", "DTEND:20270101T100000Z")),
        calendar(event("x@x", "DTSTART:20270101T100000Z", "RRULE:FREQ=MINUTELY")),
        calendar(event("x@x", "DTSTART:20270101T100000Z", "DTEND:20270101T100000Z", "RRULE:FREQ=SOMETIMES")),
    ],
    ids=["empty", "prose", "pdf", "bare-event", "bad-line", "bad-date", "every-minute", "bad-rule"],
)
def test_what_is_not_a_readable_calendar_is_refused_in_danish(text):
    with pytest.raises(Invalid) as refused:
        read(text)
    assert set(refused.value.errors) == {"ics"}
    message = refused.value.errors["ics"]
    assert "kalender" in message.lower() or "Kalender" in message


# --------------------------------------------------------------------------------------
# Fetching an address, against a real HTTP server on 127.0.0.1


SMALL_ICS = calendar(event("s@x", "DTSTART:20270405T080000Z", "DTEND:20270405T090000Z"))


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/calendar", length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802  (http.server's name)
        server = self.server
        server.requests.append(self.path)
        path = self.path.split("?")[0]
        if path == "/cal.ics":
            self._send(200, SMALL_ICS.encode())
        elif path == "/switch.ics":
            status, body = server.switch
            self._send(status, body.encode())
        elif path == "/missing":
            self._send(404, b"not here", "text/plain")
        elif path == "/huge":
            self._send(200, b"BEGIN:VCALENDAR\r\n" + b"X" * (busy.MAX_BYTES + 1))
        elif path == "/huge-stream":  # no Content-Length: the body ends when the connection closes
            self._send(200, b"BEGIN:VCALENDAR\r\n" + b"X" * (busy.MAX_BYTES + 1), length=False)
        elif path == "/page":
            self._send(200, b"<!doctype html><html><body>Log ind</body></html>", "text/html")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cal.ics")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/to-localhost":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{server.server_port}/cal.ics")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            time.sleep(2)
            self._send(200, SMALL_ICS.encode())
        else:
            self._send(500, b"oops", "text/plain")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.switch = (200, SMALL_ICS)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server):
    server.requests.clear()
    server.switch = (200, SMALL_ICS)
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def private_hosts_allowed(monkeypatch):
    """The operations read the setting; tests fetch from their own server on 127.0.0.1."""
    allowed = dataclasses.replace(get_settings(), calendar_allow_private_hosts=True)
    monkeypatch.setattr(busy, "get_settings", lambda: allowed)


async def test_it_fetches_a_calendar_and_follows_a_redirect(base, server):
    assert await busy.fetch_calendar(f"{base}/cal.ics", allow_private=True) == SMALL_ICS
    assert await busy.fetch_calendar(f"{base}/redirect", allow_private=True) == SMALL_ICS
    assert server.requests == ["/cal.ics", "/redirect", "/cal.ics"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/missing", "HTTP 404"),
        ("/other", "HTTP 500"),
        ("/huge", "større end 5 MB"),
        ("/huge-stream", "større end 5 MB"),
        ("/page", "ikke med en kalender"),
        ("/loop", "for mange gange"),
    ],
)
async def test_fetch_problems_are_named(base, path, words):
    with pytest.raises(Invalid) as refused:
        await busy.fetch_calendar(f"{base}{path}", allow_private=True)
    assert words in refused.value.errors["url"]
    assert "127.0.0.1" in refused.value.errors["url"]


async def test_a_slow_server_times_out(base):
    started = time.monotonic()
    with pytest.raises(Invalid) as refused:
        await busy.fetch_calendar(f"{base}/slow", allow_private=True, timeout=0.5)
    assert "svarede ikke inden for" in refused.value.errors["url"]
    assert time.monotonic() - started < 1.5


async def test_a_closed_port_is_a_clear_error():
    with pytest.raises(Invalid) as refused:
        await busy.fetch_calendar("http://127.0.0.1:9/cal.ics", allow_private=True, timeout=2)
    assert "Kunne ikke forbinde til 127.0.0.1" in refused.value.errors["url"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/cal.ics",
        "http://localhost:{port}/cal.ics",
        "http://[::1]:{port}/cal.ics",
        "http://2130706433:{port}/cal.ics",  # 127.0.0.1 written as one number
        "http://10.1.2.3/cal.ics",
        "http://192.168.1.10/cal.ics",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "webcal://127.0.0.1:{port}/cal.ics",
    ],
)
async def test_internal_addresses_are_refused_before_any_request(base, server, url):
    with pytest.raises(Invalid) as refused:
        await busy.fetch_calendar(url.format(port=server.server_port), allow_private=False, timeout=2)
    assert "interne eller lokale netværk" in refused.value.errors["url"]
    assert server.requests == []


async def test_a_redirect_is_checked_again(base, server, monkeypatch):
    # The first host is let through; the redirect leads to "localhost", which is checked
    # again as if private hosts were not allowed.
    original = busy._resolve

    async def resolve(host, port, allow_private):
        return await original(host, port, host == "127.0.0.1")

    monkeypatch.setattr(busy, "_resolve", resolve)
    with pytest.raises(Invalid) as refused:
        await busy.fetch_calendar(f"{base}/to-localhost", allow_private=False)
    assert "interne eller lokale netværk (localhost)" in refused.value.errors["url"]
    assert server.requests == ["/to-localhost"]


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True), ("10.0.0.1", True), ("172.16.5.4", True), ("192.168.0.1", True),
        ("169.254.169.254", True), ("100.64.0.1", True), ("224.0.0.251", True), ("0.0.0.0", True),
        ("240.0.0.1", True), ("::1", True), ("fe80::1", True), ("fc00::1", True),
        ("::ffff:127.0.0.1", True), ("8.8.8.8", False), ("2a00:1450:4001::200e", False),
    ],
)
def test_which_addresses_are_internal(address, refused):
    import ipaddress

    assert busy._refused(ipaddress.ip_address(address)) is refused


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Skriv kalenderens iCal-adresse"),
        ("ftp://example.com/cal.ics", "skal begynde med https://"),
        ("kalender.example.com/cal.ics", "skal begynde med https://"),
        ("https://", "mangler et værtsnavn"),
        ("https://example.com:99999/", "kan ikke læses"),
        ("https://exa mple.com/", "mellemrum"),
    ],
)
def test_bad_addresses_are_named(url, words):
    with pytest.raises(Invalid) as refused:
        busy.normalise_url(url)
    assert words in refused.value.errors["url"]


def test_webcal_becomes_https():
    assert busy.normalise_url(" webcal://p01-caldav.example.com/published/2/ABC ") == (
        "https://p01-caldav.example.com/published/2/ABC"
    )


# --------------------------------------------------------------------------------------
# Operations


async def person_id(email: str) -> int:
    return (await Person.select(Person.id).where(Person.email == email).first())["id"]


def soon_ics(days_ahead: int = 2, start: str = "100000", end: str = "120000") -> str:
    day = clock.today() + timedelta(days=days_ahead)
    return calendar(
        event(
            "snart@x",
            f"DTSTART;TZID=Europe/Copenhagen:{day:%Y%m%d}T{start}",
            f"DTEND;TZID=Europe/Copenhagen:{day:%Y%m%d}T{end}",
        )
    )


def weekly_ics() -> str:
    """Every Wednesday 8-9 local time for the whole window, from a year ago."""
    first = clock.today() - timedelta(days=365)
    first += timedelta(days=(2 - first.weekday()) % 7)
    return calendar(
        event(
            "ugentlig@x",
            f"DTSTART;TZID=Europe/Copenhagen:{first:%Y%m%d}T080000",
            f"DTEND;TZID=Europe/Copenhagen:{first:%Y%m%d}T090000",
            "RRULE:FREQ=WEEKLY",
        )
    )


async def test_adding_a_file_stores_its_busy_times_within_the_window(demo_db):
    jonas = await person_id("underviser@intro.example")
    calendar_id = await busy.add_calendar(jonas, jonas, ics_text=weekly_ics())
    rows = await BusyTime.select().where(BusyTime.calendar == calendar_id).order_by(BusyTime.starts_at)
    start, end = busy.window()
    # About 82 Wednesdays in 580 days, none outside the window.
    assert 80 <= len(rows) <= 84
    assert all(start <= r["starts_at"] and r["ends_at"] <= end for r in rows)
    stored = await BusyCalendar.select().where(BusyCalendar.id == calendar_id).first()
    assert stored["source_url"] is None and "ugentlig@x" in stored["source_ics"]
    assert stored["refreshed_at"] is not None and stored["last_error"] == ""
    line = await AuditLog.select().where(AuditLog.action == "busy_calendar.add").output(load_json=True).first()
    assert line["actor"] == jonas and line["object_id"] == str(jonas)
    assert line["details"]["source"] == "file" and line["details"]["busy_times"] == len(rows)


async def test_adding_an_address_logs_the_host_but_never_the_address(demo_db, base, server, private_hosts_allowed):
    jonas = await person_id("underviser@intro.example")
    server.switch = (200, soon_ics())
    url = f"{base}/switch.ics?token=hemmelig-123"
    calendar_id = await busy.add_calendar(jonas, jonas, url=url)
    stored = await BusyCalendar.select().where(BusyCalendar.id == calendar_id).first()
    assert stored["source_url"] == url and stored["source_ics"] == ""
    assert await BusyTime.count().where(BusyTime.calendar == calendar_id) == 1
    lines = await AuditLog.select(AuditLog.details).where(AuditLog.action == "busy_calendar.add").output(load_json=True)
    assert lines[0]["details"]["host"] == "127.0.0.1"
    assert "hemmelig" not in json.dumps(lines, ensure_ascii=False)
    assert "switch.ics" not in json.dumps(lines, ensure_ascii=False)


async def test_a_calendar_that_cannot_be_read_writes_nothing(demo_db, base, private_hosts_allowed):
    jonas = await person_id("underviser@intro.example")
    before = (await BusyCalendar.count(), await BusyTime.count(), await AuditLog.count())
    for kwargs, field in [
        ({"url": f"{base}/missing"}, "url"),
        ({"url": f"{base}/page"}, "url"),
        ({"ics_text": "BEGIN:VCALENDAR\nsludder\n"}, "ics"),
        ({}, "url"),
        ({"url": f"{base}/cal.ics", "ics_text": SMALL_ICS}, "url"),
    ]:
        with pytest.raises(Invalid) as refused:
            await busy.add_calendar(jonas, jonas, **kwargs)
        assert field in refused.value.errors
    assert (await BusyCalendar.count(), await BusyTime.count(), await AuditLog.count()) == before


async def test_a_failing_refresh_keeps_the_old_busy_times_and_says_why(demo_db, base, server, private_hosts_allowed):
    jonas = await person_id("underviser@intro.example")
    server.switch = (200, soon_ics())
    calendar_id = await busy.add_calendar(jonas, jonas, url=f"{base}/switch.ics")
    old = await BusyTime.select(BusyTime.starts_at, BusyTime.ends_at).where(BusyTime.calendar == calendar_id)
    assert len(old) == 1

    server.switch = (404, "væk")
    with pytest.raises(Invalid):
        await busy.refresh_calendar(calendar_id)
    assert await BusyTime.select(BusyTime.starts_at, BusyTime.ends_at).where(BusyTime.calendar == calendar_id) == old
    stored = await BusyCalendar.select().where(BusyCalendar.id == calendar_id).first()
    assert "HTTP 404" in stored["last_error"]
    # The same failure again is not logged twice.
    with pytest.raises(Invalid):
        await busy.refresh_calendar(calendar_id)
    assert await AuditLog.count().where(AuditLog.action == "busy_calendar.refresh_failed") == 1

    server.switch = (200, soon_ics(days_ahead=3))
    assert await busy.refresh_calendar(calendar_id) == 1
    new = await BusyTime.select(BusyTime.starts_at).where(BusyTime.calendar == calendar_id)
    assert new != [{"starts_at": old[0]["starts_at"]}]
    stored = await BusyCalendar.select().where(BusyCalendar.id == calendar_id).first()
    assert stored["last_error"] == ""
    assert await AuditLog.count().where(AuditLog.action == "busy_calendar.refresh") == 1
    # Read again unchanged: nothing changed, so nothing more in the log.
    assert await busy.refresh_calendar(calendar_id) == 1
    assert await AuditLog.count().where(AuditLog.action == "busy_calendar.refresh") == 1


async def test_only_the_owner_removes_a_calendar(demo_db):
    jonas = await person_id("underviser@intro.example")
    helle = await person_id("underviser2@intro.example")
    calendar_id = await busy.add_calendar(jonas, jonas, ics_text=soon_ics())
    with pytest.raises(NotFound):
        await busy.remove_calendar(helle, helle, calendar_id)
    await busy.remove_calendar(jonas, jonas, calendar_id)
    assert not await BusyCalendar.exists().where(BusyCalendar.id == calendar_id)
    assert await BusyTime.count().where(BusyTime.calendar == calendar_id) == 0
    assert await AuditLog.exists().where(AuditLog.action == "busy_calendar.remove")


async def test_refresh_all_goes_on_past_a_failing_calendar(demo_db, base, server, private_hosts_allowed):
    jonas = await person_id("underviser@intro.example")
    await busy.add_calendar(jonas, jonas, ics_text=soon_ics())
    server.switch = (200, weekly_ics())
    await busy.add_calendar(jonas, jonas, url=f"{base}/switch.ics")
    server.switch = (503, "nede")
    summary = await busy.refresh_all()
    assert (summary.refreshed, summary.failed, summary.busy_times) == (1, 1, 1)
    assert "1 kalender læst, 1 med fejl" in str(summary)


def test_the_command_refreshes_every_calendar(demo_db):
    def run(coro):
        return asyncio.new_event_loop().run_until_complete(coro)

    jonas = run(person_id("underviser@intro.example"))
    run(busy.add_calendar(jonas, jonas, ics_text=soon_ics()))
    result = CliRunner().invoke(cli, ["calendars-refresh"])
    assert result.exit_code == 0, result.output
    assert "1 kalender læst, 0 med fejl, 1 optagede tidsrum i alt." in result.output


# --------------------------------------------------------------------------------------
# The proposer keeps away from busy days


def all_day(day: date) -> str:
    return calendar(event("optaget@x", f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}"))


async def _new_cohort(name: str) -> tuple[int, int, int]:
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    coordinator = await person_id("koordinator@intro.example")
    start = clock.today() + timedelta(days=70)
    cohort_id = await cohorts.create_cohort(
        coordinator, partnership,
        {"name": name, "curriculum_version": "1", "start_date": start.isoformat(), "capacity": "20", "weekdays": ["1"]},
    )
    return partnership, coordinator, cohort_id


async def _qualified(partnership: int, code: str) -> list[int]:
    teachers = {
        g["person"] for g in await RoleGrant.select(RoleGrant.person).where(
            (RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == partnership)
        )
    }
    rows = await InstructorQualification.select(InstructorQualification.person).where(
        InstructorQualification.module_code == code
    )
    return sorted({r["person"] for r in rows} & teachers)


async def test_a_busy_day_for_every_qualified_instructor_moves_the_course_day(demo_db):
    partnership, coordinator, cohort_id = await _new_cohort("Hold Optaget")
    first = (await cohorts.propose_timetable(coordinator, CohortRow.from_row(await cohort_or_404(cohort_id)))).sessions[0]
    for teacher in await _qualified(partnership, first.module_code):
        await busy.add_calendar(teacher, teacher, ics_text=all_day(first.day))

    again = await cohorts.propose_timetable(coordinator, CohortRow.from_row(await cohort_or_404(cohort_id)))
    moved = next(s for s in again.sessions if s.module_code == first.module_code)
    assert moved.day > first.day
    assert f"ikke {da_date(first.day)}: ingen godkendt underviser er ledig" in moved.reasons
    stored = await Session.select(Session.change_reason).where(
        (Session.cohort == cohort_id) & (Session.module.code == first.module_code)
    ).first()
    assert "ingen godkendt underviser er ledig" in stored["change_reason"]


# --------------------------------------------------------------------------------------
# The page


JONAS = "underviser@intro.example"
HELLE = "underviser2@intro.example"


async def upload(client, content: bytes, filename: str = "kalender.ics"):
    return await client.post(
        "/me/calendars/file",
        files={"ics": (filename, content, "text/calendar")},
        data={"_csrf_token": csrf_token(client)},
    )


async def test_an_instructor_uploads_a_file_and_sees_the_busy_times(demo_client):
    await login(demo_client, JONAS)
    response = await upload(demo_client, soon_ics(days_ahead=2, start="101500", end="114500").encode())
    assert response.status_code == 303
    assert response.headers["location"] == "/me/calendars?notice=added"
    page = await demo_client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Uploadet fil" in page.text
    assert "Kalenderen er tilføjet" in page.text
    day = clock.today() + timedelta(days=2)
    assert da_date(day) in page.text and "10.15–11.45" in page.text


async def test_an_instructor_adds_an_address_and_only_its_host_is_shown(demo_client, base, server, private_hosts_allowed):
    server.switch = (200, soon_ics())
    await login(demo_client, JONAS)
    response = await post_form(demo_client, "/me/calendars/url", {"url": f"{base}/switch.ics?token=hemmelig"})
    assert response.status_code == 303, response.text[:500]
    page = await demo_client.get("/me/calendars")
    assert "Adresse hos 127.0.0.1" in page.text
    assert "hemmelig" not in page.text and "switch.ics" not in page.text

    calendar_id = (await BusyCalendar.select(BusyCalendar.id).first())["id"]
    server.switch = (404, "væk")
    response = await post_form(demo_client, f"/me/calendars/{calendar_id}/refresh")
    assert response.status_code == 303
    page = await demo_client.get(response.headers["location"])
    assert "kunne ikke læses igen" in page.text and "HTTP 404" in page.text


async def test_refresh_and_remove_from_the_page(demo_client):
    await login(demo_client, JONAS)
    await upload(demo_client, soon_ics().encode())
    calendar_id = (await BusyCalendar.select(BusyCalendar.id).first())["id"]
    response = await post_form(demo_client, f"/me/calendars/{calendar_id}/refresh")
    assert response.headers["location"].startswith("/me/calendars?notice=refreshed")
    response = await post_form(demo_client, f"/me/calendars/{calendar_id}/remove")
    assert response.headers["location"] == "/me/calendars?notice=removed"
    assert await BusyCalendar.count() == 0


async def test_another_instructors_calendar_is_not_found(demo_client):
    jonas = await person_id(JONAS)
    calendar_id = await busy.add_calendar(jonas, jonas, ics_text=soon_ics())
    await login(demo_client, HELLE)
    for action in ("refresh", "remove"):
        response = await post_form(demo_client, f"/me/calendars/{calendar_id}/{action}")
        assert response.status_code == 404
    page = await demo_client.get("/me/calendars")
    assert "Uploadet fil" not in page.text
    assert await BusyCalendar.exists().where(BusyCalendar.id == calendar_id)


@pytest.mark.parametrize("email", ["koordinator@intro.example", "deltager@intro.example"])
async def test_only_instructors_have_busy_calendars(demo_client, email):
    await login(demo_client, email)
    assert (await demo_client.get("/me/calendars")).status_code == 403
    assert (await post_form(demo_client, "/me/calendars/url", {"url": "https://example.com/a.ics"})).status_code == 403


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Skriv kalenderens iCal-adresse"),
        ("   ", "Skriv kalenderens iCal-adresse"),
        ("ftp://example.com/kalender.ics", "skal begynde med https://"),
        ("http://127.0.0.1/kalender.ics", "interne eller lokale netværk"),
    ],
)
async def test_a_bad_address_is_refused_with_its_message(demo_client, url, words):
    await login(demo_client, JONAS)
    before = (await BusyCalendar.count(), await AuditLog.count())
    response = await post_form(demo_client, "/me/calendars/url", {"url": url})
    assert response.status_code == 400
    assert 'id="f-url-error"' in response.text and words in response.text
    assert (await BusyCalendar.count(), await AuditLog.count()) == before


@pytest.mark.parametrize(
    ("content", "filename", "words"),
    [
        (b"Husk at koebe maelk", "noter.txt", "ikke en kalender i iCalendar-format"),
        ("BEGIN:VCALENDAR\nvrøvl\n".encode(), "kalender.ics", "kunne ikke læses"),
        (b"", "tom.ics", "Filen er tom"),
        (b"BEGIN:VCALENDAR\n" + b"X" * busy.MAX_BYTES, "stor.ics", "større end 5 MB"),
    ],
)
async def test_a_bad_file_is_refused_with_its_message(demo_client, content, filename, words):
    await login(demo_client, JONAS)
    before = (await BusyCalendar.count(), await AuditLog.count())
    response = await upload(demo_client, content, filename)
    assert response.status_code == 400
    assert 'id="f-ics-error"' in response.text and words in response.text
    assert (await BusyCalendar.count(), await AuditLog.count()) == before


async def test_a_form_without_a_file_is_refused(demo_client):
    await login(demo_client, JONAS)
    response = await post_form(demo_client, "/me/calendars/file", {})
    assert response.status_code == 400
    assert "Vælg en .ics-fil" in response.text


async def test_an_upload_far_over_the_limit_is_stopped(demo_client):
    await login(demo_client, JONAS)
    response = await upload(demo_client, b"BEGIN:VCALENDAR\n" + b"X" * (busy.MAX_BYTES * 2))
    assert response.status_code == 413
    assert await BusyCalendar.count() == 0
