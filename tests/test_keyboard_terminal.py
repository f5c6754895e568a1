"""The student's keyboard in the real chat: /edit and Ctrl-X Ctrl-E (the editor a small script),
/attach (files into the question, Tab completing the path) and /copy (the clipboard read back from a
real tmux's paste buffer with `set-clipboard on`)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fake_server import FakeServer
from tests.helpers.pdf import make_pdf
from tutor_cli import SessionManager


def stored(home: Path, student: str = "ada") -> list[tuple[str, str]]:
    with SessionManager(home / "tutor.db") as manager:
        latest = manager.store.latest_session(student)
        return [(m.role, m.content) for m in manager.store.get_messages(student, latest.session_id)]


def sent(fake_server: FakeServer) -> list[str]:
    """The newest question of each chat request, in order."""
    return [request["body"]["messages"][-1]["content"] for request in fake_server.chat_requests]


def plain(screen: str) -> str:
    """Screen text without escape sequences, lines joined (a long sentence wraps on screen)."""
    return " ".join(re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|.)", "", screen).split())


def editor_script(tmp_path: Path, body: str) -> str:
    """A small editor: a Python script run on the file it is given (`path`), as $VISUAL."""
    script = tmp_path / "editor.py"
    script.write_text(f"#!{sys.executable}\nimport sys\npath = sys.argv[-1]\ntext = open(path).read()\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


# --- /edit and Ctrl-X Ctrl-E -------------------------------------------------------------------------


def test_edit_puts_what_the_editor_saved_on_the_prompt_and_enter_sends_it(terminal, fake_server, home, tmp_path):
    visual = editor_script(tmp_path, "open(path, 'w').write('What is 2 + 2?\\nShow each step.\\n')")
    term = terminal("chat", env={"VISUAL": visual})
    term.prompt()
    term.type("/edit")
    term.expect("Show each step.")  # on the prompt, not sent yet
    time.sleep(0.3)
    assert fake_server.chat_requests == []
    term.type("")  # Enter
    term.expect("Answer to: What is 2 + 2?")
    term.prompt()
    term.type("/exit")
    assert term.finish() == 0
    assert sent(fake_server) == ["What is 2 + 2?\nShow each step."]
    assert stored(home)[0] == ("user", "What is 2 + 2?\nShow each step.")


def test_ctrl_x_ctrl_e_opens_the_editor_on_what_is_typed(terminal, fake_server, tmp_path):
    visual = editor_script(tmp_path, "open(path, 'w').write(text + ' about derivatives\\n')")
    term = terminal("chat", env={"VISUAL": visual, "EDITOR": "no-such-editor"})
    term.prompt()
    term.send("my question")
    term.ctrl("x")
    term.ctrl("e")
    term.expect("about derivatives")
    term.type("")
    term.expect("Answer to: my question about derivatives")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == ["my question about derivatives"]


def test_a_failing_editor_is_one_sentence_and_the_input_is_kept(terminal, fake_server, tmp_path):
    visual = editor_script(tmp_path, "open(path, 'w').write('lost')\nsys.exit(1)")
    term = terminal("chat", env={"VISUAL": visual})
    term.prompt()
    term.send("keep this question")
    term.ctrl("x")
    term.ctrl("e")
    said = term.expect("your input is kept.")
    assert "exited with status 1;" in plain(said)
    term.type("")
    term.expect("Answer to: keep this question")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == ["keep this question"]


def test_a_missing_editor_is_one_sentence_and_nothing_is_sent(terminal, fake_server):
    term = terminal("chat", env={"VISUAL": "no-such-editor --wait"})
    term.prompt()
    term.type("/edit half a question")
    term.expect("Could not start the editor no-such-editor --wait ($VISUAL): not found; your input is kept.")
    term.expect("half a question")  # back on the prompt, not sent
    time.sleep(0.2)
    assert fake_server.chat_requests == []
    term.type(" and the rest")
    term.expect("Answer to: half a question and the rest")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == ["half a question and the rest"]


def test_an_emptied_file_sends_nothing(terminal, fake_server, tmp_path):
    visual = editor_script(tmp_path, "open(path, 'w').write('\\n')")
    term = terminal("chat", env={"VISUAL": visual})
    term.prompt()
    term.type("/edit a draft")
    term.expect("The editor's file was empty; nothing to send.")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert fake_server.chat_requests == []


# --- /attach ---------------------------------------------------------------------------------------

CODE = 'def greet(name):\n    """Print ```name```."""\n    print("hi " + name)\n'


def test_attach_with_a_question_sends_the_file_named_and_fenced_and_stores_exactly_that(
    terminal, fake_server, home, tmp_path, run_tutor
):
    path = tmp_path / "greet.py"
    path.write_text(CODE)
    term = terminal("chat", "--session", "functions")
    term.prompt()
    term.type(f"/attach {path} Why does it print hi?")
    term.expect("Answer to: greet.py:")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    expected = f"greet.py:\n````python\n{CODE}\n````\n\nWhy does it print hi?"
    assert sent(fake_server) == [expected]
    assert stored(home)[0] == ("user", expected)
    shown = run_tutor("show", "functions", "--format", "markdown")
    assert shown.returncode == 0 and expected in shown.stdout


def test_attach_alone_waits_for_the_next_question(terminal, fake_server, tmp_path):
    sheet = tmp_path / "sheet.pdf"
    sheet.write_bytes(make_pdf(["Exercise 1: solve x + 2 = 5.", "Exercise 2: factor x^2 - 1."]))
    term = terminal("chat")
    term.prompt()
    term.type(f"/attach {sheet}")
    term.expect("sheet.pdf (2 pages) goes with your next question.")
    term.prompt()
    time.sleep(0.2)
    assert fake_server.chat_requests == []
    term.type("Help me with exercise 2")
    term.expect("Answer to: sheet.pdf:")
    term.prompt()
    term.ask("and the next one?")  # the file went with one question only
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == [
        "sheet.pdf:\n```\n[p. 1]\nExercise 1: solve x + 2 = 5.\n\n[p. 2]\nExercise 2: factor x^2 - 1.\n```"
        "\n\nHelp me with exercise 2",
        "and the next one?",
    ]


def test_the_bottom_bar_shows_the_file_waiting(terminal, fake_server, tmp_path):
    (tmp_path / "notes.md").write_text("# Cells\n")
    # A terminal that answers cursor-position requests, as real ones do: prompt_toolkit draws
    # the bottom bar only when it knows where the cursor is.
    term = terminal("chat", env={"PROMPT_TOOLKIT_NO_CPR": "0"})
    term.expect("\x1b[6n")
    term.send("\x1b[10;1R")
    term.type(f"/attach {tmp_path / 'notes.md'}")
    term.expect("goes with your next question.")
    term.expect("\x1b[6n")
    term.send("\x1b[12;1R")
    term.expect("+notes.md · /help")
    term.ctrl("d")
    assert term.finish() == 0


@pytest.mark.parametrize(
    ("name", "data", "sentence"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100), "photo.png: is a binary file, not text"),
        ("long.txt", b"word " * 40_001, "long.txt has 200,005 characters, more than the 200,000"),
    ],
)
def test_a_binary_or_too_long_file_is_one_sentence_and_nothing_is_sent(
    terminal, fake_server, tmp_path, name, data, sentence
):
    (tmp_path / name).write_bytes(data)
    term = terminal("chat")
    term.prompt()
    term.type(f"/attach {tmp_path / name} What is in it?")
    term.expect(sentence)
    term.prompt()
    term.ask("a plain question")  # nothing was left waiting
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == ["a plain question"]


def test_a_file_that_cannot_fit_the_context_window_is_refused_before_sending(terminal, fake_server, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("The cell membrane controls what enters the cell.\n" * 600)  # ~30,000 characters
    term = terminal("chat", env={"TUTOR_CONTEXT_TOKENS": "4096"})
    term.prompt()
    term.type(f"/attach {notes} Summarise it")
    term.expect("notes.md with your question is too long for deepseek")
    term.expect("nothing was sent")
    term.expect("Summarise it")  # the question is back on the prompt
    term.type("")
    term.expect("Answer to: Summarise it")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == ["Summarise it"]


def test_tab_completes_the_path_after_attach(terminal, fake_server, tmp_path):
    (tmp_path / "worksheet-week3.md").write_text("# Week 3\n\nSolve 2x = 6.\n")
    term = terminal("chat")
    term.prompt()
    term.send(f"/attach {tmp_path}/worksh")
    term.send("\t")
    term.expect("eet-week3.md")
    term.type(" What is x?")
    term.expect("Answer to: worksheet-week3.md:")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert sent(fake_server) == [
        f"{tmp_path}/worksheet-week3.md"[len(f"{tmp_path}/") :]
        + ":\n```markdown\n# Week 3\n\nSolve 2x = 6.\n```\n\nWhat is x?"
    ]


# --- /copy and /help -------------------------------------------------------------------------------

ANSWER = (
    "Use this:\n\n```python\nimport math\nr = 2\nprint(math.pi * r ** 2)\n```\n\n"
    "which computes $A = \\pi r^2$ for $r = 2$."
)


def test_copy_with_nothing_to_copy_says_so(terminal, fake_server):
    term = terminal("chat")
    term.prompt()
    term.type("/copy")
    term.expect("There is no answer to copy from yet.")
    term.prompt()
    term.ask("plain words please")
    term.type("/copy")
    term.expect("The last answer has no code block or formula to copy.")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0


def test_copy_writes_osc52_to_the_terminal(terminal, fake_server):
    fake_server.reply(content=ANSWER)
    term = terminal("chat")
    term.prompt()
    term.type("area of a circle?")
    term.expect("for")
    term.prompt()
    term.type("/copy 1")
    before = term.expect("copied the python block, 3 lines")
    payload = base64.b64encode(b"import math\nr = 2\nprint(math.pi * r ** 2)").decode()
    assert f"\x1b]52;c;{payload}\x07" in before
    term.type("/copy 9")
    term.expect("The last answer has 3 code blocks and formulas; /copy 1 to /copy 3 copies one")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0


def test_help_lists_edit_attach_and_copy(terminal, fake_server):
    term = terminal("chat")
    term.prompt()
    term.type("/help")
    listing = term.expect("Enter sends")
    for name in ("/edit", "/attach", "/copy", "Ctrl-X Ctrl-E"):
        assert name in plain(listing)
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0


# --- /copy in a real tmux: the clipboard read back from its paste buffer ----------------------------


class Tmux:
    """A tmux server of its own (`-L`), `set-clipboard on`, running one command in a detached session."""

    def __init__(self, socket: str, config: Path) -> None:
        self.base = ["tmux", "-L", socket, "-f", str(config)]

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        return subprocess.run(
            [*self.base, *args], check=True, capture_output=True, text=True, env=env, timeout=10
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-S", "-200", "-t", "tutor")

    def wait_for(self, text: str, times: int = 1, timeout: float = 15) -> str:
        """Wait until `text` is on the screen (`times` times, the earlier ones included)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= times:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear; the screen:\n{self.screen()}")

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "tutor", "-l", text)
        self.run("send-keys", "-t", "tutor", "Enter")

    def clipboard(self) -> str:
        return self.run("show-buffer")


@pytest.fixture
def tmux(tmp_path: Path, api_env):
    if shutil.which("tmux") is None:
        if os.environ.get("TUTOR_REQUIRE_TMUX") == "1":
            pytest.fail("tmux is not installed (TUTOR_REQUIRE_TMUX=1): install it, e.g. apt-get install tmux")
        pytest.skip("tmux is not installed")
    config = tmp_path / "tmux.conf"
    config.write_text("set -g set-clipboard on\n")
    server = Tmux(f"tutor-test-{os.getpid()}-{tmp_path.name}", config)
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE", "STY")}
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    command = f"{sys.executable} -m tutor_cli chat"
    server.run("new-session", "-d", "-s", "tutor", "-x", "100", "-y", "40", command, env=env)
    yield server
    subprocess.run([*server.base, "kill-server"], capture_output=True, timeout=10)


def test_copy_puts_the_block_or_formula_on_tmuxs_clipboard(tmux: Tmux, fake_server: FakeServer):
    fake_server.reply(content=ANSWER)
    tmux.wait_for("you ›")
    tmux.type("area of a circle?")
    tmux.wait_for("for r")
    tmux.type("/copy")
    tmux.wait_for("copied the formula, 1 line")
    assert tmux.clipboard() == "r = 2"
    tmux.type("/copy 1")
    tmux.wait_for("copied the python block, 3 lines")
    assert tmux.clipboard() == "import math\nr = 2\nprint(math.pi * r ** 2)"
    tmux.type("/copy 2")
    tmux.wait_for("copied the formula, 1 line", times=2)
    assert tmux.clipboard() == "A = \\pi r^2"
