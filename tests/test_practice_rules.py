"""Practice rules by direct calls (tutor_cli/practice.py) on real files and a real SQLite store: deck
files and their errors, deck names, scheduling through FSRS, due times for people, and cards from
the chat. No subprocess and no terminal: milliseconds each, so a mutation run checks every rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
import pytest

from tutor_cli import SessionManager, practice
from tutor_cli.errors import ConfigError
from tutor_cli.practice import DeckFileError, NewCard

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(home):
    with SessionManager(home / "tutor.db") as manager:
        yield manager.store


def deck(tmp_path: Path, text: str, name: str = "d.csv") -> list[NewCard]:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return practice.read_deck_file(path)


def refusal(tmp_path: Path, text: str | bytes, name: str = "d.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(DeckFileError) as refused:
        practice.read_deck_file(path)
    return str(refused.value).replace(str(path), "FILE")


# --- deck files -------------------------------------------------------------------------------

MULTILINE = 'question,answer,topic\nQ1,"two\nlines",algebra\n Q2 , A2 ,\n\n"Q3, with a comma",A3,  \n'
CARDS = [NewCard("Q1", "two\nlines", "algebra"), NewCard("Q2", "A2"), NewCard("Q3, with a comma", "A3")]


def test_a_deck_file_gives_its_cards_trimmed_with_blank_lines_skipped(tmp_path) -> None:
    assert deck(tmp_path, MULTILINE) == CARDS
    assert deck(tmp_path, "\ufeffQuestion , ANSWER\nq,a\n") == [NewCard("q", "a")]  # a BOM, any case
    # A row may leave off its last fields (spreadsheets drop empty trailing cells): the topic is optional.
    assert deck(tmp_path, "question,answer,topic\nq,a\nr,b,t\n") == [NewCard("q", "a"), NewCard("r", "b", "t")]


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["windows", "old-mac"])
def test_a_deck_saved_with_other_line_endings_gives_the_same_cards(tmp_path, store, ending: str) -> None:
    assert deck(tmp_path, MULTILINE.replace("\n", ending)) == CARDS
    tsv = 'question\tanswer\nq1\t"a\nb"\n'
    assert deck(tmp_path, tsv.replace("\n", ending), "d.tsv") == [NewCard("q1", "a\nb")]
    # Saved once each way, the deck holds each card once.
    practice.import_deck(store, "ada", "d", deck(tmp_path, MULTILINE), T0.timestamp())
    assert practice.import_deck(store, "ada", "d", deck(tmp_path, MULTILINE.replace("\n", ending)), 0) == (0, 3)
    # And a bad row is named by the same line.
    bad = 'question,answer\nq1,"a\nb"\nq2,\n'.replace("\n", ending)
    assert refusal(tmp_path, bad) == "FILE, line 4: the answer is empty; nothing was imported."


def test_a_header_that_names_a_column_twice_is_refused_on_line_1(tmp_path) -> None:
    assert refusal(tmp_path, "question,answer,answer\nq,a,b\n") == (
        "FILE, line 1: the column 'answer' appears twice in the header; nothing was imported."
    )
    assert refusal(tmp_path, "Question,answer,question \nq,a,b\n") == (
        "FILE, line 1: the column 'question' appears twice in the header; nothing was imported."
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("question,answer\nq,a\nq2,a2,extra\n", "line 3: 3 fields, but the header names 2 columns"),
        ('question,answer\n"q\n1",a\n,a2\n', "line 4: the question is empty"),
        ("question,answer,topic\nq,  ,t\n", "line 2: the answer is empty"),
        ("question;answer\nq;a\nq2;\n", "line 3: the answer is empty"),
        ("question\tanswer\nq\ta\n\t\n\tx\n", "line 4: the question is empty"),
        ('question,answer\nq,"a"b"\n', "line 2: this row cannot be read as CSV ("),
        ('question;answer\nq;"a"b"\n', "line 2: this row cannot be read as CSV with semicolons ("),
        ('question\tanswer\nq\t"a"b"\n', "line 2: this row cannot be read as TSV ("),
        ("question,answer,notes\nq,a,n\n", "line 1: unknown column 'notes' in the header"),
        ("question,reply\nq,a\n", "line 1: the header must name the columns question and answer (answer missing;"),
        ("answers\nq\n", "(question and answer missing; no comma, semicolon or tab splits it)"),
        ("topic,notes\nq,a\n", "(question and answer missing; read as CSV)"),
    ],
)
def test_a_bad_file_names_the_line_and_the_problem(tmp_path, text: str, said: str) -> None:
    message = refusal(tmp_path, text)
    assert message.startswith("FILE, line ") and said in message and message.endswith("; nothing was imported.")


def test_a_header_without_the_columns_says_how_to_write_one(tmp_path) -> None:
    assert refusal(tmp_path, "question,reply\nq,a\n") == (
        "FILE, line 1: the header must name the columns question and answer (answer missing; read as CSV), "
        "separated by commas, semicolons or tabs; nothing was imported."
    )


def test_files_with_no_cards_or_that_cannot_be_read(tmp_path) -> None:
    empty = "FILE is empty: a deck file starts with a header such as question,answer,topic."
    assert refusal(tmp_path, "") == empty
    assert refusal(tmp_path, " , \n") == empty
    assert refusal(tmp_path, "question,answer\n\n , \n") == "FILE has a header but no cards; nothing was imported."
    assert refusal(tmp_path, "question,answer\nq,a\nq2,\xe9t\xe9\n".encode("latin-1")) == (
        "FILE, line 3: not UTF-8 text; save the file as UTF-8 and import it again."
    )
    assert refusal(tmp_path, b"\nquestion,answer\n\xff\n") == (  # the first line counts even when empty
        "FILE, line 3: not UTF-8 text; save the file as UTF-8 and import it again."
    )
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DeckFileError, match=r"folder\.csv is a folder, not a deck file\.$"):
        practice.read_deck_file(tmp_path / "folder.csv")
    with pytest.raises(DeckFileError, match=r"^Cannot read .*gone\.csv \(No such file or directory\)\.$"):
        practice.read_deck_file(tmp_path / "gone.csv")


# --- which separator ----------------------------------------------------------------------------


def test_the_separator_is_the_one_the_file_uses_whatever_its_name(tmp_path) -> None:
    assert deck(tmp_path, "question;answer\nq;1,5\nr;2,5\n", "d.txt") == [NewCard("q", "1,5"), NewCard("r", "2,5")]
    assert deck(tmp_path, "question\tanswer\nq\ta, b; c\n", "d.csv") == [NewCard("q", "a, b; c")]
    assert deck(tmp_path, "question,answer\nq,a; b\n", "d.tsv") == [NewCard("q", "a; b")]


def test_when_the_lines_do_not_tell_the_name_and_the_header_do(tmp_path) -> None:
    """A tab for .tsv and .tab files and for a header holding one, else a comma."""
    one_column = "question answer\n"
    assert practice.deck_delimiter(one_column, Path("d.tsv")) == "\t"
    assert practice.deck_delimiter(one_column, Path("D.TAB")) == "\t"
    assert practice.deck_delimiter(one_column, Path("d.txt")) == ","
    assert practice.deck_delimiter(one_column, Path("d.csv")) == ","
    uneven = "question\tanswer\tx\nq;a,b\n"  # the sniffer cannot tell
    assert practice.deck_delimiter(uneven, Path("d.txt")) == "\t"
    assert practice.deck_delimiter(uneven, Path("d")) == "\t"
    assert practice.deck_delimiter(uneven, Path("d.csv")) == ","  # a .csv's tab is text
    assert practice.deck_delimiter("question answer x\nq;a,b\tc\n", Path("d.txt")) == ","  # a tab after the header


def test_a_long_file_is_sniffed_on_whole_lines(tmp_path) -> None:
    """Only the file's start is sniffed, cut at a line's end: half a line would not hold its separators."""
    text = "question;answer\n" + "x" * 30_000 + ";a\n" + "y" * 40_000 + ";b\n"
    assert text.index(";b") > practice.SNIFF_CHARS
    assert deck(tmp_path, text) == [NewCard("x" * 30_000, "a"), NewCard("y" * 40_000, "b")]
    many = "question;answer\n" + "".join(f"q{n};{n},5\n" for n in range(10_000))
    assert len(many) > practice.SNIFF_CHARS and deck(tmp_path, many)[-1] == NewCard("q9999", "9999,5")


# --- deck names --------------------------------------------------------------------------------


def test_a_deck_name_is_1_to_100_printable_characters() -> None:
    assert practice.check_deck_name("  algebra 1  ") == "algebra 1"
    assert practice.check_deck_name("x" * 100) == "x" * 100
    assert practice.check_deck_name("é\u00a0ü") == "é\u00a0ü"  # NBSP (160) is printable
    for bad in ("", "   ", "x" * 101, "a\x1b[2J", "a\tb", "a\x7fb", "a\x85b", "a\x9fb", "\x00"):
        with pytest.raises(ConfigError) as refused:
            practice.check_deck_name(bad)
        assert str(refused.value) == (
            f"A deck name must be 1 to 100 printable characters, not {bad.strip()!r}; choose another with --deck."
        )


def test_check_deck_accepts_a_deck_of_the_student_or_the_class_and_none(store) -> None:
    practice.import_deck(store, "ada", "mine", [NewCard("q", "a")], 0)
    practice.import_deck(store, "bob", "bobs", [NewCard("q", "a")], 0)
    practice.check_deck(store, "ada", "mine")
    practice.check_deck(store, "ada", None)
    with pytest.raises(practice.DeckNotFoundError) as refused:
        practice.check_deck(store, "ada", "bobs")
    assert str(refused.value) == "There is no deck 'bobs'; `tutor deck list` shows your decks."


# --- importing ---------------------------------------------------------------------------------


def test_import_counts_cards_repeated_within_the_file_as_already_there(store) -> None:
    cards = [NewCard("q1", "a1"), NewCard("q2", "a2"), NewCard("q1", "a1", "another topic")]
    assert practice.import_deck(store, "ada", "d", cards, 0) == (2, 1)
    assert practice.import_deck(store, "ada", "d", cards + [NewCard("q3", "a3")], 0) == (1, 3)


def test_a_card_from_the_chat_is_kept_once_in_the_chat_deck(store) -> None:
    card = NewCard("What is 2+2?", "4", "arithmetic")
    assert practice.keep_card(store, "ada", card, T0.timestamp()) is True
    assert practice.keep_card(store, "ada", NewCard("What is 2+2?", "4"), T0.timestamp()) is False
    assert practice.keep_card(store, "ada", NewCard("What is 3+3?", "6"), T0.timestamp()) is True
    kept = store.next_card("ada", T0.timestamp(), deck=practice.CHAT_DECK)
    assert (kept.deck, kept.question, kept.answer, kept.topic) == ("chat", "What is 2+2?", "4", "arithmetic")


# --- scheduling --------------------------------------------------------------------------------


def test_fuzz_is_off_only_under_a_fixed_clock() -> None:
    assert practice.scheduler(fixed_clock=True).enable_fuzzing is False
    assert practice.scheduler(fixed_clock=False).enable_fuzzing is True


def test_ratings_are_scheduled_and_stored_as_fsrs_computes_them(store) -> None:
    practice.import_deck(store, "ada", "d", [NewCard("q", "a")], T0.timestamp())
    reference = fsrs.Scheduler(enable_fuzzing=False)
    expected = fsrs.Card(card_id=1, due=T0)
    scheduler = practice.scheduler(fixed_clock=True)
    moments = [T0, T0 + timedelta(minutes=11), T0 + timedelta(days=3), T0 + timedelta(days=20)]
    for moment, rating in zip(moments, (3, 3, 1, 4), strict=True):
        card = store.next_card("ada", moment.timestamp() + 10**8)
        state = practice.rate(
            store, scheduler, "ada", card, rating, moment.timestamp(), answer=f"typed {rating}", feedback="fine"
        )
        expected, _ = reference.review_card(expected, fsrs.Rating(rating), moment)
        assert state == store.card_state("ada", card.id)
        assert state.state == int(expected.state) and state.step == expected.step
        assert state.stability == pytest.approx(expected.stability, abs=1e-9)
        assert state.difficulty == pytest.approx(expected.difficulty, abs=1e-9)
        assert state.due == expected.due.timestamp() and state.last_review == moment.timestamp()
    with store._reading() as conn:
        rows = conn.execute("SELECT rating, reviewed_at, answer, feedback FROM reviews ORDER BY id").fetchall()
    assert [tuple(row) for row in rows] == [
        (rating, moment.timestamp(), f"typed {rating}", "fine")
        for moment, rating in zip(moments, (3, 3, 1, 4), strict=True)
    ]


def test_a_new_card_rated_good_comes_back_within_the_hour_again_sooner(store) -> None:
    practice.import_deck(store, "ada", "d", [NewCard("q1", "a1"), NewCard("q2", "a2")], 0)
    now = T0.timestamp()
    scheduler = practice.scheduler(fixed_clock=True)
    good = practice.rate(store, scheduler, "ada", store.next_card("ada", now), 3, now)
    again = practice.rate(store, scheduler, "ada", store.next_card("ada", now), 1, now)
    assert now < again.due < good.due <= now + 3600
    assert good.last_review == now and good.state == int(fsrs.State.Learning)


def test_a_rating_is_1_to_4(store) -> None:
    practice.import_deck(store, "ada", "d", [NewCard("q", "a")], 0)
    card = store.next_card("ada", T0.timestamp())
    for rating in (0, 5):
        with pytest.raises(ValueError, match=f"a rating is 1 to 4, not {rating}"):
            practice.rate(store, practice.scheduler(fixed_clock=True), "ada", card, rating, T0.timestamp())
    assert store.card_state("ada", card.id) is None


def test_a_stored_state_goes_to_fsrs_and_back_unchanged() -> None:
    from tutor_cli.store.practice import CardRecord, CardState

    state = CardState(2, None, 8.25, 5.5, T0.timestamp() + 86400, T0.timestamp() - 3600)
    card = CardRecord(7, 1, "d", False, "q", "a", None, state)
    converted = practice.to_fsrs(card, 0)
    assert (converted.card_id, converted.state, converted.step) == (7, fsrs.State.Review, None)
    assert converted.due == T0 + timedelta(days=1) and converted.last_review == T0 - timedelta(hours=1)
    assert practice.from_fsrs(converted) == state
    learning = CardState(1, 0, 2.0, 6.0, T0.timestamp(), None)
    converted = practice.to_fsrs(CardRecord(8, 1, "d", False, "q", "a", None, learning), 0)
    assert converted.last_review is None and converted.step == 0 and converted.state == fsrs.State.Learning
    assert practice.from_fsrs(converted) == learning
    new = practice.to_fsrs(CardRecord(9, 1, "d", False, "q", "a", None, None), T0.timestamp())
    assert (new.card_id, new.state, new.due, new.last_review) == (9, fsrs.State.Learning, T0, None)
    assert practice.to_datetime(T0.timestamp()) == T0 and practice.to_datetime(0).tzinfo is UTC


# --- due times for people ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (-5, "now"),
        (0, "now"),
        (29.9, "now"),
        (30, "in 1 minute"),
        (60, "in 1 minute"),
        (91, "in 2 minutes"),
        (600, "in 10 minutes"),
        (3599, "in 60 minutes"),
        (3600, "in 1 hour"),
        (5400 + 60, "in 2 hours"),
        (86399, "in 24 hours"),
        (86400, "in 1 day"),
        (4 * 86400 + 7200, "in 4 days"),
    ],
)
def test_a_wait_in_words(seconds: float, said: str) -> None:
    assert practice.describe_wait(seconds) == said


def test_a_due_time_names_the_clock_within_a_day_and_the_date_beyond() -> None:
    now = T0.timestamp()
    assert practice.describe_due(now + 600, now) == "in 10 minutes (09:10 UTC)"
    assert practice.describe_due(now + 86399, now) == "in 24 hours (08:59 UTC)"
    assert practice.describe_due(now + 86400, now) == "in 1 day (2026-11-26)"
    assert practice.describe_due(now + 4 * 86400, now) == "in 4 days (2026-11-29)"
    assert practice.describe_due(now - 60, now) == "now (08:59 UTC)"


# --- what the model is asked -------------------------------------------------------------------


def test_feedback_asks_the_model_to_compare_the_answer_with_the_cards() -> None:
    from tutor_cli.store.practice import CardRecord

    card = CardRecord(1, 1, "d", False, "What is 2+2?", "4", None, None)
    system, user = practice.feedback_messages(card, "five, I think")
    assert system == {"role": "system", "content": practice.FEEDBACK_PROMPT}
    assert user["role"] == "user" and set(user) == {"role", "content"}
    assert user["content"] == "Question:\nWhat is 2+2?\n\nCard's answer:\n4\n\nStudent's answer:\nfive, I think"


def test_a_card_is_asked_of_the_latest_exchange() -> None:
    system, user = practice.card_messages("Why is the sky blue?", "Rayleigh scattering.")
    assert system == {"role": "system", "content": practice.CARD_PROMPT}
    assert user == {"role": "user", "content": "Student:\nWhy is the sky blue?\n\nTutor:\nRayleigh scattering."}


# --- the card in a model's reply ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "card"),
    [
        ('{"question": " Q? ", "answer": " A "}', NewCard("Q?", "A")),
        ('```json\n{"question": "Q", "answer": "A", "topic": " t "}\n```', NewCard("Q", "A", "t")),
        ('```JSON {"question": "Q", "answer": "A"}```', NewCard("Q", "A")),
        ('```\n{"question": "Q", "answer": "A", "topic": "  "}\n```', NewCard("Q", "A")),
        ('Here it is: {"question": "Q", "answer": "A", "topic": 3} Enjoy {', NewCard("Q", "A")),
        ('{oops} {"note": 1} {"question": "Q", "answer": ""} {"question": "Q2", "answer": "A2"}', NewCard("Q2", "A2")),
        ('```json\n{"question": "in fence"}\n``` then {"question": "Q", "answer": "A"}', NewCard("Q", "A")),
        ('```\n[{"question": "Q", "answer": "A"}]\n```', NewCard("Q", "A")),
        ('{"card": {"question": "Q", "answer": "A"}}', NewCard("Q", "A")),
        ('{{"question": "Q", "answer": "A"}}', NewCard("Q", "A")),  # template-style double braces
        ('{oops} {"question": "Q", "answer": "A"} {"note": 1}', NewCard("Q", "A")),
        ('{"note": 1} {"question": "Q", "answer": "A"} {"note": 2}', NewCard("Q", "A")),
        ('["question", "answer"]', None),
        ('{"question": "Q", "answer": 4}', None),
        ('{"question": 1, "answer": "A"}', None),
        ('{"question": "  ", "answer": "A"}', None),
        ('{"question": "Q", "answer": "  "}', None),
        ("no card here", None),
        ("{not json}", None),
        ("", None),
    ],
)
def test_the_card_in_a_reply(reply: str, card: NewCard | None) -> None:
    assert practice.parse_card(reply) == card


def test_the_first_card_found_is_taken() -> None:
    reply = '```json\n{"question": "fenced", "answer": "1"}\n```\n{"question": "bare", "answer": "2"}'
    assert practice.parse_card(reply) == NewCard("fenced", "1")
    two = json.dumps({"question": "one", "answer": "1"}) + " " + json.dumps({"question": "two", "answer": "2"})
    assert practice.parse_card(two) == NewCard("one", "1")


# --- the latest exchange of a session ----------------------------------------------------------


def say(store, *turns: tuple[str, str], session: str = "s") -> None:
    if session not in {s.session_id for s in store.list_sessions("ada")}:
        store.create_session("ada", session, "prompt")
    for role, content in turns:
        store.add_message("ada", session, role, content)


def test_the_latest_answered_question_and_its_answer(store) -> None:
    say(store)
    assert practice.latest_exchange(store, "ada", "s") is None
    say(store, ("user", "q1"))
    assert practice.latest_exchange(store, "ada", "s") is None  # asked, not answered
    say(store, ("assistant", "a1"))
    assert practice.latest_exchange(store, "ada", "s") == ("q1", "a1")
    say(store, ("user", "q2"), ("assistant", "a2"), ("user", "q3, not answered yet"))
    assert practice.latest_exchange(store, "ada", "s") == ("q2", "a2")
    say(store, ("assistant", "a3"))
    assert practice.latest_exchange(store, "ada", "s") == ("q3, not answered yet", "a3")
    # A question whose answer failed stays stored; the one asked again is the one answered.
    say(store, ("user", "q4, the answer failed"), ("user", "q4 again"), ("assistant", "a4"))
    assert practice.latest_exchange(store, "ada", "s") == ("q4 again", "a4")


def test_the_exchange_is_found_behind_many_messages_and_only_in_its_session(store) -> None:
    say(store, ("user", "old question"), ("assistant", "old answer"))
    say(store, *[("assistant", f"note {n}") for n in range(40)])
    assert practice.latest_exchange(store, "ada", "s") == ("old question", "note 39")
    say(store, ("user", "elsewhere"), ("assistant", "other"), session="t")
    assert practice.latest_exchange(store, "ada", "s") == ("old question", "note 39")
    assert practice.latest_exchange(store, "ada", "t") == ("elsewhere", "other")
    say(store, ("assistant", "only an answer"), session="u")
    assert practice.latest_exchange(store, "ada", "u") is None
