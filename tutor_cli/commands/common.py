"""What every command group shares: one factory for sub-apps, the option types, how a listing prints,
confirmations."""

from __future__ import annotations

from collections.abc import Callable, Sized
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from tutor_cli.app import AppContext
from tutor_cli.errors import ConfigError, ExitStatus
from tutor_cli.screens.prompts import yes_or_no

if TYPE_CHECKING:
    from rich.console import Console


def examples(*lines: str) -> str:
    """An epilog of example command lines ("\\b" keeps click from re-wrapping them)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


class WholeSentenceGroup(TyperGroup):
    """A command group whose `--help` lists each command with its first sentence whole (wrapped
    under itself), where Click cuts it at the width left over, mid-phrase, with "..."."""

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))  # up to the first full stop
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def group(help: str | None = None, **extra: object) -> typer.Typer:
    """Every sub-app is made here, with the same settings as the root (plain help keeps `--help`
    fast: rich is not imported for it). Without `help`, a bag of top-level commands."""
    if help is None:
        return typer.Typer(rich_markup_mode=None, cls=WholeSentenceGroup, **extra)  # type: ignore[arg-type]
    return typer.Typer(  # type: ignore[arg-type]
        help=help, rich_markup_mode=None, no_args_is_help=True, cls=WholeSentenceGroup, **extra
    )


def app_context(ctx: typer.Context) -> AppContext:
    """The run's AppContext, built by the root callback (a bare one when a test calls a command)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj


StudentOption = Annotated[
    Optional[str],
    typer.Option(
        "--student", "-s", help="Student id (default: $TUTOR_STUDENT, else your login name).", show_default=False
    ),
]
PromptFileOption = Annotated[
    Optional[Path],
    typer.Option(
        "--system-prompt",
        help="File holding the system prompt (default: the tutor's own).",
        show_default=False,  # no Click checks: a file that cannot be read is one sentence and exit 1
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


class ListFormat(str, Enum):
    table = "table"
    json = "json"


ListFormatOption = Annotated[ListFormat, typer.Option("--format", "-f", help="table or json.")]

ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Model name (default: $TUTOR_MODEL, else deepseek-flash).", show_default=False),
]


def print_listing(
    app: AppContext,
    as_json: bool,
    rows: Sized,
    json_text: Callable[[], str],
    empty: str,
    table: Callable[[Console], None],
) -> None:
    """What every listing prints: its JSON document; else, with no rows, one sentence; else its table."""
    if as_json:
        app.write(json_text())
    elif not rows:
        typer.echo(empty)
    else:
        table(app.console())


def confirm(app: AppContext, question: str) -> bool:
    """Ask on standard error, read a line of standard input (so a script can pipe the answer);
    the yes/no rule is the screens' (`screens.prompts.yes_or_no`)."""

    def read_line(message: str) -> str:
        typer.echo(message, nl=False, err=True)
        return app.stdin.readline()  # "" at the end of input: no

    return yes_or_no(question, read_line)


def give_up(message: str) -> typer.Exit:
    """Say that nothing happened; the caller raises the returned exit (status 1)."""
    typer.echo(message, err=True)
    return typer.Exit(ExitStatus.FAILURE)


def confirm_destruction(app: AppContext, question: str, yes: bool) -> None:
    """Ask before destroying anything; without a terminal, only --yes goes ahead."""
    if yes:
        return
    if not app.stdin_is_terminal:
        raise ConfigError("Nothing was deleted: this needs a terminal to ask for confirmation, or --yes.")
    if not confirm(app, question):
        raise give_up("Nothing was deleted.")
