"""Attendance in one tap, and catching up on a missed module in another cohort."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intro import clock
from intro.participation import attendance, enrolment
from intro.planning import cohorts
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import (
    Attendance,
    AuditLog,
    CatchUpBooking,
    Cohort,
    Enrolment,
    Person,
    Session,
    SessionInstructor,
)
from tests.cohort_rows import cohort_or_404
from tests.conftest import login, post_form

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days


async def _todays_session_taught_by(email: str) -> dict:
    """A Hold B session moved to today, taught by this instructor."""
    person = await Person.select(Person.id).where(Person.email == email).first()
    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    session = await Session.select().where(
        (Session.cohort == cohort["id"]) & (Session.starts_at > clock.now())
    ).order_by(Session.starts_at).first()
    now = clock.now()
    await Session.update({Session.starts_at: now - timedelta(hours=1), Session.ends_at: now + timedelta(hours=4)}).where(
        Session.id == session["id"]
    )
    await SessionInstructor.delete().where(SessionInstructor.session == session["id"])
    await SessionInstructor.insert(SessionInstructor(session=session["id"], person=person["id"]))
    return await Session.select().where(Session.id == session["id"]).first()


async def test_the_instructor_marks_people_with_one_tap(demo_client):
    session = await _todays_session_taught_by("underviser@intro.example")
    await login(demo_client, "underviser@intro.example")
    page = await demo_client.get(f"/sessions/{session['id']}/attendance")
    assert page.status_code == 200 and "Til stede" in page.text
    person = await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == session["cohort"]) & (Enrolment.status == "enrolled")
    ).first()
    fragment = await post_form(
        demo_client,
        f"/sessions/{session['id']}/attendance",
        {"person": person["person"], "status": "absent"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'aria-pressed="true"' in fragment.text
    mark = await Attendance.select().where(
        (Attendance.session == session["id"]) & (Attendance.person == person["person"])
    ).first()
    assert mark["status"] == "absent"
    # Changing one's mind updates the same row; a plain form post works too.
    plain = await post_form(
        demo_client, f"/sessions/{session['id']}/attendance", {"person": person["person"], "status": "present"}
    )
    assert plain.status_code == 303
    assert await Attendance.count().where(Attendance.session == session["id"]) == 1
    assert await AuditLog.count().where(AuditLog.action == "attendance.mark") == 2


async def test_attendance_cannot_be_taken_ahead_or_for_strangers(demo_client):
    session = await _todays_session_taught_by("underviser@intro.example")
    future = await Session.select().where(
        (Session.cohort == session["cohort"]) & (Session.starts_at > clock.now() + timedelta(days=1))
    ).first()
    await SessionInstructor.insert(SessionInstructor(session=future["id"], person=(await Person.select(Person.id).where(Person.email == "underviser@intro.example").first())["id"]))
    await login(demo_client, "underviser@intro.example")
    person = await Enrolment.select(Enrolment.person).where(Enrolment.cohort == session["cohort"]).first()
    ahead = await post_form(demo_client, f"/sessions/{future['id']}/attendance", {"person": person["person"], "status": "present"})
    assert ahead.status_code == 400 and "selve dagen" in ahead.text
    stranger = await Person.select(Person.id).where(Person.email == "admin@intro.example").first()
    refused = await post_form(demo_client, f"/sessions/{session['id']}/attendance", {"person": stranger["id"], "status": "present"})
    assert refused.status_code == 400
    assert await Attendance.count().where(Attendance.person == stranger["id"]) == 0


async def test_another_instructor_cannot_take_attendance(demo_client):
    session = await _todays_session_taught_by("underviser@intro.example")
    await login(demo_client, "underviser2@intro.example")
    assert (await demo_client.get(f"/sessions/{session['id']}/attendance")).status_code == 404


async def test_a_missed_module_is_a_catch_up_need_and_can_be_booked_in_another_cohort(demo_client):
    hold_b = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    hold_c = await cohort_or_404((await Cohort.select(Cohort.id).where(Cohort.status == "planning").first())["id"])
    await cohorts.accept_timetable(1, CohortRow.from_row(hold_c))
    first = await Session.select().where(Session.cohort == hold_b["id"]).order_by(Session.starts_at).first()
    person = await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == hold_b["id"]) & (Enrolment.status == "enrolled")
    ).first()
    await Attendance.update({Attendance.status: "absent"}).where(
        (Attendance.session == first["id"]) & (Attendance.person == person["person"])
    )
    needs = await attendance.catch_up_needs(hold_b["id"])
    need = next(n for n in needs if n["person"] == person["person"] and n["session"]["id"] == first["id"])
    assert need["status"] == "absent" and need["booking"] is None

    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get(f"/cohorts/{hold_b['id']}/catch-up")
    assert page.status_code == 200
    target = await Session.select(Session.id).where(
        (Session.cohort == hold_c["id"]) & (Session.module == first["module"])
    ).order_by(Session.starts_at).first()
    booked = await post_form(
        demo_client,
        f"/cohorts/{hold_b['id']}/catch-up",
        {"person": person["person"], "missed_session": first["id"], "session": target["id"]},
    )
    assert booked.status_code == 303
    assert await CatchUpBooking.exists().where(
        (CatchUpBooking.person == person["person"]) & (CatchUpBooking.session == target["id"])
    )
    # The person is now on that day's attendance sheet as catching up.
    sheet = await attendance.sheet(SessionRow.from_row(await Session.select().where(Session.id == target["id"]).first()))
    assert any(p["person"] == person["person"] and p["catch_up"] for p in sheet)
    again = await attendance.catch_up_needs(hold_b["id"])
    assert next(n for n in again if n["person"] == person["person"] and n["session"]["id"] == first["id"])["booking"]


async def test_booking_into_an_unrelated_day_is_refused(demo_client):
    hold_b = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    first = await Session.select().where(Session.cohort == hold_b["id"]).order_by(Session.starts_at).first()
    other_module = await Session.select(Session.id).where(
        (Session.cohort == hold_b["id"]) & (Session.module != first["module"]) & (Session.starts_at > clock.now())
    ).first()
    person = await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == hold_b["id"]) & (Enrolment.status == "enrolled")
    ).first()
    await Attendance.update({Attendance.status: "absent"}).where(
        (Attendance.session == first["id"]) & (Attendance.person == person["person"])
    )
    await login(demo_client, "koordinator@intro.example")
    response = await post_form(
        demo_client,
        f"/cohorts/{hold_b['id']}/catch-up",
        {"person": person["person"], "missed_session": first["id"], "session": other_module["id"]},
    )
    assert response.status_code == 400
    assert await CatchUpBooking.count() == 0


async def test_an_htmx_tap_that_is_refused_says_why_in_the_row(demo_client):
    session = await _todays_session_taught_by("underviser@intro.example")
    person = await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == session["cohort"]) & (Enrolment.status == "enrolled")
    ).first()
    await login(demo_client, "underviser@intro.example")
    fragment = await post_form(
        demo_client, f"/sessions/{session['id']}/attendance",
        {"person": person["person"], "status": "maybe"}, headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert "Vælg til stede, fraværende eller afbud." in fragment.text and "<html" not in fragment.text
    mark = await Attendance.select(Attendance.status).where((Attendance.session == session["id"]) & (Attendance.person == person["person"])).first()
    assert mark is None or mark["status"] != "maybe"


async def test_no_mark_for_a_day_before_the_enrolment(demo_client):
    """Failing input: a person enrolled on 29.11.2026 was marked absent for the cohort's
    day of 10.11.2026, and the mark counted in the dashboard's attendance figure."""
    from tests.test_enrolment import new_hire

    cohort = await Cohort.select(Cohort.id, Cohort.partnership).where(Cohort.status == "active").first()
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    hire = await new_hire("330", "Sen Tilmeldt")
    slagelse = (await Enrolment.select(Enrolment.municipality).where(Enrolment.municipality.code == "330").first())["municipality"]
    # Enrolled today (on 29.11.2026 in the issue); the cohort has held days before.
    await enrolment.enrol(coordinator, cohort["id"], hire, slagelse)
    start_of_today = datetime.combine(clock.today(), datetime.min.time(), tzinfo=clock.local_now().tzinfo)
    before = await Session.select().where(
        (Session.cohort == cohort["id"]) & (Session.status == "scheduled") & (Session.starts_at < start_of_today)
    ).order_by(Session.starts_at, ascending=False).first()
    assert before is not None
    assert hire not in {p["person"] for p in await attendance.sheet(SessionRow.from_row(before))}
    await login(demo_client, "koordinator@intro.example")
    refused = await post_form(
        demo_client, f"/sessions/{before['id']}/attendance", {"person": str(hire), "status": "absent"}
    )
    assert refused.status_code == 400
    assert (
        f"Sen Tilmeldt blev tilmeldt holdet {clock.today():%d.%m.%Y}; "
        "der registreres ikke fremmøde for dage før tilmeldingen."
    ) in refused.text
    assert not await Attendance.exists().where(Attendance.person == hire)
    # From the day of the enrolment on, the person is on the sheet.
    later = await Session.select().where(Session.id == before["id"]).first()
    later["starts_at"] = clock.now()
    assert hire in {p["person"] for p in await attendance.sheet(SessionRow.from_row(later))}


def test_the_sheet_starts_on_the_local_day_of_the_enrolment():
    # Enrolled 00:30 Copenhagen time on 10 November (23:30 UTC on the 9th).
    enrolled = datetime(2026, 11, 9, 23, 30, tzinfo=UTC)
    assert attendance.expected_on(datetime(2026, 11, 10).date(), enrolled)
    assert not attendance.expected_on(datetime(2026, 11, 9).date(), enrolled)
    assert not attendance.expected_on(datetime(2026, 11, 10).date(), None)


async def test_a_mark_from_before_the_enrolment_counts_in_no_rate(demo_db):
    """Marks that older versions stored for a day before the enrolment (the issue's 10.11
    mark for a person enrolled 29.11) are kept, but the dashboard counts only marks the
    sheet's rule allows: from the day of the place, or on a booked catch-up day."""
    from intro.insight import dashboard
    from intro.people import accounts
    from tests.test_enrolment import new_hire

    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    coordinator = (await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first())["id"]
    hire = await new_hire("330", "Sen Tilmeldt")
    slagelse = (await Enrolment.select(Enrolment.municipality).where(Enrolment.municipality.code == "330").first())["municipality"]
    await enrolment.enrol(coordinator, cohort["id"], hire, slagelse)
    start_of_today = datetime.combine(clock.today(), datetime.min.time(), tzinfo=clock.local_now().tzinfo)
    earlier = await Session.select(Session.id).where(
        (Session.cohort == cohort["id"]) & (Session.status == "scheduled") & (Session.starts_at < start_of_today)
    ).order_by(Session.starts_at, ascending=False).first()
    # Written past the rule, as an older version could.
    await Attendance.insert(Attendance(session=earlier["id"], person=hire, status="absent", recorded_by=coordinator))

    chief = (await Person.select(Person.id).where(Person.email == "chef.slagelse@intro.example").first())["id"]
    user = await accounts.load_user(chief)
    today = clock.today()
    loaded = await dashboard.load(await dashboard.filters_for(user, {}, today), today)
    facts = loaded.facts.get(hire)
    assert facts is None or (facts.present, facts.absent, facts.excused) == (0, 0, 0)

    # With a mark of the same kind from the day of the place on, that one counts and the
    # earlier still not (the dashboard counts marks per kind, one by one only where needed).
    later = await Session.select(Session.id).where(
        (Session.cohort == cohort["id"]) & (Session.status == "scheduled") & (Session.starts_at >= start_of_today)
    ).order_by(Session.starts_at).first()
    await Attendance.insert(Attendance(session=later["id"], person=hire, status="absent", recorded_by=coordinator))
    loaded = await dashboard.load(await dashboard.filters_for(user, {}, today), today)
    assert (loaded.facts[hire].present, loaded.facts[hire].absent) == (0, 1)


async def test_a_refused_mark_on_a_cancelled_day_offers_no_buttons(demo_client):
    """A day cancelled while the sheet was open: the refusal re-renders the sheet (or the
    row, for htmx) closed, as the page itself is, not with buttons that can only fail."""
    session = await _todays_session_taught_by("underviser@intro.example")
    person = await Enrolment.select(Enrolment.person).where(
        (Enrolment.cohort == session["cohort"]) & (Enrolment.status == "enrolled")
    ).first()
    await login(demo_client, "underviser@intro.example")
    await Session.update({Session.status: "cancelled"}).where(Session.id == session["id"])
    page = await demo_client.get(f"/sessions/{session['id']}/attendance")
    assert page.status_code == 200 and 'name="status"' not in page.text
    form = {"person": person["person"], "status": "present"}
    refused = await post_form(demo_client, f"/sessions/{session['id']}/attendance", form)
    assert refused.status_code == 400 and 'name="status"' not in refused.text
    row = await post_form(demo_client, f"/sessions/{session['id']}/attendance", form, headers={"HX-Request": "true"})
    assert row.status_code == 200 and 'name="status"' not in row.text
    assert await Attendance.count().where(Attendance.session == session["id"]) == 0
