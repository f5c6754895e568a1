"""Streaming figures with mathematics: CPU to stream and render an answer holding LaTeX formulas
(drawn as Unicode), against a bare openai loop printing the same stream.

Same method as bench/stream.py (fake server, 4-character chunks, process CPU of the streaming loop).
Run: python bench/math_stream.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stream import BARE, TUTOR, best_of  # noqa: E402
from tests.fake_server import FakeServer  # noqa: E402
from tutor_cli.mathtext import find_math  # noqa: E402

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
    formulas = len(find_math(short))
    server = FakeServer().start()
    try:
        bare = best_of(3, BARE, server, short)
        ours = best_of(3, TUTOR, server, short)
        bare_long = best_of(2, BARE, server, long)
        ours_long = best_of(2, TUTOR, server, long)
    finally:
        server.stop()
    figures = {
        "formulas in the 40k answer (about)": float(formulas),
        "bare openai loop, 40k chars (s CPU)": bare,
        "tutor stream+math+render, 40k (s CPU)": ours,
        "tutor / bare (target <= 1.5)": ours / bare,
        "bare openai loop, 400k chars (s CPU)": bare_long,
        "tutor stream+math+render, 400k (s CPU)": ours_long,
        "tutor 400k / 40k (target <= 12)": ours_long / ours,
    }
    for name, value in figures.items():
        print(f"{name:44} {value:8.3f}")
    if "--json" in sys.argv:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
