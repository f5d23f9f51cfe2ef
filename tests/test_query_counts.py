"""No hidden growth: the main pages make a fixed number of database queries, the same
with seven years of history as with twice that. Counted at the engine, so every query
(ORM or raw, in a transaction or not) is seen."""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import date

import pytest

from intro import clock
from intro.calendars import feeds
from intro.db import write_transaction
from intro.demo.history import add_history
from intro.demo.west_zealand import FIRST_NAMES, JOB_FUNCTIONS, LAST_NAMES
from intro.people.accounts import load_user
from intro.tables import (
    Cohort,
    CurriculumVersion,
    Employment,
    Module,
    Municipality,
    Partnership,
    Person,
    Venue,
)
from tests.conftest import ENGINE, login

# Queries a page may make, at most (sign-in session and user included). Raising one is a
# decision to make in review, not a number to bump when a test fails.
# Measured 2026-11-23, the same on SQLite and PostgreSQL.
BUDGET = {
    "participant /": 15,  # the same progress and overdue items as /plan, read by the same functions;
    # +1 (issue 14): the participant's employments, so HR-given access ends at the request
    # once the grace period is over, not only when the nightly command runs
    "participant /plan": 14,  # +1 (issue 14): likewise
    "coordinator /": 8,  # +1: first and last course day of every cohort, for its phase
    "coordinator /cohorts": 5,  # +1: the cohorts' phases
    # Issue 19: the grid and the conflicts are kept per worker (were 10 and 14): sign-in,
    # access, the data stamp and (conflicts) the partnership's name.
    "coordinator progress grid": 4,
    "coordinator conflicts": 4,
    # Built afresh after a write: the loads as before, +1 the data stamp.
    "coordinator progress grid, after a write": 11,
    "coordinator conflicts, after a write": 15,  # +2: every day of our cohorts, for the order rules
    "chief /": 6,
    "chief /dashboard": 4,  # issue 19: the board is kept per worker (was 12); +1 the data stamp
    # Built afresh after a write: the seven loads, +1 catch-up bookings (attendance counts
    # by the sheet's rule), +1 the data stamp the kept board is checked against (issue 19).
    "chief /dashboard, after a write": 13,
    "chief /dashboard/people": 13,  # +1: likewise
    # A repeated fetch, served as built. Issue 19: the live feed and its version are kept
    # per worker while nothing they rest on is written: one query, the data stamp.
    "participant feed": 1,
    "partnership feed": 1,
    # Resolved, checked and versioned afresh after a write (was 9 and 6; +1 the stamp;
    # +1 for the participant, issue 14: the employment reads of lapsed access).
    "participant feed, after a write": 11,
    "partnership feed, after a write": 7,
}


@contextmanager
def counting():
    counted = []
    engine_class = type(ENGINE)
    original = engine_class.run_querystring

    async def run_querystring(self, querystring, *args, **kwargs):
        counted.append(str(querystring)[:200])
        return await original(self, querystring, *args, **kwargs)

    engine_class.run_querystring = run_querystring
    try:
        yield counted
    finally:
        engine_class.run_querystring = original


async def _write_employment() -> None:
    await Employment.update({Employment.job_function: Employment.job_function}).where(
        Employment.id == (await Employment.select(Employment.id).first())["id"]
    )


async def _write_session() -> None:
    from intro.tables import Session

    await Session.update({Session.revision: Session.revision}).where(
        Session.id == (await Session.select(Session.id).first())["id"]
    )


# Pages whose data is kept per worker, and a write that makes them build it afresh.
AFTER_A_WRITE = {
    "chief /dashboard": _write_employment,
    "coordinator progress grid": _write_session,
    "coordinator conflicts": _write_session,
}


async def _more_history(first_year: int) -> None:
    """Another seven years of hires, cohorts, enrolments and attendance for the demo
    partnership, before the ones the demo has."""
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    version = (await CurriculumVersion.select(CurriculumVersion.id).first())["id"]
    modules = await Module.select(Module.id, Module.days).where(
        (Module.curriculum_version == version) & Module.municipality.is_null()
    ).order_by(Module.position)
    municipalities = {m["code"]: m["id"] for m in await Municipality.select(Municipality.code, Municipality.id)}
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    async with write_transaction(ENGINE):
        added = await add_history(
            rng=random.Random(7), today=date(first_year + 7, 12, 31), until=date(first_year + 7, 12, 1),
            partnership_id=partnership, municipality_ids=municipalities, version_id=version,
            modules=modules, venue_ids=[v["id"] for v in await Venue.select(Venue.id)],
            coordinator_id=coordinator, names=(FIRST_NAMES, LAST_NAMES), used_names=set(),
            job_functions=JOB_FUNCTIONS, email_domain="aeldre.intro.example", first_year=first_year,
            cohort_suffix=" (ældre)",
        )
    assert added > 300


async def _counts(client, feed_paths) -> dict[str, int]:
    cohort = (await Cohort.select(Cohort.id, Cohort.partnership).where(Cohort.name == "Hold B – efterår").first())
    pages = {
        "participant": ("deltager@intro.example", [("participant /", "/"), ("participant /plan", "/plan")]),
        "coordinator": ("koordinator@intro.example", [
            ("coordinator /", "/"), ("coordinator /cohorts", "/cohorts"),
            ("coordinator progress grid", f"/cohorts/{cohort['id']}/progress"),
            ("coordinator conflicts", f"/partnerships/{cohort['partnership']}/conflicts"),
        ]),
        "chief": ("chef.slagelse@intro.example", [
            ("chief /", "/"), ("chief /dashboard", f"/dashboard?fra={clock.today().year - 20}"),
            ("chief /dashboard/people", f"/dashboard/people?fra={clock.today().year - 20}"),
        ]),
    }
    counts = {}
    for email, cases in pages.values():
        client.cookies.clear()
        assert (await login(client, email)).status_code == 303
        for name, path in cases:
            await client.get(path)  # anything done once (caches) is done
            with counting() as queries:
                response = await client.get(path)
            assert response.status_code == 200, (name, response.text[:300])
            counts[name] = len(queries)
            if name in AFTER_A_WRITE:
                # A write to what the page's kept data rests on: the next request builds it afresh.
                await AFTER_A_WRITE[name]()
                with counting() as queries:
                    response = await client.get(path)
                assert response.status_code == 200
                counts[f"{name}, after a write"] = len(queries)
    client.cookies.clear()
    for name, path in feed_paths.items():
        await client.get(path)  # built once for this version (and its last use noted, a write)
        await client.get(path)  # then served as a poll would be
        with counting() as queries:
            response = await client.get(path)
        assert response.status_code == 200, name
        counts[name] = len(queries)
        # A write to a table the feed rests on (any row of it: the stamp is per table).
        await Person.update({Person.full_name: Person.full_name}).where(
            Person.id == (await Person.select(Person.id).first())["id"]
        )
        with counting() as queries:
            response = await client.get(path)
        assert response.status_code == 200, name
        counts[f"{name}, after a write"] = len(queries)
    return counts


async def _feeds() -> dict[str, str]:
    sara = await load_user((await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"])
    coordinator = await load_user(
        (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    )
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    return {
        "participant feed": f"/feeds/{await feeds.create_feed(sara, 'person', None, True)}.ics",
        "partnership feed": f"/feeds/{await feeds.create_feed(coordinator, 'partnership', partnership)}.ics",
    }


async def test_main_pages_make_a_fixed_number_of_queries_whatever_the_amount_of_data(demo_client):
    feed_paths = await _feeds()
    before = await _counts(demo_client, feed_paths)
    for name, budget in BUDGET.items():
        assert before[name] <= budget, f"{name}: {before[name]} queries, budget {budget}"
    await _more_history(clock.today().year - 15)
    after = await _counts(demo_client, feed_paths)
    grew = {name: (before[name], after[name]) for name in before if after[name] != before[name]}
    assert not grew, f"queries per page grew with the data (before, after): {grew}"


@pytest.mark.parametrize("n", [1])
async def test_the_counter_sees_every_query(demo_db, n):
    # The counter is what the test above rests on: check it counts a known number.
    with counting() as queries:
        await Person.count()
        await Person.select(Person.id).limit(n)
        async with write_transaction(ENGINE):
            await Person.count()
    assert len([q for q in queries if "person" in q.lower()]) == 3
