"""Database plumbing shared by the app, the commands and the tests."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite
import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.query.methods.create import Create
from piccolo.querystring import QueryString


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


def _query_in_thread(connection: aiosqlite.Connection, query: str, args) -> list:
    """Run one query on an aiosqlite connection's own thread (`Connection._execute`) and
    commit it, as aiosqlite's execute, commit and fetchall would, in one go."""
    raw = connection._conn
    cursor = raw.execute(query, args)
    try:
        raw.commit()
        return cursor.fetchall()
    finally:
        cursor.close()


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, keeping its connections for the next query.

    Piccolo opens a new connection for every query outside a transaction (a thread, the
    file, a pragma: 2–4 ms each), so a page of a dozen queries spent most of its time
    connecting. This engine lends an idle connection instead and takes it back when the
    query is done. Each query still runs on its own and is committed at once, exactly as
    before; transactions still get their own connection from `get_connection`.

    Connections belong to one file: if `path` changes (the tests point the engine at a
    fresh copy per test) the idle ones are closed rather than reused."""

    def __init__(self, *args, idle_connections: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        self._idle: list = []
        self._idle_path: str | None = None
        self._idle_max = idle_connections

    async def _borrow(self):
        if self._idle_path != self.path:
            await self.close_idle()
            self._idle_path = self.path
        if self._idle:
            return self._idle.pop()
        pending = aiosqlite.connect(**self.connection_kwargs)
        # aiosqlite runs each connection in a thread; a kept, idle one must not keep the
        # process from exiting when a command is done.
        pending._thread.daemon = True
        connection = await pending
        connection.row_factory = dict_factory
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _give_back(self, connection) -> None:
        if self._idle_path == self.path and len(self._idle) < self._idle_max:
            self._idle.append(connection)
        else:
            await connection.close()

    async def close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if query_type == "insert" and self.get_version_sync() < 3.35:
            # Old SQLite without RETURNING: Piccolo's own path handles it.
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self._borrow()
        try:
            # One trip to the connection's thread, not four (execute, commit, fetch, close:
            # each a hand-over between threads, ~0.1 ms on a busy machine).
            rows = await connection._execute(_query_in_thread, connection, query, args or [])
        except BaseException:
            # A connection in an unknown state is not lent again.
            await connection.close()
            raise
        await self._give_back(connection)
        return rows


# --------------------------------------------------------------------------------------
# Per-worker caches kept honest by the database's write counters (migration m0013)


async def data_stamp() -> dict[str, int]:
    """{table name: version} of every table in `tables.STAMPED_TABLES`, in one query.

    A version moves in the same transaction as every write to its table (database
    triggers), so two reads that give the same version saw the same rows of that table —
    whichever worker process, machine or code path wrote in between."""
    from intro.tables import DataStamp

    rows = await DataStamp.raw("SELECT table_name, version FROM data_stamp")
    return {row["table_name"]: row["version"] for row in rows}


class StampedCache:
    """A small per-worker map from a key to a value built from some tables, kept with the
    versions of those tables it was built from (see `data_stamp`) and, if `max_age` is
    given, for at most that many seconds.

    `get(key, stamp)` gives the value only while every one of `tables` still has the
    version it had when the value was `put` (and, if `valid` is given, while
    `valid(value)` holds: for what the clock makes stale, such as a course day that has
    ended since); otherwise None. Least recently used entries
    go first when more than `size` are kept. Values are shared between requests, so they
    must not be changed by whoever gets them."""

    # Every cache made, so all can be emptied at once (`clear_all`).
    made: weakref.WeakSet[StampedCache] = weakref.WeakSet()

    def __init__(self, tables: tuple[str, ...], size: int = 256, max_age: float | None = None):
        StampedCache.made.add(self)
        self.tables = tables
        self.size = size
        self.max_age = max_age
        self._entries: OrderedDict = OrderedDict()
        self._building: dict = {}

    def versions(self, stamp: dict[str, int]) -> tuple:
        """The versions of this cache's tables in `stamp` (missing table: None)."""
        return tuple(stamp.get(t) for t in self.tables)

    def get(self, key, stamp: dict[str, int], valid: Callable[[Any], bool] | None = None):
        entry = self._entries.get(key)
        if entry is None:
            return None
        versions, made, value = entry
        if versions != self.versions(stamp) or None in versions or (
            self.max_age is not None and time.monotonic() - made > self.max_age
        ) or (valid is not None and not valid(value)):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key, stamp: dict[str, int], value) -> None:
        self._entries[key] = (self.versions(stamp), time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    async def get_or_build(
        self, key, stamp: dict[str, int], build: Callable[[], Awaitable], valid: Callable[[Any], bool] | None = None
    ):
        """The kept value for `key`, or the one `build()` makes (then kept). Requests that
        miss the same key at the same stamp while it is being built wait for that one
        build instead of each building it again (32 users at a cold worker)."""
        value = self.get(key, stamp, valid)
        if value is not None:
            return value
        flight = (key, self.versions(stamp))
        pending = self._building.get(flight)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = self._building[flight] = asyncio.ensure_future(build())
        try:
            value = await asyncio.shield(pending)
        finally:
            self._building.pop(flight, None)
        self.put(key, stamp, value)
        return value

    def clear(self) -> None:
        self._entries.clear()

    @classmethod
    def clear_all(cls) -> None:
        """Empty every cache: when the process is pointed at another database (the tests,
        a fresh copy per test, whose counters start where the copy's did)."""
        for cache in list(cls.made):
            cache.clear()


# --------------------------------------------------------------------------------------
# Hot queries built once


class _Param:
    """Stands for a parameter while a prepared query is built (see `Prepared`)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f":{self.name}"

    def bind(self, values: dict):
        return values[self.name]


class _List(_Param):
    """Stands for a list bound as an array (`any_of` on PostgreSQL)."""

    def bind(self, values: dict):
        return list(values[self.name])


class _JSONList(_Param):
    """Stands for a list bound as one JSON array (`any_of` on SQLite)."""

    def bind(self, values: dict):
        import json

        return json.dumps(list(values[self.name]))


class _Compiled(QueryString):
    """SQL and values compiled already: the engine runs them as they are."""

    def __init__(self, sql: str, values: list, table):
        super().__init__("", query_type="select", table=table)
        self._sql, self._values = sql, values

    def compile_string(self, engine_type: str = "postgres"):
        return self._sql, self._values

    def __str__(self) -> str:
        return self._sql


class Prepared:
    """A Piccolo select built and compiled to SQL once, then run with bound values.

    Building and compiling a Piccolo query costs about 0.3–0.7 ms of Python per query
    (more than most of our queries take in the database), and a page runs a dozen. For the
    hottest ones, `build(**params)` is called once with stand-ins for the parameters; the
    SQL it compiles to is kept per engine type, and each `run(**values)` only puts the
    values in their places. Results come back through the query's own processing, so rows
    look exactly as from the query itself (dicts, JSON loaded); with `first=True` the one
    row or None, like Piccolo's `.first()` (the query should have `.limit(1)`).

    Scalar parameters are bound as they are; a list only through `any_of(column, param)`
    (one parameter whatever its length: a list in Piccolo's `is_in` changes the SQL's
    shape). Anything that varies per call — the clock included — must be a parameter.
    Raises KeyError for a missing value."""

    def __init__(self, build: Callable, *names: str, first: bool = False):
        self._build = build
        self._names = names
        self._first = first
        self._query = None
        self._compiled: dict[str, tuple[str, list]] = {}

    async def run(self, **values):
        query = self._query
        if query is None:
            query = self._query = self._build(**{n: _Param(n) for n in self._names})
        engine = query.table._meta.db
        compiled = self._compiled.get(engine.engine_type)
        if compiled is None:
            (querystring,) = query.querystrings
            compiled = self._compiled[engine.engine_type] = querystring.compile_string(engine_type=engine.engine_type)
        sql, args = compiled
        bound = [a.bind(values) if isinstance(a, _Param) else a for a in args]
        raw = await engine.run_querystring(_Compiled(sql, bound, query.table))
        rows = await query._process_results(raw)
        if self._first:
            return rows[0] if rows else None
        return rows


# --------------------------------------------------------------------------------------
# Many rows at once


def any_of(column, values: Sequence):
    """`column IN (values)` as a Piccolo where clause with the values in ONE bound
    parameter: a JSON array on SQLite (`json_each`), an array on PostgreSQL (`unnest`).

    Piccolo's own `is_in(list)` builds a parameter object per value (about 20 µs each:
    0.2 s for the 10,000 e-mails of an HR import, several times over) and needs the list
    cut to the databases' parameter limits; this builds one whatever the length. Values
    match the column: integers for an integer, serial or foreign key column, text for a
    text column (TypeError for any other column). An empty list matches no row. In a
    `Prepared` query `values` is a parameter's stand-in, and the list is bound per call."""
    import json

    from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Varchar

    if isinstance(column, (Varchar, Text)):
        kind = "text"
    elif isinstance(column, (Integer, Serial, ForeignKey)):
        kind = "bigint"
    else:
        raise TypeError(f"any_of takes an integer or text column, not {type(column).__name__}")
    if column._meta.table._meta.db.engine_type == "postgres":
        listed = _List(values.name) if isinstance(values, _Param) else list(values)
        return column.is_in(QueryString(f"SELECT unnest({{}}::{kind}[])", listed))
    if isinstance(values, _Param):  # in a `Prepared` query: bound per call
        return column.is_in(QueryString("SELECT value FROM json_each({})", _JSONList(values.name)))
    return column.is_in(QueryString("SELECT value FROM json_each({})", json.dumps(list(values))))


def _json_text(value: Any) -> str:
    """`value` as JSON text for a JSON column, as Piccolo stores it (anything JSON has no
    type for, such as a date, as its str), by msgspec (Litestar's own encoder): an HR import
    writes ~37,000 audit lines, and the standard library's encoder was 0.4 s of its commit."""
    return _JSON_ENCODER.encode(value).decode()


_JSON_ENCODER = msgspec.json.Encoder(enc_hook=str)


async def insert_many(table, rows: list[dict]) -> None:
    """Insert `rows` (dicts by column name, all with the same keys) into `table` with one
    prepared statement run for every row (executemany), bypassing the building of a
    Piccolo object and query per row (about 0.3 ms each: 3 s for 10,000 rows).

    Columns left out get their Piccolo default, as `Table(...)` would give them (a
    timestamp default: now). JSON values are stored as JSON text. Joins the caller's
    transaction, so the rows are written with the rest of the change or not at all (or
    takes one of its own for these rows). Ids are not returned: read them back by a
    unique key."""
    from piccolo.columns.column_types import JSON, JSONB
    from piccolo.columns.defaults.base import Default

    if not rows:
        return
    engine = table._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        async with write_transaction(engine):
            return await insert_many(table, rows)
    given = list(rows[0])
    by_name = {c._meta.name: c for c in table._meta.columns}
    defaults = {}
    for name, column in by_name.items():
        if name not in given and column is not table._meta.primary_key:
            value = column.get_default_value()
            defaults[name] = value.python() if isinstance(value, Default) else value
    names = given + list(defaults)
    columns = [by_name[n] for n in names]
    json_at = [i for i, c in enumerate(columns) if isinstance(c, (JSON, JSONB))]
    quoted = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
    if engine.engine_type == "postgres":
        marks = ", ".join(f"${i + 1}" for i in range(len(names)))
    else:
        marks = ", ".join("?" for _ in names)
    sql = f'INSERT INTO "{table._meta.tablename}" ({quoted}) VALUES ({marks})'
    tail = tuple(defaults.values())
    values = []
    for row in rows:
        value = [row[n] for n in given]
        value.extend(tail)
        for i in json_at:
            if value[i] is not None and not isinstance(value[i], str):
                value[i] = _json_text(value[i])
        values.append(value)
    await transaction.connection.executemany(sql, values)


async def update_many(table, names: Sequence[str], rows: list[tuple]) -> None:
    """Set the columns `names` of many rows, each found by its primary key: `rows` are
    (value of each name in order, then the key), one prepared UPDATE run for every row
    (executemany), as `insert_many` does for inserts — 1,000 changed employments of an
    HR import were 1,000 Piccolo queries (about 2 s). JSON values are stored as JSON
    text (`_json_text`, as `insert_many`). Joins the caller's transaction (or takes one of
    its own)."""
    from piccolo.columns.column_types import JSON, JSONB

    if not rows:
        return
    engine = table._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        async with write_transaction(engine):
            return await update_many(table, names, rows)
    by_name = {c._meta.name: c for c in table._meta.columns}
    columns = [by_name[n] for n in names]
    json_at = [i for i, c in enumerate(columns) if isinstance(c, (JSON, JSONB))]
    key = table._meta.primary_key._meta.db_column_name
    if engine.engine_type == "postgres":
        marks = [f"${i + 1}" for i in range(len(names) + 1)]
    else:
        marks = ["?"] * (len(names) + 1)
    assignments = ", ".join(f'"{c._meta.db_column_name}" = {m}' for c, m in zip(columns, marks, strict=False))
    sql = f'UPDATE "{table._meta.tablename}" SET {assignments} WHERE "{key}" = {marks[-1]}'
    values = []
    for row in rows:
        value = list(row)
        for i in json_at:
            if value[i] is not None and not isinstance(value[i], str):
                value[i] = _json_text(value[i])
        values.append(value)
    await transaction.connection.executemany(sql, values)
