"""The storage layer: one module per domain over one connection-and-migrations module per backend.

    base.py      the contract every backend implements (abstract), Identity, Migration
    schema.py    the Store (every domain's queries) and the ordered migrations of both backends
    sessions.py  sessions, messages, learned limits: DDL, policies and queries
    rls.py       the class database's groups and the row-level security every student table gets
    sqlite.py    SQLite: a file per laptop      postgres.py  PostgreSQL: a database per class

psycopg is imported only by postgres.py, and only when a class database is opened.
"""

from __future__ import annotations

from tutor_cli.store.base import Identity, Migration
from tutor_cli.store.schema import MIGRATIONS, Store
from tutor_cli.store.sessions import MessageRecord, SessionRecord
from tutor_cli.store.sqlite import APPLICATION_ID, SQLiteStore, apply_migrations

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
]
