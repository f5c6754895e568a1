"""The work screen (`tutor work`): the chat screen with a problem open. Questions are turns of
`tutor_cli.turn` like the chat's, sent through the answer guard while the problem is unsolved and its
solution shut; /answer, /hint, /solution, /next and /problems act on the problem (tutor_cli.work)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor_cli.checking import Checker, model_judge, warm_up
from tutor_cli.errors import APIError
from tutor_cli.problems import SolutionShutError
from tutor_cli.screens.chat import SLASH_COMMANDS, Repl
from tutor_cli.work import GuardedSink, Workbench, withheld_line

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.pricing import PriceTable
    from tutor_cli.turn import Conversation

WORK_COMMANDS = {
    "/answer": "/answer TEXT: check your answer (Right, or Not yet with your attempts so far)",
    "/hint": "the next hint, each a step more concrete",
    "/solution": "the worked solution (once solved, or after enough wrong attempts)",
    "/next": "the next unsolved problem of the set",
    "/problems": "the set, with each problem's status",
    "/new": "a fresh session on the same problem",
}


class WorkRepl(Repl):
    """The chat screen with a problem open (see the module's doc)."""

    def __init__(
        self,
        conversation: Conversation,
        console: Console,
        history_path: Path,
        *,
        bench: Workbench,
        prices: PriceTable | None = None,
        quiet: bool = False,
        math: bool = True,
    ) -> None:
        super().__init__(conversation, console, history_path, prices=prices, quiet=quiet, math=math)
        self.bench = bench

        def judge(statement: str, key: str, attempt: str) -> bool | None:  # the model /model chose last
            return model_judge(conversation.client, conversation.model)(statement, key, attempt)

        self.checker = Checker.for_student(bench.store.identity, bench.student_id, judge)
        self.commands.update(
            {
                "/answer": self._answer,
                "/hint": self._hint,
                "/solution": self._solution,
                "/next": self._next,
                "/problems": self._problems,
                "/new": self._new_visit,
            }
        )

    # -- turns --

    def _ask(self, question: str | None) -> None:
        # What happened since the last question (answers checked, hints, the solution) goes with it.
        super()._ask(self.bench.question(question) if question is not None else None)

    def _answer_view(self) -> Any:
        view = super()._answer_view()
        return GuardedSink.around(view, self.bench.problem) if self.bench.guarded() else view

    def _after_answer(self, view: Any) -> bool:
        if isinstance(view, GuardedSink) and view.withheld:
            self._notice(withheld_line(), "bold yellow")
            return True
        return False

    # -- the problem's commands --

    def _answer(self, text: str) -> None:
        from tutor_cli.views.problems import answer_line

        if not text:
            self._notice("Give your answer after /answer, for example: /answer x = 7/4")
            return
        result = self.bench.answer(self.checker, text)
        self._notice(answer_line(result), "bold green" if result.right else "yellow")
        if result.right and result.status.status == "solved":
            self._notice("Solved. /solution shows the worked solution; /next opens the next problem.", "green")

    def _hint(self, _: str) -> None:
        from tutor_cli.views.problems import print_markdown

        c = self.conversation
        try:
            found = self.bench.hint(c.client, c.model, c.thinking)
        except APIError as error:
            self._notice(f"{error} No hint was given.", "bold red")
            return
        if found is None:
            self._notice(
                "The tutor could not write a hint without giving the answer away; ask it a question, "
                "or try /solution once it opens."
            )
            return
        self._notice(f"Hint {self.bench.status().hints}:", "bold cyan")
        print_markdown(self.console, found[0], math=self.math)

    def _solution(self, _: str) -> None:
        from tutor_cli.views.problems import print_markdown

        c = self.conversation
        try:
            text = self.bench.solution(c.client, c.model, c.thinking)
        except SolutionShutError as shut:
            self._notice(str(shut))
            return
        except APIError as error:
            self._notice(f"{error} The solution stays shut for now.", "bold red")
            return
        self._notice("Worked solution:", "bold cyan")
        print_markdown(self.console, text, math=self.math)

    def _next(self, _: str) -> None:
        problem = self.bench.next_problem()
        if problem is None:
            self._notice("Every problem of this set is solved or its solution opened; /problems shows them.", "green")
            return
        self._open(problem)

    def _problems(self, _: str) -> None:
        from tutor_cli.views.problems import print_problem_list

        b = self.bench
        print_problem_list(self.console, b.record, b.problems, b.statuses(), b.problem.id)

    def _new_visit(self, _: str) -> None:
        self._open(self.bench.problem)

    def _open(self, problem) -> None:  # a ProblemRecord
        self.conversation.session_id = self.bench.open(problem)
        self._show_problem()

    # -- the screen --

    def _show_problem(self) -> None:
        from tutor_cli.views.problems import print_statement

        b = self.bench
        print_statement(self.console, b.record, b.problem, b.position(), len(b.problems), math=self.math)

    def _greet(self) -> None:
        self._show_problem()

    def _help(self, argument: str) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 2))
        chat = [(name, text) for name, text in SLASH_COMMANDS.items() if name not in WORK_COMMANDS]
        for name, description in [*WORK_COMMANDS.items(), *chat]:
            table.add_row(name, description)
        self.console.print(table)

    def handle(self, text: str) -> None:
        try:
            super().handle(text)
        finally:
            self._status_label = self.bench.status().status  # read once per line, not per keystroke

    def _toolbar(self) -> str:
        b, c = self.bench, self.conversation
        status = getattr(self, "_status_label", None) or b.status().status
        return f" {c.student_id} · {b.record.name} {b.problem.key} · {status} · {c.model} · /help"

    def run(self) -> None:
        threading.Thread(target=warm_up, daemon=True).start()  # the first /answer then needs no wait
        super().run()
