"""Course materials in a class database: class materials read by every student and changed only by
teachers and the administrator; a student's own private; raw SQL with the students' own passwords."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import class_accounts
from tutor_cli import course
from tutor_cli import rights as rules
from tutor_cli.documents import parse_document
from tutor_cli.store.course import CLASS_MATERIAL
from tutor_cli.store.postgres import PostgresStore

CELLS = (
    b"# Cells\n\nEvery living thing is made of cells.\n\n## Ribosomes\n\nRibosomes join amino acids into proteins.\n"
)
SECRET = b"# Diary\n\nAda's private notes: osmosis moves water across a membrane.\n"


@pytest.fixture
def course_class(pg_url: str):
    """Teacher tess added cells.md for the class; ada added her private diary.md."""
    names, urls = class_accounts(pg_url)
    tess = PostgresStore(urls["tess"])
    course.add_document(tess, CLASS_MATERIAL, parse_document("cells.md", CELLS), 1.0)
    tess.close()
    ada = PostgresStore(urls["ada"])
    course.add_document(ada, names["ada"], parse_document("diary.md", SECRET), 2.0)
    ada.create_session(names["ada"], "s1", "prompt")
    ada.add_message(
        names["ada"], "s1", "user", "what is osmosis?", passages=[("diary.md § Diary", "osmosis moves water")]
    )
    ada.close()
    yield names, urls


def search(url: str, student: str, question: str) -> list[str]:
    store = PostgresStore(url)
    try:
        return [p.label for p in course.Searcher(store, student).search(question)]
    finally:
        store.close()


def test_every_student_searches_the_class_materials_and_only_their_own(course_class) -> None:
    names, urls = course_class
    assert search(urls["ada"], names["ada"], "osmosis water membrane")[0] == "diary.md § Diary"
    assert search(urls["bob"], names["bob"], "what do ribosomes make?")[0] == "cells.md § Ribosomes"
    assert "diary.md § Diary" not in search(urls["bob"], names["bob"], "osmosis water membrane")
    # bob asks for ada's rows by name: row-level security answers as the login, not as the id asked for
    assert "diary.md § Diary" not in search(urls["bob"], names["ada"], "osmosis water membrane")


def test_a_student_reads_no_other_students_materials_passages_or_sent_passages_in_raw_sql(course_class) -> None:
    names, urls = course_class
    with psycopg.connect(urls["bob"]) as bob:
        assert [row[0] for row in bob.execute("SELECT name FROM materials")] == ["cells.md"]
        assert {row[0] for row in bob.execute("SELECT student_id FROM passages")} == {""}
        assert bob.execute("SELECT count(*) FROM messages WHERE passages IS NOT NULL").fetchone()[0] == 0
        assert bob.execute("SELECT count(*) FROM passages WHERE text LIKE '%osmosis%'").fetchone()[0] == 0


def test_a_student_cannot_change_class_materials_in_raw_sql(course_class) -> None:
    names, urls = course_class
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nobody rewrites a passage in place
            bob.execute("UPDATE passages SET text = 'wrong' WHERE student_id = ''")
        assert bob.execute("DELETE FROM passages WHERE student_id = ''").rowcount == 0
        assert bob.execute("DELETE FROM materials WHERE student_id = ''").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(
                "INSERT INTO materials (student_id, name, kind, passages, chars, dimensions, vectors, added_at)"
                " VALUES ('', 'fake.md', 'markdown', 0, 0, 1, '', 0)"
            )
    with psycopg.connect(urls["tess"]) as tess:
        assert tess.execute("SELECT count(*) FROM passages WHERE student_id = ''").fetchone()[0] == 2
        assert "wrong" not in [row[0] for row in tess.execute("SELECT text FROM passages")]


def test_a_students_row_cannot_name_anothers_private_row(course_class) -> None:
    names, urls = course_class
    with psycopg.connect(urls["admin"]) as admin:
        diary = admin.execute("SELECT id FROM materials WHERE name = 'diary.md'").fetchone()[0]
        cells = admin.execute("SELECT id FROM materials WHERE name = 'cells.md'").fetchone()[0]
        ada_message = admin.execute("SELECT id FROM messages WHERE student_id = %s", (names["ada"],)).fetchone()[0]
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        for material in (diary, cells):  # a passage of bob's hanging off ada's or the class's material
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                bob.execute(
                    "INSERT INTO passages (material_id, student_id, seq, label, heading, text)"
                    " VALUES (%s, %s, 99, 'x', NULL, 'bob was here')",
                    (material, names["bob"]),
                )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a question's passages never change
            bob.execute("UPDATE messages SET passages = '[]'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nor do ada's, rewritten by bob
            bob.execute("UPDATE messages SET passages = '[]' WHERE id = %s", (ada_message,))


def test_the_teacher_changes_class_materials_but_not_a_students(course_class) -> None:
    names, urls = course_class
    tess = PostgresStore(urls["tess"])
    try:
        assert course.add_document(tess, CLASS_MATERIAL, parse_document("cells.md", CELLS + b"More.\n"), 3.0).replaced
        assert tess.remove_material(names["ada"], "diary.md") is None
        assert [(m.name, m.is_class) for m in tess.list_materials(names["ada"])] == [
            ("cells.md", True),
            ("diary.md", False),
        ]
    finally:
        tess.close()
    with psycopg.connect(urls["tess"], autocommit=True) as raw:
        assert raw.execute("DELETE FROM materials WHERE name = 'diary.md'").rowcount == 0


def test_export_and_delete_student_cover_the_course_tables(course_class) -> None:
    names, urls = course_class
    admin = PostgresStore(urls["admin"])
    try:
        document = json.loads("".join(rules.export_document(admin, names["ada"])))
        assert [row["name"] for row in document["tables"]["materials"]] == ["diary.md"]
        assert json.loads(document["tables"]["messages"][0]["passages"]) == [
            ["diary.md § Diary", "osmosis moves water"]
        ]
        removed = rules.delete_student(admin, names["ada"])
        assert removed["materials"] == 1 and removed["passages"] == 1 and removed["messages"] == 1
        assert [m.name for m in admin.list_materials(None)] == ["cells.md"]
    finally:
        admin.close()
