"""The records the store returns: plain frozen dataclasses, with no backend behind them.

Views and domain rules import these from here, so printing a transcript never loads a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SessionRecord:
    """One session's metadata, without its messages."""

    student_id: str
    session_id: str
    system_prompt: str
    created_at: float
    updated_at: float
    message_count: int
    model: str | None = None
    window_start: int = 0  # id of the first message the next request may include
    summary: str | None = None  # summary of the turns before the window
    summary_through: int = 0  # id of the last message the summary covers
    token_scale: float | None = None  # server tokens per estimated token, learned from usage
    profile_snapshot: str | None = None  # the student's profile as it stood when the session began
    title: str | None = None  # the first question's opening words, or what the student set


@dataclass(frozen=True)
class MessageRecord:
    """One stored message with everything the chat recorded about it."""

    id: int
    role: str
    content: str
    created_at: float
    model: str | None = None
    reasoning: str | None = None
    interrupted: bool = False
    usage: dict[str, int] = field(default_factory=dict)
    withheld: bool = False  # a reply the answer guard stopped (tutor work): kept for the teacher, never shown
    usage_estimated: bool = False  # the server sent no usage: the tokens are the tutor's estimate


@dataclass(frozen=True)
class FoundMessage:
    """A message found by search or by the watch list."""

    id: int
    student_id: str
    session_id: str
    created_at: float
    role: str
    content: str


@dataclass(frozen=True)
class WatchPhrase:
    phrase: str
    added_by: str | None
    added_at: float


@dataclass(frozen=True)
class DeckRecord:
    id: int
    name: str
    is_class: bool
    cards: int
    created_at: float


@dataclass(frozen=True)
class CardState:
    """One student's FSRS state of one card (times in unix seconds)."""

    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: float
    last_review: float | None


@dataclass(frozen=True)
class CardRecord:
    """A card as one student reviews it: its text, its deck, and their state (None: new)."""

    id: int
    deck_id: int
    deck: str
    is_class: bool
    question: str
    answer: str
    topic: str | None
    state: CardState | None


@dataclass(frozen=True)
class DeckProgress:
    """The figures of one deck for one student."""

    deck: str
    is_class: bool
    cards: int
    new: int
    due: int
    reviews_7d: int
    retrievability: float | None  # average over the cards already reviewed; None when none is
    activity: tuple[int, ...]  # reviews per UTC day, oldest first, the last entry today


@dataclass(frozen=True)
class ProfileRecord:
    """A student's profile: the notes (empty when erased), when they last changed, their revision."""

    student_id: str
    text: str
    updated_at: float | None
    revision: int


# --- problems (store/problems.py) ---

CLASS_SET = ""  # the student_id of a class problem set and of its problems


@dataclass(frozen=True)
class SetRecord:
    id: int
    owner: str
    name: str
    title: str | None
    solution_after: int | None  # None: the solution never opens before the problem is solved
    problems: int
    created_at: float

    @property
    def is_class(self) -> bool:
        return self.owner == CLASS_SET


@dataclass(frozen=True)
class ProblemRecord:
    id: int
    set_id: int
    owner: str
    key: str  # the id in the file ("p1")
    position: int
    statement: str
    answer: str
    kind: str
    skills: tuple[str, ...]
    hints: tuple[str, ...]
    solution: str | None
    tolerance: float | None


@dataclass(frozen=True)
class Status:
    """One student's standing on one problem."""

    status: str = "new"
    attempts: int = 0
    wrong: int = 0
    hints: int = 0
    first_try: bool = False  # solved at the first attempt with no hint
    solved_at: float | None = None
    solution_opened_at: float | None = None
    session_id: str | None = None  # the session the student last worked on it in
    updated_at: float | None = None


@dataclass(frozen=True)
class ProgressRow:
    student_id: str
    set_name: str
    is_class: bool
    problem: str
    skills: tuple[str, ...]
    status: Status
