"""The student's keyboard, part by part: what /copy finds and writes, what /attach sends, how /edit
runs the editor. The chat itself is driven in tests/test_keyboard_terminal.py."""

from __future__ import annotations

import base64
import io
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.pdf import make_pdf
from tutor_cli import SessionManager
from tutor_cli.attachments import (
    MAX_CHARACTERS,
    AttachmentError,
    fence_for,
    read_attachment,
    split_argument,
    with_attachments,
)
from tutor_cli.screens.editor import EditorError, edit, find_editor
from tutor_cli.views.clipboard import copy_to_clipboard, osc52
from tutor_cli.views.snippets import copied_message, find_snippets, pick

ANSWER = r"""Here is the function:

```python
def area(r):
    return 3.14159 * r ** 2
```

The area is $A = \pi r^2$, and for the circumference:

$$
C = 2 \pi r
$$

Run it with:

~~~
python area.py
~~~

Money is not math: it costs $5 and $10. Inline `$HOME` is code, and \(e^{i\pi} + 1 = 0\) closes it.
"""


# --- /copy: what an answer holds ------------------------------------------------------------------


def test_blocks_and_formulas_are_found_in_order_with_kind_language_and_lines() -> None:
    found = find_snippets(ANSWER)
    assert [(s.kind, s.language, s.display, s.lines) for s in found] == [
        ("code", "python", False, 2),
        ("formula", "", False, 1),
        ("formula", "", True, 1),
        ("code", "", False, 1),
        ("formula", "", False, 1),
    ]
    assert found[0].text == "def area(r):\n    return 3.14159 * r ** 2"
    assert [s.text for s in found[1:]] == [r"A = \pi r^2", r"C = 2 \pi r", "python area.py", r"e^{i\pi} + 1 = 0"]


def test_dollars_inside_a_code_block_are_the_block_not_a_formula() -> None:
    found = find_snippets("```bash\necho $HOME $PATH\nx=$1$2\n```\n")
    assert [(s.kind, s.text) for s in found] == [("code", "echo $HOME $PATH\nx=$1$2")]


def test_a_longer_fence_holds_a_shorter_one_and_indentation_is_taken_off() -> None:
    answer = "  ````markdown\n  ```python\n  print(1)\n  ```\n  ````\n"
    (block,) = find_snippets(answer)
    assert block.language == "markdown"
    assert block.text == "```python\nprint(1)\n```"


def test_an_unclosed_block_runs_to_the_end_of_the_answer() -> None:
    (block,) = find_snippets("Start:\n```js\nlet a = 1;\nlet b = 2;\n")
    assert (block.language, block.text) == ("js", "let a = 1;\nlet b = 2;")


def test_copy_picks_the_last_by_default_or_the_nth() -> None:
    found = find_snippets(ANSWER)
    assert pick(found, "") is found[-1]
    assert pick(found, "1") is found[0]
    assert pick(found, " 3 ") is found[2]


@pytest.mark.parametrize("argument", ["0", "6", "-1", "two"])
def test_copy_names_the_range_when_n_is_not_one_of_them(argument: str) -> None:
    with pytest.raises(ValueError, match=r"^The last answer has 5 code blocks and formulas; /copy 1 to /copy 5 "):
        pick(find_snippets(ANSWER), argument)


def test_nothing_to_copy_is_one_sentence() -> None:
    with pytest.raises(ValueError, match=r"^The last answer has no code block or formula to copy\.$"):
        pick(find_snippets("Just words, and $5 and $10."), "")


def test_what_was_copied_is_said_with_kind_and_lines() -> None:
    found = find_snippets("```python\na = 1\nb = 2\nprint(a + b)\n```\nand $x$ and\n$$\\int_0^1 x\\,dx$$\n```\nls\n```")
    assert [copied_message(s) for s in found] == [
        "copied the python block, 3 lines",
        "copied the formula, 1 line",
        "copied the display formula, 1 line",
        "copied the code block, 1 line",
    ]


# --- /copy: the OSC 52 sequence -----------------------------------------------------------------------


def _payload(sequence: str) -> str:
    match = re.fullmatch(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", sequence)
    assert match, repr(sequence)
    return base64.b64decode(match.group(1)).decode("utf-8")


def test_osc52_carries_the_text_in_base64_to_the_clipboard() -> None:
    text = "def f(x):\n    return x² ≤ 1  # ünïcode\n"
    assert _payload(osc52(text, {})) == text


def test_inside_tmux_the_plain_sequence_is_sent_for_set_clipboard() -> None:
    env = {"TMUX": "/tmp/tmux-1000/default,123,0", "TERM": "screen-256color"}
    assert _payload(osc52("x = 1", env)) == "x = 1"


def test_inside_gnu_screen_the_sequence_is_wrapped_in_pieces_screen_passes_on() -> None:
    text = "y" * 3000
    sequence = osc52(text, {"STY": "1234.pts-0.host", "TERM": "screen"})
    pieces = re.findall(r"\x1bP(.*?)\x1b\\", sequence, re.DOTALL)
    assert "".join(f"\x1bP{piece}\x1b\\" for piece in pieces) == sequence  # nothing outside the DCS pieces
    assert all(len(piece.encode()) < 768 for piece in pieces)  # screen's string limit
    assert _payload("".join(pieces)) == text


def test_copy_writes_the_sequence_to_the_terminal_stream() -> None:
    out = io.StringIO()
    copy_to_clipboard("a = 1", out, {})
    assert _payload(out.getvalue()) == "a = 1"


# --- /attach ---------------------------------------------------------------------------------------


def test_the_fence_is_longer_than_any_run_of_backticks_in_the_file() -> None:
    assert fence_for("no ticks") == "```"
    assert fence_for("inline `code` and ```fences```") == "````"
    assert fence_for("`````") == "``````"


def test_a_code_file_goes_in_named_in_a_fenced_block_with_its_language(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    code = 'def hello():\n    """Say ```hi```."""\n    return "hi"\n'
    (tmp_path / "src" / "hello.py").write_text(code)
    attachment = read_attachment("src/hello.py")
    assert attachment.block == f"src/hello.py:\n````python\n{code}\n````"
    assert attachment.describe() == "src/hello.py (4 lines)"
    question = with_attachments([attachment], "  Why does it return hi?\n")
    assert question == attachment.block + "\n\nWhy does it return hi?"
    # The file cannot close the block early: only the fences start with four backticks.
    assert [line for line in question.splitlines() if line.startswith("````")] == ["````python", "````"]


def test_an_absolute_path_is_named_by_the_file_name_only(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Cells\n\nMitochondria make ATP.\n")
    attachment = read_attachment(str(path))
    assert attachment.block.startswith("notes.md:\n```markdown\n# Cells")
    assert str(tmp_path) not in attachment.block


def test_a_pdf_goes_in_page_by_page(tmp_path: Path) -> None:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(make_pdf(["Exercise 1: solve x + 2 = 5.", None, "Exercise 2: factor x^2 - 1."]))
    attachment = read_attachment(str(path))
    assert attachment.describe() == "sheet.pdf (2 pages)"
    assert attachment.block == (
        "sheet.pdf:\n```\n[p. 1]\nExercise 1: solve x + 2 = 5.\n\n[p. 3]\nExercise 2: factor x^2 - 1.\n```"
    )


def test_a_file_over_the_limit_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("a" * (MAX_CHARACTERS + 1))
    with pytest.raises(AttachmentError, match=r"^big\.txt has 200,001 characters, more than the 200,000 one"):
        read_attachment(str(path))
    path.write_text("a" * MAX_CHARACTERS)
    assert read_attachment(str(path)).characters == MAX_CHARACTERS


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with path.open("wb") as file:
        file.truncate(50_000_000)  # sparse: reading it would take time and memory
    with pytest.raises(AttachmentError, match=r"^huge\.log is over 200,000 characters"):
        read_attachment(str(path))


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
        ("empty.txt", b"", "empty"),
        ("missing.txt", None, "no such file"),
    ],
)
def test_binary_empty_and_missing_files_are_one_sentence(tmp_path: Path, name, data, expected) -> None:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(AttachmentError) as caught:
        read_attachment(str(path))
    message = str(caught.value)
    assert expected in message and name in message and "\n" not in message


def test_an_unreadable_path_or_a_folder_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(AttachmentError, match=r"^inner\.txt: cannot be read \(Not a directory\)\.$"):
        read_attachment(str(tmp_path / "notes.txt" / "inner.txt"))
    with pytest.raises(AttachmentError, match=r"is a folder, not a file\.$"):
        read_attachment(str(tmp_path))


# --- /edit: the editor -------------------------------------------------------------------------------


def _script(tmp_path: Path, name: str, body: str) -> Path:
    """A small editor: a Python script run on the file it is given."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport sys\npath = sys.argv[-1]\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_editor_is_visual_then_editor_then_a_default_on_path(tmp_path: Path) -> None:
    _script(tmp_path, "nano", "")
    assert find_editor({"VISUAL": "code --wait", "EDITOR": "vim"}) == (["code", "--wait"], "VISUAL")
    assert find_editor({"VISUAL": "", "EDITOR": "vim -n"}) == (["vim", "-n"], "EDITOR")
    assert find_editor({"PATH": str(tmp_path)}) == ([str(tmp_path / "nano")], "default")
    with pytest.raises(EditorError, match=r"^No editor found: set VISUAL or EDITOR"):
        find_editor({"PATH": str(tmp_path / "nowhere")})


def test_what_the_editor_saves_is_returned(tmp_path: Path) -> None:
    editor = _script(
        tmp_path,
        "ed.py",
        "text = open(path).read()\nopen(path, 'w').write(text.upper() + '\\nsecond line\\n')",
    )
    assert edit("first line", {"VISUAL": str(editor)}) == "FIRST LINE\nsecond line"


def test_an_emptied_file_returns_nothing_and_the_temp_file_is_removed(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    editor = _script(tmp_path, "ed.py", f"open({str(seen)!r}, 'w').write(path)\nopen(path, 'w').write('  \\n')")
    assert edit("draft", {"EDITOR": str(editor)}) == ""
    temp = Path(seen.read_text())
    assert temp.suffix == ".md" and not temp.exists()


def test_a_failing_editor_is_one_sentence(tmp_path: Path) -> None:
    editor = _script(tmp_path, "ed.py", "open(path, 'w').write('changed')\nsys.exit(3)")
    with pytest.raises(EditorError, match=r"^The editor .*ed\.py exited with status 3; your input is kept\.$"):
        edit("draft", {"VISUAL": str(editor)})


def test_a_missing_editor_is_one_sentence_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(
        EditorError, match=r"^Could not start the editor no-such-editor \(\$EDITOR\): not found; your input is kept\.$"
    ):
        edit("draft", {"EDITOR": "no-such-editor", "PATH": str(tmp_path)})


# --- what the chat asks of the store and the window --------------------------------------------------


@dataclass
class Asking:
    """Who asks, in which session, of which model: what the window reads of a conversation."""

    student_id: str
    session_id: str
    model: str = "deepseek-chat"
    context_override: int | None = None
    use_profile: bool = True


def test_the_last_answer_is_the_newest_assistant_message(tmp_path: Path) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        session = manager.new_session("ada", "You are a tutor.")
        assert manager.last_answer("ada", session) is None
        manager.add_message("ada", session, "user", "q1")
        manager.add_message("ada", session, "assistant", "a1 with ```x```")
        manager.add_message("ada", session, "user", "q2 (unanswered)")
        assert manager.last_answer("ada", session) == "a1 with ```x```"


def test_a_question_fits_when_the_system_prompt_and_room_for_the_reply_leave_space(tmp_path: Path) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        session = manager.new_session("ada", "You are a tutor. " * 100)
        asking = Asking("ada", session, context_override=4096)
        # 4,096 tokens: a quarter kept for the reply, the system prompt's ~600, the rest for the question.
        assert manager.window.fits(asking, "word " * 2_000)
        assert not manager.window.fits(asking, "word " * 3_000)
        assert manager.window.fits(Asking("ada", session), "word " * 3_000)  # deepseek-chat: 128K


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("notes.md", ("notes.md", "")),
        ("  notes.md   What is ATP? ", ("notes.md", "What is ATP?")),
        ('"my notes.md" What is ATP?', ("my notes.md", "What is ATP?")),
        ("'week 3.pdf'", ("week 3.pdf", "")),
        ("", ("", "")),
    ],
)
def test_attach_takes_the_first_word_or_a_quoted_path_then_the_question(argument, expected) -> None:
    assert split_argument(argument) == expected
