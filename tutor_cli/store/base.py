"""The storage layer's contract: the records it returns and the base class every backend implements.

A backend (SQLite, PostgreSQL) supplies a connection, transactions, its placeholder style and the
few expressions whose SQL differs; the queries themselves live in one module per domain
(`sessions`, …), written once for both backends, beside the DDL and policies of their tables.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

# Written into the SQLite header so a tutor store can be told from any other database.
APPLICATION_ID = 0x54555452  # "TUTR"


@dataclass(frozen=True)
class Identity:
    """Who a class-database connection is: 'student', 'teacher' or 'admin', and the login's name."""

    kind: str
    name: str

    @property
    def is_student(self) -> bool:
        return self.kind == "student"

    @property
    def is_teacher(self) -> bool:
        return self.kind == "teacher"

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"


@dataclass(frozen=True)
class Migration:
    """One step of the schema, for both backends; each runs in one transaction with its version row."""

    name: str
    sqlite: Callable[[Any], None]
    postgres: Callable[[Any], None]


def nothing(conn: Any) -> None:
    """A migration step with nothing to do on one backend (kept so both share version numbers)."""


class Backend(ABC):
    """What every backend provides to the domain queries."""

    dialect: str  # "sqlite" or "postgresql": for the few queries whose SQL must differ
    path: str  # where the store is, for messages (a file path, or a URL without its password)
    identity: Identity | None = None  # None on a personal SQLite store: its user may act as any student
    has_accounts: bool = False  # a class database: each connection is a student, a teacher or the admin
    _lock: threading.RLock
    _conn: Any

    def _sql(self, sql: str) -> str:
        """The statement in this backend's placeholder style (written with `?`)."""
        return sql

    def _run(self, conn: Any, sql: str, params: tuple | list = ()) -> Any:
        return conn.execute(self._sql(sql), params)

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """One write transaction: committed when the block ends, rolled back (and the original
        error re-raised) when it raises."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """The connection, for reads."""

    @abstractmethod
    def _is_unique_violation(self, error: Exception) -> bool:
        """Whether `error` is the backend's unique-constraint violation."""

    @abstractmethod
    def _insert(self, conn: Any, sql: str, params: tuple | list) -> int:
        """Run an INSERT of one row and return the new row's id."""

    @abstractmethod
    def weekday_sql(self, column: str) -> str:
        """SQL for the UTC weekday (Monday 0 … Sunday 6) of a unix-time column."""

    @abstractmethod
    def hour_sql(self, column: str) -> str:
        """SQL for the UTC hour (0–23) of a unix-time column."""

    @abstractmethod
    def schema_version(self) -> int:
        """The version the migrations brought the store to."""

    def close(self) -> None:
        """Close the connection; the data stays where it is."""
        with self._lock:
            self._conn.close()
