"""One grant per (person, role, scope).

A plain UNIQUE over nullable scope columns lets duplicates through (NULL never equals
NULL), so this is an expression index, which SQLite and PostgreSQL both have.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T09:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one role grant per scope"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="intro", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl(
            "CREATE UNIQUE INDEX role_grant_once ON role_grant "
            "(person, role, COALESCE(municipality, 0), COALESCE(partnership, 0))"
        )

    async def run_backwards():
        engine = engine_finder()
        await engine.run_ddl("DROP INDEX role_grant_once")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
