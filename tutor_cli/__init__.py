"""tutor: a personal tutor in the terminal, built on a durable SessionManager."""

from __future__ import annotations

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
