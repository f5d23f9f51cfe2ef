"""Test set-up: every test gets a database of its own.

The backend is SQLite unless INTRO_TEST_BACKEND=postgres (then PostgreSQL at
INTRO_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres). Two template
databases are built once per run — migrated with the curriculum loaded ("plain"), and
the same plus the demo data ("demo") — and each test gets a copy: a file copy on
SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL. Piccolo opens a connection per
query, so the test just points the engine at its own copy.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
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
PINNED = os.environ.get("INTRO_TEST_TODAY", "").strip()
if PINNED:
    from datetime import datetime as _datetime
    from zoneinfo import ZoneInfo

    import time_machine

    _moment = _datetime.fromisoformat(PINNED if "T" in PINNED else f"{PINNED}T10:00")
    _traveller = time_machine.travel(_moment.replace(tzinfo=ZoneInfo("Europe/Copenhagen")), tick=True)
    _traveller.start()

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


async def _migrate_and_load() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from intro.curriculum.versions import sync_directory

    result = await run_forwards(app_name="intro")
    assert result.success, result.message
    await sync_directory(ROOT / "curriculum")


@pytest.fixture(scope="session")
async def templates() -> AsyncIterator[dict[str, str]]:
    from intro.demo import west_zealand as demo

    if BACKEND == "postgres":
        plain, seeded = f"intro_tpl_plain_{RUN_ID}", f"intro_tpl_demo_{RUN_ID}"
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
        yield {"plain": plain, "demo": seeded}
        await _pg_admin(
            f"DROP DATABASE IF EXISTS {plain} WITH (FORCE)",
            f"DROP DATABASE IF EXISTS {seeded} WITH (FORCE)",
        )
    else:
        plain, seeded = str(WORK / "plain.sqlite"), str(WORK / "demo.sqlite")
        _point_engine_at(plain)
        await _migrate_and_load()
        shutil.copyfile(plain, seeded)
        _point_engine_at(seeded)
        await demo.seed()
        yield {"plain": plain, "demo": seeded}
    shutil.rmtree(WORK, ignore_errors=True)


async def _fresh_copy(template: str) -> AsyncIterator[str]:
    n = next(_counter)
    if BACKEND == "postgres":
        name = f"intro_t_{RUN_ID}_{n}"
        await _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        _point_engine_at(name)
        yield name
        await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
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

    return f"Intro: {BACKEND}, today is {clock.today().isoformat()}" + (" (pinned)" if PINNED else "")
