"""Data rights and limits: daily limits and the usage ledger (tables, policies, queries), and the
generic queries behind export, delete-student and purge, which find every student table from the
database's own catalogue, so a table added later cannot be forgotten.

The usage ledger (`usage_days`) is kept by a trigger on `messages`, in the same transaction as each
answer is stored; in PostgreSQL the trigger function runs as its owner (the administrator), so a
student can read their own ledger rows but never write them, and deleting their sessions does not
give today's use back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from tutor_cli.config import now as clock
from tutor_cli.store import rls
from tutor_cli.store.base import Backend

CLASS_ROW = ""  # the `limits` row that holds the class-wide default (no student id is empty)
UNCHANGED: Any = object()  # set_limits: leave this limit as it is


class Limits(NamedTuple):  # NamedTuple, not a dataclass: this module is imported by `tutor --help`
    """Daily limits (None: no limit)."""

    daily_tokens: int | None = None
    daily_questions: int | None = None


class ForeignKey(NamedTuple):
    table: str
    column: str
    parent: str
    parent_column: str


# --- SQLite schema ------------------------------------------------------------------------


def sqlite_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE limits (
            student_id TEXT PRIMARY KEY,
            daily_tokens INTEGER CHECK (daily_tokens >= 0),
            daily_questions INTEGER CHECK (daily_questions >= 0),
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE usage_days (
            student_id TEXT NOT NULL,
            day TEXT NOT NULL,
            questions INTEGER NOT NULL DEFAULT 0,
            tokens INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (student_id, day)
        )"""
    )
    conn.execute(
        f"""CREATE TRIGGER messages_count_usage AFTER INSERT ON messages WHEN NEW.role = 'assistant'
        BEGIN
            INSERT INTO usage_days (student_id, day, questions, tokens)
            VALUES (NEW.student_id, strftime('%Y-%m-%d', NEW.created_at, 'unixepoch'), 1, {_tokens_sql("max")})
            ON CONFLICT (student_id, day) DO UPDATE
            SET questions = questions + 1, tokens = tokens + excluded.tokens;
        END"""
    )
    conn.execute(
        f"""INSERT INTO usage_days (student_id, day, questions, tokens)
        SELECT student_id, strftime('%Y-%m-%d', created_at, 'unixepoch'), count(*), sum({_tokens_sql("max", "")})
        FROM messages WHERE role = 'assistant' GROUP BY 1, 2"""
    )


# --- PostgreSQL schema --------------------------------------------------------------------


def postgres_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE limits (
            student_id text PRIMARY KEY,
            daily_tokens bigint CHECK (daily_tokens >= 0),
            daily_questions bigint CHECK (daily_questions >= 0),
            updated_at double precision NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE usage_days (
            student_id text NOT NULL,
            day text NOT NULL,
            questions bigint NOT NULL DEFAULT 0,
            tokens bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (student_id, day)
        )"""
    )
    day = "to_char(to_timestamp({0}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    # SECURITY DEFINER: runs as the administrator who migrates, so students need (and get) no
    # write privilege on the ledger. It trusts NEW.student_id because the messages policy already
    # holds it to the student's own login; negative token counts are ignored, so nobody can lower it.
    conn.execute(
        f"""CREATE FUNCTION tutor_count_usage() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path FROM CURRENT AS $$
        BEGIN
            INSERT INTO usage_days (student_id, day, questions, tokens)
            VALUES (NEW.student_id, {day.format("NEW.created_at")}, 1, {_tokens_sql("greatest")})
            ON CONFLICT (student_id, day) DO UPDATE
            SET questions = usage_days.questions + 1, tokens = usage_days.tokens + excluded.tokens;
            RETURN NULL;
        END $$"""
    )
    conn.execute("REVOKE ALL ON FUNCTION tutor_count_usage() FROM PUBLIC")
    conn.execute(
        "CREATE TRIGGER messages_count_usage AFTER INSERT ON messages FOR EACH ROW"
        " WHEN (NEW.role = 'assistant') EXECUTE FUNCTION tutor_count_usage()"
    )
    conn.execute(
        f"""INSERT INTO usage_days (student_id, day, questions, tokens)
        SELECT student_id, {day.format("created_at")}, count(*), sum({_tokens_sql("greatest", "")})
        FROM messages WHERE role = 'assistant' GROUP BY 1, 2"""
    )
    rls.students_own_rows(conn, "usage_days", sequence=False)  # read only: no write grant at all
    rls.students_read_own_and_shared_rows(conn, "limits", shared=CLASS_ROW)


def sqlite_usage_estimated(conn: Any) -> None:
    """Answers from servers that send no usage carry the tutor's estimate, marked so."""
    conn.execute("ALTER TABLE messages ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0")


def postgres_usage_estimated(conn: Any) -> None:
    """As in SQLite; a student writes the mark with the answer (INSERT by column, as every other
    column of theirs). The ledger's trigger counts the estimated tokens like reported ones."""
    student, _ = rls.groups(conn)
    conn.execute(
        "ALTER TABLE messages ADD COLUMN usage_estimated integer NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1))"
    )
    conn.execute(f"GRANT INSERT (usage_estimated) ON messages TO {student}")


def _tokens_sql(largest: str, prefix: str = "NEW.") -> str:
    """An answer's tokens for the ledger: prompt plus completion, a negative count read as 0."""
    return f"{largest}(coalesce({prefix}prompt_tokens, 0), 0) + {largest}(coalesce({prefix}completion_tokens, 0), 0)"


def quote(name: str) -> str:
    """An SQL identifier, quoted (table names come from the catalogue)."""
    return '"' + name.replace('"', '""') + '"'


# --- queries ------------------------------------------------------------------------------


class RightsQueries(Backend):
    """Export, erasure, retention and daily limits."""

    # -- the catalogue --

    def _tables(self, conn: Any) -> dict[str, list[str]]:
        """Every ordinary table of the store (no views, virtual tables or their shadow tables) with
        its columns, in the current schema."""
        if self.dialect == "sqlite":
            names = [
                row[1]
                for row in conn.execute("PRAGMA table_list")
                if row[0] == "main" and row[2] == "table" and not row[1].startswith("sqlite_")
            ]
            return {name: [col[1] for col in conn.execute(f"PRAGMA table_info({quote(name)})")] for name in names}
        tables: dict[str, list[str]] = {}
        rows = conn.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " ORDER BY c.table_name, c.ordinal_position"
        ).fetchall()
        for table, column in rows:
            tables.setdefault(table, []).append(column)
        return tables

    def _foreign_keys(self, conn: Any, tables: dict[str, list[str]]) -> list[ForeignKey]:
        """Foreign keys between the store's tables, one (column, parent column) pair each. A
        composite key that also names `student_id` on both sides (a row must belong to its
        parent's student) is followed through its other column: following `student_id` itself
        would reach every row of that student, not the rows hanging off the parent."""
        if self.dialect == "sqlite":
            keys = []
            for table in tables:
                for row in conn.execute(f"PRAGMA foreign_key_list({quote(table)})"):
                    if row[3] == "student_id" and (row[4] or "id") == "student_id":
                        continue
                    keys.append(ForeignKey(table, row[3], row[2], row[4] or "id"))
            return [key for key in keys if key.parent in tables]
        rows = conn.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, p.attname"
            " FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k (col, parent_col)"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col"
            " JOIN pg_attribute p ON p.attrelid = c.confrelid AND p.attnum = k.parent_col"
            " WHERE c.contype = 'f' AND NOT (a.attname = 'student_id' AND p.attname = 'student_id')"
            " AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        ).fetchall()
        return [ForeignKey(*(name.strip('"') for name in row)) for row in rows if row[0].strip('"') in tables]

    def student_tables(self, conn: Any | None = None) -> list[str]:
        """The tables that hold students' data (every one with a `student_id` column), each after
        the tables it references: parents first (reverse it to delete)."""
        if conn is None:
            with self._reading() as conn:
                return self.student_tables(conn)
        tables = self._tables(conn)
        if self.dialect == "postgresql":  # only what this login may read (a student's own export)
            readable = {
                row[0]
                for row in conn.execute(
                    "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
                    " AND relkind IN ('r', 'p') AND has_table_privilege(oid, 'SELECT')"
                )
            }
            tables = {name: columns for name, columns in tables.items() if name in readable}
        holding = sorted(name for name, columns in tables.items() if "student_id" in columns)
        parents: dict[str, set[str]] = {name: set() for name in holding}
        for key in self._foreign_keys(conn, tables):
            if key.table in parents and key.parent in parents and key.parent != key.table:
                parents[key.table].add(key.parent)
        ordered: list[str] = []

        def visit(name: str, seen: tuple[str, ...] = ()) -> None:
            if name in ordered or name in seen:
                return
            for parent in sorted(parents[name]):
                visit(parent, (*seen, name))
            ordered.append(name)

        for name in holding:
            visit(name)
        return ordered

    # -- export --

    @contextmanager
    def _snapshot(self) -> Iterator[Any]:
        """One consistent, read-only view of the store for as long as the block runs."""
        with self._reading() as conn:
            if self.dialect == "sqlite":
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    conn.execute("COMMIT")
            else:
                with conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield conn

    def iter_student_rows(self, student_id: str, batch: int = 2000) -> Iterator[tuple[str, list[str], tuple | None]]:
        """Every row of the student in every table, from one snapshot, streamed: for each table
        `(table, columns, None)` first, then `(table, columns, row)` per row (by id where there is one)."""
        with self._snapshot() as conn:
            for table in self.student_tables(conn):
                columns = self._tables(conn)[table]
                yield table, columns, None
                order = " ORDER BY id" if "id" in columns else ""
                sql = f"SELECT * FROM {quote(table)} WHERE student_id = ?{order}"
                if self.dialect == "sqlite":
                    cursor = conn.execute(sql, (student_id,))
                else:
                    cursor = conn.cursor(name=f"export_{table}")
                    cursor.itersize = batch
                    cursor.execute(self._sql(sql), (student_id,))
                try:
                    for row in cursor:
                        yield table, columns, tuple(row)
                finally:
                    cursor.close()

    # -- delete a student --

    def student_role(self, name: str) -> str | None:
        """What the login `name` is in the class database: 'student', 'teacher', 'group',
        'administrator', 'other', or None when there is no such role (PostgreSQL only)."""
        student, teacher = self.groups()  # type: ignore[attr-defined]  (PostgresStore)
        if name in (student, teacher):
            return "group"
        with self._reading() as conn:
            row = conn.execute(
                "SELECT rolsuper OR rolcreaterole OR rolname = current_user,"
                " pg_has_role(rolname, %s, 'MEMBER'), pg_has_role(rolname, %s, 'MEMBER')"
                " FROM pg_roles WHERE rolname = %s",
                (student, teacher, name),
            ).fetchone()
        if row is None:
            return None
        if row[0]:
            return "administrator"
        return "student" if row[1] else "teacher" if row[2] else "other"

    def delete_student(self, student_id: str, *, drop_role: bool) -> dict[str, int]:
        """Remove every row of the student in every table in one transaction (children before the
        rows they reference) and, in PostgreSQL when `drop_role`, their login role in the same
        transaction. Return the rows removed by table."""
        if self.dialect == "sqlite":
            with self._transaction() as conn:
                return self._delete_rows(conn, self.student_tables(conn), student_id)
        from psycopg import sql

        student_group, _ = self.groups()  # type: ignore[attr-defined]  (PostgresStore)
        role = sql.Identifier(student_id)
        if drop_role:
            # First, on its own: the student's next statement is refused, so nothing of theirs
            # can be written after the rows are gone.
            with self._transaction() as conn:
                conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(student_group), role))
        try:
            with self._transaction() as conn:
                tables = self.student_tables(conn)
                # SHARE waits for every write already under way (the student's included) and holds
                # new ones back until the commit; taken in the order the tutor writes, parents first,
                # except `profiles`, which a profile update writes before `sessions` (the other way
                # round, the two deadlock).
                if tables:
                    order = sorted(tables, key=lambda table: table != "profiles")
                    conn.execute(f"LOCK TABLE {', '.join(quote(t) for t in order)} IN SHARE MODE")
                counts = self._delete_rows(conn, tables, student_id)
                if drop_role:
                    database = conn.execute("SELECT current_database()").fetchone()[0]
                    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(sql.Identifier(database), role))
                    conn.execute(sql.SQL("DROP ROLE {}").format(role))
                return counts
        except BaseException:
            if drop_role:  # nothing was removed: give the student their access back
                with self._transaction() as conn:
                    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(student_group), role))
            raise

    def _delete_rows(self, conn: Any, tables: list[str], student_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in reversed(tables):
            counts[table] = self._run(conn, f"DELETE FROM {quote(table)} WHERE student_id = ?", (student_id,)).rowcount
        return {table: counts[table] for table in tables}

    def rows_of_student(self, student_id: str) -> dict[str, int]:
        """How many rows each student table holds for the student."""
        with self._reading() as conn:
            return {
                table: self._run(
                    conn, f"SELECT count(*) FROM {quote(table)} WHERE student_id = ?", (student_id,)
                ).fetchone()[0]
                for table in self.student_tables(conn)
            }

    # -- purge --

    def _hanging_off(self, conn: Any, root: str) -> list[tuple[str, str]]:
        """Every table whose rows hang off `root` rows through foreign keys (transitively), deepest
        first, each with the condition that selects them given the root's condition `{root}`."""
        tables = self._tables(conn)
        keys = self._foreign_keys(conn, tables)
        found: list[tuple[str, str]] = []

        def walk(parent: str, condition: str, seen: tuple[str, ...]) -> None:
            for key in keys:
                if key.parent == parent and key.table not in seen:
                    child = (
                        f"{quote(key.column)} IN (SELECT {quote(key.parent_column)} FROM {quote(parent)}"
                        f" WHERE {condition})"
                    )
                    walk(key.table, child, (*seen, key.table))
                    found.append((key.table, child))

        walk(root, "{root}", (root,))
        found.append((root, "{root}"))
        return found

    def count_old_sessions(self, cutoff: float) -> dict[str, int]:
        """What a purge of the sessions last used before `cutoff` would remove, by table."""
        with self._reading() as conn:
            counts: dict[str, int] = {}
            if self.dialect == "postgresql":  # kept apart by the hardening, with no key to follow
                held = conn.execute(
                    "SELECT count(*) FROM quarantined_messages"
                    " WHERE session_pk IN (SELECT id FROM sessions WHERE updated_at < %s)",
                    (cutoff,),
                ).fetchone()[0]
                if held:
                    counts["quarantined_messages"] = held
            for table, condition in self._hanging_off(conn, "sessions"):
                where = condition.replace("{root}", "updated_at < ?")
                counts[table] = (
                    counts.get(table, 0)
                    + self._run(
                        conn, f"SELECT count(*) FROM {quote(table)} WHERE {where}", (cutoff,) * where.count("?")
                    ).fetchone()[0]
                )
            return counts

    def purge_sessions(self, cutoff: float, limit: int) -> dict[str, int]:
        """Remove up to `limit` sessions last used before `cutoff`, with everything hanging off
        them, in one short transaction. Sessions being written at this moment are skipped (they
        are in use, so not old). Return the rows removed by table ({} when none were left)."""
        with self._transaction() as conn:
            skip = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
            ids = [
                row[0]
                for row in self._run(
                    conn, f"SELECT id FROM sessions WHERE updated_at < ? ORDER BY id LIMIT ?{skip}", (cutoff, limit)
                ).fetchall()
            ]
            if not ids:
                return {}
            if self.dialect == "postgresql":
                root, value = "id = ANY(?)", ids
            else:
                root, value = "id IN (SELECT value FROM json_each(?))", json.dumps(ids)
            counts: dict[str, int] = {}
            if self.dialect == "postgresql":  # kept apart by the hardening, with no key to follow
                removed = conn.execute("DELETE FROM quarantined_messages WHERE session_pk = ANY(%s)", (ids,)).rowcount
                if removed:
                    counts["quarantined_messages"] = removed
            for table, condition in self._hanging_off(conn, "sessions"):
                where = condition.replace("{root}", root)
                removed = self._run(conn, f"DELETE FROM {quote(table)} WHERE {where}", (value,)).rowcount
                counts[table] = counts.get(table, 0) + removed
            return counts

    # -- limits and the usage ledger --

    def get_limits(self, student_id: str) -> tuple[Limits | None, Limits | None]:
        """(the student's own limits, the class default), each None when not set."""
        with self._reading() as conn:
            rows = {
                row[0]: Limits(row[1], row[2])
                for row in self._run(
                    conn,
                    "SELECT student_id, daily_tokens, daily_questions FROM limits WHERE student_id IN (?, ?)",
                    (student_id, CLASS_ROW),
                ).fetchall()
            }
        return rows.get(student_id), rows.get(CLASS_ROW)

    def set_limits(self, student_id: str, daily_tokens: Any = UNCHANGED, daily_questions: Any = UNCHANGED) -> None:
        """Set (None lifts) the daily limits of a student, or of the class with CLASS_ROW."""
        with self._transaction() as conn:
            row = self._run(
                conn, "SELECT daily_tokens, daily_questions FROM limits WHERE student_id = ?", (student_id,)
            ).fetchone()
            tokens = row[0] if row and daily_tokens is UNCHANGED else daily_tokens
            questions = row[1] if row and daily_questions is UNCHANGED else daily_questions
            tokens = None if tokens is UNCHANGED else tokens
            questions = None if questions is UNCHANGED else questions
            if tokens is None and questions is None:
                self._run(conn, "DELETE FROM limits WHERE student_id = ?", (student_id,))
                return
            self._run(
                conn,
                "INSERT INTO limits (student_id, daily_tokens, daily_questions, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (student_id) DO UPDATE SET daily_tokens = excluded.daily_tokens,"
                " daily_questions = excluded.daily_questions, updated_at = excluded.updated_at",
                (student_id, tokens, questions, clock()),
            )

    def usage_on(self, student_id: str, day: str) -> tuple[int, int]:
        """(questions answered, tokens) of the student on `day` (YYYY-MM-DD, UTC), from the ledger."""
        with self._reading() as conn:
            row = self._run(
                conn, "SELECT questions, tokens FROM usage_days WHERE student_id = ? AND day = ?", (student_id, day)
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)
