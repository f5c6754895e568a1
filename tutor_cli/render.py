"""Views: transcripts, session lists and the neutralising of terminal control sequences.

This module never touches the store: it is handed records and writes text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

from tutor_cli.store import MessageRecord, SessionRecord

if TYPE_CHECKING:
    from rich.console import Console

ROLE_TITLES = {"user": "Student", "assistant": "Tutor", "system": "System prompt"}

# ESC-introduced sequences (CSI, OSC, DCS, SOS/PM/APC strings, two-byte escapes), their
# 8-bit C1 forms, then any remaining C0/C1 control character except tab and newline.
_CONTROL_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                       # CSI ... final byte
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # OSC/DCS/SOS/PM/APC ... terminator
  | \x1b[ -/]*[0-~]?                                        # other escapes
  | [\x00-\x08\x0b-\x1f\x7f-\x9f]                           # stray control characters
    """,
    re.VERBOSE | re.DOTALL,
)


def neutralise(text: str) -> str:
    """Remove terminal control sequences so model text can only ever be text on screen."""
    return _CONTROL_SEQUENCE.sub("", text)


def iso_time(timestamp: float) -> str:
    """UTC ISO-8601 with seconds, as used in JSON output."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def local_time(timestamp: float) -> str:
    """Local time to the minute, for people."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


# --- transcripts ---------------------------------------------------------------------------


def transcript_json(session: SessionRecord, messages: Sequence[MessageRecord]) -> str:
    """One JSON object: the session, its system prompt and every message with its metadata."""
    document = {
        **session_summary(session),
        "system_prompt": session.system_prompt,
        "messages": [_message_json(message) for message in messages],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def transcript_text(session: SessionRecord, messages: Sequence[MessageRecord], *, safe: bool) -> str:
    """The lesson's layout: 'Role: …' / 'Message: …' for the system prompt and each message."""
    clean = neutralise if safe else str
    blocks = [f"Role: system\nMessage: {clean(session.system_prompt)}\n"]
    for message in messages:
        note = " (interrupted)" if message.interrupted else ""
        blocks.append(f"Role: {message.role}{note}\nMessage: {clean(message.content)}\n")
    return "\n".join(blocks)


def transcript_markdown(session: SessionRecord, messages: Sequence[MessageRecord], *, safe: bool) -> str:
    """A Markdown document a teacher can read or publish."""
    clean = neutralise if safe else str
    lines = [
        f"# Session {session.session_id}",
        "",
        f"- Student: {session.student_id}",
        f"- Started: {local_time(session.created_at)}",
        f"- Last used: {local_time(session.updated_at)}",
        f"- Messages: {session.message_count}",
        "",
        "## System prompt",
        "",
        *(f"> {line}" if line else ">" for line in clean(session.system_prompt).splitlines()),
    ]
    for message in messages:
        note = " (interrupted)" if message.interrupted else ""
        lines += ["", f"## {ROLE_TITLES[message.role]} · {local_time(message.created_at)}{note}", ""]
        lines.append(clean(message.content))
    return "\n".join(lines) + "\n"


def print_transcript(console: Console, session: SessionRecord, messages: Sequence[MessageRecord]) -> None:
    """The readable terminal view: headed turns, the tutor's answers rendered as Markdown."""
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.rule import Rule
    from rich.text import Text

    console.print(Text(f"Session {session.session_id} · student {session.student_id}", style="bold"))
    console.print(
        Text(
            f"{session.message_count} messages · started {local_time(session.created_at)}"
            f" · last used {local_time(session.updated_at)}",
            style="dim",
        )
    )
    for message in messages:
        title = ROLE_TITLES[message.role] + (" (interrupted)" if message.interrupted else "")
        console.print(Rule(Text(f"{title} · {local_time(message.created_at)}"), align="left",
                           style="cyan" if message.role == "user" else "green"))
        if message.reasoning:
            console.print(Padding(Text(neutralise(message.reasoning), style="dim italic"), (0, 2)))
        if message.role == "assistant":
            console.print(Markdown(neutralise(message.content)))
        else:
            console.print(Text(neutralise(message.content)))


def _message_json(message: MessageRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "role": message.role,
        "content": message.content,
        "created_at": iso_time(message.created_at),
    }
    if message.model:
        document["model"] = message.model
    if message.reasoning:
        document["reasoning"] = message.reasoning
    if message.interrupted:
        document["interrupted"] = True
    if message.usage:
        document["usage"] = dict(message.usage)
    return document


# --- session lists ------------------------------------------------------------------------


def session_summary(session: SessionRecord) -> dict[str, Any]:
    """The JSON fields that describe a session in `sessions` and `show`."""
    summary: dict[str, Any] = {
        "student_id": session.student_id,
        "session_id": session.session_id,
        "message_count": session.message_count,
        "created_at": iso_time(session.created_at),
        "last_used_at": iso_time(session.updated_at),
        "model": session.model,
    }
    if session.usage:
        summary["usage"] = dict(session.usage)
    return summary


def sessions_json(sessions: Sequence[SessionRecord]) -> str:
    """A JSON list, most recently used first."""
    return json.dumps([session_summary(session) for session in sessions], ensure_ascii=False, indent=2)


def print_sessions_table(console: Console, sessions: Sequence[SessionRecord], student_id: str) -> None:
    """A table of sessions, most recently used first."""
    from rich.table import Table

    table = Table(title=f"Sessions of {student_id}", title_justify="left")
    table.add_column("Session", style="bold", no_wrap=True)
    table.add_column("Messages", justify="right")
    table.add_column("Started")
    table.add_column("Last used")
    table.add_column("Model")
    for session in sessions:
        table.add_row(
            neutralise(session.session_id), str(session.message_count), local_time(session.created_at),
            local_time(session.updated_at), session.model or "",
        )
    console.print(table)


def make_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console honouring NO_COLOR and plain output when not a terminal."""
    from rich.console import Console

    return Console(file=file, stderr=stderr, highlight=False)
