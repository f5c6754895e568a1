"""Sessions: new-session, show, sessions, delete; and models (what the endpoint serves)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from tutor_cli.commands.common import (
    ListFormat,
    ListFormatOption,
    PromptFileOption,
    StudentOption,
    YesOption,
    app_context,
    confirm,
    examples,
    give_up,
    group,
    print_listing,
)
from tutor_cli.config import read_system_prompt

commands = group()


class TranscriptFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


@commands.command(
    "new-session",
    epilog=examples(
        "tutor new-session",
        "tutor new-session --session algebra-1 --student ada",
        "tutor new-session --system-prompt my_prompt.txt",
    ),
)
def new_session_command(
    ctx: typer.Context,
    session: Annotated[
        Optional[str],
        typer.Option("--session", help="Id of the new session (default: a fresh one).", show_default=False),
    ] = None,
    student: StudentOption = None,
    system_prompt: PromptFileOption = None,
) -> None:
    """Create a session without chatting; prints its id last."""
    app = app_context(ctx)
    prompt = read_system_prompt(system_prompt)
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, app.settings.student, writing=True)
        session_id = manager.new_session(student_id, prompt, session, profile=app.settings.profile)
    typer.echo(f"Created a session for {student_id}: {session_id}")


@commands.command(
    "show",
    epilog=examples(
        "tutor show                     your most recent session",
        "tutor show algebra-1",
        "tutor show b188                the session whose id begins or ends so",
        "tutor show algebra-1 --student ada --format markdown > ada.md",
        "tutor show algebra-1 --format json | jq '.messages | length'",
    ),
)
def show_command(
    ctx: typer.Context,
    session: Annotated[
        Optional[str],
        typer.Argument(
            help="The session: its id, or the start or end of it (default: the most recent).", show_default=False
        ),
    ] = None,
    student: StudentOption = None,
    format: Annotated[
        Optional[TranscriptFormat],
        typer.Option(
            "--format",
            "-f",
            help="text, markdown or json (default: a rendered view on a terminal, text otherwise).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print a session's transcript, oldest message first."""
    from tutor_cli.views import transcript as views
    from tutor_cli.work_prompt import is_work_prompt

    app = app_context(ctx)
    on_terminal = app.stdout_is_terminal
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, app.settings.student, writing=False)
        record = manager.find_session(student_id, session)
        messages = manager.store.iter_messages(student_id, record.session_id)
        if is_work_prompt(record.system_prompt):
            # A work session's key, solution and withheld drafts stay off a student's screen until solved.
            from tutor_cli.work import as_the_student_sees_it

            record, messages = as_the_student_sees_it(manager.store, record, messages)
        totals = manager.session_totals(app.prices, student_id, record.session_id)
        transcript = views.Transcript(record, messages, totals, app.prices)
        if format is TranscriptFormat.json:
            transcript.passages = manager.store.session_passages(student_id, record.session_id)
        # Written while the messages are read, batch by batch: memory stays flat however long.
        if format is TranscriptFormat.json:
            app.write_all(views.transcript_json(transcript))
        elif format is TranscriptFormat.markdown:
            app.write_all(views.transcript_markdown(transcript, safe=on_terminal))
        elif format is TranscriptFormat.text or not on_terminal:
            app.write_all(views.transcript_text(transcript, safe=on_terminal))
        else:
            views.print_transcript(app.console(), transcript, math=app.settings.render_math)


@commands.command(
    "sessions",
    epilog=examples(
        "tutor sessions",
        "tutor sessions --student ada --format json",
        "tutor sessions --all-students        (a teacher, in a class database)",
    ),
)
def sessions_command(
    ctx: typer.Context,
    student: StudentOption = None,
    all_students: Annotated[
        bool,
        typer.Option("--all-students", help="Every student's sessions (for teachers; a student sees only their own)."),
    ] = False,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """List a student's sessions, most recently used first."""
    from tutor_cli.views import transcript as views

    if all_students and student is not None:
        raise typer.BadParameter("use either --student or --all-students", param_hint="--all-students")
    app = app_context(ctx)
    with app.open_manager() as manager:
        student_id = None if all_students else manager.resolve_student(student, app.settings.student, writing=False)
        sessions = manager.sessions_with_totals(app.prices, student_id)
    print_listing(
        app,
        format is ListFormat.json,
        sessions,
        lambda: views.sessions_json(sessions),
        f"No sessions yet for {student_id or 'any student'}; start one with `tutor`.",
        lambda console: views.print_sessions_table(console, sessions, student_id),
    )


@commands.command("delete", epilog=examples("tutor delete algebra-1", "tutor delete algebra-1 --student ada --yes"))
def delete_command(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="The session to delete.", show_default=False)],
    student: StudentOption = None,
    yes: YesOption = False,
) -> None:
    """Delete a session and all its messages."""
    app = app_context(ctx)
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, app.settings.student, writing=True)
        record = manager.require_session(student_id, session)
        question = f"Delete session {session} of {student_id} ({record.message_count} messages)?"
        if not yes and not confirm(app, question):
            raise give_up("Nothing was deleted.")
        manager.store.delete_session(student_id, session)
    typer.echo(f"Deleted session {session} of {student_id}.")


@commands.command("models", epilog=examples("tutor models", "DEEPSEEK_BASE_URL=http://localhost:8080/v1 tutor models"))
def models_command(ctx: typer.Context) -> None:
    """List the models the endpoint offers; the default is marked with *."""
    app = app_context(ctx)
    settings = app.settings
    models = app.chat_client().list_models()
    for name in models:
        typer.echo(f"{'*' if name == settings.model else ' '} {name}")
    if settings.model not in models:
        typer.echo(
            f"(the default model {settings.model} is not served by {settings.base_url}; "
            "set TUTOR_MODEL to one of these)",
            err=True,
        )
