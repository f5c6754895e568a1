"""Problems figures: checking an attempt (first time in a fresh process, loading sympy; then warm), and
the answer guard on a streaming reply (CPU against the bare openai loop, as bench/stream.py measures;
the delay it adds before a line appears).

Run: python bench/problems.py   (add --json for the figures as one JSON object as well)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stream import BARE, best_of  # noqa: E402
from tests.fake_server import FakeServer  # noqa: E402

FIRST_CHECK = """
import json, sys, time
started, started_cpu = time.perf_counter(), time.process_time()
from tutor_cli.checking import Checker
ok = Checker.for_student(None, "ada").check("math", KEY, ATTEMPT)
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - started_cpu,
                  "right": ok, "sympy": "sympy" in sys.modules}))
"""

WARM = [
    ("7/4", "1.75"),
    ("7/4", r"x = \frac{7}{4}"),
    ("x = 2 or x = 3", "{3, 2}"),
    ("2x + 2", "2(x+1)"),
    ("x^2 - 1", "(x - 1)(x + 1)"),
    ("1/3", "0.3333333333"),
    ("sqrt(2)", r"\sqrt{2}"),
    ("2", r"\sqrt[3]{8}"),
    ("3", r"\log_{2} 8"),  # sympy's LaTeX parser (an Earley parser: the slowest path)
    ("7/4", "banana"),
]

GUARDED = """
import os, sys, time
from rich.console import Console
from tutor_cli.client import ChatClient
from tutor_cli.guard import AnswerGuard
from tutor_cli.views.answer import LiveAnswerView
client = ChatClient(sys.argv[1], sys.argv[2])
client.warm_up()
guard = AnswerGuard("math", "7/4")  # built before the question is sent
console = Console(file=open(os.devnull, "w"), force_terminal=True, width=100, height=40, color_system="truecolor")
start = time.process_time()
view = LiveAnswerView(console)
view.start()
for delta in client.stream([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}], "deepseek-flash"):
    if delta.kind == "content":
        shown = guard.feed(delta.text)
        if shown:
            view.content(shown)
    else:
        view.reasoning(delta.text)
rest = guard.finish()
if rest:
    view.content(rest)
view.finish()
assert not guard.withheld
print(time.process_time() - start)
"""

UNGUARDED = GUARDED.replace("shown = guard.feed(delta.text)", "shown = delta.text").replace(
    "rest = guard.finish()", "rest = ''"
)


def tutoring_reply(size: int) -> str:
    """A guiding reply of `size` characters, dense with formulas, none stating the key 7/4."""
    unit = (
        "## Step {n}: isolating $x$\n\n"
        "We start from $4x - 3 = 4$. Adding $3$ to both sides gives $4x = 7$, an intermediate step.\n"
        "What should we divide by? Think about $\\frac{{a}}{{b}}$ where $b \\neq 0$, and why.\n\n"
        "$$\n2(x + 1) = 2x + 2\n$$\n\n"
        "- Check a guess: is $x = 2$ too big? $4 \\cdot 2 - 3 = 5$, and $5 > 4$.\n"
        "- Compare $1/4 = 0.25$ with $3/4 = 0.75$ on a number line.\n"
        "- It costs $5 and $10 a week; the answer is a fraction between 1 and 2.\n\n"
    )
    text, n = "", 0
    while len(text) < size:
        text += unit.format(n=n)
        n += 1
    return text[:size].rsplit("\n", 1)[0] + "\n"


def first_check(key: str, attempt: str) -> dict:
    script = FIRST_CHECK.replace("KEY", repr(key)).replace("ATTEMPT", repr(attempt))
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    ]
    assert all(run["right"] for run in runs)
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "cpu": statistics.median(run["cpu"] for run in runs),
        "sympy": runs[0]["sympy"],
    }


def warm_checks() -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of each check after the first, by path: the plain readers, or sympy's
    LaTeX parser (the last but one of WARM)."""
    from tutor_cli import checking
    from tutor_cli.checking import Checker

    checker = Checker.for_student(None, "ada")
    for key, attempt in WARM:  # load sympy and the LaTeX grammar once
        checker.check("math", key, attempt)
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "latex parser": []}
    for _ in range(20):
        for key, attempt in WARM:
            checking.read.cache_clear()  # every check reads its texts afresh
            checking.value_of.cache_clear()
            checking.form_of.cache_clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            checker.check("math", key, attempt)
            spent = (time.perf_counter() - started, time.process_time() - started_cpu)
            times["latex parser" if "log_" in attempt else "plain"].append(spent)
    return times


def line_delays(reply: str) -> list[list[float]]:
    """(wall, CPU) seconds the guard spends on each piece that completes a line (what a line waits for
    it), in a fresh process as in a student's first reply. On a shared machine the wall figure also
    holds the moments the process was not scheduled; the CPU figure is the guard's own work."""
    script = f"""
import json, sys, time
sys.path.insert(0, {str(ROOT)!r})
from bench.problems import guard_delays, tutoring_reply
print(json.dumps(guard_delays(tutoring_reply({len(reply)}))))
"""
    return json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)


def guard_delays(reply: str) -> list[list[float]]:
    from tutor_cli.guard import AnswerGuard

    guard = AnswerGuard("math", "7/4")
    delays = []
    for start in range(0, len(reply), 4):
        piece = reply[start : start + 4]
        began, began_cpu = time.perf_counter(), time.process_time()
        guard.feed(piece)
        if "\n" in piece:
            delays.append([time.perf_counter() - began, time.process_time() - began_cpu])
    assert not guard.withheld
    return delays


def main() -> None:
    figures: dict[str, float] = {}
    for label, key, attempt in (
        ("numeric 1.75 (no sympy)", "7/4", "1.75"),
        ("symbolic 2(x+1)", "2x + 2", "2(x+1)"),
        ("LaTeX \\frac{x^{3}}{x}", "x^2", r"\frac{x^{3}}{x}"),
        ("LaTeX \\log_{2} 8 (sympy's LaTeX parser)", "3", r"\log_{2} 8"),
    ):
        result = first_check(key, attempt)
        figures[f"first check, {label}, wall (s, target < 1)"] = result["seconds"]
        figures[f"first check, {label}, CPU (s)"] = result["cpu"]
    for path, spent in warm_checks().items():
        for index, kind in ((0, "wall"), (1, "CPU")):
            values = [pair[index] * 1000 for pair in spent]
            figures[f"warm check, {path}, {kind}, median (ms, target < 50)"] = statistics.median(values)
            figures[f"warm check, {path}, {kind}, slowest of {len(values)} (ms)"] = max(values)

    reply = tutoring_reply(40_000)
    server = FakeServer().start()
    try:
        bare = best_of(3, BARE, server, reply)
        plain = best_of(3, UNGUARDED, server, reply)
        guarded = best_of(3, GUARDED, server, reply)
    finally:
        server.stop()
    figures["bare openai loop, 40k chars (s CPU)"] = bare
    figures["tutor stream+render, no guard (s CPU)"] = plain
    figures["tutor stream+render+guard (s CPU)"] = guarded
    figures["guarded / bare (target <= 1.5)"] = guarded / bare
    measured = line_delays(reply)
    figures["lines checked"] = len(measured)
    figures["guard delay, the first line (ms)"] = measured[0][0] * 1000
    for index, kind in ((0, "wall"), (1, "CPU")):
        delays = sorted(pair[index] for pair in measured)
        figures[f"guard delay per line, {kind}, median (ms)"] = statistics.median(delays) * 1000
        figures[f"guard delay per line, {kind}, p99 (ms)"] = delays[int(len(delays) * 0.99)] * 1000
        figures[f"guard delay per line, {kind}, max (ms, target < 5)"] = delays[-1] * 1000
    for name, value in figures.items():
        print(f"{name:64} {value:9.3f}")
    if "--json" in sys.argv:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
