"""SessionManager: the lesson's model layer, made durable, and every rule about sessions."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tutor_cli.context import Budget, choose_start, message_tokens
from tutor_cli.errors import InvalidIdError, InvalidMessageError, SessionNotFoundError
from tutor_cli.pricing import PriceTable, UsageTotals, totals_by_session
from tutor_cli.store import MessageRecord, SessionRecord, SQLiteStore, Store

ROLES = ("user", "assistant")


class SessionManager:
    """Sessions keyed by (student id, session id): a system prompt plus a list of messages.

    ``SessionManager()`` keeps everything in memory, as in the lesson;
    ``SessionManager(path)`` keeps it in a durable SQLite store at ``path``;
    ``SessionManager("postgresql://…")`` in a class's shared PostgreSQL database.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.store: Store
        if is_postgres_url(path):
            from tutor_cli.store_postgres import PostgresStore

            self.store = PostgresStore(str(path))
        else:
            self.store = SQLiteStore(":memory:" if path is None else path)
        # Per session: the window's turns read so far, so that each new request reads only
        # what was added since the previous one.
        self._windows: dict[tuple[str, str], _Window] = {}

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
            student_id,
            session_id,
            role,
            content,
            model=model,
            reasoning=reasoning,
            interrupted=interrupted,
            usage=usage,
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
        """What to send, with no context limit: the whole conversation made valid for DeepSeek."""
        return self.build_request(student_id, session_id, window_tokens=None).messages

    def build_request(self, student_id: str, session_id: str, window_tokens: int | None) -> Request:
        """What to send next: the system prompt, the summary of older turns (if any), then the
        newest whole turns that fit `window_tokens`, alternating and ending with the question.

        The window only moves forward, in large steps (see `context.choose_start`), so that
        consecutive requests share their beginning. Deciding reads only token counts; content is
        read only from the window's start, and only what is new since the previous request.
        """
        record = self.store.get_session(student_id, session_id)
        key = (student_id, session_id)
        if record is None:
            self._windows.pop(key, None)
            raise SessionNotFoundError(student_id, session_id)
        prefix = _summary_turns(record.summary)
        fixed = message_tokens(record.system_prompt) + sum(message_tokens(m["content"]) for m in prefix)
        budget = None
        if window_tokens is not None:
            budget = Budget.for_window(window_tokens, fixed, record.token_scale or 1.0)
        window = self._windows.get(key)
        new_start = None
        if window is None or window.start != record.window_start:
            if budget is not None:
                rows = self.store.iter_window_newest_first(student_id, session_id, record.window_start)
                new_start = choose_start(rows, budget)
            start = new_start or record.window_start
            window = _Window(start, self.store.get_turns(student_id, session_id, after_id=start - 1))
        else:
            window.extend(self.store.get_turns(student_id, session_id, after_id=window.last_id))
            if budget is not None and window.tokens > budget.limit:
                new_start = choose_start(window.newest_first(), budget)
                if new_start is not None:
                    window.cut(new_start)
        self._windows[key] = window
        dropped = None
        if new_start is not None and new_start > record.window_start:
            self.store.set_window(student_id, session_id, new_start)
            dropped = (record.summary_through, new_start)
        messages = alternating(record.system_prompt, [(role, content) for _, role, content, _ in window.turns])
        messages[1:1] = prefix
        return Request(messages=messages, estimated_tokens=fixed + window.tokens, dropped=dropped)

    def turns_between(
        self, student_id: str, session_id: str, after_id: int, before_id: int, max_tokens: int
    ) -> list[tuple[str, str]]:
        """(role, content) of the messages strictly between the ids, the newest that fit `max_tokens`."""
        start = after_id + 1
        total = 0
        for message_id, _, tokens in self.store.iter_window_newest_first(student_id, session_id, start, before_id):
            total += tokens
            if total > max_tokens:
                break
            start = message_id
        else:
            start = after_id + 1
        rows = self.store.get_turns(student_id, session_id, after_id=start - 1, before_id=before_id)
        return [(role, content) for _, role, content, _ in rows]

    def save_summary(self, student_id: str, session_id: str, summary: str, through_before: int) -> None:
        """Store the summary of every message before id `through_before`, and start the window there."""
        self.store.set_window(
            student_id, session_id, through_before, summary=summary, summary_through=through_before - 1
        )
        self._windows.pop((student_id, session_id), None)

    def compact_range(self, student_id: str, session_id: str) -> tuple[int, int] | None:
        """For /compact: (after, before) ids of everything before the latest turn not yet summarised."""
        record = self.store.get_session(student_id, session_id)
        if record is None:
            raise SessionNotFoundError(student_id, session_id)
        latest_question = None
        for message_id, role, _ in self.store.iter_window_newest_first(student_id, session_id, record.window_start):
            if role == "user":
                latest_question = message_id
                break
        if latest_question is None or latest_question <= max(record.window_start, record.summary_through + 1):
            return None
        return (record.summary_through, latest_question)

    def last_question(self, student_id: str, session_id: str) -> tuple[str | None, bool]:
        """The session's newest question and whether it is still unanswered (for /retry).

        Reads back from the newest message only as far as the question."""
        newest = True
        for message_id, role, _ in self.store.iter_window_newest_first(student_id, session_id, 0, batch=8):
            if role == "user":
                rows = self.store.get_turns(student_id, session_id, after_id=message_id - 1, before_id=message_id + 1)
                return rows[0][2], newest
            newest = False
        return None, False

    def calibrate(self, student_id: str, session_id: str, estimated: int, actual: int) -> None:
        """Learn how many server tokens one estimated token is, from what the server reported."""
        if estimated <= 0 or actual <= 0:
            return
        scale = min(4.0, max(0.25, actual / estimated))
        record = self.store.get_session(student_id, session_id)
        if record is not None and abs((record.token_scale or 1.0) - scale) > 0.02 * scale:
            self.store.set_token_scale(student_id, session_id, scale)

    def usage_totals(
        self, prices: PriceTable, student_id: str | None, session_id: str | None = None
    ) -> dict[tuple[str, str], UsageTotals]:
        """Token totals and estimated cost per (student, session): one student's, or everyone's."""
        return totals_by_session(self.store.usage_rows(student_id, session_id), prices)

    def session_totals(self, prices: PriceTable, student_id: str, session_id: str) -> UsageTotals:
        """Token totals and estimated cost of one session."""
        return self.usage_totals(prices, student_id, session_id).get((student_id, session_id), UsageTotals())

    def learned_limit(self, model: str) -> int | None:
        """The context window a server reported for this model."""
        return self.store.learned_limit(model)

    def learn_limit(self, model: str, context_tokens: int) -> None:
        """Remember a model's context window, as a server reported it."""
        self.store.learn_limit(model, context_tokens)

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


SUMMARY_NOTE = "Notes on our earlier turns, which are no longer shown here in full:\n\n"
SUMMARY_ACK = "Understood. I will keep these notes in mind."


def _summary_turns(summary: str | None) -> list[dict[str, str]]:
    """The summary travels as a user/assistant pair right after the system prompt, which stays
    byte-identical, and before the window, which starts with a question: alternation holds."""
    if not summary:
        return []
    return [{"role": "user", "content": SUMMARY_NOTE + summary}, {"role": "assistant", "content": SUMMARY_ACK}]


@dataclass
class Request:
    """A request ready to send, what it is estimated to cost, and what just left the window."""

    messages: list[dict[str, str]]
    estimated_tokens: int
    dropped: tuple[int, int] | None = None  # (after id, before id) of turns to summarise


class _Window:
    """The turns of a session's current window, as read so far: (id, role, content, tokens)."""

    def __init__(self, start: int, turns: list[tuple[int, str, str, int]]) -> None:
        self.start = start
        self.turns = list(turns)
        self.tokens = sum(turn[3] for turn in self.turns)

    @property
    def last_id(self) -> int:
        return self.turns[-1][0] if self.turns else self.start - 1

    def extend(self, turns: list[tuple[int, str, str, int]]) -> None:
        self.turns.extend(turns)
        self.tokens += sum(turn[3] for turn in turns)

    def newest_first(self) -> Iterator[tuple[int, str, int]]:
        return ((turn[0], turn[1], turn[3]) for turn in reversed(self.turns))

    def cut(self, start: int) -> None:
        self.start = start
        self.turns = [turn for turn in self.turns if turn[0] >= start]
        self.tokens = sum(turn[3] for turn in self.turns)


def is_postgres_url(location: object) -> bool:
    """Whether a store location names a PostgreSQL database rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def new_session_id() -> str:
    """A readable, sortable, unique-enough id: date, time and four random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _plain(messages: list[MessageRecord]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]


def _check_id(kind: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise InvalidIdError(f"The {kind} must be non-empty text without NUL characters, not {value!r}.")
