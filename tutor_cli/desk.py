"""The teacher's desk: class overview, search, the watch list and its flags. Rules only, no UI.

Who may do what: on a personal SQLite store its user may do everything (it is their store). In a
class database the teaching side (teachers and the administrator) sees the class, the watch list
and the flags; a student searches their own messages and nothing else. The database enforces the
same (row-level security, no grants on the watch list); the checks here only give the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tutor_cli.access import require_teaching_side, sees_kept_text
from tutor_cli.config import now, parse_utc_time
from tutor_cli.errors import ConfigError, TutorError
from tutor_cli.pricing import PriceTable, UsageTotals, totals_by_key
from tutor_cli.store.desk import MAX_PHRASE_LENGTH, FoundMessage

if TYPE_CHECKING:
    from tutor_cli.store import Store

SNIPPET_WIDTH = 100  # characters of context around the first match
MARK_OPEN, MARK_CLOSE = "«", "»"  # how a snippet marks the match in text and JSON
DEFAULT_LIMIT = 50


@dataclass
class StudentRow:
    """One student's line of the class overview."""

    student_id: str
    sessions: int = 0
    questions: int = 0
    last_active: float | None = None
    totals: UsageTotals = field(default_factory=UsageTotals)
    cards_reviewed: int = 0
    flags: int = 0

    @property
    def tokens(self) -> int:
        return self.totals.tokens["prompt_tokens"] + self.totals.tokens["completion_tokens"]

    @property
    def cost_usd(self) -> float | None:
        return round(self.totals.cost, 6) if self.totals.priced else None


@dataclass(frozen=True)
class Hit:
    """A found message and its snippet: `snippet` text with the match between the marks."""

    message: FoundMessage
    snippet: str
    matched: tuple[str, ...] = ()


# --- who may ------------------------------------------------------------------------------


# --- input --------------------------------------------------------------------------------


def parse_since(value: str | None) -> float | None:
    """`--since` as unix time: an ISO date (UTC midnight) or date and time."""
    if value is None:
        return None
    return parse_utc_time(value, "--since must be a date such as 2026-11-01 (or 2026-11-01T08:00Z)")


def search_terms(words: Sequence[str]) -> list[str]:
    """Each argument is one term (a quoted argument with spaces is a phrase); a message must hold
    them all."""
    terms = [" ".join(word.split()) for word in words]
    terms = [term for term in terms if term]
    if not terms:
        raise ConfigError("Give at least one word to search for, e.g. `tutor search quadratic`.")
    if any("\x00" in term for term in terms):
        raise ConfigError("Search words cannot hold NUL characters.")
    return list(dict.fromkeys(terms))


def watch_phrase(text: str) -> tuple[str, str]:
    """(phrase as written, its case-folded key), or one sentence on what is wrong."""
    phrase = " ".join(text.split())
    if not phrase:
        raise ConfigError(
            "The watch phrase is empty; give a word or a phrase, e.g. `tutor admin watch add 'hurt myself'`."
        )
    if "\x00" in phrase or len(phrase) > MAX_PHRASE_LENGTH:
        raise ConfigError(f"A watch phrase is at most {MAX_PHRASE_LENGTH} characters of text, without NUL.")
    return phrase, phrase.casefold()


# --- snippets -----------------------------------------------------------------------------


def _finder(terms: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)), re.IGNORECASE)


def snippet(content: str, terms: Sequence[str], width: int = SNIPPET_WIDTH) -> str:
    """The text around the first match, on one line, with every match in view marked «so»."""
    flat = " ".join(content.split())
    finder = _finder(terms)
    first = finder.search(flat)
    if first is None:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, first.start() - width // 3)
    end = min(len(flat), max(first.end(), start + width))
    # Never cut a match in half at the edges.
    for match in finder.finditer(flat, start, end):
        end = max(end, match.end())
    piece = finder.sub(lambda m: MARK_OPEN + m.group() + MARK_CLOSE, flat[start:end])
    return ("…" if start > 0 else "") + piece + ("…" if end < len(flat) else "")


# --- the commands' work ---------------------------------------------------------------------


def search(store: Store, terms: Sequence[str], student_id: str | None, limit: int = DEFAULT_LIMIT) -> list[Hit]:
    """Messages holding every term, newest first (in a class database, only those the
    connection's role may read). A student's search never finds a withheld draft (kept for the teacher)."""
    found = store.search_messages(terms, student_id, limit, withheld=sees_kept_text(store))
    return [Hit(message, snippet(message.content, terms)) for message in found]


def flags(store: Store, limit: int | None = None, student_id: str | None = None) -> list[Hit]:
    """Student messages holding a watched phrase, newest first, with the phrases they hold."""
    require_teaching_side(store, "The flag list")
    phrases = [entry.phrase for entry in store.watch_phrases()]
    hits = []
    for message in store.flagged_messages(phrases, student_id, limit):
        matched = tuple(p for p in phrases if re.search(re.escape(p), message.content, re.IGNORECASE))
        hits.append(Hit(message, snippet(message.content, matched or phrases), matched))
    return hits


def add_watch(store: Store, text: str) -> tuple[str, bool]:
    """Add a phrase to the watch list; (phrase, whether it was new)."""
    require_teaching_side(store, "The watch list")
    phrase, folded = watch_phrase(text)
    who = store.identity.name if store.identity is not None else None
    return phrase, store.add_watch_phrase(phrase, folded, who, now())


def remove_watch(store: Store, text: str) -> str:
    require_teaching_side(store, "The watch list")
    phrase, folded = watch_phrase(text)
    if not store.remove_watch_phrase(folded):
        raise TutorError(f"{phrase!r} is not on the watch list; `tutor admin watch list` shows it.")
    return phrase


def overview(store: Store, prices: PriceTable, since: float | None, student_id: str | None = None) -> list[StudentRow]:
    """One row per student with any activity (since `since`), ordered by student id: one query per
    figure set, each grouped by student."""
    require_teaching_side(store, "The class overview")
    rows: dict[str, StudentRow] = {}

    def row(student: str) -> StudentRow:
        return rows.setdefault(student, StudentRow(student))

    for student, (sessions, last_active) in store.session_figures(since, student_id).items():
        row(student).sessions, row(student).last_active = sessions, last_active
    for student, questions in store.question_counts(since, student_id).items():
        row(student).questions = questions
    for (student,), totals in totals_by_key(store.usage_by_student(since, student_id), prices, 1).items():
        row(student).totals = totals
    phrases = [entry.phrase for entry in store.watch_phrases()]
    for student, count in store.flag_counts(phrases, since, student_id).items():
        row(student).flags = count
    reviewed = store.cards_reviewed(since, student_id)
    for student in set(rows) | set(reviewed):
        row(student).cards_reviewed = reviewed.get(student, 0)
    return [rows[name] for name in sorted(rows)]
