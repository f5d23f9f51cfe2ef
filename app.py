"""Intro: the one Litestar app, and the commands to run it.

    python app.py                 serve on http://127.0.0.1:8000
    python app.py setup           migrate, load the curriculum, seed demo data if empty
    python app.py create-admin    create the first administrator
    python app.py --help          every command
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router

from intro.settings import ROOT, get_settings

CURRICULUM_DIR = ROOT / "curriculum"


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # No page address (which may carry ids) is sent to other sites.
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
    ),
    # Pages carry personal data: not kept in shared caches or the browser's history.
    (b"cache-control", b"no-store"),
)


async def _security_headers(message, _scope) -> None:
    """Every answer, error answers included (also the 404/405 the router gives before any
    handler runs), carries the security headers; a header the answer sets itself (the
    static files' Cache-Control) is kept."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {name.lower() for name, _value in headers}
    headers.extend((name, value) for name, value in SECURITY_HEADERS if name not in present)
    message["headers"] = headers


def create_app() -> Litestar:
    import piccolo_conf  # noqa: F401  (sets up the engine and the SQLite constraint fix)
    from intro.web import (
        about,
        account,
        admin,
        api,
        api_tokens,
        attendance,
        busy,
        cohorts,
        competences,
        curriculum,
        curriculum_drafts,
        curriculum_local,
        dashboard,
        enrolment,
        evaluations,
        feeds,
        follow_up,
        health,
        home,
        hr_import,
        outbox,
        plan,
        programme,
        providers,
        second_factor,
        tasks,
    )
    from intro.web.auth import SessionMiddleware, login_page, login_submit, logout, require_login
    from intro.web.errors import EXCEPTION_HANDLERS
    from intro.web.forms import check_request
    from intro.web.templating import template_config

    settings = get_settings()
    engine = piccolo_conf.DB

    pooled = engine.engine_type == "postgres" and settings.db_pool

    async def open_pool() -> None:
        if pooled:
            await engine.start_connection_pool()

    async def freeze_gc() -> None:
        # A served worker holds ~100,000 long-lived objects from its imports and the app
        # (Litestar, Piccolo, Jinja); every full collection walks them all (~80 ms on this
        # machine), and building a large dashboard sets one off (issue 19). Frozen, they
        # are left out of collections. Only by `serve` (INTRO_FREEZE_GC): the tests make
        # many apps in one process and should not keep them.
        if os.environ.get("INTRO_FREEZE_GC") == "1":
            import gc

            gc.collect()
            gc.freeze()

    async def close_pool() -> None:
        if pooled:
            await engine.close_connection_pool()
        if hasattr(engine, "close_idle"):  # SQLite's kept connections
            await engine.close_idle()

    static = create_static_files_router(
        path="/static",
        directories=[ROOT / "static"],
        name="static",
        opt={"public": True},
        # Files change only with a deploy; an hour keeps pages quick without stale CSS for long.
        cache_control=CacheControlHeader(public=True, max_age=3600),
    )

    return Litestar(
        route_handlers=[
            # The pages are for people; the OpenAPI schema describes the HR API only.
            Router(path="/", include_in_schema=False, route_handlers=[
                static,
                health.healthz,
                health.livez,
                login_page,
                login_submit,
                logout,
                home.home,
                *about.ROUTES,
                *curriculum.ROUTES,
                *curriculum_drafts.ROUTES,
                *curriculum_local.ROUTES,
                *outbox.ROUTES,
                *evaluations.ROUTES,
                *cohorts.ROUTES,
                *enrolment.ROUTES,
                *attendance.ROUTES,
                *programme.ROUTES,
                *busy.ROUTES,
                *plan.ROUTES,
                *follow_up.ROUTES,
                *competences.ROUTES,
                *dashboard.ROUTES,
                *tasks.ROUTES,
                *hr_import.ROUTES,
                *feeds.ROUTES,
                *admin.ROUTES,
                *api_tokens.ROUTES,
                *account.ROUTES,
                *providers.ROUTES,
                *second_factor.ROUTES,
            ]),
            *api.ROUTES,
        ],
        guards=[require_login],
        middleware=[SessionMiddleware()],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            # htmx takes the token from the page (hx-headers), never from the cookie.
            cookie_httponly=True,
            cookie_samesite="lax",
            # The HR API authenticates each call by its bearer token and sets no cookie. A
            # calendar feed is read only (GET, HEAD), by the secret in its URL, by calendar
            # programs that keep no cookies: it neither needs a CSRF token nor sets one (a
            # random token and a cookie made for every poll, issue 19).
            # Anchored: Litestar looks for these anywhere in the path (/me/feeds/… must keep
            # its token).
            exclude=["^/healthz$", "^/livez$", "^/api/", "^/feeds/"],
        ),
        template_config=template_config(),
        # Pages and calendar feeds are text: gzip them (feeds of years of course days shrink ~10x).
        # Level 6: nearly level 9's size at a fraction of its time. Feeds are compressed
        # once per version by the feed handler itself, so the middleware skips them.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1000, gzip_compress_level=6, exclude=["/feeds/"]
        ),
        plugins=[HTMXPlugin()],
        openapi_config=OpenAPIConfig(
            title="Intro – API for HR-systemer",
            version="1",
            description=(
                "Ansættelser i én kommune, med en API-nøgle oprettet af kommunens chef eller en "
                "administrator (Authorization: Bearer intro_…). Se siden 'API-nøgler' i Intro."
            ),
            # Readable by an HR system without a browser sign-in: it describes the API only.
            openapi_router=Router(
                path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False
            ),
            # The schema only, as JSON and YAML: the browsable renderings load scripts from
            # other sites, which the pages' Content-Security-Policy rightly refuses.
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
            components=[api.SECURITY_COMPONENTS],
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        # The input gate (intro/web/forms.py) before every handler, after its guards.
        before_request=check_request,
        before_send=[_security_headers],
        on_startup=[open_pool, freeze_gc],
        on_shutdown=[close_pool],
        debug=settings.debug,
    )


# --------------------------------------------------------------------------------------
# Commands


def _run(coro):
    return asyncio.run(coro)


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Intro: fælles introduktionsuddannelse for nye medarbejdere i jobcentre."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--reload", is_flag=True, help="Genstart ved kodeændringer (udvikling).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the app with uvicorn."""
    import uvicorn

    os.environ["INTRO_FREEZE_GC"] = "1"  # for the workers' apps (create_app's freeze_gc)
    uvicorn.run(
        "app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        log_level="info",
    )


async def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    import piccolo_conf
    from intro.db import enable_wal

    await enable_wal(piccolo_conf.DB)
    result = await run_forwards(app_name="intro")
    if not result.success:
        raise click.ClickException(result.message)


@cli.command()
def migrate() -> None:
    """Apply the database migrations."""
    _run(_migrate())


@cli.group()
def curriculum() -> None:
    """Validate and load the shared curriculum files."""


@curriculum.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
def curriculum_validate(files: tuple[Path, ...]) -> None:
    """Check curriculum files; print every problem with file and field."""
    from intro.curriculum.versions import CurriculumInvalid, read_file

    paths = list(files) or sorted(CURRICULUM_DIR.glob("*.toml"))
    failed = False
    for path in paths:
        try:
            data = read_file(path)
        except CurriculumInvalid as error:
            failed = True
            for problem in error.problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(f"{path.name}: OK ({len(data['modules'])} moduler)")
    if failed:
        sys.exit(1)


@curriculum.command("sync")
@click.argument("directory", default=str(CURRICULUM_DIR), type=click.Path(path_type=Path))
def curriculum_sync(directory: Path) -> None:
    """Load every file in DIRECTORY; unchanged files change nothing."""
    from intro.curriculum.versions import CurriculumInvalid, sync_directory

    async def run():
        try:
            for r in await sync_directory(directory):
                state = "indlæst" if r.created else "uændret"
                click.echo(f"{r.label} (revision {r.revision}): {state}")
        except CurriculumInvalid as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)

    _run(run())


@cli.command("seed-demo")
@click.option("--force", is_flag=True, help="Også selv om databasen allerede har data.")
def seed_demo(force: bool) -> None:
    """Fill an empty database with the demo partnership, people and cohorts."""
    from intro.demo import west_zealand as demo

    async def run():
        if not force and not await demo.is_empty():
            click.echo("Databasen har allerede data; demodata springes over.")
            return
        summary = await demo.seed()
        click.echo(summary)

    _run(run())


@cli.command("demo-national")
@click.option("--seed", default=1, show_default=True, type=int, help="Samme seed giver samme data.")
@click.option(
    "--years",
    default=10,
    show_default=True,
    type=click.IntRange(1, 30),
    help="År med nyansættelser.",
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.001, 10.0),
    help="1.0 er ca. 3.000 nyansatte om året; mindre til test.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Dagen data lægges ud fra (YYYY-MM-DD); standard er i dag.",
)
def demo_national(seed: int, years: int, scale: float, today) -> None:
    """Fill an EMPTY migrated database with all 98 municipalities and years of new hires."""
    from intro.demo import national

    async def run():
        try:
            summary = await national.generate(
                seed=seed,
                years=years,
                scale=scale,
                today=today.date() if today else None,
                echo=lambda message: click.echo(message, err=True),
            )
        except national.NotEmpty as error:
            raise click.ClickException(str(error)) from None
        for line in summary.lines():
            click.echo(line)

    _run(run())


@cli.command("calendars-refresh")
def calendars_refresh() -> None:
    """Read every instructor's busy calendar again (run it nightly, e.g. from cron)."""
    from intro.planning import busy

    async def run():
        summary = await busy.refresh_all()
        click.echo(str(summary))

    _run(run())


@cli.command("send-notices")
@click.option("--limit", default=100, show_default=True, type=int, help="Højst så mange beskeder.")
def send_notices(limit: int) -> None:
    """Send queued change notices by e-mail (run every minute, e.g. from cron or a systemd timer)."""
    from intro.planning import notices

    async def run():
        summary = await notices.send_due(limit=limit)
        click.echo(str(summary))

    _run(run())


@cli.command("anonymise-leavers")
@click.option("--dry-run", is_flag=True, help="Vis kun, hvem der ville blive anonymiseret.")
@click.option("--years", type=click.IntRange(0, 100), default=None,
              help="Antal år efter sidste ansættelse (standard: INTRO_RETENTION_YEARS).")
def anonymise_leavers(dry_run: bool, years: int | None) -> None:
    """Anonymise people whose last employment ended more than the retention period ago (run nightly)."""
    from intro.people import privacy

    async def run():
        due = await privacy.retention_sweep(years=years, dry_run=dry_run)
        for item in due:
            click.echo(f"person {item.person_id}: sidste ansættelse sluttede {item.last_end.isoformat()}")
        verb = "ville blive anonymiseret" if dry_run else "anonymiseret"
        click.echo(f"{len(due)} {verb}")

    _run(run())


@cli.command("end-lapsed-access")
@click.option("--dry-run", is_flag=True, help="Vis kun, hvis adgang ville ophøre.")
def end_lapsed_access(dry_run: bool) -> None:
    """End participant access of people whose employment ended more than the grace period ago (run nightly)."""
    from intro.hr import offboarding

    async def run():
        lapsed = await offboarding.end_lapsed_access(dry_run=dry_run)
        for item in lapsed:
            click.echo(f"person {item.person_id}, kommune {item.municipality_id}: sidste dag {item.last_end.isoformat()}")
        click.echo(f"{len(lapsed)} {'ville ophøre' if dry_run else 'ophørt'}")

    _run(run())


@cli.command()
@click.pass_context
def setup(ctx: click.Context) -> None:
    """Migrate, load the curriculum and seed demo data if the database is empty."""
    ctx.invoke(migrate)
    ctx.invoke(curriculum_sync, directory=CURRICULUM_DIR)
    ctx.invoke(seed_demo, force=False)


@cli.command("create-admin")
@click.option("--email", prompt="E-mail")
@click.option("--name", "full_name", prompt="Fulde navn")
@click.password_option("--password", prompt="Adgangskode", confirmation_prompt="Gentag adgangskoden")
def create_admin(email: str, full_name: str, password: str) -> None:
    """Create an administrator (the first one, or another)."""
    from intro.errors import Invalid
    from intro.people import accounts
    from intro.tables import Role

    async def run():
        try:
            person_id = await accounts.create_person(None, email, full_name, password)
            await accounts.grant_role(None, person_id, Role.admin.value)
        except Invalid as error:
            for field, message in error.errors.items():
                click.echo(f"{field}: {message}", err=True)
            sys.exit(1)
        click.echo(f"Administrator oprettet: {accounts.normalise_email(email)}")

    _run(run())


if __name__ == "__main__":
    os.chdir(ROOT)
    cli()
