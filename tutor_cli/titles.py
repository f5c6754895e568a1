"""Session titles and how a session is named on the command line: pure rules, no storage.

A session's title is its first question's opening words until the student sets another (`/title`).
A session is found by its whole id, or by an unambiguous prefix or suffix of it (`tutor show b188`).
"""

from __future__ import annotations

import re

MAX_TITLE = 120  # characters a title may have
DEFAULT_TITLE_CHARS = 48  # a default title's length, at most, cut at a word
CANDIDATES_SHOWN = 10  # an ambiguous id lists at most this many sessions

_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"[`*_#>]+")


def default_title(question: str) -> str | None:
    """The opening words of a question, on one line, cut at a word near DEFAULT_TITLE_CHARS
    (scripts without spaces, such as Chinese, are cut at the length); None for blank text."""
    text = _SPACE.sub(" ", _MARKUP.sub(" ", question)).strip()
    if not text:
        return None
    if len(text) <= DEFAULT_TITLE_CHARS:
        return text
    cut = text.rfind(" ", 0, DEFAULT_TITLE_CHARS + 1)
    if cut < DEFAULT_TITLE_CHARS // 2:
        cut = DEFAULT_TITLE_CHARS
    return text[:cut].rstrip(" ,;:.-") + "…"


def clean_title(title: str) -> str:
    """A title the student typed, on one line; ValueError (one sentence) when blank or too long."""
    text = _SPACE.sub(" ", title).strip() if isinstance(title, str) else ""
    if not text:
        raise ValueError("A title needs some text, for example `/title Quadratic equations`.")
    if len(text) > MAX_TITLE:
        raise ValueError(f"A title has at most {MAX_TITLE} characters; this one has {len(text):,}.")
    return text


def matching_ids(reference: str, ids: list[str]) -> list[str]:
    """The ids `reference` names: itself when it is a whole id, else every id it begins or ends,
    in the order given (the most recently used first)."""
    if reference in ids:
        return [reference]
    return [found for found in ids if found.startswith(reference) or found.endswith(reference)]
