"""The client against the fake OpenAI-compatible server: streaming, reasoning, usage, errors, retries."""

from __future__ import annotations

import re
import time

import pytest

from tests.fake_server import API_KEY, FakeServer, Reply, estimate_tokens
from tutor_cli.client import Answer, ChatClient
from tutor_cli.errors import APIError, StreamDroppedError

HISTORY = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "What is 2+2?"}]


@pytest.fixture
def client(fake_server: FakeServer) -> ChatClient:
    return ChatClient(fake_server.base_url, API_KEY, retry_scale=0)


def collect(client: ChatClient, **options) -> tuple[list[tuple[str, str]], Answer]:
    answer = Answer()
    pieces = [
        (d.kind, d.text)
        for d in client.stream(HISTORY, options.pop("model", "deepseek-flash"), answer=answer, **options)
    ]
    return pieces, answer


def test_streams_content_and_records_model_and_usage(client, fake_server) -> None:
    fake_server.reply(content="Four. " * 20, chunk_size=5)
    pieces, answer = collect(client)
    assert len(pieces) == 24 and all(kind == "content" for kind, _ in pieces)
    assert answer.content == "Four. " * 20 and answer.finished
    assert answer.model == "deepseek-flash"
    assert answer.usage["prompt_tokens"] > 0 and answer.usage["completion_tokens"] > 0
    assert "cache_miss_tokens" in answer.usage
    body = fake_server.chat_requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == HISTORY


def test_reasoning_streams_before_content_and_stays_separate(client, fake_server) -> None:
    fake_server.reply(reasoning="Two and two make four.", content="4")
    pieces, answer = collect(client, thinking=True)
    kinds = [kind for kind, _ in pieces]
    assert kinds.index("content") > kinds.index("reasoning")
    assert answer.reasoning == "Two and two make four." and answer.content == "4"
    assert fake_server.chat_requests[-1]["body"]["thinking"] == {"type": "enabled"}


def test_thinking_off_and_unset(client, fake_server) -> None:
    collect(client, thinking=False)
    assert fake_server.chat_requests[-1]["body"]["thinking"] == {"type": "disabled"}
    collect(client)
    assert "thinking" not in fake_server.chat_requests[-1]["body"]


def test_keepalive_comments_are_skipped(client, fake_server) -> None:
    fake_server.reply(keepalives=5, content="fine")
    assert collect(client)[1].content == "fine"


def test_usage_from_a_final_chunk_without_choices_is_recorded_exactly(client, fake_server) -> None:
    """DeepSeek sends usage after the finish, in a chunk whose `choices` is empty: it must be read,
    cache hits included, and add nothing to the answer."""
    fake_server.reply(content="Four.", cache_hit_tokens=10)
    pieces, answer = collect(client)
    prompt = estimate_tokens(HISTORY)
    assert answer.usage == {
        "prompt_tokens": prompt,
        "completion_tokens": len("Four.") // 4 + 1,
        "reasoning_tokens": 0,
        "cache_hit_tokens": 10,
        "cache_miss_tokens": prompt - 10,
    }
    assert pieces == [("content", "Four.")] and answer.content == "Four." and answer.finished


def test_a_stream_without_a_usage_chunk_finishes_with_no_usage(client, fake_server) -> None:
    fake_server.reply(content="Four.", usage=False)
    answer = collect(client)[1]
    assert answer.content == "Four." and answer.finished and answer.usage == {}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_are_retried_then_succeed(client, fake_server, status) -> None:
    fake_server.reply(Reply(status=status), Reply(status=status), Reply(content="after retries"))
    assert collect(client)[1].content == "after retries"
    assert len(fake_server.chat_requests) == 3


@pytest.mark.parametrize(
    ("status", "words"),
    [(429, "rate limit"), (500, "server failed"), (503, "overloaded")],
)
def test_retryable_statuses_that_persist_are_reported_in_one_sentence(client, fake_server, status, words) -> None:
    fake_server.reply(*[Reply(status=status)] * 4)
    with pytest.raises(APIError) as caught:
        collect(client)
    assert words in str(caught.value) and str(status) in str(caught.value)
    assert len(fake_server.chat_requests) == 4


@pytest.mark.parametrize(
    ("status", "message", "words"),
    [
        (401, "Authentication Fails", "key was refused"),
        (402, "Insufficient Balance", "balance is used up"),
        (422, "Invalid temperature", "refused (422): Invalid temperature"),
        (400, "Invalid format", "refused (400): Invalid format"),
    ],
)
def test_non_retryable_errors_are_one_sentence_without_retry(client, fake_server, status, message, words) -> None:
    fake_server.reply(status=status, error_message=message)
    with pytest.raises(APIError) as caught:
        collect(client)
    assert words in str(caught.value)
    assert len(fake_server.chat_requests) == 1


@pytest.mark.parametrize(
    ("replies", "model", "sentence", "retryable"),
    [
        ([Reply(status=401)], None, "The API key was refused (401); check DEEPSEEK_API_KEY.", False),
        ([Reply(status=402)], None, "The account's balance is used up (402); top it up on DeepSeek's platform.", False),
        (
            [Reply(status=429)] * 4,
            None,
            "The server's rate limit was reached (429) and stayed so after a few tries; wait a moment and ask again.",
            True,
        ),
        (
            [Reply(status=503)] * 4,
            None,
            "The server is overloaded (503) and stayed so after a few tries; try again shortly.",
            True,
        ),
        (
            [Reply(status=500)] * 4,
            None,
            "The server failed (500) and kept failing after a few tries; try again shortly.",
            True,
        ),
        (
            [Reply(status=422, error_message="Invalid temperature")],
            None,
            "The request was refused (422): Invalid temperature.",
            False,
        ),
        (
            [Reply(status=418, error_message="I'm a teapot")],
            None,
            "The server refused the request (418): I'm a teapot.",
            False,
        ),
        (
            [Reply(status=422, error_message="Model Not Found")],
            "deepseek-flash",
            "The model 'deepseek-flash' does not exist on {base}; `tutor models` lists the ones it serves.",
            False,
        ),
        (
            [Reply(status=404, error_message="The model does not exist")],
            "deepseek-flash",
            "The model 'deepseek-flash' does not exist on {base}; `tutor models` lists the ones it serves.",
            False,
        ),
        (  # a refusal that names the model without saying it is unknown is passed on as it is
            [Reply(status=400, error_message="model: too many tools")],
            "deepseek-flash",
            "The request was refused (400): model: too many tools.",
            False,
        ),
    ],
)
def test_each_refusal_is_its_own_sentence(client, fake_server, replies, model, sentence, retryable) -> None:
    fake_server.reply(*replies)
    with pytest.raises(APIError) as caught:
        list(client.stream(HISTORY, model or "deepseek-flash", answer=Answer()))
    assert str(caught.value) == sentence.format(base=fake_server.base_url)
    assert (caught.value.status, caught.value.retryable) == (replies[0].status, retryable)


def test_listing_models_fails_in_one_sentence_too(fake_server) -> None:
    with pytest.raises(APIError, match=r"^The API key was refused \(401\)"):
        ChatClient(fake_server.base_url, "sk-wrong", retry_scale=0).list_models()
    with pytest.raises(APIError, match=r"^Could not get an answer from http://127.0.0.1:9: the connection was refused"):
        ChatClient("http://127.0.0.1:9", API_KEY, retry_scale=0).list_models()


def test_the_key_echoed_in_a_servers_refusal_is_never_shown(client, fake_server) -> None:
    """The right key, so the server gets as far as a 400 whose message repeats it."""
    fake_server.reply(status=400, error_message=f"Invalid request: header was 'Bearer {API_KEY}'")
    with pytest.raises(APIError) as caught:
        collect(client)
    shown = str(caught.value)
    assert shown == "The request was refused (400): Invalid request: header was 'Bearer ***'."
    assert API_KEY not in shown and API_KEY not in repr(caught.value.args)


def test_a_refused_key_is_one_sentence_without_the_key(fake_server) -> None:
    client = ChatClient(fake_server.base_url, "sk-wrong-secret-key")
    with pytest.raises(APIError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    assert "key was refused" in str(caught.value) and "sk-wrong" not in str(caught.value)


def test_an_unknown_model_names_itself_and_points_to_tutor_models(client) -> None:
    with pytest.raises(APIError) as caught:
        collect(client, model="deepseek-nonexistent")
    assert "deepseek-nonexistent" in str(caught.value) and "tutor models" in str(caught.value)


def test_retired_model_names_still_work_where_served(client) -> None:
    assert collect(client, model="deepseek-reasoner")[1].finished
    assert collect(client, model="deepseek-chat")[1].finished


def test_a_drop_before_any_text_is_retried(client, fake_server) -> None:
    fake_server.reply(Reply(drop_after=0), Reply(content="second try"))
    assert collect(client)[1].content == "second try"
    assert len(fake_server.chat_requests) == 2


def test_a_stream_that_keeps_dying_before_text_is_reported_after_the_retry_budget(client, fake_server) -> None:
    fake_server.reply(*[Reply(drop_after=0)] * 5)
    with pytest.raises(APIError) as caught:
        collect(client)
    assert "connection failed or dropped" in str(caught.value)
    assert len(fake_server.chat_requests) == 4  # the first try and three retries


def test_sdk_retries_and_stream_retries_share_one_budget(client, fake_server) -> None:
    fake_server.reply(Reply(status=500), Reply(status=500), Reply(drop_after=0), Reply(drop_after=0), Reply())
    with pytest.raises(APIError):
        collect(client)
    assert len(fake_server.chat_requests) == 4


def test_retry_after_is_honoured(client, fake_server) -> None:
    fake_server.reply(Reply(status=429, headers={"Retry-After": "1"}), Reply(content="patience"))
    started = time.perf_counter()
    assert collect(client)[1].content == "patience"
    assert time.perf_counter() - started >= 0.95  # backoff alone is 0 here (retry_scale=0)
    first, second = fake_server.chat_requests
    assert second["received_at"] - first["received_at"] >= 0.95


def test_retry_after_ms_is_honoured(client, fake_server) -> None:
    fake_server.reply(Reply(status=503, headers={"retry-after-ms": "400"}), Reply(content="ok"))
    assert collect(client)[1].content == "ok"
    first, second = fake_server.chat_requests
    assert second["received_at"] - first["received_at"] >= 0.38


def test_a_retry_after_too_long_to_wait_is_reported_at_once(client, fake_server) -> None:
    fake_server.reply(Reply(status=429, headers={"Retry-After": "60"}), Reply(content="too late"))
    started = time.perf_counter()
    with pytest.raises(APIError) as caught:
        collect(client)
    assert time.perf_counter() - started < 2
    assert "rate limit" in str(caught.value) and len(fake_server.chat_requests) == 1


def test_x_should_retry_false_is_obeyed(client, fake_server) -> None:
    fake_server.reply(Reply(status=500, headers={"x-should-retry": "false"}), Reply(content="unused"))
    with pytest.raises(APIError) as caught:
        collect(client)
    assert "server failed (500)" in str(caught.value) and len(fake_server.chat_requests) == 1


def test_backoff_pauses_scale_with_the_setting(fake_server) -> None:
    pauses: list[float] = []
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0.5, sleep=pauses.append)
    fake_server.reply(Reply(drop_after=0), Reply(drop_after=0), Reply(content="third"))
    assert collect(client)[1].content == "third"
    assert len(pauses) == 2 and 0.15 <= pauses[0] <= 0.25 and 0.3 <= pauses[1] <= 0.5


def test_a_drop_after_text_is_not_retried_and_keeps_the_partial_answer(client, fake_server) -> None:
    fake_server.reply(content="abcdefghij" * 10, chunk_size=10, drop_after=30)
    answer = Answer()
    with pytest.raises(StreamDroppedError):
        for _ in client.stream(HISTORY, "deepseek-flash", answer=answer):
            pass
    assert answer.content == "abcdefghij" * 3 and not answer.finished
    assert len(fake_server.chat_requests) == 1


def test_a_stream_that_ends_without_finishing_counts_as_a_drop(client, fake_server) -> None:
    fake_server.reply(content="half an answer", finish=False)
    with pytest.raises(StreamDroppedError):
        collect(client)


def test_an_unreachable_server_names_the_base_url(fake_server) -> None:
    client = ChatClient("http://127.0.0.1:9", API_KEY, retry_scale=0)
    with pytest.raises(APIError) as caught:
        collect(client)
    assert "http://127.0.0.1:9" in str(caught.value) and "refused" in str(caught.value)


def test_models_are_listed(client) -> None:
    assert "deepseek-flash" in client.list_models()


def test_a_context_overflow_carries_the_limit(client, fake_server) -> None:
    fake_server.context_limit = 5
    with pytest.raises(APIError) as caught:
        collect(client)
    assert getattr(caught.value, "limit", None) == 5
    assert caught.value.status == 400
    assert str(caught.value).startswith("The conversation is longer than the model's context (")
    counted = int(re.search(r"(\d+) in the messages", str(caught.value)).group(1))
    assert counted > 0 and caught.value.requested_messages == counted  # what the window calibrates with


def test_connection_failures_are_one_full_sentence_each_worth_retrying(client, fake_server) -> None:
    unreachable = ChatClient("http://127.0.0.1:9", API_KEY, retry_scale=0)
    with pytest.raises(APIError) as refused:
        collect(unreachable)
    assert str(refused.value) == (
        "Could not get an answer from http://127.0.0.1:9: the connection was refused. "
        "Check DEEPSEEK_BASE_URL and your network."
    )
    fake_server.reply(*[Reply(drop_after=0)] * 4)
    with pytest.raises(APIError) as dropped:
        collect(client)
    assert str(dropped.value) == (
        f"Could not get an answer from {fake_server.base_url}: the connection failed or dropped. "
        "Check DEEPSEEK_BASE_URL and your network."
    )
    assert refused.value.retryable is True and dropped.value.retryable is True


def test_a_server_that_stops_sending_is_reported_as_timed_out(fake_server, monkeypatch) -> None:
    from tutor_cli import client as client_module

    monkeypatch.setattr(client_module, "READ_TIMEOUT", 0.3)  # instead of two minutes of silence
    fake_server.reply(*[Reply(first_delay=1.0)] * 4)
    with pytest.raises(APIError) as caught:
        collect(ChatClient(fake_server.base_url, API_KEY, retry_scale=0))
    assert str(caught.value) == (
        f"Could not get an answer from {fake_server.base_url}: the connection timed out. "
        "Check DEEPSEEK_BASE_URL and your network."
    )
    assert caught.value.retryable is True and len(fake_server.chat_requests) == 4


def test_a_context_overflow_without_the_messages_count_still_carries_the_limit(client, fake_server) -> None:
    fake_server.reply(status=400, error_message="This model's maximum context length is 65536 tokens.")
    with pytest.raises(APIError) as caught:
        collect(client)
    assert (caught.value.limit, caught.value.requested_messages, caught.value.status) == (65536, None, 400)


def test_warming_up_imports_and_builds_the_sdk_before_the_first_question() -> None:
    """`tutor chat` warms the client up while the student types, so Enter sends at once."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tutor_cli.client import ChatClient\n"
        "client = ChatClient('http://127.0.0.1:9', 'sk-x')\n"
        "assert 'openai' not in sys.modules\n"
        "client.warm_up()\n"
        "assert 'openai' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("body", ["Bad Request: malformed JSON", '{"error": {"code": 400}}', '{"detail": "no"}'])
def test_a_refusal_without_a_message_field_is_one_sentence_with_its_status(client, fake_server, body) -> None:
    """A proxy's own page, or JSON without the `message` field: the status is what can be said."""
    fake_server.reply(Reply(status=400, error_body=body))
    with pytest.raises(APIError) as caught:
        collect(client)
    assert str(caught.value) == "The request was refused (400): Error code: 400."


MIDWAY = "The server reported an error in the middle of the answer: "
TOO_LONG = "The question and the conversation are longer than the model's context window "


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ({"error": {"message": "the model crashed", "type": "server_error"}}, MIDWAY + "the model crashed."),
        ("the worker died", MIDWAY + "the worker died."),
        ({"type": "server_error", "message": "context switch failed"}, MIDWAY + "context switch failed."),
    ],
)
def test_an_error_inside_a_stream_is_the_servers_words_whatever_its_shape(fake_server, sent, shown) -> None:
    fake_server.reply(Reply(stream_error=sent))
    with pytest.raises(APIError) as caught:
        collect(ChatClient(fake_server.base_url, API_KEY, retry_scale=0))
    assert str(caught.value) == shown and not hasattr(caught.value, "limit")


@pytest.mark.parametrize(
    ("sent", "limit", "counted"),
    [
        (
            {"type": "exceed_context_size_error", "message": "prompt too long", "n_ctx": 4096, "n_prompt_tokens": 9},
            4096,
            9,
        ),
        ({"type": "exceed_context_size_error", "message": "prompt too long", "n_ctx": 1}, 1, None),
        (
            {"type": "exceed_context_size_error", "message": "prompt too long", "n_ctx": 8, "n_prompt_tokens": "9"},
            8,
            None,
        ),
        ({"type": "exceed_context_size_error", "message": "prompt too long", "n_ctx": 0}, None, None),
        ({"type": "invalid_request_error", "message": "Prompt Exceeds The Maximum Context Length"}, None, None),
        ({"type": "invalid_request_error", "message": "no room: context window of 8k is full"}, None, None),
    ],
)
def test_a_context_error_inside_a_stream_is_told_by_its_type_or_its_words(fake_server, sent, limit, counted) -> None:
    fake_server.reply(Reply(stream_error=sent))
    with pytest.raises(APIError) as caught:
        collect(ChatClient(fake_server.base_url, API_KEY, retry_scale=0))
    assert str(caught.value) == f"{TOO_LONG}({sent['message']})." and caught.value.status == 400
    assert getattr(caught.value, "limit", None) == limit
    assert getattr(caught.value, "requested_messages", None) == counted


def test_cache_hits_are_read_in_deepseeks_fields_and_in_openais() -> None:
    from tutor_cli.client import usage_dict

    deepseek = {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "prompt_cache_hit_tokens": 60,
        "prompt_cache_miss_tokens": 40,
    }
    openai_style = {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 5},
    }
    assert usage_dict(deepseek) == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cache_hit_tokens": 60,
        "cache_miss_tokens": 40,
    }
    assert usage_dict(openai_style) == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "reasoning_tokens": 5,
        "cache_hit_tokens": 60,
    }


def test_reasoning_in_the_field_local_servers_use_is_reasoning_too(client, fake_server) -> None:
    fake_server.reply(reasoning="Two and two make four.", reasoning_field="reasoning", content="4")
    pieces, answer = collect(client, thinking=True)
    assert {kind for kind, _ in pieces} == {"reasoning", "content"}
    assert answer.reasoning == "Two and two make four." and answer.content == "4"


def test_an_event_split_over_several_lines_is_one_event() -> None:
    """Server-sent events may carry one JSON document over several `data:` (or llama.cpp's `error:`) lines."""
    from tutor_cli.client import _server_sent_events

    lines = ['data: {"choices": [],', 'data:  "model": "m"}', "", "data: [DONE]", ""]
    assert list(_server_sent_events(iter(lines))) == [{"choices": [], "model": "m"}]
    failing = ['error: {"message":', 'error: "the model crashed"}', ""]
    with pytest.raises(APIError, match=r"the middle of the answer: the model crashed\.$"):
        list(_server_sent_events(iter(failing)))


def test_the_third_retry_waits_longest_within_its_jitter(fake_server, monkeypatch) -> None:
    """Pauses of 0.4, 0.8 and 1.6 s (times the scale), each spread by ±25% so clients do not retry in step."""
    import random

    for draw, spread in ((0.0, 0.75), (0.9999999, 1.25)):
        monkeypatch.setattr(random, "random", lambda draw=draw: draw)
        pauses: list[float] = []
        client = ChatClient(fake_server.base_url, API_KEY, retry_scale=1.0, sleep=pauses.append)
        fake_server.reply(*[Reply(drop_after=0)] * 3, Reply(content="fourth"))
        assert collect(client)[1].content == "fourth"
        assert pauses == pytest.approx([0.4 * spread, 0.8 * spread, 1.6 * spread], abs=1e-6)


def test_a_drop_after_text_says_what_was_kept(client, fake_server) -> None:
    fake_server.reply(content="abcdefghij" * 10, chunk_size=10, drop_after=30)
    with pytest.raises(StreamDroppedError) as dropped:
        collect(client)
    assert str(dropped.value) == "The connection dropped in the middle of the answer; what arrived is kept."


def test_a_retry_after_of_exactly_two_seconds_is_still_waited_out(client, fake_server) -> None:
    """README: a wait of up to 2 seconds is honoured; only a longer one is reported at once."""
    fake_server.reply(Reply(status=429, headers={"retry-after-ms": "2000"}), Reply(content="on time"))
    started = time.perf_counter()
    assert collect(client)[1].content == "on time"
    assert time.perf_counter() - started >= 1.9 and len(fake_server.chat_requests) == 2
