"""The enrolment page as coordinators and chiefs use it."""

from __future__ import annotations

from intro.tables import Cohort, Enrolment, Municipality, RoleGrant
from tests.conftest import login, post_form


async def _planning_cohort():
    return await Cohort.select(Cohort.id, Cohort.capacity).where(Cohort.status == "planning").first()


async def test_a_chief_enrols_own_people_and_sees_no_one_elses(demo_client):
    cohort = await _planning_cohort()
    slagelse = await Municipality.select(Municipality.id).where(Municipality.code == "330").first()
    await login(demo_client, "chef.slagelse@intro.example")
    page = await demo_client.get(f"/cohorts/{cohort['id']}/enrolments")
    assert page.status_code == 200
    naestved_names = [
        r["name"]
        for r in await Enrolment.select(Enrolment.person.full_name.as_alias("name")).where(
            (Enrolment.cohort == cohort["id"]) & (Enrolment.municipality.code == "370")
        )
    ]
    assert naestved_names and not any(n in page.text for n in naestved_names)
    assert "Du ser kun personer fra din egen kommune." in page.text
    # A Slagelse new hire who is not on this cohort yet.
    on_cohort = {r["person"] for r in await Enrolment.select(Enrolment.person).where(Enrolment.cohort == cohort["id"])}
    candidate = next(
        g for g in await RoleGrant.select(RoleGrant.person).where(
            (RoleGrant.role == "participant") & (RoleGrant.municipality == slagelse["id"])
        ) if g["person"] not in on_cohort
    )
    response = await post_form(
        demo_client, f"/cohorts/{cohort['id']}/enrolments", {"candidate": f"{candidate['person']}:{slagelse['id']}"}
    )
    assert response.status_code == 303
    assert await Enrolment.exists().where((Enrolment.cohort == cohort["id"]) & (Enrolment.person == candidate["person"]))


async def test_a_chief_cannot_enrol_or_withdraw_another_municipalitys_people(demo_client):
    cohort = await _planning_cohort()
    naestved = await Municipality.select(Municipality.id).where(Municipality.code == "370").first()
    other = await RoleGrant.select(RoleGrant.person).where(
        (RoleGrant.role == "participant") & (RoleGrant.municipality == naestved["id"])
    ).first()
    await login(demo_client, "chef.slagelse@intro.example")
    before = await Enrolment.count()
    refused = await post_form(
        demo_client, f"/cohorts/{cohort['id']}/enrolments", {"candidate": f"{other['person']}:{naestved['id']}"}
    )
    assert refused.status_code == 400
    assert "egen kommune" in refused.text
    assert await Enrolment.count() == before
    theirs = await Enrolment.select(Enrolment.id).where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.municipality == naestved["id"]) & (Enrolment.status == "enrolled")
    ).first()
    gone = await post_form(demo_client, f"/enrolments/{theirs['id']}/withdraw", {"reason": "Forsøg"})
    assert gone.status_code == 404
    assert (await Enrolment.select(Enrolment.status).where(Enrolment.id == theirs["id"]).first())["status"] == "enrolled"


async def test_the_coordinator_withdraws_someone_and_the_wait_list_moves_up(demo_client):
    cohort = await _planning_cohort()
    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get(f"/cohorts/{cohort['id']}/enrolments")
    assert "Venteliste" in page.text
    waiting_before = await Enrolment.count().where((Enrolment.cohort == cohort["id"]) & (Enrolment.status == "waitlisted"))
    enrolled = await Enrolment.select(Enrolment.id).where((Enrolment.cohort == cohort["id"]) & (Enrolment.status == "enrolled")).first()
    missing_reason = await post_form(demo_client, f"/enrolments/{enrolled['id']}/withdraw", {"reason": ""})
    assert missing_reason.status_code == 400
    response = await post_form(demo_client, f"/enrolments/{enrolled['id']}/withdraw", {"reason": "Fratrådt"})
    assert response.status_code == 303
    row = await Enrolment.select().where(Enrolment.id == enrolled["id"]).first()
    assert row["status"] == "withdrawn" and row["withdrawal_reason"] == "Fratrådt"
    waiting_after = await Enrolment.count().where((Enrolment.cohort == cohort["id"]) & (Enrolment.status == "waitlisted"))
    enrolled_now = await Enrolment.count().where((Enrolment.cohort == cohort["id"]) & (Enrolment.status == "enrolled"))
    assert enrolled_now <= cohort["capacity"]
    assert waiting_after <= waiting_before
