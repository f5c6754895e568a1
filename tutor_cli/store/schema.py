"""The whole schema: every domain's queries in one Store, and the migrations of both backends in order.

Adding a table: a domain module (DDL for both backends, its row-level security, its queries as a
mixin), its mixin in `Store`, and its step at the end of `MIGRATIONS`.
"""

from __future__ import annotations

from abc import ABC

from tutor_cli.store import course, desk, practice, problems, profiles, rights, sessions, titles
from tutor_cli.store.base import Migration, nothing


class Store(
    sessions.SessionQueries,
    practice.PracticeQueries,
    profiles.ProfileQueries,
    desk.DeskQueries,
    rights.RightsQueries,
    problems.ProblemQueries,
    titles.TitleQueries,
    course.CourseQueries,
    ABC,
):
    """Every query of the package, written once; a backend subclass supplies the connection."""


# Migration N (1-based) brings a store from version N-1 to N. Each backend runs its side of a step
# in one transaction with its version record, so a crash part-way leaves the previous schema intact.
# (The first two steps predate the shared list: PostgreSQL's tables were born with what SQLite's
# second step adds, and its second step is the row-level security.)
MIGRATIONS: list[Migration] = [
    Migration("create_sessions_and_messages", sessions.sqlite_create, sessions.postgres_create),
    Migration("add_context_window", sessions.sqlite_add_context_window, sessions.postgres_isolate),
    Migration("messages_name_their_student", sessions.sqlite_messages_name_their_student, nothing),
    Migration("harden_the_class_store", sessions.sqlite_learned_limits_per_student, sessions.postgres_harden),
    Migration("create_practice", practice.sqlite_create, practice.postgres_create),
    Migration("student_profiles", profiles.sqlite_create, profiles.postgres_create),
    Migration("teachers_desk", desk.sqlite_create, desk.postgres_create),
    Migration("limits_and_usage_ledger", rights.sqlite_create, rights.postgres_create),
    Migration("problems_and_withheld_replies", problems.sqlite_create, problems.postgres_create),
    Migration("estimated_usage", rights.sqlite_usage_estimated, rights.postgres_usage_estimated),
    Migration("session_titles", titles.sqlite_create, titles.postgres_create),
    Migration(
        "no_row_meets_a_private_card", practice.sqlite_name_readable_cards, practice.postgres_name_readable_cards
    ),
    Migration("course_materials", course.sqlite_create, course.postgres_create),
    Migration("course_material_shape", course.create_shape_index, course.create_shape_index),
]
