"""The class report: written through the CLI, then opened in a real headless Chromium.

Chromium comes from the distribution (`apt-get install chromium`); without it these tests skip,
saying why, except where TUTOR_REQUIRE_CHROMIUM=1 (CI) makes that a failure.
"""

from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import assert_no_traceback
from tests.test_desk import school  # noqa: F401  (the class database fixture)
from tutor_cli import SessionManager
from tutor_cli.titles import default_title

XSS_QUESTION = "Is this safe? <script>alert(1)</script> <img src=x onerror=alert(1)> [go](javascript:alert(1))"
XSS_ANSWER = (
    "Here: <script>document.title='pwned'</script>"
    " <img src=x onerror=\"document.title='pwned'\"> <b onmouseover=alert(1)>bold</b>\n\n"
    "Formula $\\text{<script>x</script>}$ and $x^2 + y^2 = r^2$.\n\n"
    "$$\\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$$\n\n"
    "```python\nprint('<script>')\n```\n"
)


def find_chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("TUTOR_REQUIRE_CHROMIUM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def open_in_chromium(chromium: str, page: Path) -> tuple[str, list[str]]:
    """The page's DOM after it loaded (and any script ran), and what it wrote to the console."""
    with tempfile.TemporaryDirectory(prefix="tutor-chromium-") as profile:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


class Links(HTMLParser):
    """Every href/src and every id of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parsed(text: str) -> Links:
    parser = Links()
    parser.feed(text)
    return parser


@pytest.fixture
def class_store(home: Path) -> Path:
    """A personal store with two students, one of them with hostile text everywhere."""
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "algebra", "You are a tutor. <script>alert('prompt')</script>")
        manager.add_message("ada", "algebra", "user", XSS_QUESTION)
        manager.store.add_message(
            "ada",
            "algebra",
            "assistant",
            XSS_ANSWER,
            model="deepseek-flash",
            reasoning="First <script>alert('reasoning')</script> think about $a^2$.",
            usage={"prompt_tokens": 100, "completion_tokens": 50},
        )
        manager.create_session("bob <b>", "<script>alert('id')</script>", "p")
        manager.add_message("bob <b>", "<script>alert('id')</script>", "user", "I want to cheat on 方程")
    return home


def test_the_report_opens_in_chromium_without_errors_links_resolve_and_nothing_runs(run_tutor, class_store) -> None:
    chromium = find_chromium()
    assert run_tutor("admin", "watch", "add", "cheat").returncode == 0
    out = class_store / "report"
    result = run_tutor("class", "report", "--html", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Wrote 5 pages to {out}; open {out / 'index.html'}\n"
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 5
    with ThreadPoolExecutor(max_workers=2) as pool:
        opened = dict(zip(pages, pool.map(lambda page: open_in_chromium(chromium, page), pages), strict=True))
    for page, (dom, console) in opened.items():
        assert console == [], (page, console)
        found = parsed(dom)
        # Nothing a student or the model wrote became an element: no script, no image, no handler.
        assert "script" not in found.tags and "img" not in found.tags, page
        assert not re.search(r"<[^>]+\son\w+=", dom), page
        title = re.search(r"<title>(.*?)</title>", dom, re.DOTALL).group(1)
        assert "pwned" not in title and "javascript:" not in "".join(found.links), page
        for link in found.links:
            target = urlsplit(link)
            assert target.scheme in ("", "https", "http", "mailto"), link
            if target.scheme:
                continue
            path = (page.parent / unquote(target.path)).resolve() if target.path else page
            assert path.is_file(), (page, link)
            if target.fragment:
                assert target.fragment in parsed(path.read_text(encoding="utf-8")).ids, (page, link)
    index_dom = opened[out / "index.html"][0]
    assert "<svg" in index_dom and index_dom.count('class="bar"') == 56
    assert "Flagged messages" in index_dom and "«cheat»" in index_dom
    session_page = next(p for p in pages if p.parent.parent.name == "sessions" and "algebra" in p.name)
    dom = opened[session_page][0]
    # The page is titled by the session's title (its first question's opening words, escaped).
    title = html.escape(default_title(XSS_QUESTION), quote=False)
    assert f"<title>{title}</title>" in dom and "Session algebra" in dom
    assert dom.count("<math") == 3  # x²+y²=r², the quadratic formula, and a² in the reasoning
    assert '<code class="math-source">\\text{&lt;script&gt;x&lt;/script&gt;}</code>' in dom
    assert "<details" in dom and "Reasoning" in dom
    # The hostile text is on the page, as text.
    assert html.escape("<script>alert(1)</script>", quote=False) in dom
    assert html.escape("<img src=x onerror=alert(1)>", quote=False) in dom
    assert '<span class="k">print</span>' in dom or 'class="nb">print' in dom  # highlighted code


def content_security_policy(page: str) -> dict[str, list[str]]:
    """The directives of the page's one Content-Security-Policy <meta>, which must sit in its <head>."""
    head = page.split("</head>", 1)[0]
    policies = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', head)
    assert len(policies) == 1 and page.count("Content-Security-Policy") == 1, policies
    directives = [part.split() for part in html.unescape(policies[0]).split(";") if part.strip()]
    return {name: values for name, *values in directives}


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (the standard library's name)
        Recorder.requests.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_every_page_forbids_scripts_and_outside_requests(run_tutor, class_store) -> None:
    out = class_store / "report"
    assert run_tutor("class", "report", "--html", str(out)).returncode == 0
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 5
    for page in pages:
        policy = content_security_policy(page.read_text(encoding="utf-8"))
        assert policy["default-src"] == ["'none'"], page  # scripts, fetches, frames, fonts: none
        assert not {"script-src", "script-src-elem", "script-src-attr", "connect-src", "frame-src"} & set(policy)
        assert policy["img-src"] == ["data:"] and policy["style-src"] == ["'self'", "'unsafe-inline'"]
        assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'none'"]
    chromium = find_chromium()  # the policy is checked above; without Chromium the rest skips
    # What the policy must stop, slipped into a written page past the escaping: Chromium runs no
    # script and requests nothing from outside.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        outside = f"http://127.0.0.1:{server.server_address[1]}"
        page = out / "index.html"
        page.write_text(
            page.read_text(encoding="utf-8").replace(
                "<body>",
                f"<body><script>document.title = 'ran'</script><img src='{outside}/img'>"
                f"<link rel='stylesheet' href='{outside}/css'><iframe src='{outside}/frame'></iframe>",
            ),
            encoding="utf-8",
        )
        dom, console = open_in_chromium(chromium, page)
    finally:
        server.shutdown()
        server.server_close()
    assert "<title>Class report</title>" in dom and "ran" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    assert Recorder.requests == []
    assert any("Content Security Policy" in line for line in console), console


def test_a_single_students_report_and_an_unknown_student(run_tutor, class_store) -> None:
    out = class_store / "ada-only"
    result = run_tutor("class", "report", "--html", str(out), "--student", "ada")
    assert result.returncode == 0, result.stderr
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert len(names) == 3 and names[0] == "index.html" and all("bob" not in n for n in names)
    missing = run_tutor("class", "report", "--html", str(out), "--student", "nobody")
    assert missing.returncode == 1 and "No sessions for student 'nobody'" in missing.stderr
    assert_no_traceback(missing)


def test_markdown_links_math_and_the_plain_path() -> None:
    from markdown_it import MarkdownIt

    from tutor_cli.views.report import _mathml, markdown_html

    rendered = str(
        markdown_html("[a](javascript:alert(1)) [b](JaVaScRiPt:x) [c](data:text/html,x) [d](https://ok.example)")
    )
    assert rendered.count("<a ") == 1 and 'href="https://ok.example"' in rendered
    assert _mathml("\\text{<b>}", False) is None  # latex2mathml copies this through raw: refused
    assert _mathml("\\frac{1}{2}", True).startswith('<math xmlns="http://www.w3.org/1998/Math/MathML"')
    assert "$5 and $10" in str(markdown_html("It costs $5 and $10 today, see $HOME."))
    reference = MarkdownIt("commonmark", {"html": False})
    texts = (
        "How do I factor this quadratic?",
        'He said "hello" (twice)',
        "1) not plain",
        "a\tb c",
        "  two spaces",
        "end ",
    )
    for text in texts:
        assert html.unescape(str(markdown_html(text))) == html.unescape(reference.render(text)), text


def test_code_blocks_are_highlighted_in_one_box_and_unknown_languages_shown_plain() -> None:
    from tutor_cli.views.report import markdown_html

    python = str(markdown_html("```python\nx = 1  # one\n```"))
    assert python.count("<pre") == 1 and python.count("<code") == 1 and "<div" not in python
    assert '<span class="c1"># one</span>' in python  # highlighted by Pygments
    for language in ("no-such-language", ""):
        plain = str(markdown_html(f"```{language}\nif a < b: print(a)\n```"))
        assert ">if a &lt; b: print(a)\n</code></pre>" in plain
        assert plain.count("<pre") == 1


def test_web_mail_and_anchor_links_stay_links() -> None:
    from tutor_cli.views.report import markdown_html

    for link in (
        "http://plain.example/a",
        "HTTPS://loud.example",
        "mailto:teacher@school.example",
        "#top",
        "notes.html",
    ):
        rendered = str(markdown_html(f"[go]({link})"))
        assert rendered.count("<a ") == 1, link
    assert "<a " not in str(markdown_html("[go](file:///etc/passwd) [x](vbscript:run)"))


def test_every_id_gets_a_file_name_of_its_own() -> None:
    """Ids differing only in case, in characters a file name cannot hold, or in undecodable bytes
    (a session id typed on a terminal that is not UTF-8 arrives with lone surrogates)."""
    from tutor_cli.views.report import _slug

    ids = ["Ada", "ada", "ad/a", "ad:a", "ad\udce9", "ad\udce8", "../etc", ""]
    names = [_slug(text) for text in ids]
    assert len(set(names)) == len(ids) and len({name.lower() for name in names}) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", name) for name in names)


def test_a_file_name_reads_as_its_id_then_a_short_hash() -> None:
    """Runs of other characters become one `-`, none at either end; at most 40 readable characters;
    an id with nothing readable is `id`; then ten hex digits of the id's hash."""
    from tutor_cli.views.report import _slug

    def readable(text: str) -> str:
        name = _slug(text)
        assert re.fullmatch(r".+-[0-9a-f]{10}", name), name
        return name[:-11]

    assert readable("Xavier's  week 3: (draft)!") == "Xavier-s-week-3-draft"
    assert readable("!Ada_Lovelace-1!") == "Ada_Lovelace-1"
    assert readable("é") == readable("日本語") == "id"
    assert readable("a" * 45) == "a" * 40


def test_a_teacher_writes_the_class_report_and_a_student_cannot(run_tutor, school, tmp_path: Path) -> None:  # noqa: F811
    names, urls = school
    out = tmp_path / "report"
    result = run_tutor("class", "report", "--html", str(out), env={"TUTOR_DATABASE_URL": urls["tess"]})
    assert result.returncode == 0, result.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert names["ada"] in index and names["bob"] in index
    assert len(list((out / "sessions").rglob("*.html"))) == 2
    refused = run_tutor("class", "report", "--html", str(tmp_path / "x"), env={"TUTOR_DATABASE_URL": urls["ada"]})
    assert refused.returncode == 1 and "is for teachers" in refused.stderr
    assert_no_traceback(refused)
    assert json.loads(run_tutor("class", "overview", "-f", "json", env={"TUTOR_DATABASE_URL": urls["tess"]}).stdout)
