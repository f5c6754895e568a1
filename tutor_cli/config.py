"""Settings from the environment and options: home folder, store, key, endpoint, model, student."""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tutor_cli.errors import ConfigError

DEFAULT_BASE_URL = "https://api.deepseek.com"
DEFAULT_MODEL = "deepseek-flash"
API_KEY_VARIABLE = "DEEPSEEK_API_KEY"
PROMPT_FILE_NAME = "system_prompt.txt"


@dataclass(frozen=True)
class Settings:
    """Everything `tutor` reads from its environment, resolved once."""

    home: Path
    base_url: str
    model: str
    thinking: bool | None
    student: str
    api_key: str | None
    context_tokens: int | None = None
    database_url: str | None = None  # a class's PostgreSQL store instead of tutor.db
    retry_scale: float = 1.0  # multiplies the pauses between retries (the tests set 0)
    math: str = "unicode"  # TUTOR_MATH: "unicode" draws LaTeX on a terminal, "raw" shows it as written
    profile: bool = True  # TUTOR_PROFILE: send and update the student's profile
    max_tokens: int | None = None  # TUTOR_MAX_TOKENS: the most tokens an answer may take; None sends no cap

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (the process environment by default)."""
        env = os.environ if environ is None else environ
        return cls(
            home=_home_folder(env),
            base_url=env.get("DEEPSEEK_BASE_URL") or DEFAULT_BASE_URL,
            model=env.get("TUTOR_MODEL") or DEFAULT_MODEL,
            thinking=parse_thinking(env.get("TUTOR_THINKING"), "TUTOR_THINKING"),
            student=env.get("TUTOR_STUDENT") or _login_name(),
            api_key=env.get(API_KEY_VARIABLE) or None,
            context_tokens=_positive_int(env.get("TUTOR_CONTEXT_TOKENS"), "TUTOR_CONTEXT_TOKENS"),
            database_url=parse_database_url(env.get("TUTOR_DATABASE_URL")),
            retry_scale=_scale(env.get("TUTOR_RETRY_SCALE"), "TUTOR_RETRY_SCALE"),
            math=parse_math(env.get("TUTOR_MATH")),
            profile=parse_thinking(env.get("TUTOR_PROFILE"), "TUTOR_PROFILE") is not False,
            max_tokens=_positive_int(env.get("TUTOR_MAX_TOKENS"), "TUTOR_MAX_TOKENS"),
        )

    @property
    def render_math(self) -> bool:
        """Whether a terminal shows LaTeX in answers as Unicode mathematics."""
        return self.math == "unicode"

    @property
    def database_path(self) -> Path:
        """The SQLite store inside the home folder."""
        return self.home / "tutor.db"

    @property
    def history_path(self) -> Path:
        """The REPL's input history inside the home folder."""
        return self.home / "history"

    def store_location(self) -> str | Path:
        """The one rule for which store the settings name: the class database's URL when one is
        set, else tutor.db in the home folder (created when missing)."""
        if self.database_url:
            return self.database_url
        self.ensure_home()
        return self.database_path

    def ensure_home(self) -> Path:
        """Create the home folder (0700) if it does not exist yet, and return it."""
        try:
            if not self.home.exists():
                self.home.mkdir(parents=True, mode=0o700)
                os.chmod(self.home, 0o700)  # mkdir's mode is filtered by the umask
            elif not self.home.is_dir():
                raise ConfigError(f"TUTOR_HOME {self.home} is a file, not a folder; point it at a folder.")
        except OSError as error:
            raise ConfigError(
                f"Cannot create the tutor folder {self.home} ({error.strerror}); set TUTOR_HOME to a writable folder."
            ) from None
        return self.home

    def require_api_key(self) -> str:
        """The API key, or a ConfigError that names the variable to set."""
        if not self.api_key:
            raise ConfigError(
                f"{API_KEY_VARIABLE} is not set; export your DeepSeek API key "
                f"(export {API_KEY_VARIABLE}=sk-...) or point DEEPSEEK_BASE_URL at a server that needs none "
                f"and set {API_KEY_VARIABLE} to any value."
            )
        return self.api_key


def parse_thinking(value: str | None, source: str) -> bool | None:
    """'on'/'off' (and the usual synonyms) to True/False; None or '' leaves the server's default."""
    if value is None or value.strip() == "":
        return None
    lowered = value.strip().lower()
    if lowered in {"on", "1", "true", "yes", "enabled"}:
        return True
    if lowered in {"off", "0", "false", "no", "disabled"}:
        return False
    raise ConfigError(f"{source} must be 'on' or 'off', not {value!r}.")


def parse_math(value: str | None) -> str:
    """TUTOR_MATH: 'unicode' (the default) or 'raw'."""
    if value is None or value.strip() == "":
        return "unicode"
    lowered = value.strip().lower()
    if lowered not in ("unicode", "raw"):
        raise ConfigError(f"TUTOR_MATH must be 'unicode' or 'raw', not {value!r}.")
    return lowered


def shipped_system_prompt() -> str:
    """The tutor's own system prompt, packaged with it (tutor_cli/data/system_prompt.txt)."""
    from importlib.resources import files

    try:
        return files("tutor_cli").joinpath("data", PROMPT_FILE_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError("The shipped system prompt is missing from this installation; reinstall tutor.") from None


def read_system_prompt(path: Path | None) -> str:
    """The prompt from ``path``, or the shipped one; an unreadable file names itself."""
    if path is None:
        return shipped_system_prompt()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"Cannot read the system prompt file {path}: it is not UTF-8 text.") from None
    except OSError as error:
        raise ConfigError(f"Cannot read the system prompt file {path} ({error.strerror}).") from None
    if not text.strip():
        raise ConfigError(f"The system prompt file {path} is empty.")
    return text


def now(environ: Mapping[str, str] | None = None) -> float:
    """The current time (unix seconds): TUTOR_NOW, an ISO 8601 UTC time, when set (repeatable
    scripts and tests), else the clock. Every rule that depends on "now" (review scheduling,
    progress, daily limits, purge) asks here."""
    env = os.environ if environ is None else environ
    value = env.get("TUTOR_NOW")
    if not value:
        return time.time()
    return parse_utc_time(value, "TUTOR_NOW must be an ISO 8601 time such as 2026-11-25T09:00:00Z")


def parse_utc_time(value: str, refusal: str) -> float:
    """An ISO 8601 date or time as unix time (UTC when it names no zone); `refusal` starts the
    one sentence said when it is not one."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{refusal}, not {value!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _home_folder(env: Mapping[str, str]) -> Path:
    if env.get("TUTOR_HOME"):
        return Path(env["TUTOR_HOME"]).expanduser()
    import platformdirs  # only needed when TUTOR_HOME is not set

    return Path(platformdirs.user_data_dir("tutor", appauthor=False))


def parse_database_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError("TUTOR_DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host/database).")
    return value


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER, as in some containers
        return "student"


def _positive_int(value: str | None, source: str) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise ConfigError(f"{source} must be a positive whole number of tokens, not {value!r}.")
    return number


def _scale(value: str | None, source: str) -> float:
    if not value:
        return 1.0
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):
        raise ConfigError(f"{source} must be a number of 0 or more (1 is normal, 0 retries at once), not {value!r}.")
    return number
