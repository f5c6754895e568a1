"""Deck files separated by commas, semicolons (spreadsheets in many locales) or tabs are read,
whatever their name; a header that none of them splits into question and answer names the separator."""

from __future__ import annotations

import pytest

from tests.conftest import assert_no_traceback
from tests.test_practice import cards_of, write


def test_a_semicolon_separated_csv_with_decimal_commas_is_read(run_tutor, home, tmp_path) -> None:
    deck = write(
        tmp_path / "sums.csv",
        'question;answer;topic\nWhat is 1,5 + 1?;2,5;decimals\n"Half of 5; as a decimal?";2,5;decimals\n',
    )
    result = run_tutor("deck", "import", str(deck))
    assert result.returncode == 0, result.stderr
    assert "Imported 2 cards" in result.stdout
    assert cards_of(home) == [
        ("sums", "What is 1,5 + 1?", "2,5", "decimals"),
        ("sums", "Half of 5; as a decimal?", "2,5", "decimals"),
    ]


def test_a_tab_separated_file_named_csv_is_read(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "words.csv", "question\tanswer\nhola, amigo\thello, friend\n")
    assert run_tutor("deck", "import", str(deck)).returncode == 0
    assert cards_of(home) == [("words", "hola, amigo", "hello, friend", None)]


def test_commas_still_win_when_the_text_holds_semicolons(run_tutor, home, tmp_path) -> None:
    deck = write(tmp_path / "code.csv", "question,answer\nEnd of a C statement?,;\nWhat joins a;b?,a semicolon\n")
    assert run_tutor("deck", "import", str(deck)).returncode == 0, run_tutor
    assert [card[1:3] for card in cards_of(home)] == [
        ("End of a C statement?", ";"),
        ("What joins a;b?", "a semicolon"),
    ]


@pytest.mark.parametrize("text", ["question|answer\nq|a\n", "question answer\nq a\n"])
def test_a_header_no_separator_splits_names_the_separators_tried(run_tutor, home, tmp_path, text) -> None:
    result = run_tutor("deck", "import", str(write(tmp_path / "pipes.csv", text)))
    assert result.returncode == 1
    assert_no_traceback(result)
    message = result.stderr.strip()
    assert "line 1" in message and "commas, semicolons or tabs" in message
    assert len(message.splitlines()) == 1 and message.endswith("nothing was imported.")
    assert cards_of(home) == []
