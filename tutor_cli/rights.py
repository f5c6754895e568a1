"""Data rights and limits: export, erasure and retention of a student's data, and daily limits.

The rules only: who may do what, the export document's shape, how a purge is cut into short
transactions, when a student is over a limit. The SQL is in store/rights.py; the commands in cli.py.

Export document (format "tutor-export", version 1), one JSON object:

    {"format": "tutor-export", "version": 1, "student_id": "ada",
     "exported_at": "2026-11-25T09:00:00Z",
     "tables": {"sessions": [{...every column...}, ...], "messages": [...], "usage_days": [...], ...}}

`tables` holds every table with a `student_id` column, each a list of that student's rows as objects
(column name → value; times are unix seconds, UTC; binary values base64), parents before the tables
that reference them, rows by id. It is written row by row as it is read, in bounded memory.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tutor_cli import config
from tutor_cli.access import require_administrator
from tutor_cli.errors import TutorError
from tutor_cli.store.rights import CLASS_ROW, UNCHANGED, Limits
from tutor_cli.words import iso_time, plural, until

if TYPE_CHECKING:
    from tutor_cli.store import Store

EXPORT_FORMAT = "tutor-export"
EXPORT_VERSION = 1
DAY = 86_400
# A purge transaction aims at this long, so other writers never wait more than a moment.
PURGE_TARGET_SECONDS = 0.2
PURGE_FIRST_BATCH, PURGE_MAX_BATCH = 50, 20_000


class NoSuchStudentError(TutorError, LookupError):
    """Nothing stored and no account for that student."""


class DailyLimitError(TutorError):
    """The student has used up a daily limit; nothing was sent."""


# --- export -------------------------------------------------------------------------------


def check_export(store: Store, student_id: str, *, named: bool) -> None:
    """Refuse, in one sentence, an export of a student named with --student of whom the store holds
    nothing: most likely a typo, which would otherwise give an empty document. A student exporting
    themselves (`named` False, or their own login in a class database) always gets their document."""
    identity = store.identity
    if not named or (identity is not None and identity.kind != "admin"):
        return
    if not any(store.rows_of_student(student_id).values()):
        raise NoSuchStudentError(
            f"No student {student_id!r} in {store.path}: nothing is stored about them "
            "(`tutor class overview` lists the students)."
        )


def export_document(store: Store, student_id: str, exported_at: float | None = None) -> Iterator[str]:
    """The export document of one student, in pieces as the rows are read (see the module's doc)."""
    moment = config.now() if exported_at is None else exported_at
    head = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "student_id": student_id,
        "exported_at": iso_time(moment),
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ',\n "tables": {'
    current, first_row, first_table = None, True, True
    for table, columns, row in store.iter_student_rows(student_id):
        if table != current:
            if current is not None:
                yield "\n  ]" if not first_row else "]"
            yield ("\n" if first_table else ",\n") + f"  {json.dumps(table)}: ["
            current, first_row, first_table = table, True, False
        if row is not None:
            record = json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=_json_value)
            yield ("\n   " if first_row else ",\n   ") + record
            first_row = False
    if current is not None:
        yield "\n  ]" if not first_row else "]"
    yield "\n }\n}\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- delete a student ---------------------------------------------------------------------

_NOT_A_STUDENT = {
    "administrator": "an administrator",
    "group": "one of the class's group roles",
    "teacher": "a teacher",
    "other": "not an account of this class",
}


def check_student(store: Store, student_id: str) -> dict[str, int]:
    """The student's rows by table, after refusing (one sentence) anyone who is not a student of
    the class, or a student of whom nothing is stored and who has no account."""
    role = store.student_role(student_id) if store.has_accounts else None
    if role in _NOT_A_STUDENT:
        raise NoSuchStudentError(
            f"{student_id!r} is {_NOT_A_STUDENT[role]}, not a student; delete-student removes students only."
        )
    counts = store.rows_of_student(student_id)
    if role is None and not any(counts.values()):
        raise NoSuchStudentError(f"No student {student_id!r} in {store.path}: nothing is stored about them.")
    return counts


def delete_student(store: Store, student_id: str) -> dict[str, int]:
    """Remove every row of the student in every table in one transaction, and their database
    role; return what was removed by table."""
    check_student(store, student_id)
    drop_role = store.has_accounts and store.student_role(student_id) == "student"
    return store.delete_student(student_id, drop_role=drop_role)


# --- purge --------------------------------------------------------------------------------


def purge_cutoff(days: float) -> float:
    """Sessions last used before this moment are old enough to purge."""
    return config.now() - days * DAY


def purge(store: Store, days: float, *, progress: Callable[[dict[str, int]], None] | None = None) -> dict[str, int]:
    """Remove the sessions last used more than `days` ago, with everything hanging off them, in
    short transactions (batches sized to take about PURGE_TARGET_SECONDS each); return the totals."""
    cutoff = purge_cutoff(days)
    totals: dict[str, int] = {}
    batch = PURGE_FIRST_BATCH
    while True:
        started = time.perf_counter()
        removed = store.purge_sessions(cutoff, batch)
        took = time.perf_counter() - started
        if not removed:
            return totals
        for table, count in removed.items():
            totals[table] = totals.get(table, 0) + count
        if progress is not None:
            progress(totals)
        if took < PURGE_TARGET_SECONDS / 2:
            batch = min(batch * 2, PURGE_MAX_BATCH)
        elif took > PURGE_TARGET_SECONDS:
            batch = max(1, int(batch * PURGE_TARGET_SECONDS / took))


# --- daily limits -------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyUsage:
    """A student's limits in force and their use today (UTC)."""

    student_id: str
    day: str  # YYYY-MM-DD, UTC
    resets_at: float  # the next 00:00 UTC
    questions: int  # answers received today
    tokens: int  # prompt + completion tokens of today's answers
    own: Limits | None  # the student's own limits
    class_default: Limits | None  # the class-wide default

    @property
    def limits(self) -> Limits:
        """In force: the student's own limit where set, else the class's."""
        own, shared = self.own or Limits(), self.class_default or Limits()
        return Limits(
            own.daily_tokens if own.daily_tokens is not None else shared.daily_tokens,
            own.daily_questions if own.daily_questions is not None else shared.daily_questions,
        )

    def over(self) -> str | None:
        """The sentence for a limit reached, or None."""
        limits = self.limits
        reached = None
        if limits.daily_questions is not None and self.questions >= limits.daily_questions:
            reached = f"{plural(limits.daily_questions, 'question')} a day ({self.questions:,} answered today)"
        elif limits.daily_tokens is not None and self.tokens >= limits.daily_tokens:
            reached = f"{limits.daily_tokens:,} tokens a day ({self.tokens:,} used today)"
        if reached is None:
            return None
        return (
            f"Daily limit reached: {reached}; it resets at 00:00 UTC, {until(self.resets_at)}. "
            "Your question is kept; nothing was sent."
        )

    def as_json(self) -> dict[str, Any]:
        limits = self.limits
        return {
            "student_id": self.student_id,
            "day": self.day,
            "resets_at": iso_time(self.resets_at),
            "questions": self.questions,
            "tokens": self.tokens,
            "daily_questions": limits.daily_questions,
            "daily_tokens": limits.daily_tokens,
        }


def today(moment: float | None = None) -> tuple[str, float]:
    """Today's date (UTC, YYYY-MM-DD) and the moment it ends."""
    moment = config.now() if moment is None else moment
    start = moment - moment % DAY
    return time.strftime("%Y-%m-%d", time.gmtime(start)), start + DAY


def daily_usage(store: Store, student_id: str) -> DailyUsage:
    day, resets_at = today()
    questions, tokens = store.usage_on(student_id, day)
    own, class_default = store.get_limits(student_id)
    return DailyUsage(student_id, day, resets_at, questions, tokens, own, class_default)


def check_daily_limits(store: Store, student_id: str) -> None:
    """Raise DailyLimitError (one sentence) when the student has reached a daily limit."""
    sentence = daily_usage(store, student_id).over()
    if sentence is not None:
        raise DailyLimitError(sentence)


def parse_limit(value: str | None, option: str) -> Any:
    """An option's value: N (a whole number, 0 or more), `none` (no limit), or not given."""
    if value is None:
        return UNCHANGED
    if value.strip().lower() == "none":
        return None
    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        number = -1
    if number < 0:
        raise TutorError(f"{option} takes a whole number (0 or more) or `none`, not {value!r}.")
    return number


def set_limits(store: Store, student_id: str | None, daily_tokens: Any, daily_questions: Any) -> DailyUsage:
    """Set a student's limits (or the class default when `student_id` is None); return what is now
    in force for that student (for the class: for no one in particular)."""
    require_administrator(store, "set limits")
    target = CLASS_ROW if student_id is None else student_id
    if daily_tokens is not UNCHANGED or daily_questions is not UNCHANGED:
        store.set_limits(target, daily_tokens, daily_questions)
    return daily_usage(store, target)
