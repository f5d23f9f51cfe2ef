"""Building and keeping a new hire's intro plan."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from intro import clock
from intro.participation import enrolment, plan
from intro.participation.plan import ItemSpec, ModuleFact, SessionFact, TaskFact, desired_items
from intro.planning import cohort_forms, cohorts
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import (
    Cohort,
    Enrolment,
    LocalTaskTemplate,
    Municipality,
    Person,
    PlanItem,
    RoleGrant,
    Session,
)
from intro.timefmt import local
from tests.cohort_rows import cohort_or_404

# Reads the date: also run at every pinned day (make test-days).
pytestmark = pytest.mark.days

# ----------------------------------------------------------------- pure


def test_desired_items_from_sessions_modules_and_tasks():
    sessions = [
        SessionFact(1, 10, 100, "Loven", 1, 1, date(2027, 3, 2), False),
        SessionFact(2, 10, 101, "Samtalen", 1, 2, date(2027, 3, 9), False),
        SessionFact(3, 10, 101, "Samtalen", 2, 2, date(2027, 3, 10), False),
        SessionFact(4, 10, 102, "Aflyst", 1, 1, date(2027, 3, 16), True),
    ]
    modules = {10: [ModuleFact(100, "LOV-1", "Kortlæg"), ModuleFact(101, "SAM-1", "Spørg"), ModuleFact(102, "X-1", "Ny")]}
    tasks = [TaskFact(7, "Mød dit team", "", 7)]
    items = {i.source_key: i for i in desired_items(
        enrolments={10: 55}, sessions=sessions, modules_by_cohort=modules, tasks=tasks, employment_start=date(2027, 2, 1)
    )}
    assert set(items) == {"session:1", "session:2", "session:3", "transfer:10:LOV-1", "transfer:10:SAM-1", "transfer:10:X-1", "task:7"}
    assert items["session:2"].title == "Samtalen (1/2)"
    # Due the day before the next course day; the last module gets two weeks.
    assert items["transfer:10:LOV-1"].due_date == date(2027, 3, 8)
    assert items["transfer:10:SAM-1"].due_date == date(2027, 3, 24)
    assert items["transfer:10:X-1"].due_date is None  # its only day was cancelled
    assert items["task:7"].due_date == date(2027, 2, 8)
    assert items["session:1"] == ItemSpec("session:1", "session", "Loven", date(2027, 3, 2), 55, 1, 100)


def test_no_employment_start_means_no_local_tasks_yet():
    items = desired_items(enrolments={}, sessions=[], modules_by_cohort={}, tasks=[TaskFact(1, "T", "", 3)], employment_start=None)
    assert items == []


# ----------------------------------------------------------------- with the database


async def test_enrolment_builds_the_plan_and_timetable_changes_flow_in(demo_db):
    hold_b = await Cohort.select(Cohort.id).where(Cohort.status == "active").first()
    person = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    items = await PlanItem.select().where(PlanItem.person == person)
    kinds = {i["kind"] for i in items}
    assert kinds == {"session", "transfer", "local_task"}  # Næstved has a task template
    assert sum(1 for i in items if i["kind"] == "session") == await Session.count().where(Session.cohort == hold_b["id"])

    # The person ticks off a task and answers a transfer; then the timetable moves.
    task = next(i for i in items if i["kind"] == "local_task")
    await PlanItem.update({PlanItem.status: "done", PlanItem.done_at: clock.now()}).where(PlanItem.id == task["id"])
    future = await Session.select().where((Session.cohort == hold_b["id"]) & (Session.starts_at > clock.now())).order_by(Session.starts_at).first()
    cohort = await cohort_or_404(hold_b["id"])
    new_day = local(future["starts_at"]).date() + timedelta(days=1)
    change = await cohort_forms.read_session_form(
        SessionRow.from_row(future), CohortRow.from_row(cohort), {"date": new_day.isoformat(), "start": "09:00", "end": "15:00", "venue": str(future["venue"] or ""), "reason": "Flyttet"}
    )
    await cohorts.change_session(1, SessionRow.from_row(future), CohortRow.from_row(cohort), change)
    moved = await PlanItem.select().where((PlanItem.person == person) & (PlanItem.session == future["id"])).first()
    assert moved["due_date"] == new_day
    assert (await PlanItem.select(PlanItem.status).where(PlanItem.id == task["id"]).first())["status"] == "done"

    # A cancelled day drops its open item; syncing again changes nothing.
    await cohorts.cancel_session(1, SessionRow.from_row(await Session.select().where(Session.id == future["id"]).first()), "Aflyst")
    gone = await PlanItem.select(PlanItem.status).where((PlanItem.person == person) & (PlanItem.session == future["id"])).first()
    assert gone["status"] == "dropped"
    assert await plan.sync_plan(person) == {"added": 0, "updated": 0, "dropped": 0}


async def test_a_changed_task_template_reaches_existing_plans(demo_db):
    naestved = (await Municipality.select(Municipality.id).where(Municipality.code == "370").first())["id"]
    person = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    row = (await LocalTaskTemplate.insert(
        LocalTaskTemplate(municipality=naestved, title="Besøg borgerservice", due_after_days=30)
    ).returning(LocalTaskTemplate.id))[0]["id"]
    await plan.sync_municipality(naestved)
    assert await PlanItem.exists().where((PlanItem.person == person) & (PlanItem.source_key == f"task:{row}"))
    await LocalTaskTemplate.update({LocalTaskTemplate.is_active: False}).where(LocalTaskTemplate.id == row)
    await plan.sync_municipality(naestved)
    item = await PlanItem.select(PlanItem.status).where((PlanItem.person == person) & (PlanItem.source_key == f"task:{row}")).first()
    assert item["status"] == "dropped"


async def test_withdrawal_drops_open_items_but_keeps_what_was_done(demo_db):
    person = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    row = await Enrolment.select(Enrolment.id, Enrolment.cohort).where(Enrolment.person == person).first()
    done = await PlanItem.select(PlanItem.id).where((PlanItem.person == person) & (PlanItem.kind == "session")).first()
    await PlanItem.update({PlanItem.status: "done", PlanItem.done_at: clock.now()}).where(PlanItem.id == done["id"])
    cohort_items = (PlanItem.person == person) & (PlanItem.kind != "local_task")
    before = {i["id"]: i["status"] for i in await PlanItem.select(PlanItem.id, PlanItem.status).where(cohort_items)}
    await enrolment.withdraw(1, row["id"], "Fratrådt")
    after = {i["id"]: i["status"] for i in await PlanItem.select(PlanItem.id, PlanItem.status).where(cohort_items)}
    assert after[done["id"]] == "done"
    for item_id, status in before.items():
        assert after[item_id] == ("done" if status == "done" else "dropped")
    grant = await RoleGrant.exists().where((RoleGrant.person == person) & (RoleGrant.role == "participant"))
    assert grant
