"""Course evaluation and transfer follow-up (issue 17): participants answer; coordinators
see their partnership's results and instructors their own, only for groups of at least
`evaluations.MIN_ANSWERS`, on the page and in the CSV/XLSX exports."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from intro import access, clock
from intro.errors import Invalid
from intro.i18n import _
from intro.insight import exports
from intro.participation import evaluations
from intro.people.accounts import User
from intro.tables import EvaluationKind, Role
from intro.web import forms
from intro.web.auth import requires
from intro.web.forms import FormData

PARTICIPANTS = requires(Role.participant)
READERS = requires(Role.coordinator, Role.instructor)
HIDDEN = "<5"


@get("/plan/evaluations", guards=[PARTICIPANTS], name="my_evaluations")
async def my_evaluations(request: Request[User, None, None]) -> Template:
    return Template(
        "evaluations/due.html", context={"due": await evaluations.due_for(request.user.id)}
    )


async def _due_or_404(user: User, cohort_id: int, module_id: int, kind: str) -> dict:
    for item in await evaluations.due_for(user.id):
        if (item["cohort"], item["module"], item["kind"]) == (cohort_id, module_id, kind):
            return item
    raise NotFoundException()


def _form_page(item: dict, form: dict, errors: dict) -> Template:
    return Template(
        "evaluations/answer.html",
        context={"item": item, "form": form, "errors": errors, "follow_up": item["kind"] == EvaluationKind.follow_up.value},
        status_code=400 if errors else 200,
    )


@get("/plan/evaluations/{cohort_id:int}/{module_id:int}/{kind:str}", guards=[PARTICIPANTS], name="evaluation_form")
async def evaluation_form(
    request: Request[User, None, None], cohort_id: FromPath[int], module_id: FromPath[int], kind: FromPath[str]
) -> Template:
    return _form_page(await _due_or_404(request.user, cohort_id, module_id, kind), {}, {})


@post("/plan/evaluations/{cohort_id:int}/{module_id:int}/{kind:str}", guards=[PARTICIPANTS], name="evaluation_answer")
async def evaluation_answer(
    request: Request[User, None, None], cohort_id: FromPath[int], module_id: FromPath[int], kind: FromPath[str],
    data: FormData,
) -> Template | Redirect:
    item = await _due_or_404(request.user, cohort_id, module_id, kind)
    try:
        await evaluations.answer(request.user.id, cohort_id, module_id, kind, data)
    except Invalid as invalid:
        return _form_page(item, forms.kept(data), invalid.errors)
    return Redirect("/plan/evaluations?thanks=1", status_code=303)


@get("/evaluations", guards=[READERS], name="evaluation_results")
async def results(request: Request[User, None, None]) -> Template:
    return Template(
        "evaluations/results.html",
        context={
            "rows": await evaluations.results(**access.evaluations_to_read(request.user)),
            "min_answers": evaluations.MIN_ANSWERS,
            "group_names": GROUP_NAMES,
        },
    )


GROUP_NAMES = {"module": _("Modul i alt"), "cohort": _("Hold"), "instructor": _("Underviser")}


def _figure(summary: evaluations.Summary, value: float | None) -> object:
    return HIDDEN if summary.hidden else value


def _sheet(rows: list[evaluations.ResultRow]) -> exports.Sheet:
    headings = [
        _("Modul"), _("Gruppe"), _("Navn"), _("Evalueringer"), _("Relevans (1-5)"), _("Udbytte (1-5)"),
        _("Opfølgninger"), _("Brugt i arbejdet"), _("Delt med kolleger"),
    ]
    table = []
    for r in rows:
        e, f = r.evaluation, r.follow_up
        table.append([
            r.module_code, GROUP_NAMES[r.group], r.label,
            HIDDEN if e.hidden else e.n, _figure(e, e.relevance), _figure(e, e.usefulness),
            HIDDEN if f.hidden else f.n, _figure(f, f.used_at_work), _figure(f, f.shared),
        ])
    return exports.Sheet(_("Evalueringer"), headings, table, frozenset({7, 8}))


def _texts_sheet(rows: list[evaluations.ResultRow]) -> exports.Sheet:
    table = [
        [r.module_code, GROUP_NAMES[r.group], r.label, text]
        for r in rows if r.group == "module"
        for text in (*r.evaluation.texts, *r.follow_up.texts)
    ]
    return exports.Sheet(_("Kommentarer"), [_("Modul"), _("Gruppe"), _("Navn"), _("Kommentar")], table)


async def _export(user: User, kind: str) -> Response:
    rows = await evaluations.results(**access.evaluations_to_read(user))
    sheets = [_sheet(rows), _texts_sheet(rows)]
    stem = f"intro-evalueringer-{clock.today():%Y%m%d}"
    if kind == "csv":
        body, media = exports.to_csv(sheets), "text/csv"
    else:
        body, media = exports.to_xlsx(sheets), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{kind}"'})


@get("/evaluations/export.csv", guards=[READERS], name="evaluation_export_csv")
async def export_csv(request: Request[User, None, None]) -> Response:
    return await _export(request.user, "csv")


@get("/evaluations/export.xlsx", guards=[READERS], name="evaluation_export_xlsx")
async def export_xlsx(request: Request[User, None, None]) -> Response:
    return await _export(request.user, "xlsx")


ROUTES = [my_evaluations, evaluation_form, evaluation_answer, results, export_csv, export_xlsx]
