"""SessionManager: the lesson's model layer, made durable, and every rule about sessions."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

from tutor_cli import access
from tutor_cli.context import ContextWindow
from tutor_cli.errors import (
    AmbiguousSessionError,
    InvalidMessageError,
    NoSessionsError,
    SessionNotFoundError,
)
from tutor_cli.pricing import PriceTable, UsageTotals, sessions_with_totals, totals_by_session
from tutor_cli.store import MessageRecord, SessionRecord, Store, open_store
from tutor_cli.store.sessions import check_id
from tutor_cli.titles import CANDIDATES_SHOWN, clean_title, matching_ids

ROLES = ("user", "assistant")


class SessionManager:
    """Sessions keyed by (student id, session id): a system prompt plus a list of messages.

    ``SessionManager()`` keeps everything in memory, as in the lesson;
    ``SessionManager(path)`` keeps it in a durable SQLite store at ``path``;
    ``SessionManager("postgresql://…")`` in a class's shared PostgreSQL database.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, store: Store | None = None) -> None:
        # `store`: one already opened (by `tutor_cli.store.open_store`, the one place that decides).
        self.store: Store = store if store is not None else open_store(path)
        self.window = ContextWindow(self.store)  # what of a session is sent, and why

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
        check_id("student id", student_id)
        check_id("session id", session_id)
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
        if role not in ROLES:
            raise InvalidMessageError(f"Role must be 'user' or 'assistant', not {role!r}.")
        if not isinstance(content, str):
            raise InvalidMessageError(f"Message content must be text, not {type(content).__name__}.")
        self.store.add_message(student_id, session_id, role, content)

    def get_conversation(self, student_id: str, session_id: str) -> list[dict[str, str]]:
        """The system prompt then every message, each only role and content; [] if missing."""
        session = self.get_session(student_id, session_id)
        if session is None:
            return []
        return [{"role": "system", "content": session["system_prompt"]}, *session["messages"]]

    # --- beyond the lesson: what the CLI and the chat need ---------------------------------

    def new_session(
        self, student_id: str, system_prompt: str, session_id: str | None = None, *, profile: bool = False
    ) -> str:
        """Create a session (with a fresh id unless one is given) and return its id. `profile`:
        keep the student's profile as it stands now with the session, for its requests to carry."""
        if session_id is None:
            session_id = new_session_id()
            while self.store.get_session(student_id, session_id) is not None:
                session_id = new_session_id()
        self.create_session(student_id, session_id, system_prompt)
        if profile:
            self.store.take_profile_snapshot(student_id, session_id)
        return session_id

    def set_title(self, student_id: str, session_id: str, title: str) -> str:
        """Give the session a title of the student's own; returns it as stored (one line)."""
        try:
            text = clean_title(title)
        except ValueError as error:
            raise InvalidMessageError(str(error)) from None
        self.store.set_title(student_id, session_id, text)
        return text

    def find_session(self, student_id: str, reference: str | None) -> SessionRecord:
        """The session `reference` names: its whole id, or an unambiguous prefix or suffix of it;
        None names the most recently used. SessionNotFoundError when none matches (or the student
        has no session), AmbiguousSessionError, listing the candidates, when several do."""
        if reference is None:
            latest = self.store.latest_session(student_id)
            if latest is None:
                raise NoSessionsError(student_id)
            return latest
        check_id("session id", reference)
        exact = self.store.get_session(student_id, reference)
        if exact is not None:
            return exact
        rows = self.store.session_ids_like(student_id, reference)
        titles = dict(rows)
        found = matching_ids(reference, [session_id for session_id, _ in rows])
        if not found:
            raise SessionNotFoundError(student_id, reference)
        if len(found) > 1:
            shown = [(session_id, titles[session_id]) for session_id in found[:CANDIDATES_SHOWN]]
            raise AmbiguousSessionError(student_id, reference, shown, len(found) - len(shown))
        record = self.store.get_session(student_id, found[0])
        if record is None:  # deleted in between
            raise SessionNotFoundError(student_id, reference)
        return record

    def request_messages(self, student_id: str, session_id: str) -> list[dict[str, str]]:
        """What to send, with no context limit: the whole conversation made valid for DeepSeek."""
        return self.window.build(student_id, session_id, window_tokens=None).messages

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

    def require_session(self, student_id: str, session_id: str) -> SessionRecord:
        """The session's record; a missing one raises SessionNotFoundError."""
        record = self.store.get_session(student_id, session_id)
        if record is None:
            raise SessionNotFoundError(student_id, session_id)
        return record

    def sessions_with_totals(
        self, prices: PriceTable, student_id: str | None
    ) -> list[tuple[SessionRecord, UsageTotals]]:
        """A student's sessions (everyone's for None), most recently used first, each with its totals."""
        return sessions_with_totals(self.store.list_sessions(student_id), self.usage_totals(prices, student_id))

    def last_answer(self, student_id: str, session_id: str) -> str | None:
        """The text of the session's newest answer (for /copy), reading back only as far as it."""
        for message_id, role, _ in self.store.iter_window_newest_first(student_id, session_id, 0, batch=8):
            if role == "assistant":
                rows = self.store.get_turns(student_id, session_id, after_id=message_id - 1, before_id=message_id + 1)
                return rows[0][2]
        return None

    def usage_totals(
        self, prices: PriceTable, student_id: str | None, session_id: str | None = None
    ) -> dict[tuple[str, str], UsageTotals]:
        """Token totals and estimated cost per (student, session): one student's, or everyone's."""
        return totals_by_session(self.store.usage_rows(student_id, session_id), prices)

    def session_totals(self, prices: PriceTable, student_id: str, session_id: str) -> UsageTotals:
        """Token totals and estimated cost of one session."""
        return self.usage_totals(prices, student_id, session_id).get((student_id, session_id), UsageTotals())

    def resolve_student(self, requested: str | None, default: str, *, writing: bool) -> str:
        """Whose sessions a command acts on: `requested` (--student), else `default`; in a class
        database as the class rule says (`tutor_cli.access.acting_student`, its one home)."""
        return access.acting_student(self.store, requested, default, writing=writing)


def new_session_id() -> str:
    """A readable, sortable, unique-enough id: date, time and four random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _plain(messages: list[MessageRecord]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]
