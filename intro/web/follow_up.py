"""Following a cohort: the progress grid, who is falling behind, completion and the
course certificate."""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from markupsafe import Markup

from intro import access
from intro.errors import Invalid, NotFound
from intro.i18n import _
from intro.participation import follow_up
from intro.participation.progress import urgency_level
from intro.people.accounts import User
from intro.tables import Enrolment, Person, Role
from intro.web.auth import requires
from intro.web.templating import KeptRenders

FOLLOWERS = requires(Role.coordinator, Role.instructor, Role.chief)
PLANNERS = requires(Role.coordinator)
PARTICIPANTS = requires(Role.participant)


# The behind list and the grid as rendered from a kept grid (follow_up.kept_grid), per
# worker: a new grid is kept after any write to what it was built from, and so rendered
# afresh. The one part that is the viewer's own, the CSRF field of the confirm buttons, is
# a placeholder the page fills in. {id(kept grid): (weak reference to it, {may confirm: html})}.
_RENDERED = KeptRenders()
CSRF_PLACEHOLDER = Markup('<input type="hidden" name="_csrf_token" value="@@intro-csrf@@">')


def _body_html(request: Request, cohort, may, kept: follow_up.KeptGrid) -> Markup:
    return _RENDERED.render(request, kept, bool(may.may_confirm_completion), "follow_up/_grid_body.html", lambda: {
        "cohort": cohort, "grid": kept.grid, "behind": kept.behind, "cell_names": follow_up.CELL_NAMES,
        "transfer_names": follow_up.TRANSFER_NAMES, "may": may, "csrf_input": CSRF_PLACEHOLDER,
    })


async def _page(
    request: Request, user: User, cohort_id: int, errors: dict, notice: str | None, status: int = 200
) -> Template:
    cohort, may = await access.people_to_follow(user, cohort_id)
    kept = await follow_up.kept_grid(cohort, may.follows)
    return Template(
        "follow_up/grid.html",
        context={
            "cohort": cohort,
            "body": _body_html(request, cohort, may, kept),
            "csrf_placeholder": CSRF_PLACEHOLDER,
            "may": may,
            "errors": errors,
            "notice": _("Gennemførelsen er bekræftet.") if notice == "completed" else None,
        },
        status_code=status,
    )


@get("/cohorts/{cohort_id:int}/progress", guards=[FOLLOWERS], name="cohort_progress")
async def progress_page(
    request: Request[User, None, None], cohort_id: FromPath[int], notice: FromQuery[str | None] = None
) -> Template:
    return await _page(request, request.user, cohort_id, {}, notice)


@get("/cohorts/{cohort_id:int}/progress/{enrolment_id:int}", guards=[FOLLOWERS], name="participant_progress")
async def participant_page(
    request: Request[User, None, None], cohort_id: FromPath[int], enrolment_id: FromPath[int]
) -> Template:
    """One participant's row of the grid, spelt out: each module's state, transfers and
    why they fall behind. Seen by whoever may see them in the grid (404 otherwise)."""
    cohort, may = await access.people_to_follow(request.user, cohort_id)
    enrolment = await Enrolment.select(Enrolment.person).where(
        (Enrolment.id == enrolment_id) & (Enrolment.cohort == cohort_id)
    ).first()
    if enrolment is None:
        raise NotFound()
    grid = await follow_up.cohort_grid(cohort, may.follows, person_id=enrolment["person"])
    row = next((r for r in grid["rows"] if r["id"] == enrolment_id), None)
    if row is None:
        raise NotFound()
    email = await Person.select(Person.email).where(Person.id == enrolment["person"]).first()
    return Template(
        "follow_up/participant.html",
        context={
            "cohort": cohort,
            "modules": grid["modules"],
            "r": row,
            "email": email["email"],
            "level": urgency_level(row["behind"]),
            "cell_names": follow_up.CELL_NAMES,
            "transfer_names": follow_up.TRANSFER_NAMES,
        },
    )


@post("/enrolments/{enrolment_id:int}/complete", guards=[PLANNERS], name="confirm_completion")
async def confirm(request: Request[User, None, None], enrolment_id: FromPath[int]) -> Template | Redirect:
    row = await Enrolment.select(Enrolment.cohort).where(Enrolment.id == enrolment_id).first()
    if row is None:
        raise NotFound()
    cohort = await access.cohort_to_manage(request.user, row["cohort"])
    try:
        await follow_up.confirm_completion(request.user.id, cohort, enrolment_id)
    except Invalid as invalid:
        return await _page(request, request.user, cohort.id, invalid.errors, None, 400)
    return Redirect(f"/cohorts/{cohort.id}/progress?notice=completed", status_code=303)


@get("/plan/certificate", guards=[PARTICIPANTS], name="my_certificate")
async def my_certificate(request: Request[User, None, None]) -> Template:
    data = await follow_up.certificate(request.user.id)
    if data is None:
        raise NotFound()
    return Template("follow_up/certificate.html", context={"c": data, "pdf_url": "/plan/certificate.pdf"})


@get("/plan/certificate.pdf", guards=[PARTICIPANTS], name="my_certificate_pdf")
async def my_certificate_pdf(request: Request[User, None, None]) -> Response:
    """The participant's certificate as a PDF, drawn by WeasyPrint from the same
    partial as the page."""
    data = await follow_up.certificate(request.user.id)
    if data is None:
        raise NotFound()
    html = request.app.template_engine.get_template("follow_up/certificate_pdf.html").render(c=data)
    pdf = await asyncio.to_thread(_pdf, html)
    return Response(
        pdf, media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="kursusbevis.pdf"'},
    )


def _pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango, which takes a moment

    return HTML(string=html).write_pdf()


@get("/certificates/verify", opt={"public": True}, name="verify_certificate")
async def verify_certificate(kode: FromQuery[str] = "") -> Template:
    """Anyone with a certificate's code may check it: name, programme and date only."""
    kode = kode[:40]
    found = await follow_up.verify(kode) if kode else None
    return Template(
        "follow_up/verify.html",
        context={"code": kode, "found": found, "checked": bool(kode)},
        status_code=404 if kode and found is None else 200,
    )


@get("/enrolments/{enrolment_id:int}/certificate", guards=[PLANNERS], name="certificate")
async def certificate(request: Request[User, None, None], enrolment_id: FromPath[int]) -> Template:
    row = await Enrolment.select(Enrolment.cohort, Enrolment.person).where(Enrolment.id == enrolment_id).first()
    if row is None:
        raise NotFound()
    await access.cohort_to_manage(request.user, row["cohort"])
    data = await follow_up.certificate(row["person"], enrolment_id)
    if data is None:
        raise NotFound()
    return Template("follow_up/certificate.html", context={"c": data})


ROUTES = [progress_page, participant_page, confirm, my_certificate, my_certificate_pdf, verify_certificate, certificate]
