"""The whole database as one comparable value, to prove that a refused request
changed nothing (tests/test_bad_input.py, tests/test_fuzz_forms.py)."""

from __future__ import annotations

import hashlib

from piccolo.table import Table

from intro import tables

# Rows written by every request on purpose, not data: the record of failed sign-ins
# (which is how sign-in is throttled) and the sessions' bookkeeping.
IGNORED = {"login_attempt", "login_session"}
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


async def snapshot() -> dict[str, str]:
    """{table: SHA-256 of all its rows in id order}."""
    out = {}
    for table in _tables():
        rows = await table.raw(f"SELECT * FROM {table._meta.tablename} ORDER BY 1")
        digest = hashlib.sha256()
        for row in rows:
            kept = sorted((k, v) for k, v in row.items() if k not in IGNORED_COLUMNS)
            digest.update(repr(kept).encode())
        out[table._meta.tablename] = f"{len(rows)}:{digest.hexdigest()[:16]}"
    return out
