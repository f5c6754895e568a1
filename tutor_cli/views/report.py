"""The class report: a static HTML site that opens from disk, offline, with no script.

    DIR/index.html                       the overview table, an activity chart (inline SVG), flags
    DIR/style.css                        one stylesheet (with Pygments' colours)
    DIR/students/<student>.html          profile, practice, figures, the sessions
    DIR/sessions/<student>/<session>.html  the transcript: Markdown, highlighted code, MathML

Escaping has one home: Jinja2's autoescape. Every value a template interpolates is escaped unless
it is `Markup`, and only three things make Markup: markdown-it-py with raw HTML off (its output
escapes all text; links go through `_safe_link`), Pygments (escapes code), and `_mathml`, which
re-serialises latex2mathml's output from an allow-list of MathML elements (latex2mathml itself
copies `\\text{<script>}` through raw, so its output is never trusted as it comes). A
Content-Security-Policy that forbids scripts and every fetch but the stylesheet backs this up.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from tutor_cli import desk
from tutor_cli.config import now
from tutor_cli.errors import TutorError
from tutor_cli.pricing import PriceTable, UsageTotals, totals_by_session
from tutor_cli.store.records import MessageRecord
from tutor_cli.views.report_sets import SET_TEMPLATE, set_pages

if TYPE_CHECKING:
    from tutor_cli.store import Store

CHART_DAYS = 56  # the activity chart: messages per day over the last eight weeks
FLAGS_ON_INDEX = 100
MATHML_NS = "http://www.w3.org/1998/Math/MathML"


@dataclass(frozen=True)
class Written:
    index: Path
    pages: int


# --- Markdown, code and math to safe HTML ---------------------------------------------------

MATHML_ELEMENTS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt",
    "mroot", "mstyle", "merror", "mpadded", "mphantom", "mfenced", "menclose", "munder", "mover",
    "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "mmultiscripts", "mprescripts", "none",
    "semantics", "annotation",
}  # fmt: skip
MATHML_ATTRIBUTES = {
    "display", "displaystyle", "mathvariant", "mathsize", "stretchy", "fence", "separator", "lspace",
    "rspace", "form", "largeop", "movablelimits", "accent", "accentunder", "symmetric", "minsize",
    "maxsize", "linethickness", "columnalign", "columnlines", "columnspacing", "rowalign", "rowlines",
    "rowspacing", "frame", "framespacing", "equalrows", "equalcolumns", "width", "height", "depth",
    "voffset", "notation", "open", "close", "separators", "scriptlevel", "align", "bevelled",
    "columnspan", "rowspan", "encoding",
}  # fmt: skip

ET.register_namespace("", MATHML_NS)


@lru_cache(maxsize=4096)
def _mathml(latex: str, display: bool) -> str | None:
    """MathML for the formula, rebuilt from allowed elements and attributes only; None when the
    formula cannot be converted or holds anything else (then its source is shown, escaped)."""
    from latex2mathml.converter import convert

    try:
        tree = ET.fromstring(convert(latex.strip(), display="block" if display else "inline"))
    except Exception:  # latex2mathml raises many kinds of error on bad input: show the source
        return None
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag.removeprefix("{" + MATHML_NS + "}") not in MATHML_ELEMENTS:
            return None
        for name in list(element.attrib):
            if name not in MATHML_ATTRIBUTES:
                del element.attrib[name]
    return ET.tostring(tree, encoding="unicode")


def _safe_link(url: str) -> bool:
    """Links a reader may follow: the web, mail, and anchors; never javascript:, data: or file:."""
    scheme = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*):", url)
    return scheme is None or scheme.group(1).lower() in {"http", "https", "mailto"}


def _highlight(code: str, language: str, attrs: Any) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        return ""  # no language, or one pygments does not know: markdown-it escapes it as plain code
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.texmath import texmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight})
    md.enable(["table", "strikethrough"])
    md.disable("image")  # an image would be fetched from the network: it stays a link
    md.validateLink = _safe_link
    # $…$ and $$…$$ (not money: no space inside the delimiters, no digit right after), \(…\) and \[…\].
    dollarmath_plugin(md, allow_space=False, allow_digits=False, double_inline=True)
    texmath_plugin(md, delimiters="brackets")

    def math(display: bool) -> Any:
        def render(renderer: Any, tokens: list, index: int, options: Any, env: Any) -> str:
            source = tokens[index].content
            mathml = _mathml(source, display)
            if mathml is None:
                return f'<code class="math-source">{_escape(source)}</code>' + ("\n" if display else "")
            return f'<div class="math">{mathml}</div>\n' if display else mathml

        return render

    for name in ("math_inline", "math_inline_double"):
        md.add_render_rule(name, math(False))
    for name in ("math_block", "math_block_label", "math_block_eqno"):
        md.add_render_rule(name, math(True))
    return md


def _escape(text: str) -> str:
    return str(escape(text))


# A message with nothing Markdown could act on is one escaped paragraph: the common short
# question skips the parser (a tenth of the time), with the same result as the parser gives.
_PLAIN = re.compile(r"[^\n\r*_`\[\]<>&!#\\$|~=+\-:@]*")
_LIST_START = re.compile(r"\d+[.)]")


def markdown_html(text: str) -> Any:
    """Markdown to HTML that cannot carry script or markup from `text`."""
    if _PLAIN.fullmatch(text) and text.strip() == text and text and not _LIST_START.match(text):
        return Markup(f"<p>{_escape(text)}</p>\n")
    return Markup(_markdown().render(text))


# --- the pages ----------------------------------------------------------------------------

CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="stylesheet" href="{{ root }}style.css">
</head>
<body>
<nav>{% if root %}<a href="{{ root }}index.html">{{ report_title }}</a>{% else %}<span aria-current="page">{{
report_title }}</span>{% endif %}{% block crumbs %}{% endblock %}</nav>
<main>
<h1>{{ title }}</h1>
{% block main %}{% endblock %}
</main>
<footer>Written by tutor on {{ generated }} (UTC). Works offline; no scripts.</footer>
</body>
</html>
""",
    "figures.html": """<table class="figures">
<thead><tr><th>Student</th><th>Sessions</th><th>Questions</th><th>Last active</th><th>Tokens</th>
<th>Est. cost</th><th>Cards reviewed</th><th>Flags</th></tr></thead>
<tbody>
{% for row in rows %}<tr{% if row.flags %} class="flagged"{% endif %}>
<td><a href="{{ student_href(row.student_id) }}">{{ row.student_id }}</a></td>
<td>{{ row.sessions }}</td><td>{{ row.questions }}</td><td>{{ when(row.last_active) }}</td>
<td>{{ "~" if row.totals.estimated else "" }}{{ "{:,}".format(row.tokens) }}</td><td>{{ money(row.cost_usd) }}</td>
<td>{{ row.cards_reviewed }}</td><td>{{ row.flags }}</td></tr>
{% endfor %}</tbody>
</table>
""",
    "index.html": """{% extends "base.html" %}
{% block main %}
<section>
<h2>Activity</h2>
<p>Messages per day, {{ chart.first }} to {{ chart.last }} (UTC): {{ "{:,}".format(chart.total) }} in all.</p>
{{ chart.svg }}
</section>
<section>
<h2>Students</h2>
{% if rows %}{% include "figures.html" %}{% else %}<p>No student activity yet.</p>{% endif %}
</section>
{% if sets %}<section>
<h2>Problem sets</h2>
<table class="sets">
<thead><tr><th>Set</th><th>Problems</th><th>Students</th><th>Solved</th><th>Stuck</th></tr></thead>
<tbody>
{% for page in sets %}<tr><td><a href="sets/{{ page.slug }}.html">{{ page.title }}</a></td>
<td>{{ page.problems | length }}</td><td>{{ page.students }}</td><td>{{ page.solved }}</td>
<td>{{ page.stuck }}</td></tr>
{% endfor %}</tbody>
</table>
</section>{% endif %}
{% if flags is not none %}<section>
<h2>Flagged messages</h2>
{% if flags %}<table class="flags">
<thead><tr><th>Student</th><th>Session</th><th>Time</th><th>Matched</th><th>Message</th></tr></thead>
<tbody>
{% for hit in flags %}<tr><td>{{ hit.message.student_id }}</td>
<td><a href="{{ session_href(hit.message.student_id, hit.message.session_id) }}#m{{ hit.message.id }}">{{
hit.message.session_id }}</a></td><td>{{ when(hit.message.created_at) }}</td>
<td>{{ hit.matched | join(", ") }}</td><td>{{ hit.snippet }}</td></tr>
{% endfor %}</tbody>
</table>{% else %}<p>No student message holds a phrase of the watch list.</p>{% endif %}
</section>{% endif %}
{% endblock %}
""",
    "student.html": """{% extends "base.html" %}
{% block crumbs %} › {{ student_id }}{% endblock %}
{% block main %}
{% include "figures.html" %}
<section>
<h2>Profile</h2>
{% if profile %}<div class="profile">{{ profile[0] }}</div>
{% if profile[1] %}<p class="meta">Updated {{ when(profile[1]) }}</p>{% endif %}
{% else %}<p>No profile yet.</p>{% endif %}
</section>
<section>
<h2>Practice</h2>
{% if not practice[0] %}<p>No cards reviewed yet.</p>
{% else %}<p>{{ practice[0] }} cards reviewed in all, {{ practice[1] }} in the last 7 days{% if practice[2] %};
last on {{ when(practice[2]) }}{% endif %}.</p>{% endif %}
</section>
<section>
<h2>Sessions</h2>
<table class="sessions">
<thead><tr><th>Session</th><th>Messages</th><th>Started</th><th>Last used</th><th>Model</th><th>Tokens</th>
<th>Est. cost</th></tr></thead>
<tbody>
{% for s, totals in sessions %}<tr>
<td><a href="{{ session_href(s.student_id, s.session_id) }}">{{ s.title or s.session_id }}</a>{%
if s.title %}<br><span class="meta">{{ s.session_id }}</span>{% endif %}</td>
<td>{{ s.message_count }}</td><td>{{ when(s.created_at) }}</td><td>{{ when(s.updated_at) }}</td>
<td>{{ s.model or "" }}</td>
<td>{{ "~" if totals.estimated else "" }}{{
"{:,}".format(totals.tokens.prompt_tokens + totals.tokens.completion_tokens) }}</td>
<td>{{ money(totals.cost if totals.priced else none) }}</td></tr>
{% endfor %}</tbody>
</table>
</section>
{% endblock %}
""",
    "set.html": SET_TEMPLATE,
    "session.html": """{% extends "base.html" %}
{% block crumbs %} › <a href="{{ student_href(session.student_id) }}">{{ session.student_id }}</a>
› {{ session.title or session.session_id }}{% endblock %}
{% block main %}
<p class="meta">Session {{ session.session_id }} · started {{ when(session.created_at) }}
· last used {{ when(session.updated_at) }}
{% if session.model %}· {{ session.model }}{% endif %} · {{ session.message_count }} messages</p>
<details><summary>System prompt</summary><div class="prompt">{{ session.system_prompt }}</div></details>
{% for m in messages %}<article class="message {{ m.role }}{% if m.withheld %} withheld{% endif %}" id="m{{ m.id }}">
<header><strong>{{ m.title }}</strong> <time>{{ m.when }}</time>
{% if m.interrupted %}<em>(interrupted)</em>{% endif %}
{% if m.withheld %}<em class="withheld">(withheld: it stated the answer, so the student never saw it)</em>{% endif %}
</header>
{% if m.reasoning %}<details class="reasoning"><summary>Reasoning</summary>
{{ m.reasoning }}</details>{% endif %}
{{ m.content }}</article>
{% endfor %}
{% endblock %}
""",
}

STYLE = """body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; }
nav { font-size: 0.9rem; margin-bottom: 1rem; } footer { color: #666; font-size: 0.8rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
td:nth-child(n+2) { font-variant-numeric: tabular-nums; }
tr.flagged td:last-child { color: #b00020; font-weight: bold; }
.message { border-left: 4px solid #ccc; margin: 1rem 0; padding: 0.2rem 0 0.2rem 1rem; overflow-wrap: anywhere; }
.message.user { border-color: #3b82f6; } .message.assistant { border-color: #10b981; }
.message header { font-size: 0.85rem; color: #555; } .meta { color: #555; font-size: 0.9rem; }
.reasoning { color: #666; font-size: 0.9rem; } .profile, .prompt { white-space: pre-wrap; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; } code { font-size: 0.9em; }
/* Sideways only: overflow-x alone makes overflow-y auto too, and a formula's ink reaching a few
   pixels past its box then draws a vertical scrollbar. The padding keeps that ink from being cut. */
.math { overflow-x: auto; overflow-y: hidden; padding: 0.4em 0; } .math-source { color: #a00; }
.message.withheld { border-color: #d97706; background: #fffbeb; } .withheld, .stuck { color: #b45309; }
svg.chart { width: 100%; height: auto; } svg.chart rect.bar { fill: #3b82f6; }
svg.chart text { font-size: 11px; fill: #555; }
"""


def report_title(student_id: str | None) -> str:
    """The index's title, which every page's navigation links back to."""
    return "Class report" if student_id is None else f"Report for {student_id}"


def _slug(text: str) -> str:
    """A file name for any id: its safe characters and a hash (distinct ids never share a file,
    even where the file system ignores case)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "id"
    return f"{readable}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(timestamp))


@dataclass(frozen=True)
class MessageView:
    """A message as the session page shows it. Prepared here rather than by calls inside the
    template, which cost more than the rest of a short message's page; the template still escapes
    every plain string (only `markdown_html` makes the Markup in `content` and `reasoning`)."""

    id: int
    role: str
    title: str
    when: str
    interrupted: bool
    content: Any
    reasoning: Any
    withheld: bool = False


def message_views(messages: Iterable[MessageRecord]) -> Iterator[MessageView]:
    for m in messages:
        yield MessageView(
            m.id,
            m.role,
            "Student" if m.role == "user" else "Tutor",
            _when(m.created_at),
            m.interrupted,
            markdown_html(m.content),
            markdown_html(m.reasoning) if m.reasoning else None,
            m.withheld,
        )


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:.4f}"


@dataclass(frozen=True)
class Chart:
    svg: Any
    first: str
    last: str
    total: int


def activity_chart(per_day: dict[int, int], last_day: int, days: int = CHART_DAYS) -> Chart:
    """An inline SVG bar chart of messages per day (each bar titled with its date and count)."""
    first_day = last_day - days + 1
    counts = [per_day.get(day, 0) for day in range(first_day, last_day + 1)]
    width, height, left, bottom, top = 760, 220, 44, 28, 12
    bar = (width - left - 8) / days
    peak = max(counts) or 1
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="Messages per day">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak:,}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>',
    ]
    for index, count in enumerate(counts):
        day = first_day + index
        label = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")
        bar_height = (height - bottom - top) * count / peak
        x = left + index * bar + 1
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{height - bottom - bar_height:.1f}" width="{bar - 2:.1f}"'
            f' height="{bar_height:.1f}"><title>{label}: {count:,} messages</title></rect>'
        )
        if index % 7 == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}">{label[5:]}</text>')
    parts.append("</svg>")
    # Built from numbers and dates only: nothing a student wrote is in it.
    return Chart(Markup("".join(parts)), _day_label(first_day), _day_label(last_day), sum(counts))


def _day_label(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")


class Site:
    """Writes the pages; every page is rendered by the one autoescaping environment."""

    def __init__(self, store: Store, prices: PriceTable, folder: Path, student_id: str | None = None) -> None:
        """`student_id`: the report is of that one student (its index is titled so)."""
        from jinja2 import DictLoader, Environment, StrictUndefined

        self.store = store
        self.prices = prices
        self.folder = folder
        self.pages = 0
        self.env = Environment(loader=DictLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
        self.env.globals.update(when=_when, money=_money, csp=CSP)
        self.env.globals["generated"] = _when(now())
        self.env.globals["report_title"] = report_title(student_id)

    def _write(self, relative: str, template: str, depth: int, **values: Any) -> None:
        root = "../" * depth
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        html = self.env.get_template(template).render(
            root=root,
            student_href=lambda student: f"{root}students/{_slug(student)}.html",
            session_href=lambda student, session: f"{root}sessions/{_slug(student)}/{_slug(session)}.html",
            **values,
        )
        path.write_text(html, encoding="utf-8")
        self.pages += 1

    def index(self, rows: list[desk.StudentRow], student_id: str | None) -> None:
        today = int(now() // 86400)
        chart = activity_chart(self.store.messages_per_day(today - CHART_DAYS + 1, student_id), today)
        flags = desk.flags(self.store, FLAGS_ON_INDEX, student_id)
        sets = set_pages(self.store, student_id, _slug)
        title = report_title(student_id)
        self._write("index.html", "index.html", 0, title=title, rows=rows, chart=chart, flags=flags, sets=sets)
        for page in sets:
            self._write(f"sets/{page.slug}.html", "set.html", 1, title=f"Problem set {page.title}", page=page)

    def student(self, row: desk.StudentRow) -> None:
        student_id = row.student_id
        sessions = self.store.list_sessions(student_id)
        totals = totals_by_session(self.store.usage_rows(student_id), self.prices)
        pairs = [(s, totals.get((s.student_id, s.session_id), UsageTotals())) for s in sessions]
        self._write(
            f"students/{_slug(student_id)}.html",
            "student.html",
            1,
            title=f"Student {student_id}",
            student_id=student_id,
            rows=[row],
            profile=self.store.student_profile(student_id),
            practice=self.store.practice_summary(student_id, now() - 7 * 86400),
            sessions=pairs,
        )
        for session in sessions:
            self._write(
                f"sessions/{_slug(student_id)}/{_slug(session.session_id)}.html",
                "session.html",
                2,
                title=session.title or f"Session {session.session_id}",
                session=session,
                messages=message_views(self.store.iter_messages(student_id, session.session_id)),
            )


def write_site(
    store: Store,
    prices: PriceTable,
    folder: Path,
    student_id: str | None = None,
    *,
    location: str | None = None,
    workers: int | None = None,
) -> Written:
    """Write the report of the class (or of one student) into `folder`.

    With `location` (the store's path or URL, which `SessionManager` opens), the student pages are
    written by `workers` processes (default: one per core, at most four), each with its own
    connection: the whole-class report is CPU-bound Markdown and templating."""
    rows = desk.overview(store, prices, None, student_id)  # the teaching side only, in a class database
    if student_id is not None and not rows:
        raise TutorError(f"No sessions for student {student_id!r}; `tutor class overview` lists the students.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "style.css").write_text(STYLE + _pygments_css(), encoding="utf-8")
    except OSError as error:
        raise TutorError(f"Cannot write the report into {folder} ({error.strerror}).") from None
    site = Site(store, prices, folder, student_id)
    site.index(rows, student_id)
    workers = min(workers or os.cpu_count() or 1, 4, len(rows))
    if location is None or workers < 2:
        for row in rows:
            site.student(row)
        return Written(folder / "index.html", site.pages)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shares = [rows[index::workers] for index in range(workers)]
    # spawn, not fork: a forked child would share (and on exit close) the parent's connection.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # Only a whole-class report has more than one student, so the workers' pages are the class's.
        same = ([location] * workers, [prices] * workers, [folder] * workers, shares)
        pages = sum(pool.map(_write_students, *same))
    return Written(folder / "index.html", site.pages + pages)


def _write_students(location: str, prices: PriceTable, folder: Path, rows: list[desk.StudentRow]) -> int:
    """A worker process: the pages of these students, through a connection of its own."""
    from tutor_cli.store import open_store

    store = open_store(location)
    try:
        site = Site(store, prices, folder)
        for row in rows:
            site.student(row)
        return site.pages
    finally:
        store.close()


def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter().get_style_defs("pre code")
