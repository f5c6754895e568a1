"""The student's profile: the tutor's short notes about a student, kept across sessions.

The rules live here: what an update reads (the earlier notes plus the turns they have not seen,
bounded), what it asks the model, how long the notes may be, and how updates run without the
student ever waiting: in the chat on a background thread after each answer, after `tutor ask` and
when a chat ends mid-update in a detached process (`python -m tutor_cli.profile`). An update writes
the notes and moves the "seen" marks in one transaction, only if the notes did not change since it
read them; a failed, refused or killed update leaves everything as it was, to be tried again later.
No UI imports here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tutor_cli.errors import APIError, TutorError
from tutor_cli.tokens import clip_to_tokens

if TYPE_CHECKING:
    from tutor_cli.client import ChatClient
    from tutor_cli.store import Store

PROFILE_MAX_TOKENS = 400  # the notes, as sent with every request: a rambling model is clipped
EDITED_MAX_TOKENS = 1_000  # what a student may write by hand with --edit
INPUT_TOKENS = 6_000  # the new turns one update reads at most; a longer backlog takes more rounds
ANSWER_EXCERPT_TOKENS = 150  # of each tutor answer: context for the student's turns, not notes
MAX_ROUNDS = 5  # updates one run makes at most (each covers up to INPUT_TOKENS of new turns)
LOCK_NAME = "profile.lock"

PROFILE_INSTRUCTIONS = (
    "You keep a tutor's notebook about one student, to help the tutor in later sessions. From the "
    "earlier notes and the student's new turns below, write the updated notes: the student's level, "
    "their goals, what they have mastered, what they struggle with (misconceptions), how they like "
    "to learn, and anything they asked the tutor to remember. Keep what still holds from the earlier "
    "notes, correct what the new turns contradict, leave out what is unknown. Write only notes "
    "about the student, never about the subject matter itself. At most 150 words, as short Markdown "
    "bullet points, in the language the student writes in."
)


@dataclass(frozen=True)
class UpdateResult:
    """What one update did: 'updated', 'nothing' (no new turns), 'failed' (the model call failed or
    answered nothing) or 'conflict' (the notes changed meanwhile; tried again with the new ones)."""

    outcome: str
    text: str | None = None


def read_new_turns(store: Store, student_id: str, max_tokens: int = INPUT_TOKENS) -> tuple[str, dict[int, int]]:
    """The oldest turns the notes have not seen, as a transcript within about `max_tokens`, and the
    marks to store once notes covering them are saved: {session row id: last message id covered}.

    Sizes are read first and content only as far as the budget reaches; tutor answers count (and
    are sent) as short excerpts. At least one message is always taken, clipped if it is huge, so a
    backlog always moves forward."""
    last_id = None
    total = 0
    for message_id, role, tokens in store.unseen_sizes(student_id):
        cost = min(tokens, ANSWER_EXCERPT_TOKENS) if role == "assistant" else tokens
        if last_id is not None and total + cost > max_tokens:
            break
        total += cost
        last_id = message_id
    if last_id is None:
        return "", {}
    lines: list[str] = []
    seen: dict[int, int] = {}
    session = None
    for turn in store.unseen_turns(student_id, last_id):
        if turn.session_id != session:
            session = turn.session_id
            lines.append(f"## Session {session}")
        if turn.role == "user":
            lines.append("Student: " + clip_to_tokens(turn.content, max_tokens))
        else:
            lines.append("Tutor (excerpt): " + clip_to_tokens(turn.content, ANSWER_EXCERPT_TOKENS))
        seen[turn.session_pk] = max(seen.get(turn.session_pk, 0), turn.id)
    return "\n\n".join(lines), seen


def update_once(store: Store, client: ChatClient, student_id: str, model: str, thinking: bool | None) -> UpdateResult:
    """One update: the earlier notes plus the unseen turns in, the new notes (clipped) out, saved
    with the marks only if nobody changed the notes meanwhile."""
    from tutor_cli.client import Answer

    earlier = store.get_profile(student_id)
    transcript, seen = read_new_turns(store, student_id)
    if not seen:
        return UpdateResult("nothing")
    notes = earlier.text if earlier is not None and earlier.text else "(none yet)"
    messages = [
        {"role": "system", "content": PROFILE_INSTRUCTIONS},
        {"role": "user", "content": f"Earlier notes:\n{notes}\n\nNew turns:\n\n{transcript}"},
    ]
    answer = Answer()
    try:
        for _ in client.stream(messages, model, thinking=thinking, answer=answer):
            pass
    except APIError:
        return UpdateResult("failed")
    text = answer.content.strip()
    if not text:
        return UpdateResult("failed")
    text = clip_to_tokens(text, PROFILE_MAX_TOKENS)
    revision = earlier.revision if earlier is not None else -1
    if not store.save_profile(student_id, text, expected_revision=revision, seen=seen):
        return UpdateResult("conflict")
    return UpdateResult("updated", text)


def update_all(
    store: Store, client: ChatClient, student_id: str, model: str, thinking: bool | None, rounds: int = MAX_ROUNDS
) -> UpdateResult:
    """Update until no unseen turn is left, a call fails, or `rounds` calls were made."""
    result = UpdateResult("nothing")
    for _ in range(rounds):
        result = update_once(store, client, student_id, model, thinking)
        if result.outcome in ("nothing", "failed"):
            break
    return result


def edit(store: Store, student_id: str, text: str) -> tuple[str, bool]:
    """Save the student's own version of the notes; returns what was saved and whether it was clipped."""
    clipped = clip_to_tokens(text.strip(), EDITED_MAX_TOKENS)
    store.save_profile(student_id, clipped)
    return clipped, clipped != text.strip()


@contextmanager
def one_updater_at_a_time(home: Path | None) -> Iterator[None]:
    """Updates of one tutor home queue behind each other (a lock file), so a burst of `tutor ask`
    runs makes one update request, not one each. Without a usable home folder, no queue."""
    handle = None
    if home is not None:
        try:
            import fcntl

            handle = open(home / LOCK_NAME, "a")  # noqa: SIM115 (held for the whole block)
            fcntl.flock(handle, fcntl.LOCK_EX)
        except (OSError, ImportError):
            handle = None
    try:
        yield
    finally:
        if handle is not None:
            handle.close()


# --- running updates without making the student wait -----------------------------------------


def detached_command(student_id: str, model: str, thinking: bool | None) -> list[str]:
    """The command of a detached update (the environment carries the store, endpoint and key)."""
    command = [sys.executable, "-m", "tutor_cli.profile", "--student", student_id, "--model", model]
    if thinking is not None:
        command += ["--thinking", "on" if thinking else "off"]
    return command


def spawn_detached(student_id: str, model: str, thinking: bool | None, database_url: str | None) -> None:
    """Start an update in its own process and session, and return at once: it outlives this
    process, Ctrl-C in the terminal does not reach it, and nothing of it is printed."""
    env = dict(os.environ)
    if database_url:  # --database-url travels in the environment, never on a command line
        env["TUTOR_DATABASE_URL"] = database_url
    try:
        subprocess.Popen(
            detached_command(student_id, model, thinking),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        pass  # the turns stay unseen and are read by the next update


class BackgroundUpdates:
    """The chat's updates: after each answer a background thread updates the profile while the
    student reads and types. When the chat ends while an update is still running, a detached
    process takes over.

    The thread shares the chat's store: both backends serialise their connection with a lock and
    hold it only for single statements, never during the model call. A second SQLite connection
    opened in the same process would be worse than sharing: opening checks the file's header with
    a plain open()/close(), and closing any descriptor of the file drops every POSIX lock the
    process holds on it, SQLite's included; another process may then delete the WAL under us."""

    def __init__(
        self,
        store: Store,
        make_client: Callable[[], ChatClient],
        student_id: str,
        model: Callable[[], str],
        thinking: Callable[[], bool | None],
        home: Path | None,
        database_url: str | None,
    ) -> None:
        self._store = store
        self._make_client = make_client
        self._student_id = student_id
        self._model = model
        self._thinking = thinking
        self._home = home
        self._database_url = database_url
        self._lock = threading.Lock()
        self._pending = False
        self._running = False
        self._finished = False  # the chat ended: its store is about to close under the thread
        self.results: list[UpdateResult] = []

    def after_answer(self) -> None:
        """An answer was stored: make sure an update runs (at most one thread at a time)."""
        with self._lock:
            self._pending = True
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name="profile-update", daemon=True).start()

    def finish(self) -> None:
        """The chat ends: an update still running (or wanted) continues in a detached process."""
        with self._lock:
            busy = self._running or self._pending
            self._finished = True
        if busy:
            spawn_detached(self._student_id, self._model(), self._thinking(), self._database_url)

    def _run(self) -> None:
        try:
            client = self._make_client()
            while True:
                with self._lock:
                    if not self._pending:
                        self._running = False
                        return
                    self._pending = False
                with one_updater_at_a_time(self._home):
                    self.results.append(
                        update_all(self._store, client, self._student_id, self._model(), self._thinking())
                    )
        except Exception:  # a background update must never disturb the chat…
            with self._lock:
                self._running = False
                self._pending = False
            if os.environ.get("TUTOR_DEBUG") == "1" and not self._finished:
                raise  # …but a bug must not hide (threading's hook prints it)


def main(argv: list[str] | None = None) -> int:
    """`python -m tutor_cli.profile --student ID --model NAME [--thinking on|off]`: one detached
    update run, silent; its exit status says whether the notes are now up to date."""
    import argparse

    from tutor_cli.client import client_from_settings
    from tutor_cli.config import Settings, parse_thinking
    from tutor_cli.store import open_store

    parser = argparse.ArgumentParser(prog="python -m tutor_cli.profile")
    parser.add_argument("--student", required=True)
    parser.add_argument("--model")
    parser.add_argument("--thinking")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_environment()
        if not settings.profile or not settings.api_key:
            return 0
        home = None if settings.database_url else settings.ensure_home()
        store = open_store(settings.store_location())
    except TutorError:
        return 1
    try:
        with one_updater_at_a_time(home):
            client = client_from_settings(settings)
            thinking = parse_thinking(args.thinking, "--thinking") if args.thinking else settings.thinking
            result = update_all(store, client, args.student, args.model or settings.model, thinking)
    except TutorError:
        return 1
    finally:
        store.close()
    return 0 if result.outcome in ("updated", "nothing") else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
