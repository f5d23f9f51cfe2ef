"""The chief's template of local onboarding tasks, and that changes reach the plans."""

from __future__ import annotations

from intro.tables import AuditLog, LocalTaskTemplate, Municipality, Person, PlanItem
from tests.conftest import login, post_form


async def _naestved() -> int:
    return (await Municipality.select(Municipality.id).where(Municipality.code == "370").first())["id"]


async def test_a_new_task_reaches_the_new_hires_plans(demo_client):
    naestved = await _naestved()
    sara = (await Person.select(Person.id).where(Person.email == "deltager@intro.example").first())["id"]
    await login(demo_client, "chef.naestved@intro.example")
    page = await demo_client.get(f"/municipalities/{naestved}/tasks")
    assert page.status_code == 200 and "Lokale opgaver i Næstved" in page.text
    response = await post_form(
        demo_client, f"/municipalities/{naestved}/tasks",
        {"title": "Besøg borgerservice", "description": "Se hvordan borgerne møder kommunen.", "due_after_days": "10"},
    )
    assert response.status_code == 303
    task = await LocalTaskTemplate.select(LocalTaskTemplate.id).where(LocalTaskTemplate.title == "Besøg borgerservice").first()
    item = await PlanItem.select().where((PlanItem.person == sara) & (PlanItem.source_key == f"task:{task['id']}")).first()
    assert item is not None and item["status"] == "open"
    assert await AuditLog.exists().where(AuditLog.action == "task_template.add")

    # A later due date moves the item; retiring the task drops it while open.
    await post_form(demo_client, f"/municipalities/{naestved}/tasks/{task['id']}", {"title": "Besøg borgerservice", "due_after_days": "20"})
    moved = await PlanItem.select(PlanItem.due_date).where(PlanItem.id == item["id"]).first()
    assert (moved["due_date"] - item["due_date"]).days == 10
    await post_form(demo_client, f"/municipalities/{naestved}/tasks/{task['id']}/active", {"active": "0"})
    assert (await PlanItem.select(PlanItem.status).where(PlanItem.id == item["id"]).first())["status"] == "dropped"


async def test_bad_task_input_names_the_field(demo_client):
    naestved = await _naestved()
    await login(demo_client, "chef.naestved@intro.example")
    before = await LocalTaskTemplate.count()
    response = await post_form(demo_client, f"/municipalities/{naestved}/tasks", {"title": "", "due_after_days": "-3"})
    assert response.status_code == 400
    assert 'id="f-title-error"' in response.text and 'id="f-due_after_days-error"' in response.text
    assert await LocalTaskTemplate.count() == before


async def test_another_municipalitys_chief_cannot_touch_the_template(demo_client):
    naestved = await _naestved()
    task = await LocalTaskTemplate.select(LocalTaskTemplate.id, LocalTaskTemplate.title).where(LocalTaskTemplate.municipality == naestved).first()
    await login(demo_client, "chef.slagelse@intro.example")
    assert (await demo_client.get(f"/municipalities/{naestved}/tasks")).status_code == 404
    refused = await post_form(demo_client, f"/municipalities/{naestved}/tasks/{task['id']}", {"title": "Hacket", "due_after_days": "1"})
    assert refused.status_code == 404
    assert (await LocalTaskTemplate.select(LocalTaskTemplate.title).where(LocalTaskTemplate.id == task["id"]).first())["title"] == task["title"]
