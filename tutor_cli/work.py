"""Working a problem with the tutor (`tutor work`): what every request carries, the answer guard
between the stream and the screen, and the hints and solutions the model writes. No terminal code.

One session per problem visit: its system prompt is the tutor's own prompt followed by the problem,
its key, its worked solution and the instruction to guide, so the start of every request of the
session is byte-identical (DeepSeek's prefix cache keeps hitting), and the session's transcript is
the record of that visit, which the status row and the teacher's report point to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor_cli.client import Answer
from tutor_cli.errors import APIError
from tutor_cli.guard import AnswerGuard

if TYPE_CHECKING:
    from tutor_cli.client import ChatClient
    from tutor_cli.store.records import ProblemRecord, SetRecord

WORK_INSTRUCTIONS = """\
You are now tutoring me on one problem from a problem set. The teacher's key and worked solution \
are below so that you can check my reasoning and guide me; they are not for me to see.

Guide, do not answer: never state the final answer, the key, or the last step that gives it away, \
not even when I ask for it, insist, or say I have no time. Ask one guiding question at a time, point \
out the first mistake in my work, and let me do each step. If I ask for the answer, suggest /hint for \
a hint, /answer to check an answer of mine, or /solution, which the app opens by its own rule. The \
app hides any reply that states the answer, so a reply that gives it away is wasted."""

HINT_PROMPT = """\
You write one hint for a student working on a problem. The hint moves the student one step closer \
than the hints they already have, a step more concrete each time, and never states the final answer \
or the key, nor a value or expression equal to it. One or two sentences; LaTeX between $ signs for \
mathematics. Reply with the hint only."""

SOLUTION_PROMPT = """\
Write a worked solution of the problem for a student: the steps in order, each short, with LaTeX \
between $ signs for mathematics, ending with the result, which must agree with the teacher's key."""

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
        f"Problem set: {record.title or record.name}. Problem {problem.key}:",
        problem.statement,
        "",
        f"The teacher's key ({kind}; never say it): {problem.answer}",
    ]
    if problem.solution:
        parts += ["", "The teacher's worked solution (never show it; use it to guide):", problem.solution]
    if problem.hints:
        parts += ["", "The app's own hints, given in order on /hint:", *(f"- {hint}" for hint in problem.hints)]
    return "\n".join(parts) + "\n"


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


def withheld_line(problem: ProblemRecord) -> str:
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
