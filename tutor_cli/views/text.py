"""What every view shares: neutralising terminal control sequences, times and counts for
people, the form of a JSON document, the console, a notice line."""

from __future__ import annotations

import json
import re
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

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


def neutralise_keep_lines(text: str) -> str:
    """`neutralise`, with carriage returns of CRLF line ends dropped rather than lost silently."""
    return neutralise(text.replace("\r\n", "\n"))


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


def json_document(data: object) -> str:
    """What every `--format json` prints: indented JSON, non-ASCII text as is, one final newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def make_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console honouring NO_COLOR and plain output when not a terminal."""
    from rich.console import Console

    return Console(file=file, stderr=stderr, highlight=False)


def print_notice(console: Console, text: str, style: str = "yellow") -> None:
    """One line of status or error for the student (the text is shown literally)."""
    from rich.text import Text

    console.print(Text(text, style=style))
