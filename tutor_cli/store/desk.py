"""The teacher's desk: a text index over messages, the watch list, and the class figures.

Search runs on an index in each backend: SQLite's FTS5 with the trigram tokenizer (substrings in
any script, case-insensitive), kept in step with `messages` by triggers; PostgreSQL's `pg_trgm`
GIN index, used by ILIKE. On PostgreSQL every query here is an ordinary SELECT under the
row-level security of `messages`: a student's search returns only their rows because the database
says so, whatever the client asks.

Flags are computed by query, not stored: a message is flagged when it contains a phrase on the
watch list *now*. Adding a phrase flags earlier messages, removing it unflags them, and no
privileged trigger runs on a student's write path. The index makes the query cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tutor_cli.pricing import TOKEN_FIELDS, peak_sql
from tutor_cli.store import rls
from tutor_cli.store.base import Backend
from tutor_cli.store.records import FoundMessage, WatchPhrase

# Trigram indexes need three characters: shorter terms are matched by a scan (LIKE) instead.
TRIGRAM = 3
MAX_PHRASE_LENGTH = 200


# --- SQLite schema ------------------------------------------------------------------------


def sqlite_create(conn: Any) -> None:
    # External content: the index stores trigrams only, the text stays in `messages`.
    conn.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5("
        "content, content='messages', content_rowid='id', tokenize='trigram')"
    )
    # Messages are never updated, so inserts and deletes (sessions deleted with their messages,
    # by the foreign key's cascade, fire these too) are all there is to follow.
    conn.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
        " INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content); END"
    )
    conn.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
        " INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END"
    )
    conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")  # the messages already there
    # The class figures (questions, usage by model and peak hours) read this index only, never the
    # table with its long texts: a fraction of the pages, already grouped by student.
    conn.execute(
        "CREATE INDEX messages_figures ON messages (student_id, role, created_at, model,"
        " prompt_tokens, completion_tokens, reasoning_tokens, cache_hit_tokens, cache_miss_tokens)"
    )
    conn.execute(
        """CREATE TABLE watch_phrases (
            id INTEGER PRIMARY KEY,
            phrase TEXT NOT NULL,
            folded TEXT NOT NULL UNIQUE,
            added_by TEXT,
            added_at REAL NOT NULL
        )"""
    )


# --- PostgreSQL schema --------------------------------------------------------------------


def postgres_create(conn: Any) -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    conn.execute("CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops)")
    # A student's queries carry the policy's `student_id = <login>`: this keeps them off a scan.
    conn.execute("CREATE INDEX messages_by_student ON messages (student_id, created_at)")
    conn.execute(
        """CREATE TABLE watch_phrases (
            id bigserial PRIMARY KEY,
            phrase text NOT NULL,
            folded text NOT NULL UNIQUE,
            added_by text,
            added_at double precision NOT NULL
        )"""
    )
    rls.teachers_only(conn, "watch_phrases", insert=("phrase", "folded", "added_by", "added_at"), delete=True)


# --- queries ------------------------------------------------------------------------------


def like_pattern(text: str) -> str:
    """`%text%` for LIKE/ILIKE with `\\` as the escape character."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(text: str) -> str:
    """One FTS5 phrase (a substring, for the trigram tokenizer)."""
    return '"' + text.replace('"', '""') + '"'


class DeskQueries(Backend):
    """Search, the watch list and the class figures."""

    # -- text matching, per backend --

    def _contains_all(self, terms: Sequence[str]) -> tuple[str, list[Any]]:
        """An SQL condition on `m` (messages) true when the content holds every term."""
        return self._contains(terms, "AND")

    def _contains_any(self, terms: Sequence[str]) -> tuple[str, list[Any]]:
        """An SQL condition on `m` true when the content holds at least one term."""
        return self._contains(terms, "OR")

    def _contains(self, terms: Sequence[str], joiner: str) -> tuple[str, list[Any]]:
        if self.dialect == "postgresql":
            # ILIKE on the trigram-indexed column: one bitmap scan per term.
            return "(" + f" {joiner} ".join("m.content ILIKE ? ESCAPE '\\'" for _ in terms) + ")", [
                like_pattern(term) for term in terms
            ]
        long_terms = [term for term in terms if len(term) >= TRIGRAM]
        short_terms = [term for term in terms if len(term) < TRIGRAM]
        parts: list[str] = []
        args: list[Any] = []
        if long_terms:
            parts.append("m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
            args.append(f" {joiner} ".join(_fts_phrase(term) for term in long_terms))
        # FTS5's trigram index cannot look up one or two characters (two-character words are
        # everyday Chinese): those are found by LIKE over the messages themselves, a scan.
        for term in short_terms:
            parts.append("m.content LIKE ? ESCAPE '\\'")
            args.append(like_pattern(term))
        return "(" + f" {joiner} ".join(parts) + ")", args

    def _day_sql(self, column: str) -> str:
        """Whole UTC days since 1970 of a unix-time column."""
        if self.dialect == "postgresql":
            return f"floor({column} / 86400)::bigint"
        return f"CAST({column} / 86400 AS INTEGER)"  # truncation is floor for times after 1970

    def search_messages(
        self,
        terms: Sequence[str],
        student_id: str | None,
        limit: int,
        roles: Sequence[str] = ("user", "assistant"),
        *,
        withheld: bool = True,
    ) -> list[FoundMessage]:
        """Messages holding every term (case-insensitive substrings), newest first; withheld drafts
        only when `withheld`."""
        condition, args = self._contains_all(terms)
        if not withheld:
            condition += " AND m.withheld = 0"
        return self._found(condition, args, student_id, limit, roles)

    def _found(
        self, condition: str, args: list[Any], student_id: str | None, limit: int | None, roles: Sequence[str]
    ) -> list[FoundMessage]:
        where = [condition, f"m.role IN ({', '.join('?' * len(roles))})"]
        args = [*args, *roles]
        if student_id is not None:
            where.append("m.student_id = ?")
            args.append(student_id)
        tail = ""
        if limit is not None:
            tail = " LIMIT ?"
            args.append(limit)
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT m.id, m.student_id, s.session_id, m.created_at, m.role, m.content"
                " FROM messages m JOIN sessions s ON s.id = m.session_pk"
                f" WHERE {' AND '.join(where)} ORDER BY m.created_at DESC, m.id DESC{tail}",
                args,
            ).fetchall()
        return [FoundMessage(*row) for row in rows]

    # -- the watch list --

    def watch_phrases(self) -> list[WatchPhrase]:
        with self._reading() as conn:
            rows = self._run(conn, "SELECT phrase, added_by, added_at FROM watch_phrases ORDER BY folded").fetchall()
        return [WatchPhrase(*row) for row in rows]

    def add_watch_phrase(self, phrase: str, folded: str, added_by: str | None, now: float) -> bool:
        """Add a phrase; False when it (ignoring case) is already on the list."""
        with self._transaction() as conn:
            if self._run(conn, "SELECT 1 FROM watch_phrases WHERE folded = ?", (folded,)).fetchone():
                return False
            self._run(
                conn,
                "INSERT INTO watch_phrases (phrase, folded, added_by, added_at) VALUES (?, ?, ?, ?)",
                (phrase, folded, added_by, now),
            )
            return True

    def remove_watch_phrase(self, folded: str) -> bool:
        """Remove a phrase; False when it was not on the list."""
        with self._transaction() as conn:
            return self._run(conn, "DELETE FROM watch_phrases WHERE folded = ?", (folded,)).rowcount > 0

    def flagged_messages(
        self, phrases: Sequence[str], student_id: str | None = None, limit: int | None = None
    ) -> list[FoundMessage]:
        """Student messages holding any of the phrases, newest first."""
        if not phrases:
            return []
        condition, args = self._contains_any(phrases)
        return self._found(condition, args, student_id, limit, ("user",))

    # -- class figures: one query per figure set, grouped by student --

    def session_figures(self, since: float | None, student_id: str | None) -> dict[str, tuple[int, float]]:
        """{student: (sessions used since, last active)} from the sessions table."""
        where, args = self._where(since, student_id, "updated_at")
        with self._reading() as conn:
            rows = self._run(
                conn, f"SELECT student_id, count(*), max(updated_at) FROM sessions{where} GROUP BY student_id", args
            ).fetchall()
        return {row[0]: (int(row[1]), float(row[2])) for row in rows}

    def question_counts(self, since: float | None, student_id: str | None) -> dict[str, int]:
        """{student: questions asked since}."""
        where, args = self._where(since, student_id, "created_at", "role = 'user'")
        with self._reading() as conn:
            rows = self._run(conn, f"SELECT student_id, count(*) FROM messages{where} GROUP BY student_id", args)
            return {row[0]: int(row[1]) for row in rows.fetchall()}

    def usage_by_student(self, since: float | None, student_id: str | None) -> list[tuple]:
        """(student, model, peak, prompt, completion, reasoning, cache hit, cache miss) sums over answers,
        then 1 when any of them holds the tutor's estimate."""
        where, args = self._where(since, student_id, "created_at", "role = 'assistant'", "prompt_tokens IS NOT NULL")
        sums = ", ".join(f"sum({name})" for name in TOKEN_FIELDS) + ", max(usage_estimated)"
        peak = peak_sql(self.weekday_sql("created_at"), self.hour_sql("created_at"))
        with self._reading() as conn:
            return self._run(
                conn,
                f"SELECT student_id, model, {peak} AS peak, {sums} FROM messages{where}"
                " GROUP BY student_id, model, peak",
                args,
            ).fetchall()

    def flag_counts(self, phrases: Sequence[str], since: float | None, student_id: str | None) -> dict[str, int]:
        """{student: flagged messages since}."""
        if not phrases:
            return {}
        condition, match_args = self._contains_any(phrases)
        where, args = self._where(since, student_id, "m.created_at", "m.role = 'user'", condition)
        with self._reading() as conn:
            rows = self._run(
                conn,
                f"SELECT m.student_id, count(*) FROM messages m{where} GROUP BY m.student_id",
                [*match_args, *args],
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def cards_reviewed(self, since: float | None, student_id: str | None) -> dict[str, int]:
        """{student: card reviews since}, from the practice log."""
        with self._reading() as conn:
            where, args = self._where(since, student_id, "reviewed_at")
            rows = self._run(conn, f"SELECT student_id, count(*) FROM reviews{where} GROUP BY student_id", args)
            return {row[0]: int(row[1]) for row in rows.fetchall()}

    def messages_per_day(self, first_day: int, student_id: str | None) -> dict[int, int]:
        """{UTC day number: messages} from `first_day` on."""
        where, args = self._where(first_day * 86400.0, student_id, "created_at")
        day = self._day_sql("created_at")
        with self._reading() as conn:
            rows = self._run(conn, f"SELECT {day} AS day, count(*) FROM messages{where} GROUP BY day", args)
            return {int(row[0]): int(row[1]) for row in rows.fetchall()}

    def _where(
        self, since: float | None, student_id: str | None, time_column: str, *conditions: str
    ) -> tuple[str, list]:
        """WHERE clause (placeholders of `conditions` come first in the caller's args)."""
        parts = list(conditions)
        args: list[Any] = []
        prefix = time_column.split(".")[0] + "." if "." in time_column else ""
        if since is not None:
            parts.append(f"{time_column} >= ?")
            args.append(since)
        if student_id is not None:
            parts.append(f"{prefix}student_id = ?")
            args.append(student_id)
        return (" WHERE " + " AND ".join(parts) if parts else ""), args

    # -- what other features keep about a student --

    def student_profile(self, student_id: str) -> tuple[str, float | None] | None:
        """(profile text, updated_at) when the tutor keeps notes about the student; else None."""
        record = self.get_profile(student_id)  # type: ignore[attr-defined]  (ProfileQueries, in the same Store)
        if record is None or not record.text:
            return None
        return record.text, record.updated_at

    def practice_summary(self, student_id: str, since: float) -> tuple[int, int, float | None]:
        """(reviews in all, reviews since `since`, last review) from the practice log."""
        with self._reading() as conn:
            row = self._run(
                conn,
                "SELECT count(*), coalesce(sum(CASE WHEN reviewed_at >= ? THEN 1 ELSE 0 END), 0), max(reviewed_at)"
                " FROM reviews WHERE student_id = ?",
                (since, student_id),
            ).fetchone()
        return int(row[0]), int(row[1]), (float(row[2]) if row[2] is not None else None)
