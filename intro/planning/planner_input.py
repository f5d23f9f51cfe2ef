"""What the timetable planner is given: a cohort's modules, the instructors, venues, closed
periods and other cohorts' bookings around it, read from the database into the plain data of
`intro.planning.scheduling` (`build_plan_request`), and a cohort's course days for the order
rules (`cohort_days`, `cohorts_days`). Reads only; the operations are in `intro.planning.cohorts`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from intro import clock
from intro.db import Prepared, any_of
from intro.people.organisation import in_force_on
from intro.planning.rows import CohortRow
from intro.planning.scheduling import (
    Booking,
    ClosedSpan,
    DayInOrder,
    InstructorOption,
    ModuleToPlan,
    PlanRequest,
    VenueOption,
    danish_holidays,
)
from intro.tables import (
    BusyTime,
    ClosedPeriod,
    CohortModule,
    CohortPreferredVenue,
    InstructorQualification,
    ModulePrerequisite,
    PartnershipMember,
    Role,
    RoleGrant,
    Session,
    SessionInstructor,
    SessionStatus,
    Venue,
)
from intro.timefmt import local, local_instant

ACTIVE_SESSION = [SessionStatus.proposed.value, SessionStatus.scheduled.value]


# The planner's and the conflicts page's reads, built once (intro.db.Prepared).
_INSTRUCTOR_GRANTS = Prepared(
    lambda partnership: RoleGrant.select(RoleGrant.person, RoleGrant.person.full_name.as_alias("name")).where(
        (RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == partnership)
    ),
    "partnership",
)
_QUALIFICATIONS = Prepared(
    lambda people: InstructorQualification.select().where(any_of(InstructorQualification.person, people)), "people"
)
_BUSY = Prepared(
    lambda people, start, end: BusyTime.select(
        BusyTime.starts_at, BusyTime.ends_at, BusyTime.calendar.person.as_alias("person")
    ).where(any_of(BusyTime.calendar.person, people) & (BusyTime.ends_at > start) & (BusyTime.starts_at < end)),
    "people", "start", "end",
)
_TEACHERS = Prepared(
    lambda sessions: SessionInstructor.select(SessionInstructor.session, SessionInstructor.person).where(
        any_of(SessionInstructor.session, sessions)
    ),
    "sessions",
)
_CLOSED = Prepared(lambda partnership: ClosedPeriod.select().where(ClosedPeriod.partnership == partnership), "partnership")
PREREQUISITES = Prepared(
    lambda modules: ModulePrerequisite.select().where(any_of(ModulePrerequisite.module, modules)), "modules"
)
_COHORTS_DAYS = Prepared(
    lambda cohorts: Session.select(
        Session.id, Session.cohort, Session.module, Session.part, Session.starts_at, Session.ends_at,
        Session.module.code.as_alias("code"),
    ).where(any_of(Session.cohort, cohorts) & Session.status.is_in(ACTIVE_SESSION)),
    "cohorts",
)


async def _instructor_options(partnership_id: int, start: datetime, end: datetime) -> list[InstructorOption]:
    grants = await _INSTRUCTOR_GRANTS.run(partnership=partnership_id)
    person_ids = sorted({g["person"] for g in grants})
    if not person_ids:
        return []
    qualifications: dict[int, set[str]] = defaultdict(set)
    for q in await _QUALIFICATIONS.run(people=person_ids):
        qualifications[q["person"]].add(q["module_code"])
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for b in await _BUSY.run(people=person_ids, start=start, end=end):
        busy[b["person"]].append((b["starts_at"], b["ends_at"]))
    names = {g["person"]: g["name"] for g in grants}
    return [
        InstructorOption(p, names[p], frozenset(qualifications[p]), tuple(busy[p]))
        for p in person_ids
    ]


async def _venue_options(partnership_id: int) -> list[VenueOption]:
    members = [
        r["municipality"]
        for r in await PartnershipMember.select(PartnershipMember.municipality).where(
            (PartnershipMember.partnership == partnership_id) & in_force_on(clock.today())  # venues offered now
        )
    ]
    rows = await Venue.select(
        Venue.id, Venue.name, Venue.capacity, Venue.municipality,
        Venue.municipality.name.as_alias("municipality_name"),
    ).where(Venue.municipality.is_in(members or [0]) & (Venue.is_active == True))  # noqa: E712
    return [VenueOption(v["id"], v["name"], v["municipality"], v["municipality_name"], v["capacity"]) for v in rows]


async def _bookings(exclude_cohort: int | None, start: datetime, end: datetime) -> list[Booking]:
    """Every active session in the period (but the excluded cohort's), with its instructors."""
    rows = await Session.select(
        Session.id, Session.cohort, Session.starts_at, Session.ends_at, Session.venue,
        Session.module.code.as_alias("code"), Session.cohort.name.as_alias("cohort_name"),
    ).where(
        Session.status.is_in(ACTIVE_SESSION) & (Session.ends_at > start) & (Session.starts_at < end)
    )
    if exclude_cohort is not None:
        rows = [r for r in rows if r["cohort"] != exclude_cohort]
    teachers = await _instructors_of([r["id"] for r in rows])
    return [
        Booking(
            r["starts_at"], r["ends_at"], r["venue"], frozenset(teachers[r["id"]]),
            f"{r['cohort_name']} ({r['code']})", session_id=r["id"],
        )
        for r in rows
    ]


async def _instructors_of(session_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    if session_ids:
        for r in await _TEACHERS.run(sessions=session_ids):
            out[r["session"]].add(r["person"])
    return out


async def _closed_spans(partnership_id: int) -> list[ClosedSpan]:
    rows = await _CLOSED.run(partnership=partnership_id)
    return [ClosedSpan(r["name"], r["start_date"], r["end_date"]) for r in rows]


async def _hosted(partnership_id: int) -> dict[int, int]:
    rows = await Session.select(Session.venue.municipality.as_alias("municipality")).where(
        (Session.cohort.partnership == partnership_id)
        & Session.status.is_in(ACTIVE_SESSION)
        & Session.venue.is_not_null()
    )
    counts: dict[int, int] = defaultdict(int)
    for r in rows:
        counts[r["municipality"]] += 1
    return counts


async def cohort_modules(cohort_id: int) -> list[dict]:
    """The cohort's modules in curriculum order, local ones last, with prerequisites."""
    rows = await CohortModule.select(
        CohortModule.module.id.as_alias("id"),
        CohortModule.module.code.as_alias("code"),
        CohortModule.module.title.as_alias("title"),
        CohortModule.module.days.as_alias("days"),
        CohortModule.module.format.as_alias("format"),
        CohortModule.module.position.as_alias("position"),
        CohortModule.module.municipality.as_alias("municipality"),
    ).where(CohortModule.cohort == cohort_id)
    rows.sort(key=lambda m: (m["municipality"] is not None, m["position"], m["code"]))
    ids = [m["id"] for m in rows]
    requires: dict[int, set[int]] = defaultdict(set)
    if ids:
        for p in await ModulePrerequisite.select().where(ModulePrerequisite.module.is_in(ids)):
            requires[p["module"]].add(p["requires"])
    for m in rows:
        m["prerequisites"] = frozenset(requires[m["id"]])
    return rows


async def build_plan_request(cohort: CohortRow, from_date: date) -> tuple[PlanRequest, list[dict]]:
    """The planner's input for a cohort, re-planning from `from_date`: the cohort's
    sessions before that day are kept. Returns the request and the kept sessions."""
    modules = await cohort_modules(cohort.id)
    existing = await Session.select().where(
        (Session.cohort == cohort.id) & Session.status.is_in(ACTIVE_SESSION)
    )
    boundary = local_instant(from_date, time(0))
    kept = [s for s in existing if s["starts_at"] < boundary]
    parts_kept: dict[int, int] = defaultdict(int)
    last_day: dict[int, date] = {}
    for s in kept:
        parts_kept[s["module"]] += 1
        day = local(s["starts_at"]).date()
        last_day[s["module"]] = max(last_day.get(s["module"], day), day)
    # A module counts as placed only with all its days; else it is planned again whole.
    done = {m["id"] for m in modules if parts_kept.get(m["id"], 0) >= m["days"]}
    kept = [s for s in kept if s["module"] in done]
    horizon_end = local_instant(from_date + timedelta(days=560), time(0))
    window_start = min([boundary] + [s["starts_at"] for s in kept])
    bookings = await _bookings(cohort.id, window_start, horizon_end)
    kept_teachers = await _instructors_of([s["id"] for s in kept])
    bookings += [
        Booking(s["starts_at"], s["ends_at"], s["venue"], frozenset(kept_teachers[s["id"]]), cohort.name)
        for s in kept
    ]
    preferred = frozenset(
        r["venue"] for r in await CohortPreferredVenue.select(CohortPreferredVenue.venue).where(
            CohortPreferredVenue.cohort == cohort.id
        )
    )
    first = max(cohort.start_date, from_date)
    request = PlanRequest(
        first_day=first,
        rhythm=cohort.rhythm,
        day_start=cohort.day_start,
        day_end=cohort.day_end,
        participants=cohort.capacity,
        modules=[
            ModuleToPlan(
                id=m["id"], code=m["code"], title=m["title"], days=m["days"],
                needs_venue=m["format"] == "classroom", prerequisites=m["prerequisites"],
            )
            for m in modules
            if m["id"] not in done
        ],
        venues=await _venue_options(cohort.partnership),
        instructors=await _instructor_options(cohort.partnership, window_start, horizon_end),
        bookings=bookings,
        holidays=danish_holidays(range(first.year, first.year + 3)),
        closed=await _closed_spans(cohort.partnership),
        preferred_venue_ids=preferred,
        hosted=await _hosted(cohort.partnership),
        placed_last_day={m: d for m, d in last_day.items() if m in done},
        taken_days=frozenset(local(s["starts_at"]).date() for s in kept),
    )
    return request, kept



async def cohort_days(cohort_id: int) -> list[DayInOrder]:
    """The cohort's course days (not cancelled), with each module's prerequisites, for
    the order rules."""
    return (await cohorts_days([cohort_id]))[cohort_id]


async def cohorts_days(cohort_ids: list[int]) -> dict[int, list[DayInOrder]]:
    """`cohort_days` for several cohorts in two queries, by cohort id."""
    rows = await _COHORTS_DAYS.run(cohorts=sorted(cohort_ids))
    prerequisites: dict[int, set[int]] = defaultdict(set)
    for p in await PREREQUISITES.run(modules=sorted({r["module"] for r in rows})):
        prerequisites[p["module"]].add(p["requires"])
    days: dict[int, list[DayInOrder]] = {c: [] for c in cohort_ids}
    for r in rows:
        days[r["cohort"]].append(
            DayInOrder(r["id"], r["module"], r["code"], r["part"], r["starts_at"], r["ends_at"], frozenset(prerequisites[r["module"]]))
        )
    return days
