"""Long sessions against the fake server enforcing a context limit with DeepSeek's own 400 message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, Reply, estimate_tokens
from tutor_cli import SessionManager
from tutor_cli.context import Budget, choose_start
from tutor_cli.tokens import estimate_tokens as our_estimate

LIMIT = 20_000
SYSTEM = "You are a patient tutor."


def seed_long_session(home: Path, turns: int = 300, session: str = "long") -> None:
    home.mkdir(parents=True, exist_ok=True)
    paragraph = "We talked about fractions, common denominators and how to add them step by step. " * 12
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", session, SYSTEM)
        for turn in range(turns):
            manager.add_message("ada", session, "user", f"Question {turn}: {paragraph}")
            manager.add_message("ada", session, "assistant", f"Answer {turn}: {paragraph}")


def answer_requests(server: FakeServer) -> list[list[dict]]:
    """The chat requests that were answers (not summary calls), in order."""
    return [r["body"]["messages"] for r in server.chat_requests if r["body"]["messages"][0]["content"] == SYSTEM]


def assert_valid_window(messages: list[dict], question: str) -> None:
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert messages[-1] == {"role": "user", "content": question}
    assert estimate_tokens(messages) <= LIMIT


def test_a_300_turn_session_is_answered_through_ask_and_the_limit_is_learned(
    run_tutor, api_env, fake_server, home
) -> None:
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    result = run_tutor("ask", "--session", "long", "What did we cover?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Answer to: What did we cover?\n"
    assert "context" not in result.stderr.lower()  # the refusal is learned, never shown
    requests = answer_requests(fake_server)
    assert len(requests) == 2  # the refused one, then the trimmed one
    assert_valid_window(requests[-1], "What did we cover?")
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.learned_limit("ada", "deepseek-flash") == LIMIT
        record = manager.store.get_session("ada", "long")
        assert record.window_start > 0 and record.summary  # what was dropped is summarised
        assert manager.store.get_session("ada", "long").message_count == 602  # every turn is kept
    # The next run knows the limit: one request, no refusal.
    before = len(fake_server.chat_requests)
    assert run_tutor("ask", "--session", "long", "And next?").returncode == 0
    assert len(fake_server.chat_requests) == before + 1


def test_an_unknown_models_limit_is_learned_from_the_400(run_tutor, api_env, fake_server, home) -> None:
    seed_long_session(home, turns=60)
    fake_server.models.append("local-tutor-7b")
    fake_server.context_limit = LIMIT
    result = run_tutor("ask", "--session", "long", "--model", "local-tutor-7b", "Hello?")
    assert result.returncode == 0, result.stderr
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.learned_limit("ada", "local-tutor-7b") == LIMIT
    assert_valid_window(answer_requests(fake_server)[-1], "Hello?")


def test_the_summary_follows_the_system_prompt_and_show_prints_it(run_tutor, api_env, fake_server, home) -> None:
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    run_tutor("ask", "--session", "long", "Where are we?", env={"TUTOR_CONTEXT_TOKENS": str(LIMIT)})
    messages = answer_requests(fake_server)[-1]
    assert messages[1]["role"] == "user" and messages[1]["content"].startswith("Notes on our earlier turns")
    assert messages[2]["role"] == "assistant" and messages[3]["role"] == "user"
    document = json.loads(run_tutor("show", "long", "--format", "json").stdout)
    assert document["summary"]["text"].startswith("Answer to: Earlier notes")
    assert len(document["messages"]) == 602  # the full transcript stays
    assert "Summary of earlier turns" in run_tutor("show", "long", "--format", "text").stdout


def test_a_failing_summary_call_still_gets_an_answer(run_tutor, api_env, fake_server, home) -> None:
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    fake_server.reply(Reply(status=400, error_message="summaries are broken today"))
    result = run_tutor("ask", "--session", "long", "Still there?", env={"TUTOR_CONTEXT_TOKENS": str(LIMIT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Answer to: Still there?\n"
    assert_valid_window(answer_requests(fake_server)[-1], "Still there?")
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.get_session("ada", "long").summary is None


def test_consecutive_asks_after_a_trim_keep_the_prefix(run_tutor, api_env, fake_server, home) -> None:
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    env = {"TUTOR_CONTEXT_TOKENS": str(LIMIT)}
    for turn in range(11):
        assert (
            run_tutor("ask", "--session", "long", f"Follow-up {turn}: " + "tell me more " * 40, env=env).returncode == 0
        )
    requests = answer_requests(fake_server)
    assert len(requests) == 11
    extends = sum(1 for prev, nxt in zip(requests[1:], requests[2:], strict=False) if nxt[: len(prev)] == prev)
    assert extends >= 7, f"only {extends} of 9 requests extended the previous one"
    for request in requests:
        assert estimate_tokens(request) <= LIMIT and request[0]["content"] == SYSTEM


def test_a_cut_leaves_about_60_percent_of_the_budget_and_every_follow_up_extends_the_last_request(
    run_tutor, api_env, fake_server, home
) -> None:
    """Trimming in large steps: one deep cut, then the requests only grow, so the cache keeps hitting.

    A shallow cut (say to 97% of the budget) would trim a little on almost every turn instead."""
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    budget = LIMIT - LIMIT // 4  # the context, less the quarter kept free for the answer
    env = {"TUTOR_CONTEXT_TOKENS": str(LIMIT)}
    for turn in range(12):
        result = run_tutor("ask", "--session", "long", f"Follow-up {turn}: " + "tell me more " * 40, env=env)
        assert result.returncode == 0, result.stderr
    requests = answer_requests(fake_server)
    assert len(requests) == 12
    after_cut = estimate_tokens(requests[0])  # the 300 seeded turns did not fit: the first request is a cut
    assert 0.5 * budget <= after_cut <= 0.7 * budget, f"the cut left {after_cut} of {budget} tokens"
    for turn, (previous, request) in enumerate(zip(requests, requests[1:], strict=False), start=1):
        assert request[: len(previous)] == previous, f"follow-up {turn} was trimmed again"


def test_after_a_cut_whose_summary_failed_the_next_ask_starts_where_the_first_did(
    run_tutor, api_env, fake_server, home
) -> None:
    """The window's start is kept in the store, so a second `tutor ask` run sends the same prefix."""
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    fake_server.reply(Reply(status=400, error_message="summaries are broken today"))
    env = {"TUTOR_CONTEXT_TOKENS": str(LIMIT)}
    assert run_tutor("ask", "--session", "long", "First after the cut?", env=env).returncode == 0
    assert run_tutor("ask", "--session", "long", "And the second?", env=env).returncode == 0
    first, second = answer_requests(fake_server)
    assert len(first) < 600  # the first request was cut
    assert second[1] == first[1]  # same first turn: the window did not move
    assert second[: len(first)] == first
    assert second[-3:] == [
        {"role": "user", "content": "First after the cut?"},
        {"role": "assistant", "content": "Answer to: First after the cut?"},
        {"role": "user", "content": "And the second?"},
    ]


def test_a_context_override_lower_than_a_learned_limit_wins(run_tutor, api_env, fake_server, home) -> None:
    """TUTOR_CONTEXT_TOKENS caps what is sent even after a server taught a larger limit."""
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    assert run_tutor("ask", "--session", "long", "Learn the limit").returncode == 0
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.learned_limit("ada", "deepseek-flash") == LIMIT
    override = LIMIT // 4
    result = run_tutor("ask", "--session", "long", "Now a smaller window", env={"TUTOR_CONTEXT_TOKENS": str(override)})
    assert result.returncode == 0, result.stderr
    request = answer_requests(fake_server)[-1]
    assert_valid_window(request, "Now a smaller window")
    assert estimate_tokens(request) <= override


def test_the_repl_answers_a_long_session_and_keeps_the_prefix(terminal, fake_server, home) -> None:
    seed_long_session(home)
    fake_server.context_limit = LIMIT
    term = terminal("chat", "--session", "long")
    term.prompt()
    for turn in range(6):
        term.type(f"turn {turn} " + "more please " * 60)
        term.expect(f"Answer to: turn {turn}")
        term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert "maximum context" not in term.screen
    requests = answer_requests(fake_server)
    valid = requests[1:]  # the first was refused, then learned
    for request in valid:
        assert estimate_tokens(request) <= LIMIT
    extends = sum(1 for prev, nxt in zip(valid, valid[1:], strict=False) if nxt[: len(prev)] == prev)
    assert extends >= 4


def test_compact_summarises_on_demand(terminal, fake_server, home) -> None:
    term = terminal("chat", "--session", "short")
    term.prompt()
    for turn in range(3):
        term.type(f"question {turn}")
        term.expect(f"Answer to: question {turn}")
        term.prompt()
    term.type("/compact")
    term.expect("Earlier turns summarised")
    term.prompt()
    term.ask("after compact")
    term.ctrl("d")
    term.finish()
    last = fake_server.chat_requests[-1]["body"]["messages"]
    assert last[1]["content"].startswith("Notes on our earlier turns")
    assert [m["content"] for m in last[3:]] == ["question 2", "Answer to: question 2", "after compact"]


def test_usage_line_usage_command_and_quiet(terminal, fake_server) -> None:
    term = terminal("chat")
    term.prompt()
    term.type("count my tokens")
    term.expect("tokens in")
    term.expect("~$")
    term.prompt()
    term.type("/usage")
    term.expect("cache hit")
    term.prompt()
    term.ctrl("d")
    term.finish()
    term = terminal("chat", "--quiet")
    term.prompt()
    term.type("quietly")
    before = term.expect("Answer to: quietly")
    term.prompt()
    term.ctrl("d")
    rest = term.child.read()
    assert "tokens in" not in before + rest


def test_sessions_and_show_report_tokens_and_cost(run_tutor, api_env, fake_server, home) -> None:
    run_tutor("ask", "--session", "costly", "price this")
    run_tutor("ask", "--session", "local", "--model", "deepseek-chat", "and this")
    sessions = {s["session_id"]: s for s in json.loads(run_tutor("sessions", "-f", "json").stdout)}
    usage = sessions["costly"]["usage"]
    assert usage["prompt_tokens"] > 0 and usage["estimated_cost_usd"] > 0
    assert usage["cache_hit_share"] == 0.0
    assert sessions["local"]["usage"]["estimated_cost_usd"] is None  # no price known for that model
    (home / "prices.json").write_text(
        json.dumps({"deepseek-chat": {"cache_hit": 1, "cache_miss": 1000, "output": 1000}})
    )
    sessions = {s["session_id"]: s for s in json.loads(run_tutor("sessions", "-f", "json").stdout)}
    assert sessions["local"]["usage"]["estimated_cost_usd"] > 0
    shown = json.loads(run_tutor("show", "costly", "-f", "json").stdout)
    assert shown["usage"]["estimated_cost_usd"] == usage["estimated_cost_usd"]
    assert shown["messages"][1]["estimated_cost_usd"] > 0
    table = run_tutor("sessions", env={"COLUMNS": "120"}).stdout
    assert "Cost" in table and "$" in table
    (home / "prices.json").write_text("not json")
    result = run_tutor("sessions")
    assert result.returncode == 1 and "prices.json" in result.stderr


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("The quick brown fox jumps over the lazy dog.", 9, 16),
        ("你好，今天我们学习分数的加法。", 8, 16),
        ("def f(x):\n    return {'a': [x ** 2, x // 3]}\n", 18, 34),
    ],
    ids=["english", "chinese", "code"],
)
def test_token_estimates_are_in_a_plausible_range(text: str, low: int, high: int) -> None:
    assert low <= our_estimate(text) <= high


def test_choose_start_trims_in_large_steps_at_a_question() -> None:
    rows = [(i, "user" if i % 2 == 0 else "assistant", 10) for i in range(100)]  # 1,000 tokens
    budget = Budget(limit=900, target=540)
    start = choose_start(reversed(rows), budget)
    assert start is not None and start % 2 == 0
    kept = sum(t for i, _, t in rows if i >= start)
    assert kept <= 540 and kept >= 500
    assert choose_start(reversed(rows), Budget(limit=2000, target=1200)) is None
