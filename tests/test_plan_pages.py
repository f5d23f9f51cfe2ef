"""Mit introforløb: the participant's own pages, and that nobody else's can be reached."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from intro import clock
from intro.demo.west_zealand import DEMO_PASSWORD
from intro.people import accounts
from intro.tables import (
    AuditLog,
    Municipality,
    Person,
    PlanItem,
    Reflection,
    SelfAssessment,
    Session,
)
from tests.conftest import login, post_form

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

SARA = "deltager@intro.example"


async def _sara() -> int:
    return (await Person.select(Person.id).where(Person.email == SARA).first())["id"]


async def _someone_else() -> int:
    row = await PlanItem.select(PlanItem.person).where(PlanItem.person != await _sara()).first()
    return row["person"]


async def test_the_plan_page_shows_next_day_overdue_and_progress(demo_client):
    await login(demo_client, SARA)
    page = await demo_client.get("/plan")
    assert page.status_code == 200
    assert "Mit introforløb" in page.text and "Næste kursusdag" in page.text
    assert "<progress" in page.text and "Lovgivning" in page.text


async def test_ticking_off_a_task_with_htmx_and_without(demo_client):
    sara = await _sara()
    task = await PlanItem.select(PlanItem.id).where(
        (PlanItem.person == sara) & (PlanItem.kind == "local_task") & (PlanItem.status == "open")
    ).first()
    if task is None:  # the demo may have ticked them all: reopen one
        task = await PlanItem.select(PlanItem.id).where((PlanItem.person == sara) & (PlanItem.kind == "local_task")).first()
        await PlanItem.update({PlanItem.status: "open", PlanItem.done_at: None}).where(PlanItem.id == task["id"])
    await login(demo_client, SARA)
    fragment = await post_form(demo_client, f"/plan/items/{task['id']}/done", {"done": "1"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Gjort" in fragment.text
    assert (await PlanItem.select(PlanItem.status).where(PlanItem.id == task["id"]).first())["status"] == "done"
    undo = await post_form(demo_client, f"/plan/items/{task['id']}/done", {"done": "0"})
    assert undo.status_code == 303
    assert (await PlanItem.select(PlanItem.status).where(PlanItem.id == task["id"]).first())["status"] == "open"
    assert await AuditLog.exists().where((AuditLog.action == "plan.task_done") & (AuditLog.actor == sara))


async def test_answering_a_transfer_assignment(demo_client):
    sara = await _sara()
    item = await PlanItem.select(PlanItem.id).where((PlanItem.person == sara) & (PlanItem.kind == "transfer")).first()
    await login(demo_client, SARA)
    form = await demo_client.get(f"/plan/items/{item['id']}/answer")
    assert form.status_code == 200 and "Hvad prøvede du af" in form.text
    bad = await post_form(demo_client, f"/plan/items/{item['id']}/answer", {"answer_tried": "", "answer_outcome": "x"})
    assert bad.status_code == 400
    assert 'id="f-answer_tried-error"' in bad.text and 'id="f-shared"' in bad.text
    ok = await post_form(
        demo_client, f"/plan/items/{item['id']}/answer",
        {"answer_tried": "Åbne spørgsmål i to samtaler", "answer_outcome": "Borgeren fortalte mere", "shared": "yes"},
    )
    assert ok.status_code == 303
    row = await PlanItem.select().where(PlanItem.id == item["id"]).first()
    assert row["status"] == "done" and row["shared_with_colleagues"] is True and row["answered_at"]


async def test_reflections_and_self_assessment(demo_client):
    sara = await _sara()
    await login(demo_client, SARA)
    assert (await post_form(demo_client, "/plan/reflections", {"body": "  "})).status_code == 400
    assert (await post_form(demo_client, "/plan/reflections", {"body": "God dag om loven"})).status_code == 303
    assert await Reflection.exists().where((Reflection.person == sara) & (Reflection.body == "God dag om loven"))

    page = await demo_client.get("/plan/self-assessment?phase=midway")
    assert page.status_code == 200
    keys = sorted(set(re.findall(r'name="(c\d+)"', page.text)))
    assert keys
    partial = {k: "3" for k in keys[:-1]}
    refused = await post_form(demo_client, "/plan/self-assessment/midway", partial)
    assert refused.status_code == 400 and f'id="f-{keys[-1]}"' in refused.text
    assert await SelfAssessment.count().where((SelfAssessment.person == sara) & (SelfAssessment.phase == "midway")) == 0
    saved = await post_form(demo_client, "/plan/self-assessment/midway", {k: "4" for k in keys})
    assert saved.status_code == 303
    assert await SelfAssessment.count().where((SelfAssessment.person == sara) & (SelfAssessment.phase == "midway")) == len(keys)


async def test_no_one_reaches_another_persons_plan_by_any_id(demo_client):
    other = await _someone_else()
    theirs = await PlanItem.select(PlanItem.id, PlanItem.kind).where(PlanItem.person == other)
    task = next(i for i in theirs if i["kind"] == "local_task") if any(i["kind"] == "local_task" for i in theirs) else theirs[0]
    transfer = next(i for i in theirs if i["kind"] == "transfer")
    await login(demo_client, SARA)
    assert (await demo_client.get(f"/plan/items/{transfer['id']}/answer")).status_code == 404
    answer = await post_form(
        demo_client, f"/plan/items/{transfer['id']}/answer",
        {"answer_tried": "x", "answer_outcome": "y", "shared": "no"},
    )
    assert answer.status_code == 404
    assert (await post_form(demo_client, f"/plan/items/{task['id']}/done", {"done": "1"})).status_code == 404
    row = await PlanItem.select(PlanItem.answer_tried).where(PlanItem.id == transfer["id"]).first()
    assert row["answer_tried"] != "x"
    # A form field naming someone else changes nothing either: the person is always the signed-in one.
    await post_form(demo_client, "/plan/reflections", {"body": "Mit eget", "person": str(other)})
    assert not await Reflection.exists().where((Reflection.person == other) & (Reflection.body == "Mit eget"))


async def test_a_participant_without_a_cohort_gets_an_empty_plan(demo_client):
    naestved = (await Municipality.select(Municipality.id).where(Municipality.code == "370").first())["id"]
    person = await accounts.create_person(None, "ny@intro.example", "Ny Nielsen", DEMO_PASSWORD)
    await accounts.grant_role(None, person, "participant", municipality_id=naestved)
    await login(demo_client, "ny@intro.example")
    page = await demo_client.get("/plan")
    assert page.status_code == 200 and "ikke sat op endnu" in page.text
    assert (await demo_client.get("/plan/self-assessment")).status_code == 200


async def test_a_course_day_that_is_over_is_no_longer_the_next_one(demo_client):
    sara = await _sara()
    items = await PlanItem.select(PlanItem.session).where(
        (PlanItem.person == sara) & (PlanItem.kind == "session") & PlanItem.session.is_not_null()
    )
    # Days not over yet: on a course day, today's day (under way) is the first of them.
    upcoming = await Session.select(Session.id, Session.starts_at).where(
        Session.id.is_in([i["session"] for i in items]) & (Session.ends_at > clock.now())
    ).order_by(Session.starts_at)
    first, second = upcoming[0], upcoming[1]
    now = clock.now()
    # The first one was held earlier today and is over.
    await Session.update({Session.starts_at: now - timedelta(hours=3), Session.ends_at: now - timedelta(minutes=5)}).where(
        Session.id == first["id"]
    )
    await login(demo_client, SARA)
    page = await demo_client.get("/plan")
    section = page.text.split('id="next-heading"', 1)[1].split("</section>", 1)[0]
    second_title = (await PlanItem.select(PlanItem.title).where((PlanItem.person == sara) & (PlanItem.session == second["id"])).first())["title"]
    assert second_title in section
