"""Token usage totals and their estimated cost from a per-model price table a user can override."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from tutor_cli.errors import ConfigError


class _Session(Protocol):
    @property
    def student_id(self) -> str: ...

    @property
    def session_id(self) -> str: ...


SessionT = TypeVar("SessionT", bound=_Session)  # a session record of the store; pricing needs only its key

# USD per 1M tokens at DeepSeek's peak rates (off-peak is half), as published for 2026-11.
# Peak hours: 01:00-04:00 and 06:00-10:00 UTC, Monday to Friday.
PEAK_PRICES: dict[str, dict[str, float]] = {
    "deepseek-flash": {"cache_hit": 0.006, "cache_miss": 0.30, "output": 1.20},
    "deepseek-v4-flash": {"cache_hit": 0.006, "cache_miss": 0.30, "output": 1.20},
    "deepseek-v4-pro": {"cache_hit": 0.044, "cache_miss": 1.32, "output": 3.96},
}
OFF_PEAK_FACTOR = 0.5
PEAK_HOURS_UTC = (1, 2, 3, 6, 7, 8, 9)
PEAK_WEEKDAYS = (0, 1, 2, 3, 4)  # Monday (0) to Friday

TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cache_hit_tokens", "cache_miss_tokens")


def is_peak(timestamp: float) -> bool:
    """Whether DeepSeek bills `timestamp` at peak rates."""
    moment = time.gmtime(timestamp)
    return moment.tm_wday in PEAK_WEEKDAYS and moment.tm_hour in PEAK_HOURS_UTC


def peak_sql(weekday: str, hour: str) -> str:
    """The same rule as `is_peak`, as an SQL condition over a backend's weekday (Monday 0) and
    hour expressions: the store sums usage by peak and off-peak without reading every message."""
    days = ", ".join(map(str, PEAK_WEEKDAYS))
    hours = ", ".join(map(str, PEAK_HOURS_UTC))
    return f"({weekday} IN ({days}) AND {hour} IN ({hours}))"


@dataclass
class PriceTable:
    """Prices per model: DeepSeek's own, replaced per model by the user's `prices.json`."""

    peak: dict[str, dict[str, float]] = field(default_factory=lambda: dict(PEAK_PRICES))
    flat: dict[str, dict[str, float]] = field(default_factory=dict)  # user prices: no peak/off-peak

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        """DeepSeek's prices, overridden by `path` (JSON: {model: {cache_hit, cache_miss, output}} USD/1M)."""
        table = cls()
        if path is None or not path.exists():
            return table
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for model, prices in data.items():
                table.flat[model] = {name: float(prices[name]) for name in ("cache_hit", "cache_miss", "output")}
                table.peak.pop(model, None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError(
                f"Cannot read the price file {path}: it must be JSON like "
                '{"my-model": {"cache_hit": 0.01, "cache_miss": 0.3, "output": 1.2}} (USD per 1M tokens).'
            ) from None
        return table

    def prices(self, model: str | None, peak: bool) -> dict[str, float] | None:
        """USD per 1M tokens for the model at that time, or None when unknown."""
        if model in self.flat:
            return self.flat[model]
        if model in self.peak:
            factor = 1.0 if peak else OFF_PEAK_FACTOR
            return {name: value * factor for name, value in self.peak[model].items()}
        return None

    def cost(self, model: str | None, usage: Mapping[str, int], peak: bool) -> float | None:
        """Estimated USD for one answer's usage, or None when the model's price is unknown."""
        prices = self.prices(model, peak)
        if prices is None:
            return None
        prompt = usage.get("prompt_tokens", 0)
        hit = usage.get("cache_hit_tokens", 0)
        miss = usage.get("cache_miss_tokens", prompt - hit)
        return (
            hit * prices["cache_hit"]
            + miss * prices["cache_miss"]
            + usage.get("completion_tokens", 0) * prices["output"]
        ) / 1_000_000


@dataclass
class UsageTotals:
    """Token totals over answers, with the estimated cost of those whose price is known."""

    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    cost: float = 0.0
    priced: bool = False  # at least one answer had a known price
    unpriced: bool = False  # at least one answer had tokens but no known price
    estimated: bool = False  # at least one answer's tokens are the tutor's estimate (no usage sent)

    def add(self, usage: Mapping[str, int], cost: float | None, *, estimated: bool = False) -> None:
        self.estimated = self.estimated or estimated
        for name in TOKEN_FIELDS:
            self.tokens[name] += int(usage.get(name) or 0)
        if cost is not None:
            self.cost += cost
            self.priced = True
        elif any(usage.get(name) for name in TOKEN_FIELDS):
            self.unpriced = True

    @property
    def cache_hit_share(self) -> float | None:
        """Share of prompt tokens served from DeepSeek's context cache."""
        prompt = self.tokens["prompt_tokens"]
        hit, miss = self.tokens["cache_hit_tokens"], self.tokens["cache_miss_tokens"]
        if not prompt or not (hit or miss):  # a server that reports no cache figures has no share
            return None
        return hit / prompt

    def as_json(self) -> dict[str, object]:
        share = self.cache_hit_share
        return {
            **self.tokens,
            "cache_hit_share": round(share, 4) if share is not None else None,
            "estimated_cost_usd": round(self.cost, 6) if self.priced else None,
            "tokens_estimated": self.estimated,
        }

    def describe(self) -> str:
        """One line for people: tokens in (cached share), out (reasoning), estimated cost."""
        t = self.tokens
        parts = [f"{'~' if self.estimated else ''}{t['prompt_tokens']:,} tokens in"]
        if self.cache_hit_share is not None:
            parts[-1] += f" ({self.cache_hit_share:.0%} cached)"
        out = f"{t['completion_tokens']:,} out"
        if t["reasoning_tokens"]:
            out += f" ({t['reasoning_tokens']:,} reasoning)"
        parts.append(out)
        if self.priced:
            parts.append(f"~${self.cost:.4f}" + (" + unpriced models" if self.unpriced else ""))
        else:
            parts.append("cost unknown for this model")
        if self.estimated:
            parts.append("tokens estimated (the server sent no counts)")
        return " · ".join(parts)


def totals_by_session(rows: Iterable[tuple], table: PriceTable) -> dict[tuple[str, str], UsageTotals]:
    """UsageTotals per (student, session) from the store's usage rows
    (student, session, model, peak, prompt, completion, reasoning, cache hit, cache miss, estimated)."""
    return totals_by_key(rows, table, 2)  # type: ignore[return-value]


def totals_by_key(rows: Iterable[tuple], table: PriceTable, width: int) -> dict[tuple, UsageTotals]:
    """The one place usage rows become totals: the first `width` columns of each row are its key
    (student and session, or student alone), then model, peak, the token sums and whether any of
    them holds the tutor's estimate (a server that sent no usage)."""
    totals: dict[tuple, UsageTotals] = {}
    for row in rows:
        key, (model, peak, *sums, estimated) = tuple(row[:width]), row[width:]
        usage = {name: int(value) for name, value in zip(TOKEN_FIELDS, sums, strict=True) if value is not None}
        cost = table.cost(model, usage, bool(peak))
        totals.setdefault(key, UsageTotals()).add(usage, cost, estimated=bool(estimated))
    return totals


def sessions_with_totals(
    sessions: Iterable[SessionT], totals: Mapping[tuple[str, str], UsageTotals]
) -> list[tuple[SessionT, UsageTotals]]:
    """Each session with its totals (empty ones for a session without answers), for the session
    lists of `tutor sessions` and `/sessions` alike."""
    return [(s, totals.get((s.student_id, s.session_id)) or UsageTotals()) for s in sessions]
