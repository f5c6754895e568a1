"""`tutor review` stopped with Ctrl-C exits 130 (interrupted), as every command does; q and Ctrl-D
stop it normally (0). Every rating given before is kept."""

from __future__ import annotations

from pathlib import Path

from tests.test_review_terminal import ANSWER_PROMPT, NOW, RATE_PROMPT, import_deck, review_one, reviews


def test_ctrl_c_at_the_answer_prompt_exits_130_keeping_the_ratings(
    terminal, run_tutor, home: Path, tmp_path: Path
) -> None:
    import_deck(run_tutor, tmp_path)
    term = terminal("review", env={**NOW, "DEEPSEEK_API_KEY": ""})
    review_one(term, "4", "3")
    term.expect(ANSWER_PROMPT)
    term.ctrl("c")
    term.expect("Reviewed 1 card.")
    assert term.finish() == 130
    assert "Traceback" not in term.screen
    assert [row[0] for row in reviews(home)] == ["What is 2+2?"]


def test_ctrl_c_at_the_rating_exits_130(terminal, run_tutor, home: Path, tmp_path: Path) -> None:
    import_deck(run_tutor, tmp_path)
    term = terminal("review", env={**NOW, "DEEPSEEK_API_KEY": ""})
    term.expect(ANSWER_PROMPT)
    term.type("4")
    term.expect(RATE_PROMPT)
    term.ctrl("c")
    term.expect("Reviewed 0 cards.")
    assert term.finish() == 130
    assert reviews(home) == []
