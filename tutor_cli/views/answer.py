"""Answers as they stream: Markdown with mathematics, printed block by block, and the usage line."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from tutor_cli.pricing import PriceTable, UsageTotals, is_peak
from tutor_cli.views.mathtext import opens_display, pending_start
from tutor_cli.views.text import neutralise, neutralise_keep_lines

if TYPE_CHECKING:
    from rich.console import Console


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

    from tutor_cli.views import mathtext

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

    def __init__(self, out: IO[str], notes: Callable[[str], None] | None = None) -> None:
        self.out = out
        self.notes = notes  # where the note after an answer goes (`tutor ask` to a pipe: standard error)
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
        """The answer is complete (or was stopped): end the line; the note (the `Sources:` line)
        goes to `notes`, never into the answer's own text."""
        if not self._ended_with_newline:
            self.out.write("\n")
            self._ended_with_newline = True
        self.out.flush()
        if note and self.notes is not None:
            self.notes(note)


class LiveAnswerView(AnswerView):
    """Terminal view: a spinner, then reasoning (dimmed) and Markdown blocks printed once each,
    with only the unfinished tail in a live region.

    The live region is erased and redrawn by moving the cursor up as many lines as rich last drew,
    so anything else that moves the cursor leaves a stale line behind (Ctrl-C used to leave the
    last screen line twice). Two things could: the terminal echoing `^C` (or keys typed ahead)
    after a line drawn to the last column, which wraps it; and Ctrl-C raising in the middle of a
    redraw, after the erase and before rich recorded the new height. So while the region is live
    the terminal does not echo, and Ctrl-C waits for the redraw under way to end (see `_drawing`)."""

    def __init__(self, console: Console, *, math: bool = True, thinking: bool | None = None) -> None:
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

        # "thinking…" only when thinking mode was asked for: otherwise the model is just answering.
        label = " thinking…" if thinking else " waiting for the answer…"
        self.spinner = Spinner("dots", Text(label, style="dim"), style="cyan")
        self._echo: _Echo | None = None
        self._previous_sigint: Any = None
        self._depth = 0  # redraws under way
        self._interrupt_pending = False

    def start(self) -> None:
        import signal
        import threading

        from rich.live import Live

        self._live = Live(
            _LazyMarkdown(self),
            console=self.console,
            refresh_per_second=12,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._echo = _Echo.off(self.console)
        if threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, self._on_sigint)
        with self._drawing():
            self._live.start()

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._depth:
            self._interrupt_pending = True  # raised when the redraw under way ends
        else:
            raise KeyboardInterrupt

    @contextmanager
    def _drawing(self) -> Iterator[None]:
        """A redraw of the live region, which Ctrl-C does not cut in two (it raises right after)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._interrupt_pending:
                self._interrupt_pending = False
                raise KeyboardInterrupt

    def _release_terminal(self) -> None:
        import signal

        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None
        if self._echo is not None:
            self._echo.restore()
            self._echo = None

    def reasoning(self, text: str) -> None:
        with self._drawing():
            self._reasoning(text)

    def _reasoning(self, text: str) -> None:
        from rich.text import Text

        self.waiting = False
        self._shown_reasoning = True
        self.reasoning_tail += neutralise_keep_lines(text)
        if "\n" in self.reasoning_tail:
            done, self.reasoning_tail = self.reasoning_tail.rsplit("\n", 1)
            self._print(Text(done, style="dim italic"))

    def content(self, text: str) -> None:
        with self._drawing():
            self._content(text)

    def _content(self, text: str) -> None:
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

        self._interrupt_pending = False  # finishing is what a pending Ctrl-C would have done
        try:
            self._end_reasoning()
            rest = "".join(self._finished) + self.blocks.flush()
            self._finished = []
            if self._live is not None:
                self._live.stop()  # erases the region: what it showed is printed once, below
                self._live = None
        finally:
            self._release_terminal()
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


class _Echo:
    """The terminal's echo, turned off while an answer is drawn live and restored after."""

    def __init__(self, fd: int, saved: list[Any]) -> None:
        self.fd, self.saved = fd, saved

    @classmethod
    def off(cls, console: Console) -> _Echo | None:
        """Stop echoing typed keys and ^C on the console's terminal; None when it is not one (or
        the platform has no termios). Typed-ahead keys are kept for the next prompt."""
        try:
            import termios
        except ImportError:
            return None
        try:
            fd = console.file.fileno()
            saved = termios.tcgetattr(fd)
            quiet = list(saved)
            quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
        except (AttributeError, OSError, ValueError, termios.error):
            return None
        return cls(fd, saved)

    def restore(self) -> None:
        import termios

        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
        except termios.error:
            pass


def usage_line(usage: dict[str, int], model: str | None, prices: PriceTable) -> str:
    """The faint line after an answer: its tokens and estimated cost."""
    totals = UsageTotals()
    from tutor_cli.config import now

    totals.add(usage, prices.cost(model, usage, is_peak(now())))  # the time the answer is stored with
    return totals.describe()
