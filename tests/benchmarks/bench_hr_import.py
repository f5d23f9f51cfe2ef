"""Benchmark: an HR file of 10,000 rows previewed and committed (issue 19: under 3 s each).

    .venv/bin/python tests/benchmarks/bench_hr_import.py [--db /tmp/national.sqlite] [--rows 10000]

Works on a copy of `--db` (a national data set from bench_suite.py, so the lookups run
against ~30,000 people and employments), or on a fresh SQLite file with the demo data.
Makes a file of `--rows` employments for one municipality (København, or the demo's
Næstved): a tenth of them already known (their rows changed: a new job function), the
rest new hires with new e-mail addresses, current, so each also gets the participant role
and an invitation — the most a commit writes. Then, as the web pages do:

  store     read the file and keep it as a previewed import   (the upload)
  preview   check it against the database                      (the import page)
  commit    check it once more and write every row             (the commit button)
  again     the same file again: preview, nothing to commit    (every row unchanged)

Prints the seconds of each step, and the CPU seconds of this process in it (the machine may be
shared: the CPU time is the steadier number).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="", help="SQLite file to copy (e.g. the bench suite's national one)")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--profile", default="",
        help="a step to profile with pyinstrument (pip install pyinstrument); with BENCH_CPROFILE=1, cProfile",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="intro-bench-hr-"))
    path = work / "hr.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"INTRO_DB": str(path), "INTRO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789"})
    if args.db:
        for suffix in ("", "-wal", "-shm"):
            if Path(args.db + suffix).exists():
                shutil.copyfile(args.db + suffix, str(path) + suffix)
        subprocess.run([sys.executable, "app.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    else:
        subprocess.run([sys.executable, "app.py", "setup"], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    try:
        asyncio.run(run(args.rows, args.profile))
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def run(rows: int, profile: str = "") -> None:
    from intro.hr import imports
    from intro.tables import Employment, Municipality, Person, Role, RoleGrant

    admin = await RoleGrant.select(RoleGrant.person).where(RoleGrant.role == Role.admin.value).first()
    municipality = (
        await Municipality.select(Municipality.id, Municipality.code).where(Municipality.code == "101").first()
        or await Municipality.select(Municipality.id, Municipality.code).where(Municipality.code == "370").first()
    )
    known = await Employment.select(
        Employment.external_ref, Employment.start_date, Employment.person.email.as_alias("email"),
        Employment.person.full_name.as_alias("full_name"),
    ).where((Employment.municipality == municipality["id"]) & Employment.end_date.is_null()).limit(rows // 10)
    lines = ["Ansættelses-id;Navn;E-mail;Kommunekode;Stilling;Fagprofil;Startdato;Slutdato;Fratrædelsesårsag"]
    for row in known:
        lines.append(
            f"{row['external_ref']};{row['full_name']};{row['email']};{municipality['code']};Jobkonsulent (ny);;"
            f"{row['start_date']:%d-%m-%Y};;"
        )
    for n in range(rows - len(known)):
        lines.append(
            f"BENCH-{n:05d};Ny Medarbejder {n};ny.medarbejder.{n}@bench.example;{municipality['code']};"
            f"Sagsbehandler;;01-{(n % 12) + 1:02d}-2026;;"
        )
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    people = await Person.count()
    print(f"{rows} rows ({len(known)} known employments), municipality {municipality['code']}, {people} people in the database")

    async def timed(title: str, step):
        profiler = None
        if title == profile and os.environ.get("BENCH_CPROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        elif title == profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
        started, cpu = time.perf_counter(), time.process_time()
        result = await step()
        print(
            f"  {title:8} {time.perf_counter() - started:6.2f} s  (CPU {time.process_time() - cpu:5.2f} s)", flush=True
        )
        if profiler and os.environ.get("BENCH_CPROFILE"):
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        elif profiler:
            profiler.stop()
            print(profiler.output_text(unicode=True, show_all=False))
        return result

    actor = admin["person"] if admin else None
    import_id = await timed("store", lambda: imports.store_upload(actor, municipality["id"], "ansatte.csv", data))

    async def preview(import_id=import_id):
        preview = await imports.preview_of(await imports.import_of(municipality["id"], import_id))
        assert not preview.problems, preview.problems[:5]
        return preview

    shown = await timed("preview", preview)
    print(f"           new {shown.count('new')}, changed {shown.count('changed')}, unchanged {shown.count('unchanged')}")
    applied = await timed("commit", lambda: imports.commit(actor, municipality["id"], import_id))
    print(f"           {applied.counts}")
    again = await imports.store_upload(actor, municipality["id"], "ansatte.csv", data)
    shown = await timed("again", lambda: preview(again))
    print(f"           unchanged {shown.count('unchanged')}")


if __name__ == "__main__":
    main()
