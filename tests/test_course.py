"""Course materials on a personal SQLite store: passages and their labels, the search by words and by
meaning, replacing and removing a material, what went with a question, export and delete-student."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.pdf import make_pdf
from tutor_cli import course
from tutor_cli import rights as rules
from tutor_cli.documents import parse_document, read_document
from tutor_cli.store import SQLiteStore
from tutor_cli.store.course import CLASS_MATERIAL

CELLS = """# Cells

Every living thing is made of cells.

## Mitochondria

The mitochondria is the powerhouse of the cell: it turns glucose and oxygen into ATP,
the energy currency that the rest of the cell spends.

## Ribosomes

Ribosomes read messenger RNA and join amino acids into proteins.

## Osmosis

Water crosses a membrane from the side with fewer dissolved particles to the side with more.
"""


@pytest.fixture
def store(tmp_path: Path):
    opened = SQLiteStore(tmp_path / "tutor.db")
    yield opened
    opened.close()


def add(store, owner: str, name: str, text: str) -> course.Added:
    return course.add_document(store, owner, parse_document(name, text.encode()), 1000.0)


# --- passages --------------------------------------------------------------------------------


def test_markdown_passages_are_labelled_by_their_section() -> None:
    passages = course.passages_of(parse_document("cells.md", CELLS.encode()))
    assert [p.label for p in passages] == [
        "cells.md § Cells",
        "cells.md § Mitochondria",
        "cells.md § Ribosomes",
        "cells.md § Osmosis",
    ]
    assert passages[1].text.startswith("## Mitochondria\n\nThe mitochondria is the powerhouse")


def test_pdf_passages_keep_their_page_numbers() -> None:
    document = parse_document("notes.pdf", make_pdf(["Page one about cells.", None, "Page three about osmosis."]))
    assert [p.label for p in course.passages_of(document)] == ["notes.pdf p. 1", "notes.pdf p. 3"]


def labels_of(text: str, name: str) -> list[str]:
    return [p.label for p in course.passages_of(parse_document(name, text.encode()))]


def test_plain_text_is_cut_at_its_headings_or_labelled_by_line() -> None:
    text = (
        "Intro line.\n\n"
        "==========\n*1.1*\tGetting started\n\nStart here.\n\n"
        "INSTALLING\n\nRun the installer.\n\n"
        "Setup\n-----\nConfigure it.\n"
    )
    assert labels_of(text, "guide.txt") == [
        "guide.txt l. 1",
        "guide.txt § Getting started",
        "guide.txt § Getting started / INSTALLING",
        "guide.txt § Setup",
    ]


def test_a_numbered_heading_may_end_in_a_period_and_an_indented_line_is_never_a_heading() -> None:
    # As in the sed FAQ: "5.2. I'm using 'p' ... sometimes." is a question heading; a line under a
    # "----" inside an indented example is not one.
    text = (
        "5.1. Why are my variables not expanded?\n\nUse double quotes.\n\n"
        "5.2. I get duplicate lines sometimes.\n\nSed prints every line by default.\n"
        "       ----\n       Four hyphens separate the two sections. Put\n       the header first.\n"
    )
    passages = course.passages_of(parse_document("faq.txt", text.encode()))
    assert [p.label for p in passages] == [
        "faq.txt § 5.1. Why are my variables not expanded?",
        "faq.txt § 5.2. I get duplicate lines sometimes.",
    ]
    assert "Four hyphens" in passages[1].text


def test_passages_stay_within_size_and_overlap_so_no_sentence_is_lost() -> None:
    sentences = [f"Sentence number {n} says something about topic {n}." for n in range(300)]
    text = "\n".join(sentences)
    passages = course.passages_of(parse_document("long.txt", text.encode()), size=400, overlap=100)
    assert len(passages) > 10
    assert all(len(p.text) <= 400 for p in passages)
    for sentence in sentences:  # every sentence is whole in some passage
        assert any(sentence in p.text for p in passages), sentence
    # consecutive passages share text (the overlap)
    assert passages[1].text.split("\n")[0] in passages[0].text


def test_a_line_longer_than_a_passage_is_cut_at_spaces() -> None:
    text = " ".join(f"word{n}" for n in range(2000))
    passages = course.passages_of(parse_document("one-line.txt", text.encode()), size=500, overlap=50)
    assert all(len(p.text) <= 500 for p in passages)
    assert "word1999" in passages[-1].text


def test_a_passage_ends_at_a_paragraph_break_in_its_second_half_and_the_next_repeats_the_overlap() -> None:
    a, b, c = ("a" * 23 + ".", "b" * 23 + ".", "c" * 23 + ".")  # 25 characters with the newline
    short = "s" * 15 + "."

    def cut(lines: list[str], overlap: int) -> list[tuple[str, str]]:
        document = parse_document("d.txt", "\n".join(lines).encode())
        return [(p.label, p.text) for p in course.passages_of(document, size=100, overlap=overlap)]

    # The break after 50 characters (half of 100) ends the passage: no paragraph is cut in two.
    assert cut([a, a, "", b, b, "", c, c], 0) == [
        ("d.txt l. 1", f"{a}\n{a}"),
        ("d.txt l. 4", f"{b}\n{b}"),
        ("d.txt l. 7", f"{c}\n{c}"),
    ]
    # A break just short of half (49 characters): the passage fills up, to exactly 100 characters.
    assert cut([a, a[1:], "", b, b, "", c], 0) == [("d.txt l. 1", f"{a}\n{a[1:]}\n\n{b}\n{b}"), ("d.txt l. 7", c)]
    # A break in the first half (after 34 characters) would leave a passage too short: the passage fills up.
    assert cut([short, short, "", b, b, b, "", c], 0) == [
        ("d.txt l. 1", f"{short}\n{short}\n\n{b}\n{b}"),
        ("d.txt l. 6", f"{b}\n\n{c}"),
    ]
    # The half is counted from where each passage starts (a break 17 characters into the second one).
    assert cut([a, a, a, a, short, "", b, b, b, b], 0)[1] == ("d.txt l. 5", f"{short}\n\n{b}\n{b}\n{b}")
    # An overlap of 30 characters: the next passage starts two lines (50 characters) back.
    assert cut([short, short, "", b, b, b, "", c], 30) == [
        ("d.txt l. 1", f"{short}\n{short}\n\n{b}\n{b}"),
        ("d.txt l. 4", f"{b}\n{b}\n{b}"),
        ("d.txt l. 5", f"{b}\n{b}\n\n{c}"),
    ]


def test_the_next_passage_repeats_the_fewest_whole_lines_that_make_the_overlap() -> None:
    def starts(lines: list[str], overlap: int) -> list[str]:
        document = parse_document("d.txt", "\n".join(lines).encode())
        return [p.label for p in course.passages_of(document, size=100, overlap=overlap)]

    line = "f" * 24  # 25 characters with its newline; four fill a passage of 100
    assert starts([line] * 6, 25) == ["d.txt l. 1", "d.txt l. 4"]  # one line makes 25
    assert starts([line] * 6, 26) == ["d.txt l. 1", "d.txt l. 3"]  # 26 takes two
    # An overlap longer than a passage: each passage still starts a line further on.
    assert starts(["g" * 39] * 4, 200) == ["d.txt l. 1", "d.txt l. 2", "d.txt l. 3"]


def test_a_passage_without_a_paragraph_break_fills_up_and_keeps_its_lines_as_written() -> None:
    def texts(text: str) -> list[str]:
        return [p.text for p in course.passages_of(parse_document("d.txt", text.encode()), size=100, overlap=0)]

    assert texts("x" * 59 + "\n" + "y" * 19 + "\n" + "z" * 59) == ["x" * 59 + "\n" + "y" * 19, "z" * 59]
    assert texts("    indented code\nmore") == ["    indented code\nmore"]  # indentation kept
    assert texts("word " * 19 + "last\n") == ["word " * 19 + "last"]  # a full passage, then the last newline
    intro = course.passages_of(parse_document("d.txt", b"Intro one.\nIntro two.\n\nSetup\n-----\nConfigure it.\n"))
    assert [(p.text, p.heading) for p in intro] == [
        ("Intro one.\nIntro two.", None),  # before any heading: no heading
        ("Setup\n-----\nConfigure it.", "Setup"),
    ]


def test_two_files_of_one_name_in_one_command_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.md").write_text("# Notes\n\nText.\n")
    (tmp_path / "cells.md").write_text(CELLS)
    with pytest.raises(course.TutorError, match=r"^notes\.md is given twice; materials are known by their file name"):
        course.read_files([tmp_path / "a" / "notes.md", tmp_path / "cells.md", tmp_path / "b" / "notes.md"])
    read = course.read_files([tmp_path / "a" / "notes.md", tmp_path / "cells.md"])
    assert [document.name for document in read] == ["notes.md", "cells.md"]


def test_query_terms_drop_filler_and_keep_code() -> None:
    assert course.query_terms("Why does `echo 017` print 15 and not 17?") == ["echo", "017", "print", "15", "17"]
    assert course.query_terms("How do I do it?") == []


def test_fusion_rewards_passages_both_rankings_agree_on() -> None:
    assert course.fuse([(["a", "b", "c"], 1.0), (["c", "d", "a"], 1.0)])[:2] == ["a", "c"]


def test_nearest_gives_the_most_similar_rows_best_first() -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    matrix = rng.integers(-127, 128, (1000, 16), dtype=np.int8)
    question = rng.standard_normal(16).astype(np.float32)
    scores = matrix @ question
    for count in (1, 2, 10, 50, 197, 1000, 1500):  # 1500: as many as there are
        expected = sorted(range(1000), key=lambda row: -scores[row])[:count]
        assert course.nearest(question, matrix, count) == expected, count
    assert course.nearest(question, matrix, 0) == []
    assert course.nearest(question, matrix[:0], 5) == []  # no rows: nothing, not an error


def test_within_budget_skips_what_does_not_fit_and_never_cuts() -> None:
    passages = [course.Passage("x", "a" * 3000), course.Passage("y", "b" * 4000), course.Passage("z", "c" * 2500)]
    chosen = course.within_budget(passages, budget=6000)
    assert [p.label for p in chosen] == ["x", "z"]


# --- the store ------------------------------------------------------------------------------


def test_a_question_finds_its_passage_by_meaning_and_by_words(store) -> None:
    add(store, "ada", "cells.md", CELLS)
    searcher = course.Searcher(store, "ada")
    by_words = searcher.search("What do ribosomes build?")
    assert by_words[0].label == "cells.md § Ribosomes"
    by_meaning = searcher.search("which part of the cell makes its energy?")
    assert "cells.md § Mitochondria" in [p.label for p in by_meaning[:2]]
    assert sum(len(p.text) for p in by_meaning) <= course.BUDGET_CHARS


def test_passages_sent_never_exceed_the_budget(store) -> None:
    text = "\n\n".join(f"## Part {n}\n" + f"Cells and energy and proteins, part {n}. " * 30 for n in range(40))
    add(store, "ada", "big.md", text)
    found = course.Searcher(store, "ada").search("cells energy proteins")
    assert found and sum(len(p.text) for p in found) <= 6000 and len(found) <= course.MAX_PASSAGES


def test_adding_the_same_name_replaces_the_material_and_its_index(store, tmp_path: Path) -> None:
    assert add(store, "ada", "cells.md", CELLS).replaced is False
    again = add(store, "ada", "cells.md", "# Plants\n\nChlorophyll catches light.\n")
    assert again.replaced is True and again.passages == 1
    assert [(m.name, m.passages) for m in store.list_materials("ada")] == [("cells.md", 1)]
    assert course.Searcher(store, "ada").search("ribosomes proteins") == [] or all(
        "Ribosomes" not in p.text for p in course.Searcher(store, "ada").search("ribosomes proteins")
    )
    conn = sqlite3.connect(tmp_path / "tutor.db")
    assert conn.execute("SELECT count(*) FROM passages_fts").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'ribosomes'").fetchone()[0] == 0


def test_a_failed_replacement_keeps_the_old_material(store, monkeypatch) -> None:
    add(store, "ada", "cells.md", CELLS)
    original = store._insert

    def failing_insert(conn, sql, params):
        original(conn, sql, params)
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_insert", failing_insert)
    with pytest.raises(RuntimeError):
        add(store, "ada", "cells.md", "# New\n\ntext\n")
    monkeypatch.undo()
    assert [(m.name, m.passages) for m in store.list_materials("ada")] == [("cells.md", 4)]
    assert course.Searcher(store, "ada").search("What do ribosomes build?")[0].label == "cells.md § Ribosomes"


def test_remove_takes_the_passages_and_their_index_away(store, tmp_path: Path) -> None:
    add(store, "ada", "cells.md", CELLS)
    assert store.remove_material("ada", "cells.md") == 4
    assert store.remove_material("ada", "cells.md") is None
    assert store.list_materials("ada") == [] and not store.has_materials("ada")
    conn = sqlite3.connect(tmp_path / "tutor.db")
    assert conn.execute("SELECT count(*) FROM passages").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM passages_fts").fetchone()[0] == 0


def test_students_search_their_own_and_the_class_materials_only(store) -> None:
    add(store, "ada", "ada-notes.md", "# Secret\n\nAda's private note about osmosis and water.\n")
    add(store, CLASS_MATERIAL, "cells.md", CELLS)
    ada = [p.label for p in course.Searcher(store, "ada").search("osmosis water membrane")]
    bob = [p.label for p in course.Searcher(store, "bob").search("osmosis water membrane")]
    assert "ada-notes.md § Secret" in ada and "cells.md § Osmosis" in ada
    assert "cells.md § Osmosis" in bob and not any(label.startswith("ada-notes") for label in bob)
    assert [(m.name, m.is_class) for m in store.list_materials("bob")] == [("cells.md", True)]


def test_the_searcher_sees_a_material_added_after_its_first_question(store) -> None:
    add(store, "ada", "cells.md", CELLS)
    searcher = course.Searcher(store, "ada")
    searcher.search("energy")
    add(store, "ada", "plants.md", "# Photosynthesis\n\nChlorophyll turns sunlight into sugar.\n")
    assert searcher.search("how do leaves turn sunlight into food")[0].label == "plants.md § Photosynthesis"


def test_the_searcher_sees_a_material_replaced_or_removed_after_its_first_question(store) -> None:
    add(store, "ada", "old.md", "# Old\n\nNothing to see.\n")
    course.add_document(store, "ada", parse_document("cells.md", CELLS.encode()), 1000.0)
    searcher = course.Searcher(store, "ada")
    assert searcher.search("What do ribosomes build?")[0].label == "cells.md § Ribosomes"
    # The same name, the same number of passages, and (SQLite reuses the highest id) the same id.
    swapped = CELLS.replace("Ribosomes", "Lysosomes").replace("join amino acids into proteins", "digest waste")
    course.add_document(store, "ada", parse_document("cells.md", swapped.encode()), 2000.0)
    assert searcher.search("Which part of the cell digests waste?")[0].label == "cells.md § Lysosomes"
    store.remove_material("ada", "cells.md")
    assert [p.label for p in searcher.search("Which part of the cell digests waste?")] == ["old.md § Old"]


def test_the_searcher_reads_the_vectors_again_only_when_the_materials_changed(store) -> None:
    add(store, "ada", "cells.md", CELLS)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)  # the SQL the real store runs
    searcher = course.Searcher(store, "ada")

    def reads() -> int:
        searcher.search("What do ribosomes build?")
        return sum("SELECT id, vectors FROM materials" in sql for sql in statements)

    assert (reads(), reads()) == (1, 1)  # the second question reuses them
    add(store, "ada", "plants.md", "# Plants\n\nChlorophyll catches light.\n")
    assert reads() == 2


def test_a_search_keeps_blas_to_one_thread(store) -> None:
    from threadpoolctl import threadpool_info

    add(store, "ada", "cells.md", CELLS)
    course.Searcher(store, "ada").search("energy")
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_a_1000_page_pdf_is_added_in_well_under_30_seconds(store, tmp_path: Path) -> None:
    import time

    pages = [f"Page {n}: the cell cycle, mitosis and meiosis, chromosomes pair and split. " * 8 for n in range(1000)]
    path = tmp_path / "book.pdf"
    path.write_bytes(make_pdf(pages))
    start = time.perf_counter()
    added = course.add_document(store, "ada", read_document(path), 0.0)
    assert time.perf_counter() - start < 30
    assert added.passages >= 1000
    assert course.Searcher(store, "ada").search("page 777 mitosis")[0].label == "book.pdf p. 778"


# --- what went with each question; export and delete-student ----------------------------------


def ada_with_a_question(store, passages=()) -> int:
    store.create_session("ada", "s1", "prompt")
    return store.add_message("ada", "s1", "user", "what is osmosis?", passages=passages)


def test_the_passages_sent_with_a_question_are_kept_as_sent(store) -> None:
    message_id = ada_with_a_question(store, [("cells.md § Osmosis", "Water crosses."), ("b.md", "More.")])
    assert store.sent_passages("ada", [message_id]) == {
        message_id: [("cells.md § Osmosis", "Water crosses."), ("b.md", "More.")]
    }
    assert store.sent_passages("bob", [message_id]) == {}


def test_export_and_delete_student_include_materials_passages_and_what_was_sent(store, tmp_path: Path) -> None:
    add(store, "ada", "cells.md", CELLS)
    add(store, CLASS_MATERIAL, "syllabus.md", "# Syllabus\n\nWeek one: cells.\n")
    ada_with_a_question(store, [("cells.md § Osmosis", "Water crosses.")])
    document = json.loads("".join(rules.export_document(store, "ada")))
    tables = document["tables"]
    assert [row["name"] for row in tables["materials"]] == ["cells.md"]
    (stored,) = (
        sqlite3.connect(tmp_path / "tutor.db")
        .execute("SELECT vectors FROM materials WHERE student_id = 'ada'")
        .fetchone()
    )
    assert stored and base64.b64decode(tables["materials"][0]["vectors"], validate=True) == stored  # binary: base64
    assert len(tables["passages"]) == 4
    assert json.loads(tables["messages"][0]["passages"]) == [["cells.md § Osmosis", "Water crosses."]]
    removed = rules.delete_student(store, "ada")
    assert removed["materials"] == 1 and removed["passages"] == 4 and removed["messages"] == 1
    conn = sqlite3.connect(tmp_path / "tutor.db")
    assert conn.execute("SELECT count(*) FROM passages_fts").fetchone()[0] == 1  # the class syllabus only
    assert [m.name for m in store.list_materials(None)] == ["syllabus.md"]


def test_the_model_loads_from_the_package_with_no_network(tmp_path: Path) -> None:
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse; socket.getaddrinfo = refuse; socket.create_connection = refuse\n"
        "import sys\n"
        "from tutor_cli.embedding import embedder\n"
        "vectors = embedder().embed(['the powerhouse of the cell', 'mitochondria make energy', 'tax law'])\n"
        "print(round(float(vectors[0] @ vectors[1]), 3), round(float(vectors[0] @ vectors[2]), 3))\n"
        "print(sorted(m for m in ('torch', 'huggingface_hub', 'transformers', 'model2vec') if m in sys.modules))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    related, unrelated = map(float, result.stdout.splitlines()[0].split())
    assert related > unrelated + 0.1
    assert result.stdout.splitlines()[1] == "[]"


def test_the_question_is_sent_after_its_labelled_passages() -> None:
    assert course.with_passages("why?", []) == "why?"
    sent = course.with_passages("What makes ATP?", [("cells.md § Mitochondria", "The powerhouse.\n")])
    assert sent.endswith("[cells.md § Mitochondria]\nThe powerhouse.\n\nMy question:\nWhat makes ATP?")
    assert "cite the label" in sent and "square brackets" in sent


def test_cited_labels_are_found_whole_grouped_or_by_file_name() -> None:
    labels = ["cells.md § Mitochondria", "cells.md § Osmosis", "notes.pdf p. 12"]
    answer = "ATP comes from there [cells.md § Mitochondria; notes.pdf]. Not [cells.md]. [1]"
    assert course.cited(answer, labels) == ["cells.md § Mitochondria", "notes.pdf p. 12"]
    assert course.cited("no citation here", labels) == []


def test_a_file_whose_name_holds_spaces_is_cited_by_its_name() -> None:
    labels = ["Chapter 3.pdf p. 12", "Chapter 4.pdf p. 2", "my notes.txt l. 40", "cell biology.md § Osmosis"]
    answer = "See [Chapter 3.pdf], [my notes.txt] and [cell biology.md]; not [Chapter] or [my]."
    assert course.cited(answer, labels) == ["Chapter 3.pdf p. 12", "my notes.txt l. 40", "cell biology.md § Osmosis"]
    assert course.cited("[Chapter]", labels) == []


def test_a_question_with_an_attached_file_is_searched_by_its_own_words_first() -> None:
    attached = "```text\n" + "irrelevant words about tax law " * 200 + "\n```\n\nWhat do ribosomes make?"
    text = course.search_text(attached)
    assert text.startswith("What do ribosomes make?")
    assert course.query_terms(text)[0] == "ribosomes"
    assert course.search_text("plain question") == "plain question"


def test_show_lists_the_passages_of_a_session_found_by_part_of_its_id(home: Path, run_tutor) -> None:
    """`tutor show` finds a session by a prefix of its id (or as the most recent): the passages sent
    with its questions are listed all the same, read under the session's whole id."""
    from tutor_cli import SessionManager

    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "algebra-week-3", "p")
        manager.store.add_message(
            "ada", "algebra-week-3", "user", "What is a mitochondrion?", passages=[("cells.md § Mitochondria", "x")]
        )
    for args in (["show", "algebra-w"], ["show"]):
        shown = run_tutor(*args, "--student", "ada", "--format", "json")
        assert shown.returncode == 0, shown.stderr
        question = json.loads(shown.stdout)["messages"][0]
        assert question["passages"] == [{"label": "cells.md § Mitochondria", "text": "x"}]


_T80 = "T" + "itle words " * 6 + "abcdefghijklm"  # 80 characters


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("abc\n===\nbody\n", ["d.txt § abc"]),  # three characters: the shortest heading
        ("ab\n===\nbody\n", ["d.txt l. 1"]),
        (f"{_T80}\n===\nbody\n", [f"d.txt § {_T80}"]),  # eighty: the longest
        (f"{_T80}x\n===\nbody\n", ["d.txt l. 1"]),
        ("intro\n\n   2.1 Setup\n\nbody\n", ["d.txt l. 1", "d.txt § 2.1 Setup"]),  # indented three: a heading
        ("intro\n\n    2.1 Setup\n\nbody\n", ["d.txt l. 1"]),  # indented four: an example
        ("intro\n\n2.1 Setup,\n\nbody\n", ["d.txt l. 1"]),  # a sentence's comma or semicolon
        ("intro\n\n2.1 Setup;\n\nbody\n", ["d.txt l. 1"]),
        ("1.1 Start\nbody\n", ["d.txt § 1.1 Start"]),  # the first line of the file
        ("Setup\n---\nbody\n", ["d.txt § Setup"]),  # an underline as long as three characters
        ("Setup\n\n===\nTitle\nbody\n", ["d.txt l. 1", "d.txt § Title"]),  # a rule, then a title (Vim's manual)
        ("Setup\n===\nbody\n", ["d.txt § Setup"]),  # the line below an underline is text
        ("Top\n===\n\ntext\n\nMORE\n\nend\n", ["d.txt § Top", "d.txt § Top / MORE"]),  # four capitals
        ("Top\n===\n\ntext\n\nMOR\n\nend\n", ["d.txt § Top"]),
        ("Top\n===\n\ntext\n\nMORE\nend\n", ["d.txt § Top"]),  # capitals that run into text
        ("Top\n===\n\ntext\n\nplain words\n\nend\n", ["d.txt § Top"]),  # a paragraph's first line
        ("intro\n\nbody text\n2.1 Setup\nmore\n", ["d.txt l. 1"]),  # a numbered line inside a paragraph
        ("intro\nlast\n", ["d.txt l. 1"]),
        ("Top\n===\n\ntext\n\n    MORE\n\nend\n", ["d.txt § Top"]),  # indented capitals: an example
        ("NOTES\n\nbody\nlast", ["d.txt § NOTES"]),  # the first line: nothing above it
        ("intro\n\nSetup\n===", ["d.txt l. 1", "d.txt § Setup"]),  # the last lines, no newline at the end
        ("intro\n\nNOTES", ["d.txt l. 1", "d.txt § NOTES"]),
        ("=====\nTopic\n=====\nThe body starts\nand goes on\n", ["d.txt l. 1", "d.txt § Topic"]),  # over and under
        ("=====\nTitle\nbody\nlast line", ["d.txt l. 1", "d.txt § Title"]),  # below a rule on the first line
        ("Intro\n\n=====\n-----\nTitle\nbody\n", ["d.txt l. 1", "d.txt § Title"]),  # below a double rule
        ("**Bold** heading\n================\nbody\n", ["d.txt § Bold heading"]),  # no emphasis marks
        ("Intro\n\n*04.3*  Big  *tag*  title\n", ["d.txt l. 1", "d.txt § Big title"]),  # no Vim tags, one space
    ],
)
def test_what_counts_as_a_heading_in_plain_text(text: str, labels: list[str]) -> None:
    passages = course.passages_of(parse_document("d.txt", text.encode()))
    assert sorted({p.label for p in passages}) == sorted(labels)


def test_search_text_puts_the_students_words_before_an_attached_file() -> None:
    question = "Here is my file:\n```\nprint(x)\n```\nWhy does it fail?"
    assert course.search_text(question) == "Why does it fail?\nHere is my file:\n```\nprint(x)\n```\n"
    assert course.search_text("plain question") == "plain question"
    assert len(course.search_text("word " * 1000)) == 2000  # long questions are cut at 2,000 characters


def test_query_terms_keep_words_of_two_letters_and_digits_and_at_most_24() -> None:
    assert course.query_terms("is x a c2 7 vim") == ["c2", "7", "vim"]
    many = " ".join(f"word{n}" for n in range(30))
    assert course.query_terms(many) == [f"word{n}" for n in range(24)]


def test_fuse_adds_weight_over_k_plus_rank() -> None:
    # k = 0: A scores 1/1; x 1/1; B 1/2 + 1/3; y 1/2. One off in the rank and B would lead.
    assert course.fuse([(["A", "B"], 1.0), (["x", "y", "B"], 1.0)], k=0) == ["A", "x", "B", "y"]
    assert course.fuse([(["A", "B"], 1.0), (["B"], 0.6)], k=0) == ["B", "A"]  # 1/2 + 0.6 against 1: weights count


def test_within_budget_fills_the_budget_exactly_and_stops_at_the_limit() -> None:
    passages = [course.Passage(label=f"p{n}", text="x" * 100, seq=n) for n in range(5)]
    assert len(course.within_budget(passages, budget=300, limit=8)) == 3  # 300 of 300 fits
    assert len(course.within_budget(passages, budget=1000, limit=2)) == 2


def test_the_note_before_the_passages_cites_the_first_label_as_its_example() -> None:
    sent = course.with_passages("Why?", [("a.md § One", "first"), ("b.pdf p. 2", "second")])
    assert sent.startswith(course.PASSAGES_NOTE.format(example="a.md § One"))
    assert "[a.md § One]" in sent.split("\n\n")[0]


# --- labels, long lines, and what a search returns -------------------------------------------


def test_labels_name_the_file_alone_before_the_first_heading_and_carry_no_control_characters() -> None:
    assert labels_of("Intro text.\n\n# Cells\n\nBody.\n", "cells.md") == ["cells.md", "cells.md § Cells"]
    assert labels_of("# Cells\n\nBody.\n", "ce\x1b[2Jlls\x07.md") == ["ce[2Jlls.md § Cells"]  # a file name's too
    (label,) = labels_of("# " + "Long heading " * 30 + "\n\nBody.\n", "cells.md")
    assert len(label) == 200 and label.startswith("cells.md § Long heading")  # shown and sent: bounded


def test_a_long_line_is_cut_at_a_space_past_half_a_passage_or_else_at_the_size() -> None:
    def pieces(line: str) -> list[str]:
        return [p.text for p in course.passages_of(parse_document("d.txt", line.encode()), size=100, overlap=0)]

    words = " ".join(f"Xylem{n}" for n in range(300))
    assert all(len(piece) <= 100 for piece in pieces(words)) and " ".join(pieces(words)) == words  # whole words
    assert pieces("x" * 250) == ["x" * 100, "x" * 100, "x" * 50]  # no space at all
    assert pieces("a" * 60 + " \t" + "b" * 60) == ["a" * 60, "\t" + "b" * 60]  # only the space cut at goes
    assert pieces("a" * 40 + " " + "b" * 200) == ["a" * 40 + " " + "b" * 59, "b" * 100, "b" * 41]  # none past half
    assert pieces("a" * 50 + " " + "b" * 100) == ["a" * 50 + " " + "b" * 49, "b" * 51]  # exactly half: not past it
    assert pieces("word " * 19 + "last") == ["word " * 19 + "last"]  # 99 characters: one line, one passage
    assert pieces("word " * 19 + "lasts") == ["word " * 19 + "lasts"]  # 100: still whole


def test_a_search_returns_the_passages_as_they_were_cut_within_its_tuning(store) -> None:
    document = parse_document("plants.md", ("# Photosynthesis\n\n" + PLANTS + "\n# Roots\n\nRoots drink.\n").encode())
    course.add_document(store, "ada", document, 0.0)
    cut = {p.label + str(p.seq): p for p in course.passages_of(document)}
    found = course.Searcher(store, "ada").search("photosynthesis")
    assert found and all(p == cut[p.label + str(p.seq)] for p in found)  # label, text, seq and heading
    # Words only: every passage of the section is found by its heading's word, even those without it.
    by_words = course.Searcher(store, "ada", course.Tuning(meaning_weight=0)).search("photosynthesis")
    section = [p for p in cut.values() if p.heading == "Photosynthesis"]
    assert len(section) >= 3 and any("hotosynthesis" not in p.text for p in section)
    assert sorted(p.seq for p in by_words) == [p.seq for p in section]
    assert section[-1].index_text().startswith("Photosynthesis\n")  # the embedding sees the heading too
    assert course.Passage("l", "Roots\nRoots drink.", heading="Roots").index_text() == "Roots\nRoots drink."
    assert len(course.Searcher(store, "ada", course.Tuning(limit=2)).search("photosynthesis")) == 2
    small = course.Searcher(store, "ada", course.Tuning(budget=900)).search("photosynthesis")
    assert small and sum(len(p.text) for p in small) <= 900


PLANTS = "\n\n".join(
    f"Leaves catch light with chlorophyll, step {n}: water and carbon dioxide become sugar and oxygen." * 3
    for n in range(6)
)


def test_materials_without_usable_vectors_are_found_by_words_and_the_rest_by_meaning_too(store) -> None:
    add(store, "ada", "cells.md", CELLS)
    store.add_material(
        "ada", "plain.txt", "text", [(0, "plain.txt l. 1", None, "Chlorophyll catches light.")], b"", 0, 0
    )
    store.add_material("ada", "cut.txt", "text", [(0, "cut.txt l. 1", None, "Xylem carries water.")], b"\1" * 9, 256, 0)
    assert course.Searcher(store, "ada").search("chlorophyll")[0].label == "plain.txt l. 1"  # no vectors
    assert course.Searcher(store, "ada").search("xylem")[0].label == "cut.txt l. 1"  # vectors cut short
    by_meaning = course.Searcher(store, "ada", course.Tuning(word_weight=0)).search("energy")
    assert {p.label for p in by_meaning} == {
        p.label for p in course.passages_of(parse_document("cells.md", CELLS.encode()))
    }
    # Vectors of another model (another size) cannot be compared with these: words alone, no failure.
    store.add_material("ada", "old.txt", "text", [(0, "old.txt l. 1", None, "Phloem carries sugar.")], b"\1" * 8, 8, 0)
    assert course.Searcher(store, "ada").search("phloem")[0].label == "old.txt l. 1"
