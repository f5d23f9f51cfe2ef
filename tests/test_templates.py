"""Templates stay readable and follow the routes (issue 15, part 4).

- No template line is longer than 200 characters. A long line is broken where Jinja makes the
  break invisible (`{{-`/`-%}` whitespace control, inside a tag, adjacent string literals), so
  the page is the same byte for byte.
- Internal links, form actions and htmx requests are built with `url_for(route name, ...)`,
  never written as paths: a route that moves changes its decorator, and every template follows.
  Static files keep their `/static/...` paths: they are files under one fixed mount, named the
  same in the CSS and JavaScript that cannot call `url_for`.
- Every name a template gives `url_for` is a route of the app, with exactly that route's path
  parameters, so a renamed route or parameter fails here, not on a page in use.

Read from the template sources: links are found in the whole text (a tag may span lines), and
`url_for` calls in the parsed Jinja tree.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from jinja2 import nodes
from litestar.exceptions import NoRouteMatchFoundException

from app import create_app
from intro.people.accounts import Grant, User
from intro.tables import Role
from intro.web.templating import nav_for, url_for

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
LONGEST_LINE = 200

# Attributes that make the browser (or htmx) request a URL.
URL_ATTRIBUTES = ("href", "action", "formaction", "src", "hx-get", "hx-post", "hx-put", "hx-delete", "hx-patch")
HARD_CODED_ATTRIBUTE = re.compile(r'\b(' + "|".join(URL_ATTRIBUTES) + r')\s*=\s*["\']?(/(?!/)[^"\'\s>]*)')
# The one url_for whose name is a variable: the main menu, whose names nav_for() gives.
DYNAMIC_NAMES = {("base.html", "item.route")}
# A path written as a string inside Jinja code, e.g. breadcrumbs([("/admin", ...)]).
HARD_CODED_STRING = re.compile(r'''(?<![\w.])["'](/[a-z][^"'\s]*)["']''')

ALLOWED = {
    # Litestar's OpenAPI router serves these; the YAML rendering has no route name.
    "/schema/openapi.json": "the OpenAPI schema, served by Litestar's own router",
    "/schema/openapi.yaml": "the OpenAPI schema, served by Litestar's own router",
    # A sentence on the certificate, which is also rendered to PDF without a request.
    "/certificates/verify": "text on the certificate, rendered to PDF outside a request",
}


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def hard_coded_paths(source: str) -> list[str]:
    """The internal paths a template source writes out instead of asking `url_for`, outside
    static files and the allow-list."""
    found = [m.group(2) for m in HARD_CODED_ATTRIBUTE.finditer(source)]
    for code in re.findall(r"\{[{%](.*?)[}%]\}", source, re.S):
        found += HARD_CODED_STRING.findall(code)
    return [p for p in found if not p.startswith("/static/") and p.split("?")[0] not in ALLOWED]


def url_for_calls(source: str) -> list[tuple[str | None, set[str], int]]:
    """Each `url_for('name', param=...)` in a template: (name, parameter names, line); the
    name is None when it is not written as a string, `item.route` style when it is a
    variable's attribute."""
    tree = jinja2.Environment().parse(source)
    calls = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "url_for":
            first = call.args[0] if call.args else None
            if isinstance(first, nodes.Const):
                name = first.value
            elif isinstance(first, nodes.Getattr) and isinstance(first.node, nodes.Name):
                name = f"{first.node.name}.{first.attr}"
            else:
                name = None
            calls.append((name, {k.key for k in call.kwargs}, call.lineno))
    return calls


def test_no_template_line_is_longer_than_200_characters():
    long = [
        f"{path.relative_to(ROOT)}:{number} ({len(line)})"
        for path in _templates()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > LONGEST_LINE
    ]
    assert not long, "Template lines over 200 characters (break them with {%- / -%}):\n" + "\n".join(long)


# A status written as a string in a template: `x.status == "planning"`, `"done" != i.status`,
# or a filter test on the status attribute ("status", "equalto", "cancelled").
STATUS_AS_STRING = re.compile(
    r"""status\s*(?:==|!=)\s*["']|["']\s*(?:==|!=)\s*[\w.]*status\b|["']status["']\s*,\s*["']equalto["']\s*,\s*["']"""
)


def test_templates_compare_statuses_through_their_enums():
    """Templates compare statuses through the enums (CohortStatus.planning …, Jinja globals
    set in intro/web/templating.py), as the Python code does (tests/test_layers.py): a
    misspelt status is then an error on the page's first render instead of a comparison
    that is silently never true."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in _templates()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if STATUS_AS_STRING.search(line)
    ]
    assert not found, "Statuses spelt as strings in templates:\n" + "\n".join(found)
    for wrong in ('{% if c.status == "planning" %}', "{% if 'done' != i.status %}", '| rejectattr("status", "equalto", "x")'):
        assert STATUS_AS_STRING.search(wrong), wrong
    assert not STATUS_AS_STRING.search("{% if c.status == CohortStatus.planning %}")


def test_templates_ask_url_for_instead_of_writing_paths():
    found = [
        f"{path.relative_to(ROOT)}: {p}"
        for path in _templates()
        for p in hard_coded_paths(path.read_text(encoding="utf-8"))
    ]
    assert not found, "Internal paths written out in templates (use url_for):\n" + "\n".join(found)


def test_every_url_for_names_a_route_with_its_parameters():
    app = create_app()
    seen = 0
    wrong = []
    for path in _templates():
        for name, params, line in url_for_calls(path.read_text(encoding="utf-8")):
            seen += 1
            where = f"{path.relative_to(ROOT)}:{line}"
            if (str(path.relative_to(TEMPLATES)), name) in DYNAMIC_NAMES:
                continue
            if name is None or not isinstance(name, str) or "." in name:
                wrong.append(f"{where}: the route name must be written as a string")
                continue
            index = app.get_handler_index_by_name(name)
            if index is None:
                wrong.append(f"{where}: no route named {name!r}")
                continue
            routes = app.asgi_router.route_mapping[index["identifier"]]
            if not any(params == set(route.path_parameters) for route in routes):
                expected = " or ".join(sorted(str(sorted(r.path_parameters)) for r in routes))
                wrong.append(f"{where}: {name!r} takes {expected}, given {sorted(params)}")
    assert seen > 200, seen  # the scan reads the templates
    assert not wrong, "url_for calls that do not match a route:\n" + "\n".join(wrong)


def test_the_main_menu_names_routes():
    app = create_app()
    everyone = User(1, "a@example.org", "A", tuple(Grant(role) for role in Role))
    items = nav_for(everyone)
    assert len(items) > 10
    for item in items:
        index = app.get_handler_index_by_name(item.route)
        assert index is not None, item
        assert not app.asgi_router.route_mapping[index["identifier"]][0].path_parameters, item


def test_the_scans_see_what_they_look_for():
    """The checks find each kind of mistake they are meant to find (so the tests above can fail)."""
    old = """<a href="/cohorts/{{ c.id }}">x</a> <form method="post" action='/logout'>
    <button hx-post="/sessions/{{ s.id }}/check"
            hx-get=/plan>{{ breadcrumbs([("/admin", _("Administration"))], "x") }}
    <link href="/static/css/app.css"> <a href="https://example.org/">x</a> <a href="#top">x</a>
    <a href="/schema/openapi.json">JSON</a> <a href="{{ url_for('cohorts') }}?q=1">x</a>"""
    assert hard_coded_paths(old) == ["/cohorts/{{", "/logout", "/sessions/{{", "/plan", "/admin"]
    calls = url_for_calls("{{ url_for('cohort',\n cohort_id=c.id) }}{% set a = url_for(name) %}")
    assert calls == [("cohort", {"cohort_id"}, 1), (None, set(), 2)]
    assert url_for_calls("{{ url_for(item.route) }}") == [("item.route", set(), 1)]


def test_our_url_for_answers_as_litestars_does():
    """intro.web.templating.url_for (cached per app) gives Litestar's route_reverse answers,
    and refuses what it refuses."""
    app = create_app()
    context = {"request": SimpleNamespace(app=app)}
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            name = handler.name
            if not name or "name" in route.path_parameters or app.get_handler_index_by_name(name) is None:
                continue
            for text in ("x-y", "a/b", "/c/"):
                given = {p: 7 if d.type is int else text for p, d in route.path_parameters.items()}
                assert url_for(context, name, **given) == app.route_reverse(name, **given), (name, given)
                checked += 1
    assert checked > 300, checked
    for name, given in [("cohort", {"cohort_id": "3"}), ("cohort", {}), ("no_such_route", {})]:
        with pytest.raises(NoRouteMatchFoundException):
            app.route_reverse(name, **given)
        with pytest.raises(NoRouteMatchFoundException):
            url_for(context, name, **given)
