"""Servers that send no usage (llama.cpp's server ignores `include_usage`): the tutor estimates the
tokens from the text, stores them marked estimated, and counts them toward daily limits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

from tutor_cli import SessionManager
from tutor_cli.client import Answer
from tutor_cli.desk import overview
from tutor_cli.pricing import PriceTable


def stored_answer(home: Path, session: str):
    with SessionManager(home / "tutor.db") as manager:
        return [m for m in manager.store.get_messages("ada", session) if m.role == "assistant"][-1]


def test_an_answer_without_usage_is_stored_with_estimated_tokens(run_tutor, api_env, fake_server, home) -> None:
    fake_server.reply(usage=True)
    assert run_tutor("ask", "--session", "reported", "What is a prime number?").returncode == 0
    reported = stored_answer(home, "reported")
    fake_server.reply(usage=False)
    assert run_tutor("ask", "--session", "silent", "What is a prime number?").returncode == 0
    estimated = stored_answer(home, "silent")
    assert not reported.usage_estimated
    assert estimated.usage_estimated
    # Near what the server itself counted for the same request and answer.
    for name in ("prompt_tokens", "completion_tokens"):
        assert 0.5 * reported.usage[name] <= estimated.usage[name] <= 2 * reported.usage[name], name
    sessions = {s["session_id"]: s for s in json.loads(run_tutor("sessions", "-f", "json").stdout)}
    assert sessions["silent"]["usage"]["prompt_tokens"] == estimated.usage["prompt_tokens"]
    assert sessions["silent"]["usage"]["tokens_estimated"] is True
    assert sessions["reported"]["usage"]["tokens_estimated"] is False
    shown = json.loads(run_tutor("show", "silent", "-f", "json").stdout)
    assert shown["messages"][-1]["usage_estimated"] is True and "usage_estimated" not in shown["messages"][0]
    assert "usage_estimated" not in json.loads(run_tutor("show", "reported", "-f", "json").stdout)["messages"][-1]
    assert (
        run_tutor("show", "silent", "-f", "text")
        .stdout.rstrip()
        .endswith("tokens estimated (the server sent no counts)")
    )


def test_daily_token_limits_count_estimated_tokens(run_tutor, api_env, fake_server, home) -> None:
    now = {"TUTOR_NOW": "2026-11-25T10:00:00Z"}
    assert run_tutor("admin", "limit", "--class", "--daily-tokens", "100").returncode == 0
    fake_server.reply(usage=False)
    assert run_tutor("ask", "--session", "s", "first", env=now).returncode == 0
    used = json.loads(run_tutor("usage", "-f", "json", env=now).stdout)["tokens"]
    assert used > 100  # the shipped system prompt alone is more than that
    sent = len(fake_server.chat_requests)
    result = run_tutor("ask", "--session", "s", "second", env=now)
    assert result.returncode == 1 and "Daily limit reached" in result.stderr
    assert len(fake_server.chat_requests) == sent


def test_usage_totals_say_when_they_are_estimated() -> None:
    with SessionManager() as manager:
        manager.create_session("ada", "s", "Be kind.")
        manager.store.add_message("ada", "s", "user", "What is 2 + 2?")
        request = manager.window.build("ada", "s", 4096)
        answer = Answer(content_parts=["Four."])  # and no usage from the server
        usage, estimated = request.usage_of(answer)
        assert estimated and usage["prompt_tokens"] == request.estimated_tokens
        manager.store.add_message("ada", "s", "assistant", "Four.", model="deepseek-flash", usage=usage,
                                  usage_estimated=estimated)  # fmt: skip
        totals = manager.session_totals(PriceTable(), "ada", "s")
    assert totals.estimated and totals.tokens["prompt_tokens"] > 0
    assert totals.describe().startswith("~") and "estimated" in totals.describe()


def test_answers_added_through_the_library_get_no_invented_usage() -> None:
    with SessionManager() as manager:
        manager.create_session("ada", "s", "Be kind.")
        manager.add_message("ada", "s", "user", "Hi")
        manager.add_message("ada", "s", "assistant", "Hello")
        answer = manager.store.get_messages("ada", "s")[-1]
    assert answer.usage == {} and not answer.usage_estimated


def test_a_student_records_estimated_usage_in_the_class_database_and_cannot_change_the_mark(classroom) -> None:
    names, urls = classroom
    ada = names["ada"]
    with SessionManager(urls["ada"]) as manager:
        request = manager.window.build(ada, "homework", 4096)
        usage, estimated = request.usage_of(Answer(content_parts=["An answer with no usage."]))
        manager.store.add_message(ada, "homework", "assistant", "An answer with no usage.", model="deepseek-flash",
                                  usage=usage, usage_estimated=estimated)  # fmt: skip
        answer = manager.store.get_messages(ada, "homework")[-1]
        assert answer.usage_estimated and answer.usage["prompt_tokens"] > 0
        day = manager.store.usage_on(ada, time.strftime("%Y-%m-%d", time.gmtime()))
        assert day[1] == answer.usage["prompt_tokens"] + answer.usage["completion_tokens"]
    with psycopg.connect(urls["ada"], autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE messages SET usage_estimated = 0")
    with SessionManager(urls["tess"]) as teacher:
        rows = {row.student_id: row for row in overview(teacher.store, PriceTable(), None)}
    assert rows[ada].totals.estimated and rows[ada].tokens > 0
    assert not rows[names["bob"]].totals.estimated
