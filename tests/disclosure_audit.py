"""An independent disclosure auditor for the chiefs' dashboard, as a determined reader
would attack it: collect every count a chief can see over every filter value, write the
linear relations between them, and bound every hidden count with integer linear
programming (scipy's HiGHS through `scipy.optimize.milp`).

The unknowns are the numbers of *other* municipalities' hires in each atom
(municipality × start year × cohort × job function × profile × completed intro). The
chief's own people are known to the reader (they see them by name), so each figure that
includes them is turned into a figure about the others by subtracting them.

Every shown count becomes an equation: the sum of the atoms its definition covers equals
the shown value minus the own part. The definition of a figure is read from the table it
is in (comparison by municipality, partnership splits by cohort / job / profile /
completion, the partnership's "at risk at 0 months") and from the scope the dashboard says
those figures have (`Dashboard.others_scope`); before using a shown figure the auditor
checks that its own count under that definition gives exactly the shown value, so a wrong
scope cannot hide a leak.

A hidden count fails when its feasible range is a single value, or lies within 1–4 (the
reader learns that a group of 1–4 exists). Structural facts a reader knows are built
into the atoms: only people enrolled in a cohort that has ended can have completed it.

Scope: counts of hires (the column "Nyansatte" and the partnership's number at risk at
0 months). Rates are shown only where their own basis passes the same rule.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from intro.insight import dashboard
from intro.insight.dashboard import Filters, Loaded, PersonFacts

NOT_ENROLLED = "Ikke tilmeldt hold"  # the row label as the page shows it


@dataclass(frozen=True)
class Person:
    municipality: int
    year: int
    cohort: int | None
    job: str
    profile: str | None
    completed: bool


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
    """One Person per employment (the audited partnerships have one employment each);
    hires who have not started yet are in no figure."""
    out = []
    for e in loaded.employments:
        if e["start_date"] > loaded.today:
            continue
        f = loaded.facts.get(e["person"], PersonFacts())
        out.append(Person(e["municipality"], e["start_date"].year, f.cohort, e["job_function"], e["profile_code"], f.completed))
    return out


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
    low: int
    high: int
    views: int


@dataclass
class Audit:
    shown: int
    hidden: int
    findings: list[Finding]


def _figures(board, view: Filters, loaded: Loaded):
    """(definition, shown value or None when hidden) of every count about others."""
    scope = getattr(board, "others_scope", None)
    if scope is None:  # the dashboard before fixed periods: others follow every filter
        years, cohort, job = (view.year_from, view.year_to), view.cohort, view.job_function
    else:
        years, cohort, job = (scope.year_from, scope.year_to), None, None
    own = view.municipality
    table = board.comparison
    column = table.headings.index("Nyansatte") - 1
    for row in table.rows:
        if row.municipality == own:
            continue
        members = frozenset({row.municipality}) if row.municipality is not None else None
        cell = row.cells[column]
        yield Definition(members, years, cohort, job, None), (None if cell.hidden else int(cell.value))
    for table in board.partnership_splits:
        variable = next(v for key, v in SPLITS.items() if key in table.caption)
        column = table.headings.index("Nyansatte") - 1
        for row in table.rows:
            cell = row.cells[column]
            yield Definition(None, years, cohort, job, (variable, row.label)), (None if cell.hidden else int(cell.value))
    curve = board.curves[1]
    if not curve.hidden and curve.table:
        months, _survival, at_risk = curve.table[0]
        assert months == 0
        if not at_risk.hidden and at_risk.value is not None:
            yield Definition(None, years, cohort, job, None), int(at_risk.value)


def _mask(definition: Definition, atoms: list[Person], loaded: Loaded) -> np.ndarray:
    return np.fromiter((definition.covers(atom, loaded) for atom in atoms), dtype=float, count=len(atoms))


def audit(loaded: Loaded, *, view_list: list[Filters] | None = None) -> Audit:
    people = people_of(loaded)
    own = loaded.filters.municipality
    others = [p for p in people if p.municipality != own]
    mine = [p for p in people if p.municipality == own]
    # The atoms: every combination a reader cannot rule out.
    member_ids = sorted(m for m in loaded.municipalities if m != own)
    years = sorted({p.year for p in people})
    cohorts = [None, *loaded.cohorts]
    jobs = sorted({p.job for p in people})
    profiles = sorted({p.profile for p in people}, key=lambda v: v or "")
    atoms = [
        Person(m, y, c, j, pr, done)
        for m, y, c, j, pr, done in itertools.product(member_ids, years, cohorts, jobs, profiles, (False, True))
        if not done or (c is not None and loaded.cohorts[c]["ended"])
    ]
    truth = defaultdict(int)
    for p in others:
        truth[p] += 1
    assert all(p in set(atoms) for p in truth), "an atom the auditor did not foresee"

    equations: dict[Definition, int] = {}
    hidden: dict[Definition, int] = defaultdict(int)
    for view in view_list if view_list is not None else views(loaded):
        board = dashboard.build(replace(loaded, filters=view))
        for definition, value in _figures(board, view, loaded):
            if value is None:
                hidden[definition] += 1
                continue
            own_part = sum(definition.covers(p, loaded) for p in mine)
            true_others = sum(definition.covers(p, loaded) for p in others)
            assert value - own_part == true_others, (definition, value, own_part, true_others)
            equations[definition] = value - own_part

    rows = list(equations)
    a = np.array([_mask(d, atoms, loaded) for d in rows]) if rows else np.zeros((0, len(atoms)))
    b = np.array([equations[d] for d in rows], dtype=float)
    constraints = [LinearConstraint(a, b, b)] if rows else []
    integrality = np.ones(len(atoms))
    bounds = Bounds(0, np.inf)
    findings = []
    for definition, seen in hidden.items():
        c = _mask(definition, atoms, loaded)
        low = milp(c, constraints=constraints, integrality=integrality, bounds=bounds)
        high = milp(-c, constraints=constraints, integrality=integrality, bounds=bounds)
        assert low.status == 0, low.message
        lo = round(low.fun)
        hi = round(-high.fun) if high.status == 0 else 10**9  # unbounded: nothing learnt
        if lo == hi or (lo >= 1 and hi <= 4):
            findings.append(Finding(definition, lo, hi, seen))
    return Audit(shown=len(equations), hidden=len(hidden), findings=findings)
