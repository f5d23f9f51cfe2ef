"""Bulk inserts for generated data: primary keys counted in Python (`Ids`) and rows written
through the connection of Piccolo's own transaction (`Writer`: `executemany` on SQLite, `COPY`
on PostgreSQL), with column names and defaults from the tables in `intro.tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from piccolo.columns import Timestamptz
from piccolo.columns.defaults.base import Default
from piccolo.table import Table


class Ids:
    """The next primary key of each table, counted in Python from the largest stored."""

    def __init__(self, start: dict[type[Table], int]):
        self._next = dict(start)

    @classmethod
    async def load(cls, tables_: Sequence[type[Table]]) -> Ids:
        start = {}
        for table in tables_:
            row = (
                await table.select(table._meta.primary_key)
                .order_by(table._meta.primary_key, ascending=False)
                .first()
            )
            start[table] = (row[table._meta.primary_key._meta.name] if row else 0) + 1
        return cls(start)

    def __call__(self, table: type[Table]) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


class Writer:
    """Bulk inserts through the connection of the current Piccolo transaction.

    Rows are tuples of the named columns; every other column gets its default from the
    table definition, as `Table.insert` would give it — except that a "now" default of a
    timestamp becomes `stamp`, so that the rows do not depend on when they were made."""

    BATCH = 5000

    def __init__(self, engine, stamp: datetime):
        self.engine = engine
        self.stamp = stamp
        self._tuned = False
        self._sql: dict[tuple[type[Table], tuple[str, ...]], tuple[str, tuple, list[str]]] = {}

    def _plan(self, table: type[Table], columns: tuple[str, ...]) -> tuple[str, tuple, list[str]]:
        key = (table, columns)
        if key not in self._sql:
            by_name = {c._meta.name: c for c in table._meta.columns}
            unknown = [c for c in columns if c not in by_name]
            if unknown:
                raise ValueError(f"{table.__name__} has no column {unknown}")
            extra_names, extra_values = [], []
            for name, column in by_name.items():
                if name in columns or column is table._meta.primary_key:
                    continue
                default = getattr(column, "default", None)
                if isinstance(default, Default):
                    if not isinstance(column, Timestamptz):
                        raise ValueError(f"{table.__name__}.{name} needs a value")
                    value = self.stamp
                else:
                    value = column.get_default_value()
                extra_names.append(name)
                extra_values.append(value)
            names = [by_name[c]._meta.db_column_name for c in columns] + [
                by_name[c]._meta.db_column_name for c in extra_names
            ]
            quoted = ", ".join(f'"{n}"' for n in names)
            marks = ", ".join("?" for _ in names)
            sql = f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES ({marks})'
            self._sql[key] = (sql, tuple(extra_values), names)
        return self._sql[key]

    async def insert(self, table: type[Table], columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        sql, extra, names = self._plan(table, tuple(columns))
        connection = self.engine.current_transaction.get().connection
        if self.engine.engine_type == "sqlite" and not self._tuned:
            # A big page cache for this connection only: index pages stay in memory
            # instead of being written out and read back for every batch.
            await connection.execute("PRAGMA cache_size = -262144")
            self._tuned = True
        for i in range(0, len(rows), self.BATCH):
            batch = [row + extra for row in rows[i : i + self.BATCH]]
            if self.engine.engine_type == "postgres":
                await connection.copy_records_to_table(
                    table._meta.tablename, records=batch, columns=names
                )
            else:
                await connection.executemany(sql, batch)

    async def fix_sequences(self, tables_: Sequence[type[Table]]) -> None:
        """PostgreSQL: ids were given here, so move each serial on past the largest."""
        if self.engine.engine_type != "postgres":
            return
        connection = self.engine.current_transaction.get().connection
        for table in tables_:
            name = table._meta.tablename
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{name}"), 1), '
                f'(SELECT MAX(id) IS NOT NULL FROM "{name}"))'
            )
