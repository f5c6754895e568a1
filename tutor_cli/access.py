"""Who may act as whom: the one home of the class rules.

A personal SQLite store has no accounts (`store.has_accounts` is false, `store.identity` None):
whoever can open the file may act as any student and administers it. A class database signs each
connection in as an `Identity`: a student is always themselves; a teacher reads any student (named)
and writes nothing but class decks and the watch list; the administrator may do everything. The
rules below only decide what to ask the store for; the store's row-level security enforces them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor_cli.errors import TEACHERS_READ_ONLY, ConfigError, TutorError
from tutor_cli.store.base import Identity
from tutor_cli.store.practice import CLASS_DECK
from tutor_cli.store.records import CLASS_SET
from tutor_cli.store.sessions import check_id

if TYPE_CHECKING:
    from tutor_cli.store import Store

__all__ = [
    "Identity",
    "NotAdministratorError",
    "NotForStudentsError",
    "acting_student",
    "deck_owner",
    "deck_reader",
    "require_administrator",
    "require_own_export",
    "require_teaching_side",
    "search_scope",
    "sees_kept_text",
    "set_owner",
    "set_reader",
]


class NotForStudentsError(TutorError):
    """A teaching-side command run with a student's account."""


class NotAdministratorError(TutorError):
    """An administrator's command run by a student or a teacher."""


def acting_student(store: Store, requested: str | None, default: str, *, writing: bool) -> str:
    """Whose sessions a command acts on: `requested` (--student), else `default`.

    In a class database a student is always themselves, and a teacher reads any student (named)
    and writes nothing."""
    who = store.identity
    if who is not None and who.is_student:
        if requested is not None and requested != who.name:
            raise ConfigError(
                f"In the class database you are signed in as {who.name!r}; you cannot use --student {requested!r}."
            )
        return who.name
    if who is not None and who.is_teacher:
        if writing:
            raise ConfigError(TEACHERS_READ_ONLY + "; sign in with a student's account to chat.")
        if requested is None:
            raise ConfigError("As a teacher, name the student with --student NAME (or use --all-students).")
    student = requested if requested is not None else default
    check_id("student id", student)
    return student


def deck_owner(store: Store, requested: str | None, default: str, *, class_deck: bool) -> str:
    """Whose deck an import or a delete changes: the class's (--class, for a teacher
    or the administrator of a class database) or the student's own (the usual student rule)."""
    return _class_or_own(
        store, requested, default, for_class=class_deck, thing="deck", teacher_hint="imports and deletes class decks"
    )


def deck_reader(store: Store, requested: str | None, default: str) -> str | None:
    """Whose decks a listing shows besides the class's: a teacher names a student or sees the class
    decks alone (None); everyone else as the usual student rule says."""
    return _class_or_own_reader(store, requested, default)


def material_owner(store: Store, requested: str | None, default: str, *, class_material: bool) -> str:
    """Whose course material an add or a remove changes: the class's (--class, a teacher or the
    administrator of a class database) or the student's own (the usual student rule)."""
    return _class_or_own(
        store,
        requested,
        default,
        for_class=class_material,
        thing="material",
        teacher_hint="adds and removes class materials",
    )


def material_reader(store: Store, requested: str | None, default: str) -> str | None:
    """Whose materials a listing shows besides the class's (as for decks)."""
    return _class_or_own_reader(store, requested, default)


def _class_or_own(
    store: Store, requested: str | None, default: str, *, for_class: bool, thing: str, teacher_hint: str
) -> str:
    who = store.identity
    if for_class:
        if who is None:
            raise ConfigError(
                f"--class makes a {thing} for a whole class: it needs a class database (TUTOR_DATABASE_URL)."
            )
        if who.is_student:
            raise ConfigError(f"Only a teacher or the administrator can change a class {thing}; leave out --class.")
        return CLASS_DECK  # the owner of every class row ("")
    if who is not None and who.is_teacher:
        raise ConfigError(TEACHERS_READ_ONLY + f"; a teacher {teacher_hint} with --class.")
    return acting_student(store, requested, default, writing=True)


def _class_or_own_reader(store: Store, requested: str | None, default: str) -> str | None:
    who = store.identity
    if who is not None and who.is_teacher and requested is None:
        return None
    return acting_student(store, requested, default, writing=False)


def set_owner(store: Store, requested: str | None, default: str, *, class_set: bool) -> str:
    """Whose problem set an import or a delete changes: the class's (--class, for a teacher or the
    administrator of a class database) or the student's own (the usual student rule)."""
    who = store.identity
    if class_set:
        if who is None:
            raise ConfigError("--class makes a set for a whole class: it needs a class database (TUTOR_DATABASE_URL).")
        if who.is_student:
            raise ConfigError("Only a teacher or the administrator can change a class set; leave out --class.")
        return CLASS_SET
    if who is not None and who.is_teacher:
        raise ConfigError(TEACHERS_READ_ONLY + "; a teacher imports and deletes class sets with --class.")
    return acting_student(store, requested, default, writing=True)


def set_reader(store: Store, requested: str | None, default: str) -> str | None:
    """Whose sets and progress a listing shows: a teacher names a student or sees the class's sets
    alone (None); everyone else as the usual student rule says."""
    who = store.identity
    if who is not None and who.is_teacher and requested is None:
        return None
    return acting_student(store, requested, default, writing=False)


def search_scope(store: Store, requested: str | None, default: str, *, all_students: bool) -> str | None:
    """Whose messages a search reads: everyone's (None) for --all-students and for a teacher who
    names nobody (in a class database a student still finds only their own rows), else one student's."""
    who = store.identity
    teaching = who is not None and not who.is_student
    if all_students or (teaching and requested is None):
        return None
    return acting_student(store, requested, default, writing=False)


def sees_kept_text(store: Store) -> bool:
    """Whether this reader sees what is kept off a student's screen (a work session's key and worked
    solution, withheld drafts): teachers and the administrator of a class database. A student does
    not, nor anyone on a personal store, whose user is the student."""
    who = store.identity
    return who is not None and not who.is_student


def require_own_export(store: Store) -> None:
    """`tutor export` is a student's own copy: refuse a teacher, pointing at the administrator's."""
    who = store.identity
    if who is not None and who.is_teacher:
        raise ConfigError(
            "`tutor export` is a student's own copy; the administrator exports a student's data "
            "(`tutor admin export-student ID`)."
        )


def require_teaching_side(store: Store, what: str) -> None:
    """Refuse a student in a class database, in one sentence."""
    who = store.identity
    if who is not None and who.is_student:
        raise NotForStudentsError(
            f"{what} is for teachers; you are signed in as the student {who.name!r}. "
            "`tutor search WORDS` finds your own messages."
        )


def require_administrator(store: Store, action: str) -> None:
    """Refuse, in one sentence, anyone but the class database's administrator. A personal SQLite
    store has no accounts: whoever can open the file administers it."""
    who = store.identity
    if who is not None and not who.is_admin:
        raise NotAdministratorError(
            f"Only the class database's administrator can {action}; you are signed in as {who.name!r}, a {who.kind}."
        )
