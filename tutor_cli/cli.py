"""The `tutor` command: parse options, build objects, delegate. Errors become exit codes here."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from tutor_cli import __version__
from tutor_cli.config import Settings, read_system_prompt
from tutor_cli.errors import ExitStatus, TutorError

def _examples(*lines: str) -> str:
    # "\b" keeps click from re-wrapping the example lines.
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


app = typer.Typer(
    name="tutor",
    help="A patient personal tutor in your terminal. Every session is kept.",
    epilog=_examples(
        "tutor                      start chatting (a new session)",
        "tutor chat -c              continue your most recent session",
        'tutor ask "What is a derivative?"',
        "tutor sessions             list your sessions",
        "tutor show SESSION         print a transcript",
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help keeps `tutor --help` fast: rich is not imported for it
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False


StudentOption = Annotated[
    Optional[str],
    typer.Option("--student", "-s", help="Student id (default: $TUTOR_STUDENT, else your login name).",
                 show_default=False),
]
PromptFileOption = Annotated[
    Optional[Path],
    typer.Option("--system-prompt", help="File holding the system prompt (default: the tutor's own).",
                 dir_okay=False, show_default=False),
]


class TranscriptFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class ListFormat(str, Enum):
    table = "table"
    json = "json"


def _settings() -> Settings:
    return Settings.from_environment()


def _student(settings: Settings, option: str | None) -> str:
    student = option if option is not None else settings.student
    if not student.strip():
        raise typer.BadParameter("the student id must not be empty", param_hint="--student")
    return student


def open_manager(settings: Settings):  # -> SessionManager
    """The durable SessionManager in the home folder."""
    from tutor_cli.sessions import SessionManager

    settings.ensure_home()
    return SessionManager(settings.database_path)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tutor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", "-V", help="Print the version and exit.",
                                          callback=_version_callback, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
) -> None:
    """A patient personal tutor in your terminal. Every session is kept.

    Run `tutor` alone to start chatting.
    """
    global _debug
    _debug = debug
    if ctx.invoked_subcommand is None:
        ctx.invoke(chat_command) if "chat" in _COMMANDS else typer.echo(ctx.get_help())


_COMMANDS: dict[str, object] = {}


@app.command(
    "new-session",
    epilog=_examples(
        "tutor new-session",
        "tutor new-session --session algebra-1 --student ada",
        "tutor new-session --system-prompt my_prompt.txt",
    ),
)
def new_session_command(
    session: Annotated[Optional[str], typer.Option("--session", help="Id of the new session (default: a fresh one).",
                                                   show_default=False)] = None,
    student: StudentOption = None,
    system_prompt: PromptFileOption = None,
) -> None:
    """Create a session without chatting; prints its id last."""
    settings = _settings()
    student_id = _student(settings, student)
    prompt = read_system_prompt(system_prompt)
    with open_manager(settings) as manager:
        session_id = manager.new_session(student_id, prompt, session)
    typer.echo(f"Created a session for {student_id}: {session_id}")


@app.command(
    "show",
    epilog=_examples(
        "tutor show algebra-1",
        "tutor show algebra-1 --student ada --format markdown > ada.md",
        "tutor show algebra-1 --format json | jq '.messages | length'",
    ),
)
def show_command(
    session: Annotated[str, typer.Argument(help="The session to print.", show_default=False)],
    student: StudentOption = None,
    format: Annotated[Optional[TranscriptFormat], typer.Option(
        "--format", "-f", help="text, markdown or json (default: a rendered view on a terminal, text otherwise).",
        show_default=False)] = None,
) -> None:
    """Print a session's transcript, oldest message first."""
    from tutor_cli import render

    settings = _settings()
    student_id = _student(settings, student)
    with open_manager(settings) as manager:
        record = manager.session_info(student_id, session)
        if record is None:
            from tutor_cli.errors import SessionNotFoundError

            raise SessionNotFoundError(student_id, session)
        messages = manager.messages(student_id, session)
    on_terminal = sys.stdout.isatty()
    if format is TranscriptFormat.json:
        _write(render.transcript_json(record, messages) + "\n")
    elif format is TranscriptFormat.markdown:
        _write(render.transcript_markdown(record, messages, safe=on_terminal))
    elif format is TranscriptFormat.text or not on_terminal:
        _write(render.transcript_text(record, messages, safe=on_terminal))
    else:
        render.print_transcript(render.make_console(), record, messages)


@app.command(
    "sessions",
    epilog=_examples("tutor sessions", "tutor sessions --student ada --format json"),
)
def sessions_command(
    student: StudentOption = None,
    format: Annotated[ListFormat, typer.Option("--format", "-f", help="table or json.")] = ListFormat.table,
) -> None:
    """List a student's sessions, most recently used first."""
    from tutor_cli import render

    settings = _settings()
    student_id = _student(settings, student)
    with open_manager(settings) as manager:
        sessions = manager.list_sessions(student_id)
    if format is ListFormat.json:
        _write(render.sessions_json(sessions) + "\n")
    elif not sessions:
        typer.echo(f"No sessions yet for {student_id}; start one with `tutor`.")
    else:
        render.print_sessions_table(render.make_console(), sessions, student_id)


@app.command(
    "delete",
    epilog=_examples("tutor delete algebra-1", "tutor delete algebra-1 --student ada --yes"),
)
def delete_command(
    session: Annotated[str, typer.Argument(help="The session to delete.", show_default=False)],
    student: StudentOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a session and all its messages."""
    settings = _settings()
    student_id = _student(settings, student)
    with open_manager(settings) as manager:
        record = manager.session_info(student_id, session)
        if record is None:
            from tutor_cli.errors import SessionNotFoundError

            raise SessionNotFoundError(student_id, session)
        if not yes:
            question = f"Delete session {session} of {student_id} ({record.message_count} messages)?"
            if not _confirm(question):
                typer.echo("Nothing was deleted.", err=True)
                raise typer.Exit(ExitStatus.FAILURE)
        manager.delete_session(student_id, session)
    typer.echo(f"Deleted session {session} of {student_id}.")


def _confirm(question: str) -> bool:
    """Ask on the terminal; no answer (end of input) means no."""
    typer.echo(f"{question} [y/N] ", nl=False, err=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main() -> None:
    """Entry point: run the app and turn every error a user can cause into one sentence."""
    debug = os.environ.get("TUTOR_DEBUG") == "1" or "--debug" in sys.argv[1:]
    try:
        app(prog_name="tutor")
    except TutorError as error:
        typer.echo(f"tutor: {error}", err=True)
        sys.exit(error.exit_status)
    except KeyboardInterrupt:
        typer.echo("", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (tutor show | head): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitStatus.OK)
    except Exception as error:  # a bug: say so plainly unless debugging
        if debug:
            raise
        typer.echo(f"tutor: unexpected error ({type(error).__name__}: {error}); rerun with --debug "
                   "for the details and please report it.", err=True)
        sys.exit(ExitStatus.FAILURE)
