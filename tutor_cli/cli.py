"""The `tutor` command's root: global options into an AppContext, the command groups registered,
and the one place errors become exit codes. The commands themselves live in `tutor_cli.commands`."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from tutor_cli import __version__
from tutor_cli.app import AppContext
from tutor_cli.commands import admin, desk, practice, problems, profile, sessions, talk
from tutor_cli.commands.common import WholeSentenceGroup, examples
from tutor_cli.errors import ExitStatus, TutorError

app = typer.Typer(
    name="tutor",
    help="A patient personal tutor in your terminal. Every session is kept.",
    epilog=examples(
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
    cls=WholeSentenceGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tutor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_version_callback, is_eager=True),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
    database_url: Annotated[
        Optional[str],
        typer.Option(
            "--database-url",
            help="A class's PostgreSQL store (default: $TUTOR_DATABASE_URL, else tutor.db).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A patient personal tutor in your terminal. Every session is kept.

    Run `tutor` alone to start chatting.
    """
    # --debug is acted on by `main` (it must hold before the options are even parsed); it is
    # declared here so that the parser accepts it and `--help` shows it.
    ctx.obj = AppContext(database_url=database_url, debug=debug)
    if ctx.invoked_subcommand is None:
        ctx.invoke(talk.chat_command, ctx)


# The groups, in the order `tutor --help` lists them.
app.add_typer(sessions.commands)
app.add_typer(talk.commands)
app.add_typer(practice.commands)
app.add_typer(problems.commands)
app.add_typer(profile.commands)
app.add_typer(desk.commands)
app.add_typer(admin.commands)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.admin_app, name="admin")
admin.admin_app.add_typer(desk.watch_app, name="watch")
app.add_typer(practice.deck_app, name="deck")
app.add_typer(problems.problems_app, name="problems")
app.add_typer(desk.class_app, name="class")
desk.class_app.command(
    "problems",
    epilog=examples("tutor class problems", "tutor class problems week3 --format csv > week3.csv"),
)(problems.class_problems_command)


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
        typer.echo(
            f"tutor: unexpected error ({type(error).__name__}: {error}); rerun with --debug "
            "for the details and please report it.",
            err=True,
        )
        sys.exit(ExitStatus.FAILURE)
