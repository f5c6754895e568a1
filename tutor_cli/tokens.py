"""Token estimates without a tokenizer: what a message costs in a request.

Pure functions, used by the store (each message's count is kept with it) and by the context
window (what fits); calibrated per session against what the server reports.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

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


def estimated_usage(prompt_tokens: int, content: str, reasoning: str | None, scale: float = 1.0) -> dict[str, int]:
    """What an answer cost, estimated from its text, for servers that send no usage (llama.cpp's
    server ignores `include_usage`): the request's estimate in, the answer and its reasoning out,
    both in server tokens through the session's learned `scale`."""
    thought = round(estimate_tokens(reasoning or "") * scale)
    return {
        "prompt_tokens": round(prompt_tokens * scale),
        "completion_tokens": round(estimate_tokens(content) * scale) + thought,
        "reasoning_tokens": thought,
    }
