"""The partnership's programme settings page: closed periods and instructors' modules."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access, clock
from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import User
from intro.planning import programme
from intro.tables import Partnership, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

PLANNERS = requires(Role.coordinator)
NOTICES = {
    "period_added": _("Lukkeperioden er tilføjet. Nye forslag til planer springer den over."),
    "period_removed": _("Lukkeperioden er fjernet."),
    "qualified": _("Underviserens moduler er gemt."),
}


async def _page(partnership_id: int, form: dict, errors: dict, notice: str | None, status: int = 200) -> Template:
    partnership = await Partnership.select(Partnership.name).where(Partnership.id == partnership_id).first()
    today = clock.today()
    return Template(
        "programme/settings.html",
        context={
            "partnership_id": partnership_id,
            "partnership_name": partnership["name"],
            "periods": await programme.closed_periods(partnership_id, since=today),
            "instructors": await programme.instructors(partnership_id),
            "modules": await programme.module_codes(partnership_id),
            "form": form,
            "errors": errors,
            "notice": NOTICES.get(notice or ""),
        },
        status_code=status,
    )


@get("/partnerships/{partnership_id:int}/programme", guards=[PLANNERS], name="programme")
async def programme_page(
    request: Request[User, None, None], partnership_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    return await _page(access.partnership_to_coordinate(request.user, partnership_id), {}, {}, notice)


@post("/partnerships/{partnership_id:int}/closed-periods", guards=[PLANNERS], name="closed_period_add")
async def closed_period_add(
    request: Request[User, None, None], partnership_id: FromPath[int], data: FormData
) -> Template | Redirect:
    partnership_id = access.partnership_to_coordinate(request.user, partnership_id)
    try:
        await programme.add_closed_period(
            request.user.id, partnership_id, forms.value(data, "name"),
            forms.course_day(data, "start_date"), forms.course_day(data, "end_date"),
        )
    except Invalid as invalid:
        return await _page(partnership_id, forms.for_page(data), invalid.errors, None, 400)
    return Redirect(f"/partnerships/{partnership_id}/programme?notice=period_added", status_code=303)


@post(
    "/partnerships/{partnership_id:int}/closed-periods/{period_id:int}/remove",
    guards=[PLANNERS],
    name="closed_period_remove",
)
async def closed_period_remove(
    request: Request[User, None, None], partnership_id: FromPath[int], period_id: FromPath[int]
) -> Redirect:
    partnership_id = access.partnership_to_coordinate(request.user, partnership_id)
    await programme.remove_closed_period(request.user.id, partnership_id, period_id)
    return Redirect(f"/partnerships/{partnership_id}/programme?notice=period_removed", status_code=303)


@post(
    "/partnerships/{partnership_id:int}/instructors/{person_id:int}/qualifications",
    guards=[PLANNERS],
    name="qualifications",
)
async def qualifications(
    request: Request[User, None, None], partnership_id: FromPath[int], person_id: FromPath[int], data: FormData
) -> Template | Redirect:
    partnership_id = access.partnership_to_coordinate(request.user, partnership_id)
    codes = forms.values(data, "codes")
    try:
        await programme.set_qualifications(request.user.id, partnership_id, person_id, codes)
    except Invalid as invalid:
        return await _page(partnership_id, {}, invalid.errors, None, 400)
    return Redirect(f"/partnerships/{partnership_id}/programme?notice=qualified#instructor-{person_id}", status_code=303)


ROUTES = [programme_page, closed_period_add, closed_period_remove, qualifications]
