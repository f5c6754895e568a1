"""How times and counts are written, for messages and views alike (the one home of each)."""

from __future__ import annotations

import time


def iso_time(timestamp: float) -> str:
    """UTC ISO-8601 with seconds, as used in JSON output and messages: 2026-11-01T09:30:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def plural(count: int, word: str) -> str:
    """`3 sessions`, `1 session`, `1,204 messages`."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def until(moment: float) -> str:
    """How long from now until `moment`, to the minute (at least one): `in 2 h 5 min`."""
    from tutor_cli.config import now

    minutes = max(1, int((moment - now()) // 60))
    hours, minutes = divmod(minutes, 60)
    return f"in {hours} h {minutes} min" if hours else f"in {minutes} min"
