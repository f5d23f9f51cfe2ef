"""Database plumbing shared by the app, the commands and the tests."""

from __future__ import annotations

from collections.abc import Sequence

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import TransactionType
from piccolo.query.methods.create import Create


def _sqlite_create_ddl(self: Create) -> Sequence[str]:
    """CREATE TABLE for SQLite with the table's constraints inside it.

    Piccolo 1.38 adds CHECK and composite UNIQUE constraints with `ALTER TABLE ... ADD
    CONSTRAINT`, which SQLite does not have; SQLite only takes them in CREATE TABLE.
    Keeping the constraints declared on the tables (and so in the auto-generated
    migrations) and writing them inline here means both databases hold the same rules.
    """
    ddl = list(self.default_ddl)
    constraints = self.table._meta.constraints
    if not constraints:
        return ddl
    alter_prefix = f"ALTER TABLE {self.table._meta.get_formatted_tablename()} ADD CONSTRAINT"
    create = ddl[0] if not ddl[0].startswith("CREATE SCHEMA") else ddl[1]
    inline = ", ".join(f"CONSTRAINT {c._meta.name} {c.ddl}" for c in constraints)
    assert create.endswith(")")
    patched = create[:-1] + ", " + inline + ")"
    return [patched if s is create else s for s in ddl if not s.startswith(alter_prefix)]


Create.sqlite_ddl = property(_sqlite_create_ddl)  # type: ignore[attr-defined]


def write_transaction(engine: Engine):
    """A transaction for writing. On SQLite it takes the write lock at once
    (BEGIN IMMEDIATE), so two writers queue on the busy timeout instead of one failing
    with "database is locked" when it upgrades a read lock."""
    if engine.engine_type == "sqlite":
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def enable_wal(engine: Engine) -> None:
    """WAL lets readers go on while one writer writes. The mode is kept in the file,
    so this runs once, when migrating."""
    if engine.engine_type == "sqlite":
        await engine.run_ddl("PRAGMA journal_mode=WAL")
