from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Data subjects' rights: a person's processing can be restricted, and a person can be anonymised"


def _timestamp(column: str) -> dict:
    return {
        "table_class_name": "Person",
        "tablename": "person",
        "column_name": column,
        "db_column_name": column,
        "column_class_name": "Timestamptz",
        "column_class": Timestamptz,
        "params": {
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        "schema": None,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="intro", description=DESCRIPTION)
    # GDPR art. 18: while set, the person's data is kept but not anonymised or processed further.
    manager.add_column(**_timestamp("restricted_at"))
    # GDPR art. 17: when set, name, e-mail and free text are gone; figures are kept.
    manager.add_column(**_timestamp("anonymised_at"))
    return manager
