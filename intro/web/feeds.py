"""Calendar feeds: the secret feed URLs that calendars poll, the page where people
make and manage them, and "add to calendar" for one course day."""

from __future__ import annotations

import gzip
from collections import OrderedDict
from email.utils import format_datetime, parsedate_to_datetime

from litestar import Request, Response, get, post, route
from litestar.params import FromPath
from litestar.response import Template

from intro import access
from intro.calendars import feeds, ical
from intro.errors import Invalid, NotFound
from intro.inputs import parse_id
from intro.people.accounts import User
from intro.tables import Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

ANY_ROLE = requires(Role.participant, Role.coordinator, Role.instructor, Role.chief)
# Litestar adds "; charset=utf-8" to every text/ type itself: naming it here sent it twice.
CALENDAR = "text/calendar"

# Built feeds by (feed, ETag), per worker, as they are and gzipped: a calendar that
# polls an unchanged feed without If-None-Match gets the bytes made last time, neither
# rebuilt nor compressed again. (The app's compression middleware leaves /feeds/ alone.)
_BUILT: OrderedDict[tuple[int, str], tuple[bytes, bytes]] = OrderedDict()
_BUILT_MAX = 256


def _cached_build(key: tuple[int, str], build) -> tuple[bytes, bytes]:
    built = _BUILT.get(key)
    if built is None:
        body = build()
        built = _BUILT[key] = (body, gzip.compress(body, compresslevel=9, mtime=0))
        if len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    else:
        _BUILT.move_to_end(key)
    return built


def _wants_gzip(request: Request) -> bool:
    return any(
        part.split(";")[0].strip() == "gzip" and not part.replace(" ", "").endswith(";q=0")
        for part in request.headers.get("accept-encoding", "").split(",")
    )


def _not_modified(request: Request, etag: str, last_modified) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag in {m.strip() for m in match.split(",")} or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


@route("/feeds/{name:str}", http_method=["GET", "HEAD"], opt={"public": True}, name="feed", cache=False)
async def feed(request: Request, name: FromPath[str]) -> Response:
    polled = await feeds.poll(name.removesuffix(".ics"))
    if polled is None:
        return Response("Kalenderen findes ikke.", status_code=404, media_type="text/plain",
                        headers={"Cache-Control": "no-store"})
    row, name, etag, last_modified = polled.feed, polled.name, polled.etag, polled.last_modified
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(last_modified.replace(microsecond=0), usegmt=True),
        "Cache-Control": "private, no-cache",
    }
    if _not_modified(request, etag, last_modified):
        return Response(b"", status_code=304, headers=headers)
    await feeds.touch(row)
    built = _BUILT.get((row["id"], etag))
    if built is None:
        # Not built by this worker for this version yet: load, build and keep it.
        sessions = await feeds.feed_sessions(row, await feeds._feed_where(row, polled.session_ids))
        deadlines = await feeds.feed_deadlines(row)
        built = _cached_build(
            (row["id"], etag),
            lambda: ical.build_calendar(name, feeds.to_events(sessions), feeds.to_deadlines(deadlines)),
        )
    else:
        _BUILT.move_to_end((row["id"], etag))
    plain, zipped = built
    headers["Vary"] = "Accept-Encoding"
    body = plain
    if _wants_gzip(request) and len(plain) >= 1000:
        body = zipped
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(b"", media_type=CALENDAR, headers=headers)
    return Response(body, media_type=CALENDAR, headers=headers)


async def _page(user: User, new_url: str | None = None, errors: dict | None = None, status: int = 200) -> Template:
    return Template(
        "feeds/feeds.html",
        context={
            "targets": await feeds.allowed_targets(user),
            "feeds": await feeds.own_feeds(user),
            "kind_names": feeds.KIND_NAMES,
            "new_url": new_url,
            "errors": errors or {},
        },
        status_code=status,
    )


@get("/me/feeds", guards=[ANY_ROLE], name="my_feeds")
async def my_feeds(request: Request[User, None, None]) -> Template:
    return await _page(request.user)


@post("/me/feeds", guards=[ANY_ROLE], name="feed_create")
async def feed_create(request: Request[User, None, None], data: FormData) -> Template:
    kind, _sep, target = forms.value(data, "target").partition(":")
    try:
        token = await feeds.create_feed(
            request.user, kind, parse_id(target), forms.flag(data, "deadlines")
        )
    except Invalid as invalid:
        return await _page(request.user, errors=invalid.errors, status=400)
    # The address is shown this once; only its hash is kept.
    return await _page(request.user, new_url=feeds.feed_url(token))


@post("/me/feeds/{feed_id:int}/regenerate", guards=[ANY_ROLE], name="feed_regenerate")
async def feed_regenerate(request: Request[User, None, None], feed_id: FromPath[int]) -> Template:
    token = await feeds.regenerate(request.user, feed_id)
    return await _page(request.user, new_url=feeds.feed_url(token))


@post("/me/feeds/{feed_id:int}/revoke", guards=[ANY_ROLE], name="feed_revoke")
async def feed_revoke(request: Request[User, None, None], feed_id: FromPath[int]) -> Template:
    await feeds.revoke(request.user, feed_id)
    return await _page(request.user)


@get("/sessions/{session_id:int}/event.ics", guards=[ANY_ROLE], name="session_ics")
async def session_ics(request: Request[User, None, None], session_id: FromPath[int]) -> Response:
    await access.session_for_calendar(request.user, session_id)
    row = await feeds.feed_sessions({"kind": "single", "session": session_id})
    if not row:
        raise NotFound()
    body = ical.single_event(feeds.to_events(row)[0])
    return Response(
        body, media_type=CALENDAR,
        headers={"Content-Disposition": 'attachment; filename="kursusdag.ics"'},
    )


ROUTES = [feed, my_feeds, feed_create, feed_regenerate, feed_revoke, session_ics]
