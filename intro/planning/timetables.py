"""Cohorts and timetables as pages show them: a cohort's timetable, the conflicts across a
partnership's timetables, a cohort's phase (being planned, ahead, under way, finished) and the
cohorts a user's partnerships hold. Reads only; the operations are in `intro.planning.cohorts`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from intro import clock
from intro.db import Prepared, StampedCache, any_of, data_stamp
from intro.i18n import _
from intro.planning.planner_input import (
    ACTIVE_SESSION,
    PREREQUISITES,
    _closed_spans,
    _instructor_options,
    _instructors_of,
    cohorts_days,
)
from intro.planning.scheduling import (
    PlannedSession,
    VenueOption,
    danish_holidays,
    find_conflicts,
    order_conflicts,
)
from intro.tables import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    Municipality,
    RoleGrant,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)
from intro.timefmt import COPENHAGEN, local, local_instant


async def timetable(cohort_id: int) -> list[dict]:
    rows = await Session.select(
        Session.id, Session.module, Session.part, Session.starts_at, Session.ends_at, Session.status,
        Session.revision, Session.change_reason, Session.venue,
        Session.module.code.as_alias("module_code"), Session.module.title.as_alias("module_title"),
        Session.module.days.as_alias("module_days"), Session.module.format.as_alias("module_format"),
        Session.venue.name.as_alias("venue_name"), Session.venue.city.as_alias("venue_city"),
    ).where(Session.cohort == cohort_id).order_by(Session.starts_at)
    teachers = await _instructors_of([r["id"] for r in rows])
    names = {}
    if teachers:
        ids = sorted({t for ts in teachers.values() for t in ts})
        for p in await RoleGrant.select(RoleGrant.person, RoleGrant.person.full_name.as_alias("name")).where(
            RoleGrant.person.is_in(ids or [0])
        ):
            names[p["person"]] = p["name"]
    for r in rows:
        r["instructors"] = sorted(names.get(t, "") for t in teachers[r["id"]])
        r["instructor_ids"] = sorted(teachers[r["id"]])
        r["reasons"] = [line for line in (r["change_reason"] or "").splitlines() if line]
    return rows


def _in_window(start, day_before):
    return (
        Session.status.is_in(ACTIVE_SESSION)
        & (Session.ends_at > start)
        # A course day lasts at most a day: this lets the index on starts_at skip the
        # years of past days instead of reading every session in the country.
        & (Session.starts_at > day_before)
    )


def _relevant_sessions(partnership, start, day_before):
    """Our days in the window, and the other partnerships' days that share a venue or an
    instructor with one of ours — the only ones that can clash with ours (issue 19: one
    query, rather than every day in the country sorted out in Python)."""
    our_cohorts = Cohort.select(Cohort.id).where(Cohort.partnership == partnership)
    ours_in_window = _in_window(start, day_before) & Session.cohort.is_in(our_cohorts)
    our_teachers = SessionInstructor.select(SessionInstructor.person).where(
        SessionInstructor.session.is_in(Session.select(Session.id).where(ours_in_window))
    )
    return Session.select(
        Session.id, Session.cohort, Session.module, Session.starts_at, Session.ends_at, Session.venue,
        Session.module.code.as_alias("code"), Session.cohort.partnership.as_alias("partnership"),
        Session.cohort.capacity.as_alias("capacity"), Session.cohort.name.as_alias("cohort_name"),
        Session.override_reason,
    ).where(
        _in_window(start, day_before) & (
            Session.cohort.is_in(our_cohorts)
            | Session.venue.is_in(Session.select(Session.venue).where(ours_in_window & Session.venue.is_not_null()))
            | Session.id.is_in(
                SessionInstructor.select(SessionInstructor.session).where(SessionInstructor.person.is_in(our_teachers))
            )
        )
    )


# The conflicts page's reads, built once (intro.db.Prepared): building them was most of
# the page's time.
_RELEVANT = Prepared(_relevant_sessions, "partnership", "start", "day_before")
_ENROLLED = Prepared(
    lambda cohorts: Enrolment.select(Enrolment.cohort, Enrolment.person).where(
        any_of(Enrolment.cohort, cohorts) & (Enrolment.status == EnrolmentStatus.enrolled.value)
    ),
    "cohorts",
)
_VENUES = Prepared(
    lambda: Venue.select(
        Venue.id, Venue.name, Venue.capacity, Venue.municipality, Venue.municipality.name.as_alias("mname")
    )
)


# Conflicts by (partnership, first day), per worker (issue 19). Every table
# `_conflicts_from` reads is stamped (intro.tables.STAMPED_TABLES, migrations m0013/m0014),
# so a write anywhere — another worker, another partnership's day in a shared venue, an
# instructor's busy time — makes the next request find them afresh. The window starts at
# the day's midnight, so the clock moves them only with the day (a key).
_CONFLICTS = StampedCache(
    ("busy_calendar", "busy_time", "closed_period", "cohort", "enrolment", "instructor_qualification", "module",
     "module_prerequisite", "municipality", "person", "role_grant", "session", "session_instructor", "venue"),
    size=64,
)


async def partnership_conflicts(partnership_id: int, since: date | None = None) -> list[dict]:
    """Every conflict in the partnership's active timetables from `since` (default
    today), including clashes with other partnerships' sessions in the same venues or
    with the same instructors. From this worker's cache while nothing they were found
    from has changed; shared between requests, so not to be changed."""
    since = since or clock.today()
    stamp = await data_stamp()  # read before loading: a write after it moves it for the next request
    return await _CONFLICTS.get_or_build(
        (partnership_id, since), stamp, lambda: _conflicts_from(partnership_id, since)
    )


async def _conflicts_from(partnership_id: int, since: date) -> list[dict]:
    start = local_instant(since, time(0))
    relevant = await _RELEVANT.run(partnership=partnership_id, start=start, day_before=start - timedelta(days=1))
    ours = [r for r in relevant if r["partnership"] == partnership_id]
    if not ours:
        return []
    teachers = await _instructors_of([r["id"] for r in relevant])
    module_ids = sorted({r["module"] for r in relevant})
    prerequisites: dict[int, set[int]] = defaultdict(set)
    for p in await PREREQUISITES.run(modules=module_ids):
        prerequisites[p["module"]].add(p["requires"])
    cohort_ids = sorted({r["cohort"] for r in relevant})
    enrolled: dict[int, set[int]] = defaultdict(set)
    for e in await _ENROLLED.run(cohorts=cohort_ids):
        enrolled[e["cohort"]].add(e["person"])
    all_venues = await _VENUES.run()
    venues = {v["id"]: VenueOption(v["id"], v["name"], v["municipality"], v["mname"], v["capacity"]) for v in all_venues}
    last = max(r["ends_at"] for r in relevant)
    instructors = {i.id: i for i in await _instructor_options(partnership_id, start, last)}
    closed = await _closed_spans(partnership_id)
    planned = [
        PlannedSession(
            id=r["id"], cohort_id=r["cohort"], module_id=r["module"], module_code=r["code"],
            starts_at=r["starts_at"], ends_at=r["ends_at"], venue_id=r["venue"],
            instructor_ids=frozenset(teachers[r["id"]]),
            participants=max(len(enrolled[r["cohort"]]), r["capacity"]) if r["partnership"] == partnership_id else 0,
            prerequisites=frozenset(prerequisites[r["module"]]),
        )
        for r in relevant
    ]
    found = find_conflicts(
        planned,
        venues=venues,
        instructors=instructors,
        holidays=danish_holidays(range(since.year, local(last).year + 1)),
        closed_by_cohort={r["cohort"]: closed for r in ours},
        participants_by_cohort={c: frozenset(p) for c, p in enrolled.items()},
    )
    # Order rules over each of our cohorts' whole timetable (a prerequisite may lie
    # before `since`), instead of over the days from `since` only.
    found = [c for c in found if c.kind not in ("prerequisite_order", "day_order")]
    for days in (await cohorts_days(sorted({r["cohort"] for r in ours}))).values():
        found.extend(order_conflicts(days))
    by_id = {r["id"]: r for r in relevant}
    result = []
    for c in found:
        if c.session_id not in by_id:
            continue
        row = by_id[c.session_id]
        if row["partnership"] != partnership_id:
            continue
        result.append({"conflict": c, "session": row})
    result.sort(key=lambda x: (not x["conflict"].hard, x["session"]["starts_at"]))
    return result


PHASE_NAMES = {
    "planned": _("Planlagt"),
    "running": _("I gang"),
    "ended": _("Afsluttet"),
    "cancelled": _("Aflyst"),
}


def phase(status: str, first_day: date, last_day: date, today: date) -> str:
    """Pure: where a cohort is in its life, from its course days — "planned" until its
    first day (the start date when it has none yet), "running" from the first to the
    last day, "ended" after; "cancelled" when it is cancelled. The stored status says
    only whether the timetable is accepted; this is what every page shows people."""
    if status == CohortStatus.cancelled.value:
        return "cancelled"
    if today < first_day:
        return "planned"
    if today <= last_day and status != CohortStatus.completed.value:
        return "running"
    return "ended"


async def with_phases(cohorts: list[dict], today: date | None = None) -> list[dict]:
    """Add "phase" and "phase_name" to each cohort row (needs id, status, start_date),
    reading the first and last held course day of all of them in one query."""
    from piccolo.query import Max, Min

    today = today or clock.today()
    ids = [c["id"] for c in cohorts]
    spans = {
        r["cohort"]: r
        for r in await Session.select(
            Session.cohort, Min(Session.starts_at, alias="first"), Max(Session.starts_at, alias="last")
        ).where(Session.cohort.is_in(ids or [0]) & (Session.status != SessionStatus.cancelled.value)).group_by(Session.cohort)
    } if ids else {}
    for c in cohorts:
        span = spans.get(c["id"])
        first = _local_date(span["first"]) if span else c["start_date"]
        last = _local_date(span["last"]) if span else c["start_date"]
        c["phase"] = phase(c["status"], first, last, today)
        c["phase_name"] = PHASE_NAMES[c["phase"]]
    return cohorts


def _local_date(value) -> date:
    if isinstance(value, str):  # SQLite hands aggregates back as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(COPENHAGEN).date()


async def cohorts_of(partnership_ids: set[int]) -> list[dict]:
    if not partnership_ids:
        return []
    cohorts = await Cohort.select(
        Cohort.id, Cohort.name, Cohort.status, Cohort.start_date, Cohort.capacity, Cohort.partnership,
        Cohort.partnership.name.as_alias("partnership_name"),
        Cohort.curriculum_version.label.as_alias("version_label"),
    ).where(Cohort.partnership.is_in(sorted(partnership_ids))).order_by(Cohort.start_date, ascending=False)
    return await with_phases(cohorts)


async def municipality_names(ids: list[int]) -> dict[int, str]:
    rows = await Municipality.select(Municipality.id, Municipality.name).where(Municipality.id.is_in(ids or [0]))
    return {r["id"]: r["name"] for r in rows}
