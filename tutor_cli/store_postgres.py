"""PostgreSQL storage for a whole class: the same queries as SQLite, row-level security per student.

Each student connects with their own database role; policies let a student role see and change only
rows whose student_id is that role, and a teacher role read every row and change none. Migrations
are run by the administrator (`tutor db migrate`), never implicitly. psycopg is imported lazily.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tutor_cli.errors import StoreError, TutorError
from tutor_cli.store import Store

STUDENT_GROUP = "tutor_student"
TEACHER_GROUP = "tutor_teacher"
MIGRATION_LOCK = 0x54555452  # advisory lock key: one migrator at a time

# PostgreSQL text cannot hold NUL. Text is stored with NUL and the escape character itself
# written as two-character sequences, so anything round-trips exactly.
_ESCAPE = "\ue000"
_ENCODE = {_ESCAPE: _ESCAPE + "\ue001", "\x00": _ESCAPE + "\ue002"}
_DECODE = {"\ue001": _ESCAPE, "\ue002": "\x00"}
_ENCODED = re.compile(_ESCAPE + "(.)", re.DOTALL)
_RAW = re.compile("[\x00\ue000]")

# DeepSeek's peak hours (UTC, Monday to Friday); PostgreSQL's dow counts Sunday as 0.
_PEAK_SQL = (
    "(extract(dow from to_timestamp(m.created_at) at time zone 'UTC') BETWEEN 1 AND 5"
    " AND extract(hour from to_timestamp(m.created_at) at time zone 'UTC') IN (1, 2, 3, 6, 7, 8, 9))"
)


def encode_text(text: str | None) -> str | None:
    """Text as stored in PostgreSQL (NUL escaped)."""
    if text is None or not _RAW.search(text):
        return text
    return _RAW.sub(lambda match: _ENCODE[match.group()], text)


def decode_text(text: str | None) -> str | None:
    """Text as it was given, from what PostgreSQL stored."""
    if text is None or _ESCAPE not in text:
        return text
    return _ENCODED.sub(lambda match: _DECODE.get(match.group(1), match.group()), text)


# --- migrations --------------------------------------------------------------------------


def _create_tables(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE sessions (
            id bigserial PRIMARY KEY,
            student_id text NOT NULL,
            session_id text NOT NULL,
            system_prompt text NOT NULL,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL,
            message_count integer NOT NULL DEFAULT 0,
            model text,
            window_start bigint NOT NULL DEFAULT 0,
            summary text,
            summary_through bigint NOT NULL DEFAULT 0,
            token_scale double precision,
            UNIQUE (student_id, session_id)
        )"""
    )
    conn.execute("CREATE INDEX sessions_by_recent_use ON sessions (student_id, updated_at DESC, id DESC)")
    conn.execute(
        """CREATE TABLE messages (
            id bigserial PRIMARY KEY,
            session_pk bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            student_id text NOT NULL,
            role text NOT NULL CHECK (role IN ('user', 'assistant')),
            content text NOT NULL,
            created_at double precision NOT NULL,
            model text,
            reasoning text,
            interrupted integer NOT NULL DEFAULT 0,
            tokens integer NOT NULL DEFAULT 0,
            prompt_tokens integer,
            completion_tokens integer,
            reasoning_tokens integer,
            cache_hit_tokens integer,
            cache_miss_tokens integer
        )"""
    )
    conn.execute("CREATE INDEX messages_window ON messages (session_pk, id) INCLUDE (role, tokens)")
    conn.execute(
        """CREATE TABLE model_limits (
            model text PRIMARY KEY, context_tokens integer NOT NULL, learned_at double precision NOT NULL)"""
    )


def _isolate_students(conn: Any) -> None:
    for group in (STUDENT_GROUP, TEACHER_GROUP):
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN "
            f"CREATE ROLE {group} NOLOGIN; END IF; END $$"
        )
    for table in ("sessions", "messages"):
        conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
        conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        conn.execute(
            f"CREATE POLICY own_rows ON {table} TO {STUDENT_GROUP}"
            " USING (student_id = current_user) WITH CHECK (student_id = current_user)"
        )
        conn.execute(f"CREATE POLICY teacher_reads ON {table} FOR SELECT TO {TEACHER_GROUP} USING (true)")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {STUDENT_GROUP}")
        conn.execute(f"GRANT SELECT ON {table} TO {TEACHER_GROUP}")
        conn.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {STUDENT_GROUP}")
    conn.execute(f"GRANT SELECT, INSERT, UPDATE ON model_limits TO {STUDENT_GROUP}")
    conn.execute(f"GRANT SELECT ON model_limits, schema_migrations TO {STUDENT_GROUP}, {TEACHER_GROUP}")


MIGRATIONS: list[tuple[str, Callable[[Any], None]]] = [
    ("create_tables", _create_tables),
    ("isolate_students", _isolate_students),
]


# --- the store ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who the connection is: 'student', 'teacher' or 'admin', and the role's name."""

    kind: str
    name: str


class PostgresStore(Store):
    """A tutor store in a PostgreSQL database, shared by a class."""

    def __init__(self, url: str, *, migrate: bool = False) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                _describe(url), "PostgreSQL support is not installed; pip install 'tutor-cli[postgres]'."
            ) from None
        self._psycopg = psycopg
        self.path = _describe(url)
        self.peak_sql = _PEAK_SQL
        self._lock = threading.RLock()
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            raise StoreError(self.path, _connection_problem(str(error), url)) from None
        except psycopg.ProgrammingError as error:  # e.g. a malformed URL
            raise StoreError(self.path, f"the database URL is not usable ({error}).") from None
        try:
            if migrate:
                self.migrate()
            version = self.schema_version()
            if version < len(MIGRATIONS):
                raise StoreError(
                    self.path,
                    "the class database is not set up for this tutor "
                    f"(schema {version} of {len(MIGRATIONS)}); the administrator must run "
                    "`tutor db migrate`.",
                )
            if version > len(MIGRATIONS):
                raise StoreError(
                    self.path,
                    f"the class database has schema version {version}, newer than this "
                    "tutor understands; upgrade tutor.",
                )
            self.identity = self._identity()
        except BaseException:
            self._conn.close()
            raise

    # -- dialect --

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _in(self, text: str | None) -> str | None:
        return encode_text(text)

    def _out(self, text: str | None) -> str | None:
        return decode_text(text)

    def _is_unique_violation(self, error: Exception) -> bool:
        return isinstance(error, self._psycopg.errors.UniqueViolation)

    def _insert_message(self, conn: Any, session_pk: int, student_id: str, values: tuple) -> int:
        row = conn.execute(
            "INSERT INTO messages (session_pk, student_id, role, content, created_at, model, reasoning, interrupted,"
            " tokens, prompt_tokens, completion_tokens, reasoning_tokens, cache_hit_tokens, cache_miss_tokens)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (session_pk, student_id, *values),
        ).fetchone()
        return int(row[0])

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn PostgreSQL's errors into one sentence."""
        errors = self._psycopg.errors
        try:
            yield
        except errors.InsufficientPrivilege as error:
            who = getattr(self, "identity", None)
            if who is not None and who.kind == "teacher":
                raise TutorError("Teachers can read every student's sessions but not change them.") from None
            raise TutorError(
                f"The class database does not allow this for {who.name if who else 'you'!r} "
                f"({str(error).splitlines()[0]})."
            ) from None
        except errors.UndefinedTable:
            raise StoreError(
                self.path, "the class database is not set up; the administrator must run `tutor db migrate`."
            ) from None
        except self._psycopg.OperationalError as error:
            raise StoreError(
                self.path, f"the connection to the class database failed ({str(error).strip()})."
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock, self._translated(), self._conn.transaction():
            yield self._conn

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self._lock, self._translated():
            yield self._conn

    # -- schema and roles (the administrator's side) --

    def schema_version(self) -> int:
        with self._lock, self._translated():
            exists = self._conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
            if not exists:
                return 0
            return int(self._conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])

    def migrate(self) -> int:
        """Apply the migrations not yet applied, each in one transaction with its version row."""
        with self._lock, self._translated():
            while True:
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    self._conn.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)"
                    )
                    version = int(
                        self._conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
                    )
                    if version >= len(MIGRATIONS):
                        return version
                    name, apply = MIGRATIONS[version]
                    apply(self._conn)
                    self._conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                        (version + 1, name, time.time()),
                    )

    def add_member(self, name: str, password: str, group: str) -> None:
        """Create (or update) a login role in the student or teacher group."""
        from psycopg import sql

        if not name or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,63}", name):
            raise TutorError(f"{name!r} cannot be a database user name: use letters, digits, '_', '.', '@' or '-'.")
        role = sql.Identifier(name)
        with self._lock, self._translated():
            exists = self._conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            statement = "ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
            self._conn.execute(sql.SQL(statement).format(role, sql.Literal(password)))
            other = TEACHER_GROUP if group == STUDENT_GROUP else STUDENT_GROUP
            self._conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), role))
            self._conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))
            database = self._conn.execute("SELECT current_database()").fetchone()[0]
            self._conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role))

    def _identity(self) -> Identity:
        name, superuser = self._conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not superuser:
            row = self._conn.execute(
                "SELECT pg_has_role(current_user, %s, 'MEMBER'), pg_has_role(current_user, %s, 'MEMBER')",
                (TEACHER_GROUP, STUDENT_GROUP),
            ).fetchone()
            if row[0]:
                return Identity("teacher", name)
            if row[1]:
                return Identity("student", name)
        return Identity("admin", name)


def _describe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _connection_problem(message: str, url: str) -> str:
    lowered = message.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        user = re.search(r'user "([^"]+)"', message)
        who = f" for {user.group(1)!r}" if user else ""
        return f"the class database refused the login{who}: wrong user name or password."
    if "does not exist" in lowered:
        return f"cannot connect: {message.strip().splitlines()[-1]}; check TUTOR_DATABASE_URL."
    if "timeout" in lowered or "timed out" in lowered:
        return "the class database did not answer in time; check TUTOR_DATABASE_URL and the network."
    return "cannot reach the class database; check TUTOR_DATABASE_URL and that the server is running."
