"""The answer guard: a streaming reply passes through it line by line, and a part that states the key's
answer stops the reply before the student sees it.

Fed the reply's pieces as they arrive, `AnswerGuard.feed` returns the text that may be shown now: every
complete line (a formula still open at the end of a line holds its lines until it closes, so a formula
is judged whole). Each released block is checked first:

- `math` keys: every formula (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`), split into its statements (at
  `\\Rightarrow`, `,`, `\\quad`, `\\text{or}`, …): `name = value` (also `value = name`, `x = 14/8 = 7/4`),
  `\\boxed{…}`, and a formula that is a value alone; in the prose, `name = value`, `\\boxed{…}`, "the
  answer is 1.75", and, for a key that is no whole number, the key's value written anywhere (`1.75`,
  `7/4`). A value counts when it equals one of the key's elements (so each element of a set key, as a
  final result). An intermediate step (`4x = 7`: its left side is no name) or another number passes.
- `choice` keys: the letter given as the answer (`(b)`, "the answer is B", `\\boxed{b}`).
- `text` keys: the key's own words.

Once a part states the answer, `withheld` is set and nothing more is released: the caller shows one
line pointing to /hint and stores the whole draft marked withheld. Values are read by the exact
arithmetic reader of checking.py (microseconds, no sympy); only a symbolic key sends a candidate
with the key's letters to sympy. No terminal code here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tutor_cli import checking
from tutor_cli.mathspans import find_math, pending_start

MAX_HELD = 4000  # characters held for a formula that never closes before the rest is released anyway
_NUMBER = r"[-−]?\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?"
_NUMBER_TOKEN = re.compile(rf"(?<![\w.^/])({_NUMBER})(?![\w.]*\d|\s*[/^]\s*\d)")
_FRACTION = r"\\[dt]?frac\s*\{[^{}]*\}\s*\{[^{}]*\}"
_PROSE_NAME = re.compile(
    rf"(?<![\w\\])[A-Za-z](?:_\w+)?\s*(?:=|≈|\bequals\b|\bis equal to\b|\bis\b)\s*({_NUMBER}|{_FRACTION})"
)
_PROSE_ANSWER = re.compile(
    rf"\b(?:answer|result|solution)\b[^.\n]{{0,24}}?(?:\bis\b|=|:|\bequals\b|\bof\b)\s*\**\s*({_NUMBER})", re.IGNORECASE
)
_SEPARATORS = re.compile(
    r"\\\\|&|,|;|\\q?quad\b|\\text\s*\{[^{}]*\}|\\(?:Rightarrow|Longrightarrow|implies|iff|therefore|to|lor|land|vee"
    r"|wedge|mbox)\b"
)
_RELATION = re.compile(r"(?<![<>!\\])=|\\approx\b|≈")
_FORMULA_NAME = re.compile(r"\s*[A-Za-z](?:_\{?\w+\}?)?'*(?:\s*\([A-Za-z]\))?\s*")
_BRACE_SET = re.compile(r"\\?\{([^{}]*)\\?\}")


def boxed_contents(text: str) -> list[str]:
    """The insides of every `\\boxed{…}` (braces balanced)."""
    found = []
    for match in re.finditer(r"\\boxed\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append(text[match.end() : i - 1])
    return found


@dataclass
class Target:
    """What the guard looks for, read once from the key."""

    kind: str
    key: str
    tolerance: float = checking.RELATIVE_TOLERANCE
    numbers: list[Fraction | float] = field(default_factory=list)  # the key's numeric elements
    symbolic: list[Any] = field(default_factory=list)  # its symbolic elements (sympy)
    forms: list[Any] = field(default_factory=list)  # the written form of each symbolic element
    is_set: bool = False
    whole: bool = True  # every numeric element a whole number (then bare numbers in prose are not judged)
    choice: str | None = None
    words: re.Pattern[str] | None = None

    @classmethod
    def of(cls, kind: str, key: str, tolerance: float | None = None) -> Target:
        target = cls(kind, key, checking.RELATIVE_TOLERANCE if tolerance is None else tolerance)
        if kind == "choice":
            target.choice = checking.choice_letter(key)
        elif kind == "text":
            words = r"\s+".join(re.escape(word) for word in key.split())
            target.words = re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE) if words else None
        else:
            reading = checking.read(key)
            for element in reading.elements if reading else ():
                if element.name == "=":
                    continue  # an equation key: its value cannot be stated as one number
                if isinstance(element.value, Fraction):
                    target.numbers.append(element.value)
                elif getattr(element.value, "free_symbols", None):
                    target.symbolic.append(element.value)
                    target.forms.append(checking.form_of(_element_text(key, element, reading)))
                else:
                    target.numbers.append(complex(element.value).real)
            target.is_set = bool(reading and reading.is_set)
            target.whole = all(isinstance(n, Fraction) and n.denominator == 1 for n in target.numbers)
        return target

    # -- values --

    def equals(self, text: str) -> bool:
        """Whether an expression's value is one of the key's elements."""
        source = checking.clean(text)
        if not source:
            return False
        if self.numbers:
            value = checking.arithmetic(source)
            if value is not None:
                return any(_close(value, number, self.tolerance) for number in self.numbers)
        if self.forms and not source.lstrip("-").replace(".", "").isdigit():
            form = checking.form_of(source)
            return form is not None and form in self.forms
        return False

    # -- parts of a reply --

    def formula_states(self, tex: str) -> bool:
        for inside in boxed_contents(tex):
            if self.equals(inside) or self.formula_states(inside.replace("\\boxed", "")):
                return True
        tex = re.sub(r"\\boxed\s*", "", tex)
        if self.is_set and self._set_stated(tex):
            return True
        pieces = [piece for piece in _SEPARATORS.split(tex) if piece.strip()]
        for piece in pieces:
            sides = _RELATION.split(piece)
            if len(sides) == 1:
                if len(pieces) == 1 and not self.is_set and self.equals(piece):
                    return True  # the formula is the value alone
                continue
            if _FORMULA_NAME.fullmatch(sides[0]) and any(self.equals(side) for side in sides[1:]):
                return True
            if self.forms and any(self.equals(side) for side in sides):
                return True  # a symbolic key's form is the answer wherever it stands: `2(x+1) = 2x + 2`
            if _FORMULA_NAME.fullmatch(sides[-1]) and self.equals(sides[0]):
                return True
        return False

    def _set_stated(self, text: str) -> bool:
        return any(checking.same_math(self.key, "{" + inside + "}") for inside in _BRACE_SET.findall(text))

    def prose_states(self, line: str) -> bool:
        for inside in boxed_contents(line):
            if self.equals(inside) or self.formula_states(inside):
                return True
        for pattern in (_PROSE_NAME, _PROSE_ANSWER):
            if any(self.equals(value) for value in pattern.findall(line)):
                return True
        if self.is_set and self._set_stated(line):
            return True
        if self.numbers and not self.whole and not self.is_set:
            return any(self.equals(token) for token in _NUMBER_TOKEN.findall(line))
        return False

    def choice_stated(self, text: str) -> bool:
        letter = re.escape(self.choice or "")
        if not letter:
            return False
        patterns = (
            rf"\\boxed\s*\{{\s*\(?{letter}\)?\s*\}}",
            rf"\b(?:answer|option|choice)\b[^.\n]{{0,16}}?(?:\bis\b|:|=)?\s*\**\s*(?:\({letter}\)|{letter}\)"
            rf"|{letter}(?=\s*(?:[.,;:!*)]|$)))",
            rf"^\W*\(?{letter}\)\W*$",
        )
        return any(re.search(p, line, re.IGNORECASE) for p in patterns for line in text.splitlines() or [text])

    def block_states(self, block: str) -> str | None:
        """The part of `block` that states the answer, or None."""
        if self.kind == "choice":
            return block.strip() if self.choice_stated(block) else None
        if self.kind == "text":
            found = self.words.search(block) if self.words else None
            return found.group(0) if found else None
        spans = find_math(block)
        for span in spans:
            if self.formula_states(span.tex):
                return block[span.start : span.end]
        opened = pending_start(block)  # a formula still open when the reply ended (or overflowed)
        if opened is not None and self.formula_states(block[opened:].lstrip("$\\[(")):
            return block[opened:].strip()
        prose = block
        for span in reversed(spans):
            prose = prose[: span.start] + " " + prose[span.end :]
        for line in prose.splitlines():
            if line.strip() and self.prose_states(line):
                return line.strip()
        return None


def _element_text(key: str, element: checking.Element, reading: checking.Reading) -> str:
    """The text of one symbolic element of a key (`2x + 2` of `y = 2x + 2`)."""
    if reading.is_set:
        parts = checking._top_level_split(checking.clean(key).strip("{}"))
        text = parts[reading.elements.index(element)]
    else:
        text = checking.clean(key)
    return re.split(r"(?<![<>!])=", text)[-1]


def _close(value: Fraction | float, number: Fraction | float, tolerance: float) -> bool:
    if isinstance(value, Fraction) and isinstance(number, Fraction) and value == number:
        return True
    return abs(value - number) <= tolerance * max(abs(value), abs(number))


class AnswerGuard:
    """Holds a streaming reply back by line and stops it at the first part that states the answer."""

    def __init__(self, kind: str, key: str, tolerance: float | None = None) -> None:
        self.target = Target.of(kind, key, tolerance)
        self.target.block_states(
            "Say $x_1 = 1$ or y = 2, the answer is 3.\n"
        )  # compile every pattern now, not in a line
        self._tail = ""
        self.withheld = False
        self.stated: str | None = None  # the part that gave the answer away

    def feed(self, text: str) -> str:
        """Take the next piece of the reply; return what may be shown now."""
        if self.withheld:
            return ""
        if "\n" not in text:
            self._tail += text
            return ""
        self._tail += text
        cut = self._tail.rfind("\n") + 1
        ready = self._tail[:cut]
        held = pending_start(ready) if ("$" in ready or "\\" in ready) else None
        if held is not None and len(self._tail) - held < MAX_HELD:
            held = ready.rfind("\n", 0, held) + 1  # hold from the start of the formula's line
            ready = ready[:held]
            cut = held
        self._tail = self._tail[cut:]
        return self._release(ready)

    def finish(self) -> str:
        """The reply ended: check and return what is left."""
        if self.withheld:
            return ""
        rest, self._tail = self._tail, ""
        return self._release(rest)

    def _release(self, block: str) -> str:
        if not block:
            return ""
        stated = self.target.block_states(block)
        if stated is not None:
            self.withheld, self.stated, self._tail = True, stated, ""
            return ""
        return block
