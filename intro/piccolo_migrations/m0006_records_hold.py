"""Records that ordinary use cannot make wrong (issue 12).

One active enrolment per person: a person is enrolled or wait-listed on at most one
cohort at a time. A partial unique index holds it (SQLite and PostgreSQL both have
them; Piccolo cannot declare one on the table, so `intro/tables.py` only names it).
Databases made before this rule may hold a person active on two cohorts; the later
enrolments are withdrawn first, with a reason, so the index can be built.

Hard timetable conflicts: a course day saved despite one keeps the coordinator's reason
in `session.override_reason`.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder

ID = "2026-11-29T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one active enrolment per person; overridden timetable conflicts"

ACTIVE = "('enrolled', 'waitlisted')"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="intro", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl(
            "UPDATE enrolment SET status = 'withdrawn', withdrawn_at = CURRENT_TIMESTAMP, "
            "withdrawal_reason = 'Tilmeldt flere hold på én gang; ryddet op ved opdatering' "
            f"WHERE status IN {ACTIVE} AND EXISTS (SELECT 1 FROM enrolment earlier "
            f"WHERE earlier.person = enrolment.person AND earlier.status IN {ACTIVE} "
            "AND earlier.id < enrolment.id)"
        )
        await engine.run_ddl(
            "CREATE UNIQUE INDEX enrolment_one_active_per_person ON enrolment (person) "
            f"WHERE status IN {ACTIVE}"
        )

    async def run_backwards():
        engine = engine_finder()
        await engine.run_ddl("DROP INDEX enrolment_one_active_per_person")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)

    manager.add_column(
        table_class_name="Session",
        tablename="session",
        column_name="override_reason",
        db_column_name="override_reason",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
