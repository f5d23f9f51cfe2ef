"""Benchmark: calendar feeds of a partnership with five years of course days.

    .venv/bin/python tests/benchmarks/bench_feeds.py

Fills a fresh SQLite database (a temporary file): migrations, the curriculum, the demo
data, and then five years of cohorts for the demo partnership (6 cohorts a year × 15
course days, a few cancelled). Starts the real server (`app.py serve`, one uvicorn
process) on loopback, signs in as the demo participant and the demo coordinator, makes a
participant feed and a partnership feed through the feed page, and drives each case with
a bounded number of requests from concurrent keep-alive clients:

  - GET /healthz — the baseline, served by the same server in the same run (one
    SELECT ... LIMIT 1, like every route here takes at least one query)
  - the participant feed and the partnership feed, each
      first build: a feed fetched for the first time (many fresh feeds, one GET each), so
                   the server builds the calendar — as after every change
      cold:        no If-None-Match, unchanged feed (the server may keep what it built)
      304:         a matching If-None-Match, as calendars poll

Requests send Accept-Encoding: gzip as calendar clients do; the client does not unzip
(it reads the raw bytes), so the figures are the server's. Prints latency (p50, p95,
p99), requests per second, their ratio to the baseline, and the feed sizes.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path

from intro import clock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORK = Path(tempfile.mkdtemp(prefix="intro-bench-feeds-"))
ENV = {
    "INTRO_DB": str(WORK / "bench.sqlite"),
    "INTRO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    "INTRO_SECURE_COOKIES": "0",
}
# Configuration is read once, on first import: set it before anything imports intro.
os.environ.update(ENV)
os.environ.pop("DATABASE_URL", None)

import httpx  # noqa: E402

import piccolo_conf  # noqa: E402
from intro.demo.west_zealand import DEMO_PASSWORD  # noqa: E402
from intro.timefmt import COPENHAGEN  # noqa: E402

YEARS, COHORTS_A_YEAR, DAYS_A_COHORT = 5, 6, 15
CANCEL_EVERY = 37  # about one course day in 37 is cancelled
CONCURRENCY, REQUESTS, WARM_UP = 8, 300, 20
FRESH_FEEDS = 48  # first-build samples per feed kind
CASE_TIME_LIMIT = 20.0  # seconds: a slow case stops early and says how many it made
SARA, COORDINATOR = "deltager@intro.example", "koordinator@intro.example"


# --------------------------------------------------------------------------------------
# The database


async def fill_database() -> dict:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from intro.curriculum.versions import sync_directory
    from intro.db import enable_wal
    from intro.demo import west_zealand as demo
    from intro.tables import (
        Cohort,
        CurriculumVersion,
        Module,
        Partnership,
        Person,
        RoleGrant,
        Session,
        SessionInstructor,
        Venue,
    )

    await enable_wal(piccolo_conf.DB)
    result = await run_forwards(app_name="intro")
    assert result.success, result.message
    await sync_directory(ROOT / "curriculum")
    await demo.seed()

    partnership = (await Partnership.select(Partnership.id).first())["id"]
    version = (await CurriculumVersion.select(CurriculumVersion.id).order_by(CurriculumVersion.id, ascending=False).first())["id"]
    modules = [m["id"] for m in await Module.select(Module.id).where(
        (Module.curriculum_version == version) & Module.municipality.is_null()
    ).order_by(Module.position)]
    venues = [v["id"] for v in await Venue.select(Venue.id)]
    coordinator = (await Person.select(Person.id).where(Person.email == COORDINATOR).first())["id"]
    instructors = [g["person"] for g in await RoleGrant.select(RoleGrant.person).where(RoleGrant.role == "instructor")]

    rng = random.Random(5)
    now = clock.now()
    first_year = clock.today().year - 2
    cohorts = []
    for year in range(first_year, first_year + YEARS):
        for c in range(COHORTS_A_YEAR):
            start = date(year, 1, 5) + timedelta(weeks=8 * c)
            start -= timedelta(days=start.weekday() - 1)  # a Tuesday
            cohorts.append(Cohort(
                partnership=partnership, curriculum_version=version, name=f"Hold {year}-{c + 1}",
                status="completed" if start < clock.today() - timedelta(weeks=20) else "active",
                start_date=start, capacity=24, day_start=wall(9), day_end=wall(15),
                rhythm={"weekdays": [1]}, created_by=coordinator,
            ))
    cohort_ids = []
    for chunk in range(0, len(cohorts), 50):
        cohort_ids += [r["id"] for r in await Cohort.insert(*cohorts[chunk:chunk + 50]).returning(Cohort.id)]

    sessions, n = [], 0
    for cohort, cohort_id in zip(cohorts, cohort_ids, strict=True):
        for k in range(DAYS_A_COHORT):
            day = cohort.start_date + timedelta(weeks=k)
            starts = datetime.combine(day, wall(9), tzinfo=COPENHAGEN).astimezone(UTC)
            n += 1
            cancelled = n % CANCEL_EVERY == 0
            sessions.append(Session(
                cohort=cohort_id, module=modules[k % len(modules)], part=k // len(modules) + 1,
                starts_at=starts, ends_at=starts + timedelta(hours=6),
                venue=venues[(k + cohort_id) % len(venues)], status="cancelled" if cancelled else "scheduled",
                revision=1 if cancelled else 0, uid=f"{uuid.UUID(int=rng.getrandbits(128))}@intro",
                change_reason="Underviseren er syg" if cancelled else "",
                updated_at=min(now, starts - timedelta(days=rng.randint(1, 30))),
            ))
    session_ids = []
    for chunk in range(0, len(sessions), 200):
        session_ids += [r["id"] for r in await Session.insert(*sessions[chunk:chunk + 200]).returning(Session.id)]
    teaching = [SessionInstructor(session=sid, person=instructors[i % len(instructors)]) for i, sid in enumerate(session_ids)]
    for chunk in range(0, len(teaching), 200):
        await SessionInstructor.insert(*teaching[chunk:chunk + 200])

    return {
        "partnership": partnership,
        "cohorts": len(cohorts),
        "sessions_added": len(sessions),
        "sessions_total": await Session.count(),
    }


# --------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(ENV)
    process = subprocess.Popen(
        [sys.executable, "app.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def make_feeds(base: str, email: str, target: str, count: int) -> list[str]:
    """Sign in through the form and make feeds on the feed page; returns their paths."""
    paths = []
    with httpx.Client(base_url=base) as client:
        client.get("/login")
        signed_in = client.post("/login", data={
            "email": email, "password": DEMO_PASSWORD, "_csrf_token": client.cookies["csrftoken"],
        })
        assert signed_in.status_code == 303, signed_in.text[:300]
        for _ in range(count):
            page = client.post("/me/feeds", data={"target": target, "_csrf_token": client.cookies["csrftoken"]})
            assert page.status_code == 200, page.text[:300]
            url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page.text).group(1)
            paths.append("/" + url.split("/", 3)[3])
    return paths


# --------------------------------------------------------------------------------------
# The load


async def drive(base: str, paths: list[str], headers: dict[str, str], expect: int) -> dict:
    """Requests from CONCURRENCY clients; latencies in seconds. One path: REQUESTS requests
    after a warm-up; several: one request each, no warm-up."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    once = len(paths) > 1
    queue = iter(paths) if once else iter(paths * REQUESTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        async def one(path: str) -> float:
            t0 = time.perf_counter()
            async with client.stream("GET", path, headers=headers) as response:
                async for _chunk in response.aiter_raw():
                    pass
            elapsed = time.perf_counter() - t0
            assert response.status_code == expect, (path, response.status_code)
            return elapsed

        if not once:
            for _ in range(WARM_UP // CONCURRENCY + 1):
                await asyncio.gather(*(one(paths[0]) for _ in range(CONCURRENCY)))
        latencies: list[float] = []
        stop_at = time.perf_counter() + CASE_TIME_LIMIT

        async def worker() -> None:
            for path in queue:
                latencies.append(await one(path))
                if time.perf_counter() > stop_at:
                    break

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"n": len(latencies), "p50": q[49], "p95": q[94], "p99": q[98], "rps": len(latencies) / wall}


def feed_sizes(base: str, path: str) -> dict:
    with httpx.Client(base_url=base) as client:
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
            encoding = zipped.headers.get("content-encoding")
    assert plain.status_code == 200 and encoding == "gzip", (plain.status_code, encoding)
    assert gzip.decompress(raw) == plain.content
    return {
        "bytes": len(plain.content), "gzip": len(raw), "events": plain.content.count(b"BEGIN:VEVENT"),
        "cancelled": plain.content.count(b"STATUS:CANCELLED"), "etag": plain.headers["etag"],
    }


def main() -> None:
    started = time.perf_counter()
    t0 = time.perf_counter()
    facts = asyncio.run(fill_database())
    filled = time.perf_counter() - t0
    log = WORK / "server.log"
    process, base = start_server(log)
    try:
        participant, *fresh_participant = make_feeds(base, SARA, "person:", 1 + FRESH_FEEDS)
        partnership, *fresh_partnership = make_feeds(
            base, COORDINATOR, f"partnership:{facts['partnership']}", 1 + FRESH_FEEDS
        )
        sizes = {"participant": feed_sizes(base, participant), "partnership": feed_sizes(base, partnership)}
        gz = {"Accept-Encoding": "gzip"}
        cases = [
            ("GET /healthz (baseline)", ["/healthz"], gz, 200),
            ("participant, first build", fresh_participant, gz, 200),
            ("participant, cold", [participant], gz, 200),
            ("participant, 304", [participant], {**gz, "If-None-Match": sizes["participant"]["etag"]}, 304),
            ("partnership, first build", fresh_partnership, gz, 200),
            ("partnership, cold", [partnership], gz, 200),
            ("partnership, 304", [partnership], {**gz, "If-None-Match": sizes["partnership"]["etag"]}, 304),
        ]
        results = [(name, asyncio.run(drive(base, paths, headers, expect))) for name, paths, headers, expect in cases]
    finally:
        stop_server(process)
    errors = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line or " 500 " in line]

    print(f"Database: SQLite, demo data + {facts['cohorts']} cohorts over {YEARS} years × {DAYS_A_COHORT} course days "
          f"= {facts['sessions_added']} added, {facts['sessions_total']} sessions in all (filled in {filled:.1f} s)")
    print(f"Server: `app.py serve`, one uvicorn process, loopback; {CONCURRENCY} concurrent keep-alive clients, "
          f"{REQUESTS} requests a case after {WARM_UP} to warm up (first build: {FRESH_FEEDS} fresh feeds, one GET each); "
          f"Accept-Encoding: gzip; {os.cpu_count()} CPUs shared by server and clients")
    print("With 8 requests in flight on one worker, latency is mostly queueing: server time ≈ 1000 / (req/s) ms.")
    for name in ("participant", "partnership"):
        s = sizes[name]
        print(f"{name} feed: {s['events']} events ({s['cancelled']} cancelled), {s['bytes']:,} bytes, "
              f"{s['gzip']:,} bytes gzipped ({s['bytes'] / s['gzip']:.1f}×)")
    print()
    print(f"{'case':28}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}{'× baseline':>12}")
    base_rps = results[0][1]["rps"]
    for name, r in results:
        print(f"{name:28}{r['n']:>9}{r['p50'] * 1000:9.1f}{r['p95'] * 1000:9.1f}{r['p99'] * 1000:9.1f}"
              f"{r['rps']:9.0f}{r['rps'] / base_rps:12.2f}")
    if errors:
        print(f"\nserver errors: {len(errors)} (see {log})")
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    if not errors:
        for f in WORK.iterdir():
            f.unlink()
        WORK.rmdir()


if __name__ == "__main__":
    main()
