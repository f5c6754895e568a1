"""Views of problems: set lists, progress per problem and skill, the teacher's class table (table,
JSON, CSV), the result of an answer, and a problem's statement with its mathematics drawn."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tutor_cli.views.text import json_document, neutralise

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.problems import AnswerResult, SkillTotal
    from tutor_cli.store.records import ProblemRecord, ProgressRow, SetRecord, Status

CLASS_FIELDS = (
    "student_id",
    "set",
    "class",
    "problem",
    "status",
    "attempts",
    "wrong",
    "hints",
    "first_try",
    "stuck",
    "session_id",
)
STATUS_STYLE = {"new": "dim", "working": "yellow", "solved": "green", "revealed": "magenta"}


def _text(value: str) -> Any:
    from rich.text import Text

    return Text(neutralise(value))  # names are shown literally, never as console markup


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


# --- sets ---------------------------------------------------------------------------------------


def sets_json(summaries: Sequence[tuple[SetRecord, int]]) -> str:
    records = [
        {
            "set": record.name,
            "title": record.title,
            "problems": record.problems,
            "class": record.is_class,
            "solved": solved,
            "solution_after": "never" if record.solution_after is None else record.solution_after,
        }
        for record, solved in summaries
    ]
    return json_document(records)


def print_sets(console: Console, summaries: Sequence[tuple[SetRecord, int]]) -> None:
    from rich.table import Table

    table = Table(title="Problem sets", title_justify="left")
    table.add_column("Set", style="bold")
    table.add_column("Title")
    table.add_column("Problems", justify="right", no_wrap=True)
    table.add_column("Solved", justify="right", no_wrap=True)
    table.add_column("Class", no_wrap=True)
    for record, solved in summaries:
        table.add_row(
            _text(record.name),
            _text(record.title or ""),
            str(record.problems),
            str(solved),
            "class" if record.is_class else "",
        )
    console.print(table)


# --- progress -----------------------------------------------------------------------------------


def problem_record(row: ProgressRow) -> dict[str, Any]:
    return {
        "set": row.set_name,
        "class": row.is_class,
        "problem": row.problem,
        "status": row.status.status,
        "attempts": row.status.attempts,
        "wrong": row.status.wrong,
        "hints": row.status.hints,
        "first_try": row.status.first_try,
        "skills": list(row.skills),
    }


def skill_record(total: SkillTotal) -> dict[str, Any]:
    return {"skill": total.skill, "tried": total.tried, "solved": total.solved, "first_try": total.first_try}


def progress_document(rows: Sequence[ProgressRow], skills: Sequence[SkillTotal]) -> dict[str, Any]:
    return {"problems": [problem_record(row) for row in rows], "skills": [skill_record(s) for s in skills]}


def progress_json(rows: Sequence[ProgressRow], skills: Sequence[SkillTotal]) -> str:
    return json_document(progress_document(rows, skills))


def print_progress(console: Console, rows: Sequence[ProgressRow], skills: Sequence[SkillTotal], student: str) -> None:
    from rich.table import Table

    table = Table(title=f"Problems of {neutralise(student)}", title_justify="left")
    for name, justify in (("Set", "left"), ("Problem", "left"), ("Status", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for name in ("Attempts", "Hints"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("First try", no_wrap=True)
    for row in rows:
        table.add_row(
            _text(row.set_name),
            _text(row.problem),
            _status(row.status),
            str(row.status.attempts),
            str(row.status.hints),
            "✓" if row.status.first_try else "",
        )
    console.print(table)
    if skills:
        by_skill = Table(title="Skills", title_justify="left")
        by_skill.add_column("Skill", style="bold")
        for name in ("Tried", "Solved", "First try"):
            by_skill.add_column(name, justify="right", no_wrap=True)
        for total in skills:
            by_skill.add_row(_text(total.skill), str(total.tried), str(total.solved), str(total.first_try))
        console.print(by_skill)


def _status(status: Status | str) -> Any:
    from rich.text import Text

    name = status if isinstance(status, str) else status.status
    return Text(name, style=STATUS_STYLE.get(name, ""))


# --- the class ----------------------------------------------------------------------------------


def class_record(row: ProgressRow, stuck: bool) -> dict[str, Any]:
    return {"student_id": row.student_id, **problem_record(row), "stuck": stuck, "session_id": row.status.session_id}


def class_json(rows: Sequence[tuple[ProgressRow, bool]]) -> str:
    return json_document([class_record(row, stuck) for row, stuck in rows])


def class_csv(rows: Sequence[tuple[ProgressRow, bool]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CLASS_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row, stuck in rows:
        writer.writerow(class_record(row, stuck))
    return out.getvalue()


def print_class(console: Console, rows: Sequence[tuple[ProgressRow, bool]]) -> None:
    from rich.table import Table

    table = Table(title="Problems, by student", title_justify="left")
    for name in ("Student", "Set", "Problem"):
        table.add_column(name, overflow="fold")
    table.add_column("Status", no_wrap=True)
    for name in ("Tries", "Wrong", "Hints"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("1st", no_wrap=True)
    table.add_column("Stuck", no_wrap=True)
    for row, stuck in rows:
        table.add_row(
            _text(row.student_id),
            _text(row.set_name),
            _text(row.problem),
            _status(row.status),
            str(row.status.attempts),
            str(row.status.wrong),
            str(row.status.hints),
            "✓" if row.status.first_try else "",
            "[bold red]stuck[/]" if stuck else "",
        )
    console.print(table)


# --- an answer, a statement, a set's problems ---------------------------------------------------


def answer_line(result: AnswerResult) -> str:
    """`Right (1 attempt).` or `Not yet (2 attempts).`"""
    return f"{'Right' if result.right else 'Not yet'} ({_attempts(result.status.attempts)})."


def answer_json(result: AnswerResult, set_name: str, problem: str) -> str:
    document = {
        "set": set_name,
        "problem": problem,
        "right": result.right,
        "attempts": result.status.attempts,
        "wrong": result.status.wrong,
        "status": result.status.status,
        "first_try": result.status.first_try,
    }
    return json.dumps(document, ensure_ascii=False) + "\n"


def print_markdown(console: Console, text: str, *, math: bool) -> None:
    """Text with Markdown and LaTeX, drawn as the tutor's answers are."""
    from tutor_cli.views.answer import answer_renderables

    for renderable in answer_renderables(neutralise(text), math=math, width=console.width):
        console.print(renderable)


def print_statement(
    console: Console, record: SetRecord, problem: ProblemRecord, position: int, total: int, *, math: bool
) -> None:
    from rich.rule import Rule

    title = neutralise(record.title or record.name)
    console.print(Rule(f"{title} · problem {neutralise(problem.key)} ({position} of {total})", align="left"))
    print_markdown(console, problem.statement, math=math)
    console.print(
        "/answer TEXT checks an answer · /hint · /solution · /next · /problems · /help", style="dim", markup=False
    )


def print_problem_list(
    console: Console, record: SetRecord, problems: Sequence[ProblemRecord], statuses: dict[int, Status], current: int
) -> None:
    from rich.table import Table

    from tutor_cli.work import short

    table = Table(title=neutralise(record.title or record.name), title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("Problem", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Attempts", justify="right", no_wrap=True)
    table.add_column("Statement")
    for problem in problems:
        status = statuses.get(problem.id)
        table.add_row(
            "›" if problem.id == current else "",
            _text(problem.key),
            _status(status.status if status else "new"),
            str(status.attempts if status else 0),
            _text(short(problem.statement)),
        )
    console.print(table)
