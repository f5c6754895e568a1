"""tutor: a personal tutor in the terminal, built on a durable SessionManager."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor_cli.errors import (
    APIError,
    ConfigError,
    InvalidIdError,
    InvalidMessageError,
    SessionExistsError,
    SessionNotFoundError,
    StoreError,
    TutorError,
)

if TYPE_CHECKING:
    from tutor_cli.sessions import SessionManager

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (hatch's version source)

__all__ = [
    "APIError",
    "ConfigError",
    "InvalidIdError",
    "InvalidMessageError",
    "SessionExistsError",
    "SessionManager",
    "SessionNotFoundError",
    "StoreError",
    "TutorError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """`SessionManager` is imported on first use (PEP 562), not with the package: `tutor --help`
    then never loads the store, and the lesson's `from tutor_cli import SessionManager` is unchanged."""
    if name == "SessionManager":
        from tutor_cli.sessions import SessionManager

        return SessionManager
    raise AttributeError(f"module 'tutor_cli' has no attribute {name!r}")
