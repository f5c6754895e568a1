"""Views of a student's profile: plain text, JSON, and the chat's `/profile`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor_cli.views.text import json_document, local_time, neutralise
from tutor_cli.words import iso_time

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.store.records import ProfileRecord


def profile_json(student_id: str, record: ProfileRecord | None) -> str:
    """One object: `student_id`, `profile` (empty when there is none), `updated_at` (ISO 8601 or null)."""
    document = {
        "student_id": student_id,
        "profile": record.text if record is not None else "",
        "updated_at": iso_time(record.updated_at) if record is not None and record.updated_at else None,
    }
    return json_document(document)


def profile_heading(student_id: str, record: ProfileRecord | None) -> str:
    """One line saying whose notes these are and when they last changed, or that there are none."""
    if record is None or not record.text:
        erased = f" (erased {local_time(record.updated_at)})" if record is not None and record.updated_at else ""
        return f"The tutor has no notes about {student_id} yet{erased}; they are written after the first turns."
    return f"The tutor's notes about {student_id} (updated {local_time(record.updated_at or 0)}):"


def print_profile(console: Console, student_id: str, record: ProfileRecord | None, in_use: bool) -> None:
    """The chat's `/profile`: the notes shown literally (model text is only text), and how to change them."""
    from rich.text import Text

    console.print(Text(profile_heading(student_id, record), style="green"))
    if record is not None and record.text:
        console.print(Text(neutralise(record.text)))
        console.print(Text("/forget erases them; `tutor profile --edit` corrects them.", style="dim"))
    if not in_use:
        console.print(Text("The profile is off in this chat: it is neither sent nor updated.", style="dim"))
