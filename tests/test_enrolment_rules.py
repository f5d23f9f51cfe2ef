"""The enrolment invariants under any sequence of operations (hypothesis state machine)
and under concurrency, on the real database:

- a person is active (enrolled or wait-listed) on at most one cohort;
- nobody waits while a place fits them;
- the queue order is kept: first come, first served among the places that fit.

The model below is the rule written as plainly as possible; after every step the
database must hold exactly what the model holds."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from intro import clock
from intro.errors import Invalid
from intro.participation import enrolment
from intro.participation.enrolment import Places
from intro.planning import cohorts
from intro.tables import Cohort, Enrolment, Municipality, Partnership, Person, RoleGrant
from tests.conftest import own_event_loop

ACTIVE = ("enrolled", "waitlisted")
CODES = ("329", "330", "370")  # Ringsted, Slagelse, Næstved
PEOPLE = 7
_names = itertools.count()


@dataclass
class Row:
    status: str
    queued: int  # the order in which people joined this cohort's queue


@dataclass
class CohortModel:
    capacity: int
    seats: dict[str, int] = field(default_factory=dict)
    rows: dict[int, Row] = field(default_factory=dict)  # person index -> row

    def places(self, municipality_of) -> Places:
        taken: dict[str, int] = {}
        for p, r in self.rows.items():
            if r.status in ("enrolled", "completed"):
                taken[municipality_of(p)] = taken.get(municipality_of(p), 0) + 1
        return Places(self.capacity, dict(self.seats), taken)

    def fill(self, municipality_of) -> None:
        """First come, first served among the places that fit."""
        places = self.places(municipality_of)
        for p, r in sorted(self.rows.items(), key=lambda item: item[1].queued):
            if r.status == "waitlisted" and places.has_place_for(municipality_of(p)):
                r.status = "enrolled"
                places = places.with_one_more(municipality_of(p))


async def _world(n: int, capacity: int = 2, seats: dict[str, int] | None = None):
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    codes = {m["code"]: m["id"] for m in await Municipality.select(Municipality.id, Municipality.code)}
    cohort_ids = []
    for c in range(2):
        cohort_ids.append(
            await cohorts.create_cohort(
                coordinator, partnership,
                {"name": f"Regelhold {n}-{c}", "curriculum_version": "1", "capacity": str(capacity), "weekdays": ["1"],
                 "start_date": clock.today().replace(year=clock.today().year + 1).isoformat(),
                 **{f"seats_{codes[code]}": str(k) for code, k in (seats or {}).items()}},
            )
        )
    people = []
    for i in range(PEOPLE):
        code = CODES[i % len(CODES)]
        pid = (await Person.insert(Person(email=f"regel{n}.{i}@test.example", full_name=f"Regel {n}-{i}")).returning(Person.id))[0]["id"]
        await RoleGrant.insert(RoleGrant(person=pid, role="participant", municipality=codes[code]))
        people.append((pid, code))
    return coordinator, codes, cohort_ids, people


async def _db_state(cohort_ids, people) -> dict[int, dict[int, str]]:
    index = {pid: i for i, (pid, _code) in enumerate(people)}
    rows = await Enrolment.select(Enrolment.cohort, Enrolment.person, Enrolment.status).where(
        Enrolment.cohort.is_in(cohort_ids) & (Enrolment.status != "withdrawn")
    )
    state: dict[int, dict[int, str]] = {c: {} for c in range(len(cohort_ids))}
    for r in rows:
        state[cohort_ids.index(r["cohort"])][index[r["person"]]] = r["status"]
    return state


async def _db_queue(cohort_id: int, people) -> list[int]:
    index = {pid: i for i, (pid, _code) in enumerate(people)}
    rows = await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == cohort_id) & (Enrolment.status == "waitlisted")
    ).order_by(Enrolment.requested_at).order_by(Enrolment.id)
    return [index[r["person"]] for r in rows]


async def assert_invariants(cohort_ids: list[int]) -> None:
    """The three rules, read from the database alone (no model)."""
    active = await Enrolment.select(Enrolment.person).where(Enrolment.status.is_in(list(ACTIVE)))
    people = [r["person"] for r in active]
    assert len(people) == len(set(people)), "someone is active on two cohorts"
    for cohort_id in cohort_ids:
        cohort = await Cohort.select(Cohort.capacity).where(Cohort.id == cohort_id).first()
        places = await enrolment._places(cohort_id, cohort["capacity"])
        assert sum(places.taken.values()) <= cohort["capacity"]
        waiting = await Enrolment.select(Enrolment.municipality).where(
            (Enrolment.cohort == cohort_id) & (Enrolment.status == "waitlisted")
        )
        assert not any(places.has_place_for(w["municipality"]) for w in waiting), "someone waits while a place fits"


def test_enrolment_rules_hold_under_any_sequence(demo_db):
    stack = contextlib.ExitStack()  # the loop, and on PostgreSQL a pool in it
    loop = stack.enter_context(own_event_loop())
    run = loop.run_until_complete

    class Enrolments(RuleBasedStateMachine):
        @initialize(
            capacity=st.integers(1, 3),
            seats=st.dictionaries(st.sampled_from(CODES), st.integers(0, 1), max_size=3),
        )
        def setup(self, capacity, seats):
            capacity = max(capacity, sum(seats.values()))
            self.coordinator, self.codes, self.cohort_ids, self.people = run(_world(next(_names), capacity, seats))
            kept = {code: n for code, n in seats.items() if n}
            self.model = [CohortModel(capacity, dict(kept)), CohortModel(capacity, dict(kept))]
            self.clock = itertools.count()

        def municipality_of(self, p: int) -> str:
            return self.people[p][1]

        def active_on(self, p: int) -> int | None:
            return next((c for c, m in enumerate(self.model) if m.rows.get(p) and m.rows[p].status in ACTIVE), None)

        def has_completed(self, p: int) -> bool:
            return any(m.rows.get(p) and m.rows[p].status == "completed" for m in self.model)

        def expect(self, allowed: bool, operation) -> bool:
            """Run the operation; it must succeed exactly when the model allows it."""
            try:
                run(operation)
            except Invalid:
                assert not allowed, "refused what the rules allow"
                return False
            assert allowed, "did what the rules refuse"
            return True

        def enrolment_id(self, c: int, p: int) -> int:
            row = run(Enrolment.select(Enrolment.id).where(
                (Enrolment.cohort == self.cohort_ids[c]) & (Enrolment.person == self.people[p][0])
            ).first())
            return row["id"]

        @rule(p=st.integers(0, PEOPLE - 1), c=st.integers(0, 1), reason=st.booleans())
        def enrol(self, p, c, reason):
            row = self.model[c].rows.get(p)
            allowed = (
                self.active_on(p) is None
                and not (row and row.status == "completed")
                and (reason or not self.has_completed(p))
            )
            pid, code = self.people[p]
            if self.expect(allowed, enrolment.enrol(
                self.coordinator, self.cohort_ids[c], pid, self.codes[code], "Igen" if reason else ""
            )):
                self.model[c].rows[p] = Row("waitlisted", next(self.clock))
                self.model[c].fill(self.municipality_of)

        @rule(p=st.integers(0, PEOPLE - 1))
        def withdraw(self, p):
            c = self.active_on(p)
            if c is None:
                return
            run(enrolment.withdraw(self.coordinator, self.enrolment_id(c, p), "Fratrådt"))
            del self.model[c].rows[p]
            self.model[c].fill(self.municipality_of)

        @rule(p=st.integers(0, PEOPLE - 1))
        def move(self, p):
            c = self.active_on(p)
            if c is None:
                return
            to = 1 - c
            row = self.model[to].rows.get(p)
            allowed = not (row and row.status == "completed")
            if self.expect(allowed, enrolment.move(self.coordinator, self.enrolment_id(c, p), self.cohort_ids[to])):
                del self.model[c].rows[p]
                self.model[to].rows[p] = Row("waitlisted", next(self.clock))
                self.model[c].fill(self.municipality_of)
                self.model[to].fill(self.municipality_of)

        @rule(
            c=st.integers(0, 1), capacity=st.integers(0, 5),
            seats=st.dictionaries(st.sampled_from(CODES), st.integers(0, 3), max_size=3),
        )
        def change_places(self, c, capacity, seats):
            model = self.model[c]
            taken = sum(model.places(self.municipality_of).taken.values())
            allowed = capacity >= 1 and capacity >= taken and sum(seats.values()) <= capacity
            by_id = {self.codes[code]: n for code, n in seats.items()}
            if self.expect(allowed, enrolment.change_places(self.coordinator, self.cohort_ids[c], capacity, by_id)):
                model.capacity, model.seats = capacity, {code: n for code, n in seats.items() if n}
                model.fill(self.municipality_of)

        @rule(p=st.integers(0, PEOPLE - 1))
        def complete(self, p):
            c = self.active_on(p)
            if c is None or self.model[c].rows[p].status != "enrolled":
                return
            run(enrolment.mark_completed(self.coordinator, self.enrolment_id(c, p)))
            self.model[c].rows[p].status = "completed"

        @invariant()
        def database_holds_the_rules(self):
            if not hasattr(self, "model"):
                return
            run(assert_invariants(self.cohort_ids))
            state = run(_db_state(self.cohort_ids, self.people))
            for c, model in enumerate(self.model):
                assert state[c] == {p: r.status for p, r in model.rows.items()}
                queue = [p for p, r in sorted(model.rows.items(), key=lambda i: i[1].queued) if r.status == "waitlisted"]
                assert run(_db_queue(self.cohort_ids[c], self.people)) == queue, "queue order changed"

    try:
        run_state_machine_as_test(
            Enrolments,
            settings=settings(
                max_examples=40, stateful_step_count=25, deadline=None,
                suppress_health_check=list(HealthCheck), database=None,
            ),
        )
    finally:
        stack.close()


async def test_enrolment_rules_hold_under_concurrency(demo_db):
    """Many operations at once on two small cohorts: afterwards, still one active
    enrolment per person and nobody waiting while a place fits."""
    coordinator, codes, cohort_ids, people = await _world(next(_names))
    rng = random.Random(12)

    async def one(i: int):
        pid, code = people[i % len(people)]
        kind = rng.choice(["enrol", "enrol", "withdraw", "move", "seats"])
        try:
            if kind == "enrol":
                await enrolment.enrol(coordinator, rng.choice(cohort_ids), pid, codes[code])
                return
            if kind == "seats":
                await enrolment.change_places(
                    coordinator, rng.choice(cohort_ids), rng.randint(2, 4), {codes[rng.choice(CODES)]: 1}
                )
                return
            row = await Enrolment.select(Enrolment.id, Enrolment.cohort).where(
                (Enrolment.person == pid) & Enrolment.status.is_in(list(ACTIVE))
            ).first()
            if row is None:
                return
            if kind == "withdraw":
                await enrolment.withdraw(coordinator, row["id"], "Fratrådt")
            else:
                other = next(c for c in cohort_ids if c != row["cohort"])
                await enrolment.move(coordinator, row["id"], other)
        except Invalid:
            pass  # refused with a message is a fine answer to a race

    for _round in range(4):
        await asyncio.gather(*[one(i) for i in range(3 * PEOPLE)])
        await assert_invariants(cohort_ids)

