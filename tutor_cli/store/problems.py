"""Problems: sets, their problems, and each student's attempts, hints and status per problem; plus the
`withheld` mark on messages (a reply the answer guard stopped). Tables, policies and queries.

A set belongs to one student (`student_id` their id) or, in a class database, to the class
(`student_id` = CLASS_SET, the empty string); its problems carry the same `student_id`, as decks and
cards do. A student's rows about a problem (status, attempts, hints) carry the problem's owner in
`owner` with a foreign key on (problem_id, owner) and a CHECK that the owner is the class or the
student: a student's row can never name another student's private problem, whatever they insert
(foreign keys are checked without row-level security, so the CHECK is what holds that line).

The rules (what an attempt does to a status, when a solution opens, who is stuck) are in
tutor_cli/problems.py; the queries here take the new status from a function the domain passes in, and
apply it under a lock on the status row, so concurrent attempts of one student never lose a count.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from tutor_cli.store import rls
from tutor_cli.store.base import Backend
from tutor_cli.store.records import CLASS_SET, ProblemRecord, ProgressRow, SetRecord, Status

STATUSES = ("new", "working", "solved", "revealed")


STATUS_COLUMNS = (
    "status",
    "attempts",
    "wrong",
    "hints",
    "first_try",
    "solved_at",
    "solution_opened_at",
    "session_id",
    "updated_at",
)
SET_INSERT = ("student_id", "name", "title", "solution_after", "created_at", "updated_at")
SET_UPDATE = ("title", "solution_after", "updated_at")
PROBLEM_UPDATE = (
    "position",
    "statement",
    "answer",
    "kind",
    "skills",
    "hints",
    "solution",
    "tolerance",
    "updated_at",
)
PROBLEM_INSERT = ("set_id", "student_id", "problem_key", *PROBLEM_UPDATE)
ATTEMPT_COLUMNS = ("student_id", "problem_id", "owner", "text", "correct", "hints_before", "session_id", "created_at")
HINT_COLUMNS = ("student_id", "problem_id", "owner", "level", "text", "source", "session_id", "created_at")
PROBLEM_COLUMNS = (
    "p.id, p.set_id, p.student_id, p.problem_key, p.position, p.statement, p.answer, p.kind, p.skills, p.hints,"
    " p.solution, p.tolerance"
)


# --- schema (both backends: the types are spelled so that each reads them) ----------------------


def _create(conn: Any, serial: str, real: str, blob_int: str) -> None:
    conn.execute(
        f"""CREATE TABLE problem_sets (
            id {serial} PRIMARY KEY,
            student_id text NOT NULL,
            name text NOT NULL,
            title text,
            solution_after integer CHECK (solution_after >= 0),
            created_at {real} NOT NULL,
            updated_at {real} NOT NULL,
            UNIQUE (student_id, name),
            UNIQUE (id, student_id)
        )"""
    )
    conn.execute(
        f"""CREATE TABLE problems (
            id {serial} PRIMARY KEY,
            set_id {blob_int} NOT NULL,
            student_id text NOT NULL,
            problem_key text NOT NULL,
            position integer NOT NULL,
            statement text NOT NULL,
            answer text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('math', 'choice', 'text')),
            skills text NOT NULL DEFAULT '[]',
            hints text NOT NULL DEFAULT '[]',
            solution text,
            tolerance {real},
            updated_at {real} NOT NULL,
            UNIQUE (set_id, problem_key),
            UNIQUE (id, student_id),
            FOREIGN KEY (set_id, student_id) REFERENCES problem_sets (id, student_id) ON DELETE CASCADE
        )"""
    )
    mine = "CHECK (owner = '' OR owner = student_id)"  # the class's problem, or the student's own
    parent = "FOREIGN KEY (problem_id, owner) REFERENCES problems (id, student_id) ON DELETE CASCADE"
    conn.execute(
        f"""CREATE TABLE problem_status (
            student_id text NOT NULL,
            problem_id {blob_int} NOT NULL,
            owner text NOT NULL,
            status text NOT NULL CHECK (status IN ('new', 'working', 'solved', 'revealed')),
            attempts integer NOT NULL DEFAULT 0,
            wrong integer NOT NULL DEFAULT 0,
            hints integer NOT NULL DEFAULT 0,
            first_try integer NOT NULL DEFAULT 0,
            solved_at {real},
            solution_opened_at {real},
            session_id text,
            updated_at {real} NOT NULL,
            PRIMARY KEY (student_id, problem_id),
            {mine},
            {parent}
        )"""
    )
    conn.execute(
        f"""CREATE TABLE problem_attempts (
            id {serial} PRIMARY KEY,
            student_id text NOT NULL,
            problem_id {blob_int} NOT NULL,
            owner text NOT NULL,
            text text NOT NULL,
            correct integer NOT NULL,
            hints_before integer NOT NULL,
            session_id text,
            created_at {real} NOT NULL,
            {mine},
            {parent}
        )"""
    )
    conn.execute(
        f"""CREATE TABLE problem_hints (
            id {serial} PRIMARY KEY,
            student_id text NOT NULL,
            problem_id {blob_int} NOT NULL,
            owner text NOT NULL,
            level integer NOT NULL,
            text text NOT NULL,
            source text NOT NULL CHECK (source IN ('file', 'model')),
            session_id text,
            created_at {real} NOT NULL,
            {mine},
            {parent}
        )"""
    )
    conn.execute("CREATE INDEX problems_by_owner ON problems (student_id, set_id, position)")
    conn.execute("CREATE INDEX problem_status_by_problem ON problem_status (problem_id)")
    conn.execute("CREATE INDEX problem_attempts_by_student ON problem_attempts (student_id, problem_id, id)")
    conn.execute("CREATE INDEX problem_attempts_by_problem ON problem_attempts (problem_id)")
    conn.execute("CREATE INDEX problem_hints_by_student ON problem_hints (student_id, problem_id, id)")
    conn.execute("CREATE INDEX problem_hints_by_problem ON problem_hints (problem_id)")


def sqlite_create(conn: Any) -> None:
    _create(conn, "INTEGER", "REAL", "INTEGER")
    conn.execute("ALTER TABLE messages ADD COLUMN withheld INTEGER NOT NULL DEFAULT 0")


def postgres_create(conn: Any) -> None:
    _create(conn, "bigserial", "double precision", "bigint")
    conn.execute("ALTER TABLE messages ADD COLUMN withheld integer NOT NULL DEFAULT 0")
    student, _ = rls.groups(conn)
    # A student stores a withheld draft in their own session like any answer (the messages policy
    # already holds the row to them); no one updates a message, so no one can unmark one.
    conn.execute(f"GRANT INSERT (withheld) ON messages TO {student}")
    # Sets and problems: a student's own, and the class's, which only teachers and the administrator change.
    rls.class_or_own_rows(conn, "problem_sets", class_owner=CLASS_SET, insert=SET_INSERT, update=SET_UPDATE)
    rls.class_or_own_rows(conn, "problems", class_owner=CLASS_SET, insert=PROBLEM_INSERT, update=PROBLEM_UPDATE)
    # A student's standing, attempts and hints are their own, on class problems too; attempts and hints
    # are a log: added, never changed.
    rls.students_own_rows(
        conn,
        "problem_status",
        insert=("student_id", "problem_id", "owner", *STATUS_COLUMNS),
        update=STATUS_COLUMNS,
        sequence=False,
    )
    rls.students_own_rows(conn, "problem_attempts", insert=ATTEMPT_COLUMNS)
    rls.students_own_rows(conn, "problem_hints", insert=HINT_COLUMNS)


# --- queries ------------------------------------------------------------------------------------


class ProblemQueries(Backend):
    """Problem sets, problems, and each student's work on them."""

    # -- sets --

    def import_problem_set(
        self,
        owner: str,
        name: str,
        title: str | None,
        solution_after: int | None,
        problems: Sequence[dict[str, Any]],
        now: float,
    ) -> tuple[int, int, int]:
        """Create or update the set `name` of `owner` with these problems (dicts with key, statement,
        answer, kind, skills, hints, solution, tolerance), in one transaction: a problem whose key is
        already in the set is updated in place (its students' work stays), a new one is added.
        Returns (added, updated, kept: problems of the set that the file no longer has)."""
        with self._transaction() as conn:
            self._run(
                conn,
                "INSERT INTO problem_sets (student_id, name, title, solution_after, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (student_id, name) DO UPDATE SET title = excluded.title,"
                " solution_after = excluded.solution_after, updated_at = excluded.updated_at",
                (owner, name, title, solution_after, now, now),
            )
            set_id = self._run(
                conn, "SELECT id FROM problem_sets WHERE student_id = ? AND name = ?", (owner, name)
            ).fetchone()[0]
            present = {
                row[0]
                for row in self._run(conn, "SELECT problem_key FROM problems WHERE set_id = ?", (set_id,)).fetchall()
            }
            for position, problem in enumerate(problems):
                values = (
                    position,
                    problem["statement"],
                    problem["answer"],
                    problem["kind"],
                    json.dumps(list(problem["skills"]), ensure_ascii=False),
                    json.dumps(list(problem["hints"]), ensure_ascii=False),
                    problem["solution"],
                    problem["tolerance"],
                    now,
                )
                self._run(
                    conn,
                    f"INSERT INTO problems ({', '.join(PROBLEM_INSERT)}) VALUES ({_marks(PROBLEM_INSERT)})"
                    " ON CONFLICT (set_id, problem_key) DO UPDATE SET "
                    + ", ".join(f"{column} = excluded.{column}" for column in PROBLEM_UPDATE),
                    (set_id, owner, problem["key"], *values),
                )
            keys = {problem["key"] for problem in problems}
            kept = present - keys
            if kept:  # after the file's problems, in their old order
                self._run(
                    conn,
                    "UPDATE problems SET position = position + ? WHERE set_id = ? AND problem_key NOT IN"
                    f" ({_marks(sorted(keys))})",
                    (len(problems) + 1_000_000, set_id, *sorted(keys)),
                )
            return len(keys - present), len(keys & present), len(kept)

    def _set_rows(self, where: str, args: tuple) -> list[SetRecord]:
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT s.id, s.student_id, s.name, s.title, s.solution_after,"
                " (SELECT count(*) FROM problems p WHERE p.set_id = s.id), s.created_at"
                f" FROM problem_sets s WHERE {where} ORDER BY s.name, s.student_id DESC",
                args,
            ).fetchall()
        return [SetRecord(*row) for row in rows]

    def problem_sets(self, student_id: str | None) -> list[SetRecord]:
        """The student's sets and the class's (only the class's when `student_id` is None)."""
        owners = (CLASS_SET,) if student_id is None else (student_id, CLASS_SET)
        return self._set_rows(f"s.student_id IN ({_marks(owners)})", owners)

    def problem_set(self, student_id: str | None, name: str) -> SetRecord | None:
        """The set `name` this student works on: their own before the class's of the same name."""
        found = self._set_rows("s.name = ? AND s.student_id IN (?, ?)", (name, student_id or CLASS_SET, CLASS_SET))
        return found[0] if found else None

    def owned_problem_set(self, owner: str, name: str) -> SetRecord | None:
        found = self._set_rows("s.name = ? AND s.student_id = ?", (name, owner))
        return found[0] if found else None

    def delete_problem_set(self, owner: str, name: str) -> int | None:
        """Delete the set with its problems and everyone's work on them; its problem count, or None."""
        record = self.owned_problem_set(owner, name)
        if record is None:
            return None
        with self._transaction() as conn:
            self._run(conn, "DELETE FROM problem_sets WHERE id = ?", (record.id,))
        return record.problems

    # -- problems --

    def problems_of(self, set_id: int) -> list[ProblemRecord]:
        with self._reading() as conn:
            sql = f"SELECT {PROBLEM_COLUMNS} FROM problems p WHERE p.set_id = ? ORDER BY p.position, p.id"
            rows = self._run(conn, sql, (set_id,)).fetchall()
        return [_problem(row) for row in rows]

    # -- a student's work --

    def statuses(self, student_id: str, set_id: int) -> dict[int, Status]:
        """This student's status of each problem of the set they have started (by problem id)."""
        with self._reading() as conn:
            rows = self._run(
                conn,
                f"SELECT st.problem_id, {', '.join('st.' + c for c in STATUS_COLUMNS)} FROM problem_status st"
                " JOIN problems p ON p.id = st.problem_id WHERE st.student_id = ? AND p.set_id = ?",
                (student_id, set_id),
            ).fetchall()
        return {row[0]: _status(row[1:]) for row in rows}

    def record_work(
        self,
        student_id: str,
        problem: ProblemRecord,
        advance: Callable[[Status], Status],
        *,
        attempt: tuple[str, bool] | None = None,
        hint: tuple[int, str, str] | None = None,
        session_id: str | None,
        now: float,
    ) -> Status:
        """Record one step of a student's work in one transaction: an attempt (text, right) or a hint
        (level, text, source) or neither (the solution opened), and the status `advance` makes of the
        current one, read under a lock so that two processes never lose a count. Returns the new status."""
        with self._transaction() as conn:
            # The row exists before it is read, so the lock below has something to hold even on the
            # first step (two first attempts at once would otherwise both start from nothing).
            self._run(
                conn,
                "INSERT INTO problem_status (student_id, problem_id, owner, status, updated_at)"
                " VALUES (?, ?, ?, 'new', ?) ON CONFLICT (student_id, problem_id) DO NOTHING",
                (student_id, problem.id, problem.owner, now),
            )
            lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
            row = self._run(
                conn,
                f"SELECT {', '.join(STATUS_COLUMNS)} FROM problem_status WHERE student_id = ? AND problem_id = ?{lock}",
                (student_id, problem.id),
            ).fetchone()
            old = _status(row) if row else Status()
            new = advance(old)
            last_session = session_id if session_id is not None else old.session_id  # `tutor answer` has none
            if attempt is not None:
                self._run(
                    conn,
                    f"INSERT INTO problem_attempts ({', '.join(ATTEMPT_COLUMNS)}) VALUES ({_marks(ATTEMPT_COLUMNS)})",
                    (student_id, problem.id, problem.owner, attempt[0], int(attempt[1]), old.hints, session_id, now),
                )
            if hint is not None:
                self._run(
                    conn,
                    f"INSERT INTO problem_hints ({', '.join(HINT_COLUMNS)}) VALUES ({_marks(HINT_COLUMNS)})",
                    (student_id, problem.id, problem.owner, *hint, session_id, now),
                )
            values = (
                new.status,
                new.attempts,
                new.wrong,
                new.hints,
                int(new.first_try),
                new.solved_at,
                new.solution_opened_at,
                last_session,
                now,
            )
            self._run(
                conn,
                f"INSERT INTO problem_status (student_id, problem_id, owner, {', '.join(STATUS_COLUMNS)})"
                f" VALUES (?, ?, ?, {_marks(STATUS_COLUMNS)}) ON CONFLICT (student_id, problem_id) DO UPDATE SET "
                + ", ".join(f"{column} = excluded.{column}" for column in STATUS_COLUMNS),
                (student_id, problem.id, problem.owner, *values),
            )
        return Status(*values[:4], bool(values[4]), *values[5:])

    def attempts_of(self, student_id: str, problem_id: int) -> list[tuple[str, bool, int, float]]:
        """(text, right, hints seen before, time) of each attempt, oldest first."""
        with self._reading() as conn:
            rows = self._run(
                conn,
                "SELECT text, correct, hints_before, created_at FROM problem_attempts"
                " WHERE student_id = ? AND problem_id = ? ORDER BY id",
                (student_id, problem_id),
            ).fetchall()
        return [(row[0], bool(row[1]), row[2], row[3]) for row in rows]

    def hints_of(self, student_id: str, problem_id: int) -> list[tuple[int, str, str, float]]:
        """(level, text, source, time) of each hint the student was given, in order."""
        with self._reading() as conn:
            return [
                tuple(row)
                for row in self._run(
                    conn,
                    "SELECT level, text, source, created_at FROM problem_hints"
                    " WHERE student_id = ? AND problem_id = ? ORDER BY id",
                    (student_id, problem_id),
                ).fetchall()
            ]

    # -- progress --

    def problem_progress(self, student_id: str | None, set_name: str | None = None) -> list[ProgressRow]:
        """One row per student and problem, in set and problem order. For one student: every problem
        of their sets and the class's (status `new` where they have not started). For the whole class
        (None, a teacher): every status row, and `new` rows for the class's problems and every student
        the store knows (from sessions and work) who has not started them."""
        status_columns = ", ".join(f"st.{c}" for c in STATUS_COLUMNS)
        named = " AND s.name = ?" if set_name is not None else ""
        named_args = (set_name,) if set_name is not None else ()
        base = (
            "SELECT {who}, s.name, s.student_id = '', p.problem_key, p.skills, {status}"
            " FROM problems p JOIN problem_sets s ON s.id = p.set_id {join} WHERE {where}" + named
        )
        with self._reading() as conn:
            if student_id is not None:
                rows = self._run(
                    conn,
                    base.format(
                        who="?",
                        status=status_columns,
                        join="LEFT JOIN problem_status st ON st.problem_id = p.id AND st.student_id = ?",
                        where="p.student_id IN (?, '')",
                    )
                    + " ORDER BY s.name, s.student_id DESC, p.position, p.id",
                    (student_id, student_id, student_id, *named_args),
                ).fetchall()
            else:
                started = base.format(
                    who="st.student_id",
                    status=status_columns,
                    join="JOIN problem_status st ON st.problem_id = p.id",
                    where="1 = 1",
                )
                nulls = ", ".join("NULL" for _ in STATUS_COLUMNS)
                fresh = base.format(
                    who="k.student_id",
                    status=nulls,
                    join="CROSS JOIN (SELECT student_id FROM sessions UNION SELECT student_id FROM problem_status) k",
                    where="p.student_id = '' AND NOT EXISTS (SELECT 1 FROM problem_status x"
                    " WHERE x.problem_id = p.id AND x.student_id = k.student_id)",
                )
                rows = self._run(conn, f"{started} UNION ALL {fresh}", (*named_args, *named_args)).fetchall()
                order = {key: n for n, key in enumerate(self._problem_order(conn))}
                rows.sort(key=lambda r: (r[0], r[1], not r[2], order.get((r[1], r[2], r[3]), 0)))
        return [
            ProgressRow(row[0], row[1], bool(row[2]), row[3], tuple(json.loads(row[4])), _status(row[5:], missing=True))
            for row in rows
        ]

    def _problem_order(self, conn: Any) -> list[tuple[str, bool, str]]:
        return [
            (row[0], bool(row[1]), row[2])
            for row in self._run(
                conn,
                "SELECT s.name, s.student_id = '', p.problem_key FROM problems p JOIN problem_sets s ON s.id = p.set_id"
                " ORDER BY p.set_id, p.position, p.id",
            ).fetchall()
        ]


def _problem(row: tuple) -> ProblemRecord:
    return ProblemRecord(
        *row[:8], tuple(json.loads(row[8])), tuple(json.loads(row[9])), row[10], None if row[11] is None else row[11]
    )


def _status(row: Sequence[Any], *, missing: bool = False) -> Status:
    if missing and row[0] is None:
        return Status()
    return Status(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7], row[8])


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))
