"""The `tutor` command: parse options, build objects, delegate. Errors become exit codes here."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from tutor_cli import __version__
from tutor_cli.config import Settings, read_system_prompt
from tutor_cli.errors import ConfigError, ExitStatus, TutorError

if TYPE_CHECKING:  # imported for real only inside the commands that need them
    from rich.console import Console

    from tutor_cli.chat import Conversation
    from tutor_cli.pricing import PriceTable, UsageTotals
    from tutor_cli.profile import BackgroundUpdates
    from tutor_cli.render import Transcript
    from tutor_cli.sessions import SessionManager
    from tutor_cli.store import SessionRecord


def _examples(*lines: str) -> str:
    # "\b" keeps click from re-wrapping the example lines.
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


app = typer.Typer(
    name="tutor",
    help="A patient personal tutor in your terminal. Every session is kept.",
    epilog=_examples(
        "tutor                      start chatting (a new session)",
        "tutor chat -c              continue your most recent session",
        'tutor ask "What is a derivative?"',
        "tutor sessions             list your sessions",
        "tutor show SESSION         print a transcript",
    ),
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help keeps `tutor --help` fast: rich is not imported for it
    context_settings={"help_option_names": ["-h", "--help"]},
)


StudentOption = Annotated[
    Optional[str],
    typer.Option(
        "--student", "-s", help="Student id (default: $TUTOR_STUDENT, else your login name).", show_default=False
    ),
]
PromptFileOption = Annotated[
    Optional[Path],
    typer.Option(
        "--system-prompt",
        help="File holding the system prompt (default: the tutor's own).",
        dir_okay=False,
        show_default=False,
    ),
]


class TranscriptFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class ListFormat(str, Enum):
    table = "table"
    json = "json"


ListFormatOption = Annotated[ListFormat, typer.Option("--format", "-f", help="table or json.")]


_database_url_option: str | None = None  # --database-url, set by the root callback


def _settings() -> Settings:
    settings = Settings.from_environment()
    if _database_url_option:
        from dataclasses import replace

        from tutor_cli.config import parse_database_url

        settings = replace(settings, database_url=parse_database_url(_database_url_option))
    return settings


def _student(settings: Settings, option: str | None, manager: SessionManager, *, writing: bool) -> str:
    """Whose sessions: --student, else TUTOR_STUDENT, else the login name (the class rule decides
    in a class database: `SessionManager.resolve_student`)."""
    return manager.resolve_student(option, settings.student, writing=writing)


def open_manager(settings: Settings) -> SessionManager:
    """The SessionManager: the class database when TUTOR_DATABASE_URL is set, else tutor.db at home."""
    from tutor_cli.sessions import SessionManager

    if settings.database_url:
        return SessionManager(settings.database_url)
    settings.ensure_home()
    return SessionManager(settings.database_path)


def prices(settings: Settings) -> PriceTable:
    """DeepSeek's prices, with the user's overrides from prices.json in the home folder."""
    from tutor_cli.pricing import PriceTable

    return PriceTable.load(settings.home / "prices.json")


def _transcript(settings: Settings, manager: SessionManager, record: SessionRecord) -> Transcript:
    from tutor_cli.render import Transcript

    table = prices(settings)
    return Transcript(
        record,
        manager.store.iter_messages(record.student_id, record.session_id),
        manager.session_totals(table, record.student_id, record.session_id),
        table,
    )


def _with_totals(
    settings: Settings, manager: SessionManager, sessions: list[SessionRecord], student_id: str | None
) -> list[tuple[SessionRecord, UsageTotals]]:
    from tutor_cli.pricing import sessions_with_totals

    return sessions_with_totals(sessions, manager.usage_totals(prices(settings), student_id))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tutor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_version_callback, is_eager=True),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")] = False,
    database_url: Annotated[
        Optional[str],
        typer.Option(
            "--database-url",
            help="A class's PostgreSQL store (default: $TUTOR_DATABASE_URL, else tutor.db).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A patient personal tutor in your terminal. Every session is kept.

    Run `tutor` alone to start chatting.
    """
    global _database_url_option
    _database_url_option = database_url
    if ctx.invoked_subcommand is None:
        ctx.invoke(chat_command)


@app.command(
    "new-session",
    epilog=_examples(
        "tutor new-session",
        "tutor new-session --session algebra-1 --student ada",
        "tutor new-session --system-prompt my_prompt.txt",
    ),
)
def new_session_command(
    session: Annotated[
        Optional[str],
        typer.Option("--session", help="Id of the new session (default: a fresh one).", show_default=False),
    ] = None,
    student: StudentOption = None,
    system_prompt: PromptFileOption = None,
) -> None:
    """Create a session without chatting; prints its id last."""
    settings = _settings()
    prompt = read_system_prompt(system_prompt)
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=True)
        session_id = manager.new_session(student_id, prompt, session, profile=settings.profile)
    typer.echo(f"Created a session for {student_id}: {session_id}")


@app.command(
    "show",
    epilog=_examples(
        "tutor show algebra-1",
        "tutor show algebra-1 --student ada --format markdown > ada.md",
        "tutor show algebra-1 --format json | jq '.messages | length'",
    ),
)
def show_command(
    session: Annotated[str, typer.Argument(help="The session to print.", show_default=False)],
    student: StudentOption = None,
    format: Annotated[
        Optional[TranscriptFormat],
        typer.Option(
            "--format",
            "-f",
            help="text, markdown or json (default: a rendered view on a terminal, text otherwise).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print a session's transcript, oldest message first."""
    from tutor_cli import render

    settings = _settings()
    on_terminal = sys.stdout.isatty()
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=False)
        record = manager.store.get_session(student_id, session)
        if record is None:
            from tutor_cli.errors import SessionNotFoundError

            raise SessionNotFoundError(student_id, session)
        transcript = _transcript(settings, manager, record)
        # Written while the messages are read, batch by batch: memory stays flat however long.
        if format is TranscriptFormat.json:
            _write_all(render.transcript_json(transcript))
        elif format is TranscriptFormat.markdown:
            _write_all(render.transcript_markdown(transcript, safe=on_terminal))
        elif format is TranscriptFormat.text or not on_terminal:
            _write_all(render.transcript_text(transcript, safe=on_terminal))
        else:
            render.print_transcript(render.make_console(), transcript, math=settings.render_math)


@app.command(
    "sessions",
    epilog=_examples(
        "tutor sessions",
        "tutor sessions --student ada --format json",
        "tutor sessions --all-students        (a teacher, in a class database)",
    ),
)
def sessions_command(
    student: StudentOption = None,
    all_students: Annotated[
        bool,
        typer.Option("--all-students", help="Every student's sessions (for teachers; a student sees only their own)."),
    ] = False,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """List a student's sessions, most recently used first."""
    from tutor_cli import render

    if all_students and student is not None:
        raise typer.BadParameter("use either --student or --all-students", param_hint="--all-students")
    settings = _settings()
    with open_manager(settings) as manager:
        student_id = None if all_students else _student(settings, student, manager, writing=False)
        sessions = _with_totals(settings, manager, manager.store.list_sessions(student_id), student_id)
    if format is ListFormat.json:
        _write(render.sessions_json(sessions) + "\n")
    elif not sessions:
        typer.echo(f"No sessions yet for {student_id or 'any student'}; start one with `tutor`.")
    else:
        render.print_sessions_table(render.make_console(), sessions, student_id)


@app.command(
    "delete",
    epilog=_examples("tutor delete algebra-1", "tutor delete algebra-1 --student ada --yes"),
)
def delete_command(
    session: Annotated[str, typer.Argument(help="The session to delete.", show_default=False)],
    student: StudentOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a session and all its messages."""
    settings = _settings()
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=True)
        record = manager.store.get_session(student_id, session)
        if record is None:
            from tutor_cli.errors import SessionNotFoundError

            raise SessionNotFoundError(student_id, session)
        if not yes:
            question = f"Delete session {session} of {student_id} ({record.message_count} messages)?"
            if not _confirm(question):
                typer.echo("Nothing was deleted.", err=True)
                raise typer.Exit(ExitStatus.FAILURE)
        manager.store.delete_session(student_id, session)
    typer.echo(f"Deleted session {session} of {student_id}.")


ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Model name (default: $TUTOR_MODEL, else deepseek-flash).", show_default=False),
]
ThinkingOption = Annotated[
    Optional[bool],
    typer.Option(
        "--thinking/--no-thinking",
        help="Ask for thinking mode, or not (default: $TUTOR_THINKING, else the server's default).",
        show_default=False,
    ),
]


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No token and cost line after each answer.")]
NoProfileOption = Annotated[
    bool,
    typer.Option("--no-profile", help="Neither send nor update your profile in this run (also: TUTOR_PROFILE=off)."),
]


def _conversation(
    settings: Settings,
    manager: SessionManager,
    student_id: str,
    session_id: str,
    model: str | None,
    thinking: bool | None,
    system_prompt: str | None = None,
    notify: Callable[[str], None] | None = None,
    use_profile: bool = True,
) -> Conversation:
    from tutor_cli.chat import Conversation
    from tutor_cli.client import ChatClient

    client = ChatClient(settings.base_url, settings.require_api_key(), retry_scale=settings.retry_scale)
    conversation = Conversation(
        manager=manager,
        client=client,
        student_id=student_id,
        session_id=session_id,
        model=model or settings.model,
        thinking=settings.thinking if thinking is None else thinking,
        system_prompt=system_prompt,
        context_override=settings.context_tokens,
        use_profile=use_profile,
    )
    if notify is not None:
        conversation.notify = notify
    return conversation


@app.command(
    "chat",
    epilog=_examples(
        "tutor chat                       a new session",
        "tutor chat -c                    continue your most recent session",
        "tutor chat --session algebra-1   resume (or create) a named session",
        "tutor chat --model deepseek-v4-pro --thinking",
    ),
)
def chat_command(
    session: Annotated[
        Optional[str], typer.Option("--session", help="Resume this session (created if new).", show_default=False)
    ] = None,
    continue_: Annotated[
        bool, typer.Option("--continue", "-c", help="Resume your most recently used session.")
    ] = False,
    student: StudentOption = None,
    model: ModelOption = None,
    system_prompt: PromptFileOption = None,
    thinking: ThinkingOption = None,
    quiet: QuietOption = False,
    no_profile: NoProfileOption = False,
) -> None:
    """Talk with the tutor (the default command)."""
    from tutor_cli.chat import Repl
    from tutor_cli.render import make_console

    if session is not None and continue_:
        raise typer.BadParameter("use either --session or --continue, not both", param_hint="--continue")
    settings = _settings()
    settings.require_api_key()  # before any prompt opens
    if not sys.stdin.isatty():
        raise ConfigError("`tutor chat` needs a terminal; use `tutor ask -` to ask from a script or a pipe.")
    prompt = read_system_prompt(system_prompt) if system_prompt is not None else None
    console = make_console()
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=True)
        use_profile = settings.profile and not no_profile
        session_id = _choose_session(
            manager, console, student_id, session, continue_, prompt, system_prompt, profile=use_profile
        )
        conversation = _conversation(
            settings, manager, student_id, session_id, model, thinking, prompt, use_profile=use_profile
        )
        updates = _keep_profile(settings, conversation, background=True)
        manager.store.touch_session(student_id, session_id)
        math = settings.render_math
        try:
            Repl(conversation, console, settings.history_path, prices=prices(settings), quiet=quiet, math=math).run()
        finally:
            if updates is not None:
                updates.finish()


def _choose_session(
    manager: SessionManager,
    console: Console,
    student_id: str,
    session: str | None,
    continue_: bool,
    prompt: str | None,
    prompt_file: Path | None,
    *,
    profile: bool = False,
) -> str:
    """Resume the named or the latest session, or create one; say when a prompt file is not applied."""
    from tutor_cli.config import shipped_system_prompt
    from tutor_cli.render import print_notice

    existing = None
    if continue_:
        existing = manager.store.latest_session(student_id)
        if existing is None:
            print_notice(console, f"No earlier session for {student_id}; starting a new one.")
    elif session is not None:
        existing = manager.store.get_session(student_id, session)
    if existing is not None:
        if prompt_file is not None:
            print_notice(
                console, f"Session {existing.session_id} keeps its own system prompt; {prompt_file} was not applied."
            )
        return existing.session_id
    return manager.new_session(
        student_id, prompt if prompt is not None else shipped_system_prompt(), session, profile=profile
    )


@app.command(
    "ask",
    epilog=_examples(
        'tutor ask "Why is the sky blue?"',
        'echo "Explain recursion with an example" | tutor ask -',
        'tutor ask --session algebra-1 "And what about x^2 - 4 = 0?"',
    ),
)
def ask_command(
    question: Annotated[
        Optional[str],
        typer.Argument(
            help="The question; - (or nothing, from a pipe) reads it from standard input.", show_default=False
        ),
    ] = None,
    session: Annotated[
        Optional[str], typer.Option("--session", help="Ask within this session (created if new).", show_default=False)
    ] = None,
    student: StudentOption = None,
    model: ModelOption = None,
    thinking: ThinkingOption = None,
    quiet: QuietOption = False,
    no_profile: NoProfileOption = False,
) -> None:
    """Ask one question without the interactive prompt; the answer goes to standard output."""
    from tutor_cli.chat import ask
    from tutor_cli.config import shipped_system_prompt
    from tutor_cli.errors import APIError, StreamDroppedError
    from tutor_cli.render import AnswerView, LiveAnswerView, make_console, usage_line

    settings = _settings()
    settings.require_api_key()
    if question is None or question == "-":
        if question is None and sys.stdin.isatty():
            raise typer.BadParameter("give a question, or - to read it from standard input", param_hint="QUESTION")
        question = sys.stdin.read().rstrip()
    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=True)
        use_profile = settings.profile and not no_profile
        created = session is None or manager.store.get_session(student_id, session) is None
        if created:
            session = manager.new_session(student_id, shipped_system_prompt(), session, profile=use_profile)
        notices = make_console(stderr=True)
        conversation = _conversation(
            settings,
            manager,
            student_id,
            session,
            model,
            thinking,
            notify=lambda text: notices.print(text, style="dim", markup=False),
            use_profile=use_profile,
        )
        _keep_profile(settings, conversation, background=False)
        # Only a terminal draws mathematics; a pipe or file gets the model's exact text.
        view = (
            LiveAnswerView(make_console(), math=settings.render_math) if sys.stdout.isatty() else AnswerView(sys.stdout)
        )
        try:
            answer = ask(conversation, question, view)
        except APIError as error:
            if not created or isinstance(error, StreamDroppedError):
                raise
            # Nothing is lost, but a fresh session per failed try would pile up unseen: name it.
            raise APIError(
                f"{error} Your question is kept in session {session}: `tutor chat --session {session}` "
                f"then /retry sends it again, or `tutor ask --session {session} ...` adds to it.",
                status=error.status,
            ) from None
        if not quiet and answer.usage and sys.stderr.isatty():
            notices.print(
                usage_line(answer.usage, answer.model or conversation.model, prices(settings)),
                style="dim",
                markup=False,
            )


@app.command("models", epilog=_examples("tutor models", "DEEPSEEK_BASE_URL=http://localhost:8080/v1 tutor models"))
def models_command() -> None:
    """List the models the endpoint offers; the default is marked with *."""
    from tutor_cli.client import ChatClient

    settings = _settings()
    client = ChatClient(settings.base_url, settings.require_api_key(), retry_scale=settings.retry_scale)
    models = client.list_models()
    for name in models:
        typer.echo(f"{'*' if name == settings.model else ' '} {name}")
    if settings.model not in models:
        typer.echo(
            f"(the default model {settings.model} is not served by {settings.base_url}; "
            "set TUTOR_MODEL to one of these)",
            err=True,
        )


db_app = typer.Typer(
    help="The class database (PostgreSQL): set-up for administrators.", rich_markup_mode=None, no_args_is_help=True
)
admin_app = typer.Typer(
    help="Accounts in the class database, for administrators.", rich_markup_mode=None, no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")


def _class_store(settings: Settings) -> str:
    """The administrator's URL of the class database."""
    if not settings.database_url:
        raise ConfigError("Set TUTOR_DATABASE_URL (or --database-url) to the class database's administrator URL.")
    return settings.database_url


@db_app.command(
    "migrate", epilog=_examples("TUTOR_DATABASE_URL=postgresql://admin:secret@dbhost/tutor tutor db migrate")
)
def db_migrate_command() -> None:
    """Create or upgrade the class database's tables, roles and row-level security."""
    from tutor_cli.store.postgres import MIGRATIONS, PostgresStore

    store = PostgresStore(_class_store(_settings()), migrate=True)
    try:
        typer.echo(f"The class database is at schema version {store.schema_version()} of {len(MIGRATIONS)}.")
    finally:
        store.close()


PasswordOption = Annotated[
    Optional[str],
    typer.Option("--password", help="The new account's password (asked for when not given).", show_default=False),
]


def _add_member(name: str, password: str | None, group: str, title: str) -> None:
    from tutor_cli.store.postgres import PostgresStore

    store = PostgresStore(_class_store(_settings()))
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
    "add-student", epilog=_examples("tutor admin add-student ada", "tutor admin add-student ada --password 's3cret'")
)
def add_student_command(
    name: Annotated[str, typer.Argument(help="The student's id (their database user).")],
    password: PasswordOption = None,
) -> None:
    """Create a student account that can see and change only its own sessions."""
    from tutor_cli.store.postgres import STUDENT_GROUP

    _add_member(name, password, STUDENT_GROUP, "Student")


@admin_app.command("add-teacher", epilog=_examples("tutor admin add-teacher tess"))
def add_teacher_command(
    name: Annotated[str, typer.Argument(help="The teacher's database user.")], password: PasswordOption = None
) -> None:
    """Create a teacher account that can read every student's sessions and change none."""
    from tutor_cli.store.postgres import TEACHER_GROUP

    _add_member(name, password, TEACHER_GROUP, "Teacher")


# --- practice ---

deck_app = typer.Typer(
    help="Decks of cards to practise with `tutor review`.", rich_markup_mode=None, no_args_is_help=True
)
app.add_typer(deck_app, name="deck")
ClassDeckOption = Annotated[
    bool, typer.Option("--class", help="A class deck (a teacher or the administrator, in a class database).")
]


@deck_app.command(
    "import",
    epilog=_examples(
        "tutor deck import algebra.csv                 deck 'algebra'",
        "tutor deck import words.tsv --deck spanish",
        "tutor deck import week1.csv --class           (a teacher: every student reviews it)",
    ),
)
def deck_import_command(
    file: Annotated[Path, typer.Argument(help="A UTF-8 CSV or TSV file whose header names question, answer (topic).")],
    deck: Annotated[
        Optional[str], typer.Option("--deck", "-d", help="Deck name (default: the file's name).", show_default=False)
    ] = None,
    class_deck: ClassDeckOption = False,
    student: StudentOption = None,
) -> None:
    """Import cards into a deck: the whole file or nothing; cards already there are skipped."""
    from tutor_cli import practice
    from tutor_cli.config import now

    settings = _settings()
    name = practice.check_deck_name(deck if deck is not None else file.stem)
    cards = practice.read_deck_file(file)
    with open_manager(settings) as manager:
        owner = practice.deck_owner(manager, student, settings.student, class_deck=class_deck)
        added, present = practice.import_deck(manager.store, owner, name, cards, now())
    kept = f" ({present} already there)" if present else ""
    typer.echo(
        f"Imported {added} card{'s' if added != 1 else ''} into {'class ' if class_deck else ''}deck {name}{kept}."
    )


@deck_app.command("list", epilog=_examples("tutor deck list", "tutor deck list --format json"))
def deck_list_command(
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """List your decks and your class's, with their card counts."""
    from tutor_cli import practice

    settings = _settings()
    with open_manager(settings) as manager:
        decks = manager.store.list_decks(practice.deck_reader(manager, student, settings.student))
    if format is ListFormat.json:
        _write(json.dumps(practice.decks_json(decks), ensure_ascii=False, indent=2) + "\n")
    elif not decks:
        typer.echo("No decks yet; import one with `tutor deck import FILE`.")
    else:
        from tutor_cli.practice_view import print_decks
        from tutor_cli.render import make_console

        print_decks(make_console(), decks)


@deck_app.command("delete", epilog=_examples("tutor deck delete algebra", "tutor deck delete week1 --class --yes"))
def deck_delete_command(
    name: Annotated[str, typer.Argument(help="The deck to delete.", show_default=False)],
    class_deck: ClassDeckOption = False,
    student: StudentOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a deck, its cards and every review of them."""
    from tutor_cli import practice

    settings = _settings()
    with open_manager(settings) as manager:
        owner = practice.deck_owner(manager, student, settings.student, class_deck=class_deck)
        size = manager.store.deck_size(owner, name)
        if size is None:
            raise practice.DeckNotFoundError(
                f"There is no {'class ' if class_deck else ''}deck {name!r}; `tutor deck list` shows the decks."
            )
        if not yes and not _confirm(
            f"Delete {'class ' if class_deck else ''}deck {name} ({size} cards and their reviews)?"
        ):
            typer.echo("Nothing was deleted.", err=True)
            raise typer.Exit(ExitStatus.FAILURE)
        manager.store.delete_deck(owner, name)
    typer.echo(f"Deleted deck {name} ({size} cards).")


@app.command("review", epilog=_examples("tutor review", "tutor review --deck algebra --limit 20"))
def review_command(
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
    from tutor_cli.render import make_console
    from tutor_cli.review import ReviewSession

    settings = _settings()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("`tutor review` needs a terminal; `tutor progress` shows what is due from a script.")
    client = None
    if settings.api_key:
        from tutor_cli.client import ChatClient

        client = ChatClient(settings.base_url, settings.api_key, retry_scale=settings.retry_scale)
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=True)
        ReviewSession(
            store=manager.store,
            scheduler=practice.scheduler(fixed_clock=bool(os.environ.get("TUTOR_NOW"))),
            console=make_console(),
            student_id=student_id,
            clock=now,
            client=client,
            model=model or settings.model,
            thinking=settings.thinking,
            deck=deck,
            limit=limit,
        ).run()


@app.command(
    "progress",
    epilog=_examples("tutor progress", "tutor progress --format json", "tutor progress --student ada   (a teacher)"),
)
def progress_command(
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Per deck: cards, new, due, reviews in the last 7 days, recall probability, 14-day activity."""
    from tutor_cli import practice
    from tutor_cli.config import now

    settings = _settings()
    moment = now()
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=False)
        rows = practice.progress(manager.store, practice.scheduler(fixed_clock=True), student_id, moment)
    if format is ListFormat.json:
        _write(json.dumps(practice.progress_json(rows, moment), ensure_ascii=False, indent=2) + "\n")
    elif not rows:
        typer.echo(f"No decks yet for {student_id}; import one with `tutor deck import FILE`.")
    else:
        from tutor_cli.practice_view import print_progress
        from tutor_cli.render import make_console

        print_progress(make_console(), rows, student_id, moment)


# --- profile ---


class ProfileFormat(str, Enum):
    text = "text"
    json = "json"


@app.command(
    "profile",
    epilog=_examples(
        "tutor profile                      the tutor's notes about you",
        "tutor profile --edit               correct them in $EDITOR",
        "tutor profile --clear              erase them (asks first)",
        "tutor profile --student ada --format json   (a teacher, in a class database)",
    ),
)
def profile_command(
    student: StudentOption = None,
    format: Annotated[ProfileFormat, typer.Option("--format", "-f", help="text or json.")] = ProfileFormat.text,
    clear: Annotated[bool, typer.Option("--clear", help="Erase the notes (asks first unless --yes).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --clear: do not ask for confirmation.")] = False,
    edit: Annotated[bool, typer.Option("--edit", help="Correct the notes in $VISUAL or $EDITOR.")] = False,
) -> None:
    """Show the tutor's notes about a student, kept across sessions and sent with each new session."""
    from tutor_cli import profile_view

    if clear and edit:
        raise typer.BadParameter("use either --clear or --edit, not both", param_hint="--edit")
    if yes and not clear:
        raise typer.BadParameter("--yes goes with --clear", param_hint="--yes")
    settings = _settings()
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=clear or edit)
        if clear:
            _clear_profile(manager, student_id, yes)
        elif edit:
            _edit_profile(manager, student_id)
        else:
            record = manager.store.get_profile(student_id)
            if format is ProfileFormat.json:
                _write(profile_view.profile_json(student_id, record))
            elif record is None or not record.text:
                typer.echo(profile_view.profile_heading(student_id, record), err=True)
            else:
                if sys.stdout.isatty():
                    typer.echo(profile_view.profile_heading(student_id, record))
                _write(record.text.rstrip("\n") + "\n")


def _clear_profile(manager: SessionManager, student_id: str, yes: bool) -> None:
    if not yes and not _confirm(f"Erase the tutor's notes about {student_id}? This cannot be undone."):
        typer.echo("Nothing was erased.", err=True)
        raise typer.Exit(ExitStatus.FAILURE)
    manager.store.clear_profile(student_id)
    typer.echo(f"Erased the tutor's notes about {student_id}; what was said so far will not be used for them.")


def _edit_profile(manager: SessionManager, student_id: str) -> None:
    from tutor_cli import profile

    record = manager.store.get_profile(student_id)
    before = record.text if record is not None else ""
    after = _run_editor(before)
    if after.strip() == before.strip():
        typer.echo("No change.")
        return
    if not after.strip():
        if not _confirm(f"The edited notes are empty. Erase the tutor's notes about {student_id}?"):
            typer.echo("No change.", err=True)
            raise typer.Exit(ExitStatus.FAILURE)
        _clear_profile(manager, student_id, yes=True)
        return
    _, clipped = profile.edit(manager.store, student_id, after)
    note = f" (shortened to about {profile.EDITED_MAX_TOKENS} tokens)" if clipped else ""
    typer.echo(f"Saved the tutor's notes about {student_id}{note}; new sessions start with them.")


def _run_editor(text: str) -> str:
    """`text` after the student edited it in $VISUAL or $EDITOR (a private temporary file)."""
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise ConfigError("Set EDITOR to your text editor (for example: export EDITOR=nano) to edit the profile.")
    handle, name = tempfile.mkstemp(prefix="tutor-profile-", suffix=".md")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            status = subprocess.run([*shlex.split(editor), name], check=False).returncode
        except OSError as error:
            raise ConfigError(f"Cannot start the editor {editor!r} ({error.strerror}); check EDITOR.") from None
        if status != 0:
            raise ConfigError(f"The editor {editor!r} exited with status {status}; nothing was changed.")
        try:
            return Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError("The edited profile is not UTF-8 text; nothing was changed.") from None
    finally:
        os.unlink(name)


def _keep_profile(settings: Settings, conversation: Conversation, *, background: bool) -> BackgroundUpdates | None:
    """Wire the profile's updates to the conversation's answers: in the chat a background thread
    (returned, to be finished when the chat ends), for `ask` a detached process. With the profile
    off, the turns of this run are only marked as seen, so they never reach the notes."""
    from tutor_cli import profile

    c = conversation
    if not c.use_profile:
        c.on_answer = lambda: c.manager.store.mark_profile_seen(c.student_id, c.session_id)
        return None
    if not background:
        c.on_answer = lambda: profile.spawn_detached(c.student_id, c.model, c.thinking, settings.database_url)
        return None
    from tutor_cli.client import ChatClient

    updates = profile.BackgroundUpdates(
        store=c.manager.store,
        make_client=lambda: ChatClient(settings.base_url, settings.require_api_key(), retry_scale=settings.retry_scale),
        student_id=c.student_id,
        model=lambda: c.model,
        thinking=lambda: c.thinking,
        home=None if settings.database_url else settings.home,
        database_url=settings.database_url,
    )
    c.on_answer = updates.after_answer
    return updates


# --- teacher's desk ---

class_app = typer.Typer(
    help="The teacher's desk: the class at a glance, flagged messages, an HTML report.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
watch_app = typer.Typer(
    help="The watch list: words and phrases that flag a student's message for a teacher.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(class_app, name="class")
admin_app.add_typer(watch_app, name="watch")


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
    epilog=_examples(
        "tutor class overview",
        "tutor class overview --since 2026-11-01 --format csv > week.csv",
        "tutor class overview --format json | jq '.[] | select(.flags > 0)'",
    ),
)
def class_overview_command(
    since: SinceOption = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table, json or csv.")] = TableFormat.table,
) -> None:
    """One row per student: sessions, questions, last active, tokens, cost, cards reviewed, flags."""
    from tutor_cli import desk, desk_views, render

    settings = _settings()
    start = desk.parse_since(since)
    with open_manager(settings) as manager:
        rows = desk.overview(manager.store, prices(settings), start)
    if format is TableFormat.json:
        _write(desk_views.overview_json(rows))
    elif format is TableFormat.csv:
        _write(desk_views.overview_csv(rows))
    elif not rows:
        typer.echo("No student activity" + (" since then." if start is not None else " yet."))
    else:
        desk_views.print_overview(render.make_console(), rows, start)


@app.command(
    "search",
    epilog=_examples(
        "tutor search derivative",
        'tutor search "chain rule" --format json',
        "tutor search 方程 --student ada          (a teacher, in a class database)",
    ),
)
def search_command(
    words: Annotated[list[str], typer.Argument(help="Words a message must all hold (quote a phrase).")],
    student: StudentOption = None,
    all_students: Annotated[
        bool, typer.Option("--all-students", help="Every student's messages (the default for a teacher).")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many messages.")] = 50,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Find messages holding the words (any language, case-insensitive), newest first."""
    from tutor_cli import desk, desk_views, render

    if all_students and student is not None:
        raise typer.BadParameter("use either --student or --all-students", param_hint="--all-students")
    settings = _settings()
    terms = desk.search_terms(words)
    with open_manager(settings) as manager:
        identity = manager.store.identity
        teaching = identity is not None and identity.kind != "student"
        if all_students or (teaching and student is None):
            student_id = None  # in a class database a student still finds only their own rows
        else:
            student_id = _student(settings, student, manager, writing=False)
        hits = desk.search(manager.store, terms, student_id, limit)
    if format is ListFormat.json:
        _write(desk_views.hits_json(hits))
    elif not hits:
        typer.echo(f"No messages{f' of {student_id}' if student_id else ''} hold {' + '.join(terms)}.")
    else:
        desk_views.print_hits(render.make_console(), hits, f"Messages holding {' + '.join(terms)}, newest first")


@class_app.command(
    "flags",
    epilog=_examples("tutor class flags", "tutor class flags --format json"),
)
def class_flags_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many messages.")] = 200,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Student messages holding a phrase on the watch list, newest first (teachers only)."""
    from tutor_cli import desk, desk_views, render

    settings = _settings()
    with open_manager(settings) as manager:
        hits = desk.flags(manager.store, limit)
    if format is ListFormat.json:
        _write(desk_views.hits_json(hits, flags=True))
    elif not hits:
        typer.echo("No flagged messages.")
    else:
        desk_views.print_hits(render.make_console(), hits, "Flagged messages, newest first", flags=True)


@class_app.command(
    "report",
    epilog=_examples(
        "tutor class report --html report/ && xdg-open report/index.html",
        "tutor class report --html ada-report/ --student ada",
    ),
)
def class_report_command(
    html: Annotated[
        Path, typer.Option("--html", help="Folder to write the site into (created if needed).", file_okay=False)
    ],
    student: Annotated[
        Optional[str], typer.Option("--student", "-s", help="Only this student.", show_default=False)
    ] = None,
) -> None:
    """Write a static HTML site: overview and activity chart, a page per student and per session."""
    from tutor_cli import report

    settings = _settings()
    with open_manager(settings) as manager:
        location = settings.database_url or str(settings.database_path)
        written = report.write_site(manager.store, prices(settings), html, student, location=location)
    typer.echo(f"Wrote {written.pages} pages to {html}; open {written.index}")


WatchPhraseArgument = Annotated[str, typer.Argument(help="A word or phrase (quote it); case does not matter.")]


@watch_app.command("add", epilog=_examples("tutor admin watch add 'hurt myself'", "tutor admin watch add cheat"))
def watch_add_command(phrase: WatchPhraseArgument) -> None:
    """Flag every student message (earlier ones too) that holds this word or phrase."""
    from tutor_cli import desk

    with open_manager(_settings()) as manager:
        phrase, added = desk.add_watch(manager.store, phrase)
    typer.echo(f"Watching for {phrase!r}." if added else f"{phrase!r} was already on the watch list.")


@watch_app.command("remove", epilog=_examples("tutor admin watch remove cheat"))
def watch_remove_command(phrase: WatchPhraseArgument) -> None:
    """Stop watching for a word or phrase (its flags go with it)."""
    from tutor_cli import desk

    with open_manager(_settings()) as manager:
        phrase = desk.remove_watch(manager.store, phrase)
    typer.echo(f"No longer watching for {phrase!r}.")


@watch_app.command("list", epilog=_examples("tutor admin watch list"))
def watch_list_command() -> None:
    """The watched words and phrases, with when (and by whom) each was added."""
    from tutor_cli import desk, desk_views

    with open_manager(_settings()) as manager:
        desk.require_teaching_side(manager.store, "The watch list")
        phrases = manager.store.watch_phrases()
    if not phrases:
        typer.echo("The watch list is empty; add to it with `tutor admin watch add PHRASE`.")
    else:
        _write(desk_views.watch_lines(phrases))


# --- data rights and limits ---


def _confirm_destruction(question: str, yes: bool) -> None:
    """Ask before destroying anything; without a terminal, only --yes goes ahead."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError("Nothing was deleted: this needs a terminal to ask for confirmation, or --yes.")
    if not _confirm(question):
        typer.echo("Nothing was deleted.", err=True)
        raise typer.Exit(ExitStatus.FAILURE)


@admin_app.command(
    "export-student",
    epilog=_examples(
        "tutor admin export-student ada > ada.json", "tutor admin export-student ada | jq '.tables | keys'"
    ),
)
def export_student_command(student_id: Annotated[str, typer.Argument(help="The student's id.")]) -> None:
    """Everything stored about a student, as one JSON document on standard output."""
    from tutor_cli import rights

    with open_manager(_settings()) as manager:
        rights.require_administrator(manager.store, "export a student's data")
        rights.check_student(manager.store, student_id)
        _write_all(rights.export_document(manager.store, student_id))


@app.command("export", epilog=_examples("tutor export > my-tutor-data.json", "tutor export --student ada"))
def export_command(student: StudentOption = None) -> None:
    """Everything stored about you, as one JSON document on standard output."""
    from tutor_cli import rights

    settings = _settings()
    with open_manager(settings) as manager:
        who = manager.store.identity
        if who is not None and who.kind == "teacher":
            raise ConfigError(
                "`tutor export` is a student's own copy; the administrator exports a student's data "
                "(`tutor admin export-student ID`)."
            )
        student_id = _student(settings, student, manager, writing=False)
        _write_all(rights.export_document(manager.store, student_id))


@admin_app.command(
    "delete-student", epilog=_examples("tutor admin delete-student ada", "tutor admin delete-student ada --yes")
)
def delete_student_command(
    student_id: Annotated[str, typer.Argument(help="The student's id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove everything stored about a student, and their database account."""
    from tutor_cli import rights

    with open_manager(_settings()) as manager:
        rights.require_administrator(manager.store, "delete a student")
        rows = sum(rights.check_student(manager.store, student_id).values())
        _confirm_destruction(f"Delete everything stored about {student_id} ({rows:,} rows) and their account?", yes)
        removed = rights.delete_student(manager.store, student_id)
    typer.echo(f"Deleted student {student_id}: {sum(removed.values()):,} rows removed.")
    typer.echo(rights.describe_counts(removed))


@admin_app.command(
    "purge",
    epilog=_examples("tutor admin purge --older-than 365 --dry-run", "tutor admin purge --older-than 365 --yes"),
)
def purge_command(
    older_than: Annotated[
        int, typer.Option("--older-than", min=0, help="Remove sessions last used more than DAYS days ago.")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed; remove nothing.")] = False,
) -> None:
    """Remove old sessions, with their messages and everything hanging off them."""
    from tutor_cli import rights

    with open_manager(_settings()) as manager:
        rights.require_administrator(manager.store, "purge sessions")
        cutoff = rights.purge_cutoff(older_than)
        planned = manager.store.count_old_sessions(cutoff)
        before = f"last used before {rights.iso_time(cutoff)}"
        if not planned.get("sessions"):
            typer.echo(f"No sessions {before}; nothing to remove.")
            return
        if dry_run:
            typer.echo(f"Would remove {rights.plural(planned['sessions'], 'session')} {before} (nothing was removed):")
            typer.echo(rights.describe_counts(planned))
            return
        sessions = rights.plural(planned["sessions"], "session")
        _confirm_destruction(f"Remove {sessions} {before}, with their messages?", yes)
        removed = rights.purge(manager.store, older_than)
    typer.echo(f"Removed {rights.plural(removed.get('sessions', 0), 'session')} {before}:")
    typer.echo(rights.describe_counts(removed))


@admin_app.command(
    "limit",
    epilog=_examples(
        "tutor admin limit --class --daily-questions 50 --daily-tokens 200000",
        "tutor admin limit --student ada --daily-questions 100",
        "tutor admin limit --student ada --daily-questions none     (ada follows the class again)",
    ),
)
def limit_command(
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
    from tutor_cli import rights

    if (student is None) == (not for_class):
        raise typer.BadParameter("give either --student ID or --class", param_hint="--student/--class")
    tokens = rights.parse_limit(daily_tokens, "--daily-tokens")
    questions = rights.parse_limit(daily_questions, "--daily-questions")
    with open_manager(_settings()) as manager:
        rights.require_administrator(manager.store, "set limits")
        if student is not None and manager.store.dialect == "postgresql":
            rights.check_student(manager.store, student)
        usage = rights.set_limits(manager.store, student, tokens, questions)
    typer.echo(rights.describe_limits(usage, for_class=for_class))


@app.command("usage", epilog=_examples("tutor usage", "tutor usage --format json"))
def usage_command(
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """Your daily limits and what you have used today (UTC)."""
    import json

    from tutor_cli import rights

    settings = _settings()
    with open_manager(settings) as manager:
        student_id = _student(settings, student, manager, writing=False)
        usage = rights.daily_usage(manager.store, student_id)
    if format is ListFormat.json:
        _write(json.dumps(usage.as_json()) + "\n")
    else:
        typer.echo(rights.describe_usage(usage))


def _confirm(question: str) -> bool:
    """Ask on the terminal; no answer (end of input) means no."""
    typer.echo(f"{question} [y/N] ", nl=False, err=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in {"y", "yes"}


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _write_all(pieces: Iterable[str]) -> None:
    """Write pieces as they come, gathered into writes of about 64 KB (one write per message
    would cost more than rendering it)."""
    buffered: list[str] = []
    size = 0
    for piece in pieces:
        buffered.append(piece)
        size += len(piece)
        if size >= 65_536:
            sys.stdout.write("".join(buffered))
            buffered, size = [], 0
    sys.stdout.write("".join(buffered))
    sys.stdout.flush()


def main() -> None:
    """Entry point: run the app and turn every error a user can cause into one sentence."""
    debug = os.environ.get("TUTOR_DEBUG") == "1" or "--debug" in sys.argv[1:]
    try:
        app(prog_name="tutor")
    except TutorError as error:
        typer.echo(f"tutor: {error}", err=True)
        sys.exit(error.exit_status)
    except KeyboardInterrupt:
        typer.echo("", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (tutor show | head): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitStatus.OK)
    except Exception as error:  # a bug: say so plainly unless debugging
        if debug:
            raise
        typer.echo(
            f"tutor: unexpected error ({type(error).__name__}: {error}); rerun with --debug "
            "for the details and please report it.",
            err=True,
        )
        sys.exit(ExitStatus.FAILURE)
