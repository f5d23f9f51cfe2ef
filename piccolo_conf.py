"""Piccolo's engine: a SQLite file by default, PostgreSQL when DATABASE_URL is set."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from intro.db import PooledSQLiteEngine  # also puts SQLite constraints inside CREATE TABLE
from intro.settings import get_settings

_settings = get_settings()

if _settings.uses_postgres:
    # The connection pool is opened and closed with the app (see app.py).
    DB = PostgresEngine(config={"dsn": _settings.database_url})
else:
    # Connections are kept and lent per query (see intro.db); `timeout` is SQLite's busy
    # timeout in seconds, so a writer waits for another instead of failing with
    # "database is locked".
    DB = PooledSQLiteEngine(path=str(_settings.sqlite_path), timeout=30)

APP_REGISTRY = AppRegistry(apps=["intro.piccolo_app"])
