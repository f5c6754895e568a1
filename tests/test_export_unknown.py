"""`tutor export --student NAME` for a student the store knows nothing about: one sentence, exit 1
(a typo would otherwise give an empty document that reads like a successful export)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import class_accounts
from tutor_cli import SessionManager, rights
from tutor_cli.errors import ExitStatus


def test_a_named_student_the_store_knows_nothing_about_is_one_sentence(tmp_path) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        manager.create_session("ada", "s", "p")
        with pytest.raises(rights.NoSuchStudentError) as caught:
            rights.check_export(manager.store, "adaa", named=True)
        rights.check_export(manager.store, "ada", named=True)
        rights.check_export(manager.store, "bob", named=False)  # yourself, with nothing stored yet: an empty export
    message = str(caught.value)
    assert "'adaa'" in message and message.endswith(".") and "\n" not in message
    assert caught.value.exit_status == ExitStatus.FAILURE


def test_in_the_class_database_a_student_exporting_themselves_is_never_refused(classroom) -> None:
    names, urls = classroom
    with SessionManager(urls["ada"]) as manager:
        rights.check_export(manager.store, names["ada"], named=True)
    with SessionManager(urls["admin"]) as admin:
        with pytest.raises(rights.NoSuchStudentError):
            rights.check_export(admin.store, "nobody_at_all", named=True)
        rights.check_export(admin.store, names["bob"], named=True)


def test_a_class_student_with_nothing_stored_yet_exports_themselves_by_name(pg_url: str) -> None:
    names, urls = class_accounts(pg_url)
    with SessionManager(urls["ada"]) as manager:
        rights.check_export(manager.store, names["ada"], named=True)  # an empty document, not "No student"
        document = json.loads("".join(rights.export_document(manager.store, names["ada"])))
    assert document["student_id"] == names["ada"] and not any(document["tables"].values())
