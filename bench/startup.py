"""Start-up figures: `tutor --help`, `tutor sessions`, `tutor show` against `llm --help` and bare Python.

Run: python bench/startup.py   (llm is measured if `llm` is on PATH: pip install llm)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall_ms(command: list[str], env: dict[str, str], runs: int = 15) -> float:
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    tutor = shutil.which("tutor") or str(Path(sys.executable).parent / "tutor")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TUTOR_HOME": home, "TUTOR_STUDENT": "ada"}
        subprocess.run([tutor, "new-session", "--session", "s1"], env=env, stdout=subprocess.DEVNULL, check=True)
        figures = {
            "python -c pass": wall_ms([sys.executable, "-c", "pass"], env),
            "tutor --help": wall_ms([tutor, "--help"], env),
            "tutor sessions": wall_ms([tutor, "sessions", "--format", "json"], env),
            "tutor show s1": wall_ms([tutor, "show", "s1", "--format", "text"], env),
        }
        llm = shutil.which("llm") or (
            str(Path(sys.executable).parent / "llm") if (Path(sys.executable).parent / "llm").exists() else None
        )
        if llm:
            figures["llm --help"] = wall_ms([llm, "--help"], env, runs=7)
    for name, ms in figures.items():
        print(f"{name:16} {ms:7.1f} ms (median)")
    if "llm --help" in figures:
        ratio = figures["tutor --help"] / figures["llm --help"]
        print(f"tutor --help / llm --help = {ratio:.2f}  (target < 0.25)")
    else:
        print("llm not installed: pip install llm to compare")


if __name__ == "__main__":
    main()
