"""What the student reads when the endpoint answers with an error: the commonest set-up mistakes."""

from __future__ import annotations

import re

import pytest

from tests.conftest import assert_no_traceback
from tests.fake_server import API_KEY, FakeServer
from tutor_cli.client import ChatClient
from tutor_cli.errors import APIError

HISTORY = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "What is 2+2?"}]


@pytest.fixture
def v1_server():
    """A server that, like vLLM and Ollama, serves the API under /v1 only."""
    server = FakeServer(path_prefix="/v1").start()
    yield server
    server.stop()


def test_a_base_url_without_v1_is_named_with_the_fix(v1_server) -> None:
    client = ChatClient(v1_server.base_url, API_KEY, retry_scale=0)
    with pytest.raises(APIError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    base = v1_server.base_url
    fix = (
        "local servers (llama.cpp, vLLM, Ollama) serve it under /v1: "
        f"put /v1 at the end of DEEPSEEK_BASE_URL ({base}/v1)."
    )
    assert str(caught.value) == f"The server at {base} has no /chat/completions (404); {fix}"
    assert caught.value.status == 404
    with pytest.raises(APIError) as listed:
        client.list_models()
    assert str(listed.value) == f"The server at {base} has no /models (404); {fix}"
    # A base URL that already ends in /v1 (or /v1/) is not told to add it again.
    for given in (f"{base}/nothing/v1", f"{base}/nothing/v1/"):
        with pytest.raises(APIError) as elsewhere:
            ChatClient(given, API_KEY, retry_scale=0).list_models()
        assert str(elsewhere.value) == (
            f"The server at {given} has no /models (404); "
            "check DEEPSEEK_BASE_URL: it should name the server's OpenAI-compatible API."
        )


def test_the_same_server_with_v1_answers(v1_server) -> None:
    client = ChatClient(v1_server.base_url + "/v1", API_KEY, retry_scale=0)
    assert "".join(d.text for d in client.stream(HISTORY, "deepseek-flash")) == "Answer to: What is 2+2?"


def test_ask_at_a_base_url_without_v1_is_one_sentence_per_thought_each_ending_in_a_full_stop(
    run_tutor, v1_server, monkeypatch
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", API_KEY)
    monkeypatch.setenv("DEEPSEEK_BASE_URL", v1_server.base_url)
    result = run_tutor("ask", "What is a prime?")
    assert result.returncode == 1 and result.stdout == ""
    assert_no_traceback(result)
    message = result.stderr.strip()
    assert f"{v1_server.base_url}/v1" in message and "DEEPSEEK_BASE_URL" in message
    # Each sentence the student reads is closed before the next begins: no "404): Error code: 404 Your".
    assert not re.search(r"[^.!?] Your question is kept", message), message
    assert message.endswith(".")


def test_a_refusal_whose_server_text_has_no_full_stop_still_ends_one(fake_server) -> None:
    fake_server.reply(status=400, error_message="Invalid format")
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    with pytest.raises(APIError) as caught:
        list(client.stream(HISTORY, "deepseek-flash"))
    assert str(caught.value) == "The request was refused (400): Invalid format."
