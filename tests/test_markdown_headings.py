"""What counts as a Markdown heading when course materials are cut into sections (CommonMark's
ATX and setext headings, one-line setext text, never inside a code fence or front matter)."""

from __future__ import annotations

import pytest

from tutor_cli.documents import markdown_sections


@pytest.mark.parametrize(
    ("text", "headings"),
    [
        ("Title\n=====\nbody", ["Title"]),
        ("Title\n---\nbody", ["Title"]),
        ("intro\n\nTitle\n---\nbody", [None, "Title"]),
        ("intro\n\nfirst line\nsecond line\n---\nbody", [None]),  # a paragraph's last line is no heading
        ("===\nbody", [None]),  # an underline with nothing above it
        ("intro\n\n\n---\nbody", [None]),  # a break after a blank line
        ("# A\n\ntext\n\nB\n---\nmore", ["A", "B"]),
        ("# A\nB\n---\nmore", ["A", "B"]),  # the line just after a heading starts a paragraph
        ("---\ntitle: notes\n---\nHeading\n=======\nbody", ["Heading"]),  # front matter is skipped
        ("```\ncode\n```\nTitle\n===\nbody", [None, "Title"]),  # just after a fence closes
        ("```\nTitle\n===\n```\nbody", [None]),  # inside a fence
        ("# A\n## B\nbody", ["A", "B"]),
        ("# A\n\n#Not a heading\nbody", ["A"]),
        ("# A\n\n# B\n===\nbody", ["A", "B"]),  # an ATX heading is never setext text
        ("intro\n\n--- \n===\nbody", [None]),  # an underline is never setext text
    ],
)
def test_markdown_headings(text: str, headings: list[str | None]) -> None:
    assert [section.heading for section in markdown_sections(text)] == headings
