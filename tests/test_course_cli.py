"""Course materials end to end: `tutor course`, then questions through `ask` and the chat against the
fake server, reading what was really sent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import assert_no_traceback
from tests.fake_server import FakeServer, Reply
from tests.helpers.pdf import make_pdf
from tutor_cli import SessionManager, course
from tutor_cli.course import with_passages
from tutor_cli.documents import parse_document
from tutor_cli.store import SQLiteStore

CELLS = """# Cells

Every living thing is made of cells.

## Mitochondria

The mitochondria is the powerhouse of the cell: it turns glucose and oxygen into ATP.

## Osmosis

Water crosses a membrane from the side with fewer dissolved particles to the side with more.
"""


def add_cells(run_tutor, tmp_path: Path) -> None:
    path = tmp_path / "cells.md"
    path.write_text(CELLS)
    result = run_tutor("course", "add", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Added cells.md: 3 passages.\n"


def test_course_add_list_and_remove(run_tutor, tmp_path: Path) -> None:
    add_cells(run_tutor, tmp_path)
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(make_pdf(["Page one: diffusion.", "Page two: active transport."]))
    assert run_tutor("course", "add", str(pdf)).stdout == "Added notes.pdf: 2 passages.\n"
    listed = json.loads(run_tutor("course", "list", "--format", "json").stdout)
    assert [(m["name"], m["passages"], m["class"]) for m in listed] == [("cells.md", 3, False), ("notes.pdf", 2, False)]
    assert all(m["added_at"].endswith("Z") for m in listed)
    (tmp_path / "cells.md").write_text("# Cells\n\nShorter now.\n")
    assert run_tutor("course", "add", str(tmp_path / "cells.md")).stdout == "Replaced cells.md: 1 passage.\n"
    removed = run_tutor("course", "remove", "notes.pdf", "--yes")
    assert removed.returncode == 0 and removed.stdout == "Removed notes.pdf (2 passages).\n"
    assert [m["name"] for m in json.loads(run_tutor("course", "list", "-f", "json").stdout)] == ["cells.md"]


def test_unusable_files_are_one_sentence_and_nothing_is_added(run_tutor, tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("# Fine\n\ntext\n")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(make_pdf([None, None]))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for bad, says in ((scan, "no text layer"), (empty, "is empty"), (tmp_path / "missing.md", "no such file")):
        result = run_tutor("course", "add", str(good), str(bad))
        assert result.returncode == 1 and says in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert_no_traceback(result)
    assert json.loads(run_tutor("course", "list", "-f", "json").stdout) == []
    assert run_tutor("course", "remove", "good.md", "--yes").returncode == 1


def test_with_no_materials_the_request_is_exactly_as_without_the_feature(
    run_tutor, api_env, fake_server, tmp_path
) -> None:
    # Two fresh homes, one question each: the feature on with no materials, and the feature off.
    assert run_tutor("ask", "What is osmosis?", env={"TUTOR_HOME": str(tmp_path / "on")}).returncode == 0
    off = {"TUTOR_HOME": str(tmp_path / "off"), "TUTOR_COURSE": "off"}
    assert run_tutor("ask", "What is osmosis?", env=off).returncode == 0
    with_feature, without = (request["body"] for request in fake_server.chat_requests)
    assert json.dumps(with_feature, sort_keys=True) == json.dumps(without, sort_keys=True)
    assert with_feature["messages"][-1] == {"role": "user", "content": "What is osmosis?"}


def test_passages_go_with_the_question_and_stay_with_it_exactly(
    run_tutor, api_env, fake_server, home, tmp_path
) -> None:
    add_cells(run_tutor, tmp_path)
    fake_server.reply(content="Water moves toward more solute [cells.md § Osmosis].")
    first = run_tutor("ask", "--session", "bio", "Why does water cross a membrane?")
    # To a pipe the answer is the model's exact text; the Sources line goes to standard error.
    assert first.returncode == 0 and first.stdout == "Water moves toward more solute [cells.md § Osmosis].\n"
    assert "Sources: cells.md § Osmosis" in first.stderr
    sent = fake_server.chat_requests[-1]["body"]["messages"]
    question = sent[-1]["content"]
    assert question.startswith("Passages from my course materials")
    assert "[cells.md § Osmosis]\n## Osmosis\n\nWater crosses a membrane" in question
    assert question.endswith("My question:\nWhy does water cross a membrane?")
    assert len(question) - len("Why does water cross a membrane?") < 6000 + 500
    assert sent[0]["role"] == "system" and "Passages" not in sent[0]["content"]
    run_tutor("ask", "--session", "bio", "And what is ATP?")
    second = fake_server.chat_requests[-1]["body"]["messages"]
    assert second[: len(sent)] == sent  # the earlier question went again exactly as first sent
    assert second[-1]["content"].endswith("My question:\nAnd what is ATP?") and "Mitochondria" in second[-1]["content"]
    shown = json.loads(run_tutor("show", "bio", "--format", "json").stdout)
    questions = [m for m in shown["messages"] if m["role"] == "user"]
    assert questions[0]["content"] == "Why does water cross a membrane?"
    assert "cells.md § Osmosis" in [p["label"] for p in questions[0]["passages"]]
    rebuilt = with_passages(questions[0]["content"], [(p["label"], p["text"]) for p in questions[0]["passages"]])
    assert rebuilt == question


def test_no_course_and_course_off_send_nothing(run_tutor, api_env, fake_server, tmp_path) -> None:
    add_cells(run_tutor, tmp_path)
    run_tutor("ask", "--no-course", "Why does water cross a membrane?")
    run_tutor("ask", "Why does water cross a membrane?", env={"TUTOR_COURSE": "off"})
    for request in fake_server.chat_requests:
        assert request["body"]["messages"][-1]["content"] == "Why does water cross a membrane?"


def test_chat_shows_a_faint_sources_line_and_the_passages_on_request(
    terminal, fake_server: FakeServer, run_tutor, tmp_path
) -> None:
    add_cells(run_tutor, tmp_path)
    fake_server.reply(Reply(content="ATP is made there [cells.md § Mitochondria]."), Reply(content="Fine."))
    term = terminal("chat")
    term.prompt()
    term.type("which part of the cell makes energy?")
    term.expect("ATP is made there")
    term.expect("Sources: cells.md § Mitochondria")
    term.prompt()
    term.type("/sources")
    term.expect("[cells.md § Mitochondria]")
    term.expect("powerhouse of the cell")
    term.prompt()
    term.type("thanks, no citation this time")
    term.expect("Fine.")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert term.screen.count("Sources:") == 1


def test_resumed_chat_sources_shows_the_stored_passages(terminal, fake_server, run_tutor, home, tmp_path) -> None:
    add_cells(run_tutor, tmp_path)
    run_tutor("ask", "--session", "bio", "Why does water cross a membrane?")
    term = terminal("chat", "--session", "bio")
    term.prompt()
    term.type("/sources")
    term.expect("[cells.md § Osmosis]")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    with SessionManager(home / "tutor.db") as manager:
        assert manager.store.last_question_passages("ada", "bio")[0][0].startswith("cells.md")


# --- the warm-up ------------------------------------------------------------------------------

WARM_UP = """
import sys, threading
from tutor_cli import course
from tutor_cli.store import SQLiteStore

store = SQLiteStore(sys.argv[1])
for student in ("bob", "ada"):  # bob has no materials; ada has one
    course.Searcher(store, student).warm_up()
    threads = [t for t in threading.enumerate() if t.name == "tutor-course-warm-up"]
    for thread in threads:
        thread.join(30)
    print(student, [t.daemon for t in threads], "tokenizers" in sys.modules)
"""


def test_warm_up_loads_the_model_in_the_background_only_for_a_student_with_materials(tmp_path: Path) -> None:
    """The chat warms up as it opens: a daemon thread (quitting never waits for it) that loads the
    vectors and the model (tokenizers comes with it) when the student has materials, nothing otherwise."""
    store = SQLiteStore(tmp_path / "tutor.db")
    course.add_document(store, "ada", parse_document("cells.md", b"# Cells\n\nCells make ATP.\n"), 0.0)
    store.close()
    result = subprocess.run(
        [sys.executable, "-c", WARM_UP, str(tmp_path / "tutor.db")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    bob, ada = result.stdout.splitlines()
    assert bob.endswith("False")  # no materials: the model is not loaded
    assert ada == "ada [True] True"
