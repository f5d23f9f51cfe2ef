"""Benchmark: the chiefs' dashboard on a national-size data set, on SQLite and PostgreSQL.

    .venv/bin/python tests/benchmarks/bench_dashboard.py [--scale 1.0] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

For each database it makes a fresh one, migrates it, fills it with `app.py demo-national
--seed 1` (all 98 municipalities, ten years, about 30,000 new hires at scale 1.0; the time
is printed), starts the real server (`app.py serve`, one uvicorn process), signs in as the
chief of a large municipality (København, 101) and of a small one, and requests in turn,
one user at a time:

  - GET /healthz                 the baseline from the same server in the same run
  - /dashboard                   the default view (the last five years)
  - /dashboard?fra=<ten years>   all ten years
  - /dashboard (htmx fragment)   what a filter change fetches
  - /dashboard/people            the drill-down to the own municipality's people
  - /dashboard/export.xlsx       the spreadsheet export

Prints p50, p95 and max latency per case and the ratio of each p50 to the baseline's.
PostgreSQL is skipped when it does not answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from intro import clock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_suite import PASSWORD, fill, pg_admin, postgres_answers  # noqa: E402
from bench_suite import serve as serve_workers  # noqa: E402


def serve(database: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    return serve_workers(database, log, workers=1)


ROUNDS, WARM_UP = 15, 2


def signed_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    client.get("/login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "_csrf_token": client.cookies.get("csrftoken", "")}
    )
    if response.status_code != 303:
        raise SystemExit(f"could not sign in as {email}: {response.status_code}")
    return client


def measure(client: httpx.Client, path: str, headers: dict | None = None) -> list[float]:
    times = []
    for i in range(WARM_UP + ROUNDS):
        started = time.perf_counter()
        response = client.get(path, headers=headers or {})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        if i >= WARM_UP:
            times.append(elapsed * 1000)
    return times


def run(name: str, database: dict[str, str], scale: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="intro-bench-dashboard-"))
    seconds = fill(database, scale)
    print(f"\n== {name}: national data set made in {seconds:.0f} s ==")
    process, base = serve(database, work / "server.log")
    try:
        anonymous = httpx.Client(base_url=base, timeout=30)
        baseline = statistics.median(measure(anonymous, "/healthz"))
        ten_years = clock.today().year - 9
        print(f"{'case':58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'×healthz':>9}")
        print(f"{'GET /healthz (baseline)':58} {baseline:8.1f} {'':>8} {'':>8} {1:9.1f}")
        for email, label in (("chef.101@national.example", "København"), ("chef.492@national.example", "Ærø")):
            client = signed_in(base, email)
            cases = [
                ("/dashboard", None, "dashboard, 5 years"),
                (f"/dashboard?fra={ten_years}", None, "dashboard, 10 years"),
                (f"/dashboard?fra={ten_years}", {"HX-Request": "true"}, "dashboard, 10 years, htmx fragment"),
                (f"/dashboard/people?fra={ten_years}", None, "people, 10 years"),
                (f"/dashboard/export.xlsx?fra={ten_years}", None, "export XLSX, 10 years"),
            ]
            for path, headers, title in cases:
                times = sorted(measure(client, path, headers))
                p50 = statistics.median(times)
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                print(f"{label + ': ' + title:58} {p50:8.1f} {p95:8.1f} {times[-1]:8.1f} {p50 / baseline:9.1f}")
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.only != "postgres":
        path = Path(tempfile.mkdtemp(prefix="intro-bench-sqlite-")) / "national.sqlite"
        run("SQLite", {"INTRO_DB": str(path)}, args.scale)
    if args.only != "sqlite":
        if not postgres_answers(args.pg):
            print("\nPostgreSQL does not answer: skipped")
            return
        name = f"intro_bench_dashboard_{os.getpid()}"
        pg_admin(args.pg, f"DROP DATABASE IF EXISTS {name}")
        pg_admin(args.pg, f"CREATE DATABASE {name}")
        try:
            run("PostgreSQL", {"DATABASE_URL": args.pg.rsplit("/", 1)[0] + f"/{name}"}, args.scale)
        finally:
            pg_admin(args.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
