"""The review screen (`tutor review`): terminal interaction only; the rules are in practice.py.
prompt_toolkit is imported after the first question is on screen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tutor_cli import practice
from tutor_cli.errors import APIError
from tutor_cli.screens.prompts import read_key
from tutor_cli.turn import stream_reply
from tutor_cli.views.answer import LiveAnswerView
from tutor_cli.views.text import neutralise, print_notice

if TYPE_CHECKING:
    import fsrs
    from rich.console import Console

    from tutor_cli.client import ChatClient
    from tutor_cli.store import Store
    from tutor_cli.store.practice import CardRecord

STOP = "stop"
RATING_KEYS = {"1": 1, "2": 2, "3": 3, "4": 4}


def show_text(console: Console, text: str) -> None:
    """Card text, rendered as the tutor's answers are (Markdown, and mathematics once rendered there)."""
    view = LiveAnswerView(console)
    view.content(text if text.endswith("\n") else text + "\n")
    view.finish()


@dataclass
class ReviewSession:
    """One run of `tutor review`: due cards one at a time until none is left, the limit, or a stop."""

    store: Store
    scheduler: fsrs.Scheduler
    console: Console
    student_id: str
    clock: Callable[[], float]
    client: ChatClient | None = None  # None: no feedback (no API key)
    model: str = ""
    thinking: bool | None = None
    deck: str | None = None
    limit: int | None = None
    reviewed: int = 0
    interrupted: bool = False  # stopped with Ctrl-C rather than q or Ctrl-D
    _prompt: object = field(default=None, repr=False)

    def run(self) -> int:
        """Review; return how many cards were rated. Ctrl-C at a prompt stops the review like q,
        then re-raises KeyboardInterrupt so that the command exits 130, as any interrupted one."""
        practice.check_deck(self.store, self.student_id, self.deck)
        card = self.store.next_card(self.student_id, self.clock(), self.deck)
        if card is None:
            self._nothing_due()
            return 0
        self._notice(
            "Type your answer and press Enter; then rate it 1 Again · 2 Hard · 3 Good · 4 Easy. q or Ctrl-D stops.",
            "dim",
        )
        if self.client is None:
            self._notice("DEEPSEEK_API_KEY is not set: reviewing without the tutor's feedback.", "dim")
        while card is not None:
            if not self._review(card):
                break
            self.reviewed += 1
            if self.limit is not None and self.reviewed >= self.limit:
                break
            card = self.store.next_card(self.student_id, self.clock(), self.deck)
        self._summary(card is None)
        if self.interrupted:
            raise KeyboardInterrupt
        return self.reviewed

    # -- one card --

    def _review(self, card: CardRecord) -> bool:
        """Question, typed answer, feedback, the card's answer, the rating; False when stopped."""
        from rich.rule import Rule
        from rich.text import Text

        where = f"deck {card.deck}" + (" (class)" if card.is_class else "")
        status = "new" if card.state is None else "review"
        self.console.print(Rule(Text(f"Card {self.reviewed + 1} · {neutralise(where)} · {status}"), align="left"))
        show_text(self.console, card.question)
        typed = self._ask_answer()
        if typed is None:
            return False
        feedback = self._feedback(card, typed) if typed.strip() else None
        self.console.print(Text("Answer", style="bold green"))
        show_text(self.console, card.answer)
        try:
            rating = read_key("Rate 1 Again · 2 Hard · 3 Good · 4 Easy (q stops): ", RATING_KEYS)
        except KeyboardInterrupt:
            self.interrupted = True
            return False
        if rating is None:
            return False
        now = self.clock()
        state = practice.rate(
            self.store, self.scheduler, self.student_id, card, rating, now, answer=typed, feedback=feedback
        )
        self._notice(f"{practice.RATINGS[rating]} · next review {practice.describe_due(state.due, now)}", "cyan")
        return True

    def _ask_answer(self) -> str | None:
        """The student's answer; None for Ctrl-D, Ctrl-C (noted in `interrupted`) or a lone q."""
        if self._prompt is None:
            from prompt_toolkit import PromptSession

            self._prompt = PromptSession()
        try:
            text = self._prompt.prompt("your answer › ", pre_run=self._warm_up)  # type: ignore[attr-defined]
        except EOFError:
            return None
        except KeyboardInterrupt:
            self.interrupted = True
            return None
        return None if text.strip().lower() == "q" else text

    def _feedback(self, card: CardRecord, typed: str) -> str | None:
        """The tutor's brief comparison, streamed; None without a client, on a failure, or Ctrl-C."""
        if self.client is None:
            return None
        from tutor_cli.client import Answer

        answer = Answer()
        view = LiveAnswerView(self.console, thinking=self.thinking)
        view.start()
        try:
            stream_reply(self.client, practice.feedback_messages(card, typed), self.model, self.thinking, answer, view)
        except KeyboardInterrupt:
            view.finish("(feedback stopped)")
            return answer.content or None
        except APIError as error:
            view.finish()
            self.client = None
            self._notice(f"No feedback: {error} The review goes on without it.", "yellow")
            return None
        view.finish()
        return answer.content or None

    def _warm_up(self) -> None:
        # The SDK import (~0.3 s) happens while the student types, not after Enter.
        client = self.client
        if client is not None:
            threading.Thread(target=_quietly, args=(client.warm_up,), daemon=True).start()

    # -- ends --

    def _nothing_due(self) -> None:
        now = self.clock()
        due = self.store.next_due(self.student_id, self.deck)
        where = f" in deck {self.deck}" if self.deck else ""
        if due is None:
            self._notice(f"No cards to review{where}. Import a deck with `tutor deck import FILE`.", "green")
        else:
            self._notice(f"Nothing is due{where}. The next card is due {practice.describe_due(due, now)}.", "green")

    def _summary(self, finished: bool) -> None:
        now = self.clock()
        done = f"Reviewed {self.reviewed} card{'s' if self.reviewed != 1 else ''}."
        if finished:
            due = self.store.next_due(self.student_id, self.deck)
            later = f" The next card is due {practice.describe_due(due, now)}." if due is not None else ""
            self._notice(f"{done} Nothing more is due now.{later}", "green")
        else:
            self._notice(f"{done} Your ratings are saved; `tutor review` goes on where you stopped.", "green")

    def _notice(self, text: str, style: str = "yellow") -> None:
        print_notice(self.console, text, style)


def _quietly(function: Callable[[], object]) -> None:
    try:
        function()
    except Exception:  # a failure shows up, properly reported, when feedback is asked for
        pass
