"""One conversation turn, shared by the chat, `tutor ask` and the review screen (and any screen
to come): who is talking to which model (`Conversation`), and `ask`, which stores the question,
sends the window, streams the answer into a view and stores it. No UI imports: a view is handed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from tutor_cli.client import Answer, ChatClient, ContextOverflowError
from tutor_cli.errors import StreamDroppedError
from tutor_cli.rights import check_daily_limits

if TYPE_CHECKING:
    from tutor_cli.context import Request
    from tutor_cli.sessions import SessionManager


class AnswerSink(Protocol):
    """Where a streamed answer goes (views.answer.AnswerView and LiveAnswerView are two)."""

    def start(self) -> None: ...
    def content(self, text: str) -> None: ...
    def reasoning(self, text: str) -> None: ...
    def finish(self, note: str | None = None) -> None: ...


def stream_reply(
    client: ChatClient,
    messages: list[dict[str, str]],
    model: str,
    thinking: bool | None,
    answer: Answer,
    view: AnswerSink | None = None,
    max_tokens: int | None = None,
) -> Answer:
    """Send `messages`, streaming the reply's text and reasoning into `view` (if any) and `answer`."""
    for delta in client.stream(messages, model, thinking=thinking, answer=answer, max_tokens=max_tokens):
        if view is None:
            continue
        if delta.kind == "content":
            view.content(delta.text)
        else:
            view.reasoning(delta.text)
    return answer


@dataclass
class Conversation:
    """Who is talking in which session, to which model: the state a turn needs."""

    manager: SessionManager
    client: ChatClient
    student_id: str
    session_id: str
    model: str
    thinking: bool | None = None
    system_prompt: str | None = None  # for /new; None means the shipped prompt
    context_override: int | None = None  # TUTOR_CONTEXT_TOKENS
    notify: Callable[[str], None] = field(default=lambda text: None)
    use_profile: bool = True  # send the session's profile snapshot; False: TUTOR_PROFILE=off, --no-profile
    on_answer: Callable[[], None] | None = None  # after each stored answer (the profile's update)


def ask(conversation: Conversation, question: str | None, view: AnswerSink) -> Answer:
    """One turn: store the question, send the window, stream the answer into `view`, store it.

    `question` None re-sends the conversation as it stands (its last message is an unanswered
    question). API failures raise after the view is closed, and Ctrl-C (KeyboardInterrupt) is
    re-raised after the partial answer is stored. A server's "maximum context length is N"
    refusal is learned, the window trimmed, and the request sent once more, unseen by the student.
    """
    manager, student, session = conversation.manager, conversation.student_id, conversation.session_id
    if question is not None:
        manager.store.add_message(student, session, "user", question)
    check_daily_limits(manager.store, student)  # after storing it: a question over a limit is kept, not sent
    answer = Answer()
    request: Request | None = None
    view.start()
    try:
        for attempt in range(2):
            request = manager.window.prepare(conversation)
            try:
                client = conversation.client
                stream_reply(
                    client, request.messages, conversation.model, conversation.thinking, answer, view, client.max_tokens
                )
                break
            except ContextOverflowError as error:
                if attempt == 1:
                    raise
                manager.window.learn(student, conversation.model, error.limit)
                if error.requested_messages:
                    manager.window.calibrate(student, session, request.estimated_tokens, error.requested_messages)
    except KeyboardInterrupt:
        view.finish("(stopped)")
        _keep_partial(conversation, answer, request, _withheld(view))
        raise
    except StreamDroppedError:
        view.finish()
        _keep_partial(conversation, answer, request, _withheld(view))
        raise
    except BaseException:
        view.finish()
        raise
    assert request is not None  # the loop above breaks only after sending one
    usage, estimated = request.usage_of(answer)
    manager.store.add_message(
        student,
        session,
        "assistant",
        answer.content,
        model=answer.model or conversation.model,
        reasoning=answer.reasoning or None,
        usage=usage,
        usage_estimated=estimated,
        withheld=_withheld(view),
    )
    if answer.usage.get("prompt_tokens"):
        manager.window.calibrate(student, session, request.estimated_tokens, answer.usage["prompt_tokens"])
    view.finish()
    if conversation.on_answer is not None:
        conversation.on_answer()  # returns at once: the update runs in the background
    return answer


def _keep_partial(conversation: Conversation, answer: Answer, request: Request | None, withheld: bool = False) -> None:
    """Store what was shown of an unfinished answer, marked interrupted (with the tokens it cost,
    estimated when the server had not said yet). Nothing shown, nothing stored: the question then
    stays unanswered and is merged with the next one when sent."""
    if answer.content:
        usage, estimated = request.usage_of(answer) if request is not None else (answer.usage, False)
        conversation.manager.store.add_message(
            conversation.student_id,
            conversation.session_id,
            "assistant",
            answer.content,
            model=answer.model or conversation.model,
            reasoning=answer.reasoning or None,
            interrupted=True,
            usage=usage or None,
            usage_estimated=estimated,
            withheld=withheld,
        )


def _withheld(view: AnswerSink) -> bool:
    """Whether the view's answer guard (tutor work) stopped the reply: it is then stored, marked."""
    return bool(getattr(view, "withheld", False))
