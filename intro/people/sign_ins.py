"""A person's own sign-ins: which browsers are signed in as them, and ending one or
all of them (issue 16, section 5).

A person only ever reaches their own sessions: every query here is narrowed to
`person_id`, so a session id of someone else's is "not found", as one that does not
exist. The cookie's token is never shown; sessions are told apart by when they
started and the device the browser described.
"""

from __future__ import annotations

import re

from intro import audit, clock
from intro.errors import NotFound
from intro.i18n import _
from intro.people.accounts import _token_hash
from intro.tables import LoginSession

# (pattern in the User-Agent header, name shown), first match wins: Edge and Opera
# also say "Chrome", and Chrome also says "Safari".
_BROWSERS = [
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
]
_SYSTEMS = [
    (r"iPhone", "iPhone"),
    (r"iPad", "iPad"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
]


def describe_device(user_agent: str) -> str:
    """A short Danish description of a browser from its User-Agent header, e.g.
    "Firefox på Windows"; "Ukendt enhed" when it says nothing we know."""
    ua = user_agent or ""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, ua)), None)
    if browser and system:
        return _("{browser} på {system}").format(browser=browser, system=system)
    return browser or system or _("Ukendt enhed")


async def sessions_of(person_id: int, current_token: str | None = None) -> list[dict]:
    """The person's sessions that have not expired, newest first, each with "id",
    "created_at", "expires_at", "device" and "current" (the one `current_token` is)."""
    current_hash = _token_hash(current_token) if current_token else None
    rows = await LoginSession.select(
        LoginSession.id,
        LoginSession.token_hash,
        LoginSession.created_at,
        LoginSession.expires_at,
        LoginSession.user_agent,
    ).where(
        (LoginSession.person == person_id) & (LoginSession.expires_at > clock.now())
    ).order_by(LoginSession.created_at, ascending=False).order_by(LoginSession.id, ascending=False)
    for row in rows:
        row["current"] = row.pop("token_hash") == current_hash
        row["device"] = describe_device(row.pop("user_agent"))
    return rows


async def end_own_session(person_id: int, session_id: int) -> None:
    """End one of the person's own sessions. NotFound for any other id."""
    ended = await LoginSession.delete().where(
        (LoginSession.id == session_id) & (LoginSession.person == person_id)
    ).returning(LoginSession.id)
    if not ended:
        raise NotFound()
    await audit.record(person_id, "session.end", "person", person_id, session=session_id)


async def end_all_own_sessions(person_id: int) -> int:
    """End every session of the person, the one in use included. Returns how many."""
    ended = await LoginSession.delete().where(LoginSession.person == person_id).returning(LoginSession.id)
    await audit.record(person_id, "session.end_all", "person", person_id, count=len(ended))
    return len(ended)
