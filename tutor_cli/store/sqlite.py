"""SQLite: one file (or memory) per student's laptop: connection, pragmas, transactions, migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tutor_cli.errors import StoreError
from tutor_cli.store.base import Migration
from tutor_cli.store.schema import MIGRATIONS, Store

# Written into the SQLite header so a tutor store can be told from any other database.
APPLICATION_ID = 0x54555452  # "TUTR"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000


def _bootstrap(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"""
    )


def apply_migrations(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema up to date; return the resulting version. Safe to race."""
    while True:
        with _atomic(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(migrations):
                return version
            step = migrations[version]
            _bootstrap(conn)
            step.sqlite(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version + 1, step.name, time.time()),
            )
            conn.execute(f"PRAGMA user_version = {version + 1}")


@contextmanager
def _atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT. On an error the transaction is rolled back and the *original*
    error re-raised (a failing ROLLBACK must not mask it); a failed COMMIT is rolled back too, so
    no transaction is left open on the connection."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one worth reporting
        raise


class SQLiteStore(Store):
    """A tutor store in one SQLite file (or in memory when path is ':memory:')."""

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = str(path) if str(path) == ":memory:" else str(Path(path))
        self._lock = threading.RLock()
        in_memory = self.path == ":memory:"
        if not in_memory:
            _check_is_tutor_file(Path(self.path))
        try:
            self._conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise StoreError(self.path, f"cannot open the store ({error}).") from None
        try:
            with self._translated():
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._refuse_foreign_database()
                if not in_memory:
                    self._conn.execute("PRAGMA journal_mode = WAL")
                # FULL: a call that returned has its data on disk, even after a power cut.
                self._conn.execute("PRAGMA synchronous = FULL")
                self._conn.execute("PRAGMA foreign_keys = ON")
                version = apply_migrations(self._conn)
                if version > len(MIGRATIONS):
                    raise StoreError(
                        self.path,
                        f"this store has schema version {version}, newer than this tutor "
                        f"understands ({len(MIGRATIONS)}); upgrade tutor.",
                    )
        except BaseException:
            self._conn.close()
            raise

    # -- dialect --

    def _is_unique_violation(self, error: Exception) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

    def _insert(self, conn: Any, sql: str, params: tuple | list) -> int:
        return int(conn.execute(sql, params).lastrowid or 0)

    def weekday_sql(self, column: str) -> str:
        # %w counts Sunday as 0; shifted so that Monday is 0, as Python's tm_wday.
        return f"((CAST(strftime('%w', {column}, 'unixepoch') AS INTEGER) + 6) % 7)"

    def hour_sql(self, column: str) -> str:
        return f"CAST(strftime('%H', {column}, 'unixepoch') AS INTEGER)"

    # -- internals --

    def _refuse_foreign_database(self) -> None:
        # One read transaction: both facts from the same snapshot, even while another process
        # is creating the store.
        self._conn.execute("BEGIN")
        try:
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            objects = self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            self._conn.execute("COMMIT")
        if app_id == APPLICATION_ID:
            return
        if app_id != 0 or objects:
            raise StoreError(self.path, "this is an SQLite database but not a tutor store; it was left untouched.")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn SQLite's errors into one sentence that names the file."""
        try:
            yield
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreError(self.path, "the store stayed locked by another tutor process; try again.") from None
            raise StoreError(self.path, f"the store cannot be used ({error}).") from None
        except sqlite3.DatabaseError as error:
            raise StoreError(
                self.path, f"the store is corrupt or not a tutor store ({error}); it was left untouched."
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front so writers queue, not fail."""
        with self._lock, self._translated(), _atomic(self._conn) as conn:
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translated():
            yield self._conn

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file ('ok' when sound)."""
        with self._reading() as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]

    def schema_version(self) -> int:
        with self._reading() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]


def _check_is_tutor_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not an SQLite database; create a new one 0600."""
    try:
        if path.is_dir():
            raise StoreError(path, "is a folder, not a tutor store.")
        if path.exists():
            if path.stat().st_size == 0:
                return
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
            if header != SQLITE_HEADER:
                raise StoreError(path, "is not a tutor store (not an SQLite database); it was left untouched.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    except OSError as error:
        raise StoreError(path, f"cannot be opened ({error.strerror}).") from None
