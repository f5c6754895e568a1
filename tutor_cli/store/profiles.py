"""Student profiles: the tutor's short notes about each student, kept across sessions.

One row per student in `profiles` (the notes, when they last changed, and a revision that every
write bumps, so a background update that read an older revision cannot overwrite a newer text).
Two columns on `sessions` belong to this domain: `profile_snapshot`, the notes as they stood when
the session was created (what its requests carry), and `profile_through`, the id of the last of the
session's messages the notes have seen. The mark is per session, not per student: SQLite may give a
new message the id of a deleted one, and in PostgreSQL ids of two sessions need not commit in order;
within one session both backends keep ids in commit order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tutor_cli.config import now as clock
from tutor_cli.store import rls
from tutor_cli.store.base import Backend
from tutor_cli.store.records import ProfileRecord
from tutor_cli.store.sessions import WITHHELD_STAND_IN


@dataclass(frozen=True)
class UnseenTurn:
    """A message the profile has not seen yet."""

    id: int
    session_pk: int
    session_id: str
    role: str
    content: str
    tokens: int


# --- schema -------------------------------------------------------------------------------


def sqlite_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE profiles (
            id INTEGER PRIMARY KEY,
            student_id TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL DEFAULT '',
            updated_at REAL,
            revision INTEGER NOT NULL DEFAULT 0
        )"""
    )
    conn.execute("ALTER TABLE sessions ADD COLUMN profile_snapshot TEXT")
    conn.execute("ALTER TABLE sessions ADD COLUMN profile_through INTEGER NOT NULL DEFAULT 0")


def postgres_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE profiles (
            id bigserial PRIMARY KEY,
            student_id text NOT NULL UNIQUE,
            text text NOT NULL DEFAULT '',
            updated_at double precision,
            revision integer NOT NULL DEFAULT 0
        )"""
    )
    conn.execute("ALTER TABLE sessions ADD COLUMN profile_snapshot text")
    conn.execute("ALTER TABLE sessions ADD COLUMN profile_through bigint NOT NULL DEFAULT 0")
    # A student reads and writes only their own notes (erasing is writing them empty, so that an
    # update racing with it is refused by the revision); a teacher reads every student's.
    rls.students_own_rows(
        conn,
        "profiles",
        insert=("student_id", "text", "updated_at", "revision"),
        update=("text", "updated_at", "revision"),
    )
    # The session columns a student's own tutor writes: the snapshot (at creation, and when the
    # window is cut) and the mark of what the notes have seen. Named here so that narrowing the
    # sessions table's column privileges keeps them.
    student, _ = rls.groups(conn)
    conn.execute(f"GRANT INSERT (profile_snapshot) ON sessions TO {student}")
    conn.execute(f"GRANT UPDATE (profile_snapshot, profile_through) ON sessions TO {student}")


# --- queries ------------------------------------------------------------------------------


class ProfileQueries(Backend):
    """The profile of each student, its per-session snapshots and what it has seen."""

    def get_profile(self, student_id: str) -> ProfileRecord | None:
        """The student's profile row, or None when the tutor has never written one."""
        with self._reading() as conn:
            row = self._run(
                conn, "SELECT student_id, text, updated_at, revision FROM profiles WHERE student_id = ?", (student_id,)
            ).fetchone()
            return ProfileRecord(*row) if row else None

    def save_profile(
        self,
        student_id: str,
        text: str,
        *,
        expected_revision: int | None = None,
        seen: dict[int, int] | None = None,
        now: float | None = None,
    ) -> bool:
        """Write the notes, and mark the messages they came from as seen, in one transaction.

        `expected_revision` (-1: no row yet) makes the write conditional: when the profile changed
        since it was read (another update, an edit, an erasure), nothing is written and False is
        returned. `seen` maps a session's row id to the last message id the notes now cover.
        """
        now = clock() if now is None else now
        with self._transaction() as conn:
            if expected_revision is None:
                self._run(
                    conn,
                    "INSERT INTO profiles (student_id, text, updated_at, revision) VALUES (?, ?, ?, 1)"
                    " ON CONFLICT (student_id) DO UPDATE SET text = excluded.text,"
                    " updated_at = excluded.updated_at, revision = profiles.revision + 1",
                    (student_id, text, now),
                )
            elif expected_revision < 0:
                cursor = self._run(
                    conn,
                    "INSERT INTO profiles (student_id, text, updated_at, revision) VALUES (?, ?, ?, 1)"
                    " ON CONFLICT (student_id) DO NOTHING",
                    (student_id, text, now),
                )
                if cursor.rowcount != 1:
                    return False
            else:
                cursor = self._run(
                    conn,
                    "UPDATE profiles SET text = ?, updated_at = ?, revision = revision + 1"
                    " WHERE student_id = ? AND revision = ?",
                    (text, now, student_id, expected_revision),
                )
                if cursor.rowcount != 1:
                    return False
            for session_pk, through in (seen or {}).items():
                self._run(
                    conn,
                    "UPDATE sessions SET profile_through = ? WHERE id = ? AND student_id = ? AND profile_through < ?",
                    (through, session_pk, student_id, through),
                )
            return True

    def clear_profile(self, student_id: str, now: float | None = None) -> bool:
        """Erase the notes: empty text, no snapshot in any of the student's sessions, and every
        message so far counted as seen, so nothing said before the erasure comes back. Returns
        whether there were notes to erase."""
        now = clock() if now is None else now
        with self._transaction() as conn:
            row = self._run(conn, "SELECT text FROM profiles WHERE student_id = ?", (student_id,)).fetchone()
            had_notes = bool(row and row[0])
            self._run(
                conn,
                "INSERT INTO profiles (student_id, text, updated_at, revision) VALUES (?, '', ?, 1)"
                " ON CONFLICT (student_id) DO UPDATE SET text = '', updated_at = excluded.updated_at,"
                " revision = profiles.revision + 1",
                (student_id, now),
            )
            had_notes |= bool(
                self._run(
                    conn,
                    "UPDATE sessions SET profile_snapshot = NULL WHERE student_id = ? AND profile_snapshot IS NOT NULL",
                    (student_id,),
                ).rowcount
            )
            self._run(
                conn,
                "UPDATE sessions SET profile_through = coalesce("
                "(SELECT max(m.id) FROM messages m WHERE m.session_pk = sessions.id), 0)"
                " WHERE student_id = ?",
                (student_id,),
            )
            return had_notes

    def mark_profile_seen(self, student_id: str, session_id: str) -> None:
        """Count the session's messages so far as seen without reading them (the profile was off)."""
        with self._transaction() as conn:
            self._run(
                conn,
                "UPDATE sessions SET profile_through = coalesce("
                "(SELECT max(m.id) FROM messages m WHERE m.session_pk = sessions.id), 0)"
                " WHERE student_id = ? AND session_id = ?",
                (student_id, session_id),
            )

    def take_profile_snapshot(self, student_id: str, session_id: str) -> str | None:
        """Copy the student's current notes into the session (what its requests will carry)."""
        with self._transaction() as conn:
            self._run(
                conn,
                "UPDATE sessions SET profile_snapshot ="
                " (SELECT nullif(p.text, '') FROM profiles p WHERE p.student_id = sessions.student_id)"
                " WHERE student_id = ? AND session_id = ?",
                (student_id, session_id),
            )
            row = self._run(
                conn,
                "SELECT profile_snapshot FROM sessions WHERE student_id = ? AND session_id = ?",
                (student_id, session_id),
            ).fetchone()
            return row[0] if row else None

    def has_unseen_turns(self, student_id: str) -> bool:
        """Whether any of the student's messages is newer than what the profile has seen."""
        with self._reading() as conn:
            row = self._run(
                conn,
                "SELECT 1 FROM sessions s JOIN messages m ON m.session_pk = s.id AND m.id > s.profile_through"
                " WHERE s.student_id = ? LIMIT 1",
                (student_id,),
            ).fetchone()
            return row is not None

    def unseen_sizes(self, student_id: str, limit: int = 500) -> list[tuple[int, str, int]]:
        """(id, role, tokens) of the oldest messages the profile has not seen, oldest first: sizes
        only, so that an update can decide how far to read before any content is read."""
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT m.id, m.role, m.tokens FROM sessions s"
                " JOIN messages m ON m.session_pk = s.id AND m.id > s.profile_through"
                " WHERE s.student_id = ? ORDER BY m.id LIMIT ?",
                (student_id, limit),
            ).fetchall()
            return [tuple(row) for row in rows]

    def unseen_turns(self, student_id: str, through_id: int) -> list[UnseenTurn]:
        """The messages the profile has not seen, up to id `through_id`, oldest first (a withheld
        reply as its stand-in: the answer it gave away must not reach the notes)."""
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT m.id, s.id, s.session_id, m.role,"
                " CASE WHEN m.withheld = 1 THEN ? ELSE m.content END, m.tokens FROM sessions s"
                " JOIN messages m ON m.session_pk = s.id AND m.id > s.profile_through AND m.id <= ?"
                " WHERE s.student_id = ? ORDER BY m.id",
                (WITHHELD_STAND_IN, through_id, student_id),
            ).fetchall()
            return [UnseenTurn(*row) for row in rows]
