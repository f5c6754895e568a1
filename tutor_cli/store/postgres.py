"""PostgreSQL storage for a whole class: the same queries as SQLite, row-level security per student.

Each student connects with their own database role; policies let a student's login see and change
only rows whose student_id is that login, and a teacher read every row and change none (see rls.py).
Migrations are run by the administrator (`tutor db migrate`), never implicitly. psycopg is imported
lazily. Every connection waits at most LOCK_TIMEOUT for a lock and runs no statement longer than
STATEMENT_TIMEOUT, so no one connection (a student's `LOCK TABLE` in psql included) stalls a class.
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
from tutor_cli.store.rls import STUDENT_GROUP, TEACHER_GROUP, group_names
from tutor_cli.store.schema import MIGRATIONS, Store

MIGRATION_LOCK = 0x54555452  # advisory lock key: one migrator at a time
# Every connection's limits, in milliseconds (the one place they are set). A migration may run
# long on a big class, so it has no statement limit; it still gives up waiting for locks.
LOCK_TIMEOUT_MS = 5_000
STATEMENT_TIMEOUT_MS = 60_000

# Names that can never be a class account: PostgreSQL's reserved roles and keywords a role
# specification treats specially (checked case-insensitively; `pg_…` is reserved too).
RESERVED_NAMES = frozenset(
    {"public", "none", "all", "current_user", "session_user", "current_role", "user", "system_user", "postgres"}
)

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
    has_accounts = True

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
        self._secrets = _secrets_of(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            raise StoreError(self.path, _connection_problem(_scrub(str(error), self._secrets), url)) from None
        except (psycopg.ProgrammingError, ValueError) as error:  # e.g. a malformed URL
            problem = _first_line(_scrub(str(error), self._secrets))
            raise StoreError(self.path, f"the database URL is not usable ({problem}).") from None
        try:
            _register_text_adapters(self._conn)
            self._set_timeouts(statement=not migrate)
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
            if who is not None and who.is_teacher:
                raise TutorError(TEACHERS_READ_ONLY + ".") from None
            raise TutorError(
                f"The class database does not allow this for {who.name if who else 'you'!r} "
                f"({_first_line(str(error))})."
            ) from None
        except errors.UndefinedTable:
            raise StoreError(
                self.path, "the class database is not set up; the administrator must run `tutor db migrate`."
            ) from None
        except errors.LockNotAvailable:
            raise StoreError(
                self.path,
                f"the class database is busy (another connection held a lock for more than "
                f"{LOCK_TIMEOUT_MS / 1000:g} s); try again.",
            ) from None
        except errors.QueryCanceled:
            raise StoreError(
                self.path,
                f"the class database took longer than {STATEMENT_TIMEOUT_MS / 1000:g} s and the request was "
                "stopped; try again.",
            ) from None
        except errors.ProgramLimitExceeded as error:
            raise TutorError(f"A value is too long for the class database ({_first_line(str(error))}).") from None
        except self._psycopg.OperationalError as error:
            problem = _first_line(_scrub(str(error), self._secrets))
            raise StoreError(self.path, f"the connection to the class database failed ({problem}).") from None

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

    def _set_timeouts(self, *, statement: bool = True) -> None:
        """Bound how long this connection waits for a lock and how long one statement may run."""
        with self._lock, self._translated():
            self._conn.execute(
                "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                (f"{LOCK_TIMEOUT_MS}ms", f"{STATEMENT_TIMEOUT_MS if statement else 0}ms"),
            )

    def groups(self) -> tuple[str, str]:
        """This database's (student, teacher) group roles."""
        with self._lock, self._translated():
            return group_names(self._conn.execute("SELECT current_database()").fetchone()[0])

    def add_member(self, name: str, password: str, group: str) -> None:
        """Create a login role in this database's student or teacher group (`group` is STUDENT_GROUP
        or TEACHER_GROUP, or 'student'/'teacher'), or give an existing member of this class a new
        password and group. All of it in one transaction: no half-made account.

        The password travels as a SCRAM verifier computed here (as `createuser` does), so the plain
        password never reaches the server or its log."""
        from psycopg import sql

        kind = {STUDENT_GROUP: "student", TEACHER_GROUP: "teacher"}.get(group, group)
        if kind not in ("student", "teacher"):
            raise ValueError(f"group must be STUDENT_GROUP or TEACHER_GROUP, not {group!r}")
        if not name or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,63}", name):
            raise TutorError(f"{name!r} cannot be a database user name: use letters, digits, '_', '.', '@' or '-'.")
        student, teacher = self.groups()
        target, other = (student, teacher) if kind == "student" else (teacher, student)
        lowered = name.lower()
        if lowered.startswith("pg_") or lowered in RESERVED_NAMES:
            raise TutorError(f"{name!r} is a name PostgreSQL reserves; choose another user name.")
        if (
            lowered.startswith("tutor_")
            and lowered.endswith(("_student", "_teacher"))
            or lowered
            in (
                STUDENT_GROUP,
                TEACHER_GROUP,
            )
        ):
            raise TutorError(f"{name!r} is the name of a class group, not of a person; choose another user name.")
        role = sql.Identifier(name)
        with self._lock, self._translated(), self._conn.transaction():
            row = self._conn.execute(
                """SELECT r.rolname = session_user, r.rolsuper OR r.rolcreaterole OR r.rolcreatedb
                          OR r.rolreplication OR r.rolbypassrls OR NOT r.rolcanlogin,
                          EXISTS (SELECT FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid
                                  WHERE am.member = r.oid AND g.rolname IN (%s, %s))
                     FROM pg_roles r WHERE r.rolname = %s""",
                (student, teacher, name),
            ).fetchone()
            if row is not None:
                is_me, privileged, in_class = row
                if is_me:
                    raise TutorError(f"{name!r} is the administrator's own account; it cannot be a class member.")
                if privileged or not in_class:
                    raise TutorError(
                        f"{name!r} is an existing database role that is not a member of this class; "
                        "choose another user name."
                    )
            verifier = self._conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
            statement = "ALTER ROLE {} WITH LOGIN PASSWORD {}" if row else "CREATE ROLE {} WITH LOGIN PASSWORD {}"
            self._conn.execute(sql.SQL(statement).format(role, sql.Literal(verifier.decode())))
            self._conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), role))
            self._conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(target), role))

    def _identity(self) -> Identity:
        name, superuser, database = self._conn.execute(
            "SELECT session_user, rolsuper, current_database() FROM pg_roles WHERE rolname = session_user"
        ).fetchone()
        if not superuser:
            student, teacher = group_names(database)
            kinds = {
                row[0]
                for row in self._conn.execute(
                    "SELECT rolname FROM pg_roles"
                    " WHERE rolname IN (%s, %s) AND pg_has_role(session_user, oid, 'MEMBER')",
                    (student, teacher),
                )
            }
            if teacher in kinds:
                return Identity("teacher", name)
            if student in kinds:
                return Identity("student", name)
        return Identity("admin", name)


def _register_text_adapters(conn: Any) -> None:
    """Every text parameter and result passes through `encode_text`/`decode_text`, registered
    once on the connection (psycopg's adapters), so no query or future column can forget it."""
    # The pure-Python adapter classes: the C-accelerated ones cannot be subclassed. Every str
    # dumper (by oid: text, varchar, name, unknown; text and binary) and every text loader.
    from psycopg.types import string

    adapters = conn.adapters
    for base in (
        string.StrBinaryDumperName,
        string.StrBinaryDumperVarchar,
        string.StrBinaryDumper,
        string.StrDumperName,
        string.StrDumperVarchar,
        string.StrDumper,
        string.StrDumperUnknown,  # registered last: the default for a str parameter
    ):
        adapters.register_dumper(str, type(base.__name__, (base,), {"dump": _encoding_dump(base)}))
    for base in (string.TextLoader, string.TextBinaryLoader):
        loader = type(base.__name__, (base,), {"load": _decoding_load(base)})
        for type_name in ("text", "varchar", "bpchar", "name"):
            adapters.register_loader(type_name, loader)


def _encoding_dump(base: type) -> Any:
    def dump(self: Any, obj: str) -> Any:
        return base.dump(self, encode_text(obj))

    return dump


def _decoding_load(base: type) -> Any:
    def load(self: Any, data: Any) -> str:
        return decode_text(base.load(self, data))

    return load


def _split_password(url: str) -> tuple[str, str, str] | None:
    """(before, password, after) of a URL whose user part carries a password: the password is
    everything between `user:` and the *last* `@` (a password may hold `/`, `@`, `%` or `[`)."""
    scheme = url.find("://")
    if scheme < 0:
        return None
    start = scheme + 3
    at = url.rfind("@")
    if at < start:
        return None
    colon = url.find(":", start, at)
    if colon < 0:
        return None
    return url[: colon + 1], url[colon + 1 : at], url[at:]


def _describe(url: str) -> str:
    """The URL without its password (in the user part or as a `password=` parameter), for messages."""
    parts = _split_password(url)
    if parts is not None:
        url = parts[0] + "***" + parts[2]
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", url)


def _secrets_of(url: str) -> list[str]:
    """Every spelling of the URL's password that a message could echo: as written, and decoded."""
    from urllib.parse import unquote

    found = []
    parts = _split_password(url)
    if parts is not None and parts[1]:
        found.append(parts[1])
    found += re.findall(r"(?i)password=([^&]*)", url)
    found += [unquote(secret) for secret in found]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def _scrub(message: str, secrets: list[str]) -> str:
    """A libpq or psycopg message with every spelling of the password replaced by ***."""
    for secret in secrets:
        message = message.replace(secret, "***")
    return message


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no details"


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no details"


def _connection_problem(message: str, url: str) -> str:
    lowered = message.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        user = re.search(r'user "([^"]+)"', message)
        who = f" for {user.group(1)!r}" if user else ""
        return f"the class database refused the login{who}: wrong user name or password."
    if "permission denied for database" in lowered:
        user = re.search(r'user "([^"]+)"', message)
        who = f"{user.group(1)!r} is" if user else "you are"
        return f"the class database refused the connection: {who} not a member of this class."
    if "does not exist" in lowered:
        return f"cannot connect: {_last_line(message)}; check TUTOR_DATABASE_URL."
    if "timeout" in lowered or "timed out" in lowered:
        return "the class database did not answer in time; check TUTOR_DATABASE_URL and the network."
    return "cannot reach the class database; check TUTOR_DATABASE_URL and that the server is running."
