"""Streaming figures with mathematics: CPU to stream and render an answer holding LaTeX formulas
(drawn as Unicode), against a bare openai loop printing the same stream.

Same method as bench/stream.py (fake server, 4-character chunks, process CPU of the streaming loop).
Run: python bench/math_stream.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stream import compare  # noqa: E402
from tutor_cli.views.mathtext import find_math  # noqa: E402

FORMULAS = [
    r"$x = \frac{-b \pm \sqrt{b^2-4ac}}{2a}$",
    r"\(\frac{1}{2}+\frac{1}{3}=\frac{5}{6}\)",
    r"$f'(x) = 3x^2$",
    "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$",
    r"$\lim_{x\to 0}\frac{\sin x}{x} = 1$",
    "\\[\n\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}\n\\]",
    r"$\alpha + \beta \le \pi$",
    "$$\n\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}\n$$",
    r"$\boxed{x = 3}$",
    r"$a^2 + b^2 = c^2$",
]


def math_answer(size: int, per_40k: int = 200) -> str:
    """A tutor answer with `per_40k` formulas every 40,000 characters among paragraphs, lists, code."""
    step = 40_000 // per_40k - 62  # characters per formula (less a margin for the breaks)
    text, n = "", 0
    while len(text) < size:
        formula = FORMULAS[n % len(FORMULAS)]
        prose = f"Step {n}: the **common denominator**; it costs $5 not $10. "
        display = formula.startswith(("$$", "\\["))
        piece = f"{prose}\n\n{formula}\n\n" if display else f"{prose}Here {formula} holds. "
        piece += "More words about fractions and `code`. " * max(0, (step - len(piece)) // 40)
        piece += "\n\n" if n % 3 == 2 else ""
        if n % 25 == 24:
            piece += "```python\nprint(1 / 2)\n```\n\n"
        text += piece
        n += 1
    return text[:size].rsplit("\n\n", 1)[0] + "\n"


def main() -> None:
    short, long = math_answer(40_000), math_answer(400_000)
    compare(short, long, "stream+math+render", {"formulas in the 40k answer (about)": float(len(find_math(short)))})


if __name__ == "__main__":
    main()
