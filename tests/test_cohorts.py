"""Cohorts and timetables through the named operations, on the demo partnership."""

from __future__ import annotations

import dataclasses
from datetime import date, time, timedelta

import pytest

from intro import clock
from intro.errors import Invalid
from intro.planning import cohort_forms, cohorts, timetables
from intro.planning.rows import CohortRow, SessionRow
from intro.planning.scheduling import danish_holidays
from intro.tables import (
    AuditLog,
    Cohort,
    CohortModule,
    CohortPreferredVenue,
    CohortSeats,
    Municipality,
    Partnership,
    Person,
    Session,
    SessionInstructor,
    Venue,
)
from intro.timefmt import local
from tests.cohort_rows import cohort_or_404

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days


async def _context():
    partnership = await Partnership.select(Partnership.id).first()
    coordinator = await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first()
    members = await Municipality.select(Municipality.id, Municipality.code)
    venues = await Venue.select(Venue.id, Venue.capacity).order_by(Venue.id)
    return partnership["id"], coordinator["id"], {m["code"]: m["id"] for m in members}, venues


def form(start: date, **changes):
    data = {
        "name": "Hold efterår 2027",
        "curriculum_version": "1",
        "start_date": start.strftime("%d.%m.%Y"),
        "capacity": "20",
        "rhythm": "weekdays",
        "weekdays": ["1"],
        "day_start": "09:00",
        "day_end": "15:00",
    }
    data.update(changes)
    return data


async def test_create_a_cohort_with_seats_preferences_and_modules(demo_db):
    partnership, coordinator, members, venues = await _context()
    start = clock.today() + timedelta(days=60)
    cohort_id = await cohorts.create_cohort(
        coordinator, partnership,
        form(start, **{f"seats_{members['330']}": "4", f"seats_{members['370']}": "5"}, preferred_venues=[str(venues[0]["id"])]),
    )
    cohort = await Cohort.select().where(Cohort.id == cohort_id).first()
    assert cohort["status"] == "planning" and cohort["start_date"] == start
    assert cohort["day_start"] == time(9) and cohort["capacity"] == 20
    seats = {s["municipality"]: s["seats"] for s in await CohortSeats.select().where(CohortSeats.cohort == cohort_id)}
    assert seats[members["330"]] == 4 and seats[members["370"]] == 5 and seats[members["306"]] == 0
    assert await CohortModule.count().where(CohortModule.cohort == cohort_id) == 14
    assert await CohortPreferredVenue.count().where(CohortPreferredVenue.cohort == cohort_id) == 1
    assert await AuditLog.exists().where((AuditLog.action == "cohort.create") & (AuditLog.actor == coordinator))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"day_start": "15:00", "day_end": "09:00"}, "day_end"),
        ({"capacity": "0"}, "capacity"),
        ({"capacity": "tyve"}, "capacity"),
        ({"start_date": "01.01.2020"}, "start_date"),
        ({"start_date": "31.02.2027"}, "start_date"),
        ({"preferred_venues": ["999999"]}, "preferred_venues"),
        ({"weekdays": []}, "weekdays"),
        ({"rhythm": "dates", "dates": "02.02.2027 32.13.2027"}, "dates"),
        ({"name": " "}, "name"),
        ({"name": "Hold B – efterår"}, "name"),
        ({"curriculum_version": "999"}, "curriculum_version"),
        ({"day_start": "9"}, "day_start"),
    ],
)
async def test_bad_cohort_input_names_the_field_and_writes_nothing(demo_db, changes, field):
    partnership, coordinator, _m, _v = await _context()
    before = (await Cohort.count(), await CohortSeats.count(), await CohortModule.count())
    with pytest.raises(Invalid) as error:
        await cohorts.create_cohort(coordinator, partnership, form(clock.today() + timedelta(days=30), **changes))
    assert field in error.value.errors, error.value.errors
    assert (await Cohort.count(), await CohortSeats.count(), await CohortModule.count()) == before


async def test_seats_cannot_exceed_capacity(demo_db):
    partnership, coordinator, members, _v = await _context()
    with pytest.raises(Invalid) as error:
        await cohorts.create_cohort(
            coordinator, partnership, form(clock.today() + timedelta(days=30), capacity="5", **{f"seats_{members['330']}": "6"})
        )
    assert "capacity" in error.value.errors


async def _new_cohort(start: date, **changes) -> dict:
    partnership, coordinator, _m, _v = await _context()
    cohort_id = await cohorts.create_cohort(coordinator, partnership, form(start, **changes))
    return await cohort_or_404(cohort_id)


async def test_a_proposal_avoids_holidays_busy_venues_and_instructors(demo_db):
    start = date(clock.today().year + 1, 3, 1)
    cohort = await _new_cohort(start, weekdays=["3"])  # Thursdays, through Easter and Ascension
    proposal = await cohorts.propose_timetable(1, CohortRow.from_row(cohort), None)
    assert proposal.complete, proposal.unplaced
    rows = await Session.select().where(Session.cohort == cohort["id"]).order_by(Session.starts_at)
    assert len(rows) == 15 and {r["status"] for r in rows} == {"proposed"}
    holidays = danish_holidays(range(start.year, start.year + 2))
    for r in rows:
        day = local(r["starts_at"]).date()
        assert day not in holidays and day.weekday() == 3
        assert local(r["starts_at"]).time() == time(9)
    # Every session has an instructor, and other cohorts' sessions do not clash.
    conflicts = await timetables.partnership_conflicts(cohort["partnership"], since=start)
    hard = [c for c in conflicts if c["conflict"].hard and c["session"]["cohort"] == cohort["id"]]
    assert hard == []
    assert await SessionInstructor.count().where(SessionInstructor.session.is_in([r["id"] for r in rows])) == 15


async def test_a_new_proposal_from_a_date_keeps_what_comes_before(demo_db):
    start = clock.today() + timedelta(days=40)
    cohort = await _new_cohort(start)
    await cohorts.propose_timetable(1, CohortRow.from_row(cohort), None)
    first = await Session.select().where(Session.cohort == cohort["id"]).order_by(Session.starts_at)
    cut = local(first[5]["starts_at"]).date()
    await cohorts.propose_timetable(1, CohortRow.from_row(cohort), cut)
    after = await Session.select().where(Session.cohort == cohort["id"]).order_by(Session.starts_at)
    assert [r["id"] for r in after[:5]] == [r["id"] for r in first[:5]]
    assert len(after) == 15
    assert all(local(r["starts_at"]).date() >= cut for r in after[5:])


async def test_accept_then_move_and_cancel_raise_the_revision(demo_db):
    cohort = await _new_cohort(clock.today() + timedelta(days=40))
    await cohorts.propose_timetable(1, CohortRow.from_row(cohort), None)
    await cohorts.accept_timetable(1, CohortRow.from_row(cohort))
    assert (await Cohort.select(Cohort.status).where(Cohort.id == cohort["id"]).first())["status"] == "active"
    session = await Session.select().where(Session.cohort == cohort["id"]).order_by(Session.starts_at).first()
    assert session["status"] == "scheduled" and session["revision"] == 0
    cohort = await cohort_or_404(cohort["id"])
    new_day = local(session["starts_at"]).date() + timedelta(days=1)
    with pytest.raises(Invalid) as no_reason:
        await cohort_forms.read_session_form(SessionRow.from_row(session), CohortRow.from_row(cohort), {"date": new_day.isoformat(), "start": "10:00", "end": "15:00"})
    assert "reason" in no_reason.value.errors
    change = await cohort_forms.read_session_form(
        SessionRow.from_row(session), CohortRow.from_row(cohort), {"date": new_day.isoformat(), "start": "10:00", "end": "15:00", "venue": str(session["venue"]), "reason": "Underviseren er syg"}
    )
    await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(cohort), change)
    moved = await Session.select().where(Session.id == session["id"]).first()
    assert moved["revision"] == 1 and local(moved["starts_at"]).time() == time(10)
    assert moved["uid"] == session["uid"] and moved["change_reason"] == "Underviseren er syg"
    await cohorts.cancel_session(1, SessionRow.from_row(moved), "Lokalet er lukket")
    cancelled = await Session.select().where(Session.id == session["id"]).first()
    assert cancelled["status"] == "cancelled" and cancelled["revision"] == 2
    assert await AuditLog.count().where(AuditLog.object_type == "session") == 2


async def test_accepting_needs_every_module_planned(demo_db):
    cohort = await _new_cohort(clock.today() + timedelta(days=40))
    with pytest.raises(Invalid) as error:
        await cohorts.accept_timetable(1, CohortRow.from_row(cohort))
    assert "LOV-1" in error.value.errors["cohort"]


async def test_a_move_onto_a_holiday_and_a_double_booking_show_as_conflicts(demo_db):
    cohort = await _new_cohort(date(clock.today().year + 1, 9, 1))
    await cohorts.propose_timetable(1, CohortRow.from_row(cohort), None)
    session = await Session.select().where((Session.cohort == cohort["id"]) & Session.venue.is_not_null()).first()
    christmas = date(clock.today().year + 1, 12, 25)
    change = await cohort_forms.read_session_form(
        SessionRow.from_row(session), CohortRow.from_row(cohort), {"date": christmas.isoformat(), "start": "09:00", "end": "15:00", "venue": str(session["venue"])}
    )
    found = await cohorts.conflicts_for_change(SessionRow.from_row(session), CohortRow.from_row(cohort), change)
    # Also in the Christmas closing (and, moved that late, after modules that need it).
    assert {"holiday", "closed"} <= {c.kind for c in found} <= {"holiday", "closed", "prerequisite_order", "day_order"}
    assert any("Juledag" in c.message for c in found)
    # Put it on top of another cohort's session in the same venue.
    other = await Session.select().where(
        (Session.cohort != cohort["id"]) & Session.venue.is_not_null() & (Session.starts_at > clock.now())
    ).first()
    day = local(other["starts_at"]).date()
    clash = await cohort_forms.read_session_form(
        SessionRow.from_row(session), CohortRow.from_row(cohort), {"date": day.isoformat(), "start": "09:00", "end": "15:00", "venue": str(other["venue"])}
    )
    kinds = {c.kind for c in await cohorts.conflicts_for_change(SessionRow.from_row(session), CohortRow.from_row(cohort), clash)}
    assert "venue_double" in kinds
    with pytest.raises(Invalid) as refused:
        await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(cohort), clash)  # a hard conflict stops the save
    assert "også booket" in refused.value.errors["override"]
    await cohorts.change_session(1, SessionRow.from_row(session), CohortRow.from_row(cohort), dataclasses.replace(clash, override_reason="Lokalet deles"))
    listed = await timetables.partnership_conflicts(cohort["partnership"], since=clock.today())
    assert any(c["conflict"].kind == "venue_double" and c["session"]["id"] == session["id"] for c in listed)


async def test_the_conflicts_page_sees_other_partnerships_days_in_our_venue_or_with_our_instructor(demo_db):
    """Issue 19 reads the window in one query that keeps only the other partnerships' days
    sharing a venue or an instructor with ours: both kinds must still be found, and a
    day elsewhere with nobody of ours is not."""
    ours = await Session.select().where(
        (Session.status == "scheduled") & Session.venue.is_not_null() & (Session.starts_at > clock.now())
    ).order_by(Session.starts_at).first()
    cohort = await Cohort.select().where(Cohort.id == ours["cohort"]).first()
    teacher = await SessionInstructor.select(SessionInstructor.person).where(SessionInstructor.session == ours["id"]).first()
    assert teacher is not None
    other = (await Partnership.insert(Partnership(name="Introsamarbejdet Syd")).returning(Partnership.id))[0]["id"]
    theirs = (await Cohort.insert(Cohort(
        partnership=other, curriculum_version=cohort["curriculum_version"], name="Hold Syd", status="active",
        start_date=cohort["start_date"], capacity=10, day_start=time(9), day_end=time(15),
    )).returning(Cohort.id))[0]["id"]
    other_venue = await Venue.select(Venue.id).where(Venue.id != ours["venue"]).first()

    async def their_day(n: int, venue: int) -> int:
        return (await Session.insert(Session(
            cohort=theirs, module=ours["module"], part=n, starts_at=ours["starts_at"], ends_at=ours["ends_at"],
            venue=venue, status="scheduled", uid=f"syd-{n}@intro",
        )).returning(Session.id))[0]["id"]

    await their_day(1, ours["venue"])  # our room, same hours
    same_teacher = await their_day(2, other_venue["id"])  # another room, our instructor
    await SessionInstructor.insert(SessionInstructor(session=same_teacher, person=teacher["person"]))
    await their_day(3, other_venue["id"])  # another room, nobody of ours: no clash with us
    listed = await timetables.partnership_conflicts(cohort["partnership"], since=clock.today())
    kinds = {c["conflict"].kind for c in listed if c["session"]["id"] == ours["id"] and c["conflict"].hard}
    assert {"venue_double", "instructor_double"} <= kinds, kinds
    assert all(c["session"]["id"] != same_teacher for c in listed)  # only our days are listed
