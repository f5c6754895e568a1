"""The prompts every screen shares: a yes/no question and a single key.

One yes/no rule for the whole tutor: only y or yes (any case) is yes; no answer, end of input
and (on the terminal prompt) Ctrl-C mean no.
"""

from __future__ import annotations

from collections.abc import Callable


def yes_or_no(question: str, read: Callable[[str], str] | None = None) -> bool:
    """Ask `question [y/N] ` and say whether the answer is yes. `read` shows the prompt and
    returns the answer; by default the prompt_toolkit line editor (for the screens)."""
    try:
        answer = (read or _terminal_line)(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def _terminal_line(message: str) -> str:
    from prompt_toolkit import prompt

    try:
        return prompt(message)
    except KeyboardInterrupt:  # inside a screen, Ctrl-C at a question is a no, not a way out
        return ""


def read_key(message: str, keys: dict[str, int]) -> int | None:
    """Wait for one of `keys` (no Enter); None for q or Ctrl-D; Ctrl-C raises KeyboardInterrupt.
    Other keys are ignored."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl

    bindings = KeyBindings()

    def answer(value: int | None):
        def handler(event) -> None:
            event.app.exit(result=value)

        return handler

    for key, value in keys.items():
        bindings.add(key)(answer(value))
    for key in ("q", "Q", "c-d"):
        bindings.add(key)(answer(None))
    bindings.add("c-c")(lambda event: event.app.exit(exception=KeyboardInterrupt))
    bindings.add("<any>")(lambda event: None)
    application: Application[int | None] = Application(
        layout=Layout(Window(FormattedTextControl(message), height=1, always_hide_cursor=True)),
        key_bindings=bindings,
        full_screen=False,
        erase_when_done=False,
    )
    return application.run()
