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
    for name in (
        "DEEPSEEK_API_KEY",
        "DEEPSEEK_BASE_URL",
        "TUTOR_MODEL",
        "TUTOR_THINKING",
        "TUTOR_DATABASE_URL",
        "TUTOR_CONTEXT_TOKENS",
        "TUTOR_MATH",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.setenv("TUTOR_STUDENT", "ada")
    monkeypatch.setenv("TUTOR_DEBUG", "1")  # unexpected exceptions surface as tracebacks in tests
    monkeypatch.setenv("TUTOR_RETRY_SCALE", "0")  # retries without backoff pauses (Retry-After still honoured)
    return {"home": str(home)}


@pytest.fixture
def home(tutor_env: dict[str, str]) -> Path:
    return Path(tutor_env["home"])


@pytest.fixture
def run_tutor() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m tutor_cli ARGS` as a user would, returning the finished process."""

    def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "tutor_cli", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    return run


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


@pytest.fixture
def fake_server():
    """A running fake OpenAI-compatible server; the environment points tutor at it."""
    from tests.fake_server import FakeServer

    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def api_env(fake_server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment variables that point the tutor at the fake server."""
    from tests.fake_server import API_KEY

    env = {"DEEPSEEK_API_KEY": API_KEY, "DEEPSEEK_BASE_URL": fake_server.base_url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


class Terminal:
    """`tutor` running in a real pseudo-terminal, driven as a person types."""

    PROMPT = "you ›"

    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 15, preexec_fn=None) -> None:
        import pexpect

        full_env = {
            **os.environ,
            "TERM": "xterm-256color",
            "PROMPT_TOOLKIT_NO_CPR": "1",
            "COLUMNS": "100",
            "LINES": "40",
            **(env or {}),
        }
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "tutor_cli", *args],
            env=full_env,
            encoding="utf-8",
            dimensions=(40, 100),
            timeout=timeout,
            preexec_fn=preexec_fn,
        )
        self.transcript: list[str] = []

    def expect(self, pattern: str, timeout: float | None = None) -> str:
        """Wait for a literal text; return everything printed before it."""
        self.child.expect_exact(pattern, timeout=timeout if timeout is not None else self.child.timeout)
        self.transcript.append(self.child.before + pattern)
        return self.child.before

    def prompt(self) -> None:
        self.expect(self.PROMPT)

    def type(self, text: str) -> None:
        """Type a line and press Enter."""
        self.child.send(text)
        self.child.send("\r")

    def ask(self, question: str) -> None:
        """Type a question, wait for the fake server's echo answer, then for the next prompt."""
        self.type(question)
        self.expect(f"Answer to: {question}")
        self.prompt()

    def send(self, raw: str) -> None:
        self.child.send(raw)

    def ctrl(self, key: str) -> None:
        self.child.sendcontrol(key)

    def finish(self, timeout: float = 15) -> int:
        """Wait for the program to end; return its exit status."""
        import pexpect

        self.child.expect(pexpect.EOF, timeout=timeout)
        self.transcript.append(self.child.before or "")
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -(self.child.signalstatus or 0)

    @property
    def screen(self) -> str:
        return "".join(self.transcript)


@pytest.fixture
def terminal(api_env):
    """Start `tutor ARGS` in a pseudo-terminal pointed at the fake server."""
    started: list[Terminal] = []

    def start(*args: str, env: dict[str, str] | None = None, preexec_fn=None) -> Terminal:
        term = Terminal(*args, env=env, preexec_fn=preexec_fn)
        started.append(term)
        return term

    yield start
    for term in started:
        if term.child.isalive():
            term.child.terminate(force=True)


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory: pytest.TempPathFactory):
    """The administrator's URL of a PostgreSQL server for the tests.

    TUTOR_TEST_POSTGRES_URL names one (as .ci/run does); otherwise a throw-away cluster is started
    when the server programs are installed; otherwise the PostgreSQL tests skip, saying why.
    TUTOR_REQUIRE_POSTGRES=1 turns that skip into a failure (CI must not skip them).
    """
    from tests import pg_server

    url = os.environ.get("TUTOR_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if not pg_server.available():
        reason = "no PostgreSQL server: set TUTOR_TEST_POSTGRES_URL or install postgresql (initdb, pg_ctl)"
        if os.environ.get("TUTOR_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    import shutil
    import tempfile

    # Not under pytest's own temp folder: that is private to root, and the server runs as 'postgres'.
    base = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
    url = pg_server.start(base)
    global _started_cluster_log
    _started_cluster_log = base / "log"
    yield url
    pg_server.stop(base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_log(postgres_cluster: str) -> Path:
    """The test server's log file: TUTOR_TEST_POSTGRES_LOG (set by .ci/run beside the URL), else the
    log of the cluster the tests started."""
    named = os.environ.get("TUTOR_TEST_POSTGRES_LOG")
    if named:
        return Path(named)
    if os.environ.get("TUTOR_TEST_POSTGRES_URL"):
        reason = "TUTOR_TEST_POSTGRES_URL is set without TUTOR_TEST_POSTGRES_LOG: the server log cannot be read"
        if os.environ.get("TUTOR_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return _started_cluster_log


_started_cluster_log = Path("/nonexistent")


def as_user(url: str, user: str, password: str | None = None) -> str:
    """The URL `url` with another user (and password): how a student or teacher connects."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    login = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
    return urlunsplit(parts._replace(netloc=f"{login}@{parts.hostname}:{parts.port}"))


def create_database(postgres_cluster: str, prefix: str = "t_") -> str:
    """A new, empty database on the test server; returns the administrator's URL of it."""
    import secrets as _secrets

    import psycopg

    name = prefix + _secrets.token_hex(6)
    with psycopg.connect(postgres_cluster, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_cluster.rsplit("/", 1)[0] + "/" + name


def drop_database(postgres_cluster: str, url: str) -> None:
    """Drop a test database, its class members and its groups."""
    import psycopg

    from tutor_cli.store.rls import group_names

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_cluster, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        for group in group_names(name):
            members = admin.execute(
                "SELECT m.rolname FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid"
                " JOIN pg_roles m ON m.oid = am.member WHERE g.rolname = %s",
                (group,),
            ).fetchall()
            for (member,) in members:
                admin.execute(f'DROP ROLE IF EXISTS "{member}"')
            admin.execute(f"DROP ROLE IF EXISTS {group}")


@pytest.fixture
def pg_url(postgres_cluster: str) -> str:
    """A fresh, migrated database on the test server, as the administrator; dropped afterwards."""
    from tutor_cli.store.postgres import PostgresStore

    url = create_database(postgres_cluster)
    PostgresStore(url, migrate=True).close()
    yield url
    drop_database(postgres_cluster, url)


def class_accounts(pg_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Students ada and bob and teacher tess in the class database at `pg_url` (names made unique
    on the server). Returns (names, urls): each one's login URL, and the administrator's as 'admin'."""
    from tutor_cli.store.postgres import STUDENT_GROUP, TEACHER_GROUP, PostgresStore

    suffix = os.urandom(3).hex()
    names = {"ada": f"ada_{suffix}", "bob": f"bob_{suffix}", "tess": f"tess_{suffix}"}
    admin = PostgresStore(pg_url)
    admin.add_member(names["ada"], "ada-pw", STUDENT_GROUP)
    admin.add_member(names["bob"], "bob-pw", STUDENT_GROUP)
    admin.add_member(names["tess"], "tess-pw", TEACHER_GROUP)
    admin.close()
    urls = {who: as_user(pg_url, names[who], f"{who}-pw") for who in ("ada", "bob", "tess")}
    urls["admin"] = pg_url
    return names, urls


@pytest.fixture
def classroom(pg_url: str):
    """A migrated class database with students ada and bob and teacher tess, each student with a
    session holding one question. Yields (names, urls): urls by who, 'admin' included."""
    from tutor_cli import SessionManager

    names, urls = class_accounts(pg_url)
    for who in ("ada", "bob"):
        with SessionManager(urls[who]) as manager:
            manager.create_session(names[who], "homework", f"prompt of {who}")
            manager.add_message(names[who], "homework", "user", f"secret question of {who}")
    yield names, urls


def set_message_times(database: Path, session_id: str, created_at: float) -> None:
    """Move every message of a session to one moment, straight in the SQLite file.

    Costs depend on when an answer was given (DeepSeek's peak hours); the store stamps messages
    with the clock, so tests that need a given hour set it here."""
    import sqlite3

    conn = sqlite3.connect(database)
    with conn:
        changed = conn.execute(
            "UPDATE messages SET created_at = ? WHERE session_pk IN (SELECT id FROM sessions WHERE session_id = ?)",
            (created_at, session_id),
        ).rowcount
    conn.close()
    assert changed > 0, f"no messages in session {session_id}"
