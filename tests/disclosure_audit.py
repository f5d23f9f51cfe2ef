"""An independent disclosure auditor for the chiefs' dashboard, as a determined reader
would attack it: collect every figure a chief can see over every filter value, write the
linear relations between them, and bound every hidden count with integer linear
programming (scipy's HiGHS through `scipy.optimize.milp`).

The unknowns are counts of *other* people's spells in atoms. Two kinds, because people
move between member municipalities (several employments, `retention`'s spell rules, which
define the figures):

- a partnership spell (the partnership counts a mover once, from where they began) by
  the municipality where it began × start year × cohort × job function × profile ×
  completed intro × (enrolments counted for completion, of them completed). It is also
  the municipality spell that starts it, so it counts in that member's row;
- a continuation: a member's spell that continues a partnership spell begun elsewhere
  (also in the own municipality), by municipality × start year × the completion counts.
  It counts only in that member's row. So the members' hires no longer add up to the
  partnership's: the difference is the movers, which the reader does not see.

The chief's own people are known to the reader (they see them by name), so each figure that
includes them is turned into a figure about the others by subtracting them.

Relations:
- every shown count is an equation: the sum of the atoms its definition covers equals the
  shown value minus the own part;
- every shown completion rate p (the "Gennemført" column, shown to whole per cent on the
  page and to 0.1 in the XLSX export; the reader takes the export, the finer) over the
  counted enrolments b and completed a of the row's people gives two linear inequalities
  100·a ≥ (p − 0.05)·b and 100·a ≤ (p + 0.05)·b, and b ≥ 1. Both a and b are linear in
  the atoms (own parts moved to the right-hand side), so this is linear even though
  neither count is shown: the percentage is known, not a variable. A rate shown as "–"
  (nobody counted) gives b = 0;
- a hidden completion rate makes its basis b a hidden count to bound, like a hidden
  head count.

The definition of a figure is read from the table it is in (comparison by municipality,
partnership splits by cohort / job / profile / completion, the partnership's "at risk at 0
months") and from the scope the dashboard says those figures have (`Dashboard.others_scope`);
before using a shown figure the auditor checks that its own count under that definition
gives exactly the shown value (a rate: lies in its rounding interval), so a wrong scope
cannot hide a leak.

A hidden count fails when its feasible range is a single value above 0, or lies within 1–4
(the reader learns that a group of 1–4 exists). A range of exactly 0 is reported apart
(`Audit.pinned_zero`), not failed: it says that no other people are in the figure, which
the dashboard shows openly everywhere (a cell with no others is never hidden). With movers
it happens: the partnership's total is hidden when the members' rows hold 1–4 others, even
when all of them are continuations of the own municipality's people, and the splits then
show that no spell began elsewhere. That over-suppression costs the page one figure and
discloses nobody. Structural facts a reader knows are built
into the atoms: only people enrolled in a cohort that has ended can have completed it,
and only combinations of completion counts that occur at all are atoms (stronger than a
reader's knowledge, so the audit errs on the side of finding too much).

Not covered: the other rates (enrolled within 3 months, attendance, retention at 6–36
months) rest on facts per person that are not atoms here (the day of enrolment against
the start, course days, the follow-up reaching each mark); they are shown only where their
own basis passes the same suppression rule, and the curve's numbers at risk after 0
months are rounded to 5. A person with two spells in one group counts once in a
completion rate but twice in the atoms: such a rate is left out (`Audit.rates_left_out`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from intro.insight import dashboard
from intro.insight import retention as r
from intro.insight.dashboard import Filters, Loaded, PersonFacts

NOT_ENROLLED = "Ikke tilmeldt hold"  # the row label as the page shows it


@dataclass(frozen=True)
class Person:
    """One spell (see the module docstring): an atom, or a real spell of the data."""

    municipality: int
    year: int
    cohort: int | None
    job: str
    profile: str | None
    completed: bool
    counted: int = 0  # the person's enrolments counted for completion (cohort ended)
    done: int = 0  # of them completed
    continuation: bool = False  # a member's spell continuing a partnership spell begun elsewhere


@dataclass(frozen=True)
class Definition:
    """Which people a figure counts: a predicate over people, kept as data so equal
    figures from different views are one equation."""

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


def people_of(loaded: Loaded) -> list[Person]:
    """The spells of the data (see `spells_of`), without whose they are."""
    return [unit for _person, unit in spells_of(loaded)]


def spells_of(loaded: Loaded) -> list[tuple[int, Person]]:
    """(person id, spell): the spells of the data as the figures count them (`retention`'s rules): one
    partnership spell per stay in the partnership, and a continuation for every member's
    spell that goes on from a partnership spell begun elsewhere. Spells not started yet
    are in no figure."""
    rows = [r.Employment(e["person"], e["municipality"], e["start_date"], e["end_date"], e["end_reason"])
            for e in loaded.employments]
    members = set(loaded.municipalities)
    by_start = {(e["person"], e["municipality"], e["start_date"]): e for e in loaded.employments}
    out = []
    starts = set()
    for spell in r.partnership_spells(rows, members):
        if spell.start > loaded.today:
            continue
        starts.add((spell.person, spell.municipality, spell.start))
        e = by_start[(spell.person, spell.municipality, spell.start)]
        f = loaded.facts.get(spell.person, PersonFacts())
        counted, done = _completion_counts(f)
        out.append((spell.person, Person(spell.municipality, spell.start.year, f.cohort, e["job_function"],
                                         e["profile_code"], f.completed, counted, done)))
    for spell in r.municipality_spells(rows, members):
        if spell.start > loaded.today or (spell.person, spell.municipality, spell.start) in starts:
            continue
        counted, done = _completion_counts(loaded.facts.get(spell.person, PersonFacts()))
        out.append((spell.person, Person(spell.municipality, spell.start.year, None, "", None, False, counted, done, True)))
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
    measure: str  # "hires", or "counted" (a hidden completion rate's basis)
    low: int
    high: int
    views: int


@dataclass
class Audit:
    shown: int  # shown head counts (equations)
    hidden: int  # hidden counts bounded
    findings: list[Finding]
    rates: int = 0  # shown completion rates used (two inequalities each)
    rates_left_out: int = 0  # rates the atoms cannot state (a person twice in one group)
    # Hidden figures whose others' part is known to be 0: no group of 1-4 is shown by
    # them (the product shows cells with no others openly), so they are not findings.
    pinned_zero: list[Finding] = field(default_factory=list)


COMPLETED = "Gennemført"  # the completion rate's column heading
RATE_HALF_INTERVAL = 0.05  # the XLSX export gives the rate in per cent to 0.1


def _figures(board, view: Filters, loaded: Loaded):
    """(definition, measure, shown) of every figure about others: measure "hires" with an
    int or None (hidden); measure "rate" with the completion rate in per cent, None when
    hidden, or "empty" when shown as "–" (nobody counted)."""
    scope = getattr(board, "others_scope", None)
    if scope is None:  # the dashboard before fixed periods: others follow every filter
        years, cohort, job = (view.year_from, view.year_to), view.cohort, view.job_function
    else:
        years, cohort, job = (scope.year_from, scope.year_to), None, None
    own = view.municipality

    def rate(cell):
        if cell.hidden:
            return None
        return "empty" if cell.value is None else float(cell.value)

    table = board.comparison
    column = table.headings.index("Nyansatte") - 1
    done_column = table.headings.index(COMPLETED) - 1
    for row in table.rows:
        if row.municipality == own:
            continue
        members = frozenset({row.municipality}) if row.municipality is not None else None
        definition = Definition(members, years, cohort, job, None)
        cell = row.cells[column]
        yield definition, "hires", (None if cell.hidden else int(cell.value))
        yield definition, "rate", rate(row.cells[done_column])
    for table in board.partnership_splits:
        variable = next(v for key, v in SPLITS.items() if key in table.caption)
        column = table.headings.index("Nyansatte") - 1
        done_column = table.headings.index(COMPLETED) - 1
        for row in table.rows:
            cell = row.cells[column]
            definition = Definition(None, years, cohort, job, (variable, row.label))
            yield definition, "hires", (None if cell.hidden else int(cell.value))
            yield definition, "rate", rate(row.cells[done_column])
    curve = board.curves[1]
    if not curve.hidden and curve.table:
        months, _survival, at_risk = curve.table[0]
        assert months == 0
        if not at_risk.hidden and at_risk.value is not None:
            yield Definition(None, years, cohort, job, None), "hires", int(at_risk.value)


def _mask(definition: Definition, atoms: list[Person], loaded: Loaded, weight=None) -> np.ndarray:
    """The row of a figure over the atoms: 1 per covered atom, or `weight(atom)`."""
    return np.fromiter(
        ((weight(atom) if weight else 1.0) if definition.covers(atom, loaded) else 0.0 for atom in atoms),
        dtype=float, count=len(atoms),
    )


def _counted(p: Person) -> float:
    return float(p.counted)


def _done(p: Person) -> float:
    return float(p.done)


def _atoms(loaded: Loaded, people: list[Person], own: int) -> list[Person]:
    """Every spell a reader cannot rule out (see the module docstring)."""
    member_ids = sorted(m for m in loaded.municipalities if m != own)
    years = sorted({p.year for p in people})
    cohorts = [None, *loaded.cohorts]
    jobs = sorted({p.job for p in people if not p.continuation})
    profiles = sorted({p.profile for p in people if not p.continuation}, key=lambda v: v or "")
    triples = sorted({(p.completed, p.counted, p.done) for p in people if not p.continuation})
    pairs = sorted({(p.counted, p.done) for p in people})
    atoms = [
        Person(m, y, c, j, pr, completed, counted, done)
        for m, y, c, j, pr, (completed, counted, done) in itertools.product(
            member_ids, years, cohorts, jobs, profiles, triples
        )
        if not completed or (c is not None and loaded.cohorts[c]["ended"])
    ]
    atoms += [
        Person(m, y, None, "", None, False, counted, done, True)
        for m, y, (counted, done) in itertools.product(member_ids, years, pairs)
    ]
    return atoms


def audit(loaded: Loaded, *, view_list: list[Filters] | None = None, rates: bool = True) -> Audit:
    """Bound every hidden figure (see the module docstring). `rates=False` leaves the
    completion rates out (head counts only): on the demo the integer programs with the
    rate inequalities did not finish in 8 minutes on a shared machine."""
    spells = spells_of(loaded)
    people = [unit for _person, unit in spells]

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
    atoms = _atoms(loaded, people, own)
    truth = defaultdict(int)
    for p in others:
        truth[p] += 1
    atom_set = set(atoms)
    assert all(p in atom_set for p in truth), "an atom the auditor did not foresee"

    def own_and_others(definition: Definition, weight) -> tuple[float, float]:
        return (sum(weight(p) for p in mine if definition.covers(p, loaded)),
                sum(weight(p) for p in others if definition.covers(p, loaded)))

    def one(_p: Person) -> float:
        return 1.0

    equations: dict[tuple[Definition, str], float] = {}
    rates_used: dict[Definition, float] = {}
    hidden: dict[tuple[Definition, str], int] = defaultdict(int)
    left_out = set()
    for view in view_list if view_list is not None else views(loaded):
        board = dashboard.build(replace(loaded, filters=view))
        for definition, measure, value in _figures(board, view, loaded):
            if measure != "hires" and not rates:
                continue
            if measure == "hires":
                if value is None:
                    hidden[(definition, "hires")] += 1
                    continue
                own_part, true_others = own_and_others(definition, one)
                assert value - own_part == true_others, (definition, value, own_part, true_others)
                equations[(definition, "hires")] = value - own_part
                continue
            if value is None:
                hidden[(definition, "counted")] += 1
                continue
            own_b, others_b = own_and_others(definition, _counted)
            own_a, others_a = own_and_others(definition, _done)
            if value == "empty":
                assert own_b + others_b == 0 or twice(definition), (definition, own_b, others_b)
                if own_b + others_b == 0:
                    equations[(definition, "counted")] = -own_b
                else:
                    left_out.add(definition)
                continue
            exact = 100 * (own_a + others_a) / (own_b + others_b) if own_b + others_b else None
            if exact is None or abs(exact - value) > RATE_HALF_INTERVAL + 1e-9:
                assert twice(definition), (definition, value, exact)
                left_out.add(definition)
                continue
            rates_used[definition] = value

    rows, lower, upper = [], [], []
    for (definition, measure), value in equations.items():
        rows.append(_mask(definition, atoms, loaded, None if measure == "hires" else _counted))
        lower.append(value)
        upper.append(value)
    for definition, value in rates_used.items():
        own_b, _ = own_and_others(definition, _counted)
        own_a, _ = own_and_others(definition, _done)
        counted_row = _mask(definition, atoms, loaded, _counted)
        done_row = _mask(definition, atoms, loaded, _done)
        high, low = value + RATE_HALF_INTERVAL, value - RATE_HALF_INTERVAL
        # 100·(own_a + A) ≤ high·(own_b + B)  and  100·(own_a + A) ≥ low·(own_b + B)
        rows.append(100 * done_row - high * counted_row)
        lower.append(-np.inf)
        upper.append(high * own_b - 100 * own_a)
        rows.append(100 * done_row - low * counted_row)
        lower.append(low * own_b - 100 * own_a)
        upper.append(np.inf)
        rows.append(counted_row)  # somebody is counted, or the rate would be "–"
        lower.append(1 - own_b)
        upper.append(np.inf)
    constraints = [LinearConstraint(np.array(rows), np.array(lower, dtype=float), np.array(upper, dtype=float))] if rows else []
    integrality = np.ones(len(atoms))
    bounds = Bounds(0, np.inf)
    findings: list[Finding] = []
    pinned_zero: list[Finding] = []
    for (definition, measure), seen in hidden.items():
        c = _mask(definition, atoms, loaded, None if measure == "hires" else _counted)
        low = milp(c, constraints=constraints, integrality=integrality, bounds=bounds)
        high = milp(-c, constraints=constraints, integrality=integrality, bounds=bounds)
        assert low.status == 0, low.message
        lo = round(low.fun)
        hi = round(-high.fun) if high.status == 0 else 10**9  # unbounded: nothing learnt
        if lo == hi == 0:
            pinned_zero.append(Finding(definition, measure, lo, hi, seen))
        elif lo == hi or (lo >= 1 and hi <= 4):
            findings.append(Finding(definition, measure, lo, hi, seen))
    return Audit(shown=len(equations), hidden=len(hidden), findings=findings,
                 rates=len(rates_used), rates_left_out=len(left_out), pinned_zero=pinned_zero)
