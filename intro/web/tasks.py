"""The chief keeps the municipality's local onboarding tasks."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid
from intro.i18n import _
from intro.participation import tasks
from intro.people.accounts import User
from intro.tables import Municipality, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

CHIEFS = requires(Role.chief)
NOTICES = {
    "saved": _("Opgaven er gemt. De nyansattes planer er opdateret."),
    "retired": _("Opgaven er taget ud af skabelonen. Åbne opgaver er fjernet fra planerne; gjorte opgaver står stadig."),
    "restored": _("Opgaven er med i skabelonen igen."),
}


async def _page(municipality_id: int, errors: dict, form: dict, notice: str | None, status: int = 200, edit: int | None = None) -> Template:
    municipality = await Municipality.select(Municipality.name).where(Municipality.id == municipality_id).first()
    return Template(
        "tasks/template.html",
        context={
            "municipality_id": municipality_id,
            "municipality_name": municipality["name"],
            "tasks": await tasks.task_list(municipality_id),
            "errors": errors,
            "form": form,
            "edit": edit,
            "notice": NOTICES.get(notice or ""),
        },
        status_code=status,
    )


@get("/municipalities/{municipality_id:int}/tasks", guards=[CHIEFS], name="task_template")
async def task_page(
    request: Request[User, None, None], municipality_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    return await _page(access.municipality_to_lead(request.user, municipality_id), {}, {"due_after_days": "7"}, notice)


@post("/municipalities/{municipality_id:int}/tasks", guards=[CHIEFS], name="task_add")
async def task_add(request: Request[User, None, None], municipality_id: FromPath[int], data: FormData) -> Template | Redirect:
    municipality_id = access.municipality_to_lead(request.user, municipality_id)
    try:
        await tasks.add_task(request.user.id, municipality_id, data)
    except Invalid as invalid:
        return await _page(municipality_id, invalid.errors, forms.for_page(data), None, 400)
    return Redirect(f"/municipalities/{municipality_id}/tasks?notice=saved", status_code=303)


@post("/municipalities/{municipality_id:int}/tasks/{task_id:int}", guards=[CHIEFS], name="task_update")
async def task_update(
    request: Request[User, None, None], municipality_id: FromPath[int], task_id: FromPath[int], data: FormData
) -> Template | Redirect:
    municipality_id = access.municipality_to_lead(request.user, municipality_id)
    try:
        await tasks.update_task(request.user.id, municipality_id, task_id, data)
    except Invalid as invalid:
        return await _page(municipality_id, invalid.errors, forms.for_page(data), None, 400, edit=task_id)
    return Redirect(f"/municipalities/{municipality_id}/tasks?notice=saved", status_code=303)


@post("/municipalities/{municipality_id:int}/tasks/{task_id:int}/active", guards=[CHIEFS], name="task_active")
async def task_active(
    request: Request[User, None, None], municipality_id: FromPath[int], task_id: FromPath[int], data: FormData
) -> Redirect:
    municipality_id = access.municipality_to_lead(request.user, municipality_id)
    active = forms.flag(data, "active")
    await tasks.set_task_active(request.user.id, municipality_id, task_id, active)
    return Redirect(f"/municipalities/{municipality_id}/tasks?notice={'restored' if active else 'retired'}", status_code=303)


ROUTES = [task_page, task_add, task_update, task_active]
