"""`tutor --help` (and each group's) lists every command with its first sentence whole."""

from __future__ import annotations

import re

import pytest


def first_sentences(help_text: str) -> dict[str, str]:
    """The Commands section as {name: description}, continuation lines joined."""
    section = help_text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    found: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        match = re.match(r"  (\S+)\s{2,}(.*)", line)
        if match:
            name = match.group(1)
            found[name] = match.group(2).strip()
        elif name and line.strip():
            found[name] += " " + line.strip()
    return found


@pytest.mark.parametrize("width", ["80", "120"])
@pytest.mark.parametrize("group", [[], ["class"], ["admin"], ["deck"]])
def test_each_command_is_listed_with_its_first_sentence_whole(run_tutor, group, width) -> None:
    result = run_tutor(*group, "--help", env={"COLUMNS": width})
    assert result.returncode == 0
    commands = first_sentences(result.stdout)
    assert commands
    for name, description in commands.items():
        assert not description.endswith("..."), (name, description)
        assert description.endswith("."), (name, description)
    if not group:
        assert commands["ask"] == (
            "Ask one question without the interactive prompt; the answer goes to standard output."
        )
        assert commands["models"].endswith("the default is marked with *.")
    assert all(len(line) <= int(width) for line in result.stdout.splitlines())
