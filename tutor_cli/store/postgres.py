"""PostgreSQL storage for a whole class: the same queries as SQLite, row-level security per student.

Each student connects with their own database role; policies let a student role see and change only
rows whose student_id is that role, and a teacher role read every row and change none. Migrations
are run by the administrator (`tutor db migrate`), never implicitly. psycopg is imported lazily.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tutor_cli.errors import TEACHERS_READ_ONLY, StoreError, TutorError
from tutor_cli.store.base import Identity, Migration
from tutor_cli.store.rls import STUDENT_GROUP, TEACHER_GROUP
from tutor_cli.store.schema import MIGRATIONS, Store

MIGRATION_LOCK = 0x54555452  # advisory lock key: one migrator at a time

# PostgreSQL text cannot hold NUL. Text is stored with NUL and the escape character itself
# written as two-character sequences, so anything round-trips exactly.
_ESCAPE = "\ue000"
_ENCODE = {_ESCAPE: _ESCAPE + "\ue001", "\x00": _ESCAPE + "\ue002"}
_DECODE = {"\ue001": _ESCAPE, "\ue002": "\x00"}
_ENCODED = re.compile(_ESCAPE + "(.)", re.DOTALL)
_RAW = re.compile("[\x00\ue000]")


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


# --- the store ----------------------------------------------------------------------------


class PostgresStore(Store):
    """A tutor store in a PostgreSQL database, shared by a class."""

    dialect = "postgresql"

    def __init__(self, url: str, *, migrate: bool = False) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                _describe(url), "PostgreSQL support is not installed; pip install 'tutor-cli[postgres]'."
            ) from None
        self._psycopg = psycopg
        self.path = _describe(url)
        self._lock = threading.RLock()
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            _register_text_adapters(self._conn)
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

    def _is_unique_violation(self, error: Exception) -> bool:
        return isinstance(error, self._psycopg.errors.UniqueViolation)

    def _insert(self, conn: Any, sql: str, params: tuple | list) -> int:
        return int(conn.execute(self._sql(sql) + " RETURNING id", params).fetchone()[0])

    def weekday_sql(self, column: str) -> str:
        # isodow counts Monday as 1; shifted so that Monday is 0, as Python's tm_wday.
        return f"(extract(isodow from to_timestamp({column}) at time zone 'UTC')::int - 1)"

    def hour_sql(self, column: str) -> str:
        return f"extract(hour from to_timestamp({column}) at time zone 'UTC')::int"

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn PostgreSQL's errors into one sentence."""
        errors = self._psycopg.errors
        try:
            yield
        except errors.InsufficientPrivilege as error:
            who = self.identity
            if who is not None and who.kind == "teacher":
                raise TutorError(TEACHERS_READ_ONLY + ".") from None
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

    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> int:
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
                    if version >= len(migrations):
                        return version
                    step = migrations[version]
                    step.postgres(self._conn)
                    self._conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                        (version + 1, step.name, time.time()),
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


def _register_text_adapters(conn: Any) -> None:
    """Every text parameter and result passes through `encode_text`/`decode_text`, registered
    once on the connection (psycopg's adapters), so no query or future column can forget it."""
    # The pure-Python adapter classes: the C-accelerated ones cannot be subclassed.
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown, TextBinaryLoader, TextLoader

    adapters = conn.adapters

    class Dumper(StrDumperUnknown):
        def dump(self, obj: str) -> Any:
            return super().dump(encode_text(obj))

    class BinaryDumper(StrBinaryDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(encode_text(obj))

    adapters.register_dumper(str, BinaryDumper)
    adapters.register_dumper(str, Dumper)  # registered last: the default for %s

    class Loader(TextLoader):
        def load(self, data: Any) -> str:
            return decode_text(super().load(data))

    class BinaryLoader(TextBinaryLoader):
        def load(self, data: Any) -> str:
            return decode_text(super().load(data))

    for type_name in ("text", "varchar"):
        adapters.register_loader(type_name, Loader)
        adapters.register_loader(type_name, BinaryLoader)


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
