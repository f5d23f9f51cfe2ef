"""An independent disclosure auditor for the chiefs' dashboard, as a determined reader
would attack it: collect every figure a chief can see over every filter value, write the
linear relations between them, and bound every hidden figure with integer linear
programming (scipy's HiGHS through `scipy.optimize.milp`).

What a figure counts. The unknowns are *other* people's spells (`retention`'s spell rules,
which define the figures; people move between member municipalities):

- a partnership spell (the partnership counts a mover once, from where it began) is also
  the municipality spell that starts it, so it counts in that member's row;
- a continuation: a member's spell that continues a partnership spell begun elsewhere
  (also in the own municipality). It counts only in that member's row.

Each spell carries its classification (municipality where it began, start year, cohort,
job function, profile) and its outcomes: completed intro and the person's enrolments
counted for completion and of them completed; enrolled within 3 months (not yet due /
yes / no, against the spell's own start); for each retention mark (6, 12, 24 months) not
yet reached / stayed / left, once for the member's spell and once for the partnership's
(they differ for movers); the person's attendance marks present and absent.

The chief's own people are known to the reader (they see them by name), so each figure that
includes them is turned into a figure about the others by subtracting them.

Relations:
- every shown count is an equation: the sum over the spells its definition covers equals
  the shown value minus the own part;
- every shown rate p (to 0.1 % in the XLSX export, the finest a reader gets) of a
  numerator a over a basis b — completion (completed / counted enrolments), enrolled
  within 3 months (yes / due), retention at each mark (stayed / reached the mark),
  attendance (present / present + absent marks) — gives two linear inequalities
  100·a ≥ (p − 0.05)·b and 100·a ≤ (p + 0.05)·b, and b ≥ 1. Both a and b are linear in
  the unknowns (own parts moved to the right-hand side), so this is linear even though
  neither is shown: the percentage is known, not a variable. A rate shown as "–"
  (nobody in its basis) gives b = 0;
- a hidden count is bounded; a hidden rate makes its basis, its numerator and the rest
  (basis − numerator: those who did not) hidden counts to bound. The numerator and the
  rest are the groups a rate tells about and fail like head counts; a basis fails only
  when it lies within 1–4 (one of 5 or more pinned, such as everyone hired long enough
  ago, tells no small group while its parts stay open). A shown rate's numerator and
  rest are bounded too and fail when they lie within 1–4 (80 % of 5 tells that 1 left);
  pinned at 5 or more they are what a shown rate is meant to tell.

The definition of a figure is read from the table it is in (comparison by municipality,
partnership splits by cohort / job / profile / completion, the partnership's "at risk at 0
months") and from the scope the dashboard says those figures have (`Dashboard.others_scope`);
before using a shown figure the auditor checks that its own count under that definition
gives exactly the shown value (a rate: lies in its rounding interval), so a wrong scope
cannot hide a leak.

The formulation (exact, and small). Figures about others are one-way tables of one
population per fixed reporting period: by municipality, or by one of cohort / job /
profile. The periods do not overlap, so each period is its own program. Within a period,
for every outcome vector o, let x[V, c, o] be the number of others' partnership spells in
category c of variable V with outcome o. A reader who knows only the one-way tables cannot
tell apart two populations with the same x: for each o, any one-way margins with the same
total are the margins of some cross-classified table (fill it in north-west-corner order),
and each variable's allowed categories for o (completion only in ended cohorts) form a
product. So the unknowns are x[V, c, o] ≥ 0, integer, tied by Σ_c x[V, c, o] equal for
every V (the same spells), plus k[m, o'] for continuations, which only the member rows
see. That is a few thousand unknowns for the demo instead of the product of every
classification with every outcome.

The proof, per hidden figure with true value v (others' part). A hidden figure fails when
its feasible range is a single value above 0, or lies within 1–4 (the reader learns that a
group of 1–4 exists). It passes when the auditor finds an integer solution of all
relations (a population the reader cannot rule out) whose value is ≠ v and, if 1 ≤ v ≤ 4,
0 or ≥ 5: then the range holds v and that value, so it is neither a single value nor
within 1–4. Each witness is checked against every relation in exact integers (rates to
1e-6) before it counts. Only when no witness exists (HiGHS proves the program
infeasible) are the range's ends computed, for the report. A hidden figure with v = 0 can never
fail: pinned, it says that no other people are in the figure, which the dashboard shows
openly everywhere (a cell with no others is never hidden). Such a figure gets only the
cheap searches; without a witness it is reported apart (`Audit.pinned_zero`). A program HiGHS does not settle within `TIME_LIMIT` counts as a
finding (`Finding.undecided`), so a slow case can never pass unseen.

Witnesses are sought cheaply first (`_walk`: moving the data's spells between hidden rows
of one table, keeping every relation), then by HiGHS with only the hidden rows' unknowns
free, then over the whole program; every witness is checked the same way.

One program per period and pair of rates. Each program holds every head count and two
kinds of rate's relations over the same spells, with an unknown for every combination of
the two rates' outcomes (each rate's outcomes as below; their combinations are not
restricted to those that occur, which would tell the reader each person's outcomes and
find leaks no reader can use). Every hidden figure, head counts included, is proven in
every program it occurs in, so no hidden figure can be pinned by a reader who combines
the head counts with any two kinds of rate (completion 33.3 % and retention 25 % of the
same people, say), over every table and view; a pair's witness also answers each rate
alone. Attendance is the exception: its outcome (present and absent course days) has so
many values that its pairs are programs of thousands of unknowns (minutes per period on
the demo), so it has a program of its own (`ALONE`): proven against a reader using
attendance with the head counts, not attendance together with another rate. Not proven:
three or more kinds of rate at once (`audit(together=...)` builds such programs; with
every combination of outcomes they grow as the product of the rates' outcome counts:
420 outcome vectors for the five rates besides attendance on the tempting partnership,
and `together=3` did not finish there in 5 minutes, against 18 s for pairs).

Each rate's outcomes: for enrolled within 3 months and the retention marks, every
outcome a spell can have (`_with_possible`), since a reader does not know which occur
among the others (allowing only those that occur pinned the hidden "stayed" of a
partnership where nobody happened to leave). For completion and attendance, whose
outcomes are counts of enrolments and course days, only those that occur (among anyone's
spells, any year): there the auditor errs on the side of finding too much, as a reader
told that much can only narrow the ranges further. Combinations of two rates' outcomes
are all allowed.

Not covered: the curve's survival percentages (a product over event times, not linear)
and its numbers at risk after 0 months (rounded to 5, on the follow-up time of each
spell, which is not an outcome here). A
person with two spells in one group counts once in the person-based rates (completion,
attendance) but twice among the spells: such a rate is left out (`Audit.rates_left_out`).
Cross-classified tables of others (a figure narrowed by the cohort or job filter) are not
one-way: the auditor refuses them (`NotOneWay`) rather than pass them unproven.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from intro.insight import dashboard
from intro.insight import retention as r
from intro.insight.dashboard import ENROLLED_WITHIN_MONTHS, Filters, Loaded, PersonFacts

NOT_ENROLLED = "Ikke tilmeldt hold"  # the row label as the page shows it
DEBUG = bool(__import__("os").environ.get("AUDIT_DEBUG"))
TIME_LIMIT = 60.0  # seconds HiGHS may take on one program before the figure counts as a finding

NOT_DUE, YES, NO = 0, 1, 2  # enrolled within 3 months
NOT_REACHED, STAYED, LEFT = 0, 1, 2  # each retention mark


class NotOneWay(Exception):
    """A figure about others narrowed by the cohort or job filter: not a one-way table."""


@dataclass(frozen=True)
class Person:
    """One spell (see the module docstring)."""

    municipality: int
    year: int
    cohort: int | None
    job: str
    profile: str | None
    completed: bool
    counted: int = 0  # the person's enrolments counted for completion (cohort ended)
    done: int = 0  # of them completed
    continuation: bool = False  # a member's spell continuing a partnership spell begun elsewhere
    enrolled: int = NOT_DUE  # enrolled within 3 months of this spell's start
    marks: tuple[int, ...] = ()  # per r.MARKS, the member's spell
    partnership_marks: tuple[int, ...] = ()  # per r.MARKS, the partnership's spell
    present: int = 0  # the person's attendance marks
    absent: int = 0

    def core(self, kind: str) -> tuple:
        """What the figures of one rate (a key of RATES) read of a spell besides its
        classification and whether the intro was completed."""
        if kind == "completed":
            return (self.counted, self.done)
        if kind == "enrolled":
            return (self.enrolled,)
        if kind == "attendance":
            return (self.present, self.absent)
        i = r.MARKS.index(int(kind.removeprefix("retention_")))
        return (self.marks[i],) if self.continuation else (self.marks[i], self.partnership_marks[i])

    def joint(self, kinds: tuple[str, ...]) -> tuple:
        """The outcome of a spell for a program over several rates: completed (for a
        partnership spell) and each rate's `core`."""
        cores = tuple(self.core(kind) for kind in kinds)
        return cores if self.continuation else (self.completed, *cores)

    def taking(self, kind: str, other: Person) -> Person:
        """This spell with one rate's outcome taken from another spell (for an outcome
        combination no single spell has)."""
        if kind == "completed":
            return replace(self, counted=other.counted, done=other.done)
        if kind == "enrolled":
            return replace(self, enrolled=other.enrolled)
        if kind == "attendance":
            return replace(self, present=other.present, absent=other.absent)
        i = r.MARKS.index(int(kind.removeprefix("retention_")))
        return replace(self, marks=self.marks[:i] + other.marks[i:i + 1] + self.marks[i + 1:],
                       partnership_marks=self.partnership_marks[:i] + other.partnership_marks[i:i + 1]
                       + self.partnership_marks[i + 1:])


@dataclass(frozen=True)
class Definition:
    """Which people a figure counts: a predicate over people, kept as data so equal
    figures from different views are one relation."""

    municipalities: frozenset[int] | None  # None = all members
    years: tuple[int, int]
    cohort: int | None  # a cohort filter (None = all)
    job: str | None  # a job function filter (None = all)
    split: tuple[str, str] | None  # (variable, label) of a split row

    def covers(self, p: Person, loaded: Loaded) -> bool:
        if self.municipalities is None and p.continuation:
            return False  # the partnership counts a mover once, where they began
        if self.municipalities is not None and p.municipality not in self.municipalities:
            return False
        if not self.years[0] <= p.year <= self.years[1]:
            return False
        if self.cohort is not None and p.cohort != self.cohort:
            return False
        if self.job is not None and p.job != self.job:
            return False
        if self.split is None:
            return True
        variable, label = self.split
        return _label(p, variable, loaded) == label


def _label(p: Person, variable: str, loaded: Loaded) -> str:
    if variable == "hold":
        return loaded.cohorts[p.cohort]["name"] if p.cohort else NOT_ENROLLED
    if variable == "stilling":
        return p.job or "Ukendt"
    if variable == "fagprofil":
        return loaded.profiles.get(p.profile or "", "Basisprofil alene")
    return "Gennemført" if p.completed else "Ikke gennemført"


SPLITS = {"efter hold": "hold", "efter stilling": "stilling", "efter fagprofil": "fagprofil", "efter gennemført": "gennemført"}


# --- What each figure counts: a weight per spell, at member or partnership level ------


def _mark(p: Person, partnership: bool, i: int) -> int:
    return (p.partnership_marks if partnership else p.marks)[i]


WEIGHTS = {
    "hires": lambda p, pl: 1,
    "counted": lambda p, pl: p.counted,
    "done": lambda p, pl: p.done,
    "not done": lambda p, pl: p.counted - p.done,
    "enrolled due": lambda p, pl: int(p.enrolled != NOT_DUE),
    "enrolled yes": lambda p, pl: int(p.enrolled == YES),
    "enrolled no": lambda p, pl: int(p.enrolled == NO),
    "present": lambda p, pl: p.present,
    "marked": lambda p, pl: p.present + p.absent,
    **{
        name: fn
        for i, m in enumerate(r.MARKS)
        for name, fn in (
            (f"reached {m}", lambda p, pl, i=i: int(_mark(p, pl, i) != NOT_REACHED)),
            (f"stayed {m}", lambda p, pl, i=i: int(_mark(p, pl, i) == STAYED)),
            (f"left {m}", lambda p, pl, i=i: int(_mark(p, pl, i) == LEFT)),
        )
    },
}

# Each rate column of dashboard.COLUMNS: (numerator, basis, rest or None, counted per person?)
RATES = {
    "completed": ("done", "counted", "not done", True),
    "enrolled": ("enrolled yes", "enrolled due", "enrolled no", False),
    "attendance": ("present", "marked", None, True),
    **{f"retention_{m}": (f"stayed {m}", f"reached {m}", f"left {m}", False) for m in r.MARKS},
}


# The rates whose inequalities the auditor writes, each in its own program per period
# (see the module docstring); the first also bounds the hidden head counts.
AUDITED_RATES = ("completed", "enrolled", "attendance", *(f"retention_{m}" for m in r.MARKS))
# Rates audited in a program of their own, not combined with another: attendance's
# outcome (present and absent course days) has so many values that its combinations with
# another rate's make programs of thousands of unknowns (minutes per period on the demo).
ALONE = ("attendance",)
# Which program a measure belongs to (head counts are in every one).
KIND = {measure: key for key, parts in RATES.items() for measure in parts[:3] if measure}
BASES = {basis for _numerator, basis, _rest, _per_person in RATES.values()}


def people_of(loaded: Loaded) -> list[Person]:
    """The spells of the data (see `spells_of`), without whose they are."""
    return [unit for _person, unit in spells_of(loaded)]


def _marks(spell: r.Spell, today) -> tuple[int, ...]:
    return tuple(
        NOT_REACHED if not m.eligible else (STAYED if m.stayed else LEFT)
        for m in r.retention_marks([spell], today)
    )


def _enrolled(start, f: PersonFacts, today) -> int:
    share = r.share_within([(start, f.first_enrolled)], ENROLLED_WITHIN_MONTHS, today)
    return NOT_DUE if not share.eligible else (YES if share.yes else NO)


def spells_of(loaded: Loaded) -> list[tuple[int, Person]]:
    """(person id, spell): the spells of the data as the figures count them (`retention`'s
    rules): one partnership spell per stay in the partnership, and a continuation for
    every member's spell that goes on from a partnership spell begun elsewhere. Spells not
    started yet are in no figure."""
    today = loaded.today
    rows = [r.Employment(e["person"], e["municipality"], e["start_date"], e["end_date"], e["end_reason"])
            for e in loaded.employments]
    members = set(loaded.municipalities)
    by_start = {(e["person"], e["municipality"], e["start_date"]): e for e in loaded.employments}
    member_spells = {(s.person, s.municipality, s.start): s for s in r.municipality_spells(rows, members)}
    out = []
    starts = set()
    for spell in r.partnership_spells(rows, members):
        if spell.start > today:
            continue
        key = (spell.person, spell.municipality, spell.start)
        starts.add(key)
        e = by_start[key]
        f = loaded.facts.get(spell.person, PersonFacts())
        counted, done = _completion_counts(f)
        out.append((spell.person, Person(
            spell.municipality, spell.start.year, f.cohort, e["job_function"], e["profile_code"], f.completed,
            counted, done, False, _enrolled(spell.start, f, today), _marks(member_spells[key], today),
            _marks(spell, today), f.present, f.absent,
        )))
    for key, spell in member_spells.items():
        if spell.start > today or key in starts:
            continue
        f = loaded.facts.get(spell.person, PersonFacts())
        counted, done = _completion_counts(f)
        marks = _marks(spell, today)
        out.append((spell.person, Person(
            spell.municipality, spell.start.year, None, "", None, False, counted, done, True,
            _enrolled(spell.start, f, today), marks, marks, f.present, f.absent,
        )))
    return out


def _completion_counts(f: PersonFacts) -> tuple[int, int]:
    completion = r.completion(f.enrolments)
    return completion.counted, completion.completed


def views(loaded: Loaded) -> list[Filters]:
    """Every filter value a chief can choose: each year range, each cohort, each job."""
    f = loaded.filters
    board = dashboard.build(loaded)
    years = board.years
    out = []
    for year_from, year_to in itertools.combinations_with_replacement(years, 2):
        for cohort in [None, *[cid for cid, _name in board.cohorts]]:
            for job in [None, *board.job_functions]:
                out.append(replace(f, year_from=year_from, year_to=year_to, cohort=cohort, job_function=job))
    return out


@dataclass
class Finding:
    definition: Definition
    measure: str  # a key of WEIGHTS
    low: int
    high: int
    views: int
    undecided: bool = False  # HiGHS did not settle it within TIME_LIMIT


@dataclass
class Audit:
    shown: int  # shown counts (equations)
    hidden: int  # hidden counts bounded
    findings: list[Finding]
    rates: int = 0  # shown rates used (two inequalities each)
    rates_left_out: int = 0  # rates the spells cannot state (a person twice in one group)
    # Hidden figures whose others' part is 0 and for which the cheap searches found no
    # population with 1 or more: never findings, whatever the whole program would say (a
    # figure with no others shows no group of 1-4; the product shows such cells openly),
    # so the whole program is not asked for them.
    pinned_zero: list[Finding] = field(default_factory=list)
    rates_by_column: dict[str, int] = field(default_factory=dict)
    rates_not_audited: int = 0  # shown rates of columns not in AUDITED_RATES
    unknowns: int = 0  # integer unknowns over all periods' programs
    programs: int = 0  # integer programs solved
    seconds: float = 0.0  # time in the solver


RATE_HALF_INTERVAL = 0.05  # the XLSX export gives the rate in per cent to 0.1


def _figures(board, view: Filters, loaded: Loaded):
    """(definition, column key, cell) of every figure about others: "hires" with an int
    or None (hidden); a rate column with the rate in per cent, None when hidden, or
    "empty" when shown as "–" (nobody in its basis)."""
    scope = board.others_scope
    years = (scope.year_from, scope.year_to)
    own = view.municipality
    keys = {heading: key for key, heading, _b, _f in dashboard.COLUMNS}

    def value(key, cell):
        if cell.hidden:
            return None
        if key == "hires":
            return int(cell.value)
        return "empty" if cell.value is None else float(cell.value)

    table = board.comparison
    for row in table.rows:
        if row.municipality == own:
            continue
        members = frozenset({row.municipality}) if row.municipality is not None else None
        definition = Definition(members, years, None, None, None)
        for heading, cell in zip(table.headings[1:], row.cells, strict=True):
            yield definition, keys[heading], value(keys[heading], cell)
    for table in board.partnership_splits:
        variable = next(v for key, v in SPLITS.items() if key in table.caption)
        for row in table.rows:
            definition = Definition(None, years, None, None, (variable, row.label))
            for heading, cell in zip(table.headings[1:], row.cells, strict=True):
                yield definition, keys[heading], value(keys[heading], cell)
    curve = board.curves[1]
    if not curve.hidden and curve.table:
        months, _survival, at_risk = curve.table[0]
        assert months == 0
        if not at_risk.hidden and at_risk.value is not None:
            yield Definition(None, years, None, None, None), "hires", int(at_risk.value)


# Every outcome a spell can have at a retention mark, (member's, partnership's): both
# spells start on the same day, so both reach a mark or neither; one who stayed in the
# member's spell stayed in the partnership; one who left the member may have moved on.
_MARK_OUTCOMES = ((NOT_REACHED, NOT_REACHED), (STAYED, STAYED), (LEFT, STAYED), (LEFT, LEFT))


def _with_possible(kind: str, occurring: dict[tuple, Person]) -> dict[tuple, Person]:
    """`occurring` (core → a spell with it) with every other outcome a spell can have for
    the rates whose outcomes are few and all possible for anyone: enrolled within 3
    months and each retention mark. A reader does not know which outcomes occur among
    the others, so an auditor that allowed only those would pin figures no reader can
    (a partnership where nobody happened to leave had its hidden "stayed" pinned at all
    of them). Completion and attendance keep the outcomes that occur: their values are
    counts of enrolments and course days, too many to list."""
    if not occurring or kind in ("completed", "attendance"):
        return occurring
    some = next(iter(occurring.values()))
    out = dict(occurring)
    if kind == "enrolled":
        for value in (NOT_DUE, YES, NO):
            out.setdefault((value,), replace(some, enrolled=value))
        return out
    n = len(r.MARKS)
    if some.continuation:
        for value in (NOT_REACHED, STAYED, LEFT):
            out.setdefault((value,), replace(some, marks=(value,) * n, partnership_marks=(value,) * n))
    else:
        for member, partnership in _MARK_OUTCOMES:
            out.setdefault((member, partnership), replace(some, marks=(member,) * n, partnership_marks=(partnership,) * n))
    return out


class _Program:
    """The integer program of one reporting period (see the module docstring)."""

    def __init__(self, loaded: Loaded, own: int, period: tuple[int, int], spells: list[Person],
                 variables: set[str], kinds: tuple[str, ...]):
        self.loaded = loaded
        inside = [p for p in spells if period[0] <= p.year <= period[1]]
        starts = [p for p in inside if not p.continuation]
        # Each rate's outcomes that occur (any spell, any year; a continuation with any
        # person's outcome), and every combination of them across the program's rates,
        # whether or not a spell has it, each with a spell to read its weights from.
        self.outcomes = {}
        for completed in (False, True):
            each = [_with_possible(kind, {p.core(kind): p for p in spells
                                          if not p.continuation and p.completed == completed})
                    for kind in kinds]
            for combination in itertools.product(*(d.items() for d in each)):
                spell = combination[0][1]
                for kind, (_core, other) in zip(kinds[1:], combination[1:], strict=True):
                    spell = spell.taking(kind, other)
                self.outcomes[spell.joint(kinds)] = spell
        goes_on = [replace(p, continuation=True) for p in spells]
        each = [_with_possible(kind, {p.core(kind): p for p in goes_on}) for kind in kinds]
        self.continued = {}
        for combination in itertools.product(*(d.items() for d in each)):
            spell = combination[0][1]
            for kind, (_core, other) in zip(kinds[1:], combination[1:], strict=True):
                spell = spell.taking(kind, other)
            self.continued[spell.joint(kinds)] = spell
        others = sorted(m for m in loaded.municipalities if m != own)
        ended = {c["name"] for c in loaded.cohorts.values() if c["ended"]}
        self.categories = {
            "kommune": others,
            "hold": sorted({c["name"] for c in loaded.cohorts.values()} | {NOT_ENROLLED}),
            "stilling": sorted({p.job or "Ukendt" for p in starts}),
            "fagprofil": sorted({_label(p, "fagprofil", loaded) for p in starts}),
            "gennemført": ["Gennemført", "Ikke gennemført"],
        }

        def allowed(variable: str, category, o: tuple) -> bool:
            completed = o[0]
            if variable == "hold" and completed:
                return category in ended  # only an ended cohort's people have completed it
            if variable == "gennemført":
                return category == ("Gennemført" if completed else "Ikke gennemført")
            return True

        self.index: dict[tuple, int] = {}
        for variable in ["kommune", *sorted(variables)]:
            for category in self.categories[variable]:
                for o in self.outcomes:
                    if allowed(variable, category, o):
                        self.index[(variable, category, o)] = len(self.index)
        for m in others:
            for o in self.continued:
                self.index[("fortsat", m, o)] = len(self.index)
        self.n = len(self.index)
        self.variables = ["kommune", *sorted(variables)]
        # The same spells in every one-way table: Σ_c x[V, c, o] = Σ_c x[kommune, c, o].
        self.rows: list[dict[int, float]] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        for variable in self.variables[1:]:
            for o in self.outcomes:
                row: dict[int, float] = defaultdict(float)
                for category in self.categories[variable]:
                    if (variable, category, o) in self.index:
                        row[self.index[(variable, category, o)]] += 1
                for m in others:
                    row[self.index[("kommune", m, o)]] -= 1
                self._add(row, 0, 0)
        # The truth: the others' spells, as the unknowns count them.
        self.truth = np.zeros(self.n)
        for p in inside:
            if p.municipality == own:
                continue
            if p.continuation:
                self.truth[self.index[("fortsat", p.municipality, p.joint(kinds))]] += 1
                continue
            for variable in self.variables:
                category = p.municipality if variable == "kommune" else _label(p, variable, loaded)
                self.truth[self.index[(variable, category, p.joint(kinds))]] += 1

    def _add(self, row: dict[int, float], low: float, high: float) -> None:
        self.rows.append(row)
        self.lower.append(low)
        self.upper.append(high)

    def expression(self, definition: Definition, measure: str) -> dict[int, float]:
        """The others' part of a figure as a linear expression over the unknowns."""
        weight = WEIGHTS[measure]
        row: dict[int, float] = defaultdict(float)
        if definition.municipalities is not None:
            for m in definition.municipalities:
                for o, p in self.outcomes.items():
                    if (w := weight(p, False)) and ("kommune", m, o) in self.index:
                        row[self.index[("kommune", m, o)]] += w
                for o, p in self.continued.items():
                    if (w := weight(p, False)) and ("fortsat", m, o) in self.index:
                        row[self.index[("fortsat", m, o)]] += w
            return row
        if definition.split is None:
            variable, categories = "kommune", self.categories["kommune"]
        else:
            variable, label = definition.split
            categories = [label]
        for category in categories:
            for o, p in self.outcomes.items():
                if (w := weight(p, True)) and (variable, category, o) in self.index:
                    row[self.index[(variable, category, o)]] += w
        return row

    def equal(self, definition: Definition, measure: str, value: float) -> None:
        self._add(self.expression(definition, measure), value, value)

    def rate(self, definition: Definition, numerator: str, basis: str, p: float,
             own_a: float, own_b: float) -> None:
        a, b = self.expression(definition, numerator), self.expression(definition, basis)
        high, low = p + RATE_HALF_INTERVAL, p - RATE_HALF_INTERVAL
        for bound, (lo, hi) in ((high, (-np.inf, None)), (low, (None, np.inf))):
            row: dict[int, float] = defaultdict(float)
            for j, w in a.items():
                row[j] += 100 * w
            for j, w in b.items():
                row[j] -= bound * w
            rhs = bound * own_b - 100 * own_a  # 100·(own_a + A) vs bound·(own_b + B)
            self._add(row, rhs if lo is None else lo, rhs if hi is None else hi)
        self._add(b, 1 - own_b, np.inf)  # somebody is in the basis, or the rate would be "–"

    def matrix(self):
        data, cols, ptr = [], [], [0]
        for row in self.rows:
            for j, w in row.items():
                cols.append(j)
                data.append(w)
            ptr.append(len(cols))
        return csr_array((np.array(data, dtype=float), np.array(cols, dtype=int), np.array(ptr)),
                         shape=(len(self.rows), self.n))

    def check(self, x: np.ndarray, a, lower, upper, tolerance: float = 1e-6) -> bool:
        values = a @ x
        return bool(np.all(values >= lower - tolerance) and np.all(values <= upper + tolerance))


def _walk(program: _Program, dense: np.ndarray, lower: np.ndarray, upper: np.ndarray, c: np.ndarray,
          wanted: tuple[float, float], rows: dict[str, set], steps: int = 6) -> np.ndarray | None:
    """A witness by moving the data's spells between hidden rows of one table: each step
    moves one spell from category c1 to c2 of a variable, alone or swapped with one the
    other way, keeping every relation; until the figure's value lies in `wanted`. Returns
    the solution, or None (then the integer program decides)."""
    x = program.truth.copy()
    low, high = wanted
    tolerance = 1e-6
    for _step in range(steps):
        value = float(c @ x)
        if low - 1e-9 <= value <= high + 1e-9:
            return x
        up = value < low
        base = dense @ x
        best = None
        for variable, categories in rows.items():
            for c1, c2 in itertools.permutations(sorted(categories, key=str), 2):
                pairs = [(program.index[(variable, c1, o)], program.index[(variable, c2, o)])
                         for o in program.outcomes
                         if (variable, c1, o) in program.index and (variable, c2, o) in program.index]
                if not pairs:
                    continue
                out_of = np.array([f for f, _t in pairs])
                into = np.array([t for _f, t in pairs])
                effect = dense[:, into] - dense[:, out_of]  # one spell c1 -> c2, per outcome
                gain = c[into] - c[out_of]
                can_leave = x[out_of] >= 1  # a spell of that outcome in c1
                can_return = x[into] >= 1  # one in c2, for the swap back
                # Alone: base + effect[:, o]; swapped: base + effect[:, o1] - effect[:, o2].
                alone = np.all((base[:, None] + effect >= lower[:, None] - tolerance)
                               & (base[:, None] + effect <= upper[:, None] + tolerance), axis=0) & can_leave
                total = base[:, None, None] + effect[:, :, None] - effect[:, None, :]
                swapped = np.all((total >= lower[:, None, None] - tolerance)
                                 & (total <= upper[:, None, None] + tolerance), axis=0)
                swapped &= can_leave[:, None] & can_return[None, :]
                swap_gain = gain[:, None] - gain[None, :]
                for ok, g, kind in ((alone, gain, "alone"), (swapped, swap_gain, "swap")):
                    score = np.where(ok, g if up else -g, -np.inf)
                    if score.size and score.max() > 0 and (best is None or score.max() > best[0]):
                        at = np.unravel_index(int(score.argmax()), score.shape)
                        best = (float(score.max()), kind, out_of, into, at)
        if best is None:
            return None
        _score, kind, out_of, into, at = best
        x[out_of[at[0]]] -= 1
        x[into[at[0]]] += 1
        if kind == "swap":
            x[into[at[1]]] -= 1
            x[out_of[at[1]]] += 1
    value = float(c @ x)
    return x if low - 1e-9 <= value <= high + 1e-9 else None


def _hidden_measures(key: str, rates: bool) -> tuple[str, ...]:
    """The counts a hidden figure stands for: a head count, or a rate's basis,
    numerator and rest (none for attendance, which is about course days)."""
    if key == "hires":
        return ("hires",)
    numerator, basis, rest, _per_person = RATES[key]
    return (basis, numerator, rest) if rates and rest and key in AUDITED_RATES else ()


def audit(loaded: Loaded, *, view_list: list[Filters] | None = None, rates: bool = True,
          together: int = 2) -> Audit:
    """Bound every hidden figure (see the module docstring). `rates=False` leaves the
    rates out (head counts only); `together` is how many kinds of rate one program
    holds (1: each alone, 2: every pair, len(AUDITED_RATES): all at once)."""
    spells = spells_of(loaded)
    people = [unit for _person, unit in spells]

    @functools.cache
    def twice(definition: Definition) -> bool:
        """Does someone have two spells among the figure's? (Then a rate over people
        is not a sum over spells.)"""
        ids = [person for person, unit in spells if definition.covers(unit, loaded)]
        return len(ids) != len(set(ids))

    own = loaded.filters.municipality
    # Own people: the partnership spells that began in the own municipality (the own
    # member's row is never used; a continuation elsewhere of an own spell is unknown).
    mine = [p for p in people if p.municipality == own and not p.continuation]
    others = [p for p in people if p.municipality != own]

    @functools.cache
    def own_and_others(definition: Definition, measure: str) -> tuple[float, float]:
        weight = WEIGHTS[measure]
        pl = definition.municipalities is None
        return (sum(weight(p, pl) for p in mine if definition.covers(p, loaded)),
                sum(weight(p, pl) for p in others if definition.covers(p, loaded)))

    equations: dict[tuple[Definition, str], float] = {}
    rates_used: dict[tuple[Definition, str], float] = {}
    hidden: dict[tuple[Definition, str], int] = defaultdict(int)
    parts: dict[tuple[Definition, str], int] = defaultdict(int)  # of shown rates
    left_out = set()
    not_audited = set()
    seen_before = set()
    for view in view_list if view_list is not None else views(loaded):
        board = dashboard.build(replace(loaded, filters=view))
        for definition, key, value in _figures(board, view, loaded):
            if (definition, key, value) in seen_before:
                if value is None:
                    for measure in _hidden_measures(key, rates):
                        hidden[(definition, measure)] += 1
                continue
            seen_before.add((definition, key, value))
            if definition.cohort is not None or definition.job is not None:
                raise NotOneWay(definition)
            if value is None:
                for measure in _hidden_measures(key, rates):
                    hidden[(definition, measure)] += 1
                continue
            if key == "hires":
                own_part, true_others = own_and_others(definition, "hires")
                assert value - own_part == true_others, (definition, value, own_part, true_others)
                equations[(definition, "hires")] = value - own_part
                continue
            if not rates:
                continue
            if key not in AUDITED_RATES:
                not_audited.add((definition, key))
                continue
            numerator, basis, rest, per_person = RATES[key]
            if per_person and twice(definition):
                left_out.add((definition, key))
                continue
            own_b, others_b = own_and_others(definition, basis)
            own_a, others_a = own_and_others(definition, numerator)
            if value == "empty":
                assert own_b + others_b == 0, (definition, key, own_b, others_b)
                equations[(definition, basis)] = -own_b
                continue
            exact = 100 * (own_a + others_a) / (own_b + others_b) if own_b + others_b else None
            assert exact is not None and abs(exact - value) <= RATE_HALF_INTERVAL + 1e-9, (definition, key, value, exact)
            rates_used[(definition, key)] = value
            if rest:  # those who did and those who did not: groups the reader may learn
                parts[(definition, numerator)] += 1
                parts[(definition, rest)] += 1

    periods = sorted({d.years for d, _m in [*equations, *hidden, *rates_used]})
    findings: list[Finding] = []
    pinned_zero: list[Finding] = []
    unknowns = programs = 0
    seconds = 0.0
    paired = [k for k in AUDITED_RATES if k not in ALONE]
    groups = ([*itertools.combinations(paired, min(together, len(paired))), *((k,) for k in ALONE)]
              if rates else [AUDITED_RATES[:1]])
    for period, kinds in itertools.product(periods, groups):
        # One program per period and group of rates (pairs by default): head counts with
        # those rates' relations, over every combination of their outcomes.
        def in_period(items, period=period, kinds=kinds):
            return [k for k in items if k[0].years == period
                    and (KIND.get(k[1]) in kinds or k[1] in kinds or k[1] == "hires")]

        variables = {d.split[0] for d, _m in [*equations, *hidden, *rates_used] if d.years == period and d.split}
        program = _Program(loaded, own, period, people, variables, kinds)
        unknowns += program.n
        for definition, measure in in_period(equations):
            program.equal(definition, measure, equations[(definition, measure)])
        for definition, key in in_period(rates_used):
            numerator, basis, _rest, _pp = RATES[key]
            own_a = own_and_others(definition, numerator)[0]
            own_b = own_and_others(definition, basis)[0]
            program.rate(definition, numerator, basis, rates_used[(definition, key)], own_a, own_b)
        a = program.matrix()
        if DEBUG:
            print("period", period, kinds, "unknowns", program.n, "rows", len(program.rows), "hidden", len(in_period(hidden)), flush=True)
        lower, upper = np.array(program.lower), np.array(program.upper)
        assert program.check(program.truth, a, lower, upper), "the data break the auditor's own relations"
        # Witnesses are first sought with only the hidden rows' unknowns free (the rest
        # kept at the data): any solution found there solves the whole program, and it
        # is small. Only where that finds none is the whole program asked.
        free = np.zeros(program.n, dtype=bool)
        targets = in_period(hidden) + [k for k in in_period(parts) if k not in hidden]
        if not targets:
            continue
        for definition, _measure in in_period(hidden):
            free[list(program.expression(definition, "hires"))] = True
        near = Bounds(np.where(free, 0, program.truth), np.where(free, np.inf, program.truth))
        dense = a.toarray()
        hidden_rows: dict[str, set] = defaultdict(set)
        for definition, _measure in in_period(hidden):
            if definition.municipalities is not None:
                hidden_rows["kommune"] |= set(definition.municipalities)
            elif definition.split is None:
                hidden_rows["kommune"] |= set(program.categories["kommune"])
            else:
                hidden_rows[definition.split[0]].add(definition.split[1])
        for definition, measure in targets:
            target = program.expression(definition, measure)
            c = np.zeros(program.n)
            for j, w in target.items():
                c[j] = w
            v = round(float(c @ program.truth))
            # Values that would show the figure is not pinned (see the module docstring).
            if (measure in BASES or (definition, measure) not in hidden) and not 1 <= v <= 4:
                continue  # a basis or a shown rate's part: it fails only within 1-4
            if v == 0:
                wanted = [(1, np.inf)]
            elif v <= 4:
                wanted = [(5, np.inf), (0, 0)]
            else:
                wanted = [(v + 1, np.inf), (0, v - 1)]
            undecided = False
            witnessed = False
            for lo, hi in wanted:
                started = time.perf_counter()
                x = _walk(program, dense, lower, upper, c, (lo, hi), hidden_rows)
                seconds += time.perf_counter() - started
                if x is not None:
                    assert np.all(x >= 0) and program.check(x, a, lower, upper), "a walk broke the relations"
                    witnessed = True
                    break
            if witnessed:
                continue
            # Others' part 0: whatever the answer, it is no finding (see `Audit.pinned_zero`),
            # so only the cheap searches are asked, never the whole program.
            searches = (near,) if v == 0 else (near, Bounds(0, np.inf))
            for (lo, hi), bounds in itertools.product(wanted, searches):
                started = time.perf_counter()
                result = milp(np.zeros(program.n), integrality=np.ones(program.n), bounds=bounds,
                              constraints=[LinearConstraint(a, lower, upper), LinearConstraint(c[None, :], lo, hi)],
                              options={"time_limit": TIME_LIMIT})
                seconds += time.perf_counter() - started
                if DEBUG:
                    print(measure, definition.municipalities, definition.split, v, (lo, hi), bounds is near, result.status, round(time.perf_counter() - started, 2), flush=True)
                programs += 1
                if result.status == 0:
                    x = np.round(result.x)
                    value = float(c @ x)
                    assert np.all(x >= 0) and program.check(x, a, lower, upper) and lo - 1e-9 <= value <= hi + 1e-9, \
                        "HiGHS gave a witness that breaks the relations"
                    witnessed = True
                    break
                if result.status != 2 and bounds is not near:  # not proven infeasible: time ran out
                    undecided = True
            if witnessed:
                continue
            seen = hidden.get((definition, measure), 0) or parts[(definition, measure)]
            if v == 0:
                pinned_zero.append(Finding(definition, measure, 0, 0, seen))
                continue
            if undecided:
                findings.append(Finding(definition, measure, v, v, seen, undecided=True))
                continue
            ends = []
            for sign in (1, -1):
                result = milp(sign * c, integrality=np.ones(program.n), bounds=Bounds(0, np.inf),
                              constraints=[LinearConstraint(a, lower, upper)], options={"time_limit": TIME_LIMIT})
                programs += 1
                ends.append(round(sign * result.fun) if result.status == 0 else (None if sign == 1 else 10**9))
            low, high = ends
            finding = Finding(definition, measure, low if low is not None else 0, high, seen)
            (pinned_zero if v == 0 else findings).append(finding)
    return Audit(
        shown=len(equations), hidden=len(hidden), findings=findings, rates=len(rates_used),
        rates_left_out=len(left_out), pinned_zero=pinned_zero, rates_not_audited=len(not_audited),
        rates_by_column=dict(sorted(Counter(key for _d, key in rates_used).items())),
        unknowns=unknowns, programs=programs, seconds=seconds,
    )
