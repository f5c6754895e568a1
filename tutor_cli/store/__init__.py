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

from tutor_cli.store.base import Identity, Migration
from tutor_cli.store.schema import MIGRATIONS, Store
from tutor_cli.store.sessions import MessageRecord, SessionRecord
from tutor_cli.store.sqlite import APPLICATION_ID, SQLiteStore, apply_migrations


def is_postgres_url(location: object) -> bool:
    """Whether a store location names a PostgreSQL database rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | os.PathLike[str] | None) -> Store:
    """The one place a location becomes a store: a PostgreSQL URL, an SQLite file, or None (memory)."""
    if is_postgres_url(location):
        from tutor_cli.store.postgres import PostgresStore

        return PostgresStore(str(location))
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
