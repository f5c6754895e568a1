"""The class database and a student's data: db migrate; admin add-student/add-teacher,
export-student, delete-student, purge, limit; and each student's own export and usage."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from tutor_cli.commands.common import (
    ListFormat,
    ListFormatOption,
    StudentOption,
    YesOption,
    app_context,
    confirm_destruction,
    examples,
    group,
)
from tutor_cli.errors import ConfigError
from tutor_cli.words import iso_time, plural

if TYPE_CHECKING:
    from tutor_cli.app import AppContext
    from tutor_cli.store.postgres import PostgresStore

commands = group()
db_app = group("The class database (PostgreSQL): set-up for administrators.")
admin_app = group("Accounts in the class database, for administrators.")


def _class_store(app: AppContext, *, migrate: bool = False) -> PostgresStore:
    """The class database, opened with the administrator's URL."""
    if not app.settings.database_url:
        raise ConfigError("Set TUTOR_DATABASE_URL (or --database-url) to the class database's administrator URL.")
    from tutor_cli.store.postgres import PostgresStore

    return PostgresStore(app.settings.database_url, migrate=migrate)


@db_app.command(
    "migrate", epilog=examples("TUTOR_DATABASE_URL=postgresql://admin:secret@dbhost/tutor tutor db migrate")
)
def db_migrate_command(ctx: typer.Context) -> None:
    """Create or upgrade the class database's tables, roles and row-level security."""
    from tutor_cli.store.postgres import MIGRATIONS

    store = _class_store(app_context(ctx), migrate=True)
    try:
        typer.echo(f"The class database is at schema version {store.schema_version()} of {len(MIGRATIONS)}.")
    finally:
        store.close()


PasswordOption = Annotated[
    Optional[str],
    typer.Option("--password", help="The new account's password (asked for when not given).", show_default=False),
]


def _add_member(app: AppContext, name: str, password: str | None, group: str, title: str) -> None:
    store = _class_store(app)
    try:
        if password is None:
            password = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
        if not password:
            raise typer.BadParameter("the password must not be empty", param_hint="--password")
        store.add_member(name, password, group)
    finally:
        store.close()
    typer.echo(f"{title} {name} can now sign in to the class database.")


@admin_app.command(
    "add-student", epilog=examples("tutor admin add-student ada", "tutor admin add-student ada --password 's3cret'")
)
def add_student_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The student's id (their database user).")],
    password: PasswordOption = None,
) -> None:
    """Create a student account that can see and change only its own sessions."""
    from tutor_cli.store.postgres import STUDENT_GROUP

    _add_member(app_context(ctx), name, password, STUDENT_GROUP, "Student")


@admin_app.command("add-teacher", epilog=examples("tutor admin add-teacher tess"))
def add_teacher_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The teacher's database user.")],
    password: PasswordOption = None,
) -> None:
    """Create a teacher account that can read every student's sessions and change none."""
    from tutor_cli.store.postgres import TEACHER_GROUP

    _add_member(app_context(ctx), name, password, TEACHER_GROUP, "Teacher")


# --- data rights and limits ---


@admin_app.command(
    "export-student",
    epilog=examples(
        "tutor admin export-student ada > ada.json", "tutor admin export-student ada | jq '.tables | keys'"
    ),
)
def export_student_command(
    ctx: typer.Context, student_id: Annotated[str, typer.Argument(help="The student's id.")]
) -> None:
    """Everything stored about a student, as one JSON document on standard output."""
    from tutor_cli import access, rights

    app = app_context(ctx)
    with app.open_manager() as manager:
        access.require_administrator(manager.store, "export a student's data")
        rights.check_student(manager.store, student_id)
        app.write_all(rights.export_document(manager.store, student_id))


@commands.command("export", epilog=examples("tutor export > my-tutor-data.json", "tutor export --student ada"))
def export_command(ctx: typer.Context, student: StudentOption = None) -> None:
    """Everything stored about you, as one JSON document on standard output."""
    from tutor_cli import access, rights

    app = app_context(ctx)
    with app.open_manager() as manager:
        access.require_own_export(manager.store)
        student_id = manager.resolve_student(student, app.settings.student, writing=False)
        rights.check_export(manager.store, student_id, named=student is not None)
        app.write_all(rights.export_document(manager.store, student_id))


@admin_app.command(
    "delete-student", epilog=examples("tutor admin delete-student ada", "tutor admin delete-student ada --yes")
)
def delete_student_command(
    ctx: typer.Context,
    student_id: Annotated[str, typer.Argument(help="The student's id.")],
    yes: YesOption = False,
) -> None:
    """Remove everything stored about a student, and their database account."""
    from tutor_cli import access, rights
    from tutor_cli.views import rights as rights_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        access.require_administrator(manager.store, "delete a student")
        rows = sum(rights.check_student(manager.store, student_id).values())
        question = f"Delete everything stored about {student_id} ({rows:,} rows) and their account?"
        confirm_destruction(app, question, yes)
        removed = rights.delete_student(manager.store, student_id)
    typer.echo(f"Deleted student {student_id}: {sum(removed.values()):,} rows removed.")
    typer.echo(rights_views.describe_counts(removed))


@admin_app.command(
    "purge",
    epilog=examples("tutor admin purge --older-than 365 --dry-run", "tutor admin purge --older-than 365 --yes"),
)
def purge_command(
    ctx: typer.Context,
    older_than: Annotated[
        int, typer.Option("--older-than", min=0, help="Remove sessions last used more than DAYS days ago.")
    ],
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed; remove nothing.")] = False,
) -> None:
    """Remove old sessions, with their messages and everything hanging off them."""
    from tutor_cli import access, rights
    from tutor_cli.views import rights as rights_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        access.require_administrator(manager.store, "purge sessions")
        cutoff = rights.purge_cutoff(older_than)
        planned = manager.store.count_old_sessions(cutoff)
        before = f"last used before {iso_time(cutoff)}"
        if not planned.get("sessions"):
            typer.echo(f"No sessions {before}; nothing to remove.")
            return
        if dry_run:
            typer.echo(f"Would remove {plural(planned['sessions'], 'session')} {before} (nothing was removed):")
            typer.echo(rights_views.describe_counts(planned))
            return
        sessions = plural(planned["sessions"], "session")
        confirm_destruction(app, f"Remove {sessions} {before}, with their messages?", yes)
        removed = rights.purge(manager.store, older_than)
    typer.echo(f"Removed {plural(removed.get('sessions', 0), 'session')} {before}:")
    typer.echo(rights_views.describe_counts(removed))


@admin_app.command(
    "limit",
    epilog=examples(
        "tutor admin limit --class --daily-questions 50 --daily-tokens 200000",
        "tutor admin limit --student ada --daily-questions 100",
        "tutor admin limit --student ada --daily-questions none     (ada follows the class again)",
    ),
)
def limit_command(
    ctx: typer.Context,
    student: Annotated[Optional[str], typer.Option("--student", "-s", help="The student's limits.")] = None,
    for_class: Annotated[bool, typer.Option("--class", help="The class-wide default.")] = False,
    daily_tokens: Annotated[
        Optional[str], typer.Option("--daily-tokens", help="Tokens a day (N, or none).", show_default=False)
    ] = None,
    daily_questions: Annotated[
        Optional[str], typer.Option("--daily-questions", help="Questions a day (N, or none).", show_default=False)
    ] = None,
) -> None:
    """Set (or, alone, show) daily limits for a student or the whole class; `none` lifts one."""
    from tutor_cli import access, rights
    from tutor_cli.views import rights as rights_views

    if (student is None) == (not for_class):
        raise typer.BadParameter("give either --student ID or --class", param_hint="--student/--class")
    tokens = rights.parse_limit(daily_tokens, "--daily-tokens")
    questions = rights.parse_limit(daily_questions, "--daily-questions")
    with app_context(ctx).open_manager() as manager:
        access.require_administrator(manager.store, "set limits")
        if student is not None and manager.store.has_accounts:
            rights.check_student(manager.store, student)
        usage = rights.set_limits(manager.store, student, tokens, questions)
    typer.echo(rights_views.describe_limits(usage, for_class=for_class))


@commands.command("usage", epilog=examples("tutor usage", "tutor usage --format json"))
def usage_command(
    ctx: typer.Context,
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Your daily limits and what you have used today (UTC)."""
    from tutor_cli import rights
    from tutor_cli.views import rights as rights_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, app.settings.student, writing=False)
        usage = rights.daily_usage(manager.store, student_id)
    if format is ListFormat.json:
        app.write(json.dumps(usage.as_json()) + "\n")
    else:
        typer.echo(rights_views.describe_usage(usage))
