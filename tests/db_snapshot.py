"""The whole database as one comparable value, to prove that a refused request
changed nothing (tests/test_bad_input.py, tests/test_fuzz_forms.py).

Read over one connection of its own, outside Piccolo, so that a fuzzer can afford one
after every request: on PostgreSQL each table is hashed by the server (the sum of its rows'
hashes as text), on SQLite the rows are hashed here.
"""

from __future__ import annotations

import hashlib
import sqlite3

from piccolo.table import Table

from intro import tables

# Rows written by every request on purpose, not data: the record of failed sign-ins
# (which is how sign-in is throttled) and the sessions' bookkeeping; and the tables'
# write counters (an UPDATE that matched no row still counts as a write on PostgreSQL).
IGNORED = {"login_attempt", "login_session", "data_stamp"}
# Columns that record use, not data: an API token's last use.
IGNORED_COLUMNS = {"last_used_at"}


def _tables() -> list[type[Table]]:
    found = [
        value for value in vars(tables).values()
        if isinstance(value, type) and issubclass(value, Table) and value is not Table
        and value.__module__ == tables.__name__
    ]
    return sorted(
        (t for t in found if t._meta.tablename not in IGNORED), key=lambda t: t._meta.tablename
    )


def _columns(table: type[Table]) -> list[str]:
    return [c._meta.db_column_name for c in table._meta.columns if c._meta.db_column_name not in IGNORED_COLUMNS]


async def snapshot() -> dict[str, str]:
    """{table: row count and a hash of all its rows}."""
    engine = tables.Person._meta.db
    if engine.engine_type == "postgres":
        import asyncpg

        connection = await asyncpg.connect(**engine.config)
        try:
            # One round trip; each table's rows summed as hashes (order-free, no sort).
            parts = [
                f"SELECT '{t._meta.tablename}' AS t, count(*) AS n, "
                f"coalesce(sum(hashtext(r::text)::bigint), 0) AS h "
                f"FROM (SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in _columns(t))} "
                f"FROM {t._meta.tablename}) r"
                for t in _tables()
            ]
            rows = await connection.fetch(" UNION ALL ".join(parts))
            return {row["t"]: f"{row['n']}:{row['h']}" for row in rows}
        finally:
            await connection.close()
    connection = sqlite3.connect(engine.path)
    try:
        out = {}
        for table in _tables():
            columns = ", ".join(f'"{c}"' for c in _columns(table))
            rows = connection.execute(f"SELECT {columns} FROM {table._meta.tablename} ORDER BY 1").fetchall()
            out[table._meta.tablename] = f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"
        return out
    finally:
        connection.close()
