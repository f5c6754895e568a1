"""Working a problem with the tutor (`tutor work`): what every request carries, the answer guard
between the stream and the screen, the hints and solutions the model writes, and what of a work
session a student's own `show` prints and the plain chat may resume. No terminal code.

One session per problem visit: its system prompt is the tutor's own prompt followed by the problem,
its key, its worked solution and the instruction to guide, so the start of every request of the
session is byte-identical (DeepSeek's prefix cache keeps hitting), and the session's transcript is
the record of that visit, which the status row and the teacher's report point to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tutor_cli import access
from tutor_cli import problems as rules
from tutor_cli.client import Answer
from tutor_cli.config import now as clock
from tutor_cli.errors import APIError, TutorError
from tutor_cli.guard import AnswerGuard
from tutor_cli.store.records import Status
from tutor_cli.work_prompt import KEPT_OFF_SCREEN, KEY_LINE, WORK_INSTRUCTIONS, is_work_prompt

if TYPE_CHECKING:
    from tutor_cli.checking import Checker
    from tutor_cli.client import ChatClient
    from tutor_cli.sessions import SessionManager
    from tutor_cli.store import Store
    from tutor_cli.store.records import MessageRecord, ProblemRecord, SessionRecord, SetRecord

HINT_PROMPT = """\
You write one hint for a student working on a problem. The hint moves the student one step closer \
than the hints they already have, a step more concrete each time, and never states the final answer \
or the key, nor a value or expression equal to it. One or two sentences; LaTeX between $ signs for \
mathematics. Reply with the hint only."""

SOLUTION_PROMPT = """\
Write a worked solution of the problem for a student: the steps in order, each short, with LaTeX \
between $ signs for mathematics, ending with the result, which must agree with the teacher's key."""

DRAFT_OFF_SCREEN = (
    "[A reply that started to give the answer away; it is kept for the teacher, and off the screen until"
    " the problem is solved or its solution opened.]"
)
REASONING_OFF_SCREEN = "[The tutor's reasoning reached the answer; kept off the screen until the problem is solved.]"

HINT_ATTEMPTS = 2  # model-written hints that state the answer are asked for again this often


def problem_prompt(base_prompt: str, record: SetRecord, problem: ProblemRecord) -> str:
    """The system prompt of a work session on `problem`: the same text for every request of it."""
    kind = {"math": "a mathematical value", "choice": "one letter", "text": "a short text"}[problem.kind]
    parts = [
        base_prompt.rstrip(),
        "",
        "---",
        WORK_INSTRUCTIONS,
        "",
        _problem_line(record, problem),
        problem.statement,
        "",
        f"{KEY_LINE}{kind}; never say it): {problem.answer}",
    ]
    if problem.solution:
        parts += ["", "The teacher's worked solution (never show it; use it to guide):", problem.solution]
    if problem.hints:
        parts += ["", "The app's own hints, given in order on /hint:", *(f"- {hint}" for hint in problem.hints)]
    return "\n".join(parts) + "\n"


def _problem_line(record: SetRecord, problem: ProblemRecord) -> str:
    return f"Problem set: {record.title or record.name}. Problem {problem.key}:"


def as_the_student_sees_it(
    store: Store, session: SessionRecord, messages: Iterable[MessageRecord]
) -> tuple[SessionRecord, Iterable[MessageRecord]]:
    """A transcript as its reader may see it (`tutor show`). Keys are kept off the screen: a student
    (anyone on a personal store) reading a work session whose problem is unsolved and its solution
    shut sees its system prompt without the key, worked solution and hints, and neither a withheld
    draft's text nor reasoning that reached the answer. Teachers and the administrator see it all."""
    if access.sees_kept_text(store):
        return session, messages
    problems = _problems_of_prompt(store, session)
    if problems is not None and not any(rules.is_guarded(status) for _, _, status in problems):
        return session, messages  # solved or opened: nothing left to keep
    prompt = session.system_prompt
    if is_work_prompt(prompt):
        cut = prompt.find(f"\n\n{KEY_LINE}", prompt.index(WORK_INSTRUCTIONS))
        if cut >= 0:
            prompt = prompt[:cut] + "\n\n" + KEPT_OFF_SCREEN + "\n"
    guards = [problem for _, problem, status in problems or () if rules.is_guarded(status)]
    return replace(session, system_prompt=prompt), _screened(messages, guards)


def _screened(messages: Iterable[MessageRecord], problems: list[ProblemRecord]) -> Iterator[MessageRecord]:
    for message in messages:
        if message.withheld:
            yield replace(message, content=DRAFT_OFF_SCREEN, reasoning=None)
        elif message.reasoning and any(states_answer(problem, message.reasoning) for problem in problems):
            yield replace(message, reasoning=REASONING_OFF_SCREEN)
        else:
            yield message


class OpenProblemError(TutorError):
    """The plain chat or `ask` on a work session whose problem is unsolved and its solution shut."""


def require_no_open_problem(store: Store, session: SessionRecord) -> None:
    """The plain chat and `ask` have no answer guard: they refuse a work session whose problem is
    unsolved and its solution shut (its prompt holds the key), pointing to `tutor work`."""
    found = _problems_of_prompt(store, session)
    if found is None and is_work_prompt(session.system_prompt):  # its set renamed or deleted: keep it shut
        raise OpenProblemError(
            f"Session {session.session_id} is work on a problem whose set has changed; `tutor work` opens"
            " the set's problems again (or start a new chat)."
        )
    for record, problem, status in found or ():
        if rules.is_guarded(status):
            raise OpenProblemError(
                f"Session {session.session_id} is work on problem {problem.key} of set {record.name}, not solved"
                f" yet; continue it with `tutor work {record.name} --problem {problem.key}`, which keeps the"
                " answer unsaid (or start a new chat)."
            )


def _problems_of_prompt(store: Store, session: SessionRecord) -> list[tuple[SetRecord, ProblemRecord, Status]] | None:
    """The problems (with the student's status) a work session's prompt names; None for a session
    that is no work session, or whose problem is gone (its set deleted or the problem renamed)."""
    prompt = session.system_prompt
    if not is_work_prompt(prompt):
        return None
    found = []
    for record in store.problem_sets(session.student_id):
        if f"Problem set: {record.title or record.name}. Problem " not in prompt:
            continue
        statuses = store.statuses(session.student_id, record.id)
        for problem in store.problems_of(record.id):
            if f"{_problem_line(record, problem)}\n" in prompt:
                found.append((record, problem, statuses.get(problem.id, Status())))
    return found or None


def _problem_text(problem: ProblemRecord) -> str:
    text = f"Problem:\n{problem.statement}\n\nTeacher's key: {problem.answer}"
    if problem.solution:
        text += f"\n\nTeacher's worked solution:\n{problem.solution}"
    return text


def hint_messages(problem: ProblemRecord, given: list[str], stricter: bool = False) -> list[dict[str, str]]:
    earlier = "\n".join(f"{n}. {hint}" for n, hint in enumerate(given, 1)) or "(none yet)"
    note = "\n\nYour previous hint gave the answer away; write one that does not." if stricter else ""
    return [
        {"role": "system", "content": HINT_PROMPT},
        {"role": "user", "content": f"{_problem_text(problem)}\n\nHints the student already has:\n{earlier}{note}"},
    ]


def solution_messages(problem: ProblemRecord) -> list[dict[str, str]]:
    return [{"role": "system", "content": SOLUTION_PROMPT}, {"role": "user", "content": _problem_text(problem)}]


def _complete(client: ChatClient, messages: list[dict[str, str]], model: str, thinking: bool | None) -> str:
    answer = Answer()
    for _ in client.stream(messages, model, thinking=thinking, answer=answer):
        pass
    return answer.content.strip()


def model_hint(
    client: ChatClient, model: str, thinking: bool | None, problem: ProblemRecord, given: list[str]
) -> str | None:
    """A hint the model writes, a step more concrete than `given`, checked by the answer guard: None
    when every try stated the answer. APIError when the model cannot be reached."""
    for attempt in range(HINT_ATTEMPTS):
        text = _complete(client, hint_messages(problem, given, stricter=attempt > 0), model, thinking)
        if text and not states_answer(problem, text):
            return text
    return None


def model_solution(client: ChatClient, model: str, thinking: bool | None, problem: ProblemRecord) -> str:
    """A worked solution the model writes, for a problem whose file has none."""
    text = _complete(client, solution_messages(problem), model, thinking)
    if not text:
        raise APIError("The model wrote no solution; try /solution again.")
    return text


def states_answer(problem: ProblemRecord, text: str) -> bool:
    """Whether a whole text states the problem's answer (the guard, fed at once)."""
    guard = new_guard(problem)
    guard.feed(text)
    guard.finish()
    return guard.withheld


def new_guard(problem: ProblemRecord) -> AnswerGuard:
    return AnswerGuard(problem.kind, problem.answer, problem.tolerance)


@dataclass
class GuardedSink:
    """Stands between the stream and a view (any AnswerSink): the answer's text reaches the view
    only through the guard, line by line; the reasoning through a guard of its own (a thinking model
    works the problem out in its reasoning, so that is where the answer appears first). Once the
    answer's guard stops the reply, the view gets nothing more of it."""

    view: Any
    answer_guard: AnswerGuard
    reasoning_guard: AnswerGuard
    shown: list[str] = field(default_factory=list)

    @classmethod
    def around(cls, view: Any, problem: ProblemRecord) -> GuardedSink:
        return cls(view, new_guard(problem), new_guard(problem))

    @property
    def withheld(self) -> bool:
        return self.answer_guard.withheld

    def start(self) -> None:
        self.view.start()

    def content(self, text: str) -> None:
        self._pass(self.answer_guard.feed(text))

    def reasoning(self, text: str) -> None:
        released = self.reasoning_guard.feed(text)
        if released:
            self.view.reasoning(released)

    def finish(self, note: str | None = None) -> None:
        rest = self.reasoning_guard.finish()
        if rest:
            self.view.reasoning(rest)
        self._pass(self.answer_guard.finish())
        self.view.finish(note)

    def _pass(self, text: str) -> None:
        if text:
            self.shown.append(text)
            self.view.content(text)


def withheld_line() -> str:
    """What the student sees instead of a reply that started to give the answer away."""
    return (
        "The tutor started to give the answer away, so that reply is hidden. "
        "Try /hint for the next step, or /answer TEXT to check your own answer."
    )


_SPACE = re.compile(r"\s+")


def short(text: str, size: int = 60) -> str:
    """One line of at most `size` characters (for tables)."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= size else line[: size - 1] + "…"


class Workbench:
    """One student working through one set: the problem open, its status, the session of this visit,
    and what happened since the last question (attempts, hints, the solution opened), which goes to
    the model with that question, so the start of the request never changes."""

    def __init__(
        self, manager: SessionManager, student_id: str, record: SetRecord, base_prompt: str, *, use_profile: bool
    ) -> None:
        self.manager = manager
        self.store = manager.store
        self.student_id = student_id
        self.record = record
        self.base_prompt = base_prompt
        self.use_profile = use_profile
        self.problems = self.store.problems_of(record.id)
        self.problem: ProblemRecord = self.problems[0]
        self.session_id = ""
        self.notes: list[str] = []

    # -- the problem open --

    def open(self, problem: ProblemRecord) -> str:
        """Open `problem` in a new session (its own system prompt); return the session's id."""
        self.problem = problem
        self.notes = []
        prompt = problem_prompt(self.base_prompt, self.record, problem)
        self.session_id = self.manager.new_session(self.student_id, prompt, profile=self.use_profile)
        # The status row names the session, so a teacher's report links to where the work is.
        self.store.record_work(self.student_id, problem, lambda old: old, session_id=self.session_id, now=clock())
        return self.session_id

    def status(self) -> Status:
        return self.statuses().get(self.problem.id, Status())

    def statuses(self) -> dict[int, Status]:
        return self.store.statuses(self.student_id, self.record.id)

    def guarded(self) -> bool:
        return rules.is_guarded(self.status())

    def position(self) -> int:
        return next(n for n, p in enumerate(self.problems, 1) if p.id == self.problem.id)

    def next_problem(self) -> ProblemRecord | None:
        return rules.next_open(self.problems, self.statuses(), self.problem)

    # -- the work --

    def answer(self, checker: Checker, text: str) -> rules.AnswerResult:
        result = rules.answer(
            self.store, checker, self.student_id, self.problem, text, session_id=self.session_id, now=clock()
        )
        verdict = "right: the problem is solved" if result.right else "not yet right"
        self.notes.append(f"I checked the answer {text!r} with /answer: {verdict} (attempt {result.status.attempts}).")
        return result

    def hint(self, client: ChatClient | None, model: str, thinking: bool | None) -> tuple[str, str] | None:
        """The next hint and where it came from ('file' or 'model'); None when the model could write
        none that keeps the answer unsaid. APIError when a model-written hint cannot be had."""
        status = self.status()
        text, source = rules.next_file_hint(self.problem, status), "file"
        if text is None:
            if client is None:
                raise APIError("The set's hints are used up and no model is configured to write more.")
            given = [hint for _, hint, _, _ in self.store.hints_of(self.student_id, self.problem.id)]
            text, source = model_hint(client, model, thinking, self.problem, given), "model"
            if text is None:
                return None
        rules.record_hint(
            self.store, self.student_id, self.problem, text, source, session_id=self.session_id, now=clock()
        )
        self.notes.append(f"I asked for a hint with /hint and was shown: {text}")
        return text, source

    def solution(self, client: ChatClient | None, model: str, thinking: bool | None) -> str:
        """The worked solution, once the rule opens it (SolutionShutError with the sentence before)."""
        sentence = rules.solution_sentence(self.status(), self.record.solution_after)
        if sentence is not None:
            raise rules.SolutionShutError(sentence)
        text = self.problem.solution
        if text is None:
            if client is None:
                raise APIError("This problem has no worked solution and no model is configured to write one.")
            text = model_solution(client, model, thinking, self.problem)
        rules.open_solution(
            self.store, self.student_id, self.record, self.problem, session_id=self.session_id, now=clock()
        )
        self.notes.append("I opened the worked solution with /solution; we may now talk about it freely.")
        return text

    def question(self, text: str) -> str:
        """The question as sent and stored: what happened since the last one, then the question."""
        if not self.notes:
            return text
        notes, self.notes = self.notes, []
        return "\n".join(f"[{note}]" for note in notes) + "\n\n" + text
