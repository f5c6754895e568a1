"""Finding LaTeX formulas (`$…$`, `\\(…\\)`, `$$…$$`, `\\[…\\]`) in Markdown text, complete or still
streaming: a rule about text, used by the views that draw formulas (views/mathtext.py) and by the
answer guard that checks them (guard.py).

The rules are pandoc's: an opening `$` is not followed by a space, a closing `$` is not preceded by
one nor followed by a digit, and no formula runs across a blank line; inline code, fenced code,
escaped `\\$`, money (`$5 and $10`) and shell variables (`$HOME`) are not mathematics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A formula in a text: `text[start:end]` is the formula with its delimiters, `tex` its inside."""

    start: int
    end: int
    tex: str
    display: bool  # written with $$ or \[ (whether it stands alone on its line is decided by the caller)


# --- finding formulas ---------------------------------------------------------------------------

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def code_regions(text: str) -> list[tuple[int, int]]:
    """(start, end) of fenced code blocks; an unclosed fence runs to the end of the text.
    The one fence rule: math skips these regions and `/copy` (snippets.py) takes them as blocks."""
    regions: list[tuple[int, int]] = []
    fence: str | None = None
    fence_start = 0
    position = 0
    for line in text.splitlines(keepends=True):
        match = _FENCE_LINE.match(line)
        if fence is None:
            # A backtick fence's info string holds no backtick (CommonMark): "```x`" opens nothing.
            if match and not (match.group(1)[0] == "`" and "`" in line[match.end() :]):
                fence, fence_start = match.group(1), position
        elif (
            match
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not line.strip()[len(match.group(1)) :].strip()
        ):
            regions.append((fence_start, position + len(line)))
            fence = None
        position += len(line)
    if fence is not None:
        regions.append((fence_start, len(text)))
    return regions


def _escaped(text: str, index: int) -> bool:
    """Whether the character at `index` is escaped by an odd run of backslashes before it."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _find_closer(text: str, closer: str, start: int, limit: int) -> int:
    """Index of the first unescaped `closer` at or after `start`, before `limit`, a blank line
    and a backtick (inline code wins over math, as in pandoc: `$5 and `$HOME`` is no formula)."""
    blank = _BLANK_LINE.search(text, start, limit)
    if blank:
        limit = blank.start()
    tick = text.find("`", start, limit)
    if tick >= 0:
        limit = tick
    position = start
    while True:
        found = text.find(closer, position, limit)
        if found < 0:
            return -1
        # For `\)` and `\]` the backslash is part of the closer: it must itself be unescaped.
        if not _escaped(text, found):
            return found
        position = found + 1


def find_math(text: str, *, final: bool = True) -> list[Span]:
    """The formulas in `text`, in order. With `final` False (a growing stream), a `$` at the
    very end cannot close a formula yet: the next character might be a digit (money)."""
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return []
    spans: list[Span] = []
    regions = code_regions(text)
    bounds = [(0, len(text))] if not regions else _outside(regions, len(text))
    for lo, hi in bounds:
        _scan(text, lo, hi, final, spans)
    return spans


def _outside(regions: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    parts, position = [], 0
    for start, end in regions:
        if start > position:
            parts.append((position, start))
        position = end
    if position < length:
        parts.append((position, length))
    return parts


def _scan(text: str, i: int, hi: int, final: bool, spans: list[Span]) -> None:
    while i < hi:
        char = text[i]
        if char == "`":
            end = _code_span_end(text, i, hi)
            i = end if end is not None else i + _run_length(text, i, hi)
            continue
        if char == "\\":
            if i + 1 < hi and text[i + 1] in "([" and not _escaped(text, i):
                closer = "\\)" if text[i + 1] == "(" else "\\]"
                close = _find_closer(text, closer, i + 2, hi)
                if close >= 0 and text[i + 2 : close].strip():
                    spans.append(Span(i, close + 2, text[i + 2 : close], display=closer == "\\]"))
                    i = close + 2
                    continue
            i += 2  # a backslash escapes the next character (`\$` is a dollar, not math)
            continue
        if char == "$":
            if text.startswith("$$", i):
                close = _find_closer(text, "$$", i + 2, hi)
                if close >= 0 and text[i + 2 : close].strip():
                    spans.append(Span(i, close + 2, text[i + 2 : close], display=True))
                    i = close + 2
                else:
                    i += 2
                continue
            close = _inline_close(text, i, hi, final)
            if close is None:
                i += 1
                continue
            if close < 0:
                # Not an opener; the next `$` may be one.
                i = -close
                continue
            spans.append(Span(i, close + 1, text[i + 1 : close], display=False))
            i = close + 1
            continue
        i += 1


def _run_length(text: str, i: int, hi: int) -> int:
    """How many backticks run from `i` (before `hi`)."""
    end = i
    while end < hi and text[end] == "`":
        end += 1
    return end - i


def _code_span_end(text: str, i: int, hi: int) -> int | None:
    """For the run of backticks at `i`: the index after the run that closes its inline code, or None.
    Only a run of exactly the same length closes it, never part of a longer one (CommonMark)."""
    run = _run_length(text, i, hi)
    position = i + run
    while True:
        close = text.find("`", position, hi)
        if close < 0:
            return None
        length = _run_length(text, close, hi)
        if length == run:
            return close + length
        position = close + length


def _inline_close(text: str, i: int, hi: int, final: bool) -> int | None:
    """For a `$` at i: the index of its closing `$`; None if it opens nothing; minus the index
    of the next `$` when that `$` does not close this one (so the scan resumes there)."""
    if i + 1 >= hi or text[i + 1].isspace():
        return None
    close = _find_closer(text, "$", i + 1, hi)
    if close < 0:
        return None
    if text[close - 1].isspace() or (close + 1 < hi and text[close + 1].isdigit()):
        return -close
    if close + 1 == len(text) and not final:
        return None  # a digit may still come: undecided until more text arrives
    if text.startswith("$$", close):
        return -close
    return close


# --- formulas in a stream ------------------------------------------------------------------------

_OPENER = re.compile(r"\$\$|\\[(\[]|\$(?=[^\s\d])|\$$|\\$")


def pending_start(text: str) -> int | None:
    """Where a formula that has not closed yet starts in a growing text (or a trailing `$` or `\\`
    that may start one), so a live view can hold it back instead of showing half of it; None if
    there is none. `$` followed by a digit or a space is taken for money and never held."""
    spans = find_math(text, final=False)
    position = spans[-1].end if spans else 0
    regions = code_regions(text)
    for match in _OPENER.finditer(text, position):
        start = match.start()
        if _escaped(text, start) or any(lo <= start < hi for lo, hi in regions):
            continue
        if _in_inline_code(text, start):
            continue
        if "\n\n" in text[start:].replace(" ", "").replace("\t", ""):
            continue  # a blank line followed: whatever it was, it is no formula
        return start
    return None


def _in_inline_code(text: str, start: int) -> bool:
    """Whether `start` lies in inline code on its line: in a code span, or after a run of backticks
    that has not closed yet (in a growing text it may still close)."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    position = text.rfind("\n", 0, start) + 1
    while True:
        tick = text.find("`", position, start)
        if tick < 0:
            return False
        if _escaped(text, tick):  # `\`` is a backtick, as in the scan
            position = tick + 1
            continue
        end = _code_span_end(text, tick, line_end)
        if end is None or end > start:
            return True
        position = end


def opens_display(line: str, open_kind: str | None) -> str | None:
    """Track display math across lines: given the delimiter left open before `line` ("$$", "\\[" or
    None), return the one left open after it. Inline code and escaped characters are skipped."""
    line = _without_inline_code(line)
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            pair = line[i : i + 2]
            if open_kind is None and pair == "\\[":
                open_kind = "\\["
            elif open_kind == "\\[" and pair == "\\]":
                open_kind = None
            i += 2
            continue
        if line.startswith("$$", i) and open_kind in (None, "$$"):
            open_kind = None if open_kind == "$$" else "$$"
            i += 2
            continue
        i += 1
    return open_kind


def _without_inline_code(line: str) -> str:
    """The line with its code spans taken out (each closed by a run of the same length), each
    replaced by a space: no delimiter is made of the text on either side of one (`$` `a` `$` is no `$$`)."""
    kept, position, i = [], 0, 0
    while (tick := line.find("`", i)) >= 0:
        if _escaped(line, tick):
            i = tick + 1
            continue
        end = _code_span_end(line, tick, len(line))
        if end is None:  # an unclosed run is backticks
            i = tick + _run_length(line, tick, len(line))
            continue
        kept.append(line[position:tick])
        position = i = end
    kept.append(line[position:])
    return " ".join(kept)
