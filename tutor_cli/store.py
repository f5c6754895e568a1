"""SQLite storage: connection, pragmas, migrations and every SQL statement of the package.

Nothing outside this module writes SQL. The interface is small on purpose (a handful of
methods taking plain ids and returning dataclasses) so that another backend can sit behind it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tutor_cli.context import message_tokens
from tutor_cli.errors import SessionExistsError, SessionNotFoundError, StoreError

# Written into the SQLite header so a tutor store can be told from any other database.
APPLICATION_ID = 0x54555452  # "TUTR"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000

USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cache_hit_tokens",
    "cache_miss_tokens",
)


@dataclass(frozen=True)
class SessionRecord:
    """One session's metadata, without its messages."""

    student_id: str
    session_id: str
    system_prompt: str
    created_at: float
    updated_at: float
    message_count: int
    model: str | None = None
    window_start: int = 0  # id of the first message the next request may include
    summary: str | None = None  # summary of the turns before the window
    summary_through: int = 0  # id of the last message the summary covers
    token_scale: float | None = None  # server tokens per estimated token, learned from usage


@dataclass(frozen=True)
class MessageRecord:
    """One stored message with everything the chat recorded about it."""

    id: int
    role: str
    content: str
    created_at: float
    model: str | None = None
    reasoning: str | None = None
    interrupted: bool = False
    usage: dict[str, int] = field(default_factory=dict)


# --- migrations -------------------------------------------------------------------------
# An ordered list: migration N (1-based) brings the schema from version N-1 to N. Each runs
# in one transaction together with the version bump and its row in schema_migrations, so a
# crash part-way leaves the previous schema intact.


def _create_sessions_and_messages(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            student_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            system_prompt TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0,
            model TEXT,
            UNIQUE (student_id, session_id)
        )"""
    )
    conn.execute("CREATE INDEX sessions_by_recent_use ON sessions (student_id, updated_at DESC, id DESC)")
    conn.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_pk INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            created_at REAL NOT NULL,
            model TEXT,
            reasoning TEXT,
            interrupted INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            reasoning_tokens INTEGER,
            cache_hit_tokens INTEGER,
            cache_miss_tokens INTEGER
        )"""
    )
    conn.execute("CREATE INDEX messages_by_session ON messages (session_pk, id)")


def _add_context_window(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE sessions ADD COLUMN window_start INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE sessions ADD COLUMN summary TEXT")
    conn.execute("ALTER TABLE sessions ADD COLUMN summary_through INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE sessions ADD COLUMN token_scale REAL")
    conn.execute("ALTER TABLE messages ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0")
    conn.create_function("tutor_message_tokens", 1, message_tokens, deterministic=True)
    conn.execute("UPDATE messages SET tokens = tutor_message_tokens(content)")
    # Covers the window walk (newest back, reading only role and token counts, never content).
    conn.execute("CREATE INDEX messages_window ON messages (session_pk, id, role, tokens)")
    conn.execute("DROP INDEX messages_by_session")
    conn.execute(
        """CREATE TABLE model_limits (
            model TEXT PRIMARY KEY, context_tokens INTEGER NOT NULL, learned_at REAL NOT NULL)"""
    )


Migration = tuple[str, Callable[[sqlite3.Connection], None]]

MIGRATIONS: list[Migration] = [
    ("create_sessions_and_messages", _create_sessions_and_messages),
    ("add_context_window", _add_context_window),
]


def _bootstrap(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"""
    )


def apply_migrations(conn: sqlite3.Connection, migrations: list[Migration] = MIGRATIONS) -> int:
    """Bring the schema up to date; return the resulting version. Safe to race."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(migrations):
                conn.execute("COMMIT")
                return version
            name, migrate = migrations[version]
            _bootstrap(conn)
            migrate(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version + 1, name, time.time()),
            )
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# --- the store ----------------------------------------------------------------------------


class Store:
    """The queries every backend shares. Subclasses supply the connection, transactions,
    placeholder style and the few statements whose SQL differs."""

    path: str
    peak_sql: str = ""

    def _run(self, conn: Any, sql: str, params: tuple | list = ()) -> Any:
        return conn.execute(self._sql(sql), params)

    def _in(self, text: str | None) -> str | None:
        """Text as the backend stores it (PostgreSQL's text cannot hold NUL)."""
        return text

    def _out(self, text: str | None) -> str | None:
        """Text as it was given, from what the backend stored."""
        return text

    def _sql(self, sql: str) -> str:
        return sql

    def _is_unique_violation(self, error: Exception) -> bool:
        raise NotImplementedError

    def _insert_message(self, conn: Any, session_pk: int, student_id: str, values: tuple) -> int:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    _conn: Any
    _lock: threading.RLock

    def close(self) -> None:
        """Close the connection; the data stays where it is."""
        with self._lock:
            self._conn.close()

    def _session_record(self, row: tuple) -> SessionRecord:
        record = SessionRecord(*row)
        return replace(record, system_prompt=self._out(record.system_prompt), summary=self._out(record.summary))

    def _message_record(self, row: tuple) -> MessageRecord:
        return MessageRecord(
            id=row[0],
            role=row[1],
            content=self._out(row[2]),
            created_at=row[3],
            model=row[4],
            reasoning=self._out(row[5]),
            interrupted=bool(row[6]),
            usage=_usage(row[7:]),
        )

    def schema_version(self) -> int:
        raise NotImplementedError

    def _session_pk(self, conn: sqlite3.Connection, student_id: str, session_id: str) -> int:
        row = self._run(
            conn, "SELECT id FROM sessions WHERE student_id = ? AND session_id = ?", (student_id, session_id)
        ).fetchone()
        if row is None:
            raise SessionNotFoundError(student_id, session_id)
        return row[0]

    # -- sessions --

    def create_session(self, student_id: str, session_id: str, system_prompt: str) -> None:
        """Create a session; raise SessionExistsError (leaving the old one) if the pair exists."""
        now = time.time()
        with self._transaction() as conn:
            try:
                self._run(
                    conn,
                    "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (student_id, session_id, self._in(system_prompt), now, now),
                )
            except Exception as error:
                if self._is_unique_violation(error):
                    raise SessionExistsError(student_id, session_id) from None
                raise

    def get_session(self, student_id: str, session_id: str) -> SessionRecord | None:
        """The session's metadata, or None."""
        with self._reading() as conn:
            row = self._run(
                conn,
                f"SELECT {_SESSION_COLUMNS} FROM sessions s WHERE student_id = ? AND session_id = ?",
                (student_id, session_id),
            ).fetchone()
            return self._session_record(row) if row else None

    def list_sessions(self, student_id: str | None) -> list[SessionRecord]:
        """A student's sessions (everyone's when None), most recently used first."""
        where, args = ("WHERE student_id = ?", (student_id,)) if student_id is not None else ("", ())
        with self._reading() as conn:
            rows = self._run(
                conn,
                f"SELECT {_SESSION_COLUMNS} FROM sessions s {where} ORDER BY updated_at DESC, id DESC",
                args,
            ).fetchall()
            return [self._session_record(row) for row in rows]

    def latest_session(self, student_id: str) -> SessionRecord | None:
        """The student's most recently used session, or None."""
        with self._reading() as conn:
            row = self._run(
                conn,
                f"SELECT {_SESSION_COLUMNS} FROM sessions s WHERE student_id = ?"
                " ORDER BY updated_at DESC, id DESC LIMIT 1",
                (student_id,),
            ).fetchone()
            return self._session_record(row) if row else None

    def delete_session(self, student_id: str, session_id: str) -> None:
        """Delete a session and its messages; SessionNotFoundError if it does not exist."""
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            self._run(conn, "DELETE FROM sessions WHERE id = ?", (pk,))

    def touch_session(self, student_id: str, session_id: str, model: str | None = None) -> None:
        """Mark the session as just used (and remember the model it now talks to)."""
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            self._run(
                conn,
                "UPDATE sessions SET updated_at = ?, model = coalesce(?, model) WHERE id = ?",
                (time.time(), model, pk),
            )

    # -- messages --

    def add_message(
        self,
        student_id: str,
        session_id: str,
        role: str,
        content: str,
        *,
        model: str | None = None,
        reasoning: str | None = None,
        interrupted: bool = False,
        usage: dict[str, int] | None = None,
    ) -> int:
        """Append one message in its own durable transaction; return its id."""
        usage = usage or {}
        now = time.time()
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            # The session row is updated (and so locked) first: ids then follow commit order.
            self._run(
                conn,
                "UPDATE sessions SET updated_at = ?, message_count = message_count + 1,"
                " model = coalesce(?, model) WHERE id = ?",
                (now, model, pk),
            )
            return self._insert_message(
                conn,
                pk,
                student_id,
                (
                    role,
                    self._in(content),
                    now,
                    model,
                    self._in(reasoning),
                    int(interrupted),
                    message_tokens(content),
                    *(usage.get(name) for name in USAGE_FIELDS),
                ),
            )

    def get_messages(self, student_id: str, session_id: str) -> list[MessageRecord]:
        """Every message of the session, oldest first; SessionNotFoundError if missing."""
        with self._reading() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            rows = self._run(
                conn, f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_pk = ? ORDER BY id", (pk,)
            ).fetchall()
            return [self._message_record(row) for row in rows]

    def get_turns(
        self, student_id: str, session_id: str, after_id: int = 0, before_id: int | None = None
    ) -> list[tuple[int, str, str, int]]:
        """(id, role, content, tokens) of the messages after `after_id` (and before `before_id`), oldest first."""
        with self._reading() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            rows = self._run(
                conn,
                "SELECT id, role, content, tokens FROM messages WHERE session_pk = ? AND id > ? AND id < ? ORDER BY id",
                (pk, after_id, before_id if before_id is not None else 2**62),
            ).fetchall()
            return [(row[0], row[1], self._out(row[2]), row[3]) for row in rows]

    def iter_window_newest_first(
        self, student_id: str, session_id: str, start_id: int, before_id: int | None = None, batch: int = 2000
    ) -> Iterator[tuple[int, str, int]]:
        """(id, role, tokens) from the newest message back to `start_id`, read in batches as consumed."""
        upper = before_id if before_id is not None else 2**62
        while True:
            with self._reading() as conn:
                pk = self._session_pk(conn, student_id, session_id)
                rows = self._run(
                    conn,
                    "SELECT id, role, tokens FROM messages WHERE session_pk = ? AND id >= ? AND id < ?"
                    " ORDER BY id DESC LIMIT ?",
                    (pk, start_id, upper, batch),
                ).fetchall()
            yield from rows
            if len(rows) < batch:
                return
            upper = rows[-1][0]

    def set_window(
        self,
        student_id: str,
        session_id: str,
        start_id: int,
        summary: str | None = None,
        summary_through: int | None = None,
    ) -> None:
        """Move the window's start (and, when given, store the summary of what it left behind)."""
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            self._run(conn, "UPDATE sessions SET window_start = ? WHERE id = ?", (start_id, pk))
            if summary is not None:
                self._run(
                    conn,
                    "UPDATE sessions SET summary = ?, summary_through = ? WHERE id = ?",
                    (summary, summary_through or 0, pk),
                )

    def set_token_scale(self, student_id: str, session_id: str, scale: float) -> None:
        """Remember how many server tokens one estimated token is, for this session."""
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            self._run(conn, "UPDATE sessions SET token_scale = ? WHERE id = ?", (scale, pk))

    def learned_limit(self, model: str) -> int | None:
        """The context window a server reported for `model`, if one did."""
        with self._reading() as conn:
            row = self._run(conn, "SELECT context_tokens FROM model_limits WHERE model = ?", (model,)).fetchone()
            return row[0] if row else None

    def learn_limit(self, model: str, context_tokens: int) -> None:
        """Record the context window a server reported for `model`."""
        with self._transaction() as conn:
            self._run(
                conn,
                "INSERT INTO model_limits (model, context_tokens, learned_at) VALUES (?, ?, ?)"
                " ON CONFLICT (model) DO UPDATE SET context_tokens = excluded.context_tokens,"
                " learned_at = excluded.learned_at",
                (model, context_tokens, time.time()),
            )

    def usage_rows(self, student_id: str | None, session_id: str | None = None) -> list[tuple]:
        """Token sums per (student, session, model, peak-hours) over answers: what costs are computed from."""
        conditions = ["m.role = 'assistant'", "m.prompt_tokens IS NOT NULL"]
        args: list[str] = []
        if student_id is not None:
            conditions.append("s.student_id = ?")
            args.append(student_id)
        if session_id is not None:
            conditions.append("s.session_id = ?")
            args.append(session_id)
        sums = ", ".join(f"sum(m.{name})" for name in USAGE_FIELDS)
        with self._reading() as conn:
            return self._run(
                conn,
                f"SELECT s.student_id, s.session_id, m.model, {self.peak_sql} AS peak, {sums}"
                " FROM sessions s JOIN messages m ON m.session_pk = s.id"
                f" WHERE {' AND '.join(conditions)} GROUP BY s.id, m.model, peak",
                args,
            ).fetchall()


class SQLiteStore(Store):
    """A tutor store in one SQLite file (or in memory when path is ':memory:')."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = str(path) if str(path) == ":memory:" else str(Path(path))
        self._lock = threading.RLock()
        self.peak_sql = _PEAK_SQL
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

    def _is_unique_violation(self, error: Exception) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

    def _insert_message(self, conn: Any, session_pk: int, student_id: str, values: tuple) -> int:
        cursor = conn.execute(
            "INSERT INTO messages (session_pk, role, content, created_at, model, reasoning, interrupted, tokens,"
            " prompt_tokens, completion_tokens, reasoning_tokens, cache_hit_tokens, cache_miss_tokens)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_pk, *values),
        )
        return int(cursor.lastrowid or 0)

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
        with self._lock, self._translated():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translated():
            yield self._conn

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file ('ok' when sound)."""
        with self._reading() as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]

    def schema_version(self) -> int:
        """The version the migrations brought the store to."""
        with self._reading() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]


_SESSION_COLUMNS = (
    "student_id, session_id, system_prompt, created_at, updated_at, message_count, model,"
    " window_start, summary, summary_through, token_scale"
)
# DeepSeek's peak hours (UTC, Monday to Friday); SQLite's %w counts Sunday as 0.
_PEAK_SQL = (
    "(CAST(strftime('%w', m.created_at, 'unixepoch') AS INTEGER) BETWEEN 1 AND 5"
    " AND CAST(strftime('%H', m.created_at, 'unixepoch') AS INTEGER) IN (1, 2, 3, 6, 7, 8, 9))"
)
_MESSAGE_COLUMNS = "id, role, content, created_at, model, reasoning, interrupted, " + ", ".join(USAGE_FIELDS)


def _usage(values: tuple[int | None, ...]) -> dict[str, int]:
    return {name: value for name, value in zip(USAGE_FIELDS, values, strict=True) if value is not None}


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
