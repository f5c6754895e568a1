"""Views of practice: the deck list and the progress table with its 14-day activity bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor_cli.practice import activity_dates, recall_percent
from tutor_cli.views.text import json_document, local_time, neutralise
from tutor_cli.words import iso_time

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.store.records import DeckProgress, DeckRecord

BARS = " ▁▂▃▄▅▆▇█"


def activity_bar(counts: tuple[int, ...], peak: int) -> str:
    """One block character per day, its height the day's reviews against `peak`; '·' for none."""
    if peak <= 0:
        return "·" * len(counts)
    steps = len(BARS) - 1
    return "".join("·" if n == 0 else BARS[max(1, round(n / peak * steps))] for n in counts)


def print_decks(console: Console, decks: list[DeckRecord]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Decks", title_justify="left")
    table.add_column("Deck", style="bold")
    table.add_column("Cards", justify="right", no_wrap=True)
    table.add_column("Class", no_wrap=True)
    table.add_column("Created", no_wrap=True)
    for deck in decks:
        table.add_row(  # names are shown literally: Text, not console markup
            Text(neutralise(deck.name)), str(deck.cards), "class" if deck.is_class else "", local_time(deck.created_at)
        )
    console.print(table)


def print_progress(console: Console, rows: list[DeckProgress], student_id: str, now: float) -> None:
    from rich.table import Table
    from rich.text import Text

    dates = activity_dates(now)
    table = Table(title=Text(f"Progress of {neutralise(student_id)}"), title_justify="left")
    table.add_column("Deck", style="bold")
    table.add_column("Cards", justify="right", no_wrap=True)
    table.add_column("New", justify="right", no_wrap=True)
    table.add_column("Due", justify="right", no_wrap=True)
    table.add_column("7 days", justify="right", no_wrap=True)
    table.add_column("Recall", justify="right", no_wrap=True)
    table.add_column(f"{dates[0][5:]} … {dates[-1][5:]}", no_wrap=True, style="green")
    peak = max((n for row in rows for n in row.activity), default=0)
    for row in rows:
        table.add_row(
            Text(neutralise(row.deck) + (" (class)" if row.is_class else "")),
            str(row.cards),
            str(row.new),
            str(row.due),
            str(row.reviews_7d),
            "" if row.retrievability is None else recall_percent(row.retrievability),
            activity_bar(row.activity, peak),
        )
    console.print(table)
    total = sum(sum(row.activity) for row in rows)
    console.print(
        f"[dim]{total} review{'s' if total != 1 else ''} in the last 14 days; the bars are days, today last.[/]"
    )


def progress_json(rows: list[DeckProgress], now: float) -> str:
    dates = activity_dates(now)
    return json_document(
        [
            {
                "deck": row.deck,
                "class": row.is_class,
                "cards": row.cards,
                "new": row.new,
                "due": row.due,
                "reviews_7d": row.reviews_7d,
                "retrievability": None if row.retrievability is None else round(row.retrievability, 4),
                "activity_14d": [{"date": d, "reviews": n} for d, n in zip(dates, row.activity, strict=True)],
            }
            for row in rows
        ]
    )


def decks_json(decks: list[DeckRecord]) -> str:
    return json_document(
        [{"deck": d.name, "cards": d.cards, "class": d.is_class, "created_at": iso_time(d.created_at)} for d in decks]
    )
