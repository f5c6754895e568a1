"""The model client: one place that builds the OpenAI SDK client, streams answers, retries, and
turns every failure into one plain sentence. No UI imports; `openai` is imported only here, lazily.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor_cli.errors import APIError, StreamDroppedError

if TYPE_CHECKING:
    import openai

    from tutor_cli.config import Settings

# Retries. The SDK retries a request whose response never started (connection errors, timeouts,
# 408/409/429/5xx), honouring `Retry-After`/`retry-after-ms` and `x-should-retry`: we let it.
# It cannot retry a stream that opened and then died before its first text: that one is ours.
# Both share one budget of MAX_RETRIES, so a request is tried at most 1 + MAX_RETRIES times.
MAX_RETRIES = 3
# Pauses before we reopen a stream that died before any text (jitter added). The SDK's own
# backoff is 0.5, 1, 2 s less up to 25%: about three seconds in all, then the failure is reported.
RETRY_DELAYS = (0.4, 0.8, 1.6)
# A server that asks for a longer wait than this is not sat through: the student hears at once,
MAX_RETRY_AFTER = 2.0  # so three honoured waits stay within a few seconds in all
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0  # between two chunks; a thinking model can be silent for a while
CONTEXT_LIMIT = re.compile(r"maximum context length is (\d+)|available context size \((\d+) tokens\)")
MESSAGE_TOKENS = re.compile(r"(\d+) in the messages")


@dataclass
class Answer:
    """What one streamed request produced so far (complete unless `finished` is False)."""

    content_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    model: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    finish_reason: str | None = None  # "length": cut at max_tokens (or the server's own limit)

    # Pieces are kept in lists and joined on demand: `+=` on an attribute copies the whole
    # string every time, which makes a long answer quadratic.
    @property
    def content(self) -> str:
        return "".join(self.content_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)


@dataclass(frozen=True)
class Delta:
    """One piece of a streamed answer: `kind` is 'reasoning' or 'content'."""

    kind: str
    text: str


class ContextOverflowError(APIError):
    """The server refused the request as longer than the model's context (limit in `.limit`)."""

    def __init__(self, message: str, limit: int, requested_messages: int | None = None) -> None:
        super().__init__(message, status=400)
        self.limit = limit
        self.requested_messages = requested_messages  # tokens the server counted in our messages


def client_from_settings(settings: Settings) -> ChatClient:
    """The one place a client is built from the settings: endpoint, key (or the error naming the
    variable to set), the retry scale and the cap on an answer's tokens."""
    return ChatClient(
        settings.base_url,
        settings.require_api_key(),
        retry_scale=settings.retry_scale,
        max_tokens=settings.max_tokens,
    )


class ChatClient:
    """Streams chat completions from an OpenAI-compatible endpoint."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry_scale: float = 1.0,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        max_tokens: int | None = None,
    ) -> None:
        """`retry_scale` multiplies every backoff pause, the SDK's and ours (0 in the tests);
        a server's own `Retry-After` is honoured as given. `max_tokens` is the cap on the tutor's
        answers (TUTOR_MAX_TOKENS, --max-tokens), which a turn passes to `stream`; summaries and
        profile updates are not answers and go uncapped. None: no cap is sent."""
        self.base_url = base_url
        self.max_tokens = max_tokens
        self._api_key = api_key
        self._retry_scale = retry_scale
        self._max_retries = max_retries
        self._sleep = sleep
        self._sdk: openai.OpenAI | None = None

    @property
    def sdk(self) -> openai.OpenAI:
        """The SDK client, built once on first use (importing openai costs ~0.3 s)."""
        if self._sdk is None:
            import openai

            self._sdk = _sdk_class(self._retry_scale)(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=self._max_retries,
                timeout=openai.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            )
        return self._sdk

    def warm_up(self) -> None:
        """Import and build the SDK now (e.g. while the user types), so Enter sends at once."""
        _ = self.sdk

    def list_models(self) -> list[str]:
        """The model ids the endpoint serves."""
        import openai

        try:
            return sorted(model.id for model in self.sdk.models.list())
        except openai.APIStatusError as error:
            raise self._status_error(error, model=None, path="/models") from None
        except openai.APIConnectionError as error:
            raise self._connection_error(error) from None

    def stream(
        self,
        messages: list[dict[str, str]],
        model: str,
        *,
        thinking: bool | None = None,
        answer: Answer | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[Delta]:
        """Yield the answer's pieces as they arrive, filling `answer` as it goes (`max_tokens`:
        sent as the request's cap when given).

        Failures before any text are retried with backoff; a drop after text raises
        StreamDroppedError with `answer` holding what arrived.
        """
        import openai

        answer = answer if answer is not None else Answer()
        # The messages travel in extra_body, which the SDK sends as given: its own per-field type
        # transform walks every message and takes seconds on a 10,000-message session.
        extra_body: dict[str, Any] = {"messages": messages}
        if thinking is not None:
            extra_body["thinking"] = {"type": "enabled" if thinking else "disabled"}
        if max_tokens is not None:
            extra_body["max_tokens"] = max_tokens
        retries_left = self._max_retries
        sdk = self.sdk
        while True:
            received_any = False
            try:
                # The raw event stream, parsed here: building the SDK's pydantic objects for every
                # chunk costs more CPU than all of our rendering.
                with sdk.chat.completions.with_streaming_response.create(
                    model=model,
                    messages=[],  # replaced by extra_body["messages"]
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_body=extra_body,
                ) as response:
                    retries_left -= response.retries_taken  # the SDK's retries count against ours
                    for event in _server_sent_events(response.iter_lines()):
                        for delta in _read_chunk(event, answer):
                            received_any = True
                            yield delta
                if not answer.finished:
                    raise _Truncated()
                return
            # The SDK has already retried these as far as they were worth retrying.
            except openai.APIStatusError as error:
                raise self._status_error(error, model=model) from None
            except openai.APIConnectionError as error:  # APITimeoutError included
                raise self._connection_error(error) from None
            # The stream opened and then broke: the transport's own errors surface unwrapped from
            # the body's iteration (openai/openai-python#1384, #2065: RemoteProtocolError).
            except (_Truncated, *_transport_errors()) as error:
                failure = self._connection_error(error)
            if received_any or answer.content_parts or answer.reasoning_parts:
                raise StreamDroppedError(
                    "The connection dropped in the middle of the answer; what arrived is kept."
                ) from None
            if retries_left <= 0:
                raise failure
            attempt = self._max_retries - retries_left
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            self._sleep(delay * self._retry_scale * (0.75 + random.random() / 2))
            retries_left -= 1
            sdk = self.sdk.with_options(max_retries=retries_left)

    # -- error sentences --

    def _status_error(
        self, error: openai.APIStatusError, model: str | None, path: str = "/chat/completions"
    ) -> APIError:
        status = error.status_code
        detail = self._redact(_server_message(error))
        if status == 401:
            return APIError("The API key was refused (401); check DEEPSEEK_API_KEY.", status=status)
        if status == 402:
            return APIError("The account's balance is used up (402); top it up on DeepSeek's platform.", status=status)
        if status == 400 and (match := CONTEXT_LIMIT.search(detail)):
            counted = MESSAGE_TOKENS.search(detail)
            return ContextOverflowError(
                f"The conversation is longer than the model's context ({detail}).",
                int(match.group(1) or match.group(2)),
                int(counted.group(1)) if counted else None,
            )
        if (
            status in (400, 404, 422)
            and model
            and re.search(r"model", detail, re.IGNORECASE)
            and re.search(r"not exist|not found|unknown|invalid model|does not exist", detail, re.IGNORECASE)
        ):
            return APIError(
                f"The model {model!r} does not exist on {self.base_url}; `tutor models` lists the ones it serves.",
                status=status,
            )
        if status in (400, 422):
            return APIError(f"The request was refused ({status}): {detail}", status=status)
        if status == 404:
            return APIError(self._not_found(path), status=status)
        if status == 429:
            return APIError(
                "The server's rate limit was reached (429) and stayed so after a few tries; "
                "wait a moment and ask again.",
                status=status,
                retryable=True,
            )
        if status == 503:
            return APIError(
                "The server is overloaded (503) and stayed so after a few tries; try again shortly.",
                status=status,
                retryable=True,
            )
        if status >= 500:
            return APIError(
                f"The server failed ({status}) and kept failing after a few tries; try again shortly.",
                status=status,
                retryable=status in RETRYABLE_STATUSES,
            )
        return APIError(f"The server refused the request ({status}): {detail}", status=status)

    def _not_found(self, path: str) -> str:
        """A 404 from the endpoint itself: almost always a base URL missing its /v1."""
        base = self.base_url.rstrip("/")
        found = f"The server at {self.base_url} has no {path} (404)"
        if base.endswith("/v1"):
            return f"{found}; check DEEPSEEK_BASE_URL: it should name the server's OpenAI-compatible API."
        return (
            f"{found}; local servers (llama.cpp, vLLM, Ollama) serve it under /v1: "
            f"put /v1 at the end of DEEPSEEK_BASE_URL ({base}/v1)."
        )

    def _connection_error(self, error: BaseException) -> APIError:
        text = str(error).lower()
        cause = str(error.__cause__ or "").lower()
        if "timed out" in text or "timeout" in type(error).__name__.lower():
            reason = "the connection timed out"
        elif "refused" in text or "refused" in cause:
            reason = "the connection was refused"
        else:
            reason = "the connection failed or dropped"
        return APIError(
            f"Could not get an answer from {self.base_url}: {reason}. Check DEEPSEEK_BASE_URL and your network.",
            retryable=True,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


class _Truncated(Exception):
    """The stream ended without saying the answer was finished."""


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a broken response body raises: the documented base of the SDK's transport errors.

    openai 3.x runs on httpx2, older releases on httpx; both define `RequestError` (the base of
    `TransportError`: network, timeout and protocol errors). Like the SDK's own list
    (`openai._httpx2.request_exceptions`), TLS failures and AnyIO's end of stream are added:
    httpx2 does not map them yet (pydantic/httpx2#854).
    """
    import ssl
    import sys

    errors: list[type[BaseException]] = [ssl.SSLError]
    for name in ("httpx2", "httpx"):  # whichever the SDK loaded; never imported here
        module = sys.modules.get(name)
        if module is not None:
            errors.append(module.RequestError)
    anyio = sys.modules.get("anyio")
    if anyio is not None:
        errors.append(anyio.EndOfStream)
    return tuple(errors)


def _sdk_class(retry_scale: float) -> type[openai.OpenAI]:
    """The SDK's client with its backoff scaled and over-long `Retry-After` waits refused.

    These are the two hooks the SDK's retry loop calls (`_calculate_retry_timeout`,
    `_should_retry`); their behaviour otherwise stays the SDK's.
    """
    import openai

    class TutorOpenAI(openai.OpenAI):
        def _calculate_retry_timeout(self, remaining_retries: int, options: Any, response_headers: Any = None) -> float:
            asked = self._parse_retry_after_header(response_headers)
            if asked is not None and 0 < asked <= MAX_RETRY_AFTER:
                return asked  # the server's word, never scaled
            return super()._calculate_retry_timeout(remaining_retries, options, None) * retry_scale

        def _should_retry(self, response: Any) -> bool:
            asked = self._parse_retry_after_header(response.headers)
            if asked is not None and asked > MAX_RETRY_AFTER:
                return False  # report now rather than keep the student waiting for minutes
            return super()._should_retry(response)

    return TutorOpenAI


def _server_sent_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Decode an SSE stream of JSON chunks: comments (keep-alives) skipped, data lines joined, [DONE] ends."""
    data: list[str] = []
    failure: list[str] = []
    for line in lines:
        if line.startswith(":"):
            continue
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        # llama.cpp's server reports a failure after its 200 in a field of its own:
        # `error: {"code": 400, "message": "...", "type": "exceed_context_size_error", ...}`.
        if line.startswith("error:"):
            failure.append(line[6:].removeprefix(" "))
            continue
        if line == "" and failure:
            raise _stream_error("\n".join(failure))
        if line == "" and data:
            payload, data = "\n".join(data), []
            if payload.strip() == "[DONE]":
                return
            try:
                event = json.loads(payload)
            except ValueError:
                raise _Truncated() from None
            if isinstance(event, dict) and event.get("error"):
                raise _stream_error(event["error"])
            if isinstance(event, dict):
                yield event


def _stream_error(error: Any) -> APIError:
    """The error a server sent inside a stream that had begun with a 200, as what it is."""
    if isinstance(error, str):
        try:
            error = json.loads(error)
        except ValueError:
            pass
    if isinstance(error, dict) and isinstance(error.get("error"), dict):
        error = error["error"]
    details = error if isinstance(error, dict) else {}
    message = str(details.get("message") or error).strip()
    kind = str(details.get("type") or "")
    if "context" in kind or re.search(r"exceed\w* .*context|context (length|size|window)", message, re.IGNORECASE):
        limit = details.get("n_ctx")
        text = f"The question and the conversation are longer than the model's context window ({message})."
        if isinstance(limit, int) and limit > 0:
            counted = details.get("n_prompt_tokens")
            return ContextOverflowError(text, limit, counted if isinstance(counted, int) else None)
        return APIError(text, status=400)
    return APIError(f"The server reported an error in the middle of the answer: {message}")


def _read_chunk(chunk: dict[str, Any], answer: Answer) -> Iterator[Delta]:
    """Fold one chunk into `answer`, yielding its text pieces (the usage chunk has no choices)."""
    if chunk.get("model"):
        answer.model = chunk["model"]
    if chunk.get("usage"):
        answer.usage = usage_dict(chunk["usage"])
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            answer.reasoning_parts.append(reasoning)
            yield Delta("reasoning", reasoning)
        if delta.get("content"):
            answer.content_parts.append(delta["content"])
            yield Delta("content", delta["content"])
        if choice.get("finish_reason"):
            answer.finished = True
            answer.finish_reason = choice["finish_reason"]


def usage_dict(data: dict[str, Any]) -> dict[str, int]:
    """The token counts we store, from a usage object (DeepSeek's cache fields included)."""
    details = data.get("completion_tokens_details") or {}
    prompt_details = data.get("prompt_tokens_details") or {}
    found = {
        "prompt_tokens": data.get("prompt_tokens"),
        "completion_tokens": data.get("completion_tokens"),
        "reasoning_tokens": details.get("reasoning_tokens"),
        "cache_hit_tokens": data.get("prompt_cache_hit_tokens", prompt_details.get("cached_tokens")),
        "cache_miss_tokens": data.get("prompt_cache_miss_tokens"),
    }
    return {name: int(value) for name, value in found.items() if isinstance(value, int)}


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(error.message or f"HTTP {error.status_code}")
