"""Data rights figures: export of a student with 100,000 messages (time, peak RSS of the tutor
process) and purge of 1,000,000 messages (time, and the worst wait of another student's writes
while it runs), on PostgreSQL (a throw-away cluster, as the tests start) and on SQLite.

Run: python bench/rights.py            (PYTHONPATH at the worktree root)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EXPORT_MESSAGES = int(os.environ.get("BENCH_EXPORT_MESSAGES", 100_000))
PURGE_SESSIONS, PURGE_PER_SESSION = int(os.environ.get("BENCH_PURGE_SESSIONS", 10_000)), 100  # 1,000,000 messages
CONTENT = "a question about fractions and how to add them, with an example " * 3  # ~200 characters


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run `tutor ARGS` with stdout to /dev/null: (seconds, peak RSS in MB, exit status)."""
    step("tutor " + " ".join(args))
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "tutor_cli", *args], env=env, stdout=sink)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


def writer_main(store: str, student: str, stop_file: str) -> None:
    """Another student chatting as fast as the store lets them, until `stop_file` exists; prints
    the number of writes and the worst and 99th-percentile latency."""
    from tutor_cli import SessionManager

    latencies = []
    with SessionManager(store) as manager:
        manager.create_session(student, f"live-{os.getpid()}", "p")
        print("ready", flush=True)
        index = 0
        while not os.path.exists(stop_file):
            started = time.perf_counter()
            role = "user" if index % 2 == 0 else "assistant"
            manager.store.add_message(student, f"live-{os.getpid()}", role, f"live {index}")
            latencies.append(time.perf_counter() - started)
            index += 1
    latencies.sort()
    print(f"{len(latencies)} {latencies[-1]:.4f} {latencies[int(len(latencies) * 0.99)]:.4f}", flush=True)


def purge_with_writer(env: dict[str, str], store: str, student: str) -> str:
    stop = tempfile.mktemp(prefix="tutor-bench-stop-")
    writer = subprocess.Popen(
        [sys.executable, __file__, "--writer", store, student, stop],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    step("writer starting")
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    seconds, rss, status = run_measured(["admin", "purge", "--older-than", "30", "--yes"], env)
    Path(stop).touch()
    count, worst, p99 = writer.communicate(timeout=60)[0].split()
    os.unlink(stop)
    assert status == 0
    return (
        f"purge of {PURGE_SESSIONS * PURGE_PER_SESSION:,} messages ({PURGE_SESSIONS:,} sessions): {seconds:.2f} s,"
        f" peak RSS {rss:.0f} MB; another student's {int(count):,} writes meanwhile:"
        f" worst {float(worst) * 1000:.0f} ms,"
        f" p99 {float(p99) * 1000:.1f} ms"
    )


def old_time() -> float:
    return time.time() - 400 * 86_400


def postgres(base: Path) -> list[str]:
    import psycopg

    from tests import pg_server
    from tutor_cli.store.postgres import STUDENT_GROUP, PostgresStore

    url = pg_server.start(base)
    results = []
    try:
        store = PostgresStore(url, migrate=True)
        for name in ("ada", "bob", "cy"):
            store.add_member(name, "pw", STUDENT_GROUP)
        store.close()
        env = {**os.environ, "PYTHONPATH": str(REPO), "TUTOR_DATABASE_URL": url}
        with psycopg.connect(url, autocommit=True) as conn:
            # Synthetic rows in bulk: the ledger's trigger (one upsert per answer, which is what a
            # chat does) would turn one bulk INSERT into 500,000 updates of one ledger row.
            conn.execute("ALTER TABLE messages DISABLE TRIGGER messages_count_usage")
            conn.execute(
                "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                " VALUES ('ada', 'long', 'p', %s, %s)",
                (time.time(), time.time()),
            )
            conn.execute(
                "INSERT INTO messages (session_pk, student_id, role, content, created_at, prompt_tokens,"
                " completion_tokens) SELECT (SELECT id FROM sessions WHERE session_id = 'long'), 'ada',"
                " CASE WHEN n %% 2 = 0 THEN 'user' ELSE 'assistant' END, %s || n, extract(epoch from now()), 100, 20"
                " FROM generate_series(0, %s - 1) AS n",
                (CONTENT, EXPORT_MESSAGES),
            )
        seconds, rss, status = run_measured(["admin", "export-student", "ada"], env)
        small, small_rss, _ = run_measured(["admin", "export-student", "bob"], env)
        assert status == 0
        results.append(
            f"PostgreSQL export of {EXPORT_MESSAGES:,} messages: {seconds:.2f} s, peak RSS {rss:.0f} MB"
            f" (a student with nothing stored: {small:.2f} s, {small_rss:.0f} MB)"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                " SELECT CASE WHEN n %% 2 = 0 THEN 'ada' ELSE 'cy' END, 'old-' || n, 'p', %s, %s"
                " FROM generate_series(0, %s - 1) AS n",
                (old_time(), old_time(), PURGE_SESSIONS),
            )
            conn.execute(
                "INSERT INTO messages (session_pk, student_id, role, content, created_at)"
                " SELECT s.id, s.student_id, CASE WHEN n %% 2 = 0 THEN 'user' ELSE 'assistant' END, %s, %s"
                " FROM sessions s, generate_series(0, %s - 1) AS n WHERE s.session_id LIKE 'old-%%'",
                (CONTENT, old_time(), PURGE_PER_SESSION),
            )
            conn.execute("ALTER TABLE messages ENABLE TRIGGER messages_count_usage")
            conn.execute("VACUUM ANALYZE")
        writer_url = url.replace(url.split("//")[1].split("@")[0], "bob:pw")
        results.append("PostgreSQL " + purge_with_writer(env, writer_url, "bob"))
    finally:
        pg_server.stop(base)
    return results


def sqlite(home: Path) -> list[str]:
    import sqlite3

    from tutor_cli import SessionManager

    db = home / "tutor.db"
    SessionManager(db).close()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUTOR_HOME": str(home)}
    env.pop("TUTOR_DATABASE_URL", None)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
        " VALUES ('ada', 'long', 'p', ?, ?)",
        (time.time(), time.time()),
    )
    conn.executemany(
        "INSERT INTO messages (session_pk, student_id, role, content, created_at, prompt_tokens, completion_tokens)"
        " VALUES (1, 'ada', ?, ?, ?, 100, 20)",
        (("user" if n % 2 == 0 else "assistant", f"{CONTENT}{n}", time.time()) for n in range(EXPORT_MESSAGES)),
    )
    conn.commit()
    seconds, rss, status = run_measured(["admin", "export-student", "ada"], env)
    assert status == 0
    results = [f"SQLite export of {EXPORT_MESSAGES:,} messages: {seconds:.2f} s, peak RSS {rss:.0f} MB"]
    conn.executemany(
        "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at) VALUES (?, ?, 'p', ?, ?)",
        (("ada" if n % 2 == 0 else "cy", f"old-{n}", old_time(), old_time()) for n in range(PURGE_SESSIONS)),
    )
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)"
        " INSERT INTO messages (session_pk, student_id, role, content, created_at)"
        " SELECT s.id, s.student_id, CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END, ?, ?"
        " FROM sessions s, n WHERE s.session_id LIKE 'old-%'",
        (PURGE_PER_SESSION, CONTENT, old_time()),
    )
    conn.commit()
    conn.close()
    results.append("SQLite " + purge_with_writer(env, str(db), "bob"))
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        lines = sqlite(Path(folder))
    from tests import pg_server

    if pg_server.available():
        base = Path(tempfile.mkdtemp(prefix="tutor-pg-bench-"))
        lines += postgres(base)
    for line in lines:
        print(line)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--writer"]:
        writer_main(*sys.argv[2:5])
    else:
        main()
