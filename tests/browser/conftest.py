"""Browser tests: the real app, served by uvicorn in a subprocess on a SQLite file of its
own, driven by Debian's headless Chromium through Playwright's sync API.

Scopes, and why:
- `live_server` is session-wide: one `python app.py setup` and one server for every
  browser test. It is a separate process, so it shares no event loop with the tests.
- `browser` is per module. While sync Playwright is alive it marks its own event loop
  as running in this thread, and pytest-asyncio cannot run an async test then; closing
  it at the end of each browser module keeps the rest of the suite working whatever the
  order the modules run in.
- Every test gets a fresh browser context (cookies, storage), so tests do not share a
  sign-in.

Without /usr/bin/chromium the tests are skipped, unless INTRO_REQUIRE_BROWSER=1 (CI),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET_KEY = "browser-test-secret-key-not-for-production-0123456789"
OIDC_CLIENT_SECRET = "browser-test-oidc-client-secret-0123456789"
SETUP_TIMEOUT = 120
START_TIMEOUT = 20
# Generous for a loaded CI machine; a passing run never waits this long.
ACTION_TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    if os.environ.get("INTRO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (INTRO_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is not installed: browser tests skipped (apt install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed: browser tests skipped")
    return str(CHROMIUM)


# --------------------------------------------------------------------------------------
# The app, served for real


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    database: Path

    def full_name(self, email: str) -> str:
        """A person's name as the database has it, to check what the pages show."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as connection:
            row = connection.execute(
                "SELECT full_name FROM person WHERE email = ?", (email,)
            ).fetchone()
        assert row is not None, f"no person with e-mail {email} in the demo data"
        return row[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(database: Path) -> dict[str, str]:
    # tests/conftest.py has set INTRO_DB (and maybe DATABASE_URL) in this process for the
    # in-process tests: the server gets its own, explicitly, and always runs on SQLite.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "INTRO_DB", "INTRO_DB_POOL", "INTRO_BASE_URL", "INTRO_DEBUG"}
    }
    env.update(
        INTRO_DB=str(database),
        INTRO_SECRET_KEY=SECRET_KEY,
        INTRO_SECURE_COOKIES="0",
        PYTHONUNBUFFERED="1",
        # The client secret of the test identity provider (test_browser_provider.py).
        INTRO_OIDC_BROWSER_TEST=OIDC_CLIENT_SECRET,
    )
    return env


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def live_server(chromium_executable) -> Iterator[LiveServer]:
    work = Path(tempfile.mkdtemp(prefix="intro-browser-"))
    database = work / "intro.sqlite"
    log = work / "server.log"
    env = _server_env(database)
    process: subprocess.Popen | None = None
    try:
        # Migrate, load the curriculum and the demo data before the server starts.
        setup = subprocess.run(
            [sys.executable, "app.py", "setup"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
        )
        if setup.returncode != 0:
            pytest.fail(
                f"`app.py setup` failed ({setup.returncode}):\n{setup.stdout}\n{setup.stderr}",
                pytrace=False,
            )

        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        # Links the server makes (a provider's redirect back, e-mails) point at itself.
        env["INTRO_BASE_URL"] = base_url
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "app.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(base_url):
            if process.poll() is not None:
                pytest.fail(
                    f"the server exited ({process.returncode}) before answering:\n{_tail(log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"/healthz did not answer 200 within {START_TIMEOUT} s:\n{_tail(log)}",
                    pytrace=False,
                )
            time.sleep(0.1)

        yield LiveServer(base_url=base_url, database=database)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="module")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., object]]:
    """Opens a page in a fresh context; keyword arguments go to `new_context` (viewport ...)."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(
            base_url=live_server.base_url,
            locale="da-DK",
            timezone_id="Europe/Copenhagen",
            # The app's CSP allows only its own scripts; axe is injected by the tests.
            bypass_csp=True,
            **{"viewport": {"width": 1280, "height": 800}, **options},
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
