"""Issue 19 (speed): a write counter per table, kept by the database itself.

`data_stamp` holds one row per table in `intro.tables.STAMPED_TABLES`; a trigger on each
of those tables adds one to its row's `version` in the same transaction as the write
(SQLite: for each row; PostgreSQL: once per transaction, at commit). Per-worker caches (the chiefs'
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
            # PostgreSQL: the counters are taken at commit, all at once and in name order, so
            # two writers can never wait for each other's counters in opposite order (a
            # deadlock), and a writer holds them only while it commits. A statement trigger
            # notes each written table in a transaction-local setting; a deferred constraint
            # trigger (row level, as PostgreSQL requires) fires at commit, and its first firing
            # in the transaction locks the noted tables' rows in order and adds one to each.
            await engine.run_ddl(
                "CREATE FUNCTION data_stamp_note() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "DECLARE noted text := coalesce(current_setting('intro.data_stamp_noted', true), ''); "
                "BEGIN "
                "IF position(',' || TG_TABLE_NAME || ',' IN noted || ',') = 0 THEN "
                "PERFORM set_config('intro.data_stamp_noted', noted || ',' || TG_TABLE_NAME, true); "
                "END IF; "
                # TRUNCATE has no rows, so no deferred row trigger: count it here.
                "IF TG_OP = 'TRUNCATE' THEN "
                "UPDATE data_stamp SET version = version + 1 WHERE table_name = TG_TABLE_NAME; "
                "END IF; "
                "RETURN NULL; END $$"
            )
            await engine.run_ddl(
                "CREATE FUNCTION data_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "DECLARE noted text[]; "
                "BEGIN "
                "IF coalesce(current_setting('intro.data_stamp_done', true), '') = '1' THEN RETURN NULL; END IF; "
                "PERFORM set_config('intro.data_stamp_done', '1', true); "
                "noted := string_to_array(trim(leading ',' FROM "
                "coalesce(current_setting('intro.data_stamp_noted', true), '')), ','); "
                "PERFORM 1 FROM data_stamp WHERE table_name = ANY(noted) ORDER BY table_name FOR UPDATE; "
                "UPDATE data_stamp SET version = version + 1 WHERE table_name = ANY(noted); "
                "RETURN NULL; END $$"
            )
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
        if engine.engine_type == "sqlite":
            for table in TABLES:
                for event in ("insert", "update", "delete"):
                    await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_{table}_{event}")
        else:
            for table in TABLES:
                await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_bump ON {table}")
                await engine.run_ddl(f"DROP TRIGGER IF EXISTS data_stamp_note ON {table}")
            await engine.run_ddl("DROP FUNCTION IF EXISTS data_stamp_bump()")
            await engine.run_ddl("DROP FUNCTION IF EXISTS data_stamp_note()")
        await engine.run_ddl("DROP TABLE data_stamp")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
