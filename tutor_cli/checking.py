"""Checking an attempt against a problem's key, by value: numbers, fractions, decimals, `x = value`,
equations, sets in any order, symbolic expressions and LaTeX (`math`), one letter (`choice`), or the
model's judgement with an exact fallback (`text`). What cannot be read is "not yet", never an error.

sympy does the algebra; both it and its LaTeX parser are imported inside the functions that need
them (about 0.3-0.8 s), so `tutor --help`, `sessions` and `show` never load them. Plain arithmetic
(`7/4`, `1.75`, `\\frac{7}{4}`, `1 3/4`) is read by the exact-fraction reader of arithmetic.py first: it
needs no sympy, and the answer guard (guard.py) reads every formula of a streaming reply with it,
which sympy could not do within the streaming speed goals. LaTeX fractions, roots, powers and the
usual functions are rewritten as plain text for sympy's `parse_expr` (well under a millisecond); what
is left (`\\log_{2}`, `\\binom`, Greek letters) goes to sympy's own LaTeX parser, its lark backend (the
ANTLR one needs antlr4-python3-runtime of exactly 4.11), an Earley parser taking 30-60 ms an answer.

Safety. `parse_expr` runs Python's `eval` on the text it is given. So a text is read as mathematics
only after (1) a length cap, (2) a character whitelist (no quotes, `__`, `!`, `@`, `#`, `;`...),
(3) a check of every letter run and of powers (no towers such as `9^9^9`), and then (4) `eval` gets a
namespace of a dozen sympy names with no builtins at all. And a student's text is parsed only in that
student's own process: `Checker.for_student` refuses a teacher's or an administrator's connection,
and everything a teacher reads (progress, the class tables, the report) uses the stored verdict.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tutor_cli.arithmetic import MAX_EXPONENT, arithmetic
from tutor_cli.errors import TutorError

if TYPE_CHECKING:
    from tutor_cli.store.base import Identity

KINDS = ("math", "choice", "text")
MAX_LENGTH = 200  # characters of an attempt read as mathematics; longer is "not yet"
MAX_LATEX_LENGTH = 120  # the LaTeX parser is an Earley parser: its time grows fast with the length
RELATIVE_TOLERANCE = 1e-9
# What mathematics may contain once Unicode signs are rewritten: letters, digits, spaces, operators,
# brackets, `=`, `,`, subscripts and the backslash of LaTeX. No quote, `!`, `@`, `#`, `;` or `:`.
_WHITELIST = re.compile(r"[0-9A-Za-z_\s+\-*/^().,=<>{}\[\]|\\]*")
# An underscore only as a subscript (`x_1`, `x_{12}`), never `__`; a dot only in a number.
_BAD_SEQUENCES = re.compile(r"__|(?<![A-Za-z])_|_(?![A-Za-z0-9{])|\.\s*[A-Za-z_]")
_FUNCTIONS = ("sqrt", "root", "sin", "cos", "tan", "log", "ln", "exp", "pi", "abs", "oo", "or", "and")
# LaTeX commands an answer may hold. The first line is rewritten as plain text and read in well under a
# millisecond; the rest go to sympy's own LaTeX parser (an Earley parser: 30-60 ms an answer).
_PLAIN_COMMANDS = (
    "frac",
    "sqrt",
    "cdot",
    "times",
    "div",
    "pi",
    "left",
    "right",
    "sin",
    "cos",
    "tan",
    "ln",
    "log",
    "exp",
)
_LATEX_COMMANDS = (*_PLAIN_COMMANDS, "binom", "infty", "theta", "alpha", "beta", "gamma", "mathrm", "operatorname")
_UNICODE = str.maketrans(
    {
        "−": "-",
        "–": "-",
        "×": "*",
        "·": "*",
        "÷": "/",
        "π": "pi",
        "√": "sqrt",
        "½": " 1/2",
        "¼": " 1/4",
        "¾": " 3/4",
        "²": "^2",
        "³": "^3",
    }
)


class NotYourTextError(TutorError):
    """A teacher's or administrator's process was asked to read a student's attempt as mathematics."""


# --- the one way in: a checker for the student whose text it reads ----------------------------


@dataclass(frozen=True)
class Checker:
    """Checks attempts; made only for the student whose own process this is (see the module's doc)."""

    judge: Callable[[str, str, str], bool | None] | None = None  # (statement, key, attempt) -> verdict

    @classmethod
    def for_student(
        cls,
        identity: Identity | None,
        student_id: str,
        judge: Callable[[str, str, str], bool | None] | None = None,
    ) -> Checker:
        """A checker for `student_id`'s own attempts. A personal store (no identity) belongs to its
        user; on a class database only the student's own login may check their text."""
        if identity is not None and (identity.kind != "student" or identity.name != student_id):
            raise NotYourTextError(
                f"Only {student_id!r} can answer their own problems: a {identity.kind}'s tutor never reads"
                " a student's text as mathematics."
            )
        return cls(judge)

    def check(self, kind: str, key: str, attempt: str, *, tolerance: float | None = None, statement: str = "") -> bool:
        """Whether `attempt` matches the key (False for anything unreadable)."""
        if kind == "choice":
            return same_choice(key, attempt)
        if kind == "text":
            return self._check_text(statement, key, attempt)
        return same_math(key, attempt, tolerance)

    def _check_text(self, statement: str, key: str, attempt: str) -> bool:
        if self.judge is not None:
            verdict = self.judge(statement, key, attempt)
            if verdict is not None:
                return verdict
        return normalised_text(key) == normalised_text(attempt)


# --- choice and text ---------------------------------------------------------------------------

_CHOICE = re.compile(r"\s*\(?\s*([A-Za-z])\s*[).]?\s*")


def choice_letter(text: str) -> str | None:
    """The letter of a choice answer (`b`, `B`, `(b)`, `b)`, `B.`), or None."""
    match = _CHOICE.fullmatch(text)
    return match.group(1).lower() if match else None


def same_choice(key: str, attempt: str) -> bool:
    letter = choice_letter(attempt)
    return letter is not None and letter == choice_letter(key)


def normalised_text(text: str) -> str:
    """Case and every space ignored (the fallback when no model can judge a `text` answer)."""
    return "".join(text.casefold().split())


JUDGE_PROMPT = (
    "You check a student's answer to a problem against the teacher's key. The answer is right when it "
    "means the same as the key (other words, order or spelling slips do not matter; a different or "
    "incomplete answer is not right). Reply with one word: RIGHT or WRONG."
)


def judge_messages(statement: str, key: str, attempt: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": JUDGE_PROMPT},
        {"role": "user", "content": f"Problem:\n{statement}\n\nKey:\n{key}\n\nStudent's answer:\n{attempt}"},
    ]


def read_verdict(reply: str) -> bool | None:
    """RIGHT / WRONG from the judge's reply; None when it says neither."""
    words = re.findall(r"[A-Za-z]+", reply.upper())
    if "WRONG" in words or "NOT" in words:
        return False
    if "RIGHT" in words or "CORRECT" in words:
        return True
    return None


# --- math: reading a text into elements ----------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """One stated value: `x = 7/4` is Element('x', 7/4); `7/4` Element(None, 7/4); an equation whose
    left side is no name (`x^2 + y^2 = 1`) is Element('=', lhs - rhs). `value` is a Fraction when the
    text was plain arithmetic, else a sympy expression."""

    name: str | None
    value: Any


@dataclass(frozen=True)
class Reading:
    elements: tuple[Element, ...]
    ordered: bool = False  # a tuple `(1, 2)`: the order counts

    @property
    def is_set(self) -> bool:
        return len(self.elements) > 1


def same_math(key: str, attempt: str, tolerance: float | None = None) -> bool:
    """Whether the attempt states the key's value(s): see the module's doc. Unreadable: False."""
    expected, given = read(key), read(attempt)
    if expected is None or given is None or len(expected.elements) != len(given.elements):
        return False
    tol = RELATIVE_TOLERANCE if tolerance is None else tolerance
    if expected.ordered:
        return given.ordered and all(
            _same_element(k, a, tol) for k, a in zip(expected.elements, given.elements, strict=True)
        )
    unmatched = list(given.elements)
    for element in expected.elements:  # any order, each given element used once
        match = next((a for a in unmatched if _same_element(element, a, tol)), None)
        if match is None:
            return False
        unmatched.remove(match)
    return True


def _same_element(key: Element, given: Element, tolerance: float) -> bool:
    if key.name == "=" or given.name == "=":
        return key.name == given.name and _same_equation(key.value, given.value)
    if key.name is not None and given.name is not None and key.name != given.name:
        return False  # `y = 7/4` is another claim than `x = 7/4`; the value alone is accepted
    return same_value(key.value, given.value, tolerance)


def same_value(a: Any, b: Any, tolerance: float = RELATIVE_TOLERANCE) -> bool:
    """Equal as numbers (within the relative tolerance) or as expressions (symbolically)."""
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b or abs(a - b) <= tolerance * max(abs(a), abs(b))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _same_sympy(_sympy_value(a), _sympy_value(b), tolerance)
    except Exception:  # sympy cannot decide (or overflows): not the same, as far as we can tell
        return False


def _same_sympy(a: Any, b: Any, tolerance: float) -> bool:
    import sympy

    if a.free_symbols != b.free_symbols:
        return False
    if not a.free_symbols:
        x, y = complex(sympy.N(a, 30)), complex(sympy.N(b, 30))
        return x == y or abs(x - y) <= tolerance * max(abs(x), abs(y))
    difference = sympy.expand(a - b)
    if difference == 0:
        return True
    difference = sympy.simplify(difference)
    if difference == 0:
        return True
    # Decimals inside an expression (`0.5x`): equal within the tolerance at a few points.
    if difference.has(sympy.Float):
        points = [dict.fromkeys(a.free_symbols, sympy.Rational(n, 7)) for n in (3, 11, 19)]
        return all(
            abs(complex(sympy.N(difference.subs(p)))) <= tolerance * max(1.0, abs(complex(sympy.N(a.subs(p)))))
            for p in points
        )
    return False


def _same_equation(a: Any, b: Any) -> bool:
    """Two equations `lhs - rhs = 0` are the same when one is a non-zero constant times the other."""
    import sympy

    a, b = _sympy_value(a), _sympy_value(b)
    if a == 0 or b == 0:
        return a == b
    ratio = sympy.simplify(a / b)
    return bool(ratio.is_number and ratio != 0)


def _sympy_value(value: Any) -> Any:
    if isinstance(value, Fraction):
        import sympy

        return sympy.Rational(value.numerator, value.denominator)
    return value


@lru_cache(maxsize=256)
def read(text: str) -> Reading | None:
    """The elements a text states, or None when it cannot be read as mathematics."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return None
    cleaned = clean(text)
    if not cleaned or len(cleaned) > MAX_LENGTH or not _WHITELIST.fullmatch(cleaned) or _BAD_SEQUENCES.search(cleaned):
        return None
    ordered = False
    if cleaned[0] == "{" and _closes_at_end(cleaned, "{", "}"):
        cleaned = cleaned[1:-1]
    elif cleaned[0] == "(" and _closes_at_end(cleaned, "(", ")") and _top_level_split(cleaned[1:-1]) != [cleaned[1:-1]]:
        cleaned, ordered = cleaned[1:-1], True
    parts = _top_level_split(cleaned)
    elements = []
    for part in parts:
        element = _element(part)
        if element is None:
            return None
        elements.append(element)
    return Reading(tuple(elements), ordered) if elements else None


def clean(text: str) -> str:
    """A text with its wrappers gone: `$…$`, `\\(…\\)`, `\\boxed{…}`, `\\left`, spacing commands,
    `\\text{or}`, a final full stop; Unicode signs as ASCII."""
    text = text.translate(_UNICODE).strip()
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(opener) and text.endswith(closer) and len(text) >= len(opener) + len(closer):
            text = text[len(opener) : len(text) - len(closer)].strip()
            break
    text = re.sub(r"\\(?:text|mbox|mathrm|operatorname)\s*\{\s*(or|and)\s*\}", r" \1 ", text)
    text = re.sub(r"\\(?:text|mbox|mathrm)\s*\{[^{}]*\}", " ", text)
    text = re.sub(r"\\(?:boxed|displaystyle|mathbf|mathit)\b", "", text)
    text = re.sub(r"\\[dt]frac\b", r"\\frac", text)
    text = re.sub(r"\\(?:left|right|big|Big)\b", "", text)
    text = re.sub(r"\\[{}]", lambda m: m.group(0)[1], text)
    text = re.sub(r"\\[,;:! ]|\\q?quad\b|~", " ", text)
    text = re.sub(r"\\(?:lor|vee)\b", " or ", text)
    text = re.sub(r"\\pi\b", " pi ", text)
    text = re.sub(r"\\(?:cdot|times)\b", "*", text)
    text = re.sub(r"\\div\b", "/", text)
    text = text.replace("**", "^").replace("&", " ").strip()
    while text and text[-1] in ".;":
        text = text[:-1].rstrip()
    return text


def _closes_at_end(text: str, opener: str, closer: str) -> bool:
    """Whether the bracket opening `text` is the one closing it."""
    depth = 0
    for i, char in enumerate(text):
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _top_level_split(text: str) -> list[str]:
    """Split at `,`, ` or `, ` and ` outside brackets; empty pieces dropped."""
    pieces, depth, current, i = [], 0, [], 0
    while i < len(text):
        char = text[i]
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        if depth == 0:
            word = re.match(r"\s+(or|and)\s+", text[i:])
            if char == "," or word:
                pieces.append("".join(current))
                current = []
                i += word.end() if word and char != "," else 1
                continue
        current.append(char)
        i += 1
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]


_NAME = re.compile(r"[A-Za-z](?:_?\{?[A-Za-z0-9]\}?)?'*")


def _element(text: str) -> Element | None:
    sides = [side.strip() for side in re.split(r"(?<![<>!])=(?!=)", text)]
    if any(not side for side in sides):
        return None
    if len(sides) == 1:
        value = value_of(sides[0])
        return None if value is None else Element(None, value)
    if _NAME.fullmatch(sides[0]):  # x = 8/4 = 2: the name, and the last value
        value = value_of(sides[-1])
        return None if value is None else Element(_plain_name(sides[0]), value)
    if len(sides) == 2 and _NAME.fullmatch(sides[1]):  # 7/4 = x
        value = value_of(sides[0])
        return None if value is None else Element(_plain_name(sides[1]), value)
    if len(sides) != 2:
        return None
    left, right = value_of(sides[0]), value_of(sides[1])
    if left is None or right is None:
        return None
    return Element("=", _sympy_value(left) - _sympy_value(right))


def _plain_name(name: str) -> str:
    return re.sub(r"[_{}]", "", name)


@lru_cache(maxsize=1024)
def value_of(text: str) -> Any:
    """The value of one expression: a Fraction for plain arithmetic, else a sympy expression; None
    when it cannot be read."""
    exact = arithmetic(text)
    if exact is not None:
        return exact if isinstance(exact, Fraction) else _float_value(exact)
    try:
        with warnings.catch_warnings():  # sympy's deprecation notes about odd input are no concern of the student's
            warnings.simplefilter("ignore")
            return _sympy_read(text)
    except Exception:  # anything sympy cannot read is simply not a reading
        return None


def _float_value(value: float) -> Any:
    import sympy

    return sympy.Float(value, 17)


# --- sympy -------------------------------------------------------------------------------------

_LETTERS = re.compile(r"\\?[A-Za-z]+")
# A power whose exponent holds another power (`9^9^9`, `2^{3^{4}}`), or an exponent of 4+ digits.
_TOWER = re.compile(r"\^\s*\{[^{}]*\^|\^\s*\([^()]*\^|\^\s*[\w.]+\s*\^|\^\s*[({]?\s*-?\d{4,}")


def _sympy_read(text: str) -> Any:
    """A sympy expression for `text` after the safety checks of the module's doc (raises when
    it cannot be read). Simple LaTeX (`\\frac`, `\\sqrt{}`, `^{}`) is rewritten as plain text first;
    what is left with a backslash goes to sympy's LaTeX parser, whose grammar takes ~0.3 s to load."""
    plain = _safe_source(text)
    if "\\" in plain:  # the original, untouched, for the LaTeX parser
        if len(text) > MAX_LATEX_LENGTH:
            raise ValueError("too long for the LaTeX parser")
        expression = _latex(text)
    else:
        expression = _parse(plain)
    _check_powers(expression)
    return expression.doit() if hasattr(expression, "doit") else expression


def _safe_source(text: str) -> str:
    """`text` with simple LaTeX made plain, or ValueError for towers of powers and unknown words."""
    for _ in range(8):  # nested \frac{\frac{a}{b}}{c}
        changed = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", text)
        changed = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", changed)
        changed = re.sub(r"\\sqrt\s*\[([^\[\]{}]*)\]\s*\{([^{}]*)\}", r"root(\2, \1)", changed)
        changed = re.sub(r"\^\s*\{([^{}]*)\}", r"^(\1)", changed)
        if changed == text:
            break
        text = changed
    text = re.sub(r"\\(sin|cos|tan|ln|exp|log)\b(?!\s*_)", r" \1 ", text)  # \log_{2} stays LaTeX
    if _TOWER.search(text):
        raise ValueError("a power too large to compute")
    for run in _LETTERS.findall(text):
        word = run.lstrip("\\")
        if run.startswith("\\"):
            if word not in _LATEX_COMMANDS:
                raise ValueError(f"unknown command {run}")
        elif len(word) > 3 and word not in _FUNCTIONS:
            raise ValueError(f"unknown word {word}")
    return text


def _latex(text: str) -> Any:
    from sympy.parsing.latex import parse_latex

    result = parse_latex(text, backend="lark")
    if not hasattr(result, "free_symbols"):  # an ambiguous parse (a lark Tree): take it if all readings agree
        readings = [child for child in getattr(result, "children", ()) if hasattr(child, "free_symbols")]
        if not readings or any(_sympy_differs(readings[0], other) for other in readings[1:]):
            raise ValueError("ambiguous LaTeX")
        result = readings[0]
    return result


def _sympy_differs(a: Any, b: Any) -> bool:
    import sympy

    return sympy.simplify(a - b) != 0


@lru_cache(maxsize=1)
def _namespace() -> tuple[dict[str, Any], tuple]:
    """The only names `eval` sees (no builtins), and the transformations: implicit multiplication
    (`2x`, `2(x+1)`) and `^` for powers."""
    import sympy
    from sympy.parsing import sympy_parser as p

    names = {
        "__builtins__": {},
        **{name: getattr(sympy, name) for name in ("Symbol", "Integer", "Float", "Rational", "Function")},
        **{name: getattr(sympy, name) for name in ("Add", "Mul", "Pow", "Tuple")},
        **{name: getattr(sympy, name) for name in ("sqrt", "root", "sin", "cos", "tan", "log", "exp", "pi", "oo")},
        "ln": sympy.log,
        "abs": sympy.Abs,
        "e": sympy.E,
    }
    transformations = (
        p.auto_symbol,
        p.auto_number,
        p.split_symbols,
        p.implicit_multiplication,
        p.implicit_application,
        p.function_exponentiation,
        p.convert_xor,
    )
    return names, transformations


def _parse(text: str) -> Any:
    from sympy.parsing.sympy_parser import parse_expr

    names, transformations = _namespace()
    return parse_expr(text, local_dict={}, global_dict=dict(names), transformations=transformations, evaluate=False)


def _check_powers(expression: Any) -> None:
    """Refuse numeric powers that would take long to compute (the tower rule catches most in the text)."""
    import sympy

    for power in expression.atoms(sympy.Pow) if hasattr(expression, "atoms") else ():
        exponent = power.exp
        if exponent.is_number and (exponent.has(sympy.Pow) or abs(sympy.N(exponent)) > MAX_EXPONENT):
            raise ValueError("too large a power")


def warm_up() -> None:
    """Load sympy and its parser now (about 0.5 s), e.g. while the student reads the problem."""
    same_math("2x + 2", "2(x + 1)")


def model_judge(client: Any, model: str) -> Callable[[str, str, str], bool | None]:
    """A judge for `text` answers that asks the model (a ChatClient); None when no verdict came."""
    from tutor_cli.errors import APIError

    def judge(statement: str, key: str, attempt: str) -> bool | None:
        try:
            reply = "".join(
                delta.text
                for delta in client.stream(judge_messages(statement, key, attempt), model)
                if delta.kind == "content"
            )
        except APIError:
            return None
        return read_verdict(reply)

    return judge


@lru_cache(maxsize=1024)
def form_of(text: str) -> Any:
    """The written form of an expression, as a hashable tree with the order of sums and products
    ignored: `2x + 2` and `2 + x*2` have one form, `2(x + 1)` another. None when unreadable. (The
    answer guard compares forms for a symbolic key: restating the problem's `2(x+1)` is no leak.)"""
    source = clean(text)
    if not source or len(source) > MAX_LENGTH or not _WHITELIST.fullmatch(source) or _BAD_SEQUENCES.search(source):
        return None
    try:
        source = _safe_source(source)
        if "\\" in source:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _canonical(_parse(source))
    except Exception:  # not readable: no form
        return None


def _canonical(expression: Any) -> Any:
    import sympy

    if not expression.args:
        return str(expression)
    if isinstance(expression, sympy.Add | sympy.Mul):
        parts: list[Any] = []
        for arg in expression.args:  # nested sums (products) are one sum (product)
            parts.extend(_canonical(a) for a in (arg.args if arg.func == expression.func else (arg,)))
        return (expression.func.__name__, tuple(sorted(parts, key=repr)))
    return (expression.func.__name__, tuple(_canonical(arg) for arg in expression.args))


def readable_key(kind: str, answer: str) -> str | None:
    """Why a key cannot be used (one phrase), or None when it can."""
    if kind == "choice":
        return None if choice_letter(answer) else "a choice key is one letter, such as b"
    reading = read(answer) if kind == "math" else None
    if kind == "math" and reading is None:
        return "the answer cannot be read as mathematics (write it as 7/4, x = 2 or x = 3, 2x + 2, or \\frac{7}{4})"
    if reading is not None and any(_undefined(element.value) for element in reading.elements):
        return "the answer is undefined (such as 1/0), so no answer can match it"
    return None


def _undefined(value: Any) -> bool:
    if isinstance(value, Fraction):
        return False
    import sympy

    return bool(value.has(sympy.zoo, sympy.nan))
