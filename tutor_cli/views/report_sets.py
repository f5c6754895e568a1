"""The class report's page per problem set: per problem, who solved it, who is stuck, who is working
on it, each student linked to the session where they last worked on it. Read from stored verdicts only
(a teacher's process never reads a student's answer as mathematics). Rendered by report.py's
autoescaping environment, like every page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tutor_cli import problems

if TYPE_CHECKING:
    from tutor_cli.store import Store

SET_TEMPLATE = """{% extends "base.html" %}
{% block crumbs %} › {{ page.title }}{% endblock %}
{% block main %}
<p class="meta">{{ page.students }} students · {{ page.solved }} problems solved · {{ page.stuck }} stuck
(not solved, and 3 or more wrong attempts or 2 or more hints){% if not page.is_class %} · the own set of
{{ page.owner }}{% endif %}</p>
{% for p in page.problems %}<section>
<h2>Problem {{ p.key }}</h2>
<table class="problem">
<thead><tr><th>Solved</th><th>Stuck</th><th>Working</th><th>Solution opened first</th></tr></thead>
<tbody><tr>
{% for group in (p.solved, p.stuck, p.working, p.revealed) %}<td>{% for who in group %}{% if who.session
%}<a href="{{ session_href(who.student, who.session) }}">{{ who.label }}</a>{% else %}<a href="{{
student_href(who.student) }}">{{ who.label }}</a>{% endif %}{% if not loop.last %}, {% endif %}{% else
%}—{% endfor %}</td>
{% endfor %}</tr></tbody>
</table>
{% if p.untouched %}<p class="meta">Not started: {{ p.untouched | join(", ") }}</p>{% endif %}
</section>
{% endfor %}
{% endblock %}
"""


@dataclass(frozen=True)
class Who:
    student: str
    session: str | None
    label: str  # the student, with their attempts and hints


@dataclass
class ProblemPage:
    key: str
    solved: list[Who] = field(default_factory=list)
    stuck: list[Who] = field(default_factory=list)
    working: list[Who] = field(default_factory=list)
    revealed: list[Who] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)


@dataclass
class SetPage:
    title: str
    slug: str
    is_class: bool
    owner: str
    problems: list[ProblemPage] = field(default_factory=list)
    students: int = 0
    solved: int = 0
    stuck: int = 0


def set_pages(store: Store, student_id: str | None, slug: Callable[[str], str]) -> list[SetPage]:
    """A page per set with work of the class (or of one student) on it, in set and problem order."""
    pages: dict[tuple[str, bool, str], SetPage] = {}
    students: dict[tuple[str, bool, str], set[str]] = {}
    for row, stuck in problems.class_progress(store, None):
        if student_id is not None and row.student_id != student_id:
            continue
        owner = "" if row.is_class else row.student_id
        key = (row.set_name, row.is_class, owner)
        if key not in pages:
            title = row.set_name if row.is_class else f"{row.set_name} ({owner})"
            pages[key] = SetPage(title, slug(f"{row.set_name}\x1f{owner}"), row.is_class, owner)
            students[key] = set()
        page = pages[key]
        students[key].add(row.student_id)
        if not page.problems or page.problems[-1].key != row.problem:
            found = next((p for p in page.problems if p.key == row.problem), None)
            if found is None:
                page.problems.append(ProblemPage(row.problem))
        problem = next(p for p in page.problems if p.key == row.problem)
        status = row.status
        who = Who(row.student_id, status.session_id, f"{row.student_id} ({status.attempts} att., {status.hints} hints)")
        if status.status == "solved":
            problem.solved.append(who)
            page.solved += 1
        elif status.status == "revealed":
            problem.revealed.append(who)
        elif stuck:
            problem.stuck.append(who)
            page.stuck += 1
        elif status.status == "working" or status.attempts or status.session_id:
            problem.working.append(who)
        else:
            problem.untouched.append(row.student_id)
    for key, page in pages.items():
        page.students = len(students[key])
    return list(pages.values())
