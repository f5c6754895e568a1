"""Course materials: the files (`materials`), their passages, and the passages sent with each question.

A material belongs to one student (`student_id` their id) or, in a class database, to the whole
class (`student_id` = CLASS_MATERIAL, the empty string, which no student id can be). Passages carry
their material's `student_id` and reference it by (id, student_id), so a student's passage can
never hang off another student's private material, and both tables share the row-level-security
shape of decks and cards (`rls.class_or_own_rows`): students read their own and the class's and
change only their own; teachers (and the administrator) change the class's.

Words: SQLite keeps an FTS5 index (`passages_fts`, porter stemming, kept in step by triggers, so a
cascade or delete-student leaves no stale entry); PostgreSQL a generated `tsvector` with a GIN index.
Meaning: a material's passage vectors are stored together as one int8 matrix (`materials.vectors`,
row = passage `seq`), because reading 50,000 one-row BLOBs costs more than the whole search may.

Each question keeps the passages sent with it exactly as sent, in its own message row
(`messages.passages`, JSON [[label, text], ...]; not a reference: a material may change or go, the
history must not). A column rather than a table: it is written by the question's own INSERT (one
row, atomic, under the messages' row-level security), goes with the message into export, purge
and delete-student, and adds no per-message foreign-key work when thousands of messages are removed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tutor_cli.store import rls
from tutor_cli.store.base import Backend

CLASS_MATERIAL = ""  # the student_id of a class material and of its passages

MATERIAL_COLUMNS = ("student_id", "name", "kind", "passages", "chars", "dimensions", "vectors", "added_at")
PASSAGE_COLUMNS = ("material_id", "student_id", "seq", "label", "heading", "text")


@dataclass(frozen=True)
class MaterialRecord:
    name: str
    is_class: bool
    kind: str
    passages: int
    chars: int
    added_at: float


@dataclass(frozen=True)
class StoredPassage:
    """A passage as the store returns it; `key` = (material id, seq) names it within one search."""

    key: tuple[int, int]
    label: str
    heading: str | None
    text: str


# --- SQLite schema ------------------------------------------------------------------------


def sqlite_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE materials (
            id INTEGER PRIMARY KEY,
            student_id TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            passages INTEGER NOT NULL,
            chars INTEGER NOT NULL,
            dimensions INTEGER NOT NULL,
            vectors BLOB NOT NULL,
            added_at REAL NOT NULL,
            UNIQUE (student_id, name),
            UNIQUE (id, student_id)
        )"""
    )
    conn.execute(
        """CREATE TABLE passages (
            id INTEGER PRIMARY KEY,
            material_id INTEGER NOT NULL,
            student_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            label TEXT NOT NULL,
            heading TEXT,
            text TEXT NOT NULL,
            UNIQUE (material_id, seq),
            FOREIGN KEY (material_id, student_id) REFERENCES materials (id, student_id) ON DELETE CASCADE
        )"""
    )
    conn.execute("CREATE INDEX passages_by_owner ON passages (student_id)")
    conn.execute("CREATE VIRTUAL TABLE passages_fts USING fts5 (body, tokenize = 'porter unicode61')")
    body = "coalesce(NEW.heading || char(10), '') || NEW.text"
    conn.execute(
        f"CREATE TRIGGER passages_fts_add AFTER INSERT ON passages BEGIN"
        f" INSERT INTO passages_fts (rowid, body) VALUES (NEW.id, {body}); END"
    )
    conn.execute(
        "CREATE TRIGGER passages_fts_remove AFTER DELETE ON passages BEGIN"
        " DELETE FROM passages_fts WHERE rowid = OLD.id; END"
    )
    conn.execute("ALTER TABLE messages ADD COLUMN passages TEXT")


# --- PostgreSQL schema --------------------------------------------------------------------


def postgres_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE materials (
            id bigserial PRIMARY KEY,
            student_id text NOT NULL,
            name text NOT NULL,
            kind text NOT NULL,
            passages integer NOT NULL,
            chars integer NOT NULL,
            dimensions integer NOT NULL,
            vectors bytea NOT NULL,
            added_at double precision NOT NULL,
            UNIQUE (student_id, name),
            UNIQUE (id, student_id)
        )"""
    )
    conn.execute(
        """CREATE TABLE passages (
            id bigserial PRIMARY KEY,
            material_id bigint NOT NULL,
            student_id text NOT NULL,
            seq integer NOT NULL,
            label text NOT NULL,
            heading text,
            text text NOT NULL,
            words tsvector GENERATED ALWAYS AS
                (to_tsvector('english'::regconfig, coalesce(heading || E'\\n', '') || text)) STORED,
            UNIQUE (material_id, seq),
            FOREIGN KEY (material_id, student_id) REFERENCES materials (id, student_id) ON DELETE CASCADE
        )"""
    )
    conn.execute("CREATE INDEX passages_words ON passages USING gin (words)")
    conn.execute("CREATE INDEX passages_by_owner ON passages (student_id)")
    conn.execute("ALTER TABLE messages ADD COLUMN passages text")
    # Materials and passages: a student's own, and the class's, which only teachers and the administrator change.
    rls.class_or_own_rows(conn, "materials", class_owner=CLASS_MATERIAL, insert=MATERIAL_COLUMNS)
    rls.class_or_own_rows(conn, "passages", class_owner=CLASS_MATERIAL, insert=PASSAGE_COLUMNS)
    # What went with a question is written with it, by its student (messages' policies apply).
    student, _ = rls.groups(conn)
    conn.execute(f"GRANT INSERT (passages) ON messages TO {student}")


def create_shape_index(conn: Any) -> None:
    """Both backends: an index that answers `material_shape` without reading the materials' rows
    (whose vector BLOBs make each row many pages long): 0.16 ms for 1,373 materials, not 2 ms."""
    conn.execute("CREATE INDEX materials_shape ON materials (student_id, id, passages, dimensions, added_at)")


_TERM = re.compile(r"^[^\W_]+$", re.UNICODE)


# --- queries ------------------------------------------------------------------------------


class CourseQueries(Backend):
    """Materials, passages, the word search, and what was sent with each question."""

    def add_material(
        self,
        owner: str,
        name: str,
        kind: str,
        passages: Sequence[tuple[int, str, str | None, str]],
        vectors: bytes,
        dimensions: int,
        now: float,
    ) -> bool:
        """Store a material with its (seq, label, heading, text) passages and their vector matrix,
        replacing one of the same name and owner in the same transaction. Whether one was replaced."""
        with self._transaction() as conn:
            replaced = self._run(
                conn, "DELETE FROM materials WHERE student_id = ? AND name = ?", (owner, name)
            ).rowcount
            material_id = self._insert(
                conn,
                f"INSERT INTO materials ({', '.join(MATERIAL_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (owner, name, kind, len(passages), sum(len(p[3]) for p in passages), dimensions, vectors, now),
            )
            conn.cursor().executemany(
                self._sql(f"INSERT INTO passages ({', '.join(PASSAGE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"),
                [(material_id, owner, seq, label, heading, text) for seq, label, heading, text in passages],
            )
            return bool(replaced)

    def list_materials(self, student_id: str | None) -> list[MaterialRecord]:
        """The student's materials and the class's (only the class's when `student_id` is None)."""
        owners = _owners(student_id)
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT name, student_id = '', kind, passages, chars, added_at FROM materials"
                f" WHERE student_id IN ({_marks(owners)}) ORDER BY name, student_id DESC",
                owners,
            ).fetchall()
        return [MaterialRecord(row[0], bool(row[1]), row[2], row[3], row[4], row[5]) for row in rows]

    def remove_material(self, owner: str, name: str) -> int | None:
        """Delete the material and its passages; how many passages it had, or None when there is none
        (or row-level security keeps this login from deleting it)."""
        with self._transaction() as conn:
            row = self._run(
                conn, "DELETE FROM materials WHERE student_id = ? AND name = ? RETURNING passages", (owner, name)
            ).fetchone()
            return None if row is None else int(row[0])

    def has_materials(self, student_id: str) -> bool:
        """Whether any material is there for this student (their own or the class's)."""
        with self._reading() as conn:
            row = self._run(conn, "SELECT 1 FROM materials WHERE student_id IN (?, ?) LIMIT 1", _owners(student_id))
            return row.fetchone() is not None

    def material_index(self, student_id: str) -> list[tuple[int, int, int]]:
        """(material id, passages, dimensions) of every material the student searches, by id."""
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT id, passages, dimensions FROM materials WHERE student_id IN (?, ?) ORDER BY id",
                _owners(student_id),
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def material_shape(self, student_id: str) -> tuple:
        """A summary of the student's searchable materials (how many, their ids, passages and
        dimensions, the latest added) that changes whenever `material_index` would: a search asks
        it before every question and reads the vectors again only when it changed."""
        with self._reading() as conn:
            row = self._run(
                conn,
                "SELECT count(*), coalesce(sum(id), 0), coalesce(sum(passages), 0), coalesce(sum(dimensions), 0),"
                " coalesce(max(added_at), 0) FROM materials WHERE student_id IN (?, ?)",
                _owners(student_id),
            ).fetchone()
        return tuple(row)

    def material_vectors(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The int8 vector matrix (bytes, one row per passage in seq order) of each material named."""
        out: dict[int, bytes] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            with self._reading() as conn:
                rows = self._run(
                    conn, f"SELECT id, vectors FROM materials WHERE id IN ({_marks(chunk)})", chunk
                ).fetchall()
            out.update((row[0], bytes(row[1])) for row in rows)
        return out

    def word_search(
        self,
        student_id: str,
        terms: Sequence[str],
        limit: int,
        *,
        common: int | None = None,
        counts: dict[str, int] | None = None,
    ) -> list[tuple[int, int]]:
        """(material id, seq) of the passages best matching any of `terms`, best first: BM25 in
        SQLite FTS5, `ts_rank` (normalised by length) in PostgreSQL.

        Terms found in more than `common` passages are left out (when every term is, the rarest
        alone is searched): BM25 gives them almost no weight, yet ranking every passage they match
        is most of a search's cost.
        `counts` caches how many passages hold each term, between questions on unchanged materials.
        """
        terms = [term for term in terms if _TERM.match(term)]
        if not terms:
            return []
        owners = _owners(student_id)
        with self._reading() as conn:
            if common is not None:
                counts = {} if counts is None else counts
                counts.update(self._term_counts(conn, [term for term in terms if term not in counts], common + 1))
                rare = [term for term in terms if 0 < counts[term] <= common]
                # every word common: the rarest alone (two cost PostgreSQL's ts_rank p95 58 ms against 33)
                terms = rare or sorted((t for t in terms if counts[t]), key=counts.__getitem__)[:1]
                if not terms:
                    return []
            if self.dialect == "sqlite":
                rows = (
                    _fts_fewer_ranked(conn, terms, owners, limit, counts, None if common is None else common + 1)
                    or conn.execute(_FTS_RANKED, (_fts_query(terms), *owners, limit)).fetchall()
                )
            else:
                rows = self._run(
                    conn,
                    "SELECT material_id, seq FROM passages, to_tsquery('english', ?) q"
                    " WHERE words @@ q AND student_id IN (?, ?) ORDER BY ts_rank(words, q, 1) DESC, id LIMIT ?",
                    (" | ".join(terms), *owners, limit),
                ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def _term_counts(self, conn: Any, terms: Sequence[str], cap: int) -> dict[str, int]:
        """In how many passages each term occurs, counting no further than `cap` (every owner's: an
        upper bound). PostgreSQL counts every term in one statement (one round trip to a class's
        server, not one a word)."""
        if not terms:
            return {}
        if self.dialect == "sqlite":
            return {term: _fts_hits(conn, term, cap) for term in terms}
        rows = self._run(
            conn,
            "SELECT term, (SELECT count(*) FROM (SELECT 1 FROM passages"
            " WHERE words @@ to_tsquery('english', term) LIMIT ?) t) FROM unnest(?::text[]) AS term",
            (cap, list(terms)),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def passages_by_key(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], StoredPassage]:
        """The passages named by (material id, seq) keys (those the reader may see)."""
        if not keys:
            return {}
        pairs = " OR ".join("(material_id = ? AND seq = ?)" for _ in keys)
        with self._reading() as conn:
            rows = self._run(
                conn,
                f"SELECT material_id, seq, label, heading, text FROM passages WHERE {pairs}",
                [value for key in keys for value in key],
            ).fetchall()
        return {(row[0], row[1]): StoredPassage((row[0], row[1]), row[2], row[3], row[4]) for row in rows}

    # -- what went with each question --

    def session_passages(self, student_id: str, session_id: str) -> dict[int, list[tuple[str, str]]]:
        """The (label, text) passages sent with each question of the session, by message id."""
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT m.id, m.passages FROM messages m JOIN sessions s ON s.id = m.session_pk"
                " WHERE s.student_id = ? AND s.session_id = ? AND m.passages IS NOT NULL ORDER BY m.id",
                (student_id, session_id),
            ).fetchall()
        return {row[0]: decode_passages(row[1]) for row in rows}

    def last_question_passages(self, student_id: str, session_id: str) -> list[tuple[str, str]]:
        """The (label, text) passages sent with the session's latest question (none: an empty list)."""
        with self._reading() as conn:
            row = self._run(
                conn,
                "SELECT m.passages FROM messages m JOIN sessions s ON s.id = m.session_pk"
                " WHERE s.student_id = ? AND s.session_id = ? AND m.role = 'user' ORDER BY m.id DESC LIMIT 1",
                (student_id, session_id),
            ).fetchone()
        return decode_passages(row[0]) if row and row[0] else []

    def sent_passages(self, student_id: str, message_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """The (label, text) passages sent with each of these messages (messages with none are absent)."""
        out: dict[int, list[tuple[str, str]]] = {}
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start : start + 500])
            with self._reading() as conn:
                rows = self._run(
                    conn,
                    "SELECT id, passages FROM messages WHERE student_id = ?"
                    f" AND id IN ({_marks(chunk)}) AND passages IS NOT NULL",
                    (student_id, *chunk),
                ).fetchall()
            out.update((row[0], decode_passages(row[1])) for row in rows)
        return out


# --- SQLite: BM25 over fewer passages, with the same result -----------------------------------

_FTS_RANKED = (
    "SELECT p.material_id, p.seq FROM passages_fts f JOIN passages p ON p.id = f.rowid"
    " WHERE passages_fts MATCH ? AND p.student_id IN (?, ?) ORDER BY f.rank LIMIT ?"
)
# FTS5's bm25 (k1 = 1.2, b = 0.75) adds for a word idf x tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)),
# always less than idf x (k1 + 1), where idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6, for a
# word in n of the index's N rows. This holds for the table's rank as it is (bm25 without column
# weights, or weights of at most 1): a rank given weights above 1 must multiply this by the largest,
# and tests/test_course_speed.py compares both rankings on questions where the shortcut is taken.
_BM25_CEILING = 1.2 + 1.0
# Ranking costs FTS5 about 1 microsecond a matching passage; leaving out words of fewer matches than
# this saves too little to pay for a try that may fail (bench/course.py: those tries mostly did).
_FEWER_FROM = 3000


def _fts_query(terms: Sequence[str]) -> str:
    return " OR ".join(f'"{term}"' for term in terms)


def _fts_hits(conn: Any, term: str, cap: int = -1) -> int:
    """In how many rows of the index `term` occurs, counting no further than `cap` (-1: all)."""
    sql = "SELECT count(*) FROM (SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? LIMIT ?)"
    return conn.execute(sql, (f'"{term}"', cap)).fetchone()[0]


def _fts_fewer_ranked(
    conn: Any,
    terms: Sequence[str],
    owners: Sequence[str],
    limit: int,
    counts: dict[str, int] | None,
    cap: int | None = None,
) -> list[tuple[int, int]] | None:
    """The passages `_FTS_RANKED` finds, in its order, ranking only those holding a rarer word;
    None when that cannot be shown to give the same result (the caller then ranks them all).

    BM25 weighs a word by its rarity (idf), so a word in most passages adds almost nothing to
    any score: a passage holding only such words scores below the sum of their ceilings (see
    `_BM25_CEILING`). The passages holding a rarer word are ranked by the whole query's BM25
    (the same scores, since FTS5 takes idf from the whole index); when the last of the best
    `limit` of them scores above that ceiling, no passage left out could have been among them.
    Ties keep FTS5's order (by rowid). The commonest words go while they hold at least as many
    matches as all rarer ones (each halving the passages ranked, or better). `counts` holds what
    is known of each word's matches (counted up to `cap`, when given).
    """
    if len(terms) < 2:
        return None
    rows = conn.execute("SELECT max(rowid) FROM passages_fts").fetchone()[0] or 0  # at least N
    if rows < _FEWER_FROM:
        return None
    counts = {} if counts is None else counts
    hits = {}  # exact: a count that reached `cap` is taken again in full (a common word: ~1 ms)
    for term in terms:
        if term in counts and (cap is None or counts[term] < cap):
            hits[term] = counts[term]
        else:
            hits[term] = _fts_hits(conn, term)
            if cap is None:
                counts[term] = hits[term]
    ceilings = {
        term: max(math.log((rows - hits[term] + 0.5) / (hits[term] + 0.5)), 1e-6) * _BM25_CEILING for term in terms
    }
    order = sorted(terms, key=hits.__getitem__)
    left_out: list[str] = []
    while (
        len(order) > 1
        and hits[order[-1]] >= sum(hits[term] for term in order[:-1])
        # ... and while what is left out weighs less than what is kept (else the try mostly fails)
        and sum(ceilings[term] for term in [*left_out, order[-1]]) < sum(ceilings[term] for term in order[:-1])
    ):
        left_out.append(order.pop())
    if sum(hits[term] for term in left_out) < _FEWER_FROM:
        return None
    ceiling = sum(ceilings[term] for term in left_out)
    found = conn.execute(
        "WITH rarer AS MATERIALIZED (SELECT rowid AS id FROM passages_fts WHERE passages_fts MATCH ?),"
        " ranked AS MATERIALIZED (SELECT rowid AS id, rank AS score FROM passages_fts"
        " WHERE passages_fts MATCH ? AND +rowid IN rarer ORDER BY score, id LIMIT ?)"
        " SELECT p.material_id, p.seq, ranked.score FROM ranked JOIN passages p ON p.id = ranked.id"
        " WHERE p.student_id IN (?, ?) ORDER BY ranked.score, ranked.id LIMIT ?",
        # Other students' passages are in the index too: the best 4 x limit leave room for theirs.
        (_fts_query(order), _fts_query(terms), 4 * limit, *owners, limit),
    ).fetchall()
    # bm25() is the score negated; the margin covers rounding in the ceiling's sum.
    if len(found) < limit or -found[-1][2] <= ceiling * (1 + 1e-9) + 1e-12:
        return None
    return [(row[0], row[1]) for row in found]


def encode_passages(passages: Sequence[tuple[str, str]]) -> str:
    """The passages of a question as kept in `messages.passages`."""
    return json.dumps([[label, text] for label, text in passages], ensure_ascii=False)


def decode_passages(value: str) -> list[tuple[str, str]]:
    return [(label, text) for label, text in json.loads(value)]


def _owners(student_id: str | None) -> tuple[str, ...]:
    return (CLASS_MATERIAL,) if student_id is None else (student_id, CLASS_MATERIAL)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)
