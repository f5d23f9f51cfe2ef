"""Each role's start page shows what is theirs, and nothing of anyone else's."""

from __future__ import annotations

import pytest

from intro.tables import (
    Cohort,
    Employment,
    Enrolment,
    Municipality,
    Partnership,
    PartnershipMember,
    Person,
    RoleGrant,
    Session,
    SessionInstructor,
    Venue,
)
from tests.conftest import login

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days


async def _names_in(code: str) -> list[str]:
    rows = await Employment.select(Employment.person.full_name.as_alias("name")).where(
        Employment.municipality.code == code
    )
    return [r["name"] for r in rows]


async def test_the_demo_is_a_living_partnership(demo_db):
    assert await Partnership.count() == 1
    assert await PartnershipMember.count() == 7
    assert await Venue.count() >= 3
    assert await RoleGrant.count().where(RoleGrant.role == "chief") == 7
    for cohort in await Cohort.select(Cohort.id, Cohort.status, Cohort.name):
        size = await Enrolment.count().where(Enrolment.cohort == cohort["id"])
        # The three current cohorts are full; the history's are smaller but never empty.
        assert 15 <= size <= 25 if cohort["name"].startswith(("Hold A", "Hold B", "Hold C")) else size >= 1
    statuses = {c["status"] for c in await Cohort.select(Cohort.status)}
    assert statuses == {"completed", "active", "planning"}
    assert await Session.count() > 20


async def test_a_chief_sees_the_own_municipality_by_name_and_no_one_else(demo_client):
    await login(demo_client, "chef.slagelse@intro.example")
    page = await demo_client.get("/")
    assert "Slagelse Kommune" in page.text
    slagelse, naestved = await _names_in("330"), await _names_in("370")
    assert slagelse and naestved
    assert any(name in page.text for name in slagelse)
    leaked = [name for name in naestved if name in page.text and name not in slagelse]
    assert not leaked, f"another municipality's people on the chief's page: {leaked}"
    assert "Næstved Kommune" not in page.text


async def test_the_participant_sees_own_cohort_and_next_course_days(demo_client):
    await login(demo_client, "deltager@intro.example")
    page = await demo_client.get("/")
    assert "Mit introforløb" in page.text
    assert "Hold B – efterår" in page.text and "tilmeldt" in page.text
    assert "Dine næste kursusdage" in page.text
    assert "Hold A" not in page.text  # not theirs
    for other in await Person.select(Person.full_name).where(Person.email.like("chef.%")):
        assert other["full_name"] not in page.text


async def test_the_instructor_sees_their_teaching_days(demo_client):
    await login(demo_client, "underviser@intro.example")
    page = await demo_client.get("/")
    assert "Undervisning" in page.text
    jonas = await Person.select(Person.id).where(Person.email == "underviser@intro.example").first()
    theirs = await SessionInstructor.count().where(SessionInstructor.person == jonas["id"])
    assert theirs > 0
    assert "Dine næste undervisningsdage" in page.text


async def test_the_coordinator_sees_the_partnerships_cohorts(demo_client):
    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get("/")
    for name in ("Introsamarbejdet Vestsjælland", "Hold A – forår", "Hold B – efterår", "Hold C – næste forår"):
        assert name in page.text
    for municipality in await Municipality.select(Municipality.name):
        assert municipality["name"] in page.text


async def test_a_person_with_two_roles_gets_both_sections(demo_client):
    coordinator = await Person.select(Person.id).where(Person.email == "koordinator@intro.example").first()
    slagelse = await Municipality.select(Municipality.id).where(Municipality.code == "330").first()
    await RoleGrant.insert(RoleGrant(person=coordinator["id"], role="chief", municipality=slagelse["id"]))
    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get("/")
    assert "Koordinering" in page.text and "Nye medarbejdere" in page.text


async def test_the_start_page_and_the_plan_tell_the_same_story(demo_client):
    """Failing input (deltager@, fresh demo): the start page said "12 punkter er over
    fristen" and "10 af 33 punkter"; /plan said "Over fristen (2)" and "54 %"; TVF-3 on
    8 December was "Online" on one and "i dit eget jobcenter" on the other."""
    import re

    await login(demo_client, "deltager@intro.example")
    home = (await demo_client.get("/")).text
    plan_page = (await demo_client.get("/plan")).text
    overdue = re.search(r"Over fristen \((\d+)\)", plan_page)
    n = int(overdue.group(1)) if overdue else 0
    if n:
        assert re.search(rf"\b{n} punkt(er)? er over fristen\.", home)
    else:
        assert "over fristen" not in home
    percent = re.search(r"Samlet: (\d+) % af moduler og transferopgaver", plan_page).group(1)
    assert f"Samlet: {percent} % af moduler og transferopgaver" in home
    assert "af 33 punkter" not in home
    # A course day without a venue is described with the same words on both pages.
    for page in (home, plan_page):
        assert "i dit eget jobcenter" not in page  # lower-case variant gone
    on_the_job = await Session.select(Session.id).where(
        Session.venue.is_null() & (Session.module.format == "on_the_job")
        & Session.cohort.is_in(Enrolment.select(Enrolment.cohort).where(Enrolment.person.email == "deltager@intro.example"))
    ).first()
    if on_the_job:
        assert "I dit eget jobcenter" in plan_page
