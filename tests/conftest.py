"""Test set-up: every test gets a database of its own.

The backend is SQLite unless INTRO_TEST_BACKEND=postgres (then PostgreSQL at
INTRO_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres). Two template
databases are built once per run — migrated with the curriculum loaded ("plain"), and
the same plus the demo data ("demo") — and each test gets a copy: a file copy on
SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL. Piccolo opens a connection per
query, so the test just points the engine at its own copy.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BACKEND = os.environ.get("INTRO_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("INTRO_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
WORK = Path(tempfile.mkdtemp(prefix="intro-tests-"))
RUN_ID = f"{os.getpid()}"

# Configuration is read once, on first import: set it before anything imports intro.
os.environ["INTRO_SECRET_KEY"] = "test-secret-key-not-for-production-0123456789"
os.environ["INTRO_SECURE_COOKIES"] = "0"
# The test client runs the app on an event loop of its own; a pool opened there cannot
# serve the test's own queries. tests/test_server.py covers the pool with a real server.
os.environ["INTRO_DB_POOL"] = "0"
os.environ["INTRO_DB"] = str(WORK / "unused.sqlite")
if BACKEND == "postgres":
    os.environ["DATABASE_URL"] = PG_URL
else:
    os.environ.pop("DATABASE_URL", None)

# The suite at a chosen day: INTRO_TEST_TODAY=2027-03-26 (10:00 in Copenhagen) or a full
# local time, 2027-03-28T01:30. Everything reads the time through intro.clock, which reads
# datetime.now; time-machine moves that for the whole process, ticking on from there.
#
# The date-sensitive tests at several days in one run: INTRO_TEST_DAYS="2026-12-23
# 2027-03-29 ..." runs each test marked `days` once per day (its id ends in [day=...]),
# with the clock moved to that day from the test's set-up to its teardown, and template
# databases built at that day (make test-days). Only the `days` tests move: the rest of
# the run is at today's date.
PINNED = os.environ.get("INTRO_TEST_TODAY", "").strip()
DAYS = os.environ.get("INTRO_TEST_DAYS", "").split()
if PINNED and DAYS:
    raise pytest.UsageError("INTRO_TEST_TODAY pins the whole run; INTRO_TEST_DAYS the days tests: give one")


def _moment(day: str):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(day if "T" in day else f"{day}T10:00").replace(
        tzinfo=ZoneInfo("Europe/Copenhagen")
    )


if PINNED:
    import time_machine

    _traveller = time_machine.travel(_moment(PINNED), tick=True)
    _traveller.start()

# The day the running test is moved to by INTRO_TEST_DAYS ("" when it is not moved).
_DAY_NOW = ""
# Per day, how long its tests have run so far: each test at a day starts where the last
# one at that day stopped, so that day's clock goes only forward, as in a run pinned to it.
_DAY_ELAPSED: dict[str, float] = {}


def pytest_generate_tests(metafunc) -> None:
    if DAYS and metafunc.definition.get_closest_marker("days"):
        metafunc.fixturenames.append("pinned_day")
        metafunc.parametrize("pinned_day", DAYS, ids=[f"day={day}" for day in DAYS])


# On PostgreSQL only the tests that use a database run: those whose fixtures include
# `templates` (which db, demo_db, client, demo_client and every fixture built on them
# use). A test without it never reaches the database — pure functions, checks of files
# and templates — so it gives the same result on either backend and runs on SQLite.
# INTRO_TEST_PG_ALL=1 runs those on PostgreSQL as well.
PG_ALL = os.environ.get("INTRO_TEST_PG_ALL", "") not in ("", "0")


def _uses_database(item) -> bool:
    return "templates" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items) -> None:
    if BACKEND == "postgres" and not PG_ALL:
        without = [item for item in items if not _uses_database(item)]
        if without:
            config.hook.pytest_deselected(items=without)
            items[:] = [item for item in items if _uses_database(item)]
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None and not hasattr(config, "workerinput"):
                reporter.write_line(
                    f"PostgreSQL: {len(without)} tests that use no database deselected "
                    "(they run on SQLite; INTRO_TEST_PG_ALL=1 runs them here too)"
                )
    if DAYS:
        # One day after the other (stable: within a day, in the order collected).
        order = {day: n for n, day in enumerate(DAYS)}
        items.sort(key=lambda item: order.get(_pinned_day(item), -1))


def _pinned_day(item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("pinned_day", "") if callspec else ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _DAY_NOW
    day = _pinned_day(item)
    if not day:
        return (yield)
    import time

    import time_machine

    start = time.perf_counter()
    traveller = time_machine.travel(
        _moment(day) + timedelta(seconds=_DAY_ELAPSED.get(day, 0.0)), tick=True
    )
    traveller.start()
    _DAY_NOW = day
    try:
        return (yield)
    finally:
        _DAY_NOW = ""
        traveller.stop()
        _DAY_ELAPSED[day] = _DAY_ELAPSED.get(day, 0.0) + time.perf_counter() - start


import piccolo_conf  # noqa: E402
from intro.demo.west_zealand import DEMO_PASSWORD  # noqa: E402

ENGINE = piccolo_conf.DB
_counter = itertools.count()


def pg_url(database: str) -> str:
    parts = urlsplit(PG_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_URL)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _point_engine_at(target: str) -> None:
    from intro.db import StampedCache

    # The per-worker caches know one database: each test's fresh copy restarts the write
    # counters where the template left them, so what an earlier test kept could look current.
    StampedCache.clear_all()
    if BACKEND == "postgres":
        ENGINE.config = {"dsn": pg_url(target)}
    else:
        ENGINE.path = target


@contextmanager
def own_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A new event loop for a test that drives the database itself (the stateful tests run
    by hypothesis outside pytest-asyncio). On PostgreSQL the engine gets a connection pool
    in that loop for as long as it lasts: without one every query opens a connection of its
    own (about 5 ms against 0.15 ms), which made such a test some 50 times slower there
    than on SQLite. The pool is closed with the loop."""
    loop = asyncio.new_event_loop()
    pooled = BACKEND == "postgres"
    try:
        if pooled:
            loop.run_until_complete(ENGINE.start_connection_pool(min_size=1, max_size=4))
        yield loop
    finally:
        if pooled:
            loop.run_until_complete(ENGINE.close_connection_pool())
        loop.close()


async def _migrate_and_load() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from intro.curriculum.versions import sync_directory

    result = await run_forwards(app_name="intro")
    assert result.success, result.message
    await sync_directory(ROOT / "curriculum")


async def _build_templates(key: str) -> dict[str, str]:
    """The two template databases, built now (at the pinned day, if one is pinned)."""
    from intro.demo import west_zealand as demo

    if BACKEND == "postgres":
        plain, seeded = f"intro_tpl_plain_{RUN_ID}{key}", f"intro_tpl_demo_{RUN_ID}{key}"
        await _pg_admin(
            f"DROP DATABASE IF EXISTS {plain}",
            f"DROP DATABASE IF EXISTS {seeded}",
            f"CREATE DATABASE {plain}",
        )
        _point_engine_at(plain)
        await _migrate_and_load()
        await _pg_admin(f"CREATE DATABASE {seeded} TEMPLATE {plain}")
        _point_engine_at(seeded)
        await demo.seed()
    else:
        plain, seeded = str(WORK / f"plain{key}.sqlite"), str(WORK / f"demo{key}.sqlite")
        _point_engine_at(plain)
        await _migrate_and_load()
        shutil.copyfile(plain, seeded)
        _point_engine_at(seeded)
        await demo.seed()
    return {"plain": plain, "demo": seeded}


@pytest.fixture(scope="session")
async def _template_store() -> AsyncIterator[dict[str, dict[str, str]]]:
    """Template databases by pinned day ("" for the day the run is at), built on first use:
    the demo data is laid out around the day it is built, so each day has its own."""
    store: dict[str, dict[str, str]] = {}
    yield store
    if BACKEND == "postgres":
        await _pg_settle()
        for built in store.values():
            await _pg_admin(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in built.values()))
    shutil.rmtree(WORK, ignore_errors=True)


@pytest.fixture
async def templates(_template_store) -> dict[str, str]:
    """{"plain": ..., "demo": ...}: the template databases for the day the test runs at."""
    key = _DAY_NOW.replace("-", "_").replace(":", "_").replace("T", "_")
    if key not in _template_store:
        _template_store[key] = await _build_templates(f"_{key}" if key else "")
    return _template_store[key]


# PostgreSQL: the copy the next test of a template will get is made while this test runs
# (CREATE DATABASE ... TEMPLATE takes about half a second, most of it waiting on the disk),
# and the copies of finished tests are dropped meanwhile. In a thread of its own, with its
# own event loop: a test that is not async holds up the test's loop for as long as it runs.
# INTRO_TEST_PG_PREPARE=0 makes every copy when its test starts.
PG_PREPARE = os.environ.get("INTRO_TEST_PG_PREPARE", "1") != "0"
_SPARES: dict[str, Future] = {}
_BACKGROUND: list[Future] = []
_preparer: ThreadPoolExecutor | None = None


async def _pg_copy(template: str) -> str:
    name = f"intro_t_{RUN_ID}_{next(_counter)}"
    await _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


async def _pg_drop(name: str) -> None:
    await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _in_background(coroutine_function, *args) -> Future:
    global _preparer
    if _preparer is None:
        _preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intro-pg-copies")
    future = _preparer.submit(lambda: asyncio.run(coroutine_function(*args)))
    _BACKGROUND[:] = [f for f in _BACKGROUND if not f.done()] + [future]
    return future


async def _pg_settle() -> None:
    """Waits for the copies in the making and the drops; drops the copies nobody took."""
    spares = list(_SPARES.values())
    _SPARES.clear()
    await asyncio.gather(*(asyncio.wrap_future(f) for f in [*spares, *_BACKGROUND]), return_exceptions=True)
    for future in spares:
        if future.exception() is None:
            await _pg_drop(future.result())


async def _fresh_copy(template: str) -> AsyncIterator[str]:
    if BACKEND == "postgres":
        spare = _SPARES.pop(template, None)
        name = await asyncio.wrap_future(spare) if spare is not None else await _pg_copy(template)
        if PG_PREPARE:
            _SPARES[template] = _in_background(_pg_copy, template)
        _point_engine_at(name)
        yield name
        if PG_PREPARE:
            _in_background(_pg_drop, name)
        else:
            await _pg_drop(name)
    else:
        n = next(_counter)
        path = str(WORK / f"test-{n}.sqlite")
        shutil.copyfile(template, path)
        _point_engine_at(path)
        yield path
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)


@pytest.fixture
async def db(templates) -> AsyncIterator[str]:
    """A migrated database with the curriculum loaded and nothing else."""
    async for name in _fresh_copy(templates["plain"]):
        yield name


@pytest.fixture
async def demo_db(templates) -> AsyncIterator[str]:
    """A database with the curriculum and the demo partnership, people and cohorts."""
    async for name in _fresh_copy(templates["demo"]):
        yield name


async def _client() -> AsyncIterator:
    from litestar.testing import AsyncTestClient

    from app import create_app

    async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as client:
        client.follow_redirects = False
        yield client


@pytest.fixture
async def client(db):
    async for c in _client():
        yield c


@pytest.fixture
async def demo_client(demo_db):
    async for c in _client():
        yield c


# --------------------------------------------------------------------------------------
# Helpers for tests


def csrf_token(client) -> str:
    return client.cookies.get("csrftoken", "")


async def login(client, email: str, password: str = DEMO_PASSWORD):
    """Sign in through the real form; returns the POST response."""
    await client.get("/login")
    return await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf_token(client)},
    )


async def post_form(client, url: str, data: dict | None = None, **kwargs):
    """POST a form as a browser would: with the CSRF token from the cookie."""
    if not csrf_token(client):
        await client.get("/login")
    return await client.post(url, data={**(data or {}), "_csrf_token": csrf_token(client)}, **kwargs)



def pytest_report_header(config) -> str:
    from intro import clock

    lines = [f"Intro: {BACKEND}, today is {clock.today().isoformat()}" + (" (pinned)" if PINNED else "")]
    if DAYS:
        lines.append(f"Intro: the tests marked days run at each of {len(DAYS)} days: {' '.join(DAYS)}")
    if BACKEND == "postgres" and not PG_ALL:
        lines.append("Intro: only tests that use a database (fixture `templates`) run on PostgreSQL")
    return lines
