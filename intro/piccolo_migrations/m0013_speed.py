"""Issue 19 (speed): a write counter per table, kept by the database itself.

`data_stamp` holds one row per table in `intro.tables.STAMPED_TABLES`; a trigger on each
of those tables adds one to its row's `version` in the same transaction as the write
(SQLite: for each row; PostgreSQL: for each statement). Per-worker caches (the chiefs'
dashboard, calendar feed tokens) read the versions with one small query per request and
throw away what was built from older ones, so a write through any code path, by any
worker process or machine, is seen by the next request.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "write counters per table (data_stamp) for the per-worker caches"

# Fixed here (not imported) so the migration keeps meaning what it meant when written.
TABLES = (
    "attendance",
    "calendar_feed_token",
    "catch_up_booking",
    "cohort",
    "employment",
    "enrolment",
    "module",
    "municipality",
    "partnership",
    "partnership_member",
    "person",
    "plan_item",
    "profile",
    "role_grant",
    "session",
    "session_instructor",
    "venue",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="intro", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if engine.engine_type == "sqlite" else "SERIAL PRIMARY KEY"
        await engine.run_ddl(
            f"CREATE TABLE data_stamp (id {serial}, table_name VARCHAR(64) NOT NULL UNIQUE, "
            "version INTEGER NOT NULL DEFAULT 0)"
        )
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
            await engine.run_ddl(
                "CREATE FUNCTION data_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN UPDATE data_stamp SET version = version + 1 WHERE table_name = TG_TABLE_NAME; "
                "RETURN NULL; END $$"
            )
            for table in TABLES:
                await engine.run_ddl(
                    f"CREATE TRIGGER data_stamp_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION data_stamp_bump()"
                )

    async def run_backwards():
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            for table in TABLES:
                for event in ("insert", "update", "delete"):
                    await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_{table}_{event}")
        else:
            for table in TABLES:
                await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_bump ON {table}")
            await engine.run_ddl("DROP FUNCTION IF EXISTS data_stamp_bump()")
        await engine.run_ddl("DROP TABLE data_stamp")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
