"""tutor_cli.documents, rule by rule: locked and damaged PDFs, the tidying of a PDF page's text, what
counts as binary, where a PDF's header may be, Markdown front matter and headings, and each sentence
a bad file gets, word for word (the sentence is all the student sees)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from tests.helpers.pdf import make_pdf
from tutor_cli.documents import DocumentError, _short, markdown_sections, parse_document, read_document


def error_of(name: str, data: bytes) -> str:
    with pytest.raises(DocumentError) as caught:
        parse_document(name, data)
    return str(caught.value)


def locked_pdf(user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Osmosis moves water.", "Page two."]))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# PDFs


def test_a_pdf_locked_only_against_editing_is_read_as_any_viewer_opens_it() -> None:
    document = parse_document("handout.pdf", locked_pdf("", "teacher-only"))
    assert [(section.page, section.text) for section in document.sections] == [
        (1, "Osmosis moves water."),
        (2, "Page two."),
    ]


def test_a_pdf_that_needs_a_password_to_open_says_so_in_one_sentence() -> None:
    assert error_of("exam.pdf", locked_pdf("s3cret", "s3cret")) == (
        "exam.pdf: is a password-protected PDF; save an unprotected copy and try again."
    )


def test_one_damaged_page_loses_only_itself() -> None:
    document = parse_document("notes.pdf", make_pdf(["Page one.", "Page two.", "Page three."], unreadable=(1,)))
    assert [(section.page, section.text) for section in document.sections] == [(1, "Page one."), (3, "Page three.")]


def test_a_pdf_with_no_pages_and_one_with_no_text_are_each_one_exact_sentence() -> None:
    assert error_of("empty.pdf", make_pdf([])) == "empty.pdf: is a PDF with no pages."
    assert error_of("scan.pdf", make_pdf([None, None, None])) == (
        "scan.pdf: is a PDF with no text layer on any of its 3 page(s) (a scan?); "
        "run OCR on it first, for example with ocrmypdf."
    )


def test_a_pdf_that_cannot_be_parsed_names_the_readers_reason() -> None:
    message = error_of("broken.pdf", b"%PDF-1.4\n garbage that is no pdf at all")
    reason = message.removeprefix("broken.pdf: cannot be read as a PDF (").removesuffix(").")
    assert reason != message and reason and reason not in ("None", "PdfReadError")


def test_a_pdf_pages_text_is_tidied() -> None:
    pages = [
        "old\rmac and nul\x00l",  # a bare CR is a line end; NUL bytes go
        "dos\r\nline",  # CR LF is one line end, not two
        "trailing   \n   indented   ",  # trailing spaces go, indentation stays
        "para\n \n \n \nnext",  # blank lines in a row become one
    ]
    texts = [section.text for section in parse_document("t.pdf", make_pdf(pages)).sections]
    assert texts == ["old\nmac and null", "dos\nline", "trailing\n   indented", "para\n\nnext"]


def test_short_keeps_a_readers_reason_to_one_short_clause() -> None:
    assert _short(ValueError("bad xref.")) == "bad xref"
    assert _short(ValueError("...starts with dots")) == "...starts with dots"
    assert _short(ValueError("unknown filter /FX")) == "unknown filter /FX"
    assert _short(KeyError()) == "KeyError"
    assert _short(ValueError(" . ")) == "ValueError"
    exactly = "x" * 120
    assert _short(ValueError(exactly)) == exactly
    longer = "y" * 100 + "z" * 21
    assert _short(ValueError(longer)) == "y" * 100 + "z" * 17 + "..."


# Where a PDF's header may be


def test_a_pdf_named_pdf_may_have_bytes_before_its_header_within_the_first_1024() -> None:
    pdf = make_pdf(["Junk came first."])
    for name in ("n.pdf", "N.PDF"):
        document = parse_document(name, b"\r\n" + pdf)
        assert document.kind == "pdf" and document.sections[0].text == "Junk came first."
    # Still a PDF with its header ending at byte 1,024 ...
    assert parse_document("n.pdf", b" " * 1019 + pdf).sections[0].text == "Junk came first."
    # ... and not with it one byte later.
    assert error_of("n.pdf", b" " * 1020 + pdf) == "n.pdf: is not a PDF file (it does not start with %PDF-)."


def test_a_text_file_that_mentions_the_pdf_header_is_text() -> None:
    document = parse_document("notes.txt", b"Every PDF starts with %PDF-1.7 on its first line.\n")
    assert document.kind == "text" and document.text.startswith("Every PDF")


# Text, binary and unreadable files


def test_control_bytes_make_a_file_binary_above_one_in_a_hundred_even_without_nul() -> None:
    # 1,000 bytes: ten control bytes are still text (a stray form feed or bell), eleven are not.
    assert parse_document("a.txt", b"\x01" * 10 + b"a" * 990).kind == "text"
    assert error_of("b.txt", b"\x01" * 11 + b"a" * 989) == (
        "b.txt: is a binary file, not text; give a text, Markdown, code or PDF file."
    )


def test_one_nul_byte_makes_a_file_binary() -> None:
    assert "is a binary file" in error_of("c.txt", b"a" * 500 + b"\x00" + b"b" * 500)


def test_old_mac_line_ends_become_newlines() -> None:
    assert parse_document("mac.txt", b"one\rtwo\r").text == "one\ntwo\n"


def test_a_folder_and_a_file_that_cannot_be_opened_are_exact_sentences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        read_document(tmp_path / "notes.txt" / "inner.md")
    assert str(caught.value) == f"inner.md: cannot be read ({os.strerror(20)})."
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DocumentError) as caught:
        read_document(".")
    assert str(caught.value) == ".: is a folder, not a file."


# Markdown


def test_front_matter_comments_are_not_headings_and_front_matter_may_close_with_dots() -> None:
    sections = markdown_sections("---\n# draft: true\ntitle: Cells\n\n...\n---\nBody text.\n# Real\nx")
    assert [(section.heading, section.text) for section in sections] == [
        (None, "---\nBody text."),
        ("Real", "# Real\nx"),
    ]


def test_empty_front_matter_is_front_matter() -> None:
    sections = markdown_sections("---\n---\n# A\nx")
    assert [(section.heading, section.text) for section in sections] == [("A", "# A\nx")]


def test_front_matter_is_at_most_200_lines() -> None:
    within = "---\n" + "key: v\n" * 198 + "---\n# A\nx"
    assert [section.heading for section in markdown_sections(within)] == ["A"]
    beyond = "---\n" + "key: v\n" * 199 + "---\n# A\nx"
    assert [section.heading for section in markdown_sections(beyond)] == [None, "A"]


def test_a_sections_text_keeps_its_indentation_and_its_last_character() -> None:
    sections = markdown_sections("    indented code first\n\n# Roman\nTen is X")
    assert [section.text for section in sections] == ["    indented code first", "# Roman\nTen is X"]


def test_a_heading_with_runs_of_spaces_reads_with_single_spaces() -> None:
    assert markdown_sections("# Cell \t  division\nx")[0].heading == "Cell division"
