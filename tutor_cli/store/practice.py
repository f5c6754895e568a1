"""Practice: decks, cards, each student's review state of each card, and the log of every rating.

A deck belongs to one student (`student_id` their id) or, in a class database, to the whole class
(`student_id` = CLASS_DECK, the empty string, which no student id can be). Cards carry their deck's
`student_id` too, so both tables share one row-level-security shape (`rls.class_or_own_rows`) and
the new-card query needs no join. A student's scheduling state (`card_states`) and ratings
(`reviews`) are theirs alone, whosever the card is; they carry the card's deck so the progress
figures are index-only aggregates. Times are unix seconds, as everywhere in the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from tutor_cli.store import rls
from tutor_cli.store.base import Backend
from tutor_cli.store.records import CardRecord, CardState, DeckProgress, DeckRecord

CLASS_DECK = ""  # the student_id of a class deck and of its cards
SECONDS_PER_DAY = 86400


class RecallCurve(Protocol):
    """The scheduler's forgetting curve (see `practice.ForgettingCurve`): R = (1 + factor·days/S)^decay,
    callable as curve(elapsed_seconds, stability)."""

    factor: float
    decay: float

    def __call__(self, elapsed_seconds: float, stability: float) -> float: ...


# --- SQLite schema ------------------------------------------------------------------------


def sqlite_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE decks (
            id INTEGER PRIMARY KEY,
            student_id TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (student_id, name),
            UNIQUE (id, student_id)
        )"""
    )
    conn.execute(
        """CREATE TABLE cards (
            id INTEGER PRIMARY KEY,
            deck_id INTEGER NOT NULL,
            student_id TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            topic TEXT,
            content_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (deck_id, content_hash),
            UNIQUE (id, deck_id),
            FOREIGN KEY (deck_id, student_id) REFERENCES decks (id, student_id) ON DELETE CASCADE
        )"""
    )
    conn.execute("CREATE INDEX cards_by_owner ON cards (student_id, id)")
    conn.execute(
        """CREATE TABLE card_states (
            student_id TEXT NOT NULL,
            card_id INTEGER NOT NULL,
            deck_id INTEGER NOT NULL,
            state INTEGER NOT NULL,
            step INTEGER,
            stability REAL,
            difficulty REAL,
            due REAL NOT NULL,
            last_review REAL,
            PRIMARY KEY (student_id, card_id),
            FOREIGN KEY (card_id, deck_id) REFERENCES cards (id, deck_id) ON DELETE CASCADE
        )"""
    )
    conn.execute(
        """CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            student_id TEXT NOT NULL,
            card_id INTEGER NOT NULL,
            deck_id INTEGER NOT NULL,
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
            reviewed_at REAL NOT NULL,
            day INTEGER NOT NULL,
            answer TEXT,
            feedback TEXT,
            state INTEGER NOT NULL,
            due REAL NOT NULL,
            stability REAL,
            difficulty REAL,
            FOREIGN KEY (card_id, deck_id) REFERENCES cards (id, deck_id) ON DELETE CASCADE
        )"""
    )
    _indexes(conn)


def _indexes(conn: Any) -> None:
    # The next due card (overall, or in one deck), and the per-deck progress figures.
    conn.execute("CREATE INDEX card_states_due ON card_states (student_id, due)")
    conn.execute("CREATE INDEX card_states_by_deck ON card_states (student_id, deck_id, due, last_review, stability)")
    conn.execute("CREATE INDEX card_states_by_card ON card_states (card_id)")  # deleting cards
    # Covers the activity and last-7-days counts: a range of one student's reviews, read from the index.
    conn.execute("CREATE INDEX reviews_by_time ON reviews (student_id, reviewed_at, deck_id, day)")
    conn.execute("CREATE INDEX reviews_by_card ON reviews (card_id)")  # deleting cards


# --- PostgreSQL schema --------------------------------------------------------------------


def postgres_create(conn: Any) -> None:
    conn.execute(
        """CREATE TABLE decks (
            id bigserial PRIMARY KEY,
            student_id text NOT NULL,
            name text NOT NULL,
            created_at double precision NOT NULL,
            UNIQUE (student_id, name),
            UNIQUE (id, student_id)
        )"""
    )
    conn.execute(
        """CREATE TABLE cards (
            id bigserial PRIMARY KEY,
            deck_id bigint NOT NULL,
            student_id text NOT NULL,
            question text NOT NULL,
            answer text NOT NULL,
            topic text,
            content_hash text NOT NULL,
            created_at double precision NOT NULL,
            UNIQUE (deck_id, content_hash),
            UNIQUE (id, deck_id),
            FOREIGN KEY (deck_id, student_id) REFERENCES decks (id, student_id) ON DELETE CASCADE
        )"""
    )
    conn.execute("CREATE INDEX cards_by_owner ON cards (student_id, id)")
    conn.execute(
        """CREATE TABLE card_states (
            student_id text NOT NULL,
            card_id bigint NOT NULL,
            deck_id bigint NOT NULL,
            state integer NOT NULL,
            step integer,
            stability double precision,
            difficulty double precision,
            due double precision NOT NULL,
            last_review double precision,
            PRIMARY KEY (student_id, card_id),
            FOREIGN KEY (card_id, deck_id) REFERENCES cards (id, deck_id) ON DELETE CASCADE
        )"""
    )
    conn.execute(
        """CREATE TABLE reviews (
            id bigserial PRIMARY KEY,
            student_id text NOT NULL,
            card_id bigint NOT NULL,
            deck_id bigint NOT NULL,
            rating integer NOT NULL CHECK (rating BETWEEN 1 AND 4),
            reviewed_at double precision NOT NULL,
            day integer NOT NULL,
            answer text,
            feedback text,
            state integer NOT NULL,
            due double precision NOT NULL,
            stability double precision,
            difficulty double precision,
            FOREIGN KEY (card_id, deck_id) REFERENCES cards (id, deck_id) ON DELETE CASCADE
        )"""
    )
    _indexes(conn)
    # Decks and cards: a student's own, and the class's, which only teachers and the administrator change.
    rls.class_or_own_rows(
        conn, "decks", class_owner=CLASS_DECK, insert=("student_id", "name", "created_at"), update=("name",)
    )
    rls.class_or_own_rows(
        conn,
        "cards",
        class_owner=CLASS_DECK,
        insert=("deck_id", "student_id", "question", "answer", "topic", "content_hash", "created_at"),
        update=("topic",),
    )
    # Each student's scheduling state and ratings are their own, even of a class deck's cards.
    state_columns = ("state", "step", "stability", "difficulty", "due", "last_review")
    rls.students_own_rows(
        conn,
        "card_states",
        insert=("student_id", "card_id", "deck_id", *state_columns),
        update=state_columns,
        sequence=False,
    )
    rls.students_own_rows(
        conn,
        "reviews",
        insert=REVIEW_COLUMNS,
    )


# --- migration 9: no student's row meets another student's private card -------------------
# Foreign keys are checked without row-level security, so `(card_id, deck_id)` alone would let a
# student hang a row of theirs off another student's private card (and learn that it exists).
# Rows that already do (no tutor writes them: only raw SQL could) are removed on upgrade.
READABLE_CARD = "EXISTS (SELECT 1 FROM cards c WHERE c.id = {row}.card_id AND c.deck_id = {row}.deck_id AND {owner})"


def _foreign_rows(table: str) -> str:
    card_owner = f"(SELECT c.student_id FROM cards c WHERE c.id = {table}.card_id)"
    return f"DELETE FROM {table} WHERE {card_owner} NOT IN ({table}.student_id, '{CLASS_DECK}')"


def sqlite_name_readable_cards(conn: Any) -> None:
    for table in ("card_states", "reviews"):
        conn.execute(_foreign_rows(table))
        readable = READABLE_CARD.format(row="NEW", owner=f"c.student_id IN (NEW.student_id, '{CLASS_DECK}')")
        conn.execute(
            f"CREATE TRIGGER {table}_name_a_readable_card BEFORE INSERT ON {table} WHEN NOT {readable}"
            f" BEGIN SELECT RAISE(ABORT, '{table} may name only a card of its student or of the class'); END"
        )


def postgres_name_readable_cards(conn: Any) -> None:
    student, _ = rls.groups(conn)
    for table in ("card_states", "reviews"):
        conn.execute(_foreign_rows(table))
        # Restrictive: added to (never instead of) `own_rows`; checked before the foreign key, so a
        # foreign card and a missing one are refused with the same sentence. Only INSERT: a student
        # may not UPDATE card_id or deck_id (column privileges).
        readable = READABLE_CARD.format(row=table, owner=f"c.student_id IN ({rls.OWNER}, '{CLASS_DECK}')")
        conn.execute(
            f"CREATE POLICY names_a_readable_card ON {table} AS RESTRICTIVE FOR INSERT TO {student}"
            f" WITH CHECK ({readable})"
        )
    # Unique keys are checked without row-level security too: keyed on the deck alone, a card
    # insert told a student whether another student's deck holds a card of a guessed content.
    # Keyed on the owner as well, a student's row only ever meets their own (same rows in practice:
    # a card's owner is its deck's). SQLite, one user's file, keeps its key (deck_id, content_hash).
    conn.execute("ALTER TABLE cards DROP CONSTRAINT cards_deck_id_content_hash_key")
    conn.execute("ALTER TABLE cards ADD CONSTRAINT cards_owner_content_key UNIQUE (student_id, deck_id, content_hash)")


REVIEW_COLUMNS = (
    "student_id",
    "card_id",
    "deck_id",
    "rating",
    "reviewed_at",
    "day",
    "answer",
    "feedback",
    "state",
    "due",
    "stability",
    "difficulty",
)
CARD_COLUMNS = (
    "c.id, c.deck_id, d.name, d.student_id = '' AS is_class, c.question, c.answer, c.topic,"
    " s.state, s.step, s.stability, s.difficulty, s.due, s.last_review"
)


# --- queries ------------------------------------------------------------------------------


class PracticeQueries(Backend):
    """Decks, cards, review state and the review log."""

    # -- decks and cards --

    def import_cards(
        self, owner: str, deck: str, cards: Sequence[tuple[str, str, str | None, str]], now: float
    ) -> tuple[int, int]:
        """Add (question, answer, topic, content_hash) cards to the deck `deck` of `owner`
        (CLASS_DECK for a class deck), creating it; all in one transaction. Cards already in the
        deck (same hash) are skipped. Returns (added, already there)."""
        with self._transaction() as conn:
            self._run(
                conn,
                "INSERT INTO decks (student_id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (student_id, name) DO NOTHING",
                (owner, deck, now),
            )
            deck_id = self._deck_id(conn, owner, deck)
            before = self._card_count(conn, deck_id)
            if cards:
                conn.cursor().executemany(
                    self._sql(
                        "INSERT INTO cards (deck_id, student_id, question, answer, topic, content_hash, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"  # the same content in the deck
                    ),
                    [
                        (deck_id, owner, question, answer, topic, digest, now)
                        for question, answer, topic, digest in cards
                    ],
                )
            added = self._card_count(conn, deck_id) - before
            return added, len(cards) - added

    def _deck_id(self, conn: Any, owner: str, deck: str) -> int | None:
        row = self._run(conn, "SELECT id FROM decks WHERE student_id = ? AND name = ?", (owner, deck)).fetchone()
        return row[0] if row else None

    def _card_count(self, conn: Any, deck_id: int | None) -> int:
        return self._run(conn, "SELECT count(*) FROM cards WHERE deck_id = ?", (deck_id,)).fetchone()[0]

    def list_decks(self, student_id: str | None) -> list[DeckRecord]:
        """The student's decks and the class decks (only the class decks when `student_id` is None)."""
        owners = (CLASS_DECK,) if student_id is None else (student_id, CLASS_DECK)
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT d.id, d.name, d.student_id = '', (SELECT count(*) FROM cards c WHERE c.deck_id = d.id),"
                f" d.created_at FROM decks d WHERE d.student_id IN ({_marks(owners)})"
                " ORDER BY d.name, d.student_id DESC",
                owners,
            ).fetchall()
        return [DeckRecord(row[0], row[1], bool(row[2]), row[3], row[4]) for row in rows]

    def deck_size(self, owner: str, deck: str) -> int | None:
        """How many cards the deck has, or None when `owner` has no deck of that name."""
        with self._reading() as conn:
            deck_id = self._deck_id(conn, owner, deck)
            return None if deck_id is None else self._card_count(conn, deck_id)

    def delete_deck(self, owner: str, deck: str) -> int | None:
        """Delete the deck with its cards and every review of them; its card count, or None if missing."""
        with self._transaction() as conn:
            deck_id = self._deck_id(conn, owner, deck)
            if deck_id is None:
                return None
            count = self._card_count(conn, deck_id)
            self._run(conn, "DELETE FROM decks WHERE id = ?", (deck_id,))
            return count

    # -- reviewing --

    def next_card(self, student_id: str, now: float, deck: str | None = None) -> CardRecord | None:
        """The card this student should review next: the longest-due one, else the oldest new one."""
        owners = (student_id, CLASS_DECK)
        in_deck, deck_args = self._deck_filter(deck, owners)
        with self._reading() as conn:
            row = self._run(
                conn,
                f"SELECT {CARD_COLUMNS} FROM card_states s JOIN cards c ON c.id = s.card_id"
                " JOIN decks d ON d.id = c.deck_id"
                f" WHERE s.student_id = ? AND s.due <= ? {in_deck.replace('DECK', 's.deck_id')}"
                " ORDER BY s.due, s.card_id LIMIT 1",
                (student_id, now, *deck_args),
            ).fetchone()
            if row is None:
                row = self._run(
                    conn,
                    f"SELECT {CARD_COLUMNS} FROM cards c JOIN decks d ON d.id = c.deck_id"
                    " LEFT JOIN card_states s ON s.student_id = ? AND s.card_id = c.id"
                    f" WHERE c.student_id IN ({_marks(owners)}) AND s.card_id IS NULL"
                    f" {in_deck.replace('DECK', 'c.deck_id')} ORDER BY c.id LIMIT 1",
                    (student_id, *owners, *deck_args),
                ).fetchone()
        return _card_record(row) if row else None

    def next_due(self, student_id: str, deck: str | None = None) -> float | None:
        """When this student's next reviewed card falls due (None: no card has been reviewed)."""
        in_deck, deck_args = self._deck_filter(deck, (student_id, CLASS_DECK))
        with self._reading() as conn:
            row = self._run(
                conn,
                f"SELECT min(due) FROM card_states WHERE student_id = ? {in_deck.replace('DECK', 'deck_id')}",
                (student_id, *deck_args),
            ).fetchone()
        return row[0] if row else None

    def deck_exists(self, student_id: str, deck: str) -> bool:
        """Whether the student has, or their class has, a deck of that name."""
        with self._reading() as conn:
            return (
                self._run(
                    conn, "SELECT 1 FROM decks WHERE name = ? AND student_id IN (?, ?)", (deck, student_id, CLASS_DECK)
                ).fetchone()
                is not None
            )

    def _deck_filter(self, deck: str | None, owners: tuple[str, ...]) -> tuple[str, tuple]:
        if deck is None:
            return "", ()
        return f"AND DECK IN (SELECT id FROM decks WHERE name = ? AND student_id IN ({_marks(owners)}))", (
            deck,
            *owners,
        )

    def record_review(
        self,
        student_id: str,
        card: CardRecord,
        state: CardState,
        rating: int,
        reviewed_at: float,
        answer: str | None,
        feedback: str | None,
    ) -> None:
        """The card's new state and the rating that led to it, in one transaction."""
        with self._transaction() as conn:
            self._run(
                conn,
                "INSERT INTO card_states (student_id, card_id, deck_id, state, step, stability, difficulty, due,"
                " last_review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (student_id, card_id) DO UPDATE SET"
                " state = excluded.state, step = excluded.step, stability = excluded.stability,"
                " difficulty = excluded.difficulty, due = excluded.due, last_review = excluded.last_review",
                (
                    student_id,
                    card.id,
                    card.deck_id,
                    state.state,
                    state.step,
                    state.stability,
                    state.difficulty,
                    state.due,
                    state.last_review,
                ),
            )
            self._run(
                conn,
                f"INSERT INTO reviews ({', '.join(REVIEW_COLUMNS)}) VALUES ({_marks(REVIEW_COLUMNS)})",
                (
                    student_id,
                    card.id,
                    card.deck_id,
                    rating,
                    reviewed_at,
                    int(reviewed_at // SECONDS_PER_DAY),
                    answer,
                    feedback,
                    state.state,
                    state.due,
                    state.stability,
                    state.difficulty,
                ),
            )

    def reviews_of(self, student_id: str) -> list[tuple]:
        """(card_id, rating, reviewed_at, state, due, answer, feedback) of every rating, oldest first."""
        with self._reading() as conn:
            return [
                tuple(row)
                for row in self._run(
                    conn,
                    "SELECT card_id, rating, reviewed_at, state, due, answer, feedback FROM reviews"
                    " WHERE student_id = ? ORDER BY id",
                    (student_id,),
                ).fetchall()
            ]

    def card_state(self, student_id: str, card_id: int) -> CardState | None:
        with self._reading() as conn:
            row = self._run(
                conn,
                "SELECT state, step, stability, difficulty, due, last_review FROM card_states"
                " WHERE student_id = ? AND card_id = ?",
                (student_id, card_id),
            ).fetchone()
        return CardState(*row) if row else None

    # -- progress --

    def deck_progress(self, student_id: str, now: float, curve: RecallCurve, days: int = 14) -> list[DeckProgress]:
        """Per visible deck: cards, new, due now, reviews in the last 7 days (UTC days, today
        included: the last seven bars of the activity), the average recall probability now of
        the reviewed cards, and reviews per UTC day over the last `days` days.
        Aggregates in SQL over indexes, the recall probability included (`curve`, the scheduler's)."""
        today = int(now // SECONDS_PER_DAY)
        first_day = today - days + 1
        decks = {deck.id: deck for deck in self.list_decks(student_id)}
        with self._reading() as conn:
            recall = self._retrievability_sql(conn, curve)
            states = {
                row[0]: row[1:]
                for row in self._run(
                    conn,
                    "SELECT deck_id, count(*), sum(CASE WHEN due <= ? THEN 1 ELSE 0 END),"
                    f" avg(CASE WHEN stability IS NOT NULL AND last_review IS NOT NULL THEN {recall} END)"
                    " FROM card_states WHERE student_id = ? GROUP BY deck_id",
                    (now, now, student_id),
                ).fetchall()
            }
            activity: dict[int, list[int]] = {}
            for deck_id, day, count in self._run(
                conn,
                "SELECT deck_id, day, count(*) FROM reviews WHERE student_id = ? AND reviewed_at >= ?"
                " AND reviewed_at <= ? GROUP BY deck_id, day",
                (student_id, first_day * SECONDS_PER_DAY, now),
            ).fetchall():
                activity.setdefault(deck_id, [0] * days)[day - first_day] += count
        result = []
        for deck_id, deck in decks.items():
            reviewed, due, recall_avg = states.get(deck_id, (0, 0, None))
            result.append(
                DeckProgress(
                    deck=deck.name,
                    is_class=deck.is_class,
                    cards=deck.cards,
                    new=max(deck.cards - reviewed, 0),
                    due=int(due or 0),
                    reviews_7d=sum(activity.get(deck_id, [0] * days)[-7:]),
                    retrievability=None if recall_avg is None else float(recall_avg),
                    activity=tuple(activity.get(deck_id, [0] * days)),
                )
            )
        return result

    def _retrievability_sql(self, conn: Any, curve: RecallCurve) -> str:
        """SQL for the recall probability of a state row at the time bound to its `?`.

        The database evaluates the curve from its two constants, with the exact elapsed time in
        days (see ForgettingCurve); an SQLite built without its optional math functions calls the
        curve itself instead."""
        power, greatest = "power", "greatest"
        if isinstance(conn, sqlite3.Connection):
            if not _has_math_functions(conn):
                conn.create_function("tutor_retrievability", 2, curve, deterministic=True)
                return "tutor_retrievability(? - last_review, stability)"
            power, greatest = "pow", "max"  # SQLite's names; its own math is 4x faster than a Python callback
        return (
            f"{power}(1 + {float(curve.factor)!r} * {greatest}(0, (? - last_review) / {float(SECONDS_PER_DAY)!r})"
            f" / stability, {float(curve.decay)!r})"
        )


def _has_math_functions(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT pow(2, 0.5), floor(1.5)").fetchone()
    except sqlite3.OperationalError:
        return False
    return True


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _card_record(row: tuple) -> CardRecord:
    state = None if row[7] is None else CardState(*row[7:13])
    return CardRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], state)
