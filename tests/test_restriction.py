"""Restriction of processing (GDPR art. 18) against a real database: a restricted person
is only stored. Every write path refuses them with a Danish message naming them and
changes nothing (enrol, enrol_many, move, withdraw, completion, attendance marks,
catch-up bookings); the paths that pick people by themselves pass them over (the
wait-list's fill_places after enrol, withdraw and change_places; notices queued for a
moved day and notices sent; the intro plan's new course days and local tasks). Lifting
the restriction restores processing at once. The rule is `privacy.check_processing_allowed`
/ `privacy.unrestricted`, written once."""

from __future__ import annotations

import json

import pytest

from intro.errors import Invalid
from intro.participation import attendance, enrolment, plan, tasks
from intro.people import privacy
from intro.planning import cohorts, notices
from intro.planning.notices import SmtpConfig
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import (
    Attendance,
    AuditLog,
    CatchUpBooking,
    Cohort,
    Employment,
    Enrolment,
    Notice,
    Person,
    PlanItem,
    Session,
)
from tests.cohort_rows import cohort_or_404
from tests.conftest import login, post_form
from tests.test_attendance import _todays_session_taught_by
from tests.test_enrolment import _setup
from tests.test_notices import _cohort_under_way, _future_session, _move, free_port

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

ART_18 = "artikel 18"


async def _admin() -> int:
    return (await Person.select(Person.id).where(Person.email == "admin@intro.example").first())["id"]


async def _name(person_id: int) -> str:
    return (await Person.select(Person.full_name).where(Person.id == person_id).first())["full_name"]


async def _snapshot() -> str:
    """Everything the write paths could touch, as text to compare."""
    tables = (Enrolment, Attendance, CatchUpBooking, PlanItem, Notice, AuditLog)
    return json.dumps({t._meta.tablename: await t.select().order_by(t.id) for t in tables}, default=str)


async def _refused(call, person_id: int) -> None:
    """The call raises Invalid naming the restricted person and art. 18, and changes nothing."""
    before = await _snapshot()
    with pytest.raises(Invalid) as refused:
        await call()
    message = " ".join(refused.value.errors.values())
    assert await _name(person_id) in message and ART_18 in message
    assert await _snapshot() == before


async def _enrolment_of(person_id: int, cohort_id: int) -> dict:
    return await Enrolment.select().where((Enrolment.person == person_id) & (Enrolment.cohort == cohort_id)).first()


async def test_enrolment_paths_refuse_or_pass_over_a_restricted_person(demo_db):
    admin = await _admin()
    cohort_id, coordinator, codes, by_code = await _setup(capacity=1, seats={})
    a, b, c, d, e = by_code["329"][:5]
    m = codes["329"]
    await privacy.set_restricted(admin, a, True)

    # enrol and enrol_many: refused, all or none (b is not enrolled either).
    await _refused(lambda: enrolment.enrol(coordinator, cohort_id, a, m), a)
    await _refused(lambda: enrolment.enrol_many(coordinator, cohort_id, [(b, m), (a, m)]), a)

    # b takes the one place, c and d queue in that order; then c is restricted.
    assert await enrolment.enrol(coordinator, cohort_id, b, m) == "enrolled"
    assert await enrolment.enrol(coordinator, cohort_id, c, m) == "waitlisted"
    assert await enrolment.enrol(coordinator, cohort_id, d, m) == "waitlisted"
    await privacy.set_restricted(admin, c, True)
    c_queued = await _enrolment_of(c, cohort_id)

    # change_places: a new place goes to d, the first in the queue who may be processed;
    # c keeps their place in the queue, untouched.
    cohort = await Cohort.select().where(Cohort.id == cohort_id).first()
    assert await enrolment.change_places(coordinator, cohort_id, 2, {}) == [(await _enrolment_of(d, cohort_id))["id"]]
    assert await _enrolment_of(c, cohort_id) == c_queued

    # withdraw (b leaves): the freed place is not given to c either; and c cannot be
    # withdrawn, moved or completed.
    await enrolment.withdraw(coordinator, (await _enrolment_of(b, cohort_id))["id"], "Stoppet")
    assert await _enrolment_of(c, cohort_id) == c_queued
    other = await Cohort.select(Cohort.id).where(
        (Cohort.partnership == cohort["partnership"]) & (Cohort.id != cohort_id) & Cohort.status.not_in(["completed", "cancelled"])
    ).first()
    await _refused(lambda: enrolment.withdraw(coordinator, c_queued["id"], "Ud"), c)
    await _refused(lambda: enrolment.move(coordinator, c_queued["id"], other["id"]), c)
    d_row = await _enrolment_of(d, cohort_id)
    await privacy.set_restricted(admin, d, True)
    await _refused(lambda: enrolment.move(coordinator, d_row["id"], other["id"]), d)
    await _refused(lambda: enrolment.mark_completed(coordinator, d_row["id"]), d)
    await privacy.set_restricted(admin, d, False)

    # e queues after c; lifting c's restriction gives c the free place at once, ahead of e.
    assert await enrolment.enrol(coordinator, cohort_id, e, m) == "enrolled"  # the place b freed
    await enrolment.change_places(coordinator, cohort_id, 3, {})
    assert (await _enrolment_of(c, cohort_id))["status"] == "waitlisted"
    await privacy.set_restricted(admin, c, False)
    assert (await _enrolment_of(c, cohort_id))["status"] == "enrolled"
    # Lifted: a is processed again like anyone (waiting, as the cohort is full).
    await privacy.set_restricted(admin, a, False)
    assert await enrolment.enrol(coordinator, cohort_id, a, m) == "waitlisted"


async def test_the_enrolment_page_says_who_is_restricted(demo_client):
    admin = await _admin()
    cohort_id, _coordinator, codes, by_code = await _setup(capacity=2, seats={})
    person = by_code["329"][0]
    await privacy.set_restricted(admin, person, True)
    await login(demo_client, "koordinator@intro.example")
    before = await _snapshot()
    page = await post_form(demo_client, f"/cohorts/{cohort_id}/enrolments", {"candidate": f"{person}:{codes['329']}"})
    assert page.status_code == 400
    assert await _name(person) in page.text and ART_18 in page.text
    assert await _snapshot() == before


async def test_no_attendance_mark_or_catch_up_for_a_restricted_person(demo_client):
    session = await _todays_session_taught_by("underviser@intro.example")
    person = (await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == session["cohort"]) & (Enrolment.status == "enrolled")
    ).first())["person"]
    await attendance.mark(1, SessionRow.from_row(session), person, "present")
    await privacy.set_restricted(await _admin(), person, True)
    await _refused(lambda: attendance.mark(1, SessionRow.from_row(session), person, "absent"), person)
    await login(demo_client, "underviser@intro.example")
    before = await _snapshot()
    answer = await post_form(demo_client, f"/sessions/{session['id']}/attendance", {"person": person, "status": "absent"})
    assert answer.status_code == 400 and await _name(person) in answer.text
    assert await _snapshot() == before
    await privacy.set_restricted(await _admin(), person, False)
    # Lifted: marks are taken again.
    await privacy.set_restricted(await _admin(), person, False)
    await attendance.mark(1, SessionRow.from_row(session), person, "present")
    assert (await Attendance.select(Attendance.status).where(
        (Attendance.session == session["id"]) & (Attendance.person == person)
    ).first())["status"] == "present"


async def test_no_catch_up_booking_for_a_restricted_person(demo_db):
    hold_b = await Cohort.select().where(Cohort.status == "active").first()
    hold_c = await cohort_or_404((await Cohort.select(Cohort.id).where(Cohort.status == "planning").first())["id"])
    await cohorts.accept_timetable(1, CohortRow.from_row(hold_c))
    first = await Session.select().where(Session.cohort == hold_b["id"]).order_by(Session.starts_at).first()
    person = (await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == hold_b["id"]) & (Enrolment.status == "enrolled")
    ).first())["person"]
    await Attendance.update({Attendance.status: "absent"}).where(
        (Attendance.session == first["id"]) & (Attendance.person == person)
    )
    target = await Session.select(Session.id).where(
        (Session.cohort == hold_c["id"]) & (Session.module == first["module"])
    ).order_by(Session.starts_at).first()
    await privacy.set_restricted(await _admin(), person, True)
    await _refused(lambda: attendance.book_catch_up(1, CohortRow.from_row(hold_b), person, first["id"], target["id"]), person)
    await privacy.set_restricted(await _admin(), person, False)
    await attendance.book_catch_up(1, CohortRow.from_row(hold_b), person, first["id"], target["id"])
    assert await CatchUpBooking.exists().where((CatchUpBooking.person == person) & (CatchUpBooking.session == target["id"]))


async def test_a_restricted_person_gets_no_notices(demo_db):
    cohort = await _cohort_under_way()
    session = await _future_session(cohort)
    participants = [r["person"] for r in await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.status == "enrolled")
    )]
    restricted, told = participants[0], participants[1]
    await privacy.set_restricted(await _admin(), restricted, True)
    await _move(cohort, session)
    recipients = {n["recipient"] for n in await Notice.select(Notice.recipient).where(Notice.session == session["id"])}
    assert told in recipients and restricted not in recipients
    # A notice queued before the restriction waits: the sender passes it over.
    await privacy.set_restricted(await _admin(), restricted, False)
    await _move(cohort, await Session.select().where(Session.id == session["id"]).first())
    mine = await Notice.select().where((Notice.session == session["id"]) & (Notice.recipient == restricted)).first()
    assert mine is not None
    await privacy.set_restricted(await _admin(), restricted, True)
    down = SmtpConfig(host="127.0.0.1", port=free_port(), timeout=5)  # nothing listens: every try fails
    await notices.send_due(smtp=down)
    after = await Notice.select().where(Notice.id == mine["id"]).first()
    assert after["attempts"] == 0 and after["sent_at"] is None
    tried = await Notice.select(Notice.attempts).where((Notice.session == session["id"]) & (Notice.recipient == told))
    assert any(n["attempts"] > 0 for n in tried)


async def test_a_restricted_persons_plan_gets_no_new_tasks_until_lifted(demo_db):
    sara = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    employment = await Employment.select(Employment.municipality).where(
        (Employment.person == sara) & Employment.end_date.is_null()
    ).first()
    colleagues = [r["person"] for r in await Employment.select(Employment.person).where(
        (Employment.municipality == employment["municipality"]) & Employment.end_date.is_null() & (Employment.person != sara)
    )]
    await plan.sync_plan(sara)
    await privacy.set_restricted(await _admin(), sara, True)
    before = await PlanItem.select().where(PlanItem.person == sara).order_by(PlanItem.id)
    others = await PlanItem.count().where(PlanItem.person.is_in(colleagues))
    await tasks.add_task(1, employment["municipality"], {"title": "Mød din mentor", "due_after_days": "7"})
    assert await PlanItem.select().where(PlanItem.person == sara).order_by(PlanItem.id) == before
    assert await PlanItem.count().where(PlanItem.person.is_in(colleagues)) > others
    await privacy.set_restricted(await _admin(), sara, False)
    assert await PlanItem.exists().where((PlanItem.person == sara) & (PlanItem.title == "Mød din mentor"))


async def test_restriction_keeps_the_data_as_stored(demo_db):
    person = (await Enrolment.select(Enrolment.person).where(Enrolment.status == "enrolled").first())["person"]
    await privacy.set_restricted(await _admin(), person, True)
    with pytest.raises(Invalid):
        await privacy.anonymise(await _admin(), person)
    assert await Person.select(Person.anonymised_at).where(Person.id == person).first() == {"anonymised_at": None}
