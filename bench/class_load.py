"""A class at once: 200 simulated students appending concurrently, PostgreSQL against one shared
SQLite file. Prints messages per second and append latency (p50, p99) for each.

Needs the PostgreSQL server programs (initdb, pg_ctl); starts a throw-away cluster with fsync on.
Run: python bench/class_load.py [students] [messages_per_student]
"""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pg_server  # noqa: E402
from tutor_cli import SessionManager  # noqa: E402
from tutor_cli.store.postgres import STUDENT_GROUP, PostgresStore  # noqa: E402


def _student(location: str, name: str, per_student: int, ready, results) -> None:
    """One student's process: open the store, create a session, wait for the bell, append."""
    try:
        with SessionManager(location) as manager:
            manager.create_session(name, "lesson", "You are a tutor.")
            ready.wait()
            mine = []
            for index in range(per_student):
                start = time.perf_counter()
                manager.add_message(
                    name, "lesson", "user" if index % 2 == 0 else "assistant", f"message {index} from {name} " * 8
                )
                mine.append(time.perf_counter() - start)
        results.put((name, mine))
    except BaseException as error:  # reported by the parent
        results.put((name, repr(error)))
        ready.abort()


def run_class(location_of, students: list[str], per_student: int) -> tuple[float, list[float]]:
    """Every student (a process of its own, as on a shared server) appends at the same moment;
    returns (seconds from the bell to the last append, every append's latency)."""
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(len(students) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_student, args=(location_of(name), name, per_student, ready, results))
        for name in students
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=300)
    start = time.perf_counter()
    latencies: list[float] = []
    for _ in students:
        name, outcome = results.get(timeout=600)
        if isinstance(outcome, str):
            raise RuntimeError(f"{name}: {outcome}")
        latencies.extend(outcome)
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    return elapsed, sorted(latencies)


def report(label: str, elapsed: float, latencies: list[float]) -> None:
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"{label:28} {len(latencies) / elapsed:8.0f} msg/s   p50 {p50:7.1f} ms   p99 {p99:8.1f} ms")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    per_student = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    students = [f"student_{n:03d}" for n in range(count)]
    if not pg_server.available():
        print("PostgreSQL server programs not found (initdb, pg_ctl): install postgresql to run this bench")
        return
    base = Path(tempfile.mkdtemp(prefix="tutor-bench-pg-"))
    folder = Path(tempfile.mkdtemp(prefix="tutor-bench-sqlite-"))
    try:
        admin_url = pg_server.start(base, fsync=True, max_connections=count + 20)
        store = PostgresStore(admin_url, migrate=True)
        for name in students:
            store.add_member(name, "pw", STUDENT_GROUP)
        store.close()
        parts = urlsplit(admin_url)

        def postgres(name: str) -> str:
            return urlunsplit(parts._replace(netloc=f"{name}:pw@{parts.hostname}:{parts.port}"))

        def sqlite(name: str) -> str:
            return str(folder / "class.db")

        print(f"{count} students x {per_student} appends each, one process per student, durable commits")
        report("PostgreSQL (row-level sec.)", *run_class(postgres, students, per_student))
        report("one shared SQLite file", *run_class(sqlite, students, per_student))
    finally:
        pg_server.stop(base)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
