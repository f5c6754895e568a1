"""The package's exception family: each error carries the exit status the CLI uses."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """Exit statuses of the `tutor` command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130


# The class rule's sentence, said by the session rules and by the store when the database refuses.
TEACHERS_READ_ONLY = "Teachers can read every student's sessions but not change them"


class TutorError(Exception):
    """Base of every error `tutor` reports to a user in one sentence."""

    exit_status: ExitStatus = ExitStatus.FAILURE


class SessionNotFoundError(TutorError, LookupError):
    """The (student, session) pair does not exist."""

    def __init__(self, student_id: str, session_id: str) -> None:
        self.student_id = student_id
        self.session_id = session_id
        super().__init__(
            f"No session {session_id!r} for student {student_id!r}; `tutor sessions` lists the sessions that exist."
        )


class NoSessionsError(SessionNotFoundError):
    """The most recent session was asked for, and the student has none."""

    def __init__(self, student_id: str) -> None:
        TutorError.__init__(self, f"Student {student_id!r} has no sessions yet; `tutor` starts one.")
        self.student_id = student_id
        self.session_id = None


class AmbiguousSessionError(TutorError, LookupError):
    """A part of an id that names more than one session; `candidates` holds (id, title) pairs."""

    def __init__(self, student_id: str, reference: str, candidates: list[tuple[str, str | None]], more: int) -> None:
        self.student_id = student_id
        self.reference = reference
        self.candidates = candidates
        named = "; ".join(f"{found} ({title})" if title else found for found, title in candidates)
        others = f"; and {more:,} more" if more else ""
        super().__init__(
            f"{reference!r} could be any of {len(candidates) + more:,} sessions of student {student_id!r}: "
            f"{named}{others}. Give more of the id."
        )


class SessionExistsError(TutorError, ValueError):
    """`create_session` was asked for a (student, session) pair that already exists."""

    def __init__(self, student_id: str, session_id: str) -> None:
        self.student_id = student_id
        self.session_id = session_id
        super().__init__(
            f"Session {session_id!r} already exists for student {student_id!r}; "
            "it was left unchanged. Choose another id or resume it with `tutor chat --session`."
        )


class InvalidMessageError(TutorError, ValueError):
    """A message with a role other than user/assistant, or content that is not text."""


class InvalidIdError(TutorError, ValueError):
    """A student or session id that is empty or not text."""


class StoreError(TutorError):
    """The store file cannot be used: not a tutor store, corrupt, locked or unreadable."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {reason}")


class ConfigError(TutorError):
    """A setting is missing or unusable (API key, prompt file, home folder)."""


class APIError(TutorError):
    """The model endpoint refused or failed a request; the message is one plain sentence."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        self.status = status
        self.retryable = retryable
        super().__init__(full_stop(message))


def full_stop(sentence: str) -> str:
    """`sentence` ending in a full stop: a server's own text often has none, and the CLI and the
    chat append their advice after it as a sentence of its own."""
    sentence = sentence.rstrip()
    return sentence if sentence.endswith((".", "!", "?", "…")) else sentence + "."


class QuestionTooLongError(TutorError):
    """The tutor's own estimate says the question cannot fit the model's context window."""

    def __init__(self, question_tokens: int, window: int) -> None:
        self.question_tokens = question_tokens
        self.window = window
        super().__init__(
            f"This question is about {question_tokens:,} tokens, more than the model's context window of "
            f"{window:,} tokens holds with the system prompt and room for an answer, so it was not sent "
            "(it is kept in the session); shorten it or ask it in parts."
        )


class StreamDroppedError(APIError):
    """The connection dropped after part of the answer had arrived."""
