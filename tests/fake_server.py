"""A fake OpenAI-compatible server for the tests, on 127.0.0.1.

It enforces what DeepSeek enforces (bearer key, message shape, no reasoning in input,
user/assistant alternation, known models, a context limit with DeepSeek's own 400 message)
and can be told, reply by reply, to answer slowly, drop mid-stream, send keep-alives,
reasoning, a usage-only final chunk (with cache hits), or any error status.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tutor_cli.profile import PROFILE_INSTRUCTIONS

API_KEY = "sk-test-key-0123456789"
MODELS = ["deepseek-flash", "deepseek-v4-pro", "deepseek-chat", "deepseek-reasoner"]


@dataclass
class Reply:
    """How the server answers one chat request. Content None: echo the last question."""

    content: str | None = None
    reasoning: str = ""
    reasoning_field: str = "reasoning_content"  # DeepSeek's; llama.cpp and vLLM send `reasoning`
    chunk_size: int = 8
    delay: float = 0.0  # seconds between chunks
    first_delay: float = 0.0  # seconds before the first chunk
    keepalives: int = 0
    drop_after: int | None = None  # close the connection after this many content characters
    status: int = 200
    error_message: str = ""
    error_body: str | None = None  # sent as text/plain instead of the JSON error (a proxy's own page)
    headers: dict[str, str] = field(default_factory=dict)  # extra headers on an error (Retry-After, ...)
    usage: bool = True
    cache_hit_tokens: int = 0  # prompt tokens the usage reports as served from the context cache
    finish: bool = True  # send finish_reason / [DONE]
    # After the 200 and before any text, llama.cpp's server reports a failure as an `error:` field
    # (not `data:`), then ends the stream with `data: [DONE]`: this object is sent so.
    stream_error: dict[str, Any] | str | None = None


@dataclass
class FakeServer:
    """Start with `start()`; queue replies with `reply(...)`; read `requests` afterwards."""

    api_key: str = API_KEY
    models: list[str] = field(default_factory=lambda: list(MODELS))
    context_limit: int | None = None  # tokens; estimated as characters / 4
    # How a request over `context_limit` is refused: "deepseek" (a 400 with DeepSeek's message) or
    # "llama.cpp" (a 200 whose stream carries llama.cpp's exceed_context_size_error event).
    context_error: str = "deepseek"
    # Serve the API only under this path ("/v1" as vLLM and Ollama do): anything else is a plain 404.
    path_prefix: str = ""
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    # The tutor's background profile updates are told apart by their system prompt: they take their
    # replies from their own queue and are not among `chat_requests`, so they never disturb a test
    # scripting the answers.
    profile_replies: deque[Reply] = field(default_factory=deque)

    def start(self) -> FakeServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reply(self, *replies: Reply, **options: Any) -> None:
        """Queue replies (or one built from keyword options) for the next requests."""
        self.replies.extend(replies or (Reply(**options),))

    def reply_to_profile(self, *replies: Reply, **options: Any) -> None:
        """Queue replies for the next profile-update requests."""
        self.profile_replies.extend(replies or (Reply(**options),))

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [
            r for r in self.requests if r.get("path", "").endswith("/chat/completions") and not _is_profile_update(r)
        ]

    @property
    def profile_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if _is_profile_update(r)]


def _is_profile_update(request: dict[str, Any]) -> bool:
    messages = (request.get("body") or {}).get("messages") or [{}]
    return isinstance(messages, list) and messages[0].get("content") == PROFILE_INSTRUCTIONS


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-request are part of the tests


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages) // 4 + 4 * len(messages)


def llama_context_error(prompt_tokens: int, context: int) -> dict[str, Any]:
    """The error object llama.cpp's server streams when the prompt is over its context size."""
    return {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": prompt_tokens,
        "n_ctx": context,
    }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        if self._outside_prefix():
            return
        if not self._authorised():
            return
        if self.path.rstrip("/").endswith("/models"):
            self.fake.requests.append({"path": self.path})
            data = [{"id": m, "object": "model", "owned_by": "deepseek"} for m in self.fake.models]
            self._json(200, {"object": "list", "data": data})
        else:
            self._error(404, "Not found")

    def do_POST(self) -> None:
        received_at = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self._outside_prefix():
            return
        if not self._authorised():
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, "Not found")
            return
        body = json.loads(raw)
        request = {"path": self.path, "body": body, "received_at": received_at}
        self.fake.requests.append(request)
        queue = self.fake.profile_replies if _is_profile_update(request) else self.fake.replies
        reply = queue.popleft() if queue else Reply()
        if reply.status != 200 and reply.error_body is not None:
            self._text(reply.status, reply.error_body)
            return
        if reply.status != 200:
            self._error(reply.status, reply.error_message or f"status {reply.status}", reply.headers)
            return
        problem = self._validate(body)
        if problem and problem.startswith("This model's maximum context") and self.fake.context_error == "llama.cpp":
            used = estimate_tokens(body["messages"])
            self._stream(body, Reply(stream_error=llama_context_error(used, self.fake.context_limit or 0)), "")
            return
        if problem:
            self.fake.refusals.append(problem)
            self._error(400, problem)
            return
        question = body["messages"][-1]["content"]
        content = reply.content if reply.content is not None else f"Answer to: {question}"
        self._stream(body, reply, content)

    @staticmethod
    def _capped(body: dict[str, Any], content: str) -> tuple[str, str]:
        """The content within the request's `max_tokens` (4 characters a token) and the finish reason."""
        cap = body.get("max_tokens")
        if isinstance(cap, int) and len(content) > 4 * cap:
            return content[: 4 * cap], "length"
        return content, "stop"

    def _outside_prefix(self) -> bool:
        """A path outside `path_prefix` gets the plain-text 404 a Go or Python server sends."""
        if self.path.startswith(self.fake.path_prefix + "/"):
            return False
        data = b"404 page not found"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    # -- checks DeepSeek makes --

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            self._error(401, "Authentication Fails, Your api key is invalid")
            return False
        return True

    def _validate(self, body: dict[str, Any]) -> str | None:
        if body.get("model") not in self.fake.models:
            return "Model Not Exist"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages must be a non-empty list"
        for message in messages:
            if set(message) != {"role", "content"}:
                return f"unexpected message keys {sorted(message)} (reasoning_content must not be sent)"
            if not isinstance(message["content"], str):
                return "content must be a string"
        roles = [m["role"] for m in messages]
        if roles[0] != "system" or "system" in roles[1:]:
            return "the system message must come first and only once"
        rest = roles[1:]
        if not rest or rest[-1] != "user" or rest[0] != "user":
            return "the conversation must start and end with a user message"
        if any(a == b for a, b in zip(rest, rest[1:], strict=False)):
            return (
                "deepseek-reasoner does not support successive user or assistant messages "
                "(messages[1] and messages[2] in your input). You should interleave the user/assistant "
                "messages in the message sequence."
            )
        thinking = body.get("thinking")
        if thinking is not None and thinking.get("type") not in ("enabled", "disabled"):
            return "thinking.type must be enabled or disabled"
        limit = self.fake.context_limit
        if limit is not None:
            used = estimate_tokens(messages)
            wanted = used + int(body.get("max_tokens") or 0)
            if wanted > limit:
                return (
                    f"This model's maximum context length is {limit} tokens. However, you requested "
                    f"{wanted} tokens ({used} in the messages, {int(body.get('max_tokens') or 0)} in the "
                    "completion). Please reduce the length of the messages or completion."
                )
        return None

    # -- responses --

    def _json(self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error", "code": None}}, headers)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, document: dict[str, Any] | str) -> None:
        payload = document if isinstance(document, str) else json.dumps(document)
        self._chunk(f"data: {payload}\n\n".encode())

    def _stream(self, body: dict[str, Any], reply: Reply, content: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
        }

        def delta(**fields: Any) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": fields, "finish_reason": None}]}

        content, finish_reason = self._capped(body, content)

        try:
            for _ in range(reply.keepalives):
                self._chunk(b": keep-alive\n\n")
                time.sleep(0.01)
            if reply.first_delay:
                time.sleep(reply.first_delay)
            if reply.stream_error is not None:
                self._chunk(f"error: {json.dumps(reply.stream_error)}\n\n".encode())
                self._event("[DONE]")
                self._chunk(b"")
                return
            self._event(delta(role="assistant", content=""))
            thinking_on = (body.get("thinking") or {}).get("type") == "enabled"
            reasoning = reply.reasoning or ("Let me think about this." if thinking_on else "")
            for start in range(0, len(reasoning), reply.chunk_size):
                self._event(delta(**{reply.reasoning_field: reasoning[start : start + reply.chunk_size]}, content=None))
                time.sleep(reply.delay)
            for start in range(0, len(content), reply.chunk_size):
                if reply.drop_after is not None and start >= reply.drop_after:
                    self._abort()
                    return
                self._event(delta(content=content[start : start + reply.chunk_size]))
                if reply.delay:
                    time.sleep(reply.delay)
            if reply.drop_after is not None:
                self._abort()
                return
            if not reply.finish:
                self._chunk(b"")
                return
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
            if reply.usage:
                prompt_tokens = estimate_tokens(body["messages"])
                completion = len(content) // 4 + 1
                hits = min(reply.cache_hit_tokens, prompt_tokens)
                self._event(
                    {
                        **base,
                        "choices": [],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion,
                            "total_tokens": prompt_tokens + completion,
                            "prompt_cache_hit_tokens": hits,
                            "prompt_cache_miss_tokens": prompt_tokens - hits,
                            "completion_tokens_details": {"reasoning_tokens": len(reasoning) // 4},
                        },
                    }
                )
            self._event("[DONE]")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (Ctrl-C): nothing more to send

    def _abort(self) -> None:
        """Drop the connection without finishing the chunked body, as a dying server would."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()
        self.close_connection = True
