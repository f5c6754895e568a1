"""Views of data rights and limits: rows by table, limits and a day's use, as lines of text."""

from __future__ import annotations

from tutor_cli.rights import DailyUsage
from tutor_cli.store.rights import Limits
from tutor_cli.words import plural, until


def describe_counts(counts: dict[str, int]) -> str:
    """Rows by table, one line each, in the order given."""
    width = max((len(table) for table in counts), default=0)
    return "\n".join(f"  {table:<{width}}  {count:>12,}" for table, count in counts.items())


def describe_limits(usage: DailyUsage, *, for_class: bool = False) -> str:
    """The limits in force, in one line: for the class, or for a student (saying which are the class's)."""
    own, limits = usage.own or Limits(), usage.limits
    parts = []
    for label, value, mine in (
        ("questions", limits.daily_questions, own.daily_questions),
        ("tokens", limits.daily_tokens, own.daily_tokens),
    ):
        text = f"{plural(value, label[:-1])} a day" if value is not None else f"no {label[:-1]} limit"
        if not for_class and value is not None and mine is None:
            text += " (the class's)"
        parts.append(text)
    who = "The class" if for_class else usage.student_id
    return f"{who}: {parts[0]}, {parts[1]}."


def describe_usage(usage: DailyUsage) -> str:
    """A student's use today against the limits in force."""
    limits = usage.limits

    def against(used: int, limit: int | None) -> str:
        return f"{used:,} of {limit:,}" if limit is not None else f"{used:,} (no limit)"

    return (
        f"{usage.student_id}, today ({usage.day} UTC; resets at 00:00 UTC, {until(usage.resets_at)}):\n"
        f"  questions answered  {against(usage.questions, limits.daily_questions)}\n"
        f"  tokens              {against(usage.tokens, limits.daily_tokens)}"
    )
