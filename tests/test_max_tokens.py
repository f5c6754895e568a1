"""TUTOR_MAX_TOKENS / --max-tokens caps an answer: sent as `max_tokens` only when set."""

from __future__ import annotations

import pytest

from tests.fake_server import API_KEY
from tutor_cli.client import Answer, ChatClient
from tutor_cli.config import Settings
from tutor_cli.errors import ConfigError

HISTORY = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Tell me everything."}]


def test_the_setting_is_read_from_the_environment() -> None:
    assert Settings.from_environment({"TUTOR_HOME": "/tmp/x", "TUTOR_MAX_TOKENS": "800"}).max_tokens == 800
    assert Settings.from_environment({"TUTOR_HOME": "/tmp/x"}).max_tokens is None
    assert Settings.from_environment({"TUTOR_HOME": "/tmp/x", "TUTOR_MAX_TOKENS": ""}).max_tokens is None


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5"])
def test_a_bad_value_is_one_sentence_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environment({"TUTOR_HOME": "/tmp/x", "TUTOR_MAX_TOKENS": value})
    assert "TUTOR_MAX_TOKENS" in str(caught.value) and repr(value) in str(caught.value)


def test_the_client_sends_max_tokens_only_when_set(fake_server) -> None:
    list(ChatClient(fake_server.base_url, API_KEY, retry_scale=0).stream(HISTORY, "deepseek-flash"))
    assert "max_tokens" not in fake_server.chat_requests[-1]["body"]
    list(ChatClient(fake_server.base_url, API_KEY, retry_scale=0).stream(HISTORY, "deepseek-flash", max_tokens=50))
    assert fake_server.chat_requests[-1]["body"]["max_tokens"] == 50
    capped = ChatClient(fake_server.base_url, API_KEY, retry_scale=0, max_tokens=300)
    list(capped.stream(HISTORY, "deepseek-flash"))  # a summary or a profile update: not an answer, no cap
    assert "max_tokens" not in fake_server.chat_requests[-1]["body"]


def test_an_answer_cut_at_the_cap_says_so(fake_server) -> None:
    fake_server.reply(content="A long answer " * 20)
    answer = Answer()
    client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
    list(client.stream(HISTORY, "deepseek-flash", answer=answer, max_tokens=10))
    assert answer.finished and answer.finish_reason == "length"
    assert len(answer.content) == 40  # what the fake server lets through for 10 tokens
