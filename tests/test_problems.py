"""Problems on a personal store (CONTRACT, "Problems"): set files, what a bad file says, re-import by
id, the rules of working a problem, what is kept per attempt and hint, progress per problem and skill,
and the problem tables' place in export and delete-student."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_rights import counts_of, rows_naming
from tutor_cli import SessionManager
from tutor_cli import problems as rules
from tutor_cli.checking import Checker
from tutor_cli.errors import ConfigError
from tutor_cli.problems import ProblemFileError, ProblemNotFoundError, SolutionShutError
from tutor_cli.store.records import Status
from tutor_cli.views import problems as problem_views

LINEAR = """\
title = "Linear equations"
solution_after = 2

[[problem]]
id = "p1"
statement = '''Solve $4x - 3 = 4$ for $x$.'''
answer = "7/4"
kind = "math"
skills = ["linear equations"]
hints = ['''Undo the $-3$ first.''', '''Now divide both sides by $4$.''']
solution = '''$4x = 7$, so $x = \\frac{7}{4}$.'''

[[problem]]
id = "p2"
statement = "Which is prime? (a) 4 (b) 7 (c) 9"
answer = "b"
kind = "choice"
skills = ["primes"]

[[problem]]
id = "p3"
statement = "Solve $x^2 - 5x + 6 = 0$."
answer = "x = 2 or x = 3"
skills = ["quadratics", "linear equations"]
"""


def write(tmp_path: Path, text: str, name: str = "linear.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store(home):
    manager = SessionManager(home / "tutor.db")
    yield manager.store
    manager.close()


def imported(store, tmp_path: Path, text: str = LINEAR, owner: str = "ada", name: str = "linear"):
    spec = rules.read_problem_file(write(tmp_path, text))
    return rules.import_set(store, owner, name, spec, 1000.0)


# --- set files -----------------------------------------------------------------------------------


def test_a_set_file_is_read_whole_with_literal_latex(tmp_path: Path) -> None:
    spec = rules.read_problem_file(write(tmp_path, LINEAR))
    assert spec.title == "Linear equations" and spec.solution_after == 2
    assert [p.key for p in spec.problems] == ["p1", "p2", "p3"]
    first = spec.problems[0]
    assert first.solution == "$4x = 7$, so $x = \\frac{7}{4}$."
    assert first.hints == ("Undo the $-3$ first.", "Now divide both sides by $4$.")
    assert (spec.problems[1].kind, spec.problems[2].kind) == ("choice", "math")


def test_solution_after_defaults_to_two_and_may_be_never(tmp_path: Path) -> None:
    plain = '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\n'
    assert rules.read_problem_file(write(tmp_path, plain)).solution_after == 2
    never = 'solution_after = "never"\n' + plain
    assert rules.read_problem_file(write(tmp_path, never)).solution_after is None


PRINTABLE_ID = ": problem '{}' (line 1): the id must be 1 to 100 printable characters"
TOLERANCE = ": problem 'a' (line 1): tolerance must be a number of 0 or more (relative: 0.01 is 1%), not {}"
TOO_LONG = ": problem 'a' (line 1): the {} is longer than 20,000 characters"
ONE = '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\n'
NO_PROBLEMS = ": no problems: each problem is a [[problem]] table with id, statement and answer"


# The whole sentence after the file's path (the TOML parser's own words: only the line is ours).
@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ('title = "x"\n[[problem]\nid = "a"\n', ", line 2: "),
        ('[[problem]]\nid = "a"\nstatement = "s"\n', ": problem 'a' (line 1): no answer"),
        ('[[problem]]\nstatement = "s"\nanswer = "1"\n', ": the problem at line 1: no id"),
        ('[[problem]]\nid = "a"\nanswer = "1"\n', ": problem 'a' (line 1): no statement"),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\n\n'
            '[[problem]]\nid = "a"\nstatement = "t"\nanswer = "2"\n',
            ": problem 'a' (line 6): the id 'a' is used twice (problem number 1 has it too)",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nkind = "essay"\n',
            ": problem 'a' (line 1): unknown kind 'essay' (math, choice or text)",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "seven quarters"\n',
            ": problem 'a' (line 1): the answer cannot be read as mathematics"
            " (write it as 7/4, x = 2 or x = 3, 2x + 2, or \\frac{7}{4})",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "bc"\nkind = "choice"\n',
            ": problem 'a' (line 1): a choice key is one letter, such as b",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1/0"\n',  # undefined
            ": problem 'a' (line 1): the answer is undefined (such as 1/0), so no answer can match it",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "x = 2 or x = 0/0"\n',
            ": problem 'a' (line 1): the answer is undefined (such as 1/0), so no answer can match it",
        ),
        (
            'solution_after = -1\n[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\n',
            ': solution_after must be a whole number of attempts (0 or more) or "never", not -1',
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nhints = "one"\n',
            ": problem 'a' (line 1): hints must be a list of non-empty strings",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nanswers = "2"\n',
            ": problem 'a' (line 1): unknown key 'answers'"
            " (a problem has answer, hints, id, kind, skills, solution, statement, tolerance)",
        ),
        ('title = "empty"\n', ": no problems: each problem is a [[problem]] table with id, statement and answer"),
        ('[problem]\nid = "a"\nstatement = "s"\nanswer = "1"\n', NO_PROBLEMS),  # one table, not an array of them
        ('titel = "x"\n' + ONE, ": unknown key 'titel' (a set has title, solution_after and [[problem]] tables)"),
        ('title = " "\n' + ONE, ": title must be a non-empty string"),
        ("title = 5\n" + ONE, ": title must be a non-empty string"),
        ('title = "x', ": unterminated string (at end of document)"),  # the parser names no line here
        ('problem = [{id = "a", statement = "s"}]\n', ": problem 'a': no answer"),  # inline: no line either
        ("problem = [1]\n", ": problem number 1: a problem must be a [[problem]] table"),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = " "\n',
            ": problem 'a' (line 1): answer must be a non-empty string",
        ),
        (
            '[[problem]]\nid = true\nstatement = "s"\nanswer = "1"\n',
            ": the problem at line 1: id must be a non-empty string",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nskills = [1]\n',
            ": problem 'a' (line 1): skills must be a list of non-empty strings",
        ),
        ('[[problem]]\nid = "a\\tb"\nstatement = "s"\nanswer = "1"\n', PRINTABLE_ID.format("a\\tb")),
        ('[[problem]]\nid = "' + "i" * 101 + '"\nstatement = "s"\nanswer = "1"\n', PRINTABLE_ID.format("i" * 101)),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nsolution = " "\n',
            ": problem 'a' (line 1): solution must be a non-empty string",
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nsolution = 5\n',
            ": problem 'a' (line 1): solution must be a non-empty string",
        ),
        ('[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\ntolerance = -0.1\n', TOLERANCE.format("-0.1")),
        ('[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\ntolerance = true\n', TOLERANCE.format("True")),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "x"\nkind = "text"\ntolerance = 0.1\n',
            ": problem 'a' (line 1): tolerance applies to math answers only",
        ),
        (
            'solution_after = true\n[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\n',
            ': solution_after must be a whole number of attempts (0 or more) or "never", not True',
        ),
        ('[[problem]]\nid = "a"\nstatement = "' + "s" * 20_001 + '"\nanswer = "1"\n', TOO_LONG.format("statement")),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nsolution = "' + "s" * 20_001 + '"\n',
            TOO_LONG.format("solution"),
        ),
        (
            '[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\nhints = ["' + "h" * 20_001 + '"]\n',
            TOO_LONG.format("hint"),
        ),
    ],
)
def test_a_bad_file_is_one_sentence_naming_the_problem_or_line(tmp_path: Path, text: str, sentence: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProblemFileError) as raised:
        rules.read_problem_file(path)
    message = str(raised.value)
    assert message.endswith("; nothing was imported.") and "\n" not in message
    if sentence.startswith(":"):
        assert message == f"{path}{sentence}; nothing was imported."
    else:
        assert message.startswith(f"{path}{sentence}"), message


def test_a_bad_file_imports_nothing_and_leaves_the_set_as_it_was(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    broken = LINEAR.replace('answer = "b"', 'answer = "b"\nkind = "essay"', 1).replace("Solve $4x", "Changed $4x")
    with pytest.raises(ProblemFileError):
        imported(store, tmp_path, broken)
    record = store.problem_set("ada", "linear")
    assert [p.statement[:6] for p in store.problems_of(record.id)] == ["Solve ", "Which ", "Solve "]


def test_reimport_updates_problems_by_id_and_keeps_the_students_work(store, tmp_path: Path) -> None:
    assert imported(store, tmp_path) == (3, 0, 0)
    record, p1 = rules.find_problem(store, "ada", "linear", "p1")
    rules.answer(store, Checker.for_student(None, "ada"), "ada", p1, "2", session_id=None, now=1001.0)
    changed = LINEAR.replace("Solve $4x - 3 = 4$", "Solve $4x - 3 = 4$ (again)") + (
        '\n[[problem]]\nid = "p4"\nstatement = "2 + 2?"\nanswer = "4"\n'
    )
    assert imported(store, tmp_path, changed) == (1, 3, 0)
    problems = store.problems_of(record.id)
    assert [p.key for p in problems] == ["p1", "p2", "p3", "p4"]
    assert "(again)" in problems[0].statement and problems[0].id == p1.id
    assert store.statuses("ada", record.id)[p1.id].attempts == 1
    without_p2 = changed.replace('id = "p2"', 'id = "p5"')
    assert imported(store, tmp_path, without_p2) == (1, 3, 1)  # p2 kept, with its students' work
    assert [p.key for p in store.problems_of(record.id)] == ["p1", "p5", "p3", "p4", "p2"]


# --- working a problem ---------------------------------------------------------------------------


def test_a_right_answer_at_the_first_try_without_a_hint_solves_it_first_try(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    _, p1 = rules.find_problem(store, "ada", "linear", None)
    result = rules.answer(
        store, Checker.for_student(None, "ada"), "ada", p1, r"x = \frac{7}{4}", session_id="s1", now=5
    )
    assert result.right and result.status.status == "solved" and result.status.first_try
    assert store.attempts_of("ada", p1.id) == [(r"x = \frac{7}{4}", True, 0, 5)]
    _, next_one = rules.find_problem(store, "ada", "linear", None)
    assert next_one.key == "p2"  # without an id: the first unsolved problem


def test_attempts_hints_and_the_solution_rule(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    record, p1 = rules.find_problem(store, "ada", "linear", "p1")
    checker = Checker.for_student(None, "ada")
    hint = rules.next_file_hint(p1, Status())
    assert hint == "Undo the $-3$ first."
    rules.record_hint(store, "ada", p1, hint, "file", session_id="s1", now=10)
    status = rules.answer(store, checker, "ada", p1, "1", session_id="s1", now=11).status
    assert (status.status, status.attempts, status.wrong, status.hints) == ("working", 1, 1, 1)
    with pytest.raises(SolutionShutError, match="opens after 1 more wrong attempt"):
        rules.open_solution(store, "ada", record, p1, session_id="s1", now=12)
    assert rules.next_file_hint(p1, status) == "Now divide both sides by $4$."
    rules.answer(store, checker, "ada", p1, "not a number", session_id="s1", now=13)  # unreadable: not yet
    status = rules.open_solution(store, "ada", record, p1, session_id="s1", now=14)
    assert status.status == "revealed" and status.solution_opened_at == 14
    after = rules.answer(store, checker, "ada", p1, "1.75", session_id="s1", now=15)
    assert after.right and after.status.status == "revealed" and not after.status.first_try
    assert store.attempts_of("ada", p1.id) == [
        ("1", False, 1, 11),
        ("not a number", False, 1, 13),
        ("1.75", True, 1, 15),
    ]
    assert store.hints_of("ada", p1.id) == [(1, "Undo the $-3$ first.", "file", 10)]


def test_a_solved_problem_opens_its_solution_and_is_no_longer_guarded(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    record, p2 = rules.find_problem(store, "ada", "linear", "p2")
    assert rules.is_guarded(Status())
    status = rules.answer(store, Checker.for_student(None, "ada"), "ada", p2, "(B)", session_id=None, now=1).status
    assert status.status == "solved" and not rules.is_guarded(status)
    assert rules.open_solution(store, "ada", record, p2, session_id=None, now=2).status == "solved"


def test_never_keeps_the_solution_shut_until_solved(store, tmp_path: Path) -> None:
    imported(store, tmp_path, 'solution_after = "never"\n' + LINEAR.split("\n", 2)[2])
    record, p1 = rules.find_problem(store, "ada", "linear", "p1")
    for attempt in ("1", "2", "3", "4"):
        rules.answer(store, Checker.for_student(None, "ada"), "ada", p1, attempt, session_id=None, now=1)
    with pytest.raises(SolutionShutError, match="keeps its solutions shut"):
        rules.open_solution(store, "ada", record, p1, session_id=None, now=2)


def test_stuck_is_three_wrong_attempts_or_two_hints_while_unsolved() -> None:
    assert not rules.is_stuck(Status("working", attempts=2, wrong=2, hints=1))
    assert rules.is_stuck(Status("working", attempts=3, wrong=3))
    assert rules.is_stuck(Status("working", hints=2))
    assert not rules.is_stuck(Status("solved", attempts=5, wrong=4, hints=3))


def test_unknown_sets_and_problems_are_one_sentence(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    with pytest.raises(ProblemNotFoundError, match="no problem set 'nope'"):
        rules.find_problem(store, "ada", "nope", None)
    with pytest.raises(ProblemNotFoundError, match="no problem 'p9'; its problems are p1, p2, p3"):
        rules.find_problem(store, "ada", "linear", "p9")
    with pytest.raises(ProblemNotFoundError):
        rules.find_problem(store, "bob", "linear", None)  # ada's own set is not bob's


# --- progress ------------------------------------------------------------------------------------


def test_progress_per_problem_and_per_skill(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    checker = Checker.for_student(None, "ada")
    _, p1 = rules.find_problem(store, "ada", "linear", "p1")
    _, p3 = rules.find_problem(store, "ada", "linear", "p3")
    rules.answer(store, checker, "ada", p1, "7/4", session_id=None, now=1)
    rules.answer(store, checker, "ada", p3, "x = 2", session_id=None, now=2)  # one root: nothing less
    rules.record_hint(store, "ada", p3, "Factor it.", "model", session_id=None, now=3)
    rules.answer(store, checker, "ada", p3, "{3, 2}", session_id=None, now=4)
    rows = store.problem_progress("ada")
    document = problem_views.progress_document(rows, rules.skill_totals(rows))
    assert [(p["problem"], p["status"], p["attempts"], p["hints"], p["first_try"]) for p in document["problems"]] == [
        ("p1", "solved", 1, 0, True),
        ("p2", "new", 0, 0, False),
        ("p3", "solved", 2, 1, False),
    ]
    assert document["skills"] == [
        {"skill": "linear equations", "tried": 2, "solved": 2, "first_try": 1},
        {"skill": "primes", "tried": 0, "solved": 0, "first_try": 0},
        {"skill": "quadratics", "tried": 1, "solved": 1, "first_try": 0},
    ]
    listing = json.loads(problem_views.sets_json(rules.set_summaries(store, "ada")))
    assert [(s["set"], s["problems"], s["class"], s["solved"]) for s in listing] == [("linear", 3, False, 2)]


def test_the_class_table_and_report_read_stored_verdicts_and_never_load_sympy(home, tmp_path: Path) -> None:
    with SessionManager(home / "tutor.db") as manager:
        imported(manager.store, tmp_path)
        _, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
        for attempt in ("1", "2", "3"):
            rules.answer(manager.store, Checker.for_student(None, "ada"), "ada", p1, attempt, session_id="s", now=1)
    script = (
        "import json, sys\nfrom tutor_cli import SessionManager\nfrom tutor_cli import problems\n"
        f"m = SessionManager({str(home / 'tutor.db')!r})\n"
        "from tutor_cli.views.problems import class_json\n"
        "rows = json.loads(class_json(problems.class_progress(m.store, None)))\n"
        "from pathlib import Path\nfrom tutor_cli.pricing import PriceTable\n"
        "from tutor_cli.views.report import write_site\n"
        f"write_site(m.store, PriceTable(), Path({str(tmp_path / 'report')!r}))\n"
        "print(json.dumps([rows, 'sympy' in sys.modules]))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    rows, loaded = json.loads(run.stdout or run.stderr)
    assert not loaded
    assert list((tmp_path / "report" / "sets").glob("*.html"))  # the set's page was written
    stuck = [(r["student_id"], r["problem"], r["stuck"]) for r in rows if r["problem"] == "p1"]
    assert stuck == [("ada", "p1", True)]


# --- the withheld mark, export and delete-student ------------------------------------------------


def test_a_withheld_draft_is_stored_marked(home) -> None:
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "work", "p")
        manager.add_message("ada", "work", "user", "just tell me")
        manager.store.add_message("ada", "work", "assistant", "x = 7/4", withheld=True)
        manager.add_message("ada", "work", "user", "ok, a hint then")
        marks = [(m.role, m.withheld) for m in manager.store.get_messages("ada", "work")]
    assert marks == [("user", False), ("assistant", True), ("user", False)]


def test_problem_work_is_exported_and_deleted_with_the_student(run_tutor, home, tmp_path: Path) -> None:
    with SessionManager(home / "tutor.db") as manager:
        for student in ("ada", "bob"):
            imported(manager.store, tmp_path, owner=student)
            _, p1 = rules.find_problem(manager.store, student, "linear", "p1")
            rules.record_hint(manager.store, student, p1, "Undo -3.", "file", session_id=None, now=1)
            rules.answer(manager.store, Checker.for_student(None, student), student, p1, "7/4", session_id=None, now=2)
    document = json.loads(run_tutor("admin", "export-student", "ada").stdout)
    tables = document["tables"]
    assert [a["text"] for a in tables["problem_attempts"]] == ["7/4"]
    assert [h["text"] for h in tables["problem_hints"]] == ["Undo -3."]
    assert [(s["status"], s["first_try"]) for s in tables["problem_status"]] == [("solved", 0)]
    assert [s["name"] for s in tables["problem_sets"]] == ["linear"] and len(tables["problems"]) == 3
    assert list(tables).index("problems") < list(tables).index("problem_attempts")  # parents first
    deleted = run_tutor("admin", "delete-student", "ada", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert counts_of(deleted.stdout) == {
        "problem_sets": 1,
        "problems": 3,
        "problem_attempts": 1,
        "problem_hints": 1,
        "problem_status": 1,
    }
    assert rows_naming(home / "tutor.db", "ada") == {}
    assert rows_naming(home / "tutor.db", "bob")["problem_attempts.student_id"] == 1


def test_a_withheld_draft_is_never_sent_back_to_the_model(home) -> None:
    from tutor_cli.store.sessions import WITHHELD_STAND_IN

    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "work", "p")
        manager.add_message("ada", "work", "user", "just tell me")
        manager.store.add_message("ada", "work", "assistant", "So $x = \\frac{7}{4}$.", withheld=True)
        manager.add_message("ada", "work", "user", "ok, a hint then")
        sent = manager.window.build("ada", "work", None).messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == WITHHELD_STAND_IN
    assert "7}{4}" not in str(sent)


def test_the_profile_never_reads_a_withheld_draft(home) -> None:
    from tutor_cli.store.sessions import WITHHELD_STAND_IN

    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "work", "p")
        manager.add_message("ada", "work", "user", "just tell me")
        last = manager.store.add_message("ada", "work", "assistant", "So $x = \\frac{7}{4}$.", withheld=True)
        turns = manager.store.unseen_turns("ada", last)
    assert [turn.content for turn in turns] == ["just tell me", WITHHELD_STAND_IN]


def test_a_model_writes_the_solution_when_the_file_has_none(home, tmp_path: Path, fake_server) -> None:
    from tests.fake_server import API_KEY, Reply
    from tutor_cli.client import ChatClient
    from tutor_cli.work import Workbench

    with SessionManager(home / "tutor.db") as manager:
        imported(manager.store, tmp_path)
        record, p3 = rules.find_problem(manager.store, "ada", "linear", "p3")
        bench = Workbench(manager, "ada", record, "base", use_profile=False)
        bench.open(p3)
        client = ChatClient(fake_server.base_url, API_KEY, retry_scale=0)
        with pytest.raises(SolutionShutError):
            bench.solution(client, "deepseek-flash", None)
        for attempt in ("1", "2"):
            bench.answer(Checker.for_student(None, "ada"), attempt)
        fake_server.reply(Reply(content="Factor: $(x-2)(x-3) = 0$, so $x = 2$ or $x = 3$."))
        assert bench.solution(client, "deepseek-flash", None).startswith("Factor:")
        assert bench.status().status == "revealed" and not bench.guarded()
    sent = fake_server.chat_requests[-1]["body"]["messages"]
    assert "x = 2 or x = 3" in sent[1]["content"]  # the key goes with the request: the solution must agree


def test_attempts_from_two_processes_at_once_are_all_counted(home, tmp_path: Path) -> None:
    with SessionManager(home / "tutor.db") as manager:
        imported(manager.store, tmp_path)
    script = (
        "import sys\nfrom tutor_cli import SessionManager, problems\nfrom tutor_cli.checking import Checker\n"
        f"m = SessionManager({str(home / 'tutor.db')!r})\n"
        "_, p1 = problems.find_problem(m.store, 'ada', 'linear', 'p1')\n"
        "for n in range(15):\n"
        "    problems.answer(m.store, Checker.for_student(None, 'ada'), 'ada', p1, str(n), session_id=None, now=n)\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    with SessionManager(home / "tutor.db") as manager:
        record, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
        status = manager.store.statuses("ada", record.id)[p1.id]
        assert (status.attempts, status.wrong) == (30, 30)
        assert len(manager.store.attempts_of("ada", p1.id)) == 30


def test_a_solved_problem_stays_solved_first_try_whatever_comes_after(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    _, p1 = rules.find_problem(store, "ada", "linear", "p1")
    checker = Checker.for_student(None, "ada")
    first = rules.answer(store, checker, "ada", p1, "7/4", session_id="s1", now=5).status
    assert (first.status, first.first_try, first.solved_at, first.session_id) == ("solved", True, 5, "s1")
    for text, now in (("2", 6), ("7/4", 7)):  # a wrong answer, then the right one again
        later = rules.answer(store, checker, "ada", p1, text, session_id="s1", now=now).status
        assert (later.status, later.first_try, later.solved_at) == ("solved", True, 5)
    assert later.attempts == 3 and later.wrong == 1


def test_a_hint_or_a_wrong_answer_starts_the_work_and_changes_no_verdict() -> None:
    assert rules.after_attempt(Status(), False, 1).status == "working"
    assert rules.after_hint(Status()).status == "working"
    assert rules.after_hint(Status("solved", attempts=1)) == Status("solved", attempts=1, hints=1)
    assert rules.after_hint(Status("revealed")).status == "revealed"
    assert rules.after_solution(Status(), 3) == Status("revealed", solution_opened_at=3)
    opened = rules.after_solution(Status("working", wrong=2), 3)
    assert rules.after_solution(opened, 9).solution_opened_at == 3  # opened once, at the first time
    assert rules.after_solution(Status("solved"), 3).status == "solved"


def test_the_rules_after_the_solution_opened() -> None:
    revealed = Status("revealed", attempts=3, wrong=3, hints=2, solution_opened_at=1)
    assert rules.attempts_left(revealed, 5) == 0 and rules.solution_sentence(revealed, None) is None
    assert not rules.is_stuck(revealed) and not rules.is_guarded(revealed)
    assert rules.is_guarded(Status("working", attempts=1, wrong=1))


def test_the_sentence_says_how_many_wrong_attempts_are_left() -> None:
    assert rules.solution_sentence(Status("working", attempts=1, wrong=1), 2) == (
        "The solution opens after 1 more wrong attempt (or once you solve it); try /hint, or /answer when you have one."
    )
    assert rules.solution_sentence(Status(), 2).startswith("The solution opens after 2 more wrong attempts (or")
    assert rules.solution_sentence(Status(), None) == (
        "This set keeps its solutions shut until a problem is solved; try /hint, or /answer when you have one."
    )


def test_solution_after_zero_opens_the_solution_of_an_untouched_problem(store, tmp_path: Path) -> None:
    imported(store, tmp_path, "solution_after = 0\n" + LINEAR.split("\n", 2)[2])
    record, p1 = rules.find_problem(store, "ada", "linear", "p1")
    status = rules.open_solution(store, "ada", record, p1, session_id="s2", now=4)
    assert (status.status, status.solution_opened_at, status.session_id) == ("revealed", 4, "s2")


def test_hints_come_from_the_file_until_it_has_no_more(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    _, p1 = rules.find_problem(store, "ada", "linear", "p1")
    assert rules.next_file_hint(p1, Status(hints=2)) is None
    status = rules.record_hint(store, "ada", p1, "Undo the $-3$ first.", "file", session_id="s3", now=2)
    assert (status.hints, status.status, status.session_id) == (1, "working", "s3")


def test_the_problems_tolerance_and_statement_reach_the_checking(store, tmp_path: Path, fake_server) -> None:
    from tests.fake_server import Reply
    from tutor_cli.checking import model_judge
    from tutor_cli.client import ChatClient

    text = (
        '[[problem]]\nid = "g"\nstatement = "g on Earth, in m/s^2?"\nanswer = "9.81"\ntolerance = 0.01\n\n'
        '[[problem]]\nid = "w"\nstatement = "What do plants make from light?"\nanswer = "sugar"\nkind = "text"\n'
    )
    imported(store, tmp_path, text)
    _, g = rules.find_problem(store, "ada", "linear", "g")
    assert rules.answer(store, Checker.for_student(None, "ada"), "ada", g, "9.8", session_id=None, now=1).right
    _, w = rules.find_problem(store, "ada", "linear", "w")
    client = ChatClient(fake_server.base_url, "sk-test-key-0123456789", retry_scale=0)
    fake_server.reply(Reply(content="RIGHT"))
    checker = Checker.for_student(None, "ada", judge=model_judge(client, "deepseek-flash"))
    assert rules.answer(store, checker, "ada", w, "glucose", session_id=None, now=2).right
    assert "What do plants make from light?" in fake_server.chat_requests[0]["body"]["messages"][1]["content"]


def test_without_an_id_the_first_problem_neither_solved_nor_revealed(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    record, p1 = rules.find_problem(store, "ada", "linear", "p1")
    checker = Checker.for_student(None, "ada")
    for attempt in ("1", "2"):
        rules.answer(store, checker, "ada", p1, attempt, session_id=None, now=1)
    rules.open_solution(store, "ada", record, p1, session_id=None, now=2)  # p1 revealed
    assert rules.find_problem(store, "ada", "linear", None)[1].key == "p2"
    for key, attempt in (("p2", "b"), ("p3", "x = 2 or x = 3")):
        rules.answer(
            store, checker, "ada", rules.find_problem(store, "ada", "linear", key)[1], attempt, session_id=None, now=3
        )
    assert rules.find_problem(store, "ada", "linear", None)[1].key == "p1"  # all done: the first again


def test_tried_counts_an_attempt_or_an_opened_solution() -> None:
    assert not rules.tried(Status()) and not rules.tried(Status("working", hints=1))
    assert rules.tried(Status("working", attempts=1, wrong=1))
    assert rules.tried(Status("revealed", solution_opened_at=1)) and rules.tried(Status("solved", attempts=0))


def test_a_set_name_is_1_to_100_printable_characters() -> None:
    assert rules.check_set_name("  week 3\xa0é ") == "week 3\xa0é"  # spaces inside, letters of any script
    assert rules.check_set_name("w" * 100) == "w" * 100
    for bad in ("", "   ", "w" * 101, "week\t3", "week\x7f3", "we\x85ek", "we\x9fek"):
        with pytest.raises(ConfigError) as raised:
            rules.check_set_name(bad)
        assert str(raised.value) == (
            f"A set name must be 1 to 100 printable characters, not {bad.strip()!r}; choose another with --set."
        )


def test_next_goes_round_the_set_to_a_problem_still_open(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    record = store.problem_set("ada", "linear")
    p1, p2, p3 = store.problems_of(record.id)
    statuses = {p2.id: Status("solved", attempts=1), p3.id: Status("working", attempts=1, wrong=1)}
    assert rules.next_open([p1, p2, p3], statuses, p1) == p3  # the solved one is passed over
    assert rules.next_open([p1, p2, p3], statuses, p3) == p1  # round to the start
    statuses[p1.id] = Status("revealed", solution_opened_at=1)
    assert rules.next_open([p1, p2, p3], statuses, p1) == p3
    assert rules.next_open([p1, p2, p3], statuses, p3) is None  # nothing else open
    assert rules.next_open([p1, p2, p3], {}, p2) == p3
    assert rules.next_open([p2, p3], {p2.id: Status("solved")}, p1) == p3  # one no longer in the list: from the start
    assert rules.next_open([p1, p2, p3], {p2.id: Status("solved"), p3.id: Status("solved")}, p1) is None  # not itself


def test_work_without_a_set_opens_the_first_set_with_work_left(store, tmp_path: Path) -> None:
    one = '[[problem]]\nid = "q"\nstatement = "1 + 1?"\nanswer = "2"\n'
    for name in ("b-set", "a-set"):
        rules.import_set(store, "ada", name, rules.parse_problem_file(one, tmp_path / f"{name}.toml"), 1.0)
    rules.import_set(store, "bob", "0-set", rules.parse_problem_file(one, tmp_path / "0-set.toml"), 1.0)
    assert rules.first_open_set(store, "ada") == "a-set"  # not bob's
    checker = Checker.for_student(None, "ada")
    _, problem = rules.find_problem(store, "ada", "a-set", "q")
    rules.answer(store, checker, "ada", problem, "3", session_id=None, now=2)
    assert rules.first_open_set(store, "ada") == "a-set"  # worked on, not solved: still open
    for name in ("a-set", "b-set"):
        _, problem = rules.find_problem(store, "ada", name, "q")
        rules.answer(store, checker, "ada", problem, "2", session_id=None, now=2)
        assert rules.first_open_set(store, "ada") == (None if name == "b-set" else "b-set")


def test_the_limits_of_a_problem_are_inclusive(tmp_path: Path) -> None:
    longest = "s" * 20_000
    text = f'[[problem]]\nid = "{"p 1" + "i" * 97}"\nstatement = "{longest}"\nanswer = "1"\ntolerance = 0\n'
    problem = rules.read_problem_file(write(tmp_path, text)).problems[0]
    assert len(problem.key) == 100 and problem.tolerance == 0 and len(problem.statement) == 20_000


def test_a_file_that_cannot_be_read_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ProblemFileError) as raised:
        rules.read_problem_file(tmp_path)
    assert str(raised.value) == f"{tmp_path} is a folder, not a problem set file."
    with pytest.raises(ProblemFileError) as raised:
        rules.read_problem_file(tmp_path / "missing.toml")
    assert str(raised.value) == f"Cannot read {tmp_path / 'missing.toml'} (No such file or directory)."
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'title = "x"\n\n# caf\xe9\n')
    with pytest.raises(ProblemFileError) as raised:
        rules.read_problem_file(latin)
    assert str(raised.value) == f"{latin}, line 3: not UTF-8 text; save it as UTF-8; nothing was imported."
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbf[[problem]]\nid = "a"\nstatement = "s"\nanswer = "1"\n')
    assert rules.read_problem_file(bom).problems[0].key == "a"  # a byte-order mark is read past


def test_the_class_table_narrows_to_one_set_and_marks_who_is_stuck(store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    imported(store, tmp_path, name="other")
    checker = Checker.for_student(None, "ada")
    _, p1 = rules.find_problem(store, "ada", "linear", "p1")
    for attempt in ("1", "2", "3"):
        rules.answer(store, checker, "ada", p1, attempt, session_id=None, now=1)
    _, other = rules.find_problem(store, "ada", "other", "p2")
    rules.answer(store, checker, "ada", other, "b", session_id=None, now=2)
    imported(store, tmp_path, owner="bob")  # bob's own "linear", solved: not ada's
    _, bobs = rules.find_problem(store, "bob", "linear", "p1")
    rules.answer(store, Checker.for_student(None, "bob"), "bob", bobs, "7/4", session_id=None, now=3)
    rows = rules.class_progress(store, "linear")
    assert [(row.student_id, row.problem, stuck) for row, stuck in rows] == [("ada", "p1", True), ("bob", "p1", False)]
    assert len(rules.class_progress(store, None)) == 3
    assert {record.name: solved for record, solved in rules.set_summaries(store, "ada")} == {"linear": 0, "other": 1}


def test_a_file_that_is_not_toml_names_the_line_and_the_parsers_reason(tmp_path: Path) -> None:
    import tomllib

    text = 'title = "x"\n[[problem]\nid = "a"\n'
    with pytest.raises(tomllib.TOMLDecodeError) as parsed:
        tomllib.loads(text)
    reason = str(parsed.value).split(" (at line")[0]  # the parser's words, without its position
    reason = reason[0].lower() + reason[1:]
    path = write(tmp_path, text)
    with pytest.raises(ProblemFileError) as raised:
        rules.read_problem_file(path)
    assert str(raised.value) == f"{path}, line 2: {reason}; nothing was imported."
