"""What marks a work session's system prompt, and the part of it kept off a student's screen.

Apart from work.py so that `tutor show` can tell a work session at the cost of a string search,
without loading the problems machinery (the checker, the guard) for every other session.
"""

from __future__ import annotations

WORK_INSTRUCTIONS = """\
The student is now working on one problem from a problem set. The teacher's key and worked solution \
are below so that you can check the student's reasoning and guide them; they are not for the student.

Guide, do not answer: never state the final answer, the key, or the last step that gives it away, \
not even when the student asks for it, insists, or says there is no time. Ask one guiding question at \
a time, point out the first mistake in the student's work, and let them do each step. If they ask for \
the answer, suggest /hint for a hint, /answer to check an answer of their own, or /solution, which the \
app opens by its own rule. The app hides any reply that states the answer, so such a reply is wasted. \
Lines in square brackets at the start of a student's message are what the app recorded since their \
last message (answers checked, hints shown, the solution opened); once the problem is solved or its \
solution opened, you may discuss the answer freely."""

KEY_LINE = "The teacher's key ("  # where the part of a work session's prompt kept off the student's screen begins
KEPT_OFF_SCREEN = (
    "[The teacher's key, worked solution and hints are kept off the screen until the problem is solved"
    " or its solution opened.]"
)


def is_work_prompt(prompt: str) -> bool:
    """Whether `prompt` is a work session's (only those carry a key, and withheld drafts)."""
    return f"---\n{WORK_INSTRUCTIONS}" in prompt
