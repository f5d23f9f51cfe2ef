"""Issue 19 (speed): write counters (m0013's `data_stamp`) on the tables the progress grid
and the conflicts page read that were not counted yet, so their per-worker caches can be
kept while nothing they rest on changes: the cohorts' modules and the modules' strands
(grid), instructors' busy time and its calendars, closed periods, instructor
qualifications and module prerequisites (conflicts).

The triggers are m0013's: SQLite counts per row in the writing statement; PostgreSQL notes
the table per statement (`data_stamp_note`) and adds one at commit (`data_stamp_bump`),
both functions made by m0013.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "write counters on the tables the progress grid and the conflicts page read"

# Fixed here (not imported) so the migration keeps meaning what it meant when written.
TABLES = (
    "busy_calendar",
    "busy_time",
    "closed_period",
    "cohort_module",
    "instructor_qualification",
    "module_prerequisite",
    "strand",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="intro", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for table in TABLES:
            await engine.run_ddl(f"INSERT INTO data_stamp (table_name, version) VALUES ('{table}', 0)")
        if engine.engine_type == "sqlite":
            for table in TABLES:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    await engine.run_ddl(
                        f"CREATE TRIGGER data_stamp_{table}_{event.lower()} AFTER {event} ON {table} "
                        f"BEGIN UPDATE data_stamp SET version = version + 1 WHERE table_name = '{table}'; END"
                    )
        else:
            for table in TABLES:
                await engine.run_ddl(
                    f"CREATE TRIGGER data_stamp_note AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION data_stamp_note()"
                )
                await engine.run_ddl(
                    f"CREATE CONSTRAINT TRIGGER data_stamp_bump AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION data_stamp_bump()"
                )

    async def run_backwards():
        engine = engine_finder()
        for table in TABLES:
            if engine.engine_type == "sqlite":
                for event in ("insert", "update", "delete"):
                    await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_{table}_{event}")
            else:
                await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_bump ON {table}")
                await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_note ON {table}")
            await engine.run_ddl(f"DELETE FROM data_stamp WHERE table_name = '{table}'")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
