"""A real OpenID Connect provider for the tests: panva's `oidc-provider` (npm), vendored
by tests/oidc/package.json and its lock file, started with node on a loopback port.

`npm ci` runs in tests/oidc the first time (when node_modules is missing), so a fresh
clone or CI needs nothing but node and the npm registry. Without node the tests that
need a provider are skipped, unless INTRO_REQUIRE_OIDC=1, where they fail.

`sign_in_at_provider` fills in the provider's own development sign-in and consent
pages over HTTP, as a person would in a browser, and returns where the provider sends
the browser back to (the app's callback with `code` and `state`)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
START_TIMEOUT = 20
CLIENT_SECRET = "intro-test-client-secret-0123456789"


def _unavailable(reason: str) -> None:
    if os.environ.get("INTRO_REQUIRE_OIDC") == "1":
        pytest.fail(f"{reason} (INTRO_REQUIRE_OIDC=1)", pytrace=False)
    pytest.skip(reason)


def ensure_installed() -> str:
    """The node executable, with oidc-provider installed beside provider.mjs."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        _unavailable("node and npm are needed for the OpenID Connect provider tests")
    # `make test` installs it first; a lock keeps parallel workers from installing at once.
    with open(OIDC_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR, check=True, timeout=300
            )
    return node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TestProvider:
    issuer: str
    process: subprocess.Popen
    log: Path  # what the provider printed: read it when a test fails

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_provider(clients: list[dict], accounts: dict[str, dict], id_token_ttl: int = 3600) -> TestProvider:
    """Start oidc-provider with these clients ({client_id, client_secret, redirect_uris})
    and accounts ({login: claims}); returns once it answers."""
    node = ensure_installed()
    port = free_port()
    env = {
        **os.environ,
        "OIDC_TEST_PORT": str(port),
        "OIDC_TEST_CONFIG": json.dumps({"clients": clients, "accounts": accounts, "id_token_ttl": id_token_ttl}),
        "NODE_NO_WARNINGS": "1",
    }
    log = tempfile.NamedTemporaryFile("w+", prefix="oidc-provider-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [node, str(OIDC_DIR / "provider.mjs")], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider stopped: {Path(log.name).read_text()}")
        try:
            if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                return TestProvider(issuer=issuer, process=process, log=Path(log.name))
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("oidc-provider did not start")


class _FirstForm(HTMLParser):
    """The action and the named inputs (with their values) of a page's first form."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = self._done = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and not self._done:
            self.action, self._inside = attributes.get("action"), True
        elif tag == "input" and self._inside and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self._inside:
            self._inside, self._done = False, True


async def sign_in_at_provider(authorize_url: str, login: str, back_to: str) -> str:
    """Open the provider's authorization URL, sign in as `login` (any password) and
    consent; return the URL the provider redirects to that starts with `back_to`."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        url, method, data = authorize_url, "GET", None
        for _ in range(20):
            response = await browser.request(method, url, data=data)
            if response.is_redirect:
                location = urljoin(url, response.headers["location"])
                if location.startswith(back_to):
                    return location
                url, method, data = location, "GET", None
                continue
            form = _FirstForm(response.text)
            assert response.status_code == 200 and form.action, response.text[:500]
            data = dict(form.fields)
            if "login" in data:
                data.update(login=login, password="any-password")
            url, method = urljoin(url, form.action), "POST"
    raise AssertionError("the provider never sent the browser back")
