"""A municipality's local onboarding tasks: the template every new hire's plan gets,
with due dates counted from the employment start. Kept by the municipality's chief;
changes flow into existing plans."""

from __future__ import annotations

from intro import audit
from intro.db import write_transaction
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.participation import plan
from intro.tables import LocalTaskTemplate


async def task_list(municipality_id: int) -> list[dict]:
    return await LocalTaskTemplate.select().where(LocalTaskTemplate.municipality == municipality_id).order_by(
        LocalTaskTemplate.due_after_days
    ).order_by(LocalTaskTemplate.position)


def _read(form: dict) -> tuple[str, str, int]:
    title = str(form.get("title", "")).strip()
    description = str(form.get("description", "")).strip()
    errors = {}
    if not title:
        errors["title"] = _("Skriv opgavens titel, fx «Mød dit team».")
    elif len(title) > 200:
        errors["title"] = _("Titlen må højst være 200 tegn.")
    if len(description) > 2000:
        errors["description"] = _("Beskrivelsen må højst være 2000 tegn.")
    raw = str(form.get("due_after_days", "")).strip()
    try:
        days = int(raw)
        if not 0 <= days <= 365:
            raise ValueError
    except ValueError:
        errors["due_after_days"] = _("Skriv antal dage efter ansættelsens start, fra 0 til 365.")
        days = 0
    if errors:
        raise Invalid(errors)
    return title, description, days


async def add_task(actor_id: int, municipality_id: int, form: dict) -> int:
    title, description, days = _read(form)
    async with write_transaction(LocalTaskTemplate._meta.db):
        row = await LocalTaskTemplate.insert(
            LocalTaskTemplate(municipality=municipality_id, title=title, description=description, due_after_days=days)
        ).returning(LocalTaskTemplate.id)
        await audit.record(actor_id, "task_template.add", "municipality", municipality_id, title=title, days=days)
    await plan.sync_municipality(municipality_id)
    return row[0]["id"]


async def _own(municipality_id: int, task_id: int) -> dict:
    task = await LocalTaskTemplate.select().where(
        (LocalTaskTemplate.id == task_id) & (LocalTaskTemplate.municipality == municipality_id)
    ).first()
    if task is None:
        raise NotFound()
    return task


async def update_task(actor_id: int, municipality_id: int, task_id: int, form: dict) -> None:
    await _own(municipality_id, task_id)
    title, description, days = _read(form)
    async with write_transaction(LocalTaskTemplate._meta.db):
        await LocalTaskTemplate.update(
            {LocalTaskTemplate.title: title, LocalTaskTemplate.description: description,
             LocalTaskTemplate.due_after_days: days}
        ).where(LocalTaskTemplate.id == task_id)
        await audit.record(actor_id, "task_template.update", "municipality", municipality_id, task=task_id, title=title, days=days)
    await plan.sync_municipality(municipality_id)


async def set_task_active(actor_id: int, municipality_id: int, task_id: int, active: bool) -> None:
    """A retired task leaves open plan items (done ones stay, as history)."""
    await _own(municipality_id, task_id)
    async with write_transaction(LocalTaskTemplate._meta.db):
        await LocalTaskTemplate.update({LocalTaskTemplate.is_active: active}).where(LocalTaskTemplate.id == task_id)
        await audit.record(actor_id, "task_template.active", "municipality", municipality_id, task=task_id, active=active)
    await plan.sync_municipality(municipality_id)
