"""What `/copy` can take out of an answer: its fenced code blocks and its formulas, in order.

Code blocks are found by mathtext's fence rule and formulas by mathtext's `find_math` (the same
rules that decide what is drawn as math on screen), so what `/copy 2` names is what the student
sees as the second block or formula. A formula is copied as its LaTeX source, without delimiters.
Pure: no terminal, no rich.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor_cli.views.mathtext import code_regions, find_math

_OPENING_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)")


@dataclass(frozen=True)
class Snippet:
    """One code block or formula of an answer."""

    kind: str  # "code" or "formula"
    text: str  # what is copied: the block's lines, or the formula's LaTeX source
    language: str = ""  # a code block's info string (its first word), e.g. "python"
    display: bool = False  # a formula written with $$ or \[

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1 if self.text else 0

    def describe(self) -> str:
        """`the python block`, `the code block`, `the formula`, `the display formula`."""
        if self.kind == "code":
            return f"the {self.language} block" if self.language else "the code block"
        return "the display formula" if self.display else "the formula"


def find_snippets(answer: str) -> list[Snippet]:
    """The code blocks and formulas of `answer`, in the order they appear."""
    found: list[tuple[int, Snippet]] = [(start, _code_block(answer[start:end])) for start, end in code_regions(answer)]
    found += [(span.start, Snippet("formula", span.tex.strip(), display=span.display)) for span in find_math(answer)]
    return [snippet for _, snippet in sorted(found, key=lambda item: item[0])]


def _code_block(region: str) -> Snippet:
    """The lines between a block's fences (an unclosed block runs to the end), with the opening
    fence's indentation (up to three spaces, as CommonMark allows) taken off each line."""
    lines = region.splitlines()
    opening = _OPENING_FENCE.match(lines[0])
    assert opening is not None  # code_regions starts every region at an opening fence
    indent, fence, language = len(opening.group(1)), opening.group(2), opening.group(3)
    body = lines[1:]
    if body and _closes(body[-1], fence):
        body = body[:-1]
    body = [_dedent(line, indent) for line in body]
    return Snippet("code", "\n".join(body), language=language.lower())


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped[:1] == fence[0] and len(stripped) >= len(fence) and not stripped.strip(fence[0])


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def pick(snippets: list[Snippet], argument: str) -> Snippet:
    """The snippet `/copy ARGUMENT` names: the Nth (from 1), or the last one when ARGUMENT is empty.

    Raises ValueError with the sentence to show when there is nothing to copy or N is not one of them.
    """
    if not snippets:
        raise ValueError("The last answer has no code block or formula to copy.")
    if not argument.strip():
        return snippets[-1]
    count = len(snippets)
    choices = "/copy 1" if count == 1 else f"/copy 1 to /copy {count}"
    try:
        number = int(argument.strip())
    except ValueError:
        number = 0
    if not 1 <= number <= count:
        raise ValueError(f"The last answer has {_plural(count)}; {choices} copies one (/copy alone the last).")
    return snippets[number - 1]


def copied_message(snippet: Snippet) -> str:
    """`copied the python block, 3 lines`."""
    lines = snippet.lines
    return f"copied {snippet.describe()}, {lines} line{'s' if lines != 1 else ''}"


def _plural(count: int) -> str:
    return "1 code block or formula" if count == 1 else f"{count} code blocks and formulas"
