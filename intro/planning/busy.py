"""Instructors' own calendars of busy times.

An instructor gives Intro the iCalendar address of their work calendar (Outlook,
Google) or uploads an .ics file. Intro reads the events, recurring ones expanded, and
keeps the busy intervals in BusyTime; the timetable proposer then keeps course days
away from them (see `intro.planning.planner_input._instructor_options`).

Three layers, each easy to test on its own:
- `busy_times` decides: iCalendar text in, merged UTC intervals out. Pure.
- `fetch_calendar` fetches: it reads an address a person typed, so it refuses hosts on
  the server's own network (server-side request forgery) and never follows a redirect
  there either.
- `add_calendar`, `refresh_calendar`, `remove_calendar` and `refresh_all` are the named
  operations; each writes in one transaction with its audit line.

A calendar address usually carries a secret token (anyone with it can read the whole
calendar), so it is stored but never shown, logged or put in an error message: people
see the host name only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
import icalendar
import recurring_ical_events

from intro import audit, clock
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _, ngettext
from intro.settings import get_settings
from intro.tables import BusyCalendar, BusyTime
from intro.timefmt import COPENHAGEN

Interval = tuple[datetime, datetime]

# What is kept of each calendar: a month back (so a day being re-planned still sees
# them) to the end of the proposer's planning horizon (550 days).
WINDOW_BACK = timedelta(days=30)
WINDOW_AHEAD = timedelta(days=550)

FETCH_TIMEOUT = 10.0  # seconds, for the whole fetch including redirects
MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
MAX_CALENDARS_PER_PERSON = 10
# A real work calendar has a few thousand busy times in the window; more than this is a
# broken or hostile file, and expanding it would tie up the server.
MAX_OCCURRENCES = 50_000
# Rules that repeat every second or minute cannot describe a person's busy times, and
# expanding them over a year and a half would produce millions of occurrences.
_RAPID_FREQUENCIES = {"SECONDLY", "MINUTELY"}

# httpx logs every request URL at INFO; a calendar URL carries its owner's secret token.
logging.getLogger("httpx").setLevel(logging.WARNING)

NOT_ICALENDAR = _(
    "Det er ikke en kalender i iCalendar-format. Brug en .ics-fil eller kalenderens "
    "iCal-adresse (den slutter ofte på .ics)."
)
UNREADABLE = _(
    "Kalenderen ligner iCalendar, men kunne ikke læses. Hent eller eksportér den igen, "
    "og prøv så igen."
)


# --------------------------------------------------------------------------------------
# Deciding: iCalendar text to busy intervals


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined into one."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _utc(value: date | datetime) -> datetime:
    """An iCalendar start or end as a UTC instant. A date is local midnight in
    Copenhagen (an all-day event blocks the whole Danish day); a floating time, or one
    in a time zone the file does not define, is Copenhagen wall-clock time."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=COPENHAGEN).astimezone(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=COPENHAGEN)
    return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_free(event: icalendar.Event) -> bool:
    if str(event.get("TRANSP", "OPAQUE")).strip().upper() == "TRANSPARENT":
        return True
    if str(event.get("STATUS", "")).strip().upper() == "CANCELLED":
        return True
    # Outlook's "Vis som: Ledig" (normally sent as TRANSPARENT as well).
    return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).strip().upper() == "FREE"


def _refuse_rapid_rules(calendar: icalendar.Calendar) -> None:
    for event in calendar.walk("VEVENT"):
        rules = event.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            frequencies = {str(f).upper() for f in rule.get("FREQ", [])}
            if frequencies & _RAPID_FREQUENCIES:
                raise Invalid(
                    {"ics": _("Kalenderen har en begivenhed, der gentages hvert minut eller sekund. Den kan Intro ikke bruge.")}
                )


def _parse(ics_text: str) -> list[icalendar.Calendar]:
    text = (ics_text or "").lstrip("\ufeff").strip()
    # Real calendars never contain NUL; PostgreSQL text cannot store it either.
    if not text[:200].upper().startswith("BEGIN:VCALENDAR") or "\x00" in text:
        raise Invalid({"ics": NOT_ICALENDAR})
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as error:  # icalendar raises ValueError and its own kinds
        raise Invalid({"ics": UNREADABLE}) from error
    if not calendars or any(c.name != "VCALENDAR" for c in calendars):
        raise Invalid({"ics": NOT_ICALENDAR})
    return calendars


def busy_times(ics_text: str, window_start: datetime, window_end: datetime) -> list[Interval]:
    """The busy intervals of an iCalendar text within [window_start, window_end): UTC,
    sorted, overlapping ones merged. Recurring events are expanded (RRULE, RDATE,
    EXDATE, moved occurrences). Free (TRANSP:TRANSPARENT) and cancelled events are left
    out; an all-day event blocks its whole day(s) in Copenhagen. Raises Invalid({"ics":
    ...}) for text that is not iCalendar or cannot be read."""
    window_start, window_end = _aware(window_start), _aware(window_end)
    found: list[Interval] = []
    for calendar in _parse(ics_text):
        try:
            _refuse_rapid_rules(calendar)
            query = recurring_ical_events.of(calendar)
            # Floating times are compared with the bounds as if they were UTC: ask for a
            # day more on each side and cut exactly after converting.
            chunk = window_start - timedelta(days=1)
            last = window_end + timedelta(days=1)
            # In chunks, so a file with far too many occurrences is stopped early.
            while chunk < last:
                upto = min(chunk + timedelta(days=92), last)
                for event in query.between(chunk, upto):
                    if _is_free(event):
                        continue
                    start, end = _utc(event.start), _utc(event.end)
                    start, end = max(start, window_start), min(end, window_end)
                    if end > start:
                        found.append((start, end))
                if len(found) > MAX_OCCURRENCES:
                    raise Invalid(
                        {"ics": _("Kalenderen har over {n} begivenheder i perioden; det er for mange.").format(n=f"{MAX_OCCURRENCES:,}".replace(",", "."))}
                    )
                chunk = upto
        except Invalid:
            raise
        except Exception as error:  # bad rules, broken properties, end before start
            raise Invalid({"ics": UNREADABLE}) from error
    return merge(found)


def window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period whose busy times are kept, around now."""
    # From midnight UTC, so refreshes on one day cut long events at the same instants
    # and an unchanged calendar gives exactly the same busy times.
    today = (now or clock.now()).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - WINDOW_BACK, today + WINDOW_AHEAD


# --------------------------------------------------------------------------------------
# Fetching a calendar address


def normalise_url(url: str | None) -> str:
    """The address to fetch (webcal:// becomes https://); Invalid({"url": ...}) when it
    is not an http(s) address."""
    text = (url or "").strip()
    if not text:
        raise Invalid({"url": _("Skriv kalenderens iCal-adresse.")})
    if len(text) > 1000:
        raise Invalid({"url": _("Adressen er for lang (højst 1000 tegn).")})
    if any(c.isspace() for c in text):
        raise Invalid({"url": _("Adressen må ikke indeholde mellemrum.")})
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as error:
        raise Invalid({"url": _("Adressen kan ikke læses. Kopiér den igen fra kalenderen.")}) from error
    scheme = parts.scheme.lower()
    if scheme == "webcal":
        scheme = "https"
    if scheme not in ("http", "https"):
        raise Invalid({"url": _("Adressen skal begynde med https://, http:// eller webcal://.")})
    if not parts.hostname:
        raise Invalid({"url": _("Adressen mangler et værtsnavn, fx outlook.office365.com.")})
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


def host_of(url: str | None) -> str:
    """Only the host of an address: what people and the audit log may see."""
    try:
        return urlsplit(url or "").hostname or ""
    except ValueError:
        return ""


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


async def _resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses to connect to. Every address the name resolves to must be public
    (unless allowed), so a name cannot point at the server's own network."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Invalid({"url": _("Værten {host} findes ikke. Tjek adressen.").format(host=host)}) from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addresses:
        raise Invalid({"url": _("Værten {host} findes ikke. Tjek adressen.").format(host=host)})
    if not allow_private and any(_refused(a) for a in addresses):
        raise Invalid(
            {"url": _("Intro henter ikke kalendere fra interne eller lokale netværk ({host}). Brug kalenderens offentlige iCal-adresse.").format(host=host)}
        )
    return [str(a) for a in addresses]


async def _send(client: httpx.AsyncClient, url: httpx.URL, addresses: list[str]) -> httpx.Response:
    """GET the address, connecting to the checked addresses in turn (not to whatever
    the name resolves to a moment later); the Host header and the TLS name stay those
    of the real host, so certificates are checked as usual."""
    for number, address in enumerate(addresses, start=1):
        request = client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": url.raw_host.decode("ascii")},
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError:
            if number == len(addresses):
                raise
    raise AssertionError("no addresses")  # _resolve never returns an empty list


def _http_problem(status: int, host: str) -> str:
    if status in (401, 403):
        return _("{host} vil ikke udlevere kalenderen (HTTP {status}). Tjek, at kalenderen er delt, og at adressen er den hemmelige iCal-adresse.").format(host=host, status=status)
    if status in (404, 410):
        return _("Kalenderen findes ikke på {host} (HTTP {status}). Adressen kan være udløbet; hent en ny i kalenderen.").format(host=host, status=status)
    return _("{host} svarede med en fejl (HTTP {status}). Prøv igen senere.").format(host=host, status=status)


async def _get(client: httpx.AsyncClient, url: str, allow_private: bool) -> str:
    current = httpx.URL(url)
    for _hop in range(MAX_REDIRECTS + 1):
        host = current.host
        port = current.port or (443 if current.scheme == "https" else 80)
        addresses = await _resolve(current.raw_host.decode("ascii"), port, allow_private)
        response = await _send(client, current, addresses)
        try:
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("location", "")
                target = current.join(location)
                if not location or target.scheme not in ("http", "https"):
                    raise Invalid({"url": _("{host} sendte videre til en ugyldig adresse.").format(host=host)})
                current = target
                continue
            if response.status_code != 200:
                raise Invalid({"url": _http_problem(response.status_code, host)})
            too_large = Invalid({"url": _("Kalenderen fra {host} er større end 5 MB.").format(host=host)})
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise too_large
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > MAX_BYTES:
                    raise too_large
            try:
                text = bytes(body).decode(response.charset_encoding or "utf-8", errors="replace")
            except LookupError:  # an unknown charset name
                text = bytes(body).decode("utf-8", errors="replace")
            if not text.lstrip("\ufeff").lstrip()[:200].upper().startswith("BEGIN:VCALENDAR"):
                raise Invalid(
                    {"url": _("{host} svarede ikke med en kalender i iCalendar-format. Brug kalenderens iCal-adresse (ikke adressen på websiden).").format(host=host)}
                )
            return text
        finally:
            await response.aclose()
    raise Invalid({"url": _("{host} sendte videre for mange gange.").format(host=host_of(url))})


async def fetch_calendar(url: str, *, allow_private: bool = False, timeout: float = FETCH_TIMEOUT) -> str:
    """The iCalendar text at an address. Raises Invalid({"url": ...}) naming the
    problem: a bad or internal address, no answer in time, an HTTP error, too big, or
    not a calendar. Hosts on private, loopback, link-local, multicast and reserved
    addresses are refused before any request, unless `allow_private`."""
    url = normalise_url(url)
    host = host_of(url)
    try:
        async with (
            asyncio.timeout(timeout),
            # No proxy from the environment: it would resolve names itself, past the check.
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        ):
            return await _get(client, url, allow_private)
    except TimeoutError as error:
        raise Invalid({"url": _("{host} svarede ikke inden for {n} sekunder.").format(host=host, n=int(timeout) or 1)}) from error
    except httpx.TimeoutException as error:
        raise Invalid({"url": _("{host} svarede ikke inden for {n} sekunder.").format(host=host, n=int(timeout) or 1)}) from error
    except httpx.HTTPError as error:
        raise Invalid({"url": _("Kunne ikke forbinde til {host}. Tjek adressen, og prøv igen.").format(host=host)}) from error


# --------------------------------------------------------------------------------------
# Operations


def _allow_private() -> bool:
    return get_settings().calendar_allow_private_hosts


async def _read_source(url: str | None, ics_text: str | None) -> str:
    if url:
        return await fetch_calendar(url, allow_private=_allow_private())
    return ics_text or ""


async def _intervals_for(text: str, field: str) -> list[Interval]:
    """The busy times to keep; Invalid names the field the person gave ("url" or "ics")."""
    start, end = window()
    try:
        # A big calendar takes seconds to expand: not on the event loop serving pages.
        return await asyncio.to_thread(busy_times, text, start, end)
    except Invalid as invalid:
        raise Invalid({field: invalid.errors["ics"]}) from invalid


async def _store_busy_times(calendar_id: int, intervals: Sequence[Interval]) -> None:
    await BusyTime.delete().where(BusyTime.calendar == calendar_id)
    for at in range(0, len(intervals), 500):
        await BusyTime.insert(
            *[BusyTime(calendar=calendar_id, starts_at=s, ends_at=e) for s, e in intervals[at : at + 500]]
        )


async def add_calendar(
    actor_id: int | None, person_id: int, *, url: str | None = None, ics_text: str | None = None
) -> int:
    """Add a calendar of busy times from an address or a file's text, read at once.
    If it cannot be fetched or read, nothing is written and Invalid is raised."""
    url = (url or "").strip() or None
    if url is None and not ics_text:
        raise Invalid({"url": _("Skriv kalenderens iCal-adresse, eller vælg en .ics-fil.")})
    if url is not None and ics_text:
        raise Invalid({"url": _("Giv enten en iCal-adresse eller en .ics-fil, ikke begge.")})
    if url is not None:
        url = normalise_url(url)
        if await BusyCalendar.exists().where(
            (BusyCalendar.person == person_id) & (BusyCalendar.source_url == url)
        ):
            raise Invalid({"url": _("Du har allerede tilføjet kalenderen med denne adresse.")})
    if await BusyCalendar.count().where(BusyCalendar.person == person_id) >= MAX_CALENDARS_PER_PERSON:
        field = "url" if url else "ics"
        raise Invalid({field: _("Du kan højst have {n} kalendere. Fjern en, før du tilføjer en ny.").format(n=MAX_CALENDARS_PER_PERSON)})
    text = await _read_source(url, ics_text)
    intervals = await _intervals_for(text, "url" if url else "ics")
    now = clock.now()
    async with write_transaction(BusyCalendar._meta.db):
        calendar_id = (
            await BusyCalendar.insert(
                BusyCalendar(
                    person=person_id,
                    source_url=url,
                    source_ics="" if url else text,
                    refreshed_at=now,
                    last_error="",
                )
            ).returning(BusyCalendar.id)
        )[0]["id"]
        await _store_busy_times(calendar_id, intervals)
        # Never the address itself: it is a secret key to the whole calendar.
        await audit.record(
            actor_id, "busy_calendar.add", "person", person_id,
            calendar=calendar_id, source="url" if url else "file",
            host=host_of(url) if url else None, busy_times=len(intervals),
        )
    return calendar_id


async def refresh_calendar(calendar_id: int, actor_id: int | None = None) -> int:
    """Read the calendar again (fetch its address, or re-read its stored file) and
    replace its busy times; returns how many it has. On failure the old busy times stay,
    the error is kept in `last_error`, and Invalid is raised."""
    calendar = await BusyCalendar.select().where(BusyCalendar.id == calendar_id).first()
    if calendar is None:
        raise NotFound()
    field = "url" if calendar["source_url"] else "ics"
    try:
        text = await _read_source(calendar["source_url"], calendar["source_ics"])
        intervals = await _intervals_for(text, field)
    except Invalid as invalid:
        await _record_failure(calendar, actor_id, invalid.errors.get(field) or next(iter(invalid.errors.values())))
        raise
    async with write_transaction(BusyCalendar._meta.db):
        # Updating the calendar's row first makes two refreshes of it take turns.
        still_there = await BusyCalendar.update(
            {BusyCalendar.refreshed_at: clock.now(), BusyCalendar.last_error: ""}
        ).where(BusyCalendar.id == calendar_id).returning(BusyCalendar.id)
        if not still_there:
            raise NotFound()
        old = await BusyTime.select(BusyTime.starts_at, BusyTime.ends_at).where(BusyTime.calendar == calendar_id)
        if {(_aware(r["starts_at"]), _aware(r["ends_at"])) for r in old} != set(intervals):
            await _store_busy_times(calendar_id, intervals)
            await audit.record(
                actor_id, "busy_calendar.refresh", "person", calendar["person"],
                calendar=calendar_id, busy_times=len(intervals),
            )
    return len(intervals)


async def _record_failure(calendar: dict, actor_id: int | None, message: str) -> None:
    async with write_transaction(BusyCalendar._meta.db):
        await BusyCalendar.update({BusyCalendar.last_error: message}).where(BusyCalendar.id == calendar["id"])
        # Logged when the problem is new, not on every nightly retry.
        if message != calendar["last_error"]:
            await audit.record(
                actor_id, "busy_calendar.refresh_failed", "person", calendar["person"],
                calendar=calendar["id"], error=message,
            )


async def remove_calendar(actor_id: int | None, person_id: int, calendar_id: int) -> None:
    calendar = await calendar_of(person_id, calendar_id)
    async with write_transaction(BusyCalendar._meta.db):
        await BusyTime.delete().where(BusyTime.calendar == calendar_id)
        await BusyCalendar.delete().where(BusyCalendar.id == calendar_id)
        await audit.record(
            actor_id, "busy_calendar.remove", "person", person_id,
            calendar=calendar_id, source="url" if calendar["source_url"] else "file",
            host=host_of(calendar["source_url"]) if calendar["source_url"] else None,
        )


@dataclass(frozen=True)
class RefreshSummary:
    refreshed: int
    failed: int
    busy_times: int

    def __str__(self) -> str:
        done = ngettext("{n} kalender læst", "{n} kalendere læst", self.refreshed).format(n=self.refreshed)
        return _("{done}, {failed} med fejl, {busy} optagede tidsrum i alt.").format(
            done=done, failed=self.failed, busy=self.busy_times
        )


async def refresh_all(parallel: int = 4) -> RefreshSummary:
    """Refresh every calendar (for a nightly command). A calendar that fails keeps its
    busy times and its error; the others go on."""
    ids = [r["id"] for r in await BusyCalendar.select(BusyCalendar.id).order_by(BusyCalendar.id)]
    gate = asyncio.Semaphore(parallel)

    async def one(calendar_id: int) -> int | None:
        async with gate:
            try:
                return await refresh_calendar(calendar_id)
            except (Invalid, NotFound):
                return None

    results = await asyncio.gather(*[one(i) for i in ids])
    ok = [n for n in results if n is not None]
    return RefreshSummary(refreshed=len(ok), failed=len(results) - len(ok), busy_times=sum(ok))


# --------------------------------------------------------------------------------------
# Reading for pages


async def calendar_of(person_id: int, calendar_id: int) -> dict:
    """The calendar, if it is this person's; NotFound otherwise (ids reveal nothing)."""
    calendar = await BusyCalendar.select().where(
        (BusyCalendar.id == calendar_id) & (BusyCalendar.person == person_id)
    ).first()
    if calendar is None:
        raise NotFound()
    return calendar


async def calendars_of(person_id: int, coming_days: int = 60) -> list[dict]:
    """The person's calendars as they may see them: the host only, never the address;
    with how many busy times each has in the coming days."""
    rows = await BusyCalendar.select(
        BusyCalendar.id, BusyCalendar.source_url, BusyCalendar.refreshed_at,
        BusyCalendar.last_error, BusyCalendar.created_at,
    ).where(BusyCalendar.person == person_id).order_by(BusyCalendar.id)
    now = clock.now()
    for row in rows:
        row["host"] = host_of(row.pop("source_url")) or None
        row["coming"] = await BusyTime.count().where(
            (BusyTime.calendar == row["id"])
            & (BusyTime.ends_at > now)
            & (BusyTime.starts_at < now + timedelta(days=coming_days))
        )
    return rows


async def coming_busy_times(person_id: int, days: int = 14) -> list[dict]:
    """The person's busy times from now and `days` ahead, all calendars merged, for
    them to check that Intro read their calendar right."""
    now = clock.now()
    rows = await BusyTime.select(BusyTime.starts_at, BusyTime.ends_at).where(
        (BusyTime.calendar.person == person_id)
        & (BusyTime.ends_at > now)
        & (BusyTime.starts_at < now + timedelta(days=days))
    )
    out = []
    for start, end in merge((_aware(r["starts_at"]), _aware(r["ends_at"])) for r in rows):
        local_start, local_end = start.astimezone(COPENHAGEN), end.astimezone(COPENHAGEN)
        whole_days = local_start.time() == time(0) and local_end.time() == time(0)
        # An all-day event ends at the next midnight: show the last day it covers.
        last_day = (local_end - timedelta(days=1)).date() if whole_days else local_end.date()
        out.append(
            {
                "starts_at": start,
                "ends_at": end,
                "whole_days": whole_days,
                "last_day": last_day,
                "same_day": local_start.date() == last_day,
            }
        )
    return out
