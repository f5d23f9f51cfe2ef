"""The app served for real: two server processes on one database (as two machines
behind a load balancer would be), talked to over TCP. A sign-in made through one is
valid on the other; on PostgreSQL each process opens and closes its connection pool."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from intro import clock
from intro.demo.west_zealand import DEMO_PASSWORD
from tests.conftest import BACKEND, ROOT, pg_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "INTRO_DB"}}
    env.update(INTRO_SECURE_COOKIES="0", INTRO_DB_POOL="1")
    if BACKEND == "postgres":
        env["DATABASE_URL"] = pg_url(database)
    else:
        env["INTRO_DB"] = database
    return env


def _start(database: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=_server_env(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode())
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


@pytest.fixture
def servers(demo_db):
    started = [_start(demo_db), _start(demo_db)]
    yield [base for _p, base in started]
    for process, _base in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        # A clean shutdown: the pool was closed without errors.
        stderr = process.stderr.read().decode()
        assert "Traceback" not in stderr, stderr


def test_a_sign_in_on_one_server_is_valid_on_the_other(servers):
    first, second = servers
    with httpx.Client(base_url=first) as a:
        a.get("/login")
        response = a.post(
            "/login",
            data={
                "email": "koordinator@intro.example",
                "password": DEMO_PASSWORD,
                "_csrf_token": a.cookies["csrftoken"],
            },
        )
        assert response.status_code == 303
        session, csrf = a.cookies["intro_session"], a.cookies["csrftoken"]
    with httpx.Client(base_url=second, cookies={"intro_session": session, "csrftoken": csrf}) as b:
        page = b.get("/")
        assert page.status_code == 200
        assert "Mette Lund Sørensen" in page.text
        # The CSRF secret is shared too: a form from one server is accepted by the other.
        out = b.post("/logout", data={"_csrf_token": csrf})
        assert out.status_code == 303
    with httpx.Client(base_url=first, cookies={"intro_session": session}) as a:
        assert a.get("/").status_code == 303  # signed out everywhere


def test_healthz_reports_the_database(servers):
    for base in servers:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "database": "ok"}


async def test_two_servers_writing_at_once_lose_nothing(servers):
    """200 attendance marks sent at once through two server processes on one database:
    every one is written (no "database is locked" on SQLite, no lost update), each with
    its line in the audit log."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from intro.tables import Attendance, AuditLog, Enrolment, Session

    pairs = []
    for name in ("Hold B – efterår", "Hold A – forår"):
        cohort = (await Session.select(Session.cohort).where(Session.cohort.name == name).first())["cohort"]
        sessions = [
            s["id"] for s in await Session.select(Session.id).where(
                (Session.cohort == cohort) & (Session.status == "scheduled") & (Session.starts_at <= clock.now())
            ).order_by(Session.starts_at)
        ]
        people = [e["person"] for e in await Enrolment.select(Enrolment.person).where(
            (Enrolment.cohort == cohort) & Enrolment.status.is_in(["enrolled", "completed"])
        )]
        pairs += [(s, p) for s in sessions for p in people]
    pairs = pairs[:200]
    assert len(pairs) == 200, "the demo's cohorts have too few past days for this test"
    before = {
        (a["session"], a["person"]): a["status"]
        for a in await Attendance.select(Attendance.session, Attendance.person, Attendance.status)
    }
    wanted = {pair: "absent" if before.get(pair) == "present" else "present" for pair in pairs}
    log_lines = await AuditLog.count().where(AuditLog.action == "attendance.mark")

    clients = []
    for base in servers:
        client = httpx.Client(base_url=base, timeout=60)
        client.get("/login")
        signed_in = client.post("/login", data={
            "email": "koordinator@intro.example", "password": DEMO_PASSWORD,
            "_csrf_token": client.cookies["csrftoken"],
        })
        assert signed_in.status_code == 303
        clients.append(client)

    def send(index_pair):
        index, (session, person) = index_pair
        client = clients[index % 2]
        return client.post(
            f"/sessions/{session}/attendance",
            data={"person": str(person), "status": wanted[(session, person)], "_csrf_token": client.cookies["csrftoken"]},
            headers={"HX-Request": "true"},
        ).status_code

    def all_at_once():
        with ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(send, enumerate(pairs)))

    statuses = await asyncio.to_thread(all_at_once)
    for client in clients:
        client.close()
    assert set(statuses) <= {200, 303}, statuses
    after = {
        (a["session"], a["person"]): a["status"]
        for a in await Attendance.select(Attendance.session, Attendance.person, Attendance.status)
    }
    assert {pair: after.get(pair) for pair in pairs} == wanted
    assert await AuditLog.count().where(AuditLog.action == "attendance.mark") == log_lines + 200
