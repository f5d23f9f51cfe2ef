"""The benchmark suite (`make bench`): Intro as in production, on national data, driven by
wrk, against a bare route served by the same server in the same run.

    make bench                                   # SQLite, then PostgreSQL if it answers
    .venv/bin/python tests/benchmarks/bench_suite.py --only sqlite --seconds 5 --scale 0.2
    .venv/bin/python tests/benchmarks/bench_suite.py --only sqlite --cases dashboard,feeds \
        --db /tmp/national.sqlite             # a subset; the SQLite file is filled once and kept

For each database: a fresh one, migrated and filled with `app.py demo-national --seed 1`
(98 municipalities, ten years, ~30,000 hires at scale 1.0); the server started as in
production (`app.py serve --workers 2`, one per core here); signed-in users of each role;
then for every case wrk runs first with one connection (one user) and then with 32:

  bare                /livez: a Litestar route returning a constant, no database
  plan                the participant's /plan
  progress grid       the coordinator's grid of an active cohort
  conflicts           the coordinator's partnership conflicts page
  dashboard           the chief's dashboard (default view), for Slagelse and for København
                      (the municipality with the most hires)
  participant feed    cold (no If-None-Match) and 304
  partnership feed    cold and 304

Prints one table (p50, p95, p99 latency, requests per second, the ratio to the bare
route's requests per second at the same concurrency, non-2xx answers) and the peak memory
(VmHWM) of each worker. Results are kept as JSON in tests/benchmarks/results/ and the
previous run's throughput is shown beside this run's, so a change can be compared.
Needs wrk (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from intro import clock

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-secret-key-not-for-production-0123456789"
PASSWORD = "intro-demo-2026"
PARTNERSHIP_SLUG = "vestsjaelland"
CHIEF = "chef.330@national.example"  # Slagelse
# The chief of the municipality with the most hires, in the largest partnership by hires
# (the "dashboard at national scale").
LARGEST_CHIEF = "chef.101@national.example"  # København
WORKERS = 2

# wrk reports every request's latency; this prints what the table needs as one JSON line.
LUA = """
local cookie = os.getenv("BENCH_COOKIE") or ""
local etag = os.getenv("BENCH_ETAG") or ""
local bad = 0
request = function()
  local headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  if etag ~= "" then headers["If-None-Match"] = etag end
  headers["Accept-Encoding"] = "gzip"
  return wrk.format("GET", nil, headers)
end
response = function(status, headers, body)
  if status >= 400 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50": %.3f, "p95": %.3f, "p99": %.3f, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(database: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "INTRO_DB")}
    env.update({"INTRO_SECRET_KEY": SECRET, "INTRO_SECURE_COOKIES": "0", **database})
    return env


def fill(database: dict[str, str], scale: float) -> float:
    env = environment(database)
    subprocess.run([sys.executable, "app.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "app.py", "demo-national", "--seed", "1", "--scale", str(scale)],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def serve(database: dict[str, str], log: Path, workers: int = WORKERS) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=environment(database), stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the server did not start; see {log}")


def workers_of(process: subprocess.Popen) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def peak_memory_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def sign_in(base: str, email: str) -> str:
    client = httpx.Client(base_url=base, timeout=60)
    client.get("/login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "_csrf_token": client.cookies.get("csrftoken", "")}
    )
    if response.status_code != 303:
        raise SystemExit(f"could not sign in as {email}: {response.status_code}")
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def make_feed(base: str, cookie: str, target: str) -> str:
    csrf = re.search(r"csrftoken=([^;]+)", cookie).group(1)
    response = httpx.post(
        f"{base}/me/feeds", data={"target": target, "_csrf_token": csrf}, headers={"Cookie": cookie}, timeout=60
    )
    match = re.search(r'id="feed-url"[^>]*value="[^"]*(/feeds/[^"]+\.ics)"', response.text)
    if not match:
        raise SystemExit(f"could not make a feed for {target}: {response.status_code}")
    return match.group(1)


def ids(database: dict[str, str]) -> dict[str, int]:
    sql = (
        "SELECT c.id, c.partnership FROM cohort c JOIN partnership p ON p.id = c.partnership "
        f"JOIN person pe ON pe.email = 'deltager.{PARTNERSHIP_SLUG}@national.example' "
        "JOIN enrolment e ON e.cohort = c.id AND e.person = pe.id "
        "WHERE c.status = 'active' ORDER BY c.id LIMIT 1"
    )
    if "INTRO_DB" in database:
        with sqlite3.connect(database["INTRO_DB"]) as connection:
            cohort, partnership = connection.execute(sql).fetchone()
    else:
        import asyncpg

        async def fetch():
            connection = await asyncpg.connect(database["DATABASE_URL"])
            try:
                return await connection.fetchrow(sql)
            finally:
                await connection.close()

        cohort, partnership = asyncio.run(fetch())
    return {"cohort": cohort, "partnership": partnership}


def wrk(url: str, connections: int, seconds: int, script: Path, cookie: str = "", etag: str = "") -> dict:
    threads = min(connections, 2)
    env = {**os.environ, "BENCH_COOKIE": cookie, "BENCH_ETAG": etag}
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s", "-s", str(script), url],
        capture_output=True, text=True, env=env,
    ).stdout
    match = re.search(r"RESULT (\{.*\})", out)
    if not match:
        raise SystemExit(f"wrk gave no result for {url}:\n{out}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    return result


def run(name: str, database: dict[str, str], args, script: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="intro-bench-"))
    print(f"\n== {name} ==", flush=True)
    kept = database.get("INTRO_DB")
    if args.db and kept and Path(kept).exists():
        subprocess.run([sys.executable, "app.py", "migrate"], cwd=ROOT, env=environment(database), check=True, capture_output=True)
        print(f"national data set: reusing {kept} (migrated)", flush=True)
    else:
        print(f"national data set (scale {args.scale}): made in {fill(database, args.scale):.0f} s", flush=True)
    process, base = serve(database, work / "server.log")
    try:
        participant = sign_in(base, f"deltager.{PARTNERSHIP_SLUG}@national.example")
        coordinator = sign_in(base, f"koordinator.{PARTNERSHIP_SLUG}@national.example")
        chief = sign_in(base, CHIEF)
        largest_chief = sign_in(base, LARGEST_CHIEF)
        found = ids(database)
        person_feed = make_feed(base, participant, "person:")
        partnership_feed = make_feed(base, coordinator, f"partnership:{found['partnership']}")
        etags = {
            path: httpx.get(f"{base}{path}", timeout=60).headers.get("etag", "")
            for path in (person_feed, partnership_feed)
        }
        cases = [
            ("bare (/livez)", "/livez", "", ""),
            ("plan (participant)", "/plan", participant, ""),
            ("progress grid (coordinator)", f"/cohorts/{found['cohort']}/progress", coordinator, ""),
            ("conflicts (coordinator)", f"/partnerships/{found['partnership']}/conflicts", coordinator, ""),
            ("dashboard (chief)", "/dashboard", chief, ""),
            ("dashboard (København's chief)", "/dashboard", largest_chief, ""),
            ("participant feed, cold", person_feed, "", ""),
            ("participant feed, 304", person_feed, "", etags[person_feed]),
            ("partnership feed, cold", partnership_feed, "", ""),
            ("partnership feed, 304", partnership_feed, "", etags[partnership_feed]),
        ]
        if args.cases:
            wanted = {c.strip() for c in args.cases.split(",") if c.strip()}
            cases = [c for c in cases if c is cases[0] or any(w in c[0] for w in wanted)]
        rows = []
        for connections in (int(u) for u in args.users.split(",")):
            bare_rps = None
            for title, path, cookie, etag in cases:
                result = wrk(f"{base}{path}", connections, args.seconds, script, cookie, etag)
                if bare_rps is None:
                    bare_rps = result["rps"]
                result.update(case=title, users=connections, ratio=result["rps"] / bare_rps if bare_rps else 0)
                rows.append(result)
                print(
                    f"  {title:30} {connections:>3} users  p50 {result['p50']:8.1f} ms  p95 {result['p95']:8.1f} ms  "
                    f"{result['rps']:8.1f} req/s",
                    flush=True,
                )
        memory = [peak_memory_mb(pid) for pid in workers_of(process)]
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
    return {"backend": name, "rows": rows, "worker_peak_mb": [m for m in memory if m is not None]}


def previous_results() -> dict | None:
    files = sorted(RESULTS.glob("bench-*.json"))
    return json.loads(files[-1].read_text()) if files else None


def report(results: list[dict], previous: dict | None) -> str:
    before = {}
    if previous:
        for backend in previous["results"]:
            for row in backend["rows"]:
                before[(backend["backend"], row["case"], row["users"])] = row["rps"]
    lines = []
    for backend in results:
        lines.append(f"\n{backend['backend']}: peak memory per worker (VmHWM) "
                     + ", ".join(f"{m:.0f} MB" for m in backend["worker_peak_mb"]))
        lines.append(
            f"{'case':30} {'users':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} "
            f"{'× bare':>7} {'non-2xx':>7} {'prev req/s':>10}"
        )
        for row in backend["rows"]:
            prev = before.get((backend["backend"], row["case"], row["users"]))
            lines.append(
                f"{row['case']:30} {row['users']:>5} {row['p50']:8.1f} {row['p95']:8.1f} {row['p99']:8.1f} "
                f"{row['rps']:8.1f} {row['ratio']:7.3f} {row['errors']:>7} {(f'{prev:.1f}' if prev else '–'):>10}"
            )
    return "\n".join(lines)


def postgres_answers(url: str) -> bool:
    script = f"import asyncio, asyncpg\nasync def m():\n    c = await asyncpg.connect({url!r})\n    await c.close()\nasyncio.run(m())"
    return subprocess.run([sys.executable, "-c", script], capture_output=True).returncode == 0


def pg_admin(url: str, statement: str) -> None:
    script = (
        f"import asyncio, asyncpg\nasync def m():\n    c = await asyncpg.connect({url!r})\n"
        f"    await c.execute({statement!r})\n    await c.close()\nasyncio.run(m())"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--pg", default=os.environ.get("INTRO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--cases", default="",
        help="comma-separated words picking cases by title (plan, progress, conflicts, dashboard, feed, 304); "
        "the bare route always runs",
    )
    parser.add_argument("--users", default="1,32", help="concurrencies to run, comma-separated")
    parser.add_argument("--db", default="", help="SQLite file to fill once and reuse on later runs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="intro-bench-suite-"))
    script = work / "report.lua"
    script.write_text(LUA)
    previous = previous_results()
    results = []
    if args.only != "postgres":
        results.append(run("SQLite", {"INTRO_DB": args.db or str(work / "national.sqlite")}, args, script))
    if args.only != "sqlite":
        if postgres_answers(args.pg):
            name = f"intro_bench_{os.getpid()}"
            pg_admin(args.pg, f"DROP DATABASE IF EXISTS {name}")
            pg_admin(args.pg, f"CREATE DATABASE {name}")
            try:
                results.append(run("PostgreSQL", {"DATABASE_URL": args.pg.rsplit("/", 1)[0] + f"/{name}"}, args, script))
            finally:
                pg_admin(args.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            print("\nPostgreSQL does not answer: skipped")
    text = report(results, previous)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"bench-{stamp}.json").write_text(
        json.dumps({"when": stamp, "scale": args.scale, "seconds": args.seconds, "results": results}, indent=1)
    )
    (RESULTS / f"bench-{stamp}.txt").write_text(text + "\n")
    print(f"\nkept in {RESULTS}/bench-{stamp}.json (the next run compares with it)")


if __name__ == "__main__":
    main()
