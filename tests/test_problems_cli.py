"""Problems through the CLI on a personal store (CONTRACT, "Problems"): import, list, delete, progress,
`tutor answer`, `tutor class problems`, the withheld mark in `show`, and the report's set pages."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import assert_no_traceback
from tests.test_problems import LINEAR
from tutor_cli import SessionManager

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def linear(tmp_path: Path) -> Path:
    path = tmp_path / "linear.toml"
    path.write_text(LINEAR, encoding="utf-8")
    return path


def run_json(run_tutor, *args: str):
    result = run_tutor(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_import_list_and_reimport(run_tutor, linear: Path) -> None:
    result = run_tutor("problems", "import", str(linear))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Imported 3 problems into set linear."
    again = run_tutor("problems", "import", str(linear), "--set", "linear")
    assert again.stdout.strip() == "Imported 0 problems into set linear (3 updated)."
    listing = run_json(run_tutor, "problems", "list")
    assert [(s["set"], s["problems"], s["class"], s["solved"]) for s in listing] == [("linear", 3, False, 0)]
    assert listing[0]["title"] == "Linear equations" and listing[0]["solution_after"] == 2


def test_a_bad_file_is_one_sentence_exit_1_and_nothing_imported(run_tutor, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(LINEAR.replace('kind = "choice"', 'kind = "essay"'), encoding="utf-8")
    result = run_tutor("problems", "import", str(bad))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "problem 'p2' (line 13): unknown kind 'essay'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_json(run_tutor, "problems", "list") == []
    missing = run_tutor("problems", "import", str(tmp_path / "nope.toml"))
    assert missing.returncode == 1 and "Cannot read" in missing.stderr
    assert_no_traceback(missing)


def test_answer_prints_right_or_not_yet_and_exits_0_either_way(run_tutor, linear: Path) -> None:
    run_tutor("problems", "import", str(linear))
    wrong = run_tutor("answer", "linear", "p1", "2")
    assert (wrong.returncode, wrong.stdout.strip()) == (0, "Not yet (1 attempt).")
    right = run_json(run_tutor, "answer", "linear", "p1", r"x = \frac{7}{4}")
    assert (right["right"], right["attempts"], right["status"], right["first_try"]) == (True, 2, "solved", False)
    unreadable = run_tutor("answer", "linear", "p3", "__import__('os').system('echo hacked')")
    assert (unreadable.returncode, unreadable.stdout.strip()) == (0, "Not yet (1 attempt).")
    assert "hacked" not in unreadable.stdout + unreadable.stderr
    for args, sentence in (
        (("nope", "p1", "1"), "There is no problem set 'nope'"),
        (("linear", "p9", "1"), "The set 'linear' has no problem 'p9'; its problems are p1, p2, p3."),
    ):
        result = run_tutor("answer", *args)
        assert result.returncode == 1 and sentence in result.stderr
        assert_no_traceback(result)
    empty = run_tutor("answer", "linear", "p2", "  ")  # a script's empty variable is no attempt
    assert empty.returncode == 2 and "give your answer" in empty.stderr
    assert run_json(run_tutor, "problems", "progress")["problems"][1]["attempts"] == 0


def test_progress_per_problem_and_skill(run_tutor, linear: Path) -> None:
    run_tutor("problems", "import", str(linear))
    run_tutor("answer", "linear", "p2", "B")
    document = run_json(run_tutor, "problems", "progress")
    assert [(p["problem"], p["status"], p["attempts"], p["hints"], p["first_try"]) for p in document["problems"]] == [
        ("p1", "new", 0, 0, False),
        ("p2", "solved", 1, 0, True),
        ("p3", "new", 0, 0, False),
    ]
    assert {s["skill"]: (s["tried"], s["solved"], s["first_try"]) for s in document["skills"]} == {
        "linear equations": (0, 0, 0),
        "primes": (1, 1, 1),
        "quadratics": (0, 0, 0),
    }
    table = run_tutor("problems", "progress")
    assert "p2" in table.stdout and "solved" in table.stdout and "primes" in table.stdout


def test_delete_asks_or_takes_yes(run_tutor, linear: Path) -> None:
    run_tutor("problems", "import", str(linear))
    refused = run_tutor("problems", "delete", "linear")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    unknown = run_tutor("problems", "delete", "nope", "--yes")
    assert unknown.returncode == 1 and "There is no set 'nope'" in unknown.stderr
    done = run_tutor("problems", "delete", "linear", "--yes")
    assert done.returncode == 0 and done.stdout.strip() == "Deleted set linear (3 problems)."
    assert run_json(run_tutor, "problems", "list") == []


def test_the_class_table_shows_who_is_stuck(run_tutor, linear: Path) -> None:
    for student in ("ada", "bob"):
        run_tutor("problems", "import", str(linear), "--student", student)
    for attempt in ("1", "2", "3"):
        run_tutor("answer", "linear", "p1", attempt, "--student", "bob")
    run_tutor("answer", "linear", "p1", "1.75", "--student", "ada")
    rows = run_json(run_tutor, "class", "problems", "linear")
    seen = {(r["student_id"], r["problem"]): (r["status"], r["attempts"], r["stuck"]) for r in rows}
    assert seen == {("ada", "p1"): ("solved", 1, False), ("bob", "p1"): ("working", 3, True)}
    assert set(rows[0]) >= {"student_id", "set", "problem", "status", "attempts", "hints", "first_try", "stuck"}
    table = list(csv.DictReader(io.StringIO(run_tutor("class", "problems", "--format", "csv").stdout)))
    assert [(r["student_id"], r["stuck"]) for r in table] == [("ada", "False"), ("bob", "True")]


def open_work_session(home: Path, linear: Path, student: str = "ada") -> str:
    """A work session on p1 of `linear` with a question and a withheld draft; its id."""
    from tutor_cli import problems as rules
    from tutor_cli.work import Workbench

    with SessionManager(home / "tutor.db") as manager:
        rules.import_set(manager.store, student, "linear", rules.read_problem_file(linear), 1.0)
        record, p1 = rules.find_problem(manager.store, student, "linear", "p1")
        bench = Workbench(manager, student, record, "base prompt", use_profile=False)
        bench.open(p1)
        manager.add_message(student, bench.session_id, "user", "just tell me")
        manager.store.add_message(student, bench.session_id, "assistant", "So $x = \\frac{7}{4}$.", withheld=True)
        manager.add_message(student, bench.session_id, "user", "how do I start?")
        thought = "They need x = 7/4 but must find it."  # a thinking model's reasoning reaches the answer
        manager.store.add_message(student, bench.session_id, "assistant", "What undoes the $-3$?", reasoning=thought)
        return bench.session_id


KEY_AND_SOLUTION = ("never say it): 7/4", "$4x = 7$, so $x = \\frac{7}{4}$.", "Now divide both sides by $4$.")


def test_show_keeps_the_key_solution_and_withheld_draft_off_the_students_screen_until_solved(
    run_tutor, home: Path, linear: Path
) -> None:
    session = open_work_session(home, linear)
    for format in ("text", "markdown", "json"):
        shown = run_tutor("show", session, "--format", format)
        assert shown.returncode == 0, shown.stderr
        for secret in (*KEY_AND_SOLUTION, "So $x"):
            assert secret not in shown.stdout.replace("\\\\", "\\"), (format, secret)
        assert "kept off the screen until" in shown.stdout and "Solve $4x - 3 = 4$" in shown.stdout
    document = run_json(run_tutor, "show", session)
    assert [m.get("withheld", False) for m in document["messages"]] == [False, True, False, False]  # still marked
    assert "Guide, do not answer" in document["system_prompt"]
    assert document["messages"][3]["content"] == "What undoes the $-3$?"
    assert "7/4" not in document["messages"][3]["reasoning"]
    assert run_tutor("answer", "linear", "p1", "1.75").stdout.strip() == "Right (1 attempt)."
    document = run_json(run_tutor, "show", session)
    assert all(secret in document["system_prompt"] for secret in KEY_AND_SOLUTION)  # solved: all of it
    assert document["messages"][1]["content"] == "So $x = \\frac{7}{4}$."  # the exact draft
    assert document["messages"][3]["reasoning"] == "They need x = 7/4 but must find it."
    markdown = run_tutor("show", session, "--format", "markdown").stdout
    assert "(withheld from the student)" in markdown and "So $x" in markdown


def test_the_report_has_a_page_per_set_and_marks_withheld_drafts(run_tutor, home: Path, linear: Path, tmp_path) -> None:
    from tutor_cli import problems as rules
    from tutor_cli.checking import Checker
    from tutor_cli.work import Workbench

    with SessionManager(home / "tutor.db") as manager:
        for student in ("ada", "bob"):
            rules.import_set(manager.store, student, "linear", rules.read_problem_file(linear), 1.0)
            record, p1 = rules.find_problem(manager.store, student, "linear", "p1")
            bench = Workbench(manager, student, record, "base prompt", use_profile=False)
            bench.open(p1)
            manager.add_message(student, bench.session_id, "user", "just tell me")
            manager.store.add_message(student, bench.session_id, "assistant", f"{student}: x = 7/4", withheld=True)
            for attempt in ("1", "2", "3") if student == "bob" else ("7/4",):
                bench.answer(Checker.for_student(None, student), attempt)
    result = run_tutor("class", "report", "--html", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    index = (tmp_path / "report" / "index.html").read_text()
    links = re.findall(r'href="(sets/[^"]+)"', index)
    assert len(links) == 2  # each student's own set 'linear'
    pages = {link: (tmp_path / "report" / link).read_text() for link in links}
    bob_page = next(page for page in pages.values() if "(bob)" in page)
    stuck_cell = bob_page.split("<td>")[2]
    assert "bob (3 att., 0 hints)" in stuck_cell and "../sessions/" in stuck_cell  # linked to the session
    ada_page = next(page for page in pages.values() if "(ada)" in page)
    assert "ada (1 att., 0 hints)" in ada_page.split("<td>")[1]
    session_pages = list((tmp_path / "report" / "sessions").rglob("*.html"))
    marked = [p for p in session_pages if "withheld: it stated the answer" in p.read_text()]
    assert len(marked) == 2


def test_the_readmes_example_file_imports(run_tutor, tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Problems") :]
    example = re.search(r"```toml\n(.*?)```", section, re.DOTALL).group(1)
    path = tmp_path / "linear.toml"
    path.write_text(example, encoding="utf-8")
    result = run_tutor("problems", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert run_tutor("answer", "linear", "p4", "3.1416").stdout.strip() == "Right (1 attempt)."  # its tolerance
    assert run_tutor("answer", "linear", "p3", "x = 3 or x = 2").stdout.strip() == "Right (1 attempt)."


def test_set_names_and_ids_cannot_inject_markup_into_the_report(run_tutor, home: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "x.toml"
    hostile.write_text('[[problem]]\nid = "<img src=x onerror=alert(1)>"\nstatement = "s"\nanswer = "1"\n', "utf-8")
    assert run_tutor("problems", "import", str(hostile), "--set", "<script>alert(1)</script>").returncode == 0
    run_tutor("answer", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "2")
    result = run_tutor("class", "report", "--html", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    for page in (tmp_path / "report").rglob("*.html"):
        text = page.read_text()
        assert "<script>" not in text and "<img src=x" not in text
    set_page = next((tmp_path / "report" / "sets").glob("*.html")).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in set_page


def test_work_without_an_api_key_stops_before_any_prompt(run_tutor, home: Path, linear: Path) -> None:
    run_tutor("problems", "import", str(linear))
    result = run_tutor("work", "linear")
    assert result.returncode == 1 and "DEEPSEEK_API_KEY" in result.stderr
    assert_no_traceback(result)


def test_a_students_search_never_finds_a_withheld_draft(run_tutor, home: Path, linear: Path) -> None:
    open_work_session(home, linear)
    found = run_json(run_tutor, "search", "frac")
    assert found == []  # only the withheld draft holds it
    assert [hit["role"] for hit in run_json(run_tutor, "search", "undoes")] == ["assistant"]


def test_the_plain_chat_and_ask_refuse_an_unsolved_work_session(run_tutor, terminal, fake_server, home, linear) -> None:
    """`tutor chat -c` right after `tutor work` would resume the work session (its prompt holds the key)
    without the answer guard: refused in one sentence pointing to `tutor work`, until solved."""
    session = open_work_session(home, linear)
    fake_server.reply(content="Fine: $x = \\frac{7}{4}$.")
    for args in (("chat", "-c"), ("chat", "--session", session)):
        term = terminal(*args)
        term.expect("tutor work linear --problem p1")
        assert term.finish() == 1
    for args in (("ask", "--session", session, "just tell me"), ("ask", "--session", session, "-")):
        refused = run_tutor(*args, input="just tell me")
        assert refused.returncode == 1, (args, refused.stdout)
        assert_no_traceback(refused)
        assert "tutor work linear --problem p1" in refused.stderr and "frac" not in refused.stdout
        assert len(refused.stderr.strip().splitlines()) == 1
    assert fake_server.chat_requests == []
    run_tutor("answer", "linear", "p1", "7/4")
    asked = run_tutor("ask", "--session", session, "now tell me")
    assert asked.returncode == 0 and "frac" in asked.stdout  # solved: talk about it freely


def test_an_answer_from_a_script_keeps_the_link_to_the_work_session(run_tutor, home: Path, linear: Path) -> None:
    session = open_work_session(home, linear)
    assert run_tutor("answer", "linear", "p1", "2").returncode == 0
    rows = run_json(run_tutor, "class", "problems", "linear")
    assert next(r for r in rows if r["problem"] == "p1")["session_id"] == session  # where the work is


def test_a_work_session_whose_set_is_gone_is_not_resumed_without_the_guard(run_tutor, api_env, home, linear) -> None:
    session = open_work_session(home, linear)
    assert run_tutor("problems", "delete", "linear", "--yes").returncode == 0
    refused = run_tutor("ask", "--session", session, "what was the key?")
    assert refused.returncode == 1 and "whose set has changed" in refused.stderr
    shown = run_tutor("show", session).stdout
    assert "never say it): 7/4" not in shown and "kept off the screen" in shown
