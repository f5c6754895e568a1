"""The exact arithmetic reader (arithmetic.py): what checking reads before sympy and the answer guard
reads alone while a reply streams (README, "What is checked" and "The guard"). Plain arithmetic is an
exact fraction, a root or pi a float, and anything else None: never an error, never a wrong value."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from tutor_cli.arithmetic import arithmetic
from tutor_cli.guard import AnswerGuard


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7/4", Fraction(7, 4)),
        ("1 + 3/4", Fraction(7, 4)),
        ("2 - 1/4", Fraction(7, 4)),
        ("3.5 * 0.5", Fraction(7, 4)),
        ("0.1 + 1.65", Fraction(7, 4)),  # decimals as written, not as binary floats
        ("-7/4", Fraction(-7, 4)),
        ("+7/4", Fraction(7, 4)),
        ("7 \\div 4", Fraction(7, 4)),
        ("7 \\cdot \\frac{1}{4}", Fraction(7, 4)),
        ("7 \\times 0.25", Fraction(7, 4)),
        ("\\frac{\\frac{7}{2}}{2}", Fraction(7, 4)),
        ("\\sqrt{49}/4", Fraction(7, 4)),  # a whole root stays exact
        ("sqrt(16)", Fraction(4)),
        ("\\sqrt{0}", Fraction(0)),
        ("2(3 + 4)", Fraction(14)),  # a number before a bracket multiplies it
        ("2^3", Fraction(8)),
        ("2^(1 + 2)", Fraction(8)),
        ("(-2)^3", Fraction(-8)),
        ("2^1000", Fraction(2**1000)),
        ("(10^12)^2", Fraction(10**24)),
        ("1 3/4", Fraction(7, 4)),  # a mixed number: one and three quarters, not 1 × 3/4
        ("1\\frac{3}{4}", Fraction(7, 4)),
        ("-1 3/4", Fraction(-7, 4)),
    ],
)
def test_plain_arithmetic_is_an_exact_fraction(text: str, value: Fraction) -> None:
    result = arithmetic(text)
    assert isinstance(result, Fraction) and result == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("\\pi", math.pi),
        ("2\\pi", 2 * math.pi),
        ("\\sqrt{2}", math.sqrt(2)),
        ("\\sqrt{\\pi}", math.sqrt(math.pi)),
        ("\\sqrt{1/4}", 0.5),
        ("sqrt(2.25)", 1.5),
        ("8^(1/3)", 2.0),
    ],
)
def test_a_root_or_pi_is_a_float(text: str, value: float) -> None:
    result = arithmetic(text)
    assert isinstance(result, float) and result == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x + 1",
        "1e3",  # Python's numbers that people do not write
        "0x10",
        "7/4 # a note",
        "2 % 3",
        "\\sqrt{-4}",
        "1 3/0",
        "sqrt(2, 3)",
        "2^1001",  # powers too large to compute
        "(10^12 + 1)^2",
        "1/0",
        "1+" * 100 + "1",  # longer than 200 characters
    ],
)
def test_anything_else_is_none_never_an_error(text: str) -> None:
    assert arithmetic(text) is None


def test_two_hundred_characters_are_still_read() -> None:
    text = "1+" * 99 + "1 "
    assert len(text) == 200 and arithmetic(text) == 100


@pytest.mark.parametrize(
    ("key", "formula"),
    [
        ("7/4", "$1 + \\frac{3}{4}$"),
        ("7/4", "$\\sqrt{49} \\div 4$"),
        ("1.4142135624", "$\\sqrt{2}$"),
        ("3.14159265359", "$x = \\pi$"),
        ("8", "$2^3$"),
    ],
)
def test_the_guard_holds_back_a_formula_whose_arithmetic_is_the_key(key: str, formula: str) -> None:
    guard = AnswerGuard("math", key)
    assert guard.feed(f"So we get {formula}.\n") == "" and guard.withheld


@pytest.mark.parametrize("formula", ["$1 - \\frac{3}{4}$", "$2 \\cdot 3$", "$\\sqrt{3}$", "$2^4$"])
def test_the_guard_lets_other_values_pass(formula: str) -> None:
    guard = AnswerGuard("math", "7/4")
    line = f"Compare {formula}.\n"
    assert guard.feed(line) == line and not guard.withheld
