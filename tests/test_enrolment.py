"""Enrolment: places, reserved seats, the wait-list in order, withdrawal with history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from intro import clock, cohorts, enrolment
from intro.enrolment import Places
from intro.errors import Invalid
from intro.tables import AuditLog, Enrolment, Municipality, Partnership, Person, RoleGrant

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

# ------------------------------------------------------------------ the rule, pure


def test_reserved_seats_and_open_places():
    places = Places(capacity=4, seats={1: 2, 2: 1}, taken={})
    assert places.open_places == 1
    p = places
    for _ in range(2):
        assert p.has_place_for(1)
        p = p.with_one_more(1)
    # Municipality 1 has used its seats; the one open place is still there.
    assert p.has_place_for(1)
    p = p.with_one_more(1)
    assert not p.has_place_for(1)  # open place used
    assert p.has_place_for(2)  # but 2's reserved seat is kept for 2
    assert not p.has_place_for(3)
    p = p.with_one_more(2)
    assert not p.has_place_for(2)  # full


def test_without_reservations_it_is_first_come_first_served():
    p = Places(capacity=2, seats={}, taken={})
    assert p.has_place_for(5)
    p = p.with_one_more(5).with_one_more(6)
    assert not p.has_place_for(5) and not p.has_place_for(7)


# ------------------------------------------------------------------ with the database


async def _setup(capacity: int, seats: dict[str, int]):
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    codes = {m["code"]: m["id"] for m in await Municipality.select(Municipality.id, Municipality.code)}
    form = {
        "name": "Lille hold",
        "curriculum_version": "1",
        "start_date": (clock.today() + timedelta(days=30)).isoformat(),
        "capacity": str(capacity),
        "weekdays": ["1"],
        **{f"seats_{codes[c]}": str(n) for c, n in seats.items()},
    }
    cohort_id = await cohorts.create_cohort(coordinator, partnership, form)
    participants = await RoleGrant.select(RoleGrant.person, RoleGrant.municipality).where(
        RoleGrant.role == "participant"
    ).order_by(RoleGrant.id)
    by_code = {}
    for p in participants:
        code = next(c for c, i in codes.items() if i == p["municipality"])
        by_code.setdefault(code, []).append(p["person"])
    return cohort_id, coordinator, codes, by_code


async def test_places_run_out_then_people_wait_in_order_and_move_up(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=3, seats={"370": 1})
    slagelse, naestved = people["330"], people["370"]
    assert await enrolment.enrol(coordinator, cohort_id, slagelse[0], codes["330"]) == "enrolled"
    assert await enrolment.enrol(coordinator, cohort_id, slagelse[1], codes["330"]) == "enrolled"
    # The last place is Næstved's reserved seat.
    assert await enrolment.enrol(coordinator, cohort_id, slagelse[2], codes["330"]) == "waitlisted"
    assert await enrolment.enrol(coordinator, cohort_id, naestved[0], codes["370"]) == "enrolled"
    assert await enrolment.enrol(coordinator, cohort_id, naestved[1], codes["370"]) == "waitlisted"
    assert await enrolment.enrol(coordinator, cohort_id, slagelse[3], codes["330"]) == "waitlisted"

    first = await Enrolment.select().where((Enrolment.cohort == cohort_id) & (Enrolment.person == slagelse[0])).first()
    promoted = await enrolment.withdraw(coordinator, first["id"], "Fratrådt")
    # The first on the wait-list (Slagelse #3) gets the open place; the others still wait.
    moved = await Enrolment.select(Enrolment.person).where(Enrolment.id.is_in(promoted))
    assert [m["person"] for m in moved] == [slagelse[2]]
    roster = await enrolment.roster(cohort_id)
    assert [r["person"] for r in roster["waitlist"]] == [naestved[1], slagelse[3]]
    assert [r["position"] for r in roster["waitlist"]] == [1, 2]
    history = await Enrolment.select().where(Enrolment.id == first["id"]).first()
    assert history["status"] == "withdrawn" and history["withdrawal_reason"] == "Fratrådt"
    assert await AuditLog.exists().where(AuditLog.action == "enrolment.move_up")


async def test_a_withdrawn_person_can_be_put_forward_again(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=5, seats={})
    person = people["330"][0]
    await enrolment.enrol(coordinator, cohort_id, person, codes["330"])
    row = await Enrolment.select().where((Enrolment.cohort == cohort_id) & (Enrolment.person == person)).first()
    await enrolment.withdraw(coordinator, row["id"], "Syg")
    assert await enrolment.enrol(coordinator, cohort_id, person, codes["330"]) == "enrolled"
    assert await Enrolment.count().where((Enrolment.cohort == cohort_id) & (Enrolment.person == person)) == 1


async def test_bad_enrolments_are_refused(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=5, seats={})
    person = people["330"][0]
    with pytest.raises(Invalid):
        await enrolment.enrol(coordinator, cohort_id, person, codes["370"])  # wrong municipality
    coordinator_person = coordinator
    with pytest.raises(Invalid):
        await enrolment.enrol(coordinator, cohort_id, coordinator_person, codes["330"])  # not a new hire
    await enrolment.enrol(coordinator, cohort_id, person, codes["330"])
    with pytest.raises(Invalid):
        await enrolment.enrol(coordinator, cohort_id, person, codes["330"])  # twice
    row = await Enrolment.select().where((Enrolment.cohort == cohort_id) & (Enrolment.person == person)).first()
    with pytest.raises(Invalid) as error:
        await enrolment.withdraw(coordinator, row["id"], "  ")
    assert "reason" in error.value.errors


async def test_parallel_enrolments_never_overfill_a_cohort(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=4, seats={})
    everyone = [(p, code) for code, ps in people.items() for p in ps][:12]
    results = await asyncio.gather(
        *[enrolment.enrol(coordinator, cohort_id, p, codes[code]) for p, code in everyone]
    )
    assert results.count("enrolled") == 4 and results.count("waitlisted") == 8
    assert await Enrolment.count().where((Enrolment.cohort == cohort_id) & (Enrolment.status == "enrolled")) == 4


async def test_the_roster_shows_a_chief_only_their_own_people(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=5, seats={})
    await enrolment.enrol(coordinator, cohort_id, people["330"][0], codes["330"])
    await enrolment.enrol(coordinator, cohort_id, people["370"][0], codes["370"])
    mine = await enrolment.roster(cohort_id, {codes["330"]})
    assert [r["person"] for r in mine["enrolled"]] == [people["330"][0]]
    assert mine["counts"]["enrolled"] == 2
