"""Jinja set-up: Danish filters, the `_` text marker and the navigation per role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from intro import timefmt
from intro.i18n import _, ngettext
from intro.people.accounts import ROLE_NAMES, User
from intro.settings import get_settings
from intro.tables import Role

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


def _configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    # Templates change only with a deploy: do not stat every template file (and each
    # include and import) on every render, except while developing.
    env.auto_reload = get_settings().debug
    env.globals.update(
        _=_,
        ngettext=ngettext,
        nav_for=nav_for,
        role_names={r.value: name for r, name in ROLE_NAMES.items()},
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
