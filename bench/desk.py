"""The teacher's desk at class scale: 500 students, 1,000,000 messages, in SQLite and PostgreSQL.

Prints, for each backend: the bulk load, the index build, `class overview`, `search` of a rare
word (and of a two-character CJK word, which takes the scan path), `class flags`, and the HTML
report for the whole class and for one student. Goals: overview < 1 s, rare-word search < 300 ms,
whole-class report < 60 s, one student's report < 2 s.

Needs the PostgreSQL server programs (initdb, pg_ctl) for the PostgreSQL half.
Run: python bench/desk.py [--messages N] [--students N] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pg_server  # noqa: E402
from tutor_cli import desk  # noqa: E402
from tutor_cli.pricing import PriceTable  # noqa: E402
from tutor_cli.store import SQLiteStore  # noqa: E402
from tutor_cli.store.postgres import STUDENT_GROUP, TEACHER_GROUP, PostgresStore  # noqa: E402
from tutor_cli.views import report  # noqa: E402

RARE = "zygomorphic"
WATCHED = ("cheat on", "hurt myself", "答案给我")
SESSIONS_PER_STUDENT = 10
WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "this",
    "by",
    "be",
    "are",
    "function",
    "derivative",
    "integral",
    "limit",
    "matrix",
    "vector",
    "equation",
    "solve",
    "proof",
    "theorem",
    "why",
    "how",
    "what",
    "when",
    "step",
    "example",
    "number",
    "prime",
    "graph",
    "slope",
    "area",
    "volume",
    "probability",
    "mean",
    "variance",
    "sample",
    "series",
    "sum",
    "product",
    "root",
    "square",
    "cube",
    "angle",
    "triangle",
    "circle",
    "sine",
    "cosine",
    "tangent",
    "log",
    "exponent",
    "factor",
    "polynomial",
    "quadratic",
    "linear",
    "system",
    "方程",
    "函数",
    "导数",
    "积分",
    "极限",
    "矩阵",
    "向量",
    "解",
    "证明",
    "例子",
    "为什么",
    "怎么",
]


def student_name(index: int) -> str:
    return f"s{index:03d}"


def rows(students: int, messages: int, now: float, seed: int = 7) -> Iterator[tuple]:
    """(session index, student, role, content, created_at, model, usage…) in insertion order."""
    rng = random.Random(seed)
    sessions = students * SESSIONS_PER_STUDENT
    per_session = messages // sessions
    start = now - 60 * 86400
    rare_at = {messages // 7, messages // 2, messages - 5}
    count = 0
    for turn in range(per_session):
        for session in range(sessions):
            role = "user" if turn % 2 == 0 else "assistant"
            words = rng.choices(WORDS, k=14 if role == "user" else 45)
            if count in rare_at:
                words.insert(3, RARE)
            if role == "user" and rng.random() < 60 / messages:  # a few dozen flagged questions
                words.insert(2, rng.choice(WATCHED))
            content = " ".join(words)
            when = start + (turn * sessions + session) * (60 * 86400 / messages)
            if role == "assistant":
                hit = rng.randint(0, 900)
                usage = (1000 + turn * 40, 120, 0, hit, 1000 + turn * 40 - hit)
                yield (
                    session,
                    student_name(session // SESSIONS_PER_STUDENT),
                    role,
                    content,
                    when,
                    "deepseek-flash",
                    *usage,
                )
            else:
                yield (session, student_name(session // SESSIONS_PER_STUDENT), role, content, when, None, *(None,) * 5)
            count += 1


COLUMNS = (
    "session_pk, student_id, role, content, created_at, model,"
    " prompt_tokens, completion_tokens, reasoning_tokens, cache_hit_tokens, cache_miss_tokens, tokens"
)


def load_sqlite(path: Path, students: int, messages: int, now: float) -> None:
    store = SQLiteStore(path)
    conn = store._conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    sessions = students * SESSIONS_PER_STUDENT
    conn.executemany(
        "INSERT INTO sessions (id, student_id, session_id, system_prompt, created_at, updated_at, message_count)"
        " VALUES (?, ?, ?, 'You are a tutor.', ?, ?, ?)",
        [
            (s + 1, student_name(s // SESSIONS_PER_STUDENT), f"lesson-{s % SESSIONS_PER_STUDENT}", now, now, 0)
            for s in range(sessions)
        ],
    )
    conn.executemany(
        f"INSERT INTO messages ({COLUMNS}) VALUES ({', '.join('?' * 12)})",
        ((r[0] + 1, *r[1:], len(r[3]) // 4) for r in rows(students, messages, now)),
    )
    conn.execute(
        "UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE session_pk = sessions.id),"
        " updated_at = (SELECT max(created_at) FROM messages WHERE session_pk = sessions.id)"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    store.close()


def load_postgres(url: str, students: int, messages: int, now: float) -> float:
    """COPY the class in, then build the trigram index over it; returns the index build's seconds."""
    store = PostgresStore(url, migrate=True)
    # The index is dropped for the load and built again as the migration builds it over the
    # messages a class database already holds.
    store._conn.execute("DROP INDEX messages_content_trgm")
    conn = store._conn
    sessions = students * SESSIONS_PER_STUDENT
    with conn.cursor().copy(
        "COPY sessions (id, student_id, session_id, system_prompt, created_at, updated_at) FROM STDIN"
    ) as copy:
        for s in range(sessions):
            copy.write_row(
                (s + 1, student_name(s // SESSIONS_PER_STUDENT), f"lesson-{s % 10}", "You are a tutor.", now, now)
            )
    with conn.cursor().copy(f"COPY messages ({COLUMNS}) FROM STDIN") as copy:
        for r in rows(students, messages, now):
            copy.write_row((r[0] + 1, *r[1:], len(r[3]) // 4))
    conn.execute("SELECT setval('sessions_id_seq', (SELECT max(id) FROM sessions))")
    conn.execute(
        "UPDATE sessions s SET message_count = c.n, updated_at = c.last FROM"
        " (SELECT session_pk, count(*) n, max(created_at) last FROM messages GROUP BY session_pk) c"
        " WHERE c.session_pk = s.id"
    )
    start = time.perf_counter()
    conn.execute("CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops)")
    took = time.perf_counter() - start
    conn.execute("VACUUM ANALYZE")
    store.add_member("tess", "pw", TEACHER_GROUP)
    store.add_member(student_name(7), "pw", STUDENT_GROUP)
    store.close()
    return took


def timed(label: str, action, repeat: int = 3) -> object:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<44} {best * 1000:9.1f} ms (best of {repeat})")
    return result


def measure(store_for, label: str, work: Path) -> None:
    teacher = store_for("teacher")
    prices = PriceTable()
    for phrase in WATCHED:
        if teacher.dialect == "sqlite":
            desk.add_watch(teacher, phrase)
    rows_ = timed("class overview (all figures, 500 students)", lambda: desk.overview(teacher, prices, None))
    print(
        f"    {len(rows_)} students, {sum(r.questions for r in rows_):,} questions, {sum(r.flags for r in rows_)} flags"
    )
    hits = timed(f"search {RARE!r} (class)", lambda: desk.search(teacher, [RARE], None))
    print(f"    {len(hits)} messages found")
    timed("search 'derivative' 'zygomorphic' (two terms)", lambda: desk.search(teacher, ["derivative", RARE], None))
    timed("search '方程' (2 characters: the scan path)", lambda: desk.search(teacher, ["方程"], None), repeat=1)
    timed("class flags", lambda: desk.flags(teacher, 200))
    student = store_for("student")
    if student is not teacher:
        found = timed(f"search {RARE!r} as a student (own rows)", lambda: desk.search(student, [RARE], None))
        print(f"    {len(found)} messages found")
    timed("report, one student", lambda: report.write_site(teacher, prices, work / f"{label}-one", student_name(7)), 1)
    start = time.perf_counter()
    written = report.write_site(teacher, prices, work / f"{label}-class")
    print(f"  {'report, whole class':<44} {time.perf_counter() - start:9.1f} s  ({written.pages:,} pages)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--keep", type=Path, help="Keep the SQLite store here (reused when it exists).")
    args = parser.parse_args()
    now = time.time()
    work = Path(tempfile.mkdtemp(prefix="tutor-desk-bench-"))
    print(f"{args.students} students, {args.messages:,} messages, {args.students * SESSIONS_PER_STUDENT:,} sessions")
    try:
        if args.only in (None, "sqlite"):
            print("SQLite")
            path = args.keep or work / "tutor.db"
            if not path.exists():
                start = time.perf_counter()
                load_sqlite(path, args.students, args.messages, now)
                print(f"  {'load with the FTS5 triggers':<44} {time.perf_counter() - start:9.1f} s")
            store = SQLiteStore(path)
            measure(lambda who: store, "sqlite", work)
            store.close()
        if args.only in (None, "postgresql"):
            print("PostgreSQL")
            base = Path(tempfile.mkdtemp(prefix="tutor-desk-bench-pg-"))  # chowned to postgres by pg_server
            admin_url = pg_server.start(base, max_connections=50)
            try:
                start = time.perf_counter()
                migrate = load_postgres(admin_url, args.students, args.messages, now)
                print(f"  {'load (COPY) and migrate':<44} {time.perf_counter() - start:9.1f} s")
                print(f"  {'  of which the pg_trgm index build':<44} {migrate:9.1f} s")
                admin = PostgresStore(admin_url)
                for phrase in WATCHED:
                    desk.add_watch(admin, phrase)
                admin.close()
                parts = urlsplit(admin_url)

                def url(user: str) -> str:
                    return urlunsplit(parts._replace(netloc=f"{user}:pw@{parts.hostname}:{parts.port}"))

                stores = {"teacher": PostgresStore(url("tess")), "student": PostgresStore(url(student_name(7)))}
                measure(lambda who: stores[who], "postgresql", work)
                for store in stores.values():
                    store.close()
            finally:
                pg_server.stop(base)
                shutil.rmtree(base, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
