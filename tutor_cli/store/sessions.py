"""Sessions, their messages and learned model limits: tables, policies and queries for both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tutor_cli.config import now as clock
from tutor_cli.errors import InvalidIdError, SessionExistsError, SessionNotFoundError
from tutor_cli.pricing import TOKEN_FIELDS, peak_sql
from tutor_cli.store import rls
from tutor_cli.store.base import APPLICATION_ID, Backend
from tutor_cli.store.records import MessageRecord, SessionRecord
from tutor_cli.titles import default_title
from tutor_cli.tokens import message_tokens

MAX_ID_LENGTH = 200  # student and session ids; longer ones are refused in one sentence
# What a withheld reply (the answer guard stopped it: tutor work) stands for in every later request:
# the student never saw it, and sending it back would put the answer before the model as already said.
WITHHELD_STAND_IN = "(I started to state the answer here, so the student did not see this reply. I guide them instead.)"


def check_length(kind: str, value: str | None) -> None:
    """Refuse an id longer than MAX_ID_LENGTH in one sentence, on every path that looks one up
    (a long id would otherwise reach the database: PostgreSQL's index rows hold about 2,700 bytes)."""
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"The {kind} is {len(value):,} characters long; at most {MAX_ID_LENGTH} are allowed.")


def check_id(kind: str, value: object) -> None:
    """Refuse an id that is not non-empty text without NUL characters, or is too long."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise InvalidIdError(f"The {kind} must be non-empty text without NUL characters, not {value!r}.")
    check_length(kind, value)


def check_ids(student_id: str | None, session_id: str | None = None) -> None:
    check_length("student id", student_id)
    check_length("session id", session_id)


SESSION_COLUMNS = (
    "student_id, session_id, system_prompt, created_at, updated_at, message_count, model,"
    " window_start, summary, summary_through, token_scale, profile_snapshot, title"
)
MESSAGE_COLUMNS = "id, role, content, created_at, model, reasoning, interrupted, " + ", ".join(TOKEN_FIELDS)
MESSAGE_COLUMNS += ", withheld"  # added by the problems migration
MESSAGE_COLUMNS += ", usage_estimated"  # added by the estimated-usage migration


# --- SQLite schema ------------------------------------------------------------------------


def sqlite_create(conn: Any) -> None:
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


def sqlite_add_context_window(conn: Any) -> None:
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


def sqlite_messages_name_their_student(conn: Any) -> None:
    """Messages carry their student's id, as in PostgreSQL, so both backends share one INSERT and
    per-student queries need no join."""
    conn.execute("ALTER TABLE messages ADD COLUMN student_id TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE messages SET student_id = (SELECT student_id FROM sessions WHERE sessions.id = session_pk)")


# --- PostgreSQL schema --------------------------------------------------------------------


def postgres_create(conn: Any) -> None:
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


def postgres_isolate(conn: Any) -> None:
    """Schema 2 as it shipped (kept as it was: a migration never changes once released; the
    class-store hardening later narrows it)."""
    for group in ("tutor_student", "tutor_teacher"):
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN "
            f"CREATE ROLE {group} NOLOGIN; END IF; END $$"
        )
    for table in ("sessions", "messages"):
        conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
        conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        conn.execute(
            f"CREATE POLICY own_rows ON {table} TO tutor_student"
            " USING (student_id = current_user) WITH CHECK (student_id = current_user)"
        )
        conn.execute(f"CREATE POLICY teacher_reads ON {table} FOR SELECT TO tutor_teacher USING (true)")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO tutor_student")
        conn.execute(f"GRANT SELECT ON {table} TO tutor_teacher")
        conn.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO tutor_student")
    conn.execute("GRANT SELECT, INSERT, UPDATE ON model_limits TO tutor_student")
    conn.execute("GRANT SELECT ON model_limits, schema_migrations TO tutor_student, tutor_teacher")


def sqlite_learned_limits_per_student(conn: Any) -> None:
    """Learned context limits belong to one student: one student's server (or mistake) never
    shrinks another's window. The limits already learned stay, for every student of the store."""
    conn.execute("ALTER TABLE model_limits RENAME TO model_limits_shared")
    conn.execute(
        """CREATE TABLE model_limits (
            student_id TEXT NOT NULL, model TEXT NOT NULL, context_tokens INTEGER NOT NULL,
            learned_at REAL NOT NULL, PRIMARY KEY (student_id, model))"""
    )
    conn.execute(
        "INSERT INTO model_limits (student_id, model, context_tokens, learned_at)"
        " SELECT s.student_id, l.model, l.context_tokens, l.learned_at"
        " FROM (SELECT DISTINCT student_id FROM sessions) s, model_limits_shared l"
    )
    conn.execute("DROP TABLE model_limits_shared")


# What a student may write, column by column (PostgreSQL): exactly what the queries below write.
SESSION_INSERT = ("student_id", "session_id", "system_prompt", "created_at", "updated_at")
# message_count, updated_at and model are the student's own bookkeeping: a student who forges them
# (with psql) misreports only their own sessions, which they could as well by running a changed
# tutor; nobody else's rows can be touched.
SESSION_UPDATE = ("updated_at", "message_count", "model", "window_start", "summary", "summary_through", "token_scale")
MESSAGE_INSERT = (
    "session_pk",
    "student_id",
    "role",
    "content",
    "created_at",
    "model",
    "reasoning",
    "interrupted",
    "tokens",
    *TOKEN_FIELDS,
)
LIMIT_INSERT = ("student_id", "model", "context_tokens", "learned_at")
LIMIT_UPDATE = ("context_tokens", "learned_at")


def postgres_harden(conn: Any) -> None:
    """The class store hardened (issue 9): this database's own groups, policies on the login,
    messages bound to their session's student, privileges by column (no UPDATE of messages),
    learned limits per student, id lengths checked, CONNECT and CREATE taken from PUBLIC."""
    from psycopg import sql

    student, teacher = rls.groups(conn)
    # Members of the server-wide groups of schemas 2–3 that belong to this class (granted CONNECT
    # here by `add-student`, or owning sessions here) join this database's own groups.
    for old, new in ((rls.STUDENT_GROUP, student), (rls.TEACHER_GROUP, teacher)):
        members = conn.execute(
            """SELECT m.rolname FROM pg_auth_members am
                JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
                WHERE g.rolname = %s AND (
                    EXISTS (SELECT FROM pg_database d, aclexplode(d.datacl) a
                            WHERE d.datname = current_database() AND a.grantee = m.oid
                              AND a.privilege_type = 'CONNECT')
                    OR EXISTS (SELECT FROM sessions s WHERE s.student_id = m.rolname))""",
            (old,),
        ).fetchall()
        for (member,) in members:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(new), sql.Identifier(member)))
    for old in (rls.STUDENT_GROUP, rls.TEACHER_GROUP):
        if conn.execute("SELECT to_regrole(%s) IS NOT NULL", (old,)).fetchone()[0]:
            conn.execute(f"REVOKE ALL ON sessions, messages, model_limits, schema_migrations FROM {old}")
            conn.execute(f"REVOKE ALL ON SEQUENCE sessions_id_seq, messages_id_seq FROM {old}")

    # Messages a student put into another student's session (schema 2 allowed it) are kept aside,
    # for the teacher to read, so that every message belongs to its session's student.
    conn.execute(
        "CREATE TABLE quarantined_messages AS SELECT m.* FROM messages m JOIN sessions s ON s.id = m.session_pk"
        " WHERE m.student_id <> s.student_id"
    )
    conn.execute("DELETE FROM messages m USING sessions s WHERE s.id = m.session_pk AND m.student_id <> s.student_id")
    conn.execute("REVOKE ALL ON quarantined_messages FROM PUBLIC")
    conn.execute("ALTER TABLE quarantined_messages ENABLE ROW LEVEL SECURITY")
    conn.execute(f"CREATE POLICY teacher_reads ON quarantined_messages FOR SELECT TO {teacher} USING (true)")
    conn.execute(f"GRANT SELECT ON quarantined_messages TO {teacher}")

    conn.execute("ALTER TABLE sessions ADD CONSTRAINT sessions_id_student_key UNIQUE (id, student_id)")
    for (name,) in conn.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass AND contype = 'f'"
    ).fetchall():
        conn.execute(sql.SQL("ALTER TABLE messages DROP CONSTRAINT {}").format(sql.Identifier(name)))
    conn.execute(
        "ALTER TABLE messages ADD CONSTRAINT messages_session_student_fkey FOREIGN KEY (session_pk, student_id)"
        " REFERENCES sessions (id, student_id) ON DELETE CASCADE"
    )
    # Rows of older schemas are left as they were (NOT VALID); every new row is checked.
    conn.execute(
        "ALTER TABLE sessions ADD CONSTRAINT ids_not_too_long CHECK"
        f" (char_length(student_id) <= {MAX_ID_LENGTH} AND char_length(session_id) <= {MAX_ID_LENGTH}) NOT VALID"
    )

    # The shared limits could have been set by any student (or their server): they are dropped
    # and learned again, per student, at the next refusal.
    conn.execute("DROP TABLE model_limits")
    conn.execute(
        """CREATE TABLE model_limits (
            student_id text NOT NULL, model text NOT NULL, context_tokens integer NOT NULL,
            learned_at double precision NOT NULL, PRIMARY KEY (student_id, model))"""
    )

    rls.students_own_rows(conn, "sessions", insert=SESSION_INSERT, update=SESSION_UPDATE, delete=True)
    rls.students_own_rows(conn, "messages", insert=MESSAGE_INSERT)
    rls.students_own_rows(conn, "model_limits", insert=LIMIT_INSERT, update=LIMIT_UPDATE, sequence=False)
    conn.execute(f"GRANT SELECT ON schema_migrations TO {student}, {teacher}")

    database = sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0])
    conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(database))
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
            database, sql.Identifier(student), sql.Identifier(teacher)
        )
    )
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


# --- queries ------------------------------------------------------------------------------


class SessionQueries(Backend):
    """Sessions and messages: what the chat, the CLI and the lesson's API ask of the store."""

    def _session_record(self, row: tuple) -> SessionRecord:
        return SessionRecord(*row)

    def _message_record(self, row: tuple) -> MessageRecord:
        return MessageRecord(
            id=row[0],
            role=row[1],
            content=row[2],
            created_at=row[3],
            model=row[4],
            reasoning=row[5],
            interrupted=bool(row[6]),
            usage=_usage(row[7:12]),
            withheld=bool(row[12]),
            usage_estimated=bool(row[13]),
        )

    def _session_pk(self, conn: Any, student_id: str, session_id: str) -> int:
        check_ids(student_id, session_id)
        row = self._run(
            conn, "SELECT id FROM sessions WHERE student_id = ? AND session_id = ?", (student_id, session_id)
        ).fetchone()
        if row is None:
            raise SessionNotFoundError(student_id, session_id)
        return row[0]

    # -- sessions --

    def create_session(self, student_id: str, session_id: str, system_prompt: str) -> None:
        """Create a session; raise SessionExistsError (leaving the old one) if the pair exists."""
        check_ids(student_id, session_id)
        now = clock()
        with self._transaction() as conn:
            try:
                self._run(
                    conn,
                    "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (student_id, session_id, system_prompt, now, now),
                )
            except Exception as error:
                if self._is_unique_violation(error):
                    raise SessionExistsError(student_id, session_id) from None
                raise

    def get_session(self, student_id: str, session_id: str) -> SessionRecord | None:
        """The session's metadata, or None."""
        check_ids(student_id, session_id)
        with self._reading() as conn:
            row = self._run(
                conn,
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE student_id = ? AND session_id = ?",
                (student_id, session_id),
            ).fetchone()
            return self._session_record(row) if row else None

    def list_sessions(self, student_id: str | None) -> list[SessionRecord]:
        """A student's sessions (everyone's when None), most recently used first."""
        check_ids(student_id)
        where, args = ("WHERE student_id = ?", (student_id,)) if student_id is not None else ("", ())
        with self._reading() as conn:
            rows = self._run(
                conn, f"SELECT {SESSION_COLUMNS} FROM sessions {where} ORDER BY updated_at DESC, id DESC", args
            ).fetchall()
            return [self._session_record(row) for row in rows]

    def latest_session(self, student_id: str) -> SessionRecord | None:
        """The student's most recently used session, or None."""
        check_ids(student_id)
        with self._reading() as conn:
            row = self._run(
                conn,
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE student_id = ?"
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
                (clock(), model, pk),
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
        withheld: bool = False,
        usage_estimated: bool = False,
    ) -> int:
        """Append one message in its own durable transaction; return its id. `withheld`: a reply the
        answer guard stopped (kept for the teacher, never sent back to the model). A session without
        a title takes its first question's opening words as its title, in the same transaction."""
        usage = usage or {}
        now = clock()
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            # The session row is updated (and so locked) first: ids then follow commit order.
            self._run(
                conn,
                "UPDATE sessions SET updated_at = ?, message_count = message_count + 1,"
                " model = coalesce(?, model), title = coalesce(title, ?) WHERE id = ?",
                (now, model, default_title(content) if role == "user" and isinstance(content, str) else None, pk),
            )
            columns = ("session_pk", "student_id", "role", "content", "created_at", "model", "reasoning")
            columns += ("interrupted", "tokens", *TOKEN_FIELDS, "usage_estimated")
            values = (pk, student_id, role, content, now, model, reasoning, int(interrupted), message_tokens(content))
            values += (*(usage.get(name) for name in TOKEN_FIELDS), int(bool(usage) and usage_estimated))
            if withheld:
                columns, values = (*columns, "withheld"), (*values, 1)
            return self._insert(
                conn,
                f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                values,
            )

    def iter_messages(self, student_id: str, session_id: str, batch: int = 2000) -> Iterator[MessageRecord]:
        """Every message of the session, oldest first, read in batches as consumed (so a long
        session never sits in memory whole). The session is looked up now, not at the first
        message: a missing one raises SessionNotFoundError before anything is written."""
        with self._reading() as conn:
            pk = self._session_pk(conn, student_id, session_id)
        return self._message_batches(pk, batch)

    def _message_batches(self, pk: int, batch: int) -> Iterator[MessageRecord]:
        after = 0
        while True:
            with self._reading() as conn:
                rows = self._run(
                    conn,
                    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_pk = ? AND id > ? ORDER BY id LIMIT ?",
                    (pk, after, batch),
                ).fetchall()
            for row in rows:
                yield self._message_record(row)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def get_messages(self, student_id: str, session_id: str) -> list[MessageRecord]:
        """Every message of the session, oldest first; SessionNotFoundError if missing."""
        return list(self.iter_messages(student_id, session_id))

    def get_turns(
        self, student_id: str, session_id: str, after_id: int = 0, before_id: int | None = None
    ) -> list[tuple[int, str, str, int]]:
        """(id, role, content, tokens) of the messages after `after_id` (and before `before_id`), oldest
        first: what requests are made of. A withheld reply's content is WITHHELD_STAND_IN."""
        with self._reading() as conn:
            pk = self._session_pk(conn, student_id, session_id)
            return [
                tuple(row)
                for row in self._run(
                    conn,
                    "SELECT id, role, CASE WHEN withheld = 1 THEN ? ELSE content END, tokens FROM messages"
                    " WHERE session_pk = ? AND id > ? AND id < ? ORDER BY id",
                    (WITHHELD_STAND_IN, pk, after_id, before_id if before_id is not None else 2**62),
                ).fetchall()
            ]

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
            yield from (tuple(row) for row in rows)
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

    def learned_limit(self, student_id: str, model: str) -> int | None:
        """The context window a server reported to this student for `model`, if one did."""
        with self._reading() as conn:
            row = self._run(
                conn,
                "SELECT context_tokens FROM model_limits WHERE student_id = ? AND model = ?",
                (student_id, model),
            ).fetchone()
            return row[0] if row else None

    def learn_limit(self, student_id: str, model: str, context_tokens: int) -> None:
        """Record the context window a server reported to this student for `model`."""
        with self._transaction() as conn:
            self._run(
                conn,
                "INSERT INTO model_limits (student_id, model, context_tokens, learned_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (student_id, model) DO UPDATE SET context_tokens = excluded.context_tokens,"
                " learned_at = excluded.learned_at",
                (student_id, model, context_tokens, clock()),
            )

    def usage_rows(self, student_id: str | None, session_id: str | None = None) -> list[tuple]:
        """Token sums per (student, session, model, peak-hours) over answers: what costs are computed from;
        the last column is 1 when any of the sums holds the tutor's estimate."""
        conditions = ["m.role = 'assistant'", "m.prompt_tokens IS NOT NULL"]
        args: list[str] = []
        if student_id is not None:
            conditions.append("s.student_id = ?")
            args.append(student_id)
        if session_id is not None:
            conditions.append("s.session_id = ?")
            args.append(session_id)
        sums = ", ".join(f"sum(m.{name})" for name in TOKEN_FIELDS) + ", max(m.usage_estimated)"
        peak = peak_sql(self.weekday_sql("m.created_at"), self.hour_sql("m.created_at"))
        with self._reading() as conn:
            return self._run(
                conn,
                f"SELECT s.student_id, s.session_id, m.model, {peak} AS peak, {sums}"
                " FROM sessions s JOIN messages m ON m.session_pk = s.id"
                f" WHERE {' AND '.join(conditions)} GROUP BY s.id, s.student_id, s.session_id, m.model, peak",
                args,
            ).fetchall()


def _usage(values: tuple[int | None, ...]) -> dict[str, int]:
    if values.count(None) == len(values):  # a question, or an answer without usage: the common case
        return {}
    return {name: value for name, value in zip(TOKEN_FIELDS, values, strict=True) if value is not None}
