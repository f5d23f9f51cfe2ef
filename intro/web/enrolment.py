"""Enrolling new hires in a cohort: coordinators for every member municipality, chiefs
for their own municipality only (and they see only their own people by name). Moving a
person to another cohort and changing the cohort's places are the coordinator's."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from intro import access, clock
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.inputs import parse_id
from intro.participation import enrolment
from intro.people.accounts import User
from intro.people.organisation import in_force_on
from intro.tables import Cohort, CohortStatus, Enrolment, EnrolmentStatus, PartnershipMember, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData, text, values

ENROLLERS = requires(Role.coordinator, Role.chief)
COORDINATORS = requires(Role.coordinator)

# (text, style): a place on the wait-list is not a success.
NOTICES = {
    "enrolled": (_("Personen er tilmeldt holdet."), "notice"),
    "several": (_("De valgte er tilmeldt holdet."), "notice"),
    "waitlisted": (_("Der er ingen ledig plads, der passer; personen er sat på ventelisten."), "warning"),
    "some_waitlisted": (_("Nogle af de valgte er sat på ventelisten, fordi ingen ledig plads passer."), "warning"),
    "withdrawn": (_("Personen er afmeldt. Ventelisten er rykket op, hvor der blev plads."), "notice"),
    "moved": (_("Personen er flyttet til det andet hold og har fået en plads."), "notice"),
    "moved_waitlisted": (_("Personen er flyttet til det andet hold og står på ventelisten der."), "warning"),
    "places": (_("Holdets pladser er ændret. Ventelisten er rykket op, hvor der blev plads."), "notice"),
}


def _matches(candidate: dict, query: str) -> bool:
    words = query.casefold().split()
    haystack = f"{candidate['full_name']} {candidate['municipality_name']}".casefold()
    return all(w in haystack for w in words)


async def _page(
    user: User, cohort_id: int, errors: dict, notice: str | None, status: int = 200,
    query: str = "", form: dict | None = None,
) -> Template:
    cohort, may = await access.people_to_enrol(user, cohort_id)
    roster = await enrolment.roster(cohort_id, may.enrols_from)
    candidates = [c for c in await enrolment.eligible_people(cohort, may.enrols_from) if _matches(c, query)]
    other_cohorts = []
    members = []
    if may.may_plan:
        other_cohorts = await Cohort.select(Cohort.id, Cohort.name).where(
            (Cohort.partnership == cohort.partnership) & (Cohort.id != cohort_id)
            & Cohort.status.not_in([CohortStatus.completed.value, CohortStatus.cancelled.value])
        ).order_by(Cohort.start_date)
        members = await PartnershipMember.select(
            PartnershipMember.municipality.as_alias("id"), PartnershipMember.municipality.name.as_alias("name")
        ).where((PartnershipMember.partnership == cohort.partnership) & in_force_on(clock.today())).order_by(
            PartnershipMember.municipality.name
        )  # reserving seats is a new choice: today's members
    text_and_style = NOTICES.get(notice or "")
    return Template(
        "enrolment/roster.html",
        context={
            "cohort": cohort,
            "roster": roster,
            "places": await enrolment.places_overview(cohort_id),
            "candidates": candidates,
            "query": query,
            "may": may,
            "other_cohorts": other_cohorts,
            "members": members,
            "errors": errors,
            "form": form or {},
            "notice": text_and_style[0] if text_and_style else None,
            "notice_style": text_and_style[1] if text_and_style else None,
        },
        status_code=status,
    )


@get("/cohorts/{cohort_id:int}/enrolments", guards=[ENROLLERS], name="enrolments")
async def enrolments_page(
    request: Request[User, None, None], cohort_id: FromPath[int],
    notice: FromQuery[str | None] = None, q: FromQuery[str] = "",
) -> Template:
    return await _page(request.user, cohort_id, {}, notice, query=q[:100])


@post("/cohorts/{cohort_id:int}/enrolments", guards=[ENROLLERS], name="enrol")
async def enrol(request: Request[User, None, None], cohort_id: FromPath[int], data: FormData) -> Template | Redirect:
    cohort, may = await access.people_to_enrol(request.user, cohort_id)
    chosen = []
    for raw in values(data, "candidate")[:200]:
        person_id, _sep, municipality_id = raw.partition(":")
        person, municipality = parse_id(person_id), parse_id(municipality_id)
        if person is None or municipality is None:
            return await _page(request.user, cohort_id, {"candidate": _("Vælg den nyansatte, der skal tilmeldes.")}, None, 400)
        chosen.append((person, municipality))
    if not chosen:
        return await _page(request.user, cohort_id, {"candidate": _("Vælg den nyansatte, der skal tilmeldes.")}, None, 400)
    if not all(may.may_enrol_from(m) for _p, m in chosen):
        return await _page(request.user, cohort_id, {"candidate": _("Du kan kun tilmelde nyansatte fra din egen kommune.")}, None, 400)
    reason = text(data, "reason", 500)
    try:
        statuses = await enrolment.enrol_many(request.user.id, cohort.id, chosen, reason)
    except Invalid as invalid:
        errors = {"candidate": invalid.errors["person"]} if "person" in invalid.errors else {}
        if "reason" in invalid.errors:
            errors["reason"] = invalid.errors["reason"]
        return await _page(request.user, cohort_id, errors, None, 400, form={"candidate": values(data, "candidate"), "reason": reason})
    waiting = sum(1 for s in statuses.values() if s == "waitlisted")
    if len(statuses) == 1:
        notice = next(iter(statuses.values()))
    else:
        notice = "some_waitlisted" if waiting else "several"
    return Redirect(f"/cohorts/{cohort_id}/enrolments?notice={notice}", status_code=303)


@post("/enrolments/{enrolment_id:int}/withdraw", guards=[ENROLLERS], name="withdraw")
async def withdraw(request: Request[User, None, None], enrolment_id: FromPath[int], data: FormData) -> Template | Redirect:
    row = await access.enrolment_to_withdraw(request.user, enrolment_id)
    try:
        await enrolment.withdraw(request.user.id, enrolment_id, text(data, "reason", 500))
    except Invalid as invalid:
        return await _page(request.user, row["cohort"], {f"reason-{enrolment_id}": invalid.errors.get("reason", "")}, None, 400)
    return Redirect(f"/cohorts/{row['cohort']}/enrolments?notice=withdrawn", status_code=303)


@post("/enrolments/{enrolment_id:int}/move", guards=[COORDINATORS], name="move_enrolment")
async def move(request: Request[User, None, None], enrolment_id: FromPath[int], data: FormData) -> Template | Redirect:
    """"Flyt til andet hold": the coordinator of the cohort's partnership only."""
    row = await Enrolment.select(Enrolment.cohort).where(Enrolment.id == enrolment_id).first()
    if row is None:
        raise NotFound()
    await access.cohort_to_manage(request.user, row["cohort"])
    key = f"cohort-{enrolment_id}"
    try:
        target = int(text(data, "cohort", 20))
    except ValueError:
        return await _page(request.user, row["cohort"], {key: _("Vælg det hold, personen skal flyttes til.")}, None, 400)
    try:
        status = await enrolment.move(request.user.id, enrolment_id, target, text(data, "reason", 400))
    except (Invalid, NotFound) as problem:
        message = problem.errors.get("cohort", "") if isinstance(problem, Invalid) else ""
        return await _page(
            request.user, row["cohort"], {key: message or _("Vælg et hold i samarbejdet, som ikke er afsluttet.")}, None, 400
        )
    notice = "moved" if status == EnrolmentStatus.enrolled.value else "moved_waitlisted"
    return Redirect(f"/cohorts/{row['cohort']}/enrolments?notice={notice}", status_code=303)


@post("/cohorts/{cohort_id:int}/places", guards=[COORDINATORS], name="change_places")
async def change_places(request: Request[User, None, None], cohort_id: FromPath[int], data: FormData) -> Template | Redirect:
    cohort = await access.cohort_to_manage(request.user, cohort_id)
    members = await access.member_municipalities({cohort.partnership})
    errors = {}
    try:
        capacity = int(text(data, "capacity", 10).strip())
    except ValueError:
        errors["capacity"] = _("Antal pladser skal være et helt tal fra 1 til 200.")
    seats = {}
    for m in sorted(members):
        raw = text(data, f"seats_{m}", 10).strip() or "0"
        try:
            seats[m] = int(raw)
        except ValueError:
            errors["seats"] = _("Reserverede pladser skal være hele tal fra 0 og kun for samarbejdets kommuner.")
    if not errors:
        try:
            await enrolment.change_places(request.user.id, cohort_id, capacity, seats)
        except Invalid as invalid:
            errors = invalid.errors
    if errors:
        return await _page(request.user, cohort_id, errors, None, 400, form=forms.for_page(data))
    return Redirect(f"/cohorts/{cohort_id}/enrolments?notice=places", status_code=303)


ROUTES = [enrolments_page, enrol, withdraw, move, change_places]
