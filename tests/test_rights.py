"""Data rights and limits on a personal SQLite store: export, delete-student, purge, daily limits,
and the generic discovery that keeps a table added later from being forgotten."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Terminal, assert_no_traceback
from tutor_cli import SessionManager
from tutor_cli import rights as rules
from tutor_cli.store.rights import CLASS_ROW


def fill(home: Path, student: str, session: str, count: int, *, now: str | None = None, monkeypatch=None) -> None:
    if now is not None:
        monkeypatch.setenv("TUTOR_NOW", now)
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session(student, session, f"prompt of {student}")
        for index in range(count):
            role = "user" if index % 2 == 0 else "assistant"
            usage = {"prompt_tokens": 100, "completion_tokens": 20} if role == "assistant" else None
            manager.store.add_message(student, session, role, f"{student} {session} {index}", usage=usage)
    if now is not None:
        monkeypatch.delenv("TUTOR_NOW")


def add_later_tables(path: Path) -> None:
    """What another feature might add: a table hanging off messages with its own student_id, and
    an FTS5 index (a virtual table with shadow tables) over message text, kept by a trigger."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, student_id TEXT NOT NULL,
            message_pk INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE, note TEXT);
        INSERT INTO bookmarks (student_id, message_pk, note)
            SELECT student_id, id, 'remember ' || content FROM messages;
        CREATE VIRTUAL TABLE search USING fts5 (content, student_id UNINDEXED);
        INSERT INTO search (rowid, content, student_id) SELECT id, content, student_id FROM messages;
        CREATE TRIGGER search_forgets AFTER DELETE ON messages BEGIN DELETE FROM search WHERE rowid = old.id; END;
        """
    )
    conn.commit()
    conn.close()


def rows_naming(path: Path, value: str) -> dict[str, int]:
    """Every ordinary table of the file (shadow tables included), every column: rows equal to `value`."""
    conn = sqlite3.connect(path)
    found = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for column in [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]:
            count = conn.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" = ?', (value,)).fetchone()[0]
            if count:
                found[f"{table}.{column}"] = count
    conn.close()
    return found


def counts_of(output: str) -> dict[str, int]:
    """The tables the command removed rows from, by name (tables it lists with 0 left out)."""
    counts = {
        line.split()[0]: int(line.split()[1].replace(",", "")) for line in output.splitlines() if line[:2] == "  "
    }
    return {table: count for table, count in counts.items() if count}


def practise_and_be_remembered(home: Path, student: str) -> None:
    """A deck with one rated card, a profile and a learned limit: rows in every other student table."""
    from tutor_cli import practice

    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        practice.import_deck(store, student, "sums", [practice.NewCard("2+2?", "4")], 1_795_000_000.0)
        card = store.next_card(student, 1_795_000_000.0)
        practice.rate(store, practice.scheduler(fixed_clock=True), student, card, 3, 1_795_000_000.0)
        store.save_profile(student, "- Likes worked examples.")
        manager.window.learn(student, "deepseek-flash", 50_000)


def test_export_is_one_versioned_document_of_the_students_rows_only(run_tutor, home) -> None:
    fill(home, "ada", "algebra", 4)
    fill(home, "bob", "history", 2)
    with SessionManager(home / "tutor.db") as manager:
        manager.store.add_message("ada", "algebra", "user", 'NUL \x00, emoji 🎓, quote " and\nnew line')
    result = run_tutor("export", env={"TUTOR_NOW": "2026-11-25T09:00:00Z"})
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["format", "version", "student_id", "exported_at", "tables"]
    assert (document["format"], document["version"], document["student_id"]) == ("tutor-export", 1, "ada")
    assert document["exported_at"] == "2026-11-25T09:00:00Z"
    tables = document["tables"]
    assert list(tables) == [
        "decks",
        "cards",
        "card_states",
        "limits",
        "materials",
        "sessions",
        "messages",
        "model_limits",
        "passages",
        "problem_sets",
        "problems",
        "problem_attempts",
        "problem_hints",
        "problem_status",
        "profiles",
        "reviews",
        "usage_days",
    ]  # every table that holds a student's data, parents before children
    assert [m["content"] for m in tables["messages"]][-1] == 'NUL \x00, emoji 🎓, quote " and\nnew line'
    assert [m["role"] for m in tables["messages"]] == ["user", "assistant"] * 2 + ["user"]
    assert tables["messages"][1]["prompt_tokens"] == 100 and tables["sessions"][0]["session_id"] == "algebra"
    assert tables["usage_days"][0]["questions"] == 2 and tables["usage_days"][0]["tokens"] == 240
    assert "bob" not in result.stdout
    other = json.loads(run_tutor("export", "--student", "bob").stdout)
    assert [s["session_id"] for s in other["tables"]["sessions"]] == ["history"]


def test_a_table_added_later_is_exported_deleted_and_purged_too(run_tutor, home, monkeypatch) -> None:
    fill(home, "ada", "old", 4, now="2025-01-01T00:00:00Z", monkeypatch=monkeypatch)
    fill(home, "ada", "new", 2)
    fill(home, "bob", "bob", 2)
    add_later_tables(home / "tutor.db")
    document = json.loads(run_tutor("admin", "export-student", "ada").stdout)
    assert [b["note"] for b in document["tables"]["bookmarks"]][0] == "remember ada old 0"
    assert not any(name.startswith("search") for name in document["tables"])  # the index is not data
    purged = run_tutor("admin", "purge", "--older-than", "30", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert counts_of(purged.stdout) == {"bookmarks": 4, "messages": 4, "sessions": 1}
    deleted = run_tutor("admin", "delete-student", "ada", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert counts_of(deleted.stdout) == {"sessions": 1, "usage_days": 2, "messages": 2, "bookmarks": 2}
    assert rows_naming(home / "tutor.db", "ada") == {}  # the index's shadow tables included
    assert rows_naming(home / "tutor.db", "bob")["bookmarks.student_id"] == 2


def test_delete_student_leaves_no_row_of_them_in_any_table(run_tutor, home) -> None:
    fill(home, "ada", "one", 3)
    fill(home, "ada", "two", 2)
    fill(home, "bob", "one", 2)
    practise_and_be_remembered(home, "ada")
    practise_and_be_remembered(home, "bob")
    assert run_tutor("admin", "limit", "--student", "ada", "--daily-tokens", "500").returncode == 0
    result = run_tutor("admin", "delete-student", "ada", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Deleted student ada: 15 rows removed."
    assert counts_of(result.stdout) == {
        "decks": 1,
        "cards": 1,
        "card_states": 1,
        "reviews": 1,
        "profiles": 1,
        "model_limits": 1,
        "limits": 1,
        "sessions": 2,
        "messages": 5,
        "usage_days": 1,
    }
    assert rows_naming(home / "tutor.db", "ada") == {}
    assert json.loads(run_tutor("sessions", "--student", "bob", "-f", "json").stdout)[0]["message_count"] == 2
    again = run_tutor("admin", "delete-student", "ada", "--yes")
    assert again.returncode == 1 and "No student 'ada'" in again.stderr
    assert_no_traceback(again)


def test_nothing_is_destroyed_without_a_terminal_or_yes(run_tutor, home, monkeypatch) -> None:
    fill(home, "ada", "old", 2, now="2025-01-01T00:00:00Z", monkeypatch=monkeypatch)
    for command in (["admin", "delete-student", "ada"], ["admin", "purge", "--older-than", "1"]):
        result = run_tutor(*command, input="y\n")  # a pipe, even one that says yes, is not a terminal
        assert result.returncode == 1 and "needs a terminal" in result.stderr and "--yes" in result.stderr
    assert rows_naming(home / "tutor.db", "ada")["messages.student_id"] == 2


def test_delete_student_asks_on_a_terminal(home, tutor_env) -> None:
    fill(home, "ada", "one", 2)
    term = Terminal("admin", "delete-student", "ada")
    term.expect("Delete everything stored about ada (4 rows) and their account? [y/N]")
    term.type("n")
    term.expect("Nothing was deleted.")
    assert term.finish() == 1
    assert rows_naming(home / "tutor.db", "ada")
    term = Terminal("admin", "delete-student", "ada")
    term.expect("[y/N]")
    term.type("y")
    term.expect("Deleted student ada: 4 rows removed.")
    assert term.finish() == 0
    assert rows_naming(home / "tutor.db", "ada") == {}


def test_purge_dry_run_counts_and_purge_removes_only_old_sessions(run_tutor, home, monkeypatch) -> None:
    with SessionManager(home / "tutor.db") as manager:
        for day, student in ((1, "ada"), (2, "bob"), (28, "ada")):
            monkeypatch.setenv("TUTOR_NOW", f"2026-02-{day:02d}T10:00:00Z")
            for index in range(60):  # more than one batch of sessions
                manager.create_session(student, f"d{day}-{index}", "p")
                manager.store.add_message(student, f"d{day}-{index}", "user", "q")
    env = {"TUTOR_NOW": "2026-03-01T12:00:00Z"}
    dry = run_tutor("admin", "purge", "--older-than", "10", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("Would remove 120 sessions last used before 2026-02-19T12:00:00Z")
    assert counts_of(dry.stdout) == {"messages": 120, "sessions": 120}
    assert len(json.loads(run_tutor("sessions", "-f", "json", env=env).stdout)) == 120  # nothing removed
    result = run_tutor("admin", "purge", "--older-than", "10", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert counts_of(result.stdout) == {"messages": 120, "sessions": 120}
    remaining = json.loads(run_tutor("sessions", "-f", "json", env=env).stdout)
    assert len(remaining) == 60 and all(s["session_id"].startswith("d28-") for s in remaining)
    assert json.loads(run_tutor("sessions", "--student", "bob", "-f", "json", env=env).stdout) == []
    bad = run_tutor("admin", "purge", "--older-than", "-3", "--yes")
    assert bad.returncode == 2


def test_purge_cuts_its_work_into_short_transactions(home, monkeypatch) -> None:
    monkeypatch.setenv("TUTOR_NOW", "2025-01-01T00:00:00Z")
    with SessionManager(home / "tutor.db") as manager:
        for index in range(300):
            manager.create_session("ada", f"s{index}", "p")
    monkeypatch.setenv("TUTOR_NOW", "2026-01-01T00:00:00Z")
    batches: list[int] = []
    with SessionManager(home / "tutor.db") as manager:
        totals = rules.purge(manager.store, 30, progress=lambda t: batches.append(t["sessions"]))
        assert manager.store.list_sessions("ada") == []
    assert totals == {"messages": 0, "sessions": 300}
    assert len(batches) > 1 and batches[0] == rules.PURGE_FIRST_BATCH and batches[-1] == 300
    # Sized by the time they take: batches far under 0.2 s grow (50, 100, ...), never shrink to a row
    # at a time (then 300 sessions would take some 250 transactions).
    assert len(batches) <= 10, batches


def test_purge_sizes_each_transaction_by_how_long_the_last_one_took(home, monkeypatch) -> None:
    """Under 0.1 s: twice as many; over 0.2 s: cut to what takes 0.2 s; between: the same. The
    store's purge is the real one; only the clock it is timed by says how long each batch took."""
    monkeypatch.setenv("TUTOR_NOW", "2025-01-01T00:00:00Z")
    with SessionManager(home / "tutor.db") as manager:
        for index in range(700):
            manager.create_session("ada", f"s{index}", "p")
    monkeypatch.setenv("TUTOR_NOW", "2026-01-01T00:00:00Z")
    clock, took, sizes = [0.0], [0.01, 0.08, 0.5, 0.15, 0.01], []
    monkeypatch.setattr(rules.time, "perf_counter", lambda: clock[0])
    with SessionManager(home / "tutor.db") as manager:
        real = manager.store.purge_sessions

        def timed(cutoff: float, batch: int) -> dict[str, int]:
            sizes.append(batch)
            removed = real(cutoff, batch)
            clock[0] += took.pop(0) if took else 0.01
            return removed

        monkeypatch.setattr(manager.store, "purge_sessions", timed)
        assert rules.purge(manager.store, 30) == {"messages": 0, "sessions": 700}
    assert sizes[:7] == [50, 100, 200, 80, 80, 160, 320]


def test_limits_are_set_shown_and_lifted(run_tutor, home) -> None:
    result = run_tutor("admin", "limit", "--class", "--daily-questions", "20", "--daily-tokens", "50_000")
    assert result.stdout == "The class: 20 questions a day, 50,000 tokens a day.\n"
    result = run_tutor("admin", "limit", "--student", "ada", "--daily-questions", "5")
    assert result.stdout == "ada: 5 questions a day, 50,000 tokens a day (the class's).\n"
    result = run_tutor("admin", "limit", "--student", "ada", "--daily-questions", "none")
    assert result.stdout == "ada: 20 questions a day (the class's), 50,000 tokens a day (the class's).\n"
    result = run_tutor("admin", "limit", "--class", "--daily-questions", "none", "--daily-tokens", "none")
    assert result.stdout == "The class: no question limit, no token limit.\n"
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.get_limits("ada") == (None, None)
    for bad, said in ((["--student", "ada", "--class"], "either"), ([], "either")):
        result = run_tutor("admin", "limit", *bad)
        assert result.returncode == 2 and said in result.stderr
    result = run_tutor("admin", "limit", "--class", "--daily-tokens", "lots")
    assert result.returncode == 1 and "--daily-tokens takes a whole number" in result.stderr


def test_a_students_own_token_limit_replaces_the_classs_whether_higher_or_lower(run_tutor, home, monkeypatch) -> None:
    fill(home, "ada", "s", 2, now="2026-11-25T10:00:00Z", monkeypatch=monkeypatch)  # 120 tokens used today
    now = {"TUTOR_NOW": "2026-11-25T12:00:00Z"}
    monkeypatch.setenv("TUTOR_NOW", now["TUTOR_NOW"])

    def in_force() -> tuple[int | None, int | None]:
        shown = json.loads(run_tutor("usage", "-f", "json", env=now).stdout)
        assert shown["tokens"] == 120
        return shown["daily_tokens"], shown["daily_questions"]

    assert run_tutor("admin", "limit", "--class", "--daily-tokens", "100", "--daily-questions", "9").returncode == 0
    assert in_force() == (100, 9)
    result = run_tutor("admin", "limit", "--student", "ada", "--daily-tokens", "1000")
    assert result.stdout == "ada: 9 questions a day (the class's), 1,000 tokens a day.\n"
    assert in_force() == (1000, 9)  # higher than the class's: ada may go on
    with SessionManager(home / "tutor.db") as manager:
        rules.check_daily_limits(manager.store, "ada")
    assert run_tutor("admin", "limit", "--class", "--daily-tokens", "1000000").returncode == 0
    assert run_tutor("admin", "limit", "--student", "ada", "--daily-tokens", "50").returncode == 0
    assert in_force() == (50, 9)  # lower than the class's: ada stops
    with SessionManager(home / "tutor.db") as manager, pytest.raises(rules.DailyLimitError, match="50 tokens a day"):
        rules.check_daily_limits(manager.store, "ada")
    assert run_tutor("admin", "limit", "--student", "ada", "--daily-tokens", "120").returncode == 0
    with SessionManager(home / "tutor.db") as manager, pytest.raises(rules.DailyLimitError, match="120 tokens a day"):
        rules.check_daily_limits(manager.store, "ada")  # reaching the limit is over it


def test_ask_over_a_limit_exits_1_keeps_the_question_and_sends_nothing(run_tutor, api_env, fake_server, home) -> None:
    now = {"TUTOR_NOW": "2026-11-25T23:15:00Z"}
    assert run_tutor("admin", "limit", "--class", "--daily-tokens", "1").returncode == 0
    assert run_tutor("ask", "--session", "s", "first", env=now).returncode == 0
    sent = len(fake_server.chat_requests)
    result = run_tutor("ask", "--session", "s", "second", env=now)
    assert result.returncode == 1 and result.stdout == ""
    used = json.loads(run_tutor("usage", "-f", "json", env=now).stdout)["tokens"]
    assert result.stderr == (
        f"tutor: Daily limit reached: 1 tokens a day ({used:,} used today); it resets at 00:00 UTC, in 45 min. "
        "Your question is kept; nothing was sent.\n"
    )
    assert len(fake_server.chat_requests) == sent
    shown = json.loads(run_tutor("show", "s", "-f", "json").stdout)
    assert [m["content"] for m in shown["messages"]] == ["first", "Answer to: first", "second"]
    # Deleting the session does not give today's use back.
    assert run_tutor("delete", "s", "--yes").returncode == 0
    assert run_tutor("ask", "again", env=now).returncode == 1
    assert "tokens a day" in run_tutor("ask", "again", env=now).stderr
    usage = run_tutor("usage", env=now).stdout
    assert "ada, today (2026-11-25 UTC; resets at 00:00 UTC, in 45 min)" in usage and f"{used:,} of 1" in usage
    tomorrow = run_tutor("ask", "a new day", env={"TUTOR_NOW": "2026-11-26T00:00:00Z"})
    assert tomorrow.returncode == 0, tomorrow.stderr


def test_the_chat_keeps_its_prompt_over_a_limit(terminal, fake_server, home) -> None:
    with SessionManager(home / "tutor.db") as manager:
        manager.store.set_limits(CLASS_ROW, daily_questions=1)
    term = terminal("chat", "--session", "lim")
    term.prompt()
    term.ask("one")
    sent = len(fake_server.chat_requests)
    term.type("two")
    term.expect("Daily limit reached: 1 question a day (1 answered today)")
    term.prompt()
    term.type("/exit")
    assert term.finish() == 0
    assert len(fake_server.chat_requests) == sent
    with SessionManager(home / "tutor.db") as manager:
        assert [m.content for m in manager.store.get_messages("ada", "lim")][-1] == "two"


@pytest.mark.parametrize("value", ["0", "none", "7"])
def test_parse_limit(value: str) -> None:
    assert rules.parse_limit(value, "--x") == {"0": 0, "none": None, "7": 7}[value]
