"""Proposing a cohort's timetable, and finding conflicts in timetables.

Pure functions over plain data: no database, no web. `propose` places every module's
course days in an order that respects prerequisites, on the cohort's rhythm, never on
a Danish public holiday or a closed period, in a venue big enough and free, with a
qualified instructor who is neither teaching nor busy in their own calendar. Every
choice carries short reasons in Danish that a coordinator can read.

Hard rules (`propose` never breaks them; `find_conflicts` reports them in existing
timetables): holiday or closed day, venue too small, venue double-booked, instructor
double-booked, instructor busy or not qualified, prerequisite not before.
"""

from __future__ import annotations

from bisect import insort
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import holidays as holiday_calendars

from intro.i18n import _, ngettext
from intro.timefmt import da_date, local, local_instant

# Days that are not public holidays, but on which municipal job centres close or run
# skeleton staff, so no course day is planned on them either.
ALSO_CLOSED = {"Grundlovsdag", "Juleaftensdag", "Nytårsaften"}


def danish_holidays(years: range) -> dict[date, str]:
    """Danish public holidays with their Danish names, plus Constitution Day, Christmas
    Eve and New Year's Eve."""
    days = dict(holiday_calendars.country_holidays("DK", years=years, language="da"))
    optional = holiday_calendars.country_holidays(
        "DK", years=years, language="da", categories=("optional",)
    )
    days.update({d: name for d, name in optional.items() if name in ALSO_CLOSED})
    return days


# --------------------------------------------------------------------------------------
# Plain data in


@dataclass(frozen=True)
class ModuleToPlan:
    id: int
    code: str
    title: str
    days: int = 1
    # Online and on-the-job modules are not held in a shared venue.
    needs_venue: bool = True
    prerequisites: frozenset[int] = frozenset()


@dataclass(frozen=True)
class VenueOption:
    id: int
    name: str
    municipality_id: int
    municipality_name: str
    capacity: int


@dataclass(frozen=True)
class InstructorOption:
    id: int
    name: str
    qualified: frozenset[str]  # module codes
    busy: tuple[tuple[datetime, datetime], ...] = ()  # from their own calendar, UTC


@dataclass(frozen=True)
class Booking:
    """A session already in some cohort's timetable (not cancelled)."""

    starts_at: datetime
    ends_at: datetime
    venue_id: int | None
    instructor_ids: frozenset[int]
    label: str = ""
    session_id: int | None = None


@dataclass(frozen=True)
class ClosedSpan:
    name: str
    start: date
    end: date


@dataclass(frozen=True)
class Rhythm:
    """Course days on given weekdays (Monday = 0), or on a custom list of dates."""

    weekdays: tuple[int, ...] = (1,)
    dates: tuple[date, ...] = ()

    def days_from(self, first: date, horizon: date) -> Iterator[date]:
        if self.dates:
            yield from (d for d in sorted(set(self.dates)) if first <= d <= horizon)
            return
        day = first
        while day <= horizon:
            if day.weekday() in self.weekdays:
                yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class PlanRequest:
    first_day: date
    rhythm: Rhythm
    day_start: time
    day_end: time
    participants: int
    modules: Sequence[ModuleToPlan]
    venues: Sequence[VenueOption]
    instructors: Sequence[InstructorOption]
    bookings: Sequence[Booking] = ()
    holidays: Mapping[date, str] = field(default_factory=dict)
    closed: Sequence[ClosedSpan] = ()
    preferred_venue_ids: frozenset[int] = frozenset()
    # Course days each municipality has hosted before (fair hosting across cohorts).
    hosted: Mapping[int, int] = field(default_factory=dict)
    # Modules of the cohort already placed (kept when re-planning from a date): the last
    # day of each, for prerequisites, and the days the cohort already meets.
    placed_last_day: Mapping[int, date] = field(default_factory=dict)
    taken_days: frozenset[date] = frozenset()
    horizon_days: int = 550


# --------------------------------------------------------------------------------------
# Plain data out


@dataclass
class ProposedSession:
    module_id: int
    module_code: str
    part: int
    day: date
    starts_at: datetime
    ends_at: datetime
    venue_id: int | None
    instructor_ids: tuple[int, ...]
    reasons: list[str] = field(default_factory=list)


@dataclass
class Proposal:
    sessions: list[ProposedSession]
    unplaced: list[tuple[str, str]]  # (module code, why)

    @property
    def complete(self) -> bool:
        return not self.unplaced


# --------------------------------------------------------------------------------------
# Calendars of what is taken


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


class _Taken:
    """Intervals per key (a venue or an instructor), indexed by local date so that a
    check looks only at the day in question."""

    def __init__(self) -> None:
        self._by_key_day: dict[tuple[int, date], list[tuple[datetime, datetime, str]]] = defaultdict(list)

    def add(self, key: int, start: datetime, end: datetime, label: str = "") -> None:
        day = start.date()
        # An interval can cross midnight UTC: index it under every UTC date it touches.
        while day <= end.date():
            insort(self._by_key_day[(key, day)], (start, end, label))
            day += timedelta(days=1)

    def remove(self, key: int, start: datetime, end: datetime, label: str = "") -> None:
        day = start.date()
        while day <= end.date():
            self._by_key_day[(key, day)].remove((start, end, label))
            day += timedelta(days=1)

    def clash(self, key: int, start: datetime, end: datetime) -> str | None:
        day = start.date()
        while day <= end.date():
            for s, e, label in self._by_key_day.get((key, day), ()):
                if _overlaps(start, end, s, e):
                    return label or "optaget"
            day += timedelta(days=1)
        return None


def blocked_reason(
    day: date, holidays: Mapping[date, str], closed: Sequence[ClosedSpan]
) -> str | None:
    """Why no course day can be held on this date, or None."""
    if day in holidays:
        return holidays[day]
    for span in closed:
        if span.start <= day <= span.end:
            return span.name
    return None


def ordered_modules(modules: Sequence[ModuleToPlan]) -> list[ModuleToPlan]:
    """The given order, except that no module comes before one it requires.
    Prerequisites outside the list are ignored (not part of this cohort)."""
    present = {m.id for m in modules}
    placed: list[ModuleToPlan] = []
    done: set[int] = set()
    remaining = list(modules)
    while remaining:
        for m in remaining:
            if (m.prerequisites & present) <= done:
                placed.append(m)
                done.add(m.id)
                remaining.remove(m)
                break
        else:  # a cycle (validation forbids it): keep the rest in the given order
            placed.extend(remaining)
            break
    return placed


# --------------------------------------------------------------------------------------
# Proposing


def propose(request: PlanRequest) -> Proposal:
    horizon = request.first_day + timedelta(days=request.horizon_days)
    venues_taken, teachers_taken = _Taken(), _Taken()
    for b in request.bookings:
        if b.venue_id is not None:
            venues_taken.add(b.venue_id, b.starts_at, b.ends_at, b.label)
        for i in b.instructor_ids:
            teachers_taken.add(i, b.starts_at, b.ends_at, b.label)
    own_calendar = _Taken()
    for teacher in request.instructors:
        for start, end in teacher.busy:
            own_calendar.add(teacher.id, start, end, _("optaget i egen kalender"))

    hosted = defaultdict(int, request.hosted)
    teaching_load: dict[int, int] = defaultdict(int)
    big_enough = [v for v in request.venues if v.capacity >= request.participants]
    preferred = [v for v in big_enough if v.id in request.preferred_venue_ids]
    candidate_days = list(request.rhythm.days_from(request.first_day, horizon))

    cohort_modules = frozenset(m.id for m in request.modules) | frozenset(request.placed_last_day)
    sessions: list[ProposedSession] = []
    unplaced: list[tuple[str, str]] = []
    last_day_of: dict[int, date] = dict(request.placed_last_day)
    cursor = 0  # index into candidate_days: the next day the cohort can meet
    used_days: set[date] = set(request.taken_days)

    for module in ordered_modules(request.modules):
        earliest = max(
            (last_day_of[p] for p in module.prerequisites if p in last_day_of), default=None
        )
        if any(p not in last_day_of for p in module.prerequisites & cohort_modules):
            unplaced.append((module.code, _("en forudsætning kunne ikke planlægges")))
            continue
        qualified = [t for t in request.instructors if module.code in t.qualified]
        if not qualified:
            unplaced.append((module.code, _("ingen underviser er godkendt til modulet")))
            continue
        if module.needs_venue and not big_enough:
            unplaced.append(
                (module.code, _("ingen lokation har plads til {n}").format(n=request.participants))
            )
            continue

        placed_parts: list[ProposedSession] = []
        skipped: list[tuple[date, str]] = []  # (the day passed over, why)
        index = cursor
        while len(placed_parts) < module.days and index < len(candidate_days):
            day = candidate_days[index]
            index += 1
            if day in used_days or (earliest is not None and day <= earliest):
                continue
            why = blocked_reason(day, request.holidays, request.closed)
            if why:
                skipped.append((day, _("ikke {day}: {why}").format(day=da_date(day), why=why)))
                continue
            starts = local_instant(day, request.day_start)
            ends = local_instant(day, request.day_end)
            venue, venue_why = None, None
            if module.needs_venue:
                venue, venue_why = _pick_venue(
                    preferred, big_enough, venues_taken, hosted, starts, ends
                )
                if venue is None:
                    skipped.append((day, _("ikke {day}: {why}").format(day=da_date(day), why=venue_why)))
                    continue
            teacher = _pick_instructor(qualified, teachers_taken, own_calendar, teaching_load, starts, ends)
            if teacher is None:
                skipped.append(
                    (day, _("ikke {day}: ingen godkendt underviser er ledig").format(day=da_date(day)))
                )
                continue
            # "Hvorfor her?" names only this day's own skips: the days passed over since
            # the cohort's previous course day, not those another day already explains.
            previous = max((d for d in used_days if d < day), default=None)
            reasons = [why for passed, why in skipped if previous is None or passed > previous]
            skipped = []
            if venue is not None:
                if venue_why:
                    reasons.append(venue_why)
                reasons.append(
                    _("{venue}: {municipality} har været vært {n} gange før").format(
                        venue=venue.name, municipality=venue.municipality_name,
                        n=hosted[venue.municipality_id],
                    )
                )
                venues_taken.add(venue.id, starts, ends, module.code)
                hosted[venue.municipality_id] += 1
            reasons.append(
                _("{name} er godkendt til modulet og ledig").format(name=teacher.name)
            )
            teachers_taken.add(teacher.id, starts, ends, module.code)
            teaching_load[teacher.id] += 1
            placed_parts.append(
                ProposedSession(
                    module_id=module.id,
                    module_code=module.code,
                    part=len(placed_parts) + 1,
                    day=day,
                    starts_at=starts,
                    ends_at=ends,
                    venue_id=venue.id if venue else None,
                    instructor_ids=(teacher.id,),
                    reasons=reasons,
                )
            )
            used_days.add(day)
        if len(placed_parts) < module.days:
            unplaced.append((module.code, _("ingen ledig dag inden for planlægningsperioden")))
            # Give back what the incomplete module took, so later modules can use it.
            for part in placed_parts:
                if part.venue_id is not None:
                    venues_taken.remove(part.venue_id, part.starts_at, part.ends_at, module.code)
                    hosted[_venue_municipality(request, part.venue_id)] -= 1
                for t in part.instructor_ids:
                    teachers_taken.remove(t, part.starts_at, part.ends_at, module.code)
                    teaching_load[t] -= 1
                used_days.discard(part.day)
            continue
        sessions.extend(placed_parts)
        last_day_of[module.id] = placed_parts[-1].day
        # The next module may start on the first free day after this one's first day.
        while cursor < len(candidate_days) and candidate_days[cursor] in used_days:
            cursor += 1
    sessions.sort(key=lambda s: s.starts_at)
    return Proposal(sessions=sessions, unplaced=unplaced)


def _venue_municipality(request: PlanRequest, venue_id: int) -> int:
    return next(v.municipality_id for v in request.venues if v.id == venue_id)


def _pick_venue(
    preferred: list[VenueOption],
    big_enough: list[VenueOption],
    taken: _Taken,
    hosted: Mapping[int, int],
    starts: datetime,
    ends: datetime,
) -> tuple[VenueOption | None, str | None]:
    """A free venue, preferred ones first; among equals the municipality that has hosted
    the fewest course days, so hosting rotates fairly."""
    names = ", ".join(v.name for v in preferred)
    pools = (
        (preferred, _("en af koordinatorens foretrukne lokationer")),
        (big_enough, _("koordinatorens foretrukne lokationer ({names}) var optaget").format(names=names) if preferred else None),
    )
    for pool, note in pools:
        free = [v for v in pool if not taken.clash(v.id, starts, ends)]
        if free:
            choice = min(free, key=lambda v: (hosted.get(v.municipality_id, 0), v.id))
            return choice, note
    return None, _("ingen ledig lokation med plads nok")


def _pick_instructor(
    qualified: list[InstructorOption],
    teaching: _Taken,
    own_calendar: _Taken,
    load: Mapping[int, int],
    starts: datetime,
    ends: datetime,
) -> InstructorOption | None:
    free = [
        t
        for t in qualified
        if not teaching.clash(t.id, starts, ends) and not own_calendar.clash(t.id, starts, ends)
    ]
    if not free:
        return None
    return min(free, key=lambda t: (load.get(t.id, 0), t.id))


# --------------------------------------------------------------------------------------
# Conflicts in existing timetables


@dataclass(frozen=True)
class PlannedSession:
    """A session as it stands, for conflict checks."""

    id: int
    cohort_id: int
    module_id: int
    module_code: str
    starts_at: datetime
    ends_at: datetime
    venue_id: int | None
    instructor_ids: frozenset[int]
    participants: int  # the cohort's size (enrolled) or capacity
    prerequisites: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Conflict:
    session_id: int
    kind: str  # holiday, closed, venue_capacity, venue_double, instructor_double, instructor_busy,
    #            instructor_unqualified, prerequisite_order, day_order, participant_double
    hard: bool
    message: str


def find_conflicts(
    sessions: Sequence[PlannedSession],
    *,
    venues: Mapping[int, VenueOption],
    instructors: Mapping[int, InstructorOption],
    holidays: Mapping[date, str],
    closed_by_cohort: Mapping[int, Sequence[ClosedSpan]],
    participants_by_cohort: Mapping[int, frozenset[int]] | None = None,
) -> list[Conflict]:
    """Every hard conflict and soft warning among these sessions."""
    found: list[Conflict] = []
    by_cohort: dict[int, list[PlannedSession]] = defaultdict(list)
    for s in sessions:
        by_cohort[s.cohort_id].append(s)
        day = local(s.starts_at).date()
        if day in holidays:
            found.append(Conflict(s.id, "holiday", True, _("{day} er {why}").format(day=da_date(day), why=holidays[day])))
        for span in closed_by_cohort.get(s.cohort_id, ()):
            if span.start <= day <= span.end:
                found.append(Conflict(s.id, "closed", True, _("{day} ligger i {why}").format(day=da_date(day), why=span.name)))
        venue = venues.get(s.venue_id) if s.venue_id else None
        if venue and venue.capacity < s.participants:
            found.append(
                Conflict(
                    s.id, "venue_capacity", True,
                    _("{venue} har plads til {cap}, holdet er {n}").format(venue=venue.name, cap=venue.capacity, n=s.participants),
                )
            )
        for i in sorted(s.instructor_ids):
            teacher = instructors.get(i)
            if teacher is None:
                continue
            if s.module_code not in teacher.qualified:
                found.append(Conflict(s.id, "instructor_unqualified", True, _("{name} er ikke godkendt til {code}").format(name=teacher.name, code=s.module_code)))
            if any(_overlaps(s.starts_at, s.ends_at, b, e) for b, e in teacher.busy):
                found.append(Conflict(s.id, "instructor_busy", True, _("{name} er optaget i egen kalender").format(name=teacher.name)))

    ordered = sorted(sessions, key=lambda s: s.starts_at)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.starts_at >= a.ends_at:
                break
            if a.venue_id is not None and a.venue_id == b.venue_id:
                name = venues[a.venue_id].name if a.venue_id in venues else str(a.venue_id)
                for s, other in ((a, b), (b, a)):
                    found.append(Conflict(s.id, "venue_double", True, _("{venue} er også booket til {code}").format(venue=name, code=other.module_code)))
            for teacher_id in a.instructor_ids & b.instructor_ids:
                name = instructors[teacher_id].name if teacher_id in instructors else str(teacher_id)
                for s, other in ((a, b), (b, a)):
                    found.append(Conflict(s.id, "instructor_double", True, _("{name} underviser også i {code}").format(name=name, code=other.module_code)))
            if a.cohort_id != b.cohort_id and participants_by_cohort:
                both = participants_by_cohort.get(a.cohort_id, frozenset()) & participants_by_cohort.get(b.cohort_id, frozenset())
                if both:
                    for s, other in ((a, b), (b, a)):
                        found.append(Conflict(s.id, "participant_double", False, ngettext("{n} deltager skal også være på {code} samtidig", "{n} deltagere skal også være på {code} samtidig", len(both)).format(n=len(both), code=other.module_code)))

    for cohort_sessions in by_cohort.values():
        found.extend(order_conflicts(cohort_sessions))
    return found


@dataclass(frozen=True)
class DayInOrder:
    """One course day of a cohort, for the order rules."""

    id: int
    module_id: int
    module_code: str
    part: int
    starts_at: datetime
    ends_at: datetime
    prerequisites: frozenset[int] = frozenset()


def order_conflicts(days: Sequence[PlannedSession | DayInOrder]) -> list[Conflict]:
    """Pure: the order rules over one cohort's course days, both hard —
    - a module comes after its prerequisites: no day of it starts before the last day of
      a module it requires has ended ("prerequisite_order");
    - a module's days come in order: day k starts after day k-1 has ended ("day_order").
    Days without a `part` (PlannedSession) are checked for prerequisites only."""
    found: list[Conflict] = []
    last_end: dict[int, datetime] = {}
    codes: dict[int, str] = {}
    for d in days:
        last_end[d.module_id] = max(last_end.get(d.module_id, d.ends_at), d.ends_at)
        codes[d.module_id] = d.module_code
    for d in days:
        for p in sorted(d.prerequisites):
            if p in last_end and last_end[p] > d.starts_at:
                found.append(Conflict(d.id, "prerequisite_order", True, _("{code} skal ligge efter {req}").format(code=d.module_code, req=codes[p])))
    by_module: dict[int, list] = defaultdict(list)
    for d in days:
        if isinstance(d, DayInOrder):
            by_module[d.module_id].append(d)
    for parts in by_module.values():
        parts.sort(key=lambda d: d.part)
        for before, after in zip(parts, parts[1:], strict=False):
            if after.starts_at < before.ends_at:
                found.append(
                    Conflict(
                        after.id, "day_order", True,
                        _("{code} dag {n} ligger før dag {m}").format(code=after.module_code, n=after.part, m=before.part),
                    )
                )
    return found
