"""Enrolment: places, reserved seats, the wait-list in order, withdrawal with history."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import timedelta

import pytest

from intro import clock
from intro.errors import Invalid
from intro.participation import enrolment
from intro.participation.enrolment import Places
from intro.planning import cohorts
from intro.planning.rows import CohortRow
from intro.tables import (
    Attendance,
    AuditLog,
    Cohort,
    Enrolment,
    Municipality,
    Partnership,
    Person,
    RoleGrant,
)

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


_hires = itertools.count()


async def new_hire(code: str, name: str | None = None) -> int:
    """A new hire of the municipality with this code, on no cohort yet."""
    n = next(_hires)
    municipality = (await Municipality.select(Municipality.id).where(Municipality.code == code).first())["id"]
    person_id = (
        await Person.insert(Person(email=f"ny{n}.{code}@test.example", full_name=name or f"Ny Ansat {code}-{n}")).returning(Person.id)
    )[0]["id"]
    await RoleGrant.insert(RoleGrant(person=person_id, role="participant", municipality=municipality))
    return person_id


async def _setup(capacity: int, seats: dict[str, int], hires: int = 6, name: str = "Lille hold"):
    """A new cohort of the demo partnership, and `hires` new hires (on no cohort) from
    each member municipality, by municipality code."""
    partnership = (await Partnership.select(Partnership.id).first())["id"]
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    codes = {m["code"]: m["id"] for m in await Municipality.select(Municipality.id, Municipality.code)}
    form = {
        "name": name,
        "curriculum_version": "1",
        "start_date": (clock.today() + timedelta(days=30)).isoformat(),
        "capacity": str(capacity),
        "weekdays": ["1"],
        **{f"seats_{codes[c]}": str(n) for c, n in seats.items()},
    }
    cohort_id = await cohorts.create_cohort(coordinator, partnership, form)
    by_code = {code: [await new_hire(code) for _ in range(hires)] for code in ("329", "330", "340", "370")}
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


# ------------------------------------------------------------------ one active enrolment per person


async def _demo_cohort(name_start: str) -> dict:
    return await Cohort.select().where(Cohort.name.like(f"{name_start}%")).first()


async def test_the_database_holds_one_active_enrolment_per_person(demo_db):
    """Even a write that goes around `enrol` cannot put one person on two cohorts."""
    cohort_b, cohort_c = await _demo_cohort("Hold B"), await _demo_cohort("Hold C")
    person = await Enrolment.select().where(
        (Enrolment.cohort == cohort_c["id"]) & (Enrolment.status == "enrolled")
    ).first()
    for status in ("enrolled", "waitlisted"):
        with pytest.raises(Exception, match="(?i)unique|duplicate"):
            await Enrolment.insert(
                Enrolment(cohort=cohort_b["id"], person=person["person"], municipality=person["municipality"], status=status)
            )
    # History is not active: a withdrawn row beside the active one is fine.
    await Enrolment.insert(
        Enrolment(
            cohort=cohort_b["id"], person=person["person"], municipality=person["municipality"],
            status="withdrawn", withdrawn_at=clock.now(),
        )
    )


async def test_someone_on_hold_c_is_not_enrolled_on_hold_b_too(demo_db):
    """Failing input: enrolling in Hold B a person already enrolled in Hold C succeeded."""
    cohort_b, cohort_c = await _demo_cohort("Hold B"), await _demo_cohort("Hold C")
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    on_c = await Enrolment.select(
        Enrolment.person, Enrolment.municipality, Enrolment.person.full_name.as_alias("name")
    ).where((Enrolment.cohort == cohort_c["id"]) & (Enrolment.status == "enrolled")).first()
    before = await Enrolment.count()
    with pytest.raises(Invalid) as error:
        await enrolment.enrol(coordinator, cohort_b["id"], on_c["person"], on_c["municipality"])
    assert error.value.errors["person"] == (
        f"{on_c['name']} er allerede tilmeldt {cohort_c['name']}. "
        "Brug «Flyt til andet hold» for at flytte personen."
    )
    assert await Enrolment.count() == before
    candidates = await enrolment.eligible_people(CohortRow.from_row(cohort_b))
    row = next(c for c in candidates if c["person"] == on_c["person"])
    assert row["blocked"] == f"tilmeldt {cohort_c['name']}"


async def test_two_cohorts_at_once_give_one_person_one_place(demo_db):
    """Two enrolments of one person on two cohorts at the same moment: one wins, the
    other is refused with a message (the index decides the race on PostgreSQL)."""
    first, coordinator, codes, people = await _setup(capacity=5, seats={}, name="Hold X")
    second, *_rest = await _setup(capacity=5, seats={}, hires=0, name="Hold Y")
    person = people["330"][0]
    results = await asyncio.gather(
        enrolment.enrol(coordinator, first, person, codes["330"]),
        enrolment.enrol(coordinator, second, person, codes["330"]),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Invalid", "str"]
    assert await Enrolment.count().where(
        (Enrolment.person == person) & Enrolment.status.is_in(["enrolled", "waitlisted"])
    ) == 1


# ------------------------------------------------------------------ the fair wait-list


async def assert_nobody_waits_while_a_place_fits(cohort_id: int) -> None:
    cohort = await Cohort.select(Cohort.id, Cohort.capacity).where(Cohort.id == cohort_id).first()
    places = await enrolment._places(cohort_id, cohort["capacity"])
    waiting = await Enrolment.select(Enrolment.municipality).where(
        (Enrolment.cohort == cohort_id) & (Enrolment.status == "waitlisted")
    )
    assert not [w for w in waiting if places.has_place_for(w["municipality"])]


async def test_in_the_fresh_demo_nobody_waits_while_a_place_fits(demo_db):
    """Failing input: /cohorts/3/enrolments showed 3 waiting (Ringsted, Slagelse, Sorø)
    while their municipalities had free reserved seats."""
    for cohort in await Cohort.select(Cohort.id):
        await assert_nobody_waits_while_a_place_fits(cohort["id"])
    cohort_c = await _demo_cohort("Hold C")
    roster = await enrolment.roster(cohort_c["id"])
    assert roster["counts"] == {"enrolled": 20, "waitlisted": 0}


async def test_a_newcomer_never_passes_someone_earlier_in_the_queue(demo_db):
    """Failing input: with a Ringsted person waiting (data written before the rule), a new
    Ringsted hire took the free Ringsted seat at once and the earlier one stayed first."""
    cohort_id, coordinator, codes, people = await _setup(capacity=3, seats={"329": 1, "330": 1})
    ringsted = people["329"]
    await Enrolment.insert(
        Enrolment(
            cohort=cohort_id, person=ringsted[0], municipality=codes["329"], status="waitlisted",
            requested_at=clock.now() - timedelta(days=2),
        )
    )
    assert await enrolment.enrol(coordinator, cohort_id, ringsted[1], codes["329"]) == "enrolled"
    # The earlier Ringsted hire took the Ringsted seat; the newcomer took the open place.
    statuses = {
        r["person"]: r["status"]
        for r in await Enrolment.select(Enrolment.person, Enrolment.status).where(Enrolment.cohort == cohort_id)
    }
    assert statuses == {ringsted[0]: "enrolled", ringsted[1]: "enrolled"}
    # The next Ringsted hire waits: Slagelse's seat is not theirs.
    assert await enrolment.enrol(coordinator, cohort_id, ringsted[2], codes["329"]) == "waitlisted"
    assert await enrolment.enrol(coordinator, cohort_id, people["330"][0], codes["330"]) == "enrolled"
    await assert_nobody_waits_while_a_place_fits(cohort_id)


async def test_more_seats_move_the_queue_up_at_once(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=2, seats={"330": 1})
    assert await enrolment.enrol(coordinator, cohort_id, people["370"][0], codes["370"]) == "enrolled"
    assert await enrolment.enrol(coordinator, cohort_id, people["370"][1], codes["370"]) == "waitlisted"
    assert await enrolment.enrol(coordinator, cohort_id, people["329"][0], codes["329"]) == "waitlisted"
    promoted = await enrolment.change_places(coordinator, cohort_id, 3, {codes["330"]: 1})
    moved = [r["person"] for r in await Enrolment.select(Enrolment.person).where(Enrolment.id.is_in(promoted))]
    assert moved == [people["370"][1]]  # first in the queue, not the Ringsted hire behind
    await enrolment.change_places(coordinator, cohort_id, 3, {})
    assert (await enrolment.roster(cohort_id))["counts"] == {"enrolled": 3, "waitlisted": 0}
    assert await AuditLog.exists().where(AuditLog.action == "cohort.change_places")


async def test_bad_places_are_refused_and_change_nothing(demo_db):
    cohort_id, coordinator, codes, people = await _setup(capacity=3, seats={})
    for p in people["330"][:2]:
        await enrolment.enrol(coordinator, cohort_id, p, codes["330"])
    for capacity, seats, field in [
        (1, {}, "capacity"), (0, {}, "capacity"), (3, {codes["330"]: 4}, "seats"), (3, {codes["330"]: -1}, "seats"),
        (3, {999999: 1}, "seats"),
    ]:
        with pytest.raises(Invalid) as error:
            await enrolment.change_places(coordinator, cohort_id, capacity, seats)
        assert field in error.value.errors
    assert (await Cohort.select(Cohort.capacity).where(Cohort.id == cohort_id).first())["capacity"] == 3


# ------------------------------------------------------------------ moving and completing


async def test_moving_to_another_cohort_keeps_history_and_attendance(demo_db):
    cohort_b, cohort_c = await _demo_cohort("Hold B"), await _demo_cohort("Hold C")
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    row = await Enrolment.select().where(
        (Enrolment.cohort == cohort_b["id"]) & (Enrolment.status == "enrolled")
        & Enrolment.person.is_in(Attendance.select(Attendance.person))
    ).first()
    marks = await Attendance.count().where(Attendance.person == row["person"])
    assert marks > 0
    status = await enrolment.move(coordinator, row["id"], cohort_c["id"], "Barsel")
    await assert_nobody_waits_while_a_place_fits(cohort_c["id"])
    old = await Enrolment.select().where(Enrolment.id == row["id"]).first()
    assert old["status"] == "withdrawn"
    assert old["withdrawal_reason"] == f"Flyttet til {cohort_c['name']}: Barsel"
    assert await Enrolment.exists().where(
        (Enrolment.cohort == cohort_c["id"]) & (Enrolment.person == row["person"]) & (Enrolment.status == status)
    )
    assert await Attendance.count().where(Attendance.person == row["person"]) == marks
    assert await AuditLog.exists().where(AuditLog.action == "enrolment.move")
    with pytest.raises(Invalid):
        await enrolment.move(coordinator, row["id"], cohort_b["id"])  # no longer active there


async def test_someone_who_completed_is_enrolled_again_only_with_a_reason(demo_db):
    """Failing input: a person who completed Hold A was offered for a new cohort and
    enrolled without a word."""
    cohort_a, cohort_c = await _demo_cohort("Hold A"), await _demo_cohort("Hold C")
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    done = await Enrolment.select(
        Enrolment.person, Enrolment.municipality, Enrolment.completed_at, Enrolment.person.full_name.as_alias("name")
    ).where((Enrolment.cohort == cohort_a["id"]) & (Enrolment.status == "completed")).first()
    year = done["completed_at"].astimezone(clock.local_now().tzinfo).year
    candidates = await enrolment.eligible_people(CohortRow.from_row(cohort_c))
    row = next(c for c in candidates if c["person"] == done["person"])
    assert row["completed"] == f"gennemført {cohort_a['name']} {year}"
    with pytest.raises(Invalid) as error:
        await enrolment.enrol(coordinator, cohort_c["id"], done["person"], done["municipality"])
    assert error.value.errors == {
        "reason": f"{done['name']} har gennemført {cohort_a['name']} {year}. "
        "Skriv en begrundelse, hvis personen skal tage forløbet igen."
    }
    assert not await Enrolment.exists().where((Enrolment.cohort == cohort_c["id"]) & (Enrolment.person == done["person"]))
    await enrolment.enrol(coordinator, cohort_c["id"], done["person"], done["municipality"], "Skiftet til ny fagprofil")
    line = await AuditLog.select(AuditLog.details).where(AuditLog.action == "enrolment.create").order_by(
        AuditLog.id, ascending=False
    ).first()
    details = line["details"] if isinstance(line["details"], dict) else json.loads(line["details"])
    assert details["reason"] == "Skiftet til ny fagprofil"
