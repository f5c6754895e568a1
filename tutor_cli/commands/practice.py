"""Practice: deck import/list/delete, review (the FSRS screen), progress."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from tutor_cli.commands.common import (
    ListFormat,
    ListFormatOption,
    ModelOption,
    StudentOption,
    YesOption,
    app_context,
    confirm,
    examples,
    give_up,
    group,
    print_listing,
)
from tutor_cli.errors import ConfigError

commands = group()
deck_app = group("Decks of cards to practise with `tutor review`.")

ClassDeckOption = Annotated[
    bool, typer.Option("--class", help="A class deck (a teacher or the administrator, in a class database).")
]


@deck_app.command(
    "import",
    epilog=examples(
        "tutor deck import algebra.csv                 deck 'algebra'",
        "tutor deck import words.tsv --deck spanish",
        "tutor deck import week1.csv --class           (a teacher: every student reviews it)",
    ),
)
def deck_import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A UTF-8 CSV or TSV file whose header names question, answer (topic).")],
    deck: Annotated[
        Optional[str], typer.Option("--deck", "-d", help="Deck name (default: the file's name).", show_default=False)
    ] = None,
    class_deck: ClassDeckOption = False,
    student: StudentOption = None,
) -> None:
    """Import cards into a deck: the whole file or nothing; cards already there are skipped."""
    from tutor_cli import access, practice
    from tutor_cli.config import now

    app = app_context(ctx)
    name = practice.check_deck_name(deck if deck is not None else file.stem)
    cards = practice.read_deck_file(file)
    with app.open_manager() as manager:
        owner = access.deck_owner(manager.store, student, app.settings.student, class_deck=class_deck)
        added, present = practice.import_deck(manager.store, owner, name, cards, now())
    kept = f" ({present} already there)" if present else ""
    typer.echo(
        f"Imported {added} card{'s' if added != 1 else ''} into {'class ' if class_deck else ''}deck {name}{kept}."
    )


@deck_app.command("list", epilog=examples("tutor deck list", "tutor deck list --format json"))
def deck_list_command(
    ctx: typer.Context,
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """List your decks and your class's, with their card counts."""
    from tutor_cli import access
    from tutor_cli.views import practice as practice_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        decks = manager.store.list_decks(access.deck_reader(manager.store, student, app.settings.student))
    print_listing(
        app,
        format is ListFormat.json,
        decks,
        lambda: practice_views.decks_json(decks),
        "No decks yet; import one with `tutor deck import FILE`.",
        lambda console: practice_views.print_decks(console, decks),
    )


@deck_app.command("delete", epilog=examples("tutor deck delete algebra", "tutor deck delete week1 --class --yes"))
def deck_delete_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The deck to delete.", show_default=False)],
    class_deck: ClassDeckOption = False,
    student: StudentOption = None,
    yes: YesOption = False,
) -> None:
    """Delete a deck, its cards and every review of them."""
    from tutor_cli import access, practice

    app = app_context(ctx)
    kind = "class deck" if class_deck else "deck"
    with app.open_manager() as manager:
        owner = access.deck_owner(manager.store, student, app.settings.student, class_deck=class_deck)
        size = manager.store.deck_size(owner, name)
        if size is None:
            raise practice.DeckNotFoundError(f"There is no {kind} {name!r}; `tutor deck list` shows the decks.")
        if not yes and not confirm(app, f"Delete {kind} {name} ({size} cards and their reviews)?"):
            raise give_up("Nothing was deleted.")
        manager.store.delete_deck(owner, name)
    typer.echo(f"Deleted deck {name} ({size} cards).")


@commands.command("review", epilog=examples("tutor review", "tutor review --deck algebra --limit 20"))
def review_command(
    ctx: typer.Context,
    deck: Annotated[
        Optional[str], typer.Option("--deck", "-d", help="Only this deck (default: every deck).", show_default=False)
    ] = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", "-n", min=1, help="At most this many cards.", show_default=False)
    ] = None,
    student: StudentOption = None,
    model: ModelOption = None,
) -> None:
    """Review the cards that are due (new ones included), scheduled by FSRS."""
    from tutor_cli import practice
    from tutor_cli.config import now
    from tutor_cli.screens.review import ReviewSession

    app = app_context(ctx)
    settings = app.settings
    if not (app.stdin_is_terminal and app.stdout_is_terminal):
        raise ConfigError("`tutor review` needs a terminal; `tutor progress` shows what is due from a script.")
    client = app.chat_client_if_configured()
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, settings.student, writing=True)
        ReviewSession(
            store=manager.store,
            scheduler=practice.scheduler(fixed_clock=bool(os.environ.get("TUTOR_NOW"))),
            console=app.console(),
            student_id=student_id,
            clock=now,
            client=client,
            model=model or settings.model,
            thinking=settings.thinking,
            deck=deck,
            limit=limit,
        ).run()


@commands.command(
    "progress",
    epilog=examples("tutor progress", "tutor progress --format json", "tutor progress --student ada   (a teacher)"),
)
def progress_command(
    ctx: typer.Context,
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Per deck: cards, new, due, reviews in the last 7 days, recall probability, 14-day activity."""
    from tutor_cli import practice
    from tutor_cli.config import now
    from tutor_cli.views import practice as practice_views

    app = app_context(ctx)
    moment = now()
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, app.settings.student, writing=False)
        rows = practice.progress(manager.store, practice.scheduler(fixed_clock=True), student_id, moment)
    print_listing(
        app,
        format is ListFormat.json,
        rows,
        lambda: practice_views.progress_json(rows, moment),
        f"No decks yet for {student_id}; import one with `tutor deck import FILE`.",
        lambda console: practice_views.print_progress(console, rows, student_id, moment),
    )
