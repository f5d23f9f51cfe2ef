"""An instructor's own calendars of busy times: add an iCal address or an .ics file,
read it again, remove it, and check the busy times Intro found."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import User
from intro.planning import busy
from intro.tables import Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData, Upload

INSTRUCTORS = requires(Role.instructor)
PAGE = "/me/calendars"
COMING_DAYS = 14
# The file may be 5 MB; the form around it adds a little.
UPLOAD_BODY_LIMIT = busy.MAX_BYTES + 64 * 1024

NOTICES = {
    "added": _("Kalenderen er tilføjet og læst. Tjek dine optagede tider nedenfor."),
    "refreshed": _("Kalenderen er læst igen."),
    "removed": _("Kalenderen er fjernet. Dens optagede tider gælder ikke længere."),
}
WARNINGS = {
    "refresh_failed": _(
        "Kalenderen kunne ikke læses igen; fejlen står i tabellen. Intro bruger stadig "
        "de optagede tider fra sidste gang, den blev læst."
    ),
}


async def _page(user: User, form: dict, errors: dict, notice: str | None, status: int = 200) -> Template:
    return Template(
        "busy/calendars.html",
        context={
            "calendars": await busy.calendars_of(user.id),
            "busy_times": await busy.coming_busy_times(user.id, days=COMING_DAYS),
            "coming_days": COMING_DAYS,
            "max_calendars": busy.MAX_CALENDARS_PER_PERSON,
            "form": form,
            "errors": errors,
            "notice": NOTICES.get(notice or ""),
            "warning": WARNINGS.get(notice or ""),
        },
        status_code=status,
    )


async def _file_text(data: dict[str, Any]) -> str:
    """The uploaded file's text; Invalid({"ics": ...}) when there is none or it is too big."""
    upload = data.get("ics")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid({"ics": _("Vælg en .ics-fil med din kalender.")})
    content = await upload.read(busy.MAX_BYTES + 1)
    await upload.close()
    if len(content) > busy.MAX_BYTES:
        raise Invalid({"ics": _("Filen er større end 5 MB. Eksportér en kortere periode.")})
    if not content.strip():
        raise Invalid({"ics": _("Filen er tom.")})
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Windows exports; anything that is not a calendar is refused when read.
        return content.decode("cp1252", errors="replace")


@get(PAGE, guards=[INSTRUCTORS], name="busy_calendars")
async def calendars_page(request: Request[User, None, None], notice: FromQuery[str | None] = None) -> Template:
    return await _page(request.user, {}, {}, notice)


@post(f"{PAGE}/url", guards=[INSTRUCTORS], name="busy_calendar_add_url")
async def calendar_add_url(request: Request[User, None, None], data: FormData) -> Template | Redirect:
    url = forms.value(data, "url")[:2000]
    try:
        await busy.add_calendar(request.user.id, request.user.id, url=url or None)
    except Invalid as invalid:
        errors = invalid.errors if "url" in invalid.errors else {"url": next(iter(invalid.errors.values()))}
        return await _page(request.user, {"url": url}, errors, None, 400)
    return Redirect(f"{PAGE}?notice=added", status_code=303)


@post(
    f"{PAGE}/file",
    guards=[INSTRUCTORS],
    name="busy_calendar_add_file",
    request_max_body_size=UPLOAD_BODY_LIMIT,
)
async def calendar_add_file(request: Request[User, None, None], data: Upload) -> Template | Redirect:
    try:
        text = await _file_text(data)
        await busy.add_calendar(request.user.id, request.user.id, ics_text=text)
    except Invalid as invalid:
        errors = invalid.errors if "ics" in invalid.errors else {"ics": next(iter(invalid.errors.values()))}
        return await _page(request.user, {}, errors, None, 400)
    return Redirect(f"{PAGE}?notice=added", status_code=303)


@post(f"{PAGE}/{{calendar_id:int}}/refresh", guards=[INSTRUCTORS], name="busy_calendar_refresh")
async def calendar_refresh(request: Request[User, None, None], calendar_id: FromPath[int]) -> Redirect:
    calendar = await busy.calendar_of(request.user.id, calendar_id)
    try:
        await busy.refresh_calendar(calendar["id"], actor_id=request.user.id)
    except Invalid:
        return Redirect(f"{PAGE}?notice=refresh_failed#calendar-{calendar_id}", status_code=303)
    return Redirect(f"{PAGE}?notice=refreshed#calendar-{calendar_id}", status_code=303)


@post(f"{PAGE}/{{calendar_id:int}}/remove", guards=[INSTRUCTORS], name="busy_calendar_remove")
async def calendar_remove(request: Request[User, None, None], calendar_id: FromPath[int]) -> Redirect:
    await busy.remove_calendar(request.user.id, request.user.id, calendar_id)
    return Redirect(f"{PAGE}?notice=removed", status_code=303)


ROUTES = [calendars_page, calendar_add_url, calendar_add_file, calendar_refresh, calendar_remove]
