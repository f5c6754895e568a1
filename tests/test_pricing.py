"""Estimated costs: DeepSeek's peak and off-peak hours and its cache-hit price, as `sessions` and `show` report them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import set_message_times
from tests.fake_server import Reply
from tutor_cli import SessionManager
from tutor_cli.pricing import PEAK_PRICES, UsageTotals, sessions_with_totals
from tutor_cli.store import SessionRecord

WEEKDAY_2AM = datetime(2026, 11, 25, 2, 0, tzinfo=UTC).timestamp()  # a Wednesday, in peak hours
SATURDAY_2AM = datetime(2026, 11, 28, 2, 0, tzinfo=UTC).timestamp()  # the weekend: off-peak all day
USAGE = {
    "prompt_tokens": 1_000_000,
    "completion_tokens": 100_000,
    "cache_hit_tokens": 200_000,
    "cache_miss_tokens": 800_000,
}


def peak_cost(usage: dict[str, int], model: str = "deepseek-flash") -> float:
    """USD at DeepSeek's peak prices: hits at the hit price, misses at the miss price."""
    prices = PEAK_PRICES[model]
    return (
        usage["cache_hit_tokens"] * prices["cache_hit"]
        + usage["cache_miss_tokens"] * prices["cache_miss"]
        + usage["completion_tokens"] * prices["output"]
    ) / 1_000_000


def seed_answer(home: Path, session: str, created_at: float) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", session, "p")
        manager.add_message("ada", session, "user", "q")
        manager.store.add_message("ada", session, "assistant", "a", model="deepseek-flash", usage=USAGE)
    set_message_times(home / "tutor.db", session, created_at)


def test_the_same_usage_costs_twice_as_much_on_a_weekday_at_2am_as_on_a_saturday(run_tutor, home: Path) -> None:
    seed_answer(home, "weekday", WEEKDAY_2AM)
    seed_answer(home, "saturday", SATURDAY_2AM)
    listed = {
        s["session_id"]: s["usage"]["estimated_cost_usd"]
        for s in json.loads(run_tutor("sessions", "-f", "json").stdout)
    }
    assert listed["weekday"] == pytest.approx(peak_cost(USAGE))
    assert listed["saturday"] == pytest.approx(peak_cost(USAGE) / 2)
    for session, expected in (("weekday", peak_cost(USAGE)), ("saturday", peak_cost(USAGE) / 2)):
        shown = json.loads(run_tutor("show", session, "-f", "json").stdout)
        assert shown["usage"]["estimated_cost_usd"] == pytest.approx(expected)
        assert shown["messages"][1]["estimated_cost_usd"] == pytest.approx(expected)


def test_cache_hits_reported_by_the_server_are_billed_at_the_hit_price(run_tutor, api_env, fake_server, home) -> None:
    fake_server.reply(Reply(content="Short.", cache_hit_tokens=8_000))
    assert run_tutor("ask", "--session", "cached", "word " * 8_000).returncode == 0
    set_message_times(home / "tutor.db", "cached", SATURDAY_2AM)  # off-peak: half the peak prices
    shown = json.loads(run_tutor("show", "cached", "-f", "json").stdout)
    usage = shown["messages"][1]["usage"]
    assert usage["cache_hit_tokens"] == 8_000 and usage["cache_miss_tokens"] == usage["prompt_tokens"] - 8_000
    expected = peak_cost(usage) / 2
    assert shown["messages"][1]["estimated_cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert shown["usage"]["estimated_cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert shown["usage"]["cache_hit_share"] == pytest.approx(8_000 / usage["prompt_tokens"], abs=1e-4)


def test_each_session_gets_its_own_totals_and_one_without_answers_gets_empty_ones() -> None:
    used = UsageTotals()
    used.add({"prompt_tokens": 10, "completion_tokens": 5}, 0.001)
    sessions = [
        SessionRecord("ada", "s2", "p", 0.0, 2.0, 2),
        SessionRecord("ada", "s1", "p", 0.0, 1.0, 0),
        SessionRecord("bob", "s2", "p", 0.0, 0.5, 0),
    ]
    paired = sessions_with_totals(sessions, {("ada", "s2"): used})
    assert [s for s, _ in paired] == sessions  # order kept
    assert paired[0][1] is used
    assert paired[1][1].tokens["prompt_tokens"] == 0 and not paired[1][1].priced
    assert paired[2][1].tokens["prompt_tokens"] == 0  # same session id, other student: not shared
