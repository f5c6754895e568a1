"""Talking with the tutor: chat (the REPL, also the default command) and ask (one question)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from tutor_cli.commands.common import ModelOption, PromptFileOption, StudentOption, app_context, examples, group
from tutor_cli.config import read_system_prompt
from tutor_cli.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.app import AppContext
    from tutor_cli.course import Searcher
    from tutor_cli.profile import BackgroundUpdates
    from tutor_cli.sessions import SessionManager
    from tutor_cli.turn import Conversation

commands = group()

ThinkingOption = Annotated[
    Optional[bool],
    typer.Option(
        "--thinking/--no-thinking",
        help="Ask for thinking mode, or not (default: $TUTOR_THINKING, else the server's default).",
        show_default=False,
    ),
]
NoCourseOption = Annotated[
    bool,
    typer.Option("--no-course", help="Send no course-material passages with questions (also: TUTOR_COURSE=off)."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No token and cost line after each answer.")]
MaxTokensOption = Annotated[
    Optional[int],
    typer.Option(
        "--max-tokens",
        min=1,
        help="The most tokens an answer may take (default: $TUTOR_MAX_TOKENS, else the server's limit).",
        show_default=False,
    ),
]
NoProfileOption = Annotated[
    bool,
    typer.Option("--no-profile", help="Neither send nor update your profile in this run (also: TUTOR_PROFILE=off)."),
]


@commands.command(
    "chat",
    epilog=examples(
        "tutor chat                       a new session",
        "tutor chat -c                    continue your most recent session",
        "tutor chat --session algebra-1   resume (or create) a named session",
        "tutor chat --model deepseek-v4-pro --thinking",
    ),
)
def chat_command(
    ctx: typer.Context,
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
    max_tokens: MaxTokensOption = None,
    no_course: NoCourseOption = False,
) -> None:
    """Talk with the tutor (the default command)."""
    from tutor_cli.screens.chat import Repl

    if session is not None and continue_:
        raise typer.BadParameter("use either --session or --continue, not both", param_hint="--continue")
    app = app_context(ctx)
    settings = app.settings
    settings.require_api_key()  # before any prompt opens
    if not app.stdin_is_terminal:
        raise ConfigError("`tutor chat` needs a terminal; use `tutor ask -` to ask from a script or a pipe.")
    prompt = read_system_prompt(system_prompt) if system_prompt is not None else None
    console = app.console()
    settings.ensure_home()  # the prompt history lives there, also when the store is a class database
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, settings.student, writing=True)
        use_profile = settings.profile and not no_profile
        session_id = _choose_session(
            manager, console, student_id, session, continue_, prompt, system_prompt, profile=use_profile
        )
        conversation = _conversation(app, manager, student_id, session_id, model, thinking, prompt, use_profile)
        if max_tokens is not None:
            conversation.client.max_tokens = max_tokens
        conversation.course = course_searcher(app, manager, student_id, no_course)
        if conversation.course is not None:
            conversation.course.warm_up()  # the model and vectors load while the student types
        updates = _keep_profile(app, conversation, background=True)
        manager.store.touch_session(student_id, session_id)
        try:
            Repl(
                conversation, console, settings.history_path, prices=app.prices, quiet=quiet, math=settings.render_math
            ).run()
        finally:
            if updates is not None:
                updates.finish()


@commands.command(
    "ask",
    epilog=examples(
        'tutor ask "Why is the sky blue?"',
        'echo "Explain recursion with an example" | tutor ask -',
        'tutor ask --session algebra-1 "And what about x^2 - 4 = 0?"',
    ),
)
def ask_command(
    ctx: typer.Context,
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
    max_tokens: MaxTokensOption = None,
    no_course: NoCourseOption = False,
) -> None:
    """Ask one question without the interactive prompt; the answer goes to standard output."""
    from tutor_cli.config import shipped_system_prompt
    from tutor_cli.turn import ask
    from tutor_cli.views.answer import AnswerView, LiveAnswerView, usage_line
    from tutor_cli.work import require_no_open_problem

    app = app_context(ctx)
    settings = app.settings
    settings.require_api_key()
    question = _read_question(app, question)
    with app.open_manager() as manager:
        student_id = manager.resolve_student(student, settings.student, writing=True)
        use_profile = settings.profile and not no_profile
        existing = None if session is None else manager.store.get_session(student_id, session)
        if existing is not None:
            require_no_open_problem(manager.store, existing)  # `ask` has no answer guard
        created = existing is None
        if created:
            session = manager.new_session(student_id, shipped_system_prompt(), session, profile=use_profile)
        notices = app.console(stderr=True)
        conversation = _conversation(
            app,
            manager,
            student_id,
            session,
            model,
            thinking,
            use_profile=use_profile,
            notify=lambda text: notices.print(text, style="dim", markup=False),
        )
        if max_tokens is not None:
            conversation.client.max_tokens = max_tokens
        conversation.course = course_searcher(app, manager, student_id, no_course)
        _keep_profile(app, conversation, background=False)
        # Only a terminal draws mathematics; a pipe or file gets the model's exact text, and the
        # `Sources:` line goes to standard error.
        view = (
            LiveAnswerView(app.console(), math=settings.render_math, thinking=conversation.thinking)
            if app.stdout_is_terminal
            else AnswerView(app.stdout, notes=lambda note: notices.print(note, style="dim", markup=False))
        )
        with _name_the_session_on_failure(session, created):
            answer = ask(conversation, question, view)
        if app.stderr_is_terminal:  # on standard error: a pipe gets the answer alone
            used = f"Session {session}" + (" (new)" if created else "")
            if not quiet and answer.usage:
                used += " · " + usage_line(answer.usage, answer.model or conversation.model, app.prices)
            notices.print(used, style="dim", markup=False)


def _read_question(app: AppContext, question: str | None) -> str:
    """The question given, or (for - or nothing from a pipe) standard input's; never empty."""
    if question is None or question == "-":
        if question is None and app.stdin_is_terminal:
            raise typer.BadParameter("give a question, or - to read it from standard input", param_hint="QUESTION")
        question = app.stdin.read().rstrip()
    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    return question


@contextmanager
def _name_the_session_on_failure(session: str, created: bool) -> Iterator[None]:
    """A question that got no answer in a session `ask` created (an API failure, a daily limit, a
    question too long for the window): nothing is lost, but a fresh session per failed try would
    pile up unseen, looking empty, so the error names it and how to go on."""
    from tutor_cli.errors import APIError, StreamDroppedError, TutorError

    try:
        yield
    except TutorError as error:
        if not created or isinstance(error, StreamDroppedError):
            raise
        where = (
            f"Your question is kept in session {session}: `tutor chat --session {session}` "
            f"then /retry sends it again, or `tutor ask --session {session} ...` adds to it."
        )
        if isinstance(error, APIError):
            raise APIError(f"{error} {where}", status=error.status) from None
        named = TutorError(f"{error} (It is kept in session {session}.)")
        named.exit_status = error.exit_status
        raise named from None


def _conversation(
    app: AppContext,
    manager: SessionManager,
    student_id: str,
    session_id: str,
    model: str | None,
    thinking: bool | None,
    system_prompt: str | None = None,
    use_profile: bool = True,
    notify: Callable[[str], None] | None = None,
) -> Conversation:
    from tutor_cli.turn import Conversation

    settings = app.settings
    conversation = Conversation(
        manager=manager,
        client=app.chat_client(),
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


def course_searcher(app: AppContext, manager: SessionManager, student_id: str, no_course: bool) -> Searcher | None:
    """What finds the course passages for this student's questions; None for --no-course or TUTOR_COURSE=off."""
    from tutor_cli.course import searcher_for

    return searcher_for(manager.store, student_id, enabled=app.settings.course and not no_course)


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
    from tutor_cli.views.text import print_notice
    from tutor_cli.work import require_no_open_problem

    existing = None
    if continue_:
        existing = manager.store.latest_session(student_id)
        if existing is None:
            print_notice(console, f"No earlier session for {student_id}; starting a new one.")
    elif session is not None:
        existing = manager.store.get_session(student_id, session)
    if existing is not None:
        require_no_open_problem(manager.store, existing)  # the plain chat has no answer guard
        if prompt_file is not None:
            print_notice(
                console, f"Session {existing.session_id} keeps its own system prompt; {prompt_file} was not applied."
            )
        return existing.session_id
    return manager.new_session(
        student_id, prompt if prompt is not None else shipped_system_prompt(), session, profile=profile
    )


def _keep_profile(app: AppContext, conversation: Conversation, *, background: bool) -> BackgroundUpdates | None:
    """Wire the profile's updates to the conversation's answers: in the chat a background thread
    (returned, to be finished when the chat ends), for `ask` a detached process. With the profile
    off, the turns of this run are only marked as seen, so they never reach the notes."""
    from tutor_cli import profile

    c, settings = conversation, app.settings
    if not c.use_profile:
        c.on_answer = lambda: c.manager.store.mark_profile_seen(c.student_id, c.session_id)
        return None
    if not background:
        c.on_answer = lambda: profile.spawn_detached(c.student_id, c.model, c.thinking, settings.database_url)
        return None
    updates = profile.BackgroundUpdates(
        store=c.manager.store,
        make_client=app.chat_client,
        student_id=c.student_id,
        model=lambda: c.model,
        thinking=lambda: c.thinking,
        home=None if settings.database_url else settings.home,
        database_url=settings.database_url,
    )
    c.on_answer = updates.after_answer
    return updates
