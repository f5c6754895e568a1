"""Practice rules: deck files, who may change which deck, FSRS scheduling, due cards, progress,
and turning a chat exchange into a card. No terminal code here (see screens/review.py for the screen).

Scheduling is the `fsrs` package's Scheduler with its default parameters and learning steps; we
only convert its Card to and from the store's columns. Every "now" comes from `config.now()`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tutor_cli.errors import ConfigError, TutorError
from tutor_cli.store.practice import SECONDS_PER_DAY, CardRecord, CardState, DeckProgress

if TYPE_CHECKING:
    import fsrs

    from tutor_cli.store import Store

CHAT_DECK = "chat"  # where /card keeps the cards made in the chat
MAX_DECK_NAME = 100
RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
COLUMNS = ("question", "answer", "topic")


class DeckFileError(TutorError):
    """A deck file that cannot be imported (nothing of it was)."""


class DeckNotFoundError(TutorError, LookupError):
    """No deck of that name."""


# --- deck files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCard:
    question: str
    answer: str
    topic: str | None = None

    @property
    def digest(self) -> str:
        """What makes two cards the same card: their question and answer (the topic is a label)."""
        return hashlib.sha256(f"{self.question}\x1f{self.answer}".encode()).hexdigest()


def read_deck_file(path: Path) -> list[NewCard]:
    """Every card of a UTF-8 CSV or TSV file with a header naming `question` and `answer` (and
    optionally `topic`), or DeckFileError naming the file and the line: all or nothing."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DeckFileError(f"{path} is a folder, not a deck file.") from None
    except OSError as error:
        raise DeckFileError(f"Cannot read {path} ({error.strerror}).") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (spreadsheets write one) is not part of the header
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DeckFileError(
            f"{path}, line {line}: not UTF-8 text; save the file as UTF-8 and import it again."
        ) from None
    return parse_deck(text, path)


def parse_deck(text: str, path: Path) -> list[NewCard]:
    """The cards of a deck file's text (see `read_deck_file`)."""
    delimiter = deck_delimiter(text, path)
    # newline=None reads every line break (Windows \r\n, old Mac \r) as \n, inside quoted fields too:
    # a deck saved with Windows line endings gives the same cards, so importing it again adds none.
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter, strict=True)
    kind = {",": "CSV", ";": "CSV with semicolons", "\t": "TSV"}[delimiter]

    def fail(line: int, reason: str) -> DeckFileError:
        return DeckFileError(f"{path}, line {line}: {reason}; nothing was imported.")

    try:
        header = next(reader, None)
    except csv.Error as error:
        raise fail(1, f"the header cannot be read as {kind} ({error})") from None
    if header is None or not any(cell.strip() for cell in header):
        raise DeckFileError(f"{path} is empty: a deck file starts with a header such as question,answer,topic.")
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in ("question", "answer") if name not in names]
    if missing:
        split = f"read as {kind}" if len(names) > 1 else "no comma, semicolon or tab splits it"
        raise fail(
            1,
            f"the header must name the columns question and answer ({' and '.join(missing)} missing; {split}), "
            "separated by commas, semicolons or tabs",
        )
    for name in names:
        if name not in COLUMNS:
            raise fail(1, f"unknown column {name!r} in the header (the columns are question, answer and topic)")
        if names.count(name) > 1:
            raise fail(1, f"the column {name!r} appears twice in the header")
    cards: list[NewCard] = []
    line = reader.line_num + 1  # where the next record starts (a quoted field may span lines)
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise fail(line, f"this row cannot be read as {kind} ({error})") from None
        if row is None:
            break
        if any(cell.strip() for cell in row):
            if len(row) > len(names):
                raise fail(line, f"{len(row)} fields, but the header names {len(names)} columns")
            values = dict(zip(names, (cell.strip() for cell in row), strict=False))
            for required in ("question", "answer"):
                if not values.get(required):
                    raise fail(line, f"the {required} is empty")
            cards.append(NewCard(values["question"], values["answer"], values.get("topic") or None))
        line = reader.line_num + 1
    if not cards:
        raise DeckFileError(f"{path} has a header but no cards; nothing was imported.")
    return cards


DELIMITERS = ",;\t"
SNIFF_CHARS = 64_000  # of the file's start: enough lines for the sniffer to see which separator is steady


def deck_delimiter(text: str, path: Path) -> str:
    """The file's separator: a comma, a semicolon (spreadsheets where the comma is the decimal
    mark write those) or a tab, as csv.Sniffer finds it steady across the first lines; when it
    cannot tell, a tab for .tsv/.tab files and for a header holding one, else a comma."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = text.split("\n", 1)[0]
        suffix = path.suffix.lower()
        return "\t" if suffix in (".tsv", ".tab") or (suffix != ".csv" and "\t" in first_line) else ","


def check_deck_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_DECK_NAME or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
        raise ConfigError(
            f"A deck name must be 1 to {MAX_DECK_NAME} printable characters, not {name!r}; choose another with --deck."
        )
    return name


# --- who may change a deck ----------------------------------------------------------------


def import_deck(store: Store, owner: str, deck: str, cards: list[NewCard], now: float) -> tuple[int, int]:
    """Add the cards to the deck in one transaction: (added, already in the deck)."""
    unique: dict[str, NewCard] = {}
    for card in cards:
        unique.setdefault(card.digest, card)
    added, present = store.import_cards(
        owner, deck, [(c.question, c.answer, c.topic, c.digest) for c in unique.values()], now
    )
    return added, present + len(cards) - len(unique)


# --- scheduling (FSRS) --------------------------------------------------------------------


def scheduler(*, fixed_clock: bool) -> fsrs.Scheduler:
    """FSRS with its default parameters and learning steps.

    Fuzz (a random spread of intervals of 2.5 days and more, so cards learnt together do not all
    come back on one day) stays on, except when the clock is fixed (TUTOR_NOW): that setting exists
    for repeatable scripts and tests, and repeatable means the same history gives the same dates."""
    import fsrs

    return fsrs.Scheduler(enable_fuzzing=not fixed_clock)


def to_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def to_fsrs(card: CardRecord, now: float) -> fsrs.Card:
    """The package's Card for a stored state (a new card when the student has none)."""
    import fsrs

    s = card.state
    if s is None:
        return fsrs.Card(card_id=card.id, due=to_datetime(now))
    return fsrs.Card(
        card_id=card.id,
        state=fsrs.State(s.state),
        step=s.step,
        stability=s.stability,
        difficulty=s.difficulty,
        due=to_datetime(s.due),
        last_review=None if s.last_review is None else to_datetime(s.last_review),
    )


def from_fsrs(card: fsrs.Card) -> CardState:
    return CardState(
        state=int(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due.timestamp(),
        last_review=None if card.last_review is None else card.last_review.timestamp(),
    )


def rate(
    store: Store,
    scheduler: fsrs.Scheduler,
    student_id: str,
    card: CardRecord,
    rating: int,
    now: float,
    *,
    answer: str | None = None,
    feedback: str | None = None,
) -> CardState:
    """Schedule the card by FSRS for this rating and store the new state with the rating, at once."""
    import fsrs

    if rating not in RATINGS:
        raise ValueError(f"a rating is 1 to 4, not {rating!r}")
    updated, _ = scheduler.review_card(to_fsrs(card, now), fsrs.Rating(rating), to_datetime(now))
    state = from_fsrs(updated)
    store.record_review(student_id, card, state, rating, now, answer, feedback)
    return state


def check_deck(store: Store, student_id: str, deck: str | None) -> None:
    if deck is not None and not store.deck_exists(student_id, deck):
        raise DeckNotFoundError(f"There is no deck {deck!r}; `tutor deck list` shows your decks.")


def describe_wait(seconds: float) -> str:
    """'in 10 minutes', 'in 3 hours', 'in 4 days', 'now'."""
    if seconds < 30:
        return "now"
    for size, unit in ((SECONDS_PER_DAY, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size or unit == "minute":
            count = max(1, round(seconds / size))
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    raise AssertionError("unreachable")


def describe_due(due: float, now: float) -> str:
    """When a card is due, for people: 'in 10 minutes (09:10 UTC)', 'in 4 days (2026-11-29)'."""
    moment = to_datetime(due)
    when = moment.strftime("%H:%M UTC") if due - now < SECONDS_PER_DAY else moment.strftime("%Y-%m-%d")
    return f"{describe_wait(due - now)} ({when})"


# --- progress -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ForgettingCurve:
    """The scheduler's recall probability after `elapsed` time at stability S (days):
    R = (1 + factor · days elapsed / S) ^ decay, with decay = -w20 and factor chosen so that
    R = 0.9 when elapsed = S: the fsrs package's curve and constants (a test holds the two equal).
    Unlike `fsrs.Scheduler.get_card_retrievability`, which counts whole days (and so says 100% for
    a whole day after any review), the elapsed time is exact, as FSRS's reference implementation
    (fsrs-rs, Anki) counts it: learning cards, whose stability is hours, fall within the day.
    Needed as a formula so that the database can average it."""

    factor: float
    decay: float

    @classmethod
    def of(cls, scheduler: fsrs.Scheduler) -> ForgettingCurve:
        decay = -scheduler.parameters[20]
        return cls(factor=0.9 ** (1 / decay) - 1, decay=decay)

    def __call__(self, elapsed_seconds: float, stability: float) -> float:
        days = max(0.0, elapsed_seconds / SECONDS_PER_DAY)
        return (1 + self.factor * days / stability) ** self.decay


def recall_percent(retrievability: float) -> str:
    """A recall probability as a whole percentage that never rounds a chance below certain up to
    100%: a card just failed reads 99%, not 100%."""
    percent = round(retrievability * 100)
    return f"{min(percent, 99) if retrievability < 1 else percent}%"


def progress(store: Store, scheduler: fsrs.Scheduler, student_id: str, now: float) -> list[DeckProgress]:
    return store.deck_progress(student_id, now, ForgettingCurve.of(scheduler))


def activity_dates(now: float, days: int = 14) -> list[str]:
    """The UTC dates of the activity counts, oldest first."""
    today = int(now // SECONDS_PER_DAY)
    return [to_datetime((today - days + 1 + n) * SECONDS_PER_DAY).strftime("%Y-%m-%d") for n in range(days)]


# --- feedback and cards from the chat -----------------------------------------------------

FEEDBACK_PROMPT = (
    "You are a tutor checking a flashcard answer. Compare the student's answer with the card's "
    "answer in two or three short sentences: say whether it is right, and what is missing or wrong. "
    "Be kind and brief. Do not repeat the full card answer."
)

CARD_PROMPT = (
    "Turn the exchange below, between a student and a tutor, into one flashcard that tests the key "
    "idea the student learned. The question must stand on its own; the answer must be short. Reply "
    'with only a JSON object: {"question": "...", "answer": "..."}'
)


def feedback_messages(card: CardRecord, typed: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": FEEDBACK_PROMPT},
        {
            "role": "user",
            "content": f"Question:\n{card.question}\n\nCard's answer:\n{card.answer}\n\nStudent's answer:\n{typed}",
        },
    ]


def card_messages(question: str, answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": CARD_PROMPT},
        {"role": "user", "content": f"Student:\n{question}\n\nTutor:\n{answer}"},
    ]


_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def parse_card(reply: str) -> NewCard | None:
    """The card in a model's reply: a JSON object with non-empty `question` and `answer`, alone,
    in a code fence, or amid other text. None when there is no such object."""
    candidates = [match.group(1) for match in _FENCED.finditer(reply)] + [reply]
    for text in candidates:
        start = text.find("{")
        while start >= 0:
            try:
                document, _ = json.JSONDecoder().raw_decode(text, start)
            except ValueError:
                start = text.find("{", start + 1)
                continue
            card = _card_from(document)
            if card is not None:
                return card
            start = text.find("{", start + 1)
    return None


def _card_from(document: object) -> NewCard | None:
    if not isinstance(document, Mapping):
        return None
    question, answer = document.get("question"), document.get("answer")
    if not isinstance(question, str) or not isinstance(answer, str) or not question.strip() or not answer.strip():
        return None
    topic = document.get("topic")
    return NewCard(
        question.strip(), answer.strip(), topic.strip() if isinstance(topic, str) and topic.strip() else None
    )


def latest_exchange(store: Store, student_id: str, session_id: str) -> tuple[str, str] | None:
    """The newest answered question of the session and its answer (None: no answer yet)."""
    answer_id = question_id = None
    for message_id, role, _ in store.iter_window_newest_first(student_id, session_id, 0, batch=16):
        if role == "assistant" and answer_id is None:
            answer_id = message_id
        elif role == "user" and answer_id is not None:
            question_id = message_id
            break
    if answer_id is None or question_id is None:
        return None
    turns = store.get_turns(student_id, session_id, after_id=question_id - 1, before_id=answer_id + 1)
    question = "\n\n".join(content for _, role, content, _ in turns if role == "user")
    answer = next(content for _, role, content, _ in reversed(turns) if role == "assistant")
    return question, answer


def keep_card(store: Store, student_id: str, card: NewCard, now: float) -> bool:
    """Keep a card in the student's `chat` deck; False when it is there already."""
    added, _ = import_deck(store, student_id, CHAT_DECK, [card], now)
    return added == 1
