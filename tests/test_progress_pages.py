"""The progress grid as a coordinator uses it (issue 18 §3): who falls behind, most
urgent first; names that lead to the person; no symbol that needs a special font."""

from __future__ import annotations

import re

from intro.participation import follow_up
from intro.participation.progress import urgency
from intro.planning.rows import CohortRow
from intro.tables import Attendance, Cohort, Enrolment, Session
from tests.conftest import login

COORDINATOR = "koordinator@intro.example"


async def _active() -> dict:
    return await Cohort.select().where(Cohort.status == "active").output(load_json=True).first()


async def test_the_behind_list_is_ranked_by_urgency_and_names_lead_to_the_person(demo_client):
    cohort = await _active()
    # One more person misses the first day, with nothing booked.
    grid = await follow_up.cohort_grid(CohortRow.from_row(cohort))
    last = sorted(grid["rows"], key=lambda r: r["full_name"])[-1]
    first = await Session.select().where(Session.cohort == cohort["id"]).order_by(Session.starts_at).first()
    await Attendance.update({Attendance.status: "absent"}).where(
        (Attendance.session == first["id"]) & (Attendance.person == last["person"])
    )
    await login(demo_client, COORDINATOR)
    page = await demo_client.get(f"/cohorts/{cohort['id']}/progress")
    assert page.status_code == 200
    listed = re.search(r'<ol class="behind-list">(.*?)</ol>', page.text, re.S).group(1)
    ids = [int(i) for i in re.findall(rf'href="/cohorts/{cohort["id"]}/progress/(\d+)"', listed)]
    rows = {r["id"]: r for r in (await follow_up.cohort_grid(CohortRow.from_row(cohort)))["rows"]}
    keys = [urgency(rows[i]["behind"]) for i in ids]
    assert keys == sorted(keys, reverse=True), "most urgent first"
    # Everyone with a module missed and nothing booked comes before everyone without.
    urgent = [any(b.reason == "missed_session" for b in rows[i]["behind"]) for i in ids]
    assert urgent == sorted(urgent, reverse=True) and last["id"] in ids[: urgent.count(True)]
    assert listed.count("Haster") == urgent.count(True)
    # Every name in the grid links to that person's page, and the page spells the row out.
    grid_names = re.findall(rf'<th scope="row" class="sticky-start"><a href="/cohorts/{cohort["id"]}/progress/(\d+)"', page.text)
    assert sorted(int(i) for i in grid_names) == sorted(rows)
    person = await demo_client.get(f"/cohorts/{cohort['id']}/progress/{last['id']}")
    assert person.status_code == 200 and last["full_name"] in person.text
    assert "Mangler at indhente" in person.text and "Fraværende" in person.text


async def test_the_grid_needs_no_special_font_and_says_its_plurals_right(demo_client):
    cohort = await _active()
    await login(demo_client, COORDINATOR)
    page = await demo_client.get(f"/cohorts/{cohort['id']}/progress")
    assert "⌛" not in page.text and "1 lokale opgaver" not in page.text
    assert 'class="num sticky-end"' in page.text


async def test_a_person_outside_the_cohort_or_out_of_sight_is_not_found(demo_client):
    cohort = await _active()
    other = await Enrolment.select(Enrolment.id).where(Enrolment.cohort != cohort["id"]).first()
    await login(demo_client, COORDINATOR)
    assert (await demo_client.get(f"/cohorts/{cohort['id']}/progress/{other['id']}")).status_code == 404
    # Slagelse's chief sees Slagelse's people only.
    naestved = await Enrolment.select(Enrolment.id).where(
        (Enrolment.cohort == cohort["id"]) & (Enrolment.municipality.code == "370")
    ).first()
    await login(demo_client, "chef.slagelse@intro.example")
    assert (await demo_client.get(f"/cohorts/{cohort['id']}/progress/{naestved['id']}")).status_code == 404
