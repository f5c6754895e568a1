"""`tutor show` of a 100,000-message session: wall time and peak memory in every format.

Run: python bench/show.py [MESSAGES]      (targets: under 1 s and under 80 MB peak RSS each)

The session is filled through the store in transactions of 5,000 rows; each `show` runs in its own
process, and its peak resident memory is read from the kernel's accounting of that child.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tutor_cli import SessionManager
from tutor_cli.tokens import message_tokens


def fill(manager: SessionManager, count: int) -> None:
    manager.create_session("ada", "long", "You are a patient tutor.")
    done = 0
    while done < count:
        batch = min(5000, count - done)
        with manager.store._transaction() as conn:
            pk = conn.execute("SELECT id FROM sessions WHERE session_id = 'long'").fetchone()[0]
            rows = []
            for i in range(done, done + batch):
                text = f"Message {i}: what is {i} squared? It is {i * i}, since {i} × {i} = {i * i}. " * 3
                rows.append((pk, "user" if i % 2 == 0 else "assistant", text, time.time(), message_tokens(text)))
            conn.executemany(
                "INSERT INTO messages (session_pk, student_id, role, content, created_at, tokens)"
                " VALUES (?, 'ada', ?, ?, ?, ?)",
                rows,
            )
            conn.execute("UPDATE sessions SET message_count = message_count + ? WHERE id = ?", (batch, pk))
        done += batch


MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(env: dict[str, str], format: str) -> tuple[float, float]:
    """(seconds, peak MB) of one `tutor show long --format FORMAT`, in a fresh process."""
    command = [sys.executable, "-m", "tutor_cli", "show", "long", "--format", format]
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True, check=True)
    seconds, kilobytes = out.stdout.split()
    return float(seconds), int(kilobytes) / 1024


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        with SessionManager(home / "tutor.db") as manager:
            fill(manager, count)
        env = {**os.environ, "TUTOR_HOME": str(home), "TUTOR_STUDENT": "ada"}
        measure(env, "text")  # warm the file cache
        for format in ("text", "markdown", "json"):
            runs = [measure(env, format) for _ in range(3)]
            best = min(seconds for seconds, _ in runs)
            peak = max(mb for _, mb in runs)
            print(
                f"show {count:,} messages --format {format:8}: {best:.2f} s (best of 3; target < 1 s), "
                f"peak RSS {peak:.0f} MB (target < 80 MB)"
            )


if __name__ == "__main__":
    main()
