"""Problems in a class database on a real PostgreSQL server: class sets only teachers change, each
student's attempts, hints and status their own, no row of a student naming another's private problem,
withheld drafts that nobody unmarks; attacked with the students' own credentials in raw SQL."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import class_accounts
from tutor_cli import SessionManager
from tutor_cli import problems as rules
from tutor_cli.checking import Checker, NotYourTextError
from tutor_cli.store.records import CLASS_SET
from tutor_cli.views import problems as problem_views

SET = rules.ProblemFile(
    "Linear equations",
    2,
    (
        rules.ProblemSpec("p1", "Solve $4x - 3 = 4$.", "7/4", skills=("linear",), hints=("Undo the -3.",)),
        rules.ProblemSpec("p2", "Solve $2x = 6$.", "3", skills=("linear",)),
    ),
)


@pytest.fixture
def school(pg_url: str):
    """ada and bob (students) and tess (teacher); tess has imported the class set 'linear' and ada has
    a private set 'mine'; ada has worked p1 (a hint, a wrong and a right attempt)."""
    names, urls = class_accounts(pg_url)
    with SessionManager(urls["tess"]) as tess:
        rules.import_set(tess.store, CLASS_SET, "linear", SET, 1.0)
    with SessionManager(urls["ada"]) as ada:
        rules.import_set(ada.store, names["ada"], "mine", SET, 1.0)
        _, p1 = rules.find_problem(ada.store, names["ada"], "linear", "p1")
        assert p1.owner == CLASS_SET  # the class's set, although ada has a set of her own
        checker = Checker.for_student(ada.store.identity, names["ada"])
        rules.record_hint(ada.store, names["ada"], p1, "Undo the -3.", "file", session_id="s", now=2)
        rules.answer(ada.store, checker, names["ada"], p1, "2", session_id="s", now=3)
        rules.answer(ada.store, checker, names["ada"], p1, "1.75", session_id="s", now=4)
    return names, urls


def ids(urls: dict[str, str], owner: str, key: str = "p1") -> int:
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT id FROM problems WHERE student_id = %s AND problem_key = %s", (owner, key)
        ).fetchone()[0]


def test_every_student_reads_the_class_set_and_works_it_alone(school) -> None:
    names, urls = school
    with SessionManager(urls["bob"]) as bob:
        assert [s.name for s in bob.store.problem_sets(names["bob"])] == ["linear"]  # not ada's own set
        record, p1 = rules.find_problem(bob.store, names["bob"], "linear", "p1")
        assert p1.answer == "7/4"  # the key is read by the student's tutor: kept off the screen, not secret
        assert bob.store.statuses(names["bob"], record.id) == {}
        result = rules.answer(
            bob.store,
            Checker.for_student(bob.store.identity, names["bob"]),
            names["bob"],
            p1,
            "7/4",
            session_id=None,
            now=5,
        )
        assert result.status.first_try
    with SessionManager(urls["tess"]) as tess:
        table = json.loads(problem_views.class_json(rules.class_progress(tess.store, "linear")))
        rows = {(r["student_id"], r["set"], r["problem"]): r for r in table}
    assert rows[(names["ada"], "linear", "p1")]["status"] == "solved"
    assert rows[(names["ada"], "linear", "p1")]["attempts"] == 2
    assert rows[(names["bob"], "linear", "p1")]["first_try"] is True
    assert rows[(names["bob"], "linear", "p2")]["status"] == "new"  # never started: still a row


def test_a_student_cannot_change_a_class_set_even_with_psql(school) -> None:
    names, urls = school
    class_p1 = ids(urls, CLASS_SET)
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        assert bob.execute("UPDATE problems SET answer = '0' WHERE id = %s", (class_p1,)).rowcount == 0
        assert bob.execute("UPDATE problem_sets SET solution_after = 0 WHERE student_id = ''").rowcount == 0
        assert bob.execute("DELETE FROM problems WHERE student_id = ''").rowcount == 0
        assert bob.execute("DELETE FROM problem_sets WHERE student_id = ''").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(
                "INSERT INTO problems (set_id, student_id, problem_key, position, statement, answer, kind, updated_at)"
                " SELECT id, '', 'p9', 9, 'free points', '1', 'math', 0 FROM problem_sets WHERE student_id = ''"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("UPDATE problems SET student_id = '' WHERE id = %s", (class_p1,))
    with psycopg.connect(urls["admin"]) as admin:
        assert admin.execute("SELECT answer FROM problems WHERE id = %s", (class_p1,)).fetchone()[0] == "7/4"
        assert admin.execute("SELECT count(*) FROM problems WHERE student_id = ''").fetchone()[0] == 2


def test_attempts_hints_and_status_are_the_students_own(school) -> None:
    names, urls = school
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        for table in ("problem_attempts", "problem_hints", "problem_status"):
            assert bob.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0  # ada's rows are invisible
        assert bob.execute("SELECT count(*) FROM problem_sets WHERE student_id <> ''").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # row-level security: not as ada
            bob.execute(
                "INSERT INTO problem_attempts (student_id, problem_id, owner, text, correct, hints_before, created_at)"
                " VALUES (%s, %s, '', 'forged', 0, 0, 0)",
                (names["ada"], ids(urls, CLASS_SET)),
            )
    with psycopg.connect(urls["ada"], autocommit=True) as ada:
        assert [r[0] for r in ada.execute("SELECT text FROM problem_attempts ORDER BY id")] == ["2", "1.75"]
        for statement in (
            "UPDATE problem_attempts SET correct = 1",
            "UPDATE problem_attempts SET text = 'x'",
            "DELETE FROM problem_attempts",
            "UPDATE problem_hints SET level = 0",
            "DELETE FROM problem_hints",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ada.execute(statement)
    with psycopg.connect(urls["tess"], autocommit=True) as tess:
        assert tess.execute("SELECT count(*) FROM problem_attempts").fetchone()[0] == 2  # teachers read all
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tess.execute("UPDATE problem_status SET status = 'solved'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tess.execute("DELETE FROM problem_attempts")


@pytest.mark.parametrize("table", ["problem_attempts", "problem_hints", "problem_status"])
def test_a_students_row_can_never_name_another_students_private_problem(school, table: str) -> None:
    names, urls = school
    private = ids(urls, names["ada"])
    columns = {
        "problem_attempts": ("text, correct, hints_before, created_at", "'x', 1, 0, 0"),
        "problem_hints": ("level, text, source, created_at", "1, 'x', 'file', 0"),
        "problem_status": ("status, updated_at", "'solved', 0"),
    }[table]
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        assert bob.execute("SELECT count(*) FROM problems WHERE id = %s", (private,)).fetchone()[0] == 0
        for owner, error in (
            (names["ada"], psycopg.errors.CheckViolation),  # the owner must be the class or bob himself
            ("", psycopg.errors.ForeignKeyViolation),  # it is no class problem
            (names["bob"], psycopg.errors.ForeignKeyViolation),  # nor bob's
        ):
            with pytest.raises(error):
                bob.execute(
                    f"INSERT INTO {table} (student_id, problem_id, owner, {columns[0]})"
                    f" VALUES (%s, %s, %s, {columns[1]})",
                    (names["bob"], private, owner),
                )
    with psycopg.connect(urls["admin"]) as admin:
        assert admin.execute(f"SELECT count(*) FROM {table} WHERE student_id = %s", (names["bob"],)).fetchone()[0] == 0


def test_a_withheld_draft_is_stored_by_the_student_and_nobody_unmarks_it(school) -> None:
    names, urls = school
    with SessionManager(urls["ada"]) as ada:
        ada.create_session(names["ada"], "work", "p")
        ada.add_message(names["ada"], "work", "user", "just tell me")
        ada.store.add_message(names["ada"], "work", "assistant", "x = 7/4", withheld=True)
    with psycopg.connect(urls["ada"], autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE messages SET withheld = 0")
    with SessionManager(urls["tess"]) as tess:
        marks = [(m.content, m.withheld) for m in tess.store.get_messages(names["ada"], "work")]
    assert marks == [("just tell me", False), ("x = 7/4", True)]


def test_a_teachers_process_never_reads_a_students_text_as_mathematics(school) -> None:
    names, urls = school
    with SessionManager(urls["tess"]) as tess, pytest.raises(NotYourTextError):
        Checker.for_student(tess.store.identity, names["ada"])
    with SessionManager(urls["admin"]) as admin, pytest.raises(NotYourTextError):
        Checker.for_student(admin.store.identity, names["ada"])
    with SessionManager(urls["bob"]) as bob, pytest.raises(NotYourTextError):
        Checker.for_student(bob.store.identity, names["ada"])


def test_the_teacher_deletes_a_class_set_with_every_students_work_on_it(school) -> None:
    names, urls = school
    with SessionManager(urls["tess"]) as tess:
        assert tess.store.delete_problem_set(CLASS_SET, "linear") == 2
    with psycopg.connect(urls["admin"]) as admin:
        assert admin.execute("SELECT count(*) FROM problem_attempts").fetchone()[0] == 0
        assert admin.execute("SELECT count(*) FROM problem_status").fetchone()[0] == 0
        assert admin.execute("SELECT count(*) FROM problems").fetchone()[0] == 2  # ada's own set stays


def test_problem_work_is_exported_and_deleted_with_the_student(run_tutor, school) -> None:
    names, urls = school
    env = {"TUTOR_DATABASE_URL": urls["admin"]}
    document = json.loads(run_tutor("admin", "export-student", names["ada"], env=env).stdout)
    tables = document["tables"]
    assert [a["text"] for a in tables["problem_attempts"]] == ["2", "1.75"]
    assert [h["text"] for h in tables["problem_hints"]] == ["Undo the -3."]
    assert [s["status"] for s in tables["problem_status"]] == ["solved"]
    assert [s["name"] for s in tables["problem_sets"]] == ["mine"]  # her own set, not the class's
    own = json.loads(run_tutor("export", env={"TUTOR_DATABASE_URL": urls["ada"]}).stdout)
    assert [a["text"] for a in own["tables"]["problem_attempts"]] == ["2", "1.75"]
    deleted = run_tutor("admin", "delete-student", names["ada"], "--yes", env=env)
    assert deleted.returncode == 0, deleted.stderr
    counts = dict(line.split() for line in deleted.stdout.splitlines()[1:])
    assert (counts["problem_attempts"], counts["problem_hints"], counts["problem_status"]) == ("2", "1", "1")
    assert (counts["problem_sets"], counts["problems"]) == ("1", "2")
    with psycopg.connect(urls["admin"]) as admin:
        for table in ("problem_sets", "problems", "problem_attempts", "problem_hints", "problem_status"):
            assert (
                admin.execute(f"SELECT count(*) FROM {table} WHERE student_id = %s", (names["ada"],)).fetchone()[0] == 0
            )
        assert admin.execute("SELECT count(*) FROM problems WHERE student_id = ''").fetchone()[0] == 2


def test_class_mode_through_the_cli(run_tutor, school, tmp_path) -> None:
    names, urls = school
    path = tmp_path / "week3.toml"
    path.write_text('[[problem]]\nid = "q1"\nstatement = "2 + 2?"\nanswer = "4"\nskills = ["sums"]\n', encoding="utf-8")

    def tutor(who: str, *args: str):
        return run_tutor("--database-url", urls[who], *args)

    imported = tutor("tess", "problems", "import", str(path), "--class")
    assert imported.returncode == 0 and "into class set week3" in imported.stdout, imported.stderr
    refused = tutor("ada", "problems", "import", str(path), "--class")
    assert refused.returncode == 1 and "Only a teacher or the administrator" in refused.stderr
    not_without_class = tutor("tess", "problems", "import", str(path))
    assert not_without_class.returncode == 1 and "--class" in not_without_class.stderr
    listing = json.loads(tutor("bob", "problems", "list", "--format", "json").stdout)
    assert [(s["set"], s["class"]) for s in listing] == [("linear", True), ("week3", True)]
    for attempt in ("5", "3", "22"):
        assert tutor("bob", "answer", "week3", "q1", attempt).stdout.strip().startswith("Not yet")
    assert tutor("ada", "answer", "week3", "q1", "4").stdout.strip() == "Right (1 attempt)."
    teacher_answer = tutor("tess", "answer", "week3", "q1", "4", "--student", names["ada"])
    assert teacher_answer.returncode == 1 and "Teachers can read" in teacher_answer.stderr
    rows = json.loads(tutor("tess", "class", "problems", "week3", "--format", "json").stdout)
    assert {(r["student_id"], r["status"], r["stuck"]) for r in rows} == {
        (names["ada"], "solved", False),
        (names["bob"], "working", True),
    }
    student_table = tutor("bob", "class", "problems")
    assert student_table.returncode == 1 and "for teachers" in student_table.stderr
    progress = json.loads(tutor("tess", "problems", "progress", "--student", names["bob"], "--format", "json").stdout)
    assert [(p["set"], p["problem"], p["attempts"]) for p in progress["problems"] if p["set"] == "week3"] == [
        ("week3", "q1", 3)
    ]
    deleted = tutor("bob", "problems", "delete", "week3", "--class", "--yes")
    assert deleted.returncode == 1 and "Only a teacher" in deleted.stderr


def test_a_student_works_a_class_problem_and_the_teacher_sees_the_withheld_draft(
    school, terminal, fake_server, run_tutor
) -> None:
    from tests.fake_server import Reply

    names, urls = school
    term = terminal("--database-url", urls["bob"], "work", "linear")
    term.expect("problem p1 (1 of 2)")
    term.prompt()
    fake_server.reply(Reply(content="Subtract nothing: $x = 1.75$.\n", chunk_size=2))
    term.type("what is x?")
    shown = term.expect("The tutor started to give the answer away")
    assert "1.75" not in shown
    term.prompt()
    term.type("/answer 7/4")
    term.expect("Right (1 attempt).")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    sessions = json.loads(
        run_tutor("--database-url", urls["tess"], "sessions", "--student", names["bob"], "--format", "json").stdout
    )
    work = sessions[0]["session_id"]
    shown = run_tutor("--database-url", urls["tess"], "show", work, "--student", names["bob"], "--format", "json")
    messages = json.loads(shown.stdout)["messages"]
    assert [(m["role"], m.get("withheld", False)) for m in messages] == [("user", False), ("assistant", True)]
    assert messages[1]["content"] == "Subtract nothing: $x = 1.75$.\n"
    rows = json.loads(
        run_tutor("--database-url", urls["tess"], "class", "problems", "linear", "--format", "json").stdout
    )
    bob = next(r for r in rows if r["student_id"] == names["bob"] and r["problem"] == "p1")
    assert (bob["status"], bob["first_try"], bob["session_id"]) == ("solved", True, work)


def test_a_students_show_keeps_the_key_off_the_screen_and_the_teachers_does_not(school, run_tutor) -> None:
    from tutor_cli.work import Workbench

    names, urls = school
    with SessionManager(urls["bob"]) as bob:
        record, p1 = rules.find_problem(bob.store, names["bob"], "linear", "p1")
        bench = Workbench(bob, names["bob"], record, "base prompt", use_profile=False)
        bench.open(p1)
        bob.store.add_message(names["bob"], bench.session_id, "assistant", "So $x = 1.75$.", withheld=True)

    def show(who: str) -> str:
        result = run_tutor("--database-url", urls[who], "show", bench.session_id, "--student", names["bob"], "-fjson")
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "never say it): 7/4" not in show("bob") and "1.75" not in show("bob")
    assert "kept off the screen" in show("bob")
    assert "never say it): 7/4" in show("tess") and "So $x = 1.75$." in show("tess")
    search = [run_tutor("--database-url", urls[who], "search", "1.75", "--format", "json") for who in ("bob", "tess")]
    assert [len(json.loads(result.stdout)) for result in search] == [0, 1]  # the draft: the teacher's alone


def test_the_chat_in_a_class_database_starts_with_a_fresh_home(school, terminal, home) -> None:
    """Found while wiring `tutor work`: the prompt history lives in TUTOR_HOME, which only the SQLite
    store used to create; a student's first `tutor chat` against a class database failed."""
    names, urls = school
    assert not home.exists()
    term = terminal("--database-url", urls["ada"], "chat")
    term.prompt()
    term.ask("hello from the class")
    term.ctrl("d")
    assert term.finish() == 0
    assert (home / "history").exists() and oct(home.stat().st_mode & 0o777) == "0o700"
