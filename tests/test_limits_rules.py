"""Daily limits by direct calls on a real SQLite store (no subprocess: each test takes milliseconds,
so a mutation run can check every rule of tutor_cli/rights.py's limit functions). What the README
promises ("Data rights and limits"): per UTC day, a limit on questions and on tokens, the class's
value unless the student has their own (`none` lifts it), reaching a limit is over it, and one
sentence names the limit, today's use and when it resets."""

from __future__ import annotations

from datetime import datetime

import pytest

from tutor_cli import SessionManager
from tutor_cli import rights as rules
from tutor_cli.errors import TutorError
from tutor_cli.store.rights import CLASS_ROW, UNCHANGED, Limits


def at(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def store(home, monkeypatch):
    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T22:10:00Z")  # 1 h 50 min before the day ends
    with SessionManager(home / "tutor.db") as manager:
        yield manager.store


def answer(store, student: str, tokens: tuple[int, int] = (100, 20), session: str = "s") -> None:
    """A question and its answer, as the chat stores them: the answer's usage goes to the ledger."""
    if session not in {s.session_id for s in store.list_sessions(student)}:
        store.create_session(student, session, "prompt")
    store.add_message(student, session, "user", "a question")
    usage = {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}
    store.add_message(student, session, "assistant", "an answer", usage=usage)


def usage(questions: int = 0, tokens: int = 0, own=None, shared=None) -> rules.DailyUsage:
    return rules.DailyUsage("ada", "2026-11-25", at("2026-11-26T00:00:00Z"), questions, tokens, own, shared)


# --- today -------------------------------------------------------------------------------------


def test_today_is_the_utc_date_and_ends_at_the_next_midnight() -> None:
    assert rules.today(at("2026-11-25T22:10:00Z")) == ("2026-11-25", at("2026-11-26T00:00:00Z"))
    assert rules.today(at("2026-11-25T00:00:00Z")) == ("2026-11-25", at("2026-11-26T00:00:00Z"))
    assert rules.today(at("2026-11-25T23:59:59Z")) == ("2026-11-25", at("2026-11-26T00:00:00Z"))
    assert rules.today(at("2026-12-31T12:00:00Z")) == ("2026-12-31", at("2027-01-01T00:00:00Z"))


def test_today_without_a_moment_is_now(monkeypatch) -> None:
    monkeypatch.setenv("TUTOR_NOW", "2026-03-01T05:00:00Z")
    assert rules.today() == ("2026-03-01", at("2026-03-02T00:00:00Z"))


# --- the sentence over a limit -----------------------------------------------------------------


def test_under_every_limit_or_with_none_there_is_no_sentence(store) -> None:
    assert usage(9, 10**9).over() is None  # no limit at all
    assert usage(4, 999, shared=Limits(daily_tokens=1000, daily_questions=5)).over() is None
    assert usage(4, 999, own=Limits(daily_tokens=1000, daily_questions=5)).over() is None


def test_reaching_the_question_limit_is_over_it_in_one_sentence(store) -> None:
    assert usage(5, 0, shared=Limits(daily_questions=5)).over() == (
        "Daily limit reached: 5 questions a day (5 answered today); it resets at 00:00 UTC, in 1 h 50 min. "
        "Your question is kept; nothing was sent."
    )
    assert usage(1234, 0, shared=Limits(daily_questions=1)).over() == (
        "Daily limit reached: 1 question a day (1,234 answered today); it resets at 00:00 UTC, in 1 h 50 min. "
        "Your question is kept; nothing was sent."
    )


def test_reaching_the_token_limit_is_over_it_in_one_sentence(store) -> None:
    assert usage(3, 20_000, shared=Limits(daily_tokens=20_000, daily_questions=50)).over() == (
        "Daily limit reached: 20,000 tokens a day (20,000 used today); it resets at 00:00 UTC, in 1 h 50 min. "
        "Your question is kept; nothing was sent."
    )
    assert usage(0, 19_999, shared=Limits(daily_tokens=20_000)).over() is None


def test_the_students_own_limits_replace_the_classs_each_on_its_own(store) -> None:
    shared = Limits(daily_tokens=1000, daily_questions=5)
    assert usage(7, 0, own=Limits(daily_questions=10), shared=shared).over() is None  # own questions: higher
    assert "1,000 tokens a day" in usage(7, 1000, own=Limits(daily_questions=10), shared=shared).over()
    assert "2 questions a day" in usage(2, 0, own=Limits(daily_questions=2), shared=shared).over()  # lower
    assert usage(0, 5000, own=Limits(daily_tokens=9000), shared=shared).over() is None
    assert "100 tokens a day" in usage(0, 100, own=Limits(daily_tokens=100), shared=shared).over()


# --- what `tutor usage --format json` shows ----------------------------------------------------


def test_the_json_shows_todays_use_and_the_limits_in_force(store) -> None:
    shown = usage(3, 1500, own=Limits(daily_questions=10), shared=Limits(daily_tokens=2000, daily_questions=5))
    assert shown.as_json() == {
        "student_id": "ada",
        "day": "2026-11-25",
        "resets_at": "2026-11-26T00:00:00Z",
        "questions": 3,
        "tokens": 1500,
        "daily_questions": 10,
        "daily_tokens": 2000,
    }


# --- the store: today's use, the check before sending, setting limits -------------------------


def test_daily_usage_reads_todays_ledger_and_both_rows_of_limits(store, monkeypatch) -> None:
    monkeypatch.setenv("TUTOR_NOW", "2026-11-24T12:00:00Z")
    answer(store, "ada", (1000, 1000))  # yesterday: not today's use
    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T22:10:00Z")
    answer(store, "ada", (100, 20))
    answer(store, "ada", (200, 30))
    answer(store, "bob", (5000, 5000))
    store.set_limits(CLASS_ROW, daily_tokens=900, daily_questions=UNCHANGED)
    store.set_limits("ada", daily_tokens=UNCHANGED, daily_questions=3)
    assert rules.daily_usage(store, "ada") == rules.DailyUsage(
        "ada", "2026-11-25", at("2026-11-26T00:00:00Z"), 2, 350, Limits(None, 3), Limits(900, None)
    )


def test_check_daily_limits_raises_the_sentence_only_over_a_limit(store) -> None:
    store.set_limits(CLASS_ROW, daily_questions=2)
    answer(store, "ada")
    rules.check_daily_limits(store, "ada")  # one answer of two: go on
    answer(store, "ada")
    with pytest.raises(rules.DailyLimitError) as raised:
        rules.check_daily_limits(store, "ada")
    assert str(raised.value) == (
        "Daily limit reached: 2 questions a day (2 answered today); it resets at 00:00 UTC, in 1 h 50 min. "
        "Your question is kept; nothing was sent."
    )
    rules.check_daily_limits(store, "bob")  # bob has asked nothing


def test_set_limits_for_a_student_and_for_the_class(store) -> None:
    answer(store, "ada")
    shown = rules.set_limits(store, None, 50_000, 20)
    assert (shown.student_id, shown.limits) == (CLASS_ROW, Limits(50_000, 20))
    assert store.get_limits("ada") == (None, Limits(50_000, 20))
    shown = rules.set_limits(store, "ada", UNCHANGED, 5)
    assert (shown.student_id, shown.questions, shown.tokens) == ("ada", 1, 120)
    assert (shown.own, shown.class_default, shown.limits) == (Limits(None, 5), Limits(50_000, 20), Limits(50_000, 5))
    shown = rules.set_limits(store, "ada", UNCHANGED, UNCHANGED)  # nothing to change: shows what is in force
    assert shown.limits == Limits(50_000, 5) and store.get_limits("ada") == (Limits(None, 5), Limits(50_000, 20))
    shown = rules.set_limits(store, "ada", 10, UNCHANGED)  # only the token limit: the question limit stays
    assert store.get_limits("ada")[0] == Limits(10, 5)
    shown = rules.set_limits(store, "ada", None, None)  # ada follows the class again
    assert shown.limits == Limits(50_000, 20) and store.get_limits("ada") == (None, Limits(50_000, 20))


# --- the option values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "meant"),
    [("0", 0), ("7", 7), ("50_000", 50_000), ("200,000", 200_000), ("none", None), (" None ", None), ("NONE", None)],
)
def test_a_limit_is_a_whole_number_or_none(value: str, meant: int | None) -> None:
    assert rules.parse_limit(value, "--daily-tokens") == meant


def test_a_limit_not_given_leaves_it_unchanged() -> None:
    assert rules.parse_limit(None, "--daily-tokens") is UNCHANGED


@pytest.mark.parametrize("value", ["lots", "-1", "2.5", "", "nonesuch"])
def test_anything_else_is_one_sentence_naming_the_option(value: str) -> None:
    with pytest.raises(TutorError) as refused:
        rules.parse_limit(value, "--daily-questions")
    assert str(refused.value) == f"--daily-questions takes a whole number (0 or more) or `none`, not {value!r}."
