"""Transcripts (text, Markdown, JSON, the rendered view) and session lists.

Views are handed records and write text; they never touch the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor_cli.pricing import PriceTable, UsageTotals, is_peak
from tutor_cli.store.records import MessageRecord, SessionRecord
from tutor_cli.views.answer import answer_renderables
from tutor_cli.views.text import json_document, local_time, neutralise, short_count, short_time
from tutor_cli.words import iso_time

if TYPE_CHECKING:
    from rich.console import Console

ROLE_TITLES = {"user": "Student", "assistant": "Tutor", "system": "System prompt"}


# --- transcripts ---------------------------------------------------------------------------


@dataclass
class Transcript:
    """Everything a transcript view shows: the session, its messages (read from the store as they
    are written out, so a long session never sits in memory whole), usage and prices."""

    session: SessionRecord
    messages: Iterable[MessageRecord]
    totals: UsageTotals
    prices: PriceTable
    # The course passages sent with each question, by message id (course materials).
    passages: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    def message_cost(self, message: MessageRecord) -> float | None:
        if not message.usage:
            return None
        return self.prices.cost(message.model, message.usage, is_peak(message.created_at))


WITHHELD_NOTE = (
    "This reply started to give the problem's answer away, so the student never saw it; its text is kept for"
    " the teacher (`tutor show --format json` or markdown, and the class report)."
)


def _notes(message: MessageRecord) -> str:
    """What a transcript's heading says about a message beyond its role and time."""
    return (" (interrupted)" if message.interrupted else "") + (
        " (withheld from the student)" if message.withheld else ""
    )


def transcript_json(transcript: Transcript) -> Iterator[str]:
    """One JSON object, in pieces: the session, its system prompt, summary, usage and every message."""
    session = transcript.session
    head = {
        **session_summary(session, transcript.totals),
        "system_prompt": session.system_prompt,
        "summary": _summary_json(session),
    }
    yield json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ',\n  "messages": ['
    # One message a line: json's C encoder runs only without `indent`, and 100,000 messages
    # then print in a fraction of the time (jq and every JSON reader see no difference).
    encode = _compact_encoder()
    separator = "\n    "
    for message in transcript.messages:
        yield separator + encode(_message_json(transcript, message))
        separator = ",\n    "
    yield ("\n  ]" if separator != "\n    " else "]") + "\n}\n"


def _compact_encoder() -> Callable[[Any], str]:
    """One-line JSON for one object. `JSONEncoder.encode` builds a new C encoder for every call;
    made once here (CPython's own fast path, with the public encoder as the fallback), it halves
    the cost of a 100,000-message transcript."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    fast = make(None, None, encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(fast(value, 0))


def _summary_json(session: SessionRecord) -> dict[str, Any] | None:
    if not session.summary:
        return None
    return {"text": session.summary, "covers_messages_before_id": session.summary_through + 1}


def transcript_text(transcript: Transcript, *, safe: bool) -> Iterator[str]:
    """The lesson's layout, in pieces: 'Role: …' / 'Message: …' for the system prompt and each message."""
    clean = neutralise if safe else str
    session = transcript.session
    yield f"Role: system\nMessage: {clean(session.system_prompt)}\n"
    for message in transcript.messages:
        yield f"\nRole: {message.role}{_notes(message)}\nMessage: {clean(message.content)}\n"
    if session.summary:
        yield f"\nSummary of earlier turns:\n{clean(session.summary)}\n"
    if transcript.totals.priced or transcript.totals.unpriced:
        yield f"\nUsage: {transcript.totals.describe()}\n"


def transcript_markdown(transcript: Transcript, *, safe: bool) -> Iterator[str]:
    """A Markdown document a teacher can read or publish, in pieces."""
    clean = neutralise if safe else str
    session = transcript.session
    lines = [
        f"# Session {session.session_id}",
        "",
        *([f"- Title: {clean(session.title)}"] if session.title else []),
        f"- Student: {session.student_id}",
        f"- Started: {local_time(session.created_at)}",
        f"- Last used: {local_time(session.updated_at)}",
        f"- Messages: {session.message_count}",
        f"- Usage: {transcript.totals.describe()}",
        "",
        "## System prompt",
        "",
        *(f"> {line}" if line else ">" for line in clean(session.system_prompt).splitlines()),
    ]
    if session.summary:
        lines += ["", "## Summary of earlier turns (what the tutor remembers of them)", "", clean(session.summary)]
    yield "\n".join(lines)
    for message in transcript.messages:
        title = f"{ROLE_TITLES[message.role]} · {local_time(message.created_at)}{_notes(message)}"
        yield f"\n\n## {title}\n\n{clean(message.content)}"
    yield "\n"


def print_transcript(console: Console, transcript: Transcript, *, math: bool = True) -> None:
    """The readable terminal view: headed turns, the tutor's answers rendered as Markdown
    (with their mathematics drawn as Unicode when `math`)."""
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.rule import Rule
    from rich.text import Text

    session = transcript.session
    title = f" · “{neutralise(session.title)}”" if session.title else ""
    console.print(Text(f"Session {session.session_id}{title} · student {session.student_id}", style="bold"))
    console.print(
        Text(
            f"{session.message_count} messages · started {local_time(session.created_at)}"
            f" · last used {local_time(session.updated_at)} · {transcript.totals.describe()}",
            style="dim",
        )
    )
    if session.summary:
        console.print(Rule(Text("Summary of earlier turns"), align="left", style="magenta"))
        console.print(Markdown(neutralise(session.summary)))
    for message in transcript.messages:
        title = ROLE_TITLES[message.role] + _notes(message)
        console.print(
            Rule(
                Text(f"{title} · {local_time(message.created_at)}"),
                align="left",
                style="cyan" if message.role == "user" else "green",
            )
        )
        if message.reasoning:
            console.print(Padding(Text(neutralise(message.reasoning), style="dim italic"), (0, 2)))
        if message.withheld:  # a terminal shows what the student saw: not the draft that gave the answer away
            console.print(Text(WITHHELD_NOTE, style="dim italic"))
        elif message.role == "assistant":
            for part in answer_renderables(neutralise(message.content), math=math, width=console.width):
                console.print(part)
        else:
            console.print(Text(neutralise(message.content)))


def _message_json(transcript: Transcript, message: MessageRecord) -> dict[str, Any]:
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
    if message.withheld:
        document["withheld"] = True
    if message.id in transcript.passages:
        document["passages"] = [{"label": label, "text": text} for label, text in transcript.passages[message.id]]
    if message.usage:
        document["usage"] = dict(message.usage)
        if message.usage_estimated:
            document["usage_estimated"] = True  # the server sent none: the tutor's estimate
        cost = transcript.message_cost(message)
        document["estimated_cost_usd"] = round(cost, 6) if cost is not None else None
    return document


# --- session lists ------------------------------------------------------------------------


def session_summary(session: SessionRecord, totals: UsageTotals) -> dict[str, Any]:
    """The JSON fields that describe a session in `sessions` and `show`."""
    return {
        "student_id": session.student_id,
        "session_id": session.session_id,
        "title": session.title,
        "message_count": session.message_count,
        "created_at": iso_time(session.created_at),
        "last_used_at": iso_time(session.updated_at),
        "model": session.model,
        "usage": totals.as_json(),
    }


def sessions_json(sessions: Sequence[tuple[SessionRecord, UsageTotals]]) -> str:
    """A JSON list, most recently used first."""
    return json_document([session_summary(*pair) for pair in sessions])


def print_sessions_table(
    console: Console, sessions: Sequence[tuple[SessionRecord, UsageTotals]], student_id: str | None
) -> None:
    """A table of sessions, most recently used first, with tokens and estimated cost
    (with a Student column when it lists every student: `student_id` None)."""
    from rich import box
    from rich.table import Table

    # Light chrome (a rule under the headers, no side borders) and short cells, so the columns fit
    # 80 terminal columns with every header whole. Ids keep every character (they are what the
    # student types next; a long one continues on a second line); when space runs out, Model wraps.
    table = Table(
        title=f"Sessions of {student_id or 'all students'}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )

    def id_column(header: str, values: list[str], room: int, style: str | None = None) -> int:
        width = min(max([len(header), *map(len, values)]), max(room, 20))  # 20: a generated id
        table.add_column(header, style=style, overflow="fold", width=width)
        return width + 2

    # Cached and Cost only when some session has a figure for them (a local model has neither),
    # which leaves a long model name (`qwen2.5-7b-instruct-q4_k_m.gguf`) room to wrap once at most.
    cached = any(not t.estimated and t.cache_hit_share is not None for _, t in sessions)
    priced = any(t.priced for _, t in sessions)
    models = [s.model or "" for s, _ in sessions]
    longest_model = max([5, *map(len, models)])
    # Msgs 4, Last used 11, Tokens 6, Cached 6, Cost 7; two columns between every two.
    fixed = 4 + 11 + 6 + (6 if cached else 0) + (7 if priced else 0) + 2 * (4 + cached + priced)
    students = max([7, *(len(s.student_id) for s, _ in sessions)]) + 2 if student_id is None else 0
    ids = max([7, *(len(s.session_id) for s, _ in sessions)]) + students
    # Every id whole first (what the student types next); the Model gets the rest, and at least
    # half its longest name (so it wraps once) when the ids can give that back down to 20 columns.
    model_width = min(longest_model, max(5, console.width - fixed - ids))
    half = -(-longest_model // 2)
    if model_width < half:
        model_width = min(half, max(model_width, console.width - fixed - min(ids, 20 + students)))
    room = console.width - fixed - model_width  # what the ids get
    if student_id is None:
        room -= id_column("Student", [s.student_id for s, _ in sessions], room // 2)
    id_column("Session", [s.session_id for s, _ in sessions], room, style="bold")
    table.add_column("Msgs", justify="right", no_wrap=True)
    table.add_column("Last used", no_wrap=True)
    table.add_column("Model", overflow="fold", min_width=model_width)
    table.add_column("Tokens", justify="right", no_wrap=True)
    if cached:
        table.add_column("Cached", justify="right", no_wrap=True)
    if priced:
        table.add_column("Cost", justify="right", no_wrap=True)
    from rich.text import Text

    for session, totals in sessions:
        tokens = totals.tokens["prompt_tokens"] + totals.tokens["completion_tokens"]
        share = None if totals.estimated else totals.cache_hit_share  # estimates know no cache hits
        # The title under the id, in the same cell: the table keeps its width at 80 columns.
        name = Text(neutralise(session.session_id), style="bold")
        if session.title:
            name.append("\n" + neutralise(session.title), style="dim")
        table.add_row(
            *([neutralise(session.student_id)] if student_id is None else []),
            name,
            str(session.message_count),
            short_time(session.updated_at),
            session.model or "",
            (("~" if totals.estimated else "") + short_count(tokens)) if tokens else "",
            *([f"{share:.0%}" if share is not None else ""] if cached else []),
            *([f"${totals.cost:.4f}" if totals.priced else ""] if priced else []),
        )
    console.print(table)
