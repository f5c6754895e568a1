"""Row-level security for the class database: the groups, and the policies every student table gets.

Every table that holds a student's data is created together with its policies, in the same
migration, through these functions, so no table can be born without them. Only SQL text here:
the migrations run it on the administrator's connection.
"""

from __future__ import annotations

from typing import Any

STUDENT_GROUP = "tutor_student"
TEACHER_GROUP = "tutor_teacher"


def create_groups(conn: Any) -> None:
    """The student and teacher groups (roles without login); members inherit their rights."""
    for group in (STUDENT_GROUP, TEACHER_GROUP):
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
    conn.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    conn.execute(
        f"CREATE POLICY own_rows ON {table} TO {STUDENT_GROUP}"
        " USING (student_id = current_user) WITH CHECK (student_id = current_user)"
    )
    conn.execute(f"CREATE POLICY teacher_reads ON {table} FOR SELECT TO {TEACHER_GROUP} USING (true)")
    conn.execute(f"GRANT SELECT ON {table} TO {STUDENT_GROUP}, {TEACHER_GROUP}")
    if insert:
        conn.execute(f"GRANT INSERT ({', '.join(insert)}) ON {table} TO {STUDENT_GROUP}")
    if update:
        conn.execute(f"GRANT UPDATE ({', '.join(update)}) ON {table} TO {STUDENT_GROUP}")
    if delete:
        conn.execute(f"GRANT DELETE ON {table} TO {STUDENT_GROUP}")
    if sequence and insert:
        conn.execute(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {STUDENT_GROUP}")
