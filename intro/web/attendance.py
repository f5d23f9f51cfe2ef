"""Taking attendance (one tap per person, made for a tablet) and booking catch-ups."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.participation import attendance
from intro.people.accounts import User
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import Role, Session
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

TAKERS = requires(Role.coordinator, Role.instructor)
PLANNERS = requires(Role.coordinator)


async def _session_to_register(user: User, session_id: int) -> tuple[SessionRow, dict]:
    """A session whose attendance this user takes: its partnership's coordinator, or an
    instructor teaching it. Anyone else: not found. Returns the row and the page's view of
    it: the row's columns with module_code, module_title, cohort_name and venue_name."""
    shown = await Session.select(
        *Session.all_columns(),
        Session.module.code.as_alias("module_code"),
        Session.module.title.as_alias("module_title"),
        Session.cohort.name.as_alias("cohort_name"),
        Session.venue.name.as_alias("venue_name"),
    ).where(Session.id == session_id).first()
    if shown is None:
        raise NotFound()
    session = SessionRow.from_row(shown)
    if not await access.may_take_attendance(user, session):
        raise NotFound()
    return session, shown


@get("/sessions/{session_id:int}/attendance", guards=[TAKERS], name="attendance")
async def attendance_page(request: Request[User, None, None], session_id: FromPath[int]) -> Template:
    session, shown = await _session_to_register(request.user, session_id)
    return Template(
        "attendance/sheet.html",
        context={
            "session": shown,
            "people": await attendance.sheet(session),
            "open": attendance.may_record_on(session) and session.is_scheduled,
            "status_names": attendance.STATUS_NAMES,
            "errors": {},
        },
    )


@post("/sessions/{session_id:int}/attendance", guards=[TAKERS], name="attendance_mark")
async def attendance_mark(
    request: Request[User, None, None], session_id: FromPath[int], data: FormData
) -> Template | Redirect | Response:
    session, shown = await _session_to_register(request.user, session_id)
    person_id = forms.optional_id(data, "person") or 0
    try:
        await attendance.mark(request.user.id, session, person_id, forms.value(data, "status"))
    except Invalid as invalid:
        if request.headers.get("hx-request"):
            # htmx swaps only successful answers: show the message in the row itself.
            person = next((p for p in await attendance.sheet(session) if p["person"] == person_id), None)
            if person is None:
                return Response(next(iter(invalid.errors.values())), status_code=400, media_type="text/plain")
            return Template(
                "attendance/_row.html",
                context={
                    "session": shown, "p": person, "open": attendance.may_record_on(session) and session.is_scheduled,
                    "status_names": attendance.STATUS_NAMES, "error": next(iter(invalid.errors.values())),
                },
            )
        return Template(
            "attendance/sheet.html",
            context={
                "session": shown,
                "people": await attendance.sheet(session),
                "open": attendance.may_record_on(session) and session.is_scheduled,
                "status_names": attendance.STATUS_NAMES,
                "errors": invalid.errors,
            },
            status_code=400,
        )
    if request.headers.get("hx-request"):
        person = next(p for p in await attendance.sheet(session) if p["person"] == person_id)
        return Template(
            "attendance/_row.html",
            context={"session": shown, "p": person, "open": True, "status_names": attendance.STATUS_NAMES},
        )
    return Redirect(f"/sessions/{session_id}/attendance#person-{person_id}", status_code=303)


@get("/cohorts/{cohort_id:int}/catch-up", guards=[PLANNERS], name="catch_up")
async def catch_up_page(
    request: Request[User, None, None], cohort_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    cohort = await access.cohort_to_manage(request.user, cohort_id)
    return await _catch_up_page(cohort, {}, notice)


async def _catch_up_page(cohort: CohortRow, errors: dict, notice: str | None, status: int = 200) -> Template:
    needs = await attendance.catch_up_needs(cohort.id)
    options = await attendance.catch_up_options(cohort, {n["session"]["code"] for n in needs})
    return Template(
        "attendance/catch_up.html",
        context={
            "cohort": cohort,
            "needs": needs,
            "options": options,
            "status_names": attendance.STATUS_NAMES,
            "errors": errors,
            "notice": _("Personen er booket ind på kursusdagen.") if notice == "booked" else None,
        },
        status_code=status,
    )


@post("/cohorts/{cohort_id:int}/catch-up", guards=[PLANNERS], name="catch_up_book")
async def catch_up_book(
    request: Request[User, None, None], cohort_id: FromPath[int], data: FormData
) -> Template | Redirect:
    cohort = await access.cohort_to_manage(request.user, cohort_id)
    person, missed, target = (forms.optional_id(data, name) for name in ("person", "missed_session", "session"))
    if person is None or missed is None or target is None:
        return await _catch_up_page(cohort, {"session": _("Vælg en kursusdag at indhente på.")}, None, 400)
    try:
        await attendance.book_catch_up(request.user.id, cohort, person, missed, target)
    except Invalid as invalid:
        return await _catch_up_page(cohort, invalid.errors, None, 400)
    return Redirect(f"/cohorts/{cohort_id}/catch-up?notice=booked", status_code=303)


ROUTES = [attendance_page, attendance_mark, catch_up_page, catch_up_book]
