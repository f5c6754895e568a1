"""Practice in a class database: class decks written only by teachers, each student's review state
and log private, checked with raw SQL on the students' own credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import fsrs
import psycopg
import pytest

from tutor_cli import SessionManager, TutorError, practice

T = 1_795_000_000.0
DECK = "question,answer\nWhat is 2+2?,4\nCapital of France?,Paris\n"


@pytest.fixture
def class_deck(classroom, run_tutor, tmp_path):
    """The teacher imports deck 'week1' for the class through the CLI."""
    names, urls = classroom
    path = tmp_path / "week1.csv"
    path.write_text(DECK, encoding="utf-8")
    result = run_tutor("--database-url", urls["tess"], "deck", "import", str(path), "--class")
    assert result.returncode == 0, result.stderr
    assert "Imported 2 cards into class deck week1" in result.stdout
    return names, urls


def rate_first(url: str, student: str, rating: int, now: float = T) -> None:
    with SessionManager(url) as manager:
        card = manager.store.next_card(student, now)
        practice.rate(manager.store, practice.scheduler(fixed_clock=True), student, card, rating, now, answer="mine")


def test_every_student_reviews_a_class_deck_with_their_own_state(class_deck, run_tutor) -> None:
    names, urls = class_deck
    for who in ("ada", "bob"):
        listing = json.loads(run_tutor("--database-url", urls[who], "deck", "list", "--format", "json").stdout)
        assert [(d["deck"], d["cards"], d["class"]) for d in listing] == [("week1", 2, True)]
    rate_first(urls["ada"], names["ada"], 1)
    rate_first(urls["bob"], names["bob"], 4)
    with SessionManager(urls["ada"]) as ada, SessionManager(urls["bob"]) as bob:
        # ada failed the first card: it is due again in a minute; bob's Easy keeps it away for days.
        assert ada.store.next_due(names["ada"]) == pytest.approx(T + 60)
        assert bob.store.next_due(names["bob"]) > T + 86400
        assert bob.store.next_card(names["bob"], T + 120).question == "Capital of France?"
        assert ada.store.next_card(names["ada"], T + 120).question == "What is 2+2?"
    progress = json.loads(
        run_tutor(
            "--database-url", urls["ada"], "progress", "--format", "json", env={"TUTOR_NOW": "2026-11-18T12:00:00Z"}
        ).stdout
    )
    assert [(p["deck"], p["cards"], p["new"], p["reviews_7d"]) for p in progress] == [("week1", 2, 1, 1)]
    # Three days on, the recall probability PostgreSQL computes is the fsrs package's own.
    later = run_tutor(
        "--database-url", urls["ada"], "progress", "--format", "json", env={"TUTOR_NOW": "2026-11-21T12:00:00Z"}
    )
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    moment = datetime.fromtimestamp(T, UTC)
    card, _ = scheduler.review_card(fsrs.Card(card_id=1, due=moment), fsrs.Rating(1), moment)
    elapsed_days = (datetime(2026, 11, 21, 12, tzinfo=UTC) - moment).total_seconds() / 86400
    expected = (1 + scheduler._FACTOR * elapsed_days / card.stability) ** scheduler._DECAY  # the exact time
    assert 0 < expected < 0.9
    assert json.loads(later.stdout)[0]["retrievability"] == pytest.approx(expected, abs=1e-4)
    teacher_decks = json.loads(run_tutor("--database-url", urls["tess"], "deck", "list", "--format", "json").stdout)
    assert [(d["deck"], d["class"]) for d in teacher_decks] == [("week1", True)]
    # The teacher reads a student's progress, through the same figures.
    teacher_view = run_tutor(
        "--database-url",
        urls["tess"],
        "progress",
        "--student",
        names["bob"],
        "--format",
        "json",
        env={"TUTOR_NOW": "2026-11-18T12:00:00Z"},
    )
    assert teacher_view.returncode == 0, teacher_view.stderr
    assert json.loads(teacher_view.stdout)[0]["reviews_7d"] == 1


def test_a_student_cannot_read_anothers_reviews_or_states_in_raw_sql(class_deck) -> None:
    names, urls = class_deck
    rate_first(urls["ada"], names["ada"], 3)
    rate_first(urls["bob"], names["bob"], 2)
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        assert {row[0] for row in conn.execute("SELECT student_id FROM reviews")} == {names["ada"]}
        assert {row[0] for row in conn.execute("SELECT student_id FROM card_states")} == {names["ada"]}
        assert conn.execute("SELECT count(*) FROM reviews WHERE student_id = %s", (names["bob"],)).fetchone()[0] == 0
        assert conn.execute("UPDATE card_states SET due = 0 WHERE student_id = %s", (names["bob"],)).rowcount == 0
        card_id = conn.execute("SELECT id, deck_id FROM cards LIMIT 1").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO reviews (student_id, card_id, deck_id, rating, reviewed_at, day, state, due)"
                " VALUES (%s, %s, %s, 3, 0, 0, 2, 0)",
                (names["bob"], *card_id),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the log is append-only
            conn.execute("DELETE FROM reviews")
    with psycopg.connect(urls["tess"], autocommit=True) as conn:
        assert {row[0] for row in conn.execute("SELECT student_id FROM reviews")} == {names["ada"], names["bob"]}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE card_states SET due = 0")


def test_a_student_cannot_change_a_class_deck(class_deck, run_tutor, tmp_path) -> None:
    names, urls = class_deck
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        deck_id = conn.execute("SELECT id FROM decks WHERE name = 'week1'").fetchone()[0]
        assert conn.execute("UPDATE decks SET name = 'mine' WHERE id = %s", (deck_id,)).rowcount == 0
        assert conn.execute("UPDATE cards SET topic = 'x' WHERE deck_id = %s", (deck_id,)).rowcount == 0
        assert conn.execute("DELETE FROM cards WHERE deck_id = %s", (deck_id,)).rowcount == 0
        assert conn.execute("DELETE FROM decks WHERE id = %s", (deck_id,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO cards (deck_id, student_id, question, answer, content_hash, created_at)"
                " VALUES (%s, '', 'planted', 'x', 'h', 0)",
                (deck_id,),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO decks (student_id, name, created_at) VALUES ('', 'fake class deck', 0)")
        # A card of one's own cannot be slipped into the class deck either (the deck's owner must match).
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO cards (deck_id, student_id, question, answer, content_hash, created_at)"
                " VALUES (%s, %s, 'planted', 'x', 'h', 0)",
                (deck_id, names["ada"]),
            )
    path = tmp_path / "week1.csv"
    path.write_text("question,answer\nplanted,x\n", encoding="utf-8")
    refused = run_tutor("--database-url", urls["ada"], "deck", "import", str(path), "--class")
    assert refused.returncode == 1 and "Only a teacher or the administrator" in refused.stderr
    refused = run_tutor("--database-url", urls["ada"], "deck", "delete", "week1", "--class", "--yes")
    assert refused.returncode == 1
    with SessionManager(urls["admin"]) as admin:
        assert admin.store.deck_size("", "week1") == 2


def test_personal_decks_stay_private_and_the_teacher_writes_only_class_decks(class_deck, run_tutor, tmp_path) -> None:
    names, urls = class_deck
    path = tmp_path / "mine.csv"
    path.write_text("question,answer\nmy secret card,x\n", encoding="utf-8")
    assert run_tutor("--database-url", urls["ada"], "deck", "import", str(path)).returncode == 0
    with psycopg.connect(urls["bob"], autocommit=True) as conn:
        assert [row[0] for row in conn.execute("SELECT name FROM decks")] == ["week1"]
        assert "my secret card" not in {row[0] for row in conn.execute("SELECT question FROM cards")}
    with psycopg.connect(urls["tess"], autocommit=True) as conn:
        assert "my secret card" in {row[0] for row in conn.execute("SELECT question FROM cards")}
        assert conn.execute("UPDATE cards SET topic = 'y' WHERE student_id = %s", (names["ada"],)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO decks (student_id, name, created_at) VALUES (%s, 'imposed', 0)", (names["ada"],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE sessions SET model = 'x'")
    teacher = run_tutor("--database-url", urls["tess"], "deck", "import", str(path))
    assert teacher.returncode == 1 and "--class" in teacher.stderr
    with SessionManager(urls["tess"]) as tess, pytest.raises(TutorError):
        practice.rate(
            tess.store, practice.scheduler(fixed_clock=True), names["ada"], tess.store.next_card(names["ada"], T), 3, T
        )


def test_the_teacher_deletes_a_class_deck_with_every_students_reviews_of_it(class_deck, run_tutor) -> None:
    names, urls = class_deck
    rate_first(urls["ada"], names["ada"], 3)
    rate_first(urls["bob"], names["bob"], 3)
    result = run_tutor("--database-url", urls["tess"], "deck", "delete", "week1", "--class", "--yes")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(urls["admin"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM cards").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM card_states").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
