"""The profile: the tutor's notes about a student (show, --edit in $EDITOR, --clear)."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutor_cli.commands.common import StudentOption, app_context, confirm, examples, give_up, group
from tutor_cli.errors import ConfigError

if TYPE_CHECKING:
    from tutor_cli.app import AppContext
    from tutor_cli.store import Store

commands = group()


class ProfileFormat(str, Enum):
    text = "text"
    json = "json"


@commands.command(
    "profile",
    epilog=examples(
        "tutor profile                      the tutor's notes about you",
        "tutor profile --edit               correct them in $EDITOR",
        "tutor profile --clear              erase them (asks first)",
        "tutor profile --student ada --format json   (a teacher, in a class database)",
    ),
)
def profile_command(
    ctx: typer.Context,
    student: StudentOption = None,
    format: Annotated[ProfileFormat, typer.Option("--format", "-f", help="text or json.")] = ProfileFormat.text,
    clear: Annotated[bool, typer.Option("--clear", help="Erase the notes (asks first unless --yes).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --clear: do not ask for confirmation.")] = False,
    edit: Annotated[bool, typer.Option("--edit", help="Correct the notes in $VISUAL or $EDITOR.")] = False,
) -> None:
    """Show the tutor's notes about a student, kept across sessions and sent with each new session."""
    from tutor_cli.views import profile as profile_view

    if clear and edit:
        raise typer.BadParameter("use either --clear or --edit, not both", param_hint="--edit")
    if yes and not clear:
        raise typer.BadParameter("--yes goes with --clear", param_hint="--yes")
    app = app_context(ctx)
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, app.settings.student, writing=clear or edit)
        if clear:
            _clear_profile(app, manager.store, student_id, yes)
        elif edit:
            _edit_profile(app, manager.store, student_id)
        else:
            record = manager.store.get_profile(student_id)
            if format is ProfileFormat.json:
                app.write(profile_view.profile_json(student_id, record))
            elif record is None or not record.text:
                typer.echo(profile_view.profile_heading(student_id, record), err=True)
            else:
                if app.stdout_is_terminal:
                    typer.echo(profile_view.profile_heading(student_id, record))
                app.write(record.text.rstrip("\n") + "\n")


def _clear_profile(app: AppContext, store: Store, student_id: str, yes: bool) -> None:
    if not yes and not confirm(app, f"Erase the tutor's notes about {student_id}? This cannot be undone."):
        raise give_up("Nothing was erased.")
    store.clear_profile(student_id)
    typer.echo(f"Erased the tutor's notes about {student_id}; what was said so far will not be used for them.")


def _edit_profile(app: AppContext, store: Store, student_id: str) -> None:
    from tutor_cli import profile

    record = store.get_profile(student_id)
    before = record.text if record is not None else ""
    after = _run_editor(before)
    if after.strip() == before.strip():
        typer.echo("No change.")
        return
    if not after.strip():
        if not confirm(app, f"The edited notes are empty. Erase the tutor's notes about {student_id}?"):
            raise give_up("No change.")
        _clear_profile(app, store, student_id, yes=True)
        return
    _, clipped = profile.edit(store, student_id, after)
    note = f" (shortened to about {profile.EDITED_MAX_TOKENS} tokens)" if clipped else ""
    typer.echo(f"Saved the tutor's notes about {student_id}{note}; new sessions start with them.")


def _run_editor(text: str) -> str:
    """`text` after the student edited it in $VISUAL or $EDITOR (a private temporary file)."""
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise ConfigError("Set EDITOR to your text editor (for example: export EDITOR=nano) to edit the profile.")
    handle, name = tempfile.mkstemp(prefix="tutor-profile-", suffix=".md")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            status = subprocess.run([*shlex.split(editor), name], check=False).returncode
        except OSError as error:
            raise ConfigError(f"Cannot start the editor {editor!r} ({error.strerror}); check EDITOR.") from None
        if status != 0:
            raise ConfigError(f"The editor {editor!r} exited with status {status}; nothing was changed.")
        try:
            return Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError("The edited profile is not UTF-8 text; nothing was changed.") from None
    finally:
        os.unlink(name)
