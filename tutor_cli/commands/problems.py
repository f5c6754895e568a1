"""Problems: set import/list/delete/progress, `tutor answer`, `tutor work` (the screen), and the
teacher's `tutor class problems` (registered under `class` by the root)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from tutor_cli.commands.common import (
    ListFormat,
    ListFormatOption,
    ModelOption,
    StudentOption,
    YesOption,
    app_context,
    confirm_destruction,
    examples,
    group,
    print_listing,
)
from tutor_cli.commands.talk import ThinkingOption

commands = group()
problems_app = group("Problem sets: import, list, delete, progress. `tutor work` works them with the tutor.")


class AnswerFormat(str, Enum):
    text = "text"
    json = "json"


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


ClassSetOption = Annotated[
    bool, typer.Option("--class", help="A class set (a teacher or the administrator, in a class database).")
]


@problems_app.command(
    "import",
    epilog=examples(
        "tutor problems import linear.toml             set 'linear'",
        "tutor problems import week3.toml --set week3",
        "tutor problems import week3.toml --class      (a teacher: every student works it)",
    ),
)
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A UTF-8 TOML file of [[problem]] tables (see the README).")],
    set_name: Annotated[
        Optional[str], typer.Option("--set", help="Set name (default: the file's name).", show_default=False)
    ] = None,
    class_set: ClassSetOption = False,
    student: StudentOption = None,
) -> None:
    """Import a problem set: the whole file or nothing; problems already there are updated by id."""
    from tutor_cli import access, problems
    from tutor_cli.config import now

    app = app_context(ctx)
    name = problems.check_set_name(set_name if set_name is not None else file.stem)
    spec = problems.read_problem_file(file)
    with app.open_manager() as manager:
        owner = access.set_owner(manager.store, student, app.settings.student, class_set=class_set)
        added, updated, kept = problems.import_set(manager.store, owner, name, spec, now())
    parts = [f"Imported {added} problem{'s' if added != 1 else ''} into {'class ' if class_set else ''}set {name}"]
    if updated:
        parts.append(f"{updated} updated")
    if kept:
        parts.append(f"{kept} no longer in the file kept")
    typer.echo(parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "") + ".")


@problems_app.command("list", epilog=examples("tutor problems list", "tutor problems list --format json"))
def list_command(
    ctx: typer.Context, student: StudentOption = None, format: ListFormatOption = ListFormat.table
) -> None:
    """List your problem sets and your class's, with how many you solved."""
    from tutor_cli import access, problems
    from tutor_cli.views import problems as views

    app = app_context(ctx)
    with app.open_manager() as manager:
        summaries = problems.set_summaries(
            manager.store, access.set_reader(manager.store, student, app.settings.student)
        )
    print_listing(
        app,
        format is ListFormat.json,
        summaries,
        lambda: views.sets_json(summaries),
        "No problem sets yet; import one with `tutor problems import FILE`.",
        lambda console: views.print_sets(console, summaries),
    )


@problems_app.command("delete", epilog=examples("tutor problems delete linear", "tutor problems delete week3 --class"))
def delete_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The set to delete.", show_default=False)],
    class_set: ClassSetOption = False,
    student: StudentOption = None,
    yes: YesOption = False,
) -> None:
    """Delete a set, its problems and everyone's work on them."""
    from tutor_cli import access
    from tutor_cli.problems import ProblemNotFoundError

    app = app_context(ctx)
    kind = "class set" if class_set else "set"
    with app.open_manager() as manager:
        owner = access.set_owner(manager.store, student, app.settings.student, class_set=class_set)
        record = manager.store.owned_problem_set(owner, name)
        if record is None:
            raise ProblemNotFoundError(f"There is no {kind} {name!r}; `tutor problems list` shows the sets.")
        confirm_destruction(app, f"Delete {kind} {name} ({record.problems} problems and the work on them)?", yes)
        manager.store.delete_problem_set(owner, name)
    typer.echo(f"Deleted {kind} {name} ({record.problems} problems).")


@problems_app.command("progress", epilog=examples("tutor problems progress", "tutor problems progress --format json"))
def progress_command(
    ctx: typer.Context, student: StudentOption = None, format: ListFormatOption = ListFormat.table
) -> None:
    """Per problem (status, attempts, hints, first try) and per skill (tried, solved, first try)."""
    from tutor_cli import access, problems
    from tutor_cli.views import problems as views

    app = app_context(ctx)
    with app.open_manager() as manager:
        student_id = access.acting_student(manager.store, student, app.settings.student, writing=False)
        rows = manager.store.problem_progress(student_id)
    skills = problems.skill_totals(rows)
    print_listing(
        app,
        format is ListFormat.json,
        rows,
        lambda: views.progress_json(rows, skills),
        f"No problem sets yet for {student_id}; import one with `tutor problems import FILE`.",
        lambda console: views.print_progress(console, rows, skills, student_id),
    )


@commands.command(
    "answer",
    epilog=examples('tutor answer linear p1 "x = 7/4"', "tutor answer linear p2 b --format json"),
)
def answer_command(
    ctx: typer.Context,
    set_name: Annotated[str, typer.Argument(metavar="SET", help="The problem set.", show_default=False)],
    problem: Annotated[str, typer.Argument(help="The problem's id in the set.", show_default=False)],
    text: Annotated[str, typer.Argument(help="Your answer.", show_default=False)],
    student: StudentOption = None,
    model: ModelOption = None,
    format: Annotated[AnswerFormat, typer.Option("--format", "-f", help="text or json.")] = AnswerFormat.text,
) -> None:
    """Check an answer, stored like /answer in `tutor work`; exit 0 whether right or not."""
    from tutor_cli import access, checking, problems
    from tutor_cli.config import now
    from tutor_cli.views import problems as views

    if not text.strip():  # like /answer alone: no attempt is counted
        raise typer.BadParameter('give your answer, for example: tutor answer linear p1 "x = 7/4"', param_hint="TEXT")
    app = app_context(ctx)
    with app.open_manager() as manager:
        store = manager.store
        student_id = access.acting_student(store, student, app.settings.student, writing=True)
        record, found = problems.find_problem(store, student_id, set_name, problem)
        judge = None
        if found.kind == "text" and app.settings.api_key:
            judge = checking.model_judge(app.chat_client(), model or app.settings.model)
        checker = checking.Checker.for_student(store.identity, student_id, judge)
        result = problems.answer(store, checker, student_id, found, text, session_id=None, now=now())
    if format is AnswerFormat.json:
        app.write(views.answer_json(result, record.name, found.key))
    else:
        typer.echo(views.answer_line(result))


@commands.command(
    "work",
    epilog=examples(
        "tutor work                     the first set with unsolved problems",
        "tutor work linear              its first unsolved problem",
        "tutor work linear --problem p3",
    ),
)
def work_command(
    ctx: typer.Context,
    set_name: Annotated[
        Optional[str], typer.Argument(metavar="[SET]", help="The problem set (default: the first with work left).")
    ] = None,
    problem: Annotated[
        Optional[str], typer.Option("--problem", "-p", help="Start with this problem.", show_default=False)
    ] = None,
    student: StudentOption = None,
    model: ModelOption = None,
    thinking: ThinkingOption = None,
) -> None:
    """Work a problem with the tutor: it guides, the app checks your answers and keeps the answer."""
    from tutor_cli import access, problems
    from tutor_cli.config import shipped_system_prompt
    from tutor_cli.course import searcher_for
    from tutor_cli.errors import ConfigError
    from tutor_cli.screens.work import WorkRepl
    from tutor_cli.turn import Conversation
    from tutor_cli.work import Workbench

    app = app_context(ctx)
    settings = app.settings
    settings.require_api_key()  # before any prompt opens
    if not app.stdin_is_terminal:
        raise ConfigError(
            "`tutor work` needs a terminal; `tutor answer SET PROBLEM TEXT` checks an answer from a script."
        )
    settings.ensure_home()  # the prompt history lives there, also when the store is a class database
    with app.open_manager() as manager:
        store = manager.store
        student_id = access.acting_student(store, student, settings.student, writing=True)
        if set_name is None:
            set_name = problems.first_open_set(store, student_id)
            if set_name is None:
                raise problems.ProblemNotFoundError(
                    "No problem set with unsolved problems; import one with `tutor problems import FILE`."
                )
        record, first = problems.find_problem(store, student_id, set_name, problem)
        bench = Workbench(manager, student_id, record, shipped_system_prompt(), use_profile=settings.profile)
        session_id = bench.open(first)
        conversation = Conversation(
            manager=manager,
            client=app.chat_client(),
            student_id=student_id,
            session_id=session_id,
            model=model or settings.model,
            thinking=settings.thinking if thinking is None else thinking,
            context_override=settings.context_tokens,
            use_profile=settings.profile,
        )
        conversation.course = searcher_for(store, student_id, enabled=settings.course)  # TUTOR_COURSE=off: none
        if conversation.course is not None:
            conversation.course.warm_up()
        WorkRepl(
            conversation,
            app.console(),
            settings.history_path,
            bench=bench,
            prices=app.prices,
            math=settings.render_math,
        ).run()


def class_problems_command(
    ctx: typer.Context,
    set_name: Annotated[
        Optional[str], typer.Argument(metavar="[SET]", help="Only this set (default: every set).", show_default=False)
    ] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table, json or csv.")] = TableFormat.table,
) -> None:
    """One row per student and problem: status, attempts, hints, first try, and who is stuck."""
    from tutor_cli import access, problems
    from tutor_cli.views import problems as views

    app = app_context(ctx)
    with app.open_manager() as manager:
        access.require_teaching_side(manager.store, "`tutor class problems`")
        rows = problems.class_progress(manager.store, set_name)
    if format is TableFormat.csv:
        app.write(views.class_csv(rows))
        return
    print_listing(
        app,
        format is TableFormat.json,
        rows,
        lambda: views.class_json(rows),
        "No work on problems yet" + (f" in set {set_name}." if set_name else "."),
        lambda console: views.print_class(console, rows),
    )
