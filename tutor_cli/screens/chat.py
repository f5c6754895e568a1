"""The chat screen: the prompt_toolkit REPL and its slash commands (/card among them).

A question is one turn of `tutor_cli.turn`; prompt_toolkit is imported only when the REPL starts.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor_cli import practice
from tutor_cli.client import Answer
from tutor_cli.config import shipped_system_prompt
from tutor_cli.errors import APIError, StreamDroppedError, TutorError
from tutor_cli.pricing import PriceTable, UsageTotals
from tutor_cli.screens.prompts import yes_or_no
from tutor_cli.screens.review import show_text
from tutor_cli.turn import Conversation, ask, stream_reply
from tutor_cli.views.text import print_notice

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.attachments import Attachment


# --- the REPL -------------------------------------------------------------------------------

SLASH_COMMANDS = {
    "/help": "list these commands",
    "/exit": "leave the tutor (also /quit or Ctrl-D)",
    "/new": "start a fresh session",
    "/title": "/title TEXT: give this session a title (alone: show it)",
    "/model": "/model NAME: talk to another model (alone: show the current one)",
    "/thinking": "/thinking on|off: ask for the model's reasoning, or not",
    "/retry": "ask the last question again",
    "/sessions": "list your sessions",
    "/show": "print this session's transcript",
    "/usage": "tokens, cache hits and estimated cost of this session",
    "/compact": "summarise the earlier turns now, so fewer tokens are sent",
    "/card": "turn the latest exchange into a card to review (deck chat)",
    "/profile": "show the tutor's notes about you (kept across sessions)",
    "/forget": "erase the tutor's notes about you (asks first)",
    "/edit": "/edit [TEXT]: write your question in your editor ($VISUAL, $EDITOR; also Ctrl-X Ctrl-E)",
    "/attach": "/attach FILE [QUESTION]: put a text, code, Markdown or PDF file into your next question",
    "/copy": "/copy [N]: copy the Nth code block or formula of the last answer (alone: the last one)",
    "/sources": "show the course-material passages sent with the last question",
}


class LeaveChat(Exception):
    """Raised by /exit: the REPL ends normally."""


class Repl:
    """Reads a line, then acts on it: a slash command or a question for the tutor."""

    def __init__(
        self,
        conversation: Conversation,
        console: Console,
        history_path: Path,
        *,
        prices: PriceTable | None = None,
        quiet: bool = False,
        math: bool = True,
    ) -> None:
        self.conversation = conversation
        self.math = math  # draw LaTeX in answers as Unicode (TUTOR_MATH)
        self.console = console
        self.history_path = history_path
        self.prices = prices or PriceTable()
        self.quiet = quiet
        conversation.notify = lambda text: self._notice(text, "dim")
        self.commands: dict[str, Callable[[str], None]] = {
            "/help": self._help,
            "/exit": self._exit,
            "/quit": self._exit,
            "/new": self._new,
            "/title": self._title,
            "/model": self._model,
            "/thinking": self._thinking,
            "/retry": self._retry,
            "/sessions": self._sessions,
            "/show": self._show,
            "/usage": self._usage,
            "/compact": self._compact,
            "/card": self._card,
            "/profile": self._profile,
            "/forget": self._forget,
            "/edit": self._edit,
            "/attach": self._attach,
            "/copy": self._copy,
            "/sources": self._sources,
        }
        self.next_input = ""  # what the next prompt starts with (the editor's text after /edit)
        self.attachments: list[Attachment] = []  # files that go with the next question

    def run(self) -> None:
        """The loop: until Ctrl-D or /exit. An error on one line is reported and the loop goes on."""
        # Ctrl-C is how a student stops an answer: make sure it raises KeyboardInterrupt even when
        # tutor was started with SIGINT ignored (a background job of a non-interactive shell, some
        # launchers), which Python would otherwise keep.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        session = self._prompt_session()
        threading.Thread(target=self._warm_up, daemon=True).start()
        self._greet()
        while True:
            try:
                default, self.next_input = self.next_input, ""  # offered once: Ctrl-C clears it
                text = session.prompt(self._prompt_text, default=default)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return
            try:
                self.handle(text)
            except LeaveChat:
                return
            except KeyboardInterrupt:
                continue
            except TutorError as error:
                self._notice(str(error), "bold red")

    def handle(self, text: str) -> None:
        """Act on one line of input."""
        if not text.strip():
            return
        if text.lstrip().startswith("/"):
            name, _, argument = text.strip().partition(" ")
            command = self.commands.get(name.lower())
            if command is None:
                self._notice(f"Unknown command {name}; /help lists the commands. Nothing was sent.")
                return
            command(argument.strip())
            return
        self._ask(text)

    # -- turns --

    def _ask(self, question: str | None) -> None:
        from tutor_cli.views.answer import usage_line

        if question is not None and self.attachments:
            question = self._with_attachments(question)
            if question is None:
                return
        view = self._answer_view()
        try:
            answer = ask(self.conversation, question, view)
            if self._after_answer(view):
                return
            if not self.quiet and answer.usage:
                self._notice(usage_line(answer.usage, answer.model or self.conversation.model, self.prices), "dim")
        except StreamDroppedError as error:
            self._notice(f"{error} /retry asks the question again.", "bold red")
        except APIError as error:
            self._notice(f"{error} Your question is kept; /retry asks it again.", "bold red")
        except KeyboardInterrupt:
            pass  # the view already said "(stopped)"; the prompt comes back

    def _answer_view(self) -> Any:
        """Where the answer streams (the work screen puts the answer guard in front of it)."""
        from tutor_cli.views.answer import LiveAnswerView

        return LiveAnswerView(self.console, math=self.math, thinking=self.conversation.thinking)

    def _after_answer(self, view: Any) -> bool:
        """Say what the answer's view needs said; True when that replaces the usage line."""
        return False

    # -- slash commands --

    def _help(self, _: str) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 2))
        for name, description in SLASH_COMMANDS.items():
            table.add_row(name, description)
        self.console.print(table)
        self._notice(
            "Enter sends; Alt+Enter (or Esc then Enter) adds a line; a paste is one message. Ctrl-C stops an answer.",
            "dim",
        )

    def _exit(self, _: str) -> None:
        raise LeaveChat

    def _new(self, _: str) -> None:
        c = self.conversation
        prompt = c.system_prompt if c.system_prompt is not None else shipped_system_prompt()
        c.session_id = c.manager.new_session(c.student_id, prompt, profile=c.use_profile)
        c.last_passages = None
        self._notice(f"New session {c.session_id}.", "green")

    def _title(self, text: str) -> None:
        c = self.conversation
        if text:
            title = c.manager.set_title(c.student_id, c.session_id, text)
            self._notice(f"Title: {title}", "green")
            return
        record = c.manager.store.get_session(c.student_id, c.session_id)
        if record is not None and record.title:
            self._notice(f"Title: {record.title}", "green")
        else:
            self._notice("This session has no title yet: its first question gives it one, or /title TEXT.")

    def _model(self, name: str) -> None:
        if name:
            self.conversation.model = name
        self._notice(f"Model: {self.conversation.model}", "green")

    def _thinking(self, value: str) -> None:
        from tutor_cli.config import parse_thinking

        if value:
            self.conversation.thinking = parse_thinking(value, "/thinking")
        self._notice(f"Thinking: {_thinking_label(self.conversation.thinking)}", "green")

    def _retry(self, _: str) -> None:
        c = self.conversation
        question, unanswered = c.manager.last_question(c.student_id, c.session_id)
        if question is None:
            self._notice("There is no question to retry yet.")
            return
        self._ask(None if unanswered else question)

    def _sessions(self, _: str) -> None:
        from tutor_cli.views.transcript import print_sessions_table

        c = self.conversation
        print_sessions_table(self.console, c.manager.sessions_with_totals(self.prices, c.student_id), c.student_id)

    def _show(self, _: str) -> None:
        from tutor_cli.views.transcript import Transcript, print_transcript
        from tutor_cli.work import as_the_student_sees_it

        c = self.conversation
        record = c.manager.store.get_session(c.student_id, c.session_id)
        if record is not None:
            messages = c.manager.store.iter_messages(c.student_id, c.session_id)
            record, messages = as_the_student_sees_it(c.manager.store, record, messages)
            print_transcript(self.console, Transcript(record, messages, self._totals(), self.prices), math=self.math)

    def _usage(self, _: str) -> None:
        totals = self._totals()
        share = totals.cache_hit_share
        t = totals.tokens
        self._notice(f"Session {self.conversation.session_id}: {totals.describe()}", "green")
        if totals.estimated:
            self._notice(
                f"prompt ~{t['prompt_tokens']:,} · completion ~{t['completion_tokens']:,}: estimated by the tutor "
                "from the text (the server sends no token counts, nor cache hits)",
                "dim",
            )
            return
        self._notice(
            f"prompt {t['prompt_tokens']:,} (cache hit {t['cache_hit_tokens']:,}, miss "
            f"{t['cache_miss_tokens']:,}; {share:.0%} hit) · completion {t['completion_tokens']:,} · "
            f"reasoning {t['reasoning_tokens']:,}"
            if share is not None
            else "No answers with usage yet.",
            "dim",
        )

    def _compact(self, _: str) -> None:
        result = self.conversation.manager.window.compact(self.conversation)
        if result is None:
            self._notice("Nothing to compact yet: the earlier turns are already summarised or there are none.")
        elif result:
            self._notice(
                "Earlier turns summarised; they stay in the transcript but are no longer sent in full.", "green"
            )
        else:
            self._notice("Could not summarise now; nothing changed.")

    def _card(self, _: str) -> None:
        from tutor_cli.config import now

        try:
            card_from_chat(self.conversation, self.console, now)
        except APIError as error:
            self._notice(f"{error} No card was made.", "bold red")

    def _profile(self, _: str) -> None:
        from tutor_cli.views.profile import print_profile

        c = self.conversation
        print_profile(self.console, c.student_id, c.manager.store.get_profile(c.student_id), c.use_profile)

    def _forget(self, _: str) -> None:
        c = self.conversation
        if not yes_or_no("Erase the tutor's notes about you? This cannot be undone."):
            self._notice("Nothing was erased.")
            return
        c.manager.store.clear_profile(c.student_id)
        self._notice("The tutor's notes about you are erased; what you said so far will not be used for them.", "green")

    def _edit(self, text: str) -> None:
        from tutor_cli.screens.editor import EditorError, edit

        try:
            edited = edit(text)
        except EditorError as error:
            self.next_input = text
            self._notice(str(error), "bold red")
            return
        if not edited:
            self._notice("The editor's file was empty; nothing to send.")
            return
        self.next_input = edited  # on the prompt, ready to send with Enter

    def _attach(self, argument: str) -> None:
        from tutor_cli.attachments import AttachmentError, read_attachment, split_argument

        path, question = split_argument(argument)
        if not path:
            self._notice("Say which file: /attach FILE [QUESTION]. Nothing was sent.")
            return
        try:
            attachment = read_attachment(path)
        except AttachmentError as error:
            self._notice(str(error), "bold red")
            return
        self.attachments.append(attachment)
        if question:
            self._ask(question)
        else:
            self._notice(f"{attachment.describe()} goes with your next question.", "green")

    def _with_attachments(self, question: str) -> str | None:
        """The question with the waiting files, if it fits the model's window; else one sentence,
        the files dropped and the question put back on the prompt."""
        from tutor_cli.attachments import with_attachments

        attachments, self.attachments = self.attachments, []
        full = with_attachments(attachments, question)
        c = self.conversation
        if c.manager.window.fits(c, full):
            return full
        names = " and ".join(attachment.name for attachment in attachments)
        self.next_input = question
        self._notice(
            f"{names} with your question is too long for {c.model}'s context window; nothing was sent "
            "(attach a smaller file or a part of it).",
            "bold red",
        )
        return None

    def _copy(self, argument: str) -> None:
        import os

        from tutor_cli.views.clipboard import copy_to_clipboard
        from tutor_cli.views.snippets import copied_message, find_snippets, pick

        c = self.conversation
        answer = c.manager.last_answer(c.student_id, c.session_id)
        try:
            snippet = pick(find_snippets(answer or ""), argument)
        except ValueError as error:
            self._notice(str(error) if answer else "There is no answer to copy from yet.")
            return
        copy_to_clipboard(snippet.text, self.console.file, os.environ)
        self._notice(copied_message(snippet), "green")

    def _sources(self, _: str) -> None:
        from tutor_cli.views.course import print_passages

        c = self.conversation
        passages = c.last_passages
        if passages is None:  # nothing asked yet in this run: the session's last question, as stored
            passages = c.manager.store.last_question_passages(c.student_id, c.session_id)
        print_passages(self.console, passages)

    def _totals(self) -> UsageTotals:
        c = self.conversation
        return c.manager.session_totals(self.prices, c.student_id, c.session_id)

    # -- helpers --

    def _prompt_session(self):  # -> PromptSession
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("escape", "enter")
        def _newline(event) -> None:  # Alt+Enter / Esc Enter: a new line instead of sending
            event.current_buffer.insert_text("\n")

        @bindings.add("c-x", "c-e")
        def _editor(event) -> None:  # as in bash: the input in $VISUAL/$EDITOR
            event.app.create_background_task(self._edit_buffer(event.current_buffer))

        if not self.history_path.exists():
            self.history_path.touch(mode=0o600)
        return PromptSession(
            history=FileHistory(str(self.history_path)),
            completer=_slash_completer(list(self.commands)),
            complete_while_typing=False,
            key_bindings=bindings,
            bottom_toolbar=self._toolbar,
            multiline=False,
        )

    async def _edit_buffer(self, buffer) -> None:
        """Ctrl-X Ctrl-E: the editor on what is typed so far; what is saved becomes the input."""
        from prompt_toolkit.application import run_in_terminal
        from prompt_toolkit.document import Document

        from tutor_cli.screens.editor import EditorError, edit

        def run() -> str | None:
            try:
                return edit(buffer.text)
            except EditorError as error:
                self._notice(str(error), "bold red")
                return None

        edited = await run_in_terminal(run, in_executor=True)
        if edited is not None:
            buffer.document = Document(edited, len(edited))

    def _prompt_text(self) -> str:
        return "you › "

    def _toolbar(self) -> str:
        c = self.conversation
        attached = "".join(f" · +{attachment.name}" for attachment in self.attachments)
        return f" {c.student_id} · session {c.session_id} · {c.model} · {_thinking_words(c.thinking)}{attached} · /help"

    def _greet(self) -> None:
        """The header line (with the session's title) and, for a resumed session, where the student
        left off: its last question and answer, shortened and dimmed."""
        c = self.conversation
        record = c.manager.store.get_session(c.student_id, c.session_id)
        messages = record.message_count if record else 0
        state = f"resumed, {messages} messages" if messages else "new"
        title = f"“{record.title}” · " if record is not None and record.title else ""
        self._notice(
            f"tutor · {title}session {c.session_id} ({state}) · model {c.model} · /help for commands, Ctrl-D to leave",
            "dim",
        )
        exchange = practice.latest_exchange(c.manager.store, c.student_id, c.session_id) if messages else None
        if exchange is not None:
            question, answer = exchange
            self._notice(f"Last time you asked: {_gist(question)}", "dim")
            self._notice(f"The tutor answered: {_gist(answer)}", "dim")

    def _warm_up(self) -> None:
        try:
            self.conversation.client.warm_up()
        except Exception:  # a failure here shows up, properly reported, on the first question
            pass

    def _notice(self, text: str, style: str = "yellow") -> None:
        from tutor_cli.views.text import print_notice

        print_notice(self.console, text, style)


def _slash_completer(names: list[str]):  # -> Completer
    """Tab completes the slash commands, and after `/attach ` the file's path."""
    from prompt_toolkit.completion import Completer, PathCompleter, WordCompleter
    from prompt_toolkit.document import Document

    commands = WordCompleter(names, sentence=True)
    paths = PathCompleter(expanduser=True)

    class SlashCompleter(Completer):
        def get_completions(self, document, complete_event):
            before = document.text_before_cursor
            if before.startswith("/attach ") and " " not in before[len("/attach ") :]:
                path = before[len("/attach ") :]
                yield from paths.get_completions(Document(path, len(path)), complete_event)
            elif " " not in before:
                yield from commands.get_completions(document, complete_event)

    return SlashCompleter()


def _thinking_label(thinking: bool | None) -> str:
    return "the server's default" if thinking is None else ("on" if thinking else "off")


def _thinking_words(thinking: bool | None) -> str:
    """The toolbar's few words: short, since the bottom bar holds a whole line of them."""
    return "default thinking" if thinking is None else ("thinking on" if thinking else "thinking off")


RECAP_CHARS = 160  # of each side of the last exchange in a resumed session's recap


def _gist(text: str) -> str:
    """A message on one line, cut at a word near RECAP_CHARS."""
    line = " ".join(text.split())
    if len(line) <= RECAP_CHARS:
        return line
    cut = line.rfind(" ", 0, RECAP_CHARS)
    return line[: cut if cut > RECAP_CHARS // 2 else RECAP_CHARS] + " …"


# --- /card --------------------------------------------------------------------


def card_from_chat(conversation: Conversation, console: Console, clock: Callable[[], float]) -> None:
    """Ask the model for a card made of the latest exchange, show it, keep it on yes."""
    from rich.text import Text

    manager, student = conversation.manager, conversation.student_id
    exchange = practice.latest_exchange(manager.store, student, conversation.session_id)
    if exchange is None:
        print_notice(console, "There is no answered question to make a card from yet.")
        return
    c = conversation
    with console.status("Making a card…", spinner="dots"):
        answer = stream_reply(c.client, practice.card_messages(*exchange), c.model, c.thinking, Answer())
    card = practice.parse_card(answer.content)
    if card is None:
        print_notice(console, "The model's reply could not be read as a card; nothing was stored.", "bold red")
        return
    console.print(Text("Question", style="bold cyan"))
    show_text(console, card.question)
    console.print(Text("Answer", style="bold green"))
    show_text(console, card.answer)
    if not yes_or_no(f"Keep this card in deck {practice.CHAT_DECK}?"):
        print_notice(console, "Not kept.", "dim")
    elif practice.keep_card(manager.store, student, card, clock()):
        print_notice(console, f"Kept in deck {practice.CHAT_DECK}; `tutor review` will ask it.", "green")
    else:
        print_notice(console, f"This card is already in deck {practice.CHAT_DECK}.", "green")
