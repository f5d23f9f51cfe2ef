"""Jinja set-up: Danish filters, the `_` text marker and the navigation per role."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar.exceptions import NoRouteMatchFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.types.internal_types import PathParameterDefinition
from litestar.utils import join_paths

from intro import timefmt
from intro.i18n import _, ngettext
from intro.people.accounts import ROLE_NAMES, User
from intro.planning.outbox import OutboxStatus
from intro.settings import get_settings
from intro.tables import (
    CohortStatus,
    EmploymentImportStatus,
    EnrolmentStatus,
    PlanItemStatus,
    Role,
    SessionStatus,
)

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


@dataclass(frozen=True)
class NavItem:
    """One link of the main menu: the route's name (the page builds its URL with url_for)
    and its Danish label."""

    route: str
    label: str


def nav_for(user: User | None) -> list[NavItem]:
    if user is None:
        return []
    items = [NavItem("home", _("Forside"))]
    if user.has(Role.participant):
        items.append(NavItem("plan", _("Mit introforløb")))
    if user.has(Role.coordinator, Role.chief, Role.instructor):
        items.append(NavItem("cohorts", _("Hold")))
    if user.has(Role.chief):
        items.append(NavItem("dashboard", _("Fastholdelse")))
        items.append(NavItem("competences", _("Kompetencer")))
    if user.has(Role.instructor):
        items.append(NavItem("busy_calendars", _("Min kalender")))
    if user.has(Role.coordinator, Role.instructor, Role.chief, Role.admin, Role.participant):
        items.append(NavItem("curriculum_versions", _("Læreplan")))
    if user.has(Role.participant, Role.coordinator, Role.instructor, Role.chief):
        items.append(NavItem("my_feeds", _("Kalendere")))
    if user.has(Role.chief, Role.coordinator):
        items.append(NavItem("invitations", _("Invitationer")))
    items.append(NavItem("my_sessions", _("Mine log-ins")))
    if user.has(Role.participant):
        items.append(NavItem("my_evaluations", _("Evaluering")))
    if user.has(Role.coordinator, Role.instructor):
        items.append(NavItem("evaluation_results", _("Evalueringer")))
    if user.has(Role.coordinator, Role.admin):
        items.append(NavItem("outbox", _("Udbakke")))
    if user.is_admin:
        items.append(NavItem("admin_overview", _("Administration")))
    return items


# Kept in each app's state: (route name, names of the given parameters) -> the chosen
# route's path as a format string ("/cohorts/{}/progress") and its parameters in order.
_PATHS = "url_for_paths"
# Parameter types Litestar also accepts as strings (litestar.app.Litestar.route_reverse).
_STR_ALLOWED = {datetime, date, time, timedelta, float, Path, UUID}


def url_for(context: Mapping[str, Any], /, route_name: str, **path_parameters: Any) -> str:
    """The URL path of the route named `route_name` (the `name=` of its decorator), with
    `path_parameters` filled in: `url_for('cohort', cohort_id=3)` -> "/cohorts/3".

    Litestar's own `url_for` (app.route_reverse) picks the route anew on every call, sorting
    its paths (tens of µs); a table of a thousand linked rows pays that a thousand times.
    This one picks the route the same way once per app, name and parameter names, then only
    fills it in. Raises NoRouteMatchFoundException, as Litestar's does, for an unknown name or
    a parameter of the wrong type (an `int` route parameter given a string)."""
    app = context["request"].app
    paths = app.state.get(_PATHS)
    if paths is None:
        paths = app.state[_PATHS] = {}
    key = (route_name, frozenset(path_parameters))
    known = paths.get(key)
    if known is None:
        index = app.get_handler_index_by_name(route_name)
        if index is None:
            raise NoRouteMatchFoundException(f"Route {route_name} can not be found")
        routes = sorted(
            app.asgi_router.route_mapping[index["identifier"]],
            key=lambda r: len(r.path_parameters),
            reverse=True,
        )
        chosen = next((r for r in routes if key[1].issuperset(r.path_parameters)), routes[-1])
        parts = chosen.path_components
        fmt = join_paths(
            "{}" if isinstance(c, PathParameterDefinition) else c.replace("{", "{{").replace("}", "}}")
            for c in parts
        )
        known = (fmt, tuple(c for c in parts if isinstance(c, PathParameterDefinition)))
        paths[key] = known
    fmt, parameters = known
    values = []
    for parameter in parameters:
        value = path_parameters.get(parameter.name)
        as_text = parameter.type in _STR_ALLOWED and isinstance(value, str)
        if not isinstance(value, parameter.type) and not as_text:
            raise NoRouteMatchFoundException(
                f"Received type for path parameter {parameter.name} doesn't match declared type "
                f"{parameter.type}"
            )
        values.append(str(value))
    url = fmt.format(*values)
    # A value with slashes in it is joined as Litestar joins it (no doubled or trailing slash).
    return join_paths([url]) if any("/" in v for v in values) else url


def _configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    # Replaces Litestar's url_for (same arguments, same answers), which is slow in long tables.
    engine.register_template_callable("url_for", url_for)
    # Templates change only with a deploy: do not stat every template file (and each
    # include and import) on every render, except while developing.
    env.auto_reload = get_settings().debug
    env.globals.update(
        _=_,
        ngettext=ngettext,
        nav_for=nav_for,
        role_names={r.value: name for r, name in ROLE_NAMES.items()},
        # Templates compare statuses through the same enums as the Python code (issue 15).
        CohortStatus=CohortStatus,
        SessionStatus=SessionStatus,
        EnrolmentStatus=EnrolmentStatus,
        PlanItemStatus=PlanItemStatus,
        OutboxStatus=OutboxStatus,
        EmploymentImportStatus=EmploymentImportStatus,
    )
    env.filters.update(
        da_date=timefmt.da_date,
        da_weekday_date=timefmt.da_weekday_date,
        da_short_date=timefmt.da_short_date,
        da_time=timefmt.da_time,
        da_datetime=timefmt.da_datetime,
        hours=timefmt.hours,
        da_decimal=timefmt.da_decimal,
    )


def template_config() -> TemplateConfig:
    """Templates from templates/, after the installation's own folder (INTRO_TEMPLATES_DIR)
    when it has one: a file there replaces the one of the same name here."""
    own = get_settings().templates_dir
    return TemplateConfig(
        directory=[own, TEMPLATES] if own else TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_configure
    )


class KeptRenders:
    """Templates rendered once per kept object (a board or grid a `StampedCache` keeps):
    `render(request, owner, variant, template_name, context)` gives the HTML rendered
    from `context()` the first time for that owner and variant, and the same HTML after,
    for as long as the owner is alive. The cache that keeps the owner replaces it after
    any write to what it was built from, so a new owner is rendered afresh; entries of
    owners let go are dropped on the next miss. Per worker; the HTML must hold nothing
    of the viewer's own (a CSRF field goes in as a placeholder)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref, dict[Hashable, Any]]] = {}

    def render(self, request, owner: object, variant: Hashable, template_name: str,
               context: Callable[[], dict]) -> Any:
        from markupsafe import Markup

        entry = self._entries.get(id(owner))
        if entry is None or entry[0]() is not owner:
            for key in [k for k, (ref, _html) in self._entries.items() if ref() is None]:
                del self._entries[key]
            entry = self._entries[id(owner)] = (weakref.ref(owner), {})
        html = entry[1].get(variant)
        if html is None:
            template = request.app.template_engine.get_template(template_name)
            html = entry[1][variant] = Markup(template.render(**context(), request=request))
        return html

    # What tests and a worker's operator look at: the owners kept and their renders.
    def __len__(self) -> int:
        return len(self._entries)

    def values(self):
        return self._entries.values()

    def clear(self) -> None:
        self._entries.clear()
