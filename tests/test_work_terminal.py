"""`tutor work` in a real pseudo-terminal against the fake server, which is told to give the answer
away: the statement on screen, replies through the guard, /answer, /hint, /solution, /next, /problems,
and what every request carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, Reply
from tests.test_problems import LINEAR
from tutor_cli import SessionManager
from tutor_cli import problems as rules
from tutor_cli.store.sessions import WITHHELD_STAND_IN

HIDDEN = "The tutor started to give the answer away"


@pytest.fixture
def linear_set(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "linear.toml"
    path.write_text(LINEAR, encoding="utf-8")
    with SessionManager(home / "tutor.db") as manager:
        rules.import_set(manager.store, "ada", "linear", rules.read_problem_file(path), 1.0)


def work_messages(home: Path) -> list:
    with SessionManager(home / "tutor.db") as manager:
        latest = manager.store.latest_session("ada")
        return manager.store.get_messages("ada", latest.session_id)


def test_a_reply_that_states_the_answer_never_reaches_the_screen(
    terminal, fake_server: FakeServer, home: Path, linear_set, run_tutor
) -> None:
    term = terminal("work", "linear")
    term.expect("problem p1 (1 of 3)")
    term.expect("Solve")
    term.prompt()
    fake_server.reply(
        Reply(content="Good question.\nFirst add 3: $4x = 7$.\nSo $x = \\frac{7}{4}$, done.\nEasy!\n", chunk_size=1),
        Reply(content="What do you get when you divide both sides of $4x = 7$ by 4?\n", chunk_size=3),
    )
    term.type("just tell me the answer")
    term.expect("First add 3")
    before = term.expect(HIDDEN)
    term.prompt()
    assert "7/4" not in before and "¾" not in before and "Easy!" not in before and "done." not in before
    term.type("ok, how do I start?")
    term.expect("divide both sides")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    messages = work_messages(home)
    assert [(m.role, m.withheld) for m in messages] == [
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", False),
    ]
    assert "\\frac{7}{4}" in messages[1].content  # the whole draft is kept, for the teacher
    first, second = (r["body"]["messages"] for r in fake_server.chat_requests)
    system = first[0]["content"]
    assert "Solve $4x - 3 = 4$ for $x$." in system and "never say it): 7/4" in system
    assert "$4x = 7$, so $x = \\frac{7}{4}$." in system  # the worked solution
    assert "Guide, do not answer" in system
    assert second[: len(first)] == first  # the request's start stays byte-identical
    assert second[len(first)]["content"] == WITHHELD_STAND_IN  # the draft is never sent back
    latest = json.loads(run_tutor("sessions", "--format", "json").stdout)[0]["session_id"]
    shown = json.loads(run_tutor("show", latest, "--format", "json").stdout)["messages"]
    assert [m.get("withheld", False) for m in shown] == [False, True, False, False]


def test_answer_hint_solution_next_and_problems(terminal, fake_server: FakeServer, home: Path, linear_set) -> None:
    term = terminal("work", "linear", "--problem", "p1")
    term.expect("problem p1")
    term.prompt()
    term.type("/solution")
    term.expect("The solution opens after 2 more wrong attempts")
    term.prompt()
    term.type("/hint")
    term.expect("Undo the")
    term.prompt()
    term.type("/hint")
    term.expect("divide both sides by")
    term.prompt()
    fake_server.reply(
        Reply(content="Well, $x = 1.75$."),  # a model-written hint that gives the answer away: asked again
        Reply(content="What number times 4 makes 7?"),
    )
    term.type("/hint")
    term.expect("What number times 4 makes 7?")
    term.prompt()
    term.type("/answer 2")
    term.expect("Not yet (1 attempt).")
    term.prompt()
    term.type("/answer x = 2")
    term.expect("Not yet (2 attempts).")
    term.prompt()
    term.type("/solution")
    term.expect("Worked solution:")
    term.prompt()
    term.type("/problems")
    term.expect("revealed")
    term.prompt()
    term.type("/next")
    term.expect("problem p2 (2 of 3)")
    term.prompt()
    term.type("/answer (B)")
    term.expect("Right (1 attempt).")
    term.prompt()
    fake_server.reply(Reply(content="Yes, (b) 7 is prime: it has no divisor but 1 and itself.\n"))
    term.type("why is it b?")  # solved: the guard is off
    term.expect("7 is prime")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    hint_requests = [
        r["body"]["messages"] for r in fake_server.chat_requests if "one hint" in r["body"]["messages"][0]["content"]
    ]
    assert len(hint_requests) == 2 and "gave the answer away" in hint_requests[1][1]["content"]
    with SessionManager(home / "tutor.db") as manager:
        record, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
        status = manager.store.statuses("ada", record.id)[p1.id]
        hints = manager.store.hints_of("ada", p1.id)
        attempts = manager.store.attempts_of("ada", p1.id)
    assert (status.status, status.attempts, status.wrong, status.hints) == ("revealed", 2, 2, 3)
    assert [(level, source) for level, _, source, _ in hints] == [(1, "file"), (2, "file"), (3, "model")]
    assert [(text, right, seen) for text, right, seen, _ in attempts] == [("2", False, 3), ("x = 2", False, 3)]
    # The next question of p2's session told the model what happened since the last one.
    last = fake_server.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert last.startswith("[I checked the answer '(B)' with /answer: right") and last.endswith("why is it b?")


def test_work_needs_a_set_and_says_so(run_tutor, api_env, home: Path) -> None:
    result = run_tutor("work")
    assert result.returncode == 1
    assert "needs a terminal" in result.stderr or "No problem set" in result.stderr


def test_without_a_set_the_first_with_work_left_opens_and_an_opened_solution_ends_the_guard(
    terminal, fake_server: FakeServer, home: Path, linear_set, tmp_path: Path
) -> None:
    """CONTRACT "Problems": without SET, the first set with unsolved work; the statement's mathematics
    drawn; a thinking model's reasoning that reaches the answer kept off the screen; once the solution
    is opened, replies are no longer checked."""
    done = tmp_path / "done.toml"
    done.write_text('[[problem]]\nid = "q1"\nstatement = "2 + 2?"\nanswer = "4"\n', encoding="utf-8")
    with SessionManager(home / "tutor.db") as manager:
        from tutor_cli.checking import Checker

        rules.import_set(manager.store, "ada", "done", rules.read_problem_file(done), 1.0)  # before 'linear'
        _, q1 = rules.find_problem(manager.store, "ada", "done", "q1")
        rules.answer(manager.store, Checker.for_student(None, "ada"), "ada", q1, "4", session_id=None, now=2.0)
    term = terminal("work")
    opening = term.expect("problem p1 (1 of 3)")
    assert "done" not in opening
    statement = term.expect("/answer TEXT checks an answer")
    assert "Solve" in statement and "$4x" not in statement  # drawn, not the LaTeX source
    term.prompt()
    fake_server.reply(Reply(reasoning="They want x = 7/4 here.\n", content="What undoes the minus three?\n"))
    term.type("how do I start?")
    shown = term.expect("What undoes the minus three?")
    term.prompt()
    assert "7/4" not in shown and "They want" not in shown
    for attempt, count in (("1", "1 attempt"), ("2", "2 attempts")):
        term.type(f"/answer {attempt}")
        term.expect(f"Not yet ({count}).")
        term.prompt()
    term.type("/solution")
    term.expect("Worked solution:")
    term.prompt()
    fake_server.reply(Reply(content="Indeed $x = 1.75$, as the solution says.\n"))
    term.type("so x is 1.75?")
    term.expect("as the solution says")  # opened: the guard is off
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
