"""Store figures: cost of appending to a short vs a long session, and `tutor show` of a long one.

Run: python bench/store.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tutor_cli import SessionManager


def median_append_ms(manager: SessionManager, session: str, samples: int) -> float:
    times = []
    for i in range(samples):
        start = time.perf_counter()
        manager.add_message("ada", session, "user" if i % 2 == 0 else "assistant", f"message text {i} " * 20)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def show_seconds(env: dict[str, str], format: str, repeats: int) -> list[float]:
    """Wall time of `tutor show long --format FORMAT`, run `repeats` times."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tutor_cli", "show", "long", "--format", format],
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        with SessionManager(home / "tutor.db") as manager:
            manager.create_session("ada", "short", "p")
            manager.create_session("ada", "long", "p")
            median_append_ms(manager, "short", 9)
            short = median_append_ms(manager, "short", 50)  # messages 10..59
            # Fill the long session quickly in one transaction per 1,000 rows through the store.
            store = manager.store
            for _ in range(10):
                with store._transaction() as conn:
                    pk = conn.execute("SELECT id FROM sessions WHERE session_id = 'long'").fetchone()[0]
                    conn.executemany(
                        "INSERT INTO messages (session_pk, student_id, role, content, created_at)"
                        " VALUES (?, 'ada', ?, ?, ?)",
                        [
                            (pk, "user" if i % 2 == 0 else "assistant", f"filler {i} " * 20, time.time())
                            for i in range(999)
                        ],
                    )
                    conn.execute("UPDATE sessions SET message_count = message_count + 999 WHERE id = ?", (pk,))
            long = median_append_ms(manager, "long", 50)  # messages ~10,000..10,049
        env = {**os.environ, "TUTOR_HOME": str(home), "TUTOR_STUDENT": "ada"}
        runs = show_seconds(env, "text", 5)
        show_json = show_seconds(env, "json", 3)
    print(f"append, message ~10:      {short:.3f} ms (median of 50)")
    print(f"append, message ~10,000:  {long:.3f} ms (median of 50)")
    print(f"ratio long/short:         {long / short:.2f}x  (target <= 1.2x)")
    print(f"tutor show (text), 10,000 messages: {statistics.median(runs) * 1000:.0f} ms (median of 5)")
    print(f"tutor show (json), 10,000 messages: {statistics.median(show_json) * 1000:.0f} ms (median of 3)")


if __name__ == "__main__":
    main()
