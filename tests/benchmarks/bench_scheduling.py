"""Benchmark: plan a national year of cohorts with the timetable proposer.

    .venv/bin/python tests/benchmarks/bench_scheduling.py

15 partnerships × 6 cohorts × 12 modules (one of them two days), 40 venues, 60
instructors who each have a busy calendar (a weekly meeting and scattered days off).
Cohorts of a partnership are planned one after another, each seeing the others'
sessions as bookings, as a coordinator would plan them. Prints the time per cohort and
in total, and — as a baseline from the same run on the same machine — the time to plan
the same cohorts with empty calendars (no bookings, no busy times).
Targets (issue 3): a cohort under 50 ms, the national year under 2 s.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from intro.planning.scheduling import (  # noqa: E402
    Booking,
    ClosedSpan,
    InstructorOption,
    ModuleToPlan,
    PlanRequest,
    Rhythm,
    VenueOption,
    danish_holidays,
    propose,
)

YEAR = 2027
PARTNERSHIPS, COHORTS, MODULES, VENUES, INSTRUCTORS = 15, 6, 12, 40, 60


def national_year(seed: int = 1):
    rng = random.Random(seed)
    holidays = danish_holidays(range(YEAR, YEAR + 2))
    closed = [
        ClosedSpan("Vinterferie", date(YEAR, 2, 8), date(YEAR, 2, 14)),
        ClosedSpan("Sommerferie", date(YEAR, 6, 28), date(YEAR, 8, 1)),
        ClosedSpan("Efterårsferie", date(YEAR, 10, 11), date(YEAR, 10, 17)),
        ClosedSpan("Jul", date(YEAR, 12, 20), date(YEAR + 1, 1, 2)),
    ]
    modules = [
        ModuleToPlan(i, f"M-{i}", f"Modul {i}", days=2 if i == 3 else 1,
                     needs_venue=i % 5 != 0, prerequisites=frozenset({1}) if i > 1 else frozenset())
        for i in range(1, MODULES + 1)
    ]
    partnerships = []
    for p in range(PARTNERSHIPS):
        venues = [
            VenueOption(p * 100 + v, f"V{p}-{v}", p * 10 + v, f"K{p}-{v}", rng.choice([18, 24, 30, 40]))
            for v in range(VENUES // PARTNERSHIPS + (1 if p < VENUES % PARTNERSHIPS else 0))
        ]
        staff = []
        for k in range(INSTRUCTORS // PARTNERSHIPS):
            busy = []
            weekly = datetime(YEAR, 1, 4, 7, tzinfo=UTC) + timedelta(days=rng.randrange(5))
            for week in range(60):  # a weekly team meeting, as a recurring event expands
                start = weekly + timedelta(weeks=week)
                busy.append((start, start + timedelta(hours=2)))
            for _ in range(25):  # days off
                day = datetime(YEAR, 1, 1, 6, tzinfo=UTC) + timedelta(days=rng.randrange(400))
                busy.append((day, day + timedelta(hours=12)))
            qualified = frozenset(m.code for m in modules if rng.random() < 0.7) | {modules[k % MODULES].code}
            staff.append(InstructorOption(p * 1000 + k, f"U{p}-{k}", qualified, tuple(busy)))
        starts = [date(YEAR, 1, 11) + timedelta(weeks=8 * c + rng.randrange(3)) for c in range(COHORTS)]
        partnerships.append((venues, staff, starts))
    return modules, holidays, closed, partnerships


def plan_all(modules, holidays, closed, partnerships, *, empty_calendars: bool) -> list[float]:
    timings = []
    for venues, staff, starts in partnerships:
        if empty_calendars:
            staff = [InstructorOption(s.id, s.name, s.qualified, ()) for s in staff]
        bookings: list[Booking] = []
        for c, start in enumerate(starts):
            request = PlanRequest(
                first_day=start,
                rhythm=Rhythm(weekdays=((c % 4) + 1,)),
                day_start=clock(9),
                day_end=clock(15),
                participants=20,
                modules=modules,
                venues=venues,
                instructors=staff,
                bookings=[] if empty_calendars else bookings,
                holidays=holidays,
                closed=closed,
            )
            t0 = time.perf_counter()
            proposal = propose(request)
            timings.append(time.perf_counter() - t0)
            assert proposal.sessions, "nothing planned"
            if not empty_calendars:
                bookings.extend(
                    Booking(s.starts_at, s.ends_at, s.venue_id, frozenset(s.instructor_ids)) for s in proposal.sessions
                )
    return timings


def main() -> None:
    data = national_year()
    plan_all(*data, empty_calendars=False)  # warm up imports and caches
    full = plan_all(*data, empty_calendars=False)
    base = plan_all(*data, empty_calendars=True)
    cohorts = len(full)
    print(f"National year: {PARTNERSHIPS} partnerships × {COHORTS} cohorts = {cohorts} cohorts, "
          f"{MODULES} modules, {VENUES} venues, {INSTRUCTORS} instructors with busy calendars")
    print(f"{'':28}{'per cohort mean':>16}{'p95':>10}{'max':>10}{'total':>10}")
    for name, t in (("full calendars", full), ("baseline: empty calendars", base)):
        p95 = statistics.quantiles(t, n=20)[18]
        print(f"{name:28}{statistics.mean(t) * 1000:13.2f} ms{p95 * 1000:7.2f} ms{max(t) * 1000:7.2f} ms{sum(t):8.3f} s")
    print(f"ratio full / baseline (total): {sum(full) / sum(base):.2f}")
    print(f"targets: cohort < 50 ms -> {'met' if max(full) < 0.05 else 'MISSED'}; "
          f"national year < 2 s -> {'met' if sum(full) < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
