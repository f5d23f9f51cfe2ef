"""Profile pages in-process: the real app over a test client, on a copy of a national data set.

    .venv/bin/python tests/benchmarks/profile_pages.py --db /tmp/national.sqlite [--page plan] [--rounds 50]
        [--chief chef.101@national.example] [--cold]

Signs in as bench_suite's participant, coordinator and chief, requests the page `--rounds`
times after two warm-up requests and prints the mean time and a pyinstrument profile of the
loop (pip install pyinstrument). Pages: plan, progress, conflicts, dashboard. `--chief`
picks the dashboard's chief (default bench_suite's, Slagelse; København's is
bench_suite.LARGEST_CHIEF). `--cold` empties the per-worker caches before every request,
so the loop measures a first request after a write (the dashboard's build, for instance).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--page", default="plan")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--chief", default="", help="the dashboard's chief (default: bench_suite.CHIEF)")
    parser.add_argument("--cold", action="store_true", help="empty the per-worker caches before every request")
    parser.add_argument("--cprofile", action="store_true", help="cProfile (CPU of this thread, by own time) instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="intro-profile-"))
    path = work / "national.sqlite"
    for suffix in ("", "-wal", "-shm"):
        if Path(args.db + suffix).exists():
            shutil.copyfile(args.db + suffix, str(path) + suffix)
    os.environ.pop("DATABASE_URL", None)
    os.environ.update({
        "INTRO_DB": str(path), "INTRO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "INTRO_SECURE_COOKIES": "0", "INTRO_DB_POOL": "0",
    })
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        asyncio.run(run(path, args.page, args.rounds, args.cprofile, args.chief, args.cold))
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def run(path: Path, page: str, rounds: int, cprofile: bool = False, chief: str = "", cold: bool = False) -> None:
    import httpx
    from bench_suite import CHIEF, PARTNERSHIP_SLUG, PASSWORD

    from app import create_app

    with sqlite3.connect(path) as connection:
        cohort, partnership = connection.execute(
            "SELECT c.id, c.partnership FROM cohort c JOIN person pe ON pe.email = ? "
            "JOIN enrolment e ON e.cohort = c.id AND e.person = pe.id WHERE c.status = 'active' ORDER BY c.id LIMIT 1",
            (f"deltager.{PARTNERSHIP_SLUG}@national.example",),
        ).fetchone()
    who, url = {
        "plan": (f"deltager.{PARTNERSHIP_SLUG}@national.example", "/plan"),
        "progress": (f"koordinator.{PARTNERSHIP_SLUG}@national.example", f"/cohorts/{cohort}/progress"),
        "conflicts": (f"koordinator.{PARTNERSHIP_SLUG}@national.example", f"/partnerships/{partnership}/conflicts"),
        "dashboard": (chief or CHIEF, "/dashboard"),
    }[page]
    from intro.db import StampedCache

    async def get(client):
        if cold:
            StampedCache.clear_all()
        return await client.get(url)

    # In this event loop (a test client would run the app in a thread the profiler does not see).
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://intro.test") as client:
        await client.get("/login")
        response = await client.post(
            "/login", data={"email": who, "password": PASSWORD, "_csrf_token": client.cookies.get("csrftoken", "")}
        )
        assert response.status_code == 303, response.status_code
        for _ in range(2):
            assert (await client.get(url)).status_code == 200
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            await get(client)
        print(
            f"{url}: {(time.perf_counter() - started) / rounds * 1000:.1f} ms a request, "
            f"{(time.process_time() - cpu) / rounds * 1000:.1f} ms CPU (not profiled)"
        )
        if cprofile:
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.enable()
            for _ in range(rounds):
                await get(client)
            profile.disable()
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(60)
            return
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled", interval=0.0005)
        profiler.start()
        started = time.perf_counter()
        for _ in range(rounds):
            response = await get(client)
        elapsed = time.perf_counter() - started
        profiler.stop()
        assert response.status_code == 200
        print(f"{url}: {elapsed / rounds * 1000:.1f} ms a request (profiled)")
        print(profiler.output_text(unicode=True, show_all=False))


if __name__ == "__main__":
    main()
