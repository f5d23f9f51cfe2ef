"""Benchmark: no hidden growth. Page latency with one, three and ten years of national
data, and the query plans of every query the main pages make.

    .venv/bin/python tests/benchmarks/bench_growth.py [--scale 1.0] [--rounds 30]

For each amount of history a fresh SQLite database is filled with `app.py demo-national
--seed 1 --years N` and served by the real server (one process); one user at a time
requests each page and the median and p95 are printed beside the bare route (/livez)
from the same server, with the growth against one year of data. A participant's pages
should stay flat; the chief's dashboard covers all the years asked for, so it may grow
with the data it shows, but no faster.

Then, on the ten-year database, every query those pages make is captured at the engine
and its plan printed (SQLite's EXPLAIN QUERY PLAN): a full SCAN of a large table is
flagged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_suite import environment, ids, serve, sign_in  # noqa: E402

from intro import clock  # noqa: E402

SLUG = "vestsjaelland"
LARGE_TABLES = {"attendance", "plan_item", "self_assessment", "enrolment", "employment", "person", "session", "audit_log", "reflection"}


def fill(path: Path, years: int, scale: float) -> None:
    database = {"INTRO_DB": str(path)}
    env = environment(database)
    subprocess.run([sys.executable, "app.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "app.py", "demo-national", "--seed", "1", "--years", str(years), "--scale", str(scale)],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def pages(path: Path) -> list[tuple[str, str, str]]:
    found = ids({"INTRO_DB": str(path)})
    first = clock.today().year - 9
    return [
        ("bare (/livez)", "", "/livez"),
        ("participant /", "participant", "/"),
        ("participant /plan", "participant", "/plan"),
        ("coordinator progress grid", "coordinator", f"/cohorts/{found['cohort']}/progress"),
        ("coordinator conflicts", "coordinator", f"/partnerships/{found['partnership']}/conflicts"),
        ("chief dashboard, all years", "chief", f"/dashboard?fra={first}"),
    ]


PERSONAS = {
    "participant": f"deltager.{SLUG}@national.example",
    "coordinator": f"koordinator.{SLUG}@national.example",
    "chief": "chef.330@national.example",
}


def latencies(base: str, cookies: dict[str, str], role: str, path: str, rounds: int) -> list[float]:
    headers = {"Cookie": cookies[role]} if role else {}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        for _ in range(3):
            client.get(path)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return sorted(times)


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("employment", "attendance", "plan_item")}


def measure(path: Path, rounds: int) -> dict[str, tuple[float, float]]:
    process, base = serve({"INTRO_DB": str(path)}, path.with_suffix(".log"))
    try:
        cookies = {role: sign_in(base, email) for role, email in PERSONAS.items()}
        return {
            title: (statistics.median(t), t[min(len(t) - 1, round(0.95 * (len(t) - 1)))])
            for title, role, url in pages(path)
            for t in [latencies(base, cookies, role, url, rounds)]
        }
    finally:
        process.terminate()
        process.wait(timeout=30)


def query_plans(path: Path) -> None:
    os.environ.update(environment({"INTRO_DB": str(path)}))
    from litestar.testing import AsyncTestClient

    import piccolo_conf
    from app import create_app

    engine_class = type(piccolo_conf.DB)
    original = engine_class.run_querystring
    captured: list[tuple[str, str, list]] = []
    current = {"page": ""}

    async def capture(self, querystring, *args, **kwargs):
        query, params = querystring.compile_string(engine_type="sqlite")
        captured.append((current["page"], query, list(params)))
        return await original(self, querystring, *args, **kwargs)

    async def run() -> None:
        async with AsyncTestClient(app=create_app(), base_url="http://intro.test") as client:
            for title, role, url in pages(path):
                if not role:
                    continue
                client.cookies.clear()
                await client.get("/login")
                await client.post("/login", data={
                    "email": PERSONAS[role], "password": "intro-demo-2026",
                    "_csrf_token": client.cookies.get("csrftoken", ""),
                })
                current["page"] = title
                engine_class.run_querystring = capture
                try:
                    await client.get(url)
                finally:
                    engine_class.run_querystring = original

    asyncio.run(run())
    print("\n== Query plans (ten years; SQLite EXPLAIN QUERY PLAN) ==")
    flagged = 0
    with sqlite3.connect(path) as connection:
        seen = set()
        for page, query, params in captured:
            key = re.sub(r"\d+", "N", query)
            if key in seen or not query.lstrip().upper().startswith("SELECT"):
                continue
            seen.add(key)
            plan = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + query, params).fetchall()]
            scans = [p for p in plan if p.startswith("SCAN") and any(f"SCAN {t}" in p or p.startswith(f"SCAN {t} ") or p == f"SCAN {t}" for t in LARGE_TABLES)]
            flagged += bool(scans)
            print(f"\n[{page}] {query[:160]}{'…' if len(query) > 160 else ''}")
            for line in plan:
                print(f"    {'!! ' if line in scans else '   '}{line}")
    print(f"\n{flagged} queries scan a large table without an index")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="intro-bench-growth-"))
    results = {}
    for years in (1, 3, 10):
        path = work / f"national-{years}.sqlite"
        started = time.perf_counter()
        fill(path, years, args.scale)
        print(f"{years:>2} years: made in {time.perf_counter() - started:.0f} s, rows {counts(path)}", flush=True)
        results[years] = measure(path, args.rounds)
    print(f"\n{'page':30} " + " ".join(f"{f'{y} yr p50/p95 ms':>20}" for y in results) + f" {'10 yr / 1 yr':>13}")
    for title in results[1]:
        cells = " ".join(f"{results[y][title][0]:9.1f} /{results[y][title][1]:8.1f}" for y in results)
        print(f"{title:30} {cells} {results[10][title][0] / results[1][title][0]:13.2f}")
    query_plans(work / "national-10.sqlite")


if __name__ == "__main__":
    main()
