"""The teacher's desk: class overview/flags/report, search, and the watch list (under `admin`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from tutor_cli.commands.common import (
    ListFormat,
    ListFormatOption,
    StudentOption,
    app_context,
    examples,
    group,
    print_listing,
)

commands = group()
class_app = group("The teacher's desk: the class at a glance, flagged messages, an HTML report.")
watch_app = group("The watch list: words and phrases that flag a student's message for a teacher.")


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


SinceOption = Annotated[
    Optional[str],
    typer.Option("--since", help="Count only activity from this UTC date (2026-11-01) on.", show_default=False),
]


@class_app.command(
    "overview",
    epilog=examples(
        "tutor class overview",
        "tutor class overview --since 2026-11-01 --format csv > week.csv",
        "tutor class overview --format json | jq '.[] | select(.flags > 0)'",
    ),
)
def class_overview_command(
    ctx: typer.Context,
    since: SinceOption = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table, json or csv.")] = TableFormat.table,
) -> None:
    """One row per student: sessions, questions, last active, tokens, cost, cards reviewed, flags."""
    from tutor_cli import desk
    from tutor_cli.views import desk as desk_views

    app = app_context(ctx)
    start = desk.parse_since(since)
    with app.open_manager() as manager:
        rows = desk.overview(manager.store, app.prices, start)
    if format is TableFormat.csv:
        app.write(desk_views.overview_csv(rows))
        return
    print_listing(
        app,
        format is TableFormat.json,
        rows,
        lambda: desk_views.overview_json(rows),
        "No student activity" + (" since then." if start is not None else " yet."),
        lambda console: desk_views.print_overview(console, rows, start),
    )


@commands.command(
    "search",
    epilog=examples(
        "tutor search derivative",
        'tutor search "chain rule" --format json',
        "tutor search 方程 --student ada          (a teacher, in a class database)",
    ),
)
def search_command(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(help="Words a message must all hold (quote a phrase).")],
    student: StudentOption = None,
    all_students: Annotated[
        bool, typer.Option("--all-students", help="Every student's messages (the default for a teacher).")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many messages.")] = 50,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Find messages holding the words (any language, case-insensitive), newest first."""
    from tutor_cli import access, desk
    from tutor_cli.views import desk as desk_views

    if all_students and student is not None:
        raise typer.BadParameter("use either --student or --all-students", param_hint="--all-students")
    app = app_context(ctx)
    terms = desk.search_terms(words)
    with app.open_manager() as manager:
        student_id = access.search_scope(manager.store, student, app.settings.student, all_students=all_students)
        hits = desk.search(manager.store, terms, student_id, limit)
    print_listing(
        app,
        format is ListFormat.json,
        hits,
        lambda: desk_views.hits_json(hits),
        f"No messages{f' of {student_id}' if student_id else ''} hold {' + '.join(terms)}.",
        lambda console: desk_views.print_hits(console, hits, f"Messages holding {' + '.join(terms)}, newest first"),
    )


@class_app.command("flags", epilog=examples("tutor class flags", "tutor class flags --format json"))
def class_flags_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many messages.")] = 200,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Student messages holding a phrase on the watch list, newest first (teachers only)."""
    from tutor_cli import desk
    from tutor_cli.views import desk as desk_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        hits = desk.flags(manager.store, limit)
    print_listing(
        app,
        format is ListFormat.json,
        hits,
        lambda: desk_views.hits_json(hits, flags=True),
        "No flagged messages.",
        lambda console: desk_views.print_hits(console, hits, "Flagged messages, newest first", flags=True),
    )


@class_app.command(
    "report",
    epilog=examples(
        "tutor class report --html report/ && xdg-open report/index.html",
        "tutor class report --html ada-report/ --student ada",
    ),
)
def class_report_command(
    ctx: typer.Context,
    html: Annotated[
        Path, typer.Option("--html", help="Folder to write the site into (created if needed).", file_okay=False)
    ],
    student: Annotated[
        Optional[str], typer.Option("--student", "-s", help="Only this student.", show_default=False)
    ] = None,
) -> None:
    """Write a static HTML site: overview and activity chart, a page per student and per session."""
    from tutor_cli.views import report

    app = app_context(ctx)
    with app.open_manager() as manager:
        location = str(app.settings.store_location())
        written = report.write_site(manager.store, app.prices, html, student, location=location)
    typer.echo(f"Wrote {written.pages} pages to {html}; open {written.index}")


WatchPhraseArgument = Annotated[str, typer.Argument(help="A word or phrase (quote it); case does not matter.")]


@watch_app.command("add", epilog=examples("tutor admin watch add 'hurt myself'", "tutor admin watch add cheat"))
def watch_add_command(ctx: typer.Context, phrase: WatchPhraseArgument) -> None:
    """Flag every student message (earlier ones too) that holds this word or phrase."""
    from tutor_cli import desk

    with app_context(ctx).open_manager() as manager:
        phrase, added = desk.add_watch(manager.store, phrase)
    typer.echo(f"Watching for {phrase!r}." if added else f"{phrase!r} was already on the watch list.")


@watch_app.command("remove", epilog=examples("tutor admin watch remove cheat"))
def watch_remove_command(ctx: typer.Context, phrase: WatchPhraseArgument) -> None:
    """Stop watching for a word or phrase (its flags go with it)."""
    from tutor_cli import desk

    with app_context(ctx).open_manager() as manager:
        phrase = desk.remove_watch(manager.store, phrase)
    typer.echo(f"No longer watching for {phrase!r}.")


@watch_app.command("list", epilog=examples("tutor admin watch list", "tutor admin watch list --format json"))
def watch_list_command(ctx: typer.Context, format: ListFormatOption = ListFormat.table) -> None:
    """The watched words and phrases, with when (and by whom) each was added."""
    from tutor_cli import access
    from tutor_cli.views import desk as desk_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        access.require_teaching_side(manager.store, "The watch list")
        phrases = manager.store.watch_phrases()
    print_listing(
        app,
        format is ListFormat.json,
        phrases,
        lambda: desk_views.watch_json(phrases),
        "The watch list is empty; add to it with `tutor admin watch add PHRASE`.",
        lambda console: desk_views.print_watch_list(console, phrases),
    )
