"""Views: transcripts, session lists and the neutralising of terminal control sequences.

This module never touches the store: it is handed records and writes text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from tutor_cli.mathtext import opens_display, pending_start
from tutor_cli.pricing import PriceTable, UsageTotals, is_peak
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
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def local_time(timestamp: float) -> str:
    """Local time to the minute, for people."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def short_time(timestamp: float) -> str:
    """Local time to the minute, the year left out when it is this year's (for narrow tables)."""
    moment = time.localtime(timestamp)
    if moment.tm_year == time.localtime().tm_year:
        return time.strftime("%m-%d %H:%M", moment)
    return time.strftime("%Y-%m-%d", moment)


def short_count(number: int) -> str:
    """A count in at most six characters: 9,999 then 12.3k, 123k, 1.28M."""
    if number < 10_000:
        return f"{number:,}"
    if number < 1_000_000:
        return f"{number / 1000:.1f}k" if number < 100_000 else f"{number // 1000}k"
    return f"{number / 1_000_000:.2f}M" if number < 100_000_000 else f"{number // 1_000_000}M"


# --- transcripts ---------------------------------------------------------------------------


@dataclass
class Transcript:
    """Everything a transcript view shows: the session, its messages (read from the store as they
    are written out, so a long session never sits in memory whole), usage and prices."""

    session: SessionRecord
    messages: Iterable[MessageRecord]
    totals: UsageTotals
    prices: PriceTable

    def message_cost(self, message: MessageRecord) -> float | None:
        if not message.usage:
            return None
        return self.prices.cost(message.model, message.usage, is_peak(message.created_at))


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
        note = " (interrupted)" if message.interrupted else ""
        yield f"\nRole: {message.role}{note}\nMessage: {clean(message.content)}\n"
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
        note = " (interrupted)" if message.interrupted else ""
        yield f"\n\n## {ROLE_TITLES[message.role]} · {local_time(message.created_at)}{note}\n\n{clean(message.content)}"
    yield "\n"


def print_transcript(console: Console, transcript: Transcript, *, math: bool = True) -> None:
    """The readable terminal view: headed turns, the tutor's answers rendered as Markdown
    (with their mathematics drawn as Unicode when `math`)."""
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.rule import Rule
    from rich.text import Text

    session = transcript.session
    console.print(Text(f"Session {session.session_id} · student {session.student_id}", style="bold"))
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
        title = ROLE_TITLES[message.role] + (" (interrupted)" if message.interrupted else "")
        console.print(
            Rule(
                Text(f"{title} · {local_time(message.created_at)}"),
                align="left",
                style="cyan" if message.role == "user" else "green",
            )
        )
        if message.reasoning:
            console.print(Padding(Text(neutralise(message.reasoning), style="dim italic"), (0, 2)))
        if message.role == "assistant":
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
    if message.usage:
        document["usage"] = dict(message.usage)
        cost = transcript.message_cost(message)
        document["estimated_cost_usd"] = round(cost, 6) if cost is not None else None
    return document


# --- session lists ------------------------------------------------------------------------


def session_summary(session: SessionRecord, totals: UsageTotals) -> dict[str, Any]:
    """The JSON fields that describe a session in `sessions` and `show`."""
    return {
        "student_id": session.student_id,
        "session_id": session.session_id,
        "message_count": session.message_count,
        "created_at": iso_time(session.created_at),
        "last_used_at": iso_time(session.updated_at),
        "model": session.model,
        "usage": totals.as_json(),
    }


def sessions_json(sessions: Sequence[tuple[SessionRecord, UsageTotals]]) -> str:
    """A JSON list, most recently used first."""
    return json.dumps([session_summary(*pair) for pair in sessions], ensure_ascii=False, indent=2)


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

    # Ids get what the other columns leave (their cells' widths, a narrow Model, the gaps).
    room = console.width - 51
    if student_id is None:
        room -= id_column("Student", [s.student_id for s, _ in sessions], room // 2)
    id_column("Session", [s.session_id for s, _ in sessions], room, style="bold")
    table.add_column("Msgs", justify="right", no_wrap=True)
    table.add_column("Last used", no_wrap=True)
    table.add_column("Model", overflow="fold", min_width=5)
    table.add_column("Tokens", justify="right", no_wrap=True)
    table.add_column("Cached", justify="right", no_wrap=True)
    table.add_column("Cost", justify="right", no_wrap=True)
    for session, totals in sessions:
        tokens = totals.tokens["prompt_tokens"] + totals.tokens["completion_tokens"]
        share = totals.cache_hit_share
        table.add_row(
            *([neutralise(session.student_id)] if student_id is None else []),
            neutralise(session.session_id),
            str(session.message_count),
            short_time(session.updated_at),
            session.model or "",
            short_count(tokens) if tokens else "",
            f"{share:.0%}" if share is not None else "",
            f"${totals.cost:.4f}" if totals.priced else "",
        )
    console.print(table)


def make_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console honouring NO_COLOR and plain output when not a terminal."""
    from rich.console import Console

    return Console(file=file, stderr=stderr, highlight=False)


# --- answers: Markdown with mathematics ------------------------------------------------------

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_DISPLAY_SUFFIX = re.compile(r"[ \t]*([.,;:!?]?)[ \t]*(?:\n|$)")
DISPLAY_INDENT = 4


def answer_renderables(text: str, *, math: bool, width: int, final: bool = True) -> list[Any]:
    """An answer as rich renderables: Markdown, with its LaTeX mathematics cut out first (so
    Markdown never mangles it) and, when `math`, drawn as Unicode: display formulas as their own
    blocks of rows, inline ones in place, escaped for Markdown. A formula that cannot be drawn
    (or any, without `math`) shows its source exactly.
    With `final` False the text is still growing (see `mathtext.find_math`)."""
    from rich.cells import cell_len
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.text import Text

    from tutor_cli import mathtext

    # With math off (TUTOR_MATH=raw) formulas are still cut out, to show their source as written.
    spans = mathtext.find_math(text, final=final)
    if not spans:
        return [Markdown(text, code_theme=CODE_THEME)]
    parts: list[Any] = []
    markdown: list[str] = []
    position = 0

    def flush_markdown() -> None:
        chunk = "".join(markdown)
        markdown.clear()
        if chunk.strip():
            parts.append(Markdown(chunk, code_theme=CODE_THEME))

    for span in spans:
        line_start = text.rfind("\n", 0, span.start) + 1
        prefix = text[line_start : span.start]
        suffix = _DISPLAY_SUFFIX.match(text, span.end)
        if span.display and not prefix.strip() and suffix and line_start >= position:
            rows = mathtext.to_unicode(span.tex, True) if math else None
            indent = len(prefix.expandtabs()) + DISPLAY_INDENT
            if rows is not None and max(cell_len(row) for row in rows) + indent > width:
                line = mathtext.to_line(span.tex)
                rows = (line,) if line is not None else None
            if rows is None:
                rows, indent = tuple(text[span.start : span.end].splitlines()), len(prefix.expandtabs())
            markdown.append(text[position:line_start])
            flush_markdown()
            rows = (*rows[:-1], rows[-1] + suffix.group(1))
            parts.append(Padding(Text("\n".join(rows)), (1 if parts else 0, 0, 1, indent)))
            position = suffix.end()
            continue
        line = mathtext.to_line(span.tex) if math else None
        shown = line if line is not None else text[span.start : span.end]
        markdown.append(text[position : span.start])
        markdown.append(_MARKDOWN_PUNCTUATION.sub(r"\\\1", shown))
        position = span.end
    markdown.append(text[position:])
    flush_markdown()
    return parts


# --- streaming answers -----------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
MAX_LIVE_CHARS = 1500  # a tail longer than this is cut at a line end, so re-rendering stays cheap
MAX_LIVE_LINES = 12
PRINT_INTERVAL = 0.1  # seconds between two prints of finished blocks


class MarkdownBlocks:
    """Splits streamed Markdown into finished blocks (rendered once) and an unfinished tail.

    A block ends where a new unindented line follows a blank line outside a code fence. A
    code fence or paragraph that grows past the live limit is cut at a line end so that the
    live tail, re-rendered while it grows, stays small: the total cost stays linear.
    """

    def __init__(self) -> None:
        self.tail = ""
        self._fence: str | None = None  # the open fence marker, e.g. "```"
        self._display: str | None = None  # an open display formula's delimiter ("$$" or "\\[")
        self._fence_line = ""  # the line that opened it, repeated when a long fence is cut
        self._scan = 0  # tail offset up to which complete lines were examined

    def feed(self, text: str) -> list[str]:
        """Add text; return the blocks it finished."""
        self.tail += text
        finished: list[str] = []
        while True:
            end = self.tail.find("\n", self._scan)
            if end < 0:
                break
            line = self.tail[self._scan : end]
            line_start = self._scan
            self._scan = end + 1
            fence = _FENCE.match(line)
            if self._fence is not None:
                if (
                    fence
                    and fence.group(1)[0] == self._fence[0]
                    and len(fence.group(1)) >= len(self._fence)
                    and not line.strip()[len(fence.group(1)) :].strip()
                ):
                    self._fence = None
                    finished.append(self._cut(self._scan))
                elif self.tail.count("\n", 0, self._scan) > MAX_LIVE_LINES or self._scan > MAX_LIVE_CHARS:
                    finished.append(self._cut(self._scan) + self._fence + "\n")
                    self.tail = self._fence_line + "\n" + self.tail
                    self._scan = len(self._fence_line) + 1
                continue
            if fence:
                before = self.tail[:line_start]
                if before.strip():
                    finished.append(self._cut(line_start))
                    self._scan = end + 1 - line_start
                self._fence = fence.group(1)
                self._fence_line = line
                continue
            if line.strip() and not line[0].isspace() and self._scan - len(line) - 1 > 0:
                previous = self.tail[:line_start].rstrip(" \t")
                if previous.endswith("\n\n") and previous.strip():
                    finished.append(self._cut(line_start))
                    self._scan = end + 1 - line_start
                    self._display = opens_display(line, None)
                    continue
            self._display = opens_display(line, self._display)
            # A display formula is not cut while open (cut, it would show as source), unless it
            # grows far past the limit: a stray `$$` must not keep the whole answer live.
            display_open = self._display is not None and self._scan <= 4 * MAX_LIVE_CHARS
            if self._scan > MAX_LIVE_CHARS and line.strip() and not display_open:
                finished.append(self._cut(self._scan))
                self._display = None
        return finished

    def flush(self) -> str:
        """The rest, at the end of the answer."""
        rest, self.tail, self._scan, self._fence, self._display = self.tail, "", 0, None, None
        return rest

    def _cut(self, position: int) -> str:
        block, self.tail = self.tail[:position], self.tail[position:]
        self._scan -= position
        return block


class _LazyMarkdown:
    """Renders the live tail as Markdown only when the screen is refreshed, not on every chunk."""

    def __init__(self, view: LiveAnswerView) -> None:
        self._view = view
        self._cache: tuple[str, Any] | None = None

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.text import Text

        reasoning_tail = self._view.reasoning_tail
        if reasoning_tail:
            yield Text(reasoning_tail, style="dim italic")
        tail = self._view.unprinted
        if tail.strip():
            if self._cache is None or self._cache[0] != tail:
                parts = answer_renderables(tail, math=self._view.math, width=options.max_width, final=False)
                self._cache = (tail, parts)
            yield from self._cache[1]
        elif not reasoning_tail and self._view.waiting:
            yield self._view.spinner


CODE_THEME = "monokai"


class AnswerView:
    """Where a streamed answer goes. The plain version writes text as it arrives."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._ended_with_newline = True

    def start(self) -> None:
        """The request is on its way."""

    def reasoning(self, text: str) -> None:
        """Reasoning is not part of the plain answer."""

    def content(self, text: str) -> None:
        text = neutralise(text)
        if text:
            self.out.write(text)
            self.out.flush()
            self._ended_with_newline = text.endswith("\n")

    def finish(self, note: str | None = None) -> None:
        """The answer is complete (or was stopped): end the line."""
        if not self._ended_with_newline:
            self.out.write("\n")
            self._ended_with_newline = True
        self.out.flush()


class LiveAnswerView(AnswerView):
    """Terminal view: a spinner, then reasoning (dimmed) and Markdown blocks printed once each,
    with only the unfinished tail in a live region."""

    def __init__(self, console: Console, *, math: bool = True) -> None:
        super().__init__(console.file)
        self.console = console
        self.math = math  # draw LaTeX as Unicode (TUTOR_MATH=unicode)
        self.blocks = MarkdownBlocks()
        self.reasoning_tail = ""
        self.waiting = True
        self._finished: list[str] = []  # finished blocks not printed yet (printed in batches)
        self._last_print = 0.0
        self._live: Any = None
        self._shown_reasoning = False
        from rich.spinner import Spinner
        from rich.text import Text

        self.spinner = Spinner("dots", Text(" thinking…", style="dim"), style="cyan")

    def start(self) -> None:
        from rich.live import Live

        self._live = Live(
            _LazyMarkdown(self),
            console=self.console,
            refresh_per_second=12,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def reasoning(self, text: str) -> None:
        from rich.text import Text

        self.waiting = False
        self._shown_reasoning = True
        self.reasoning_tail += neutralise_keep_lines(text)
        if "\n" in self.reasoning_tail:
            done, self.reasoning_tail = self.reasoning_tail.rsplit("\n", 1)
            self._print(Text(done, style="dim italic"))

    def content(self, text: str) -> None:
        self.waiting = False
        self._end_reasoning()
        self._finished += self.blocks.feed(neutralise_keep_lines(text))
        # Printing finished blocks a few times a second, not one by one, keeps both the Markdown
        # parses and the live region's redraws (one per print) few.
        if self._finished and time.monotonic() - self._last_print >= PRINT_INTERVAL:
            self._print_finished()

    @property
    def unprinted(self) -> str:
        """Text received but not yet printed for good: shown in the live region. A formula that
        has not closed yet is held back, so no half-drawn math (or its source) flickers in and out."""
        tail = self.blocks.tail
        if self.math:
            held = pending_start(tail)
            if held is not None:
                tail = tail[:held]
        return "".join(self._finished) + tail

    def _print_finished(self) -> None:
        block, self._finished = "".join(self._finished), []
        self._last_print = time.monotonic()
        self._print_markdown(block)

    def finish(self, note: str | None = None) -> None:
        from rich.text import Text

        self._end_reasoning()
        rest = "".join(self._finished) + self.blocks.flush()
        self._finished = []
        if self._live is not None:
            self._live.stop()
            self._live = None
        if rest.strip():
            self._print_markdown(rest)
        if note:
            self.console.print(Text(note, style="dim"))

    def _end_reasoning(self) -> None:
        from rich.text import Text

        if self.reasoning_tail:
            tail, self.reasoning_tail = self.reasoning_tail, ""
            self._print(Text(tail, style="dim italic"))
        if self._shown_reasoning:
            self._shown_reasoning = False
            self._print(Text(""))

    def _print_markdown(self, block: str) -> None:
        if block.strip():
            for part in answer_renderables(block, math=self.math, width=self.console.width):
                self._print(part)

    def _print(self, renderable: Any) -> None:
        (self._live.console if self._live is not None else self.console).print(renderable)


def neutralise_keep_lines(text: str) -> str:
    """`neutralise`, with carriage returns of CRLF line ends dropped rather than lost silently."""
    return neutralise(text.replace("\r\n", "\n"))


def usage_line(usage: dict[str, int], model: str | None, prices: PriceTable) -> str:
    """The faint line after an answer: its tokens and estimated cost."""
    totals = UsageTotals()
    from tutor_cli.config import now

    totals.add(usage, prices.cost(model, usage, is_peak(now())))  # the time the answer is stored with
    return totals.describe()


def print_notice(console: Console, text: str, style: str = "yellow") -> None:
    """One line of status or error for the student (the text is shown literally)."""
    from rich.text import Text

    console.print(Text(text, style=style))
