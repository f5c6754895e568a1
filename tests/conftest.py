"""Shared fixtures: every test gets its own tutor home; the CLI runs as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def tutor_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point TUTOR_HOME at a temp folder and clear settings that would leak in from the machine."""
    home = tmp_path / "home"
    for name in ("DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "TUTOR_MODEL", "TUTOR_THINKING",
                 "TUTOR_DATABASE_URL", "TUTOR_CONTEXT_TOKENS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.setenv("TUTOR_STUDENT", "ada")
    monkeypatch.setenv("TUTOR_DEBUG", "1")  # unexpected exceptions surface as tracebacks in tests
    return {"home": str(home)}


@pytest.fixture
def home(tutor_env: dict[str, str]) -> Path:
    return Path(tutor_env["home"])


@pytest.fixture
def run_tutor() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m tutor_cli ARGS` as a user would, returning the finished process."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "tutor_cli", *args],
            input=input, capture_output=True, text=True, env=full_env, timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    return run


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
