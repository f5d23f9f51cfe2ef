"""The enrolment page as coordinators and chiefs use it."""

from __future__ import annotations

import re

from intro.tables import Cohort, Enrolment, Municipality, RoleGrant
from tests.conftest import login, post_form
from tests.test_enrolment import new_hire


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
    # A Slagelse new hire on no cohort yet.
    candidate = await new_hire("330")
    response = await post_form(
        demo_client, f"/cohorts/{cohort['id']}/enrolments", {"candidate": f"{candidate}:{slagelse['id']}"}
    )
    assert response.status_code == 303
    assert await Enrolment.exists().where((Enrolment.cohort == cohort["id"]) & (Enrolment.person == candidate))


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


async def test_the_page_shows_seats_per_municipality_and_why_people_are_not_offered(demo_client):
    """Failing input: the page said "17 af 24 pladser er taget, og 3 står på venteliste"
    while the waiting people's municipalities had free reserved seats."""
    cohort = await _planning_cohort()
    await login(demo_client, "koordinator@intro.example")
    page = await demo_client.get(f"/cohorts/{cohort['id']}/enrolments")
    assert "20 af 24 pladser er taget, 4 er ledige, og 0 står på venteliste." in page.text
    ringsted = re.search(r"<th scope=\"row\">Ringsted</th>(.*?)</tr>", page.text).group(1)
    assert re.findall(r">(\d+)<", ringsted) == ["3", "3", "0"]
    assert re.search(r"Åbne pladser \(alle kommuner\)</th><td class=\"num\">1</td>", page.text)
    hold_b = await Cohort.select(Cohort.name).where(Cohort.status == "active").first()
    assert f"ikke tilbudt: tilmeldt {hold_b['name']}" in page.text
    assert re.search(r"gennemført Hold A – forår \d{4}; kræver en begrundelse", page.text)
    search = await demo_client.get(f"/cohorts/{cohort['id']}/enrolments", params={"q": "zzz-ingen"})
    assert "Ingen nyansatte passer til søgningen." in search.text


async def test_several_at_once_and_a_wait_list_place_is_a_warning(demo_client):
    cohort = await _planning_cohort()
    await login(demo_client, "koordinator@intro.example")
    naestved = (await Municipality.select(Municipality.id).where(Municipality.code == "370").first())["id"]
    hires = [await new_hire("370") for _ in range(6)]
    response = await post_form(
        demo_client, f"/cohorts/{cohort['id']}/enrolments", {"candidate": [f"{h}:{naestved}" for h in hires]}
    )
    assert response.status_code == 303 and response.headers["location"].endswith("notice=some_waitlisted")
    page = await demo_client.get(response.headers["location"])
    assert '<div class="warning" role="status">Nogle af de valgte er sat på ventelisten' in page.text
    statuses = [
        (await Enrolment.select(Enrolment.status).where((Enrolment.cohort == cohort["id"]) & (Enrolment.person == h)).first())["status"]
        for h in hires
    ]
    # Næstved's own seats are taken; of the 4 free places only the open one fits them.
    assert statuses == ["enrolled"] + ["waitlisted"] * 5


async def test_a_batch_with_one_bad_person_enrols_nobody(demo_client):
    cohort = await _planning_cohort()
    await login(demo_client, "koordinator@intro.example")
    slagelse = (await Municipality.select(Municipality.id).where(Municipality.code == "330").first())["id"]
    fresh = await new_hire("330")
    busy = await Enrolment.select(Enrolment.person).where(
        (Enrolment.status == "enrolled") & (Enrolment.municipality == slagelse) & (Enrolment.cohort != cohort["id"])
    ).first()
    before = await Enrolment.count()
    response = await post_form(
        demo_client, f"/cohorts/{cohort['id']}/enrolments",
        {"candidate": [f"{fresh}:{slagelse}", f"{busy['person']}:{slagelse}"]},
    )
    assert response.status_code == 400
    assert "er allerede tilmeldt" in response.text and "Flyt til andet hold" in response.text
    assert await Enrolment.count() == before


async def test_the_coordinator_moves_someone_and_changes_the_places(demo_client):
    cohort = await _planning_cohort()
    active = await Cohort.select(Cohort.id, Cohort.name).where(Cohort.status == "active").first()
    await login(demo_client, "koordinator@intro.example")
    row = await Enrolment.select(Enrolment.id, Enrolment.person).where(
        (Enrolment.cohort == active["id"]) & (Enrolment.status == "enrolled")
    ).first()
    response = await post_form(demo_client, f"/enrolments/{row['id']}/move", {"cohort": str(cohort["id"])})
    assert response.status_code == 303
    assert await Enrolment.exists().where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.person == row["person"]) & Enrolment.status.is_in(["enrolled", "waitlisted"])
    )
    bad = await post_form(demo_client, f"/cohorts/{cohort['id']}/places", {"capacity": "5"})
    assert bad.status_code == 400 and "kan ikke være færre" in bad.text
    assert (await Cohort.select(Cohort.capacity).where(Cohort.id == cohort["id"]).first())["capacity"] == 24
    ok = await post_form(demo_client, f"/cohorts/{cohort['id']}/places", {"capacity": "30"})
    assert ok.status_code == 303
    assert (await Cohort.select(Cohort.capacity).where(Cohort.id == cohort["id"]).first())["capacity"] == 30
