"""Reading a student's or teacher's file as text: the one place that knows file formats.

Markdown, plain text and code are read as UTF-8 (a byte-order mark is dropped, line ends become
``\\n``); Markdown is cut into sections at its headings. A PDF is read with pypdf, one section per
page, keeping the page number. Everything that makes a file unusable (missing, a folder, binary,
not UTF-8, a PDF that cannot be parsed or has no text layer, nothing in it) is a
`DocumentError` whose message is one sentence naming the file.

Used by `tutor course add` (course materials) and `/attach` (one file into the next question).
pypdf is imported only when a PDF is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tutor_cli.errors import TutorError

PDF_MAGIC = b"%PDF-"
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
# Bytes that never appear in text: NUL and the C0 controls other than tab, newline, form feed, CR, ESC.
_BINARY_BYTES = frozenset(set(range(0, 32)) - {9, 10, 12, 13, 27})
_BINARY_SAMPLE = 8192
# ATX headings ("# Title", "## Title ##"); a fence opens or closes with ``` or ~~~.
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


class DocumentError(TutorError, ValueError):
    """A file that cannot be used as text; the message is one sentence naming it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")


@dataclass(frozen=True)
class Section:
    """A piece of a document: a PDF page, a Markdown section, or a whole text file.

    `page` is the 1-based page number of a PDF page; `heading` the Markdown heading the section
    starts with (None for text before the first heading and for other kinds).
    """

    text: str
    page: int | None = None
    heading: str | None = None

    @property
    def locator(self) -> str:
        """Where the section is in its file: ``p. 12``, ``§ Mitochondria``, or ``""``."""
        if self.page is not None:
            return f"p. {self.page}"
        if self.heading:
            return f"§ {self.heading}"
        return ""


@dataclass(frozen=True)
class Document:
    """A file read as text: its name (the file name, no folder), its kind, and its sections in order."""

    name: str
    kind: str  # "pdf" | "markdown" | "text"
    sections: tuple[Section, ...]

    @property
    def text(self) -> str:
        """The whole text, sections joined by blank lines."""
        return "\n\n".join(section.text for section in self.sections)

    def label(self, section: Section) -> str:
        """A section's label as a reader sees it: ``notes.pdf p. 12``, ``cells.md § Mitochondria``."""
        locator = section.locator
        return f"{self.name} {locator}" if locator else self.name


def read_document(path: str | Path, *, name: str | None = None) -> Document:
    """Read the file at `path`; `name` (default: the file's own name) labels it and its errors."""
    file = Path(path)
    label = name or file.name or str(path)
    if file.is_dir():
        raise DocumentError(label, "is a folder, not a file.")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise DocumentError(label, "no such file.") from None
    except OSError as exc:
        raise DocumentError(label, f"cannot be read ({exc.strerror or exc}).") from None
    return parse_document(label, data)


def parse_document(name: str, data: bytes) -> Document:
    """Turn a file's bytes into a `Document`; the kind comes from its content and its name's suffix."""
    if data.startswith(PDF_MAGIC) or (Path(name).suffix.lower() == ".pdf" and data[:1024].find(PDF_MAGIC) >= 0):
        return Document(name, "pdf", _pdf_sections(name, data))
    if Path(name).suffix.lower() == ".pdf":
        raise DocumentError(name, "is not a PDF file (it does not start with %PDF-).")
    text = _decode_text(name, data)
    if not text.strip():
        raise DocumentError(name, "is empty; there is nothing to read.")
    if Path(name).suffix.lower() in MARKDOWN_SUFFIXES:
        return Document(name, "markdown", markdown_sections(text))
    return Document(name, "text", (Section(text),))


def _decode_text(name: str, data: bytes) -> str:
    sample = data[:_BINARY_SAMPLE]
    if b"\x00" in sample or (sample and sum(byte in _BINARY_BYTES for byte in sample) > len(sample) // 100):
        raise DocumentError(name, "is a binary file, not text; give a text, Markdown, code or PDF file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            name, f"is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8 and try again."
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def markdown_sections(text: str) -> tuple[Section, ...]:
    """Cut Markdown at its headings (ATX `#` and setext underlines), never inside a fenced code block.

    Each section keeps its heading line as its first line; text before the first heading is a
    section with no heading. Sections with nothing but whitespace are dropped.
    """
    lines = text.split("\n")
    sections: list[Section] = []
    heading: str | None = None
    start = _front_matter_end(lines)
    fence: str | None = None

    def close(end: int) -> None:
        body = "\n".join(lines[start:end]).strip("\n")
        if body.strip():
            sections.append(Section(body, heading=heading))

    for index in range(start, len(lines)):
        line = lines[index]
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        match = _HEADING.match(line)
        if match:
            close(index)
            heading, start = _clean_heading(match.group(2)), index
            continue
        if _SETEXT.match(line) and _is_setext_text(lines, index, start):
            close(index - 1)
            heading, start = _clean_heading(lines[index - 1]), index - 1
    close(len(lines))
    return tuple(sections)


def _is_setext_text(lines: list[str], index: int, start: int) -> bool:
    """Whether the line above an `===`/`---` underline is a one-line paragraph, i.e. a heading's text."""
    if index == 0 or index - 1 < start:
        return False
    text = lines[index - 1]
    if not text.strip() or _HEADING.match(text) or _SETEXT.match(text) or _FENCE.match(text):
        return False
    above = lines[index - 2]  # a paragraph starts after a blank line, a fence or an ATX heading
    return index - 1 == start or not above.strip() or bool(_FENCE.match(above) or _HEADING.match(above))


def _front_matter_end(lines: list[str]) -> int:
    """The first line after a YAML front matter block (``---`` ... ``---`` at the very top), else 0."""
    if lines and lines[0].strip() == "---":
        for index in range(1, min(len(lines), 200)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


def _clean_heading(raw: str) -> str:
    text = re.sub(r"[*_`]+", "", raw).strip()
    return re.sub(r"\s+", " ", text)


def _pdf_sections(name: str, data: bytes) -> tuple[Section, ...]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        # A PDF locked only against editing opens with the empty password, as every viewer opens it.
        locked = reader.is_encrypted and not reader.decrypt("")
        pages = [] if locked else list(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise DocumentError(name, f"cannot be read as a PDF ({_short(exc)}).") from None
    if locked:
        raise DocumentError(name, "is a password-protected PDF; save an unprotected copy and try again.")
    if not pages:
        raise DocumentError(name, "is a PDF with no pages.")
    sections: list[Section] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - one broken page (bad font, bad stream) must not lose the rest
            text = ""
        text = _tidy_pdf_text(text)
        if text.strip():
            sections.append(Section(text, page=number))
    if not sections:
        raise DocumentError(
            name,
            f"is a PDF with no text layer on any of its {len(pages)} page(s) (a scan?); "
            "run OCR on it first, for example with ocrmypdf.",
        )
    return tuple(sections)


def _tidy_pdf_text(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    # Words hyphenated across a line end are joined again ("mito-\nchondria" -> "mitochondria").
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
