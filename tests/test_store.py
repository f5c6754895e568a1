"""The SQLite store: schema and migrations, foreign files, concurrency, crashes, permissions."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor_cli import SessionManager, StoreError
from tutor_cli.store import APPLICATION_ID, MIGRATIONS, Migration, SQLiteStore, apply_migrations

HELPER = Path(__file__).parent / "helpers" / "append_messages.py"

EXPECTED_SCHEMA = {
    "schema_migrations": ["version", "name", "applied_at"],
    "sessions": [
        "id",
        "student_id",
        "session_id",
        "system_prompt",
        "created_at",
        "updated_at",
        "message_count",
        "model",
        "window_start",
        "summary",
        "summary_through",
        "token_scale",
        "profile_snapshot",
        "profile_through",
        "title",
    ],
    "messages": [
        "id",
        "session_pk",
        "role",
        "content",
        "created_at",
        "model",
        "reasoning",
        "interrupted",
        "prompt_tokens",
        "completion_tokens",
        "reasoning_tokens",
        "cache_hit_tokens",
        "cache_miss_tokens",
        "tokens",
        "student_id",
        "withheld",
        "usage_estimated",
        "passages",
    ],
    "model_limits": ["student_id", "model", "context_tokens", "learned_at"],
    "profiles": ["id", "student_id", "text", "updated_at", "revision"],
}


def schema_of(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    schema = {t: [col[1] for col in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    conn.close()
    return schema


def test_a_new_store_has_the_expected_schema_version_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    SessionManager(path).close()
    assert {k: v for k, v in schema_of(path).items() if k in EXPECTED_SCHEMA} == EXPECTED_SCHEMA
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    names = [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]
    assert names == [step.name for step in MIGRATIONS]
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"sessions_by_recent_use", "messages_window"} <= indexes
    plan = " ".join(
        str(r)
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE student_id = 'a' ORDER BY updated_at DESC"
        )
    )
    assert "sessions_by_recent_use" in plan


def test_a_version_1_store_is_migrated_with_its_data_and_token_counts(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(conn, MIGRATIONS[:1]) == 1
    conn.execute(
        "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at,"
        " message_count) VALUES ('ada', 'old', 'p', 1, 1, 1)"
    )
    conn.execute(
        "INSERT INTO messages (session_pk, role, content, created_at) VALUES (1, 'user', ?, 1)",
        ("an old question about fractions",),
    )
    conn.close()
    with SessionManager(path) as manager:
        assert manager.get_conversation("ada", "old")[1]["content"] == "an old question about fractions"
        assert manager.store.schema_version() == len(MIGRATIONS)
        assert manager.store.get_turns("ada", "old")[0][3] > 4
        assert manager.store.get_session("ada", "old").window_start == 0


def test_a_failing_migration_leaves_the_previous_schema_intact(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    SessionManager(path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("power cut")

    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(RuntimeError):
        apply_migrations(conn, [*MIGRATIONS, Migration("broken", broken, broken)])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert "half_done" not in schema_of(path)
    conn.close()


def test_a_store_from_a_newer_tutor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    SessionManager(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        SessionManager(path)


@pytest.mark.parametrize(
    "content",
    [b"this is my essay, not a database\n" * 200, b"SQLite format 3\x00" + os.urandom(6000)],
    ids=["text-file", "corrupt-sqlite"],
)
def test_a_file_that_is_not_a_tutor_store_is_reported_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tutor.db"
    path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        SessionManager(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tutor.db"]


def test_another_programs_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a tutor store"):
        SessionManager(path)
    assert path.read_bytes() == before


def test_a_new_store_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "tutor.db"
    old = os.umask(0o022)
    try:
        SessionManager(path).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_six_processes_appending_at_once_lose_nothing_and_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    with SessionManager(path) as manager:
        manager.create_session("ada", "shared", "p")
    writers = [
        subprocess.Popen([sys.executable, str(HELPER), str(path), f"w{n}", "150"], stdout=subprocess.PIPE, text=True)
        for n in range(6)
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    with SessionManager(path) as manager:
        contents = [m["content"] for m in manager.get_session("ada", "shared")["messages"]]
        assert manager.store.get_session("ada", "shared").message_count == 900
    assert len(contents) == 900
    for n in range(6):
        mine = [c for c in contents if c.startswith(f"w{n}:")]
        assert mine == [f"w{n}:{i}" for i in range(150)]


def test_a_process_killed_mid_write_leaves_the_store_sound(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    with SessionManager(path) as manager:
        manager.create_session("ada", "shared", "p")
    for delay in (0.05, 0.2, 0.4):
        writer = subprocess.Popen(
            [sys.executable, str(HELPER), str(path), "k", "100000"], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout.readline().strip() == "ready"
        with SessionManager(path) as watcher:  # let it write at least once, then kill it mid-stream
            deadline = time.monotonic() + 20
            before = watcher.store.get_session("ada", "shared").message_count
            while watcher.store.get_session("ada", "shared").message_count == before and time.monotonic() < deadline:
                time.sleep(0.005)
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    store = SQLiteStore(path)
    assert store.integrity_check() == "ok"
    messages = store.get_messages("ada", "shared")
    runs: list[list[str]] = []
    for message in messages:
        if message.content == "k:0":
            runs.append([])
        runs[-1].append(message.content)
    assert len(runs) == 3
    for run in runs:  # every killed writer's messages are there in order, with no gap
        assert run == [f"k:{i}" for i in range(len(run))]
    assert store.get_session("ada", "shared").message_count == len(messages)
    store.close()


def query_plan(path: Path, sql: str) -> str:
    conn = sqlite3.connect(path)
    plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
    conn.close()
    return plan


def test_the_window_walk_reads_only_the_covering_index(tmp_path: Path) -> None:
    """Deciding where a request starts reads ids, roles and token counts, never the messages' rows."""
    path = tmp_path / "tutor.db"
    SessionManager(path).close()
    plan = query_plan(
        path,
        "SELECT id, role, tokens FROM messages WHERE session_pk = 1 AND id >= 0 AND id < 1000"
        " ORDER BY id DESC LIMIT 50",
    )
    assert "COVERING INDEX messages_window" in plan, plan
    assert "SCAN messages" not in plan and "TEMP B-TREE" not in plan, plan


def test_reading_a_session_searches_the_index_not_a_scan(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    SessionManager(path).close()
    plan = query_plan(path, "SELECT * FROM messages WHERE session_pk = 1 ORDER BY id")
    assert "SEARCH messages USING INDEX messages_window (session_pk=?)" in plan, plan
    assert "SCAN messages" not in plan and "TEMP B-TREE" not in plan, plan


def test_many_first_opens_at_once_all_succeed(tmp_path: Path) -> None:
    """A class opening a new shared file at the same moment: nobody is told it is not a tutor store."""
    import threading

    errors: list[BaseException] = []

    def open_and_write(index: int) -> None:
        try:
            with SessionManager(tmp_path / "shared.db") as manager:
                manager.create_session(f"student{index}", "first", "p")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with SessionManager(tmp_path / "shared.db") as manager:
        assert len(manager.store.list_sessions(None)) == 60


def test_a_transaction_re_raises_the_original_error_even_when_rollback_fails(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tutor.db")
    with pytest.raises(ValueError, match="the original"), store._transaction() as conn:
        conn.execute("ROLLBACK")  # whatever ended the transaction, the first error is what is reported
        raise ValueError("the original")
    assert not store._conn.in_transaction
    store.close()


def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tutor.db")
    with pytest.raises(StoreError), store._transaction() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")  # the violation surfaces at COMMIT
        conn.execute(
            "INSERT INTO messages (session_pk, student_id, role, content, created_at) VALUES (999, 'x', 'user', 'x', 0)"
        )
    assert not store._conn.in_transaction
    store.create_session("ada", "after", "p")  # the connection is usable again
    assert store.get_session("ada", "after") is not None
    store.close()


def test_a_second_store_on_the_same_file_in_one_process_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    """Opening a store reads the file's header; closing that descriptor would drop every POSIX lock
    the process holds on the file, SQLite's included. A second store in the same process (a
    background thread's, say) must leave the first one's locks in place."""
    import fcntl

    path = tmp_path / "tutor.db"
    first = SQLiteStore(path)
    first.create_session("ada", "s", "p")
    fd = os.open(path, os.O_RDWR)  # a lock of this process on the file, as SQLite's are
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 1 << 30)
    second = SQLiteStore(path)
    probe = subprocess.run(  # another process cannot take the lock while it is still held
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 1 << 30)",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0, "the lock was dropped when the second store opened the file"
    second.close()
    os.close(fd)
    first.close()
