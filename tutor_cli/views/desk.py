"""Views of the teacher's desk: the overview, search results and flags as tables, JSON and CSV.

Handed rows, writes text; never touches the store. Student text is neutralised (no terminal
control sequences) and printed without console markup.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tutor_cli.desk import MARK_CLOSE, MARK_OPEN, Hit, StudentRow
from tutor_cli.store.records import WatchPhrase
from tutor_cli.views.text import json_document, local_time, neutralise, short_count, short_time
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
    "tokens_estimated",
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
        "tokens_estimated": row.totals.estimated,
        "cost_usd": row.cost_usd,
        "cards_reviewed": row.cards_reviewed,
        "flags": row.flags,
    }


def overview_json(rows: Sequence[StudentRow]) -> str:
    return json_document([overview_record(row) for row in rows])


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

    # Short cells and light chrome so that every header stays whole at 80 columns (and in a pipe,
    # which rich lays out at 80); only the student's id may wrap. `~`: tokens the tutor estimated.
    title = "Class overview" + (f" since {local_time(since)}" if since is not None else "")
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True
    )
    table.add_column("Student", style="bold", overflow="fold", min_width=7)
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
            short_time(row.last_active) if row.last_active is not None else "",
            (("~" if row.totals.estimated else "") + short_count(row.tokens)) if row.tokens else "",
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
    return json_document([hit_record(hit, flags=flags) for hit in hits])


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
    """Found messages: the snippet gets the width (at least SNIPPET_MIN columns, all that is left
    at 120), the ids wrap inside their columns rather than squeeze it."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True
    )

    def longest(values: list[str], header: str, most: int) -> int:
        return min(max([len(header), *map(len, values)]), most)

    student = longest([h.message.student_id for h in hits], "Student", 12)
    what = longest([", ".join(h.matched) if flags else h.message.role for h in hits], "Role", 12)
    # Time takes 11 columns, and the four gaps between the five columns 2 each.
    room = console.width - student - 11 - what - 8
    session = max(8, min(longest([h.message.session_id for h in hits], "Session", 20), room - SNIPPET_MIN))
    table.add_column("Student", overflow="fold", width=student)
    table.add_column("Session", overflow="fold", width=session)
    table.add_column("Time", no_wrap=True)
    table.add_column("Matched" if flags else "Role", overflow="fold", width=what)
    table.add_column("Snippet", overflow="fold", width=max(SNIPPET_MIN, room - session))
    for hit in hits:
        message = hit.message
        table.add_row(
            _plain(message.student_id),
            _plain(message.session_id),
            short_time(message.created_at),
            _plain(", ".join(hit.matched)) if flags else message.role,
            _marked(hit.snippet),
        )
    console.print(table)


SNIPPET_MIN = 30  # columns a search snippet keeps however narrow the terminal


def watch_json(phrases: Sequence[WatchPhrase]) -> str:
    """The watch list as a JSON list of objects: `phrase`, `added_at` and `added_by`."""
    records = [{"phrase": p.phrase, "added_at": iso_time(p.added_at), "added_by": p.added_by or None} for p in phrases]
    return json_document(records)


def print_watch_list(console: Console, phrases: Sequence[WatchPhrase]) -> None:
    """The watch list as a table, like every other listing."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="Watch list", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
        collapse_padding=True,
    )  # fmt: skip
    table.add_column("Phrase", overflow="fold", ratio=1)
    table.add_column("Added", no_wrap=True)
    table.add_column("By", overflow="fold")
    for p in phrases:
        table.add_row(_plain(p.phrase), short_time(p.added_at), _plain(p.added_by or ""))
    console.print(table)
