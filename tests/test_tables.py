"""Listings at 80 and 120 columns, and in a pipe (which rich lays out at 80): every header whole,
nothing past the edge, a long model name wrapped once at most, search snippets readable."""

from __future__ import annotations

import json

import pytest

from tutor_cli import SessionManager

MODEL = "qwen2.5-14b-instruct-q4_k_m-gguf-local-server"  # 45 characters, as local servers name them
QUESTION = "How do I factor a quadratic equation with large coefficients quickly?"


@pytest.fixture
def busy_store(home) -> None:
    with SessionManager(home / "tutor.db") as manager:
        for student, session_id in (("ada", "20261201-090000-b188"), ("ada", "algebra"), ("bob", "s1")):
            manager.create_session(student, session_id, "p")
            manager.store.add_message(student, session_id, "user", QUESTION)
            manager.store.add_message(
                student, session_id, "assistant", "The quadratic formula gives both roots at once. " * 3,
                model=MODEL, usage={"prompt_tokens": 12_345, "completion_tokens": 2_345},
            )  # fmt: skip


def listing(run_tutor, width: int, *args: str) -> list[str]:
    result = run_tutor(*args, env={"COLUMNS": str(width)})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def header(lines: list[str], first: str) -> str:
    return next(line for line in lines if line.startswith(first))


@pytest.mark.parametrize("width", [80, 120])
def test_sessions_fit_with_whole_headers_and_the_model_wrapped_once(run_tutor, busy_store, width) -> None:
    lines = listing(run_tutor, width, "sessions")
    assert all(len(line) <= width for line in lines)
    top = header(lines, "Session ")
    for name in ("Session", "Msgs", "Last used", "Model", "Tokens"):
        assert name in top
    assert "…" not in top
    model_lines = [line for line in lines if any(part in line for part in (MODEL[:12], MODEL[-12:]))]
    assert 2 <= len(model_lines) <= 4  # two sessions, each on one or two lines
    if width == 120:
        assert sum(MODEL in line for line in lines) == 2  # whole on one line where there is room
    assert any("How do I factor" in line for line in lines)  # the title under the id


@pytest.mark.parametrize("width", [80, 120])
def test_the_class_overview_keeps_every_header_whole(run_tutor, busy_store, width) -> None:
    lines = listing(run_tutor, width, "class", "overview")
    assert all(len(line) <= width for line in lines)
    top = header(lines, "Student")
    for name in ("Sessions", "Questions", "Last active", "Tokens", "Cost", "Cards", "Flags"):
        assert name in top
    assert "…" not in "\n".join(lines)


@pytest.mark.parametrize("width", [80, 120])
def test_search_snippets_get_the_room_they_need(run_tutor, busy_store, width) -> None:
    lines = listing(run_tutor, width, "search", "quadratic", "--all-students")
    assert all(len(line) <= width for line in lines)
    top = header(lines, "Student")
    assert "Snippet" in top and "…" not in top
    snippet_at = top.index("Snippet")
    assert width - snippet_at >= 30
    text = " ".join(line[snippet_at:].strip() for line in lines[lines.index(top) + 2 :])
    assert "How do I factor a quadratic equation" in text  # the words read whole, not cut at the edge


def test_the_watch_list_is_a_table_and_json_like_every_listing(run_tutor, busy_store) -> None:
    assert run_tutor("admin", "watch", "add", "quadratic").returncode == 0
    lines = listing(run_tutor, 80, "admin", "watch", "list")
    assert lines[0].strip() == "Watch list" and "Phrase" in lines[1] and "Added" in lines[1]
    assert any(line.startswith("quadratic") for line in lines[3:])
    records = json.loads(run_tutor("admin", "watch", "list", "--format", "json").stdout)
    assert [record["phrase"] for record in records] == ["quadratic"] and records[0]["added_at"].endswith("Z")
