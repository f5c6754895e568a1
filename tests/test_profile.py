"""The tutor remembers the student: the profile kept across sessions, through the real CLI, the REPL
in a pty, the fake server and real stores."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import assert_no_traceback
from tests.fake_server import API_KEY, FakeServer, Reply
from tutor_cli import SessionManager
from tutor_cli.client import MAX_RETRIES, ChatClient
from tutor_cli.context import PROFILE_ACK, PROFILE_NOTE
from tutor_cli.profile import PROFILE_MAX_TOKENS, update_once
from tutor_cli.tokens import estimate_tokens


def wait_for(
    condition: Callable[[], object],
    timeout: float = 20,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f": {describe()}" if describe else ""))


def profile_text(home: Path, student: str = "ada") -> str:
    with SessionManager(home / "tutor.db") as manager:
        record = manager.store.get_profile(student)
        return record.text if record else ""


def settled(home: Path, student: str = "ada") -> bool:
    """The profile has notes and has seen every turn."""
    with SessionManager(home / "tutor.db") as manager:
        record = manager.store.get_profile(student)
        return bool(record and record.text) and not manager.store.has_unseen_turns(student)


def contents(request: dict) -> list[str]:
    return [m["content"] for m in request["body"]["messages"]]


# --- sent with the next session ---------------------------------------------------------------


def test_the_next_ask_session_starts_with_the_profile_made_from_the_first_sessions_turns(
    run_tutor, api_env, fake_server: FakeServer, home: Path
) -> None:
    notes = "- Learning algebra.\n- Mixes up signs."
    # However the two runs' updates interleave (one may read the second question, another its answer),
    # every update answers with these notes.
    fake_server.reply_to_profile(*[Reply(content=notes)] * 4)
    assert run_tutor("ask", "--session", "first", "I am new to algebra: how do I solve 2x + 3 = 7?").returncode == 0
    assert run_tutor("ask", "--session", "first", "Why does +3 become -3 on the other side?").returncode == 0
    wait_for(lambda: settled(home), what="the profile update")
    sent_for_profile = "\n".join(contents(r)[1] for r in fake_server.profile_requests)
    assert "I am new to algebra: how do I solve 2x + 3 = 7?" in sent_for_profile
    assert "Why does +3 become -3 on the other side?" in sent_for_profile
    assert profile_text(home) == notes

    result = run_tutor("ask", "--session", "second", "Can we practise more equations?")
    assert result.returncode == 0, result.stderr
    first_request = fake_server.chat_requests[-1]["body"]["messages"]
    assert [m["role"] for m in first_request] == ["system", "user", "assistant", "user"]
    assert first_request[1]["content"] == PROFILE_NOTE + notes
    assert first_request[2]["content"] == PROFILE_ACK
    assert first_request[3]["content"] == "Can we practise more equations?"
    # The session keeps its own snapshot: the earlier session, created without notes, sends none.
    run_tutor("ask", "--session", "first", "One more?")
    assert [m["role"] for m in fake_server.chat_requests[-1]["body"]["messages"][:3]] == ["system", "user", "assistant"]
    assert not contents(fake_server.chat_requests[-1])[1].startswith(PROFILE_NOTE)


def test_the_next_chat_session_starts_with_the_profile(terminal, fake_server: FakeServer, home: Path) -> None:
    # Updates may run after each answer and at the end, or coalesce, as the machine's load decides:
    # every one of them gets the same notes, so the next session's start does not depend on timing.
    fake_server.reply_to_profile(*[Reply(content="- Studies French verbs.")] * 4)
    term = terminal("chat", "--session", "one")
    term.prompt()
    term.ask("Comment conjuguer être au présent ?")
    term.ask("Et au passé composé ?")
    term.ctrl("d")
    assert term.finish() == 0
    wait_for(lambda: settled(home), what="the profile update")
    assert any("Comment conjuguer être" in contents(r)[1] for r in fake_server.profile_requests)

    term = terminal("chat")
    term.prompt()
    term.ask("On révise ?")
    term.ctrl("d")
    assert term.finish() == 0
    sent = fake_server.chat_requests[-1]["body"]["messages"]
    assert sent[1] == {"role": "user", "content": PROFILE_NOTE + "- Studies French verbs."}
    assert sent[2] == {"role": "assistant", "content": PROFILE_ACK}
    assert sent[3] == {"role": "user", "content": "On révise ?"}


def test_the_request_prefix_stays_byte_identical_while_an_update_lands(
    terminal, fake_server: FakeServer, home: Path
) -> None:
    with SessionManager(home / "tutor.db") as manager:
        manager.store.save_profile("ada", "- Old notes.")
    fake_server.reply_to_profile(Reply(content="- New notes, written during the session."))
    term = terminal("chat", "--session", "s")
    term.prompt()
    term.ask("first question")
    wait_for(
        lambda: profile_text(home) == "- New notes, written during the session.",
        what="the update",
    )
    term.ask("second question")
    term.ask("third question")
    term.ctrl("d")
    assert term.finish() == 0
    first, second, third = (r["body"]["messages"] for r in fake_server.chat_requests)
    assert first[1]["content"] == PROFILE_NOTE + "- Old notes."
    assert second[: len(first)] == first
    assert third[: len(second)] == second


def test_the_snapshot_catches_up_only_where_the_window_is_cut() -> None:
    manager = SessionManager()
    manager.store.save_profile("ada", "- Version one.")
    session = manager.new_session("ada", "You are a tutor.", "long", profile=True)
    manager.store.save_profile("ada", "- Version two.")
    seen: list[tuple[str, bool]] = []
    for turn in range(60):
        manager.add_message("ada", session, "user", f"question {turn} " + "word " * 80)
        request = manager.window.build("ada", session, 3_000)
        seen.append((request.messages[1]["content"], request.dropped is not None))
        manager.add_message("ada", session, "assistant", f"answer {turn} " + "word " * 80)
    cut = next(index for index, (_, dropped) in enumerate(seen) if dropped)
    assert cut > 3
    assert all(content == PROFILE_NOTE + "- Version one." for content, _ in seen[:cut])
    assert all(content == PROFILE_NOTE + "- Version two." for content, _ in seen[cut:])


# --- updates that fail, are cancelled or killed ------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [Reply(status=500), Reply(content="- Half of the notes", drop_after=8), Reply(content="   ")],
    ids=["500", "dropped-stream", "empty-answer"],
)
def test_a_failing_update_changes_nothing_and_is_retried(fake_server: FakeServer, tmp_path: Path, failure) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        store = manager.store
        store.save_profile("ada", "- Earlier notes.")
        before = store.get_profile("ada")
        manager.new_session("ada", "You are a tutor.", "s")
        manager.add_message("ada", "s", "user", "I finally understand fractions!")
        manager.add_message("ada", "s", "assistant", "Great.")
        client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
        # A server error is retried (1 + MAX_RETRIES tries in all) before the update counts as failed.
        for _ in range(1 + MAX_RETRIES if failure.status == 500 else 1):
            fake_server.reply_to_profile(failure)
        assert update_once(store, client, "ada", "deepseek-flash", None).outcome == "failed"
        assert store.get_profile("ada") == before
        assert store.has_unseen_turns("ada")

        fake_server.reply_to_profile(content="- Understands fractions now.")
        assert update_once(store, client, "ada", "deepseek-flash", None).outcome == "updated"
        assert store.get_profile("ada").text == "- Understands fractions now."
        assert not store.has_unseen_turns("ada")
        retried = contents(fake_server.profile_requests[-1])[1]
        assert "Earlier notes:\n- Earlier notes." in retried and "I finally understand fractions!" in retried


def test_a_rambling_model_is_clipped_and_only_unseen_turns_are_read(fake_server: FakeServer) -> None:
    manager = SessionManager()
    manager.new_session("ada", "You are a tutor.", "s")
    manager.add_message("ada", "s", "user", "turn one")
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    fake_server.reply_to_profile(content="- note\n" * 2_000)
    assert update_once(manager.store, client, "ada", "deepseek-flash", None).outcome == "updated"
    assert estimate_tokens(manager.store.get_profile("ada").text) <= PROFILE_MAX_TOKENS + 2
    manager.add_message("ada", "s", "user", "turn two")
    assert update_once(manager.store, client, "ada", "deepseek-flash", None).outcome == "updated"
    second = contents(fake_server.profile_requests[-1])[1]
    assert "turn two" in second and "turn one" not in second
    assert update_once(manager.store, client, "ada", "deepseek-flash", None).outcome == "nothing"
    assert len(fake_server.profile_requests) == 2


def test_an_update_that_raced_an_erasure_is_refused() -> None:
    manager = SessionManager()
    manager.store.save_profile("ada", "- Notes.")
    read = manager.store.get_profile("ada")
    manager.store.clear_profile("ada")
    assert not manager.store.save_profile("ada", "- Stale notes.", expected_revision=read.revision)
    assert manager.store.get_profile("ada").text == ""


def updater(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tutor_cli.profile", "--student", "ada", "--model", "deepseek-flash"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_killing_or_interrupting_an_update_leaves_the_store_sound_and_loses_nothing(
    api_env, fake_server: FakeServer, home: Path, how
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.store.save_profile("ada", "- Earlier notes.")
        manager.new_session("ada", "You are a tutor.", "s")
        manager.add_message("ada", "s", "user", "I want to learn calculus.")
        manager.add_message("ada", "s", "assistant", "Let us start with limits.")
    fake_server.reply_to_profile(Reply(content="- Wants calculus.", first_delay=30))
    process = updater(api_env)
    wait_for(lambda: fake_server.profile_requests, what="the update request")
    process.send_signal(how)
    process.wait(timeout=10)
    assert "Traceback" not in process.stderr.read()
    conn = sqlite3.connect(home / "tutor.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.get_profile("ada").text == "- Earlier notes."
        assert manager.store.has_unseen_turns("ada")
    fake_server.reply_to_profile(content="- Wants calculus.")
    assert updater(api_env).wait(timeout=30) == 0
    assert profile_text(home) == "- Wants calculus."


def test_ctrl_c_in_the_chat_while_an_update_runs_keeps_the_chat_and_the_update(
    terminal, fake_server: FakeServer, home: Path
) -> None:
    fake_server.reply_to_profile(Reply(content="- Likes examples.", first_delay=2))
    term = terminal("chat", "--session", "s")
    term.prompt()
    term.ask("Show me an example of a limit.")
    wait_for(lambda: fake_server.profile_requests, what="the update request")
    term.ctrl("c")
    term.prompt()
    term.ask("And another one?")
    term.ctrl("d")
    assert term.finish() == 0
    wait_for(lambda: settled(home), what="the update after the chat ended")
    assert profile_text(home) in ("- Likes examples.", "Answer to: " + contents(fake_server.profile_requests[-1])[1])
    conn = sqlite3.connect(home / "tutor.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- seeing, correcting, erasing, switching off ------------------------------------------------


def seed(home: Path, text: str = "- Learning algebra.") -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.store.save_profile("ada", text)
        manager.new_session("ada", "You are a tutor.", "old", profile=True)
        manager.add_message("ada", "old", "user", "My name is Ada and I study algebra.")


def test_tutor_profile_shows_text_and_json(run_tutor, home: Path) -> None:
    result = run_tutor("profile")
    assert result.returncode == 0 and result.stdout == "" and "no notes about ada" in result.stderr
    assert json.loads(run_tutor("profile", "--format", "json").stdout) == {
        "student_id": "ada",
        "profile": "",
        "updated_at": None,
    }
    seed(home, "- Ünïcode notes ✓")
    assert run_tutor("profile").stdout == "- Ünïcode notes ✓\n"
    document = json.loads(run_tutor("profile", "-f", "json").stdout)
    assert document["profile"] == "- Ünïcode notes ✓" and document["updated_at"].endswith("Z")
    usage = run_tutor("profile", "--yes")
    assert usage.returncode == 2 and "--clear" in usage.stderr


def test_clear_asks_first_then_erases_notes_and_snapshots(run_tutor, api_env, fake_server, home: Path) -> None:
    seed(home)
    declined = run_tutor("profile", "--clear", input="n\n")
    assert declined.returncode == 1 and "Nothing was erased" in declined.stderr
    assert profile_text(home) == "- Learning algebra."
    done = run_tutor("profile", "--clear", input="y\n")
    assert done.returncode == 0 and "Erased" in done.stdout
    assert profile_text(home) == ""
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.get_session("ada", "old").profile_snapshot is None
        assert not manager.store.has_unseen_turns("ada")  # what was said before is not read again
    run_tutor("ask", "--session", "old", "Hello again")
    assert not any(c.startswith(PROFILE_NOTE) for c in contents(fake_server.chat_requests[-1]))


def test_forget_in_the_chat_asks_first_and_the_next_request_carries_no_profile(
    terminal, fake_server: FakeServer, home: Path
) -> None:
    seed(home, "- Prefers short answers.")
    fake_server.reply_to_profile(*[Reply(content="- Prefers short answers.")] * 3)
    term = terminal("chat", "--session", "talk")
    term.prompt()
    term.type("/profile")
    term.expect("- Prefers short answers.")
    term.prompt()
    term.ask("first")
    term.type("/forget")
    term.expect("[y/N]")
    term.type("n")
    term.expect("Nothing was erased.")
    term.prompt()
    assert profile_text(home) == "- Prefers short answers."
    term.type("/forget")
    term.expect("[y/N]")
    term.type("y")
    term.expect("erased")
    term.prompt()
    term.ask("second")
    term.ctrl("d")
    assert term.finish() == 0
    assert contents(fake_server.chat_requests[0])[1] == PROFILE_NOTE + "- Prefers short answers."
    assert not any(c.startswith(PROFILE_NOTE) for c in contents(fake_server.chat_requests[-1]))
    assert profile_text(home) == ""


def test_profile_off_sends_nothing_updates_nothing_and_never_reads_those_turns(
    run_tutor, api_env, fake_server: FakeServer, home: Path
) -> None:
    seed(home, "- Private notes.")
    with SessionManager(home / "tutor.db") as manager:
        manager.store.mark_profile_seen("ada", "old")
    assert run_tutor("ask", "--session", "a", "secret one", env={"TUTOR_PROFILE": "off"}).returncode == 0
    assert run_tutor("ask", "--no-profile", "--session", "a", "secret two").returncode == 0
    assert run_tutor("ask", "--no-profile", "--session", "old", "secret three").returncode == 0
    time.sleep(1.5)  # an update, had one been started, would have asked by now
    assert fake_server.profile_requests == []
    for request in fake_server.chat_requests:
        assert not any(c.startswith(PROFILE_NOTE) for c in contents(request))
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.get_session("ada", "a").profile_snapshot is None
        assert manager.store.get_profile("ada").text == "- Private notes."
        assert not manager.store.has_unseen_turns("ada")
    bad = run_tutor("ask", "hi", env={"TUTOR_PROFILE": "maybe"})
    assert bad.returncode == 1 and "TUTOR_PROFILE" in bad.stderr
    assert_no_traceback(bad)


def editor(tmp_path: Path, text: str | None) -> dict[str, str]:
    """An $EDITOR that writes `text` into the file (None: leaves it as it is)."""
    script = tmp_path / "editor.py"
    body = "" if text is None else f"open(sys.argv[1], 'w', encoding='utf-8').write({text!r})"
    script.write_text(f"import sys\n{body}\n")
    return {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}


def test_edit_saves_a_correction_and_handles_unchanged_and_empty_edits(run_tutor, home: Path, tmp_path: Path) -> None:
    seed(home, "- Learning algebra.")
    unchanged = run_tutor("profile", "--edit", env=editor(tmp_path, None))
    assert unchanged.returncode == 0 and "No change." in unchanged.stdout
    saved = run_tutor("profile", "--edit", env=editor(tmp_path, "- Learning algebra and geometry.\n"))
    assert saved.returncode == 0, saved.stderr
    assert profile_text(home) == "- Learning algebra and geometry."
    kept = run_tutor("profile", "--edit", env=editor(tmp_path, "  \n"), input="n\n")
    assert kept.returncode == 1 and "No change." in kept.stderr
    assert profile_text(home) == "- Learning algebra and geometry."
    erased = run_tutor("profile", "--edit", env=editor(tmp_path, ""), input="y\n")
    assert erased.returncode == 0 and profile_text(home) == ""
    no_editor = run_tutor("profile", "--edit", env={"EDITOR": "", "VISUAL": ""})
    assert no_editor.returncode == 1 and "EDITOR" in no_editor.stderr
    assert_no_traceback(no_editor)


def test_show_json_and_the_lessons_conversation_are_unchanged_by_a_snapshot(run_tutor, home: Path) -> None:
    seed(home, "- Notes.")
    document = json.loads(run_tutor("show", "old", "--format", "json").stdout)
    assert "Notes" not in json.dumps(document)
    with SessionManager(home / "tutor.db") as manager:
        assert manager.get_conversation("ada", "old") == [
            {"role": "system", "content": "You are a tutor."},
            {"role": "user", "content": "My name is Ada and I study algebra."},
        ]
