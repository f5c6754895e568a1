"""Plain arithmetic read exactly and safely, without sympy: numbers, + - * / ^, brackets, `\\frac{a}{b}`,
`\\sqrt`, pi. The answer guard reads every formula of a streaming reply with it (microseconds each;
sympy would take milliseconds), and checking.py tries it before loading sympy at all."""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction

MAX_LENGTH = 200
MAX_EXPONENT = 1000  # |exponent| of a numeric power; larger powers are not computed

_ARITH_TEXT = re.compile(r"[0-9\s+\-*/^().{}]|\\frac|\\sqrt|\\cdot|\\times|\\div|sqrt|pi|\\pi")
_NUMBER_JUXTAPOSED = re.compile(r"(\d|\))\s*(?=\(|sqrt|pi)")


_MIXED = re.compile(r"\s*(-)?\s*(\d+)(?:\s+(\d+)\s*/\s*(\d+)|\s*\\[dt]?frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\})\s*")


def arithmetic(text: str) -> Fraction | float | None:
    """The value of plain arithmetic (numbers, + - * / ^, brackets, `\\frac{a}{b}`, `\\sqrt`, pi) as an
    exact Fraction (a float when a root or pi is involved); None for anything else. Python's own
    parser builds the tree and only number and operator nodes are evaluated: nothing runs."""
    if len(text) > MAX_LENGTH or not text or _ARITH_TEXT.sub("", text).strip():
        return None
    mixed = _MIXED.fullmatch(text)
    if mixed:  # 1 3/4 and 1\frac{3}{4} are one and three quarters, as people write them (not 1 × 3/4)
        top, bottom = (mixed.group(3), mixed.group(4)) if mixed.group(3) else (mixed.group(5), mixed.group(6))
        if int(bottom) == 0:
            return None
        whole = Fraction(int(mixed.group(2))) + Fraction(int(top), int(bottom))
        return -whole if mixed.group(1) else whole
    source = text.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/").replace("\\pi", "pi")
    for _ in range(8):  # nested \frac{\frac{a}{b}}{c}
        changed = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", source)
        changed = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", changed)
        if changed == source:
            break
        source = changed
    if "\\" in source or "{" in source or "}" in source:
        return None
    source = _NUMBER_JUXTAPOSED.sub(r"\1*", source).replace("^", "**")
    try:
        tree = ast.parse(source.strip(), mode="eval")
        return _evaluate(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None


def _evaluate(node: ast.AST) -> Fraction | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return Fraction(str(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.Name) and node.id == "pi":
        return math.pi
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "sqrt"
        and len(node.args) == 1
    ):
        value = _evaluate(node.args[0])
        if value < 0:
            raise ValueError("negative root")
        root = math.isqrt(int(value)) if isinstance(value, Fraction) and value.denominator == 1 else None
        return Fraction(root) if root is not None and root * root == value else math.sqrt(value)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
        if isinstance(node.op, ast.Pow):
            if abs(right) > MAX_EXPONENT or abs(left) > 10**12:
                raise ValueError("too large a power")
            if isinstance(right, Fraction) and right.denominator == 1:
                return left ** int(right)
            return float(left) ** float(right)
    raise ValueError("not arithmetic")
