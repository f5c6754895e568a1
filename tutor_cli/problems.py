"""Problems: set files, who may change which set, and the rules of working a problem (statuses, when
the solution opens, who is stuck, progress per problem and per skill). No terminal code here.

A set file is UTF-8 TOML (`tomllib`), as CONTRACT.md's "Problems" shows; it is read and checked whole
before anything is stored, so a bad file is one sentence naming the problem or the line and nothing of
it is imported. Statuses: `new` (not started), `working`, `solved` (a right answer), `revealed` (the
solution opened before a right answer; a later right answer does not make it solved).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor_cli import checking
from tutor_cli.errors import ConfigError, TutorError
from tutor_cli.store.records import ProblemRecord, ProgressRow, SetRecord, Status

if TYPE_CHECKING:
    from tutor_cli.store import Store

DEFAULT_SOLUTION_AFTER = 2  # wrong attempts before /solution opens
STUCK_WRONG, STUCK_HINTS = 3, 2  # stuck: not solved and this many wrong attempts, or this many hints
MAX_SET_NAME = 100
MAX_FIELD = 20_000  # characters of a statement, hint or solution
_TOP_KEYS = {"title", "solution_after", "problem"}
_PROBLEM_KEYS = {"id", "statement", "answer", "kind", "skills", "hints", "solution", "tolerance"}


class ProblemFileError(TutorError):
    """A problem set file that cannot be imported (nothing of it was)."""


class ProblemNotFoundError(TutorError, LookupError):
    """No set, or no problem, of that name."""


class SolutionShutError(TutorError):
    """The solution does not open yet; the message says how many attempts are left."""


# --- set files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemSpec:
    key: str
    statement: str
    answer: str
    kind: str = "math"
    skills: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    solution: str | None = None
    tolerance: float | None = None

    def as_row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "statement": self.statement,
            "answer": self.answer,
            "kind": self.kind,
            "skills": self.skills,
            "hints": self.hints,
            "solution": self.solution,
            "tolerance": self.tolerance,
        }


@dataclass(frozen=True)
class ProblemFile:
    title: str | None
    solution_after: int | None  # None: "never"
    problems: tuple[ProblemSpec, ...]


def read_problem_file(path: Path) -> ProblemFile:
    """Every problem of a TOML set file, checked, or ProblemFileError naming the problem or line."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ProblemFileError(f"{path} is a folder, not a problem set file.") from None
    except OSError as error:
        raise ProblemFileError(f"Cannot read {path} ({error.strerror}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ProblemFileError(
            f"{path}, line {line}: not UTF-8 text; save it as UTF-8; nothing was imported."
        ) from None
    return parse_problem_file(text, path)


def parse_problem_file(text: str, path: Path) -> ProblemFile:
    """The set a file's text describes (see `read_problem_file`)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column \d+\)", str(error))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error)) or "not valid TOML"
        where = f", line {found.group(1)}" if found else ""
        raise ProblemFileError(f"{path}{where}: {reason[0].lower() + reason[1:]}; nothing was imported.") from None

    def fail(reason: str) -> ProblemFileError:
        return ProblemFileError(f"{path}: {reason}; nothing was imported.")

    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (a set has title, solution_after and [[problem]] tables)")
    title = document.get("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise fail("title must be a non-empty string")
    solution_after = _solution_after(document.get("solution_after", DEFAULT_SOLUTION_AFTER), fail)
    tables = document.get("problem")
    if not isinstance(tables, list) or not tables:
        raise fail("no problems: each problem is a [[problem]] table with id, statement and answer")
    headers = [n + 1 for n, line in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*problem\s*\]\]", line)]
    problems: list[ProblemSpec] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        line = headers[index] if index < len(headers) else None
        label = f"the problem at line {line}" if line else f"problem number {index + 1}"
        if isinstance(table, dict) and isinstance(table.get("id"), str) and table["id"].strip():
            label = f"problem {table['id']!r}" + (f" (line {line})" if line else "")
        spec = _problem(table, lambda reason, label=label: fail(f"{label}: {reason}"))
        if spec.key in seen:
            raise fail(f"{label}: the id {spec.key!r} is used twice (problem number {seen[spec.key] + 1} has it too)")
        seen[spec.key] = index
        problems.append(spec)
    return ProblemFile(title.strip() if isinstance(title, str) else None, solution_after, tuple(problems))


def _solution_after(value: Any, fail: Any) -> int | None:
    if value == "never":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(f'solution_after must be a whole number of attempts (0 or more) or "never", not {value!r}')
    return value


def _problem(table: Any, fail: Any) -> ProblemSpec:
    if not isinstance(table, dict):
        raise fail("a problem must be a [[problem]] table")
    unknown = sorted(set(table) - _PROBLEM_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (a problem has {', '.join(sorted(_PROBLEM_KEYS))})")
    for name in ("id", "statement", "answer"):
        if name not in table:
            raise fail(f"no {name}")
        value = table[name]
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
            raise fail(f"{name} must be a non-empty string")
    key, statement, answer = (str(table[name]).strip() for name in ("id", "statement", "answer"))
    if len(key) > MAX_SET_NAME or any(ord(ch) < 32 for ch in key):
        raise fail(f"the id must be 1 to {MAX_SET_NAME} printable characters")
    kind = table.get("kind", "math")
    if kind not in checking.KINDS:
        raise fail(f"unknown kind {kind!r} (math, choice or text)")
    skills = _strings(table.get("skills", []), "skills", fail)
    hints = _strings(table.get("hints", []), "hints", fail)
    solution = table.get("solution")
    if solution is not None and (not isinstance(solution, str) or not solution.strip()):
        raise fail("solution must be a non-empty string")
    tolerance = table.get("tolerance")
    number = isinstance(tolerance, int | float) and not isinstance(tolerance, bool)
    if tolerance is not None and (not number or tolerance < 0):
        raise fail(f"tolerance must be a number of 0 or more (relative: 0.01 is 1%), not {tolerance!r}")
    if tolerance is not None and kind != "math":
        raise fail("tolerance applies to math answers only")
    for name, value in (("statement", statement), ("solution", solution or ""), *(("hint", h) for h in hints)):
        if len(value) > MAX_FIELD:
            raise fail(f"the {name} is longer than {MAX_FIELD:,} characters")
    why = checking.readable_key(kind, answer)
    if why:
        raise fail(why)
    return ProblemSpec(
        key,
        statement,
        answer,
        kind,
        skills,
        hints,
        solution.strip() if solution else None,
        None if tolerance is None else float(tolerance),
    )


def _strings(value: Any, name: str, fail: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise fail(f"{name} must be a list of non-empty strings")
    return tuple(item.strip() for item in value)


def check_set_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_SET_NAME or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
        raise ConfigError(
            f"A set name must be 1 to {MAX_SET_NAME} printable characters, not {name!r}; choose another with --set."
        )
    return name


def import_set(store: Store, owner: str, name: str, file: ProblemFile, now: float) -> tuple[int, int, int]:
    """Store the set in one transaction: (added, updated by id, kept although the file lacks them)."""
    rows = [problem.as_row() for problem in file.problems]
    return store.import_problem_set(owner, name, file.title, file.solution_after, rows, now)


def find_problem(store: Store, student_id: str, set_name: str, key: str | None) -> tuple[SetRecord, ProblemRecord]:
    """The set and the problem (by its id; the first unsolved one when `key` is None)."""
    record = store.problem_set(student_id, set_name)
    if record is None:
        raise ProblemNotFoundError(f"There is no problem set {set_name!r}; `tutor problems list` shows the sets.")
    problems = store.problems_of(record.id)
    if key is None:
        statuses = store.statuses(student_id, record.id)
        open_ones = [p for p in problems if statuses.get(p.id, Status()).status not in ("solved", "revealed")]
        if not open_ones and not problems:
            raise ProblemNotFoundError(f"The set {set_name!r} has no problems.")
        return record, (open_ones or problems)[0]
    for problem in problems:
        if problem.key == key:
            return record, problem
    raise ProblemNotFoundError(
        f"The set {set_name!r} has no problem {key!r}; its problems are {', '.join(p.key for p in problems)}."
    )


# --- the rules of working a problem -------------------------------------------------------------


def after_attempt(old: Status, right: bool, now: float) -> Status:
    """The status after an attempt: a right answer solves a problem (unless its solution was opened
    first); the first attempt right with no hint seen is a first-try solve."""
    new = replace(old, attempts=old.attempts + 1, wrong=old.wrong + (not right))
    if old.status in ("solved", "revealed"):
        return new
    if right:
        first = old.attempts == 0 and old.hints == 0
        return replace(new, status="solved", solved_at=now, first_try=first)
    return replace(new, status="working")


def after_hint(old: Status) -> Status:
    status = "working" if old.status == "new" else old.status
    return replace(old, hints=old.hints + 1, status=status)


def after_solution(old: Status, now: float) -> Status:
    status = "revealed" if old.status in ("new", "working") else old.status
    opened = old.solution_opened_at if old.solution_opened_at is not None else now
    return replace(old, status=status, solution_opened_at=opened)


def attempts_left(status: Status, solution_after: int | None) -> int | None:
    """Wrong attempts still needed before the solution opens (0: open); None: it never opens unsolved."""
    if status.status in ("solved", "revealed"):
        return 0
    if solution_after is None:
        return None
    return max(solution_after - status.wrong, 0)


def solution_sentence(status: Status, solution_after: int | None) -> str | None:
    """None when the solution may be shown; else the one sentence that says why not."""
    left = attempts_left(status, solution_after)
    if left == 0:
        return None
    if left is None:
        return "This set keeps its solutions shut until a problem is solved; try /hint, or /answer when you have one."
    return (
        f"The solution opens after {left} more wrong attempt{'s' if left != 1 else ''} (or once you solve it);"
        " try /hint, or /answer when you have one."
    )


def is_stuck(status: Status) -> bool:
    return status.status not in ("solved", "revealed") and (status.wrong >= STUCK_WRONG or status.hints >= STUCK_HINTS)


def is_guarded(status: Status) -> bool:
    """While a problem is unsolved and its solution shut, replies are checked for its answer."""
    return status.status in ("new", "working")


@dataclass(frozen=True)
class AnswerResult:
    right: bool
    status: Status


def answer(
    store: Store,
    checker: checking.Checker,
    student_id: str,
    problem: ProblemRecord,
    text: str,
    *,
    session_id: str | None,
    now: float,
) -> AnswerResult:
    """Check an attempt and store it with the status it leads to."""
    right = checker.check(problem.kind, problem.answer, text, tolerance=problem.tolerance, statement=problem.statement)
    status = store.record_work(
        student_id,
        problem,
        lambda old: after_attempt(old, right, now),
        attempt=(text, right),
        session_id=session_id,
        now=now,
    )
    return AnswerResult(right, status)


def next_file_hint(problem: ProblemRecord, status: Status) -> str | None:
    """The file's next hint for this student (None once the file's hints are used up)."""
    return problem.hints[status.hints] if status.hints < len(problem.hints) else None


def record_hint(
    store: Store, student_id: str, problem: ProblemRecord, text: str, source: str, *, session_id: str | None, now: float
) -> Status:
    def advance(old: Status) -> Status:
        return after_hint(old)

    level = len(store.hints_of(student_id, problem.id)) + 1
    return store.record_work(student_id, problem, advance, hint=(level, text, source), session_id=session_id, now=now)


def open_solution(
    store: Store, student_id: str, record: SetRecord, problem: ProblemRecord, *, session_id: str | None, now: float
) -> Status:
    """Record the solution as opened, or raise SolutionShutError with the sentence that says why not."""
    current = store.statuses(student_id, record.id).get(problem.id, Status())
    sentence = solution_sentence(current, record.solution_after)
    if sentence is not None:
        raise SolutionShutError(sentence)
    return store.record_work(student_id, problem, lambda old: after_solution(old, now), session_id=session_id, now=now)


# --- progress -----------------------------------------------------------------------------------


def tried(status: Status) -> bool:
    return status.attempts > 0 or status.status in ("solved", "revealed")


@dataclass(frozen=True)
class SkillTotal:
    skill: str
    tried: int
    solved: int
    first_try: int


def skill_totals(rows: Sequence[ProgressRow]) -> list[SkillTotal]:
    """Per skill: problems tried, solved, and solved at the first try without a hint."""
    totals: dict[str, Counter[str]] = {}
    for row in rows:
        for skill in row.skills:
            count = totals.setdefault(skill, Counter())
            count["tried"] += tried(row.status)
            count["solved"] += row.status.status == "solved"
            count["first_try"] += row.status.first_try
    return [SkillTotal(skill, c["tried"], c["solved"], c["first_try"]) for skill, c in sorted(totals.items())]


def class_progress(store: Store, set_name: str | None) -> list[tuple[ProgressRow, bool]]:
    """`tutor class problems`: every student's row per problem, with whether they are stuck. Reads
    stored verdicts only: a teacher's process never reads a student's text as mathematics."""
    return [(row, is_stuck(row.status)) for row in store.problem_progress(None, set_name)]


def set_summaries(store: Store, student_id: str | None) -> list[tuple[SetRecord, int]]:
    """Each set the student sees (a teacher without a student: the class's) and how many of its
    problems the student solved."""
    solved: Counter[tuple[str, bool]] = Counter()
    if student_id is not None:
        for row in store.problem_progress(student_id):
            solved[(row.set_name, row.is_class)] += row.status.status == "solved"
    return [(record, solved[(record.name, record.is_class)]) for record in store.problem_sets(student_id)]


def first_open_set(store: Store, student_id: str) -> str | None:
    """The first set (by name) with a problem the student has neither solved nor opened the solution of."""
    for row in store.problem_progress(student_id):
        if row.status.status in ("new", "working"):
            return row.set_name
    return None


def next_open(
    problems: Sequence[ProblemRecord], statuses: dict[int, Status], after: ProblemRecord
) -> ProblemRecord | None:
    """The next problem after `after` (going round the set) still new or being worked on."""
    index = next((n for n, p in enumerate(problems) if p.id == after.id), -1)
    for problem in [*problems[index + 1 :], *problems[: max(index, 0)]]:
        if statuses.get(problem.id, Status()).status in ("new", "working"):
            return problem
    return None
