"""Partnership members over time (issue 17).

A municipality may leave a partnership and join it again, so one pair may have several
membership rows: the unique (partnership, municipality) constraint goes, and a partial
unique index keeps at most one open row (left_on IS NULL) per pair. That spells do not
overlap is checked in one function, intro.organisation._membership_problems, under a
lock of the partnership (an exclusion constraint would need PostgreSQL's btree_gist
extension, and SQLite has none).

SQLite cannot drop a constraint, so there the table is rebuilt from its own CREATE
statement without it (rows, ids and indexes kept). Existing rows keep their dates: NULL
joined_on reads as "since the partnership began".
"""

import re

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partnership members over time: several spells per municipality, one open"

UNIQUE = "partnership_member_one_membership"
OPEN_INDEX = (
    "CREATE UNIQUE INDEX partnership_member_one_open "
    "ON partnership_member (partnership, municipality) WHERE left_on IS NULL"
)
INDEXES = (
    'CREATE INDEX partnership_member_partnership ON "partnership_member" ("partnership")',
    'CREATE INDEX partnership_member_municipality ON "partnership_member" ("municipality")',
)


async def _rebuild_sqlite(engine, *, with_unique: bool) -> None:
    rows = await engine.run_ddl(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'partnership_member'"
    )
    create = rows[0]["sql"]
    clause = f', CONSTRAINT {UNIQUE} UNIQUE ("partnership", "municipality")'
    if with_unique:
        if UNIQUE not in create:
            create = create[:-1] + clause + ")"
    else:
        create = create.replace(clause, "")
    assert (UNIQUE in create) == with_unique, create
    create = re.sub(r'^CREATE TABLE "?partnership_member"?', 'CREATE TABLE "partnership_member_new"', create)
    await engine.run_ddl(create)
    await engine.run_ddl(
        "INSERT INTO partnership_member_new (id, partnership, municipality, joined_on, left_on) "
        "SELECT id, partnership, municipality, joined_on, left_on FROM partnership_member"
    )
    await engine.run_ddl("DROP TABLE partnership_member")
    await engine.run_ddl("ALTER TABLE partnership_member_new RENAME TO partnership_member")
    for index in INDEXES:
        await engine.run_ddl(index)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="intro", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            await _rebuild_sqlite(engine, with_unique=False)
        else:
            await engine.run_ddl(f"ALTER TABLE partnership_member DROP CONSTRAINT {UNIQUE}")
        await engine.run_ddl(OPEN_INDEX)

    async def run_backwards():
        engine = engine_finder()
        await engine.run_ddl("DROP INDEX partnership_member_one_open")
        # Going back keeps only each pair's latest spell, as the old schema can hold one.
        await engine.run_ddl(
            "DELETE FROM partnership_member WHERE EXISTS (SELECT 1 FROM partnership_member later "
            "WHERE later.partnership = partnership_member.partnership "
            "AND later.municipality = partnership_member.municipality "
            "AND later.id > partnership_member.id)"
        )
        if engine.engine_type == "sqlite":
            await _rebuild_sqlite(engine, with_unique=True)
        else:
            await engine.run_ddl(
                f"ALTER TABLE partnership_member ADD CONSTRAINT {UNIQUE} UNIQUE (partnership, municipality)"
            )

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
