"""Retention (fastholdelse) of new hires and the small figures around it: pure functions
over plain data, no database.

Input is employment rows from HR. They are first joined into *spells* (continuous stays):
per municipality for a municipality's own view, and across member municipalities for the
partnership's view, so that a move from Slagelse to Sorø is a leaver for Slagelse but a
kept hire for the partnership.

Day conventions, used the same way everywhere in this module:

- Day 0 of a spell is its start date; day t is the date ``start + t days``.
- A spell that ended lasted ``(end - start).days + 1`` days (the last day worked counts):
  the person is employed on days ``0 .. T-1`` and gone from day ``T``. Kaplan–Meier records
  the event ("left") at day ``T``.
- A person has *stayed* to a mark (6, 12, 24 months) when still employed on the mark date
  ``add_months(start, months)``, i.e. ``end is None or end >= mark date``. Whose last day is
  the day before the mark date did not stay; whose last day is the mark date did. With
  ``k = (mark date - start).days`` that is ``T > k``, which is exactly what the
  Kaplan–Meier survival ``S(k)`` estimates, so both agree when no one is censored before k.
- Figures are as of ``today``: an end date after today is not known to have happened yet,
  so such a person counts as still employed (censored at today).
"""

from __future__ import annotations

import calendar
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Generic, NamedTuple, Protocol, TypeVar

from intro.errors import Invalid
from intro.i18n import _

GAP_DAYS = 31  # a new employment starting at most this long after the last one continues it
MARKS = (6, 12, 24)
KM_TABLE_MONTHS = (0, 3, 6, 12, 18, 24)
DAYS_PER_MONTH = 30.4375  # 365.25 / 12, for reading the day-based KM curve in months
MIN_GROUP = 5  # groups of fewer people than this are hidden outside the viewer's own municipality

SUPPRESSED = "<5"  # shown in place of a hidden count
MOVED_WITHIN = _("Skiftet til anden medlemskommune")
END_REASONS: dict[str, str] = {
    "resigned": _("Sagt op"),
    "dismissed": _("Afskediget"),
    "contract_ended": _("Kontrakt udløbet"),
    "retired": _("Gået på pension"),
    "moved": _("Fraflyttet"),
    "other": _("Andet"),
}

K = TypeVar("K", bound=Hashable)

_OPEN = date.max  # sorts after every real end date: "still employed"


# --- Input and spells -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Employment:
    """One employment row from HR. `end` is the last day employed; None = still employed."""

    person: int
    municipality: int
    start: date
    end: date | None
    end_reason: str | None = None  # a key of END_REASONS

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if self.end is not None and self.end < self.start:
            errors["end"] = _("Slutdatoen ligger før startdatoen.")
        if self.end_reason is not None:
            if self.end is None:
                errors["end_reason"] = _("Der er en fratrædelsesårsag, men ingen slutdato.")
            elif self.end_reason not in END_REASONS:
                errors["end_reason"] = _("Ukendt fratrædelsesårsag.")
        if errors:
            raise Invalid(errors)


@dataclass(frozen=True, slots=True)
class Spell:
    """A continuous stay: one or more employments joined when each starts at most
    `gap_days` after the one before ended (or overlaps it).

    `municipality` is where the spell began (the hiring municipality); `end` is None while
    the person is still employed; `end_reason` is that of the employment that ended last.
    `moved_within` (municipality spells only): the spell ended and the person went on in
    another member municipality within the gap, so the leaver can be shown as
    "skiftet til anden medlemskommune"."""

    person: int
    municipality: int
    start: date
    end: date | None
    end_reason: str | None = None
    moved_within: bool = False


class _HasStart(Protocol):
    @property
    def start(self) -> date: ...


def _chains(rows: Iterable[Employment], gap_days: int) -> list[list[Employment]]:
    """Join rows (all one person's) into chains: a row continues the chain when it starts
    at most `gap_days` after the latest end so far. Overlapping rows (two jobs at once)
    therefore join too, and are counted once."""
    if gap_days < 0:
        raise ValueError("gap_days must not be negative")
    chains: list[list[Employment]] = []
    reach = _OPEN  # latest end of the current chain
    for row in sorted(rows, key=lambda e: (e.start, e.municipality, e.end or _OPEN)):
        if chains and (reach == _OPEN or (row.start - reach).days <= gap_days):
            chains[-1].append(row)
            reach = max(reach, row.end or _OPEN)
        else:
            chains.append([row])
            reach = row.end or _OPEN
    return chains


def _spell(chain: list[Employment]) -> Spell:
    first = chain[0]
    # The employment that ends last decides the end; on a tie, the one that started last.
    last = max(enumerate(chain), key=lambda item: (item[1].end or _OPEN, item[0]))[1]
    return Spell(
        person=first.person,
        municipality=first.municipality,
        start=first.start,
        end=last.end,
        end_reason=last.end_reason,
    )


def _by_person(employments: Iterable[Employment]) -> dict[int, list[Employment]]:
    people: dict[int, list[Employment]] = defaultdict(list)
    for employment in employments:
        people[employment.person].append(employment)
    return people


def _sorted(spells: list[Spell]) -> list[Spell]:
    return sorted(spells, key=lambda s: (s.person, s.start, s.municipality))


def municipality_spells(
    employments: Iterable[Employment],
    members: set[int] | None = None,
    gap_days: int = GAP_DAYS,
) -> list[Spell]:
    """Continuous stays per person and municipality.

    Employments in the same municipality are one spell when the next starts at most
    `gap_days` after the previous ended (a renewed contract) or overlaps it. A return after
    a longer gap is a new spell: the first one is a leaver, the return a new hire counted
    from its own start.

    `members` (the partnership's municipalities) is used only for `moved_within`: a spell
    in a member municipality ended, and the same person has an employment in another
    member municipality that starts at most `gap_days` after that end and goes on past it.
    That is exactly when the person's partnership spell continues after this one."""
    people = _by_person(employments)
    spells: list[Spell] = []
    for rows in people.values():
        per_municipality: dict[int, list[Employment]] = defaultdict(list)
        for row in rows:
            per_municipality[row.municipality].append(row)
        for municipality, own_rows in per_municipality.items():
            for chain in _chains(own_rows, gap_days):
                spell = _spell(chain)
                if members is not None and municipality in members and spell.end is not None:
                    end = spell.end
                    moved = any(
                        other.municipality != municipality
                        and other.municipality in members
                        and (other.start - end).days <= gap_days
                        and (other.end is None or other.end > end)
                        for other in rows
                    )
                    if moved:
                        spell = replace(spell, moved_within=True)
                spells.append(spell)
    return _sorted(spells)


def partnership_spells(
    employments: Iterable[Employment],
    members: set[int],
    gap_days: int = GAP_DAYS,
) -> list[Spell]:
    """Continuous stays within the partnership: only employments in member municipalities,
    chained across any of them when the gap is at most `gap_days` (ends in Slagelse on
    31 March, starts in Sorø on 15 April: one spell, kept by the partnership).

    The spell's municipality is where it began; if two employments start the same day in
    different municipalities, the lower municipality id is taken. A move to a municipality
    outside the partnership ends the spell."""
    people = _by_person(e for e in employments if e.municipality in members)
    spells = [_spell(chain) for rows in people.values() for chain in _chains(rows, gap_days)]
    return _sorted(spells)


# --- Retention at a mark ----------------------------------------------------------------


@lru_cache(maxsize=65536)  # a pure function called for every spell and mark: cached
def add_months(d: date, months: int) -> date:
    """The same day `months` calendar months later (or earlier when negative), moved back
    to the month's last day when it has no such day: 31 Jan + 1 month = 28 or 29 Feb."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last_day))


@dataclass(frozen=True, slots=True)
class Mark:
    """Retention at `months` after the start. Only spells that have reached the mark date
    by today are eligible; rate is None when none have."""

    months: int
    eligible: int
    stayed: int
    left: int
    rate: float | None


def retention_at(spells: Iterable[Spell], months: int, today: date) -> Mark:
    """Share of hires still employed `months` after their start.

    Eligible: the mark date `add_months(start, months)` is on or before today. Those hired
    too recently are left out; they are not counted as staying. Stayed: `end is None` or
    `end >= mark date` (an end after today is in the future, so they are still employed).
    """
    if months < 0:
        raise ValueError("months must not be negative")
    eligible = stayed = 0
    for spell in spells:
        mark = add_months(spell.start, months)
        if mark > today:
            continue
        eligible += 1
        if spell.end is None or spell.end >= mark:
            stayed += 1
    rate = stayed / eligible if eligible else None
    return Mark(months, eligible, stayed, eligible - stayed, rate)


def retention_marks(
    spells: Iterable[Spell], today: date, marks: Sequence[int] = MARKS
) -> list[Mark]:
    spells = list(spells)
    return [retention_at(spells, months, today) for months in marks]


# --- Kaplan–Meier ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KMStep:
    """One time on the Kaplan–Meier curve: `day` days after the start.

    `at_risk` is the number observed up to at least this day, `events` how many left here
    (their last day worked was day-1), `censored` how many are still employed and were last
    seen on day-1 (today). `survival` is the estimated share still employed on `day`;
    `std_error` its Greenwood standard error, None where undefined (survival fell to 0)."""

    day: int
    at_risk: int
    events: int
    censored: int
    survival: float
    std_error: float | None


def _durations(spells: Iterable[Spell], today: date) -> list[tuple[int, bool]]:
    """(day, left) per spell: left at day `(end - start).days + 1` when the end is on or
    before today; otherwise censored at `(today - start).days + 1`, the first day not yet
    observed. Spells starting after today are left out."""
    durations = []
    for spell in spells:
        if spell.start > today:
            continue
        if spell.end is not None and spell.end <= today:
            durations.append(((spell.end - spell.start).days + 1, True))
        else:
            durations.append(((today - spell.start).days + 1, False))
    return durations


def kaplan_meier(spells: Iterable[Spell], today: date) -> list[KMStep]:
    """The Kaplan–Meier estimate of staying employed, in days since the start (see the
    module docstring for the day conventions).

    At each day t with d leavers and c censored, the number at risk n is everyone whose
    day is t or later, so those censored at t still count as at risk at t (the usual
    convention: a censored person is known to have been employed up to t-1, exactly like a
    leaver at t). S(t) = S(t-1) * (1 - d/n). Greenwood: Var S(t) = S(t)^2 * sum d/(n(n-d)).
    One step per day with a leaver or a censoring, in order."""
    durations = _durations(spells, today)
    events: Counter[int] = Counter(day for day, left in durations if left)
    censored: Counter[int] = Counter(day for day, left in durations if not left)
    at_risk = len(durations)
    # The product telescopes between censorings: with S0 and n0 just after the last day
    # that had a censoring, S(t) = S0 * (number still at risk after t) / n0. Computed that
    # way, S(t) is exactly (n - leavers) / n as long as no one was censored, the same float
    # as the plain share that `retention_at` gives.
    base, base_at_risk = 1.0, at_risk
    greenwood = 0.0
    steps = []
    for day in sorted(events.keys() | censored.keys()):
        d, c = events[day], censored[day]
        # Dividing first keeps the curve non-increasing in floating point, too.
        survival = base * ((at_risk - d) / base_at_risk)
        if d < at_risk:
            greenwood += d / (at_risk * (at_risk - d))
        else:
            greenwood = math.inf  # everyone left: S = 0, no finite variance
        std_error = None if greenwood == math.inf else survival * math.sqrt(greenwood)
        steps.append(KMStep(day, at_risk, d, c, survival, std_error))
        at_risk -= d + c
        if c:
            base, base_at_risk = survival, at_risk
    return steps


def survival_at(steps: Sequence[KMStep], day: int) -> float:
    """The KM curve as a step function: the survival of the last step on or before `day`;
    1.0 before the first step."""
    survival = 1.0
    for step in steps:
        if step.day > day:
            break
        survival = step.survival
    return survival


def at_risk_at(steps: Sequence[KMStep], day: int) -> int:
    """Number at risk on `day` (for the rows under the chart): those observed up to at
    least that day, i.e. with their leaving or censoring day on or after it. Works from the
    steps of `kaplan_meier`, so day 0 gives everyone counted."""
    return sum(step.events + step.censored for step in steps if step.day >= day)


def month_day(months: float) -> int:
    """The KM day used for a whole-month point on the curve: months * 30.4375 (365.25/12),
    rounded half up: 3 → 91, 6 → 183, 12 → 365, 18 → 548, 24 → 731.

    The curve is in days, so it cannot follow calendar months for every start date; for
    calendar-exact figures per mark use `retention_at`."""
    return math.floor(months * DAYS_PER_MONTH + 0.5)


class KMMonth(NamedTuple):
    months: float
    survival: float | None
    at_risk: int


def km_month_table(
    steps: Sequence[KMStep], months: Sequence[float] = KM_TABLE_MONTHS
) -> list[KMMonth]:
    """(months, survival, at_risk) at each month point, read at `month_day(months)`.

    Survival is None where nobody is at risk: past the last observed time (everyone has
    left or was last seen before) the curve says nothing, and an empty group has no curve
    at all. Showing the last value there would claim a share of people no one followed."""
    table = []
    for m in months:
        at_risk = at_risk_at(steps, month_day(m))
        table.append(KMMonth(m, survival_at(steps, month_day(m)) if at_risk else None, at_risk))
    return table


# --- Other figures -----------------------------------------------------------------------


def quarter_of(d: date) -> str:
    """The quarter label, e.g. "2026 K3" (kvartal)."""
    return _("{year} K{quarter}").format(year=d.year, quarter=(d.month - 1) // 3 + 1)


def intake_per_quarter(
    items: Iterable[_HasStart], first: date, last: date
) -> list[tuple[str, int]]:
    """Number of hires per quarter by start date, from the quarter of `first` to the
    quarter of `last`, with 0 for quarters without hires. Whole quarters are counted (the
    dates only pick the quarters); starts outside them are ignored.

    Pass spells, not employments: a renewed contract is not a new hire. Municipality spells
    count a return after a long gap as a new hire; partnership spells do not count a move
    between member municipalities."""
    if last < first:
        raise ValueError("last must not be before first")
    counts: dict[str, int] = {}
    quarter_start = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    while quarter_start <= last:
        counts[quarter_of(quarter_start)] = 0
        quarter_start = add_months(quarter_start, 3)
    for item in items:
        label = quarter_of(item.start)
        if label in counts:
            counts[label] += 1
    return list(counts.items())


class Share(NamedTuple):
    eligible: int
    yes: int
    rate: float | None


def share_within(hires: Iterable[tuple[date, date | None]], months: int, today: date) -> Share:
    """Share of new hires enrolled within `months` calendar months of starting.

    Each hire is (start, first enrolled on or None). Yes: enrolled on or before
    `add_months(start, months)` (an enrolment before the start counts too). Eligible: the
    window has closed (its last day is on or before today), or the hire is already a yes;
    hires whose window is still open and who are not yet enrolled are left out."""
    eligible = yes = 0
    for start, enrolled_on in hires:
        deadline = add_months(start, months)
        hit = enrolled_on is not None and enrolled_on <= deadline
        if hit or deadline <= today:
            eligible += 1
            yes += hit
    return Share(eligible, yes, yes / eligible if eligible else None)


@dataclass(frozen=True, slots=True)
class Enrolment:
    employment_start: date
    enrolled_on: date
    completed_on: date | None
    withdrawn: bool
    cohort_ended: bool


@dataclass(frozen=True, slots=True)
class Completion:
    """`counted` enrolments are those in ended cohorts; `ongoing` are left out."""

    counted: int
    completed: int
    withdrawn: int
    not_completed: int  # cohort ended, neither completed nor withdrawn
    ongoing: int
    rate: float | None
    median_days_to_completion: float | None


def completion(enrolments: Iterable[Enrolment]) -> Completion:
    """Completion rate = completed / (completed + withdrawn + not completed), counting only
    enrolments whose cohort has ended. Enrolments in ongoing cohorts are left out entirely,
    completed or withdrawn ones too: withdrawals come early in a cohort and completions at
    its end, so counting the settled part of a running cohort would bias the rate.

    Median days from the employment start to completion, over the completed enrolments
    counted; None if there are none."""
    completed = withdrawn = not_completed = ongoing = 0
    days: list[int] = []
    for enrolment in enrolments:
        if enrolment.withdrawn and enrolment.completed_on is not None:
            raise Invalid({"withdrawn": _("Et afmeldt forløb kan ikke også være gennemført.")})
        if not enrolment.cohort_ended:
            ongoing += 1
        elif enrolment.completed_on is not None:
            completed += 1
            days.append((enrolment.completed_on - enrolment.employment_start).days)
        elif enrolment.withdrawn:
            withdrawn += 1
        else:
            not_completed += 1
    counted = completed + withdrawn + not_completed
    return Completion(
        counted=counted,
        completed=completed,
        withdrawn=withdrawn,
        not_completed=not_completed,
        ongoing=ongoing,
        rate=completed / counted if counted else None,
        median_days_to_completion=statistics.median(days) if days else None,
    )


def attendance_rate(present: int, absent: int, excused: int) -> float | None:
    """present / (present + absent). Excused absence (godkendt fravær) counts as neither:
    it is not held against the person and not counted as attendance. None with nothing
    to count."""
    if min(present, absent, excused) < 0:
        raise ValueError("counts must not be negative")
    counted = present + absent
    return present / counted if counted else None


def leaver_label(spell: Spell) -> str | None:
    """What to show for how a spell ended: a move to another member municipality, else the
    end reason; None while employed or without a reason."""
    if spell.end is None:
        return None
    if spell.moved_within:
        return MOVED_WITHIN
    return END_REASONS.get(spell.end_reason) if spell.end_reason else None


# --- Suppression -------------------------------------------------------------------------


def group_hidden(total: int, own_part: int) -> bool:
    """A group (e.g. a partnership-wide split "job function = X") mixing the viewer's own
    people and others is hidden when the others in it, `total - own_part`, number 1 to 4:
    the viewer knows their own part, so the rest could be worked out by subtraction.
    No others (only own people) is fine, and so are 5 or more."""
    if not 0 <= own_part <= total:
        raise ValueError("own_part must be between 0 and total")
    return 0 < total - own_part < MIN_GROUP


@dataclass(frozen=True, slots=True)
class Hidden(Generic[K]):
    """What to hide in a table: these cells (municipalities, or split groups), and the
    margin (the partnership total) too when `total` is True."""

    municipalities: frozenset[K]
    total: bool


def suppress(others: Mapping[K, int], margin_shown: bool = True, *, margin_kept_hidden: bool = False) -> Hidden[K]:
    """Primary and complementary (secondary) suppression of one table of counts and its
    margin, for a viewer who knows their own part of every cell.

    `others` is, per cell, how many of the people in it are not the viewer's own (the
    rest of the cell the viewer can subtract). The table's cells partition a population
    whose total (the margin) is shown when `margin_shown`.

    1. Primary: every cell with 1 to 4 others is hidden.
    2. Complementary, when the margin is shown: the viewer can compute margin − shown
       cells, the sum of the hidden cells. That sum must not be a group of 1 to 4 either.
       When it is, the cell with the fewest others that is not hidden and has others in it
       (hiding one with none adds nobody to the sum) is hidden too; it has at least 5, so
       one is always enough. If there is none, the margin must be hidden instead
       (`Hidden.total`).

    3. When the margin is published but hidden (`margin_kept_hidden`: another table of
       the same population had to hide it), the cells must not add up to it: if no cell
       with others in it is hidden, the one with the fewest others is hidden too. (The
       disclosure auditor found a hidden partnership total that every split by a single
       group showed again as its one row.)

    Because every published table of others' people is a one-way table of the same
    population for the same fixed period (see `intro.insight.dashboard`), moving a person between
    two hidden cells of one table changes no other figure: each hidden cell can then be
    anything from 0 to the hidden sum, which is 0 or at least 5. Ties go to the cell that
    sorts first (by count, then by key as text). Counts must not be negative."""
    if any(n < 0 for n in others.values()):
        raise ValueError("counts must not be negative")
    hidden = {k for k, n in others.items() if 0 < n < MIN_GROUP}
    if margin_kept_hidden:
        if not any(others[k] for k in hidden):
            candidates = sorted((n, str(k), k) for k, n in others.items() if n > 0)
            if candidates:
                hidden.add(candidates[0][2])
        return Hidden(frozenset(hidden), True)
    if not margin_shown:
        return Hidden(frozenset(hidden), False)
    hide_total = False
    if 0 < sum(others[k] for k in hidden) < MIN_GROUP:
        candidates = sorted((n, str(k), k) for k, n in others.items() if k not in hidden and n > 0)
        if candidates:
            hidden.add(candidates[0][2])
        else:
            hide_total = True
    return Hidden(frozenset(hidden), hide_total)


def hide_municipalities(
    counts: dict[int, int], own: set[int], total_shown: bool = True, *, total_kept_hidden: bool = False
) -> Hidden[int]:
    """Which cells of a table of member municipalities (own included) and a partnership
    total to hide for a viewer from `own`: `suppress` with the own municipalities' cells
    counted as having no others (the viewer sees them in detail anyway, so they are never
    hidden and cannot serve as the complementary cell). With `total_kept_hidden` the total
    is hidden by another table and the cells must not give it away (`suppress`, rule 3).
    Ties between equal counts go to the lower id."""
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts must not be negative")
    others = {m: (0 if m in own else n) for m, n in counts.items()}
    # Ties by id, not by id as text: keys are padded so "400" sorts after "99".
    hidden = suppress({_IdKey(m): n for m, n in others.items()}, total_shown, margin_kept_hidden=total_kept_hidden)
    return Hidden(frozenset(k.id for k in hidden.municipalities), hidden.total)


@dataclass(frozen=True, slots=True)
class _IdKey:
    id: int

    def __str__(self) -> str:
        return f"{self.id:020d}"
