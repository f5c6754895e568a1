"""The report's site as a teacher reads it (README, "For teachers"), written in-process from a real
SQLite store: a student's page (its title, the profile, each session's estimated cost), the mark of
an interrupted answer, a problem set's page, and what a one-student report and the index's chart
and flag list take in."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from tests.test_problems import LINEAR
from tutor_cli import SessionManager
from tutor_cli.pricing import PriceTable
from tutor_cli.views.report import FLAGS_ON_INDEX, write_site

PRICES = PriceTable(flat={"tutor-model": {"cache_hit": 1.0, "cache_miss": 2.0, "output": 4.0}})


def at(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def page(folder: Path, pattern: str) -> str:
    (found,) = folder.glob(pattern)
    return found.read_text(encoding="utf-8")


def cells(html: str, table_class: str) -> list[list[str]]:
    body = re.search(rf'<table class="{table_class}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def asked(store, student: str, session: str, *questions: str) -> None:
    """A session of the student's in which they asked these questions."""
    store.create_session(student, session, "You are a tutor.")
    for question in questions:
        store.add_message(student, session, "user", question)


def test_a_students_page_has_their_name_profile_and_each_sessions_estimated_cost(home, monkeypatch) -> None:
    # 01:00 UTC: early in the day, where a day counted wrongly would show first.
    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T01:00:00Z")
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        asked(store, "ada", "algebra", "What is 2+2?")
        usage = {"prompt_tokens": 1000, "completion_tokens": 500}
        store.add_message("ada", "algebra", "assistant", "It is", model="tutor-model", usage=usage, interrupted=True)
        asked(store, "ada", "unpriced", "Hi")
        store.add_message("ada", "unpriced", "assistant", "Hello", model="unknown-model", usage=usage)
        store.save_profile("ada", "Likes fractions; mixes up signs.")
        write_site(store, PRICES, home / "report")
    student = page(home / "report", "students/ada-*.html")
    assert "<title>Student ada</title>" in student and "<h1>Student ada</h1>" in student
    assert re.search(r"</a> › ada</nav>", student)  # the crumbs: the report, then the student
    assert '<div class="profile">Likes fractions; mixes up signs.</div>' in student
    assert "Updated 2026-11-25 01:00" in student
    sessions = {row[0]: row for row in cells(student, "sessions")}
    # 1,000 prompt tokens at $2/1M and 500 output tokens at $4/1M; no price for the other model.
    assert sessions["What is 2+2? algebra"][-2:] == ["1,500", "$0.0040"]
    assert sessions["Hi unpriced"][-2:] == ["1,500", ""]
    assert sessions["What is 2+2? algebra"][2:4] == ["2026-11-25 01:00", "2026-11-25 01:00"]
    transcript = page(home / "report", "sessions/ada-*/algebra-*.html")
    assert "<em>(interrupted)</em>" in transcript
    assert "(interrupted)" not in page(home / "report", "sessions/ada-*/unpriced-*.html")
    index = page(home / "report", "index.html")
    assert "Messages per day, 2026-10-01 to 2026-11-25 (UTC): 4 in all." in index


def test_a_student_with_practice_only_has_no_last_active_time(home, monkeypatch) -> None:
    from tutor_cli import practice

    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:00:00Z")
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        asked(store, "ada", "algebra", "Hello")
        practice.import_deck(store, "cy", "d", [practice.NewCard("q", "a")], 0)
        practice.rate(
            store, practice.scheduler(fixed_clock=True), "cy", store.next_card("cy", 0), 3, at("2026-11-25T08:00:00Z")
        )
        write_site(store, PRICES, home / "report")
    rows = {row[0]: row for row in cells(page(home / "report", "index.html"), "figures")}
    assert rows["ada"][3] == "2026-11-25 09:00" and rows["cy"][3] == ""


def test_the_chart_starts_on_its_first_day_and_the_index_lists_at_most_its_share_of_flags(home, monkeypatch) -> None:
    from tutor_cli import desk

    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        desk.add_watch(store, "cheat")
        monkeypatch.setenv("TUTOR_NOW", "2026-09-30T23:59:00Z")  # the day before the chart's first
        asked(store, "ada", "old", "An old question.")
        monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:00:00Z")
        store.create_session("bob", "s", "You are a tutor.")
        for number in range(FLAGS_ON_INDEX + 1):
            store.add_message("bob", "s", "user", f"cheat {number}")
        write_site(store, PRICES, home / "report")
    index = page(home / "report", "index.html")
    assert f"Messages per day, 2026-10-01 to 2026-11-25 (UTC): {FLAGS_ON_INDEX + 1:,} in all." in index
    flagged = [row[-1] for row in cells(index, "flags")]
    assert len(flagged) == FLAGS_ON_INDEX and "cheat 0" not in flagged  # the newest; the oldest left out


def test_a_problem_sets_page_is_titled_and_links_one_folder_up(home, monkeypatch, tmp_path) -> None:
    from tutor_cli import problems as rules
    from tutor_cli.checking import Checker

    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:00:00Z")
    linear = tmp_path / "linear.toml"
    linear.write_text(LINEAR, encoding="utf-8")
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        for student in ("ada", "bob"):
            asked(store, student, "chat", "Hello")
            rules.import_set(store, student, "linear", rules.read_problem_file(linear), 1.0)
            record, p1 = rules.find_problem(store, student, "linear", "p1")
            rules.answer(store, Checker.for_student(None, student), student, p1, "7/4", session_id=None, now=2.0)
        write_site(store, PRICES, home / "class")
        write_site(store, PRICES, home / "ada", "ada")
    class_sets = sorted(path.name for path in (home / "class" / "sets").glob("*.html"))
    assert len(class_sets) == 2
    (ada_set,) = (home / "ada" / "sets").glob("*.html")  # only ada's own set in her report
    text = ada_set.read_text(encoding="utf-8")
    assert "<title>Problem set linear (ada)</title>" in text
    assert (
        '<link rel="stylesheet" href="../style.css">' in text and '<a href="../index.html">Report for ada</a>' in text
    )
    ada_index = page(home / "ada", "index.html")
    assert "(bob)" not in ada_index and "Messages per day, 2026-10-01 to 2026-11-25 (UTC): 1 in all." in ada_index


def test_the_last_7_days_of_practice_are_7_times_24_hours(home, monkeypatch) -> None:
    from tutor_cli import practice

    now = at("2026-11-25T09:00:00Z")
    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:00:00Z")
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        asked(store, "ada", "s", "Hello")
        practice.import_deck(store, "ada", "d", [practice.NewCard("q1", "a"), practice.NewCard("q2", "a")], 0)
        scheduler = practice.scheduler(fixed_clock=True)
        practice.rate(store, scheduler, "ada", store.next_card("ada", 0), 3, now - 7 * 86_400 - 3)
        practice.rate(store, scheduler, "ada", store.next_card("ada", 0), 3, now - 7 * 86_400 + 3)
        write_site(store, PRICES, home / "report")
    assert "2 cards reviewed in all, 1 in the last 7 days" in page(home / "report", "students/ada-*.html")


def test_the_pages_are_utf_8_whatever_the_machines_locale(run_tutor, home) -> None:
    with SessionManager(home / "tutor.db") as manager:
        asked(manager.store, "zoë", "s", "Qu’est-ce qu’un déterminant ? ∫ x dx")
    ascii_only = {
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONUTF8": "0",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONIOENCODING": "utf-8",
    }
    result = run_tutor("class", "report", "--html", str(home / "report"), env=ascii_only)
    assert result.returncode == 0, result.stderr
    transcript = page(home / "report", "sessions/*/*.html")
    assert "Qu’est-ce qu’un déterminant ? ∫ x dx" in transcript and '<meta charset="utf-8">' in transcript
    assert "pre code" in (home / "report" / "style.css").read_text(encoding="utf-8")


def test_a_report_is_written_again_into_the_same_folder(home, monkeypatch) -> None:
    monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:00:00Z")
    with SessionManager(home / "tutor.db") as manager:
        asked(manager.store, "ada", "s", "Week one")
        first = write_site(manager.store, PRICES, home / "weekly")
        monkeypatch.setenv("TUTOR_NOW", "2026-12-02T09:00:00Z")
        manager.store.add_message("ada", "s", "user", "Week two")
        again = write_site(manager.store, PRICES, home / "weekly")
    assert first == again
    assert "Week two" in page(home / "weekly", "sessions/*/*.html")
    assert "Written by tutor on 2026-12-02 09:00 (UTC)." in page(home / "weekly", "index.html")
