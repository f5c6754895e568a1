"""What the report's pages say, written in-process from a real SQLite store (no browser, no
subprocess: fast enough for a mutation run): the transcript with who said what and when, a withheld
draft marked, the estimated cost, and the activity chart's bars (README, "For teachers")."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tutor_cli import SessionManager
from tutor_cli.pricing import PriceTable
from tutor_cli.views.report import CHART_DAYS, Written, activity_chart, write_site

DAY = 86_400


def at(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def page(folder: Path, pattern: str) -> str:
    (found,) = folder.glob(pattern)
    return found.read_text(encoding="utf-8")


def test_a_session_page_shows_who_said_what_and_when_and_marks_a_withheld_draft(home, monkeypatch) -> None:
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:05:00Z")
        store.create_session("ada", "algebra", "You are a tutor.")
        store.add_message("ada", "algebra", "user", "What is 2+2?")
        monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:06:00Z")
        store.add_message("ada", "algebra", "assistant", "It is 4.", withheld=True)
        monkeypatch.setenv("TUTOR_NOW", "2026-11-25T21:47:00Z")
        store.add_message("ada", "algebra", "assistant", "Try counting on your fingers.")
        written = write_site(store, PriceTable(), home / "report")
    assert written == Written(home / "report" / "index.html", 3)  # the index, ada's page, the session
    transcript = page(home / "report", "sessions/*/*.html")
    headers = re.findall(r'<article class="message ([a-z ]+)" id="m\d+">\s*<header>(.*?)</header>', transcript, re.S)
    said = [(kind, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", header)).strip()) for kind, header in headers]
    assert said == [
        ("user", "Student 2026-11-25 09:05"),
        ("assistant withheld", "Tutor 2026-11-25 09:06 (withheld: it stated the answer, so the student never saw it)"),
        ("assistant", "Tutor 2026-11-25 21:47"),
    ]


def bars(svg: str) -> list[tuple[float, float, float, float, str]]:
    return [
        (float(x), float(y), float(w), float(h), title)
        for x, y, w, h, title in re.findall(
            r'<rect class="bar" x="([\d.-]+)" y="([\d.-]+)" width="([\d.-]+)" height="([\d.-]+)"><title>(.*?)</title>',
            svg,
        )
    ]


def test_the_activity_chart_has_a_bar_a_day_for_eight_weeks_in_proportion() -> None:
    last = int(at("2026-11-25T00:00:00Z") // DAY)
    per_day = {last: 1200, last - 1: 300, last - 7: 600, last - CHART_DAYS + 1: 1, last - CHART_DAYS: 999}
    chart = activity_chart(per_day, last)
    assert (chart.first, chart.last, chart.total) == ("2026-10-01", "2026-11-25", 2101)  # the 57th day back is out
    svg = str(chart.svg)
    # One well-formed SVG element whose only text is in its <text> and <title> elements.
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and not (root.text or "").strip()
    assert all(not (element.tail or "").strip() for element in root.iter() if element is not root)
    width, height = (float(n) for n in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    drawn = bars(svg)
    assert len(drawn) == CHART_DAYS == 56
    assert drawn[0][4] == "2026-10-01: 1 messages" and drawn[-1][4] == "2026-11-25: 1,200 messages"
    assert drawn[-8][4] == "2026-11-18: 600 messages" and drawn[-2][4] == "2026-11-24: 300 messages"
    tallest = drawn[-1][3]
    axis = drawn[0][1] + drawn[0][3]
    for (x, y, w, h, title), following in zip(drawn, drawn[1:] + [None], strict=True):
        count = int(title.split(": ")[1].split()[0].replace(",", ""))
        assert h == pytest.approx(tallest * count / 1200, abs=0.1)  # in proportion, the busiest day tallest
        assert y + h == pytest.approx(axis, abs=0.1) and y >= 0 and axis < height  # standing on one axis
        assert x > 0 and x + w < width and w > 0
        if following is not None:
            assert following[0] > x + w and following[0] - x == pytest.approx(drawn[1][0] - drawn[0][0], abs=0.11)
    # The scale names the peak at the busiest bar's top, and 0 at the axis.
    peak_y = float(re.search(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end">1,200</text>', svg).group(1))
    zero_y = float(re.search(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end">0</text>', svg).group(1))
    assert tallest > height / 2 and drawn[-1][1] <= peak_y <= drawn[-1][1] + 5
    assert zero_y == pytest.approx(axis, abs=0.2)
    zero_x = float(re.search(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end">0</text>', svg).group(1))
    peak_x = float(re.search(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end">1,200</text>', svg).group(1))
    assert zero_x < drawn[0][0] and peak_x < drawn[0][0]  # the scale stands left of the first bar
    # The axis is level with the bars' feet, inside the picture, and every bar stands on it.
    x1, y1, x2, y2 = (
        float(n) for n in re.search(r'<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"', svg).groups()
    )
    assert y1 == y2 == pytest.approx(axis, abs=0.1) and 0 <= x1 < x2 <= width
    assert all(x1 <= x and x + w <= x2 for x, _, w, _, _ in drawn)
    weekly = re.findall(r'<text x="([\d.]+)" y="([\d.]+)">(\d\d-\d\d)</text>', svg)
    assert [label for _, _, label in weekly] == ["10-01", "10-08", "10-15", "10-22", "10-29", "11-05", "11-12", "11-19"]
    assert all(axis < float(y) <= height for _, y, _ in weekly)  # under the axis, inside the picture
    assert [float(x) for x, _, _ in weekly] == [bar[0] for bar in drawn[::7]]  # under their bars


def test_the_chart_counts_utc_days_whatever_the_machines_zone(monkeypatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        last = int(at("2026-11-25T00:00:00Z") // DAY)
        chart = activity_chart({last: 3}, last, days=7)
        assert (chart.first, chart.last) == ("2026-11-19", "2026-11-25")
        assert bars(str(chart.svg))[-1][4] == "2026-11-25: 3 messages"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_an_empty_chart_draws_no_bar_taller_than_nothing() -> None:
    chart = activity_chart({}, int(at("2026-11-25T00:00:00Z") // DAY), days=14)
    drawn = bars(str(chart.svg))
    assert chart.total == 0 and len(drawn) == 14 and all(h == 0 for _, _, _, h, _ in drawn)
    assert drawn[0][4] == "2026-11-12: 0 messages"


def test_a_single_students_report_holds_nothing_of_another_student(home, monkeypatch) -> None:
    from tutor_cli import desk, practice
    from tutor_cli.errors import TutorError

    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        desk.add_watch(store, "cheat")
        monkeypatch.setenv("TUTOR_NOW", "2026-10-01T08:00:00Z")  # the chart's first day
        store.create_session("ada", "algebra", "You are a tutor.")
        store.add_message("ada", "algebra", "user", "Where do I start?")
        monkeypatch.setenv("TUTOR_NOW", "2026-11-23T09:00:00Z")
        practice.import_deck(store, "ada", "d", [practice.NewCard("q", "a")], 0)
        practice.rate(
            store, practice.scheduler(fixed_clock=True), "ada", store.next_card("ada", 0), 3, at("2026-11-23T09:00:00Z")
        )
        store.create_session("bob", "secret", "You are a tutor.")
        store.add_message("bob", "secret", "user", "How do I cheat on the test?")
        monkeypatch.setenv("TUTOR_NOW", "2026-11-25T09:00:00Z")
        whole = write_site(store, PriceTable(), home / "class")
        one = write_site(store, PriceTable(), home / "not" / "yet" / "there", "ada")
        with pytest.raises(TutorError) as refused:
            write_site(store, PriceTable(), home / "tutor.db" / "report")
    assert (whole.pages, one.pages) == (5, 3)
    index = page(home / "class", "index.html")
    assert "<tr><td>bob</td>" in index and "<td>cheat</td>" in index  # bob's flagged message is listed
    assert "Messages per day, 2026-10-01 to 2026-11-25 (UTC): 2 in all." in index
    assert "Written by tutor on 2026-11-25 09:00 (UTC)." in index
    alone = home / "not" / "yet" / "there"
    assert "<title>Report for ada</title>" in page(alone, "index.html")
    for written in alone.rglob("*.html"):
        text = written.read_text(encoding="utf-8")
        assert "bob" not in text and "cheat" not in text, written
    assert "1 cards reviewed in all, 1 in the last 7 days" in page(alone, "students/ada-*.html")
    assert "pre code .k " in (alone / "style.css").read_text(encoding="utf-8")  # highlighting styled where it is used
    assert str(refused.value) == f"Cannot write the report into {home / 'tutor.db' / 'report'} (Not a directory)."
