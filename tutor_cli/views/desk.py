"""Views of the teacher's desk: the overview, search results and flags as tables, JSON and CSV.

Handed rows, writes text; never touches the store. Student text is neutralised (no terminal
control sequences) and printed without console markup.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tutor_cli.desk import MARK_CLOSE, MARK_OPEN, Hit, StudentRow
from tutor_cli.store.records import WatchPhrase
from tutor_cli.views.text import local_time, neutralise
from tutor_cli.words import iso_time

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

OVERVIEW_FIELDS = (
    "student_id",
    "sessions",
    "questions",
    "last_active",
    "tokens",
    "cost_usd",
    "cards_reviewed",
    "flags",
)


def _plain(text: str) -> Text:
    """Student-chosen text for a table cell: no control sequences, no console markup."""
    from rich.text import Text

    return Text(neutralise(text))


def overview_record(row: StudentRow) -> dict[str, Any]:
    return {
        "student_id": row.student_id,
        "sessions": row.sessions,
        "questions": row.questions,
        "last_active": iso_time(row.last_active) if row.last_active is not None else None,
        "tokens": row.tokens,
        "cost_usd": row.cost_usd,
        "cards_reviewed": row.cards_reviewed,
        "flags": row.flags,
    }


def overview_json(rows: Sequence[StudentRow]) -> str:
    return json.dumps([overview_record(row) for row in rows], ensure_ascii=False, indent=2) + "\n"


def overview_csv(rows: Sequence[StudentRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=OVERVIEW_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = overview_record(row)
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()


def print_overview(console: Console, rows: Sequence[StudentRow], since: float | None) -> None:
    from rich import box
    from rich.table import Table

    title = "Class overview" + (f" since {local_time(since)}" if since is not None else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Student", style="bold", no_wrap=True)
    for name in ("Sessions", "Questions"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Last active", no_wrap=True)
    for name in ("Tokens", "Cost", "Cards", "Flags"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            _plain(row.student_id),
            str(row.sessions),
            str(row.questions),
            local_time(row.last_active) if row.last_active is not None else "",
            f"{row.tokens:,}" if row.tokens else "",
            f"${row.cost_usd:.4f}" if row.cost_usd is not None else "",
            str(row.cards_reviewed),
            f"[red]{row.flags}[/red]" if row.flags else "0",
        )
    console.print(table)


def hit_record(hit: Hit, *, flags: bool = False) -> dict[str, Any]:
    message = hit.message
    record: dict[str, Any] = {
        "student_id": message.student_id,
        "session_id": message.session_id,
        "created_at": iso_time(message.created_at),
    }
    if flags:
        record["matched"] = list(hit.matched)
    else:
        record["role"] = message.role
    record["snippet"] = hit.snippet
    return record


def hits_json(hits: Sequence[Hit], *, flags: bool = False) -> str:
    return json.dumps([hit_record(hit, flags=flags) for hit in hits], ensure_ascii=False, indent=2) + "\n"


def _marked(snippet: str) -> Text:
    """The snippet with its marked matches in bold reverse (the marks themselves kept off screen)."""
    from rich.text import Text

    text = Text()
    rest = neutralise(snippet)
    while MARK_OPEN in rest and MARK_CLOSE in rest.split(MARK_OPEN, 1)[1]:
        before, after = rest.split(MARK_OPEN, 1)
        match, rest = after.split(MARK_CLOSE, 1)
        text.append(before)
        text.append(match, style="bold reverse")
    text.append(rest)
    return text


def print_hits(console: Console, hits: Sequence[Hit], title: str, *, flags: bool = False) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("Student", no_wrap=True)
    table.add_column("Session", no_wrap=True)
    table.add_column("Time", no_wrap=True)
    table.add_column("Matched" if flags else "Role", no_wrap=True)
    table.add_column("Snippet", overflow="fold")
    for hit in hits:
        message = hit.message
        table.add_row(
            _plain(message.student_id),
            _plain(message.session_id),
            local_time(message.created_at),
            _plain(", ".join(hit.matched)) if flags else message.role,
            _marked(hit.snippet),
        )
    console.print(table)


def watch_lines(phrases: Sequence[WatchPhrase]) -> str:
    return "".join(
        f"{neutralise(p.phrase)}\t{local_time(p.added_at)}"
        + (f"\t{neutralise(p.added_by)}" if p.added_by else "")
        + "\n"
        for p in phrases
    )
