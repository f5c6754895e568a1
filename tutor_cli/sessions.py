"""SessionManager: the lesson's model layer, made durable, and every rule about sessions."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from tutor_cli.errors import InvalidIdError, InvalidMessageError, SessionNotFoundError
from tutor_cli.store import MessageRecord, SessionRecord, SQLiteStore

ROLES = ("user", "assistant")


class SessionManager:
    """Sessions keyed by (student id, session id): a system prompt plus a list of messages.

    ``SessionManager()`` keeps everything in memory, as in the lesson;
    ``SessionManager(path)`` keeps it in a durable SQLite store at ``path``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.store = SQLiteStore(":memory:" if path is None else path)
        # Per session: the id of the last message read and the turns read so far, so that each
        # new request reads only what was added since the previous one.
        self._turns: dict[tuple[str, str], tuple[int, list[tuple[str, str]]]] = {}

    def close(self) -> None:
        """Release the store's connection."""
        self.store.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the lesson's API ------------------------------------------------------------------

    def create_session(self, student_id: str, session_id: str, system_prompt: str) -> None:
        """Create a session; an existing (student, session) pair raises SessionExistsError."""
        _check_id("student id", student_id)
        _check_id("session id", session_id)
        if not isinstance(system_prompt, str):
            raise InvalidMessageError("The system prompt must be text.")
        self.store.create_session(student_id, session_id, system_prompt)

    def get_session(self, student_id: str, session_id: str) -> dict[str, Any] | None:
        """``{'system_prompt': str, 'messages': [{'role', 'content'}, ...]}`` or None."""
        record = self.store.get_session(student_id, session_id)
        if record is None:
            return None
        messages = self.store.get_messages(student_id, session_id)
        return {"system_prompt": record.system_prompt, "messages": _plain(messages)}

    def add_message(self, student_id: str, session_id: str, role: str, content: str) -> None:
        """Append a user or assistant message; a missing session raises SessionNotFoundError."""
        self.record_message(student_id, session_id, role, content)

    def get_conversation(self, student_id: str, session_id: str) -> list[dict[str, str]]:
        """The system prompt then every message, each only role and content; [] if missing."""
        session = self.get_session(student_id, session_id)
        if session is None:
            return []
        return [{"role": "system", "content": session["system_prompt"]}, *session["messages"]]

    # --- beyond the lesson: what the CLI and the chat need ---------------------------------

    def record_message(
        self,
        student_id: str,
        session_id: str,
        role: str,
        content: str,
        *,
        model: str | None = None,
        reasoning: str | None = None,
        interrupted: bool = False,
        usage: dict[str, int] | None = None,
    ) -> int:
        """Append a message with what the chat knows about it (model, reasoning, usage)."""
        if role not in ROLES:
            raise InvalidMessageError(f"Role must be 'user' or 'assistant', not {role!r}.")
        if not isinstance(content, str):
            raise InvalidMessageError(f"Message content must be text, not {type(content).__name__}.")
        return self.store.add_message(
            student_id, session_id, role, content,
            model=model, reasoning=reasoning, interrupted=interrupted, usage=usage,
        )

    def new_session(self, student_id: str, system_prompt: str, session_id: str | None = None) -> str:
        """Create a session (with a fresh id unless one is given) and return its id."""
        if session_id is not None:
            self.create_session(student_id, session_id, system_prompt)
            return session_id
        while True:
            candidate = new_session_id()
            if self.store.get_session(student_id, candidate) is None:
                self.create_session(student_id, candidate, system_prompt)
                return candidate

    def request_messages(self, student_id: str, session_id: str) -> list[dict[str, str]]:
        """What to send: the conversation made valid for DeepSeek (see `alternating`)."""
        record = self.store.get_session(student_id, session_id)
        if record is None:
            self._turns.pop((student_id, session_id), None)
            raise SessionNotFoundError(student_id, session_id)
        key = (student_id, session_id)
        last_id, turns = self._turns.get(key, (0, []))
        new = self.store.get_turns(student_id, session_id, last_id)
        if new:
            turns = turns + [(role, content) for _, role, content in new]
            last_id = new[-1][0]
        if len(turns) != record.message_count:  # something was deleted meanwhile: start afresh
            turns = [(role, content) for _, role, content in self.store.get_turns(student_id, session_id)]
            last_id = 0
        self._turns[key] = (last_id, turns)
        return alternating(record.system_prompt, turns)

    def session_info(self, student_id: str, session_id: str) -> SessionRecord | None:
        """Metadata of one session (times, count, model, usage), or None."""
        return self.store.get_session(student_id, session_id)

    def messages(self, student_id: str, session_id: str) -> list[MessageRecord]:
        """Every stored message with its metadata, oldest first."""
        return self.store.get_messages(student_id, session_id)

    def list_sessions(self, student_id: str | None) -> list[SessionRecord]:
        """The student's sessions, most recently used first."""
        return self.store.list_sessions(student_id)

    def latest_session(self, student_id: str) -> SessionRecord | None:
        """The student's most recently used session, or None."""
        return self.store.latest_session(student_id)

    def delete_session(self, student_id: str, session_id: str) -> None:
        """Delete a session and its messages; SessionNotFoundError if missing."""
        self.store.delete_session(student_id, session_id)

    def touch(self, student_id: str, session_id: str, model: str | None = None) -> None:
        """Mark a session as the student's most recently used."""
        self.store.touch_session(student_id, session_id, model)


def alternating(system_prompt: str, messages: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The system prompt, then user and assistant strictly alternating, each only role and content.

    The store keeps every message as it happened; a question left unanswered (an API error, or
    Ctrl-C before any text) is followed by another question, so consecutive messages of one role
    are merged into one. Leading assistant messages (possible through the library) are skipped.
    Reasoning is never part of what is sent.
    """
    request = [{"role": "system", "content": system_prompt}]
    for role, content in messages:
        if len(request) == 1 and role != "user":
            continue
        if request[-1]["role"] == role:
            request[-1] = {"role": role, "content": request[-1]["content"] + "\n\n" + content}
        else:
            request.append({"role": role, "content": content})
    return request


def new_session_id() -> str:
    """A readable, sortable, unique-enough id: date, time and four random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _plain(messages: list[MessageRecord]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]


def _check_id(kind: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidIdError(f"The {kind} must be non-empty text, not {value!r}.")
