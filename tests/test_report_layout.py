"""The class report as a browser lays it out: display formulas scroll sideways only, and the
navigation links where it says."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

from tests.test_report import find_chromium, parsed
from tutor_cli import SessionManager

WIDE = "$$" + " + ".join(f"\\frac{{x_{{{i}}}^2}}{{{i}}}" for i in range(1, 40)) + "$$"
ANSWER = (
    "The roots are\n\n$$x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$$\n\nand the sum\n\n"
    "$$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n\nA long one:\n\n" + WIDE + "\n"
)
PROBE = """<script>
document.body.setAttribute("data-probe", JSON.stringify([...document.querySelectorAll(".math")].map(e => ({
  scrollHeight: e.scrollHeight, clientHeight: e.clientHeight, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth,
  verticalBar: e.offsetWidth - e.clientWidth - parseFloat(getComputedStyle(e).borderLeftWidth)
    - parseFloat(getComputedStyle(e).borderRightWidth)}))));
</script>"""


def write_report(run_tutor, home: Path) -> Path:
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "algebra", "You are a tutor.")
        manager.add_message("ada", "algebra", "user", "How do I solve a quadratic?")
        manager.add_message("ada", "algebra", "assistant", ANSWER)
    out = home / "report"
    result = run_tutor("class", "report", "--html", str(out))
    assert result.returncode == 0, result.stderr
    return out


def measure(chromium: str, page: Path) -> list[dict[str, float]]:
    """Each `.math` box's sizes as Chromium lays the page out, with the report's own stylesheet.

    The report forbids scripts (its CSP), so a copy of the page without the CSP and with a probe
    script is what is opened; the markup and the stylesheet are the report's."""
    copy = page.with_name("probe-" + page.name)
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text(encoding="utf-8"))
    copy.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="tutor-chromium-") as profile:
        result = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1024,768",
             f"--user-data-dir={profile}", "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    found = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert found, result.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_display_math_scrolls_sideways_only_and_is_not_clipped(run_tutor, home) -> None:
    chromium = find_chromium()
    out = write_report(run_tutor, home)
    page = next((out / "sessions").rglob("algebra-*.html"))
    boxes = measure(chromium, page)
    assert len(boxes) == 3
    for box in boxes:
        assert box["verticalBar"] == 0, boxes  # no ▲▼ scrollbar beside a formula
        assert box["scrollHeight"] <= box["clientHeight"], boxes  # and nothing cut off at the top or bottom
    assert boxes[2]["scrollWidth"] > boxes[2]["clientWidth"]  # the wide one still scrolls sideways


def test_the_navigation_never_links_a_page_to_itself(run_tutor, home) -> None:
    out = write_report(run_tutor, home)
    index = (out / "index.html").read_text(encoding="utf-8")
    nav = re.search(r"<nav>(.*?)</nav>", index, re.DOTALL).group(1)
    assert "Class report" in nav and "index.html" not in parsed(nav).links
    student = next((out / "students").glob("ada-*.html"))
    nav = re.search(r"<nav>(.*?)</nav>", student.read_text(encoding="utf-8"), re.DOTALL).group(1)
    assert '<a href="../index.html">Class report</a>' in nav
    session = next((out / "sessions").rglob("algebra-*.html"))
    nav = re.search(r"<nav>(.*?)</nav>", session.read_text(encoding="utf-8"), re.DOTALL).group(1)
    assert '<a href="../../index.html">Class report</a>' in nav
    assert f'<a href="../../students/{student.name}">ada</a>' in nav


def test_a_single_students_report_names_itself_in_the_navigation(run_tutor, home) -> None:
    write_report(run_tutor, home)
    out = home / "ada-only"
    assert run_tutor("class", "report", "--html", str(out), "--student", "ada").returncode == 0
    student = next((out / "students").glob("ada-*.html"))
    nav = re.search(r"<nav>(.*?)</nav>", student.read_text(encoding="utf-8"), re.DOTALL).group(1)
    assert '<a href="../index.html">Report for ada</a>' in nav


def test_session_links_read_as_titles_and_estimated_tokens_are_marked(run_tutor, home) -> None:
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "20261201-090000-b188", "You are a tutor.")
        manager.store.add_message("ada", "20261201-090000-b188", "user", "Why do fractions need a common denominator?")
        manager.store.add_message(
            "ada", "20261201-090000-b188", "assistant", "Because…", model="local",
            usage={"prompt_tokens": 1200, "completion_tokens": 34}, usage_estimated=True,
        )  # fmt: skip
    out = home / "report"
    assert run_tutor("class", "report", "--html", str(out)).returncode == 0
    student = next((out / "students").glob("ada-*.html")).read_text(encoding="utf-8")
    assert ">Why do fractions need a common denominator?</a>" in student
    assert "~1,234" in student
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "~1,234" in index
    session = next((out / "sessions").rglob("20261201-*.html")).read_text(encoding="utf-8")
    assert "<title>Why do fractions need a common denominator?</title>" in session
