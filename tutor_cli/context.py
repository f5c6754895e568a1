"""The context window, in one place: token estimates, models' context windows, where a request's
window starts, the summary of what left it, and the request itself (`ContextWindow`).

The estimates and budgets at the top are pure; `ContextWindow` reads and moves the window through
the store it is given, and asks the model for summaries through the conversation's client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tutor_cli.errors import APIError, QuestionTooLongError, SessionNotFoundError
from tutor_cli.tokens import clip_to_tokens, estimated_usage, message_tokens

if TYPE_CHECKING:
    from tutor_cli.client import Answer, ChatClient
    from tutor_cli.store import Store
    from tutor_cli.store.records import SessionRecord

# Context windows in tokens. DeepSeek's current models have 1M; the retired names had 128K.
CONTEXT_WINDOWS = {
    "deepseek-flash": 1_000_000,
    "deepseek-v4-flash": 1_000_000,
    "deepseek-v4-pro": 1_000_000,
    "deepseek-chat": 128_000,
    "deepseek-reasoner": 128_000,
}
DEFAULT_CONTEXT_WINDOW = 128_000  # unknown models: a 400 from the server teaches the real limit
# A learned limit is never taken below this: a server (or a stored value) claiming a tiny window
# would otherwise turn every turn into a trim and a summary call. Small local models have 4K.
MIN_LEARNED_CONTEXT = 4_096
TRIM_TO = 0.6  # when the window overflows, keep about this share of the budget: big, rare steps


def summary_limit(window: int) -> int:
    """The most tokens a summary may take in each request."""
    return max(200, min(2_000, window // 10))


def context_window(model: str, *, override: int | None = None, learned: int | None = None) -> int:
    """The model's context window: the user's override, else what a server said, else the table."""
    if override:
        return override
    if learned:
        return max(learned, MIN_LEARNED_CONTEXT)
    return CONTEXT_WINDOWS.get(model, DEFAULT_CONTEXT_WINDOW)


def reply_reserve(window: int) -> int:
    """Tokens kept free for the answer (and its reasoning)."""
    return min(32_000, window // 4)


@dataclass(frozen=True)
class Budget:
    """How many estimated tokens the window may hold, and how far a trim goes."""

    limit: int  # estimated tokens the messages may take in all
    target: int  # after a trim, at most this

    @classmethod
    def for_window(cls, window: int, fixed_tokens: int, scale: float) -> Budget:
        """Budget in *estimated* tokens for the turns, after the system prompt and summary."""
        usable = (window - reply_reserve(window)) / max(scale, 0.05)
        limit = max(0, int(usable) - fixed_tokens)
        return cls(limit=limit, target=int(usable * TRIM_TO) - fixed_tokens)


def choose_start(rows_newest_first: Iterable[tuple[int, str, int]], budget: Budget) -> int | None:
    """Where the window must start so the turns fit, or None when everything already fits.

    `rows_newest_first` gives (id, role, tokens) from the newest message back to the current
    window start; it is read only as far as needed. When the turns overflow the limit, the new
    start is the oldest user message whose turns fit in the target (never later than the newest
    question), so that the next requests can grow for a while before the next trim.
    """
    total = 0
    start_in_target: int | None = None
    newest_question: int | None = None
    for message_id, role, tokens in rows_newest_first:
        total += tokens
        if role == "user":
            newest_question = newest_question or message_id
            if total <= budget.target:
                start_in_target = message_id
        if total > budget.limit:
            return start_in_target or newest_question
    return None


# --- the request window: what of a session is sent, and why ----------------------------------


def alternating(system_prompt: str, messages: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The system prompt, then user and assistant strictly alternating, each only role and content.

    The store keeps every message as it happened; a question left unanswered (an API error, or
    Ctrl-C before any text) is followed by another question, so consecutive messages of one role
    are merged into one. Leading assistant messages (possible through the library) are skipped.
    Reasoning is never part of what is sent.
    """
    request = [{"role": "system", "content": system_prompt}]
    for role, content in messages:
        if len(request) == 1 and role != "user":
            continue
        if request[-1]["role"] == role:
            request[-1] = {"role": role, "content": request[-1]["content"] + "\n\n" + content}
        else:
            request.append({"role": role, "content": content})
    return request


SUMMARY_NOTE = "Notes on our earlier turns, which are no longer shown here in full:\n\n"
SUMMARY_ACK = "Understood. I will keep these notes in mind."
SUMMARY_INSTRUCTIONS = (
    "You keep notes for a tutor. From the earlier notes and the conversation below, write short notes "
    "for the tutor who will continue this session: what the student is working on, what they have "
    "understood, what they struggled with, and anything they asked the tutor to remember. At most 200 "
    "words, in the language of the conversation, as a few Markdown bullet points."
)
SUMMARY_INPUT_SHARE = 0.5  # of the context window, at most, for the turns being summarised


def _summary_turns(summary: str | None) -> list[dict[str, str]]:
    """The summary travels as a user/assistant pair right after the system prompt, which stays
    byte-identical, and before the window, which starts with a question: alternation holds."""
    if not summary:
        return []
    return [{"role": "user", "content": SUMMARY_NOTE + summary}, {"role": "assistant", "content": SUMMARY_ACK}]


PROFILE_NOTE = "Your notes about me from our earlier sessions (I can read and correct them with `tutor profile`):\n\n"
PROFILE_ACK = "Thank you. I will keep these notes about you in mind."


def _profile_turns(snapshot: str | None) -> list[dict[str, str]]:
    """The student's profile, as it stood when the session began, travels as a user/assistant pair
    right after the system prompt (before the summary): it never changes between two turns that
    fit, so the request's start stays byte-identical for DeepSeek's prefix cache."""
    if not snapshot:
        return []
    return [{"role": "user", "content": PROFILE_NOTE + snapshot}, {"role": "assistant", "content": PROFILE_ACK}]


def _fixed_start(record: SessionRecord, snapshot: str | None) -> tuple[list[dict[str, str]], int]:
    """What every request of the session starts with after the system prompt (the profile, the
    summary), and the estimated tokens of all of it with the system prompt."""
    prefix = _profile_turns(snapshot) + _summary_turns(record.summary)
    return prefix, message_tokens(record.system_prompt) + sum(message_tokens(m["content"]) for m in prefix)


@dataclass
class Request:
    """A request ready to send, what it is estimated to cost, and what just left the window."""

    messages: list[dict[str, str]]
    estimated_tokens: int
    dropped: tuple[int, int] | None = None  # (after id, before id) of turns to summarise
    scale: float = 1.0  # server tokens per estimated token, as learned for the session

    def usage_of(self, answer: Answer) -> tuple[dict[str, int], bool]:
        """What the answer to this request cost, and whether that is the tutor's estimate: the
        server's usage when it sent one, else (llama.cpp's server sends none) an estimate from the
        text, so that totals and daily token limits count it rather than nothing."""
        if answer.usage:
            return answer.usage, False
        return estimated_usage(self.estimated_tokens, answer.content, answer.reasoning, self.scale), True


class _Turns:
    """The turns of a session's current window, as read so far: (id, role, content, tokens)."""

    def __init__(self, start: int, turns: list[tuple[int, str, str, int]]) -> None:
        self.start = start
        self.turns = list(turns)
        self.tokens = sum(turn[3] for turn in self.turns)

    @property
    def last_id(self) -> int:
        return self.turns[-1][0] if self.turns else self.start - 1

    def extend(self, turns: list[tuple[int, str, str, int]]) -> None:
        self.turns.extend(turns)
        self.tokens += sum(turn[3] for turn in turns)

    def newest_first(self) -> Iterator[tuple[int, str, int]]:
        return ((turn[0], turn[1], turn[3]) for turn in reversed(self.turns))

    def cut(self, start: int) -> None:
        self.start = start
        self.turns = [turn for turn in self.turns if turn[0] >= start]
        self.tokens = sum(turn[3] for turn in self.turns)


class Asker(Protocol):
    """What the window needs of a conversation to summarise: who, which session, which model."""

    student_id: str
    session_id: str
    model: str
    thinking: bool | None
    context_override: int | None
    client: ChatClient
    notify: Callable[[str], None]
    use_profile: bool  # send the session's profile snapshot (TUTOR_PROFILE, --no-profile)


class ContextWindow:
    """Decides what of a session is sent: the one home of "why was turn 40 not sent?".

    A request is the system prompt, the summary of turns that left the window (if any), then the
    newest whole turns that fit, alternating and ending with the question. The window only moves
    forward, in large steps (`choose_start`), so consecutive requests share their beginning and
    DeepSeek's prefix cache keeps hitting; its start is kept in the store, so separate `tutor ask`
    runs agree. Deciding reads only token counts; content is read only from the window's start,
    and only what is new since the previous request.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        # Per session: the window's turns read so far, so each request reads only what is new.
        self._turns: dict[tuple[str, str], _Turns] = {}

    def tokens_for(self, student_id: str, model: str, override: int | None) -> int:
        """The model's context window: override, else what a server told this student, else the table."""
        return context_window(model, override=override, learned=self.store.learned_limit(student_id, model))

    def learn(self, student_id: str, model: str, limit: int) -> None:
        """Remember a server's "maximum context length is N" for this student (never below the floor)."""
        self.store.learn_limit(student_id, model, max(limit, MIN_LEARNED_CONTEXT))

    def build(self, student_id: str, session_id: str, window_tokens: int | None, *, profile: bool = True) -> Request:
        """What to send next, within `window_tokens` (None: no limit). Moves the stored window
        start forward when the turns outgrow the window; `dropped` then names what left it.
        `profile`: carry the session's profile snapshot (refreshed only when the window is cut)."""
        record = self.store.get_session(student_id, session_id)
        key = (student_id, session_id)
        if record is None:
            self._turns.pop(key, None)
            raise SessionNotFoundError(student_id, session_id)
        snapshot = record.profile_snapshot if profile else None
        prefix, fixed = _fixed_start(record, snapshot)
        budget = None
        if window_tokens is not None:
            budget = Budget.for_window(window_tokens, fixed, record.token_scale or 1.0)
        turns = self._turns.get(key)
        new_start = None
        if turns is None or turns.start != record.window_start:
            if budget is not None:
                rows = self.store.iter_window_newest_first(student_id, session_id, record.window_start)
                new_start = choose_start(rows, budget)
            start = new_start or record.window_start
            turns = _Turns(start, self.store.get_turns(student_id, session_id, after_id=start - 1))
        else:
            turns.extend(self.store.get_turns(student_id, session_id, after_id=turns.last_id))
            if budget is not None and turns.tokens > budget.limit:
                new_start = choose_start(turns.newest_first(), budget)
                if new_start is not None:
                    turns.cut(new_start)
        self._turns[key] = turns
        dropped = None
        if new_start is not None and new_start > record.window_start:
            self.store.set_window(student_id, session_id, new_start)
            dropped = (record.summary_through, new_start)
            if profile:  # the start changes anyway: the only moment the snapshot may catch up
                snapshot = self.store.take_profile_snapshot(student_id, session_id)
                prefix, fixed = _fixed_start(record, snapshot)
        messages = alternating(record.system_prompt, [(role, content) for _, role, content, _ in turns.turns])
        messages[1:1] = prefix
        return Request(
            messages=messages,
            estimated_tokens=fixed + turns.tokens,
            dropped=dropped,
            scale=record.token_scale or 1.0,
        )

    def fits(self, asker: Asker, question: str) -> bool:
        """Whether `question` could be sent at all: with the session's fixed start (system prompt,
        profile, summary) and room for the reply, within the model's window. Earlier turns do not
        count: they are trimmed to make room (`choose_start`)."""
        record = self.store.get_session(asker.student_id, asker.session_id)
        if record is None:
            raise SessionNotFoundError(asker.student_id, asker.session_id)
        snapshot = record.profile_snapshot if getattr(asker, "use_profile", True) else None
        _, fixed = _fixed_start(record, snapshot)
        window = self.tokens_for(asker.student_id, asker.model, asker.context_override)
        return message_tokens(question) <= Budget.for_window(window, fixed, record.token_scale or 1.0).limit

    def prepare(self, asker: Asker) -> Request:
        """The request for this turn; when turns just left the window, try to summarise them first.

        A question that cannot fit the window even alone with the system prompt is refused here,
        before anything moves or is sent (QuestionTooLongError): the server could only refuse it.
        """
        window = self.tokens_for(asker.student_id, asker.model, asker.context_override)
        self.check_question_fits(asker.student_id, asker.session_id, window)
        profile = getattr(asker, "use_profile", True)
        request = self.build(asker.student_id, asker.session_id, window, profile=profile)
        if request.dropped is not None and self.summarise(asker, *request.dropped):
            request = self.build(asker.student_id, asker.session_id, window, profile=profile)
        return request

    def check_question_fits(self, student_id: str, session_id: str, window: int) -> None:
        """Raise QuestionTooLongError when the newest question, with only the system prompt before
        it, is over the window's budget for messages (the window less the answer's reserve)."""
        record = self.store.get_session(student_id, session_id)
        if record is None:
            raise SessionNotFoundError(student_id, session_id)
        rows = self.store.iter_window_newest_first(student_id, session_id, record.window_start, batch=1)
        newest = next(iter(rows), None)
        if newest is None or newest[1] != "user":
            return
        budget = Budget.for_window(window, message_tokens(record.system_prompt), record.token_scale or 1.0)
        if newest[2] > budget.limit:
            raise QuestionTooLongError(int(newest[2] * (record.token_scale or 1.0)), window)

    def summarise(self, asker: Asker, after_id: int, before_id: int) -> bool:
        """Summarise the earlier notes plus the turns between the ids and store the result.

        Returns False (and stores nothing) when the summary call fails: trimming alone still answers.
        """
        from tutor_cli.client import Answer

        record = self.store.get_session(asker.student_id, asker.session_id)
        window = self.tokens_for(asker.student_id, asker.model, asker.context_override)
        scale = (record.token_scale if record else None) or 1.0
        max_tokens = int(min(window * SUMMARY_INPUT_SHARE, 200_000) / scale)
        turns = self._turns_between(asker.student_id, asker.session_id, after_id, before_id, max_tokens)
        if not turns:
            return False
        earlier = record.summary if record and record.summary else "(none)"
        transcript = "\n\n".join(f"{'Student' if role == 'user' else 'Tutor'}: {content}" for role, content in turns)
        messages = [
            {"role": "system", "content": SUMMARY_INSTRUCTIONS},
            {"role": "user", "content": f"Earlier notes:\n{earlier}\n\nConversation:\n{transcript}"},
        ]
        asker.notify("Summarising earlier turns so the tutor remembers them…")
        try:
            summary = Answer()
            for _ in asker.client.stream(messages, asker.model, thinking=asker.thinking, answer=summary):
                pass
        except APIError:
            asker.notify("Could not summarise the earlier turns; answering from the recent ones.")
            return False
        if not summary.content.strip():
            return False
        text = clip_to_tokens(
            summary.content.strip(), summary_limit(window)
        )  # a rambling summary must not crowd out turns
        self.store.set_window(
            asker.student_id, asker.session_id, before_id, summary=text, summary_through=before_id - 1
        )
        self._turns.pop((asker.student_id, asker.session_id), None)
        return True

    def compact(self, asker: Asker) -> bool | None:
        """/compact: summarise everything before the latest turn now. None when there is nothing to do."""
        span = self._compact_range(asker.student_id, asker.session_id)
        if span is None:
            return None
        return self.summarise(asker, *span)

    def calibrate(self, student_id: str, session_id: str, estimated: int, actual: int) -> None:
        """Learn how many server tokens one estimated token is, from what the server reported."""
        if estimated <= 0 or actual <= 0:
            return
        scale = min(4.0, max(0.25, actual / estimated))
        record = self.store.get_session(student_id, session_id)
        if record is not None and abs((record.token_scale or 1.0) - scale) > 0.02 * scale:
            self.store.set_token_scale(student_id, session_id, scale)

    def _turns_between(
        self, student_id: str, session_id: str, after_id: int, before_id: int, max_tokens: int
    ) -> list[tuple[str, str]]:
        """(role, content) of the messages strictly between the ids, the newest that fit `max_tokens`."""
        start = before_id  # nothing, unless at least the newest message fits
        total = 0
        newest_first = self.store.iter_window_newest_first(student_id, session_id, after_id + 1, before_id)
        for message_id, _, tokens in newest_first:
            total += tokens
            if total > max_tokens:
                break
            start = message_id
        else:
            start = after_id + 1
        rows = self.store.get_turns(student_id, session_id, after_id=start - 1, before_id=before_id)
        return [(role, content) for _, role, content, _ in rows]

    def _compact_range(self, student_id: str, session_id: str) -> tuple[int, int] | None:
        """(after, before) ids of everything before the latest turn not yet summarised."""
        record = self.store.get_session(student_id, session_id)
        if record is None:
            raise SessionNotFoundError(student_id, session_id)
        latest_question = None
        for message_id, role, _ in self.store.iter_window_newest_first(student_id, session_id, record.window_start):
            if role == "user":
                latest_question = message_id
                break
        if latest_question is None or latest_question <= max(record.window_start, record.summary_through + 1):
            return None
        return (record.summary_through, latest_question)
