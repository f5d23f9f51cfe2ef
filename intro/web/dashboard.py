"""The chiefs' dashboard, its drill-down to the own municipality's people, and exports.

Filters travel in the query string, so a view can be bookmarked and shared with another
chief of the same municipality; htmx swaps only the results when a filter changes and
pushes the new address. The same URL serves the full page or the results fragment, so
responses say `Vary: HX-Request`."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get
from litestar.params import FromQuery
from litestar.response import Template
from markupsafe import Markup

from intro import clock
from intro.audit import record
from intro.errors import NotFound
from intro.i18n import _
from intro.insight import charts, dashboard, exports, retention
from intro.insight.dashboard import Dashboard
from intro.people.accounts import User
from intro.tables import Role
from intro.web.auth import requires
from intro.web.templating import KeptRenders

CHIEFS = requires(Role.chief)
PARAMS = ("kommune", "samarbejde", "fra", "til", "hold", "stilling")


def _params(request: Request) -> dict[str, str | None]:
    return {name: request.query_params.get(name) for name in PARAMS}


def _results_context(board: Dashboard) -> dict:
    """What dashboard/_results.html needs: the charts are drawn only when it is rendered."""
    curve_series = [(c.label, c.points) for c in board.curves if not c.hidden]
    query = board.filters.query()
    return {
        "board": board,
        "query": urlencode(query),
        "km_chart": charts.survival_chart(curve_series, x_max=dashboard.KM_CHART_MONTHS),
        "intake_chart": charts.bar_chart(board.intake, label_every=max(1, len(board.intake) // 8)),
        "marks": retention.MARKS,
        "suppressed": dashboard.SUPPRESSED,
    }


# The results fragment and the page's heading and filters as rendered for a kept board,
# per worker: they are a function of the board alone (charts, tables, options, links with
# the board's filters; nothing of the request or the viewer beyond them), and rendering
# them was most of the page's time (issue 19). They are tied to the board object, which
# the board cache (intro.insight.dashboard._BOARDS) replaces after any write to what the
# board was built from, so a new board is rendered afresh. Their links are built from
# route names, which needs the app (request.app) only.
# {id(board): (weak reference to the board, {template name: html})}.
_RENDERED = KeptRenders()


def _kept_html(request: Request, board: Dashboard, template_name: str, context: Callable[[Dashboard], dict]) -> Markup:
    return _RENDERED.render(request, board, template_name, template_name, lambda: context(board))


def _results_html(request: Request, board: Dashboard) -> Markup:
    return _kept_html(request, board, "dashboard/_results.html", _results_context)


@get("/dashboard", guards=[CHIEFS], name="dashboard")
async def dashboard_page(request: Request[User, None, None]) -> Template | Response:
    board = await dashboard.dashboard_for(request.user, _params(request))
    results = _results_html(request, board)
    headers = {"Vary": "HX-Request"}
    if request.headers.get("hx-request") and not request.headers.get("hx-history-restore-request"):
        return Response(results, media_type=MediaType.HTML, headers=headers)
    filters = _kept_html(request, board, "dashboard/_filters.html", lambda board: {"board": board})
    return Template(
        "dashboard/index.html", context={"board": board, "filters": filters, "results": results}, headers=headers
    )


@get("/dashboard/people", guards=[CHIEFS], name="dashboard_people")
async def people_page(request: Request[User, None, None]) -> Template:
    filters, name, lines = await dashboard.people_for(request.user, _params(request))
    return Template(
        "dashboard/people.html",
        context={"filters": filters, "municipality_name": name, "lines": lines, "query": urlencode(filters.query())},
    )


def _overview_sheets(board: Dashboard) -> list[exports.Sheet]:
    def table_sheet(table: dashboard.Table, percent_from: int) -> exports.Sheet:
        return exports.Sheet(
            table.caption,
            table.headings,
            [[row.label, *row.cells] for row in table.rows],
            frozenset(range(percent_from, len(table.headings))),
        )

    sheets = [table_sheet(board.comparison, 2), table_sheet(board.own_marks, 4)]
    for curve in board.curves:
        if curve.hidden:
            rows = [[_("Skjult: færre end 5 personer uden for din kommune"), dashboard.SUPPRESSED, dashboard.SUPPRESSED]]
        else:
            rows = [[months, survival, at_risk] for months, survival, at_risk in curve.table]
        sheets.append(
            exports.Sheet(
                _("Kaplan–Meier – {label}").format(label=curve.label),
                [_("Måneder efter start"), _("Stadig ansat (estimat)"), _("Antal i risiko")],
                rows,
                frozenset({1}),
            )
        )
    sheets.append(
        exports.Sheet(
            _("Nyansatte pr. kvartal – {name}").format(name=board.municipality_name),
            [_("Kvartal"), _("Nyansatte")],
            [[label, n] for label, n in board.intake],
        )
    )
    sheets.append(
        exports.Sheet(
            _("Stoppede efter årsag – {name}").format(name=board.municipality_name),
            [_("Årsag"), _("Antal")],
            [[label, n] for label, n in board.leavers],
        )
    )
    sheets += [table_sheet(t, 2) for t in board.splits + board.partnership_splits]
    return sheets


def _people_sheet(name: str, lines: list[dashboard.PersonLine]) -> exports.Sheet:
    return exports.Sheet(
        _("Nyansatte i {name}").format(name=name),
        [_("Navn"), _("Stilling"), _("Fagprofil"), _("Start"), _("Slut"), _("Årsag"), _("Hold"), _("Gennemført"), _("Fremmøde")],
        [
            [p.name, p.job_function, p.profile, p.start, p.end, p.leaver or "", p.cohort, p.completed, p.attendance]
            for p in lines
        ],
        frozenset({8}),
    )


@get("/dashboard/export.csv", guards=[CHIEFS], name="dashboard_export_csv")
async def export_csv(request: Request[User, None, None], view: FromQuery[str] = "overview") -> Response:
    return await _export(request, "csv", view)


@get("/dashboard/export.xlsx", guards=[CHIEFS], name="dashboard_export_xlsx")
async def export_xlsx(request: Request[User, None, None], view: FromQuery[str] = "overview") -> Response:
    return await _export(request, "xlsx", view)


async def _export(request: Request[User, None, None], kind: str, view: str) -> Response:
    if view not in ("overview", "people"):
        raise NotFound()
    params = _params(request)
    if view == "people":
        filters, name, lines = await dashboard.people_for(request.user, params)
        sheets = [_people_sheet(name, lines)]
        # People's data leaving the system by file is logged, like any other disclosure.
        await record(
            request.user.id, "dashboard.export_people", "municipality", filters.municipality,
            format=kind, people=len(lines),
        )
    else:
        board = await dashboard.dashboard_for(request.user, params)
        filters = board.filters
        sheets = _overview_sheets(board)
    stem = f"intro-{'personer' if view == 'people' else 'fastholdelse'}-{filters.year_from}-{filters.year_to}-{clock.today():%Y%m%d}"
    if kind == "csv":
        body, media = exports.to_csv(sheets), "text/csv"
    else:
        body, media = exports.to_xlsx(sheets), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{kind}"'},
    )


ROUTES = [dashboard_page, people_page, export_csv, export_xlsx]
