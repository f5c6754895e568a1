"""Row-level security for the class database: the groups, and the policies every student table gets.

Every table that holds a student's data is created together with its policies, in the same
migration, through these functions, so no table can be born without them. Only SQL text here:
the migrations run it on the administrator's connection.
"""

from __future__ import annotations

from typing import Any

STUDENT_GROUP = "tutor_student"
TEACHER_GROUP = "tutor_teacher"
# Whose rows a connection may touch: the SQL expression every policy compares `student_id` with.
OWNER = "current_user"


def groups(conn: Any) -> tuple[str, str]:
    """The (student, teacher) group roles of the database `conn` is connected to. Every policy
    names its groups through this function."""
    return STUDENT_GROUP, TEACHER_GROUP


def create_groups(conn: Any) -> None:
    """The student and teacher groups (roles without login); members inherit their rights."""
    for group in groups(conn):
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN "
            f"CREATE ROLE {group} NOLOGIN; END IF; END $$"
        )


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
    """
    student, teacher = groups(conn)
    conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
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
