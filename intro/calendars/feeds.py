"""Calendar feeds behind secret URLs.

A feed URL is /feeds/<token>.ics: the token is 192 random bits, only its SHA-256 is
stored, and the URL says nothing about whose feed it is. Regenerating replaces the
token (the old URL answers 404 at once); revoking ends it. A feed never shows more
than its owner may see today: access is checked again on every fetch.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from piccolo.query.functions.aggregate import Count, Max, Sum

from intro import access, audit, clock
from intro.calendars.ical import FeedDeadline, FeedEvent
from intro.db import StampedCache, data_stamp, write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.people.accounts import User, load_user
from intro.settings import get_settings
from intro.tables import (
    ENROLMENT_ON_COHORT,
    CalendarFeedToken,
    CatchUpBooking,
    Cohort,
    Enrolment,
    FeedKind,
    Municipality,
    Partnership,
    Person,
    PlanItem,
    PlanItemStatus,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)

# Cancelled course days stay in feeds this long, so every calendar sees the cancellation.
KEEP_CANCELLED = timedelta(days=60)
KIND_NAMES = {
    FeedKind.person.value: _("Mine kursusdage"),
    FeedKind.instructor.value: _("Mine undervisningsdage"),
    FeedKind.cohort.value: _("Hold"),
    FeedKind.venue.value: _("Lokation"),
    FeedKind.municipality.value: _("Kommune"),
    FeedKind.partnership.value: _("Samarbejde"),
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    return f"{get_settings().base_url}/feeds/{token}.ics"


@dataclass(frozen=True)
class FeedTarget:
    kind: str
    target_id: int | None
    name: str


async def allowed_targets(user: User) -> list[FeedTarget]:
    """Every feed this user may subscribe to (the rule: intro.access.feed_scope)."""
    scope = await access.feed_scope(user)
    targets: list[FeedTarget] = []
    if scope.own_days:
        targets.append(FeedTarget(FeedKind.person.value, None, _("Mine kursusdage")))
    if scope.teaching_days:
        targets.append(FeedTarget(FeedKind.instructor.value, None, _("Mine undervisningsdage")))
    for c in await Cohort.select(Cohort.id, Cohort.name).where(Cohort.partnership.is_in(sorted(scope.cohort_partnerships) or [0])):
        targets.append(FeedTarget(FeedKind.cohort.value, c["id"], c["name"]))
    for p in await Partnership.select(Partnership.id, Partnership.name).where(Partnership.id.is_in(sorted(scope.partnerships) or [0])):
        targets.append(FeedTarget(FeedKind.partnership.value, p["id"], p["name"]))
    for m in await Municipality.select(Municipality.id, Municipality.name).where(Municipality.id.is_in(sorted(scope.municipalities) or [0])):
        targets.append(FeedTarget(FeedKind.municipality.value, m["id"], m["name"]))
    for v in await Venue.select(Venue.id, Venue.name).where(Venue.municipality.is_in(sorted(scope.venue_municipalities) or [0])):
        targets.append(FeedTarget(FeedKind.venue.value, v["id"], v["name"]))
    return targets


TARGET_COLUMN = {
    FeedKind.cohort.value: "cohort",
    FeedKind.venue.value: "venue",
    FeedKind.municipality.value: "municipality",
    FeedKind.partnership.value: "partnership",
}


async def create_feed(user: User, kind: str, target_id: int | None, include_deadlines: bool = False) -> str:
    """Make a feed; returns its token (shown once, as a URL)."""
    if kind not in KIND_NAMES or not await access.feed_target_allowed(user, kind, target_id):
        raise Invalid({"feed": _("Vælg en kalender, du har adgang til.")})
    token = secrets.token_urlsafe(24)
    fields = {
        "owner": user.id,
        "kind": kind,
        "token_hash": _hash(token),
        "include_deadlines": include_deadlines and kind == FeedKind.person.value,
    }
    if kind in TARGET_COLUMN:
        fields[TARGET_COLUMN[kind]] = target_id
    async with write_transaction(CalendarFeedToken._meta.db):
        row = await CalendarFeedToken.insert(CalendarFeedToken(**fields)).returning(CalendarFeedToken.id)
        await audit.record(user.id, "feed.create", "feed", row[0]["id"], kind=kind, target=target_id)
    return token


async def own_feeds(user: User) -> list[dict]:
    return await CalendarFeedToken.select(
        CalendarFeedToken.id, CalendarFeedToken.kind, CalendarFeedToken.created_at, CalendarFeedToken.last_used_at,
        CalendarFeedToken.include_deadlines, CalendarFeedToken.cohort.name.as_alias("cohort_name"),
        CalendarFeedToken.venue.name.as_alias("venue_name"), CalendarFeedToken.municipality.name.as_alias("municipality_name"),
        CalendarFeedToken.partnership.name.as_alias("partnership_name"),
    ).where((CalendarFeedToken.owner == user.id) & CalendarFeedToken.revoked_at.is_null()).order_by(CalendarFeedToken.id)


async def _own_feed(user: User, feed_id: int) -> dict:
    feed = await CalendarFeedToken.select().where(
        (CalendarFeedToken.id == feed_id) & (CalendarFeedToken.owner == user.id) & CalendarFeedToken.revoked_at.is_null()
    ).first()
    if feed is None:
        raise NotFound()
    return feed


async def regenerate(user: User, feed_id: int) -> str:
    await _own_feed(user, feed_id)
    token = secrets.token_urlsafe(24)
    async with write_transaction(CalendarFeedToken._meta.db):
        await CalendarFeedToken.update({CalendarFeedToken.token_hash: _hash(token)}).where(CalendarFeedToken.id == feed_id)
        await audit.record(user.id, "feed.regenerate", "feed", feed_id)
    return token


async def revoke(user: User, feed_id: int) -> None:
    await _own_feed(user, feed_id)
    async with write_transaction(CalendarFeedToken._meta.db):
        await CalendarFeedToken.update({CalendarFeedToken.revoked_at: clock.now()}).where(CalendarFeedToken.id == feed_id)
        await audit.record(user.id, "feed.revoke", "feed", feed_id)


async def revoke_all(actor_id: int, person_id: int) -> int:
    """An admin ends every feed a person owns."""
    async with write_transaction(CalendarFeedToken._meta.db):
        rows = await CalendarFeedToken.update({CalendarFeedToken.revoked_at: clock.now()}).where(
            (CalendarFeedToken.owner == person_id) & CalendarFeedToken.revoked_at.is_null()
        ).returning(CalendarFeedToken.id)
        await audit.record(actor_id, "feed.revoke_all", "person", person_id, count=len(rows))
    return len(rows)


async def resolve(token: str) -> tuple[dict, User] | None:
    """The live feed behind a token, with its owner as they are today — or None when
    the token is unknown or revoked, the owner deactivated, or the owner may no longer
    see what the feed shows."""
    if not token or len(token) > 100:
        return None
    feed = await CalendarFeedToken.select().where(
        (CalendarFeedToken.token_hash == _hash(token)) & CalendarFeedToken.revoked_at.is_null()
    ).first()
    if feed is None:
        return None
    owner = await Person.select(Person.is_active).where(Person.id == feed["owner"]).first()
    if owner is None or not owner["is_active"]:
        return None
    user = await load_user(feed["owner"])
    target = next((feed[c] for k, c in TARGET_COLUMN.items() if k == feed["kind"]), None)
    if not await access.feed_target_allowed(user, feed["kind"], target):
        return None
    return feed, user


def _session_where(feed: dict):
    kind = feed["kind"]
    if kind == "single":  # one session, for "add to calendar"
        return Session.id == feed["session"]
    if kind == FeedKind.cohort.value:
        return Session.cohort == feed["cohort"]
    if kind == FeedKind.venue.value:
        return Session.venue == feed["venue"]
    if kind == FeedKind.partnership.value:
        return Session.cohort.partnership == feed["partnership"]
    return None


async def _session_ids_for(feed: dict) -> list[int] | None:
    """For person, instructor and municipality feeds: which sessions (None: use a filter)."""
    kind = feed["kind"]
    if kind == FeedKind.instructor.value:
        return [r["session"] for r in await SessionInstructor.select(SessionInstructor.session).where(
            SessionInstructor.person == feed["owner"]
        )]
    if kind == FeedKind.person.value:
        cohorts = [e["cohort"] for e in await Enrolment.select(Enrolment.cohort).where(
            (Enrolment.person == feed["owner"]) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
        )]
        own = [r["id"] for r in await Session.select(Session.id).where(Session.cohort.is_in(cohorts or [0]))]
        booked = [b["session"] for b in await CatchUpBooking.select(CatchUpBooking.session).where(
            (CatchUpBooking.person == feed["owner"]) & CatchUpBooking.cancelled_at.is_null()
        )]
        return own + booked
    if kind == FeedKind.municipality.value:
        cohorts = {e["cohort"] for e in await Enrolment.select(Enrolment.cohort).where(
            (Enrolment.municipality == feed["municipality"]) & Enrolment.status.is_in(ENROLMENT_ON_COHORT)
        )}
        return [r["id"] for r in await Session.select(Session.id).where(Session.cohort.is_in(sorted(cohorts) or [0]))]
    return None


_NO_IDS = object()


async def _feed_where(feed: dict, ids=_NO_IDS):
    """Which sessions a feed carries: its own, not proposals, and cancelled ones only for
    60 days after the cancellation or the day itself. `ids`: the feed's session ids
    from `_session_ids_for` when already known (None: the feed filters by column)."""
    horizon = clock.now() - KEEP_CANCELLED
    where = (Session.status != SessionStatus.proposed.value) & (
        (Session.status == SessionStatus.scheduled.value)
        | (Session.updated_at >= horizon)
        | (Session.starts_at >= horizon)
    )
    own = _session_where(feed)
    if own is not None:
        return where & own
    if ids is _NO_IDS:
        ids = await _session_ids_for(feed)
    return where & Session.id.is_in(ids or [0])


@dataclass(frozen=True)
class Polled:
    """A live feed as a poll needs it: its row, the session ids it carries (None: by
    column), its calendar name, and its version (ETag, Last-Modified)."""

    feed: dict
    session_ids: list[int] | None
    name: str
    etag: str
    last_modified: datetime


# Live feeds by token hash, per worker. Everything a poll's answer rests on is stamped
# (intro.tables.STAMPED_TABLES): the token (revoked, regenerated), its owner (deactivated,
# a role lost, access lapsed with the last employment: issue 14), what the owner may see (memberships, cohorts, venues) and what the feed
# holds (sessions, enrolments, bookings, deadlines). Any write there — in any worker —
# makes the next poll resolve and check the token again. Kept at most a minute, because
# the version also moves with time alone (a cancelled day leaving the 60-day window).
_POLLED = StampedCache(
    ("calendar_feed_token", "person", "role_grant", "employment", "partnership_member", "partnership",
     "municipality", "cohort", "venue", "session", "session_instructor", "enrolment", "catch_up_booking", "plan_item"),
    size=4096,
    max_age=60.0,
)


async def poll(token: str) -> Polled | None:
    """The live feed behind a token with its current version, as `resolve` decides (None:
    unknown, revoked, owner deactivated or no longer allowed) — from this worker's map
    when nothing it rests on was written since (one query), else resolved afresh."""
    if not token or len(token) > 100:
        return None
    stamp = await data_stamp()
    key = _hash(token)
    polled = _POLLED.get(key, stamp)
    if polled is not None:
        return polled
    found = await resolve(token)
    if found is None:
        return None
    feed, _owner = found
    ids = await _session_ids_for(feed) if _session_where(feed) is None else None
    name = await feed_name(feed)
    etag, last_modified = await feed_version(feed, await _feed_where(feed, ids), name)
    polled = Polled(feed, ids, name, etag, last_modified)
    _POLLED.put(key, stamp, polled)
    return polled


async def feed_sessions(feed: dict, where=None) -> list[dict]:
    """The sessions a feed carries, with what an event needs."""
    return await Session.select(
        Session.id, Session.uid, Session.starts_at, Session.ends_at, Session.status, Session.revision,
        Session.updated_at, Session.part, Session.change_reason, Session.module,
        Session.module.code.as_alias("code"), Session.module.title.as_alias("title"),
        Session.module.days.as_alias("days"), Session.module.summary.as_alias("summary"),
        Session.module.preparation.as_alias("preparation"), Session.module.format.as_alias("format"),
        Session.module.curriculum_version.as_alias("version"),
        Session.cohort.name.as_alias("cohort_name"),
        Session.venue.name.as_alias("venue_name"), Session.venue.address.as_alias("address"),
        Session.venue.postcode.as_alias("postcode"), Session.venue.city.as_alias("city"),
    ).where(where if where is not None else await _feed_where(feed))


def to_events(rows: list[dict]) -> list[FeedEvent]:
    base = get_settings().base_url
    events = []
    for r in rows:
        title = r["title"] if r["days"] == 1 else f"{r['title']} (dag {r['part']} af {r['days']})"
        if r["venue_name"]:
            location = f"{r['venue_name']}, {r['address']}, {r['postcode']} {r['city']}"
        else:
            location = "Online" if r["format"] == "online" else "I eget jobcenter"
        url = f"{base}/curriculum/{r['version']}/modules/{r['module']}"
        lines = [f"{r['code']} {r['title']} – {r['cohort_name']}"]
        if r["summary"]:
            lines.append(r["summary"])
        if r["preparation"]:
            lines.append("Forbered dig: " + r["preparation"])
        if r["status"] == SessionStatus.cancelled.value and r["change_reason"]:
            lines.append("Aflyst: " + r["change_reason"])
        lines.append(f"Se mere i Intro: {url}")
        events.append(
            FeedEvent(
                uid=r["uid"], starts_at=r["starts_at"], ends_at=r["ends_at"], sequence=r["revision"],
                cancelled=r["status"] == SessionStatus.cancelled.value,
                summary=f"{r['code']} {title}", location=location, description="\n\n".join(lines),
                url=url, last_modified=r["updated_at"],
            )
        )
    return events


async def feed_deadlines(feed: dict) -> list[dict]:
    """Open deadlines of the owner's plan (local tasks and transfer assignments), for a
    personal feed that asked for them."""
    if feed["kind"] != FeedKind.person.value or not feed["include_deadlines"]:
        return []
    return await PlanItem.select(
        PlanItem.id, PlanItem.title, PlanItem.kind, PlanItem.due_date, PlanItem.updated_at
    ).where(_deadline_where(feed))


def _deadline_where(feed: dict):
    return (
        (PlanItem.person == feed["owner"])
        & PlanItem.kind.is_in(["local_task", "transfer"])
        & (PlanItem.status == PlanItemStatus.open.value)
        & PlanItem.due_date.is_not_null()
    )


def to_deadlines(items: list[dict]) -> list[FeedDeadline]:
    base = get_settings().base_url
    return [
        FeedDeadline(
            uid=f"plan-{i['id']}@intro",
            day=i["due_date"],
            summary=("Frist: transferopgave – " if i["kind"] == "transfer" else "Frist: ") + i["title"],
            description=f"Se og markér den i Intro: {base}/plan",
            url=f"{base}/plan",
        )
        for i in items
    ]


def _instant(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # an aggregate over a timestamp is text on SQLite
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def feed_version(feed: dict, where, name: str = "") -> tuple[str, datetime]:
    """ETag and Last-Modified of what the feed would contain, from one aggregate over its
    sessions (and its deadlines), without loading them: a calendar that polls and gets
    304 costs a few small queries. Every change to a session moves its `updated_at` and
    most its revision; a session coming or going changes the count and the id sum; a
    cancellation leaving the 60-day window changes the count."""
    row = await Session.select(
        Count(Session.id, alias="n"), Max(Session.updated_at, alias="latest"),
        Sum(Session.revision, alias="revisions"), Sum(Session.id, alias="ids"),
    ).where(where).first()
    # The calendar's name too: a renamed cohort (venue ...) is a new version of its feed.
    parts = [feed["id"], feed["kind"], feed["include_deadlines"], row["n"], row["latest"], row["revisions"], row["ids"], name]
    latest = max(_instant(feed["created_at"]), _instant(row["latest"]) or _instant(feed["created_at"]))
    if feed["kind"] == FeedKind.person.value and feed["include_deadlines"]:
        d = await PlanItem.select(
            Count(PlanItem.id, alias="n"), Max(PlanItem.updated_at, alias="latest"), Sum(PlanItem.id, alias="ids"),
        ).where(_deadline_where(feed)).first()
        parts += [d["n"], d["latest"], d["ids"]]
        if d["latest"] is not None:
            latest = max(latest, _instant(d["latest"]))
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode())
    # Weak: equal content, but DTSTAMP and folding may differ byte for byte between builds.
    return f'W/"{digest.hexdigest()[:32]}"', latest


TOUCH_EVERY = timedelta(minutes=10)


async def touch(feed: dict) -> None:
    """Note when the feed was last fetched — at most every ten minutes, so a calendar's
    polling does not turn each read into a write."""
    last = _instant(feed.get("last_used_at"))
    now = clock.now()
    if last is None or last < now - TOUCH_EVERY:
        await CalendarFeedToken.update({CalendarFeedToken.last_used_at: now}).where(CalendarFeedToken.id == feed["id"])


TARGET_TABLE = {
    FeedKind.cohort.value: Cohort,
    FeedKind.venue.value: Venue,
    FeedKind.municipality.value: Municipality,
    FeedKind.partnership.value: Partnership,
}


async def feed_name(feed: dict) -> str:
    """The calendar's name as a calendar app lists it: "Intro – Hold: 2027 forår Sjælland",
    "Intro – Lokation: Jobcenter Næstved", "Intro – Mine kursusdage". Two subscriptions
    to different cohorts (venues, municipalities, partnerships) never share a name."""
    base = f"Intro – {KIND_NAMES[feed['kind']]}"
    table = TARGET_TABLE.get(feed["kind"])
    if table is None:
        return base
    row = await table.select(table.name).where(table.id == feed[TARGET_COLUMN[feed["kind"]]]).first()
    return f"{base}: {row['name']}" if row else base
