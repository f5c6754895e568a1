"""tutor_cli.documents: files read as text (Markdown, text, code, PDF) and one sentence for each bad file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers.pdf import make_pdf
from tutor_cli.documents import DocumentError, Section, markdown_sections, parse_document, read_document
from tutor_cli.errors import TutorError


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_pdf_is_read_page_by_page_keeping_page_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.pdf", make_pdf(["Cells divide by mitosis.", None, "Ribosomes make (proteins)."]))
    document = read_document(path)
    assert document.kind == "pdf" and document.name == "notes.pdf"
    assert [section.page for section in document.sections] == [1, 3]  # the empty page 2 is skipped
    assert document.sections[0].text == "Cells divide by mitosis."
    assert document.sections[1].text == "Ribosomes make (proteins)."
    assert document.label(document.sections[1]) == "notes.pdf p. 3"


def test_pdf_words_hyphenated_at_a_line_end_are_joined(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, "n.pdf", make_pdf(["The mito-\nchondria is here."])))
    assert "mitochondria is here" in document.sections[0].text


def test_pdf_without_text_layer_is_one_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "scan.pdf", make_pdf([None, None]))
    with pytest.raises(DocumentError) as caught:
        read_document(path)
    message = str(caught.value)
    assert message.startswith("scan.pdf: ") and "no text layer" in message and "scan" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_broken_pdf_is_one_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.pdf", b"%PDF-1.4\n garbage that is no pdf at all")
    with pytest.raises(DocumentError, match=r"^broken\.pdf: cannot be read as a PDF"):
        read_document(path)


def test_a_pdf_name_on_a_file_that_is_not_a_pdf_says_so(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^fake\.pdf: is not a PDF file"):
        read_document(write(tmp_path, "fake.pdf", "just text"))


def test_pdf_content_is_recognised_whatever_the_name(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, "download", make_pdf(["Osmosis moves water."])))
    assert document.kind == "pdf" and document.sections[0].page == 1


def test_markdown_is_cut_at_headings_outside_code_fences(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Cells\n---\n"
        "Intro before any heading.\n\n"
        "# Cells\nCells are small.\n\n"
        "## Mitochondria ##\nThe **powerhouse**.\n\n"
        "```python\n# not a heading\nx = 1\n```\n"
        "Ribosomes\n=========\nThey make proteins.\n\n"
        "## `code` heading\n\n"
        "## Empty follows\n   \n"
    )
    document = read_document(write(tmp_path, "cells.md", text))
    assert document.kind == "markdown"
    assert [section.heading for section in document.sections] == [
        None,
        "Cells",
        "Mitochondria",
        "Ribosomes",
        "code heading",
        "Empty follows",
    ]
    assert document.sections[0].text == "Intro before any heading."
    assert "# not a heading\nx = 1" in document.sections[2].text
    assert document.sections[3].text.startswith("Ribosomes\n=========\nThey make proteins.")
    assert document.label(document.sections[2]) == "cells.md § Mitochondria"
    assert document.label(document.sections[0]) == "cells.md"


def test_markdown_thematic_break_after_a_blank_line_is_not_a_heading() -> None:
    sections = markdown_sections("# A\nOne paragraph\ngoes on\n---\n\n---\nend")
    assert [section.heading for section in sections] == ["A"]


def test_text_and_code_are_one_section_with_line_ends_normalised(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, "loop.py", b"\xef\xbb\xbffor i in range(3):\r\n    print(i)\r\n"))
    assert document.kind == "text"
    assert document.sections == (Section("for i in range(3):\n    print(i)\n"),)
    assert document.label(document.sections[0]) == "loop.py"


def test_unicode_text_round_trips(tmp_path: Path) -> None:
    text = "Δx → 0: ∫ f(x) dx 🙂\n"
    assert read_document(write(tmp_path, "calc.txt", text)).text == text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.md", b" \n\n\t\n", "is empty"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "is a binary file"),
        ("latin.txt", "café au lait".encode("latin-1"), "is not UTF-8 text"),
    ],
    ids=["empty", "blank", "binary", "latin-1"],  # plain ids: mutmut passes them back to pytest
)
def test_unusable_files_are_one_sentence_naming_the_file(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(DocumentError) as caught:
        read_document(write(tmp_path, name, data))
    assert str(caught.value).startswith(f"{name}: {reason}")
    assert isinstance(caught.value, TutorError) and "\n" not in str(caught.value)


def test_missing_file_and_folder_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^nope\.md: no such file\.$"):
        read_document(tmp_path / "nope.md")
    with pytest.raises(DocumentError, match="is a folder"):
        read_document(tmp_path)


def test_name_overrides_the_label(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, "tmp123.md", "# Factoring\nx"), name="algebra.md")
    assert document.label(document.sections[0]) == "algebra.md § Factoring"


def test_pypdf_is_imported_only_when_a_pdf_is_read(tmp_path: Path) -> None:
    import subprocess

    markdown = write(tmp_path, "a.md", "# A\nx")
    code = (
        "import sys; from tutor_cli.documents import read_document; "
        f"read_document({str(markdown)!r}); print('pypdf' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_parse_document_accepts_bytes_as_attach_does() -> None:
    document = parse_document("q.md", b"# Q\nwhy?")
    assert document.sections[0].heading == "Q" and document.text == "# Q\nwhy?"
