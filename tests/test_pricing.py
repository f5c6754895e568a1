"""Usage totals shared by `tutor sessions` and the chat's `/sessions`."""

from __future__ import annotations

from tutor_cli.pricing import UsageTotals, sessions_with_totals
from tutor_cli.store import SessionRecord


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
