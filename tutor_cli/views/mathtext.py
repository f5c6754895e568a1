"""LaTeX mathematics in answers, found in Markdown text and turned into Unicode for a terminal.

Two jobs, kept apart:

- `find_math` finds the formulas (`$…$`, `\\(…\\)`, `$$…$$`, `\\[…\\]`) in Markdown text, skipping
  inline code, fenced code, escaped `\\$`, money (`$5 and $10`) and shell variables (`$HOME`).
  The rules are pandoc's: an opening `$` is not followed by a space, a closing `$` is not preceded
  by one nor followed by a digit, and no formula runs across a blank line.
- `to_unicode` turns one formula into rows of Unicode text with `texicode` (pinned; it draws stacked
  fractions, roots, big operators, matrices and `cases`). What it lacks (`\\boxed`, `\\implies`,
  `\\overline`, `\\tag`, `\\cancel`, `\\underbrace`, `\\operatorname`, …) is rewritten into what it
  has before the call; anything it still cannot draw comes back as None, and the caller shows the
  source. Inline formulas must fit on one line, so fractions, roots and limits are first rewritten
  to their linear forms (`½`, `(a+b)/2`, `√(b²−4ac)`, `∑ₖ₌₁ⁿ`).

This module has no rich or typer imports and imports texicode only when a formula is converted.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Finding formulas is a rule about text, shared with the answer guard (a domain module): it lives in
# tutor_cli/mathspans.py and is re-exported here for the views.
from tutor_cli.mathspans import Span, code_regions, find_math, opens_display, pending_start  # noqa: F401

MATH_MODES = ("unicode", "raw")

# --- converting one formula ----------------------------------------------------------------------

_MARK = "QZQ"  # rare letters that texicode copies through unchanged, replaced after rendering
_VULGAR = {
    ("1", "2"): "½",
    ("1", "3"): "⅓",
    ("2", "3"): "⅔",
    ("1", "4"): "¼",
    ("3", "4"): "¾",
    ("1", "5"): "⅕",
    ("2", "5"): "⅖",
    ("3", "5"): "⅗",
    ("4", "5"): "⅘",
    ("1", "6"): "⅙",
    ("5", "6"): "⅚",
    ("1", "7"): "⅐",
    ("1", "8"): "⅛",
    ("3", "8"): "⅜",
    ("5", "8"): "⅝",
    ("7", "8"): "⅞",
    ("1", "9"): "⅑",
    ("1", "10"): "⅒",
}
# Commands texicode does not know, as the ones it does (same meaning, or the usual plain form).
_SYNONYMS = {
    "implies": r"\Rightarrow ",
    "impliedby": r"\Leftarrow ",
    "Longrightarrow": r"\Rightarrow ",
    "Longleftarrow": r"\Leftarrow ",
    "Longleftrightarrow": r"\Leftrightarrow ",
    "iff": r"\Leftrightarrow ",
    "leqslant": r"\le ",
    "geqslant": r"\ge ",
    "lt": "<",
    "gt": ">",
    "degree": r"^\circ ",
    "bmod": r"\text{ mod }",
    "mod": r"\text{ mod }",
    "middle": "",
    "displaystyle": "",
    "textstyle": "",
    "limits": "",
    "nolimits": "",
    "cfrac": r"\frac",
    "checkmark": r"\text{(ok)}",
}
_FUNCTIONS = "arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|ln|log|exp|det|gcd|deg|arg"
_FUNCTION_SPACE = re.compile(rf"\\({_FUNCTIONS})(?![A-Za-z])\s*(?=[A-Za-z0-9]|\\[A-Za-z])")
_ATOM = re.compile(r"\s*(-?\d+(\.\d+)?|[A-Za-z]|\\[A-Za-z]+|[A-Za-z](\^|_)(\d|\{\d+\}))\s*")
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_BIG_OPERATORS = {"sum": "∑", "prod": "∏", "int": "∫", "iint": "∬", "iiint": "∭", "oint": "∮"}
_LIMIT_WORDS = ("lim", "max", "min", "sup", "inf", "limsup", "liminf")


def _read_arg(tex: str, i: int) -> tuple[str, int] | None:
    """The argument starting at `i` (a {group}, a \\command or one character) and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return None
    if tex[i] == "{":
        depth, j = 0, i
        while j < len(tex):
            if tex[j] == "\\":
                j += 2
                continue
            if tex[j] == "{":
                depth += 1
            elif tex[j] == "}":
                depth -= 1
                if depth == 0:
                    return tex[i + 1 : j], j + 1
            j += 1
        return None
    if tex[i] == "\\":
        match = re.match(r"\\([A-Za-z]+|.)", tex[i:], re.DOTALL)
        if match is None:  # a lone backslash at the very end
            return None
        return match.group(0), i + len(match.group(0))
    if tex[i] in "}^_&":
        return None
    return tex[i], i + 1


class _Rewriter:
    """Rewrites the commands texicode lacks into ones it has (and, for one line, linear forms).

    Hand-written glue, not a TeX parser: it only matches braces to find the arguments of the few
    commands it rewrites, and leaves everything else to texicode.
    """

    def __init__(self, linear: bool) -> None:
        self.linear = linear
        self.marks: list[str] = []

    def mark(self, shown: str) -> str:
        """A placeholder texicode copies as letters; replaced by `shown` after rendering."""
        self.marks.append(shown)
        return rf"\mathrm{{{self._mark_name(len(self.marks) - 1)}}}"

    @staticmethod
    def _mark_name(index: int) -> str:
        letters = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return f"{_MARK}{letters}Q"

    def unmark(self, row: str) -> str:
        for index in range(len(self.marks) - 1, -1, -1):
            row = row.replace(self._mark_name(index), self.marks[index])
        return row

    def rewrite(self, tex: str) -> str:
        tex = _FUNCTION_SPACE.sub(lambda m: f"\\{m.group(1)}\\,", tex)
        out: list[str] = []
        i = 0
        while i < len(tex):
            char = tex[i]
            if char == "\\":
                match = re.match(r"\\([A-Za-z]+\*?|.)", tex[i:])
                if match is None:
                    out.append(char)
                    i += 1
                    continue
                name, after = match.group(1), i + len(match.group(0))
                done = self._command(tex, name, after)
                if done is None:
                    out.append(match.group(0))
                    i = after
                else:
                    out.append(done[0])
                    i = done[1]
                continue
            if self.linear and char in "^_":
                done = self._script(tex, i)
                if done is not None:
                    out.append(done[0])
                    i = done[1]
                    continue
            out.append(char)
            i += 1
        return "".join(out)

    def _args(self, tex: str, i: int, count: int) -> tuple[list[str], int] | None:
        args = []
        for _ in range(count):
            read = _read_arg(tex, i)
            if read is None:
                return None
            args.append(read[0])
            i = read[1]
        return args, i

    def _command(self, tex: str, name: str, i: int) -> tuple[str, int] | None:
        if name in _SYNONYMS:
            return _SYNONYMS[name], i
        if name in ("operatorname", "operatorname*", "textbf", "textit", "textrm", "mathit", "textsf"):
            got = self._args(tex, i, 1)
            return (rf"\text{{{got[0][0]}}}", got[1]) if got else None
        if name == "pmod":
            got = self._args(tex, i, 1)
            return (rf"\ (\text{{mod }}{self.rewrite(got[0][0])})", got[1]) if got else None
        if name == "overline":
            got = self._args(tex, i, 1)
            if got and re.fullmatch(r"[A-Za-z0-9]+", got[0][0].strip()):
                return "".join(rf"\bar{{{c}}}" for c in got[0][0].strip()), got[1]
            return None
        if name in ("cancel", "bcancel", "xcancel", "sout"):
            got = self._args(tex, i, 1)
            return (rf"{{\not {self.rewrite(got[0][0])}}}", got[1]) if got else None
        if name in ("underbrace", "overbrace"):
            got = self._args(tex, i, 1)
            if not got:
                return None
            body, j = self.rewrite(got[0][0]), got[1]
            while j < len(tex) and tex[j] == " ":
                j += 1
            if j < len(tex) and tex[j] in "_^":
                label = _read_arg(tex, j + 1)
                if label is not None:
                    return rf"{{{body}}}\ ({self.rewrite(label[0])})", label[1]
            return rf"{{{body}}}", j
        if name in ("underset", "overset", "stackrel"):
            got = self._args(tex, i, 2)
            if not got:
                return None
            (script, base), j = got
            mark = "_" if name == "underset" else "^"
            return rf"{{{self.rewrite(base)}}}{mark}{{{self.rewrite(script)}}}", j
        if name in ("tag", "tag*"):
            got = self._args(tex, i, 1)
            return (rf"\qquad ({self.rewrite(got[0][0])})", got[1]) if got else None
        if name == "boxed":
            got = self._args(tex, i, 1)
            if not got:
                return None
            return rf"\left[ {self.rewrite(got[0][0])} \right]", got[1]
        if name in ("color", "textcolor"):
            got = self._args(tex, i, 2)
            return (rf"{{{self.rewrite(got[0][1])}}}", got[1]) if got else None
        if not self.linear:
            return None
        if name in ("frac", "dfrac", "tfrac"):
            got = self._args(tex, i, 2)
            if not got:
                return None
            (top, bottom), j = got
            vulgar = _VULGAR.get((top.strip(), bottom.strip()))
            if vulgar:
                return self.mark(vulgar), j
            return f"{self._wrap(top)}/{self._wrap(bottom)}", j
        if name == "sqrt":
            index = re.match(r"\s*\[\s*(\d+)\s*\]", tex[i:])
            if index:
                i += index.end()
            elif tex[i:].lstrip().startswith("["):
                return None
            got = self._args(tex, i, 1)
            if not got:
                return None
            small = index.group(1).translate(_SUPERSCRIPT_DIGITS) if index else ""
            return self.mark(small + "√") + self._wrap(got[0][0]), got[1]
        if name == "binom":
            got = self._args(tex, i, 2)
            if not got:
                return None
            return rf"\text{{C}}({self.rewrite(got[0][0])},{self.rewrite(got[0][1])})", got[1]
        if name in _BIG_OPERATORS:
            return self.mark(_BIG_OPERATORS[name]), i
        if name in _LIMIT_WORDS:
            return rf"\text{{{name}}}", i
        return None

    def _wrap(self, tex: str) -> str:
        inner = self.rewrite(tex)
        if _ATOM.fullmatch(tex):
            return f"{{{inner}}}"
        return f"({inner})"

    def _script(self, tex: str, i: int) -> tuple[str, int] | None:
        """`^{…}`/`_{…}` in one line: kept when texicode has small letters for all of it,
        otherwise written `^(…)`; a lower and an upper script together are put side by side."""
        read = _read_arg(tex, i + 1)
        if read is None:
            return None
        body, j = read
        inner = self.rewrite(body)
        if _renders_on_one_line(f"x{tex[i]}{{{inner}}}"):
            text = f"{tex[i]}{{{inner}}}"
        else:
            text = self.mark(tex[i]) + f"({inner})"
        k = j
        while k < len(tex) and tex[k] == " ":
            k += 1
        if k < len(tex) and tex[k] in "^_" and tex[k] != tex[i]:
            text += "{}"  # texicode stacks x_a^b; x_a{}^b keeps them on one line
        return text, j


@lru_cache(maxsize=4096)
def _renders_on_one_line(tex: str) -> bool:
    rows = _texicode_rows(tex)
    return rows is not None and len(rows) == 1


@lru_cache(maxsize=4096)
def _texicode_rows(tex: str) -> tuple[str, ...] | None:
    """texicode's rows for `tex`, without its one-space margin and blank rows; None on failure."""
    from texicode import arts
    from texicode.pipeline import render_tex_rows

    arts.font = arts.font_normal  # plain letters (the default is a serif italic alphabet)
    try:
        rows = render_tex_rows(tex, False)
    except Exception:  # texicode raises KeyError and friends on some inputs: the source is shown
        return None
    if not rows or rows[0].startswith("TeXicode:"):
        return None
    rows = [row.rstrip() for row in rows if row.strip()]
    if not rows:
        return None
    margin = min(len(row) - len(row.lstrip(" ")) for row in rows)
    return tuple(row[margin:] for row in rows)


def _placeholders_left(source: str, rows: tuple[str, ...] | list[str]) -> bool:
    """texicode writes `?` for a command it does not know."""
    return sum(row.count("?") for row in rows) > source.count("?")


@lru_cache(maxsize=4096)
def to_unicode(tex: str, display: bool) -> tuple[str, ...] | None:
    """The formula as rows of Unicode (one row for inline math), or None when it cannot be
    drawn faithfully; the caller then shows the source."""
    source = tex.strip()
    if not source or not source.isascii():
        return None  # texicode reads ASCII only; a formula holding other text is shown as written
    try:
        if display:
            return _display_rows(source)
        line = _line(source)
    except Exception:  # whatever a formula holds, it is shown as written, never an error
        return None
    return None if line is None else (line,)


def _display_rows(source: str) -> tuple[str, ...] | None:
    boxed = re.fullmatch(r"\\boxed\s*(\{.*\})", source, re.DOTALL)
    inner = _read_arg(boxed.group(1), 0) if boxed else None
    if inner is not None and inner[1] == len(boxed.group(1)):  # type: ignore[union-attr]
        rows = _display_rows(inner[0].strip())
        if rows is None:
            return None
        width = max(_width(row) for row in rows)
        return (
            "┌" + "─" * (width + 2) + "┐",
            *(f"│ {row}{' ' * (width - _width(row))} │" for row in rows),
            "└" + "─" * (width + 2) + "┘",
        )
    rewritten = _Rewriter(linear=False).rewrite(source)
    rows = _texicode_rows(rewritten)
    if rows is None or _placeholders_left(source, rows) or any("\\" in row for row in rows):
        return None
    return rows


def _width(row: str) -> int:
    """Columns on screen: combining marks (x̄, √x̅) take none."""
    return sum(1 for char in row if not unicodedata.combining(char))


@lru_cache(maxsize=4096)
def to_line(tex: str) -> str | None:
    """The formula on one line (inline math, or display math too wide for the screen)."""
    source = tex.strip()
    if not source or not source.isascii():
        return None
    try:
        return _line(source)
    except Exception:  # shown as written, never an error
        return None


def _line(source: str) -> str | None:
    result = _one_line(source, linear=False)
    return result if result is not None else _one_line(source, linear=True)


def _one_line(source: str, *, linear: bool) -> str | None:
    if _MARK in source:
        return None
    rewriter = _Rewriter(linear=linear)
    rows = _texicode_rows(rewriter.rewrite(source))
    if rows is None or len(rows) != 1 or _placeholders_left(source, rows) or "\\" in rows[0]:
        return None
    return rewriter.unmark(rows[0])
