"""The student's own editor for a long question: `/edit` and Ctrl-X Ctrl-E in the chat.

The editor is `$VISUAL`, then `$EDITOR` (each may hold arguments, e.g. `code --wait`), then the
first of `editor`, `nano`, `vi` found on PATH. prompt_toolkit's own `open_in_editor` makes the same
choice but says nothing when the editor is missing or fails; the chat must say so in one sentence
and keep the input, so the choice and the run live here.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tutor_cli.errors import TutorError

DEFAULT_EDITORS = ("editor", "nano", "vi")


class EditorError(TutorError):
    """The editor is missing or failed; the input is kept. The message is one sentence."""


def find_editor(env: Mapping[str, str]) -> tuple[list[str], str]:
    """The editor's command line and where it came from ("VISUAL", "EDITOR" or "default")."""
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            try:
                command = shlex.split(value)
            except ValueError as error:
                raise EditorError(
                    f"${name} ({value}) cannot be read as a command ({error}); your input is kept."
                ) from None
            return command, name
    for name in DEFAULT_EDITORS:
        path = shutil.which(name, path=env.get("PATH"))
        if path:
            return [path], "default"
    raise EditorError("No editor found: set VISUAL or EDITOR (for example `export EDITOR=nano`); your input is kept.")


def edit(text: str, env: Mapping[str, str] | None = None) -> str:
    """Open the editor on `text` in a temporary Markdown file and return what was saved.

    One trailing newline (editors add it) is dropped; a file left empty or blank returns "".
    Raises EditorError when the editor cannot be started or exits with a failure.
    """
    env = os.environ if env is None else env
    command, source = find_editor(env)
    shown = shlex.join(command)
    handle, name = tempfile.mkstemp(prefix="tutor-question-", suffix=".md")  # private to the student (0600)
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            status = subprocess.call([*command, str(path)], env=dict(env))
        except OSError as error:
            where = f"${source}" if source != "default" else "the default editor"
            reason = "not found" if isinstance(error, FileNotFoundError) else error.strerror or str(error)
            raise EditorError(f"Could not start the editor {shown} ({where}): {reason}; your input is kept.") from None
        if status != 0:
            raise EditorError(f"The editor {shown} exited with status {status}; your input is kept.")
        saved = path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)
    if saved.endswith("\n"):
        saved = saved[:-1]
    return saved if saved.strip() else ""
