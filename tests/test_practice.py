"""Practice on a personal store: deck import, list and delete through the CLI, FSRS scheduling and
the progress figures against a known history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
import pytest

from tests.conftest import assert_no_traceback
from tutor_cli import SessionManager, practice
from tutor_cli.config import now as clock

NOW = "2026-11-25T09:00:00Z"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def cards_of(home: Path, student: str = "ada") -> list[tuple[str, str, str | None, str]]:
    with SessionManager(home / "tutor.db") as manager, manager.store._reading() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                "SELECT d.name, c.question, c.answer, c.topic FROM cards c JOIN decks d ON d.id = c.deck_id"
                " WHERE c.student_id = ? ORDER BY c.id",
                (student,),
            )
        ]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- import -------------------------------------------------------------------------------


def test_a_good_csv_is_imported_into_a_deck_named_after_the_file(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "algebra.csv", "question,answer,topic\nWhat is 2+2?,4,arithmetic\nd/dx x²?,2x,\n")
    result = run_tutor("deck", "import", str(deck))
    assert result.returncode == 0, result.stderr
    assert "Imported 2 cards into deck algebra" in result.stdout
    assert cards_of(home) == [
        ("algebra", "What is 2+2?", "4", "arithmetic"),
        ("algebra", "d/dx x²?", "2x", None),
    ]
    listing = json.loads(run_tutor("deck", "list", "--format", "json").stdout)
    assert [(d["deck"], d["cards"], d["class"]) for d in listing] == [("algebra", 2, False)]


def test_a_bad_row_names_its_line_and_nothing_is_imported(run_tutor, home, tmp_path) -> None:
    deck = write(
        tmp_path / "bio.csv", 'question,answer\n"What is a cell?",The unit of life\n"multi\nline",ok\nOrgan?,\n'
    )
    result = run_tutor("deck", "import", str(deck))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "line 5" in result.stderr and "answer is empty" in result.stderr and "nothing was imported" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cards_of(home) == []
    assert json.loads(run_tutor("deck", "list", "--format", "json").stdout) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("question,answer\n,an answer\n", "line 2: the question is empty"),
        ("question,answer\nq1,a1\n  ,  \t\nq3,   \n", "line 4: the answer is empty"),
        ("question,reply\nq,a\n", "line 1: the header must name the columns question and answer"),
        ("question,answer,notes\nq,a,n\n", "line 1: unknown column 'notes'"),
        ("question,answer\nq,a,extra\n", "line 2: 3 fields, but the header names 2 columns"),
        ('question,answer\nq,"never closed\n', "line 2: this row cannot be read as CSV"),
        ('"question"x,answer\nq,a\n', "line 1: the header cannot be read as CSV"),
        ("", "is empty"),
        ("question,answer\n", "has a header but no cards"),
    ],
)
def test_bad_files_are_one_sentence_and_import_nothing(run_tutor, home, tmp_path, text, problem) -> None:
    result = run_tutor("deck", "import", str(write(tmp_path / "deck.csv", text)))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert problem in result.stderr
    assert cards_of(home) == []


def test_a_file_that_is_not_utf8_is_refused_with_its_line(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "fr.csv", "question,answer\nCapitale?,Paris\nÉté?,summer\n", encoding="latin-1")
    result = run_tutor("deck", "import", str(deck))
    assert result.returncode == 1 and "line 3: not UTF-8" in result.stderr
    assert cards_of(home) == []


def test_a_missing_file_is_one_sentence(run_tutor, tmp_path) -> None:
    result = run_tutor("deck", "import", str(tmp_path / "nope.csv"))
    assert result.returncode == 1 and "Cannot read" in result.stderr
    assert_no_traceback(result)


def test_importing_the_same_file_again_adds_no_duplicates(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "algebra.csv", "question,answer\nq1,a1\nq2,a2\nq1,a1\n")
    first = run_tutor("deck", "import", str(deck))
    assert "Imported 2 cards" in first.stdout and "1 already there" in first.stdout
    again = run_tutor("deck", "import", str(deck))
    assert again.returncode == 0 and "Imported 0 cards" in again.stdout and "3 already there" in again.stdout
    write(deck, "question,answer\nq1,a1\nq3,a3\n")
    grown = run_tutor("deck", "import", str(deck))
    assert "Imported 1 card into" in grown.stdout
    assert [c[1] for c in cards_of(home)] == ["q1", "q2", "q3"]


def test_a_card_is_the_same_card_whatever_its_topic_says(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "algebra.csv", "question,answer,topic\nq1,a1,algebra\nq2,a2,\n")
    assert "Imported 2 cards" in run_tutor("deck", "import", str(deck)).stdout
    write(deck, "question,answer,topic\nq1,a1,ALGEBRA II\nq2,a2,new topic\nq2,a2 changed,\n")
    again = run_tutor("deck", "import", str(deck))
    assert again.returncode == 0, again.stderr
    assert "Imported 1 card into deck algebra (2 already there)" in again.stdout
    assert cards_of(home) == [
        ("algebra", "q1", "a1", "algebra"),
        ("algebra", "q2", "a2", None),
        ("algebra", "q2", "a2 changed", None),
    ]


def test_tsv_with_a_bom_quoted_commas_and_newlines(run_tutor, home, tmp_path) -> None:
    tsv = write(tmp_path / "words.tsv", "\ufeffQuestion\tAnswer\tTopic\nhola\thello, hi\tgreetings\n", encoding="utf-8")
    assert run_tutor("deck", "import", str(tsv)).returncode == 0
    csv_file = write(
        tmp_path / "quotes.csv",
        '\ufefftopic,question,answer\r\nmath,"Sum, then product?","first ""add"",\nthen multiply"\r\n',
    )
    result = run_tutor("deck", "import", str(csv_file), "--deck", "math")
    assert result.returncode == 0, result.stderr
    assert cards_of(home) == [
        ("words", "hola", "hello, hi", "greetings"),
        ("math", "Sum, then product?", 'first "add",\nthen multiply', "math"),
    ]


def test_a_tab_separated_file_is_recognised_by_its_header_whatever_its_name(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "deck.txt", "question\tanswer\n1, 2, 3?\tcounting\n")
    assert run_tutor("deck", "import", str(deck)).returncode == 0
    assert cards_of(home) == [("deck", "1, 2, 3?", "counting", None)]


def test_class_decks_need_a_class_database(run_tutor, tmp_path) -> None:
    result = run_tutor("deck", "import", str(write(tmp_path / "d.csv", "question,answer\nq,a\n")), "--class")
    assert result.returncode == 1 and "needs a class database" in result.stderr


def test_delete_asks_first_and_removes_cards_and_reviews(run_tutor, home, tmp_path) -> None:
    run_tutor("deck", "import", str(write(tmp_path / "algebra.csv", "question,answer\nq1,a1\nq2,a2\n")))
    with SessionManager(home / "tutor.db") as manager:
        card = manager.store.next_card("ada", clock())
        practice.rate(manager.store, practice.scheduler(fixed_clock=True), "ada", card, 3, clock())
    refused = run_tutor("deck", "delete", "algebra", input="n\n")
    assert refused.returncode == 1 and "Nothing was deleted" in refused.stderr
    assert len(cards_of(home)) == 2
    done = run_tutor("deck", "delete", "algebra", input="y\n")
    assert done.returncode == 0 and "Deleted deck algebra (2 cards)" in done.stdout
    assert cards_of(home) == []
    with SessionManager(home / "tutor.db") as manager, manager.store._reading() as conn:
        assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM card_states").fetchone()[0] == 0
    missing = run_tutor("deck", "delete", "algebra", "--yes")
    assert missing.returncode == 1 and "no deck 'algebra'" in missing.stderr


# --- scheduling and progress --------------------------------------------------------------


def test_the_forgetting_curve_is_the_schedulers_own() -> None:
    """Equal to the fsrs package's at whole days; between them it goes on falling (the package
    counts whole days only), through the same curve."""
    scheduler = fsrs.Scheduler()
    curve = practice.ForgettingCurve.of(scheduler)
    for stability in (0.2, 1.3, 8.3, 40.0):
        for elapsed in (0, 86400, 5 * 86400, 100 * 86400):
            card = fsrs.Card(card_id=1, stability=stability, difficulty=5, last_review=T0, due=T0)
            expected = scheduler.get_card_retrievability(card, T0 + timedelta(seconds=elapsed))
            assert curve(elapsed, stability) == pytest.approx(expected, abs=1e-12)
        for elapsed in (3599, 86399, 5 * 86400 + 7):
            days = elapsed / 86400
            expected = (1 + scheduler._FACTOR * days / stability) ** scheduler._DECAY
            assert curve(elapsed, stability) == pytest.approx(expected, abs=1e-12)
            assert curve(elapsed - 1, stability) > curve(elapsed, stability)


def replay(history: list[tuple[datetime, int]]) -> fsrs.Card:
    """What the fsrs package itself computes for a card's ratings (no fuzz)."""
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=1, due=history[0][0])
    for moment, rating in history:
        card, _ = scheduler.review_card(card, fsrs.Rating(rating), moment)
    return card


def test_progress_figures_follow_a_known_history(run_tutor, home, tmp_path, monkeypatch) -> None:
    """Deck algebra: a reviewed three times over ten days, b failed five days ago, c new.
    Deck biology: d learnt seven days ago (just outside the last seven UTC days),
    rated Easy yesterday. Figures at T0, from `tutor progress --format json`."""
    run_tutor("deck", "import", str(write(tmp_path / "algebra.csv", "question,answer\na,1\nb,2\nc,3\n")))
    run_tutor("deck", "import", str(write(tmp_path / "biology.csv", "question,answer\nd,4\n")))
    history = {
        "a": [
            (T0 - timedelta(days=10), 3),
            (T0 - timedelta(days=10) + timedelta(minutes=11), 3),
            (T0 - timedelta(days=3), 3),
        ],
        "b": [(T0 - timedelta(days=5), 1)],
        "d": [(T0 - timedelta(days=7), 3), (T0 - timedelta(days=7, minutes=-11), 3), (T0 - timedelta(days=1), 4)],
    }
    scheduler = practice.scheduler(fixed_clock=True)
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        events = sorted(
            (moment, question, rating) for question, ratings in history.items() for moment, rating in ratings
        )
        for moment, question, rating in events:
            now = moment.timestamp()
            practice.rate(store, scheduler, "ada", _card(store, question), rating, now)
    result = run_tutor("progress", "--format", "json", env={"TUTOR_NOW": NOW})
    assert result.returncode == 0, result.stderr
    figures = {row["deck"]: row for row in json.loads(result.stdout)}
    expected_cards = {question: replay(ratings) for question, ratings in history.items()}
    retrievability = {q: fsrs.Scheduler().get_card_retrievability(card, T0) for q, card in expected_cards.items()}
    due = {q for q, card in expected_cards.items() if card.due <= T0}
    assert due == {"b"}  # a was reviewed three days ago (Good, due later), d yesterday (Easy)
    algebra, biology = figures["algebra"], figures["biology"]
    assert (algebra["cards"], algebra["new"], algebra["due"], algebra["reviews_7d"]) == (3, 1, 1, 2)
    assert algebra["retrievability"] == pytest.approx((retrievability["a"] + retrievability["b"]) / 2, abs=1e-4)
    assert (biology["cards"], biology["new"], biology["due"], biology["reviews_7d"]) == (1, 0, 0, 1)
    assert biology["retrievability"] == pytest.approx(retrievability["d"], abs=1e-4)
    assert [day["date"] for day in algebra["activity_14d"]][-1] == "2026-11-25"
    assert [day["reviews"] for day in algebra["activity_14d"]] == [0] * 3 + [2] + [0] * 4 + [1] + [0] * 1 + [1] + [
        0
    ] * 3
    assert [day["reviews"] for day in biology["activity_14d"]] == [0] * 6 + [2] + [0] * 5 + [1, 0]
    table = run_tutor("progress", env={"TUTOR_NOW": NOW, "COLUMNS": "120"})
    assert table.returncode == 0
    row = next(line for line in table.stdout.splitlines() if "algebra" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:5] == ["algebra", "3", "1", "1", "2"]
    assert cells[5] == practice.recall_percent(algebra["retrievability"])
    # One block a day, today last: two reviews the tallest day, one review half as tall.
    assert cells[6] == "···█····▄·▄···"


def _card(store, question: str):
    with store._reading() as conn:
        card_id = conn.execute("SELECT id FROM cards WHERE question = ?", (question,)).fetchone()[0]
    state = store.card_state("ada", card_id)
    with store._reading() as conn:
        deck_id, deck = conn.execute(
            "SELECT d.id, d.name FROM cards c JOIN decks d ON d.id = c.deck_id WHERE c.id = ?", (card_id,)
        ).fetchone()
    from tutor_cli.store.practice import CardRecord

    return CardRecord(card_id, deck_id, deck, False, question, "", None, state)


def test_due_cards_come_before_new_ones_and_the_deck_filter_holds(home) -> None:
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        t = T0.timestamp()
        practice.import_deck(store, "ada", "one", [practice.NewCard("q1", "a1"), practice.NewCard("q2", "a2")], t)
        practice.import_deck(store, "ada", "two", [practice.NewCard("r1", "b1")], t)
        practice.import_deck(store, "bob", "one", [practice.NewCard("bob's", "x")], t)
        scheduler = practice.scheduler(fixed_clock=True)
        assert store.next_card("ada", t).question == "q1"
        practice.rate(store, scheduler, "ada", store.next_card("ada", t), 1, t)  # q1: Again, due in a minute
        assert store.next_card("ada", t).question == "q2"
        later = t + 120
        assert store.next_card("ada", later).question == "q1"  # due again comes first
        assert store.next_card("ada", later, deck="two").question == "r1"
        assert store.next_card("bob", t).question == "bob's"
        assert store.next_due("ada") == pytest.approx(t + 60)


def test_progress_is_the_same_on_an_sqlite_without_math_functions(home, monkeypatch) -> None:
    """Some SQLite builds lack pow(): the curve is then called from SQL, with the same figures."""
    from tutor_cli.store import practice as practice_store

    with SessionManager(home / "tutor.db") as manager:
        store, t = manager.store, T0.timestamp()
        practice.import_deck(store, "ada", "one", [practice.NewCard(f"q{n}", "a") for n in range(5)], t - 30 * 86400)
        scheduler = practice.scheduler(fixed_clock=True)
        for n, rating in enumerate((1, 2, 3, 4, 3)):
            practice.rate(
                store, scheduler, "ada", store.next_card("ada", t - 20 * 86400 + n), rating, t - 20 * 86400 + n
            )
        with_math = practice.progress(store, scheduler, "ada", t)
        monkeypatch.setattr(practice_store, "_has_math_functions", lambda conn: False)
        without = practice.progress(store, scheduler, "ada", t)
    assert with_math[0].retrievability == pytest.approx(without[0].retrievability, abs=1e-12)
    assert 0 < with_math[0].retrievability < 1 and with_math[0].reviews_7d == 0 and with_math[0].due >= 1


def test_deck_names_are_shown_literally(run_tutor, tmp_path) -> None:
    deck = str(write(tmp_path / "d.csv", "question,answer\nq,a\n"))
    refused = run_tutor("deck", "import", deck, "--deck", "x\x1b[2J")
    assert refused.returncode == 1 and "printable characters" in refused.stderr
    assert run_tutor("deck", "import", deck, "--deck", "[bold]x").returncode == 0
    for command in (("deck", "list"), ("progress",)):
        shown = run_tutor(*command, env={"COLUMNS": "120"}).stdout
        assert "[bold]x" in shown and "\x1b" not in shown


# --- a state or a review names only a card of its student or of the class ---------------------


def test_a_personal_store_keeps_states_and_reviews_on_cards_their_student_may_read(tmp_path) -> None:
    import sqlite3

    from tutor_cli.store import MIGRATIONS, apply_migrations

    path = tmp_path / "tutor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    before = [step.name for step in MIGRATIONS].index("no_row_meets_a_private_card")
    apply_migrations(conn, MIGRATIONS[:before])  # nothing stopped bob's rows on ada's card yet
    for owner, card in (("ada", 1), ("", 2), ("bob", 3)):
        conn.execute("INSERT INTO decks (id, student_id, name, created_at) VALUES (?, ?, 'd', 0)", (card, owner))
        conn.execute(
            "INSERT INTO cards (id, deck_id, student_id, question, answer, content_hash, created_at)"
            " VALUES (?, ?, ?, 'q', 'a', 'h', 0)",
            (card, card, owner),
        )
    state = "INSERT INTO card_states (student_id, card_id, deck_id, state, due) VALUES (?, ?, ?, 2, 0)"
    review = (
        "INSERT INTO reviews (student_id, card_id, deck_id, rating, reviewed_at, day, state, due)"
        " VALUES (?, ?, ?, 3, 0, 0, 2, 0)"
    )
    for card in (1, 2, 3):
        conn.execute(state, ("bob", card, card))
        conn.execute(review, ("bob", card, card))
    conn.close()
    with SessionManager(path) as manager, manager.store._reading() as conn:  # the upgrade removes the foreign ones
        kept = conn.execute("SELECT card_id FROM card_states UNION ALL SELECT card_id FROM reviews").fetchall()
        assert sorted(kept) == [(2,), (2,), (3,), (3,)]
        for sql in (state, review):
            with pytest.raises(sqlite3.IntegrityError, match="only a card of its student or of the class"):
                conn.execute(sql, ("bob", 1, 1))
