"""The chiefs' dashboard: intake, enrolment, completion, attendance and retention of new
hires, for the chief's own municipality in detail and for the other member
municipalities and the partnership in aggregate only.

This module fetches (a fixed number of queries, whatever the amount of data) and hands
plain rows to the pure rules in `intro.insight.retention`; the web layer only renders. Privacy is
decided here, before anything reaches a template or an export. People are named only for
the chief's own municipality, and the own municipality's figures follow every filter.

Disclosure control for everyone else (the method, as statistical offices use it):

- Fixed reporting periods: figures that include other municipalities' people (the
  comparison of members, the partnership's splits and its Kaplan–Meier curve) are always
  for a whole fixed period of five hiring years (`reporting_period`), never for the free
  year range, and never narrowed by the cohort or job function filter. Periods do not
  overlap, so no two views can be subtracted from each other, and no table of others'
  people is ever cross-classified: each is a one-way table (by municipality, cohort, job
  function, profile or completion) of the same population with the same total.
- Primary and complementary suppression in every such table together with its margin
  (`retention.suppress`): a cell resting on 1–4 others is hidden, and so is a second
  cell when the hidden cells would otherwise add up to 1–4 against the total. All these
  tables share one total (the partnership row of the comparison): a total one of them
  must hide is hidden in all, none may add up to it, and the partnership curve shows
  nothing from that figure on (`build`, `_curve_hidden_from`).
- Rounding: the partnership curve's numbers at risk after 0 months are rounded to 5
  (`about`), so their differences (who left between two times) cannot be read exactly.
- The partnership curve shows a survival only where the others who left since the last
  one shown are 0 or at least 5 (`_survival_shown_days`): a drop times the number at
  risk is how many left.
- Rates are suppressed on their parts too (`PARTS`): the people with and without the
  outcome get the same suppression as a head count, since rate × basis is the numerator;
  and the partnership has no split by completed intro (its rows are the completion
  rate's numerator and rest, readable off the rates in every other table).

tests/disclosure_audit.py checks this with integer linear programming over every filter
value a chief can choose.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from piccolo.query.functions.aggregate import Count, Max, Min

from intro import access, clock
from intro.db import StampedCache, any_of, data_stamp
from intro.errors import NotFound
from intro.i18n import _
from intro.inputs import parse_int
from intro.insight import retention as r
from intro.participation.attendance import expected_on
from intro.people import organisation
from intro.people.accounts import User
from intro.tables import (
    Attendance,
    CatchUpBooking,
    Cohort,
    CohortStatus,
    Employment,
    Enrolment,
    EnrolmentStatus,
    Partnership,
    PartnershipMember,
    Person,
    Profile,
    Session,
    SessionStatus,
)
from intro.timefmt import local

SUPPRESSED = r.SUPPRESSED
YEARS_SHOWN_BY_DEFAULT = 5
REPORTING_PERIOD_YEARS = 5  # others' figures are shown for fixed periods of this many hiring years
NOT_ENROLLED = _("Ikke tilmeldt hold")
ENROLLED_WITHIN_MONTHS = 3
KM_CHART_MONTHS = 36


# --------------------------------------------------------------------------------------
# Filters (kept in the URL)


@dataclass(frozen=True)
class Filters:
    municipality: int
    partnership: int
    year_from: int
    year_to: int
    cohort: int | None = None
    job_function: str | None = None

    def query(self, **changes) -> dict[str, str]:
        """The filters as URL parameters (for links, exports and the address bar)."""
        values = {
            "kommune": self.municipality,
            "samarbejde": self.partnership,
            "fra": self.year_from,
            "til": self.year_to,
            "hold": self.cohort,
            "stilling": self.job_function,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    @property
    def first_day(self) -> date:
        return date(self.year_from, 1, 1)

    @property
    def last_day(self) -> date:
        return date(self.year_to, 12, 31)


def _int(value: str | None) -> int | None:
    return parse_int(value)


async def filters_for(user: User, params: dict[str, str | None], today: date) -> Filters:
    """The filters asked for, narrowed to what the chief may see: their own municipality
    (the first one if they are chief of several) and one partnership it is a member of.
    A municipality or partnership outside that is 'not found'."""
    own = sorted(access.municipalities_led(user))
    if not own:
        raise NotFound()
    municipality = _int(params.get("kommune")) or own[0]
    if municipality not in own:
        raise NotFound()
    # Every partnership the municipality has been a member of up to today: one that
    # left keeps its past figures (organisation.members_on's rule for figures).
    memberships = sorted(await organisation.partnerships_during(municipality, None, today))
    if not memberships:
        raise NotFound()
    partnership = _int(params.get("samarbejde")) or memberships[0]
    if partnership not in memberships:
        raise NotFound()
    year_to = _int(params.get("til")) or today.year
    year_from = _int(params.get("fra")) or year_to - YEARS_SHOWN_BY_DEFAULT + 1
    year_to = min(max(year_to, 1990), today.year)
    year_from = min(max(year_from, 1990), year_to)
    job_function = (params.get("stilling") or "").strip()[:120] or None
    return Filters(
        municipality=municipality,
        partnership=partnership,
        year_from=year_from,
        year_to=year_to,
        cohort=_int(params.get("hold")),
        job_function=job_function,
    )


@dataclass(frozen=True)
class Period:
    """Hiring years `year_from`..`year_to`, both included."""

    year_from: int
    year_to: int

    def covers(self, day: date) -> bool:
        return self.year_from <= day.year <= self.year_to


def reporting_period(year: int, today: date) -> Period:
    """The fixed reporting period holding hiring year `year`: blocks of
    REPORTING_PERIOD_YEARS years ending with the current year (in 2026: 2022–2026,
    2017–2021, ...). Every view of the dashboard shows others' figures for one of these
    blocks only, so views never overlap in part (which would let a reader subtract one
    from another). The blocks move on 1 January, like every figure moves with new data."""
    behind = max(0, today.year - year) // REPORTING_PERIOD_YEARS
    last = today.year - behind * REPORTING_PERIOD_YEARS
    return Period(last - REPORTING_PERIOD_YEARS + 1, last)


# --------------------------------------------------------------------------------------
# What is loaded


@dataclass
class PersonFacts:
    cohort: int | None = None  # the cohort the person took part in (or is in)
    first_enrolled: date | None = None
    completed: bool = False
    present: int = 0
    absent: int = 0
    excused: int = 0
    enrolments: list[r.Enrolment] = field(default_factory=list)
    enrolment_rows: list[dict] = field(default_factory=list)


# What is known of a person nobody has facts for: read only, shared (not made afresh for
# each of tens of thousands of look-ups while building a board).
NO_FACTS = PersonFacts()


@dataclass
class Loaded:
    today: date
    filters: Filters
    partnership_name: str
    municipalities: dict[int, dict]  # id -> {name, code}: members at any time up to today
    employments: list[dict]
    facts: dict[int, PersonFacts]
    cohorts: dict[int, dict]  # id -> {name, start_date, ended}
    job_functions: list[str]
    profiles: dict[str, str]  # code -> name
    # municipality -> [(joined_on, left_on)]: organisation.membership_spells; None (figures
    # worked out without a database): every municipality a member throughout
    spells: dict[int, list[tuple[date | None, date | None]]] | None = None


def _local_day(value: datetime | str) -> date:
    """The local date of an instant (an aggregate over a timestamp is text on SQLite)."""
    return local(datetime.fromisoformat(value) if isinstance(value, str) else value).date()


def _day(value: datetime | date | str | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):  # an aggregate over a timestamp comes back as text on SQLite
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.date()
    return value


async def load(filters: Filters, today: date) -> Loaded:
    """Everything the dashboard needs for one partnership, in seven queries."""
    partnership = await Partnership.select(Partnership.name).where(
        Partnership.id == filters.partnership
    ).first()
    # Every municipality that has been a member up to today, with its spells; which of
    # them count in a figure is decided per hire and period in build().
    members = await PartnershipMember.select(
        PartnershipMember.municipality,
        PartnershipMember.municipality.name.as_alias("name"),
        PartnershipMember.municipality.code.as_alias("code"),
        PartnershipMember.joined_on,
        PartnershipMember.left_on,
    ).where((PartnershipMember.partnership == filters.partnership) & organisation.in_force_during(None, today))
    spells = organisation.spells_by_municipality(members)
    municipalities = {m["municipality"]: {"name": m["name"], "code": m["code"]} for m in members}
    member_ids = sorted(municipalities)
    employments = await Employment.select(
        Employment.id,
        Employment.person,
        Employment.municipality,
        Employment.job_function,
        Employment.profile_code,
        Employment.start_date,
        Employment.end_date,
        Employment.end_reason,
    ).where(Employment.municipality.is_in(member_ids))
    cohort_rows = await Cohort.select(Cohort.id, Cohort.name, Cohort.status, Cohort.start_date).where(
        Cohort.partnership == filters.partnership
    )
    last_days = {
        row["cohort"]: _day(row["last"])
        for row in await Session.select(Session.cohort, Max(Session.starts_at, alias="last"))
        .where(Session.cohort.is_in([c["id"] for c in cohort_rows] or [0]) & (Session.status == SessionStatus.scheduled.value))
        .group_by(Session.cohort)
    }
    cohorts = {
        c["id"]: {
            "name": c["name"],
            "start_date": c["start_date"],
            "ended": c["status"] == CohortStatus.completed.value
            or (last_days.get(c["id"]) is not None and last_days[c["id"]] < today),
        }
        for c in sorted(cohort_rows, key=lambda c: c["start_date"])
    }
    # Enrolments and attendance of the people employed in the member municipalities, by
    # joining on the employment table rather than sending thousands of ids.
    # Enrolments in and attendance at the partnership's cohorts: by the indexes on cohort
    # and session, without joins. (People booked in from elsewhere for a catch-up day come
    # along, but figures are only ever looked up for the members' own hires.)
    cohort_ids = list(cohorts) or [0]
    enrolments = await Enrolment.select(
        Enrolment.person, Enrolment.cohort, Enrolment.status, Enrolment.enrolled_at,
        Enrolment.completed_at, Enrolment.municipality,
    ).where(Enrolment.cohort.is_in(cohort_ids))
    # Marks counted by the sheet's rule (attendance.expected_on): on the days of a cohort
    # from the day a person got their place there, or on a day they were booked to catch
    # up. A mark outside that (left by older versions) is in no rate.
    # The marks counted per person, cohort and status, with the first course day among
    # them: tens of thousands of marks one by one were most of a cold build's time at
    # national scale (issue 19). Only where that first day comes before the person's
    # place (or there is no place), are the marks looked at one by one (below).
    attendance = await Attendance.select(
        Attendance.person, Attendance.session.cohort.as_alias("cohort"), Attendance.status,
        Min(Attendance.session.starts_at, alias="first"), Count(alias="n"),
    ).where(
        Attendance.session.is_in(Session.select(Session.id).where(Session.cohort.is_in(cohort_ids)))
    ).group_by(Attendance.person, Attendance.session.cohort, Attendance.status)
    booked = {
        (b["person"], b["session"])
        for b in await CatchUpBooking.select(CatchUpBooking.person, CatchUpBooking.session).where(
            CatchUpBooking.session.is_in(Session.select(Session.id).where(Session.cohort.is_in(cohort_ids)))
            & CatchUpBooking.cancelled_at.is_null()
        )
    }
    profiles = {
        p["code"]: p["name"] for p in await Profile.select(Profile.code, Profile.name).distinct()
    }

    facts: dict[int, PersonFacts] = defaultdict(PersonFacts)
    first_start: dict[int, date] = {}
    for e in employments:
        first_start[e["person"]] = min(first_start.get(e["person"], e["start_date"]), e["start_date"])
    for e in sorted(enrolments, key=lambda e: (e["enrolled_at"] is None, e["enrolled_at"] or datetime.min)):
        f = facts[e["person"]]
        f.enrolment_rows.append(e)
        if e["status"] == EnrolmentStatus.waitlisted.value:
            continue
        enrolled = _day(e["enrolled_at"])
        if enrolled and (f.first_enrolled is None or enrolled < f.first_enrolled):
            f.first_enrolled = enrolled
        if e["status"] != EnrolmentStatus.withdrawn.value or f.cohort is None:
            f.cohort = e["cohort"]
        if e["status"] == EnrolmentStatus.completed.value:
            f.completed = True
            f.cohort = e["cohort"]
        if enrolled:
            f.enrolments.append(
                r.Enrolment(
                    employment_start=first_start.get(e["person"], enrolled),
                    enrolled_on=enrolled,
                    completed_on=_day(e["completed_at"]) if e["status"] == EnrolmentStatus.completed.value else None,
                    withdrawn=e["status"] == EnrolmentStatus.withdrawn.value,
                    cohort_ended=cohorts[e["cohort"]]["ended"],
                )
            )
    placed: dict[tuple[int, int], datetime] = {}
    for e in enrolments:
        if e["enrolled_at"] is not None and e["status"] != EnrolmentStatus.waitlisted.value:
            key = (e["person"], e["cohort"])
            placed[key] = min(placed.get(key, e["enrolled_at"]), e["enrolled_at"])
    placed_on = {key: local(at).date() for key, at in placed.items()}  # expected_on, by local day
    doubtful: set[tuple[int, int]] = set()  # (person, cohort) with a mark perhaps before the place
    for a in attendance:
        since = placed_on.get((a["person"], a["cohort"]))
        if since is None or _local_day(a["first"]) < since:
            doubtful.add((a["person"], a["cohort"]))
            continue
        f = facts[a["person"]]
        setattr(f, a["status"], getattr(f, a["status"]) + a["n"])
    if doubtful:
        for a in await Attendance.select(
            Attendance.person, Attendance.session, Attendance.status,
            Attendance.session.cohort.as_alias("cohort"), Attendance.session.starts_at.as_alias("starts_at"),
        ).where(
            any_of(Attendance.person, sorted({person for person, _cohort in doubtful}))
            & Attendance.session.is_in(Session.select(Session.id).where(Session.cohort.is_in(cohort_ids)))
        ):
            if (a["person"], a["cohort"]) not in doubtful:
                continue
            if (a["person"], a["session"]) not in booked and not expected_on(
                local(a["starts_at"]).date(), placed.get((a["person"], a["cohort"]))
            ):
                continue
            f = facts[a["person"]]
            setattr(f, a["status"], getattr(f, a["status"]) + 1)
    return Loaded(
        today=today,
        filters=filters,
        partnership_name=partnership["name"] if partnership else "",
        municipalities=municipalities,
        employments=employments,
        facts=dict(facts),
        cohorts=cohorts,
        # The job function filter narrows the own municipality's figures only, so only
        # its own job functions are offered (a title held by one person elsewhere would
        # otherwise show that such a person exists).
        job_functions=sorted({e["job_function"] for e in employments if e["municipality"] == filters.municipality}),
        profiles=profiles,
        spells=spells,
    )


# --------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True)
class Cell:
    """A figure as shown: its text, and the number behind it for charts and exports
    (None when hidden or when there is nothing to count)."""

    text: str
    value: float | None = None
    hidden: bool = False


HIDDEN = Cell(SUPPRESSED, None, True)
EMPTY = Cell("–")


def pct(rate: float | None) -> Cell:
    if rate is None:
        return EMPTY
    return Cell(f"{rate * 100:.0f} %".replace(".", ","), round(rate * 100, 1))


def count(n: int) -> Cell:
    return Cell(str(n), n)


ROUNDING_BASE = 5


def about(n: int) -> Cell:
    """A count rounded to the nearest multiple of ROUNDING_BASE (halves up), shown as
    "ca. 40". A count 1–4 rounds to "ca. 0" or "ca. 5", saying nothing either way."""
    rounded = (n + ROUNDING_BASE // 2) // ROUNDING_BASE * ROUNDING_BASE
    return Cell(_("ca. {n}").format(n=rounded), rounded)


@dataclass(frozen=True)
class SpellInfo:
    spell: r.Spell
    job_function: str
    profile_code: str | None


@dataclass
class Summary:
    """Figures for one group of spells."""

    hires: int
    enrolled_within: r.Share
    completion: r.Completion
    attendance: float | None
    present: int
    absent: int
    marks: list[r.Mark]


def _spell_infos(spells: Iterable[r.Spell], by_start: dict[tuple[int, int, date], dict]) -> list[SpellInfo]:
    infos = []
    for s in spells:
        e = by_start.get((s.person, s.municipality, s.start), {})
        infos.append(SpellInfo(s, e.get("job_function", ""), e.get("profile_code")))
    return infos


def _summary(infos: list[SpellInfo], facts: dict[int, PersonFacts], today: date) -> Summary:
    people = {i.spell.person for i in infos}
    person_facts = [facts.get(p, NO_FACTS) for p in people]
    present = sum(f.present for f in person_facts)
    absent = sum(f.absent for f in person_facts)
    excused = sum(f.excused for f in person_facts)
    return Summary(
        hires=len(infos),
        enrolled_within=r.share_within(
            [(i.spell.start, facts.get(i.spell.person, NO_FACTS).first_enrolled) for i in infos],
            ENROLLED_WITHIN_MONTHS,
            today,
        ),
        completion=r.completion(e for f in person_facts for e in f.enrolments),
        attendance=r.attendance_rate(present, absent, excused),
        present=present,
        absent=absent,
        marks=r.retention_marks([i.spell for i in infos], today),
    )


COLUMNS = (
    # (key, heading, the count a figure rests on, the figure)
    ("hires", _("Nyansatte"), lambda s: s.hires, lambda s: count(s.hires)),
    (
        "enrolled",
        _("Tilmeldt inden 3 mdr."),
        lambda s: s.enrolled_within.eligible,
        lambda s: pct(s.enrolled_within.rate),
    ),
    ("completed", _("Gennemført"), lambda s: s.completion.counted, lambda s: pct(s.completion.rate)),
    ("attendance", _("Fremmøde"), lambda s: people_attending(s), lambda s: pct(s.attendance)),
    *(
        (
            f"retention_{m}",
            _("Fastholdt {m} mdr.").format(m=m),
            (lambda s, i=i: s.marks[i].eligible),
            (lambda s, i=i: pct(s.marks[i].rate)),
        )
        for i, m in enumerate(r.MARKS)
    ),
)


# The parts of each rate that are groups of people too: a rate shown with its basis gives
# away its numerator (rate × basis), so the people with and without the outcome are each
# suppressed like a head count, as well as the basis (found by the disclosure auditor's
# rate constraints: a member's completion rate of 20 % over 5 others told the 1 who
# completed, hidden in the split by completion). Attendance rests on course days, not
# people, and has no such parts.
PARTS: dict[str, tuple[Callable[[Summary], int], ...]] = {
    "enrolled": (lambda s: s.enrolled_within.yes, lambda s: s.enrolled_within.eligible - s.enrolled_within.yes),
    "completed": (lambda s: s.completion.completed, lambda s: s.completion.counted - s.completion.completed),
    **{
        f"retention_{m}": ((lambda s, i=i: s.marks[i].stayed), (lambda s, i=i: s.marks[i].left))
        for i, m in enumerate(r.MARKS)
    },
}


def people_attending(summary: Summary) -> int:
    # Attendance rests on course days, but privacy is about people: the number of hires
    # in the group is the count that decides whether it may be shown.
    return summary.hires if (summary.present + summary.absent) else 0


@dataclass
class Row:
    label: str
    cells: list[Cell]
    own: bool = False
    municipality: int | None = None


@dataclass
class Table:
    caption: str
    headings: list[str]
    rows: list[Row]
    note: str = ""


@dataclass
class Curve:
    label: str
    points: list[tuple[float, float]]  # (months, survival) for the chart
    table: list[tuple[float, Cell, Cell]]  # (months, survival, number at risk)
    hidden: bool = False


@dataclass
class Dashboard:
    filters: Filters
    today: date
    municipality_name: str
    partnership_name: str
    own: Summary
    comparison: Table
    own_marks: Table
    splits: list[Table]
    partnership_splits: list[Table]
    others_scope: Period  # the fixed period of every figure that includes others' people
    curves: list[Curve]
    intake: list[tuple[str, int]]
    leavers: list[tuple[str, int]]
    cohorts: list[tuple[int, str]]
    job_functions: list[str]
    years: list[int]


def _in_filters(info: SpellInfo, filters: Filters, facts: dict[int, PersonFacts], today: date) -> bool:
    s = info.spell
    if s.start > today or not (filters.first_day <= s.start <= filters.last_day):
        return False
    if filters.job_function and info.job_function != filters.job_function:
        return False
    return not filters.cohort or facts.get(s.person, NO_FACTS).cohort == filters.cohort


KM_TABLE_MONTHS = (0, 3, 6, 12, 18, 24, 36)


def _at_risk_reader(steps: list[r.KMStep]) -> Callable[[int], int]:
    """`retention.at_risk_at` for many days at once: a binary search over the steps with a
    running total from the end, instead of a walk over all steps for each day."""
    days = [step.day for step in steps]
    from_here = [0] * (len(steps) + 1)
    for i in range(len(steps) - 1, -1, -1):
        from_here[i] = from_here[i + 1] + steps[i].events + steps[i].censored

    def at_risk(day: int) -> int:
        return from_here[bisect_left(days, day)]

    return at_risk


def _survival_shown_days(steps: list[r.KMStep], own_steps: list[r.KMStep], table_days: list[int]) -> set[int]:
    """The days on which the partnership curve may show its survival: the table's month
    days and the chart's event days, such that between any two shown days (and day 0) the
    others who left number 0 or at least `retention.MIN_GROUP`.

    Between two shown survivals a reader learns how many left (the drop times the number
    at risk, less the viewer's own leavers, whom they know): without this rule a drop on
    a day none of the own people left tells that 1–4 others left then. The table's months
    are decided first, in order, a month that fails being merged into the next; then
    event days are added between two shown days where both parts they cut the interval
    into pass (after the last shown month, where the part before passes: the line ends at
    the last day shown). Shapes: `steps` and `own_steps` as `retention.kaplan_meier` gives
    them (own a subset of all); days since the start."""
    own_by_day = Counter({step.day: step.events for step in own_steps})
    others_by_day = {step.day: step.events - own_by_day[step.day] for step in steps if step.events}
    event_days = sorted(others_by_day.keys() | {d for d, n in own_by_day.items() if n})
    cumulative: dict[int, int] = {}
    running = 0
    for day in event_days:
        running += others_by_day.get(day, 0)
        cumulative[day] = running

    def others_until(day: int) -> int:  # others who left on or before `day`
        at = bisect_left(event_days, day + 1)
        return cumulative[event_days[at - 1]] if at else 0

    def passes(n: int) -> bool:
        return n == 0 or n >= r.MIN_GROUP

    shown = {0}
    last = 0
    for day in sorted(set(table_days) - {0}):
        if passes(others_until(day) - others_until(last)):
            shown.add(day)
            last = day
    bounds = sorted(shown)
    for at, low in enumerate(bounds):
        high = bounds[at + 1] if at + 1 < len(bounds) else None
        for day in event_days:
            if day <= low or (high is not None and day >= high):
                continue
            if passes(others_until(day) - others_until(low)) and (
                high is None or passes(others_until(high) - others_until(day))
            ):
                shown.add(day)
                low = day
    return shown


def _curve(
    label: str,
    spells: list[r.Spell],
    today: date,
    own_steps: list[r.KMStep] | None = None,
    hidden_from_day: int | None = None,
) -> Curve:
    """A Kaplan–Meier curve for the chart and its table. With `own_steps` (the partnership
    curve, seen by a chief) the curve stops where the others still observed are 1–4
    people: beyond that point it would describe them, worked out against the own curve.

    Survival is only shown where someone is followed: the chart line ends at the last
    observed day, the table shows "–" where nobody is at risk, and an empty group has no
    line at all (see `retention.km_month_table`).

    From `hidden_from_day` on nothing is shown either: the partnership's retention at a
    mark is hidden in its tables, and its curve must not show it again. And the
    partnership curve shows a survival (a point on the chart, a month in the table) only
    where the others who left since the last one shown are 0 or at least 5
    (`_survival_shown_days`); the line ends at the last one shown."""
    steps = r.kaplan_meier(spells, today)
    at_risk_on = _at_risk_reader(steps)
    own_at_risk_on = _at_risk_reader(own_steps) if own_steps is not None else None

    def hidden_at(day: int) -> bool:
        if hidden_from_day is not None and day >= hidden_from_day:
            return True
        if own_at_risk_on is None:
            return False
        total = at_risk_on(day)
        return r.group_hidden(total, min(own_at_risk_on(day), total))

    if hidden_at(0):
        return Curve(label, [], [], hidden=True)
    shown_days = (
        _survival_shown_days(steps, own_steps, [r.month_day(m) for m in KM_TABLE_MONTHS])
        if own_steps is not None
        else None
    )
    points: list[tuple[float, float]] = []
    if steps:
        points.append((0.0, 1.0))
        end, survival = 0.0, 1.0
        merging = False  # others left since the last point shown, not yet shown
        for step in steps:
            months = step.day / r.DAYS_PER_MONTH
            if hidden_at(step.day):
                break
            if months > KM_CHART_MONTHS:
                if not merging:
                    end = KM_CHART_MONTHS  # still followed past the chart's right edge
                break
            if step.events:
                merging = shown_days is not None and step.day not in shown_days
                if not merging:
                    points.append((months, step.survival))
            if not merging:
                end, survival = months, step.survival
        if hidden_from_day is not None:
            end = min(end, (hidden_from_day - 1) / r.DAYS_PER_MONTH)
        if points[-1][0] < end:
            points.append((end, survival))  # the line ends where the last person was seen
    table = []
    for months, survival_then, at_risk in r.km_month_table(steps, KM_TABLE_MONTHS):
        if hidden_at(r.month_day(months)):
            table.append((months, HIDDEN, HIDDEN))
        elif shown_days is not None and months and r.month_day(months) not in shown_days:
            table.append((months, HIDDEN if survival_then is not None else EMPTY, about(at_risk)))
        elif own_steps is not None and months:
            # Two exact numbers at risk would give away how many others left or stopped
            # being followed between them, a group that may be 1–4: rounded to 5, any
            # such difference could be 0 or 5 and more. (At 0 months it is the total of
            # hires, shown in the comparison anyway.)
            table.append((months, pct(survival_then), about(at_risk)))
        else:
            table.append((months, pct(survival_then), count(at_risk)))
    return Curve(label, points, table)


# A retention mark is in calendar months and the curve in days (`retention.month_day`):
# a mark's day can fall this many days before its whole-month point on the curve.
_MARK_SLACK_DAYS = 3


def _curve_hidden_from(hidden_totals: set[str]) -> int | None:
    """The first day of the partnership curve that would show a total hidden in the
    tables: the whole curve when the number of hires is hidden (it is the number at risk
    at 0 months), else from the earliest retention mark whose total is hidden."""
    if "hires" in hidden_totals:
        return 0
    days = [
        max(0, r.month_day(m) - _MARK_SLACK_DAYS) for m in r.MARKS if f"retention_{m}" in hidden_totals
    ]
    return min(days, default=None)


def _group_order(split: str, loaded: Loaded) -> Callable[[str], tuple]:
    """The order of a split's rows: cohorts by start date (names like "2023 efterår" and
    "2023 forår" do not sort by time), a group for "none" last, the rest alphabetically."""
    if split == _("hold"):
        starts = {c["name"]: c["start_date"] for c in loaded.cohorts.values()}
        return lambda label: (0, starts[label], label) if label in starts else (1, label)
    return lambda label: (0, label)


@dataclass
class _Split:
    """One table by cohort, job function, profile or completed intro, before hiding: its
    groups in order, their figures, and (for the partnership) the viewer's own part of
    each group."""

    name: str
    labels: list[str]
    summaries: dict[str, Summary]
    own: dict[str, Summary] | None


def _splits(
    infos: list[SpellInfo], facts: dict[int, PersonFacts], loaded: Loaded, *, own_ids: set[int] | None
) -> list[_Split]:
    """Every figure by cohort, job function, profile and completed intro; with `own_ids`
    (the partnership view) also the viewer's own part of each group."""
    keys: list[tuple[str, Callable[[SpellInfo], str]]] = [
        (_("hold"), lambda i: loaded.cohorts.get(facts.get(i.spell.person, NO_FACTS).cohort or 0, {}).get("name") or NOT_ENROLLED),
        (_("stilling"), lambda i: i.job_function or _("Ukendt")),
        (_("fagprofil"), lambda i: loaded.profiles.get(i.profile_code or "", _("Basisprofil alene"))),
        (
            _("gennemført introforløb"),
            lambda i: _("Gennemført") if facts.get(i.spell.person, NO_FACTS).completed else _("Ikke gennemført"),
        ),
    ]
    if own_ids is not None:
        # Not for the partnership: its two rows are the numerator and the rest of the
        # completion rate shown in every other table, so a complementary cell hidden here
        # could be read off a rate there (found by the disclosure auditor).
        keys.pop()
    splits = []
    for name, key in keys:
        groups: dict[str, list[SpellInfo]] = defaultdict(list)
        for info in infos:
            groups[key(info)].append(info)
        labels = sorted(groups, key=_group_order(name, loaded))
        summaries = {label: _summary(groups[label], facts, loaded.today) for label in labels}
        own = None
        if own_ids is not None:
            own = {
                label: _summary([i for i in groups[label] if i.spell.municipality in own_ids], facts, loaded.today)
                for label in labels
            }
        splits.append(_Split(name, labels, summaries, own))
    return splits


def _split_hiding(split: _Split, hidden_totals: set[str]) -> tuple[dict[str, frozenset[str]], set[str]]:
    """Which groups of a partnership split to hide, column by column: primary and
    complementary suppression against the partnership total (`retention.suppress`) on the
    count each figure rests on and on its parts (`PARTS`), less the viewer's own part.
    A column in `hidden_totals` has its total hidden elsewhere, so its groups must not add
    up to it. Also returns the columns whose total must be hidden for this table to hold."""
    assert split.own is not None
    own = split.own
    hidden: dict[str, frozenset[str]] = {}
    hide_totals: set[str] = set()
    for column, _h, basis, _f in COLUMNS:
        cells: set[str] = set()
        for count_of in (basis, *PARTS.get(column, ())):
            outcome = r.suppress(
                {label: count_of(split.summaries[label]) - count_of(own[label]) for label in split.labels},
                margin_kept_hidden=column in hidden_totals,
            )
            cells |= outcome.municipalities
            if outcome.total:
                hide_totals.add(column)
        hidden[column] = frozenset(cells)
    return hidden, hide_totals


def _split_table(split: _Split, hidden: dict[str, frozenset[str]], title: str) -> Table:
    headings = [_("Gruppe")] + [heading for _k, heading, _b, _f in COLUMNS]
    rows = [
        Row(label, [
            HIDDEN if label in hidden.get(column, ()) else figure(split.summaries[label])
            for column, _h, _b, figure in COLUMNS
        ])
        for label in split.labels
    ]
    return Table(_("Opdelt efter {what} – {title}").format(what=split.name, title=title), headings, rows)


def _comparison_hiding(
    summaries: dict[int, Summary],
    own_id: int,
    partnership: Summary,
    own_in_partnership: Summary,
    hidden_totals: set[str],
) -> tuple[dict[str, set[int]], set[str]]:
    """Which member municipalities to hide in the comparison, column by column
    (`retention.hide_municipalities` on each figure's count and its parts), and which
    columns' partnership total: those in `hidden_totals`, those the table needs hidden,
    and those whose others are 1–4 people."""
    hidden_cells: dict[str, set[int]] = {}
    totals: set[str] = set()
    for key, _heading, basis, _figure in COLUMNS:
        hidden_cells[key] = set()
        total_hidden = key in hidden_totals
        for count_of in (basis, *PARTS.get(key, ())):
            hidden = r.hide_municipalities(
                {m: count_of(s) for m, s in summaries.items()}, {own_id}, total_kept_hidden=key in hidden_totals
            )
            hidden_cells[key] |= hidden.municipalities
            total_hidden = (
                total_hidden
                or hidden.total
                or r.group_hidden(count_of(partnership), count_of(own_in_partnership))
            )
        if total_hidden:
            totals.add(key)
    return hidden_cells, totals


def build(loaded: Loaded) -> Dashboard:
    """All figures for the dashboard, privacy already applied."""
    filters, today, facts = loaded.filters, loaded.today, loaded.facts
    members = set(loaded.municipalities)
    own_id = filters.municipality
    rows = [
        r.Employment(e["person"], e["municipality"], e["start_date"], e["end_date"], e["end_reason"])
        for e in loaded.employments
    ]
    by_start = {(e["person"], e["municipality"], e["start_date"]): e for e in loaded.employments}
    all_municipality_infos = _spell_infos(r.municipality_spells(rows, members), by_start)
    own_infos = [
        i for i in all_municipality_infos
        if i.spell.municipality == own_id and _in_filters(i, filters, facts, today)
    ]
    # Everything that includes others' people: the fixed period, no other filter.
    scope = reporting_period(filters.year_to, today)

    def in_scope(info: SpellInfo) -> bool:
        return info.spell.start <= today and scope.covers(info.spell.start)

    def was_member(info: SpellInfo) -> bool:
        # A hire counts in figures with others' people only if their municipality was a
        # member of the partnership on the hire's first day (organisation.members_on).
        return loaded.spells is None or organisation.member_on(
            loaded.spells, info.spell.municipality, info.spell.start
        )

    municipality_infos = [i for i in all_municipality_infos if in_scope(i) and was_member(i)]
    partnership_infos = [
        i for i in _spell_infos(r.partnership_spells(rows, members), by_start)
        if in_scope(i) and was_member(i)
    ]
    # The comparison shows the municipalities that were members in the reporting period
    # (and always the chief's own).
    scope_first, scope_last = date(scope.year_from, 1, 1), min(date(scope.year_to, 12, 31), today)
    members = {
        m for m in members
        if m == own_id
        or loaded.spells is None
        or organisation.member_during(loaded.spells, m, scope_first, scope_last)
    }
    by_municipality: dict[int, list[SpellInfo]] = defaultdict(list)
    for info in municipality_infos:
        by_municipality[info.spell.municipality].append(info)
    summaries = {m: _summary(by_municipality.get(m, []), facts, today) for m in members}
    partnership = _summary(partnership_infos, facts, today)
    own_in_partnership = _summary(
        [i for i in partnership_infos if i.spell.municipality == own_id], facts, today
    )
    # Every table of others' people shows the same partnership total as its margin (the
    # comparison's last row is the margin of each split too). A total one table must hide
    # is hidden in all of them, and then none of them may add up to it: decided together,
    # until no table asks to hide another total (at most one round per column).
    partnership_split_data = _splits(partnership_infos, facts, loaded, own_ids={own_id})
    hidden_totals: set[str] = set()
    while True:
        split_hiding = [_split_hiding(split, hidden_totals) for split in partnership_split_data]
        comparison_hidden, comparison_totals = _comparison_hiding(
            summaries, own_id, partnership, own_in_partnership, hidden_totals
        )
        asked = comparison_totals.union(*(totals for _cells, totals in split_hiding))
        if asked <= hidden_totals:
            break
        hidden_totals |= asked
    partnership_splits = [
        _split_table(split, cells, loaded.partnership_name)
        for split, (cells, _totals) in zip(partnership_split_data, split_hiding, strict=True)
    ]

    # Comparison of member municipalities and the partnership, column by column.
    order = sorted(members, key=lambda m: (m != own_id, loaded.municipalities[m]["name"]))
    cells: dict[int, list[Cell]] = {m: [] for m in order}
    total_cells: list[Cell] = []
    for key, _heading, _basis, figure in COLUMNS:
        for m in order:
            cells[m].append(HIDDEN if m in comparison_hidden[key] else figure(summaries[m]))
        total_cells.append(HIDDEN if key in hidden_totals else figure(partnership))
    comparison = Table(
        _("Medlemskommuner og samarbejdet, ansat {a}–{b}").format(a=scope.year_from, b=scope.year_to),
        [_("Kommune")] + [heading for _k, heading, _b, _f in COLUMNS],
        [
            Row(loaded.municipalities[m]["name"], cells[m], own=m == own_id, municipality=m)
            for m in order
        ]
        + [Row(_("Hele samarbejdet"), total_cells)],
        note=_(
            "Samarbejdets tal tæller den, der skifter til en anden medlemskommune inden for 31 dage, "
            "som fastholdt. Grupper under 5 personer uden for din egen kommune vises som \"<5\", og "
            "hvor et skjult tal ellers kunne regnes ud fra totalen, skjules et tal mere."
        ),
    )

    own_summary = _summary(own_infos, facts, today)
    own_marks = Table(
        _("Fastholdelse i {name}").format(name=loaded.municipalities[own_id]["name"]),
        [_("Efter"), _("Kunne nås"), _("Blev"), _("Stoppede"), _("Fastholdt")],
        [
            Row(
                _("{m} måneder").format(m=m.months),
                [count(m.eligible), count(m.stayed), count(m.left), pct(m.rate)],
            )
            for m in own_summary.marks
        ],
        note=_(
            "Kun nyansatte, der har været ansat længe nok til at nå tidspunktet, tælles med "
            "– de senest ansatte tæller hverken som blevet eller stoppet."
        ),
    )
    own_name = loaded.municipalities[own_id]["name"]
    own_partnership_spells = [i.spell for i in partnership_infos if i.spell.municipality == own_id]
    curves = [
        _curve(own_name, [i.spell for i in own_infos], today),
        _curve(
            loaded.partnership_name,
            [i.spell for i in partnership_infos],
            today,
            own_steps=r.kaplan_meier(own_partnership_spells, today),
            hidden_from_day=_curve_hidden_from(hidden_totals),
        ),
    ]
    leavers = Counter(
        r.leaver_label(i.spell) or _("Ingen årsag oplyst")
        for i in own_infos
        if i.spell.end is not None and i.spell.end <= today
    )
    years = list(range(min([e["start_date"].year for e in loaded.employments] or [today.year]), today.year + 1))
    return Dashboard(
        filters=filters,
        today=today,
        municipality_name=own_name,
        partnership_name=loaded.partnership_name,
        own=own_summary,
        comparison=comparison,
        own_marks=own_marks,
        splits=[_split_table(split, {}, own_name) for split in _splits(own_infos, facts, loaded, own_ids=None)],
        partnership_splits=partnership_splits,
        others_scope=scope,
        curves=curves,
        intake=r.intake_per_quarter(
            [i.spell for i in own_infos], filters.first_day, min(filters.last_day, today)
        ),
        leavers=sorted(leavers.items(), key=lambda item: (-item[1], item[0])),
        cohorts=[(cid, c["name"]) for cid, c in loaded.cohorts.items()],
        job_functions=sorted({*loaded.job_functions, *([filters.job_function] if filters.job_function else [])}),
        years=years,
    )


# Built dashboards by (filters, day), per worker. The filters are those `filters_for`
# allowed this chief, so they carry the viewer's scope (own municipality, partnership)
# and a board is only ever handed to someone entitled to those very filters. Every table
# `load` reads is stamped (intro.tables.STAMPED_TABLES), so a write anywhere — another
# worker, an import, the API, anonymisation — makes the next request build afresh.
_BOARDS = StampedCache(
    ("attendance", "catch_up_booking", "cohort", "employment", "enrolment", "municipality",
     "partnership", "partnership_member", "profile", "session"),
    size=64,
)


async def dashboard_for(user: User, params: dict[str, str | None], today: date | None = None) -> Dashboard:
    today = today or clock.today()
    filters = await filters_for(user, params, today)
    stamp = await data_stamp()  # read before loading: a write after it moves it for the next request

    async def fresh() -> Dashboard:
        return build(await load(filters, today))

    return await _BOARDS.get_or_build((filters, today), stamp, fresh)


# --------------------------------------------------------------------------------------
# The chief's own people (drill-down)


@dataclass(frozen=True)
class PersonLine:
    name: str
    job_function: str
    profile: str
    start: date
    end: date | None
    leaver: str | None
    cohort: str
    completed: bool
    attendance: Cell


async def people_for(user: User, params: dict[str, str | None], today: date | None = None) -> tuple[Filters, str, list[PersonLine]]:
    """The own municipality's hires in the filters, by name: only ever the chief's own."""
    today = today or clock.today()
    filters = await filters_for(user, params, today)
    loaded = await load(filters, today)
    members = set(loaded.municipalities)
    rows = [
        r.Employment(e["person"], e["municipality"], e["start_date"], e["end_date"], e["end_reason"])
        for e in loaded.employments
        if e["municipality"] == filters.municipality
    ]
    by_start = {(e["person"], e["municipality"], e["start_date"]): e for e in loaded.employments}
    # moved_within needs the other members' employments of the same people.
    own_people = {row.person for row in rows}
    all_rows = rows + [
        r.Employment(e["person"], e["municipality"], e["start_date"], e["end_date"], e["end_reason"])
        for e in loaded.employments
        if e["municipality"] != filters.municipality and e["person"] in own_people
    ]
    infos = [
        i for i in _spell_infos(r.municipality_spells(all_rows, members), by_start)
        if i.spell.municipality == filters.municipality and _in_filters(i, filters, loaded.facts, today)
    ]
    names = await _names(sorted(own_people))
    lines = []
    for i in infos:
        f = loaded.facts.get(i.spell.person, NO_FACTS)
        lines.append(
            PersonLine(
                name=names.get(i.spell.person, ""),
                job_function=i.job_function,
                profile=loaded.profiles.get(i.profile_code or "", ""),
                start=i.spell.start,
                end=i.spell.end,
                leaver=r.leaver_label(i.spell) if i.spell.end and i.spell.end <= today else None,
                cohort=loaded.cohorts.get(f.cohort or 0, {}).get("name", ""),
                completed=f.completed,
                attendance=pct(r.attendance_rate(f.present, f.absent, f.excused)),
            )
        )
    lines.sort(key=lambda line: (line.start, line.name), reverse=True)
    name = loaded.municipalities[filters.municipality]["name"]
    return filters, name, lines


async def _names(person_ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for i in range(0, len(person_ids), 900):
        chunk = person_ids[i : i + 900]
        for row in await Person.select(Person.id, Person.full_name).where(Person.id.is_in(chunk)):
            names[row["id"]] = row["full_name"]
    return names
