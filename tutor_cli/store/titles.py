"""Session titles (a column of `sessions`) and finding a session by part of its id, for both backends."""

from __future__ import annotations

from typing import Any

from tutor_cli.store import rls
from tutor_cli.store.base import Backend
from tutor_cli.titles import default_title

BACKFILL_CHARS = 200  # of each session's first question: enough for its default title


def _backfill(conn: Any, placeholder: str) -> None:
    """Give the sessions that exist their default title: their first question's opening words."""
    rows = conn.execute(
        f"SELECT s.id, (SELECT substr(m.content, 1, {BACKFILL_CHARS}) FROM messages m WHERE m.session_pk = s.id"
        " AND m.role = 'user' ORDER BY m.id LIMIT 1) FROM sessions s"
    ).fetchall()
    titles = [(title, pk) for pk, first in rows if first and (title := default_title(first))]
    if titles:
        cursor = conn.cursor()
        cursor.executemany(f"UPDATE sessions SET title = {placeholder} WHERE id = {placeholder}", titles)


def sqlite_create(conn: Any) -> None:
    conn.execute("ALTER TABLE sessions ADD COLUMN title TEXT")
    _backfill(conn, "?")


def postgres_create(conn: Any) -> None:
    """As in SQLite. A student writes the title of their own sessions only: the sessions policy
    holds them to their rows, and the privilege is by column, as for the rest of the table."""
    student, _ = rls.groups(conn)
    conn.execute("ALTER TABLE sessions ADD COLUMN title text")
    conn.execute(f"GRANT INSERT (title), UPDATE (title) ON sessions TO {student}")
    _backfill(conn, "%s")


class TitleQueries(Backend):
    """Titles, and the ids a part of an id may name."""

    def set_title(self, student_id: str, session_id: str, title: str | None) -> None:
        """Set (None: clear) the session's title; SessionNotFoundError if it does not exist."""
        with self._transaction() as conn:
            pk = self._session_pk(conn, student_id, session_id)  # type: ignore[attr-defined]
            self._run(conn, "UPDATE sessions SET title = ? WHERE id = ?", (title, pk))

    def session_ids_like(self, student_id: str, reference: str) -> list[tuple[str, str | None]]:
        """(id, title) of the student's sessions whose id contains `reference` at its start or end,
        most recently used first: a superset (SQLite's LIKE ignores ASCII case) for the caller to
        match exactly. Only ids and titles are read, never prompts or summaries."""
        escaped = reference.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT session_id, title FROM sessions WHERE student_id = ?"
                " AND (session_id LIKE ? ESCAPE '\\' OR session_id LIKE ? ESCAPE '\\')"
                " ORDER BY updated_at DESC, id DESC",
                (student_id, escaped + "%", "%" + escaped),
            ).fetchall()
        return [(row[0], row[1]) for row in rows]
