"""The storage layer: one module per domain over one connection-and-migrations module per backend.

    base.py      the contract every backend implements (abstract), Identity, Migration
    schema.py    the Store (every domain's queries) and the ordered migrations of both backends
    sessions.py  sessions, messages, learned limits: DDL, policies and queries
    rls.py       the class database's groups and the row-level security every student table gets
    sqlite.py    SQLite: a file per laptop      postgres.py  PostgreSQL: a database per class

psycopg is imported only by postgres.py, and only when a class database is opened.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor_cli.store.base import Identity, Migration
    from tutor_cli.store.records import MessageRecord, SessionRecord
    from tutor_cli.store.schema import MIGRATIONS, Store
    from tutor_cli.store.sqlite import APPLICATION_ID, SQLiteStore, apply_migrations

# Each name is imported from its module on first use (PEP 562), so that importing
# `tutor_cli.store.records` (what views need) loads no backend and no sqlite3.
_HOMES = {
    "Identity": "base",
    "Migration": "base",
    "MessageRecord": "records",
    "SessionRecord": "records",
    "MIGRATIONS": "schema",
    "Store": "schema",
    "APPLICATION_ID": "sqlite",
    "SQLiteStore": "sqlite",
    "apply_migrations": "sqlite",
}


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(import_module(f"tutor_cli.store.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'tutor_cli.store' has no attribute {name!r}")


def is_postgres_url(location: object) -> bool:
    """Whether a store location names a PostgreSQL database rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | os.PathLike[str] | None) -> Store:
    """The one place a location becomes a store: a PostgreSQL URL, an SQLite file, or None (memory)."""
    if is_postgres_url(location):
        from tutor_cli.store.postgres import PostgresStore

        return PostgresStore(str(location))
    from tutor_cli.store.sqlite import SQLiteStore

    return SQLiteStore(":memory:" if location is None else location)


__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "Identity",
    "MessageRecord",
    "Migration",
    "SQLiteStore",
    "SessionRecord",
    "Store",
    "apply_migrations",
    "is_postgres_url",
    "open_store",
]
