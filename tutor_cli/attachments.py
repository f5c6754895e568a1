"""`/attach FILE`: a file's text, named, in a fenced block that goes into the next question.

Reading the file (text, Markdown, code; a PDF's text page by page) is documents.py's job; here is
only how the text goes into a question: the fence is longer than any run of backticks in the file,
so the file can never close it early, and a file of more than 200,000 characters is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tutor_cli.documents import Document, DocumentError, read_document
from tutor_cli.errors import TutorError
from tutor_cli.words import plural

MAX_CHARACTERS = 200_000
# UTF-8 needs at most 4 bytes a character: a text file larger than this is over the limit unread.
_MAX_TEXT_BYTES = 4 * MAX_CHARACTERS
_BACKTICK_RUN = re.compile(r"`+")


class AttachmentError(TutorError):
    """A file that cannot be attached; the message is one sentence, and nothing was sent."""


@dataclass(frozen=True)
class Attachment:
    """A file ready to go into a question."""

    name: str  # as the question names it
    block: str  # "name:" and the fenced text, exactly as sent
    characters: int  # of the file's text
    lines: int
    pages: int | None = None  # of a PDF

    def describe(self) -> str:
        """`notes.py (12 lines)`, `notes.pdf (3 pages)`."""
        if self.pages is not None:
            return f"{self.name} ({plural(self.pages, 'page')})"
        return f"{self.name} ({plural(self.lines, 'line')})"


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text` (at least three)."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def fenced(name: str, text: str, language: str = "") -> str:
    """`name:` then `text` in a fenced block that `text` cannot close."""
    fence = fence_for(text)
    return f"{name}:\n{fence}{language}\n{text}\n{fence}"


def read_attachment(path: str) -> Attachment:
    """Read the file the student named (as typed: `~` is expanded) into an `Attachment`.

    Raises AttachmentError when it cannot be read, is binary, empty, or over MAX_CHARACTERS.
    """
    file = Path(path).expanduser()
    # The question names the file as typed (relative paths tell the tutor where it sits);
    # an absolute or home path is cut to the file's name, so the student's folders stay private.
    name = path if not (Path(path).is_absolute() or path.startswith("~")) else file.name
    try:
        size = file.stat().st_size if file.is_file() else 0
    except OSError:
        size = 0  # read_document says why it cannot be read
    if size > _MAX_TEXT_BYTES and file.suffix.lower() != ".pdf":
        raise AttachmentError(f"{name} is over {MAX_CHARACTERS:,} characters, more than one question may hold.")
    try:
        document = read_document(file, name=name)
    except DocumentError as error:
        raise AttachmentError(str(error)) from None
    text = _text_of(document)
    if len(text) > MAX_CHARACTERS:
        raise AttachmentError(
            f"{name} has {len(text):,} characters, more than the {MAX_CHARACTERS:,} one question may hold."
        )
    pages = len(document.sections) if document.kind == "pdf" else None
    return Attachment(
        name=name,
        block=fenced(name, text, "" if pages is not None else _language(file.name)),
        characters=len(text),
        lines=text.count("\n") + 1,
        pages=pages,
    )


def _text_of(document: Document) -> str:
    """The text that is sent: a PDF page by page, each headed by its page number; else the file's text."""
    if document.kind == "pdf":
        return "\n\n".join(f"[{section.locator}]\n{section.text}" for section in document.sections)
    return document.text


def _language(file_name: str) -> str:
    """The fence's language for a file name (`python` for .py), from Pygments' list; "" when unknown."""
    from pygments.lexers import find_lexer_class_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = find_lexer_class_for_filename(file_name)
    except ClassNotFound:
        return ""
    if lexer is None or not lexer.aliases or lexer.aliases[0] == "text":
        return ""
    return lexer.aliases[0]


def split_argument(argument: str) -> tuple[str, str]:
    """`/attach FILE [QUESTION]`: the path (its first word, or a quoted path with spaces) and the question."""
    argument = argument.strip()
    if argument[:1] in ("'", '"'):
        end = argument.find(argument[0], 1)
        if end > 0:
            return argument[1:end], argument[end + 1 :].strip()
    path, _, question = argument.partition(" ")
    return path, question.strip()


def with_attachments(attachments: list[Attachment], question: str) -> str:
    """The question as sent and stored: each attached file's block, then the question."""
    return "\n\n".join([*(attachment.block for attachment in attachments), question.strip()]).strip()
