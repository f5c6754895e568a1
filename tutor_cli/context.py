"""The context budget: token estimates, models' context windows, and where a request's window starts.

No I/O here: the store supplies rows, the chat supplies the model's answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Context windows in tokens. DeepSeek's current models have 1M; the retired names had 128K.
CONTEXT_WINDOWS = {
    "deepseek-flash": 1_000_000,
    "deepseek-v4-flash": 1_000_000,
    "deepseek-v4-pro": 1_000_000,
    "deepseek-chat": 128_000,
    "deepseek-reasoner": 128_000,
}
DEFAULT_CONTEXT_WINDOW = 128_000  # unknown models: a 400 from the server teaches the real limit
TRIM_TO = 0.6  # when the window overflows, keep about this share of the budget: big, rare steps
MESSAGE_OVERHEAD = 4  # tokens the chat template adds per message

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_WORD = re.compile(r"[A-Za-z]+|\d+")
_SYMBOL = re.compile(r"[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Tokens in `text`, estimated without a tokenizer (and calibrated later against the server).

    Latin words cost about one token per four letters, digits one per three, each CJK character
    about 0.7, each symbol (frequent in code) one, other scripts about one per two characters.
    """
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    tokens = 0.7 * cjk
    latin_chars = 0
    for word in _WORD.findall(text):
        latin_chars += len(word)
        tokens += math.ceil(len(word) / (3 if word[0].isdigit() else 4))
    symbols = len(_SYMBOL.findall(text))
    tokens += symbols
    other = len(text) - cjk - latin_chars - symbols - text.count(" ")
    tokens += max(0, other) / 2
    return int(tokens) + 1


@lru_cache(maxsize=256)
def message_tokens(content: str) -> int:
    """Estimated tokens of one message, including the template's overhead.

    Cached: the system prompt and the summary are counted again for every request.
    """
    return estimate_tokens(content) + MESSAGE_OVERHEAD


def clip_to_tokens(text: str, max_tokens: int) -> str:
    """`text` cut at a line end so that it stays within about `max_tokens`."""
    if estimate_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    cut = text.rfind("\n", 0, low)
    return text[: cut if cut > low // 2 else low].rstrip() + "\n…"


def summary_limit(window: int) -> int:
    """The most tokens a summary may take in each request."""
    return max(200, min(2_000, window // 10))


def context_window(model: str, *, override: int | None = None, learned: int | None = None) -> int:
    """The model's context window: the user's override, else what a server said, else the table."""
    if override:
        return override
    if learned:
        return learned
    return CONTEXT_WINDOWS.get(model, DEFAULT_CONTEXT_WINDOW)


def reply_reserve(window: int) -> int:
    """Tokens kept free for the answer (and its reasoning)."""
    return min(32_000, window // 4)


@dataclass(frozen=True)
class Budget:
    """How many estimated tokens the window may hold, and how far a trim goes."""

    limit: int  # estimated tokens the messages may take in all
    target: int  # after a trim, at most this

    @classmethod
    def for_window(cls, window: int, fixed_tokens: int, scale: float) -> Budget:
        """Budget in *estimated* tokens for the turns, after the system prompt and summary."""
        usable = (window - reply_reserve(window)) / max(scale, 0.05)
        limit = max(0, int(usable) - fixed_tokens)
        return cls(limit=limit, target=int(usable * TRIM_TO) - fixed_tokens)


def choose_start(rows_newest_first: Iterable[tuple[int, str, int]], budget: Budget) -> int | None:
    """Where the window must start so the turns fit, or None when everything already fits.

    `rows_newest_first` gives (id, role, tokens) from the newest message back to the current
    window start; it is read only as far as needed. When the turns overflow the limit, the new
    start is the oldest user message whose turns fit in the target (never later than the newest
    question), so that the next requests can grow for a while before the next trim.
    """
    total = 0
    start_in_target: int | None = None
    newest_question: int | None = None
    for message_id, role, tokens in rows_newest_first:
        total += tokens
        if role == "user":
            newest_question = newest_question or message_id
            if total <= budget.target:
                start_in_target = message_id
        if total > budget.limit:
            return start_in_target or newest_question
    return None
