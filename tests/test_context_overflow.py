"""A question larger than the model's context window: said before sending, and said as what it is
when a server (llama.cpp) reports it inside a stream that had begun with a 200."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_no_traceback
from tests.fake_server import API_KEY, Reply, llama_context_error
from tutor_cli import SessionManager
from tutor_cli.client import ChatClient, ContextOverflowError
from tutor_cli.errors import APIError

HISTORY = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "What is 2+2?"}]
HUGE = "The quick brown fox jumps over the lazy dog. " * 23_000  # about 1 MB


def test_a_question_far_over_the_window_is_refused_before_sending_and_kept(
    run_tutor, api_env, fake_server, home
) -> None:
    """1 MB into a 4K local model (its window set with TUTOR_CONTEXT_TOKENS)."""
    result = run_tutor("ask", "--session", "big", "-", input=HUGE, env={"TUTOR_CONTEXT_TOKENS": "4096"})
    assert result.returncode == 1 and result.stdout == ""
    assert_no_traceback(result)
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "context window" in message and "not sent" in message
    assert "connection" not in message and "/retry" not in message
    assert fake_server.chat_requests == []  # never sent
    with SessionManager(home / "tutor.db") as manager:
        assert [m.content for m in manager.store.get_messages("ada", "big")] == [HUGE.rstrip()]


def test_the_session_goes_on_after_a_question_that_could_not_fit(run_tutor, api_env, fake_server) -> None:
    env = {"TUTOR_CONTEXT_TOKENS": "4096"}
    assert run_tutor("ask", "--session", "s", "First, a short one.", env=env).returncode == 0
    assert run_tutor("ask", "--session", "s", "-", input="word " * 20_000, env=env).returncode == 1
    result = run_tutor("ask", "--session", "s", "And a short one again?", env=env)
    assert result.returncode == 0, result.stderr
    sent = fake_server.chat_requests[-1]["body"]["messages"]
    assert sent[-1]["content"] == "And a short one again?"
    # (the profile's notes may quote it: the fake server's profile update echoes what it was sent)
    assert all(not m["content"].startswith("word word") for m in sent)
    assert sum(len(m["content"]) for m in sent) < 40_000


def test_llamacpps_context_error_inside_a_stream_is_reported_as_such(run_tutor, api_env, fake_server) -> None:
    """llama.cpp answers 200, then `error: {... exceed_context_size_error, n_ctx ...}`: the limit is
    learned, and the question, now known not to fit, is refused in one sentence."""
    fake_server.context_limit = 4096
    fake_server.context_error = "llama.cpp"
    question = "Please explain this passage. " + "Some long text to read. " * 1_500  # ~9K tokens to the server
    result = run_tutor("ask", "--session", "local", "-", input=question)
    assert result.returncode == 1
    assert_no_traceback(result)
    message = result.stderr.strip()
    assert "context window" in message and "4,096" in message
    assert "connection failed" not in message and "dropped" not in message
    assert len(fake_server.chat_requests) == 1  # not re-sent: it could never succeed
    sessions = json.loads(run_tutor("sessions", "-f", "json").stdout)
    assert [s["session_id"] for s in sessions] == ["local"]


def test_a_stream_error_about_the_context_without_a_size_names_the_context(fake_server) -> None:
    error = llama_context_error(9000, 4096)
    del error["n_ctx"], error["n_prompt_tokens"]
    fake_server.reply(Reply(stream_error=error))
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    with pytest.raises(APIError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    shown = str(caught.value)
    assert "context window" in shown and "exceeds the available context size" in shown
    assert "connection" not in shown
    assert len(fake_server.chat_requests) == 1


def test_a_stream_error_with_the_size_carries_the_limit(fake_server) -> None:
    fake_server.reply(Reply(stream_error=llama_context_error(9000, 4096)))
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    with pytest.raises(ContextOverflowError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    assert caught.value.limit == 4096 and caught.value.requested_messages == 9000


def test_another_error_inside_a_stream_is_reported_with_the_servers_words(fake_server) -> None:
    fake_server.reply(Reply(stream_error={"code": 500, "message": "the model crashed", "type": "server_error"}))
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    with pytest.raises(APIError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    assert str(caught.value) == "The server reported an error in the middle of the answer: the model crashed."


def test_llamacpps_400_names_the_size_it_has(fake_server) -> None:
    fake_server.reply(
        status=400, error_message="request (4476 tokens) exceeds the available context size (4096 tokens)"
    )
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    with pytest.raises(ContextOverflowError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    assert caught.value.limit == 4096
