"""Working a problem without a terminal (CONTRACT, "Problems"; tutor_cli/work.py): the prompt every
request of a work session carries, the answer guard between the stream and the view, hints in order
(the file's, then the model's, each checked by the guard), the solution by its rule, what happened
since the last question going with the next one, and what a student's `show` prints of a work session.
The REPL around these is tested through a terminal in tests/test_work_terminal.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.fake_server import API_KEY, FakeServer, Reply
from tests.test_problems import LINEAR, imported
from tutor_cli import SessionManager
from tutor_cli import problems as rules
from tutor_cli.checking import Checker
from tutor_cli.errors import APIError
from tutor_cli.store.records import ProblemRecord, Status
from tutor_cli.work import (
    DRAFT_OFF_SCREEN,
    HINT_PROMPT,
    REASONING_OFF_SCREEN,
    SOLUTION_PROMPT,
    GuardedSink,
    OpenProblemError,
    Workbench,
    as_the_student_sees_it,
    model_hint,
    model_solution,
    problem_prompt,
    require_no_open_problem,
    short,
    states_answer,
    withheld_line,
)
from tutor_cli.work_prompt import KEPT_OFF_SCREEN, WORK_INSTRUCTIONS

MODEL = "deepseek-flash"

TEXT_SET = """\
solution_after = "never"

[[problem]]
id = "t1"
statement = "What do plants do with light?"
answer = "photosynthesis"
kind = "text"
"""


@pytest.fixture
def manager(home: Path):
    with SessionManager(home / "tutor.db") as manager:
        yield manager


@pytest.fixture
def client(fake_server: FakeServer):
    from tutor_cli.client import ChatClient

    return ChatClient(fake_server.base_url, API_KEY, retry_scale=0)


def bench_on(manager, tmp_path: Path, problem: str = "p1", text: str = LINEAR, name: str = "linear") -> Workbench:
    imported(manager.store, tmp_path, text, name=name)
    record, found = rules.find_problem(manager.store, "ada", name, problem)
    bench = Workbench(manager, "ada", record, "You are a patient tutor.\n", use_profile=False)
    bench.open(found)
    return bench


class Recorder:
    """A view (any AnswerSink) that records what reaches it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def start(self) -> None:
        self.calls.append(("start", None))

    def content(self, text: str) -> None:
        self.calls.append(("content", text))

    def reasoning(self, text: str) -> None:
        self.calls.append(("reasoning", text))

    def finish(self, note: str | None = None) -> None:
        self.calls.append(("finish", note))

    def shown(self, kind: str) -> str:
        return "".join(text or "" for k, text in self.calls if k == kind)


# --- the prompt of a work session ------------------------------------------------------------------


def test_the_prompt_carries_the_problem_its_key_solution_and_hints(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    prompt = problem_prompt("You are a patient tutor.\n", bench.record, bench.problem)
    assert prompt == (
        "You are a patient tutor.\n\n---\n"
        f"{WORK_INSTRUCTIONS}\n\n"
        "Problem set: Linear equations. Problem p1:\n"
        "Solve $4x - 3 = 4$ for $x$.\n\n"
        "The teacher's key (a mathematical value; never say it): 7/4\n\n"
        "The teacher's worked solution (never show it; use it to guide):\n"
        "$4x = 7$, so $x = \\frac{7}{4}$.\n\n"
        "The app's own hints, given in order on /hint:\n"
        "- Undo the $-3$ first.\n"
        "- Now divide both sides by $4$.\n"
    )
    # Every request of the session starts with it, byte for byte (the prefix cache keeps hitting).
    session = manager.store.get_session("ada", bench.session_id)
    assert session.system_prompt == prompt


def test_each_kind_of_key_is_named_and_a_set_without_title_by_its_name(manager, tmp_path: Path) -> None:
    p2 = bench_on(manager, tmp_path, "p2")
    assert problem_prompt("Base", p2.record, p2.problem).endswith(
        "Problem set: Linear equations. Problem p2:\nWhich is prime? (a) 4 (b) 7 (c) 9\n\n"
        "The teacher's key (one letter; never say it): b\n"  # no solution, no hints: nothing after the key
    )
    t1 = bench_on(manager, tmp_path, "t1", TEXT_SET, name="plants")
    assert problem_prompt("Base", t1.record, t1.problem).endswith(
        "Problem set: plants. Problem t1:\nWhat do plants do with light?\n\n"
        "The teacher's key (a short text; never say it): photosynthesis\n"
    )


def test_opening_a_problem_starts_a_session_the_status_row_names(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path, "p3")
    first = bench.session_id
    assert bench.status().session_id == first and bench.status().status == "new"
    assert bench.position() == 3 and bench.guarded()
    again = bench.open(bench.problems[0])
    assert again == bench.session_id != first and bench.position() == 1
    assert bench.statuses()[bench.problems[0].id].session_id == again
    assert bench.statuses()[bench.problems[2].id].session_id == first  # each problem keeps its own


def test_a_problem_not_yet_opened_is_new_and_guarded(manager, tmp_path: Path) -> None:
    imported(manager.store, tmp_path)
    record, _ = rules.find_problem(manager.store, "ada", "linear", None)
    bench = Workbench(manager, "ada", record, "Base", use_profile=False)
    assert bench.problem.key == "p1" and bench.session_id == ""
    assert bench.status() == Status() and bench.guarded() and bench.position() == 1


def test_a_work_session_carries_the_students_profile_when_profiles_are_on(manager, tmp_path: Path) -> None:
    imported(manager.store, tmp_path)
    manager.store.save_profile("ada", "Prefers worked examples.")
    record, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
    for use_profile, snapshot in ((True, "Prefers worked examples."), (False, None)):
        bench = Workbench(manager, "ada", record, "Base", use_profile=use_profile)
        session_id = bench.open(p1)
        assert manager.store.get_session("ada", session_id).profile_snapshot == snapshot


def test_next_goes_round_the_set_to_a_problem_still_open(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path, "p2")
    assert bench.next_problem().key == "p3"
    bench.answer(Checker.for_student(None, "ada"), "a")  # p2 being worked on
    bench.open(bench.problems[2])
    bench.answer(Checker.for_student(None, "ada"), "x = 2 or x = 3")
    assert bench.next_problem().key == "p1"  # round the set from p3
    bench.open(bench.problems[0])
    assert bench.answer(Checker.for_student(None, "ada"), "7/4").right
    assert bench.next_problem().key == "p2"  # past p3, solved
    bench.open(bench.problems[1])
    assert bench.answer(Checker.for_student(None, "ada"), "b").right
    assert bench.next_problem() is None  # all solved


def test_attempts_and_hints_name_the_session_of_their_visit(manager, tmp_path: Path, home: Path) -> None:
    import sqlite3

    bench = bench_on(manager, tmp_path)
    first = bench.session_id
    bench.answer(Checker.for_student(None, "ada"), "2")
    second = bench.open(bench.problem)
    bench.hint(None, MODEL, None)
    with sqlite3.connect(home / "tutor.db") as db:
        attempts = db.execute("SELECT session_id FROM problem_attempts").fetchall()
        hints = db.execute("SELECT session_id FROM problem_hints").fetchall()
    assert attempts == [(first,)] and hints == [(second,)]


# --- what goes with the next question -----------------------------------------------------------


def test_what_happened_since_the_last_question_goes_with_the_next_one_once(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    assert bench.question("Where do I start?") == "Where do I start?"
    checker = Checker.for_student(None, "ada")
    assert not bench.answer(checker, "2").right
    assert bench.hint(None, MODEL, None) == ("Undo the $-3$ first.", "file")
    assert bench.question("And now?") == (
        "[I checked the answer '2' with /answer: not yet right (attempt 1).]\n"
        "[I asked for a hint with /hint and was shown: Undo the $-3$ first.]\n\nAnd now?"
    )
    assert bench.question("Next?") == "Next?"
    assert bench.answer(checker, "7/4").right
    assert (
        bench.question("Done?")
        == "[I checked the answer '7/4' with /answer: right: the problem is solved (attempt 2).]\n\nDone?"
    )
    bench.open(bench.problems[1])
    assert not bench.answer(checker, "a").right
    bench.open(bench.problems[1])  # a new visit starts with nothing to tell
    assert bench.question("Hello") == "Hello"


# --- hints ---------------------------------------------------------------------------------------


def test_hints_come_from_the_file_in_order_then_from_the_model(
    manager, tmp_path: Path, fake_server: FakeServer, client
) -> None:
    bench = bench_on(manager, tmp_path)
    assert bench.hint(client, MODEL, None) == ("Undo the $-3$ first.", "file")
    assert bench.hint(client, MODEL, None) == ("Now divide both sides by $4$.", "file")
    assert fake_server.chat_requests == []
    with pytest.raises(APIError, match="^The set's hints are used up and no model is configured to write more.$"):
        bench.hint(None, MODEL, None)
    fake_server.reply(Reply(content="  What number times 4 gives 7?\n"))
    assert bench.hint(client, MODEL, True) == ("What number times 4 gives 7?", "model")
    hints = manager.store.hints_of("ada", bench.problem.id)
    assert [(level, text, source) for level, text, source, _ in hints] == [
        (1, "Undo the $-3$ first.", "file"),
        (2, "Now divide both sides by $4$.", "file"),
        (3, "What number times 4 gives 7?", "model"),
    ]
    assert bench.status().hints == 3
    sent = fake_server.chat_requests[-1]["body"]
    assert sent["model"] == MODEL and sent["thinking"] == {"type": "enabled"}  # the model /model chose
    assert sent["messages"] == [
        {"role": "system", "content": HINT_PROMPT},
        {
            "role": "user",
            "content": "Problem:\nSolve $4x - 3 = 4$ for $x$.\n\nTeacher's key: 7/4\n\n"
            "Teacher's worked solution:\n$4x = 7$, so $x = \\frac{7}{4}$.\n\n"
            "Hints the student already has:\n1. Undo the $-3$ first.\n2. Now divide both sides by $4$.",
        },
    ]


def test_a_model_hint_that_states_the_answer_is_asked_for_again_then_refused(
    manager, tmp_path: Path, fake_server: FakeServer, client
) -> None:
    bench = bench_on(manager, tmp_path, "p3")  # no hints in the file, no worked solution
    fake_server.reply(Reply(content="The roots are $x = 2$ and $x = 3$."), Reply(content="Factor it first."))
    assert bench.hint(client, MODEL, None) == ("Factor it first.", "model")
    first, second = (request["body"]["messages"][1]["content"] for request in fake_server.chat_requests)
    assert first == (
        "Problem:\nSolve $x^2 - 5x + 6 = 0$.\n\nTeacher's key: x = 2 or x = 3\n\n"
        "Hints the student already has:\n(none yet)"
    )
    assert second == first + "\n\nYour previous hint gave the answer away; write one that does not."
    fake_server.reply(Reply(content="It is x = 2."), Reply(content="So x = 3."), Reply(content="Unused."))
    assert bench.hint(client, MODEL, None) is None  # twice the answer: no hint, nothing stored
    assert len(fake_server.chat_requests) == 4
    assert "1. Factor it first." in fake_server.chat_requests[-1]["body"]["messages"][1]["content"]
    assert bench.status().hints == 1 and len(bench.question("?").splitlines()) == 3  # one note, blank, "?"


def test_an_empty_model_hint_is_asked_for_again(fake_server: FakeServer, client, manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path, "p3")
    fake_server.reply(Reply(content=" \n"), Reply(content="Try factoring."))
    assert model_hint(client, MODEL, None, bench.problem, []) == "Try factoring."
    fake_server.reply(Reply(content=""), Reply(content="   "))
    assert model_hint(client, MODEL, None, bench.problem, []) is None


def test_thinking_goes_with_the_hint_and_solution_requests(
    fake_server: FakeServer, client, manager, tmp_path: Path
) -> None:
    bench = bench_on(manager, tmp_path, "p3")
    fake_server.reply(Reply(content="Factor it."), Reply(content="Factor: $(x-2)(x-3)$, so 2 and 3."))
    model_hint(client, "deepseek-v4-pro", True, bench.problem, [])
    model_solution(client, "deepseek-v4-pro", False, bench.problem)
    bodies = [request["body"] for request in fake_server.chat_requests]
    assert [body["model"] for body in bodies] == ["deepseek-v4-pro", "deepseek-v4-pro"]
    assert [body["thinking"]["type"] for body in bodies] == ["enabled", "disabled"]


# --- the solution --------------------------------------------------------------------------------


def test_the_solution_opens_by_its_rule_and_ends_the_guard(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    checker = Checker.for_student(None, "ada")
    with pytest.raises(rules.SolutionShutError) as shut:
        bench.solution(None, MODEL, None)
    assert str(shut.value) == rules.solution_sentence(Status(), 2)
    bench.answer(checker, "1")
    bench.answer(checker, "2")
    assert bench.guarded()
    assert bench.solution(None, MODEL, None) == "$4x = 7$, so $x = \\frac{7}{4}$."
    assert bench.status().status == "revealed" and not bench.guarded()
    assert bench.question("Why?").splitlines()[-3:] == [
        "[I opened the worked solution with /solution; we may now talk about it freely.]",
        "",
        "Why?",
    ]


def test_a_problem_without_a_solution_needs_a_model_to_write_one(
    manager, tmp_path: Path, fake_server: FakeServer, client
) -> None:
    bench = bench_on(manager, tmp_path, "p3")
    checker = Checker.for_student(None, "ada")
    for model_client in (None, client):  # the rule first: no model is asked for a solution still shut
        with pytest.raises(rules.SolutionShutError):
            bench.solution(model_client, MODEL, None)
    assert fake_server.chat_requests == []
    bench.answer(checker, "x = 1")
    bench.answer(checker, "x = 4")
    with pytest.raises(
        APIError, match="^This problem has no worked solution and no model is configured to write one.$"
    ):
        bench.solution(None, MODEL, None)
    assert bench.status().status == "working"  # nothing opened
    fake_server.reply(Reply(content="\n"))
    with pytest.raises(APIError, match="^The model wrote no solution; try /solution again.$"):
        bench.solution(client, MODEL, False)
    assert bench.guarded()
    assert fake_server.chat_requests[-1]["body"]["thinking"] == {"type": "disabled"}  # the model /model chose
    assert fake_server.chat_requests[-1]["body"]["messages"] == [
        {"role": "system", "content": SOLUTION_PROMPT},
        {"role": "user", "content": "Problem:\nSolve $x^2 - 5x + 6 = 0$.\n\nTeacher's key: x = 2 or x = 3"},
    ]


# --- the guard between the stream and the view ---------------------------------------------------


def test_the_guard_stops_a_reply_at_the_line_that_states_the_answer(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    view = Recorder()
    sink = GuardedSink.around(view, bench.problem)
    sink.start()
    for piece in ("Good: $4x = 7$.\n", "So $x = \\frac{7}", "{4}$.\n", "Well done!\n"):
        sink.content(piece)
    assert sink.withheld and view.shown("content") == "Good: $4x = 7$.\n"  # stopped as the formula closed
    sink.finish("interrupted")
    assert view.calls == [("start", None), ("content", "Good: $4x = 7$.\n"), ("finish", "interrupted")]
    assert sink.shown == ["Good: $4x = 7$.\n"]


def test_a_guiding_reply_reaches_the_view_whole_with_its_reasoning(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    view = Recorder()
    sink = GuardedSink.around(view, bench.problem)
    sink.start()
    sink.reasoning("They need to add 3 first.")  # no line end yet: held until it ends or the reply does
    sink.content("What undoes the $-3$?")
    sink.finish()
    assert not sink.withheld
    assert view.calls == [
        ("start", None),
        ("reasoning", "They need to add 3 first."),
        ("content", "What undoes the $-3$?"),
        ("finish", None),
    ]
    assert sink.shown == ["What undoes the $-3$?"]


def test_the_line_shown_instead_of_a_withheld_reply_points_to_hint() -> None:
    assert withheld_line() == (
        "The tutor started to give the answer away, so that reply is hidden. "
        "Try /hint for the next step, or /answer TEXT to check your own answer."
    )


def test_a_whole_text_states_the_answer_or_not(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    assert states_answer(bench.problem, "So $x = 1.75$")  # checked at the end, without a line end
    assert not states_answer(bench.problem, "What is $4x$?")
    choice = bench_on(manager, tmp_path, "p2").problem
    assert states_answer(choice, "The answer is (B).\n") and not states_answer(choice, "Is 4 prime?\n")
    text = bench_on(manager, tmp_path, "t1", TEXT_SET, name="plants").problem
    assert states_answer(text, "It is called Photosynthesis.") and not states_answer(text, "Think of light.")
    tolerant = ProblemRecord(1, 1, "", "q", 0, "About how much?", "100", "math", (), (), None, 0.01)
    assert states_answer(tolerant, "So $x = 100.5$.\n") and not states_answer(tolerant, "Try $x = 102$.\n")


# --- what a student's `show` prints of a work session --------------------------------------------


def work_transcript(manager, bench: Workbench) -> None:
    store = manager.store
    store.add_message("ada", bench.session_id, "user", "just tell me")
    store.add_message(
        "ada", bench.session_id, "assistant", "So $x = \\frac{7}{4}$.", reasoning="x = 7/4", withheld=True
    )
    store.add_message("ada", bench.session_id, "assistant", "What undoes the $-3$?", reasoning="They want x = 7/4.")
    store.add_message("ada", bench.session_id, "assistant", "Divide next.", reasoning="Add 3 first.")


def seen(manager, bench: Workbench):
    session = manager.store.get_session("ada", bench.session_id)
    shown, messages = as_the_student_sees_it(
        manager.store, session, manager.store.get_messages("ada", bench.session_id)
    )
    return shown, list(messages)


def test_show_keeps_the_key_drafts_and_revealing_reasoning_off_a_students_screen(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    work_transcript(manager, bench)
    session, messages = seen(manager, bench)
    prompt = manager.store.get_session("ada", bench.session_id).system_prompt
    assert session.system_prompt == prompt[: prompt.index("\n\nThe teacher's key (")] + f"\n\n{KEPT_OFF_SCREEN}\n"
    assert "Solve $4x - 3 = 4$ for $x$." in session.system_prompt and "7/4" not in session.system_prompt
    assert [(m.content, m.reasoning, m.withheld) for m in messages] == [
        ("just tell me", None, False),
        (DRAFT_OFF_SCREEN, None, True),
        ("What undoes the $-3$?", REASONING_OFF_SCREEN, False),
        ("Divide next.", "Add 3 first.", False),
    ]
    assert session.session_id == bench.session_id and session.message_count == 4


def test_show_prints_everything_once_the_problem_is_solved_or_opened(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    work_transcript(manager, bench)
    before = manager.store.get_session("ada", bench.session_id)
    assert bench.answer(Checker.for_student(None, "ada"), "7/4").right
    session, messages = seen(manager, bench)
    assert session == before
    assert [(m.content, m.reasoning) for m in messages] == [
        (m.content, m.reasoning) for m in manager.store.get_messages("ada", bench.session_id)
    ]
    assert messages[1].content == "So $x = \\frac{7}{4}$." and messages[1].withheld


def test_show_of_a_session_that_is_no_work_is_as_stored(manager) -> None:
    manager.create_session("ada", "plain", "You are a tutor. The teacher's key (of nothing).")
    manager.store.add_message("ada", "plain", "assistant", "x", reasoning="x = 7/4", withheld=True)
    session = manager.store.get_session("ada", "plain")
    stored = manager.store.get_messages("ada", "plain")
    shown, messages = as_the_student_sees_it(manager.store, session, stored)
    assert shown.system_prompt == session.system_prompt
    assert [m.content for m in messages] == [DRAFT_OFF_SCREEN]  # a withheld mark is honoured wherever it is


def test_show_keeps_the_key_off_when_the_set_is_gone(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    work_transcript(manager, bench)
    manager.store.delete_problem_set("ada", "linear")
    session, messages = seen(manager, bench)
    assert session.system_prompt.endswith(f"\n\n{KEPT_OFF_SCREEN}\n") and "7/4" not in session.system_prompt
    assert messages[1].content == DRAFT_OFF_SCREEN
    assert messages[2].reasoning == "They want x = 7/4."  # no problem left to check it against


# --- the plain chat and `ask` on a work session --------------------------------------------------


def refusal(manager, session_id: str) -> str:
    """The sentence with which the plain chat refuses to go on with this session."""
    with pytest.raises(OpenProblemError) as refused:
        require_no_open_problem(manager.store, manager.store.get_session("ada", session_id))
    return str(refused.value)


def test_the_plain_chat_refuses_a_work_session_until_it_is_solved(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    session = manager.store.get_session("ada", bench.session_id)
    assert refusal(manager, bench.session_id) == (
        f"Session {bench.session_id} is work on problem p1 of set linear, not solved yet; continue it with"
        " `tutor work linear --problem p1`, which keeps the answer unsaid (or start a new chat)."
    )
    bench.answer(Checker.for_student(None, "ada"), "7/4")
    require_no_open_problem(manager.store, session)  # solved: no error
    manager.create_session("ada", "plain", "You are a tutor.")
    require_no_open_problem(manager.store, manager.store.get_session("ada", "plain"))


def test_the_plain_chat_refuses_a_work_session_whose_set_is_gone(manager, tmp_path: Path) -> None:
    bench = bench_on(manager, tmp_path)
    manager.store.delete_problem_set("ada", "linear")
    assert refusal(manager, bench.session_id) == (
        f"Session {bench.session_id} is work on a problem whose set has changed; `tutor work` opens"
        " the set's problems again (or start a new chat)."
    )


def test_a_work_session_is_told_by_its_set_title_and_problem_id(manager, tmp_path: Path) -> None:
    linear = bench_on(manager, tmp_path, "p2")
    other = bench_on(manager, tmp_path, "p2", LINEAR.replace('title = "Linear equations"', 'title = "Other"'), "other")
    for bench, name in ((linear, "linear"), (other, "other")):
        session = manager.store.get_session("ada", bench.session_id)
        with pytest.raises(OpenProblemError, match=f"problem p2 of set {name},"):
            require_no_open_problem(manager.store, session)
    other.answer(Checker.for_student(None, "ada"), "b")  # the other set's p2 solved changes nothing here
    with pytest.raises(OpenProblemError, match="problem p2 of set linear,"):
        require_no_open_problem(manager.store, manager.store.get_session("ada", linear.session_id))


def test_a_work_session_without_its_status_row_is_still_guarded(manager, tmp_path: Path) -> None:
    """Opening a problem writes the session, then the status row naming it: a process stopped between
    the two leaves a work session on a problem the student has no status for. It counts as new."""
    imported(manager.store, tmp_path)
    record, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
    session_id = manager.new_session("ada", problem_prompt("Base", record, p1))
    session = manager.store.get_session("ada", session_id)
    with pytest.raises(OpenProblemError, match="problem p1 of set linear, not solved yet"):
        require_no_open_problem(manager.store, session)
    shown, _ = as_the_student_sees_it(manager.store, session, [])
    assert "7/4" not in shown.system_prompt and KEPT_OFF_SCREEN in shown.system_prompt


def test_show_cuts_the_prompt_at_the_key_line_the_app_wrote(manager, tmp_path: Path) -> None:
    """Only the key line after the instructions starts what is kept off the screen: the same words in
    the tutor's own prompt before it, or in the worked solution after it, move nothing."""
    base = "You are a tutor.\n\nThe teacher's key (when there is one) is never shown.\n"
    text = LINEAR.replace("solution = '''$4x = 7$", "solution = '''Add 3.\n\nThe teacher's key (again) $4x = 7$")
    imported(manager.store, tmp_path, text)
    record, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
    bench = Workbench(manager, "ada", record, base, use_profile=False)
    bench.open(p1)
    session, _ = seen(manager, bench)
    assert session.system_prompt.startswith(base.rstrip() + "\n\n---\n")
    assert "Solve $4x - 3 = 4$ for $x$." in session.system_prompt
    assert "7/4" not in session.system_prompt and "again" not in session.system_prompt


def test_show_cuts_the_key_line_even_when_a_solution_quotes_the_instructions(manager, tmp_path: Path) -> None:
    imported(manager.store, tmp_path)
    record, p1 = rules.find_problem(manager.store, "ada", "linear", "p1")
    quoting = replace(p1, solution=f"The tutor is told:\n{WORK_INSTRUCTIONS}\nSo $x = 7/4$.")
    session_id = manager.new_session("ada", problem_prompt("Base", record, quoting))
    shown, _ = as_the_student_sees_it(manager.store, manager.store.get_session("ada", session_id), [])
    assert "7/4" not in shown.system_prompt and shown.system_prompt.endswith(f"\n\n{KEPT_OFF_SCREEN}\n")


# --- tables ---------------------------------------------------------------------------------------


def test_short_is_one_line_of_at_most_size_characters() -> None:
    assert short("Solve\n  $4x - 3 = 4$\tfor x.  ") == "Solve $4x - 3 = 4$ for x."
    assert short("a" * 60) == "a" * 60
    assert short("a" * 61) == "a" * 59 + "…"
    assert short("abcdef", size=4) == "abc…" and short("abcd", size=4) == "abcd"
