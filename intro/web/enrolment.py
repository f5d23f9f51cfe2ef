"""Enrolling new hires in a cohort: coordinators for every member municipality, chiefs
for their own municipality only (and they see only their own people by name)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access, enrolment
from intro.accounts import User
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.inputs import parse_id
from intro.tables import Enrolment, Role
from intro.web.auth import requires

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
ENROLLERS = requires(Role.coordinator, Role.chief)

NOTICES = {
    "enrolled": _("Personen er tilmeldt holdet."),
    "waitlisted": _("Holdet har ingen ledig plads til kommunen; personen er sat på ventelisten."),
    "withdrawn": _("Personen er afmeldt. Ventelisten er rykket op, hvor der blev plads."),
}


async def _scope(user: User, cohort_id: int) -> tuple[dict, set[int] | None]:
    """The cohort and the municipalities whose people the user may handle (None: all,
    for the partnership's coordinator)."""
    cohort = await access.cohort_for(user, cohort_id)
    if cohort["partnership"] in user.partnerships(Role.coordinator):
        return cohort, None
    mine = user.municipalities(Role.chief) & await access.member_municipalities({cohort["partnership"]})
    if not mine:
        raise NotFound()
    return cohort, mine


async def _page(user: User, cohort_id: int, errors: dict, notice: str | None, status: int = 200) -> Template:
    cohort, municipalities = await _scope(user, cohort_id)
    roster = await enrolment.roster(cohort_id, municipalities)
    candidates = await enrolment.eligible_people(cohort, municipalities)
    return Template(
        "enrolment/roster.html",
        context={
            "cohort": cohort,
            "roster": roster,
            "candidates": candidates,
            "all_municipalities": municipalities is None,
            "errors": errors,
            "notice": NOTICES.get(notice or ""),
        },
        status_code=status,
    )


@get("/cohorts/{cohort_id:int}/enrolments", guards=[ENROLLERS], name="enrolments")
async def enrolments_page(
    request: Request[User, None, None], cohort_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    return await _page(request.user, cohort_id, {}, notice)


@post("/cohorts/{cohort_id:int}/enrolments", guards=[ENROLLERS], name="enrol")
async def enrol(request: Request[User, None, None], cohort_id: FromPath[int], data: Form) -> Template | Redirect:
    cohort, municipalities = await _scope(request.user, cohort_id)
    raw = str(data.get("candidate", ""))
    person_id, _sep, municipality_id = raw.partition(":")
    person, municipality = parse_id(person_id), parse_id(municipality_id)
    if person is None or municipality is None:
        return await _page(request.user, cohort_id, {"candidate": _("Vælg den nyansatte, der skal tilmeldes.")}, None, 400)
    if municipalities is not None and municipality not in municipalities:
        return await _page(request.user, cohort_id, {"candidate": _("Du kan kun tilmelde nyansatte fra din egen kommune.")}, None, 400)
    try:
        status = await enrolment.enrol(request.user.id, cohort["id"], person, municipality)
    except Invalid as invalid:
        errors = {"candidate": next(iter(invalid.errors.values()))}
        return await _page(request.user, cohort_id, errors, None, 400)
    return Redirect(f"/cohorts/{cohort_id}/enrolments?notice={status}", status_code=303)


@post("/enrolments/{enrolment_id:int}/withdraw", guards=[ENROLLERS], name="withdraw")
async def withdraw(request: Request[User, None, None], enrolment_id: FromPath[int], data: Form) -> Template | Redirect:
    row = await Enrolment.select(Enrolment.cohort, Enrolment.municipality).where(Enrolment.id == enrolment_id).first()
    if row is None:
        raise NotFound()
    _cohort, municipalities = await _scope(request.user, row["cohort"])
    if municipalities is not None and row["municipality"] not in municipalities:
        raise NotFound()
    try:
        await enrolment.withdraw(request.user.id, enrolment_id, str(data.get("reason", "")))
    except Invalid as invalid:
        return await _page(request.user, row["cohort"], {f"reason-{enrolment_id}": invalid.errors.get("reason", "")}, None, 400)
    return Redirect(f"/cohorts/{row['cohort']}/enrolments?notice=withdrawn", status_code=303)


ROUTES = [enrolments_page, enrol, withdraw]
