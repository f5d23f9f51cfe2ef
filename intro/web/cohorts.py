"""Cohorts and their timetables: the coordinator's planning pages.

Every handler reads its input, gets the cohort or session through intro.access (which
answers 404 for anything outside the user's partnerships), then calls a named
operation in intro.planning.cohorts.
"""

from __future__ import annotations

from dataclasses import asdict

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access
from intro.errors import Invalid
from intro.i18n import _
from intro.people.accounts import User
from intro.planning import cohort_forms, cohorts, planner_input, timetables
from intro.planning.rows import CohortRow, SessionRow
from intro.tables import CohortSeats, Partnership, Role, RoleGrant
from intro.timefmt import local
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

PLANNERS = requires(Role.coordinator)
VIEWERS = requires(Role.coordinator, Role.chief, Role.instructor)

NOTICES = {
    "created": _("Holdet er oprettet. Bed om et forslag til en plan, når du er klar."),
    "proposed": _("Intro har lavet et nyt forslag til holdets plan."),
    "accepted": _("Planen er godkendt. Kursusdagene er nu planlagt."),
    "moved": _("Kursusdagen er ændret."),
    "cancelled": _("Kursusdagen er aflyst."),
}


def _notice(key: str | None) -> str | None:
    return NOTICES.get(key or "")


@get("/cohorts", guards=[VIEWERS], name="cohorts")
async def cohort_list(request: Request[User, None, None]) -> Template:
    user = request.user
    visible = await access.visible_partnerships(user)
    partnerships = await Partnership.select(Partnership.id, Partnership.name).where(
        Partnership.id.is_in(sorted(visible) or [0])
    ).order_by(Partnership.name)
    rows = await timetables.cohorts_of(visible)
    return Template(
        "cohorts/list.html",
        context={
            "partnerships": partnerships,
            "cohorts": rows,
            "planner_of": access.partnerships_coordinated(user),
        },
    )


async def _form_page(partnership_id: int, form: dict, errors: dict, status: int = 200) -> Template:
    options = await cohort_forms.form_options(partnership_id)
    partnership = await Partnership.select(Partnership.name).where(Partnership.id == partnership_id).first()
    return Template(
        "cohorts/new.html",
        context={
            **options,
            "partnership_id": partnership_id,
            "partnership_name": partnership["name"],
            "form": form,
            "errors": errors,
            "weekday_names": cohort_forms.WEEKDAY_NAMES,
        },
        status_code=status,
    )


@get("/cohorts/new", guards=[PLANNERS], name="cohort_new")
async def cohort_new(
    request: Request[User, None, None], partnership: FromQuery[int | None] = None
) -> Template:
    partnership_id = access.partnership_to_coordinate(request.user, partnership)
    options = await cohort_forms.form_options(partnership_id)
    default = {
        "capacity": "24",
        "rhythm": "weekdays",
        "weekdays": ["1"],
        "day_start": "09:00",
        "day_end": "15:00",
        "curriculum_version": str(options["versions"][0]["id"]) if options["versions"] else "",
    }
    return await _form_page(partnership_id, default, {})


@post("/cohorts", guards=[PLANNERS], name="cohort_create")
async def cohort_create(request: Request[User, None, None], data: FormData) -> Template | Redirect:
    partnership_id = access.partnership_to_coordinate(request.user, forms.optional_id(data, "partnership"))
    try:
        cohort_id = await cohorts.create_cohort(request.user.id, partnership_id, data)
    except Invalid as invalid:
        form = forms.for_page(data, lists=("weekdays", "preferred_venues", "local_modules"))
        return await _form_page(partnership_id, form, invalid.errors, status=400)
    return Redirect(f"/cohorts/{cohort_id}?notice=created", status_code=303)


@get("/cohorts/{cohort_id:int}", guards=[VIEWERS], name="cohort")
async def cohort_page(
    request: Request[User, None, None],
    cohort_id: FromPath[int],
    notice: FromQuery[str | None] = None,
) -> Template:
    user = request.user
    row = await access.cohort_for(user, cohort_id)
    may = await access.cohort_permissions(user, row)
    # The page shows the row's columns with its phase (with_phases reads the course days).
    cohort = (await timetables.with_phases([asdict(row)]))[0]
    sessions = await timetables.timetable(cohort_id)
    missing = await cohorts.missing_modules(cohort_id)
    seats = await CohortSeats.select(
        CohortSeats.seats, CohortSeats.municipality.name.as_alias("name")
    ).where(CohortSeats.cohort == cohort_id).order_by(CohortSeats.municipality.name)
    partnership = await Partnership.select(Partnership.name).where(
        Partnership.id == row.partnership
    ).first()
    conflicts = await timetables.partnership_conflicts(row.partnership) if may.may_plan else []
    conflict_by_session: dict[int, list] = {}
    for c in conflicts:
        if c["session"]["cohort"] == cohort_id:
            conflict_by_session.setdefault(c["session"]["id"], []).append(c["conflict"])
    return Template(
        "cohorts/detail.html",
        context={
            "cohort": cohort,
            "partnership_name": partnership["name"],
            "sessions": sessions,
            "missing": missing,
            "seats": seats,
            "may": may,
            "conflicts": conflict_by_session,
            "notice": _notice(notice),
            "weekday_names": cohort_forms.WEEKDAY_NAMES,
        },
    )


async def _cohort_with_errors(request, cohort_id: int, errors: dict) -> Template:
    response = await cohort_page.fn(request, cohort_id, None)
    response.context["errors"] = errors
    response.status_code = 400
    return response


@post("/cohorts/{cohort_id:int}/propose", guards=[PLANNERS], name="cohort_propose")
async def cohort_propose(
    request: Request[User, None, None], cohort_id: FromPath[int], data: FormData
) -> Template | Redirect:
    cohort = await access.cohort_to_manage(request.user, cohort_id)
    raw = forms.value(data, "from_date").strip()
    from_date = forms.course_day(data, "from_date") if raw else None
    if raw and from_date is None:
        return await _cohort_with_errors(request, cohort_id, {"from_date": _("Skriv datoen, fx 02.02.2027.")})
    try:
        await cohorts.propose_timetable(request.user.id, cohort, from_date)
    except Invalid as invalid:
        return await _cohort_with_errors(request, cohort_id, invalid.errors)
    return Redirect(f"/cohorts/{cohort_id}?notice=proposed", status_code=303)


@post("/cohorts/{cohort_id:int}/accept", guards=[PLANNERS], name="cohort_accept")
async def cohort_accept(
    request: Request[User, None, None], cohort_id: FromPath[int]
) -> Template | Redirect:
    cohort = await access.cohort_to_manage(request.user, cohort_id)
    try:
        await cohorts.accept_timetable(request.user.id, cohort)
    except Invalid as invalid:
        return await _cohort_with_errors(request, cohort_id, invalid.errors)
    return Redirect(f"/cohorts/{cohort_id}?notice=accepted", status_code=303)


# --------------------------------------------------------------------------------------
# One session


async def _session_form_context(session: SessionRow, cohort: CohortRow, form: dict, errors: dict, conflicts) -> dict:
    venues = await planner_input._venue_options(cohort.partnership)
    instructors = await RoleGrant.select(
        RoleGrant.person, RoleGrant.person.full_name.as_alias("name")
    ).where((RoleGrant.role == Role.instructor.value) & (RoleGrant.partnership == cohort.partnership))
    module = next(
        (s for s in await timetables.timetable(cohort.id) if s["id"] == session.id), None
    )
    return {
        "session": session,
        "module": module,
        "cohort": cohort,
        "venues": sorted(venues, key=lambda v: v.name),
        "instructors": sorted(instructors, key=lambda i: i["name"]),
        "form": form,
        "errors": errors,
        "conflicts": conflicts,
    }


def _form_from_session(session: SessionRow, instructor_ids: list[int]) -> dict:
    starts, ends = local(session.starts_at), local(session.ends_at)
    return {
        "date": starts.date().isoformat(),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
        "venue": str(session.venue or ""),
        "instructors": [str(i) for i in instructor_ids],
        "reason": "",
    }


@get("/sessions/{session_id:int}/edit", guards=[PLANNERS], name="session_edit")
async def session_edit(request: Request[User, None, None], session_id: FromPath[int]) -> Template:
    session = await access.session_to_manage(request.user, session_id)
    cohort = await access.cohort_to_manage(request.user, session.cohort)
    current = next(s for s in await timetables.timetable(cohort.id) if s["id"] == session_id)
    form = _form_from_session(session, current["instructor_ids"])
    try:
        change = await cohort_forms.read_session_form(session, cohort, {**form, "reason": "x"})
    except Invalid:
        # A course day that has been held: its own date is in the past, so there is
        # nothing to check until a new one is chosen.
        conflicts = None
    else:
        conflicts = await cohorts.conflicts_for_change(session, cohort, change)
    return Template(
        "cohorts/session_edit.html",
        context=await _session_form_context(session, cohort, form, {}, conflicts),
    )


@post("/sessions/{session_id:int}/check", guards=[PLANNERS], name="session_check")
async def session_check(
    request: Request[User, None, None], session_id: FromPath[int], data: FormData
) -> Template:
    """The live conflict check while the coordinator edits (an htmx fragment)."""
    session = await access.session_to_manage(request.user, session_id)
    cohort = await access.cohort_to_manage(request.user, session.cohort)
    form = forms.for_page(data, lists=("instructors",))
    try:
        change = await cohort_forms.read_session_form(session, cohort, {**form, "reason": form.get("reason") or "x"})
    except Invalid as invalid:
        return Template("cohorts/_conflict_check.html", context={"conflicts": [], "errors": invalid.errors})
    conflicts = await cohorts.conflicts_for_change(session, cohort, change)
    return Template("cohorts/_conflict_check.html", context={"conflicts": conflicts, "errors": {}})


@post("/sessions/{session_id:int}", guards=[PLANNERS], name="session_save")
async def session_save(
    request: Request[User, None, None], session_id: FromPath[int], data: FormData
) -> Template | Redirect:
    session = await access.session_to_manage(request.user, session_id)
    cohort = await access.cohort_to_manage(request.user, session.cohort)
    form = forms.for_page(data, lists=("instructors",))
    try:
        change = await cohort_forms.read_session_form(session, cohort, form)
        await cohorts.change_session(request.user.id, session, cohort, change)
    except Invalid as invalid:
        return Template(
            "cohorts/session_edit.html",
            context=await _session_form_context(session, cohort, form, invalid.errors, []),
            status_code=400,
        )
    return Redirect(f"/cohorts/{cohort.id}?notice=moved#session-{session_id}", status_code=303)


@get("/sessions/{session_id:int}/cancel", guards=[PLANNERS], name="session_cancel_form")
async def session_cancel_form(request: Request[User, None, None], session_id: FromPath[int]) -> Template:
    session = await access.session_to_manage(request.user, session_id)
    cohort = await access.cohort_to_manage(request.user, session.cohort)
    context = await _session_form_context(session, cohort, {"reason": ""}, {}, [])
    return Template("cohorts/session_cancel.html", context=context)


@post("/sessions/{session_id:int}/cancel", guards=[PLANNERS], name="session_cancel")
async def session_cancel(
    request: Request[User, None, None], session_id: FromPath[int], data: FormData
) -> Template | Redirect:
    session = await access.session_to_manage(request.user, session_id)
    cohort = await access.cohort_to_manage(request.user, session.cohort)
    try:
        await cohorts.cancel_session(request.user.id, session, forms.value(data, "reason"))
    except Invalid as invalid:
        context = await _session_form_context(session, cohort, forms.for_page(data), invalid.errors, [])
        return Template("cohorts/session_cancel.html", context=context, status_code=400)
    return Redirect(f"/cohorts/{cohort.id}?notice=cancelled", status_code=303)


# --------------------------------------------------------------------------------------
# Conflicts across a partnership


@get("/partnerships/{partnership_id:int}/conflicts", guards=[PLANNERS], name="conflicts")
async def conflicts_page(
    request: Request[User, None, None], partnership_id: FromPath[int]
) -> Template:
    partnership_id = access.partnership_to_coordinate(request.user, partnership_id)
    partnership = await Partnership.select(Partnership.name).where(Partnership.id == partnership_id).first()
    rows = await timetables.partnership_conflicts(partnership_id)
    return Template(
        "cohorts/conflicts.html",
        context={
            "partnership_id": partnership_id,
            "partnership_name": partnership["name"],
            "hard": [r for r in rows if r["conflict"].hard],
            "soft": [r for r in rows if not r["conflict"].hard],
        },
    )


ROUTES = [
    cohort_list,
    cohort_new,
    cohort_create,
    cohort_page,
    cohort_propose,
    cohort_accept,
    session_edit,
    session_check,
    session_save,
    session_cancel_form,
    session_cancel,
    conflicts_page,
]
