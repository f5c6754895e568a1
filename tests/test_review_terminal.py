"""`tutor review` and the chat's `/card` in a real pseudo-terminal, against the fake server, with
TUTOR_NOW fixed: what the student sees, what is stored, and that the dates are FSRS's own."""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs

from tests.conftest import assert_no_traceback
from tests.fake_server import FakeServer, Reply
from tutor_cli import SessionManager

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NOW = {"TUTOR_NOW": "2026-11-25T09:00:00Z"}
ANSWER_PROMPT = "your answer ›"
RATE_PROMPT = "(q stops)"
DECK = "question,answer\nWhat is 2+2?,4\nCapital of France?,Paris\nd/dx of x^2?,2x\nH2O is?,water\n"


def import_deck(run_tutor, tmp_path: Path, text: str = DECK, name: str = "basics") -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    result = run_tutor("deck", "import", str(path), env=NOW)
    assert result.returncode == 0, result.stderr


def reviews(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "tutor.db") as conn:
        return conn.execute(
            "SELECT c.question, r.rating, r.reviewed_at, r.due, r.answer, r.feedback FROM reviews r"
            " JOIN cards c ON c.id = r.card_id ORDER BY r.id"
        ).fetchall()


def states(home: Path) -> dict[str, tuple]:
    with sqlite3.connect(home / "tutor.db") as conn:
        rows = conn.execute(
            "SELECT c.question, s.state, s.step, s.stability, s.difficulty, s.due, s.last_review"
            " FROM card_states s JOIN cards c ON c.id = s.card_id"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def replay(history: list[tuple[datetime, int]]) -> fsrs.Card:
    """What the fsrs package computes for these ratings of one card (fuzz off, as under TUTOR_NOW)."""
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=1, due=history[0][0])
    for moment, rating in history:
        card, _ = scheduler.review_card(card, fsrs.Rating(rating), moment)
    return card


def review_one(term, answer: str, rating: str, feedback: str | None = None) -> None:
    term.expect(ANSWER_PROMPT)
    term.type(answer)
    if feedback:
        term.expect(feedback)
    term.expect(RATE_PROMPT)
    term.send(rating)
    term.expect("next review")


def test_a_review_streams_feedback_stores_each_rating_and_follows_fsrs(
    terminal, run_tutor, fake_server: FakeServer, home: Path, tmp_path: Path
) -> None:
    import_deck(run_tutor, tmp_path)
    fake_server.reply(*(Reply(content=f"Feedback number {n}: close enough.", chunk_size=5) for n in range(1, 5)))
    term = terminal("review", env=NOW)
    term.expect("What is 2+2?")
    review_one(term, "four", "1", "Feedback number 1")
    term.expect("Capital of France?")
    review_one(term, "Paris", "2", "Feedback number 2")
    review_one(term, "2x", "3", "Feedback number 3")
    review_one(term, "water", "4", "Feedback number 4")
    term.expect("Reviewed 4 cards. Nothing more is due now.")
    assert term.finish() == 0
    # The card's answer is shown after the feedback, then the next due time.
    screen = term.screen
    assert screen.index("Feedback number 1") < screen.index("Answer") < screen.index("next review in 1 minute")

    stored = reviews(home)
    assert [(q, rating, answer) for q, rating, _, _, answer, _ in stored] == [
        ("What is 2+2?", 1, "four"),
        ("Capital of France?", 2, "Paris"),
        ("d/dx of x^2?", 3, "2x"),
        ("H2O is?", 4, "water"),
    ]
    assert [feedback for *_, feedback in stored] == [f"Feedback number {n}: close enough." for n in range(1, 5)]
    assert {reviewed_at for _, _, reviewed_at, *_ in stored} == {T0.timestamp()}
    dues = [due for _, _, _, due, _, _ in stored]
    assert dues == sorted(dues) and len(set(dues)) == 4  # Again < Hard < Good < Easy
    for (_, rating, *_), due in zip(stored, dues, strict=True):
        assert due == replay([(T0, rating)]).due.timestamp()
    assert datetime.fromtimestamp(dues[0], UTC).date() == T0.date()  # Again: due again the same day
    assert dues[0] - T0.timestamp() < dues[2] - T0.timestamp() <= 3600  # Good within the hour, Again sooner

    # The feedback request compared the typed answer with the card's answer, and nothing else was sent.
    body = fake_server.chat_requests[0]["body"]["messages"]
    assert [m["role"] for m in body] == ["system", "user"]
    assert "What is 2+2?" in body[1]["content"] and "four" in body[1]["content"] and "4" in body[1]["content"]


def test_a_card_comes_back_when_due_and_its_state_is_what_fsrs_computes_for_its_history(
    terminal, run_tutor, home: Path, tmp_path: Path
) -> None:
    import_deck(run_tutor, tmp_path, "question,answer\nWhat is 2+2?,4\n")
    no_key = {**NOW, "DEEPSEEK_API_KEY": ""}
    term = terminal("review", env=no_key)
    term.expect("without the tutor's feedback")
    review_one(term, "five", "1")
    term.expect("The next card is due in 1 minute (09:01 UTC)")
    assert term.finish() == 0

    later = T0 + timedelta(minutes=2)
    term = terminal("review", env={"TUTOR_NOW": later.isoformat(), "DEEPSEEK_API_KEY": ""})
    term.expect("What is 2+2?")
    review_one(term, "4", "3")
    assert term.finish() == 0
    expected = replay([(T0, 1), (later, 3)])
    state = states(home)["What is 2+2?"]
    assert state == (
        int(expected.state),
        expected.step,
        expected.stability,
        expected.difficulty,
        expected.due.timestamp(),
        expected.last_review.timestamp(),
    )


def test_q_and_ctrl_d_stop_keeping_every_rating_given(terminal, run_tutor, home: Path, tmp_path: Path) -> None:
    import_deck(run_tutor, tmp_path)
    env = {**NOW, "DEEPSEEK_API_KEY": ""}
    term = terminal("review", env=env)
    review_one(term, "4", "3")
    term.expect(ANSWER_PROMPT)
    term.type("Paris")
    term.expect(RATE_PROMPT)
    term.send("q")
    term.expect("Reviewed 1 card.")
    assert term.finish() == 0
    assert [row[0] for row in reviews(home)] == ["What is 2+2?"]

    term = terminal("review", env=env)
    term.expect("Capital of France?")  # goes on where it stopped
    review_one(term, "Paris", "3")
    term.expect(ANSWER_PROMPT)
    term.ctrl("d")
    term.expect("Reviewed 1 card.")
    assert term.finish() == 0
    assert [row[0] for row in reviews(home)] == ["What is 2+2?", "Capital of France?"]


def test_limit_stops_after_that_many_cards(terminal, run_tutor, home: Path, tmp_path: Path) -> None:
    import_deck(run_tutor, tmp_path)
    term = terminal("review", "--limit", "2", env={**NOW, "DEEPSEEK_API_KEY": ""})
    review_one(term, "4", "3")
    review_one(term, "Paris", "3")
    term.expect("Reviewed 2 cards.")
    assert term.finish() == 0
    assert len(reviews(home)) == 2


def test_an_api_failure_leaves_the_review_going_without_feedback(
    terminal, run_tutor, fake_server: FakeServer, home: Path, tmp_path: Path
) -> None:
    import_deck(run_tutor, tmp_path)
    fake_server.reply(status=401, error_message="Authentication Fails")
    term = terminal("review", env=NOW)
    term.expect(ANSWER_PROMPT)
    term.type("four")
    term.expect("No feedback:")
    term.expect(RATE_PROMPT)
    term.send("3")
    term.expect("next review")
    review_one(term, "Paris", "3")
    term.expect(ANSWER_PROMPT)
    term.ctrl("d")
    assert term.finish() == 0
    assert [(q, rating, feedback) for q, rating, _, _, _, feedback in reviews(home)] == [
        ("What is 2+2?", 3, None),
        ("Capital of France?", 3, None),
    ]
    assert len(fake_server.chat_requests) == 1  # no more tries after the key was refused
    assert "sk-" not in term.screen


def test_kill_during_a_review_loses_at_most_the_card_on_screen(
    terminal, run_tutor, fake_server: FakeServer, home: Path, tmp_path: Path
) -> None:
    import_deck(run_tutor, tmp_path)
    fake_server.reply(Reply(content="ok"), Reply(content="ok"), Reply(content="a long feedback " * 200, delay=0.05))
    term = terminal("review", env=NOW)
    review_one(term, "4", "3")
    review_one(term, "Paris", "2")
    term.expect(ANSWER_PROMPT)
    term.type("2x")
    term.expect("a long feedback")  # the third card's feedback is streaming
    os.kill(term.child.pid, signal.SIGKILL)
    term.child.wait()
    assert [(q, rating) for q, rating, *_ in reviews(home)] == [("What is 2+2?", 3), ("Capital of France?", 2)]
    assert set(states(home)) == {"What is 2+2?", "Capital of France?"}
    with sqlite3.connect(home / "tutor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_nothing_due_says_when_the_next_card_is(terminal, run_tutor, home: Path, tmp_path: Path) -> None:
    import_deck(run_tutor, tmp_path, "question,answer\nWhat is 2+2?,4\n")
    env = {**NOW, "DEEPSEEK_API_KEY": ""}
    term = terminal("review", env=env)
    review_one(term, "4", "4")  # Easy: days away
    assert term.finish() == 0
    due = replay([(T0, 4)]).due
    term = terminal("review", env=env)
    term.expect(f"Nothing is due. The next card is due in {(due - T0).days} days ({due:%Y-%m-%d}).")
    assert term.finish() == 0


def test_no_cards_and_unknown_decks(terminal, run_tutor, tmp_path: Path) -> None:
    term = terminal("review", env=NOW)
    term.expect("No cards to review")
    assert term.finish() == 0
    term = terminal("review", "--deck", "nope", env=NOW)
    term.expect("There is no deck 'nope'")
    assert term.finish() == 1


def test_review_without_a_terminal_is_one_sentence(run_tutor) -> None:
    result = run_tutor("review", input="3\n")
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "needs a terminal" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- /card in the chat --------------------------------------------------------------------


def chat_cards(home: Path) -> list[tuple[str, str]]:
    with SessionManager(home / "tutor.db") as manager, manager.store._reading() as conn:
        return conn.execute(
            "SELECT c.question, c.answer FROM cards c JOIN decks d ON d.id = c.deck_id"
            " WHERE d.name = 'chat' AND c.student_id = 'ada' ORDER BY c.id"
        ).fetchall()


def test_card_in_the_chat_makes_a_card_of_the_latest_exchange(terminal, fake_server: FakeServer, home: Path) -> None:
    term = terminal("chat", "--session", "s")
    term.prompt()
    term.ask("What is the derivative of x^2?")
    fake_server.reply(
        content='Here it is:\n```json\n{"question": "What is d/dx of x^2?", "answer": "2x"}\n```',
    )
    term.type("/card")
    term.expect("What is d/dx of x^2?")
    term.expect("Keep this card in deck chat? [y/N]")
    term.type("y")
    term.expect("Kept in deck chat")
    term.prompt()
    request = fake_server.chat_requests[-1]["body"]["messages"]
    assert "What is the derivative of x^2?" in request[1]["content"]
    assert "Answer to: What is the derivative of x^2?" in request[1]["content"]
    assert chat_cards(home) == [("What is d/dx of x^2?", "2x")]

    fake_server.reply(content="I would rather not make a card.")
    term.type("/card")
    term.expect("could not be read as a card; nothing was stored")
    term.prompt()
    fake_server.reply(content='{"question": "Another?", "answer": "yes"}')
    term.type("/card")
    term.expect("Keep this card in deck chat? [y/N]")
    term.type("n")
    term.expect("Not kept.")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert chat_cards(home) == [("What is d/dx of x^2?", "2x")]
    # The card requests are not part of the session.
    with SessionManager(home / "tutor.db") as manager:
        assert len(manager.store.get_messages("ada", "s")) == 2


def test_card_before_any_answer_says_so(terminal, fake_server: FakeServer, home: Path) -> None:
    term = terminal("chat")
    term.prompt()
    term.type("/card")
    term.expect("no answered question to make a card from")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert fake_server.chat_requests == []
