"""Course materials on screen: the materials table, their JSON, the `Sources:` line and `/sources`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tutor_cli.views.text import json_document, local_time, neutralise
from tutor_cli.words import iso_time

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.store.course import MaterialRecord


def materials_json(materials: Sequence[MaterialRecord]) -> str:
    return json_document(
        [
            {
                "name": m.name,
                "passages": m.passages,
                "class": m.is_class,
                "added_at": iso_time(m.added_at),
                "kind": m.kind,
                "characters": m.chars,
            }
            for m in materials
        ]
    )


def print_materials(console: Console, materials: Sequence[MaterialRecord]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Course materials", title_justify="left")
    table.add_column("Name", style="bold")
    table.add_column("Kind", no_wrap=True)
    table.add_column("Passages", justify="right", no_wrap=True)
    table.add_column("Class", no_wrap=True)
    table.add_column("Added", no_wrap=True)
    for m in materials:  # names are shown literally: Text, not console markup
        table.add_row(
            Text(neutralise(m.name)), m.kind, str(m.passages), "class" if m.is_class else "", local_time(m.added_at)
        )
    console.print(table)


def print_passages(console: Console, passages: Sequence[tuple[str, str]]) -> None:
    """`/sources`: the passages sent with the last question, each under its label."""
    from rich.text import Text

    if not passages:
        console.print(Text("No course passages went with the last question.", style="dim"))
        return
    for label, text in passages:
        console.print(Text(f"[{neutralise(label)}]", style="bold"))
        console.print(Text(neutralise(text.strip())))
        console.print()
