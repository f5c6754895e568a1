"""Row-level security for the class database: the groups, and the policies every student table gets.

Every table that holds a student's data is created together with its policies, in the same
migration, through these functions, so no table can be born without them. Only SQL text here:
the migrations run it on the administrator's connection.

The rules, and why:
- Each class database has its own groups (`group_names`): two classes on one server share nothing.
- Policies compare `student_id` with the *login* (`OWNER`, `session_user`), never `current_user`:
  a member of a group can `SET ROLE` to it (PostgreSQL 15 cannot forbid that), and `current_user`
  would then be a second, shared identity. `session_user` cannot be changed by a student.
- Privileges are by column: a student inserts only the columns tutor writes (never an id, so no
  student can claim ids ahead of a sequence) and updates only the columns tutor updates.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# The server-wide groups of schemas 2 and 3 (before each database had its own); the hardening
# migration moves their members to the database's own groups and strips them of every right there.
# `PostgresStore.add_member` still takes these two names to mean "this database's student (teacher)
# group", so callers never need the database's own names.
STUDENT_GROUP = "tutor_student"
TEACHER_GROUP = "tutor_teacher"
# Whose rows a connection may touch: the SQL expression every policy compares `student_id` with.
OWNER = "session_user"

_MAX_NAME = 63  # PostgreSQL's identifier limit, in bytes


def group_names(database: str) -> tuple[str, str]:
    """The (student, teacher) group role names of the database called `database`.

    `tutor_<db>_student` and `tutor_<db>_teacher`, made of lower-case letters, digits and `_` only,
    so they need no quoting anywhere; a database name that had to be changed to fit (other
    characters, or too long for 63 bytes) gets a short hash of its exact name, so two databases
    never share groups."""
    plain = re.sub(r"[^a-z0-9_]", "_", database.lower())
    room = _MAX_NAME - len("tutor__teacher")
    if plain != database or len(plain) > room:
        digest = hashlib.sha256(database.encode()).hexdigest()[:8]
        plain = f"{plain[: room - 9]}_{digest}"
    return f"tutor_{plain}_student", f"tutor_{plain}_teacher"


def groups(conn: Any) -> tuple[str, str]:
    """The (student, teacher) group roles of the database `conn` is connected to, created when
    missing (this runs inside migrations, as the administrator). Every policy names its groups
    through this function."""
    database = conn.execute("SELECT current_database()").fetchone()[0]
    names = group_names(database)
    for group in names:
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN "
            f"CREATE ROLE {group} NOLOGIN; END IF; END $$"
        )
    return names


def create_groups(conn: Any) -> None:
    """The student and teacher groups of this database (roles without login); members inherit their rights."""
    groups(conn)


def students_own_rows(
    conn: Any,
    table: str,
    *,
    insert: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
    delete: bool = False,
    sequence: bool = True,
) -> None:
    """A student reads, and changes as granted, only the rows whose `student_id` is their login;
    a teacher reads every row and changes none.

    Privileges are by column: a student may INSERT only the columns named in `insert` (never an
    id, so no student can claim ids ahead of the sequence) and UPDATE only those in `update`.
    Running it again on a table replaces its policies and privileges with these.
    """
    student, teacher = groups(conn)
    for group in (student, teacher, STUDENT_GROUP, TEACHER_GROUP):
        conn.execute(
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN "
            f"REVOKE ALL ON {table} FROM {group}; END IF; END $$"
        )
    conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    conn.execute(f"DROP POLICY IF EXISTS own_rows ON {table}")
    conn.execute(f"DROP POLICY IF EXISTS teacher_reads ON {table}")
    conn.execute(
        f"CREATE POLICY own_rows ON {table} TO {student} USING (student_id = {OWNER}) WITH CHECK (student_id = {OWNER})"
    )
    conn.execute(f"CREATE POLICY teacher_reads ON {table} FOR SELECT TO {teacher} USING (true)")
    conn.execute(f"GRANT SELECT ON {table} TO {student}, {teacher}")
    if insert:
        conn.execute(f"GRANT INSERT ({', '.join(insert)}) ON {table} TO {student}")
    if update:
        conn.execute(f"GRANT UPDATE ({', '.join(update)}) ON {table} TO {student}")
    if delete:
        conn.execute(f"GRANT DELETE ON {table} TO {student}")
    if sequence and insert:
        conn.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {student}")


def class_or_own_rows(
    conn: Any,
    table: str,
    *,
    class_owner: str,
    insert: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
) -> None:
    """Rows a student owns, or the class owns (`student_id` = `class_owner`): a student reads
    their own and the class's and changes only their own; a teacher reads every row and changes
    only the class's (the one thing a teacher writes); both may delete what they may change.

    Privileges are by column, as in `students_own_rows`; the table has an `id` sequence."""
    student, teacher = groups(conn)
    mine = f"student_id = {OWNER}"
    theirs = f"student_id = '{class_owner}'"
    conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    conn.execute(f"CREATE POLICY student_reads ON {table} FOR SELECT TO {student} USING ({mine} OR {theirs})")
    conn.execute(f"CREATE POLICY teacher_reads ON {table} FOR SELECT TO {teacher} USING (true)")
    for who, rows in ((student, mine), (teacher, theirs)):
        name = "own_rows" if who == student else "class_rows"
        conn.execute(f"CREATE POLICY {name}_insert ON {table} FOR INSERT TO {who} WITH CHECK ({rows})")
        conn.execute(f"CREATE POLICY {name}_update ON {table} FOR UPDATE TO {who} USING ({rows}) WITH CHECK ({rows})")
        conn.execute(f"CREATE POLICY {name}_delete ON {table} FOR DELETE TO {who} USING ({rows})")
    conn.execute(f"GRANT SELECT, DELETE ON {table} TO {student}, {teacher}")
    if insert:
        conn.execute(f"GRANT INSERT ({', '.join(insert)}) ON {table} TO {student}, {teacher}")
        conn.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {student}, {teacher}")
    if update:
        conn.execute(f"GRANT UPDATE ({', '.join(update)}) ON {table} TO {student}, {teacher}")


def teachers_only(conn: Any, table: str, *, insert: tuple[str, ...] = (), delete: bool = False) -> None:
    """A table for the teaching side alone (e.g. the watch list): teachers read it and, as granted,
    add to it (only the columns in `insert`) and delete from it; students have no right on it at
    all, not even to see that it has rows."""
    _, teacher = groups(conn)
    conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    conn.execute(f"CREATE POLICY teachers_all ON {table} TO {teacher} USING (true) WITH CHECK (true)")
    conn.execute(f"GRANT SELECT ON {table} TO {teacher}")
    if insert:
        conn.execute(f"GRANT INSERT ({', '.join(insert)}) ON {table} TO {teacher}")
        conn.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {teacher}")
    if delete:
        conn.execute(f"GRANT DELETE ON {table} TO {teacher}")


def students_read_own_and_shared_rows(conn: Any, table: str, *, shared: str) -> None:
    """A student reads their own rows and the rows the whole class shares (`student_id` equal to
    `shared`) and changes none; a teacher reads every row and changes none (settings the
    administrator makes for students, such as daily limits)."""
    student, teacher = groups(conn)
    conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    conn.execute(
        f"CREATE POLICY own_and_shared_rows ON {table} FOR SELECT TO {student}"
        f" USING (student_id = {OWNER} OR student_id = '{shared}')"
    )
    conn.execute(f"CREATE POLICY teacher_reads ON {table} FOR SELECT TO {teacher} USING (true)")
    conn.execute(f"GRANT SELECT ON {table} TO {student}, {teacher}")
