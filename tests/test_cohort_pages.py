"""The coordinator's planning pages, driven through HTTP as a browser would."""

from __future__ import annotations

from datetime import date, timedelta

from intro import clock
from intro.demo.west_zealand import DEMO_PASSWORD
from intro.people import accounts
from intro.planning.scheduling import danish_holidays
from intro.tables import Cohort, Municipality, Partnership, PartnershipMember, Session
from intro.timefmt import local
from tests.conftest import login, post_form

COORDINATOR = "koordinator@intro.example"


def new_cohort_form(start: date, **changes) -> dict:
    form = {
        "name": "Hold sommer",
        "curriculum_version": "1",
        "start_date": start.isoformat(),
        "capacity": "20",
        "rhythm": "weekdays",
        "weekdays": ["1", "3"],
        "day_start": "09:00",
        "day_end": "15:00",
    }
    form.update(changes)
    return form


async def test_create_propose_accept_move_and_cancel(demo_client):
    await login(demo_client, COORDINATOR)
    page = await demo_client.get("/cohorts/new")
    assert page.status_code == 200 and 'for="f-name"' in page.text
    start = clock.today() + timedelta(days=45)
    created = await post_form(demo_client, "/cohorts", new_cohort_form(start))
    assert created.status_code == 303
    cohort_url = created.headers["location"].split("?")[0]
    cohort_id = int(cohort_url.rsplit("/", 1)[1])

    assert (await post_form(demo_client, f"{cohort_url}/propose", {})).status_code == 303
    detail = await demo_client.get(cohort_url)
    assert "Godkend planen" in detail.text and "Forslag" in detail.text
    sessions = await Session.select().where(Session.cohort == cohort_id).order_by(Session.starts_at)
    assert len(sessions) == 15

    assert (await post_form(demo_client, f"{cohort_url}/accept", {})).status_code == 303
    assert (await Cohort.select(Cohort.status).where(Cohort.id == cohort_id).first())["status"] == "active"

    target = sessions[-1]  # the last day: a week later keeps every module in order
    edit = await demo_client.get(f"/sessions/{target['id']}/edit")
    assert edit.status_code == 200 and 'hx-post="/sessions/' in edit.text
    day = local(target["starts_at"]).date() + timedelta(days=7)
    while day in danish_holidays(range(day.year, day.year + 1)) or day.weekday() > 4:
        day += timedelta(days=1)
    moved = await post_form(
        demo_client,
        f"/sessions/{target['id']}",
        {"date": day.isoformat(), "start": "10:00", "end": "15:30", "venue": str(target["venue"] or ""), "reason": "Ny dato efter aftale"},
    )
    assert moved.status_code == 303, moved.text[moved.text.find("error-summary"):][:1500]
    after = await Session.select().where(Session.id == target["id"]).first()
    assert after["revision"] == 1 and local(after["starts_at"]).hour == 10

    cancel = await post_form(demo_client, f"/sessions/{target['id']}/cancel", {"reason": "Sygdom"})
    assert cancel.status_code == 303
    detail = await demo_client.get(cohort_url)
    assert "Aflyst" in detail.text


async def test_bad_cohort_form_is_shown_again_with_the_fields_named(demo_client):
    await login(demo_client, COORDINATOR)
    before = await Cohort.count()
    response = await post_form(
        demo_client,
        "/cohorts",
        new_cohort_form(clock.today() - timedelta(days=3), capacity="0", day_start="15:00", day_end="09:00"),
    )
    assert response.status_code == 400
    for field in ("start_date", "capacity", "day_end"):
        assert f'id="f-{field}-error"' in response.text, field
    assert 'value="Hold sommer"' in response.text
    assert await Cohort.count() == before


async def test_the_live_check_warns_about_a_holiday(demo_client):
    await login(demo_client, COORDINATOR)
    session = await Session.select().where(Session.status == "proposed").first()
    christmas_eve = date(local(session["starts_at"]).year, 12, 24)
    fragment = await post_form(
        demo_client,
        f"/sessions/{session['id']}/check",
        {"date": christmas_eve.isoformat(), "start": "09:00", "end": "15:00", "venue": str(session["venue"] or "")},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Juleaftensdag" in fragment.text


async def test_missing_reason_for_a_scheduled_session_is_refused(demo_client):
    await login(demo_client, COORDINATOR)
    session = await Session.select().where(Session.status == "scheduled").order_by(Session.starts_at, ascending=False).first()
    response = await post_form(
        demo_client,
        f"/sessions/{session['id']}",
        {"date": local(session["starts_at"]).date().isoformat(), "start": "08:00", "end": "09:00"},
    )
    assert response.status_code == 400
    assert 'id="f-reason-error"' in response.text
    assert (await Session.select(Session.revision).where(Session.id == session["id"]).first())["revision"] == 0


async def test_conflicts_page_lists_a_double_booking_with_a_link_to_fix_it(demo_client):
    await login(demo_client, COORDINATOR)
    planned = await Session.select().where((Session.status == "proposed") & Session.venue.is_not_null()).order_by(Session.starts_at)
    a, b = planned[0], planned[1]
    await Session.update({Session.starts_at: a["starts_at"], Session.ends_at: a["ends_at"], Session.venue: a["venue"]}).where(
        Session.id == b["id"]
    )
    partnership = await Partnership.select(Partnership.id).first()
    page = await demo_client.get(f"/partnerships/{partnership['id']}/conflicts")
    assert page.status_code == 200
    assert "også booket" in page.text
    assert f'href="/sessions/{b["id"]}/edit"' in page.text


async def test_another_partnerships_coordinator_cannot_reach_our_cohorts(demo_client):
    other = (await Partnership.insert(Partnership(name="Introsamarbejdet Nord")).returning(Partnership.id))[0]["id"]
    m = (await Municipality.insert(Municipality(code="851", name="Aalborg")).returning(Municipality.id))[0]["id"]
    await PartnershipMember.insert(PartnershipMember(partnership=other, municipality=m))
    person = await accounts.create_person(None, "koordinator.nord@intro.example", "Nina Nord", DEMO_PASSWORD)
    await accounts.grant_role(None, person, "coordinator", partnership_id=other)
    ours = await Cohort.select(Cohort.id, Cohort.partnership).first()
    session = await Session.select(Session.id).where(Session.cohort == ours["id"]).first()
    await login(demo_client, "koordinator.nord@intro.example")
    assert (await demo_client.get(f"/cohorts/{ours['id']}")).status_code == 404
    assert (await demo_client.get(f"/sessions/{session['id']}/edit")).status_code == 404
    assert (await demo_client.get(f"/partnerships/{ours['partnership']}/conflicts")).status_code == 404
    refused = await post_form(demo_client, f"/sessions/{session['id']}/cancel", {"reason": "x"})
    assert refused.status_code == 404
    listing = await demo_client.get("/cohorts")
    assert "Hold A" not in listing.text


async def test_a_chief_sees_the_timetable_but_cannot_change_it(demo_client):
    await login(demo_client, "chef.slagelse@intro.example")
    cohort = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    page = await demo_client.get(f"/cohorts/{cohort['id']}")
    assert page.status_code == 200
    assert "/edit" not in page.text and "Godkend planen" not in page.text


def test_a_cohort_is_planned_until_its_first_day_running_until_its_last_then_ended():
    from intro.planning.timetables import phase

    first, last = date(2027, 3, 2), date(2027, 6, 1)
    # An accepted timetable ("active") three months ahead is still only planned.
    assert phase("active", first, last, date(2026, 12, 1)) == "planned"
    assert phase("planning", first, last, date(2027, 3, 1)) == "planned"
    assert phase("active", first, last, date(2027, 3, 2)) == "running"
    assert phase("active", first, last, date(2027, 6, 1)) == "running"
    assert phase("active", first, last, date(2027, 6, 2)) == "ended"
    assert phase("completed", first, last, date(2027, 5, 1)) == "ended"
    assert phase("cancelled", first, last, date(2027, 5, 1)) == "cancelled"


async def test_the_cohort_list_says_planlagt_i_gang_afsluttet(demo_client):
    import re

    await login(demo_client, "koordinator@intro.example")
    page = (await demo_client.get("/cohorts")).text
    for name, words in [("Hold A – forår", "Afsluttet"), ("Hold B – efterår", "I gang"), ("Hold C – næste forår", "Planlagt")]:
        row = re.search(rf"{re.escape(name)}.*?</tr>", page, re.S).group(0)
        assert f"<td>{words}" in row, row
    assert "Aktivt" not in page


# --------------------------------------------------------------------------------------
# Timetable rules are binding


async def _hold_c_day(code: str, part: int = 1) -> dict:
    hold_c = await Cohort.select(Cohort.id).where(Cohort.status == "planning").first()
    return await Session.select().where(
        (Session.cohort == hold_c["id"]) & (Session.module.code == code) & (Session.part == part)
    ).first()


async def _unapproved_instructor(code: str) -> dict:
    from intro.tables import InstructorQualification, RoleGrant

    approved = {r["person"] for r in await InstructorQualification.select(InstructorQualification.person).where(InstructorQualification.module_code == code)}
    teachers = await RoleGrant.select(RoleGrant.person, RoleGrant.person.full_name.as_alias("name")).where(RoleGrant.role == "instructor")
    return next(t for t in teachers if t["person"] not in approved)


async def test_a_hard_conflict_stops_the_save_until_overridden_with_a_reason(demo_client):
    """Failing input: LOV-3 day 1 to 25.03.2027 (Skærtorsdag) with an instructor not
    approved for LOV-3 — the live check named both, and "Gem ændringen" saved anyway."""
    from intro.tables import AuditLog

    await login(demo_client, COORDINATOR)
    day = await _hold_c_day("LOV-3")
    teacher = await _unapproved_instructor("LOV-3")
    form = {"date": "25.03.2027", "start": "09:00", "end": "15:00", "venue": str(day["venue"] or ""),
            "instructors": [str(teacher["person"])]}
    check = await post_form(demo_client, f"/sessions/{day['id']}/check", form, headers={"HX-Request": "true"})
    assert "Skærtorsdag" in check.text and f"{teacher['name']} er ikke godkendt til LOV-3" in check.text
    refused = await post_form(demo_client, f"/sessions/{day['id']}", form)
    assert refused.status_code == 400
    assert "Ændringen er ikke gemt, fordi:" in refused.text and "Skærtorsdag" in refused.text
    assert f"{teacher['name']} er ikke godkendt til LOV-3" in refused.text
    assert (await Session.select(Session.starts_at).where(Session.id == day["id"]).first())["starts_at"] == day["starts_at"]
    no_reason = await post_form(demo_client, f"/sessions/{day['id']}", {**form, "override": "1"})
    assert no_reason.status_code == 400 and 'id="f-override_reason-error"' in no_reason.text
    saved = await post_form(demo_client, f"/sessions/{day['id']}", {**form, "override": "1", "override_reason": "Eneste dag underviseren kan"})
    assert saved.status_code == 303
    stored = await Session.select(Session.starts_at, Session.override_reason).where(Session.id == day["id"]).first()
    assert local(stored["starts_at"]).date() == date(2027, 3, 25) and stored["override_reason"] == "Eneste dag underviseren kan"
    assert await AuditLog.exists().where(AuditLog.action == "session.override")
    partnership = await Partnership.select(Partnership.id).first()
    page = await demo_client.get(f"/partnerships/{partnership['id']}/conflicts", params={"fra": "2027-01-01"})
    assert "Gemt trods konflikt" in page.text and "Eneste dag underviseren kan" in page.text


async def test_the_order_of_modules_and_days_is_checked_live_and_on_the_conflicts_page(demo_client):
    """Failing input: moving LOV-3 before LOV-1 gave no warning in the live check or on
    the conflicts page."""
    from intro.planning import timetables

    await login(demo_client, COORDINATOR)
    lov1, lov3 = await _hold_c_day("LOV-1"), await _hold_c_day("LOV-3")
    earlier = local(lov1["starts_at"]).date() - timedelta(days=7)
    while earlier in danish_holidays(range(earlier.year, earlier.year + 1)) or earlier.weekday() >= 5:
        earlier -= timedelta(days=1)
    form = {"date": earlier.isoformat(), "start": "09:00", "end": "15:00"}
    check = await post_form(demo_client, f"/sessions/{lov3['id']}/check", form, headers={"HX-Request": "true"})
    assert "LOV-3 skal ligge efter LOV-1" in check.text
    assert "LOV-3 dag 2 ligger før dag 1" not in check.text  # day 1 moves earlier: still in order
    # Day 2 of LOV-3 before its day 1:
    day2 = await _hold_c_day("LOV-3", 2)
    check = await post_form(
        demo_client, f"/sessions/{day2['id']}/check",
        {"date": (local(lov3["starts_at"]).date() - timedelta(days=1)).isoformat(), "start": "09:00", "end": "15:00"},
        headers={"HX-Request": "true"},
    )
    assert "LOV-3 dag 2 ligger før dag 1" in check.text
    # Saved with an override, the conflicts page lists it.
    await post_form(demo_client, f"/sessions/{lov3['id']}", {**form, "override": "1", "override_reason": "Prøve"})
    hold_c = await Cohort.select(Cohort.partnership).where(Cohort.id == lov3["cohort"]).first()
    listed = await timetables.partnership_conflicts(hold_c["partnership"])
    assert any(c["conflict"].kind == "prerequisite_order" and c["session"]["id"] == lov3["id"] and c["conflict"].hard for c in listed)


async def test_a_time_that_does_not_exist_locally_is_refused(demo_client):
    """Failing input: 02:30–04:00 on 28.03.2027 was stored as 03.30–04.00."""
    await login(demo_client, COORDINATOR)
    day = await _hold_c_day("LOV-3")
    response = await post_form(
        demo_client, f"/sessions/{day['id']}", {"date": "28.03.2027", "start": "02:30", "end": "04:00", "override": "1", "override_reason": "x"}
    )
    assert response.status_code == 400
    assert "Klokken 02.30 findes ikke den 28.03.2027, hvor uret stilles frem til sommertid." in response.text
    assert (await Session.select(Session.starts_at).where(Session.id == day["id"]).first())["starts_at"] == day["starts_at"]


def test_exists_locally():
    from datetime import time

    from intro.timefmt import exists_locally

    assert not exists_locally(date(2027, 3, 28), time(2, 30))
    assert exists_locally(date(2027, 3, 28), time(3, 0))
    assert exists_locally(date(2027, 10, 31), time(2, 30))  # happens twice; the first is taken
    assert exists_locally(date(2027, 3, 27), time(2, 30))
