"""Streaming figures: CPU to stream and render a Markdown answer, against a bare openai loop.

Both sides read the same stream from the fake OpenAI-compatible server (tests/fake_server.py)
and write to a terminal-like sink; only the streaming loop is timed (process CPU, all threads).
Run: python bench/stream.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_server import API_KEY, FakeServer, Reply  # noqa: E402

BARE = """
import os, sys, time, openai
client = openai.OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
out = open(os.devnull, "w")
start = time.process_time()
stream = client.chat.completions.create(model="deepseek-flash", stream=True,
    messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "q"}])
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", file=out, flush=True)
print(time.process_time() - start)
"""

TUTOR = """
import os, sys, time
from rich.console import Console
from tutor_cli.client import ChatClient
from tutor_cli.views.answer import LiveAnswerView
client = ChatClient(sys.argv[1], sys.argv[2])
client.warm_up()
console = Console(file=open(os.devnull, "w"), force_terminal=True, width=100, height=40, color_system="truecolor")
start = time.process_time()
view = LiveAnswerView(console)
view.start()
for delta in client.stream([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}], "deepseek-flash"):
    (view.content if delta.kind == "content" else view.reasoning)(delta.text)
view.finish()
print(time.process_time() - start)
"""


def markdown_answer(size: int) -> str:
    """A realistic tutor answer: headings, paragraphs, lists, code, a table, repeated to `size`."""
    unit = (
        "## Step {n}: adding fractions\n\n"
        "To add fractions we first need a **common denominator**. Take `1/2 + 1/3`: the least common "
        "multiple of 2 and 3 is 6, so we rewrite each fraction with 6 below the line.\n\n"
        "1. Rewrite `1/2` as `3/6`.\n2. Rewrite `1/3` as `2/6`.\n3. Add the numerators: `3 + 2 = 5`.\n\n"
        "```python\nfrom fractions import Fraction\n\n"
        "total = Fraction(1, 2) + Fraction(1, 3)\nprint(total)  # 5/6\n```\n\n"
        "| fraction | sixths |\n|---|---|\n| 1/2 | 3/6 |\n| 1/3 | 2/6 |\n\n"
        "> Check: is 5/6 bigger than 1/2? Why?\n\n"
    )
    text, n = "", 0
    while len(text) < size:
        text += unit.format(n=n)
        n += 1
    return text[:size].rsplit("\n", 1)[0] + "\n"


def cpu_seconds(script: str, server: FakeServer, content: str) -> float:
    server.reply(Reply(content=content, chunk_size=4))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, server.base_url, API_KEY], capture_output=True, text=True, env=env, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def best_of(runs: int, script: str, server: FakeServer, content: str) -> float:
    return min(cpu_seconds(script, server, content) for _ in range(runs))


def compare(short: str, long: str, label: str, first: dict[str, float] | None = None) -> None:
    """CPU of a bare openai loop and of tutor on the two answers; print the figures (and JSON)."""
    server = FakeServer().start()
    try:
        bare = best_of(3, BARE, server, short)
        ours = best_of(3, TUTOR, server, short)
        bare_long = best_of(2, BARE, server, long)
        ours_long = best_of(2, TUTOR, server, long)
    finally:
        server.stop()
    figures = {
        **(first or {}),
        "bare openai loop, 40k chars (s CPU)": bare,
        f"tutor {label}, 40k chars (s CPU)": ours,
        "tutor / bare (target <= 1.5)": ours / bare,
        "bare openai loop, 400k chars (s CPU)": bare_long,
        f"tutor {label}, 400k chars (s CPU)": ours_long,
        "tutor 400k / 40k (target <= 12)": ours_long / ours,
    }
    for name, value in figures.items():
        print(f"{name:44} {value:8.3f}")
    if "--json" in sys.argv:
        print(json.dumps(figures))


def main() -> None:
    compare(markdown_answer(40_000), markdown_answer(400_000), "stream+render")


if __name__ == "__main__":
    main()
